// Normalisation, activation, residual and argmax kernels. All are memory-bound one-pass kernels;
// shapes are given per function in cuda_api.h and repeated on each kernel.
#include <cfloat>

#include "cuda/cuda_api.h"
#include "cuda/cuda_util.cuh"

namespace qwen {
namespace cuda {

namespace {

constexpr int kNormThreads = 256;

// X (n, d) -> Y (n, d): one block per row; the sum of squares is reduced in f32 through the warps.
__global__ void rms_norm_kernel(const float* __restrict__ x, const float* __restrict__ w, int d, float eps,
                                float* __restrict__ y) {
  __shared__ float partial[kNormThreads / 32];
  const float* xr = x + static_cast<int64_t>(blockIdx.x) * d;
  float* yr = y + static_cast<int64_t>(blockIdx.x) * d;
  float ss = 0.0f;
  for (int i = threadIdx.x; i < d; i += kNormThreads) ss += xr[i] * xr[i];
  ss = warp_sum(ss);
  if ((threadIdx.x & 31) == 0) partial[threadIdx.x >> 5] = ss;
  __syncthreads();
  if (threadIdx.x < 32) {
    float v = threadIdx.x < kNormThreads / 32 ? partial[threadIdx.x] : 0.0f;
    v = warp_sum(v);
    if (threadIdx.x == 0) partial[0] = v;
  }
  __syncthreads();
  const float scale = rsqrtf(partial[0] / d + eps);
  for (int i = threadIdx.x; i < d; i += kNormThreads) yr[i] = xr[i] * scale * w[i];
}

// G, U, H (count,): H = G * sigmoid(G) * U.
__global__ void swiglu_kernel(const float* __restrict__ g, const float* __restrict__ u, int64_t count, float* h) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= count) return;
  const float a = g[i];
  h[i] = a / (1.0f + __expf(-a)) * u[i];
}

__global__ void add_kernel(float* y, const float* __restrict__ x, int64_t count) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count) y[i] += x[i];
}

// X (n,) -> *out: one block of 1024 threads; each keeps its best (value, lowest index), then the
// block reduces. Used for greedy decoding so only 4 bytes cross PCIe per token.
__global__ void argmax_kernel(const float* __restrict__ x, int n, int32_t* out) {
  __shared__ float best_v[32];
  __shared__ int best_i[32];
  float v = -FLT_MAX;
  int idx = 0x7fffffff;
  for (int i = threadIdx.x; i < n; i += blockDim.x) {
    if (x[i] > v) {
      v = x[i];
      idx = i;
    }  // strided walk: the first hit per thread is its lowest index
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, v, o);
    const int oi = __shfl_xor_sync(0xffffffffu, idx, o);
    if (ov > v || (ov == v && oi < idx)) {
      v = ov;
      idx = oi;
    }
  }
  if ((threadIdx.x & 31) == 0) {
    best_v[threadIdx.x >> 5] = v;
    best_i[threadIdx.x >> 5] = idx;
  }
  __syncthreads();
  if (threadIdx.x < 32) {
    const int warps = blockDim.x >> 5;
    v = threadIdx.x < warps ? best_v[threadIdx.x] : -FLT_MAX;
    idx = threadIdx.x < warps ? best_i[threadIdx.x] : 0x7fffffff;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
      const float ov = __shfl_xor_sync(0xffffffffu, v, o);
      const int oi = __shfl_xor_sync(0xffffffffu, idx, o);
      if (ov > v || (ov == v && oi < idx)) {
        v = ov;
        idx = oi;
      }
    }
    if (threadIdx.x == 0) *out = idx == 0x7fffffff ? 0 : idx;
  }
}

}  // namespace

void rms_norm(const float* d_x, const float* d_w, int n, int d, float eps, float* d_y) {
  if (n <= 0) return;
  rms_norm_kernel<<<n, kNormThreads, 0, stream()>>>(d_x, d_w, d, eps, d_y);
  check_launch("rms_norm kernel");
}

void swiglu(const float* d_g, const float* d_u, int64_t count, float* d_h) {
  if (count <= 0) return;
  swiglu_kernel<<<ceil_div(count, 256), 256, 0, stream()>>>(d_g, d_u, count, d_h);
  check_launch("swiglu kernel");
}

void add_inplace(float* d_y, const float* d_x, int64_t count) {
  if (count <= 0) return;
  add_kernel<<<ceil_div(count, 256), 256, 0, stream()>>>(d_y, d_x, count);
  check_launch("add kernel");
}

void argmax(const float* d_x, int n, int32_t* d_out) {
  argmax_kernel<<<1, 1024, 0, stream()>>>(d_x, n, d_out);
  check_launch("argmax kernel");
}

}  // namespace cuda
}  // namespace qwen
