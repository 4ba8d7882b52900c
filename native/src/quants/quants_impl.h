// Per-type kernel entry points behind the traits table (quants.cpp). Internal to quants/.
#pragma once
#include <cstddef>
#include <cstdint>

namespace qwen::kernels {

// Float formats; their dot takes F32 activations.
void dequantize_row_f32(const void* src, float* dst, int64_t n);
void quantize_row_f32(const float* src, void* dst, int64_t n);
float vec_dot_f32(int n, const void* w, const void* x);
void dequantize_row_f16(const void* src, float* dst, int64_t n);
void quantize_row_f16(const float* src, void* dst, int64_t n);
float vec_dot_f16(int n, const void* w, const void* x);
void dequantize_row_bf16(const void* src, float* dst, int64_t n);
void quantize_row_bf16(const float* src, void* dst, int64_t n);
float vec_dot_bf16(int n, const void* w, const void* x);

// Legacy 32-element block formats. Q4_0/Q5_0/Q8_0 dot against Q8_0 activations, Q4_1/Q5_1 against Q8_1.
#define QWEN_DECLARE_QUANT(T)                                      \
  void dequantize_row_##T(const void* src, float* dst, int64_t n); \
  void quantize_row_##T(const float* src, void* dst, int64_t n);   \
  float vec_dot_##T(int n, const void* w, const void* x);
QWEN_DECLARE_QUANT(q4_0)
QWEN_DECLARE_QUANT(q4_1)
QWEN_DECLARE_QUANT(q5_0)
QWEN_DECLARE_QUANT(q5_1)
QWEN_DECLARE_QUANT(q8_0)
void dequantize_row_q8_1(const void* src, float* dst, int64_t n);
void quantize_row_q8_1(const float* src, void* dst, int64_t n);

// K-quants (256-element super-blocks), dot against Q8_K activations.
QWEN_DECLARE_QUANT(q2_K)
QWEN_DECLARE_QUANT(q3_K)
QWEN_DECLARE_QUANT(q4_K)
QWEN_DECLARE_QUANT(q5_K)
QWEN_DECLARE_QUANT(q6_K)
void dequantize_row_q8_K(const void* src, float* dst, int64_t n);
void quantize_row_q8_K(const float* src, void* dst, int64_t n);
#undef QWEN_DECLARE_QUANT

// AVX2 + FMA + F16C versions (quants_float_avx2.cpp, quants_legacy_avx2.cpp, quants_k_avx2.cpp); only called when cpu_features().use_avx2().
float vec_dot_f32_avx2(int n, const void* w, const void* x);
float vec_dot_f16_avx2(int n, const void* w, const void* x);
float vec_dot_bf16_avx2(int n, const void* w, const void* x);
float vec_dot_q4_0_avx2(int n, const void* w, const void* x);
float vec_dot_q4_1_avx2(int n, const void* w, const void* x);
float vec_dot_q5_0_avx2(int n, const void* w, const void* x);
float vec_dot_q5_1_avx2(int n, const void* w, const void* x);
float vec_dot_q8_0_avx2(int n, const void* w, const void* x);
float vec_dot_q2_K_avx2(int n, const void* w, const void* x);
float vec_dot_q3_K_avx2(int n, const void* w, const void* x);
float vec_dot_q4_K_avx2(int n, const void* w, const void* x);
float vec_dot_q5_K_avx2(int n, const void* w, const void* x);
float vec_dot_q6_K_avx2(int n, const void* w, const void* x);

// AVX2 activation quantizers (quants_act_avx2.cpp), byte-identical to the scalar ones.
void quantize_row_q8_0_avx2(const float* src, void* dst, int64_t n);
void quantize_row_q8_K_avx2(const float* src, void* dst, int64_t n);

// One weight row against several activation rows (quants_multi_avx2.cpp); see VecDotMultiFn.
void vec_dot_multi_q8_0_avx2(int n, const void* w, const void* x, size_t x_stride, int n_x, float* out);
void vec_dot_multi_q4_0_avx2(int n, const void* w, const void* x, size_t x_stride, int n_x, float* out);
void vec_dot_multi_q5_0_avx2(int n, const void* w, const void* x, size_t x_stride, int n_x, float* out);
void vec_dot_multi_q4_K_avx2(int n, const void* w, const void* x, size_t x_stride, int n_x, float* out);
void vec_dot_multi_q5_K_avx2(int n, const void* w, const void* x, size_t x_stride, int n_x, float* out);
void vec_dot_multi_q6_K_avx2(int n, const void* w, const void* x, size_t x_stride, int n_x, float* out);

// Two weight rows (w, w + w_stride bytes) against several activation rows: out[r * out_stride + t].
void vec_dot_2rows_multi_q8_0_avx2(int n, const void* w, size_t w_stride, const void* x, size_t x_stride, int n_x,
                                   float* out, size_t out_stride);
void vec_dot_2rows_multi_q4_0_avx2(int n, const void* w, size_t w_stride, const void* x, size_t x_stride, int n_x,
                                   float* out, size_t out_stride);
void vec_dot_2rows_multi_q5_0_avx2(int n, const void* w, size_t w_stride, const void* x, size_t x_stride, int n_x,
                                   float* out, size_t out_stride);

}  // namespace qwen::kernels
