// Scale searches for the K-quant reference quantizers. They follow the searches GGML's reference
// quantizers run (so a tensor we quantize gets the scales llama.cpp would pick), written from the
// description of the algorithm: start from the scale that maps the extreme value onto the extreme
// level, then try nearby scales and keep the one with the smallest weighted error.
//
// Sums are accumulated in float in element order, as GGML does: the choice between two candidate
// scales can hinge on the last bit, and we want the same choice.
#include <cmath>

#include "quants/quants_k_common.h"

namespace qwen::kernels {

// Below this magnitude a group is treated as all zeros (GGML's GROUP_MAX_EPS).
static constexpr float kGroupMaxEps = 1e-15f;

static inline int clamp_int(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

// The value of largest magnitude, with its sign (the first one wins ties).
static float signed_absmax(int n, const float* x) {
  float amax = 0, max = 0;
  for (int i = 0; i < n; ++i) {
    const float a = std::fabs(x[i]);
    if (a > amax) {
      amax = a;
      max = x[i];
    }
  }
  return max;
}

float fit_symmetric_weighted(int n, int nmax, const float* x, uint8_t* L) {
  const float max = signed_absmax(n, x);
  if (std::fabs(max) < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.0f;
  }
  // Least-squares scale for a given level assignment l_i: sum(w x l) / sum(w l^2), w = x^2. The
  // fit quality of that scale is sum(w x l)^2 / sum(w l^2); larger is better.
  auto assign = [&](float iscale, float* sumlx, float* suml2, bool store) {
    float slx = 0, sl2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = clamp_int(nearest_even_int(iscale * x[i]), -nmax, nmax - 1);
      if (store) L[i] = (uint8_t)(l + nmax);
      const float w = x[i] * x[i];
      slx += w * x[i] * l;
      sl2 += w * l * l;
    }
    *sumlx = slx;
    *suml2 = sl2;
  };
  float sumlx, suml2;
  assign(-nmax / max, &sumlx, &suml2, true);
  float scale = suml2 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int step = -9; step <= 9; ++step) {
    if (step == 0) continue;
    const float iscale = -(nmax + 0.1f * step) / max;
    assign(iscale, &sumlx, &suml2, false);
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      assign(iscale, &sumlx, &suml2, true);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

float fit_symmetric_iterative(int n, int nmax, const float* x, uint8_t* L) {
  const float max = signed_absmax(n, x);
  if (std::fabs(max) < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.0f;
  }
  const float iscale = -nmax / max;
  int lv[QK_K];  // signed levels while we search; n <= QK_K
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    lv[i] = clamp_int(nearest_even_int(iscale * x[i]), -nmax, nmax - 1);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * lv[i];
    suml2 += w * lv[i] * lv[i];
  }
  // Coordinate descent: with the other levels fixed, the best level for element i is x_i divided
  // by the scale the others imply; accept it when the whole fit improves.
  for (int pass = 0; pass < 5; ++pass) {
    int changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      float slx = sumlx - w * x[i] * lv[i];
      if (slx <= 0) continue;
      float sl2 = suml2 - w * lv[i] * lv[i];
      const int nl = clamp_int(nearest_even_int(x[i] * sl2 / slx), -nmax, nmax - 1);
      if (nl == lv[i]) continue;
      slx += w * x[i] * nl;
      sl2 += w * nl * nl;
      if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
        lv[i] = nl;
        sumlx = slx;
        suml2 = sl2;
        ++changed;
      }
    }
    if (!changed) break;
  }
  for (int i = 0; i < n; ++i) L[i] = (uint8_t)(lv[i] + nmax);
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

float fit_offset_weighted(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* min_out, float rmin,
                          float rdelta, int nstep, bool use_mad) {
  float lo = x[0], hi = x[0];
  float sum_w = weights[0], sum_x = weights[0] * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < lo) lo = x[i];
    if (x[i] > hi) hi = x[i];
    sum_w += weights[i];
    sum_x += weights[i] * x[i];
  }
  // The offset only ever subtracts (min <= 0 in x's units), so all-positive groups start at 0.
  if (lo > 0) lo = 0;
  if (hi == lo) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    *min_out = -lo;
    return 0.0f;
  }
  auto error_of = [&](float scale, float offset, const uint8_t* levels) {
    float err = 0;
    for (int i = 0; i < n; ++i) {
      float diff = scale * levels[i] + offset - x[i];
      diff = use_mad ? std::fabs(diff) : diff * diff;
      err += weights[i] * diff;
    }
    return err;
  };
  float iscale = nmax / (hi - lo);
  float scale = 1 / iscale;
  for (int i = 0; i < n; ++i) L[i] = (uint8_t)clamp_int(nearest_even_int(iscale * (x[i] - lo)), 0, nmax);
  float best_error = error_of(scale, lo, L);
  uint8_t trial[QK_K];  // n <= QK_K
  for (int step = 0; step <= nstep; ++step) {
    iscale = (rmin + rdelta * step + nmax) / (hi - lo);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = clamp_int(nearest_even_int(iscale * (x[i] - lo)), 0, nmax);
      trial[i] = (uint8_t)l;
      const float w = weights[i];
      sum_l += w * l;
      sum_l2 += w * l * l;
      sum_xl += w * l * x[i];
    }
    // Weighted least squares for x ~ s*l + m over this assignment (2x2 normal equations).
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det <= 0) continue;
    float s = (sum_w * sum_xl - sum_x * sum_l) / det;
    float m = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (m > 0) {
      m = 0;
      s = sum_xl / sum_l2;
    }
    const float err = error_of(s, m, trial);
    if (err < best_error) {
      for (int i = 0; i < n; ++i) L[i] = trial[i];
      best_error = err;
      scale = s;
      lo = m;
    }
  }
  *min_out = -lo;
  return scale;
}

}  // namespace qwen::kernels
