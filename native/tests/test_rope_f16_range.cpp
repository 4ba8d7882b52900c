// Two CUDA review findings, checked on the CPU: the GPU applies YaRN / linear rope scaling
// exactly when the CPU does (one shared decision, and the GPU's host-built rope tables give the
// CPU Rope's angles), and the prefill GEMM's f16 conversion survives Qwen2.5-sized activations
// (the scale function of cuda/f16_range.h, run here on the CPU exactly as the kernel runs it).
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "base/fp16.h"
#include "cpu/ops.h"
#include "cuda/f16_range.h"
#include "model/model.h"
#include "test_framework.h"
#ifdef QWEN_HAVE_CUDA
#include "cuda/cuda_api.h"
#endif

using qwen::RopeScaling;

QWEN_TEST(rope_scaling_decision_is_the_same_for_every_backend) {
  CHECK(qwen::rope_scaling_mode("none", 4.0f) == RopeScaling::None);
  CHECK(qwen::rope_scaling_mode("yarn", 4.0f) == RopeScaling::Yarn);
  CHECK(qwen::rope_scaling_mode("linear", 2.0f) == RopeScaling::Linear);
  // A factor of 1 changes nothing and one below 1 is not a context extension: neither scales.
  CHECK(qwen::rope_scaling_mode("yarn", 1.0f) == RopeScaling::None);
  CHECK(qwen::rope_scaling_mode("yarn", 0.5f) == RopeScaling::None);
  CHECK(qwen::rope_scaling_mode("linear", 0.25f) == RopeScaling::None);
  CHECK(qwen::rope_scaling_mode("yarn", std::nanf("")) == RopeScaling::None);
  // The CPU Rope follows it: YaRN with factor 0.5 rotates exactly as no scaling does.
  qwen::RopeConfig plain, odd;
  plain.head_dim = odd.head_dim = 64;
  odd.scaling = "yarn";
  odd.factor = 0.5f;
  odd.orig_ctx = 4096;
  std::vector<float> a(64), b(64);
  for (int i = 0; i < 64; ++i) a[i] = b[i] = std::sin(0.3f * i) + 0.1f;
  qwen::Rope(plain).apply(a.data(), 1, 12345);
  qwen::Rope(odd).apply(b.data(), 1, 12345);
  for (int i = 0; i < 64; ++i) CHECK(a[i] == b[i]);
}

#ifdef QWEN_HAVE_CUDA
// The GPU's angle for pair i at position pos, from its host-built tables (cuda/rope.cu), against
// the CPU Rope rotating a unit vector: the same cos/sin up to float rounding, for every declared
// scaling, including the ones the shared decision ignores.
QWEN_TEST(cuda_rope_tables_apply_scaling_exactly_when_the_cpu_does) {
  struct Case {
    const char* type;
    float factor;
  };
  const Case cases[] = {{"none", 1.0f}, {"yarn", 4.0f},   {"yarn", 1.0f},
                        {"yarn", 0.5f}, {"linear", 2.0f}, {"linear", 0.5f}};
  for (const Case& c : cases) {
    qwen::HParams hp;
    hp.n_embd = 896;
    hp.n_head = 14;
    hp.n_ctx_train = 32768;
    hp.rope_freq_base = 1e6f;
    hp.rope_scaling_type = c.type;
    hp.rope_scaling_factor = c.factor;
    hp.rope_orig_ctx = 32768;
    const qwen::cuda::RopeParams p = qwen::cuda::rope_params_for(hp);
    const int hd = p.head_dim, half = hd / 2;
    std::vector<float> tables(hd);
    float mscale = 0;
    qwen::cuda::make_rope_tables(p, tables.data(), &mscale);
    qwen::RopeConfig cfg;
    cfg.head_dim = hd;
    cfg.freq_base = hp.rope_freq_base;
    cfg.scaling = c.type;
    cfg.factor = c.factor;
    cfg.orig_ctx = hp.rope_orig_ctx;
    const qwen::Rope rope(cfg);
    double worst = 0;
    for (int pos : {1, 100, 5000, 60000}) {
      for (int i = 0; i < half; ++i) {
        std::vector<float> v(hd, 0.0f);
        v[i] = 1.0f;  // rotating (1, 0) gives (cos, sin) * mscale
        rope.apply(v.data(), 1, pos);
        const double theta = static_cast<double>(pos) * tables[i] * tables[half + i];
        // Relative to the rotation: float angles at position 60000 carry ~4e-3 rad of rounding.
        worst = std::max(worst, std::fabs(v[i] - std::cos(theta) * mscale));
        worst = std::max(worst, std::fabs(v[i + half] - std::sin(theta) * mscale));
      }
    }
    std::printf("    %s x%.2f: worst |cpu - gpu table| %.2e, mscale %.4f\n", c.type, c.factor, worst, mscale);
    CHECK_NEAR(worst, 0.0, 2e-2);
    const bool scaled = qwen::rope_scaling_mode(c.type, c.factor) != RopeScaling::None;
    CHECK(scaled == (p.freq_scale != 1.0f));
  }
}
#else
QWEN_TEST(cuda_rope_tables_apply_scaling_exactly_when_the_cpu_does) {
  std::printf("SKIP cuda: built without nvcc, the CUDA rope tables are not compiled (cuda_rope_tables)\n");
}
#endif

QWEN_TEST(gemm_f16_row_scale_keeps_large_activations_finite) {
  using qwen::cuda::f16_row_scale;
  CHECK(f16_row_scale(0.0f) == 1.0f);
  CHECK(f16_row_scale(100.0f) == 1.0f);
  CHECK(f16_row_scale(32768.0f) == 1.0f);
  CHECK(f16_row_scale(65504.0f) == 2.0f);
  CHECK(f16_row_scale(1e5f) == 4.0f);
  CHECK(f16_row_scale(3e6f) == 128.0f);
  CHECK(f16_row_scale(INFINITY) == 1.0f);
  CHECK(f16_row_scale(std::nanf("")) == 1.0f);

  // One FFN row as Qwen2.5 produces it: mostly small values, a few outliers up to 1e5, times a
  // ffn_down row of small weights. The GEMM rounds x / s and w to f16, multiplies in f32 and
  // scales back; the unscaled rounding turns the outliers into infinity.
  const int k = 4864;
  std::mt19937 rng(5);
  std::normal_distribution<float> small(0.0f, 2.0f), wd(0.0f, 0.02f);
  std::vector<float> x(k), w(k);
  for (int i = 0; i < k; ++i) x[i] = small(rng), w[i] = wd(rng);
  x[17] = 1.0e5f;
  x[901] = -7.3e4f;
  x[3000] = 4.1e4f;
  double want = 0;
  for (int i = 0; i < k; ++i) want += static_cast<double>(x[i]) * w[i];
  float amax = 0;
  for (float v : x) amax = std::max(amax, std::fabs(v));
  const float s = f16_row_scale(amax);
  float got = 0, unscaled = 0;
  for (int i = 0; i < k; ++i) {
    const float wh = qwen::fp16_to_fp32(qwen::fp32_to_fp16(w[i]));
    got += qwen::fp16_to_fp32(qwen::fp32_to_fp16(x[i] / s)) * wh;
    unscaled += qwen::fp16_to_fp32(qwen::fp32_to_fp16(x[i])) * wh;
  }
  got *= s;
  double mag = 0;
  for (int i = 0; i < k; ++i) mag += std::fabs(static_cast<double>(x[i]) * w[i]);
  std::printf("    activations up to 1e5: scale %.0f, result %.3f vs %.3f exact (unscaled f16: %g)\n", s, got, want,
              unscaled);
  CHECK(!std::isfinite(unscaled));
  CHECK(std::isfinite(got));
  // f16 keeps 11 significant bits: each product is off by at most ~2^-10 of its size.
  CHECK_NEAR(got, want, mag * 1e-3);
}
