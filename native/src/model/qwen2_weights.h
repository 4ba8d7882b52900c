// The Qwen2 hyper-parameters and weight views, read from a GGUF file and checked: architecture,
// every tensor present with the shape the hyper-parameters imply, and a type we can compute with.
// Matrices point straight into the file's mapping; small vectors (norms, biases) are converted
// to f32 once.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "model/model.h"
#include "model/weight_matrix.h"

namespace qwen {

class GgufFile;

struct Qwen2Layer {
  std::vector<float> attn_norm;       // (n_embd,)
  WeightMatrix wq, wk, wv, wo;        // wq (n_head*hd, n_embd), wk/wv (n_kv*hd, n_embd), wo (n_embd, n_head*hd)
  std::vector<float> bq, bk, bv;      // (n_head*hd,), (n_kv*hd,), (n_kv*hd,)
  std::vector<float> ffn_norm;        // (n_embd,)
  WeightMatrix w_gate, w_up, w_down;  // gate/up (n_ff, n_embd), down (n_embd, n_ff)
};

struct Qwen2Weights {
  HParams hp;
  WeightMatrix token_embd;         // (n_vocab, n_embd): row t is token t's embedding
  WeightMatrix output;             // (n_vocab, n_embd): token_embd when tied
  std::vector<float> output_norm;  // (n_embd,)
  std::vector<Qwen2Layer> layers;
  int head_dim() const { return hp.n_embd / hp.n_head; }
};

// Throws std::runtime_error("<path>: <problem>") on anything the engine cannot run.
Qwen2Weights load_qwen2_weights(const GgufFile& file);

}  // namespace qwen
