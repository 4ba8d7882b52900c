// Packed-format kernels behind packed_traits() (packed.cpp); see packed.h for the contract.
// Internal to quants/. All are in *_avx2.cpp files and only reached after cpu_features() said yes.
#pragma once
#include <cstddef>

namespace qwen::kernels {

#define QWEN_DECLARE_PACKED(T)                                                 \
  void pack_##T##_x8(const void* src, size_t src_row_bytes, int n, void* dst); \
  void gemv_##T##_x8(int n, const void* group, const void* x, float* out);     \
  void gemm_##T##_x8(int n, const void* group, const void* x, size_t x_stride, int n_x, float* out, size_t out_stride);
QWEN_DECLARE_PACKED(q8_0)  // packed_q8_0_avx2.cpp
QWEN_DECLARE_PACKED(q4_0)  // packed_q4_0_avx2.cpp
QWEN_DECLARE_PACKED(q5_0)  // packed_q5_0_avx2.cpp
QWEN_DECLARE_PACKED(q5_1)  // packed_q5_1_avx2.cpp
QWEN_DECLARE_PACKED(q4_K)  // packed_q4_K_avx2.cpp
QWEN_DECLARE_PACKED(q5_K)  // packed_q5_K_avx2.cpp
QWEN_DECLARE_PACKED(q6_K)  // packed_q6_K_avx2.cpp
#undef QWEN_DECLARE_PACKED

// Two groups against one activation row (PackedTraits::gemv2), where a type has it.
#define QWEN_DECLARE_PACKED_GEMV2(T) \
  void gemv2_##T##_x8(int n, const void* group_a, const void* group_b, const void* x, float* out_a, float* out_b);
QWEN_DECLARE_PACKED_GEMV2(q8_0)
QWEN_DECLARE_PACKED_GEMV2(q4_0)
QWEN_DECLARE_PACKED_GEMV2(q6_K)
QWEN_DECLARE_PACKED_GEMV2(q4_K)  // AVX-512 VNNI only: packed_q4_K_avx512.cpp
QWEN_DECLARE_PACKED_GEMV2(q5_0)  // AVX-512 VNNI only: packed_q5_0_avx512.cpp
QWEN_DECLARE_PACKED_GEMV2(q5_1)  // AVX-512 VNNI only: packed_q5_1_avx512.cpp
// AVX-512 VNNI versions of AVX2 ones above, which are compute-bound there (packed_*_avx512.cpp).
QWEN_DECLARE_PACKED_GEMV2(vnni_q8_0)
QWEN_DECLARE_PACKED_GEMV2(vnni_q4_0)
QWEN_DECLARE_PACKED_GEMV2(vnni_q6_K)
#undef QWEN_DECLARE_PACKED_GEMV2

// Two groups against n_x activation rows with AVX-512 VNNI (PackedTraits::gemm2), in *_avx512.cpp.
#define QWEN_DECLARE_PACKED_GEMM2(T)                                                                            \
  void gemm2_##T##_x8(int n, const void* group_a, const void* group_b, const void* x, size_t x_stride, int n_x, \
                      float* out, size_t out_stride);
QWEN_DECLARE_PACKED_GEMM2(q8_0)
QWEN_DECLARE_PACKED_GEMM2(q4_0)
QWEN_DECLARE_PACKED_GEMM2(q5_0)
QWEN_DECLARE_PACKED_GEMM2(q5_1)
QWEN_DECLARE_PACKED_GEMM2(q4_K)
QWEN_DECLARE_PACKED_GEMM2(q5_K)
QWEN_DECLARE_PACKED_GEMM2(q6_K)
#undef QWEN_DECLARE_PACKED_GEMM2

}  // namespace qwen::kernels
