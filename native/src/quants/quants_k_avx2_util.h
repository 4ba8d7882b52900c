// Super-block prologues of the K-quant AVX2 dots, shared by the single-row (quants_k_avx2.cpp) and
// multi-activation (quants_multi_avx2.cpp) kernels: unpacking the packed 6-bit scales with a few
// word operations instead of a per-sub-block loop, and the offset/min corrections (levels stored
// with a positive offset, or Q4_K/Q5_K mins) as integer vector dots with Q8_K's bsums. Only for
// files compiled with -mavx2 (the *_avx2.cpp ones).
#pragma once
#include <immintrin.h>

#include "quants/avx2_util.h"

#include <cstdint>
#include <cstring>

namespace qwen::kernels {

// Q4_K / Q5_K: the 8 scales and 8 mins (0..63) packed in 12 bytes (layout in k4_scale_min).
// Bytes 0-3 carry scales 0-3 and the top bits of scales 4-7, bytes 4-7 mins 0-3 and the top bits of
// mins 4-7, bytes 8-11 the low nibbles of scales (low half) and mins (high half) 4-7.
static inline void k4_unpack_scales_mins(const uint8_t* packed, uint8_t scales[8], uint8_t mins[8]) {
  uint32_t u[3];
  std::memcpy(u, packed, 12);
  const uint32_t s_lo = u[0] & 0x3f3f3f3fu, m_lo = u[1] & 0x3f3f3f3fu;
  const uint32_t s_hi = (u[2] & 0x0f0f0f0fu) | (((u[0] >> 6) & 0x03030303u) << 4);
  const uint32_t m_hi = ((u[2] >> 4) & 0x0f0f0f0fu) | (((u[1] >> 6) & 0x03030303u) << 4);
  std::memcpy(scales, &s_lo, 4);
  std::memcpy(scales + 4, &s_hi, 4);
  std::memcpy(mins, &m_lo, 4);
  std::memcpy(mins + 4, &m_hi, 4);
}

// sum_j mins[j] * (bsums[2j] + bsums[2j+1]) as 4 int32 lanes (Q4_K/Q5_K sub-blocks are 32 values,
// Q8_K's bsums cover 16).
static inline __m128i k4_min_dot(const uint8_t mins[8], const int16_t bsums[16]) {
  const __m128i pairs = _mm_hadd_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bsums)),
                                       _mm_loadu_si128(reinterpret_cast<const __m128i*>(bsums + 8)));
  const __m128i m16 = _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(mins)));
  return _mm_madd_epi16(m16, pairs);
}

// sum_g scales[g] * bsums[g] over 16 groups as 8 int32 lanes (Q3_K/Q6_K: the stored level offset
// times this is what the unsigned-level dot over-counts).
static inline __m256i k16_scale_dot(const int8_t scales[16], const int16_t bsums[16]) {
  const __m256i s16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(scales)));
  return _mm256_madd_epi16(s16, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bsums)));
}

}  // namespace qwen::kernels
