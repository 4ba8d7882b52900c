// Small vector kernels used by attention and the KV cache, with a scalar and an AVX2 (F16C)
// version picked once at start-up.
#pragma once
#include <cstdint>

namespace qwen {

struct VecOps {
  float (*dot_f16_f32)(int n, const uint16_t* a, const float* b);        // sum a_i * b_i
  void (*axpy_f16)(int n, float alpha, const uint16_t* x, float* y);     // y += alpha * x
  void (*f32_to_f16)(int n, const float* x, uint16_t* y);
};

const VecOps& vec_ops();

namespace vec_avx2 {
float dot_f16_f32(int n, const uint16_t* a, const float* b);
void axpy_f16(int n, float alpha, const uint16_t* x, float* y);
void f32_to_f16(int n, const float* x, uint16_t* y);
}  // namespace vec_avx2

}  // namespace qwen
