#include "cpu/weight_arena.h"

#include <stdexcept>
#include <string>

namespace qwen {

namespace {
constexpr size_t kAlign = 64;
}  // namespace

void WeightArena::reserve(size_t bytes) {
  if (block_.data()) throw std::runtime_error("weight arena reserved twice");
  block_ = AnonymousMemory(bytes, /*huge_pages=*/true, "the model weights");
}

uint8_t* WeightArena::take(size_t bytes) {
  const size_t at = (used_ + kAlign - 1) / kAlign * kAlign;
  if (at + bytes > block_.size()) {
    throw std::runtime_error("weight arena overflow: " + std::to_string(at + bytes) + " bytes asked of " +
                             std::to_string(block_.size()));
  }
  used_ = at + bytes;
  return block_.data() + at;
}

}  // namespace qwen
