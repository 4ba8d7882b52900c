#include "quants/packed.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "base/cpu_features.h"
#include "quants/packed_act_q8.h"
#include "quants/packed_impl.h"
#include "quants/quants.h"

namespace qwen {

namespace {

#define QWEN_PACKED_ENTRY(TYPE, T) \
  GgmlType::TYPE, kernels::pack_##T##_x8, kernels::gemv_##T##_x8, kernels::gemm_##T##_x8
// Q4_0, Q5_0 and Q5_1 read Q8_0 activations with per-block terms appended (packed_act_q8.h); for Q5_1
// that replaces its vec_dot_type Q8_1, whose block sums the terms carry.
constexpr PackedTraits kPacked[] = {
    {QWEN_PACKED_ENTRY(Q8_0, q8_0), nullptr, nullptr, kernels::gemv2_q8_0_x8},
    {QWEN_PACKED_ENTRY(Q4_0, q4_0), kernels::quantize_act_q8_0_terms, kernels::act_row_bytes_q8_0_terms,
     kernels::gemv2_q4_0_x8},
    {QWEN_PACKED_ENTRY(Q5_0, q5_0), kernels::quantize_act_q8_0_terms, kernels::act_row_bytes_q8_0_terms},
    {QWEN_PACKED_ENTRY(Q5_1, q5_1), kernels::quantize_act_q8_0_terms, kernels::act_row_bytes_q8_0_terms},
    {QWEN_PACKED_ENTRY(Q4_K, q4_K)},
    {QWEN_PACKED_ENTRY(Q5_K, q5_K)},
    {QWEN_PACKED_ENTRY(Q6_K, q6_K), nullptr, nullptr, kernels::gemv2_q6_K_x8},
};
// The same forms on CPUs with AVX-512 VNNI: batches also get the group-pair kernels, and decode
// a VNNI two-group gemv (the AVX2 ones are compute-bound there; Q8_0's only a little, and Q5_K
// has none yet). Q8_0's activations there carry the Q4_0 terms too (gemm2 needs each block's
// level sum; the AVX2 gemv and gemm read the leading Q8_0 blocks as before).
constexpr PackedTraits kPackedVnni[] = {
    {QWEN_PACKED_ENTRY(Q8_0, q8_0), kernels::quantize_act_q8_0_terms, kernels::act_row_bytes_q8_0_terms,
     kernels::gemv2_vnni_q8_0_x8, kernels::gemm2_q8_0_x8},
    {QWEN_PACKED_ENTRY(Q4_0, q4_0), kernels::quantize_act_q8_0_terms, kernels::act_row_bytes_q8_0_terms,
     kernels::gemv2_vnni_q4_0_x8, kernels::gemm2_q4_0_x8},
    {QWEN_PACKED_ENTRY(Q5_0, q5_0), kernels::quantize_act_q8_0_terms, kernels::act_row_bytes_q8_0_terms,
     kernels::gemv2_q5_0_x8, kernels::gemm2_q5_0_x8},
    {QWEN_PACKED_ENTRY(Q5_1, q5_1), kernels::quantize_act_q8_0_terms, kernels::act_row_bytes_q8_0_terms,
     kernels::gemv2_q5_1_x8, kernels::gemm2_q5_1_x8},
    {QWEN_PACKED_ENTRY(Q4_K, q4_K), nullptr, nullptr, kernels::gemv2_q4_K_x8, kernels::gemm2_q4_K_x8},
    {QWEN_PACKED_ENTRY(Q5_K, q5_K), nullptr, nullptr, nullptr, kernels::gemm2_q5_K_x8},
    {QWEN_PACKED_ENTRY(Q6_K, q6_K), nullptr, nullptr, kernels::gemv2_vnni_q6_K_x8, kernels::gemm2_q6_K_x8},
};
#undef QWEN_PACKED_ENTRY

bool env_disabled() {
  const char* v = std::getenv("QWEN_NO_PACK");
  return v && *v && std::strcmp(v, "0") != 0;
}

std::atomic<bool> g_disabled{env_disabled()};

}  // namespace

const PackedTraits* packed_traits(GgmlType t) {
  // The packed kernels are AVX2 only; the scalar path (no AVX2, or forced for tests) keeps GGML layout.
  if (g_disabled.load(std::memory_order_relaxed) || !cpu_features().use_avx2() || quants_scalar_forced())
    return nullptr;
  if (cpu_features().use_avx512_vnni()) {
    for (const PackedTraits& p : kPackedVnni)
      if (p.type == t) return &p;
    return nullptr;
  }
  for (const PackedTraits& p : kPacked)
    if (p.type == t) return &p;
  return nullptr;
}

void packed_disable(bool off) { g_disabled.store(off); }

void pack_groups(const PackedTraits& p, const uint8_t* src, size_t row_bytes, int n, int64_t g0, int64_t g1,
                 uint8_t* dst) {
  const size_t group_bytes = kPackRows * row_bytes;
  for (int64_t g = g0; g < g1; ++g) p.pack(src + g * group_bytes, row_bytes, n, dst + g * group_bytes);
}

}  // namespace qwen
