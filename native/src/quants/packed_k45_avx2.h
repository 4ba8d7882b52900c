// What the packed Q4_K and Q5_K AVX2 kernels share (packed_q4_K_avx2.cpp, packed_q5_K_avx2.cpp):
// both formats carry the same 8 rows' d, dmin and 6-bit sub-block scales and mins in the first 128
// bytes of a super-block record, then the low 4 bits of every level in the same 32-byte chunks;
// Q5_K adds a 256-byte area of fifth bits at the end. Only for files compiled with -mavx2.
//
// Record head, per super-block:
//   [0, 16)      d[r]    (fp16) of the 8 rows: one _mm256_cvtph_ps gives all eight
//   [16, 32)     dmin[r] (fp16)
//   [32, 96)     byte s*8+r: low 4 bits of scale(s, r) | low 4 bits of min(s, r) << 4
//   [96, 128)    byte j: top 2 bits of scale(j), of min(j), of scale(j+32), of min(j+32), in bits
//                0-1, 2-3, 4-5, 6-7, where j = s*8+r. The 6-bit scales and mins stay packed (so the
//                record keeps GGML's size) but unpack for all 8 rows with a handful of vector ops.
//   [128, 1152)  32-byte chunks (c, k), c < 4, k < 8: bytes 4r..4r+3 are row r's qs[32c+4k .. +3].
//                Their low nibbles are values 4k..4k+3 of sub-block 2c, the high nibbles the same
//                values of sub-block 2c+1 (GGML's nibble order for both types).
#pragma once
#include <immintrin.h>

#include <cstring>

#include "quants/avx2_util.h"
#include "quants/ggml_types.h"
#include "quants/packed_avx2_util.h"
#include "quants/quants_k_common.h"

namespace qwen::kernels::k45 {

constexpr int kRows = 8;
constexpr size_t kScaleLowOff = 32, kScaleHighOff = 96, kQsOff = 128;

// Writes the head of record i (d, dmin, scales and mins of the 8 rows); B is block_q4_K or block_q5_K.
template <class B> inline void pack_head(const uint8_t* rows, size_t src_row_bytes, int i, uint8_t* rec) {
  std::memset(rec + kScaleHighOff, 0, kQsOff - kScaleHighOff);  // the top-bit bytes are OR-ed together
  for (int r = 0; r < kRows; ++r) {
    const B& b = reinterpret_cast<const B*>(rows + src_row_bytes * r)[i];
    std::memcpy(rec + 2 * r, &b.d, 2);
    std::memcpy(rec + 16 + 2 * r, &b.dmin, 2);
    for (int s = 0; s < 8; ++s) {
      int scale, min;
      k4_scale_min(s, b.scales, &scale, &min);
      const int j = s * kRows + r;
      rec[kScaleLowOff + j] = (uint8_t)((scale & 0x0f) | ((min & 0x0f) << 4));
      const int shift = j < 32 ? 0 : 4;
      rec[kScaleHighOff + (j & 31)] |= (uint8_t)(((scale >> 4) | ((min >> 4) << 2)) << shift);
    }
    for (int c = 0; c < 4; ++c)
      for (int k = 0; k < 8; ++k) std::memcpy(rec + kQsOff + 256 * c + 32 * k + 4 * r, b.qs + 32 * c + 4 * k, 4);
  }
}

// Per super-block record: the 8 sub-block scale vectors (int16 scale(s, r) in both halves of int32
// lane r, ready for madd) and the 4 min vectors (lane r = min(2j, r), min(2j+1, r) as int16).
struct RecordScales {
  __m256i scale[8];
  __m256i min_pair[4];
};

inline void unpack_record_scales(const uint8_t* rec, RecordScales* out) {
  const __m256i low4 = _mm256_set1_epi8(0x0f), top2 = _mm256_set1_epi8(0x30);
  const __m256i lo0 = load32(rec + kScaleLowOff), lo1 = load32(rec + kScaleLowOff + 32);
  const __m256i hi = load32(rec + kScaleHighOff);
  // Bytes s*8+r (s < 4 in the *03 vectors, s >= 4 in the *47 ones).
  const __m256i sc03 = _mm256_or_si256(_mm256_and_si256(lo0, low4), _mm256_and_si256(_mm256_slli_epi16(hi, 4), top2));
  const __m256i mn03 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(lo0, 4), low4),
                                       _mm256_and_si256(_mm256_slli_epi16(hi, 2), top2));
  const __m256i sc47 = _mm256_or_si256(_mm256_and_si256(lo1, low4), _mm256_and_si256(hi, top2));
  const __m256i mn47 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(lo1, 4), low4),
                                       _mm256_and_si256(_mm256_srli_epi16(hi, 2), top2));
  const __m128i dup_even = _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
  const __m128i dup_odd = _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
  const __m128i pair = _mm_setr_epi8(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
  const __m128i sc_half[4] = {_mm256_castsi256_si128(sc03), _mm256_extracti128_si256(sc03, 1),
                              _mm256_castsi256_si128(sc47), _mm256_extracti128_si256(sc47, 1)};
  const __m128i mn_half[4] = {_mm256_castsi256_si128(mn03), _mm256_extracti128_si256(mn03, 1),
                              _mm256_castsi256_si128(mn47), _mm256_extracti128_si256(mn47, 1)};
  for (int h = 0; h < 4; ++h) {
    out->scale[2 * h] = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(sc_half[h], dup_even));
    out->scale[2 * h + 1] = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(sc_half[h], dup_odd));
    out->min_pair[h] = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(mn_half[h], pair));
  }
}

// sum_s min(s, r) * (bsums[2s] + bsums[2s+1]) in int32 lane r.
inline __m256i min_dot(const RecordScales& rs, const int16_t* bsums) {
  const __m128i pairs = _mm_hadd_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bsums)),
                                       _mm_loadu_si128(reinterpret_cast<const __m128i*>(bsums + 8)));
  __m256i acc = _mm256_madd_epi16(rs.min_pair[0], _mm256_broadcastd_epi32(pairs));
  acc =
      _mm256_add_epi32(acc, _mm256_madd_epi16(rs.min_pair[1], _mm256_broadcastd_epi32(_mm_shuffle_epi32(pairs, 0x55))));
  acc =
      _mm256_add_epi32(acc, _mm256_madd_epi16(rs.min_pair[2], _mm256_broadcastd_epi32(_mm_shuffle_epi32(pairs, 0xaa))));
  acc =
      _mm256_add_epi32(acc, _mm256_madd_epi16(rs.min_pair[3], _mm256_broadcastd_epi32(_mm_shuffle_epi32(pairs, 0xff))));
  return acc;
}

// All 64 level vectors of one record (Q4_K: 0..15, Q5_K: 0..31): index s * 8 + k for sub-block
// s, step k (values 4k..4k+3 of the sub-block, bytes 4r..4r+3 row r's).
struct Levels {
  __m256i v[64];
};

// T activation rows (super-block i of each, x_stride apart) against one record's levels: adds the
// record's contribution to out[t * out_stride + r]. maddubs pairs are at most 2 * max_level * 128
// in magnitude, so CHUNKS steps add in int16 before one madd with the scale turns them into int32:
// 8 for Q4_K (8 * 3840 = 30720), 4 for Q5_K (4 * 7936 = 31744), both below 32767.
template <int T, int CHUNKS>
inline void levels_tile(const Levels& lv, const RecordScales& rs, __m256 d, __m256 dmin, const uint8_t* x,
                        size_t x_stride, float* out, size_t out_stride) {
  static_assert(8 % CHUNKS == 0, "the 8 steps of a sub-block split evenly");
  __m256i sumi[T];
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t) sumi[t] = _mm256_setzero_si256();
  for (int s = 0; s < 8; ++s) {
#pragma GCC unroll 2
    for (int k0 = 0; k0 < 8; k0 += CHUNKS) {
      __m256i s16[T];
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) s16[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
      for (int k = k0; k < k0 + CHUNKS; ++k) {
        const __m256i lev = lv.v[8 * s + k];
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t)
          s16[t] = _mm256_add_epi16(s16[t],
                                    _mm256_maddubs_epi16(lev, broadcast4(q8k_qs(x + x_stride * t) + 32 * s + 4 * k)));
      }
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(s16[t], rs.scale[s]));
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t) {
    const uint8_t* y = x + x_stride * t;
    const __m256 yd = _mm256_set1_ps(q8k_d(y));
    float* o = out + out_stride * t;
    __m256 acc = _mm256_fmadd_ps(_mm256_mul_ps(d, yd), _mm256_cvtepi32_ps(sumi[t]), _mm256_loadu_ps(o));
    acc = _mm256_fnmadd_ps(_mm256_mul_ps(dmin, yd), _mm256_cvtepi32_ps(min_dot(rs, q8k_bsums(y))), acc);
    _mm256_storeu_ps(o, acc);
  }
}

}  // namespace qwen::kernels::k45
