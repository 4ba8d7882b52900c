// The traits table: one row per GGML type id, pointing at the scalar reference kernels and, when
// this CPU can run them, the AVX2 ones. Built once on first use.
#include "quants/quants.h"

#include <atomic>
#include <mutex>

#include "base/cpu_features.h"
#include "quants/quants_impl.h"

namespace qwen {

namespace k = kernels;

static std::atomic<bool> g_force_scalar{false};

struct Row {
  GgmlType type;
  const char* name;
  int block;
  size_t size;
  GgmlType dot_type;
  DequantizeRowFn deq;
  QuantizeRowFn quant;
  VecDotFn dot;
  VecDotFn dot_avx2;
  VecDotMultiFn multi_avx2 = nullptr;
  VecDot2RowsMultiFn two_rows_avx2 = nullptr;
  QuantizeRowFn quant_avx2 = nullptr;  // same bytes as `quant`, faster
};

// Types the engine computes with. Others known to GGML are listed below without kernels, so a file
// using them gets "unsupported tensor type IQ2_XS" rather than "unknown type".
static const Row kRows[] = {
    {GgmlType::F32, "F32", 1, 4, GgmlType::F32, k::dequantize_row_f32, k::quantize_row_f32, k::vec_dot_f32, k::vec_dot_f32_avx2},
    {GgmlType::F16, "F16", 1, 2, GgmlType::F32, k::dequantize_row_f16, k::quantize_row_f16, k::vec_dot_f16, k::vec_dot_f16_avx2},
    {GgmlType::BF16, "BF16", 1, 2, GgmlType::F32, k::dequantize_row_bf16, k::quantize_row_bf16, k::vec_dot_bf16, k::vec_dot_bf16_avx2},
    {GgmlType::Q4_0, "Q4_0", 32, 18, GgmlType::Q8_0, k::dequantize_row_q4_0, k::quantize_row_q4_0, k::vec_dot_q4_0, k::vec_dot_q4_0_avx2, k::vec_dot_multi_q4_0_avx2, k::vec_dot_2rows_multi_q4_0_avx2},
    {GgmlType::Q4_1, "Q4_1", 32, 20, GgmlType::Q8_1, k::dequantize_row_q4_1, k::quantize_row_q4_1, k::vec_dot_q4_1, k::vec_dot_q4_1_avx2},
    {GgmlType::Q5_0, "Q5_0", 32, 22, GgmlType::Q8_0, k::dequantize_row_q5_0, k::quantize_row_q5_0, k::vec_dot_q5_0, k::vec_dot_q5_0_avx2, k::vec_dot_multi_q5_0_avx2, k::vec_dot_2rows_multi_q5_0_avx2},
    {GgmlType::Q5_1, "Q5_1", 32, 24, GgmlType::Q8_1, k::dequantize_row_q5_1, k::quantize_row_q5_1, k::vec_dot_q5_1, k::vec_dot_q5_1_avx2},
    {GgmlType::Q8_0, "Q8_0", 32, 34, GgmlType::Q8_0, k::dequantize_row_q8_0, k::quantize_row_q8_0, k::vec_dot_q8_0, k::vec_dot_q8_0_avx2, k::vec_dot_multi_q8_0_avx2, k::vec_dot_2rows_multi_q8_0_avx2, k::quantize_row_q8_0_avx2},
    {GgmlType::Q8_1, "Q8_1", 32, 36, GgmlType::Q8_1, k::dequantize_row_q8_1, k::quantize_row_q8_1, nullptr, nullptr},
    {GgmlType::Q2_K, "Q2_K", 256, 84, GgmlType::Q8_K, k::dequantize_row_q2_K, k::quantize_row_q2_K, k::vec_dot_q2_K, k::vec_dot_q2_K_avx2},
    {GgmlType::Q3_K, "Q3_K", 256, 110, GgmlType::Q8_K, k::dequantize_row_q3_K, k::quantize_row_q3_K, k::vec_dot_q3_K, k::vec_dot_q3_K_avx2},
    {GgmlType::Q4_K, "Q4_K", 256, 144, GgmlType::Q8_K, k::dequantize_row_q4_K, k::quantize_row_q4_K, k::vec_dot_q4_K, k::vec_dot_q4_K_avx2, k::vec_dot_multi_q4_K_avx2},
    {GgmlType::Q5_K, "Q5_K", 256, 176, GgmlType::Q8_K, k::dequantize_row_q5_K, k::quantize_row_q5_K, k::vec_dot_q5_K, k::vec_dot_q5_K_avx2, k::vec_dot_multi_q5_K_avx2},
    {GgmlType::Q6_K, "Q6_K", 256, 210, GgmlType::Q8_K, k::dequantize_row_q6_K, k::quantize_row_q6_K, k::vec_dot_q6_K, k::vec_dot_q6_K_avx2, k::vec_dot_multi_q6_K_avx2},
    {GgmlType::Q8_K, "Q8_K", 256, 292, GgmlType::Q8_K, k::dequantize_row_q8_K, k::quantize_row_q8_K, nullptr, nullptr, nullptr, nullptr, k::quantize_row_q8_K_avx2},
};

struct Unsupported { uint32_t id; const char* name; int block; size_t size; };
static const Unsupported kUnsupported[] = {
    {16, "IQ2_XXS", 256, 66}, {17, "IQ2_XS", 256, 74}, {18, "IQ3_XXS", 256, 98}, {19, "IQ1_S", 256, 50},
    {20, "IQ4_NL", 32, 18},   {21, "IQ3_S", 256, 110}, {22, "IQ2_S", 256, 82},   {23, "IQ4_XS", 256, 136},
    {24, "I8", 1, 1},         {25, "I16", 1, 2},       {26, "I32", 1, 4},        {27, "I64", 1, 8},
    {28, "F64", 1, 8},        {29, "IQ1_M", 256, 56},  {34, "TQ1_0", 256, 54},   {35, "TQ2_0", 256, 66},
    {39, "MXFP4", 32, 17},    {40, "NVFP4", 64, 36},   {41, "Q1_0", 128, 18},    {42, "Q2_0", 64, 18},
};

static TypeTraits g_traits[kGgmlTypeIdLimit];
static bool g_known[kGgmlTypeIdLimit];
static std::once_flag g_once;

static void build_table() {
  const bool avx2 = cpu_features().use_avx2() && !g_force_scalar.load();
  for (const Row& r : kRows) {
    TypeTraits& t = g_traits[static_cast<uint32_t>(r.type)];
    t.name = r.name;
    t.block_size = r.block;
    t.type_size = r.size;
    t.supported = r.dot != nullptr;
    t.vec_dot_type = r.dot_type;
    t.dequantize_row = r.deq;
    t.quantize_row = (avx2 && r.quant_avx2) ? r.quant_avx2 : r.quant;
    t.vec_dot_scalar = r.dot;
    t.vec_dot = (avx2 && r.dot_avx2) ? r.dot_avx2 : r.dot;
    t.vec_dot_multi = avx2 ? r.multi_avx2 : nullptr;
    t.vec_dot_2rows_multi = avx2 ? r.two_rows_avx2 : nullptr;
    g_known[static_cast<uint32_t>(r.type)] = true;
  }
  for (const Unsupported& u : kUnsupported) {
    TypeTraits& t = g_traits[u.id];
    t = TypeTraits{};
    t.name = u.name;
    t.block_size = u.block;
    t.type_size = u.size;
    t.supported = false;
    g_known[u.id] = true;
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
