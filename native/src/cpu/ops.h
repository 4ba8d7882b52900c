// Element-wise and per-row operations of the Qwen2 forward pass, on f32 activations.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/rope_scaling.h"

namespace qwen {

// y (n,) = x (n,) / sqrt(mean(x^2) + eps) * w (n,)
void rmsnorm(const float* x, const float* w, float* y, int n, float eps);

// y (n,) += b (n,)
void add_inplace(float* y, const float* b, int n);

// g (n,) = silu(g) * u: the SwiGLU gate, in place on g.
void swiglu_inplace(float* g, const float* u, int n);

// In-place softmax over x (n,); returns nothing, x sums to 1.
void softmax_inplace(float* x, int n);

// Rotary position embedding, NEOX layout (dimension i pairs with i + head_dim/2), with optional
// YaRN or linear context extension. Precomputes per-dimension frequencies and ramp factors.
struct RopeConfig {
  int head_dim = 64;
  float freq_base = 1000000.0f;
  std::string scaling = "none";  // "none" | "linear" | "yarn"
  float factor = 1.0f;           // context extension factor s
  int orig_ctx = 32768;          // original training context (YaRN)
  float beta_fast = 32.0f, beta_slow = 1.0f;
};

class Rope {
 public:
  explicit Rope(const RopeConfig& cfg);
  // x (n_heads, head_dim) of one token at position pos, rotated in place.
  void apply(float* x, int n_heads, int pos) const;
  const RopeConfig& config() const { return cfg_; }

 private:
  RopeConfig cfg_;
  RopeScaling mode_ = RopeScaling::None;
  std::vector<float> inv_freq_;  // (head_dim/2,) base^(-2i/d)
  std::vector<float> ramp_;      // (head_dim/2,) YaRN: 1 = extrapolate, 0 = interpolate
  float mscale_ = 1.0f;          // YaRN attention magnitude factor on cos/sin
};

}  // namespace qwen
