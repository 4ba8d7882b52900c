// The AVX-512 VNNI group-pair kernel for packed Q8_0 (PackedTraits::gemm2, contract in packed.h).
// The groups are in packed_q8_0_avx2.cpp's layout: per 32-value block, the 8 rows' fp16 scales
// then 8 chunks of 32 bytes whose bytes 4r..4r+3 are row r's levels 4k..4k+3.
//
// vpdpbusd multiplies unsigned by signed bytes, and both Q8_0 sides are signed: the weight levels
// are flipped to w + 128 (one xor per chunk, shared by every token), and the block's integer dot is
//   sum_j (w_j + 128) y_j - 128 * sum_j y_j,
// with the activation sum taken from the activation rows' appended terms (packed_act_q8.h), the
// format this table's Q8_0 entry quantizes to on AVX-512 machines. The sums are exact in int32 and
// the float operations are vec_dot_q8_0's, so results agree to float rounding.
#include <immintrin.h>

#include "quants/ggml_types.h"
#include "quants/packed_act_q8.h"
#include "quants/packed_avx512_util.h"
#include "quants/packed_impl.h"

namespace qwen::kernels {

namespace {

constexpr size_t kScaleBytes = 16, kBlockBytes = 272;  // 8 * sizeof(block_q8_0)
constexpr int kTile = 8;                               // tokens per register tile
// Bytes ahead of each block whose four lines are prefetched, as the AVX2 gemv does: small batches
// read the weights from DRAM about once.
// Decode asks further ahead: in matmul-bench (2 threads, cold, 151936x896) 2048 bytes read 54-59
// GB/s, 1024 50-52.
constexpr size_t kPrefetchAhead = 1024;
constexpr size_t kDecodePrefetchAhead = 2048;

template <int T>
void dot_tile(int n, const uint8_t* ga, const uint8_t* gb, const uint8_t* x, size_t x_stride, float* out,
              size_t out_stride, size_t ahead) {
  const int nb = n / QK8_0;
  const block_q8_0* y[T];
  const float* yd[T];
  const int32_t* ysum[T];
  for (int t = 0; t < T; ++t) {
    y[t] = reinterpret_cast<const block_q8_0*>(x + x_stride * t);
    yd[t] = q8_terms_d(y[t], n);
    ysum[t] = q8_terms_sum(y[t], n);
  }
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int b = 0; b < nb; ++b) {
    const uint8_t* ba = ga + kBlockBytes * b;
    const uint8_t* bb = gb + kBlockBytes * b;
    for (int line = 0; line < 4; ++line) {
      _mm_prefetch(reinterpret_cast<const char*>(ba) + ahead + 64 * line, _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(bb) + ahead + 64 * line, _MM_HINT_T0);
    }
    __m512i isum[T];
    // Starting from -128 * sum(y) takes the level offset off with no extra instruction per block.
    for (int t = 0; t < T; ++t) isum[t] = _mm512_set1_epi32(-128 * ysum[t][b]);
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
      const __m512i w = _mm512_xor_si512(load_pair(ba + kScaleBytes + 32 * k, bb + kScaleBytes + 32 * k), flip);
      for (int t = 0; t < T; ++t) isum[t] = dot4(isum[t], w, broadcast4_512(y[t][b].qs + 4 * k));
    }
    const __m512 dw = load_pair_f16(ba, bb);
    for (int t = 0; t < T; ++t)
      acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(yd[t][b])), _mm512_cvtepi32_ps(isum[t]), acc[t]);
  }
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(out + out_stride * t, acc[t]);
}

}  // namespace

void gemm2_q8_0_x8(int n, const void* group_a, const void* group_b, const void* x, size_t x_stride, int n_x, float* out,
                   size_t out_stride) {
  const uint8_t* ga = static_cast<const uint8_t*>(group_a);
  const uint8_t* gb = static_cast<const uint8_t*>(group_b);
  const uint8_t* xb = static_cast<const uint8_t*>(x);
  for_token_tiles<kTile>(n_x, [&](auto nt, int t) {
    dot_tile<decltype(nt)::value>(n, ga, gb, xb + x_stride * t, x_stride, out + out_stride * t, out_stride,
                                  kPrefetchAhead);
  });
}

// Decode: one activation row against two groups. dot_tile's block sums are exact and its float
// operations are the AVX2 gemv's, so each group's result equals gemv's bit for bit; a chunk costs
// an xor and a vpdpbusd per 64 bytes where the AVX2 gemv needs sign, maddubs, madd and add per 32.
void gemv2_vnni_q8_0_x8(int n, const void* group_a, const void* group_b, const void* x, float* out_a, float* out_b) {
  alignas(64) float pair[16];
  dot_tile<1>(n, static_cast<const uint8_t*>(group_a), static_cast<const uint8_t*>(group_b),
              static_cast<const uint8_t*>(x), 0, pair, 0, kDecodePrefetchAhead);
  store_pair_split(pair, out_a, out_b);
}

}  // namespace qwen::kernels
