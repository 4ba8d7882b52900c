// The one naive Qwen2 forward pass that the model tests hold the engines' logits to, for the CPU
// backend (test_model.cpp) and the CUDA backend (test_cuda_model.cpp). Everything is computed in
// double precision from float copies of the weights as the test wrote them (after their
// quantization round trip), except that K and V are rounded to f16 after RoPE, because both
// backends' KV caches store them so; the tolerances left then cover only the engines' own
// arithmetic (f32 sums, quantized activations, f16 GEMM inputs).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/fp16.h"

namespace qwen_test {

// The hyper-parameters the forward pass needs; the head size is n_embd / n_head.
struct ReferenceShape {
  int n_embd = 0, n_head = 0, n_head_kv = 0, n_ff = 0, n_layer = 0, n_vocab = 0;
  double rope_freq_base = 10000.0;
  double rms_eps = 1e-6;
  bool tied = true;  // the output head is token_embd.weight (else output.weight)
};

// Float weights by GGUF tensor name; matrices row-major (rows, cols), as GGUF stores them.
using ReferenceWeights = std::map<std::string, std::vector<float>>;

// Logits (n, n_vocab), row-major, of tokens at positions 0..n-1 of one sequence. Every layer must
// have attn_norm, attn_q/k/v (weight and bias), attn_output, ffn_norm and ffn_gate/up/down.
inline std::vector<double> reference_logits(const ReferenceShape& s, const ReferenceWeights& w,
                                            const std::vector<int32_t>& tokens) {
  using Vec = std::vector<double>;
  const int E = s.n_embd, hd = E / s.n_head, qd = s.n_head * hd, kvd = s.n_head_kv * hd, F = s.n_ff;
  const int n = static_cast<int>(tokens.size());
  auto W = [&](const std::string& name) -> const std::vector<float>& { return w.at(name); };
  // y (rows,) = M (rows, x.size()) x [+ bias]
  auto matvec = [](const std::vector<float>& m, const Vec& x, int rows, const std::vector<float>* bias) {
    Vec y(rows, 0.0);
    for (int r = 0; r < rows; ++r) {
      double a = bias ? (*bias)[r] : 0.0;
      for (size_t c = 0; c < x.size(); ++c) a += static_cast<double>(m[r * x.size() + c]) * x[c];
      y[r] = a;
    }
    return y;
  };
  auto rms_norm = [&](const Vec& x, const std::vector<float>& gain) {
    double ss = 0.0;
    for (double v : x) ss += v * v;
    const double inv = 1.0 / std::sqrt(ss / x.size() + s.rms_eps);
    Vec y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * inv * gain[i];
    return y;
  };
  // NEOX rotation: dimension i pairs with i + hd/2 in every head.
  auto rope = [&](Vec& v, int heads, int pos) {
    for (int h = 0; h < heads; ++h)
      for (int i = 0; i < hd / 2; ++i) {
        const double th = pos * std::pow(s.rope_freq_base, -2.0 * i / hd);
        double& a = v[h * hd + i];
        double& b = v[h * hd + i + hd / 2];
        const double a0 = a, b0 = b;
        a = a0 * std::cos(th) - b0 * std::sin(th);
        b = a0 * std::sin(th) + b0 * std::cos(th);
      }
  };
  auto to_f16 = [](double x) {
    return static_cast<double>(qwen::fp16_to_fp32(qwen::fp32_to_fp16(static_cast<float>(x))));
  };

  const std::vector<float>& embd = W("token_embd.weight");
  std::vector<Vec> x(n);
  for (int t = 0; t < n; ++t)
    x[t].assign(embd.begin() + static_cast<size_t>(tokens[t]) * E,
                embd.begin() + static_cast<size_t>(tokens[t] + 1) * E);
  for (int l = 0; l < s.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    std::vector<Vec> q(n), k(n), v(n);
    for (int t = 0; t < n; ++t) {
      const Vec h = rms_norm(x[t], W(p + "attn_norm.weight"));
      q[t] = matvec(W(p + "attn_q.weight"), h, qd, &W(p + "attn_q.bias"));
      k[t] = matvec(W(p + "attn_k.weight"), h, kvd, &W(p + "attn_k.bias"));
      v[t] = matvec(W(p + "attn_v.weight"), h, kvd, &W(p + "attn_v.bias"));
      rope(q[t], s.n_head, t);
      rope(k[t], s.n_head_kv, t);
      for (int i = 0; i < kvd; ++i) k[t][i] = to_f16(k[t][i]), v[t][i] = to_f16(v[t][i]);
    }
    for (int t = 0; t < n; ++t) {
      // Causal attention; query head h reads KV head h / (n_head / n_head_kv).
      Vec att(qd, 0.0);
      for (int h = 0; h < s.n_head; ++h) {
        const int g = h / (s.n_head / s.n_head_kv);
        Vec score(t + 1);
        double mx = -1e300, sum = 0.0;
        for (int j = 0; j <= t; ++j) {
          double d = 0.0;
          for (int i = 0; i < hd; ++i) d += q[t][h * hd + i] * k[j][g * hd + i];
          score[j] = d / std::sqrt(static_cast<double>(hd));
          mx = std::max(mx, score[j]);
        }
        for (double& e : score) sum += (e = std::exp(e - mx));
        for (int j = 0; j <= t; ++j)
          for (int i = 0; i < hd; ++i) att[h * hd + i] += score[j] / sum * v[j][g * hd + i];
      }
      const Vec o = matvec(W(p + "attn_output.weight"), att, E, nullptr);
      for (int i = 0; i < E; ++i) x[t][i] += o[i];
      const Vec h = rms_norm(x[t], W(p + "ffn_norm.weight"));
      Vec gate = matvec(W(p + "ffn_gate.weight"), h, F, nullptr);
      const Vec up = matvec(W(p + "ffn_up.weight"), h, F, nullptr);
      for (int i = 0; i < F; ++i) gate[i] = gate[i] / (1.0 + std::exp(-gate[i])) * up[i];  // SwiGLU
      const Vec down = matvec(W(p + "ffn_down.weight"), gate, E, nullptr);
      for (int i = 0; i < E; ++i) x[t][i] += down[i];
    }
  }
  const std::vector<float>& head = s.tied ? embd : W("output.weight");
  std::vector<double> logits;
  logits.reserve(static_cast<size_t>(n) * s.n_vocab);
  for (int t = 0; t < n; ++t) {
    const Vec row = matvec(head, rms_norm(x[t], W("output_norm.weight")), s.n_vocab, nullptr);
    logits.insert(logits.end(), row.begin(), row.end());
  }
  return logits;
}

}  // namespace qwen_test
