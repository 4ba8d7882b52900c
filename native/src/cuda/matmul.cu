// Entry points that choose between the decode GEMV and the prefill GEMM, plus the embedding
// row lookup. Shapes: W (rows, k) stored as `wtype`, X (n, k) f32, Y (n, rows) f32.
#include "cuda/cuda_api.h"
#include "cuda/dequant_blocks.cuh"

namespace qwen {
namespace cuda {

namespace {

// Up to this many tokens the GEMV (weights read once, f32 math) beats a mostly empty 64-token
// GEMM tile; beyond it the tensor cores win.
constexpr int kGemvMaxCols = 4;

int block_elems(GgmlType t) {
  int qk = 0;
  QWEN_CUDA_DISPATCH_TYPE(t, (qk = BlockInfo<T_>::qk));
  return qk;
}

// ids (n,) -> Y (n, k): one block per token, threads stride over the row's 8-element chunks.
template <GgmlType T>
__global__ void get_rows_kernel(const uint8_t* __restrict__ w, int64_t k, const int32_t* __restrict__ ids,
                                float* __restrict__ y) {
  const int64_t t = blockIdx.x;
  const uint8_t* row = w + static_cast<int64_t>(ids[t]) * row_bytes<T>(k);
  float* out = y + t * k;
  for (int64_t c = threadIdx.x; c < k / 8; c += blockDim.x) {
    float v[8];
    decode8<T>(row, c, v);
    reinterpret_cast<float4*>(out + c * 8)[0] = make_float4(v[0], v[1], v[2], v[3]);
    reinterpret_cast<float4*>(out + c * 8)[1] = make_float4(v[4], v[5], v[6], v[7]);
  }
}

template <GgmlType T> void decode_row_on_host(const uint8_t* row, int64_t k, float* out) {
  for (int64_t c = 0; c < k / 8; ++c) decode8<T>(row, c, out + c * 8);
}

void check_k(GgmlType t, int64_t k, const char* op) {
  const int qk = block_elems(t);
  const int64_t need = qk < 32 ? 32 : qk;  // the kernels walk rows in 32-element steps
  if (k <= 0 || k % need != 0)
    throw std::runtime_error(std::string("CUDA ") + op + ": row length " + std::to_string(k) +
                             " is not a multiple of " + std::to_string(need) + " for weight type id " +
                             std::to_string(static_cast<int>(t)));
}

}  // namespace

bool weight_type_supported(GgmlType t) {
  switch (t) {
    case GgmlType::F32:
    case GgmlType::F16:
    case GgmlType::BF16:
    case GgmlType::Q4_0:
    case GgmlType::Q4_1:
    case GgmlType::Q5_0:
    case GgmlType::Q5_1:
    case GgmlType::Q8_0:
    case GgmlType::Q2_K:
    case GgmlType::Q3_K:
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
    case GgmlType::Q6_K: return true;
    default: return false;
  }
}

void matmul(GgmlType wtype, const void* d_w, int64_t rows, int64_t k, const float* d_x, int n, float* d_y,
            const float* d_bias, bool accumulate) {
  check_k(wtype, k, "matmul");
  if (n <= kGemvMaxCols) gemv(wtype, d_w, rows, k, d_x, n, d_y, d_bias, accumulate);
  else gemm(wtype, d_w, rows, k, d_x, n, d_y, d_bias, accumulate);
}

void decode_row_host(GgmlType wtype, const void* row, int64_t k, float* out) {
  check_k(wtype, k, "decode_row_host");
  const uint8_t* r = static_cast<const uint8_t*>(row);
  QWEN_CUDA_DISPATCH_TYPE(wtype, decode_row_on_host<T_>(r, k, out));
}

void get_rows(GgmlType wtype, const void* d_w, int64_t rows, int64_t k, const int32_t* d_ids, int n, float* d_y) {
  if (n <= 0) return;
  check_k(wtype, k, "get_rows");
  const uint8_t* w = static_cast<const uint8_t*>(d_w);
  QWEN_CUDA_DISPATCH_TYPE(wtype, (get_rows_kernel<T_><<<n, 128, 0, stream()>>>(w, k, d_ids, d_y)));
  check_launch("get_rows kernel");
}

}  // namespace cuda
}  // namespace qwen
