// The load-time GPU self-check (loader/device.h): the same tokens through both backends, every
// logits row compared by cosine similarity and by the best token.
#include <algorithm>
#include <cmath>

#include "loader/device.h"
#include "model/model.h"

namespace qwen {

namespace {

constexpr int kCheckTokens = 16;
constexpr int kCheckPrefill = 12;  // evaluated as one batch (the GPU's GEMM path); the rest one by one

// Ids spread over the ordinary vocabulary (below Qwen2's added tokens at 151643), fixed so that a
// failure can be reproduced.
std::vector<int32_t> check_tokens(int n_vocab) {
  const int limit = std::max(1, std::min(n_vocab, 151643));
  std::vector<int32_t> t(kCheckTokens);
  for (int i = 0; i < kCheckTokens; ++i) t[i] = static_cast<int32_t>((1 + 7919LL * i) % limit);
  return t;
}

// Rows of logits for check_tokens: one prefill batch, then single-token steps.
std::vector<float> check_logits(Model& m, const std::vector<int32_t>& tokens) {
  const size_t V = static_cast<size_t>(m.hparams().n_vocab);
  const int seq = m.create_sequence();
  std::vector<float> all, row;
  try {
    m.eval(seq, tokens.data(), kCheckPrefill, LogitsMode::All, &all, nullptr);
    for (int i = kCheckPrefill; i < kCheckTokens; ++i) {
      m.eval(seq, &tokens[i], 1, LogitsMode::Last, &row, nullptr);
      all.insert(all.end(), row.begin(), row.end());
    }
  } catch (...) {
    m.free_sequence(seq);
    throw;
  }
  m.free_sequence(seq);
  if (all.size() != V * kCheckTokens) throw std::runtime_error("self-check: wrong number of logits rows");
  return all;
}

}  // namespace

SelfCheckResult compare_logits(const float* cpu, const float* gpu, int rows, int n_vocab, double cosine_threshold,
                               double tie_margin_sd) {
  SelfCheckResult r;
  r.ran = true;
  r.tokens = rows;
  r.cosine_threshold = cosine_threshold;
  r.tie_margin = tie_margin_sd;
  r.cosine_min = rows > 0 ? 1.0 : 0.0;
  for (int i = 0; i < rows; ++i) {
    const float* a = cpu + static_cast<size_t>(i) * n_vocab;
    const float* b = gpu + static_cast<size_t>(i) * n_vocab;
    double dot = 0, na = 0, nb = 0, sum = 0;
    int best_a = 0, best_b = 0;
    bool finite = true;
    for (int j = 0; j < n_vocab; ++j) {
      if (!std::isfinite(b[j]) || !std::isfinite(a[j])) finite = false;
      dot += static_cast<double>(a[j]) * b[j];
      na += static_cast<double>(a[j]) * a[j];
      nb += static_cast<double>(b[j]) * b[j];
      sum += a[j];
      if (a[j] > a[best_a]) best_a = j;
      if (b[j] > b[best_b]) best_b = j;
    }
    // A NaN or inf anywhere, or an all-zero row, is a failure whatever the other numbers say.
    const double cosine = finite && na > 0 && nb > 0 ? dot / std::sqrt(na * nb) : -1.0;
    r.cosine_min = std::min(r.cosine_min, cosine);
    if (best_a != best_b) {
      const double mean = sum / n_vocab;
      const double sd = std::sqrt(std::max(0.0, na / n_vocab - mean * mean));
      if (!finite || a[best_a] - a[best_b] > tie_margin_sd * sd) ++r.top1_mismatches;
    }
  }
  r.passed = rows > 0 && r.cosine_min >= cosine_threshold && r.top1_mismatches == 0;
  return r;
}

SelfCheckResult run_self_check(Model& gpu, Model& cpu) {
  const int V = cpu.hparams().n_vocab;
  if (gpu.hparams().n_vocab != V)
    throw std::runtime_error("self-check: the two backends disagree on the vocabulary size");
  const std::vector<int32_t> tokens = check_tokens(V);
  const std::vector<float> want = check_logits(cpu, tokens);
  const std::vector<float> got = check_logits(gpu, tokens);
  return compare_logits(want.data(), got.data(), kCheckTokens, V);
}

}  // namespace qwen
