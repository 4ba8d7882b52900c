// The AVX-512 VNNI group-pair kernel for packed Q4_0 (PackedTraits::gemm2, contract in packed.h).
// The groups are in packed_q4_0_avx2.cpp's layout: quads of four blocks (the last may hold fewer),
// each quad its blocks' fp16 row scales then their nibbles; a block's 4 chunks of 32 bytes hold
// row r's qs[4k..4k+3] at bytes 4r.., low nibbles values 4k..4k+3, high nibbles 16+4k..16+4k+3.
//
// Arithmetic as the AVX2 kernel's: with u the nibble (level u - 8), a block's integer dot is
//   sum_j u_j y_j - 8 * sum_j y_j,
// here one vpdpbusd per chunk half into int32 that starts at -8 * sum(y) (the activation terms of
// packed_act_q8.h), then one float multiply-add, so results agree with vec_dot to float rounding.
#include <immintrin.h>

#include <algorithm>

#include "quants/ggml_types.h"
#include "quants/packed_act_q8.h"
#include "quants/packed_avx512_util.h"
#include "quants/packed_impl.h"

namespace qwen::kernels {

namespace {

constexpr size_t kScaleBytes = 16, kNibbleBytes = 128;
constexpr int kQuadBlocks = 4;
constexpr size_t kQuadBytes = kQuadBlocks * (kScaleBytes + kNibbleBytes);  // 576
constexpr int kTile = 8;                                                   // tokens per register tile
// Bytes ahead whose lines are prefetched per block, as the AVX2 kernels do (each block's two
// nibble lines, and at a quad's first block its scale line): small batches read the weights from
// DRAM about once. Decode has far less work per byte and asks four quads ahead: in matmul-bench
// (2 threads, cold) 2304 bytes read 52-56 GB/s where 768 read 45-52.
constexpr size_t kPrefetchAhead = 768;
constexpr size_t kDecodePrefetchAhead = 4 * kQuadBytes;

// Offsets of block b's scales and nibbles in a group (the quad layout above).
struct BlockAt {
  size_t scales, nibbles;
};
inline BlockAt block_at(int nb, int b) {
  const int quad = b / kQuadBlocks, j = b % kQuadBlocks;
  const int blocks_in_quad = std::min(kQuadBlocks, nb - quad * kQuadBlocks);
  const size_t start = kQuadBytes * quad;
  return {start + kScaleBytes * j, start + kScaleBytes * blocks_in_quad + kNibbleBytes * j};
}

template <int T>
void dot_tile(int n, const uint8_t* ga, const uint8_t* gb, const uint8_t* x, size_t x_stride, float* out,
              size_t out_stride, size_t ahead) {
  const int nb = n / QK4_0;
  const block_q8_0* y[T];
  const float* yd[T];
  const int32_t* ysum[T];
  for (int t = 0; t < T; ++t) {
    y[t] = reinterpret_cast<const block_q8_0*>(x + x_stride * t);
    yd[t] = q8_terms_d(y[t], n);
    ysum[t] = q8_terms_sum(y[t], n);
  }
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int b = 0; b < nb; ++b) {
    const BlockAt at = block_at(nb, b);
    for (const uint8_t* g : {ga, gb}) {
      if (b % kQuadBlocks == 0) _mm_prefetch(reinterpret_cast<const char*>(g + at.scales + ahead), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(g + at.nibbles + ahead), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(g + at.nibbles + ahead + 64), _MM_HINT_T0);
    }
    __m512i isum[T];
    for (int t = 0; t < T; ++t) isum[t] = _mm512_set1_epi32(-8 * ysum[t][b]);
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      const __m512i v = load_pair(ga + at.nibbles + 32 * k, gb + at.nibbles + 32 * k);
      const __m512i lo = _mm512_and_si512(v, low4);
      const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
      for (int t = 0; t < T; ++t) {
        isum[t] = dot4(isum[t], lo, broadcast4_512(y[t][b].qs + 4 * k));
        isum[t] = dot4(isum[t], hi, broadcast4_512(y[t][b].qs + QK4_0 / 2 + 4 * k));
      }
    }
    const __m512 dw = load_pair_f16(ga + at.scales, gb + at.scales);
    for (int t = 0; t < T; ++t)
      acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(yd[t][b])), _mm512_cvtepi32_ps(isum[t]), acc[t]);
  }
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(out + out_stride * t, acc[t]);
}

}  // namespace

void gemm2_q4_0_x8(int n, const void* group_a, const void* group_b, const void* x, size_t x_stride, int n_x, float* out,
                   size_t out_stride) {
  const uint8_t* ga = static_cast<const uint8_t*>(group_a);
  const uint8_t* gb = static_cast<const uint8_t*>(group_b);
  const uint8_t* xb = static_cast<const uint8_t*>(x);
  for_token_tiles<kTile>(n_x, [&](auto nt, int t) {
    dot_tile<decltype(nt)::value>(n, ga, gb, xb + x_stride * t, x_stride, out + out_stride * t, out_stride,
                                  kPrefetchAhead);
  });
}

// Decode: one activation row against two groups. dot_tile's integer sum per block equals the AVX2
// gemv's (both exact) and its float operations are the same, so each group's result equals gemv's
// bit for bit; one vpdpbusd per 64 nibble bytes replaces the AVX2 kernel's maddubs-and-add per 32,
// which kept Q4_0 decode compute-bound on one core.
void gemv2_vnni_q4_0_x8(int n, const void* group_a, const void* group_b, const void* x, float* out_a, float* out_b) {
  alignas(64) float pair[16];
  dot_tile<1>(n, static_cast<const uint8_t*>(group_a), static_cast<const uint8_t*>(group_b),
              static_cast<const uint8_t*>(x), 0, pair, 0, kDecodePrefetchAhead);
  store_pair_split(pair, out_a, out_b);
}

}  // namespace qwen::kernels
