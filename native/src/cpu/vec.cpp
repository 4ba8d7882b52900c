#include "cpu/vec.h"

#include "base/cpu_features.h"
#include "base/fp16.h"
#include "cpu/ops.h"

namespace qwen {

namespace {
float dot_f16_f32_scalar(int n, const uint16_t* a, const float* b) {
  float s = 0;
  for (int i = 0; i < n; ++i) s += fp16_to_fp32(a[i]) * b[i];
  return s;
}
void axpy_f16_scalar(int n, float alpha, const uint16_t* x, float* y) {
  for (int i = 0; i < n; ++i) y[i] += alpha * fp16_to_fp32(x[i]);
}
void f32_to_f16_scalar(int n, const float* x, uint16_t* y) {
  for (int i = 0; i < n; ++i) y[i] = fp32_to_fp16(x[i]);
}
void dot_f16_f32_run_scalar(int n, int count, const uint16_t* x, int x_stride, const float* b, int b_stride, int m,
                            float* out, int out_stride) {
  for (int p = 0; p < count; ++p)
    for (int j = 0; j < m; ++j)
      out[(size_t)j * out_stride + p] = dot_f16_f32_scalar(n, x + (size_t)p * x_stride, b + (size_t)j * b_stride);
}
void axpy_f16_run_scalar(int n, int count, const float* alpha, int alpha_stride, const uint16_t* x, int x_stride,
                         float* y, int y_stride, int m) {
  for (int p = 0; p < count; ++p)
    for (int j = 0; j < m; ++j)
      axpy_f16_scalar(n, alpha[(size_t)j * alpha_stride + p], x + (size_t)p * x_stride, y + (size_t)j * y_stride);
}
void swiglu_scalar(int n, float* g, const float* u) { swiglu_inplace(g, u, n); }
void softmax_scaled_scalar(int n, float* x, float scale) {
  for (int p = 0; p < n; ++p) x[p] *= scale;
  softmax_inplace(x, n);
}
}  // namespace

const VecOps& vec_ops() {
  static const VecOps ops =
      cpu_features().use_avx2()
          ? VecOps{vec_avx2::dot_f16_f32,  vec_avx2::axpy_f16, vec_avx2::f32_to_f16,    vec_avx2::dot_f16_f32_run,
                   vec_avx2::axpy_f16_run, vec_avx2::swiglu,   vec_avx2::softmax_scaled}
          : VecOps{dot_f16_f32_scalar,  axpy_f16_scalar, f32_to_f16_scalar,    dot_f16_f32_run_scalar,
                   axpy_f16_run_scalar, swiglu_scalar,   softmax_scaled_scalar};
  return ops;
}

}  // namespace qwen
