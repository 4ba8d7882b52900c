// How the loader chooses a model's backend: the GPU probe and the load-time self-check that
// compares GPU logits with CPU logits. What they find travels with the model as its DeviceReport
// (model/device_report.h). Plain C++ (no CUDA types): the CPU-only build has all of it, and
// reports "built without nvcc" from the probe.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "model/device_report.h"

namespace qwen {

class Model;

// Probes GPU 0 and, when need_bytes > 0, checks that that much GPU memory is free.
// Two test hooks, read only here, exercise every path on machines without a GPU:
// QWEN_TEST_CUDA_UNAVAILABLE=<reason code> reports that reason (no_driver, driver_too_old, ...);
// QWEN_TEST_FAKE_GPU=<mode> reports a usable stand-in GPU (loader/gpu_stand_in.h).
GpuProbe probe_gpu(size_t need_bytes = 0);

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

// The comparison behind the self-check, over `rows` logits rows of n_vocab floats each.
SelfCheckResult compare_logits(const float* cpu, const float* gpu, int rows, int n_vocab,
                               double cosine_threshold = kSelfCheckCosine,
                               double tie_margin_sd = kSelfCheckTieMarginSd);

// Runs the same short token sequence through both models (a prefill batch, then single-token
// decode steps, so both GPU paths are covered) and compares every row of logits.
SelfCheckResult run_self_check(Model& gpu, Model& cpu);

}  // namespace qwen
