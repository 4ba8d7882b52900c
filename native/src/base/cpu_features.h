// Which SIMD paths this CPU and OS can run, detected once at start-up. QWEN_FORCE_SCALAR=1 in the
// environment turns every fast path off (for tests and for comparing against the reference).
#pragma once

namespace qwen {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool forced_scalar = false;
  // The AVX2 kernels need all three instruction sets plus OS support for the YMM state.
  bool use_avx2() const { return avx2 && fma && f16c && !forced_scalar; }
};

const CpuFeatures& cpu_features();

}  // namespace qwen
