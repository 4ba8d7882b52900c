// Shared device-side helpers for the CUDA kernels: error checks that throw with the failing
// operation's name, the backend stream, warp reductions and f16/bf16 conversions.
#pragma once
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace qwen {
namespace cuda {

// Throws std::runtime_error("CUDA <what>: <error string>") when `err` is not cudaSuccess.
void check(cudaError_t err, const char* what);
// Checks that the last kernel launch was accepted (bad configuration, missing sm code, ...).
inline void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }
// The one stream every launcher enqueues on (created on first use, non-blocking).
cudaStream_t stream();

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// GGUF stores f16 as raw IEEE half bits; reinterpret without a conversion instruction.
__host__ __device__ __forceinline__ float f16_bits_to_float(uint16_t bits) {
  __half_raw raw;
  raw.x = bits;
  return __half2float(__half(raw));
}
__device__ __forceinline__ uint16_t float_to_f16_bits(float f) { return __half_as_ushort(__float2half_rn(f)); }
// bf16 is the upper half of an f32.
__host__ __device__ __forceinline__ float bf16_bits_to_float(uint16_t bits) {
#ifdef __CUDA_ARCH__
  return __uint_as_float(static_cast<uint32_t>(bits) << 16);
#else
  const uint32_t u = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}

inline unsigned ceil_div(int64_t a, int64_t b) { return static_cast<unsigned>((a + b - 1) / b); }

}  // namespace cuda
}  // namespace qwen
