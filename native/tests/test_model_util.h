// Test-only tiny Qwen2 models: writes a GGUF with small dimensions and random weights (through
// the GGUF test writer) and keeps float copies of those weights, which the naive forward pass of
// test_reference_forward.h turns into the logits the engine is compared with.
#pragma once
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <unistd.h>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "quants/quants.h"
#include "test_gguf_writer.h"
#include "test_reference_forward.h"

namespace qwen_test {

// Written into every tiny model's metadata.
constexpr float kTinyRopeFreqBase = 10000.0f, kTinyRmsEps = 1e-6f;

struct TinySpec {
  int n_embd = 64, n_head = 4, n_head_kv = 2, n_ff = 96, n_layer = 2, n_vocab = 300, n_ctx = 512;
  qwen::GgmlType matrix_type = qwen::GgmlType::F32;  // every weight matrix
  qwen::GgmlType vector_type = qwen::GgmlType::F32;  // norms and biases
  bool tied = true;
  std::string arch = "qwen2";
  std::string drop_tensor;      // leave this tensor out
  std::string misshape_tensor;  // write this tensor with its first dimension doubled
  uint32_t seed = 1;
};

// Float copies of what was written (after quantization round-trips), by tensor name; matrices
// row-major (rows, cols).
struct TinyModel {
  TinySpec spec;
  std::string path;
  ReferenceWeights w;
};

inline TinyModel write_tiny_model(const TinySpec& s, const std::string& name) {
  TinyModel m{s, "/tmp/qwen-test-" + name + "-" + std::to_string(::getpid()) + ".gguf", {}};
  std::mt19937 rng(s.seed);
  Builder b;
  b.kv("general.architecture", v_str(s.arch));
  const std::string a = s.arch + ".";
  b.kv(a + "block_count", v_u32(s.n_layer)).kv(a + "embedding_length", v_u32(s.n_embd));
  b.kv(a + "feed_forward_length", v_u32(s.n_ff)).kv(a + "attention.head_count", v_u32(s.n_head));
  b.kv(a + "attention.head_count_kv", v_u32(s.n_head_kv)).kv(a + "context_length", v_u32(s.n_ctx));
  b.kv(a + "rope.freq_base", v_f32(kTinyRopeFreqBase)).kv(a + "attention.layer_norm_rms_epsilon", v_f32(kTinyRmsEps));

  // Adds a tensor of (rows, cols) floats drawn around `mean` with spread `scale`.
  auto add = [&](const std::string& tname, int rows, int cols, float mean, float scale, qwen::GgmlType type) {
    if (tname == s.drop_tensor) return;
    std::normal_distribution<float> d(mean, scale);
    std::vector<float> f((size_t)rows * cols);
    for (auto& x : f) x = d(rng);
    const qwen::TypeTraits& t = qwen::traits(type);
    const size_t rb = qwen::row_size(type, cols);
    std::vector<uint8_t> bytes(rb * rows);
    for (int r = 0; r < rows; ++r) {
      t.quantize_row(&f[(size_t)r * cols], bytes.data() + rb * r, cols);
      t.dequantize_row(bytes.data() + rb * r, &f[(size_t)r * cols], cols);
    }
    m.w[tname] = f;
    std::vector<uint64_t> dims = {(uint64_t)cols};
    if (rows > 1) dims.push_back((uint64_t)rows);
    if (tname == s.misshape_tensor) dims[0] *= 2;  // the bytes no longer match: only the shape check may catch it
    if (tname == s.misshape_tensor) bytes.resize(bytes.size() * 2);
    b.tensor(Tensor{tname, dims, (uint32_t)type, bytes});
  };
  const int hd = s.n_embd / s.n_head, qd = s.n_head * hd, kvd = s.n_head_kv * hd;
  const float in_scale = 1.0f / std::sqrt((float)s.n_embd);
  add("token_embd.weight", s.n_vocab, s.n_embd, 0.0f, 1.0f, s.matrix_type);
  add("output_norm.weight", 1, s.n_embd, 1.0f, 0.1f, s.vector_type);
  if (!s.tied) add("output.weight", s.n_vocab, s.n_embd, 0.0f, in_scale, s.matrix_type);
  for (int l = 0; l < s.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    add(p + "attn_norm.weight", 1, s.n_embd, 1.0f, 0.1f, s.vector_type);
    add(p + "attn_q.weight", qd, s.n_embd, 0.0f, 2 * in_scale, s.matrix_type);
    add(p + "attn_k.weight", kvd, s.n_embd, 0.0f, 2 * in_scale, s.matrix_type);
    add(p + "attn_v.weight", kvd, s.n_embd, 0.0f, in_scale, s.matrix_type);
    add(p + "attn_q.bias", 1, qd, 0.0f, 0.2f, s.vector_type);
    add(p + "attn_k.bias", 1, kvd, 0.0f, 0.2f, s.vector_type);
    add(p + "attn_v.bias", 1, kvd, 0.0f, 0.2f, s.vector_type);
    add(p + "attn_output.weight", s.n_embd, qd, 0.0f, in_scale, s.matrix_type);
    add(p + "ffn_norm.weight", 1, s.n_embd, 1.0f, 0.1f, s.vector_type);
    add(p + "ffn_gate.weight", s.n_ff, s.n_embd, 0.0f, in_scale, s.matrix_type);
    add(p + "ffn_up.weight", s.n_ff, s.n_embd, 0.0f, in_scale, s.matrix_type);
    add(p + "ffn_down.weight", s.n_embd, s.n_ff, 0.0f, 1.0f / std::sqrt((float)s.n_ff), s.matrix_type);
  }
  Bytes img = b.build();
  FILE* f = std::fopen(m.path.c_str(), "wb");
  if (!f || std::fwrite(img.data.data(), 1, img.size(), f) != img.size())
    throw std::runtime_error("cannot write " + m.path);
  std::fclose(f);
  return m;
}

// The shape the shared reference forward (test_reference_forward.h) needs for a tiny model.
inline ReferenceShape reference_shape(const TinySpec& s) {
  ReferenceShape r;
  r.n_embd = s.n_embd, r.n_head = s.n_head, r.n_head_kv = s.n_head_kv, r.n_ff = s.n_ff;
  r.n_layer = s.n_layer, r.n_vocab = s.n_vocab, r.tied = s.tied;
  r.rope_freq_base = kTinyRopeFreqBase, r.rms_eps = kTinyRmsEps;
  return r;
}

}  // namespace qwen_test
