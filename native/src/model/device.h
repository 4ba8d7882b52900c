// Which backend a model runs on, and why: the GPU probe, the load-time self-check that compares
// GPU logits with CPU logits, and the report that travels with every loaded model up to the
// status bar. Plain C++ (no CUDA types): the CPU-only build has all of it, and reports
// "built without nvcc" from the probe.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace qwen {

class Model;

// Thrown when GPU memory runs out while a model is placed on the GPU. Model::load catches it:
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
  None,               // the GPU is used
  CpuRequested,       // device "cpu"
  BuiltWithoutCuda,   // the addon was compiled without nvcc
  NoDriver,           // libcuda is missing
  DriverTooOld,       // the driver is older than the CUDA runtime compiled in
  NoDevice,           // a driver but no GPU
  UnsupportedGpu,     // compute capability below what the kernels need
  NotEnoughMemory,    // free GPU memory below what the model needs, seen before loading
  OutOfMemory,        // an allocation failed while loading
  LoadFailed,         // any other error while placing the model on the GPU
  SelfCheckFailed,    // GPU logits disagree with CPU logits
  ProbeFailed,        // the CUDA runtime failed in another way
};

const char* gpu_reason_code(GpuReason r);
// The reason for a code string ("no_driver" -> NoDriver); false for an unknown string.
bool gpu_reason_from_code(const std::string& code, GpuReason* out);

// What the probe found. usable is false with reason/message when the GPU cannot be used.
struct GpuProbe {
  bool usable = false;
  GpuReason reason = GpuReason::BuiltWithoutCuda;
  std::string message;           // "no CUDA driver: libcuda.so was not found" ...
  std::string device_name;       // "NVIDIA H100 80GB HBM3 (sm_90, 79 GiB)" when a GPU was seen
  size_t free_bytes = 0, total_bytes = 0;
  int driver_version = 0;        // CUDA version the driver supports, 12040 = 12.4 (0: no driver)
  int runtime_version = 0;       // CUDA runtime compiled in (0: built without CUDA)
  double peak_bandwidth = 0;     // bytes per second, from the memory clock and bus width
  std::string test_stand_in;     // QWEN_TEST_FAKE_GPU's mode when that test hook is set
};

// Probes GPU 0 and, when need_bytes > 0, checks that that much GPU memory is free.
// Two test hooks, read only here, exercise every path on machines without a GPU:
// QWEN_TEST_CUDA_UNAVAILABLE=<reason code> reports that reason (no_driver, driver_too_old, ...);
// QWEN_TEST_FAKE_GPU=<mode> reports a usable stand-in GPU (model/gpu_stand_in.h).
GpuProbe probe_gpu(size_t need_bytes = 0);

// The comparison behind the self-check, over `rows` logits rows of n_vocab floats each.
struct SelfCheckResult {
  bool ran = false;
  bool passed = false;
  int tokens = 0;                 // rows compared
  double cosine_min = 0;          // smallest per-row cosine similarity
  int top1_mismatches = 0;        // rows whose best tokens disagree by more than the tie margin
  double cosine_threshold = 0;
  double tie_margin = 0;          // in standard deviations of the CPU row
  std::string summary() const;    // "cosine min 0.99991 (>= 0.99), top-1 16/16 agree"
};

// Thresholds, and why they are what they are:
// Both backends read the very same quantized weights, so weight quantization error is common to
// both and cancels out; what differs is how activations are rounded. The CPU quantizes each
// activation row to 8-bit blocks before a quantized dot product (as llama.cpp does): the step is
// max|x|/127 per block of 32, so the rounding error is ~max/440 RMS, ~0.5% of a typical
// element for Gaussian-like rows. The GPU keeps activations in f32 (decode) or f16 (prefill,
// 2^-11 relative). Through 24-28 layers of residual stream these independent errors grow to a
// relative logit error e of a few percent at most (measured CPU vs llama.cpp: cosine >= 0.9997),
// and 1 - cosine ~ e^2 / 2, so e = 5% gives 0.99875. A threshold of 0.99 allows e ~ 14%, about 3x
// the worst expected noise, while every real defect seen in kernels (wrong layout, wrong rope,
// overflow) gives cosines of 0.3-0.9. Cosine over 150k logits can hide an error confined to a
// few rows of the output head, so the best token must agree too, unless the CPU's two
// candidates are within a tie margin: with e ~ 5% the difference of two logits moves by ~0.07
// standard deviations of the row, so 0.25 sd is ~3.5 sigma of that noise.
constexpr double kSelfCheckCosine = 0.99;
constexpr double kSelfCheckTieMarginSd = 0.25;

SelfCheckResult compare_logits(const float* cpu, const float* gpu, int rows, int n_vocab,
                               double cosine_threshold = kSelfCheckCosine,
                               double tie_margin_sd = kSelfCheckTieMarginSd);

// Runs the same short token sequence through both models (a prefill batch, then single-token
// decode steps, so both GPU paths are covered) and compares every row of logits.
SelfCheckResult run_self_check(Model& gpu, Model& cpu);

// Attached to every loaded model: what was asked for, what runs, and why not the GPU.
struct DeviceReport {
  std::string requested = "auto";   // auto | cpu | cuda
  std::string used = "cpu";         // cpu | cuda
  GpuReason reason = GpuReason::None;
  std::string reason_message;       // empty when the GPU is used
  std::string gpu_name;             // the GPU seen, if any
  SelfCheckResult self_check;
};

}  // namespace qwen
