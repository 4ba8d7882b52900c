// NEOX rotary position embedding (Qwen2 rotates dims i and i + head_dim/2 together) with GGML's
// YaRN / linear scaling, fused with writing K and V into the f16 KV cache.
#include <algorithm>
#include <cmath>

#include "cuda/cuda_api.h"
#include "cuda/cuda_util.cuh"
#include "model/rope_scaling.h"

namespace qwen {
namespace cuda {

// GGML's YaRN correction dimension: the rotary dim whose wavelength spans n_rot turns over the
// original context.
static float yarn_corr_dim(int n_dims, int n_ctx_orig, float n_rot, float base) {
  return n_dims * std::log(n_ctx_orig / (n_rot * 2.0f * static_cast<float>(M_PI))) / (2.0f * std::log(base));
}

RopeParams rope_params_for(const HParams& hp) {
  RopeParams p;
  p.head_dim = hp.n_embd / hp.n_head;
  p.freq_base = hp.rope_freq_base;
  // The decision the CPU makes too (model/rope_scaling.h), so both backends scale positions in exactly the same cases.
  const RopeScaling mode = rope_scaling_mode(hp.rope_scaling_type, hp.rope_scaling_factor);
  if (mode != RopeScaling::None) {
    p.freq_scale = 1.0f / hp.rope_scaling_factor;
    p.ext_factor = mode == RopeScaling::Yarn ? 1.0f : 0.0f;
    p.orig_ctx = hp.rope_orig_ctx > 0 ? hp.rope_orig_ctx : hp.n_ctx_train;
  }
  return p;
}

// tables[i] = base^(-2i/d) (the unscaled frequency of pair i); tables[d/2 + i] = the factor
// freq_scale * (1 - mix) + mix, where mix is YaRN's ramp between interpolated and extrapolated
// angles for pair i (0 without YaRN, so plain linear scaling). theta(pos, i) = pos * tables[i] *
// tables[d/2 + i], which is GGML's rope_yarn() theta.
void make_rope_tables(const RopeParams& p, float* tables, float* mscale) {
  const int half = p.head_dim / 2;
  float lo = 0.0f, hi = 0.0f;
  if (p.ext_factor != 0.0f) {
    const int orig = p.orig_ctx > 0 ? p.orig_ctx : 4096;
    lo = std::max(0.0f, std::floor(yarn_corr_dim(p.head_dim, orig, p.beta_fast, p.freq_base)));
    hi = std::min(static_cast<float>(p.head_dim - 1),
                  std::ceil(yarn_corr_dim(p.head_dim, orig, p.beta_slow, p.freq_base)));
  }
  const float theta_scale = std::pow(p.freq_base, -2.0f / p.head_dim);
  float f = 1.0f;
  for (int i = 0; i < half; ++i) {
    tables[i] = f;
    f *= theta_scale;  // repeated product, as the CPU reference computes it
    float mix = 0.0f;
    if (p.ext_factor != 0.0f) {
      const float y = (i - lo) / std::max(0.001f, hi - lo);
      mix = (1.0f - std::min(1.0f, std::max(0.0f, y))) * p.ext_factor;
    }
    tables[half + i] = p.freq_scale * (1.0f - mix) + mix;
  }
  *mscale = p.attn_factor;
  if (p.ext_factor != 0.0f) *mscale *= 1.0f + 0.1f * std::log(1.0f / p.freq_scale);
}

namespace {

// One block per token; threads stride over (n_head + n_head_kv) * head_dim/2 rotation pairs and
// n_head_kv * head_dim V elements.
//   Q (n, n_head, hd) rotated in place; K, V (n, n_head_kv, hd) -> caches (blocks, 64, n_head_kv, hd) f16.
__global__ void rope_store_kernel(float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v,
                                  int pos0_arg, const int32_t* __restrict__ d_pos0, int n_head, int n_head_kv, int hd,
                                  const float* __restrict__ tables, float mscale, uint16_t* __restrict__ kc,
                                  uint16_t* __restrict__ vc, const int32_t* __restrict__ table) {
  const int t = blockIdx.x, pos = (d_pos0 ? *d_pos0 : pos0_arg) + t, half = hd / 2;
  const int64_t slot = static_cast<int64_t>(table[pos / kKvBlock]) * kKvBlock + pos % kKvBlock;
  const int pairs = (n_head + n_head_kv) * half;
  for (int idx = threadIdx.x; idx < pairs; idx += blockDim.x) {
    const int h = idx / half, i = idx % half;
    // Angles reach tens of thousands of radians at long contexts: use double sincos, not the
    // fast-math approximation, so the GPU matches the CPU's sinf/cosf.
    const double theta = static_cast<double>(pos) * tables[i] * tables[half + i];
    double s, c;
    sincos(theta, &s, &c);
    const float cs = static_cast<float>(c) * mscale, sn = static_cast<float>(s) * mscale;
    if (h < n_head) {
      float* x = q + (static_cast<int64_t>(t) * n_head + h) * hd;
      const float a = x[i], b = x[i + half];
      x[i] = a * cs - b * sn;
      x[i + half] = a * sn + b * cs;
    } else {
      const int kh = h - n_head;
      const float* x = k + (static_cast<int64_t>(t) * n_head_kv + kh) * hd;
      uint16_t* dst = kc + (slot * n_head_kv + kh) * hd;
      const float a = x[i], b = x[i + half];
      dst[i] = float_to_f16_bits(a * cs - b * sn);
      dst[i + half] = float_to_f16_bits(a * sn + b * cs);
    }
  }
  for (int idx = threadIdx.x; idx < n_head_kv * hd; idx += blockDim.x)
    vc[slot * n_head_kv * hd + idx] = float_to_f16_bits(v[static_cast<int64_t>(t) * n_head_kv * hd + idx]);
}

}  // namespace

void rope_and_store_kv(float* d_q, const float* d_k, const float* d_v, int n, int pos0, const AttentionShape& s,
                       const float* d_rope_tables, float rope_mscale, uint16_t* d_kcache, uint16_t* d_vcache,
                       const int32_t* d_block_table, const int32_t* d_pos0) {
  if (n <= 0) return;
  rope_store_kernel<<<n, 256, 0, stream()>>>(d_q, d_k, d_v, pos0, d_pos0, s.n_head, s.n_head_kv, s.head_dim,
                                             d_rope_tables, rope_mscale, d_kcache, d_vcache, d_block_table);
  check_launch("rope/kv-store kernel");
}

}  // namespace cuda
}  // namespace qwen
