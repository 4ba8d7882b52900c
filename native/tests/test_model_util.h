// Test-only tiny Qwen2 models: writes a GGUF with small dimensions and random weights (through
// the GGUF test writer), keeps float copies of those weights, and runs a naive double-precision
// forward pass over them as the reference the engine's logits are compared with.
#pragma once
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <unistd.h>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "base/fp16.h"
#include "quants/quants.h"
#include "test_gguf_writer.h"

namespace qwen_test {

struct TinySpec {
  int n_embd = 64, n_head = 4, n_head_kv = 2, n_ff = 96, n_layer = 2, n_vocab = 300, n_ctx = 512;
  qwen::GgmlType matrix_type = qwen::GgmlType::F32;   // every weight matrix
  qwen::GgmlType vector_type = qwen::GgmlType::F32;   // norms and biases
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
  std::map<std::string, std::vector<float>> w;
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
  b.kv(a + "rope.freq_base", v_f32(10000.0f)).kv(a + "attention.layer_norm_rms_epsilon", v_f32(1e-6f));

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
  if (!f || std::fwrite(img.data.data(), 1, img.size(), f) != img.size()) throw std::runtime_error("cannot write " + m.path);
  std::fclose(f);
  return m;
}

// Naive forward of tokens at positions 0..n-1 in double precision (K and V rounded to f16 as the
// engine's cache stores them); returns logits (n, n_vocab).
inline std::vector<double> reference_logits(const TinyModel& m, const std::vector<int32_t>& tokens) {
  const TinySpec& s = m.spec;
  const int E = s.n_embd, hd = E / s.n_head, kvd = s.n_head_kv * hd, n = (int)tokens.size(), F = s.n_ff;
  auto W = [&](const std::string& k) -> const std::vector<float>& { return m.w.at(k); };
  // y (rows,) = W (rows, cols) @ x (cols,)
  auto mv = [](const std::vector<float>& w, const std::vector<double>& x, int rows, int cols) {
    std::vector<double> y(rows, 0.0);
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) y[r] += (double)w[(size_t)r * cols + c] * x[c];
    return y;
  };
  auto norm = [&](const std::vector<double>& x, const std::vector<float>& w) {
    double ss = 0;
    for (double v : x) ss += v * v;
    const double inv = 1.0 / std::sqrt(ss / x.size() + 1e-6);
    std::vector<double> y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * inv * w[i];
    return y;
  };
  auto rope = [&](std::vector<double>& v, int heads, int pos) {
    for (int h = 0; h < heads; ++h)
      for (int i = 0; i < hd / 2; ++i) {
        const double th = pos * std::pow(10000.0, -2.0 * i / hd);
        double& a = v[h * hd + i];
        double& b = v[h * hd + i + hd / 2];
        const double a0 = a, b0 = b;
        a = a0 * std::cos(th) - b0 * std::sin(th);
        b = a0 * std::sin(th) + b0 * std::cos(th);
      }
  };
  auto f16 = [](double x) { return (double)qwen::fp16_to_fp32(qwen::fp32_to_fp16((float)x)); };
  std::vector<std::vector<double>> x(n, std::vector<double>(E));
  for (int t = 0; t < n; ++t)
    for (int i = 0; i < E; ++i) x[t][i] = W("token_embd.weight")[(size_t)tokens[t] * E + i];
  for (int l = 0; l < s.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    std::vector<std::vector<double>> q(n), k(n), v(n);
    for (int t = 0; t < n; ++t) {
      std::vector<double> xn = norm(x[t], W(p + "attn_norm.weight"));
      q[t] = mv(W(p + "attn_q.weight"), xn, E, E);
      k[t] = mv(W(p + "attn_k.weight"), xn, kvd, E);
      v[t] = mv(W(p + "attn_v.weight"), xn, kvd, E);
      for (int i = 0; i < E; ++i) q[t][i] += W(p + "attn_q.bias")[i];
      for (int i = 0; i < kvd; ++i) k[t][i] += W(p + "attn_k.bias")[i], v[t][i] += W(p + "attn_v.bias")[i];
      rope(q[t], s.n_head, t);
      rope(k[t], s.n_head_kv, t);
      for (int i = 0; i < kvd; ++i) k[t][i] = f16(k[t][i]), v[t][i] = f16(v[t][i]);
    }
    for (int t = 0; t < n; ++t) {
      std::vector<double> att(E, 0.0);
      for (int h = 0; h < s.n_head; ++h) {
        const int g = h / (s.n_head / s.n_head_kv);
        std::vector<double> sc(t + 1);
        double mx = -1e300, sum = 0;
        for (int p2 = 0; p2 <= t; ++p2) {
          double d = 0;
          for (int j = 0; j < hd; ++j) d += q[t][h * hd + j] * k[p2][g * hd + j];
          mx = std::max(mx, sc[p2] = d / std::sqrt((double)hd));
        }
        for (double& e : sc) sum += (e = std::exp(e - mx));
        for (int p2 = 0; p2 <= t; ++p2)
          for (int j = 0; j < hd; ++j) att[h * hd + j] += sc[p2] / sum * v[p2][g * hd + j];
      }
      std::vector<double> o = mv(W(p + "attn_output.weight"), att, E, E);
      for (int i = 0; i < E; ++i) x[t][i] += o[i];
      std::vector<double> xn = norm(x[t], W(p + "ffn_norm.weight"));
      std::vector<double> gt = mv(W(p + "ffn_gate.weight"), xn, F, E), up = mv(W(p + "ffn_up.weight"), xn, F, E);
      for (int i = 0; i < F; ++i) gt[i] = gt[i] / (1 + std::exp(-gt[i])) * up[i];
      std::vector<double> dn = mv(W(p + "ffn_down.weight"), gt, E, F);
      for (int i = 0; i < E; ++i) x[t][i] += dn[i];
    }
  }
  std::vector<double> out;
  const std::vector<float>& head = s.tied ? W("token_embd.weight") : W("output.weight");
  for (int t = 0; t < n; ++t) {
    std::vector<double> lg = mv(head, norm(x[t], W("output_norm.weight")), s.n_vocab, E);
    out.insert(out.end(), lg.begin(), lg.end());
  }
  return out;
}

}  // namespace qwen_test
