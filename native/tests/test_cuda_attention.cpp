// CUDA rotary embedding + paged KV cache + attention against a naive CPU attention in double:
// a prefill chunk (flash kernel, one split), a one-token decode, and a decode at position 700
// (flash-decoding with several key splits merged by the combine kernel). The block table is a
// shuffled permutation, so a kernel that ignores the paging reads the wrong keys and fails.
#include <cstdio>

#include "test_framework.h"

#ifdef QWEN_HAVE_CUDA
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <vector>

#include "test_cuda_util.h"

using namespace qwen_cuda_test;
namespace cu = qwen::cuda;

namespace {

// Outputs are averages of V rows (|v| ~ 1); the GPU reads K/V as f16 like the reference below,
// so what remains is f32 vs double accumulation, fast-math exp and the rope angle in f32 tables.
constexpr double kAttnAbsTol = 2e-3;

struct Case {
  int n_head, n_head_kv, hd;
  float freq_scale;  // 1 = plain RoPE; 0.5 exercises linear scaling through the tables
};

class Harness {
 public:
  explicit Harness(const Case& c) : c_(c), shape_{c.n_head, c.n_head_kv, c.hd} {
    const int blocks = kCapacity / cu::kKvBlock;
    std::vector<int32_t> table(blocks);
    std::iota(table.begin(), table.end(), 0);
    std::shuffle(table.begin(), table.end(), std::mt19937(7));
    const size_t cache = static_cast<size_t>(kCapacity) * c.n_head_kv * c.hd;
    kc_ = cu::DeviceBuffer(cache * 2);
    vc_ = cu::DeviceBuffer(cache * 2);
    table_ = to_device(table);
    cu::RopeParams rp;
    rp.head_dim = c.hd;
    rp.freq_base = 1e6f;
    rp.freq_scale = c.freq_scale;
    std::vector<float> tables(c.hd);
    cu::make_rope_tables(rp, tables.data(), &mscale_);
    tables_ = to_device(tables);
    scratch_floats_ = cu::attention_scratch_floats(4, kCapacity, shape_);
    scratch_ = cu::DeviceBuffer(std::max<size_t>(scratch_floats_, 1) * 4);
  }

  // Appends n random tokens at the current length; returns the worst |gpu - reference| over
  // their attention outputs (or -1 when check is false and only the cache is filled).
  double step(int n, bool check, uint32_t seed) {
    const int qd = c_.n_head * c_.hd, kvd = c_.n_head_kv * c_.hd;
    std::vector<float> q = random_floats(n * qd, seed), k = random_floats(n * kvd, seed + 1),
                       v = random_floats(n * kvd, seed + 2);
    cu::DeviceBuffer dq = to_device(q), dk = to_device(k), dv = to_device(v), dout(n * qd * 4);
    cu::rope_and_store_kv(dq.as<float>(), dk.as<float>(), dv.as<float>(), n, len_, shape_, tables_.as<float>(), mscale_,
                          kc_.as<uint16_t>(), vc_.as<uint16_t>(), table_.as<int32_t>());
    cu::attention(dq.as<float>(), n, len_, shape_, kc_.as<uint16_t>(), vc_.as<uint16_t>(), table_.as<int32_t>(),
                  dout.as<float>(), scratch_.as<float>(), scratch_floats_);
    const std::vector<float> got = from_device(dout, n * qd);
    // Reference: rotate, keep K/V as the f16 cache holds them, attend causally.
    for (int t = 0; t < n; ++t) {
      rotate(&q[t * qd], c_.n_head, len_ + t);
      rotate(&k[t * kvd], c_.n_head_kv, len_ + t);
      for (int i = 0; i < kvd; ++i) {
        keys_.push_back(round_f16(k[t * kvd + i]));
        vals_.push_back(round_f16(v[t * kvd + i]));
      }
    }
    double worst = check ? 0.0 : -1.0;
    if (check) {
      const int group = c_.n_head / c_.n_head_kv;
      for (int t = 0; t < n; ++t)
        for (int h = 0; h < c_.n_head; ++h) {
          const int kvh = h / group, n_keys = len_ + t + 1;
          std::vector<double> s(n_keys);
          double m = -1e300, sum = 0.0;
          for (int p = 0; p < n_keys; ++p) {
            double dot = 0.0;
            for (int d = 0; d < c_.hd; ++d)
              dot += q[(t * c_.n_head + h) * c_.hd + d] * keys_[(p * c_.n_head_kv + kvh) * c_.hd + d];
            s[p] = dot / std::sqrt(static_cast<double>(c_.hd));
            m = std::max(m, s[p]);
          }
          for (double& x : s) sum += x = std::exp(x - m);
          for (int d = 0; d < c_.hd; ++d) {
            double o = 0.0;
            for (int p = 0; p < n_keys; ++p) o += s[p] * vals_[(p * c_.n_head_kv + kvh) * c_.hd + d];
            worst = std::max(worst, std::fabs(o / sum - got[(t * c_.n_head + h) * c_.hd + d]));
          }
        }
    }
    len_ += n;
    return worst;
  }

 private:
  static constexpr int kCapacity = 1024;
  // NEOX rotation of `heads` heads at position pos, angles in double.
  void rotate(float* x, int heads, int pos) const {
    const int half = c_.hd / 2;
    for (int h = 0; h < heads; ++h)
      for (int i = 0; i < half; ++i) {
        const double theta = pos * c_.freq_scale * std::pow(1e6, -2.0 * i / c_.hd);
        const double a = x[h * c_.hd + i], b = x[h * c_.hd + i + half];
        x[h * c_.hd + i] = static_cast<float>(a * std::cos(theta) - b * std::sin(theta));
        x[h * c_.hd + i + half] = static_cast<float>(a * std::sin(theta) + b * std::cos(theta));
      }
  }
  Case c_;
  cu::AttentionShape shape_;
  cu::DeviceBuffer kc_, vc_, table_, tables_, scratch_;
  size_t scratch_floats_ = 0;
  float mscale_ = 1.0f;
  int len_ = 0;
  std::vector<float> keys_, vals_;  // (positions, n_head_kv, hd) as the cache holds them
};

void run_case(const Case& c) {
  Harness h(c);
  const double prefill = h.step(45, true, 100);     // flash kernel over a partial query tile
  const double decode = h.step(1, true, 200);       // short decode: one split
  h.step(654, false, 300);                          // fill the cache to 700 positions
  const double long_decode = h.step(1, true, 400);  // 701 keys: several splits + combine
  const double two_tokens = h.step(2, true, 500);   // a 2-token decode batch at 701..702
  std::printf("    heads %d/%d hd %d: prefill %.2e decode %.2e long decode %.2e two-token %.2e\n", c.n_head,
              c.n_head_kv, c.hd, prefill, decode, long_decode, two_tokens);
  CHECK_NEAR(prefill, 0.0, kAttnAbsTol);
  CHECK_NEAR(decode, 0.0, kAttnAbsTol);
  CHECK_NEAR(long_decode, 0.0, kAttnAbsTol);
  CHECK_NEAR(two_tokens, 0.0, kAttnAbsTol);
}

}  // namespace

QWEN_TEST(cuda_attention_matches_naive_attention_small_heads) {
  if (!gpu_or_skip("cuda_attention hd64")) return;
  run_case({4, 2, 64, 0.5f});
}

QWEN_TEST(cuda_attention_matches_naive_attention_7b_heads) {
  if (!gpu_or_skip("cuda_attention hd128")) return;
  run_case({28, 4, 128, 1.0f});
}

#endif  // QWEN_HAVE_CUDA (without it, test_cuda_kernels.cpp prints the one skip notice)
