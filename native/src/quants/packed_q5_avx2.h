// The block body that packed Q5_0 and Q5_1 groups share, and its AVX2 dot (packed_q5_0_avx2.cpp,
// packed_q5_1_avx2.cpp). Only for files compiled with -mavx2.
//
// Per 32-value block of the group's eight rows, 160 bytes:
//   fifth bits, 32 bytes     byte r*4 + j: bit k (k < 4) is the fifth bit of row r's value 4k + j,
//                            bit 4 + k that of value 16 + 4k + j
//   nibbles, 4 x 32 bytes    chunk k: row r's qs[4k..4k+3] at r*4
// GGML's qs[j] holds value j in its low nibble and value j + 16 in its high nibble, so chunk k's low
// nibbles are values 4k..4k+3 and its high nibbles values 16+4k..16+4k+3 of every row: int32 lane r
// is row r, and a broadcast of four activation bytes multiplies all eight rows at once. The fifth
// bits are regrouped into bit planes (plane m = bit m of every byte) so that the fifth bit of each of
// the eight level vectors of a block sits at the same byte position as its nibble: one shift and a
// mask move plane m to bit 4, where it joins the nibble.
//
// Int16 bound of block_dot: with levels u in 0..31, one maddubs lane is at most 2 * 31 * 128 = 7936
// in magnitude, so four add to at most 31744 < 32767: each half block (two chunks, four maddubs) is
// widened with madd.
#pragma once
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "quants/avx2_util.h"
#include "quants/packed_avx2_util.h"

namespace qwen::kernels::q5_avx2 {

constexpr int kChunks = 4;                                // 32-byte nibble chunks per block
constexpr size_t kBitBytes = 32;                          // fifth-bit planes per block
constexpr size_t kBlockBytes = kBitBytes + kChunks * 32;  // 160

// Software prefetch distance (bytes ahead in the block stream) for decode, which streams every
// weight once from DRAM; prefetches past the end of the group never fault.
constexpr size_t kPrefetchAhead = 768;

inline void prefetch_block(const uint8_t* block) {
  _mm_prefetch(reinterpret_cast<const char*>(block + kPrefetchAhead), _MM_HINT_T0);
  _mm_prefetch(reinterpret_cast<const char*>(block + kPrefetchAhead + 64), _MM_HINT_T0);
  _mm_prefetch(reinterpret_cast<const char*>(block + kPrefetchAhead + 128), _MM_HINT_T0);
}

// Levels u (0..31) of chunk K of a block: low nibbles with bit plane K moved up to bit 4 (values
// 4K..4K+3 of each row) and high nibbles with plane 4 + K (values 16+4K..16+4K+3). The 16-bit shifts
// carry bits across byte boundaries only into bits 0..3 (left by <= 4) or 5..7 (right by <= 3),
// which the 0x10 mask drops.
template <int K> inline void chunk_levels(const uint8_t* block, __m256i planes, __m256i& lo, __m256i& hi) {
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const __m256i bit4 = _mm256_set1_epi8(0x10);
  const __m256i v = load32(block + kBitBytes + 32 * K);
  lo = _mm256_or_si256(_mm256_and_si256(v, low4), _mm256_and_si256(_mm256_slli_epi16(planes, 4 - K), bit4));
  hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v, 4), low4),
                       _mm256_and_si256(_mm256_srli_epi16(planes, K), bit4));
}

// A block's eight level vectors: low nibbles of chunks 0..3 (values 0..15), then high nibbles
// (values 16..31), so level m meets activation bytes 4m..4m+3.
inline void block_levels(const uint8_t* block, __m256i* level) {
  const __m256i planes = load32(block);
  chunk_levels<0>(block, planes, level[0], level[4]);
  chunk_levels<1>(block, planes, level[1], level[5]);
  chunk_levels<2>(block, planes, level[2], level[6]);
  chunk_levels<3>(block, planes, level[3], level[7]);
}

// Token y's exact integer dot sum_j u_j y_j with the eight rows over one block. Each half (four
// maddubs, at most 31744) is widened to int32 before it could saturate.
inline __m256i block_dot(const __m256i* level, const int8_t* q) {
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

// Writes row r's part of a packed block body from its GGML qh (4 bytes) and qs (16 bytes). The
// planes are OR-ed in: the caller zeroes a block's first kBitBytes before its first row.
inline void pack_block_row(const uint8_t* qh_bytes, const uint8_t* qs, int r, uint8_t* block) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, 4);
  for (int k = 0; k < kChunks; ++k) {
    std::memcpy(block + kBitBytes + 32 * k + 4 * r, qs + 4 * k, 4);
    for (int j = 0; j < 4; ++j) {
      const uint8_t low_bit = (qh >> (4 * k + j)) & 1u, high_bit = (qh >> (16 + 4 * k + j)) & 1u;
      block[4 * r + j] |= static_cast<uint8_t>(low_bit << k | high_bit << (4 + k));
    }
  }
}

}  // namespace qwen::kernels::q5_avx2
