// Small pieces the packed AVX2 kernels (packed_*_avx2.cpp) share. Only for files compiled with
// -mavx2 (the *_avx2.cpp ones).
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "quants/ggml_types.h"

namespace qwen::kernels {

// Four activation bytes repeated in every 32-bit lane: one lane per packed row, so a maddubs with
// a chunk of eight rows' levels multiplies all eight by the same four activations.
inline __m256i broadcast4(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// An empty asm that claims to change v: GCC cannot reassociate integer adds across it. Without it
// GCC turns a token's chain of int16 adds into a tree, hoists every maddubs of a token tile ahead
// of the adds and spills them to the stack (measured in the Q4_0 and Q8_0 gemm: a third of the
// loop's instructions were stack moves).
inline void keep_order(__m256i& v) {
#if defined(__GNUC__)
  __asm__("" : "+x"(v));
#endif
}

// Q8_K activation rows as the matmul writes them (block_q8_K: float d, 256 int8 levels, 16 int16
// sums of 16 levels), read by byte offset so callers can step through rows of any stride.
inline float q8k_d(const uint8_t* y) {
  float d;
  std::memcpy(&d, y, 4);
  return d;
}
inline const int8_t* q8k_qs(const uint8_t* y) { return reinterpret_cast<const int8_t*>(y + 4); }
inline const int16_t* q8k_bsums(const uint8_t* y) { return reinterpret_cast<const int16_t*>(y + 4 + QK_K); }

// gemm drivers: calls f(std::integral_constant<int, NT>{}, t) for the token tiles t, t + NT of n_x
// tokens: full tiles of TILE, then one remainder tile of 1..TILE-1 tokens, so a kernel templated
// on its tile width keeps every tile's accumulators in registers.
template <int R, class F> inline void token_remainder(int left, int t, F& f) {
  if constexpr (R > 0) {
    if (left == R) f(std::integral_constant<int, R>{}, t);
    else token_remainder<R - 1>(left, t, f);
  }
}
template <int TILE, class F> inline void for_token_tiles(int n_x, F&& f) {
  int t = 0;
  for (; t + TILE <= n_x; t += TILE) f(std::integral_constant<int, TILE>{}, t);
  token_remainder<TILE - 1>(n_x - t, t, f);
}

}  // namespace qwen::kernels
