// Tests that call AVX2 kernels directly first ask whether they may, and say why not when not.
#pragma once
#include <cstdio>

#include "base/cpu_features.h"

namespace qwen_test {

inline bool avx2_or_say_why(const char* test) {
  const qwen::CpuFeatures& f = qwen::cpu_features();
  if (f.use_avx2()) return true;
  std::printf("  %s skipped: %s, and the kernels it tests are AVX2 only\n", test,
              f.forced_scalar ? "QWEN_FORCE_SCALAR forces the scalar path" : "this CPU lacks AVX2, FMA or F16C");
  return false;
}

}  // namespace qwen_test
