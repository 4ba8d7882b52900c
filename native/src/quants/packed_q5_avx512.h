// The 160-byte block body that packed Q5_0 and Q5_1 groups share (packed_q5_avx2.h has the layout),
// taken two groups at a time by the AVX-512 VNNI gemm2 kernels (packed_q5_0_avx512.cpp,
// packed_q5_1_avx512.cpp). Only for files compiled with the AVX-512 flags.
#pragma once
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "quants/ggml_types.h"
#include "quants/packed_avx512_util.h"

namespace qwen::kernels::q5_avx512 {

constexpr size_t kBitBytes = 32;                    // fifth-bit planes per block
constexpr size_t kBlockBytes = kBitBytes + 4 * 32;  // planes and four nibble chunks
// Bytes ahead whose lines are prefetched per block, as the AVX2 kernels do: small batches read the
// weights from DRAM about once.
constexpr size_t kPrefetchAhead = 768;

inline void prefetch_block(const uint8_t* block) {
  _mm_prefetch(reinterpret_cast<const char*>(block + kPrefetchAhead), _MM_HINT_T0);
  _mm_prefetch(reinterpret_cast<const char*>(block + kPrefetchAhead + 64), _MM_HINT_T0);
  _mm_prefetch(reinterpret_cast<const char*>(block + kPrefetchAhead + 128), _MM_HINT_T0);
}

// isum[t] += sum_j u_j y_j over one block of both groups (int32 lane r: row r of group a, lane 8 + r:
// row r of group b), u = nibble | fifth bit << 4 in 0..31, y the block b of token t. Chunk k's low
// levels meet activation bytes 4k..4k+3, its high levels bytes 16+4k..16+4k+3. The 16-bit shifts
// carry bits across byte boundaries only into bits 0..3 (left by <= 4) or 5..7 (right by <= 3),
// which the 0x10 mask drops.
template <int T>
inline void block_dots(const uint8_t* block_a, const uint8_t* block_b, const block_q8_0* const* y, int b,
                       __m512i* isum) {
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  const __m512i bit4 = _mm512_set1_epi8(0x10);
  const __m512i planes = load_pair(block_a, block_b);
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    const __m512i v = load_pair(block_a + kBitBytes + 32 * k, block_b + kBitBytes + 32 * k);
    // Plane k up to bit 4 for the low nibbles, plane 4 + k down to bit 4 for the high ones.
    const __m512i up = _mm512_sllv_epi16(planes, _mm512_set1_epi16(static_cast<int16_t>(4 - k)));
    const __m512i down = _mm512_srlv_epi16(planes, _mm512_set1_epi16(static_cast<int16_t>(k)));
    const __m512i lo = _mm512_or_si512(_mm512_and_si512(v, low4), _mm512_and_si512(up, bit4));
    const __m512i hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(v, 4), low4), _mm512_and_si512(down, bit4));
    for (int t = 0; t < T; ++t) {
      isum[t] = dot4(isum[t], lo, broadcast4_512(y[t][b].qs + 4 * k));
      isum[t] = dot4(isum[t], hi, broadcast4_512(y[t][b].qs + QK5_0 / 2 + 4 * k));
    }
  }
}

}  // namespace qwen::kernels::q5_avx512
