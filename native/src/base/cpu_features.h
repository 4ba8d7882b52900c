// Which SIMD paths this CPU and OS can run, detected once at start-up. QWEN_FORCE_SCALAR=1 in the
// environment turns every fast path off (for tests and for comparing against the reference).
#pragma once

namespace qwen {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  // AVX-512 F, BW, VL and VNNI, with the OS saving the ZMM state: the kernels in *_avx512.cpp.
  bool avx512_vnni = false;
  bool forced_scalar = false;
  // QWEN_NO_AVX512=1: the AVX2 kernels even where AVX-512 runs (for A/B runs and for tests of the
  // AVX2 kernels on an AVX-512 machine).
  bool no_avx512 = false;
  // The AVX2 kernels need all three instruction sets plus OS support for the YMM state.
  bool use_avx2() const { return avx2 && fma && f16c && !forced_scalar; }
  bool use_avx512_vnni() const { return use_avx2() && avx512_vnni && !no_avx512; }
};

const CpuFeatures& cpu_features();

}  // namespace qwen
