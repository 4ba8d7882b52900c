// Runs the registered native tests: `qwen_native_tests [--list] [substring]`. Prints `ok NAME`
// or `FAIL NAME: why` per test and exits non-zero when any failed.
#include <cstring>
#include <exception>

#include "test_framework.h"

int main(int argc, char** argv) {
  bool list = false;
  const char* filter = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--list") == 0) list = true;
    else filter = argv[i];
  }
  int failed = 0, ran = 0;
  for (const auto& t : qwen_test::registry()) {
    if (filter && !std::strstr(t.name, filter)) continue;
    if (list) {
      std::printf("%s\n", t.name);
      continue;
    }
    ++ran;
    try {
      t.fn();
      std::printf("ok %s\n", t.name);
    } catch (const std::exception& e) {
      ++failed;
      std::printf("FAIL %s: %s\n", t.name, e.what());
    } catch (...) {
      ++failed;
      std::printf("FAIL %s: unknown exception\n", t.name);
    }
    std::fflush(stdout);
  }
  if (!list) std::printf("%d passed, %d failed\n", ran - failed, failed);
  return failed ? 1 : 0;
}
