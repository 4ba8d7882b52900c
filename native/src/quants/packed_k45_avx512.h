// What the AVX-512 VNNI group-pair kernels for packed Q4_K and Q5_K share (packed_q4_K_avx512.cpp,
// packed_q5_K_avx512.cpp): both records start with the same head of d, dmin, scales and mins
// (packed_k45_avx2.h), unpacked here for a pair of records, and end the super-block with the same
// min correction. Only for files compiled with the AVX-512 flags.
#pragma once
#include <immintrin.h>

#include "quants/packed_avx512_util.h"
#include "quants/packed_k45_avx2.h"

namespace qwen::kernels::k45 {

// One record pair's scales, int32 lane r = row r of group a, lane 8 + r = row r of group b:
// scale[s] for sub-block s, and min_pair[j] = (min(2j), min(2j+1)) as two int16 for vpdpwssd.
struct PairScales {
  __m512i scale[8];
  __m512i min_pair[4];
  __m512 d, dmin;
};

// Qwords q and q + 4 of v (the same 8 bytes of both groups) as the low 16 bytes.
inline __m128i both_halves_qword(__m512i v, int q) {
  const __m512i idx = _mm512_set_epi64(0, 0, 0, 0, 0, 0, q + 4, q);
  return _mm512_castsi512_si128(_mm512_permutexvar_epi64(idx, v));
}

inline void unpack_pair_scales(const uint8_t* ra, const uint8_t* rb, PairScales* out) {
  const __m512i low4 = _mm512_set1_epi8(0x0f), top2 = _mm512_set1_epi8(0x30);
  const __m512i lo0 = load_pair(ra + kScaleLowOff, rb + kScaleLowOff);
  const __m512i lo1 = load_pair(ra + kScaleLowOff + 32, rb + kScaleLowOff + 32);
  const __m512i hi = load_pair(ra + kScaleHighOff, rb + kScaleHighOff);
  // Bytes s*8+r of each half (s < 4 in the *03 vectors, s - 4 in the *47 ones), as in the AVX2 kernel.
  const __m512i sc03 = _mm512_or_si512(_mm512_and_si512(lo0, low4), _mm512_and_si512(_mm512_slli_epi16(hi, 4), top2));
  const __m512i mn03 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(lo0, 4), low4),
                                       _mm512_and_si512(_mm512_slli_epi16(hi, 2), top2));
  const __m512i sc47 = _mm512_or_si512(_mm512_and_si512(lo1, low4), _mm512_and_si512(hi, top2));
  const __m512i mn47 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(lo1, 4), low4),
                                       _mm512_and_si512(_mm512_srli_epi16(hi, 2), top2));
  for (int s = 0; s < 4; ++s) {
    out->scale[s] = _mm512_cvtepu8_epi32(both_halves_qword(sc03, s));
    out->scale[s + 4] = _mm512_cvtepu8_epi32(both_halves_qword(sc47, s));
  }
  // Within each 128-bit lane, interleave qword 0's bytes with qword 1's: mins of sub-blocks 2j and
  // 2j+1 side by side per row. Lanes 0 and 2 then hold pair j = 0 (or 2) of groups a and b,
  // lanes 1 and 3 pair j = 1 (or 3).
  const __m512i pairs03 = _mm512_unpacklo_epi8(mn03, _mm512_bsrli_epi128(mn03, 8));
  const __m512i pairs47 = _mm512_unpacklo_epi8(mn47, _mm512_bsrli_epi128(mn47, 8));
  const __m512i even = _mm512_set_epi64(0, 0, 0, 0, 5, 4, 1, 0), odd = _mm512_set_epi64(0, 0, 0, 0, 7, 6, 3, 2);
  out->min_pair[0] = _mm512_cvtepu8_epi16(_mm512_castsi512_si256(_mm512_permutexvar_epi64(even, pairs03)));
  out->min_pair[1] = _mm512_cvtepu8_epi16(_mm512_castsi512_si256(_mm512_permutexvar_epi64(odd, pairs03)));
  out->min_pair[2] = _mm512_cvtepu8_epi16(_mm512_castsi512_si256(_mm512_permutexvar_epi64(even, pairs47)));
  out->min_pair[3] = _mm512_cvtepu8_epi16(_mm512_castsi512_si256(_mm512_permutexvar_epi64(odd, pairs47)));
  out->d = load_pair_f16(ra, rb);
  out->dmin = load_pair_f16(ra + 16, rb + 16);
}

// Adds one token's super-block result to o[0..15]: d * yd * sumi - dmin * yd * sum_s min(s) * (Q8_K
// bsums of s), the mins' part exact in int32 through vpdpwssd.
inline void finish_pair(const PairScales& ps, __m512i sumi, const uint8_t* y, float* o) {
  const int16_t* bs = q8k_bsums(y);
  const __m128i sub = _mm_hadd_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bs)),
                                     _mm_loadu_si128(reinterpret_cast<const __m128i*>(bs + 8)));
  __m512i md = _mm512_dpwssd_epi32(_mm512_setzero_si512(), ps.min_pair[0], _mm512_broadcastd_epi32(sub));
  md = _mm512_dpwssd_epi32(md, ps.min_pair[1], _mm512_broadcastd_epi32(_mm_shuffle_epi32(sub, 0x55)));
  md = _mm512_dpwssd_epi32(md, ps.min_pair[2], _mm512_broadcastd_epi32(_mm_shuffle_epi32(sub, 0xaa)));
  md = _mm512_dpwssd_epi32(md, ps.min_pair[3], _mm512_broadcastd_epi32(_mm_shuffle_epi32(sub, 0xff)));
  const __m512 yd = _mm512_set1_ps(q8k_d(y));
  __m512 acc = _mm512_fmadd_ps(_mm512_mul_ps(ps.d, yd), _mm512_cvtepi32_ps(sumi), _mm512_loadu_ps(o));
  acc = _mm512_fnmadd_ps(_mm512_mul_ps(ps.dmin, yd), _mm512_cvtepi32_ps(md), acc);
  _mm512_storeu_ps(o, acc);
}

}  // namespace qwen::kernels::k45
