#include "model/sampler.h"

#include <algorithm>
#include <cmath>

namespace qwen {

namespace {
bool by_prob_desc(const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
  return a.first > b.first || (a.first == b.first && a.second < b.second);
}
}  // namespace

int32_t Sampler::sample(const float* logits, int n_vocab, const SamplerParams& p, const int32_t* recent, int n_recent,
                        std::mt19937_64& rng) {
  work_.assign(logits, logits + n_vocab);
  if (p.repeat_penalty != 1.0f && n_recent > 0) {
    // Penalize each distinct recent token once (as llama.cpp does), pushing its logit towards
    // "less likely": positive logits are divided, negative ones multiplied.
    seen_.assign(n_vocab, 0);
    for (int i = 0; i < n_recent; ++i) {
      const int32_t t = recent[i];
      if (t < 0 || t >= n_vocab || seen_[t]) continue;
      seen_[t] = 1;
      work_[t] = work_[t] > 0 ? work_[t] / p.repeat_penalty : work_[t] * p.repeat_penalty;
    }
  }
  const int32_t best = (int32_t)(std::max_element(work_.begin(), work_.end()) - work_.begin());
  if (p.temperature <= 0.0f || p.top_k == 1) return best;

  // Temperature first, then the filters on the tempered distribution (as Hugging Face's
  // generate() orders them). Weights are relative to the best token (weight 1), unnormalized.
  const float inv_t = 1.0f / p.temperature;
  const float mx = work_[best];
  cand_.resize(n_vocab);
  for (int i = 0; i < n_vocab; ++i) cand_[i] = {std::exp((work_[i] - mx) * inv_t), i};
  // min-p: drop tokens less likely than min_p times the most likely one (whose weight is 1).
  size_t n = cand_.size();
  if (p.min_p > 0.0f) {
    const float floor = p.min_p;
    n = std::partition(cand_.begin(), cand_.end(), [&](const auto& c) { return c.first >= floor; }) - cand_.begin();
  }
  // Mass of what min-p kept: top-p is measured against it when top-k is off.
  double total = 0;
  for (size_t i = 0; i < n; ++i) total += cand_[i].first;
  const size_t k = (p.top_k > 0 && (size_t)p.top_k < n) ? (size_t)p.top_k : n;
  if (k < n) {
    // top-k: the k most likely, sorted (top-p below needs the order).
    std::partial_sort(cand_.begin(), cand_.begin() + k, cand_.begin() + n, by_prob_desc);
    n = k;
    total = 0;
    for (size_t i = 0; i < n; ++i) total += cand_[i].first;
  } else if (p.top_p < 1.0f) {
    // Sort only a head of 1024 when it already holds top_p of the mass (the usual case: sorting
    // all 152k logits would cost milliseconds); otherwise sort everything.
    const size_t head = std::min(n, (size_t)1024);
    std::partial_sort(cand_.begin(), cand_.begin() + head, cand_.begin() + n, by_prob_desc);
    double mass = 0;
    for (size_t i = 0; i < head; ++i) mass += cand_[i].first;
    if (mass < p.top_p * total) std::sort(cand_.begin(), cand_.begin() + n, by_prob_desc);
  }
  // top-p: the smallest sorted prefix whose mass reaches top_p of what is left.
  if (p.top_p < 1.0f) {
    double acc = 0;
    size_t m = 0;
    while (m < n) {
      acc += cand_[m].first;
      ++m;
      if (acc >= p.top_p * total) break;
    }
    n = std::max<size_t>(1, m);
    total = acc;
  }
  std::uniform_real_distribution<double> uni(0.0, total);
  double r = uni(rng);
  for (size_t i = 0; i < n; ++i) {
    r -= cand_[i].first;
    if (r <= 0) return cand_[i].second;
  }
  return cand_[n - 1].second;
}

}  // namespace qwen
