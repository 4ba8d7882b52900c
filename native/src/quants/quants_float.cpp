// F32, F16 and BF16 rows: conversions and the scalar dot against F32 activations.
#include <cstring>

#include "base/fp16.h"
#include "quants/quants_impl.h"

namespace qwen::kernels {

void dequantize_row_f32(const void* src, float* dst, int64_t n) { std::memcpy(dst, src, n * sizeof(float)); }
void quantize_row_f32(const float* src, void* dst, int64_t n) { std::memcpy(dst, src, n * sizeof(float)); }

// w (n,) f32 . x (n,) f32; accumulated in double so the reference is the more precise side.
float vec_dot_f32(int n, const void* w, const void* x) {
  const float* a = static_cast<const float*>(w);
  const float* b = static_cast<const float*>(x);
  double s = 0;
  for (int i = 0; i < n; ++i) s += (double)a[i] * b[i];
  return (float)s;
}

void dequantize_row_f16(const void* src, float* dst, int64_t n) {
  const uint16_t* h = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(h[i]);
}
void quantize_row_f16(const float* src, void* dst, int64_t n) {
  uint16_t* h = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_fp16(src[i]);
}
float vec_dot_f16(int n, const void* w, const void* x) {
  const uint16_t* a = static_cast<const uint16_t*>(w);
  const float* b = static_cast<const float*>(x);
  double s = 0;
  for (int i = 0; i < n; ++i) s += (double)fp16_to_fp32(a[i]) * b[i];
  return (float)s;
}

void dequantize_row_bf16(const void* src, float* dst, int64_t n) {
  const uint16_t* h = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(h[i]);
}
void quantize_row_bf16(const float* src, void* dst, int64_t n) {
  uint16_t* h = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_bf16(src[i]);
}
float vec_dot_bf16(int n, const void* w, const void* x) {
  const uint16_t* a = static_cast<const uint16_t*>(w);
  const float* b = static_cast<const float*>(x);
  double s = 0;
  for (int i = 0; i < n; ++i) s += (double)bf16_to_fp32(a[i]) * b[i];
  return (float)s;
}

}  // namespace qwen::kernels
