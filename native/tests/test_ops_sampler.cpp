// The sampler: greedy and top-k=1 are argmax, a fixed seed reproduces, the repetition penalty
// moves the argmax, filters keep only what they should, and draws follow the softmax.
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "model/sampler.h"
#include "test_framework.h"

using namespace qwen;

namespace {
std::vector<float> logits_fixture(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 2.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}
int argmax(const std::vector<float>& v) { return (int)(std::max_element(v.begin(), v.end()) - v.begin()); }
}  // namespace

QWEN_TEST(sampler_greedy_and_top_k1_are_argmax) {
  Sampler s;
  std::mt19937_64 rng(1);
  for (uint32_t seed = 0; seed < 5; ++seed) {
    std::vector<float> l = logits_fixture(300, seed);
    SamplerParams greedy;
    CHECK(s.sample(l.data(), 300, greedy, nullptr, 0, rng) == argmax(l));
    SamplerParams k1;
    k1.temperature = 1.5f;
    k1.top_k = 1;
    CHECK(s.sample(l.data(), 300, k1, nullptr, 0, rng) == argmax(l));
  }
}

QWEN_TEST(sampler_fixed_seed_reproduces) {
  std::vector<float> l = logits_fixture(1000, 3);
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_p = 0.95f;
  p.min_p = 0.01f;
  p.top_k = 200;
  auto draw = [&](uint64_t seed) {
    Sampler s;
    std::mt19937_64 rng(seed);
    std::vector<int> out;
    for (int i = 0; i < 50; ++i) out.push_back(s.sample(l.data(), 1000, p, nullptr, 0, rng));
    return out;
  };
  CHECK(draw(42) == draw(42));
  CHECK(draw(42) != draw(43));
}

QWEN_TEST(sampler_repetition_penalty_moves_argmax) {
  std::vector<float> l(10, 0.0f);
  l[3] = 2.0f;
  l[5] = 1.5f;
  Sampler s;
  std::mt19937_64 rng(0);
  SamplerParams p;
  p.repeat_penalty = 1.5f;
  const int32_t recent[] = {3, 3, 3};
  CHECK(s.sample(l.data(), 10, p, recent, 3, rng) == 5);  // 2.0 / 1.5 < 1.5
  CHECK(l[3] == 2.0f);                                    // the input row is left unchanged
}

QWEN_TEST(sampler_filters_keep_only_allowed_tokens) {
  std::vector<float> l = logits_fixture(300, 9);
  std::vector<int> order(300);
  for (int i = 0; i < 300; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](int a, int b) { return l[a] > l[b]; });
  Sampler s;
  std::mt19937_64 rng(5);
  SamplerParams k5;
  k5.temperature = 2.0f;
  k5.top_k = 5;
  SamplerParams minp;
  minp.temperature = 1.0f;
  minp.min_p = 0.5f;
  for (int i = 0; i < 300; ++i) {
    const int t = s.sample(l.data(), 300, k5, nullptr, 0, rng);
    CHECK(std::find(order.begin(), order.begin() + 5, t) != order.begin() + 5);
    const int m = s.sample(l.data(), 300, minp, nullptr, 0, rng);
    CHECK(std::exp(l[m] - l[order[0]]) >= 0.5 - 1e-6);
  }
}

// 20000 draws from a 4-token distribution at temperature 0.7 land within 2% of the softmax.
QWEN_TEST(sampler_draws_follow_softmax) {
  std::vector<float> l = {1.0f, 0.5f, 0.0f, -1.0f};
  SamplerParams p;
  p.temperature = 0.7f;
  Sampler s;
  std::mt19937_64 rng(123);
  std::vector<int> counts(4, 0);
  const int n = 20000;
  for (int i = 0; i < n; ++i) counts[s.sample(l.data(), 4, p, nullptr, 0, rng)]++;
  double z = 0;
  for (float v : l) z += std::exp(v / 0.7);
  for (int i = 0; i < 4; ++i) CHECK_NEAR((double)counts[i] / n, std::exp(l[i] / 0.7) / z, 0.02);
  // top_p = 0.5: the first token alone holds 56%, so only it remains.
  SamplerParams tp = p;
  tp.top_p = 0.5f;
  for (int i = 0; i < 1000; ++i) CHECK(s.sample(l.data(), 4, tp, nullptr, 0, rng) == 0);
}
