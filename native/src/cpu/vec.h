// Small vector kernels used by attention and the KV cache, with a scalar and an AVX2 (F16C)
// version picked once at start-up.
#pragma once
#include <cstdint>

namespace qwen {

struct VecOps {
  float (*dot_f16_f32)(int n, const uint16_t* a, const float* b);     // sum a_i * b_i
  void (*axpy_f16)(int n, float alpha, const uint16_t* x, float* y);  // y += alpha * x
  void (*f32_to_f16)(int n, const float* x, uint16_t* y);
  // A run of `count` f16 rows x_p = x + p * x_stride against m f32 rows (the query heads sharing
  // a KV head): out[j * out_stride + p] = x_p . b_j, b_j = b + j * b_stride. Each x_p is converted
  // once for all m, and the m sums of a row are reduced together.
  void (*dot_f16_f32_run)(int n, int count, const uint16_t* x, int x_stride, const float* b, int b_stride, int m,
                          float* out, int out_stride);
  // A run of `count` f16 rows x_p = x + p * x_stride weighted into m f32 rows (the query heads
  // sharing a KV head): y_j += alpha[j * alpha_stride + p] * x_p for p < count, in increasing p
  // for every element, so the result equals count axpy_f16 calls bit for bit. Each x_p is
  // converted once for all m, and the y_j stay in registers over the run.
  void (*axpy_f16_run)(int n, int count, const float* alpha, int alpha_stride, const uint16_t* x, int x_stride,
                       float* y, int y_stride, int m);
  // g = silu(g) * u, the SwiGLU gate (ops.h swiglu_inplace is the scalar form). With a scalar
  // expf per element it was a measurable share of prefill.
  void (*swiglu)(int n, float* g, const float* u);
  // x <- softmax(scale * x) over n values: attention's score rows. With a scalar expf per score it
  // was a tenth of a 512-token prefill.
  void (*softmax_scaled)(int n, float* x, float scale);
};

const VecOps& vec_ops();

namespace vec_avx2 {
float dot_f16_f32(int n, const uint16_t* a, const float* b);
void axpy_f16(int n, float alpha, const uint16_t* x, float* y);
void f32_to_f16(int n, const float* x, uint16_t* y);
void dot_f16_f32_run(int n, int count, const uint16_t* x, int x_stride, const float* b, int b_stride, int m, float* out,
                     int out_stride);
void axpy_f16_run(int n, int count, const float* alpha, int alpha_stride, const uint16_t* x, int x_stride, float* y,
                  int y_stride, int m);
void swiglu(int n, float* g, const float* u);
void softmax_scaled(int n, float* x, float scale);
}  // namespace vec_avx2

}  // namespace qwen
