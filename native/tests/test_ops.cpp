// CPU forward-pass kernels against naive double-precision references: RMSNorm, RoPE (plain and
// YaRN), SwiGLU, softmax, GQA attention over the paged KV cache, matmul for float and quantized
// weights, and the thread pool.
#include <atomic>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "base/fp16.h"
#include "cpu/attention.h"
#include "cpu/kv_cache.h"
#include "cpu/matmul.h"
#include "cpu/ops.h"
#include "cpu/thread_pool.h"
#include "cpu/vec.h"
#include "quants/quants.h"
#include "test_framework.h"

using namespace qwen;

namespace {

std::vector<float> random_vec(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// Naive RoPE for one head (NEOX halves), with YaRN written out from its definition: per pair i,
// theta_extrap = pos * base^(-2i/d), theta_interp = theta_extrap / s, blended by a ramp over the
// dimensions between the beta_fast and beta_slow corrections; cos/sin scaled by 0.1 ln(s) + 1.
void rope_reference(double* v, int d, int pos, double base, bool yarn, double s, int orig_ctx) {
  const int half = d / 2;
  auto corr = [&](double n_rot) { return d * std::log(orig_ctx / (n_rot * 2 * M_PI)) / (2 * std::log(base)); };
  const double low = std::max(0.0, std::floor(corr(32.0))), high = std::min(d - 1.0, std::ceil(corr(1.0)));
  for (int i = 0; i < half; ++i) {
    const double extrap = pos * std::pow(base, -2.0 * i / d);
    double theta = extrap, m = 1.0;
    if (yarn) {
      const double ramp = 1.0 - std::min(1.0, std::max(0.0, (i - low) / std::max(0.001, high - low)));
      theta = extrap / s * (1 - ramp) + extrap * ramp;
      m = 1.0 + 0.1 * std::log(s);
    }
    const double a = v[i], b = v[i + half];
    v[i] = (a * std::cos(theta) - b * std::sin(theta)) * m;
    v[i + half] = (a * std::sin(theta) + b * std::cos(theta)) * m;
  }
}

void check_rope(bool yarn) {
  const int d = 64, heads = 3;
  RopeConfig cfg;
  cfg.head_dim = d;
  cfg.freq_base = 1000000.0f;
  cfg.scaling = yarn ? "yarn" : "none";
  cfg.factor = yarn ? 4.0f : 1.0f;
  cfg.orig_ctx = 32768;
  Rope rope(cfg);
  double max_diff_from_plain = 0;
  for (int pos : {0, 1, 7, 1000, 50000}) {
    std::vector<float> x = random_vec(heads * d, 11 + pos);
    std::vector<float> got = x;
    rope.apply(got.data(), heads, pos);
    for (int h = 0; h < heads; ++h) {
      std::vector<double> ref(x.begin() + h * d, x.begin() + (h + 1) * d), plain = ref;
      rope_reference(ref.data(), d, pos, 1000000.0, yarn, 4.0, 32768);
      rope_reference(plain.data(), d, pos, 1000000.0, false, 1.0, 32768);
      for (int i = 0; i < d; ++i) {
        // float angles at pos 50000 carry ~pos * 2^-24 radians of error.
        CHECK_NEAR(got[h * d + i], ref[i], 2e-3 * (1 + std::fabs(ref[i])));
        max_diff_from_plain = std::max(max_diff_from_plain, std::fabs(ref[i] - plain[i]));
      }
    }
  }
  // YaRN must actually change the rotation (else this test could not tell it apart from none).
  if (yarn) CHECK(max_diff_from_plain > 0.1);
}

}  // namespace

QWEN_TEST(ops_rmsnorm_matches_reference) {
  const int n = 896;
  std::vector<float> x = random_vec(n, 1, 3.0f), w = random_vec(n, 2), y(n);
  rmsnorm(x.data(), w.data(), y.data(), n, 1e-6f);
  double ss = 0;
  for (float v : x) ss += (double)v * v;
  const double inv = 1.0 / std::sqrt(ss / n + 1e-6);
  for (int i = 0; i < n; ++i) CHECK_NEAR(y[i], x[i] * inv * w[i], 1e-5 * (1 + std::fabs(x[i] * inv * w[i])));
}

QWEN_TEST(ops_rope_neox_matches_reference) { check_rope(false); }
QWEN_TEST(ops_rope_yarn_matches_reference) { check_rope(true); }

QWEN_TEST(ops_swiglu_and_softmax) {
  const int n = 300;
  std::vector<float> g = random_vec(n, 3, 4.0f), u = random_vec(n, 4), g0 = g;
  swiglu_inplace(g.data(), u.data(), n);
  for (int i = 0; i < n; ++i) {
    const double s = g0[i] / (1.0 + std::exp(-(double)g0[i]));
    CHECK_NEAR(g[i], s * u[i], 1e-5 * (1 + std::fabs(s * u[i])));
  }
  std::vector<float> x = random_vec(n, 5, 10.0f), x0 = x;
  softmax_inplace(x.data(), n);
  double mx = -1e300, sum = 0;
  for (float v : x0) mx = std::max(mx, (double)v);
  for (float v : x0) sum += std::exp(v - mx);
  for (int i = 0; i < n; ++i) CHECK_NEAR(x[i], std::exp(x0[i] - mx) / sum, 1e-6);
}

// The vectorized SwiGLU (vec_ops().swiglu, AVX2 where the CPU has it) against double precision,
// including the tails that saturate exp: silu(-100) is -0 and silu(100) is 100.
QWEN_TEST(ops_vec_swiglu_matches_double_precision) {
  const int n = 1003;  // not a multiple of 8: the scalar tail runs too
  std::vector<float> g = random_vec(n, 11, 6.0f), u = random_vec(n, 12), g0;
  const float edges[] = {-100.0f, -88.0f, -87.5f, -20.0f, -1e-8f, 0.0f, 1e-8f, 20.0f, 88.0f, 100.0f};
  for (int i = 0; i < 10; ++i) g[i * 97] = edges[i];
  g0 = g;
  vec_ops().swiglu(n, g.data(), u.data());
  for (int i = 0; i < n; ++i) {
    const double s = g0[i] / (1.0 + std::exp(-(double)g0[i]));
    CHECK_NEAR(g[i], s * u[i], 2e-6 * std::fabs(s * u[i]) + 1e-30);
  }
}

// The vectorized softmax (vec_ops().softmax_scaled) against double precision on the float-scaled
// scores, for rows of several lengths (tails of 1..7 after the 8-wide passes) and a wide range of
// scores: exp within a few ulp of its float argument and the normalising sum to float rounding.
QWEN_TEST(ops_vec_softmax_scaled_matches_double_precision) {
  for (const int n : {1, 7, 8, 45, 301}) {
    std::vector<float> x = random_vec(n, 30 + n, 40.0f), x0 = x;
    const float scale = 0.125f;
    vec_ops().softmax_scaled(n, x.data(), scale);
    double mx = -1e300, sum = 0;
    for (float v : x0) mx = std::max(mx, (double)(v * scale));
    for (float v : x0) sum += std::exp((double)(v * scale) - mx);
    double total = 0;
    for (int i = 0; i < n; ++i) {
      const double d = (double)(x0[i] * scale) - mx, want = std::exp(d) / sum;
      // exp of a float argument: rounding d to float moves exp(d) by up to |d| * 2^-24 of itself.
      CHECK_NEAR(x[i], want, (4e-7 + 1.2e-7 * std::fabs(d)) * want + 1e-37);
      total += x[i];
    }
    CHECK_NEAR(total, 1.0, 1e-5);
  }
}

// A weighted run of f16 rows (vec_ops().axpy_f16_run, attention's P.V) equals one axpy_f16 per
// row and output, bit for bit: the same fused multiply-adds per element in the same order. Ten
// outputs take the eight-row step and a remainder; widths 64 and 20 the vector and scalar paths.
QWEN_TEST(ops_vec_axpy_f16_run_equals_row_by_row) {
  const VecOps& ops = vec_ops();
  for (const int n : {64, 20}) {
    const int count = 13, m = 10, x_stride = n + 8, alpha_stride = 17;
    const std::vector<float> xf = random_vec((size_t)count * x_stride, 40),
                             alpha = random_vec((size_t)m * alpha_stride, 41);
    std::vector<uint16_t> x(xf.size());
    for (size_t i = 0; i < xf.size(); ++i) x[i] = fp32_to_fp16(xf[i]);
    std::vector<float> got = random_vec((size_t)m * n, 42), want = got;
    ops.axpy_f16_run(n, count, alpha.data(), alpha_stride, x.data(), x_stride, got.data(), n, m);
    for (int p = 0; p < count; ++p)
      for (int j = 0; j < m; ++j)
        ops.axpy_f16(n, alpha[(size_t)j * alpha_stride + p], x.data() + (size_t)p * x_stride,
                     want.data() + (size_t)j * n);
    CHECK(std::memcmp(got.data(), want.data(), sizeof(float) * got.size()) == 0);
  }
}

// Q.K over a run of f16 rows (vec_ops().dot_f16_f32_run) against double precision, each score in
// its head's row at its position: ten heads take the eight-row step and a remainder, widths 64
// and 20 the vector and scalar paths; the slots between rows must stay untouched.
QWEN_TEST(ops_vec_dot_f16_f32_run_matches_double_precision) {
  const VecOps& ops = vec_ops();
  for (const int n : {64, 20}) {
    const int count = 13, m = 10, x_stride = n + 8, out_stride = 16;
    const std::vector<float> xf = random_vec((size_t)count * x_stride, 50), b = random_vec((size_t)m * n, 51);
    std::vector<uint16_t> x(xf.size());
    for (size_t i = 0; i < xf.size(); ++i) x[i] = fp32_to_fp16(xf[i]);
    std::vector<float> out((size_t)m * out_stride, -7.0f);
    ops.dot_f16_f32_run(n, count, x.data(), x_stride, b.data(), n, m, out.data(), out_stride);
    for (int j = 0; j < m; ++j) {
      for (int p = 0; p < out_stride; ++p) {
        const float got = out[(size_t)j * out_stride + p];
        if (p >= count) {
          CHECK(got == -7.0f);
          continue;
        }
        double want = 0, mag = 0;
        for (int i = 0; i < n; ++i) {
          const double t = (double)fp16_to_fp32(x[(size_t)p * x_stride + i]) * b[(size_t)j * n + i];
          want += t;
          mag += std::fabs(t);
        }
        CHECK_NEAR(got, want, 1e-6 * mag + 1e-6);
      }
    }
  }
}

// Attention over two interleaved sequences so the block lists are not contiguous, for a prefill
// batch that crosses a block boundary (per-KV-group path; a group of 5 covers the four-head step
// and its remainder) and for one decode token (per-head path); compared with naive causal GQA on
// the f16-rounded K/V.
QWEN_TEST(ops_attention_gqa_matches_naive) {
  for (const int n_tok : {5, 1}) {
    const int n_head = 10, n_kv = 2, hd = 16, kv_dim = n_kv * hd, group = n_head / n_kv;
    KvCache kv(/*layers*/ 2, kv_dim, /*capacity*/ 256);
    const int a = kv.create_sequence(), b = kv.create_sequence();
    const int pos0 = 30, total = pos0 + n_tok;
    kv.reserve(a, 20);
    kv.reserve(b, 40);
    kv.set_length(a, 20);
    kv.reserve(a, total - 20);
    std::vector<float> keys = random_vec((size_t)total * kv_dim, 7), vals = random_vec((size_t)total * kv_dim, 8);
    for (int p = 0; p < total; ++p) {
      for (int j = 0; j < kv_dim; ++j) {
        kv.k_row(1, a, p)[j] = fp32_to_fp16(keys[(size_t)p * kv_dim + j]);
        kv.v_row(1, a, p)[j] = fp32_to_fp16(vals[(size_t)p * kv_dim + j]);
        kv.k_row(1, b, p)[j] = fp32_to_fp16(100.0f);  // garbage in the other sequence
      }
    }
    kv.set_length(a, total);
    std::vector<float> q = random_vec((size_t)n_tok * n_head * hd, 9), out((size_t)n_tok * n_head * hd);
    ThreadPool pool(2);
    std::vector<float> scratch(2 * group * 256);
    attention(pool, kv, 1, a, AttentionShape{n_head, n_kv, hd}, q.data(), n_tok, pos0, out.data(), scratch.data(),
              group * 256);
    for (int i = 0; i < n_tok; ++i) {
      for (int h = 0; h < n_head; ++h) {
        const int g = h / group, n_pos = pos0 + i + 1;
        std::vector<double> s(n_pos);
        double mx = -1e300, sum = 0;
        for (int p = 0; p < n_pos; ++p) {
          double d = 0;
          for (int j = 0; j < hd; ++j)
            d += (double)q[((size_t)i * n_head + h) * hd + j] *
                 fp16_to_fp32(fp32_to_fp16(keys[(size_t)p * kv_dim + g * hd + j]));
          s[p] = d / std::sqrt((double)hd);
          mx = std::max(mx, s[p]);
        }
        for (double& v : s) sum += (v = std::exp(v - mx));
        for (int j = 0; j < hd; ++j) {
          double o = 0;
          for (int p = 0; p < n_pos; ++p)
            o += s[p] / sum * fp16_to_fp32(fp32_to_fp16(vals[(size_t)p * kv_dim + g * hd + j]));
          CHECK_NEAR(out[((size_t)i * n_head + h) * hd + j], o, 1e-4);
        }
      }
    }
  }
}

// Y = X @ W^T for a float and quantized weights, against dequantize-then-double-dot. The
// tolerance bounds the error of quantizing the activations to 8 bits (half a step of the block's
// largest |x| / 127 per element, weighted by |w|).
static void check_matmul(GgmlType type, int rows, int k, int n_tok) {
  const TypeTraits& t = traits(type);
  std::vector<float> wf = random_vec((size_t)rows * k, 21, 0.5f), x = random_vec((size_t)n_tok * k, 22);
  const size_t rb = row_size(type, k);
  std::vector<uint8_t> wq(rb * rows);
  for (int r = 0; r < rows; ++r) t.quantize_row(&wf[(size_t)r * k], wq.data() + rb * r, k);
  WeightMatrix w{type, wq.data(), rows, k, rb};
  ThreadPool pool(2);
  MatmulScratch scratch;
  std::vector<float> y((size_t)n_tok * rows), wd(k);
  matmul(pool, w, x.data(), n_tok, y.data(), scratch);
  const bool exact = t.vec_dot_type == GgmlType::F32;
  for (int r = 0; r < rows; ++r) {
    t.dequantize_row(wq.data() + rb * r, wd.data(), k);
    for (int tok = 0; tok < n_tok; ++tok) {
      double ref = 0, bound = 0;
      const float* xt = &x[(size_t)tok * k];
      for (int j = 0; j < k; ++j) ref += (double)wd[j] * xt[j];
      for (int j0 = 0; j0 < k; j0 += 32) {
        double amax = 0;
        for (int j = j0; j < j0 + 32; ++j) amax = std::max(amax, (double)std::fabs(xt[j]));
        for (int j = j0; j < j0 + 32; ++j) bound += std::fabs(wd[j]) * amax / 127.0 * 0.5;
      }
      CHECK_NEAR(y[(size_t)tok * rows + r], ref, exact ? 1e-4 * (1 + std::fabs(ref)) : 1.2 * bound + 1e-4);
    }
  }
}

QWEN_TEST(ops_matmul_f32) { check_matmul(GgmlType::F32, 37, 96, 3); }
QWEN_TEST(ops_matmul_f16_decode) { check_matmul(GgmlType::F16, 37, 96, 1); }
QWEN_TEST(ops_matmul_q8_0_batch) { check_matmul(GgmlType::Q8_0, 37, 256, 5); }
QWEN_TEST(ops_matmul_q4_0_decode) { check_matmul(GgmlType::Q4_0, 41, 256, 1); }
QWEN_TEST(ops_matmul_q4_k_batch) { check_matmul(GgmlType::Q4_K, 19, 512, 3); }
QWEN_TEST(ops_matmul_q6_k_decode) { check_matmul(GgmlType::Q6_K, 19, 256, 1); }

QWEN_TEST(ops_thread_pool_runs_every_task_once) {
  ThreadPool pool(3);
  for (int n : {1, 2, 7, 1000}) {
    std::vector<std::atomic<int>> hits(n);
    std::atomic<int> bad_thread{0};
    pool.parallel_for(n, [&](int task, int thread) {
      hits[task].fetch_add(1);
      if (thread < 0 || thread >= pool.size()) bad_thread.fetch_add(1);
    });
    for (auto& h : hits) CHECK(h.load() == 1);
    CHECK(bad_thread.load() == 0);
  }
  CHECK(physical_core_count() >= 1);
}

// matmul_multi (one quantization, one parallel_for over several matrices) equals separate
// matmuls, for matrices of one activation format and for a mix that takes the fallback path.
QWEN_TEST(ops_matmul_multi_equals_separate_calls) {
  const int k = 256, n_tok = 3;
  std::vector<float> x = random_vec((size_t)n_tok * k, 31);
  ThreadPool pool(2);
  MatmulScratch scratch;
  for (GgmlType second : {GgmlType::Q4_0, GgmlType::F32}) {
    const GgmlType types[3] = {GgmlType::Q8_0, second, GgmlType::Q8_0};
    const int rows[3] = {40, 9, 17};
    std::vector<std::vector<uint8_t>> bytes(3);
    WeightMatrix w[3];
    for (int i = 0; i < 3; ++i) {
      const size_t rb = row_size(types[i], k);
      std::vector<float> f = random_vec((size_t)rows[i] * k, 40 + i);
      bytes[i].resize(rb * rows[i]);
      for (int r = 0; r < rows[i]; ++r) traits(types[i]).quantize_row(&f[(size_t)r * k], bytes[i].data() + rb * r, k);
      w[i] = WeightMatrix{types[i], bytes[i].data(), rows[i], k, rb};
    }
    std::vector<float> ya[3], yb[3];
    const WeightMatrix* ws[3] = {&w[0], &w[1], &w[2]};
    float* ys[3];
    for (int i = 0; i < 3; ++i) {
      ya[i].assign((size_t)n_tok * rows[i], 0.0f);
      yb[i].assign((size_t)n_tok * rows[i], 1.0f);
      ys[i] = yb[i].data();
      matmul(pool, w[i], x.data(), n_tok, ya[i].data(), scratch);
    }
    matmul_multi(pool, ws, ys, 3, x.data(), n_tok, scratch);
    for (int i = 0; i < 3; ++i)
      for (size_t j = 0; j < ya[i].size(); ++j) CHECK_NEAR(yb[i][j], ya[i][j], 1e-6 * (1 + std::fabs(ya[i][j])));
  }
}
