// CUDA matrix kernels against the CPU scalar reference: for every weight format the GPU reads,
// random weights are quantized by the CPU quantizer, dequantized by the CPU scalar code (the
// reference), and the GPU's GEMV (decode), GEMM (prefill) and row lookup must reproduce
// W @ x of those exact values. Runs only in builds with QWEN_HAVE_CUDA; prints
// "SKIP cuda: <reason>" and passes where no GPU is present.
#include <cstdio>

#include "test_framework.h"

#ifdef QWEN_HAVE_CUDA
#include <cmath>
#include <cstdio>
#include <vector>

#include "test_cuda_util.h"

using namespace qwen_cuda_test;
using qwen::GgmlType;
namespace cu = qwen::cuda;

namespace {

// Tolerances, relative to sum_i |w_i x_i| of each output (the size of the terms being added):
// the GEMV accumulates in f32 in a different order than the reference (double), the GEMM rounds
// both operands to f16 (2^-11 relative each) before the tensor cores multiply them.
constexpr double kGemvRelTol = 2e-5;
constexpr double kGemmRelTol = 4e-3;
constexpr double kAbsFloor = 1e-6;

const GgmlType kTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q4_0, GgmlType::Q4_1,
                           GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q2_K, GgmlType::Q3_K,
                           GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};

// Y (n, rows) = X (n, k) @ W (rows, k)^T in double, plus per-output sum |w x| as the error scale.
void reference_matmul(const std::vector<float>& w, const std::vector<float>& x, int64_t rows, int64_t k, int n,
                      const std::vector<float>& bias, std::vector<double>* y, std::vector<double>* scale) {
  y->assign(n * rows, 0.0);
  scale->assign(n * rows, 0.0);
  for (int t = 0; t < n; ++t)
    for (int64_t r = 0; r < rows; ++r) {
      double acc = bias.empty() ? 0.0 : bias[r], mag = 0.0;
      for (int64_t i = 0; i < k; ++i) {
        const double p = static_cast<double>(w[r * k + i]) * x[t * k + i];
        acc += p;
        mag += std::fabs(p);
      }
      (*y)[t * rows + r] = acc;
      (*scale)[t * rows + r] = mag;
    }
}

// Runs one kernel (gemv or gemm) for type t on n columns and returns the worst error ratio
// against the reference (<= 1 passes). rows = 70 is deliberately not a multiple of any tile.
double check_matmul(GgmlType t, int n, bool use_gemm, double rel_tol, bool with_bias, bool accumulate) {
  const int64_t rows = 70, k = 512;
  std::vector<uint8_t> bytes;
  if (!encode_rows(t, random_floats(rows * k, 11 + static_cast<int>(t)), rows, k, &bytes)) return 0.0;
  const std::vector<float> w = decode_rows(t, bytes, rows, k);
  const std::vector<float> x = random_floats(n * k, 5 + n);
  const std::vector<float> bias = with_bias ? random_floats(rows, 3) : std::vector<float>();
  std::vector<float> y0 = accumulate ? random_floats(n * rows, 9) : std::vector<float>(n * rows, 123.0f);
  std::vector<double> want, scale;
  reference_matmul(w, x, rows, k, n, bias, &want, &scale);
  if (accumulate)
    for (size_t i = 0; i < want.size(); ++i) want[i] += y0[i];

  cu::DeviceBuffer dw = to_device(bytes), dx = to_device(x), dy = to_device(y0);
  cu::DeviceBuffer db = with_bias ? to_device(bias) : cu::DeviceBuffer();
  const float* bias_ptr = with_bias ? db.as<float>() : nullptr;
  if (use_gemm) cu::gemm(t, dw.get(), rows, k, dx.as<float>(), n, dy.as<float>(), bias_ptr, accumulate);
  else cu::gemv(t, dw.get(), rows, k, dx.as<float>(), n, dy.as<float>(), bias_ptr, accumulate);
  const std::vector<float> got = from_device(dy, n * rows);
  for (double& s : scale) s *= rel_tol;
  const double worst = worst_ratio(got, want, scale, kAbsFloor);
  if (worst > 1.0)
    std::printf("    %s %s n=%d: worst error is %.2f x the tolerance\n", qwen::traits(t).name,
                use_gemm ? "gemm" : "gemv", n, worst);
  return worst;
}

}  // namespace

// Runs without a GPU: the GPU's block decoders (the same inline functions the kernels use)
// executed on the host must agree with the CPU dequantizer on every layout.
QWEN_TEST(cuda_block_decoders_match_cpu_dequantize_on_host) {
  const int64_t rows = 3, k = 512;
  for (GgmlType t : kTypes) {
    std::vector<uint8_t> bytes;
    if (!encode_rows(t, random_floats(rows * k, 77 + static_cast<int>(t)), rows, k, &bytes)) continue;
    const std::vector<float> want = decode_rows(t, bytes, rows, k);
    std::vector<float> got(rows * k);
    const size_t rb = qwen::row_size(t, k);
    for (int64_t r = 0; r < rows; ++r) cu::decode_row_host(t, bytes.data() + r * rb, k, got.data() + r * k);
    double worst = 0.0, range = 1e-30;
    for (size_t i = 0; i < want.size(); ++i) {
      worst = std::fmax(worst, std::fabs(got[i] - want[i]));
      range = std::fmax(range, std::fabs(want[i]));
    }
    if (worst > 1e-6 * range)
      std::printf("    %s: decoder differs by %.3e (values up to %.3e)\n", qwen::traits(t).name, worst, range);
    CHECK(worst <= 1e-6 * range);  // same formula; only the grouping of two float products may differ
  }
}

QWEN_TEST(cuda_gemv_matches_scalar_reference_for_every_weight_type) {
  if (!gpu_or_skip("cuda_gemv")) return;
  for (GgmlType t : kTypes) {
    CHECK(check_matmul(t, 1, false, kGemvRelTol, false, false) <= 1.0);
    CHECK(check_matmul(t, 3, false, kGemvRelTol, true, false) <= 1.0);
    CHECK(check_matmul(t, 6, false, kGemvRelTol, true, true) <= 1.0);  // 4 + 2 columns, residual add
  }
}

QWEN_TEST(cuda_gemm_matches_scalar_reference_for_every_weight_type) {
  if (!gpu_or_skip("cuda_gemm")) return;
  for (GgmlType t : kTypes) {
    CHECK(check_matmul(t, 37, true, kGemmRelTol, true, false) <= 1.0);   // partial 64-token tile
    CHECK(check_matmul(t, 130, true, kGemmRelTol, false, true) <= 1.0);  // three token tiles, residual add
  }
}

// Qwen2.5's ffn_down inputs reach 1e5, beyond f16's 65504: the GEMM must scale rows into range
// (cuda/f16_range.h) and not return inf. Rows with outliers, a row of small values and a row with
// no outlier at all, against the double reference of the same weights.
QWEN_TEST(cuda_gemm_handles_activations_beyond_f16_range) {
  if (!gpu_or_skip("cuda_gemm_large_activations")) return;
  const int64_t rows = 70, k = 512;
  const int n = 40;
  for (GgmlType t : {GgmlType::F16, GgmlType::Q4_K, GgmlType::Q8_0, GgmlType::Q4_0}) {
    std::vector<uint8_t> bytes;
    if (!encode_rows(t, random_floats(rows * k, 21, 0.02f), rows, k, &bytes)) continue;
    const std::vector<float> w = decode_rows(t, bytes, rows, k);
    std::vector<float> x = random_floats(n * k, 22, 3.0f);
    for (int m = 0; m < n; m += 3)
      x[m * k + (m * 37) % k] = (m % 2 ? -1.0f : 1.0f) * (2.0e4f + 2.5e3f * m);  // up to ~1.2e5
    std::vector<double> want, scale;
    reference_matmul(w, x, rows, k, n, {}, &want, &scale);
    cu::DeviceBuffer dw = to_device(bytes), dx = to_device(x), dy(n * rows * sizeof(float));
    cu::gemm(t, dw.get(), rows, k, dx.as<float>(), n, dy.as<float>(), nullptr, false);
    const std::vector<float> got = from_device(dy, n * rows);
    for (double& v : scale) v *= kGemmRelTol;
    const double worst = worst_ratio(got, want, scale, kAbsFloor);
    std::printf("    %s gemm, activations up to 1.2e5: worst error %.2f x the tolerance\n", qwen::traits(t).name,
                worst);
    CHECK(worst <= 1.0);
  }
}

QWEN_TEST(cuda_get_rows_returns_dequantized_rows) {
  if (!gpu_or_skip("cuda_get_rows")) return;
  const int64_t rows = 20, k = 256;
  for (GgmlType t : kTypes) {
    std::vector<uint8_t> bytes;
    if (!encode_rows(t, random_floats(rows * k, 21), rows, k, &bytes)) continue;
    const std::vector<float> w = decode_rows(t, bytes, rows, k);
    const std::vector<int32_t> ids = {7, 0, 19, 7};
    cu::DeviceBuffer dw = to_device(bytes), di = to_device(ids), dy(ids.size() * k * sizeof(float));
    cu::get_rows(t, dw.get(), rows, k, di.as<int32_t>(), static_cast<int>(ids.size()), dy.as<float>());
    const std::vector<float> got = from_device(dy, ids.size() * k);
    double worst = 0.0;
    for (size_t j = 0; j < ids.size(); ++j)
      for (int64_t i = 0; i < k; ++i) worst = std::fmax(worst, std::fabs(got[j * k + i] - w[ids[j] * k + i]));
    CHECK_NEAR(worst, 0.0, 1e-6);  // decoding is exact: same formula, f32 arithmetic
  }
}

QWEN_TEST(cuda_rms_norm_and_swiglu_match_cpu) {
  if (!gpu_or_skip("cuda_rms_norm")) return;
  const int n = 5, d = 896;
  const float eps = 1e-6f;
  const std::vector<float> x = random_floats(n * d, 31), w = random_floats(d, 32), u = random_floats(n * d, 33);
  cu::DeviceBuffer dx = to_device(x), dw = to_device(w), du = to_device(u), dy(n * d * sizeof(float));
  cu::rms_norm(dx.as<float>(), dw.as<float>(), n, d, eps, dy.as<float>());
  const std::vector<float> norm = from_device(dy, n * d);
  cu::swiglu(dx.as<float>(), du.as<float>(), n * d, dy.as<float>());
  const std::vector<float> act = from_device(dy, n * d);
  double worst_norm = 0.0, worst_act = 0.0;
  for (int t = 0; t < n; ++t) {
    double ss = 0.0;
    for (int i = 0; i < d; ++i) ss += static_cast<double>(x[t * d + i]) * x[t * d + i];
    const double scale = 1.0 / std::sqrt(ss / d + eps);
    for (int i = 0; i < d; ++i) {
      const double want = x[t * d + i] * scale * w[i];
      worst_norm = std::fmax(worst_norm, std::fabs(norm[t * d + i] - want) / (1e-3 + std::fabs(want)));
      const double g = x[t * d + i], a = g / (1.0 + std::exp(-g)) * u[t * d + i];
      worst_act = std::fmax(worst_act, std::fabs(act[t * d + i] - a) / (1e-3 + std::fabs(a)));
    }
  }
  CHECK_NEAR(worst_norm, 0.0, 1e-4);  // relative: rsqrt and f32 sums
  CHECK_NEAR(worst_act, 0.0, 1e-3);   // relative: fast-math expf in silu
}

QWEN_TEST(cuda_argmax_picks_lowest_index_of_the_maximum) {
  if (!gpu_or_skip("cuda_argmax")) return;
  std::vector<float> x = random_floats(151936, 41);
  x[90001] = 50.0f;
  x[120000] = 50.0f;  // a tie: the lower index must win, as on the CPU
  cu::DeviceBuffer dx = to_device(x), dout(sizeof(int32_t));
  cu::argmax(dx.as<float>(), static_cast<int>(x.size()), dout.as<int32_t>());
  int32_t got = -1;
  cu::synchronize();
  dout.download(&got, sizeof got);
  CHECK(got == 90001);
}

#else  // !QWEN_HAVE_CUDA

// One notice for the whole CUDA suite, so a CPU-only build says why no CUDA test ran.
QWEN_TEST(cuda_backend_not_built) {
  std::printf("SKIP cuda: this build has no CUDA backend (no nvcc at configure time, or QWEN_CUDA=OFF)\n");
}

#endif
