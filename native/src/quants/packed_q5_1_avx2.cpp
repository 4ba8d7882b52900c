// Q5_1 weights packed eight rows at a time (see packed.h) and their AVX2 dots against Q8_0
// activations with per-block terms (packed_act_q8.h). Compiled with -mavx2 -mfma -mf16c; reached only
// after cpu_features() said yes.
//
// Group layout for n values (nb = n / 32 blocks per row), 8 * nb * 24 bytes like the rows it holds:
//   scales: nb * 32 bytes      block b's row scales d_0..d_7 (fp16) at [b * 32 + 2r], then its row
//                              minimums m_0..m_7 at [b * 32 + 16 + 2r]
//   then per block the 160-byte body of packed_q5_avx2.h (fifth-bit planes, four nibble chunks).
//
// Arithmetic: a weight is d * u + m with u = nibble | fifth bit << 4 in 0..31, so a block's dot with
// activations dy * y_j is
//   d * dy * sum_j u_j y_j + m * dy * sum_j y_j,
// the first sum exact in integers (maddubs, as Q5_0's) and the second the activation term every row
// shares. GGML's Q5_1 dot reads Q8_1 activations, whose dy * sum(y) is stored rounded to fp16; here it
// is formed in float from the same levels, so results agree with the exact product of the dequantized
// weights and activations to float rounding, and with vec_dot_q5_1 to that fp16 rounding.
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
constexpr size_t kHalfBytes = kRows * sizeof(fp16_t);  // eight fp16 values
constexpr size_t kScaleBytes = 2 * kHalfBytes;         // a block's scales and minimums
using q5_avx2::kBitBytes;
using q5_avx2::kBlockBytes;
static_assert(kRows == kPackRows, "a Q5_1 group is one packed group of rows");
static_assert(kScaleBytes + kBlockBytes == kRows * sizeof(block_q5_1), "a group holds exactly its rows' bytes");
constexpr int kTile = 4;  // tokens per gemm register tile

inline __m256 load_f16x8(const uint8_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// out[t * out_stride + r] = row_r . y_t for t < NT: one pass over the group's weights, each block's
// levels built once and multiplied against all NT tokens while the accumulators stay in registers.
template <int NT>
void dot_tile(int n, const void* group, const uint8_t* x, size_t x_stride, float* out, size_t out_stride) {
  const int nb = n / QK5_1;
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
    const uint8_t* block = blocks + kBlockBytes * b;
    q5_avx2::prefetch_block(block);
    __m256i level[2 * q5_avx2::kChunks];
    q5_avx2::block_levels(block, level);
    __m256i dot[NT];
    for (int t = 0; t < NT; ++t) dot[t] = q5_avx2::block_dot(level, y[t][b].qs);
    const __m256 dw = load_f16x8(scales + kScaleBytes * b);
    const __m256 mw = load_f16x8(scales + kScaleBytes * b + kHalfBytes);
    for (int t = 0; t < NT; ++t) {
      acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(yd[t][b])), _mm256_cvtepi32_ps(dot[t]), acc[t]);
      acc[t] = _mm256_fmadd_ps(mw, _mm256_set1_ps(yd[t][b] * static_cast<float>(ysum[t][b])), acc[t]);
    }
  }
  for (int t = 0; t < NT; ++t) _mm256_storeu_ps(out + out_stride * t, acc[t]);
}

}  // namespace

void pack_q5_1_x8(const void* src, size_t src_row_bytes, int n, void* dst) {
  const int nb = n / QK5_1;
  uint8_t* scales = static_cast<uint8_t*>(dst);
  uint8_t* blocks = scales + kScaleBytes * nb;
  for (int b = 0; b < nb; ++b) std::memset(blocks + kBlockBytes * b, 0, kBitBytes);  // planes are OR-ed in below
  for (int r = 0; r < kRows; ++r) {
    const block_q5_1* row = reinterpret_cast<const block_q5_1*>(static_cast<const uint8_t*>(src) + src_row_bytes * r);
    for (int b = 0; b < nb; ++b) {
      uint8_t* scale = scales + kScaleBytes * b + sizeof(fp16_t) * r;
      std::memcpy(scale, &row[b].d, sizeof(fp16_t));
      std::memcpy(scale + kHalfBytes, &row[b].m, sizeof(fp16_t));
      q5_avx2::pack_block_row(row[b].qh, row[b].qs, r, blocks + kBlockBytes * b);
    }
  }
}

void gemv_q5_1_x8(int n, const void* group, const void* x, float* out) {
  dot_tile<1>(n, group, static_cast<const uint8_t*>(x), 0, out, 0);
}

void gemm_q5_1_x8(int n, const void* group, const void* x, size_t x_stride, int n_x, float* out, size_t out_stride) {
  const uint8_t* xs = static_cast<const uint8_t*>(x);
  for_token_tiles<kTile>(n_x, [&](auto nt, int t) {
    dot_tile<decltype(nt)::value>(n, group, xs + x_stride * t, x_stride, out + out_stride * t, out_stride);
  });
}

}  // namespace qwen::kernels
