// Q4_0 weights packed eight rows at a time (see packed.h) and their AVX2 dots against Q8_0
// activations. Compiled with -mavx2 -mfma -mf16c; reached only after cpu_features() said yes.
//
// Group layout for n elements (nb = n / 32 blocks per row), 8 * nb * 18 bytes like the rows it holds,
// in quads of four consecutive blocks (576 bytes, nine cache lines; the last quad may hold fewer):
//   scales: 4 * 8 fp16         block j's row scales d_0..d_7 at [j * 8 + r] (one cvtph_ps per block)
//   nibbles: 4 * 128 bytes     block j, chunk k (0..3) is 32 bytes: row r's qs[4k..4k+3] at r*4
// Scales next to their nibbles make decode one forward DRAM stream per group. With all scales first
// and all nibbles after, each group was two streams (the scale stream 1/9 of the bytes), and the
// two-group decode kernel four, which measured slower from DRAM. Quads rather than single blocks
// keep every quad on whole cache lines (a single block is 144 bytes); of 1, 2, 4 and 8 blocks per
// unit, 4 measured fastest (figures in bench/results/kernel-design-notes.md).
// GGML's qs[j] holds element j in its low nibble and element j + 16 in its high nibble, so chunk k's
// low nibbles are elements 4k..4k+3 and its high nibbles elements 16+4k..16+4k+3 of every row: int32
// lane r is row r, and a broadcast of four activation bytes multiplies all eight rows at once.
//
// Arithmetic: with u = nibble in 0..15 (the level is u - 8), a block's integer dot is
//   sum_j (u_j - 8) y_j = maddubs-sum(u, y) - 8 * sum_j y_j.
// u is unsigned, so maddubs takes it directly (no sign trick per vector), and the block's activation
// sum is shared by the eight rows (and by every group in a matmul), so the correction is one
// subtract per block and token. Int16 bound: one maddubs lane is at most 2 * 15 * 128 = 3840 in
// magnitude, and the eight of a block add to at most 30720 < 32767, so they are summed in int16
// and widened once per block. The integer sums are exact, and only the float summation order
// differs from vec_dot_q4_0, so results agree to float rounding.
#include <immintrin.h>

#include <algorithm>
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
constexpr int kChunks = QK4_0 / 8;                      // 32-byte nibble chunks per block (4)
constexpr size_t kScaleBytes = kRows * sizeof(fp16_t);  // 16 per block
constexpr size_t kNibbleBytes = kRows * (QK4_0 / 2);    // 128 per block
constexpr int kTile = 4;                                // tokens per gemm register tile

// Software prefetch distance (bytes ahead in the group) for decode, which streams every
// weight once from DRAM; prefetches past the end of the group never fault.
#ifndef PACKED_Q4_0_PREFETCH
#define PACKED_Q4_0_PREFETCH 768
#endif
constexpr size_t kPrefetchAhead = PACKED_Q4_0_PREFETCH;

constexpr int kQuadBlocks = 4;
constexpr size_t kQuadBytes = kQuadBlocks * (kScaleBytes + kNibbleBytes);  // 576
static_assert(kRows == kPackRows, "a Q4_0 group is one packed group of rows");
static_assert(kScaleBytes + kNibbleBytes == kRows * sizeof(block_q4_0), "a group holds exactly its rows' bytes");

// Where block b of a group's layout keeps its eight scales and its 128 nibble bytes.
struct BlockAt {
  size_t scales, nibbles;
};
inline BlockAt block_at(int nb, int b) {
  const int quad = b / kQuadBlocks, j = b % kQuadBlocks;
  const int blocks_in_quad = std::min(kQuadBlocks, nb - quad * kQuadBlocks);
  const size_t start = kQuadBytes * quad;
  return {start + kScaleBytes * j, start + kScaleBytes * blocks_in_quad + kNibbleBytes * j};
}

// Decode prefetches: the block's two nibble lines kPrefetchAhead bytes on, and at each quad's first
// block its scale line too, so all nine lines of a quad are asked for ahead.
inline void prefetch_block(const uint8_t* group, int b, const BlockAt& at) {
  if (b % kQuadBlocks == 0)
    _mm_prefetch(reinterpret_cast<const char*>(group + at.scales + kPrefetchAhead), _MM_HINT_T0);
  _mm_prefetch(reinterpret_cast<const char*>(group + at.nibbles + kPrefetchAhead), _MM_HINT_T0);
  _mm_prefetch(reinterpret_cast<const char*>(group + at.nibbles + kPrefetchAhead + 64), _MM_HINT_T0);
}

// out[t * out_stride + r] = row_r . y_t for t < NT: one pass over the group's weights, each nibble chunk
// unpacked once and multiplied against all NT tokens while the accumulators stay in registers.
template <int NT>
void dot_tile(int n, const void* group, const uint8_t* x, size_t x_stride, float* out, size_t out_stride) {
  const int nb = n / QK4_0;
  const uint8_t* base = static_cast<const uint8_t*>(group);
  const block_q8_0* y[NT];
  const float* yd[NT];
  const int32_t* ysum[NT];
  for (int t = 0; t < NT; ++t) {
    y[t] = reinterpret_cast<const block_q8_0*>(x + x_stride * t);
    yd[t] = q8_terms_d(y[t], n);
    ysum[t] = q8_terms_sum(y[t], n);
  }
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const __m256i ones16 = _mm256_set1_epi16(1);
  __m256 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
  for (int b = 0; b < nb; ++b) {
    const BlockAt at = block_at(nb, b);
    const uint8_t* chunk = base + at.nibbles;
    prefetch_block(base, b, at);
    // The block's eight level vectors (low then high nibbles of each chunk) stay in registers while
    // the tokens pass over them one at a time, so each token's int16 sum is one short chain.
    __m256i level[2 * kChunks];
    for (int k = 0; k < kChunks; ++k) {
      const __m256i v = load32(chunk + 32 * k);
      level[k] = _mm256_and_si256(v, low4);
      level[kChunks + k] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
    }
    __m256i isum[NT];
    for (int t = 0; t < NT; ++t) {
      const int8_t* q = y[t][b].qs;
      __m256i s16 = _mm256_maddubs_epi16(level[0], broadcast4(q));
      for (int k = 1; k < 2 * kChunks; ++k) {
        s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(level[k], broadcast4(q + 4 * k)));
        keep_order(s16);
      }
      isum[t] = s16;
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(base + at.scales)));
    for (int t = 0; t < NT; ++t) {
      const __m256i dot = _mm256_sub_epi32(_mm256_madd_epi16(isum[t], ones16), _mm256_set1_epi32(8 * ysum[t][b]));
      acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(yd[t][b])), _mm256_cvtepi32_ps(dot), acc[t]);
    }
  }
  for (int t = 0; t < NT; ++t) _mm256_storeu_ps(out + out_stride * t, acc[t]);
}

// Decode against G groups at once (gemv2: G = 2, groups from two halves of a tile, so a thread
// reads two DRAM streams; packed.h), block by block. Each group's block is one int16 chain with the
// same sums as dot_tile's (int16 adds are exact within the bound above, so their order does not
// matter) and the same float operations, so results equal gemv's bit for bit.
template <int G> void gemv_groups(int n, const void* const* groups, const uint8_t* x, float* const* out) {
  const int nb = n / QK4_0;
  const block_q8_0* y = reinterpret_cast<const block_q8_0*>(x);
  const float* yd = q8_terms_d(y, n);
  const int32_t* ysum = q8_terms_sum(y, n);
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const __m256i ones16 = _mm256_set1_epi16(1);
  const uint8_t* base[G];
  __m256 acc[G];
  for (int g = 0; g < G; ++g) {
    base[g] = static_cast<const uint8_t*>(groups[g]);
    acc[g] = _mm256_setzero_ps();
  }
  for (int b = 0; b < nb; ++b) {
    const int8_t* q = y[b].qs;
    const __m256i level_sum = _mm256_set1_epi32(8 * ysum[b]);
    const __m256 dy = _mm256_set1_ps(yd[b]);
    const BlockAt at = block_at(nb, b);
    for (int g = 0; g < G; ++g) {
      const uint8_t* chunk = base[g] + at.nibbles;
      prefetch_block(base[g], b, at);
      __m256i s16 = _mm256_setzero_si256();
      for (int k = 0; k < kChunks; ++k) {
        const __m256i v = load32(chunk + 32 * k);
        s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(_mm256_and_si256(v, low4), broadcast4(q + 4 * k)));
        s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(v, 4), low4),
                                                         broadcast4(q + QK4_0 / 2 + 4 * k)));
      }
      const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(base[g] + at.scales)));
      const __m256i dot = _mm256_sub_epi32(_mm256_madd_epi16(s16, ones16), level_sum);
      acc[g] = _mm256_fmadd_ps(_mm256_mul_ps(dw, dy), _mm256_cvtepi32_ps(dot), acc[g]);
    }
  }
  for (int g = 0; g < G; ++g) _mm256_storeu_ps(out[g], acc[g]);
}

}  // namespace

void pack_q4_0_x8(const void* src, size_t src_row_bytes, int n, void* dst) {
  const int nb = n / QK4_0;
  uint8_t* base = static_cast<uint8_t*>(dst);
  for (int b = 0; b < nb; ++b) {
    const BlockAt at = block_at(nb, b);
    for (int r = 0; r < kRows; ++r) {
      const block_q4_0& blk =
          reinterpret_cast<const block_q4_0*>(static_cast<const uint8_t*>(src) + src_row_bytes * r)[b];
      std::memcpy(base + at.scales + sizeof(fp16_t) * r, &blk.d, sizeof(fp16_t));
      for (int k = 0; k < kChunks; ++k) std::memcpy(base + at.nibbles + 32 * k + 4 * r, blk.qs + 4 * k, 4);
    }
  }
}

void gemv_q4_0_x8(int n, const void* group, const void* x, float* out) {
  // dot_tile<1>, not gemv_groups<1>: loading the block's four chunks before using them measured
  // faster for a single stream from DRAM (one thread); with two streams that no longer matters.
  dot_tile<1>(n, group, static_cast<const uint8_t*>(x), 0, out, 0);
}

void gemv2_q4_0_x8(int n, const void* group_a, const void* group_b, const void* x, float* out_a, float* out_b) {
  const void* groups[2] = {group_a, group_b};
  float* outs[2] = {out_a, out_b};
  gemv_groups<2>(n, groups, static_cast<const uint8_t*>(x), outs);
}

void gemm_q4_0_x8(int n, const void* group, const void* x, size_t x_stride, int n_x, float* out, size_t out_stride) {
  const uint8_t* xs = static_cast<const uint8_t*>(x);
  for_token_tiles<kTile>(n_x, [&](auto nt, int t) {
    dot_tile<decltype(nt)::value>(n, group, xs + x_stride * t, x_stride, out + out_stride * t, out_stride);
  });
}

}  // namespace qwen::kernels
