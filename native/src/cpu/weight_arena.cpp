#include "cpu/weight_arena.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace qwen {

namespace {
constexpr size_t kHugePage = size_t(2) << 20;
constexpr size_t kAlign = 64;
std::string mib(size_t bytes) { return std::to_string((bytes + (1 << 20) - 1) >> 20) + " MiB"; }
}  // namespace

WeightArena::~WeightArena() {
  if (base_) ::munmap(base_, size_);
}

void WeightArena::reserve(size_t bytes) {
  if (base_) throw std::runtime_error("weight arena reserved twice");
  size_ = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  if (size_ == 0) return;
  // Over-map by one huge page so the block can start on a 2 MiB boundary (huge pages need it),
  // then give the unaligned head and tail back.
  const size_t span = size_ + kHugePage;
  void* raw = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) {
    const int err = errno;
    size_ = 0;
    throw std::runtime_error("cannot allocate " + mib(bytes) + " for the model weights: " + std::strerror(err));
  }
  const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kHugePage - 1) & ~(uintptr_t)(kHugePage - 1);
  if (aligned > start) ::munmap(raw, aligned - start);
  const size_t tail = start + span - (aligned + size_);
  if (tail) ::munmap(reinterpret_cast<void*>(aligned + size_), tail);
  base_ = reinterpret_cast<uint8_t*>(aligned);
#ifdef MADV_HUGEPAGE
  // Advice only: where transparent huge pages are off this is refused and 4 KiB pages are used.
  huge_ = ::madvise(base_, size_, MADV_HUGEPAGE) == 0;
#endif
}

uint8_t* WeightArena::take(size_t bytes) {
  const size_t at = (used_ + kAlign - 1) / kAlign * kAlign;
  if (at + bytes > size_) {
    throw std::runtime_error("weight arena overflow: " + std::to_string(at + bytes) + " bytes asked of " +
                             std::to_string(size_));
  }
  used_ = at + bytes;
  return base_ + at;
}

}  // namespace qwen
