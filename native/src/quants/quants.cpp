// The traits table: one row per GGML type id, pointing at the scalar reference kernels and, when
// this CPU can run them, the AVX2 ones. Built once on first use.
#include "quants/quants.h"

#include <atomic>
#include <mutex>

#include "base/cpu_features.h"
#include "quants/ggml_layout.h"
#include "quants/quants_impl.h"

namespace qwen {

namespace k = kernels;

static std::atomic<bool> g_force_scalar{false};

struct Row {
  GgmlType type;
  GgmlType dot_type;
  DequantizeRowFn deq;
  QuantizeRowFn quant;
  VecDotFn dot;
  VecDotFn dot_avx2;
  VecDotMultiFn multi_avx2 = nullptr;
  VecDot2RowsMultiFn two_rows_avx2 = nullptr;
  QuantizeRowFn quant_avx2 = nullptr;  // same bytes as `quant`, faster
};

// Types the engine computes with. The others GGML defines (quants/ggml_layout.h) get rows without
// kernels, so a file using them gets "unsupported tensor type IQ2_XS" rather than "unknown type".
static const Row kRows[] = {
    {GgmlType::F32, GgmlType::F32, k::dequantize_row_f32, k::quantize_row_f32, k::vec_dot_f32, k::vec_dot_f32_avx2},
    {GgmlType::F16, GgmlType::F32, k::dequantize_row_f16, k::quantize_row_f16, k::vec_dot_f16, k::vec_dot_f16_avx2},
    {GgmlType::BF16, GgmlType::F32, k::dequantize_row_bf16, k::quantize_row_bf16, k::vec_dot_bf16,
     k::vec_dot_bf16_avx2},
    {GgmlType::Q4_0, GgmlType::Q8_0, k::dequantize_row_q4_0, k::quantize_row_q4_0, k::vec_dot_q4_0,
     k::vec_dot_q4_0_avx2, k::vec_dot_multi_q4_0_avx2, k::vec_dot_2rows_multi_q4_0_avx2},
    {GgmlType::Q4_1, GgmlType::Q8_1, k::dequantize_row_q4_1, k::quantize_row_q4_1, k::vec_dot_q4_1,
     k::vec_dot_q4_1_avx2},
    {GgmlType::Q5_0, GgmlType::Q8_0, k::dequantize_row_q5_0, k::quantize_row_q5_0, k::vec_dot_q5_0,
     k::vec_dot_q5_0_avx2, k::vec_dot_multi_q5_0_avx2, k::vec_dot_2rows_multi_q5_0_avx2},
    {GgmlType::Q5_1, GgmlType::Q8_1, k::dequantize_row_q5_1, k::quantize_row_q5_1, k::vec_dot_q5_1,
     k::vec_dot_q5_1_avx2},
    {GgmlType::Q8_0, GgmlType::Q8_0, k::dequantize_row_q8_0, k::quantize_row_q8_0, k::vec_dot_q8_0,
     k::vec_dot_q8_0_avx2, k::vec_dot_multi_q8_0_avx2, k::vec_dot_2rows_multi_q8_0_avx2, k::quantize_row_q8_0_avx2},
    {GgmlType::Q8_1, GgmlType::Q8_1, k::dequantize_row_q8_1, k::quantize_row_q8_1, nullptr, nullptr},
    {GgmlType::Q2_K, GgmlType::Q8_K, k::dequantize_row_q2_K, k::quantize_row_q2_K, k::vec_dot_q2_K,
     k::vec_dot_q2_K_avx2},
    {GgmlType::Q3_K, GgmlType::Q8_K, k::dequantize_row_q3_K, k::quantize_row_q3_K, k::vec_dot_q3_K,
     k::vec_dot_q3_K_avx2},
    {GgmlType::Q4_K, GgmlType::Q8_K, k::dequantize_row_q4_K, k::quantize_row_q4_K, k::vec_dot_q4_K,
     k::vec_dot_q4_K_avx2, k::vec_dot_multi_q4_K_avx2},
    {GgmlType::Q5_K, GgmlType::Q8_K, k::dequantize_row_q5_K, k::quantize_row_q5_K, k::vec_dot_q5_K,
     k::vec_dot_q5_K_avx2, k::vec_dot_multi_q5_K_avx2},
    {GgmlType::Q6_K, GgmlType::Q8_K, k::dequantize_row_q6_K, k::quantize_row_q6_K, k::vec_dot_q6_K,
     k::vec_dot_q6_K_avx2, k::vec_dot_multi_q6_K_avx2},
    {GgmlType::Q8_K, GgmlType::Q8_K, k::dequantize_row_q8_K, k::quantize_row_q8_K, nullptr, nullptr, nullptr, nullptr,
     k::quantize_row_q8_K_avx2},
};

static TypeTraits g_traits[kGgmlTypeIdLimit];
static bool g_known[kGgmlTypeIdLimit];
static std::once_flag g_once;

static void build_table() {
  const bool avx2 = cpu_features().use_avx2() && !g_force_scalar.load();
  for (const Row& r : kRows) {
    const uint32_t id = static_cast<uint32_t>(r.type);
    const GgmlLayout& l = *ggml_layout(id);
    TypeTraits& t = g_traits[id];
    t.name = l.name;
    t.block_size = l.block_size;
    t.type_size = l.type_size;
    t.supported = r.dot != nullptr;
    t.vec_dot_type = r.dot_type;
    t.dequantize_row = r.deq;
    t.quantize_row = (avx2 && r.quant_avx2) ? r.quant_avx2 : r.quant;
    t.vec_dot_scalar = r.dot;
    t.vec_dot = (avx2 && r.dot_avx2) ? r.dot_avx2 : r.dot;
    t.vec_dot_multi = avx2 ? r.multi_avx2 : nullptr;
    t.vec_dot_2rows_multi = avx2 ? r.two_rows_avx2 : nullptr;
    g_known[id] = true;
  }
  // The rest of GGML's types: known by name and size, without kernels. They never change, so a
  // rebuild (quants_force_scalar) leaves them alone.
  for (uint32_t id = 0; id < kGgmlTypeIdLimit; ++id) {
    const GgmlLayout* l = ggml_layout(id);
    if (g_known[id] || !l) continue;
    TypeTraits& t = g_traits[id];
    t = TypeTraits{};
    t.name = l->name;
    t.block_size = l->block_size;
    t.type_size = l->type_size;
    t.supported = false;
    g_known[id] = true;
  }
}

const TypeTraits* type_traits(uint32_t id) {
  std::call_once(g_once, build_table);
  if (id >= kGgmlTypeIdLimit || !g_known[id]) return nullptr;
  return &g_traits[id];
}

size_t row_size(GgmlType t, int64_t n) {
  const TypeTraits& tr = traits(t);
  return (size_t)(n / tr.block_size) * tr.type_size;
}

void vec_dot_multi(const TypeTraits& t, int n, const void* w, const void* x, size_t x_stride, int n_x, float* out) {
  if (t.vec_dot_multi) {
    t.vec_dot_multi(n, w, x, x_stride, n_x, out);
    return;
  }
  for (int i = 0; i < n_x; ++i) out[i] = t.vec_dot(n, w, static_cast<const uint8_t*>(x) + x_stride * i);
}

void quants_force_scalar(bool on) {
  std::call_once(g_once, build_table);
  g_force_scalar.store(on);
  build_table();
}

bool quants_scalar_forced() { return g_force_scalar.load(); }

}  // namespace qwen
