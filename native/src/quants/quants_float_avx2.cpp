// AVX2 + FMA + F16C dots of the float formats (F32, F16, BF16) against F32 activations. Compiled
// with -mavx2 -mfma -mf16c (CMake does this for *_avx2.cpp only) and called only after
// cpu_features() said yes. Each must match its scalar twin in quants_float.cpp (tests check).
#include <immintrin.h>

#include <cstring>

#include "quants/avx2_util.h"
#include "quants/quants_impl.h"

namespace qwen::kernels {

float vec_dot_f32_avx2(int n, const void* w, const void* x) {
  const float* a = static_cast<const float*>(w);
  const float* b = static_cast<const float*>(x);
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
  }
  float s = hsum(_mm256_add_ps(s0, s1));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

float vec_dot_f16_avx2(int n, const void* w, const void* x) {
  const uint16_t* a = static_cast<const uint16_t*>(w);
  const float* b = static_cast<const float*>(x);
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 a0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)));
    const __m256 a1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i + 8)));
    s0 = _mm256_fmadd_ps(a0, _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(a1, _mm256_loadu_ps(b + i + 8), s1);
  }
  float s = hsum(_mm256_add_ps(s0, s1));
  for (; i < n; ++i) s += half_to_float(a[i]) * b[i];
  return s;
}

float vec_dot_bf16_avx2(int n, const void* w, const void* x) {
  const uint16_t* a = static_cast<const uint16_t*>(w);
  const float* b = static_cast<const float*>(x);
  __m256 s0 = _mm256_setzero_ps();
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    // bf16 -> f32 is a 16-bit left shift of the bits.
    const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)));
    const __m256 a0 = _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
    s0 = _mm256_fmadd_ps(a0, _mm256_loadu_ps(b + i), s0);
  }
  float s = hsum(s0);
  for (; i < n; ++i) {
    uint32_t bits = (uint32_t)a[i] << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    s += f * b[i];
  }
  return s;
}

}  // namespace qwen::kernels
