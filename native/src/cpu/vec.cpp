#include "cpu/vec.h"

#include "cpu/cpu_features.h"
#include "quants/fp16.h"

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
}  // namespace

const VecOps& vec_ops() {
  static const VecOps ops = cpu_features().use_avx2()
                                ? VecOps{vec_avx2::dot_f16_f32, vec_avx2::axpy_f16, vec_avx2::f32_to_f16}
                                : VecOps{dot_f16_f32_scalar, axpy_f16_scalar, f32_to_f16_scalar};
  return ops;
}

}  // namespace qwen
