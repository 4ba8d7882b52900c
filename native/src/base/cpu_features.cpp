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
    bool ymm_enabled = false, zmm_enabled = false;
    if (osxsave) {
      // XGETBV(0): bits 1 and 2 say the OS saves SSE and AVX state on context switches, bits 5-7
      // the opmask and ZMM state.
      unsigned lo, hi;
      __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
      ymm_enabled = (lo & 0x6) == 0x6;
      zmm_enabled = ymm_enabled && (lo & 0xe0) == 0xe0;
    }
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
      f.avx2 = (b & (1u << 5)) && ymm_enabled;
      // EBX: AVX512F (16), AVX512BW (30), AVX512VL (31); ECX: AVX512_VNNI (11).
      const bool f_bw_vl = (b & (1u << 16)) && (b & (1u << 30)) && (b & (1u << 31));
      f.avx512_vnni = f_bw_vl && (c & (1u << 11)) && zmm_enabled;
    }
    if (!ymm_enabled) f.fma = f.f16c = false;
  }
#endif
  const char* env = std::getenv("QWEN_FORCE_SCALAR");
  f.forced_scalar = env && std::strcmp(env, "0") != 0 && env[0] != '\0';
  const char* no512 = std::getenv("QWEN_NO_AVX512");
  f.no_avx512 = no512 && std::strcmp(no512, "0") != 0 && no512[0] != '\0';
  return f;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

}  // namespace qwen
