// Prefill matrix products on the tensor cores: weights are dequantized tile by tile into shared
// memory as f16, activations converted to f16, and WMMA (mma.sync underneath) accumulates in f32.
// Activation rows are first divided by a per-row power of two that keeps them inside f16's range
// (f16_range.h: Qwen2.5's FFN activations reach 1e5), and the f32 results multiplied back.
//
// X (n, k) f32 @ W (rows, k)^T as T -> Y (n, rows) f32. One 128-thread block computes a 64-token
// by 64-row tile of Y, stepping through k 32 elements at a time; each of its four warps owns a
// 32x32 sub-tile (2x2 WMMA 16x16x16 fragments). Each weight element is dequantized once per
// 64 tokens, so the decode cost is amortised and the kernel is bound by the tensor-core math.
#include <mma.h>

#include "cuda/cuda_api.h"
#include "cuda/dequant_blocks.cuh"
#include "cuda/f16_range.h"

namespace qwen {
namespace cuda {

namespace {

using namespace nvcuda;

constexpr int kBM = 64;  // tokens per tile
constexpr int kBN = 64;  // weight rows per tile
constexpr int kBK = 32;  // k per step (one legacy block, one eighth of a K-quant super-block)
constexpr int kPad = 8;  // halves of padding per shared row: keeps 16-byte alignment, breaks bank conflicts
constexpr int kLd = kBK + kPad;
constexpr int kThreads = 128;

constexpr int kScaleThreads = 256;

// One block per activation row: scales[m] = f16_row_scale(max |x[m, :]|).
__global__ void __launch_bounds__(kScaleThreads)
    row_scale_kernel(const float* __restrict__ x, int64_t k, float* __restrict__ scales) {
  __shared__ float warp_maxes[kScaleThreads / 32];
  const float* row = x + static_cast<int64_t>(blockIdx.x) * k;
  float m = 0.0f;
  // fmaxf skips NaN; a NaN or inf in x still reaches the results, so a broken row stays visible.
  for (int64_t i = threadIdx.x; i < k; i += kScaleThreads) m = fmaxf(m, fabsf(row[i]));
  m = warp_max(m);
  if ((threadIdx.x & 31) == 0) warp_maxes[threadIdx.x >> 5] = m;
  __syncthreads();
  if (threadIdx.x == 0) {
    float r = warp_maxes[0];
    for (int i = 1; i < kScaleThreads / 32; ++i) r = fmaxf(r, warp_maxes[i]);
    scales[blockIdx.x] = f16_row_scale(r);
  }
}

template <GgmlType T>
__global__ void __launch_bounds__(kThreads)
    gemm_kernel(const uint8_t* __restrict__ w, int64_t rows, int64_t k, const float* __restrict__ x, int n,
                float* __restrict__ y, const float* __restrict__ bias, bool accumulate,
                const float* __restrict__ scales) {
  __shared__ __align__(32) half xs[kBM][kLd];       // X tile (tokens, k)
  __shared__ __align__(32) half ws[kBN][kLd];       // W tile (rows, k), read as col-major (k, rows)
  __shared__ __align__(32) float cs[kBM][kBN + 4];  // the block's Y tile before the epilogue

  const int tid = threadIdx.x, warp = tid >> 5;
  const int64_t m0 = static_cast<int64_t>(blockIdx.y) * kBM;  // first token
  const int64_t n0 = static_cast<int64_t>(blockIdx.x) * kBN;  // first weight row
  const int64_t rb = row_bytes<T>(k);
  const int wm = (warp >> 1) * 32, wn = (warp & 1) * 32;

  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

  for (int64_t k0 = 0; k0 < k; k0 += kBK) {
    // X tile: thread t converts 16 consecutive floats of token t/2 (4 x 16-byte loads).
    {
      const int r = tid >> 1, c = (tid & 1) * 16;
      const int64_t m = m0 + r;
      const float inv = m < n ? 1.0f / scales[m] : 1.0f;  // exact: the scale is a power of two
#pragma unroll
      for (int v = 0; v < 4; ++v) {
        float4 f = make_float4(0.f, 0.f, 0.f, 0.f);
        if (m < n) f = __ldg(reinterpret_cast<const float4*>(x + m * k + k0 + c + 4 * v));
        f.x *= inv, f.y *= inv, f.z *= inv, f.w *= inv;
        *reinterpret_cast<__half2*>(&xs[r][c + 4 * v]) = __floats2half2_rn(f.x, f.y);
        *reinterpret_cast<__half2*>(&xs[r][c + 4 * v + 2]) = __floats2half2_rn(f.z, f.w);
      }
    }
    // W tile: 64 rows x 4 chunks of 8 elements; each thread decodes two chunks.
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const int id = tid + i * kThreads, r = id >> 2, part = id & 3;
      const int64_t row = n0 + r;
      float v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      if (row < rows) decode8<T>(w + row * rb, k0 / 8 + part, v);
      __half2* dst = reinterpret_cast<__half2*>(&ws[r][part * 8]);
#pragma unroll
      for (int e = 0; e < 4; ++e) dst[e] = __floats2half2_rn(v[2 * e], v[2 * e + 1]);
    }
    __syncthreads();

#pragma unroll
    for (int kk = 0; kk < kBK; kk += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, half, wmma::row_major> a[2];
      wmma::fragment<wmma::matrix_b, 16, 16, 16, half, wmma::col_major> b[2];
#pragma unroll
      for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(a[i], &xs[wm + 16 * i][kk], kLd);
#pragma unroll
      for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(b[j], &ws[wn + 16 * j][kk], kLd);
#pragma unroll
      for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }

#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j)
      wmma::store_matrix_sync(&cs[wm + 16 * i][wn + 16 * j], acc[i][j], kBN + 4, wmma::mem_row_major);
  __syncthreads();

  // Epilogue: consecutive threads write consecutive rows of one token (coalesced), adding the
  // bias and, for the residual stream, the value already in Y.
  for (int idx = tid; idx < kBM * kBN; idx += kThreads) {
    const int r = idx / kBN, c = idx % kBN;
    const int64_t m = m0 + r, row = n0 + c;
    if (m >= n || row >= rows) continue;
    float v = cs[r][c] * scales[m] + (bias ? bias[row] : 0.0f);
    float* dst = y + m * rows + row;
    if (accumulate) v += *dst;
    *dst = v;
  }
}

// The per-row scales, in a buffer of the calling thread: each eval runs on one thread, and
// every launch of that thread is ordered on the one stream, so a later GEMM cannot overwrite
// scales an earlier one still reads. Before growing it, the stream is drained so that no queued
// GEMM still reads the old buffer.
float* row_scales(int n) {
  thread_local DeviceBuffer buf;
  if (buf.size() < static_cast<size_t>(n) * sizeof(float)) {
    synchronize();
    buf = DeviceBuffer(static_cast<size_t>(n) * sizeof(float));
  }
  return buf.as<float>();
}

template <GgmlType T>
void launch_gemm(const void* w, int64_t rows, int64_t k, const float* x, int n, float* y, const float* bias,
                 bool accumulate) {
  float* scales = row_scales(n);
  row_scale_kernel<<<n, kScaleThreads, 0, stream()>>>(x, k, scales);
  check_launch("gemm row-scale kernel");
  const dim3 grid(ceil_div(rows, kBN), ceil_div(n, kBM)), block(kThreads);
  gemm_kernel<T>
      <<<grid, block, 0, stream()>>>(static_cast<const uint8_t*>(w), rows, k, x, n, y, bias, accumulate, scales);
  check_launch("gemm kernel");
}

}  // namespace

void gemm(GgmlType wtype, const void* d_w, int64_t rows, int64_t k, const float* d_x, int n, float* d_y,
          const float* d_bias, bool accumulate) {
  if (n <= 0 || rows <= 0) return;
  if (k % kBK != 0) throw std::runtime_error("CUDA gemm: k = " + std::to_string(k) + " is not a multiple of 32");
  QWEN_CUDA_DISPATCH_TYPE(wtype, (launch_gemm<T_>(d_w, rows, k, d_x, n, d_y, d_bias, accumulate)));
}

}  // namespace cuda
}  // namespace qwen
