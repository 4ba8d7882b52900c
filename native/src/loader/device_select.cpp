// load_model: where a model runs. "cpu" always runs on the CPU. "auto" and "cuda" probe the GPU,
// place the model there, and prove it right with the self-check (loader/device.h) before using
// it. "auto" falls back to the CPU whenever any of that fails, saying why in the model's
// DeviceReport; "cuda" fails instead, with an error naming the reason.
#include <sys/stat.h>

#include "cpu/cpu_model.h"
#include "loader/device.h"
#include "loader/gpu_stand_in.h"
#include "loader/load_model.h"
#include "model/model.h"
#ifdef QWEN_HAVE_CUDA
#include "cuda/cuda_model.h"
#endif

namespace qwen {

namespace {

// GPU memory wanted beyond the file's bytes before a load is attempted: the KV cache of a typical
// context, the activations and the CUDA context itself. The model checks the exact KV need itself.
constexpr size_t kGpuHeadroom = size_t{512} << 20;

std::function<void(float)> sub_range(const std::function<void(float)>& progress, float from, float to) {
  if (!progress) return {};
  return [progress, from, to](float f) { progress(from + (to - from) * f); };
}

std::unique_ptr<Model> load_gpu_backend(const GpuProbe& probe, const std::string& path, const ModelOptions& opts,
                                        const std::function<void(float)>& progress) {
  if (!probe.test_stand_in.empty()) return load_gpu_stand_in(probe.test_stand_in, path, opts, progress);
#ifdef QWEN_HAVE_CUDA
  return load_cuda_model(path, opts, progress);
#else
  throw std::logic_error("no GPU backend in this build");  // probe_gpu never says usable here
#endif
}

}  // namespace

std::unique_ptr<Model> load_model(const std::string& path, const ModelOptions& opts,
                                  const std::function<void(float)>& progress) {
  if (opts.device != "auto" && opts.device != "cpu" && opts.device != "cuda") {
    throw std::runtime_error("unknown device '" + opts.device + "' (use auto, cpu or cuda)");
  }
  if (opts.threads < 0 || opts.threads > 256) {
    throw std::runtime_error("threads must be between 0 (automatic) and 256, got " + std::to_string(opts.threads));
  }
  DeviceReport report;
  report.requested = opts.device;
  if (opts.device == "cpu") {
    auto m = load_cpu_model(path, opts, progress);
    report.reason = GpuReason::CpuRequested;
    report.reason_message = "device 'cpu' was requested";
    m->set_device_report(report);
    return m;
  }
  const bool must_use_gpu = opts.device == "cuda";
  // On the CPU from `from` on, or (device "cuda") an error naming the reason.
  auto on_cpu = [&](GpuReason reason, const std::string& why, float from) {
    if (must_use_gpu) throw std::runtime_error(path + ": device 'cuda' requested but " + why);
    report.reason = reason;
    report.reason_message = why;
    auto m = load_cpu_model(path, opts, sub_range(progress, from, 1.0f));
    m->set_device_report(report);
    return m;
  };

  struct stat st;
  const size_t file_bytes = ::stat(path.c_str(), &st) == 0 ? static_cast<size_t>(st.st_size) : 0;
  const GpuProbe probe = probe_gpu(file_bytes > 0 ? file_bytes + kGpuHeadroom : 0);
  report.gpu_name = probe.device_name;
  if (!probe.usable) return on_cpu(probe.reason, probe.message, 0.0f);

  const float gpu_share = opts.gpu_self_check ? 0.6f : 1.0f;
  std::unique_ptr<Model> gpu;
  try {
    gpu = load_gpu_backend(probe, path, opts, sub_range(progress, 0.0f, gpu_share));
  } catch (const GpuOutOfMemory& e) {
    return on_cpu(GpuReason::OutOfMemory, std::string("the GPU ran out of memory while loading the model: ") + e.what(),
                  0.0f);
  } catch (const std::exception& e) {
    return on_cpu(GpuReason::LoadFailed, std::string("loading the model on the GPU failed: ") + e.what(), 0.0f);
  }
  report.used = "cuda";
  if (!opts.gpu_self_check) {
    gpu->set_device_report(report);
    return gpu;
  }

  // The CPU model is the reference for the check and, if the GPU fails it, the model that runs.
  std::unique_ptr<Model> cpu = load_cpu_model(path, opts, sub_range(progress, gpu_share, 1.0f));
  std::string failure;
  try {
    report.self_check = run_self_check(*gpu, *cpu);
    if (!report.self_check.passed) failure = "the GPU self-check failed: " + report.self_check.summary();
  } catch (const std::exception& e) {
    failure = std::string("the GPU failed during the self-check: ") + e.what();
  }
  if (failure.empty()) {
    cpu.reset();
    gpu->set_device_report(report);
    return gpu;
  }
  gpu.reset();
  if (must_use_gpu) throw std::runtime_error(path + ": device 'cuda' requested but " + failure);
  report.used = "cpu";
  report.reason = GpuReason::SelfCheckFailed;
  report.reason_message = failure;
  cpu->set_device_report(report);
  return cpu;
}

}  // namespace qwen
