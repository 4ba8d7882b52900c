// Compiled by native/cmake/cuda.cmake at configure time, for every architecture the CUDA backend
// will be built for, before the backend is enabled. It uses what native/src/cuda uses and what
// differs between toolkits (tensor-core WMMA on f16, graph capture with the CUDA 12+
// cudaGraphInstantiate signature, device attributes, the driver version), so an nvcc that is too
// old, broken or missing an architecture is found here and the build goes on CPU-only.
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <mma.h>

#include <cstdint>

#if !defined(CUDART_VERSION) || CUDART_VERSION < 12000
#error "the CUDA backend needs CUDA 12.0 or newer"
#endif

namespace {

using namespace nvcuda;

__global__ void probe_kernel(const float* __restrict__ x, float* __restrict__ y, const int32_t* pos) {
  __shared__ __align__(32) half a[16 * 16];
  __shared__ __align__(32) half b[16 * 16];
  __shared__ __align__(32) float c[16 * 16];
  for (int i = threadIdx.x; i < 256; i += blockDim.x) {
    const float4 f = __ldg(reinterpret_cast<const float4*>(x) + (i & 3));
    const __half2 h = __floats2half2_rn(f.x, f.y);
    a[i] = __low2half(h);
    b[i] = __high2half(h);
  }
  __syncthreads();
  wmma::fragment<wmma::matrix_a, 16, 16, 16, half, wmma::row_major> fa;
  wmma::fragment<wmma::matrix_b, 16, 16, 16, half, wmma::col_major> fb;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
  wmma::fill_fragment(acc, 0.0f);
  wmma::load_matrix_sync(fa, a, 16);
  wmma::load_matrix_sync(fb, b, 16);
  wmma::mma_sync(acc, fa, fb, acc);
  wmma::store_matrix_sync(c, acc, 16, wmma::mem_row_major);
  __syncthreads();
  double s, co;
  sincos(static_cast<double>(*pos) * c[threadIdx.x], &s, &co);
  float v = static_cast<float>(s + co);
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  y[threadIdx.x] = v;
}

}  // namespace

int qwen_cuda_probe() {
  int driver = 0, clock = 0;
  cudaDriverGetVersion(&driver);
  cudaDeviceGetAttribute(&clock, cudaDevAttrMemoryClockRate, 0);
  cudaStream_t s = nullptr;
  cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
  cudaGraph_t g = nullptr;
  cudaGraphExec_t e = nullptr;
  cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal);
  probe_kernel<<<1, 32, 0, s>>>(nullptr, nullptr, nullptr);
  cudaStreamEndCapture(s, &g);
  cudaGraphInstantiate(&e, g, 0);
  size_t free_b = 0, total_b = 0;
  cudaMemGetInfo(&free_b, &total_b);
  return driver + clock + static_cast<int>(free_b & 1);
}
