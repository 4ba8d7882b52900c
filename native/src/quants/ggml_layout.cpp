// One row per GGML type id, from GGML's type table (ggml.c type_traits). The block structs of the
// types we compute with are checked against these sizes at compile time below.
#include "quants/ggml_layout.h"

namespace qwen {

namespace {

struct Entry {
  uint32_t id;
  GgmlLayout layout;
};

constexpr Entry kEntries[] = {
    {0, {"F32", 1, 4}},         {1, {"F16", 1, 2}},         {2, {"Q4_0", 32, 18}},      {3, {"Q4_1", 32, 20}},
    {6, {"Q5_0", 32, 22}},      {7, {"Q5_1", 32, 24}},      {8, {"Q8_0", 32, 34}},      {9, {"Q8_1", 32, 36}},
    {10, {"Q2_K", 256, 84}},    {11, {"Q3_K", 256, 110}},   {12, {"Q4_K", 256, 144}},   {13, {"Q5_K", 256, 176}},
    {14, {"Q6_K", 256, 210}},   {15, {"Q8_K", 256, 292}},   {16, {"IQ2_XXS", 256, 66}}, {17, {"IQ2_XS", 256, 74}},
    {18, {"IQ3_XXS", 256, 98}}, {19, {"IQ1_S", 256, 50}},   {20, {"IQ4_NL", 32, 18}},   {21, {"IQ3_S", 256, 110}},
    {22, {"IQ2_S", 256, 82}},   {23, {"IQ4_XS", 256, 136}}, {24, {"I8", 1, 1}},         {25, {"I16", 1, 2}},
    {26, {"I32", 1, 4}},        {27, {"I64", 1, 8}},        {28, {"F64", 1, 8}},        {29, {"IQ1_M", 256, 56}},
    {30, {"BF16", 1, 2}},       {34, {"TQ1_0", 256, 54}},   {35, {"TQ2_0", 256, 66}},   {39, {"MXFP4", 32, 17}},
    {40, {"NVFP4", 64, 36}},    {41, {"Q1_0", 128, 18}},    {42, {"Q2_0", 64, 18}},
};

constexpr const GgmlLayout* find(uint32_t id) {
  for (const Entry& e : kEntries)
    if (e.id == id) return &e.layout;
  return nullptr;
}

// The block structs of ggml_types.h and the table must agree.
constexpr bool layout_is(GgmlType t, int block, size_t bytes) {
  const GgmlLayout* l = find(static_cast<uint32_t>(t));
  return l && l->block_size == block && l->type_size == bytes;
}
static_assert(layout_is(GgmlType::Q4_0, QK4_0, sizeof(block_q4_0)), "Q4_0 layout");
static_assert(layout_is(GgmlType::Q4_1, QK4_1, sizeof(block_q4_1)), "Q4_1 layout");
static_assert(layout_is(GgmlType::Q5_0, QK5_0, sizeof(block_q5_0)), "Q5_0 layout");
static_assert(layout_is(GgmlType::Q5_1, QK5_1, sizeof(block_q5_1)), "Q5_1 layout");
static_assert(layout_is(GgmlType::Q8_0, QK8_0, sizeof(block_q8_0)), "Q8_0 layout");
static_assert(layout_is(GgmlType::Q8_1, QK8_1, sizeof(block_q8_1)), "Q8_1 layout");
static_assert(layout_is(GgmlType::Q2_K, QK_K, sizeof(block_q2_K)), "Q2_K layout");
static_assert(layout_is(GgmlType::Q3_K, QK_K, sizeof(block_q3_K)), "Q3_K layout");
static_assert(layout_is(GgmlType::Q4_K, QK_K, sizeof(block_q4_K)), "Q4_K layout");
static_assert(layout_is(GgmlType::Q5_K, QK_K, sizeof(block_q5_K)), "Q5_K layout");
static_assert(layout_is(GgmlType::Q6_K, QK_K, sizeof(block_q6_K)), "Q6_K layout");
static_assert(layout_is(GgmlType::Q8_K, QK_K, sizeof(block_q8_K)), "Q8_K layout");

}  // namespace

const GgmlLayout* ggml_layout(uint32_t id) { return id < kGgmlTypeIdLimit ? find(id) : nullptr; }

}  // namespace qwen
