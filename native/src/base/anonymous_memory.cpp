#include "base/anonymous_memory.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace qwen {

namespace {
constexpr size_t kHugePage = size_t(2) << 20;
std::string mib(size_t bytes) { return std::to_string((bytes + (1 << 20) - 1) >> 20) + " MiB"; }
}  // namespace

AnonymousMemory::AnonymousMemory(size_t bytes, bool huge_pages, const std::string& what) {
  if (bytes == 0) return;
  const size_t size = huge_pages ? (bytes + kHugePage - 1) / kHugePage * kHugePage : bytes;
  // For huge pages, over-map by one huge page so the block can start on a 2 MiB boundary, then
  // give the unaligned head and tail back. MAP_NORESERVE: nothing is committed until touched.
  const size_t span = huge_pages ? size + kHugePage : size;
  void* raw = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) {
    throw std::runtime_error("cannot allocate " + mib(bytes) + " for " + what + ": " + std::strerror(errno));
  }
  uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  if (huge_pages) {
    const uintptr_t aligned = (start + kHugePage - 1) & ~(uintptr_t)(kHugePage - 1);
    if (aligned > start) ::munmap(raw, aligned - start);
    const size_t tail = start + span - (aligned + size);
    if (tail) ::munmap(reinterpret_cast<void*>(aligned + size), tail);
    start = aligned;
  }
  base_ = reinterpret_cast<uint8_t*>(start);
  size_ = size;
#ifdef MADV_HUGEPAGE
  if (huge_pages) huge_ = ::madvise(base_, size_, MADV_HUGEPAGE) == 0;
#endif
}

AnonymousMemory::~AnonymousMemory() {
  if (base_) ::munmap(base_, size_);
}

AnonymousMemory::AnonymousMemory(AnonymousMemory&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)), size_(std::exchange(other.size_, 0)), huge_(other.huge_) {}

AnonymousMemory& AnonymousMemory::operator=(AnonymousMemory&& other) noexcept {
  if (this != &other) {
    if (base_) ::munmap(base_, size_);
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
    huge_ = other.huge_;
  }
  return *this;
}

}  // namespace qwen
