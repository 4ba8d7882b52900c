// The AVX-512 VNNI group-pair kernels for packed Q4_K (PackedTraits::gemm2 and, for decode,
// gemv2; contract in packed.h).
// The groups are in packed_q4_K_avx2.cpp's layout: per super-block i a 1152-byte record with the 8
// rows' d and dmin (fp16), their 6-bit scales and mins split in low-bit and top-bit bytes, then 32
// chunks (c, k) of 32 bytes whose low nibbles are values 4k..4k+3 of sub-block 2c and whose high
// nibbles the same values of sub-block 2c+1 (bytes 4r..4r+3 belong to row r).
//
// Arithmetic, per row, token and super-block: the exact integer sum over sub-blocks s of
// scale(s) * sum_v level_v * y_v (vpdpbusd: nibble levels unsigned, activations signed, int32 with
// no intermediate int16 step), the exact sum over s of min(s) * (Q8_K bsums of s) (vpdpwssd), then
// the same two float operations as the AVX2 kernels, so results equal vec_dot's to float rounding.
#include <immintrin.h>

#include "quants/ggml_types.h"
#include "quants/packed_avx512_util.h"
#include "quants/packed_impl.h"
#include "quants/packed_k45_avx512.h"

namespace qwen::kernels {

namespace {

constexpr size_t kRecordBytes = 8 * sizeof(block_q4_K);  // 1152
using k45::kQsOff;
using k45::PairScales;
constexpr int kTile = 8;  // tokens per register tile: 3 * 8 accumulators + 4 working vectors of 32
// Small batches read the weights from DRAM about once; the hardware prefetcher alone leaves the
// core waiting, so each record pair's 2 x 18 lines are asked for this many records ahead: 2
// measured faster than none and no slower than 4 (figures in bench/results/kernel-design-notes.md).
constexpr int kPrefetchRecords = 2;
// Decode reads each record once, straight from DRAM, in two streams (the groups lie far apart):
// records are asked for further ahead, as the AVX2 gemv does.
constexpr int kDecodePrefetchRecords = 4;

// T activation rows (super-block i of each, x_stride apart) against one record pair: adds the
// record's contribution to out[t * out_stride + 0..15].
template <int T>
void record_tile(const uint8_t* ra, const uint8_t* rb, const PairScales& ps, const uint8_t* x, size_t x_stride,
                 float* out, size_t out_stride) {
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  __m512i sumi[T];
  for (int t = 0; t < T; ++t) sumi[t] = _mm512_setzero_si512();
  for (int c = 0; c < 4; ++c) {
    __m512i acc_lo[T], acc_hi[T];
    for (int t = 0; t < T; ++t) acc_lo[t] = acc_hi[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
      const size_t off = kQsOff + 256 * c + 32 * k;
      const __m512i raw = load_pair(ra + off, rb + off);
      const __m512i lo = _mm512_and_si512(raw, low4);
      const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(raw, 4), low4);
      for (int t = 0; t < T; ++t) {
        const int8_t* yq = q8k_qs(x + x_stride * t) + 64 * c + 4 * k;
        acc_lo[t] = dot4(acc_lo[t], lo, broadcast4_512(yq));
        acc_hi[t] = dot4(acc_hi[t], hi, broadcast4_512(yq + 32));
      }
    }
    for (int t = 0; t < T; ++t)
      sumi[t] = _mm512_add_epi32(sumi[t], _mm512_add_epi32(_mm512_mullo_epi32(acc_lo[t], ps.scale[2 * c]),
                                                           _mm512_mullo_epi32(acc_hi[t], ps.scale[2 * c + 1])));
  }
  for (int t = 0; t < T; ++t) k45::finish_pair(ps, sumi[t], x + x_stride * t, out + out_stride * t);
}

}  // namespace

void gemm2_q4_K_x8(int n, const void* group_a, const void* group_b, const void* x, size_t x_stride, int n_x, float* out,
                   size_t out_stride) {
  const uint8_t* ga = static_cast<const uint8_t*>(group_a);
  const uint8_t* gb = static_cast<const uint8_t*>(group_b);
  const uint8_t* xb = static_cast<const uint8_t*>(x);
  for (int t = 0; t < n_x; ++t) _mm512_storeu_ps(out + out_stride * t, _mm512_setzero_ps());
  for (int i = 0; i < n / QK_K; ++i) {
    const uint8_t* ra = ga + kRecordBytes * i;
    const uint8_t* rb = gb + kRecordBytes * i;
    prefetch_record_pair(ra, rb, kPrefetchRecords * kRecordBytes, kRecordBytes);
    PairScales ps;
    k45::unpack_pair_scales(ra, rb, &ps);
    const uint8_t* xi = xb + sizeof(block_q8_K) * i;
    for_token_tiles<kTile>(n_x, [&](auto nt, int t) {
      record_tile<decltype(nt)::value>(ra, rb, ps, xi + x_stride * t, x_stride, out + out_stride * t, out_stride);
    });
  }
}

// Decode: one activation row against two groups. The same integer sums and float operations per
// lane as the AVX2 gemv (packed_q4_K_avx2.cpp), so each group's result equals gemv's bit for bit,
// in about half the instructions per weight byte (one vpdpbusd covers 64 bytes where the AVX2
// kernel needs a maddubs and an add per 32): Q4_K decode is partly compute-bound on 2 cores.
void gemv2_q4_K_x8(int n, const void* group_a, const void* group_b, const void* x, float* out_a, float* out_b) {
  const uint8_t* ga = static_cast<const uint8_t*>(group_a);
  const uint8_t* gb = static_cast<const uint8_t*>(group_b);
  const uint8_t* xb = static_cast<const uint8_t*>(x);
  alignas(64) float acc[16] = {};
  for (int i = 0; i < n / QK_K; ++i) {
    const uint8_t* ra = ga + kRecordBytes * i;
    const uint8_t* rb = gb + kRecordBytes * i;
    prefetch_record_pair(ra, rb, kDecodePrefetchRecords * kRecordBytes, kRecordBytes);
    PairScales ps;
    k45::unpack_pair_scales(ra, rb, &ps);
    record_tile<1>(ra, rb, ps, xb + sizeof(block_q8_K) * i, 0, acc, 0);
  }
  store_pair_split(acc, out_a, out_b);
}

}  // namespace qwen::kernels
