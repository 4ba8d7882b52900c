// What runs a model and why, as every loaded model reports it up to the status bar: the device
// asked for and used, the reason the GPU is not used, and the GPU self-check's outcome. The
// backends throw the two GPU errors; the loader (loader/device.h) fills in the rest. Plain C++,
// the same in builds with and without CUDA.
#pragma once
#include <cstddef>
#include <stdexcept>
#include <string>

namespace qwen {

// Thrown when GPU memory runs out while a model is placed on the GPU. load_model catches it:
// with device "auto" the model then runs on the CPU, with a notice.
struct GpuOutOfMemory : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Thrown by a GPU model when the device reported a sticky error (an illegal address, a failed
// launch, ...): the CUDA context is unusable from then on, so the model must be replaced. The
// Node binding gives it the code QWEN_GPU_FAULT and the language server reloads on the CPU.
struct GpuFault : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Why a GPU is not used. The strings (reason_code) are part of the addon's JS surface.
enum class GpuReason {
  None,              // the GPU is used
  CpuRequested,      // device "cpu"
  BuiltWithoutCuda,  // the addon was compiled without nvcc
  NoDriver,          // libcuda is missing
  DriverTooOld,      // the driver is older than the CUDA runtime compiled in
  NoDevice,          // a driver but no GPU
  UnsupportedGpu,    // compute capability below what the kernels need
  NotEnoughMemory,   // free GPU memory below what the model needs, seen before loading
  OutOfMemory,       // an allocation failed while loading
  LoadFailed,        // any other error while placing the model on the GPU
  SelfCheckFailed,   // GPU logits disagree with CPU logits
  ProbeFailed,       // the CUDA runtime failed in another way
};

const char* gpu_reason_code(GpuReason r);
// The reason for a code string ("no_driver" -> NoDriver); false for an unknown string.
bool gpu_reason_from_code(const std::string& code, GpuReason* out);

// What the GPU probe found (probe_gpu in loader/device.h, filled in by cuda/ where the build has
// it). usable is false with reason/message when the GPU cannot be used.
struct GpuProbe {
  bool usable = false;
  GpuReason reason = GpuReason::BuiltWithoutCuda;
  std::string message;      // "no CUDA driver: libcuda.so was not found" ...
  std::string device_name;  // "NVIDIA H100 80GB HBM3 (sm_90, 79 GiB)" when a GPU was seen
  size_t free_bytes = 0, total_bytes = 0;
  int driver_version = 0;     // CUDA version the driver supports, 12040 = 12.4 (0: no driver)
  int runtime_version = 0;    // CUDA runtime compiled in (0: built without CUDA)
  double peak_bandwidth = 0;  // bytes per second, from the memory clock and bus width
  std::string test_stand_in;  // QWEN_TEST_FAKE_GPU's mode when that test hook is set
};

// The outcome of the load-time self-check (loader/device.h), over `rows` logits rows.
struct SelfCheckResult {
  bool ran = false;
  bool passed = false;
  int tokens = 0;           // rows compared
  double cosine_min = 0;    // smallest per-row cosine similarity
  int top1_mismatches = 0;  // rows whose best tokens disagree by more than the tie margin
  double cosine_threshold = 0;
  double tie_margin = 0;        // in standard deviations of the CPU row
  std::string summary() const;  // "cosine min 0.99991 (>= 0.99), top-1 16/16 agree"
};

// Attached to every loaded model: what was asked for, what runs, and why not the GPU.
struct DeviceReport {
  std::string requested = "auto";  // auto | cpu | cuda
  std::string used = "cpu";        // cpu | cuda
  GpuReason reason = GpuReason::None;
  std::string reason_message;  // empty when the GPU is used
  std::string gpu_name;        // the GPU seen, if any
  SelfCheckResult self_check;
};

}  // namespace qwen
