// cpuFeatures(): the SIMD paths the engine detected on this CPU (cpu/cpu_features.h, the same
// detection the kernels are chosen by), for `qwen-local info`, the status bar and bug reports.
#include <thread>

#include "cpu/cpu_features.h"
#include "napi/bindings.h"
#include "napi/napi_util.h"

namespace qwen_napi {
namespace {

Napi::Value CpuFeatures(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const qwen::CpuFeatures& f = qwen::cpu_features();
  Napi::Object o = Napi::Object::New(env);
#if defined(__x86_64__) || defined(_M_X64)
  o.Set("arch", "x86_64");
#elif defined(__aarch64__)
  o.Set("arch", "aarch64");
#else
  o.Set("arch", "unknown");
#endif
  o.Set("avx2", f.avx2);
  o.Set("fma", f.fma);
  o.Set("f16c", f.f16c);
  o.Set("forcedScalar", f.forced_scalar);
  // The kernel family actually in use: AVX2 needs all three sets and no QWEN_FORCE_SCALAR.
  o.Set("simd", f.use_avx2() ? "avx2" : "scalar");
  o.Set("logicalCores", static_cast<double>(std::thread::hardware_concurrency()));
  return o;
}

}  // namespace

void init_cpu_binding(Napi::Env env, Napi::Object exports) {
  exports.Set("cpuFeatures", Napi::Function::New(env, CpuFeatures, "cpuFeatures"));
}

}  // namespace qwen_napi
