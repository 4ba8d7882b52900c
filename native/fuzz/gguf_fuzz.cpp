// libFuzzer target for the GGUF parser and the Qwen2 weight loader. Build with clang (see
// native/cmake/fuzz.cmake or native/fuzz/CMakeLists.txt) and run, for example:
//   ./gguf_fuzz -max_len=32768 -runs=1000000 native/fuzz/corpus
// Each input is parsed straight from libFuzzer's buffer, which is exactly input-sized, so
// AddressSanitizer catches any read past its end; a parsed file then goes through the loader's
// checks (in memory; the mutation loop gguf_mutate.cpp also runs load_model and a forward pass).
// Rejection naming the input is the expected outcome for most inputs; anything else aborts, and
// libFuzzer reports it as a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "gguf_fuzz_common.h"
#include "model/qwen2_weights.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const char kName[] = "fuzz-input";
  auto names_input = [](const char* what) { return std::strncmp(what, kName, sizeof kName - 1) == 0; };
  std::unique_ptr<qwen::GgufFile> f;
  try {
    f = qwen::GgufFile::open_memory(kName, data, size);
    volatile uint64_t sink = qwen_fuzz::exercise(*f);
    (void)sink;
  } catch (const qwen::GgufError& e) {
    if (!names_input(e.what())) std::abort();
    return 0;
  }
  try {
    qwen::Qwen2Weights w = qwen::load_qwen2_weights(*f);
    (void)w;
  } catch (const std::runtime_error& e) {
    if (!names_input(e.what())) std::abort();
  }
  return 0;
}
