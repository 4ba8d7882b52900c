// libFuzzer target for the GGUF parser. Build with clang (see native/cmake/fuzz.cmake or
// native/fuzz/CMakeLists.txt) and run, for example:
//   ./gguf_fuzz -max_len=8192 -runs=1000000 native/fuzz/corpus
// Each input is parsed straight from libFuzzer's buffer, which is exactly input-sized, so
// AddressSanitizer catches any read past its end. Rejection with GgufError is the expected
// outcome for most inputs; any other exception escapes and libFuzzer reports it as a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "gguf_fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const char kName[] = "fuzz-input";
  try {
    auto f = qwen::GgufFile::open_memory(kName, data, size);
    volatile uint64_t sink = qwen_fuzz::exercise(*f);
    (void)sink;
  } catch (const qwen::GgufError& e) {
    // Every rejection must name its input; anything else is a bug worth a crash report.
    if (std::strncmp(e.what(), kName, sizeof kName - 1) != 0) std::abort();
  }
  return 0;
}
