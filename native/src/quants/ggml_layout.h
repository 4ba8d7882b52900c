// The block layout of every GGML type id: its name, elements per block and bytes per block. This
// is all a GGUF reader needs to size and name tensors, so gguf/ reads it here instead of the
// kernel dispatch table (quants.h), which builds its rows on top of this one.
#pragma once
#include <cstddef>
#include <cstdint>

#include "quants/ggml_types.h"

namespace qwen {

struct GgmlLayout {
  const char* name;  // "Q4_0", as GGML names it
  int block_size;    // elements per block (1 for F32/F16/BF16 and the integer types)
  size_t type_size;  // bytes per block
};

// The layout for a type id as stored in a GGUF file; nullptr for ids GGML does not define
// (retired ids and those at or above kGgmlTypeIdLimit).
const GgmlLayout* ggml_layout(uint32_t ggml_type_id);

}  // namespace qwen
