// Q5_0 weights packed eight rows at a time (see packed.h) and their AVX2 dots against Q8_0
// activations. Compiled with -mavx2 -mfma -mf16c; reached only after cpu_features() said yes.
//
// Group layout for n elements (nb = n / 32 blocks per row), 8 * nb * 22 bytes like the rows it holds:
//   scales: nb * 8 fp16        block b's row scales d_0..d_7 at [b * 8 + r] (one cvtph_ps per block)
//   then per block 160 bytes:
//     fifth bits, 32 bytes     byte r*4 + j: bit k (k < 4) is the fifth bit of row r's element 4k + j,
//                              bit 4 + k that of element 16 + 4k + j
//     nibbles, 4 x 32 bytes    chunk k: row r's qs[4k..4k+3] at r*4
// GGML's qs[j] holds element j in its low nibble and element j + 16 in its high nibble, so chunk k's
// low nibbles are elements 4k..4k+3 and its high nibbles elements 16+4k..16+4k+3 of every row: int32
// lane r is row r, and a broadcast of four activation bytes multiplies all eight rows at once. The
// fifth bits are regrouped into bit planes (plane m = bit m of every byte) so that the fifth bit of
// each of the eight level vectors of a block sits at the same byte position as its nibble: one shift
// and a mask move plane m to bit 4, where it joins the nibble.
//
// Arithmetic: with u = nibble | fifth bit << 4 in 0..31 (the level is u - 16), a block's integer dot is
//   sum_j (u_j - 16) y_j = maddubs-sum(u, y) - 16 * sum_j y_j,
// u unsigned (maddubs takes it directly) and the activation sum shared by the eight rows. Int16
// bound: one maddubs lane is at most 2 * 31 * 128 = 7936 in magnitude, so four add to at most
// 31744 < 32767: each half block (two chunks, four maddubs) is widened with madd. The integer sums
// are exact and only the float summation order differs from vec_dot_q5_0.
#include <immintrin.h>

#include <cstring>

#include "quants/avx2_util.h"
#include "quants/ggml_types.h"
#include "quants/packed.h"
#include "quants/packed_act_q8.h"
#include "quants/packed_avx2_util.h"
#include "quants/packed_impl.h"

namespace qwen::kernels {

namespace {

constexpr int kRows = 8;
constexpr int kChunks = QK5_0 / 8;                       // 32-byte nibble chunks per block (4)
constexpr size_t kScaleBytes = kRows * sizeof(fp16_t);   // 16 per block
constexpr size_t kBitBytes = kRows * 4;                  // 32 per block
constexpr size_t kBlockBytes = kBitBytes + kRows * (QK5_0 / 2);  // 160 per block after the scales
static_assert(kRows == kPackRows, "a Q5_0 group is one packed group of rows");
static_assert(kScaleBytes + kBlockBytes == kRows * sizeof(block_q5_0), "a group holds exactly its rows' bytes");
constexpr int kTile = 4;                                 // tokens per gemm register tile

// Software prefetch distance (bytes ahead in the level stream) for decode, which streams every
// weight once from DRAM; prefetches past the end of the group never fault.
#ifndef PACKED_Q5_0_PREFETCH
#define PACKED_Q5_0_PREFETCH 768
#endif
constexpr size_t kPrefetchAhead = PACKED_Q5_0_PREFETCH;


// Levels u (0..31) of chunk K of a block: low nibbles with bit plane K moved up to bit 4 (elements
// 4K..4K+3 of each row) and high nibbles with plane 4 + K (elements 16+4K..16+4K+3). The 16-bit shifts
// carry bits across byte boundaries only into bits 0..3 (left by <= 4) or 5..7 (right by <= 3),
// which the 0x10 mask drops.
template <int K>
void chunk_levels(const uint8_t* block, __m256i planes, __m256i& lo, __m256i& hi) {
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const __m256i bit4 = _mm256_set1_epi8(0x10);
  const __m256i v = load32(block + kBitBytes + 32 * K);
  lo = _mm256_or_si256(_mm256_and_si256(v, low4), _mm256_and_si256(_mm256_slli_epi16(planes, 4 - K), bit4));
  hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v, 4), low4), _mm256_and_si256(_mm256_srli_epi16(planes, K), bit4));
}


// Token y's exact integer dot with the eight rows over one block, before the 16 * sum(y) correction:
// level[m] multiplies activation bytes 4m..4m+3. Each half (four maddubs, at most 31744) is widened
// to int32 before it could saturate.
__m256i block_dot(const __m256i* level, const int8_t* q) {
  const __m256i ones16 = _mm256_set1_epi16(1);
  __m256i half[2];
  for (int h = 0; h < 2; ++h) {
    const int m0 = 4 * h;
    __m256i s16 = _mm256_maddubs_epi16(level[m0], broadcast4(q + 4 * m0));
    for (int m = m0 + 1; m < m0 + 4; ++m) {
      s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(level[m], broadcast4(q + 4 * m)));
      keep_order(s16);
    }
    half[h] = _mm256_madd_epi16(s16, ones16);
  }
  return _mm256_add_epi32(half[0], half[1]);
}

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
      _mm_prefetch(reinterpret_cast<const char*>(block + kPrefetchAhead), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(block + kPrefetchAhead + 64), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(block + kPrefetchAhead + 128), _MM_HINT_T0);
      // The block's eight level vectors stay in registers while the tokens pass over them. Order:
      // low nibbles of chunks 0..3 (elements 0..15), then high nibbles (elements 16..31), so level m
      // meets activation bytes 4m..4m+3.
      const __m256i planes = load32(block);
      __m256i level[2 * kChunks];
      chunk_levels<0>(block, planes, level[0], level[4]);
      chunk_levels<1>(block, planes, level[1], level[5]);
      chunk_levels<2>(block, planes, level[2], level[6]);
      chunk_levels<3>(block, planes, level[3], level[7]);
      __m256i dot[NT];
      for (int t = 0; t < NT; ++t) dot[t] = block_dot(level, y[t][b].qs);
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
      uint32_t qh;
      std::memcpy(&qh, row[b].qh, 4);
      for (int k = 0; k < kChunks; ++k) {
        std::memcpy(block + kBitBytes + 32 * k + 4 * r, row[b].qs + 4 * k, 4);
        for (int j = 0; j < 4; ++j) {
          const uint8_t low_bit = (qh >> (4 * k + j)) & 1u, high_bit = (qh >> (16 + 4 * k + j)) & 1u;
          block[4 * r + j] |= static_cast<uint8_t>(low_bit << k | high_bit << (4 + k));
        }
      }
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
