// Helpers shared by the K-quant quantizers, dequantizers and dots (scalar and AVX2). Internal to
// quants/. Everything is `static inline` so the copies compiled into *_avx2.cpp never replace the
// portable ones at link time.
#pragma once
#include <cstdint>
#include <cstring>

#include "quants/ggml_types.h"

namespace qwen::kernels {

// Round to the nearest integer, ties to even, the way GGML's K-quant reference quantizers round
// (adding 1.5 * 2^23 pushes the integer into the low mantissa bits under the default rounding
// mode). Valid for |v| < 2^22, which the callers guarantee by construction (|v| <= 128 or so).
static inline int nearest_even_int(float v) {
  const float shifted = v + 12582912.0f;
  int32_t bits;
  std::memcpy(&bits, &shifted, 4);
  return (bits & 0x007fffff) - 0x00400000;
}

// Q4_K / Q5_K keep 8 six-bit scales and 8 six-bit mins in 12 bytes: sub-blocks 0-3 use the low 6
// bits of bytes 0-3 (scale) and 4-7 (min); sub-blocks 4-7 use a nibble of bytes 8-11 plus the two
// spare top bits of bytes 0-7.
static inline void k4_scale_min(int j, const uint8_t* packed, int* scale, int* min) {
  if (j < 4) {
    *scale = packed[j] & 63;
    *min = packed[j + 4] & 63;
  } else {
    *scale = (packed[j + 4] & 0x0f) | ((packed[j - 4] >> 6) << 4);
    *min = (packed[j + 4] >> 4) | ((packed[j] >> 6) << 4);
  }
}

// Writes scale/min (0..63) of sub-block j; the caller zeroes `packed` first.
static inline void k4_set_scale_min(int j, uint8_t* packed, int scale, int min) {
  if (j < 4) {
    packed[j] |= (uint8_t)scale;
    packed[j + 4] |= (uint8_t)min;
  } else {
    packed[j + 4] = (uint8_t)((scale & 0x0f) | ((min & 0x0f) << 4));
    packed[j - 4] |= (uint8_t)((scale >> 4) << 6);
    packed[j] |= (uint8_t)((min >> 4) << 6);
  }
}

// Q3_K keeps 16 six-bit scales (stored +32) in 12 bytes: the low nibbles of sub-blocks 0-7 and
// 8-15 share bytes 0-7, and the top two bits of sub-block j sit in byte 8 + j%4 at bit 2*(j/4).
static inline void q3k_unpack_scales(const uint8_t* packed, int8_t out[16]) {
  for (int j = 0; j < 16; ++j) {
    const int low = j < 8 ? (packed[j] & 0x0f) : (packed[j - 8] >> 4);
    const int high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
    out[j] = (int8_t)((low | (high << 4)) - 32);
  }
}

// Stores scale l (-32..31) of sub-block j; the caller zeroes `packed` first.
static inline void q3k_set_scale(int j, uint8_t* packed, int l) {
  const int u = l + 32;
  if (j < 8) packed[j] |= (uint8_t)(u & 0x0f);
  else packed[j - 8] |= (uint8_t)((u & 0x0f) << 4);
  packed[8 + j % 4] |= (uint8_t)((u >> 4) << (2 * (j / 4)));
}

// ---- Scale fitting (quants_k_fit.cpp), same search as GGML's reference quantizers -----------

// Symmetric fit x ~ scale * (L - nmax), L in [0, 2*nmax - 1], weighting errors by x^2, trying 19
// candidate scales around -nmax/max (GGML's make_qx_quants with rmse_type 1). Returns the scale.
float fit_symmetric_weighted(int n, int nmax, const float* x, uint8_t* L);

// Symmetric 3-bit style fit (GGML's make_q3_quants with rmse): starts from -nmax/max and then
// moves single values to the level that most improves the weighted fit, up to five passes.
// L in [0, 2*nmax - 1] (stored + nmax). Returns the scale.
float fit_symmetric_iterative(int n, int nmax, const float* x, uint8_t* L);

// Offset fit x ~ scale * L - min, L in [0, nmax], min >= 0 returned through *min_out, searching
// nstep+1 candidate ranges (GGML's make_qkx2_quants). `weights` weigh each element's error, which
// is absolute when use_mad, squared otherwise. Returns the scale.
float fit_offset_weighted(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* min_out, float rmin,
                          float rdelta, int nstep, bool use_mad);

}  // namespace qwen::kernels
