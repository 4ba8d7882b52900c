// The reason codes (part of the addon's JS surface) and the self-check summary line.
#include "model/device_report.h"

#include <cstdio>

namespace qwen {

namespace {

struct ReasonName {
  GpuReason reason;
  const char* code;
};

constexpr ReasonName kReasons[] = {
    {GpuReason::None, "none"},
    {GpuReason::CpuRequested, "cpu_requested"},
    {GpuReason::BuiltWithoutCuda, "built_without_cuda"},
    {GpuReason::NoDriver, "no_driver"},
    {GpuReason::DriverTooOld, "driver_too_old"},
    {GpuReason::NoDevice, "no_device"},
    {GpuReason::UnsupportedGpu, "unsupported_gpu"},
    {GpuReason::NotEnoughMemory, "not_enough_memory"},
    {GpuReason::OutOfMemory, "out_of_memory"},
    {GpuReason::LoadFailed, "load_failed"},
    {GpuReason::SelfCheckFailed, "self_check_failed"},
    {GpuReason::ProbeFailed, "probe_failed"},
};

}  // namespace

const char* gpu_reason_code(GpuReason r) {
  for (const ReasonName& n : kReasons)
    if (n.reason == r) return n.code;
  return "unknown";
}

bool gpu_reason_from_code(const std::string& code, GpuReason* out) {
  for (const ReasonName& n : kReasons) {
    if (code == n.code) {
      *out = n.reason;
      return true;
    }
  }
  return false;
}

std::string SelfCheckResult::summary() const {
  char buf[200];
  std::snprintf(buf, sizeof buf, "cosine min %.6f (threshold %.2f), top-1 agrees in %d of %d rows (tie margin %.2f sd)",
                cosine_min, cosine_threshold, tokens - top1_mismatches, tokens, tie_margin);
  return buf;
}

}  // namespace qwen
