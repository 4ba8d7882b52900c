#include "base/cpu_features.h"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace qwen {

static CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  unsigned a, b, c, d;
  if (__get_cpuid(1, &a, &b, &c, &d)) {
    const bool osxsave = c & (1u << 27);
    f.fma = c & (1u << 12);
    f.f16c = c & (1u << 29);
    bool ymm_enabled = false;
    if (osxsave) {
      // XGETBV(0): bits 1 and 2 say the OS saves SSE and AVX state on context switches.
      unsigned lo, hi;
      __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
      ymm_enabled = (lo & 0x6) == 0x6;
    }
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) f.avx2 = (b & (1u << 5)) && ymm_enabled;
    if (!ymm_enabled) f.fma = f.f16c = false;
  }
#endif
  const char* env = std::getenv("QWEN_FORCE_SCALAR");
  f.forced_scalar = env && std::strcmp(env, "0") != 0 && env[0] != '\0';
  return f;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

}  // namespace qwen
