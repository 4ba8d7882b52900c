// Reference quantizers for the K-quants (Q2_K … Q6_K) and their activation format Q8_K.
//
// Each super-block of 256 values is split into sub-blocks; every sub-block gets its own fitted
// scale (and min, for the offset formats) by the searches in quants_k_fit.cpp; those sub-block
// scales are then themselves quantized against one fp16 super-block scale; finally every value is
// re-quantized with the scale it will actually be decoded with. Bit packing follows GGML's layouts
// (see the dequantizers in quants_k_dequant.cpp, which read exactly what is written here).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/fp16.h"
#include "quants/quants_impl.h"
#include "quants/quants_k_common.h"

namespace qwen::kernels {

static inline int clamp_int(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

// Packs 2-bit levels: within each 128-value half, byte l holds values l, l+32, l+64, l+96.
static void pack_2bit(const uint8_t* L, uint8_t* qs) {
  for (int half = 0; half < QK_K; half += 128)
    for (int l = 0; l < 32; ++l)
      qs[half / 4 + l] =
          (uint8_t)(L[half + l] | (L[half + l + 32] << 2) | (L[half + l + 64] << 4) | (L[half + l + 96] << 6));
}

// ---- Q8_K: d = max / -127 (sign of the largest magnitude), plus sums of each 16 values --------
void quantize_row_q8_K(const float* x, void* dst, int64_t n) {
  block_q8_K* y = static_cast<block_q8_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    float amax = 0, max = 0;
    for (int j = 0; j < QK_K; ++j)
      if (std::fabs(x[j]) > amax) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    std::memset(&y[i], 0, sizeof(block_q8_K));
    if (amax == 0) continue;
    const float iscale = -127.0f / max;
    for (int j = 0; j < QK_K; ++j) y[i].qs[j] = (int8_t)std::min(127, nearest_even_int(iscale * x[j]));
    for (int g = 0; g < QK_K / 16; ++g) {
      int s = 0;
      for (int j = 0; j < 16; ++j) s += y[i].qs[g * 16 + j];
      y[i].bsums[g] = (int16_t)s;
    }
    y[i].d = 1.0f / iscale;
  }
}

// ---- Q2_K: 16 sub-blocks of 16, x = d*sc*q - dmin*m, q in 0..3, sc and m 4-bit ---------------
void quantize_row_q2_K(const float* x, void* dst, int64_t n) {
  block_q2_K* y = static_cast<block_q2_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    uint8_t L[QK_K];
    float scales[16], mins[16], weights[16], max_scale = 0, max_min = 0;
    for (int j = 0; j < 16; ++j) {
      for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
      scales[j] = fit_offset_weighted(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], -0.5f, 0.1f, 15, true);
      max_scale = std::max(max_scale, scales[j]);
      max_min = std::max(max_min, mins[j]);
    }
    std::memset(&y[i], 0, sizeof(block_q2_K));
    if (max_scale > 0) {
      const float iscale = 15.0f / max_scale;
      for (int j = 0; j < 16; ++j) y[i].scales[j] = (uint8_t)nearest_even_int(iscale * scales[j]);
      y[i].d = fp32_to_fp16(max_scale / 15.0f);
    }
    if (max_min > 0) {
      const float iscale = 15.0f / max_min;
      for (int j = 0; j < 16; ++j) y[i].scales[j] |= (uint8_t)(nearest_even_int(iscale * mins[j]) << 4);
      y[i].dmin = fp32_to_fp16(max_min / 15.0f);
    }
    for (int j = 0; j < 16; ++j) {
      const float d = fp16_to_fp32(y[i].d) * (y[i].scales[j] & 0x0f);
      if (d == 0) continue;  // keep the fit's levels; they decode to -dmin*m either way
      const float dm = fp16_to_fp32(y[i].dmin) * (y[i].scales[j] >> 4);
      for (int l = 0; l < 16; ++l) L[16 * j + l] = (uint8_t)clamp_int(nearest_even_int((x[16 * j + l] + dm) / d), 0, 3);
    }
    pack_2bit(L, y[i].qs);
  }
}

// ---- Q3_K: 16 sub-blocks of 16, x = d*sc*(q-4), q in 0..7, sc signed 6-bit -------------------
void quantize_row_q3_K(const float* x, void* dst, int64_t n) {
  block_q3_K* y = static_cast<block_q3_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    uint8_t L[QK_K];
    float scales[16], amax = 0, max_scale = 0;
    for (int j = 0; j < 16; ++j) {
      scales[j] = fit_symmetric_iterative(16, 4, x + 16 * j, L + 16 * j);
      if (std::fabs(scales[j]) > amax) {
        amax = std::fabs(scales[j]);
        max_scale = scales[j];
      }
    }
    std::memset(&y[i], 0, sizeof(block_q3_K));
    if (max_scale != 0) {
      const float iscale = -32.0f / max_scale;
      for (int j = 0; j < 16; ++j)
        q3k_set_scale(j, y[i].scales, clamp_int(nearest_even_int(iscale * scales[j]), -32, 31));
      y[i].d = fp32_to_fp16(1 / iscale);
    }
    int8_t sc[16];
    q3k_unpack_scales(y[i].scales, sc);
    for (int j = 0; j < 16; ++j) {
      const float d = fp16_to_fp32(y[i].d) * sc[j];
      if (d == 0) continue;
      for (int l = 0; l < 16; ++l) L[16 * j + l] = (uint8_t)(clamp_int(nearest_even_int(x[16 * j + l] / d), -4, 3) + 4);
    }
    // The third bit of value j goes to hmask[j % 32], bit j / 32; the low two bits pack like Q2_K.
    for (int j = 0; j < QK_K; ++j) {
      if (L[j] > 3) {
        y[i].hmask[j % 32] |= (uint8_t)(1 << (j / 32));
        L[j] -= 4;
      }
    }
    pack_2bit(L, y[i].qs);
  }
}

// ---- Q4_K / Q5_K: 8 sub-blocks of 32, x = d*sc*q - dmin*m, sc and m 6-bit ---------------------
// BITS = 4 or 5. The searches use the tuning GGML uses for each (range steps and step count).
template <int BITS>
static void quantize_k45_block(const float* x, fp16_t* d_out, fp16_t* dmin_out, uint8_t* packed, uint8_t* L) {
  constexpr int nmax = (1 << BITS) - 1;
  constexpr float rmin = BITS == 4 ? -1.0f : -0.5f;
  constexpr int nstep = BITS == 4 ? 20 : 15;
  float scales[8], mins[8], weights[32], max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    // Weight each error by |x| plus the group's RMS, so small values still count.
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
    scales[j] = fit_offset_weighted(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], rmin, 0.1f, nstep, false);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
  std::memset(packed, 0, K_SCALE_SIZE);
  for (int j = 0; j < 8; ++j) {
    // GGML stores these through uint8_t before clamping; values are small and non-negative here.
    const int ls = std::min(63, (int)(uint8_t)nearest_even_int(inv_scale * scales[j]));
    const int lm = std::min(63, (int)(uint8_t)nearest_even_int(inv_min * mins[j]));
    k4_set_scale_min(j, packed, ls, lm);
  }
  *d_out = fp32_to_fp16(max_scale / 63.0f);
  *dmin_out = fp32_to_fp16(max_min / 63.0f);
  for (int j = 0; j < 8; ++j) {
    int sc, m;
    k4_scale_min(j, packed, &sc, &m);
    const float d = fp16_to_fp32(*d_out) * sc;
    if (d == 0) continue;
    const float dm = fp16_to_fp32(*dmin_out) * m;
    for (int l = 0; l < 32; ++l)
      L[32 * j + l] = (uint8_t)clamp_int(nearest_even_int((x[32 * j + l] + dm) / d), 0, nmax);
  }
}

void quantize_row_q4_K(const float* x, void* dst, int64_t n) {
  block_q4_K* y = static_cast<block_q4_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    uint8_t L[QK_K];
    quantize_k45_block<4>(x, &y[i].d, &y[i].dmin, y[i].scales, L);
    // Each 64 values share 32 bytes: the first 32 in the low nibbles, the next 32 in the high.
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l) y[i].qs[32 * c + l] = (uint8_t)(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
  }
}

void quantize_row_q5_K(const float* x, void* dst, int64_t n) {
  block_q5_K* y = static_cast<block_q5_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    uint8_t L[QK_K];
    quantize_k45_block<5>(x, &y[i].d, &y[i].dmin, y[i].scales, L);
    // Nibbles as Q4_K; the fifth bit of sub-block j (values 32j..32j+31) is bit j of qh[l].
    std::memset(y[i].qh, 0, sizeof y[i].qh);
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        const int a = L[64 * c + l], b = L[64 * c + 32 + l];
        y[i].qs[32 * c + l] = (uint8_t)((a & 0x0f) | ((b & 0x0f) << 4));
        y[i].qh[l] |= (uint8_t)(((a >> 4) << (2 * c)) | ((b >> 4) << (2 * c + 1)));
      }
    }
  }
}

// ---- Q6_K: 16 sub-blocks of 16, x = d*sc*(q-32), q in 0..63, sc int8 --------------------------
void quantize_row_q6_K(const float* x, void* dst, int64_t n) {
  block_q6_K* y = static_cast<block_q6_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    uint8_t L[QK_K];
    float scales[16], max_abs = 0, max_scale = 0;
    for (int j = 0; j < 16; ++j) {
      scales[j] = fit_symmetric_weighted(16, 32, x + 16 * j, L + 16 * j);
      if (std::fabs(scales[j]) > max_abs) {
        max_abs = std::fabs(scales[j]);
        max_scale = scales[j];
      }
    }
    std::memset(&y[i], 0, sizeof(block_q6_K));
    if (max_abs < 1e-15f) continue;  // an all-zero super-block
    const float iscale = -128.0f / max_scale;
    y[i].d = fp32_to_fp16(1 / iscale);
    for (int j = 0; j < 16; ++j) y[i].scales[j] = (int8_t)std::min(127, nearest_even_int(iscale * scales[j]));
    for (int j = 0; j < 16; ++j) {
      const float d = fp16_to_fp32(y[i].d) * y[i].scales[j];
      if (d == 0) continue;
      for (int l = 0; l < 16; ++l)
        L[16 * j + l] = (uint8_t)(clamp_int(nearest_even_int(x[16 * j + l] / d), -32, 31) + 32);
    }
    // Per 128-value half: ql[l] holds values l (low nibble) and l+64 (high); ql[l+32] holds l+32
    // and l+96; qh[l] holds the top two bits of l, l+32, l+64, l+96 at bits 0, 2, 4, 6.
    for (int h = 0; h < 2; ++h) {
      const uint8_t* Lh = L + 128 * h;
      uint8_t* ql = y[i].ql + 64 * h;
      uint8_t* qh = y[i].qh + 32 * h;
      for (int l = 0; l < 32; ++l) {
        ql[l] = (uint8_t)((Lh[l] & 0x0f) | ((Lh[l + 64] & 0x0f) << 4));
        ql[l + 32] = (uint8_t)((Lh[l + 32] & 0x0f) | ((Lh[l + 96] & 0x0f) << 4));
        qh[l] =
            (uint8_t)((Lh[l] >> 4) | ((Lh[l + 32] >> 4) << 2) | ((Lh[l + 64] >> 4) << 4) | ((Lh[l + 96] >> 4) << 6));
      }
    }
  }
}

}  // namespace qwen::kernels
