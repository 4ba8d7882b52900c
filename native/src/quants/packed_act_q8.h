// The activation format of the packed Q4_0, Q5_0 and Q5_1 kernels (and Q8_0's gemm2): one token's
// Q8_0 blocks followed by two per-block terms those kernels need for every group they multiply,
//   [nb x block_q8_0][padding to 32 bytes][float d[nb]][int32 sum[nb]]
// where d is the block's fp16 scale as a float and sum the sum of its 32 levels. They are computed
// once per token instead of once per group of 8 weight rows, where they were a measurable share of
// a Q4_0 decode matmul (bench/results/kernel-design-notes.md).
#pragma once
#include <cstddef>
#include <cstdint>

#include "quants/ggml_types.h"

namespace qwen::kernels {

inline size_t q8_terms_offset(int64_t n) { return ((size_t)(n / QK8_0) * sizeof(block_q8_0) + 31) / 32 * 32; }
inline size_t act_row_bytes_q8_0_terms(int64_t n) { return q8_terms_offset(n) + (size_t)(n / QK8_0) * 8; }
inline const float* q8_terms_d(const void* act, int64_t n) {
  return reinterpret_cast<const float*>(static_cast<const uint8_t*>(act) + q8_terms_offset(n));
}
inline const int32_t* q8_terms_sum(const void* act, int64_t n) {
  return reinterpret_cast<const int32_t*>(static_cast<const uint8_t*>(act) + q8_terms_offset(n) +
                                          (size_t)(n / QK8_0) * 4);
}

// Quantizes n floats exactly as quantize_row_q8_0 does and appends the terms (packed_act_q8_avx2.cpp).
void quantize_act_q8_0_terms(const float* x, void* dst, int64_t n);

}  // namespace qwen::kernels
