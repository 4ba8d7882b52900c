// One anonymous memory block that holds every weight matrix the CPU backend multiplies with,
// copied (and repacked, see quants/packed.h) out of the GGUF mapping at load time.
//
// Why not compute straight from the file mapping, as the loader did before: decode streams all
// the weights from DRAM once per token, and two threads read them measurably faster from 2 MiB
// transparent huge pages than from 4 KiB pages (a page walk per 4 KiB otherwise; figures in
// bench/results/kernel-design-notes.md). An anonymous block can ask for huge pages (madvise) and
// can hold the packed layout; it costs the same resident memory as a fully touched mapping, since
// the file's pages are released from this process as each tensor is copied (GgufFile::release).
#pragma once
#include <cstddef>
#include <cstdint>

#include "base/anonymous_memory.h"

namespace qwen {

class WeightArena {
 public:
  // Reserves `bytes` (rounded up to 2 MiB, asking for huge pages) at once; throws
  // std::runtime_error naming the size when the system refuses. Call once, before take().
  void reserve(size_t bytes);
  // The next `bytes` of the block, 64-byte aligned. Throws if the reservation is exceeded.
  uint8_t* take(size_t bytes);

  size_t capacity() const { return block_.size(); }
  size_t used() const { return used_; }
  // Whether the kernel granted huge pages for the block (for `qwen-local info`-style diagnostics).
  bool huge_pages_requested() const { return block_.huge_pages(); }

 private:
  AnonymousMemory block_;
  size_t used_ = 0;
};

}  // namespace qwen
