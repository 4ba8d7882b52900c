// Hands freed heap memory back to the operating system. Parsing a GGUF's metadata allocates the
// vocabulary as ~300k small strings; once they are freed glibc keeps the pages for reuse, and
// they stay in the process's resident memory (~30 MB for a Qwen2.5 vocabulary) unless trimmed.
#pragma once
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace qwen {

inline void trim_free_heap() {
#if defined(__GLIBC__)
  ::malloc_trim(0);
#endif
}

}  // namespace qwen
