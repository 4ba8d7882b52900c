// K-quant decoding: dequantizers to float and the scalar reference dots against Q8_K activations.
//
// Every K-quant super-block decodes to the same shape: 256 small integer levels, one integer scale
// and one integer min per group of 16 values, and two fp16 multipliers, so that
//   x[k] = d * scale[k/16] * level[k] - dmin * min[k/16].
// Each format only needs an unpacker to that shape (unpack_* below); the dequantizer and the dot
// are shared. The dot stays in integers until the per-super-block scaling, like the AVX2 kernels,
// so the two agree to float rounding; the mins use the activation block's precomputed group sums:
//   sum_k x[k] y[k] = y.d * (d * sum_g scale[g] * sum_{k in g} level[k] q8[k] - dmin * sum_g min[g] * bsums[g]).
#include "base/fp16.h"
#include "quants/quants_impl.h"
#include "quants/quants_k_common.h"

namespace qwen::kernels {

namespace {

struct Unpacked {
  float d = 0, dmin = 0;
  int8_t level[QK_K];
  int scale[QK_K / 16];
  int min[QK_K / 16];
};

void unpack(const block_q2_K& b, Unpacked& u) {
  u.d = fp16_to_fp32(b.d);
  u.dmin = fp16_to_fp32(b.dmin);
  for (int g = 0; g < 16; ++g) {
    u.scale[g] = b.scales[g] & 0x0f;
    u.min[g] = b.scales[g] >> 4;
  }
  // Byte l of each 32-byte half holds values l, l+32, l+64, l+96 of that 128-value half.
  for (int k = 0; k < QK_K; ++k) {
    const int half = k / 128, r = k % 128;
    u.level[k] = (int8_t)((b.qs[32 * half + r % 32] >> (2 * (r / 32))) & 3);
  }
}

void unpack(const block_q3_K& b, Unpacked& u) {
  u.d = fp16_to_fp32(b.d);
  int8_t sc[16];
  q3k_unpack_scales(b.scales, sc);
  for (int g = 0; g < 16; ++g) {
    u.scale[g] = sc[g];
    u.min[g] = 0;
  }
  // Low two bits as Q2_K; a clear bit j/32 in hmask[j%32] means "subtract 4".
  for (int k = 0; k < QK_K; ++k) {
    const int half = k / 128, r = k % 128;
    const int low = (b.qs[32 * half + r % 32] >> (2 * (r / 32))) & 3;
    const int high = (b.hmask[k % 32] >> (k / 32)) & 1;
    u.level[k] = (int8_t)(low - (high ? 0 : 4));
  }
}

// Q4_K and Q5_K: 8 sub-blocks of 32 values; each sub-block's scale/min covers two groups of 16.
template <typename Block> void unpack_k45(const Block& b, const uint8_t* qh, Unpacked& u) {
  u.d = fp16_to_fp32(b.d);
  u.dmin = fp16_to_fp32(b.dmin);
  for (int j = 0; j < 8; ++j) {
    int sc, m;
    k4_scale_min(j, b.scales, &sc, &m);
    u.scale[2 * j] = u.scale[2 * j + 1] = sc;
    u.min[2 * j] = u.min[2 * j + 1] = m;
  }
  for (int k = 0; k < QK_K; ++k) {
    const int sub = k / 32, l = k % 32;
    int q = (b.qs[32 * (sub / 2) + l] >> (4 * (sub % 2))) & 0x0f;
    if (qh) q |= ((qh[l] >> sub) & 1) << 4;
    u.level[k] = (int8_t)q;
  }
}
void unpack(const block_q4_K& b, Unpacked& u) { unpack_k45(b, nullptr, u); }
void unpack(const block_q5_K& b, Unpacked& u) { unpack_k45(b, b.qh, u); }

void unpack(const block_q6_K& b, Unpacked& u) {
  u.d = fp16_to_fp32(b.d);
  for (int g = 0; g < 16; ++g) {
    u.scale[g] = b.scales[g];
    u.min[g] = 0;
  }
  // Per 128-value half: value r's low nibble is in ql[r % 64] (low nibble for r < 64, high
  // otherwise); its top two bits are in qh[r % 32] at bit 2 * (r / 32).
  for (int k = 0; k < QK_K; ++k) {
    const int half = k / 128, r = k % 128;
    const int low = (b.ql[64 * half + r % 64] >> (r < 64 ? 0 : 4)) & 0x0f;
    const int high = (b.qh[32 * half + r % 32] >> (2 * (r / 32))) & 3;
    u.level[k] = (int8_t)((low | (high << 4)) - 32);
  }
}

template <typename Block> void dequantize_k(const void* src, float* y, int64_t n) {
  const Block* x = static_cast<const Block*>(src);
  Unpacked u;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    unpack(x[i], u);
    for (int k = 0; k < QK_K; ++k) *y++ = u.d * u.scale[k / 16] * u.level[k] - u.dmin * u.min[k / 16];
  }
}

// w (n,) K-quant . x (n,) Q8_K -> scalar
template <typename Block> float dot_k(int n, const void* w, const void* xv) {
  const Block* a = static_cast<const Block*>(w);
  const block_q8_K* b = static_cast<const block_q8_K*>(xv);
  Unpacked u;
  float sum = 0;
  for (int i = 0; i < n / QK_K; ++i) {
    unpack(a[i], u);
    int sumi = 0, summ = 0;
    for (int g = 0; g < 16; ++g) {
      int s = 0;
      for (int l = 0; l < 16; ++l) s += u.level[16 * g + l] * b[i].qs[16 * g + l];
      sumi += u.scale[g] * s;
      summ += u.min[g] * b[i].bsums[g];
    }
    sum += b[i].d * (u.d * (float)sumi - u.dmin * (float)summ);
  }
  return sum;
}

}  // namespace

void dequantize_row_q8_K(const void* src, float* y, int64_t n) {
  const block_q8_K* x = static_cast<const block_q8_K*>(src);
  for (int64_t i = 0; i < n / QK_K; ++i)
    for (int j = 0; j < QK_K; ++j) *y++ = x[i].d * x[i].qs[j];
}

void dequantize_row_q2_K(const void* s, float* y, int64_t n) { dequantize_k<block_q2_K>(s, y, n); }
void dequantize_row_q3_K(const void* s, float* y, int64_t n) { dequantize_k<block_q3_K>(s, y, n); }
void dequantize_row_q4_K(const void* s, float* y, int64_t n) { dequantize_k<block_q4_K>(s, y, n); }
void dequantize_row_q5_K(const void* s, float* y, int64_t n) { dequantize_k<block_q5_K>(s, y, n); }
void dequantize_row_q6_K(const void* s, float* y, int64_t n) { dequantize_k<block_q6_K>(s, y, n); }

float vec_dot_q2_K(int n, const void* w, const void* x) { return dot_k<block_q2_K>(n, w, x); }
float vec_dot_q3_K(int n, const void* w, const void* x) { return dot_k<block_q3_K>(n, w, x); }
float vec_dot_q4_K(int n, const void* w, const void* x) { return dot_k<block_q4_K>(n, w, x); }
float vec_dot_q5_K(int n, const void* w, const void* x) { return dot_k<block_q5_K>(n, w, x); }
float vec_dot_q6_K(int n, const void* w, const void* x) { return dot_k<block_q6_K>(n, w, x); }

}  // namespace qwen::kernels
