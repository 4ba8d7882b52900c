// Legacy 32-element block formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1): the scalar reference
// quantizers (same rounding as GGML's reference quantizers, so files we write match llama.cpp's),
// dequantizers, and dots against the 8-bit activation blocks.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/fp16.h"
#include "quants/ggml_types.h"
#include "quants/quants_impl.h"

namespace qwen::kernels {

// ---- Q8_0 / Q8_1: symmetric 8-bit, d = max|x| / 127 ------------------------------------------
void quantize_row_q8_0(const float* x, void* dst, int64_t n) {
  block_q8_0* y = static_cast<block_q8_0*>(dst);
  for (int64_t i = 0; i < n / QK8_0; ++i, x += QK8_0) {
    float amax = 0;
    for (int j = 0; j < QK8_0; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    for (int j = 0; j < QK8_0; ++j) y[i].qs[j] = (int8_t)std::lround(x[j] * id);
  }
}
void dequantize_row_q8_0(const void* src, float* y, int64_t n) {
  const block_q8_0* x = static_cast<const block_q8_0*>(src);
  for (int64_t i = 0; i < n / QK8_0; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    for (int j = 0; j < QK8_0; ++j) *y++ = x[i].qs[j] * d;
  }
}
void quantize_row_q8_1(const float* x, void* dst, int64_t n) {
  block_q8_1* y = static_cast<block_q8_1*>(dst);
  for (int64_t i = 0; i < n / QK8_1; ++i, x += QK8_1) {
    float amax = 0;
    for (int j = 0; j < QK8_1; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d ? 1.0f / d : 0.0f;
    int sum = 0;
    for (int j = 0; j < QK8_1; ++j) {
      y[i].qs[j] = (int8_t)std::lround(x[j] * id);
      sum += y[i].qs[j];
    }
    y[i].d = fp32_to_fp16(d);
    y[i].s = fp32_to_fp16(sum * d);
  }
}
void dequantize_row_q8_1(const void* src, float* y, int64_t n) {
  const block_q8_1* x = static_cast<const block_q8_1*>(src);
  for (int64_t i = 0; i < n / QK8_1; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    for (int j = 0; j < QK8_1; ++j) *y++ = x[i].qs[j] * d;
  }
}

// ---- Q4_0: d = (value of largest magnitude) / -8, q = x/d + 8 in [0, 15] ----------------------
void quantize_row_q4_0(const float* x, void* dst, int64_t n) {
  block_q4_0* y = static_cast<block_q4_0*>(dst);
  for (int64_t i = 0; i < n / QK4_0; ++i, x += QK4_0) {
    float amax = 0, max = 0;
    for (int j = 0; j < QK4_0; ++j)
      if (std::fabs(x[j]) > amax) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    const float d = max / -8.0f;
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    for (int j = 0; j < QK4_0 / 2; ++j) {
      const uint8_t q0 = (uint8_t)std::min(15, (int)(int8_t)(x[j] * id + 8.5f));
      const uint8_t q1 = (uint8_t)std::min(15, (int)(int8_t)(x[j + QK4_0 / 2] * id + 8.5f));
      y[i].qs[j] = q0 | (q1 << 4);
    }
  }
}
void dequantize_row_q4_0(const void* src, float* y, int64_t n) {
  const block_q4_0* x = static_cast<const block_q4_0*>(src);
  for (int64_t i = 0; i < n / QK4_0; ++i, y += QK4_0) {
    const float d = fp16_to_fp32(x[i].d);
    for (int j = 0; j < QK4_0 / 2; ++j) {
      y[j] = ((x[i].qs[j] & 0x0f) - 8) * d;
      y[j + QK4_0 / 2] = ((x[i].qs[j] >> 4) - 8) * d;
    }
  }
}

// ---- Q4_1: x = d*q + m, d = (max-min)/15 -----------------------------------------------------
void quantize_row_q4_1(const float* x, void* dst, int64_t n) {
  block_q4_1* y = static_cast<block_q4_1*>(dst);
  for (int64_t i = 0; i < n / QK4_1; ++i, x += QK4_1) {
    float mn = x[0], mx = x[0];
    for (int j = 1; j < QK4_1; ++j) {
      mn = std::min(mn, x[j]);
      mx = std::max(mx, x[j]);
    }
    const float d = (mx - mn) / 15.0f;
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    y[i].m = fp32_to_fp16(mn);
    for (int j = 0; j < QK4_1 / 2; ++j) {
      const uint8_t q0 = (uint8_t)std::min(15, (int)(int8_t)((x[j] - mn) * id + 0.5f));
      const uint8_t q1 = (uint8_t)std::min(15, (int)(int8_t)((x[j + QK4_1 / 2] - mn) * id + 0.5f));
      y[i].qs[j] = q0 | (q1 << 4);
    }
  }
}
void dequantize_row_q4_1(const void* src, float* y, int64_t n) {
  const block_q4_1* x = static_cast<const block_q4_1*>(src);
  for (int64_t i = 0; i < n / QK4_1; ++i, y += QK4_1) {
    const float d = fp16_to_fp32(x[i].d), m = fp16_to_fp32(x[i].m);
    for (int j = 0; j < QK4_1 / 2; ++j) {
      y[j] = (x[i].qs[j] & 0x0f) * d + m;
      y[j + QK4_1 / 2] = (x[i].qs[j] >> 4) * d + m;
    }
  }
}

// ---- Q5_0 / Q5_1: like Q4 with a fifth bit per element packed in qh --------------------------
static inline uint32_t load_qh(const uint8_t* qh) {
  uint32_t v;
  std::memcpy(&v, qh, 4);
  return v;
}

void quantize_row_q5_0(const float* x, void* dst, int64_t n) {
  block_q5_0* y = static_cast<block_q5_0*>(dst);
  for (int64_t i = 0; i < n / QK5_0; ++i, x += QK5_0) {
    float amax = 0, max = 0;
    for (int j = 0; j < QK5_0; ++j)
      if (std::fabs(x[j]) > amax) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    const float d = max / -16.0f;
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    uint32_t qh = 0;
    for (int j = 0; j < QK5_0 / 2; ++j) {
      const uint8_t q0 = (uint8_t)std::min(31, (int)(int8_t)(x[j] * id + 16.5f));
      const uint8_t q1 = (uint8_t)std::min(31, (int)(int8_t)(x[j + QK5_0 / 2] * id + 16.5f));
      y[i].qs[j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
      qh |= (uint32_t)(q0 >> 4) << j;
      qh |= (uint32_t)(q1 >> 4) << (j + QK5_0 / 2);
    }
    std::memcpy(y[i].qh, &qh, 4);
  }
}
void dequantize_row_q5_0(const void* src, float* y, int64_t n) {
  const block_q5_0* x = static_cast<const block_q5_0*>(src);
  for (int64_t i = 0; i < n / QK5_0; ++i, y += QK5_0) {
    const float d = fp16_to_fp32(x[i].d);
    const uint32_t qh = load_qh(x[i].qh);
    for (int j = 0; j < QK5_0 / 2; ++j) {
      const int q0 = (x[i].qs[j] & 0x0f) | (((qh >> j) & 1) << 4);
      const int q1 = (x[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
      y[j] = (q0 - 16) * d;
      y[j + 16] = (q1 - 16) * d;
    }
  }
}
void quantize_row_q5_1(const float* x, void* dst, int64_t n) {
  block_q5_1* y = static_cast<block_q5_1*>(dst);
  for (int64_t i = 0; i < n / QK5_1; ++i, x += QK5_1) {
    float mn = x[0], mx = x[0];
    for (int j = 1; j < QK5_1; ++j) {
      mn = std::min(mn, x[j]);
      mx = std::max(mx, x[j]);
    }
    const float d = (mx - mn) / 31.0f;
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    y[i].m = fp32_to_fp16(mn);
    uint32_t qh = 0;
    for (int j = 0; j < QK5_1 / 2; ++j) {
      const uint8_t q0 = (uint8_t)((x[j] - mn) * id + 0.5f);
      const uint8_t q1 = (uint8_t)((x[j + QK5_1 / 2] - mn) * id + 0.5f);
      y[i].qs[j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
      qh |= (uint32_t)((q0 >> 4) & 1) << j;
      qh |= (uint32_t)((q1 >> 4) & 1) << (j + QK5_1 / 2);
    }
    std::memcpy(y[i].qh, &qh, 4);
  }
}
void dequantize_row_q5_1(const void* src, float* y, int64_t n) {
  const block_q5_1* x = static_cast<const block_q5_1*>(src);
  for (int64_t i = 0; i < n / QK5_1; ++i, y += QK5_1) {
    const float d = fp16_to_fp32(x[i].d), m = fp16_to_fp32(x[i].m);
    const uint32_t qh = load_qh(x[i].qh);
    for (int j = 0; j < QK5_1 / 2; ++j) {
      const int q0 = (x[i].qs[j] & 0x0f) | (((qh >> j) & 1) << 4);
      const int q1 = (x[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
      y[j] = q0 * d + m;
      y[j + 16] = q1 * d + m;
    }
  }
}

// ---- Scalar dots: integer sums per block, scaled once per block ------------------------------
float vec_dot_q8_0(int n, const void* w, const void* xv) {
  const block_q8_0* a = static_cast<const block_q8_0*>(w);
  const block_q8_0* b = static_cast<const block_q8_0*>(xv);
  float s = 0;
  for (int i = 0; i < n / QK8_0; ++i) {
    int acc = 0;
    for (int j = 0; j < QK8_0; ++j) acc += a[i].qs[j] * b[i].qs[j];
    s += acc * fp16_to_fp32(a[i].d) * fp16_to_fp32(b[i].d);
  }
  return s;
}
float vec_dot_q4_0(int n, const void* w, const void* xv) {
  const block_q4_0* a = static_cast<const block_q4_0*>(w);
  const block_q8_0* b = static_cast<const block_q8_0*>(xv);
  float s = 0;
  for (int i = 0; i < n / QK4_0; ++i) {
    int acc = 0;
    for (int j = 0; j < QK4_0 / 2; ++j) {
      acc += ((a[i].qs[j] & 0x0f) - 8) * b[i].qs[j];
      acc += ((a[i].qs[j] >> 4) - 8) * b[i].qs[j + 16];
    }
    s += acc * fp16_to_fp32(a[i].d) * fp16_to_fp32(b[i].d);
  }
  return s;
}
float vec_dot_q4_1(int n, const void* w, const void* xv) {
  const block_q4_1* a = static_cast<const block_q4_1*>(w);
  const block_q8_1* b = static_cast<const block_q8_1*>(xv);
  float s = 0;
  for (int i = 0; i < n / QK4_1; ++i) {
    int acc = 0;
    for (int j = 0; j < QK4_1 / 2; ++j) {
      acc += (a[i].qs[j] & 0x0f) * b[i].qs[j];
      acc += (a[i].qs[j] >> 4) * b[i].qs[j + 16];
    }
    // sum (d_a q_a + m_a) d_b q_b = d_a d_b sum(q_a q_b) + m_a * s_b
    s += acc * fp16_to_fp32(a[i].d) * fp16_to_fp32(b[i].d) + fp16_to_fp32(a[i].m) * fp16_to_fp32(b[i].s);
  }
  return s;
}
float vec_dot_q5_0(int n, const void* w, const void* xv) {
  const block_q5_0* a = static_cast<const block_q5_0*>(w);
  const block_q8_0* b = static_cast<const block_q8_0*>(xv);
  float s = 0;
  for (int i = 0; i < n / QK5_0; ++i) {
    const uint32_t qh = load_qh(a[i].qh);
    int acc = 0;
    for (int j = 0; j < QK5_0 / 2; ++j) {
      acc += (((a[i].qs[j] & 0x0f) | (((qh >> j) & 1) << 4)) - 16) * b[i].qs[j];
      acc += (((a[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16) * b[i].qs[j + 16];
    }
    s += acc * fp16_to_fp32(a[i].d) * fp16_to_fp32(b[i].d);
  }
  return s;
}
float vec_dot_q5_1(int n, const void* w, const void* xv) {
  const block_q5_1* a = static_cast<const block_q5_1*>(w);
  const block_q8_1* b = static_cast<const block_q8_1*>(xv);
  float s = 0;
  for (int i = 0; i < n / QK5_1; ++i) {
    const uint32_t qh = load_qh(a[i].qh);
    int acc = 0;
    for (int j = 0; j < QK5_1 / 2; ++j) {
      acc += ((a[i].qs[j] & 0x0f) | (((qh >> j) & 1) << 4)) * b[i].qs[j];
      acc += ((a[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) * b[i].qs[j + 16];
    }
    s += acc * fp16_to_fp32(a[i].d) * fp16_to_fp32(b[i].d) + fp16_to_fp32(a[i].m) * fp16_to_fp32(b[i].s);
  }
  return s;
}

}  // namespace qwen::kernels
