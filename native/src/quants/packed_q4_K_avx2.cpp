// Q4_K weights packed eight rows at a time (contract in packed.h) and their AVX2 kernels.
//
// Group layout, one 1152-byte record (= 8 * sizeof(block_q4_K)) per super-block i, records in order:
//   [0, 16)      d[r]    (fp16) of the 8 rows: one _mm256_cvtph_ps gives all eight
//   [16, 32)     dmin[r] (fp16)
//   [32, 96)     byte s*8+r: low 4 bits of scale(s, r) | low 4 bits of min(s, r) << 4
//   [96, 128)    byte j: top 2 bits of scale(j), of min(j), of scale(j+32), of min(j+32), in bits
//                0-1, 2-3, 4-5, 6-7, where j = s*8+r. The 6-bit scales and mins stay packed (so the
//                record keeps GGML's size) but unpack for all 8 rows with a handful of vector ops.
//   [128, 1152)  32-byte chunks (c, k), c < 4, k < 8: bytes 4r..4r+3 are row r's qs[32c+4k .. +3].
//                Their low nibbles are values 4k..4k+3 of sub-block 2c, the high nibbles the same
//                values of sub-block 2c+1 (GGML's Q4_K nibble order).
// With that order, int32 lane r of every product belongs to row r: one broadcast of 4 activation
// bytes times a chunk gives 8 rows' partial sums, with no horizontal sum at the end.
//
// Integer ranges: maddubs pairs are at most 2*15*128 = 3840 in magnitude; the 8 chunks of a
// sub-block add in int16 to at most 30720 < 32767 before one madd with the 6-bit scale turns them
// into int32 (at most 256*15*128*63 per super-block, far from overflow).
#include <immintrin.h>

#include <cstring>

#include "quants/avx2_util.h"
#include "quants/ggml_types.h"
#include "quants/packed_avx2_util.h"
#include "quants/packed_impl.h"
#include "quants/quants_k_common.h"

namespace qwen::kernels {

namespace {

constexpr int kRows = 8;
constexpr size_t kRecordBytes = kRows * sizeof(block_q4_K);  // 1152
constexpr size_t kScaleLowOff = 32, kScaleHighOff = 96, kQsOff = 128;
static_assert(kQsOff + kRows * QK_K / 2 == kRecordBytes, "Q4_K packed record must keep GGML's size");

// Offsets inside block_q8_K (float d, int8 qs[256], int16 bsums[16]).


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
  acc = _mm256_add_epi32(acc, _mm256_madd_epi16(rs.min_pair[1], _mm256_broadcastd_epi32(_mm_shuffle_epi32(pairs, 0x55))));
  acc = _mm256_add_epi32(acc, _mm256_madd_epi16(rs.min_pair[2], _mm256_broadcastd_epi32(_mm_shuffle_epi32(pairs, 0xaa))));
  acc = _mm256_add_epi32(acc, _mm256_madd_epi16(rs.min_pair[3], _mm256_broadcastd_epi32(_mm_shuffle_epi32(pairs, 0xff))));
  return acc;
}

// One activation row against one group (decode): out[r]. Streams the group from memory, asking
// for records a few ahead, and keeps every sum in registers.
void gemv_stream(int n, const uint8_t* group, const uint8_t* x, float* out) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  __m256 acc = _mm256_setzero_ps();
  for (int i = 0; i < n / QK_K; ++i) {
    const uint8_t* rec = group + kRecordBytes * i;
    // The hardware prefetcher alone leaves the core waiting on DRAM (measured: ~30% slower); the
    // 18 lines of the record 4 ahead are requested two here and four per sub-block pair below.
    const char* ahead = reinterpret_cast<const char*>(rec) + 4 * kRecordBytes;
    _mm_prefetch(ahead, _MM_HINT_T0);
    _mm_prefetch(ahead + 64, _MM_HINT_T0);
    RecordScales rs;
    unpack_record_scales(rec, &rs);
    const uint8_t* y = x + sizeof(block_q8_K) * i;
    const int8_t* yq = q8k_qs(y);
    __m256i sumi = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      const uint8_t* chunks = rec + kQsOff + 256 * c;
      for (int p = 0; p < 4; ++p) _mm_prefetch(ahead + kQsOff + 256 * c + 64 * p, _MM_HINT_T0);
      __m256i s_lo = _mm256_setzero_si256(), s_hi = _mm256_setzero_si256();
#pragma GCC unroll 8
      for (int k = 0; k < 8; ++k) {
        const __m256i q = load32(chunks + 32 * k);
        s_lo = _mm256_add_epi16(s_lo, _mm256_maddubs_epi16(_mm256_and_si256(q, low4), broadcast4(yq + 64 * c + 4 * k)));
        s_hi = _mm256_add_epi16(s_hi, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(q, 4), low4),
                                                           broadcast4(yq + 64 * c + 32 + 4 * k)));
      }
      sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(_mm256_madd_epi16(s_lo, rs.scale[2 * c]),
                                                     _mm256_madd_epi16(s_hi, rs.scale[2 * c + 1])));
    }
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rec)));
    const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rec + 16)));
    const __m256 yd = _mm256_set1_ps(q8k_d(y));
    acc = _mm256_fmadd_ps(_mm256_mul_ps(d, yd), _mm256_cvtepi32_ps(sumi), acc);
    acc = _mm256_fnmadd_ps(_mm256_mul_ps(dmin, yd), _mm256_cvtepi32_ps(min_dot(rs, q8k_bsums(y))), acc);
  }
  _mm256_storeu_ps(out, acc);
}

// All 64 nibble vectors (levels 0..15) of one record: index (2c + part) * 8 + k, i.e. sub-block
// s = 2c + part, step k.
struct Levels {
  __m256i v[64];
};

inline void build_levels(const uint8_t* rec, Levels* out) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
#pragma GCC unroll 4
  for (int c = 0; c < 4; ++c) {
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
      const __m256i q = load32(rec + kQsOff + 256 * c + 32 * k);
      out->v[(2 * c) * 8 + k] = _mm256_and_si256(q, low4);
      out->v[(2 * c + 1) * 8 + k] = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
    }
  }
}

// T activation rows (super-block i of each, x_stride apart) against one record's split levels:
// adds the record's contribution to out[t * out_stride + r].
template <int T>
void levels_tile(const Levels& lv, const RecordScales& rs, __m256 d, __m256 dmin, const uint8_t* x, size_t x_stride,
                 float* out, size_t out_stride) {
  __m256i sumi[T];
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t) sumi[t] = _mm256_setzero_si256();
  for (int s = 0; s < 8; ++s) {
    __m256i s16[T];
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) s16[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
      const __m256i lev = lv.v[8 * s + k];
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t)
        s16[t] = _mm256_add_epi16(s16[t], _mm256_maddubs_epi16(lev, broadcast4(q8k_qs(x + x_stride * t) + 32 * s + 4 * k)));
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(s16[t], rs.scale[s]));
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

}  // namespace

void pack_q4_K_x8(const void* src, size_t src_row_bytes, int n, void* dst) {
  const uint8_t* rows = static_cast<const uint8_t*>(src);
  uint8_t* out = static_cast<uint8_t*>(dst);
  for (int i = 0; i < n / QK_K; ++i) {
    uint8_t* rec = out + kRecordBytes * i;
    std::memset(rec + kScaleHighOff, 0, kQsOff - kScaleHighOff);  // the top-bit bytes are OR-ed together
    for (int r = 0; r < kRows; ++r) {
      const block_q4_K& b = reinterpret_cast<const block_q4_K*>(rows + src_row_bytes * r)[i];
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
}

void gemv_q4_K_x8(int n, const void* group, const void* x, float* out) {
  gemv_stream(n, static_cast<const uint8_t*>(group), static_cast<const uint8_t*>(x), out);
}

void gemm_q4_K_x8(int n, const void* group, const void* x, size_t x_stride, int n_x, float* out, size_t out_stride) {
  const uint8_t* g = static_cast<const uint8_t*>(group);
  const uint8_t* xb = static_cast<const uint8_t*>(x);
  if (n_x == 1) {  // one token: the streaming gemv path (prefetches, accumulates in registers)
    gemv_stream(n, g, xb, out);
    return;
  }
  for (int t = 0; t < n_x; ++t) _mm256_storeu_ps(out + out_stride * t, _mm256_setzero_ps());
  // The 64 nibble vectors of a record are split once per call and reused by every token from L1.
  Levels levels;
  for (int i = 0; i < n / QK_K; ++i) {
    const uint8_t* rec = g + kRecordBytes * i;
    RecordScales rs;
    unpack_record_scales(rec, &rs);
    build_levels(rec, &levels);
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rec)));
    const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rec + 16)));
    const uint8_t* xi = xb + sizeof(block_q8_K) * i;
    for_token_tiles<4>(n_x, [&](auto nt, int t) {
      levels_tile<decltype(nt)::value>(levels, rs, d, dmin, xi + x_stride * t, x_stride, out + out_stride * t, out_stride);
    });
  }
}

}  // namespace qwen::kernels
