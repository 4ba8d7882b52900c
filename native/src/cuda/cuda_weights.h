// Qwen2 weights resident on the GPU. The CPU loader (model/qwen2_weights.h) reads and checks the
// hyper-parameters and every tensor's name, shape and type; this copies what it found to the GPU
// once: matrices in their stored (quantized) format, norms and biases as the f32 vectors the
// loader already expanded.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "cuda/cuda_api.h"
#include "model/qwen2_weights.h"

namespace qwen {
namespace cuda {

// A weight matrix W (rows, k) in GGML order (k = row length), stored as `type`.
struct DeviceMatrix {
  GgmlType type = GgmlType::F32;
  int64_t rows = 0, k = 0;
  DeviceBuffer data;
};

struct DeviceLayer {
  DeviceBuffer attn_norm, ffn_norm;   // (n_embd,) f32
  DeviceMatrix wq, wk, wv, wo;        // (q_dim, n_embd), (kv_dim, n_embd) x2, (n_embd, q_dim)
  DeviceBuffer bq, bk, bv;            // (q_dim,), (kv_dim,), (kv_dim,) f32
  DeviceMatrix w_gate, w_up, w_down;  // (n_ff, n_embd) x2, (n_embd, n_ff)
};

struct DeviceWeights {
  DeviceMatrix tok_embd;     // (n_vocab, n_embd)
  DeviceMatrix output;       // (n_vocab, n_embd); empty when tied to tok_embd
  DeviceBuffer output_norm;  // (n_embd,) f32
  std::vector<DeviceLayer> layers;
  size_t bytes = 0;  // total uploaded, for the status line
  const DeviceMatrix& lm_head() const { return output.rows ? output : tok_embd; }
};

// Uploads every tensor of `w` (views into the GGUF mapping of `path`); progress(0..1) per layer.
// Throws std::runtime_error("<path>: tensor <name> ...") for a type the GPU kernels cannot read.
DeviceWeights upload_weights(const std::string& path, const Qwen2Weights& w,
                             const std::function<void(float)>& progress);

}  // namespace cuda
}  // namespace qwen
