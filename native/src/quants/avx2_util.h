// Small AVX2 helpers every *_avx2.cpp kernel file uses: horizontal sums, one F16 -> F32 conversion,
// an unaligned 32-byte load. Only for files compiled with -mavx2 -mfma -mf16c.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace qwen::kernels {

// Sum of the 4 lanes.
static inline float hsum_ps128(__m128 v) {
  v = _mm_add_ps(v, _mm_movehl_ps(v, v));
  v = _mm_add_ss(v, _mm_movehdup_ps(v));
  return _mm_cvtss_f32(v);
}

// Sum of the 8 lanes.
static inline float hsum(__m256 v) {
  return hsum_ps128(_mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)));
}

static inline float half_to_float(uint16_t h) { return _cvtsh_ss(h); }

static inline __m256i load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

}  // namespace qwen::kernels
