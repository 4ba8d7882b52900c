// GGML tensor type ids and block layouts, exactly as GGUF files store them. Every block struct is
// defined here once, with a static_assert on its size, so that the CPU kernels, the CUDA kernels and
// the quantizer agree byte for byte with files written by llama.cpp.
#pragma once
#include <cstdint>

namespace qwen {

// Laid out by hand: GGML's type ids, packed as a table; one per line would hide the gaps.
// clang-format off
enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22,
  IQ4_XS = 23, I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
  TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39, NVFP4 = 40, Q1_0 = 41, Q2_0 = 42,
};
// clang-format on
// Ids 4, 5 and 31-33, 36-38 were retired by GGML; they and ids at or above this limit are unknown.
// Only F32, F16, BF16, the legacy Q4_0 … Q8_1 and the K-quants Q2_K … Q8_K have kernels here; the
// other ids are known (so errors can name them) but marked unsupported in the traits table.
constexpr uint32_t kGgmlTypeIdLimit = 43;

using fp16_t = uint16_t;  // IEEE half, stored raw
using bf16_t = uint16_t;  // bfloat16, stored raw

constexpr int QK4_0 = 32, QK4_1 = 32, QK5_0 = 32, QK5_1 = 32, QK8_0 = 32, QK8_1 = 32;
constexpr int QK_K = 256;  // super-block size of the K-quants
constexpr int K_SCALE_SIZE = 12;

// x = d * (q - 8); element j in the low nibble of qs[j], element j+16 in the high nibble.
struct block_q4_0 {
  fp16_t d;
  uint8_t qs[QK4_0 / 2];
};
// x = d * q + m
struct block_q4_1 {
  fp16_t d;
  fp16_t m;
  uint8_t qs[QK4_1 / 2];
};
// x = d * (q - 16); q's fifth bit for element j is bit j of qh (little-endian uint32).
struct block_q5_0 {
  fp16_t d;
  uint8_t qh[4];
  uint8_t qs[QK5_0 / 2];
};
// x = d * q + m
struct block_q5_1 {
  fp16_t d;
  fp16_t m;
  uint8_t qh[4];
  uint8_t qs[QK5_1 / 2];
};
// x = d * q
struct block_q8_0 {
  fp16_t d;
  int8_t qs[QK8_0];
};
// x = d * q; s = d * sum(q), used by the dots of the offset formats (Q4_1, Q5_1).
struct block_q8_1 {
  fp16_t d;
  fp16_t s;
  int8_t qs[QK8_1];
};

// K-quants: 256 elements per super-block, split into sub-blocks with their own 4-8 bit scales.
struct block_q2_K {
  uint8_t scales[QK_K / 16];
  uint8_t qs[QK_K / 4];
  fp16_t d;
  fp16_t dmin;
};
struct block_q3_K {
  uint8_t hmask[QK_K / 8];
  uint8_t qs[QK_K / 4];
  uint8_t scales[12];
  fp16_t d;
};
struct block_q4_K {
  fp16_t d;
  fp16_t dmin;
  uint8_t scales[K_SCALE_SIZE];
  uint8_t qs[QK_K / 2];
};
struct block_q5_K {
  fp16_t d;
  fp16_t dmin;
  uint8_t scales[K_SCALE_SIZE];
  uint8_t qh[QK_K / 8];
  uint8_t qs[QK_K / 2];
};
struct block_q6_K {
  uint8_t ql[QK_K / 2];
  uint8_t qh[QK_K / 4];
  int8_t scales[QK_K / 16];
  fp16_t d;
};
// Activation format for the K-quant dots: bsums holds the sum of each group of 16 qs.
struct block_q8_K {
  float d;
  int8_t qs[QK_K];
  int16_t bsums[QK_K / 16];
};

static_assert(sizeof(block_q4_0) == 18, "block_q4_0 layout");
static_assert(sizeof(block_q4_1) == 20, "block_q4_1 layout");
static_assert(sizeof(block_q5_0) == 22, "block_q5_0 layout");
static_assert(sizeof(block_q5_1) == 24, "block_q5_1 layout");
static_assert(sizeof(block_q8_0) == 34, "block_q8_0 layout");
static_assert(sizeof(block_q8_1) == 36, "block_q8_1 layout");
static_assert(sizeof(block_q2_K) == 84, "block_q2_K layout");
static_assert(sizeof(block_q3_K) == 110, "block_q3_K layout");
static_assert(sizeof(block_q4_K) == 144, "block_q4_K layout");
static_assert(sizeof(block_q5_K) == 176, "block_q5_K layout");
static_assert(sizeof(block_q6_K) == 210, "block_q6_K layout");
static_assert(sizeof(block_q8_K) == 292, "block_q8_K layout");

}  // namespace qwen
