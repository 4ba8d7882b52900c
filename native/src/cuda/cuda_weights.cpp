// Copying the checked Qwen2 weights from the GGUF mapping into GPU memory (see cuda_weights.h).
#include "cuda/cuda_weights.h"

#include <stdexcept>

#include "quants/quants.h"

namespace qwen {
namespace cuda {

namespace {

DeviceMatrix upload_matrix(const std::string& path, const std::string& name, const WeightMatrix& m, size_t* bytes) {
  if (!weight_type_supported(m.type)) {
    const TypeTraits* tt = type_traits(static_cast<uint32_t>(m.type));
    throw std::runtime_error(path + ": tensor " + name + " has type " + (tt ? tt->name : "?") +
                             ", which the CUDA backend cannot compute with");
  }
  DeviceMatrix d;
  d.type = m.type;
  d.rows = m.rows;
  d.k = m.cols;
  const size_t n = static_cast<size_t>(m.rows) * m.row_bytes;
  d.data = DeviceBuffer(n);
  d.data.upload(m.data, n);
  *bytes += n;
  return d;
}

DeviceBuffer upload_vector(const std::vector<float>& v, size_t* bytes) {
  DeviceBuffer b(v.size() * sizeof(float));
  b.upload(v.data(), v.size() * sizeof(float));
  *bytes += v.size() * sizeof(float);
  return b;
}

}  // namespace

DeviceWeights upload_weights(const std::string& path, const Qwen2Weights& w,
                             const std::function<void(float)>& progress) {
  DeviceWeights d;
  d.tok_embd = upload_matrix(path, "token_embd.weight", w.token_embd, &d.bytes);
  // A tied output shares the embedding's bytes: upload it once.
  if (!w.hp.tied_embeddings) d.output = upload_matrix(path, "output.weight", w.output, &d.bytes);
  d.output_norm = upload_vector(w.output_norm, &d.bytes);
  for (size_t i = 0; i < w.layers.size(); ++i) {
    const Qwen2Layer& L = w.layers[i];
    const std::string p = "blk." + std::to_string(i) + ".";
    DeviceLayer g;
    g.attn_norm = upload_vector(L.attn_norm, &d.bytes);
    g.wq = upload_matrix(path, p + "attn_q.weight", L.wq, &d.bytes);
    g.wk = upload_matrix(path, p + "attn_k.weight", L.wk, &d.bytes);
    g.wv = upload_matrix(path, p + "attn_v.weight", L.wv, &d.bytes);
    g.bq = upload_vector(L.bq, &d.bytes);
    g.bk = upload_vector(L.bk, &d.bytes);
    g.bv = upload_vector(L.bv, &d.bytes);
    g.wo = upload_matrix(path, p + "attn_output.weight", L.wo, &d.bytes);
    g.ffn_norm = upload_vector(L.ffn_norm, &d.bytes);
    g.w_gate = upload_matrix(path, p + "ffn_gate.weight", L.w_gate, &d.bytes);
    g.w_up = upload_matrix(path, p + "ffn_up.weight", L.w_up, &d.bytes);
    g.w_down = upload_matrix(path, p + "ffn_down.weight", L.w_down, &d.bytes);
    d.layers.push_back(std::move(g));
    if (progress) progress(static_cast<float>(i + 1) / w.layers.size());
  }
  return d;
}

}  // namespace cuda
}  // namespace qwen
