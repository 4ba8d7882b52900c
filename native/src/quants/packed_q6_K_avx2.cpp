// Q6_K weights packed eight rows at a time (contract in packed.h) and their AVX2 kernels.
//
// Group layout, one 1680-byte record (= 8 * sizeof(block_q6_K)) per super-block i, records in order:
//   [0, 16)      d[r] (fp16) of the 8 rows: one _mm256_cvtph_ps gives all eight
//   [16, 144)    byte g*8+r: the int8 scale of 16-value group g (< 16) of row r
//   [144, 1680)  for half h < 2 and step k < 8, 96 bytes: three 32-byte chunks C0, C1, C2. Byte
//                4r+j of chunk Cq (j < 4) holds in its low 6 bits the level of row r's value
//                v(q, j) = 128h + 32q + 4k + j, and in its top 2 bits bits 2q, 2q+1 of the level of
//                v(3, j). The levels are GGML's (4 bits of ql | 2 bits of qh << 4), only regrouped:
//                three levels come out with one AND each and the fourth with 8 operations, against
//                17 operations for the four in GGML's ql/qh split.
// With that order, int32 lane r of every product belongs to row r: one broadcast of 4 activation
// bytes times a chunk gives 8 rows' partial sums, with no horizontal sum at the end.
//
// Levels stay unsigned (0..63, GGML's stored +32); the offset is taken off once per super-block as
// 32 * sum_g scale(g, r) * bsums[g] (Q8_K's 16-value sums match Q6_K's 16-value scale groups).
// Integer ranges: a maddubs pair is at most 2*63*128 = 16128 in magnitude, so two steps add in int16
// (<= 32256 < 32767) before one madd with the int8 scale moves them to int32; a super-block's int32
// sum is at most 256*63*128*128, far from overflow.
#include <immintrin.h>

#include <cstring>

#include "quants/avx2_util.h"
#include "quants/ggml_types.h"
#include "quants/packed_avx2_util.h"
#include "quants/packed_impl.h"

namespace qwen::kernels {

namespace {

constexpr int kRows = 8;
constexpr size_t kRecordBytes = kRows * sizeof(block_q6_K);  // 1680
constexpr size_t kScaleOff = 16, kBitsOff = 144, kStepBytes = 96;
static_assert(kBitsOff + 16 * kStepBytes == kRecordBytes, "Q6_K packed record must keep GGML's size");

// Offsets inside block_q8_K (float d, int8 qs[256], int16 bsums[16]).

// Per super-block record: the 16 group scale vectors (int16 scale(g, r) in both halves of int32
// lane r, ready for madd) and the 8 pair vectors (lane r = scale(2j, r), scale(2j+1, r)) for the
// offset correction.
struct RecordScales {
  __m256i scale[16];
  __m256i pair[8];
};

inline void unpack_record_scales(const uint8_t* rec, RecordScales* out) {
  const __m128i dup_even = _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
  const __m128i dup_odd = _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
  const __m128i pair = _mm_setr_epi8(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
  for (int j = 0; j < 8; ++j) {
    const __m128i s = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rec + kScaleOff + 16 * j));
    out->scale[2 * j] = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(s, dup_even));
    out->scale[2 * j + 1] = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(s, dup_odd));
    out->pair[j] = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(s, pair));
  }
}

// sum_g scale(g, r) * bsums[g] in int32 lane r.
inline __m256i offset_dot(const RecordScales& rs, const int16_t* bsums) {
  __m256i acc = _mm256_madd_epi16(rs.pair[0], broadcast4(bsums));
#pragma GCC unroll 8
  for (int j = 1; j < 8; ++j) acc = _mm256_add_epi32(acc, _mm256_madd_epi16(rs.pair[j], broadcast4(bsums + 2 * j)));
  return acc;
}

// Levels 0..63 of quarter q (values 128h + 32q + 4k + j) of one 96-byte step.
inline __m256i step_levels(const uint8_t* step, int q) {
  const __m256i six = _mm256_set1_epi8(0x3f);
  if (q < 3) return _mm256_and_si256(load32(step + 32 * q), six);
  // Quarter 3: the top 2 bits of C0, C1, C2 are its level bits 0-1, 2-3, 4-5. The 16-bit shifts
  // bring in bits of the neighbouring byte, which the byte masks then drop.
  const __m256i b01 = _mm256_and_si256(_mm256_srli_epi16(load32(step), 6), _mm256_set1_epi8(0x03));
  const __m256i b23 = _mm256_and_si256(_mm256_srli_epi16(load32(step + 32), 4), _mm256_set1_epi8(0x0c));
  const __m256i b45 = _mm256_and_si256(_mm256_srli_epi16(load32(step + 64), 2), _mm256_set1_epi8(0x30));
  return _mm256_or_si256(_mm256_or_si256(b01, b23), b45);
}

// One activation row against G groups (decode; G = 1 for gemv, 2 for gemv2, whose groups lie far
// apart so a thread reads two DRAM streams): out[g][r]. Streams the groups from memory, asking for
// records a few ahead, and keeps every sum in registers. Steps go in pairs (the two halves of
// a 16-value scale group) with all four quarters of each, so each chunk is loaded once.
template <int G> void gemv_stream(int n, const void* const* groups, const uint8_t* x, float* const* out) {
  __m256 acc[G];
  for (int g = 0; g < G; ++g) acc[g] = _mm256_setzero_ps();
  for (int i = 0; i < n / QK_K; ++i) {
    const uint8_t* y = x + sizeof(block_q8_K) * i;
    const int8_t* yq = q8k_qs(y);
    const __m256 dy = _mm256_set1_ps(q8k_d(y));
    // One group after the other, not unrolled: interleaved, two records' 24 scale vectors would
    // spill on top of the level work.
#pragma GCC unroll 1
    for (int g = 0; g < G; ++g) {
      const uint8_t* rec = static_cast<const uint8_t*>(groups[g]) + kRecordBytes * i;
      // The hardware prefetcher alone leaves the core waiting on DRAM; the 27 lines of the record
      // 6 ahead are requested three here and twelve per half below.
      const char* ahead = reinterpret_cast<const char*>(rec) + 6 * kRecordBytes;
      _mm_prefetch(ahead, _MM_HINT_T0);
      _mm_prefetch(ahead + 64, _MM_HINT_T0);
      _mm_prefetch(ahead + 128, _MM_HINT_T0);
      RecordScales rs;
      unpack_record_scales(rec, &rs);
      __m256i sumi = _mm256_setzero_si256();
      for (int h = 0; h < 2; ++h) {
        const uint8_t* steps = rec + kBitsOff + 8 * kStepBytes * h;
        for (int p = 0; p < 12; ++p) _mm_prefetch(ahead + kBitsOff + 8 * kStepBytes * h + 64 * p, _MM_HINT_T0);
#pragma GCC unroll 4
        for (int kp = 0; kp < 4; ++kp) {
          const uint8_t* s0 = steps + kStepBytes * (2 * kp);
#pragma GCC unroll 4
          for (int q = 0; q < 4; ++q) {
            const int8_t* a = yq + 128 * h + 32 * q + 8 * kp;
            const __m256i s16 =
                _mm256_add_epi16(_mm256_maddubs_epi16(step_levels(s0, q), broadcast4(a)),
                                 _mm256_maddubs_epi16(step_levels(s0 + kStepBytes, q), broadcast4(a + 4)));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(s16, rs.scale[8 * h + 2 * q + kp / 2]));
          }
        }
      }
      const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rec)));
      const __m256i shifted = _mm256_slli_epi32(offset_dot(rs, q8k_bsums(y)), 5);
      acc[g] = _mm256_fmadd_ps(_mm256_mul_ps(d, dy), _mm256_cvtepi32_ps(_mm256_sub_epi32(sumi, shifted)), acc[g]);
    }
  }
  for (int g = 0; g < G; ++g) _mm256_storeu_ps(out[g], acc[g]);
}

// All 64 level vectors of one record, in the order the kernels consume them: index
// (4h + q) * 8 + k for half h, quarter q, step k.
struct Levels {
  __m256i v[64];
};

inline void build_levels(const uint8_t* rec, Levels* out) {
  for (int h = 0; h < 2; ++h) {
    const uint8_t* steps = rec + kBitsOff + 8 * kStepBytes * h;
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
#pragma GCC unroll 4
      for (int q = 0; q < 4; ++q) out->v[(4 * h + q) * 8 + k] = step_levels(steps + kStepBytes * k, q);
    }
  }
}

// T activation rows (super-block i of each, x_stride apart) against one record's prebuilt levels:
// adds the record's contribution to out[t * out_stride + r].
template <int T>
void levels_tile(const Levels& lv, const RecordScales& rs, __m256 d, const uint8_t* x, size_t x_stride, float* out,
                 size_t out_stride) {
  __m256i sumi[T];
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t) sumi[t] = _mm256_setzero_si256();
#pragma GCC unroll 32
  for (int j = 0; j < 32; ++j) {  // j = (4h + q) * 4 + kp: two steps, half a 16-value scale group
    const int h = j / 16, q = (j / 4) % 4, kp = j % 4;
    const __m256i l0 = lv.v[2 * j], l1 = lv.v[2 * j + 1];
    const __m256i sc = rs.scale[8 * h + 2 * q + kp / 2];
    const int off = 128 * h + 32 * q + 8 * kp;
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      const int8_t* a = q8k_qs(x + x_stride * t) + off;
      const __m256i s16 =
          _mm256_add_epi16(_mm256_maddubs_epi16(l0, broadcast4(a)), _mm256_maddubs_epi16(l1, broadcast4(a + 4)));
      sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(s16, sc));
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t) {
    const uint8_t* y = x + x_stride * t;
    const __m256i shifted = _mm256_slli_epi32(offset_dot(rs, q8k_bsums(y)), 5);
    const __m256 part = _mm256_cvtepi32_ps(_mm256_sub_epi32(sumi[t], shifted));
    float* o = out + out_stride * t;
    _mm256_storeu_ps(o, _mm256_fmadd_ps(_mm256_mul_ps(d, _mm256_set1_ps(q8k_d(y))), part, _mm256_loadu_ps(o)));
  }
}

// The stored levels (0..63) of the 256 values of a GGML Q6_K block: in each 128-value half h,
// ql[64h + l] carries values l (low nibble) and 64 + l (high nibble), ql[64h + 32 + l] values
// 32 + l and 96 + l, and qh[32h + l] the top two bits of values l, 32 + l, 64 + l, 96 + l.
inline void q6k_levels(const block_q6_K& b, uint8_t levels[QK_K]) {
  for (int h = 0; h < 2; ++h) {
    const uint8_t* ql = b.ql + 64 * h;
    const uint8_t* qh = b.qh + 32 * h;
    uint8_t* out = levels + 128 * h;
    for (int l = 0; l < 32; ++l) {
      out[l] = (uint8_t)((ql[l] & 0x0f) | ((qh[l] & 3) << 4));
      out[32 + l] = (uint8_t)((ql[32 + l] & 0x0f) | (((qh[l] >> 2) & 3) << 4));
      out[64 + l] = (uint8_t)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
      out[96 + l] = (uint8_t)((ql[32 + l] >> 4) | (((qh[l] >> 6) & 3) << 4));
    }
  }
}

}  // namespace

void pack_q6_K_x8(const void* src, size_t src_row_bytes, int n, void* dst) {
  const uint8_t* rows = static_cast<const uint8_t*>(src);
  uint8_t* out = static_cast<uint8_t*>(dst);
  for (int i = 0; i < n / QK_K; ++i) {
    uint8_t* rec = out + kRecordBytes * i;
    for (int r = 0; r < kRows; ++r) {
      const block_q6_K& b = reinterpret_cast<const block_q6_K*>(rows + src_row_bytes * r)[i];
      std::memcpy(rec + 2 * r, &b.d, 2);
      for (int g = 0; g < 16; ++g) rec[kScaleOff + g * kRows + r] = (uint8_t)b.scales[g];
      uint8_t lv[QK_K];
      q6k_levels(b, lv);
      for (int h = 0; h < 2; ++h) {
        for (int k = 0; k < 8; ++k) {
          uint8_t* step = rec + kBitsOff + kStepBytes * (8 * h + k) + 4 * r;
          const uint8_t* v = lv + 128 * h + 4 * k;  // v[32q + j]: quarter q, value j
          for (int j = 0; j < 4; ++j)
            for (int q = 0; q < 3; ++q)
              step[32 * q + j] = (uint8_t)(v[32 * q + j] | (((v[96 + j] >> (2 * q)) & 3) << 6));
        }
      }
    }
  }
}

void gemv_q6_K_x8(int n, const void* group, const void* x, float* out) {
  gemv_stream<1>(n, &group, static_cast<const uint8_t*>(x), &out);
}

void gemv2_q6_K_x8(int n, const void* group_a, const void* group_b, const void* x, float* out_a, float* out_b) {
  const void* groups[2] = {group_a, group_b};
  float* outs[2] = {out_a, out_b};
  gemv_stream<2>(n, groups, static_cast<const uint8_t*>(x), outs);
}

void gemm_q6_K_x8(int n, const void* group, const void* x, size_t x_stride, int n_x, float* out, size_t out_stride) {
  const uint8_t* g = static_cast<const uint8_t*>(group);
  const uint8_t* xb = static_cast<const uint8_t*>(x);
  if (n_x == 1) {  // one token: the streaming gemv path (prefetches, accumulates in registers)
    gemv_stream<1>(n, &group, xb, &out);
    return;
  }
  for (int t = 0; t < n_x; ++t) _mm256_storeu_ps(out + out_stride * t, _mm256_setzero_ps());
  // The 64 level vectors of a record are built once per call and reused by every token from L1.
  Levels levels;
  for (int i = 0; i < n / QK_K; ++i) {
    const uint8_t* rec = g + kRecordBytes * i;
    RecordScales rs;
    unpack_record_scales(rec, &rs);
    build_levels(rec, &levels);
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rec)));
    const uint8_t* xi = xb + sizeof(block_q8_K) * i;
    for_token_tiles<4>(n_x, [&](auto nt, int t) {
      levels_tile<decltype(nt)::value>(levels, rs, d, xi + x_stride * t, x_stride, out + out_stride * t, out_stride);
    });
  }
}

}  // namespace qwen::kernels
