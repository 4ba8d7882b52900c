// Q5_K weights packed eight rows at a time (contract in packed.h) and their AVX2 kernels.
//
// Group layout: one 1408-byte record (= 8 * sizeof(block_q5_K)) per super-block i, records in
// order. Bytes [0, 1152) are laid out as in Q4_K's packed record (packed_k45_avx2.h: the rows'
// d, dmin, scales and mins, then the chunks of low 4 bits), followed by
//   [1152, 1408) 32-byte chunks k < 8: bytes 4r..4r+3 are row r's qh[4k .. 4k+3].
// GGML keeps the fifth bit of value l of sub-block s in bit s of qh[l], so chunk k holds the fifth
// bits of values 4k..4k+3 of every sub-block, in the same byte positions as the low-bit chunks
// (c, k): shifting it right by 2c puts sub-block 2c's bits in bit 0 and 2c+1's in bit 1.
//
// Integer ranges: levels are 0..31, so maddubs pairs reach 2*31*128 = 7936 in magnitude; four
// chunks add in int16 (31744 < 32767) before a madd with the 6-bit scale moves them to int32.
#include <immintrin.h>

#include <cstring>

#include "quants/avx2_util.h"
#include "quants/ggml_types.h"
#include "quants/packed_avx2_util.h"
#include "quants/packed_impl.h"
#include "quants/packed_k45_avx2.h"

namespace qwen::kernels {

namespace {

using k45::kQsOff;
using k45::kRows;
using k45::Levels;
using k45::RecordScales;
constexpr size_t kQhOff = kQsOff + kRows * QK_K / 2;         // 1152
constexpr size_t kRecordBytes = kRows * sizeof(block_q5_K);  // 1408
static_assert(kQhOff + kRows * QK_K / 8 == kRecordBytes, "Q5_K packed record must keep GGML's size");
constexpr int kChunksPerSum = 4;  // int16 steps before a madd (see the ranges above)

// Levels of chunk (c, k): low nibbles with bit 2c of the fifth-bit chunk, high nibbles with bit 2c+1.
struct ChunkLevels {
  __m256i lo, hi;
};
inline ChunkLevels chunk_levels(const uint8_t* rec, int c, int k) {
  const __m256i low4 = _mm256_set1_epi8(0x0f), bit4 = _mm256_set1_epi8(0x10);
  const __m256i q = load32(rec + kQsOff + 256 * c + 32 * k);
  // 16-bit shifts, yet every kept bit stays in its byte: the right shift by 2c < 8 brings bits 2c
  // and 2c+1 of a byte to its bits 0 and 1, the left shifts by 4 and 3 take those to its bit 4.
  const __m256i h = _mm256_srl_epi16(load32(rec + kQhOff + 32 * k), _mm_cvtsi32_si128(2 * c));
  return {_mm256_or_si256(_mm256_and_si256(q, low4), _mm256_and_si256(_mm256_slli_epi16(h, 4), bit4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), low4),
                          _mm256_and_si256(_mm256_slli_epi16(h, 3), bit4))};
}

// One activation row against one group (decode): out[r], every sum in registers.
void gemv_stream(int n, const uint8_t* group, const uint8_t* x, float* out) {
  __m256 acc = _mm256_setzero_ps();
  for (int i = 0; i < n / QK_K; ++i) {
    const uint8_t* rec = group + kRecordBytes * i;
    // As in the Q4_K gemv: the record 4 ahead is asked for, or the core waits on DRAM.
    const char* ahead = reinterpret_cast<const char*>(rec) + 4 * kRecordBytes;
    for (int line = 0; line < (int)(kRecordBytes / 64); ++line) _mm_prefetch(ahead + 64 * line, _MM_HINT_T0);
    RecordScales rs;
    k45::unpack_record_scales(rec, &rs);
    const uint8_t* y = x + sizeof(block_q8_K) * i;
    const int8_t* yq = q8k_qs(y);
    __m256i sumi = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
#pragma GCC unroll 2
      for (int k0 = 0; k0 < 8; k0 += kChunksPerSum) {
        __m256i s_lo = _mm256_setzero_si256(), s_hi = _mm256_setzero_si256();
#pragma GCC unroll 4
        for (int k = k0; k < k0 + kChunksPerSum; ++k) {
          const ChunkLevels l = chunk_levels(rec, c, k);
          s_lo = _mm256_add_epi16(s_lo, _mm256_maddubs_epi16(l.lo, broadcast4(yq + 64 * c + 4 * k)));
          s_hi = _mm256_add_epi16(s_hi, _mm256_maddubs_epi16(l.hi, broadcast4(yq + 64 * c + 32 + 4 * k)));
        }
        sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(_mm256_madd_epi16(s_lo, rs.scale[2 * c]),
                                                       _mm256_madd_epi16(s_hi, rs.scale[2 * c + 1])));
      }
    }
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rec)));
    const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rec + 16)));
    const __m256 yd = _mm256_set1_ps(q8k_d(y));
    acc = _mm256_fmadd_ps(_mm256_mul_ps(d, yd), _mm256_cvtepi32_ps(sumi), acc);
    acc = _mm256_fnmadd_ps(_mm256_mul_ps(dmin, yd), _mm256_cvtepi32_ps(k45::min_dot(rs, q8k_bsums(y))), acc);
  }
  _mm256_storeu_ps(out, acc);
}

// The record's 64 level vectors (0..31).
inline void build_levels(const uint8_t* rec, Levels* out) {
#pragma GCC unroll 4
  for (int c = 0; c < 4; ++c) {
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
      const ChunkLevels l = chunk_levels(rec, c, k);
      out->v[(2 * c) * 8 + k] = l.lo;
      out->v[(2 * c + 1) * 8 + k] = l.hi;
    }
  }
}

}  // namespace

void pack_q5_K_x8(const void* src, size_t src_row_bytes, int n, void* dst) {
  const uint8_t* rows = static_cast<const uint8_t*>(src);
  uint8_t* out = static_cast<uint8_t*>(dst);
  for (int i = 0; i < n / QK_K; ++i) {
    uint8_t* rec = out + kRecordBytes * i;
    k45::pack_head<block_q5_K>(rows, src_row_bytes, i, rec);
    for (int r = 0; r < kRows; ++r) {
      const block_q5_K& b = reinterpret_cast<const block_q5_K*>(rows + src_row_bytes * r)[i];
      for (int k = 0; k < 8; ++k) std::memcpy(rec + kQhOff + 32 * k + 4 * r, b.qh + 4 * k, 4);
    }
  }
}

void gemv_q5_K_x8(int n, const void* group, const void* x, float* out) {
  gemv_stream(n, static_cast<const uint8_t*>(group), static_cast<const uint8_t*>(x), out);
}

void gemm_q5_K_x8(int n, const void* group, const void* x, size_t x_stride, int n_x, float* out, size_t out_stride) {
  const uint8_t* g = static_cast<const uint8_t*>(group);
  const uint8_t* xb = static_cast<const uint8_t*>(x);
  if (n_x == 1) {
    gemv_stream(n, g, xb, out);
    return;
  }
  for (int t = 0; t < n_x; ++t) _mm256_storeu_ps(out + out_stride * t, _mm256_setzero_ps());
  // The 64 level vectors of a record are built once per call and reused by every token from L1.
  Levels levels;
  for (int i = 0; i < n / QK_K; ++i) {
    const uint8_t* rec = g + kRecordBytes * i;
    RecordScales rs;
    k45::unpack_record_scales(rec, &rs);
    build_levels(rec, &levels);
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rec)));
    const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rec + 16)));
    const uint8_t* xi = xb + sizeof(block_q8_K) * i;
    for_token_tiles<4>(n_x, [&](auto nt, int t) {
      k45::levels_tile<decltype(nt)::value, kChunksPerSum>(levels, rs, d, dmin, xi + x_stride * t, x_stride,
                                                           out + out_stride * t, out_stride);
    });
  }
}

}  // namespace qwen::kernels
