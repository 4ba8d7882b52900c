// probe_gpu (loader/device.h): the CUDA runtime's answer where the addon was built with nvcc,
// "built without nvcc" where it was not, and the two test hooks that stand in for a GPU machine.
#include <cstdlib>
#include <cstring>

#include "loader/device.h"
#ifdef QWEN_HAVE_CUDA
#include "cuda/cuda_api.h"
#endif

namespace qwen {

namespace {

// What each reason the hook can fake looks like on a real machine, marked as faked.
std::string hooked_message(GpuReason r) {
  const char* text = "";
  switch (r) {
    case GpuReason::BuiltWithoutCuda: text = "this addon was built without nvcc, so it has no CUDA backend"; break;
    case GpuReason::NoDriver: text = "no CUDA driver: libcuda.so (the NVIDIA driver) was not found"; break;
    case GpuReason::DriverTooOld:
      text =
          "the NVIDIA driver supports CUDA 11.8, older than the CUDA 12.4 runtime this addon was built with; update the driver";
      break;
    case GpuReason::NoDevice: text = "no GPU: the CUDA driver found no device"; break;
    case GpuReason::UnsupportedGpu:
      text = "GPU Tesla T4 has compute capability 7.5; the CUDA kernels need 8.0 (Ampere) or newer";
      break;
    case GpuReason::NotEnoughMemory:
      text = "not enough free GPU memory: the model needs about 1200 MiB, 512 MiB of 8192 MiB are free";
      break;
    case GpuReason::ProbeFailed: text = "the CUDA runtime failed: unknown error"; break;
    default: break;
  }
  return std::string(text) + " [QWEN_TEST_CUDA_UNAVAILABLE]";
}

}  // namespace

GpuProbe probe_gpu(size_t need_bytes) {
  // Test hook 1: report one "why not" reason as if the CUDA runtime had found it.
  if (const char* hook = std::getenv("QWEN_TEST_CUDA_UNAVAILABLE"); hook && *hook) {
    GpuProbe p;
    GpuReason r;
    const bool probe_reason = gpu_reason_from_code(hook, &r) && r != GpuReason::None && r != GpuReason::CpuRequested &&
                              r != GpuReason::OutOfMemory && r != GpuReason::LoadFailed &&
                              r != GpuReason::SelfCheckFailed;
    p.reason = probe_reason ? r : GpuReason::ProbeFailed;
    p.message = probe_reason
                    ? hooked_message(r)
                    : std::string("QWEN_TEST_CUDA_UNAVAILABLE='") + hook + "' is not a reason the probe can report";
    return p;
  }
  // Test hook 2: a stand-in GPU backend (loader/gpu_stand_in.h) that is a CPU model underneath.
  if (const char* stand_in = std::getenv("QWEN_TEST_FAKE_GPU"); stand_in && *stand_in) {
    GpuProbe p;
    p.usable = true;
    p.reason = GpuReason::None;
    p.test_stand_in = stand_in;
    p.device_name = std::string("test stand-in GPU (QWEN_TEST_FAKE_GPU=") + stand_in + ")";
    return p;
  }
#ifdef QWEN_HAVE_CUDA
  return cuda::probe(need_bytes);
#else
  GpuProbe p;
  p.reason = GpuReason::BuiltWithoutCuda;
  p.message =
      "this addon was built without nvcc, so it has no CUDA backend (rebuild with the CUDA toolkit on the PATH)";
  return p;
#endif
}

}  // namespace qwen
