// A block of zero-filled memory straight from the kernel (an anonymous private mapping), for the
// two big allocations of the CPU backend: the weight arena and the KV cache.
//
// Why not std::vector: assigning zeros writes every page, so a KV cache sized for an 8K context
// is resident in full from the moment the model loads (229 MiB for a 1.5B model) although a
// completion uses a few hundred tokens of it. A fresh mapping reads as zeros and a page becomes
// resident only when first written, so memory follows the tokens actually cached.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace qwen {

class AnonymousMemory {
 public:
  AnonymousMemory() = default;
  // Maps `bytes` (0 maps nothing). With huge_pages the block starts on a 2 MiB boundary, its size
  // is rounded up to 2 MiB and transparent huge pages are asked for (advice: 4 KiB pages where
  // they are off). Throws std::runtime_error "cannot allocate N MiB for <what>: <reason>".
  AnonymousMemory(size_t bytes, bool huge_pages, const std::string& what);
  ~AnonymousMemory();
  AnonymousMemory(AnonymousMemory&& other) noexcept;
  AnonymousMemory& operator=(AnonymousMemory&& other) noexcept;
  AnonymousMemory(const AnonymousMemory&) = delete;
  AnonymousMemory& operator=(const AnonymousMemory&) = delete;

  uint8_t* data() const { return base_; }
  size_t size() const { return size_; }
  // Whether the kernel accepted the huge-page advice.
  bool huge_pages() const { return huge_; }

 private:
  uint8_t* base_ = nullptr;
  size_t size_ = 0;
  bool huge_ = false;
};

}  // namespace qwen
