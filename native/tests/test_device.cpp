// The device choice (loader/device_select.cpp), the GPU self-check's comparison and the reasons a
// GPU is not used, on machines without a GPU: the probe's test hook fakes each reason, and the
// stand-in GPU backend (loader/gpu_stand_in.h) returns exact, perturbed or failing results.
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "loader/device.h"
#include "loader/load_model.h"
#include "model/model.h"
#include "test_framework.h"
#include "test_model_util.h"

using qwen::DeviceReport;
using qwen::GpuReason;
using qwen::Model;
using qwen::ModelOptions;

namespace {

// Sets an environment variable for one scope.
struct EnvVar {
  std::string name;
  EnvVar(const char* n, const std::string& value) : name(n) { setenv(n, value.c_str(), 1); }
  ~EnvVar() { unsetenv(name.c_str()); }
};

struct TinyFile {
  qwen_test::TinyModel tiny;
  TinyFile() {
    qwen_test::TinySpec spec;
    spec.seed = 77;
    tiny = qwen_test::write_tiny_model(spec, "device");
  }
  ~TinyFile() { std::remove(tiny.path.c_str()); }
};

std::unique_ptr<Model> load(const std::string& path, const std::string& device, bool self_check = true) {
  ModelOptions o;
  o.device = device;
  o.threads = 1;
  o.context_size = 128;
  o.micro_batch = 8;
  o.gpu_self_check = self_check;
  return load_model(path, o);
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::vector<float> gaussian_rows(int rows, int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 3.0f);
  std::vector<float> v(static_cast<size_t>(rows) * n);
  for (float& x : v) x = d(rng);
  return v;
}

}  // namespace

QWEN_TEST(self_check_comparison_passes_noise_and_catches_real_errors) {
  const int rows = 16, V = 20000;
  const std::vector<float> cpu = gaussian_rows(rows, V, 1);
  // Identical logits.
  qwen::SelfCheckResult r = qwen::compare_logits(cpu.data(), cpu.data(), rows, V);
  CHECK(r.ran && r.passed && r.top1_mismatches == 0);
  CHECK_NEAR(r.cosine_min, 1.0, 1e-9);
  // Noise of 3% of the row's scale, the size activation rounding gives: passes.
  std::vector<float> noisy = cpu;
  std::mt19937 rng(2);
  std::normal_distribution<float> d(0.0f, 0.09f);
  for (float& x : noisy) x += d(rng);
  r = qwen::compare_logits(cpu.data(), noisy.data(), rows, V);
  std::printf("    3%% noise: %s\n", r.summary().c_str());
  CHECK(r.passed);
  CHECK(r.cosine_min > 0.999);
  // Noise of 30%: a broken kernel, not rounding.
  std::vector<float> broken = cpu;
  std::normal_distribution<float> big(0.0f, 0.9f);
  for (float& x : broken) x += big(rng);
  r = qwen::compare_logits(cpu.data(), broken.data(), rows, V);
  std::printf("    30%% noise: %s\n", r.summary().c_str());
  CHECK(!r.passed && r.cosine_min < qwen::kSelfCheckCosine);
  // One wrong logit in one row: cosine barely moves, but the best token is clearly wrong.
  std::vector<float> spike = cpu;
  spike[static_cast<size_t>(5) * V + 123] = 30.0f;  // 10 sd: far above any real logit of the row
  r = qwen::compare_logits(cpu.data(), spike.data(), rows, V);
  std::printf("    one wrong logit: %s\n", r.summary().c_str());
  CHECK(r.cosine_min > qwen::kSelfCheckCosine);
  CHECK(!r.passed && r.top1_mismatches == 1);
  // A near tie that flips: not a mismatch.
  std::vector<float> tie = cpu;
  float* row = &tie[0];
  int best = 0, second = -1;
  for (int j = 1; j < V; ++j)
    if (row[j] > row[best]) best = j;
  for (int j = 0; j < V; ++j)
    if (j != best && (second < 0 || row[j] > row[second])) second = j;
  const float gap = row[best] - row[second];
  std::vector<float> want = cpu;
  want[second] = want[best] - std::min(gap, 0.1f);  // CPU: a 0.1 gap (0.03 sd)
  tie = want;
  std::swap(tie[best], tie[second]);  // GPU: the two swapped
  r = qwen::compare_logits(want.data(), tie.data(), rows, V);
  CHECK(r.passed && r.top1_mismatches == 0);
  // NaN anywhere fails.
  std::vector<float> nan = cpu;
  nan[7] = std::nanf("");
  r = qwen::compare_logits(cpu.data(), nan.data(), rows, V);
  CHECK(!r.passed);
}

QWEN_TEST(device_cpu_never_probes_the_gpu) {
  TinyFile f;
  // Even with a usable stand-in GPU, "cpu" stays on the CPU.
  EnvVar gpu("QWEN_TEST_FAKE_GPU", "exact");
  auto m = load(f.tiny.path, "cpu");
  const DeviceReport& r = m->device_report();
  CHECK(r.requested == "cpu" && r.used == "cpu" && r.reason == GpuReason::CpuRequested);
  CHECK(!r.self_check.ran);
  CHECK(contains(m->backend_description(), "CPU"));
}

QWEN_TEST(device_reports_each_reason_the_gpu_is_unavailable) {
  TinyFile f;
  const char* codes[] = {"built_without_cuda", "no_driver",         "driver_too_old", "no_device",
                         "unsupported_gpu",    "not_enough_memory", "probe_failed"};
  for (const char* code : codes) {
    EnvVar hook("QWEN_TEST_CUDA_UNAVAILABLE", code);
    auto m = load(f.tiny.path, "auto");
    const DeviceReport& r = m->device_report();
    CHECK(r.used == "cpu");
    CHECK(std::string(qwen::gpu_reason_code(r.reason)) == code);
    CHECK(!r.reason_message.empty());
    const std::string err = error_of([&] { load(f.tiny.path, "cuda"); });
    CHECK(contains(err, f.tiny.path + ": device 'cuda' requested but "));
    CHECK(contains(err, r.reason_message));
  }
  EnvVar bogus("QWEN_TEST_CUDA_UNAVAILABLE", "sunspots");
  auto m = load(f.tiny.path, "auto");
  CHECK(m->device_report().reason == GpuReason::ProbeFailed);
  CHECK(contains(m->device_report().reason_message, "sunspots"));
}

QWEN_TEST(device_auto_without_hooks_says_why_no_gpu_runs_here) {
  TinyFile f;
  const qwen::GpuProbe p = qwen::probe_gpu(0);
  auto m = load(f.tiny.path, "auto");
  const DeviceReport& r = m->device_report();
  if (p.usable) {
    std::printf("    a GPU is usable here (%s): auto ran %s\n", p.device_name.c_str(), r.used.c_str());
    CHECK(r.self_check.ran);
    return;
  }
  std::printf("    no usable GPU here: %s (%s)\n", qwen::gpu_reason_code(p.reason), p.message.c_str());
  CHECK(r.used == "cpu" && r.reason == p.reason && r.reason_message == p.message);
#ifndef QWEN_HAVE_CUDA
  CHECK(p.reason == GpuReason::BuiltWithoutCuda);
#else
  CHECK(p.reason != GpuReason::BuiltWithoutCuda && p.reason != GpuReason::None);
#endif
}

QWEN_TEST(device_auto_uses_a_gpu_that_passes_the_self_check) {
  TinyFile f;
  EnvVar gpu("QWEN_TEST_FAKE_GPU", "perturb:0.01");
  auto m = load(f.tiny.path, "auto");
  const DeviceReport& r = m->device_report();
  std::printf("    1%% perturbation: %s\n", r.self_check.summary().c_str());
  CHECK(r.used == "cuda" && r.reason == GpuReason::None && r.reason_message.empty());
  CHECK(r.self_check.ran && r.self_check.passed && r.self_check.tokens == 16);
  CHECK(contains(m->backend_description(), "stand-in GPU"));
  CHECK(contains(r.gpu_name, "QWEN_TEST_FAKE_GPU"));
  // The check's sequences are gone: the model starts empty.
  CHECK(m->kv_used() == 0);
  auto cuda = load(f.tiny.path, "cuda");
  CHECK(cuda->device_report().used == "cuda" && cuda->device_report().self_check.passed);
}

QWEN_TEST(device_auto_falls_back_to_the_cpu_when_the_self_check_fails) {
  TinyFile f;
  EnvVar gpu("QWEN_TEST_FAKE_GPU", "perturb:0.5");
  auto m = load(f.tiny.path, "auto");
  const DeviceReport& r = m->device_report();
  std::printf("    50%% perturbation: %s\n", r.reason_message.c_str());
  CHECK(r.used == "cpu" && r.reason == GpuReason::SelfCheckFailed);
  CHECK(r.self_check.ran && !r.self_check.passed);
  CHECK(contains(r.reason_message, "self-check failed: cosine min "));
  CHECK(contains(m->backend_description(), "CPU") && !contains(m->backend_description(), "stand-in"));
  const std::string err = error_of([&] { load(f.tiny.path, "cuda"); });
  CHECK(contains(err, "device 'cuda' requested but the GPU self-check failed: cosine min"));
  // Switched off, the check does not run and the GPU is used as it is.
  auto unchecked = load(f.tiny.path, "cuda", false);
  CHECK(unchecked->device_report().used == "cuda" && !unchecked->device_report().self_check.ran);
}

QWEN_TEST(device_auto_falls_back_when_the_gpu_runs_out_of_memory_at_load) {
  TinyFile f;
  EnvVar gpu("QWEN_TEST_FAKE_GPU", "oom");
  auto m = load(f.tiny.path, "auto");
  const DeviceReport& r = m->device_report();
  CHECK(r.used == "cpu" && r.reason == GpuReason::OutOfMemory);
  CHECK(contains(r.reason_message, "ran out of memory"));
  const std::string err = error_of([&] { load(f.tiny.path, "cuda"); });
  CHECK(contains(err, "device 'cuda' requested but the GPU ran out of memory"));
}

QWEN_TEST(device_gpu_fault_is_sticky_and_typed) {
  TinyFile f;
  {
    // The self-check takes 5 evals; the fault comes on the 7th.
    EnvVar gpu("QWEN_TEST_FAKE_GPU", "fault-after:6");
    auto m = load(f.tiny.path, "auto");
    CHECK(m->device_report().used == "cuda");
    const int seq = m->create_sequence();
    const int32_t tok = 3;
    m->eval(seq, &tok, 1, qwen::LogitsMode::Last, nullptr, nullptr);
    bool fault = false;
    try {
      m->eval(seq, &tok, 1, qwen::LogitsMode::Last, nullptr, nullptr);
    } catch (const qwen::GpuFault&) {
      fault = true;
    }
    CHECK(fault);
    fault = false;
    try {
      m->sample(seq, qwen::SamplerParams{}, nullptr, 0);
    } catch (const qwen::GpuFault&) {
      fault = true;
    }
    CHECK(fault);
  }
  // A fault during the self-check itself: auto runs on the CPU and says so.
  EnvVar gpu("QWEN_TEST_FAKE_GPU", "fault-after:2");
  auto m = load(f.tiny.path, "auto");
  CHECK(m->device_report().used == "cpu" && m->device_report().reason == GpuReason::SelfCheckFailed);
  CHECK(contains(m->device_report().reason_message, "failed during the self-check"));
}

QWEN_TEST(device_rejects_unknown_devices_and_stand_in_modes) {
  TinyFile f;
  CHECK(contains(error_of([&] { load(f.tiny.path, "tpu"); }), "unknown device 'tpu'"));
  EnvVar gpu("QWEN_TEST_FAKE_GPU", "sideways");
  auto m = load(f.tiny.path, "auto");
  CHECK(m->device_report().reason == GpuReason::LoadFailed);
  CHECK(contains(m->device_report().reason_message, "expected exact, perturb"));
}
