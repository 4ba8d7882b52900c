// Half and bfloat16 conversions, portable (no F16C needed): used by the scalar reference paths,
// the loaders and the quantizers. The AVX2 kernels use F16C instead.
//
// Every function here is `static inline` on purpose: *_avx2.cpp files include this header too, and
// with plain `inline` the linker could keep their AVX2-compiled copy for the scalar callers, which
// would then crash on CPUs without AVX2.
#pragma once
#include <cstdint>
#include <cstring>

namespace qwen {

static inline float fp32_from_bits(uint32_t w) {
  float f;
  std::memcpy(&f, &w, 4);
  return f;
}
static inline uint32_t fp32_to_bits(float f) {
  uint32_t w;
  std::memcpy(&w, &f, 4);
  return w;
}

// IEEE binary16 -> binary32, exact for every input (normals, subnormals, inf, nan).
static inline float fp16_to_fp32(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  if (exp == 0) {
    if (mant == 0) return fp32_from_bits(sign);
    // Subnormal: value = mant * 2^-24.
    float v = (float)mant * (1.0f / 16777216.0f);
    return sign ? -v : v;
  }
  if (exp == 31) return fp32_from_bits(sign | 0x7f800000u | (mant << 13));
  return fp32_from_bits(sign | ((exp + 112) << 23) | (mant << 13));
}

// binary32 -> binary16 with round-to-nearest-even, as the F16C instruction and ggml do.
static inline uint16_t fp32_to_fp16(float f) {
  uint32_t x = fp32_to_bits(f);
  const uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
  x &= 0x7fffffffu;
  if (x >= 0x7f800000u) return sign | (x > 0x7f800000u ? 0x7e00 : 0x7c00);  // nan / inf
  if (x >= 0x477ff000u) return sign | 0x7c00;                               // overflow -> inf
  if (x < 0x38800000u) {
    // Result is subnormal or zero: scale so that the integer part is the half mantissa.
    if (x < 0x33000000u) return sign;                 // below half of the smallest subnormal
    const float v = fp32_from_bits(x) * 16777216.0f;  // * 2^24
    // nearbyint-like rounding to even on an exactly representable float.
    float r = (float)(int32_t)v;
    const float frac = v - r;
    if (frac > 0.5f || (frac == 0.5f && ((int32_t)r & 1))) r += 1.0f;
    return sign | (uint16_t)r;
  }
  const uint32_t mant_odd = (x >> 13) & 1;
  x += 0x0fffu + mant_odd;  // round to nearest even on the 13 dropped bits
  return sign | (uint16_t)(((x >> 13) - (112u << 10)) & 0x7fff);
}

static inline float bf16_to_fp32(uint16_t h) { return fp32_from_bits((uint32_t)h << 16); }

// Round to nearest even; NaN stays NaN (quiet).
static inline uint16_t fp32_to_bf16(float f) {
  uint32_t x = fp32_to_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40);
  x += 0x7fffu + ((x >> 16) & 1);
  return (uint16_t)(x >> 16);
}

}  // namespace qwen
