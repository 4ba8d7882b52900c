// Keeping prefill activations inside f16's range. The tensor-core GEMM (gemm.cu) rounds each
// activation row to f16, whose largest finite value is 65504; Qwen2.5's feed-forward activations
// (silu(gate) * up, the input of ffn_down) reach 1e4-1e5 in some layers and would become inf.
// So every row is divided by a power of two that brings its largest magnitude to at most
// kF16RowLimit before the rounding, and the row's results are multiplied back in the f32 epilogue.
// A power of two changes only the exponent: the rounded mantissas, and therefore the results, are
// exactly those of the unscaled row whenever that row fits (then the scale is 1).
//
// Plain C++ that nvcc also compiles for the device, so the native tests run this very function on
// the CPU (native/tests/test_f16_range.cpp) without a GPU.
#pragma once

#ifdef __CUDACC__
#define QWEN_HOST_DEVICE __host__ __device__
#else
#define QWEN_HOST_DEVICE
#endif

namespace qwen {
namespace cuda {

// 2^15: well inside f16's 65504, with room for the rounding of values just below it.
constexpr float kF16RowLimit = 32768.0f;

// The power of two (>= 1) to divide a row by, given the row's largest |x|. NaN and infinity give
// 1, so a row that is already broken stays visibly broken instead of being scaled to zeros.
QWEN_HOST_DEVICE inline float f16_row_scale(float absmax) {
  if (!(absmax <= 3.0e38f)) return 1.0f;
  float s = 1.0f;
  while (absmax > kF16RowLimit * s) s *= 2.0f;
  return s;
}

}  // namespace cuda
}  // namespace qwen
