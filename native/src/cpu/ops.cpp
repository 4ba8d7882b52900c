#include "cpu/ops.h"

#include <algorithm>
#include <cmath>

namespace qwen {

void rmsnorm(const float* x, const float* w, float* y, int n, float eps) {
  double ss = 0;
  for (int i = 0; i < n; ++i) ss += (double)x[i] * x[i];
  const float scale = 1.0f / std::sqrt((float)(ss / n) + eps);
  for (int i = 0; i < n; ++i) y[i] = x[i] * scale * w[i];
}

void add_inplace(float* y, const float* b, int n) {
  for (int i = 0; i < n; ++i) y[i] += b[i];
}

void swiglu_inplace(float* g, const float* u, int n) {
  for (int i = 0; i < n; ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

void softmax_inplace(float* x, int n) {
  float mx = x[0];
  for (int i = 1; i < n; ++i) mx = std::max(mx, x[i]);
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  const float inv = (float)(1.0 / sum);
  for (int i = 0; i < n; ++i) x[i] *= inv;
}

RopeScaling rope_scaling_mode(const std::string& type, float factor) {
  if (!(factor > 1.0f)) return RopeScaling::None;
  if (type == "yarn") return RopeScaling::Yarn;
  if (type == "linear") return RopeScaling::Linear;
  return RopeScaling::None;
}

Rope::Rope(const RopeConfig& cfg) : cfg_(cfg), mode_(rope_scaling_mode(cfg.scaling, cfg.factor)) {
  const int half = cfg.head_dim / 2;
  inv_freq_.resize(half);
  ramp_.assign(half, 1.0f);
  for (int i = 0; i < half; ++i) inv_freq_[i] = std::pow(cfg.freq_base, -2.0f * i / cfg.head_dim);
  if (mode_ == RopeScaling::Yarn) {
    // Dimensions whose wavelength is short compared with the original context keep their
    // frequency (extrapolate); long-wavelength ones are divided by the factor (interpolate); a
    // linear ramp between the dimensions where beta_fast and beta_slow rotations fit blends them.
    auto corr_dim = [&](float n_rot) {
      return cfg.head_dim * std::log(cfg.orig_ctx / (n_rot * 2.0f * (float)M_PI)) / (2.0f * std::log(cfg.freq_base));
    };
    const float low = std::max(0.0f, std::floor(corr_dim(cfg.beta_fast)));
    const float high = std::min((float)cfg.head_dim - 1, std::ceil(corr_dim(cfg.beta_slow)));
    for (int i = 0; i < half; ++i) {
      const float y = (i - low) / std::max(0.001f, high - low);
      ramp_[i] = 1.0f - std::min(1.0f, std::max(0.0f, y));
    }
    mscale_ = 1.0f + 0.1f * std::log(cfg.factor);
  }
}

void Rope::apply(float* x, int n_heads, int pos) const {
  const int d = cfg_.head_dim, half = d / 2;
  const bool yarn = mode_ == RopeScaling::Yarn;
  const bool linear = mode_ == RopeScaling::Linear;
  float cs[256], sn[256];  // head_dim <= 512
  for (int i = 0; i < half; ++i) {
    const float extrap = pos * inv_freq_[i];
    float theta = extrap;
    if (linear) theta = extrap / cfg_.factor;
    if (yarn) theta = extrap / cfg_.factor * (1.0f - ramp_[i]) + extrap * ramp_[i];
    cs[i] = std::cos(theta) * mscale_;
    sn[i] = std::sin(theta) * mscale_;
  }
  for (int h = 0; h < n_heads; ++h) {
    float* v = x + h * d;
    for (int i = 0; i < half; ++i) {
      const float a = v[i], b = v[i + half];
      v[i] = a * cs[i] - b * sn[i];
      v[i + half] = a * sn[i] + b * cs[i];
    }
  }
}

}  // namespace qwen
