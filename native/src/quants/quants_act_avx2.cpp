// AVX2 quantizers of the 8-bit activation formats (Q8_0 for the legacy weight types, Q8_K for
// the K-quants). The matmul quantizes every activation row of every call, and the scalar loops
// (a libm lround per element) were a measurable share of prefill. Both give exactly the scalar
// reference's bytes (tests compare against GGML's reference quantizers): same scale arithmetic,
// the same rounding (half away from zero for Q8_0 as lround, half to even for Q8_K as
// nearest_even_int).
#include <immintrin.h>

#include "base/fp16.h"
#include "quants/ggml_types.h"
#include "quants/quants_impl.h"

namespace qwen::kernels {

namespace {

inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

inline int hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

// Four vectors of 8 int32 (each within int8 range) as 32 int8 in their original order: the packs
// work within 128-bit lanes, so the 4-byte groups come out interleaved and are put back in order.
inline __m256i pack_to_i8(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
  return _mm256_permutevar8x32_epi32(_mm256_packs_epi16(ab, cd), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

const __m256 kSignMask = _mm256_set1_ps(-0.0f);

// lround for |t| < 2^22: truncate, then step away from zero where the dropped fraction is >= 1/2.
inline __m256i round_half_away(__m256 t) {
  const __m256 r = _mm256_round_ps(t, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 frac = _mm256_andnot_ps(kSignMask, _mm256_sub_ps(t, r));
  const __m256 step = _mm256_or_ps(_mm256_and_ps(t, kSignMask), _mm256_set1_ps(1.0f));
  const __m256 up = _mm256_and_ps(_mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ), step);
  return _mm256_cvttps_epi32(_mm256_add_ps(r, up));
}

}  // namespace

void quantize_row_q8_0_avx2(const float* x, void* dst, int64_t n) {
  block_q8_0* y = static_cast<block_q8_0*>(dst);
  for (int64_t i = 0; i < n / QK8_0; ++i, x += QK8_0) {
    __m256 v[4], amax = _mm256_setzero_ps();
    for (int k = 0; k < 4; ++k) {
      v[k] = _mm256_loadu_ps(x + 8 * k);
      amax = _mm256_max_ps(amax, _mm256_andnot_ps(kSignMask, v[k]));
    }
    const float d = hmax(amax) / 127.0f;
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    const __m256 vid = _mm256_set1_ps(id);
    __m256i q[4];
    for (int k = 0; k < 4; ++k) q[k] = round_half_away(_mm256_mul_ps(v[k], vid));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[i].qs), pack_to_i8(q[0], q[1], q[2], q[3]));
  }
}

void quantize_row_q8_K_avx2(const float* x, void* dst, int64_t n) {
  block_q8_K* y = static_cast<block_q8_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    __m256 amax_v = _mm256_setzero_ps();
    for (int k = 0; k < QK_K; k += 8)
      amax_v = _mm256_max_ps(amax_v, _mm256_andnot_ps(kSignMask, _mm256_loadu_ps(x + k)));
    const float amax = hmax(amax_v);
    if (amax == 0) {
      y[i] = block_q8_K{};
      continue;
    }
    // The signed value of the first element with the largest magnitude, as the reference picks it.
    float max = 0;
    for (int k = 0; k < QK_K; k += 8) {
      const __m256 xv = _mm256_loadu_ps(x + k);
      const int hit =
          _mm256_movemask_ps(_mm256_cmp_ps(_mm256_andnot_ps(kSignMask, xv), _mm256_set1_ps(amax), _CMP_EQ_OQ));
      if (hit) {
        max = x[k + __builtin_ctz((unsigned)hit)];
        break;
      }
    }
    const float iscale = -127.0f / max;
    const __m256 vs = _mm256_set1_ps(iscale);
    const __m256i top = _mm256_set1_epi32(127);
    for (int c = 0; c < QK_K; c += 32) {
      __m256i q[4];
      for (int k = 0; k < 4; ++k) {
        const __m256 t = _mm256_round_ps(_mm256_mul_ps(vs, _mm256_loadu_ps(x + c + 8 * k)),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        q[k] = _mm256_min_epi32(_mm256_cvtps_epi32(t), top);
      }
      y[i].bsums[c / 16] = (int16_t)hsum_i32(_mm256_add_epi32(q[0], q[1]));
      y[i].bsums[c / 16 + 1] = (int16_t)hsum_i32(_mm256_add_epi32(q[2], q[3]));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[i].qs + c), pack_to_i8(q[0], q[1], q[2], q[3]));
    }
    y[i].d = 1.0f / iscale;
  }
}

}  // namespace qwen::kernels
