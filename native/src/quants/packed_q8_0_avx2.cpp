// Q8_0 weights packed eight rows at a time (see packed.h) and their AVX2 dots against Q8_0
// activations. Compiled with -mavx2 -mfma -mf16c; reached only after cpu_features() said yes.
//
// Group layout for n elements (nb = n / 32 blocks per row): nb blocks of 272 bytes (8 * 34, so the
// group is exactly its rows' bytes), block i holding
//   16 bytes   the eight rows' fp16 scales d_0..d_7 (one cvtph_ps per block)
//   256 bytes  chunk k (0..7) of 32 bytes: row r's levels 4k..4k+3 at byte 4r
// so int32 lane r of a vector is row r: a broadcast of four activation bytes multiplies all eight
// rows at once and the per-row sums never need a horizontal add. Scales and levels of a block are
// adjacent so decode reads one forward stream (measured faster from DRAM than all scales first,
// and no slower in gemm although half the level loads then straddle a cache line).
//
// Arithmetic is vec_dot_q8_0's: per block an exact integer sum (maddubs of |w| with y carrying w's
// sign, widened to int32 by madd with ones after every maddubs because one int16 pair already
// reaches 2*128*127), then one float multiply-add with d_w * d_y. Only the float summation order
// differs, so results equal vec_dot's to float rounding.
// Measured slower in gemm, so not used (figures in bench/results/kernel-design-notes.md): widening
// both sides to int16 and one madd per pair, replacing the madd by xor/shift/add widening, blendv
// between y and -y instead of sign, xor with w's sign mask plus a per-block correction.
#include <immintrin.h>

#include <cstring>

#include "quants/avx2_util.h"
#include "quants/ggml_types.h"
#include "quants/packed_avx2_util.h"
#include "quants/packed_impl.h"

namespace qwen::kernels {

namespace {

constexpr int kRows = 8;
constexpr int kChunks = QK8_0 / 4;                         // 4-byte chunks of a block (8)
constexpr size_t kScaleBytes = kRows * sizeof(fp16_t);     // 16 per block
constexpr size_t kLevelBytes = kRows * QK8_0;              // 256 per block
constexpr size_t kBlockBytes = kScaleBytes + kLevelBytes;  // 272 = 8 * sizeof(block_q8_0)
static_assert(kBlockBytes == kRows * sizeof(block_q8_0), "a group holds exactly its rows' bytes");

// Decode reads every weight once from DRAM: gemv prefetches four lines this far ahead of each
// block (prefetches past the end of the group never fault). Distances from 512 to 2048 bytes
// measured alike, and faster than none (figures in bench/results/kernel-design-notes.md).
// The macros only let a benchmark try other values.
#ifndef PACKED_Q8_0_PREFETCH
#define PACKED_Q8_0_PREFETCH 1024
#endif
constexpr size_t kPrefetchAhead = PACKED_Q8_0_PREFETCH;

// Tokens per gemm register tile: the 6 int32 block sums, the chunk, |chunk|, the ones and
// temporaries fit the 16 ymm registers through the chunk loop (the float accumulators, touched once
// per block, may live on the stack); measured faster than 4 (bench/results/kernel-design-notes.md).
#ifndef PACKED_Q8_0_TILE
#define PACKED_Q8_0_TILE 6
#endif
constexpr int kTile = PACKED_Q8_0_TILE;

inline const uint8_t* block_at(const void* group, int i) {
  return static_cast<const uint8_t*>(group) + kBlockBytes * i;
}

inline const block_q8_0* act_row(const void* x, size_t stride, int t) {
  return reinterpret_cast<const block_q8_0*>(static_cast<const uint8_t*>(x) + stride * t);
}

// The eight row scales of a block as floats.
inline __m256 row_scales(const uint8_t* block) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block)));
}

// Exact int32 sums, lane r: sum over the 4 bytes of row r of |w| * (y with w's sign) = w * y.
inline __m256i chunk_dot(__m256i abs_w, __m256i w, __m256i y, __m256i ones) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(abs_w, _mm256_sign_epi8(y, w)), ones);
}

// NX activation rows against the group: each level chunk is loaded and its |w| taken once for all
// NX tokens; per token one int32 accumulator for the block and one float accumulator overall.
template <int NX>
void gemm_tile(int nb, const void* group, const void* x, size_t x_stride, float* out, size_t out_stride) {
  const __m256i ones = _mm256_set1_epi16(1);
  const block_q8_0* y[NX];
  for (int t = 0; t < NX; ++t) y[t] = act_row(x, x_stride, t);
  __m256 acc[NX];
  for (int t = 0; t < NX; ++t) acc[t] = _mm256_setzero_ps();
  for (int i = 0; i < nb; ++i) {
    const uint8_t* blk = block_at(group, i);
    const uint8_t* lv = blk + kScaleBytes;
    __m256i isum[NX];
    for (int t = 0; t < NX; ++t) isum[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int k = 0; k < kChunks; ++k) {
      const __m256i w = load32(lv + 32 * k);
      const __m256i abs_w = _mm256_sign_epi8(w, w);
      for (int t = 0; t < NX; ++t) {
        isum[t] = _mm256_add_epi32(isum[t], chunk_dot(abs_w, w, broadcast4(y[t][i].qs + 4 * k), ones));
        keep_order(isum[t]);  // one running sum per token in a register (see packed_avx2_util.h)
      }
    }
    const __m256 dw = row_scales(blk);
    for (int t = 0; t < NX; ++t) {
      const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(half_to_float(y[t][i].d)));
      acc[t] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(isum[t]), acc[t]);
    }
  }
  for (int t = 0; t < NX; ++t) _mm256_storeu_ps(out + out_stride * t, acc[t]);
}

// Decode: one token against G groups at once, block by block (G = 1 for gemv, 2 for gemv2, whose
// two groups come from distant parts of the matrix so a thread reads two DRAM streams).
template <int G> void gemv_groups(int n, const void* const* groups, const void* xv, float* const* out) {
  const int nb = n / QK8_0;
  const block_q8_0* y = static_cast<const block_q8_0*>(xv);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[G];
  for (int g = 0; g < G; ++g) acc[g] = _mm256_setzero_ps();
  for (int i = 0; i < nb; ++i) {
    const __m256 dy = _mm256_set1_ps(half_to_float(y[i].d));
    for (int g = 0; g < G; ++g) {
      const uint8_t* blk = block_at(groups[g], i);
      const uint8_t* lv = blk + kScaleBytes;
#if PACKED_Q8_0_PREFETCH > 0
      for (int line = 0; line < 4; ++line)
        _mm_prefetch(reinterpret_cast<const char*>(blk) + kPrefetchAhead + 64 * line, _MM_HINT_T0);
#endif
      // Two integer chains so the adds do not serialize on one register.
      __m256i s0, s1;
      {
        const __m256i w0 = load32(lv), w1 = load32(lv + 32);
        s0 = chunk_dot(_mm256_sign_epi8(w0, w0), w0, broadcast4(y[i].qs), ones);
        s1 = chunk_dot(_mm256_sign_epi8(w1, w1), w1, broadcast4(y[i].qs + 4), ones);
      }
      for (int k = 2; k < kChunks; k += 2) {
        const __m256i w0 = load32(lv + 32 * k), w1 = load32(lv + 32 * (k + 1));
        s0 = _mm256_add_epi32(s0, chunk_dot(_mm256_sign_epi8(w0, w0), w0, broadcast4(y[i].qs + 4 * k), ones));
        s1 = _mm256_add_epi32(s1, chunk_dot(_mm256_sign_epi8(w1, w1), w1, broadcast4(y[i].qs + 4 * (k + 1)), ones));
      }
      const __m256 d = _mm256_mul_ps(row_scales(blk), dy);
      acc[g] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(_mm256_add_epi32(s0, s1)), acc[g]);
    }
  }
  for (int g = 0; g < G; ++g) _mm256_storeu_ps(out[g], acc[g]);
}

}  // namespace

void pack_q8_0_x8(const void* src, size_t src_row_bytes, int n, void* dst) {
  const int nb = n / QK8_0;
  for (int r = 0; r < kRows; ++r) {
    const block_q8_0* row = reinterpret_cast<const block_q8_0*>(static_cast<const uint8_t*>(src) + src_row_bytes * r);
    for (int i = 0; i < nb; ++i) {
      uint8_t* block = static_cast<uint8_t*>(dst) + kBlockBytes * i;
      std::memcpy(block + sizeof(fp16_t) * r, &row[i].d, sizeof(fp16_t));
      uint8_t* levels = block + kScaleBytes;
      for (int k = 0; k < kChunks; ++k) std::memcpy(levels + 32 * k + 4 * r, row[i].qs + 4 * k, 4);
    }
  }
}

void gemv_q8_0_x8(int n, const void* group, const void* x, float* out) { gemv_groups<1>(n, &group, x, &out); }

void gemv2_q8_0_x8(int n, const void* group_a, const void* group_b, const void* x, float* out_a, float* out_b) {
  const void* groups[2] = {group_a, group_b};
  float* outs[2] = {out_a, out_b};
  gemv_groups<2>(n, groups, x, outs);
}

void gemm_q8_0_x8(int n, const void* group, const void* x, size_t x_stride, int n_x, float* out, size_t out_stride) {
  const int nb = n / QK8_0;
  const uint8_t* xb = static_cast<const uint8_t*>(x);
  for_token_tiles<kTile>(n_x, [&](auto nt, int t) {
    gemm_tile<decltype(nt)::value>(nb, group, xb + x_stride * t, x_stride, out + out_stride * t, out_stride);
  });
}

}  // namespace qwen::kernels
