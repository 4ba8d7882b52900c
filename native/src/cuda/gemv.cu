// Decode-time matrix-vector products over quantized weights, dequantized on the fly.
//
// W (rows, k) as T @ X (ncols, k) f32 -> Y (ncols, rows) f32, for ncols = 1..4 (one token, or a
// few during speculative/short batches). Decode is bound by reading W once, so each warp owns one
// row and its 32 lanes walk the row in 8-element chunks: lane i reads chunk i, i+32, ... which
// puts consecutive lanes on consecutive bytes of the row (coalesced), and every weight byte is
// read exactly once per call however many columns there are. Activations are small and shared by
// all rows, so they come through the read-only cache as two 16-byte loads per chunk.
#include "cuda/cuda_api.h"
#include "cuda/dequant_blocks.cuh"

namespace qwen {
namespace cuda {

namespace {

constexpr int kGemvWarps = 4;  // rows per block; 128 threads

template <GgmlType T, int NCOLS>
__global__ void __launch_bounds__(kGemvWarps * 32)
    gemv_kernel(const uint8_t* __restrict__ w, int64_t rows, int64_t k, const float* __restrict__ x,
                float* __restrict__ y, const float* __restrict__ bias, bool accumulate) {
  const int lane = threadIdx.x & 31;
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kGemvWarps + (threadIdx.x >> 5);
  if (r >= rows) return;
  const uint8_t* row = w + r * row_bytes<T>(k);
  const int64_t chunks = k / 8;

  float acc[NCOLS];
#pragma unroll
  for (int j = 0; j < NCOLS; ++j) acc[j] = 0.0f;

  // Two chunks per iteration so two independent weight loads are in flight per lane.
  int64_t c = lane;
  for (; c + 32 < chunks; c += 64) {
    float wa[8], wb[8];
    decode8<T>(row, c, wa);
    decode8<T>(row, c + 32, wb);
#pragma unroll
    for (int j = 0; j < NCOLS; ++j) {
      const float4* xa = reinterpret_cast<const float4*>(x + j * k + c * 8);
      const float4* xb = reinterpret_cast<const float4*>(x + j * k + (c + 32) * 8);
      const float4 a0 = __ldg(xa), a1 = __ldg(xa + 1), b0 = __ldg(xb), b1 = __ldg(xb + 1);
      acc[j] += wa[0] * a0.x + wa[1] * a0.y + wa[2] * a0.z + wa[3] * a0.w + wa[4] * a1.x + wa[5] * a1.y + wa[6] * a1.z +
                wa[7] * a1.w + wb[0] * b0.x + wb[1] * b0.y + wb[2] * b0.z + wb[3] * b0.w + wb[4] * b1.x + wb[5] * b1.y +
                wb[6] * b1.z + wb[7] * b1.w;
    }
  }
  if (c < chunks) {
    float wa[8];
    decode8<T>(row, c, wa);
#pragma unroll
    for (int j = 0; j < NCOLS; ++j) {
      const float4* xa = reinterpret_cast<const float4*>(x + j * k + c * 8);
      const float4 a0 = __ldg(xa), a1 = __ldg(xa + 1);
      acc[j] += wa[0] * a0.x + wa[1] * a0.y + wa[2] * a0.z + wa[3] * a0.w + wa[4] * a1.x + wa[5] * a1.y + wa[6] * a1.z +
                wa[7] * a1.w;
    }
  }

#pragma unroll
  for (int j = 0; j < NCOLS; ++j) {
    const float s = warp_sum(acc[j]);
    if (lane == 0) {
      float v = s + (bias ? bias[r] : 0.0f);
      if (accumulate) v += y[j * rows + r];
      y[j * rows + r] = v;
    }
  }
}

template <GgmlType T>
void launch_gemv(const void* w, int64_t rows, int64_t k, const float* x, int n, float* y, const float* bias,
                 bool accumulate) {
  const dim3 grid(ceil_div(rows, kGemvWarps)), block(kGemvWarps * 32);
  const uint8_t* wb = static_cast<const uint8_t*>(w);
  // Columns beyond 4 are done four at a time; each pass re-reads W, which matmul() avoids by
  // switching to the GEMM for n > 4.
  for (int j0 = 0; j0 < n; j0 += 4) {
    const int nc = n - j0 < 4 ? n - j0 : 4;
    const float* xj = x + j0 * k;
    float* yj = y + j0 * rows;
    switch (nc) {
      case 1: gemv_kernel<T, 1><<<grid, block, 0, stream()>>>(wb, rows, k, xj, yj, bias, accumulate); break;
      case 2: gemv_kernel<T, 2><<<grid, block, 0, stream()>>>(wb, rows, k, xj, yj, bias, accumulate); break;
      case 3: gemv_kernel<T, 3><<<grid, block, 0, stream()>>>(wb, rows, k, xj, yj, bias, accumulate); break;
      default: gemv_kernel<T, 4><<<grid, block, 0, stream()>>>(wb, rows, k, xj, yj, bias, accumulate); break;
    }
    check_launch("gemv kernel");
  }
}

}  // namespace

void gemv(GgmlType wtype, const void* d_w, int64_t rows, int64_t k, const float* d_x, int n, float* d_y,
          const float* d_bias, bool accumulate) {
  if (n <= 0 || rows <= 0) return;
  if (k % 32 != 0) throw std::runtime_error("CUDA gemv: k = " + std::to_string(k) + " is not a multiple of 32");
  QWEN_CUDA_DISPATCH_TYPE(wtype, (launch_gemv<T_>(d_w, rows, k, d_x, n, d_y, d_bias, accumulate)));
}

}  // namespace cuda
}  // namespace qwen
