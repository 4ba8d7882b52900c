// Q4_K weights packed eight rows at a time (contract in packed.h) and their AVX2 kernels.
//
// Group layout: one 1152-byte record (= 8 * sizeof(block_q4_K)) per super-block i, records in
// order, laid out as packed_k45_avx2.h describes (head of scales and mins, then the nibble chunks).
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
#include "quants/packed_k45_avx2.h"

namespace qwen::kernels {

namespace {

using k45::kQsOff;
using k45::kRows;
using k45::Levels;
using k45::RecordScales;
constexpr size_t kRecordBytes = kRows * sizeof(block_q4_K);  // 1152
static_assert(kQsOff + kRows * QK_K / 2 == kRecordBytes, "Q4_K packed record must keep GGML's size");

// One activation row against one group (decode): out[r]. Streams the group from memory, asking
// for records a few ahead, and keeps every sum in registers.
void gemv_stream(int n, const uint8_t* group, const uint8_t* x, float* out) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  __m256 acc = _mm256_setzero_ps();
  for (int i = 0; i < n / QK_K; ++i) {
    const uint8_t* rec = group + kRecordBytes * i;
    // The hardware prefetcher alone leaves the core waiting on DRAM (measured slower); the
    // 18 lines of the record 4 ahead are requested two here and four per sub-block pair below.
    const char* ahead = reinterpret_cast<const char*>(rec) + 4 * kRecordBytes;
    _mm_prefetch(ahead, _MM_HINT_T0);
    _mm_prefetch(ahead + 64, _MM_HINT_T0);
    RecordScales rs;
    k45::unpack_record_scales(rec, &rs);
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
    acc = _mm256_fnmadd_ps(_mm256_mul_ps(dmin, yd), _mm256_cvtepi32_ps(k45::min_dot(rs, q8k_bsums(y))), acc);
  }
  _mm256_storeu_ps(out, acc);
}

// The record's 64 nibble vectors (levels 0..15).
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

}  // namespace

void pack_q4_K_x8(const void* src, size_t src_row_bytes, int n, void* dst) {
  const uint8_t* rows = static_cast<const uint8_t*>(src);
  uint8_t* out = static_cast<uint8_t*>(dst);
  for (int i = 0; i < n / QK_K; ++i) k45::pack_head<block_q4_K>(rows, src_row_bytes, i, out + kRecordBytes * i);
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
    k45::unpack_record_scales(rec, &rs);
    build_levels(rec, &levels);
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rec)));
    const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rec + 16)));
    const uint8_t* xi = xb + sizeof(block_q8_K) * i;
    for_token_tiles<4>(n_x, [&](auto nt, int t) {
      k45::levels_tile<decltype(nt)::value, 8>(levels, rs, d, dmin, xi + x_stride * t, x_stride, out + out_stride * t,
                                               out_stride);
    });
  }
}

}  // namespace qwen::kernels
