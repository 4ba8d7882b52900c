// The weight formats the engine reads, and the one table every kernel goes through.
//
// Block layouts follow GGML's definitions exactly (so GGUF files load byte for byte); each block
// struct is defined once in ggml_types.h with a static_assert on its size. For every type the
// table holds a scalar reference implementation and, where one exists, an AVX2 one chosen at
// start-up by cpu_features(); tests compare the two.
#pragma once
#include <cstddef>
#include <cstdint>

#include "quants/ggml_types.h"  // enum class GgmlType + block structs

namespace qwen {

// Dot product of one weight row (n elements, stored as `type`) with activations that were
// quantized once per row batch into the type's `vec_dot_type` (Q8_0 for the legacy quants,
// Q8_K for the K-quants, F32 for F32/F16/BF16).
//   w: n/block_size blocks of the weight type;  x: n elements in vec_dot_type;  returns sum_i w_i*x_i
using VecDotFn = float (*)(int n, const void* w, const void* x);
// One weight row against n_x activation rows (prompt prefill), decoding each weight block once:
//   out[t] = w (n,) . x_t (n,),  x_t = (const uint8_t*)x + t * x_stride,  t < n_x.
// Activations are in vec_dot_type, as for VecDotFn. Call through vec_dot_multi() below, which
// falls back to one vec_dot per activation row where a type has no such kernel.
using VecDotMultiFn = void (*)(int n, const void* w, const void* x, size_t x_stride, int n_x, float* out);
// Two weight rows, w and w + w_stride bytes, against n_x activation rows (as VecDotMultiFn):
//   out[r * out_stride + t] = w_r . x_t,  r < 2. Loads each activation block once for both rows.
using VecDot2RowsMultiFn = void (*)(int n, const void* w, size_t w_stride, const void* x, size_t x_stride, int n_x,
                                    float* out, size_t out_stride);
// Quantize n floats (n a multiple of block_size) into blocks of the type. Reference rounding as
// GGML's quantize_row_*_ref, so our quantizer writes what llama.cpp would.
using QuantizeRowFn = void (*)(const float* src, void* dst, int64_t n);
// Inverse of QuantizeRowFn: n elements of the type back to floats.
using DequantizeRowFn = void (*)(const void* src, float* dst, int64_t n);

struct TypeTraits {
  const char* name;       // "Q4_0", as GGML names it
  int block_size;         // elements per block (1 for F32/F16/BF16)
  size_t type_size;       // bytes per block
  bool supported;         // false: known to GGUF, but this engine cannot compute with it
  GgmlType vec_dot_type;  // activation format the dot product wants
  DequantizeRowFn dequantize_row;
  QuantizeRowFn quantize_row;              // nullptr where we cannot write the type
  VecDotFn vec_dot;                        // fastest available on this CPU (AVX2 or scalar)
  VecDotFn vec_dot_scalar;                 // the reference, always present for supported types
  VecDotMultiFn vec_dot_multi;             // AVX2 multi-activation kernel where one exists; else nullptr
  VecDot2RowsMultiFn vec_dot_2rows_multi;  // AVX2 two-row form (Q8_0, Q4_0, Q5_0); else nullptr
};

// Traits for a type id as stored in a GGUF file; nullptr for ids GGML does not define.
const TypeTraits* type_traits(uint32_t ggml_type_id);
inline const TypeTraits& traits(GgmlType t) { return *type_traits(static_cast<uint32_t>(t)); }

// Bytes taken by n elements of type t (n a multiple of the block size).
size_t row_size(GgmlType t, int64_t n);

// out[t] = dot(w, x_t) for t < n_x (see VecDotMultiFn). Uses t.vec_dot_multi when present
// (AVX2: Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K), otherwise calls t.vec_dot once per activation row; the
// results equal t.vec_dot's to float rounding either way. For the model's batched matmul.
void vec_dot_multi(const TypeTraits& t, int n, const void* w, const void* x, size_t x_stride, int n_x, float* out);

// Forces the scalar path for every type (tests and the QWEN_FORCE_SCALAR=1 environment variable).
void quants_force_scalar(bool on);
bool quants_scalar_forced();

}  // namespace qwen
