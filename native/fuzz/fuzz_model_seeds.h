// Valid Qwen2 model files small enough to fuzz the model loader and one forward pass by the
// hundred thousand: every tensor the loader asks for, with the shapes the hyper-parameters imply,
// in several weight types. Built with the test GGUF writer, so the mutation fuzzer also knows
// where each count, length, dimension, type and offset sits and can smash it precisely.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "quants/quants.h"
#include "../tests/test_gguf_writer.h"

namespace qwen_fuzz {

struct ModelSeedSpec {
  int n_embd, n_head, n_head_kv, n_ff, n_layer, n_vocab, n_ctx;
  qwen::GgmlType attn_type, ffn_type, embd_type, vector_type;
  bool tied;
  bool yarn;  // adds qwen2.rope.scaling.* keys so mutations reach the rope-scaling parse
};

// Small deterministic weights in [-0.5, 0.5): values do not matter, only that they are finite
// and written through the type's own quantizer, so the seed is a real file of that type.
inline std::vector<uint8_t> weight_bytes(qwen::GgmlType type, int rows, int cols, uint32_t salt) {
  const qwen::TypeTraits& t = qwen::traits(type);
  const size_t rb = qwen::row_size(type, cols);
  std::vector<uint8_t> out(rb * rows);
  std::vector<float> row(cols);
  uint32_t state = 2654435761u * (salt + 1);
  for (int r = 0; r < rows; ++r) {
    for (float& x : row) {
      state = state * 1664525u + 1013904223u;
      x = float(state >> 8) / float(1u << 24) - 0.5f;
    }
    t.quantize_row(row.data(), out.data() + rb * r, cols);
  }
  return out;
}

inline qwen_test::Bytes make_model_seed(const ModelSeedSpec& s) {
  using namespace qwen_test;
  Builder b;
  b.kv("general.architecture", v_str("qwen2")).kv("general.name", v_str("fuzz seed"));
  b.kv("qwen2.block_count", v_u32(s.n_layer)).kv("qwen2.embedding_length", v_u32(s.n_embd));
  b.kv("qwen2.feed_forward_length", v_u32(s.n_ff)).kv("qwen2.attention.head_count", v_u32(s.n_head));
  b.kv("qwen2.attention.head_count_kv", v_u32(s.n_head_kv)).kv("qwen2.context_length", v_u32(s.n_ctx));
  b.kv("qwen2.rope.freq_base", v_f32(10000.0f)).kv("qwen2.attention.layer_norm_rms_epsilon", v_f32(1e-6f));
  if (s.yarn) {
    b.kv("qwen2.rope.scaling.type", v_str("yarn")).kv("qwen2.rope.scaling.factor", v_f32(4.0f));
    b.kv("qwen2.rope.scaling.original_context_length", v_u32(s.n_ctx / 4));
  }
  uint32_t salt = 0;
  auto add = [&](const std::string& name, int rows, int cols, qwen::GgmlType type) {
    std::vector<uint64_t> dims = {uint64_t(cols)};
    if (rows > 1) dims.push_back(uint64_t(rows));
    b.tensor(Tensor{name, dims, uint32_t(type), weight_bytes(type, rows, cols, salt++)});
  };
  const int hd = s.n_embd / s.n_head, q_dim = s.n_head * hd, kv_dim = s.n_head_kv * hd;
  add("token_embd.weight", s.n_vocab, s.n_embd, s.embd_type);
  add("output_norm.weight", 1, s.n_embd, s.vector_type);
  if (!s.tied) add("output.weight", s.n_vocab, s.n_embd, s.embd_type);
  for (int l = 0; l < s.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    add(p + "attn_norm.weight", 1, s.n_embd, s.vector_type);
    add(p + "attn_q.weight", q_dim, s.n_embd, s.attn_type);
    add(p + "attn_k.weight", kv_dim, s.n_embd, s.attn_type);
    add(p + "attn_v.weight", kv_dim, s.n_embd, s.attn_type);
    add(p + "attn_q.bias", 1, q_dim, s.vector_type);
    add(p + "attn_k.bias", 1, kv_dim, s.vector_type);
    add(p + "attn_v.bias", 1, kv_dim, s.vector_type);
    add(p + "attn_output.weight", s.n_embd, q_dim, s.attn_type);
    add(p + "ffn_norm.weight", 1, s.n_embd, s.vector_type);
    add(p + "ffn_gate.weight", s.n_ff, s.n_embd, s.ffn_type);
    add(p + "ffn_up.weight", s.n_ff, s.n_embd, s.ffn_type);
    add(p + "ffn_down.weight", s.n_embd, s.n_ff, s.ffn_type);
  }
  return b.build();
}

// Three models of a few KB each: all-F32 with separate output; F16 matrices with BF16 norms and
// grouped-query attention; block-quantized (Q8_0 attention, Q4_0 feed-forward, tied embeddings,
// YaRN rope scaling) over two layers.
inline std::vector<qwen_test::Bytes> make_model_seeds() {
  using qwen::GgmlType;
  return {
      make_model_seed(
          {8, 2, 1, 16, 1, 16, 64, GgmlType::F32, GgmlType::F32, GgmlType::F32, GgmlType::F32, false, false}),
      make_model_seed(
          {16, 2, 1, 24, 1, 20, 128, GgmlType::F16, GgmlType::F16, GgmlType::F16, GgmlType::BF16, false, false}),
      make_model_seed(
          {32, 4, 2, 64, 2, 24, 256, GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q8_0, GgmlType::F16, true, true}),
  };
}

}  // namespace qwen_fuzz
