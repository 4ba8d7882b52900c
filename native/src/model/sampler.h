// Picks the next token from a logits row: repetition penalty, then greedy (temperature 0) or
// temperature + top-k + min-p + top-p sampling with a seeded generator. Exact (no candidate
// cut-off that could drop probability mass), and nothing is allocated per call once the reused
// buffers have grown to the vocabulary size.
#pragma once
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "model/model.h"

namespace qwen {

class Sampler {
 public:
  // logits (n_vocab,) is left unchanged. `rng` advances per call, so a sequence sampled with the
  // same seed from the same logits yields the same tokens.
  int32_t sample(const float* logits, int n_vocab, const SamplerParams& params, const int32_t* recent, int n_recent,
                 std::mt19937_64& rng);

 private:
  std::vector<std::pair<float, int32_t>> cand_;  // reused: (probability, token)
  std::vector<float> work_;                      // (n_vocab,) penalized logits
  std::vector<uint8_t> seen_;                    // (n_vocab,) repetition-penalty marks
};

}  // namespace qwen
