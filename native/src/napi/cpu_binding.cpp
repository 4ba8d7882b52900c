// cpuFeatures() and gpuInfo(): the hardware the engine found. cpuFeatures(): the SIMD paths the engine detected on this CPU (cpu/cpu_features.h, the same
// detection the kernels are chosen by), for `qwen-local info`, the status bar and bug reports.
#include <thread>

#include "cpu/cpu_features.h"
#include "model/device.h"
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

// gpuInfo(): what the GPU probe finds (the same probe Model::load uses), for `qwen-local info`,
// scripts/gpu-check.sh and the benchmarks.
Napi::Value GpuInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const qwen::GpuProbe p = qwen::probe_gpu(0);
    Napi::Object o = Napi::Object::New(env);
#ifdef QWEN_HAVE_CUDA
    o.Set("builtWithCuda", true);
#else
    o.Set("builtWithCuda", false);
#endif
    o.Set("usable", p.usable);
    o.Set("reasonCode", qwen::gpu_reason_code(p.reason));
    o.Set("reason", p.message);
    o.Set("deviceName", p.device_name);
    o.Set("freeBytes", static_cast<double>(p.free_bytes));
    o.Set("totalBytes", static_cast<double>(p.total_bytes));
    o.Set("driverVersion", p.driver_version);
    o.Set("runtimeVersion", p.runtime_version);
    o.Set("peakBandwidthBytesPerSec", p.peak_bandwidth);
    return o;
  });
}

}  // namespace

void init_cpu_binding(Napi::Env env, Napi::Object exports) {
  exports.Set("cpuFeatures", Napi::Function::New(env, CpuFeatures, "cpuFeatures"));
  exports.Set("gpuInfo", Napi::Function::New(env, GpuInfo, "gpuInfo"));
}

}  // namespace qwen_napi
