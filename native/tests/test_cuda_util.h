// Helpers shared by the CUDA tests: the skip-with-reason guard, seeded random data, and weights
// written in any GGML type through the CPU quantizers (quants/), so every GPU result is checked
// against the CPU's scalar reference of the very same bytes.
#pragma once
#ifdef QWEN_HAVE_CUDA
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cuda/cuda_api.h"
#include "quants/quants.h"

namespace qwen_cuda_test {

// True when a GPU can run the test; otherwise prints "SKIP cuda: <reason>" once per test, so a
// skipped test is never silent (test/native/cuda.test.ts looks for this line).
inline bool gpu_or_skip(const char* test) {
  std::string why;
  if (qwen::cuda::available(&why)) return true;
  std::printf("SKIP cuda: %s (%s)\n", why.c_str(), test);
  return false;
}

inline std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

inline uint16_t f32_to_f16_bits(float f) {
  // Round-to-nearest-even conversion for normal values; the test data stays in normal range.
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000;
  int32_t exp = static_cast<int32_t>((x >> 23) & 0xFF) - 127 + 15;
  uint32_t mant = x & 0x7FFFFF;
  if (exp <= 0) return static_cast<uint16_t>(sign);  // flush tiny values to zero
  if (exp >= 31) return static_cast<uint16_t>(sign | 0x7C00);
  uint32_t h = sign | (static_cast<uint32_t>(exp) << 10) | (mant >> 13);
  const uint32_t rest = mant & 0x1FFF;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) ++h;
  return static_cast<uint16_t>(h);
}

inline float f16_bits_to_f32(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
  uint32_t x;
  if (exp == 0) {
    const float f = std::ldexp(static_cast<float>(mant), -24);  // subnormal
    return sign ? -f : f;
  }
  x = sign | ((exp == 31 ? 255 : exp - 15 + 127) << 23) | (mant << 13);
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

// The value the GPU keeps after storing f into the f16 KV cache.
inline float round_f16(float f) { return f16_bits_to_f32(f32_to_f16_bits(f)); }

// W (rows, k) f32 -> the bytes of type t. F32/F16/BF16 are converted here; block types go
// through the type's quantize_row (the reference rounding). Returns false (with a printed
// reason) when the CPU side cannot write the type.
inline bool encode_rows(qwen::GgmlType t, const std::vector<float>& w, int64_t rows, int64_t k,
                        std::vector<uint8_t>* out) {
  const qwen::TypeTraits& tt = qwen::traits(t);
  const size_t rb = qwen::row_size(t, k);
  out->assign(rb * rows, 0);
  for (int64_t r = 0; r < rows; ++r) {
    const float* src = w.data() + r * k;
    uint8_t* dst = out->data() + r * rb;
    if (t == qwen::GgmlType::F32) {
      std::memcpy(dst, src, k * 4);
    } else if (t == qwen::GgmlType::F16) {
      for (int64_t i = 0; i < k; ++i) {
        const uint16_t h = f32_to_f16_bits(src[i]);
        std::memcpy(dst + 2 * i, &h, 2);
      }
    } else if (t == qwen::GgmlType::BF16) {
      for (int64_t i = 0; i < k; ++i) {
        uint32_t b;
        std::memcpy(&b, src + i, 4);
        const uint16_t h = uint16_t((b + 0x8000) >> 16);
        std::memcpy(dst + 2 * i, &h, 2);
      }
    } else if (tt.quantize_row) {
      tt.quantize_row(src, dst, k);
    } else {
      std::printf("    note: no CPU quantizer for %s, type not tested\n", tt.name);
      return false;
    }
  }
  return true;
}

// The CPU reference view of the same bytes: every row dequantized by the scalar code.
inline std::vector<float> decode_rows(qwen::GgmlType t, const std::vector<uint8_t>& bytes, int64_t rows, int64_t k) {
  const qwen::TypeTraits& tt = qwen::traits(t);
  const size_t rb = qwen::row_size(t, k);
  std::vector<float> w(rows * k);
  for (int64_t r = 0; r < rows; ++r) tt.dequantize_row(bytes.data() + r * rb, w.data() + r * k, k);
  return w;
}

template <typename T> inline qwen::cuda::DeviceBuffer to_device(const std::vector<T>& v) {
  qwen::cuda::DeviceBuffer b(v.size() * sizeof(T));
  b.upload(v.data(), v.size() * sizeof(T));
  return b;
}

inline std::vector<float> from_device(const qwen::cuda::DeviceBuffer& b, size_t n) {
  std::vector<float> v(n);
  qwen::cuda::synchronize();
  b.download(v.data(), n * sizeof(float));
  return v;
}

// Largest |a - b| / (abs_floor + scale_i) over the arrays, where scale_i is given per element.
inline double worst_ratio(const std::vector<float>& got, const std::vector<double>& want,
                          const std::vector<double>& scale, double abs_floor) {
  double worst = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double r = std::fabs(got[i] - want[i]) / (abs_floor + scale[i]);
    if (std::isnan(r)) return INFINITY;  // a NaN anywhere is a failure
    if (r > worst) worst = r;
  }
  return worst;
}

}  // namespace qwen_cuda_test
#endif  // QWEN_HAVE_CUDA
