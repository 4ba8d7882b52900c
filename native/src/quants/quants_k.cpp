// K-quants (Q2_K … Q6_K, Q8_K): 256-element super-blocks with per-sub-block scales, laid out as
// GGML defines them. Dequantizers follow GGML's bit layouts; the quantizers are ours (per-sub-block
// min/max fits, then the sub-block scales quantized against one super-block scale), and they write
// blocks that any GGML reader decodes the same way. The scalar dot decodes one super-block of
// weights at a time and multiplies with the 8-bit activations.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quants/fp16.h"
#include "quants/ggml_types.h"
#include "quants/quants_impl.h"

namespace qwen::kernels {

static inline int nearest_int(float v) { return (int)std::lround(v); }

// ---- Q8_K: activations, d = max/-127 with the sign of the largest magnitude ------------------
void quantize_row_q8_K(const float* x, void* dst, int64_t n) {
  block_q8_K* y = static_cast<block_q8_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    float amax = 0, max = 0;
    for (int j = 0; j < QK_K; ++j)
      if (std::fabs(x[j]) > amax) { amax = std::fabs(x[j]); max = x[j]; }
    if (amax == 0) {
      std::memset(&y[i], 0, sizeof(block_q8_K));
      continue;
    }
    const float iscale = -127.0f / max;
    for (int j = 0; j < QK_K; ++j) y[i].qs[j] = (int8_t)std::min(127, nearest_int(iscale * x[j]));
    for (int g = 0; g < QK_K / 16; ++g) {
      int s = 0;
      for (int j = 0; j < 16; ++j) s += y[i].qs[g * 16 + j];
      y[i].bsums[g] = (int16_t)s;
    }
    y[i].d = 1.0f / iscale;
  }
}
void dequantize_row_q8_K(const void* src, float* y, int64_t n) {
  const block_q8_K* x = static_cast<const block_q8_K*>(src);
  for (int64_t i = 0; i < n / QK_K; ++i)
    for (int j = 0; j < QK_K; ++j) *y++ = x[i].d * x[i].qs[j];
}

// ---- Q4_K / Q5_K packed 6-bit scales and mins (8 of each in 12 bytes) ------------------------
static inline void get_scale_min_k4(int j, const uint8_t* q, uint8_t* d, uint8_t* m) {
  if (j < 4) {
    *d = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}
static inline void set_scale_min_k4(int j, uint8_t* q, uint8_t d, uint8_t m) {
  if (j < 4) {
    q[j] = (q[j] & 0xC0) | (d & 63);
    q[j + 4] = (q[j + 4] & 0xC0) | (m & 63);
  } else {
    q[j + 4] = (d & 0xF) | ((m & 0xF) << 4);
    q[j - 4] = (q[j - 4] & 63) | ((d >> 4) << 6);
    q[j] = (q[j] & 63) | ((m >> 4) << 6);
  }
}

// Fits x (n values) as scale*q - min with q in [0, levels]; min >= 0 is what gets subtracted.
static void fit_min_max(const float* x, int n, int levels, float* scale, float* min) {
  float lo = x[0], hi = x[0];
  for (int i = 1; i < n; ++i) { lo = std::min(lo, x[i]); hi = std::max(hi, x[i]); }
  lo = std::min(lo, 0.0f);
  *scale = (hi - lo) / levels;
  *min = -lo;
}

// Shared by Q4_K (bits=4) and Q5_K (bits=5): 8 sub-blocks of 32.
template <int BITS>
static void quantize_k45(const float* x, uint8_t* scales, fp16_t* d_out, fp16_t* dmin_out, uint8_t* qs, uint8_t* qh) {
  constexpr int levels = (1 << BITS) - 1;
  float sc[8], mn[8], max_sc = 0, max_mn = 0;
  for (int s = 0; s < 8; ++s) {
    fit_min_max(x + 32 * s, 32, levels, &sc[s], &mn[s]);
    max_sc = std::max(max_sc, sc[s]);
    max_mn = std::max(max_mn, mn[s]);
  }
  const float d = max_sc / 63.0f, dmin = max_mn / 63.0f;
  *d_out = fp32_to_fp16(d);
  *dmin_out = fp32_to_fp16(dmin);
  const float dq = fp16_to_fp32(*d_out), dminq = fp16_to_fp32(*dmin_out);
  std::memset(scales, 0, K_SCALE_SIZE);
  std::memset(qs, 0, QK_K / 2);
  if (qh) std::memset(qh, 0, QK_K / 8);
  for (int s = 0; s < 8; ++s) {
    const uint8_t ls = (uint8_t)std::min(63, d > 0 ? nearest_int(sc[s] / d) : 0);
    const uint8_t lm = (uint8_t)std::min(63, dmin > 0 ? nearest_int(mn[s] / dmin) : 0);
    set_scale_min_k4(s, scales, ls, lm);
    const float step = dq * ls, off = dminq * lm;
    for (int l = 0; l < 32; ++l) {
      int q = step > 0 ? nearest_int((x[32 * s + l] + off) / step) : 0;
      q = std::max(0, std::min(levels, q));
      const int chunk = s / 2, hi = s % 2;  // sub-block 2c in low nibbles, 2c+1 in high nibbles
      qs[chunk * 32 + l] |= (uint8_t)((q & 0xF) << (4 * hi));
      if (qh && (q & 16)) qh[l] |= (uint8_t)(1 << (2 * chunk + hi));
    }
  }
}

void quantize_row_q4_K(const float* x, void* dst, int64_t n) {
  block_q4_K* y = static_cast<block_q4_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i) quantize_k45<4>(x + i * QK_K, y[i].scales, &y[i].d, &y[i].dmin, y[i].qs, nullptr);
}
void quantize_row_q5_K(const float* x, void* dst, int64_t n) {
  block_q5_K* y = static_cast<block_q5_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i) quantize_k45<5>(x + i * QK_K, y[i].scales, &y[i].d, &y[i].dmin, y[i].qs, y[i].qh);
}

void dequantize_row_q4_K(const void* src, float* y, int64_t n) {
  const block_q4_K* x = static_cast<const block_q4_K*>(src);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float d = fp16_to_fp32(x[i].d), dmin = fp16_to_fp32(x[i].dmin);
    const uint8_t* q = x[i].qs;
    for (int c = 0; c < 4; ++c, q += 32) {
      uint8_t s0, m0, s1, m1;
      get_scale_min_k4(2 * c, x[i].scales, &s0, &m0);
      get_scale_min_k4(2 * c + 1, x[i].scales, &s1, &m1);
      for (int l = 0; l < 32; ++l) *y++ = d * s0 * (q[l] & 0xF) - dmin * m0;
      for (int l = 0; l < 32; ++l) *y++ = d * s1 * (q[l] >> 4) - dmin * m1;
    }
  }
}
void dequantize_row_q5_K(const void* src, float* y, int64_t n) {
  const block_q5_K* x = static_cast<const block_q5_K*>(src);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float d = fp16_to_fp32(x[i].d), dmin = fp16_to_fp32(x[i].dmin);
    const uint8_t* q = x[i].qs;
    for (int c = 0; c < 4; ++c, q += 32) {
      uint8_t s0, m0, s1, m1;
      get_scale_min_k4(2 * c, x[i].scales, &s0, &m0);
      get_scale_min_k4(2 * c + 1, x[i].scales, &s1, &m1);
      const uint8_t u0 = (uint8_t)(1 << (2 * c)), u1 = (uint8_t)(2 << (2 * c));
      for (int l = 0; l < 32; ++l) *y++ = d * s0 * ((q[l] & 0xF) + (x[i].qh[l] & u0 ? 16 : 0)) - dmin * m0;
      for (int l = 0; l < 32; ++l) *y++ = d * s1 * ((q[l] >> 4) + (x[i].qh[l] & u1 ? 16 : 0)) - dmin * m1;
    }
  }
}

// ---- Q6_K: 16 sub-blocks of 16, signed 6-bit values, int8 sub-scales -------------------------
void quantize_row_q6_K(const float* x, void* dst, int64_t n) {
  block_q6_K* y = static_cast<block_q6_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    float sc[16], max_abs_sc = 0, max_sc = 0;
    for (int s = 0; s < 16; ++s) {
      float amax = 0, mx = 0;
      for (int l = 0; l < 16; ++l)
        if (std::fabs(x[16 * s + l]) > amax) { amax = std::fabs(x[16 * s + l]); mx = x[16 * s + l]; }
      sc[s] = mx / -32.0f;
      if (std::fabs(sc[s]) > max_abs_sc) { max_abs_sc = std::fabs(sc[s]); max_sc = sc[s]; }
    }
    std::memset(&y[i], 0, sizeof(block_q6_K));
    if (max_abs_sc == 0) continue;
    const float iscale = -128.0f / max_sc;
    y[i].d = fp32_to_fp16(1.0f / iscale);
    const float d = fp16_to_fp32(y[i].d);
    for (int s = 0; s < 16; ++s) y[i].scales[s] = (int8_t)std::max(-128, std::min(127, nearest_int(iscale * sc[s])));
    for (int e = 0; e < QK_K; ++e) {
      const int c = e / 128, r = e % 128, quarter = r / 32, l = r % 32;
      const float step = d * y[i].scales[c * 8 + quarter * 2 + l / 16];
      int q = step != 0 ? nearest_int(x[e] / step) : 0;
      q = std::max(-32, std::min(31, q)) + 32;
      uint8_t& lo = y[i].ql[c * 64 + l + (quarter & 1) * 32];
      lo |= (uint8_t)((q & 0xF) << (quarter >= 2 ? 4 : 0));
      y[i].qh[c * 32 + l] |= (uint8_t)((q >> 4) << (2 * quarter));
    }
  }
}
void dequantize_row_q6_K(const void* src, float* y, int64_t n) {
  const block_q6_K* x = static_cast<const block_q6_K*>(src);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    const uint8_t* ql = x[i].ql;
    const uint8_t* qh = x[i].qh;
    const int8_t* sc = x[i].scales;
    for (int c = 0; c < 2; ++c, y += 128, ql += 64, qh += 32, sc += 8) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * sc[is + 0] * q1;
        y[l + 32] = d * sc[is + 2] * q2;
        y[l + 64] = d * sc[is + 4] * q3;
        y[l + 96] = d * sc[is + 6] * q4;
      }
    }
  }
}

// ---- Q3_K: 16 sub-blocks of 16, values in [-4, 3], 6-bit signed sub-scales -----------------
static void unpack_q3_scales(const uint8_t* packed, int8_t* out) {
  uint32_t aux[4];
  std::memcpy(aux, packed, 12);
  const uint32_t km1 = 0x03030303, km2 = 0x0f0f0f0f, tmp = aux[2];
  aux[2] = ((aux[0] >> 4) & km2) | (((tmp >> 4) & km1) << 4);
  aux[3] = ((aux[1] >> 4) & km2) | (((tmp >> 6) & km1) << 4);
  aux[0] = (aux[0] & km2) | (((tmp >> 0) & km1) << 4);
  aux[1] = (aux[1] & km2) | (((tmp >> 2) & km1) << 4);
  std::memcpy(out, aux, 16);
  for (int i = 0; i < 16; ++i) out[i] = (int8_t)(out[i] - 32);
}
void quantize_row_q3_K(const float* x, void* dst, int64_t n) {
  block_q3_K* y = static_cast<block_q3_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    float sc[16], max_abs = 0, max_sc = 0;
    for (int s = 0; s < 16; ++s) {
      float amax = 0, mx = 0;
      for (int l = 0; l < 16; ++l)
        if (std::fabs(x[16 * s + l]) > amax) { amax = std::fabs(x[16 * s + l]); mx = x[16 * s + l]; }
      sc[s] = mx / -4.0f;
      if (std::fabs(sc[s]) > max_abs) { max_abs = std::fabs(sc[s]); max_sc = sc[s]; }
    }
    std::memset(&y[i], 0, sizeof(block_q3_K));
    if (max_abs == 0) continue;
    const float iscale = -32.0f / max_sc;
    y[i].d = fp32_to_fp16(1.0f / iscale);
    const float d = fp16_to_fp32(y[i].d);
    int8_t ls[16];
    for (int s = 0; s < 16; ++s) {
      ls[s] = (int8_t)std::max(-32, std::min(31, nearest_int(iscale * sc[s])));
      const int l = ls[s] + 32;
      if (s < 8) y[i].scales[s] |= (uint8_t)(l & 0xF);
      else y[i].scales[s - 8] |= (uint8_t)((l & 0xF) << 4);
      y[i].scales[8 + s % 4] |= (uint8_t)((l >> 4) << (2 * (s / 4)));
    }
    for (int e = 0; e < QK_K; ++e) {
      const int c = e / 128, r = e % 128, js = r / 32, l32 = r % 32;
      const float step = d * ls[c * 8 + js * 2 + l32 / 16];
      int q = step != 0 ? nearest_int(x[e] / step) : 0;
      q = std::max(-4, std::min(3, q)) + 4;  // 0..7: low two bits in qs, bit 2 in hmask
      y[i].qs[c * 32 + l32] |= (uint8_t)((q & 3) << (2 * js));
      if (q & 4) y[i].hmask[l32] |= (uint8_t)(1 << (c * 4 + js));
    }
  }
}
void dequantize_row_q3_K(const void* src, float* y, int64_t n) {
  const block_q3_K* x = static_cast<const block_q3_K*>(src);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    int8_t sc[16];
    unpack_q3_scales(x[i].scales, sc);
    const uint8_t* q = x[i].qs;
    int is = 0;
    uint8_t m = 1;
    for (int c = 0; c < 2; ++c, q += 32) {
      for (int js = 0; js < 4; ++js, m <<= 1) {
        const int shift = 2 * js;
        float dl = d * sc[is++];
        for (int l = 0; l < 16; ++l) *y++ = dl * ((int)((q[l] >> shift) & 3) - ((x[i].hmask[l] & m) ? 0 : 4));
        dl = d * sc[is++];
        for (int l = 0; l < 16; ++l) *y++ = dl * ((int)((q[l + 16] >> shift) & 3) - ((x[i].hmask[l + 16] & m) ? 0 : 4));
      }
    }
  }
}

// ---- Q2_K: 16 sub-blocks of 16, 2-bit values with 4-bit scale and min each ------------------
void quantize_row_q2_K(const float* x, void* dst, int64_t n) {
  block_q2_K* y = static_cast<block_q2_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    float sc[16], mn[16], max_sc = 0, max_mn = 0;
    for (int s = 0; s < 16; ++s) {
      fit_min_max(x + 16 * s, 16, 3, &sc[s], &mn[s]);
      max_sc = std::max(max_sc, sc[s]);
      max_mn = std::max(max_mn, mn[s]);
    }
    std::memset(&y[i], 0, sizeof(block_q2_K));
    y[i].d = fp32_to_fp16(max_sc / 15.0f);
    y[i].dmin = fp32_to_fp16(max_mn / 15.0f);
    const float d = fp16_to_fp32(y[i].d), dmin = fp16_to_fp32(y[i].dmin);
    for (int s = 0; s < 16; ++s) {
      const int ls = d > 0 ? std::min(15, nearest_int(sc[s] / d)) : 0;
      const int lm = dmin > 0 ? std::min(15, nearest_int(mn[s] / dmin)) : 0;
      y[i].scales[s] = (uint8_t)(ls | (lm << 4));
    }
    for (int e = 0; e < QK_K; ++e) {
      const int c = e / 128, r = e % 128, js = r / 32, l32 = r % 32;
      const int s = c * 8 + js * 2 + l32 / 16;
      const float step = d * (y[i].scales[s] & 0xF), off = dmin * (y[i].scales[s] >> 4);
      int q = step > 0 ? nearest_int((x[e] + off) / step) : 0;
      q = std::max(0, std::min(3, q));
      y[i].qs[c * 32 + l32] |= (uint8_t)(q << (2 * js));
    }
  }
}
void dequantize_row_q2_K(const void* src, float* y, int64_t n) {
  const block_q2_K* x = static_cast<const block_q2_K*>(src);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float d = fp16_to_fp32(x[i].d), dmin = fp16_to_fp32(x[i].dmin);
    const uint8_t* q = x[i].qs;
    int is = 0;
    for (int c = 0; c < 2; ++c, q += 32) {
      for (int js = 0; js < 4; ++js) {
        const int shift = 2 * js;
        uint8_t sc = x[i].scales[is++];
        for (int l = 0; l < 16; ++l) *y++ = d * (sc & 0xF) * ((q[l] >> shift) & 3) - dmin * (sc >> 4);
        sc = x[i].scales[is++];
        for (int l = 0; l < 16; ++l) *y++ = d * (sc & 0xF) * ((q[l + 16] >> shift) & 3) - dmin * (sc >> 4);
      }
    }
  }
}

// ---- Scalar dots: decode one weight super-block, multiply with the 8-bit activations ---------
template <typename Block, void (*Decode)(const void*, float*, int64_t)>
static float dot_k(int n, const void* w, const void* xv) {
  const Block* a = static_cast<const Block*>(w);
  const block_q8_K* b = static_cast<const block_q8_K*>(xv);
  float tmp[QK_K];
  double s = 0;
  for (int i = 0; i < n / QK_K; ++i) {
    Decode(&a[i], tmp, QK_K);
    double acc = 0;
    for (int j = 0; j < QK_K; ++j) acc += (double)tmp[j] * b[i].qs[j];
    s += acc * b[i].d;
  }
  return (float)s;
}
float vec_dot_q2_K(int n, const void* w, const void* x) { return dot_k<block_q2_K, dequantize_row_q2_K>(n, w, x); }
float vec_dot_q3_K(int n, const void* w, const void* x) { return dot_k<block_q3_K, dequantize_row_q3_K>(n, w, x); }
float vec_dot_q4_K(int n, const void* w, const void* x) { return dot_k<block_q4_K, dequantize_row_q4_K>(n, w, x); }
float vec_dot_q5_K(int n, const void* w, const void* x) { return dot_k<block_q5_K, dequantize_row_q5_K>(n, w, x); }
float vec_dot_q6_K(int n, const void* w, const void* x) { return dot_k<block_q6_K, dequantize_row_q6_K>(n, w, x); }

}  // namespace qwen::kernels
