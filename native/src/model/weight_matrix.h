// A weight matrix as the backends read it: a view of rows in one GGML block format, in the file's
// mapping or wherever a backend moved it (the CPU's weight arena, repacked into interleaved groups
// of quants/packed.h where that CPU has them). The weight table (qwen2_weights.h) is made of these.
#pragma once
#include <cstddef>
#include <cstdint>

#include "quants/ggml_types.h"
#include "quants/packed.h"

namespace qwen {

struct WeightMatrix {
  GgmlType type = GgmlType::F32;
  const uint8_t* data = nullptr;
  int64_t rows = 0;  // output features
  int64_t cols = 0;  // input features (k), the contiguous dimension
  size_t row_bytes = 0;
  // Non-null when data holds groups of kPackRows interleaved rows (rows % kPackRows == 0) in this
  // packed form instead of GGML rows; row() is then meaningless and group() applies.
  const PackedTraits* packed = nullptr;
  const uint8_t* row(int64_t r) const { return data + r * row_bytes; }
  const uint8_t* group(int64_t g) const { return data + g * kPackRows * row_bytes; }
};

}  // namespace qwen
