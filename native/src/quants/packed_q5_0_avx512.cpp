// The AVX-512 VNNI group-pair kernels for packed Q5_0 (PackedTraits::gemm2 and, for decode,
// gemv2; contract in packed.h).
// The groups are in packed_q5_0_avx2.cpp's layout: nb * 8 fp16 row scales, then per block 160 bytes,
// 32 bytes of fifth-bit planes and 4 chunks of 32 nibble bytes (row r's qs[4k..4k+3] at bytes 4r..).
// Chunk k's low nibbles are values 4k..4k+3 and its high nibbles 16+4k..16+4k+3; bit plane k of the
// plane bytes holds the fifth bits of the low ones and plane 4 + k those of the high ones.
//
// Arithmetic as the AVX2 kernel's: with u = nibble | fifth bit << 4 (level u - 16), a block's integer
// dot is sum_j u_j y_j - 16 * sum_j y_j, here one vpdpbusd per chunk half into int32 that starts at
// -16 * sum(y) (the activation terms of packed_act_q8.h), then one float multiply-add, so results
// agree with vec_dot to float rounding.
#include <immintrin.h>

#include "quants/ggml_types.h"
#include "quants/packed_act_q8.h"
#include "quants/packed_avx512_util.h"
#include "quants/packed_impl.h"
#include "quants/packed_q5_avx512.h"

namespace qwen::kernels {

namespace {

constexpr size_t kScaleBytes = 16;  // a block's eight fp16 row scales
constexpr int kTile = 8;            // tokens per register tile

template <int T>
void dot_tile(int n, const uint8_t* ga, const uint8_t* gb, const uint8_t* x, size_t x_stride, float* out,
              size_t out_stride) {
  const int nb = n / QK5_0;
  const uint8_t* blocks_a = ga + kScaleBytes * nb;
  const uint8_t* blocks_b = gb + kScaleBytes * nb;
  const block_q8_0* y[T];
  const float* yd[T];
  const int32_t* ysum[T];
  for (int t = 0; t < T; ++t) {
    y[t] = reinterpret_cast<const block_q8_0*>(x + x_stride * t);
    yd[t] = q8_terms_d(y[t], n);
    ysum[t] = q8_terms_sum(y[t], n);
  }
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int b = 0; b < nb; ++b) {
    const uint8_t* block_a = blocks_a + q5_avx512::kBlockBytes * b;
    const uint8_t* block_b = blocks_b + q5_avx512::kBlockBytes * b;
    q5_avx512::prefetch_block(block_a);
    q5_avx512::prefetch_block(block_b);
    __m512i isum[T];
    for (int t = 0; t < T; ++t) isum[t] = _mm512_set1_epi32(-16 * ysum[t][b]);
    q5_avx512::block_dots<T>(block_a, block_b, y, b, isum);
    const __m512 dw = load_pair_f16(ga + kScaleBytes * b, gb + kScaleBytes * b);
    for (int t = 0; t < T; ++t)
      acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(yd[t][b])), _mm512_cvtepi32_ps(isum[t]), acc[t]);
  }
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(out + out_stride * t, acc[t]);
}

}  // namespace

void gemm2_q5_0_x8(int n, const void* group_a, const void* group_b, const void* x, size_t x_stride, int n_x, float* out,
                   size_t out_stride) {
  const uint8_t* ga = static_cast<const uint8_t*>(group_a);
  const uint8_t* gb = static_cast<const uint8_t*>(group_b);
  const uint8_t* xb = static_cast<const uint8_t*>(x);
  for_token_tiles<kTile>(n_x, [&](auto nt, int t) {
    dot_tile<decltype(nt)::value>(n, ga, gb, xb + x_stride * t, x_stride, out + out_stride * t, out_stride);
  });
}

// Decode: one activation row against two groups (from the two halves of a tile). Per lane the same
// integer sums and float operations as the AVX2 gemv, so each group's result equals gemv's bit for
// bit, with one vpdpbusd per 64 weight bytes where the AVX2 kernel needs a maddubs and an add per 32.
void gemv2_q5_0_x8(int n, const void* group_a, const void* group_b, const void* x, float* out_a, float* out_b) {
  alignas(64) float acc[16];
  dot_tile<1>(n, static_cast<const uint8_t*>(group_a), static_cast<const uint8_t*>(group_b),
              static_cast<const uint8_t*>(x), 0, acc, 0);
  store_pair_split(acc, out_a, out_b);
}

}  // namespace qwen::kernels
