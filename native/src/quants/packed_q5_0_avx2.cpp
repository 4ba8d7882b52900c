// Q5_0 weights packed eight rows at a time (see packed.h) and their AVX2 dots against Q8_0
// activations. Compiled with -mavx2 -mfma -mf16c; reached only after cpu_features() said yes.
//
// Group layout for n elements (nb = n / 32 blocks per row), 8 * nb * 22 bytes like the rows it holds:
//   scales: nb * 8 fp16        block b's row scales d_0..d_7 at [b * 8 + r] (one cvtph_ps per block)
//   then per block the 160-byte body of packed_q5_avx2.h (fifth-bit planes, four nibble chunks).
//
// Arithmetic: with u = nibble | fifth bit << 4 in 0..31 (the level is u - 16), a block's integer dot is
//   sum_j (u_j - 16) y_j = maddubs-sum(u, y) - 16 * sum_j y_j,
// u unsigned (maddubs takes it directly) and the activation sum shared by the eight rows. The integer
// sums are exact and only the float summation order differs from vec_dot_q5_0.
#include <immintrin.h>

#include <cstring>

#include "quants/avx2_util.h"
#include "quants/ggml_types.h"
#include "quants/packed.h"
#include "quants/packed_act_q8.h"
#include "quants/packed_avx2_util.h"
#include "quants/packed_impl.h"
#include "quants/packed_q5_avx2.h"

namespace qwen::kernels {

namespace {

constexpr int kRows = 8;
constexpr size_t kScaleBytes = kRows * sizeof(fp16_t);  // 16 per block
using q5_avx2::kBitBytes;
using q5_avx2::kBlockBytes;
static_assert(kRows == kPackRows, "a Q5_0 group is one packed group of rows");
static_assert(kScaleBytes + kBlockBytes == kRows * sizeof(block_q5_0), "a group holds exactly its rows' bytes");
constexpr int kTile = 4;  // tokens per gemm register tile

// out[t * out_stride + r] = row_r . y_t for t < NT: one pass over the group's weights, each chunk's
// levels built once and multiplied against all NT tokens while the accumulators stay in registers.
template <int NT>
void dot_tile(int n, const void* group, const uint8_t* x, size_t x_stride, float* out, size_t out_stride) {
  const int nb = n / QK5_0;
  const uint8_t* scales = static_cast<const uint8_t*>(group);
  const uint8_t* blocks = scales + kScaleBytes * nb;
  const block_q8_0* y[NT];
  const float* yd[NT];
  const int32_t* ysum[NT];
  for (int t = 0; t < NT; ++t) {
    y[t] = reinterpret_cast<const block_q8_0*>(x + x_stride * t);
    yd[t] = q8_terms_d(y[t], n);
    ysum[t] = q8_terms_sum(y[t], n);
  }
  __m256 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
  for (int b = 0; b < nb; ++b) {
    {
      const uint8_t* block = blocks + kBlockBytes * b;
      q5_avx2::prefetch_block(block);
      // The block's eight level vectors stay in registers while the tokens pass over them.
      __m256i level[2 * q5_avx2::kChunks];
      q5_avx2::block_levels(block, level);
      __m256i dot[NT];
      for (int t = 0; t < NT; ++t) dot[t] = q5_avx2::block_dot(level, y[t][b].qs);
      const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(scales + kScaleBytes * b)));
      for (int t = 0; t < NT; ++t) {
        const __m256i exact = _mm256_sub_epi32(dot[t], _mm256_set1_epi32(16 * ysum[t][b]));
        acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(yd[t][b])), _mm256_cvtepi32_ps(exact), acc[t]);
      }
    }
  }
  for (int t = 0; t < NT; ++t) _mm256_storeu_ps(out + out_stride * t, acc[t]);
}

}  // namespace

void pack_q5_0_x8(const void* src, size_t src_row_bytes, int n, void* dst) {
  const int nb = n / QK5_0;
  uint8_t* scales = static_cast<uint8_t*>(dst);
  uint8_t* blocks = scales + kScaleBytes * nb;
  for (int b = 0; b < nb; ++b) std::memset(blocks + kBlockBytes * b, 0, kBitBytes);  // planes are OR-ed in below
  for (int r = 0; r < kRows; ++r) {
    const block_q5_0* row = reinterpret_cast<const block_q5_0*>(static_cast<const uint8_t*>(src) + src_row_bytes * r);
    for (int b = 0; b < nb; ++b) {
      uint8_t* block = blocks + kBlockBytes * b;
      std::memcpy(scales + kScaleBytes * b + sizeof(fp16_t) * r, &row[b].d, sizeof(fp16_t));
      q5_avx2::pack_block_row(row[b].qh, row[b].qs, r, block);
    }
  }
}

void gemv_q5_0_x8(int n, const void* group, const void* x, float* out) {
  dot_tile<1>(n, group, static_cast<const uint8_t*>(x), 0, out, 0);
}

void gemm_q5_0_x8(int n, const void* group, const void* x, size_t x_stride, int n_x, float* out, size_t out_stride) {
  const uint8_t* xs = static_cast<const uint8_t*>(x);
  for_token_tiles<kTile>(n_x, [&](auto nt, int t) {
    dot_tile<decltype(nt)::value>(n, group, xs + x_stride * t, x_stride, out + out_stride * t, out_stride);
  });
}

}  // namespace qwen::kernels
