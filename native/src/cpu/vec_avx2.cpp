// F16C/FMA versions of the vec.h kernels; only called when the CPU has them.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "base/fp16.h"
#include "cpu/ops.h"
#include "cpu/vec.h"
#include "quants/avx2_util.h"

namespace qwen::vec_avx2 {

float dot_f16_f32(int n, const uint16_t* a, const float* b) {
  __m256 acc = _mm256_setzero_ps();
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 av = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)));
    acc = _mm256_fmadd_ps(av, _mm256_loadu_ps(b + i), acc);
  }
  __m128 lo = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  float s = _mm_cvtss_f32(lo);
  for (; i < n; ++i) s += fp16_to_fp32(a[i]) * b[i];
  return s;
}

void axpy_f16(int n, float alpha, const uint16_t* x, float* y) {
  const __m256 va = _mm256_set1_ps(alpha);
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 xv = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i)));
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, xv, _mm256_loadu_ps(y + i)));
  }
  for (; i < n; ++i) y[i] += alpha * fp16_to_fp32(x[i]);
}

void f32_to_f16(int n, const float* x, uint16_t* y) {
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), h);
  }
  for (; i < n; ++i) y[i] = fp32_to_fp16(x[i]);
}

namespace {
// Calls f(integral_constant<int, M>{}, j0) for the heads j0 .. j0 + M - 1, M <= 8 at a time: the
// run kernels below keep one accumulator per head in registers, so M is a compile-time count.
template <class F> void for_head_groups(int m, F&& f) {
  for (int j0 = 0; j0 < m; j0 += 8) {
    switch (std::min(8, m - j0)) {
      case 8: f(std::integral_constant<int, 8>{}, j0); break;
      case 7: f(std::integral_constant<int, 7>{}, j0); break;
      case 6: f(std::integral_constant<int, 6>{}, j0); break;
      case 5: f(std::integral_constant<int, 5>{}, j0); break;
      case 4: f(std::integral_constant<int, 4>{}, j0); break;
      case 3: f(std::integral_constant<int, 3>{}, j0); break;
      case 2: f(std::integral_constant<int, 2>{}, j0); break;
      default: f(std::integral_constant<int, 1>{}, j0); break;
    }
  }
}

// The horizontal sums of eight accumulators, in order, as one vector.
inline __m256 hsum8(const __m256* a) {
  const __m256 s0123 = _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]), _mm256_hadd_ps(a[2], a[3]));
  const __m256 s4567 = _mm256_hadd_ps(_mm256_hadd_ps(a[4], a[5]), _mm256_hadd_ps(a[6], a[7]));
  // s0123 holds a0..a3's sums over their low 128 bits, then over their high 128 bits.
  return _mm256_add_ps(_mm256_permute2f128_ps(s0123, s4567, 0x20), _mm256_permute2f128_ps(s0123, s4567, 0x31));
}

// M (1..8) query rows against a run of count f16 rows; n % 8 == 0.
template <int M>
void dot_run_m(int n, int count, const uint16_t* x, int x_stride, const float* b, int b_stride, float* out,
               int out_stride) {
  for (int p = 0; p < count; ++p) {
    const uint16_t* xp = x + (size_t)p * x_stride;
    __m256 acc[8];
    for (int j = 0; j < 8; ++j) acc[j] = _mm256_setzero_ps();
    for (int i = 0; i < n; i += 8) {
      const __m256 xv = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(xp + i)));
      for (int j = 0; j < M; ++j) acc[j] = _mm256_fmadd_ps(xv, _mm256_loadu_ps(b + (size_t)j * b_stride + i), acc[j]);
    }
    alignas(32) float sums[8];
    _mm256_store_ps(sums, hsum8(acc));
    for (int j = 0; j < M; ++j) out[(size_t)j * out_stride + p] = sums[j];
  }
}
}  // namespace

void dot_f16_f32_run(int n, int count, const uint16_t* x, int x_stride, const float* b, int b_stride, int m, float* out,
                     int out_stride) {
  if (n % 8 != 0) {
    for (int p = 0; p < count; ++p)
      for (int j = 0; j < m; ++j)
        out[(size_t)j * out_stride + p] = dot_f16_f32(n, x + (size_t)p * x_stride, b + (size_t)j * b_stride);
    return;
  }
  for_head_groups(m, [&](auto rows, int j0) {
    dot_run_m<decltype(rows)::value>(n, count, x, x_stride, b + (size_t)j0 * b_stride, b_stride,
                                     out + (size_t)j0 * out_stride, out_stride);
  });
}

namespace {
// M (1..8) output rows against a run of count f16 rows, 8 columns at a time: the M accumulators
// stay in registers while the run passes, and each row chunk is converted once; n % 8 == 0.
template <int M>
void axpy_run_m(int n, int count, const float* alpha, int alpha_stride, const uint16_t* x, int x_stride, float* y,
                int y_stride) {
  for (int i = 0; i < n; i += 8) {
    __m256 acc[M];
    for (int j = 0; j < M; ++j) acc[j] = _mm256_loadu_ps(y + (size_t)j * y_stride + i);
    for (int p = 0; p < count; ++p) {
      const __m256 xv =
          _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + (size_t)p * x_stride + i)));
      for (int j = 0; j < M; ++j)
        acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(alpha[(size_t)j * alpha_stride + p]), xv, acc[j]);
    }
    for (int j = 0; j < M; ++j) _mm256_storeu_ps(y + (size_t)j * y_stride + i, acc[j]);
  }
}
}  // namespace

void axpy_f16_run(int n, int count, const float* alpha, int alpha_stride, const uint16_t* x, int x_stride, float* y,
                  int y_stride, int m) {
  if (n % 8 != 0) {
    for (int p = 0; p < count; ++p)
      for (int j = 0; j < m; ++j)
        axpy_f16(n, alpha[(size_t)j * alpha_stride + p], x + (size_t)p * x_stride, y + (size_t)j * y_stride);
    return;
  }
  for_head_groups(m, [&](auto rows, int j0) {
    axpy_run_m<decltype(rows)::value>(n, count, alpha + (size_t)j0 * alpha_stride, alpha_stride, x, x_stride,
                                      y + (size_t)j0 * y_stride, y_stride);
  });
}

namespace {

// e^x for 8 floats: x = k ln2 + r with |r| <= ln2/2, e^r by a degree-6 polynomial (the Cephes
// single-precision coefficients), 2^k put into the exponent bits. Within 2 ulp of expf over the
// range where expf is finite and normal; inputs are clamped to that range first, so -inf, large
// negatives and large positives give ~0 and ~FLT_MAX instead of garbage (silu needs only that).
inline __m256 exp_ps(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
  const __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  // r = x - k ln2, with ln2 split in two so the product is exact to float precision.
  __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  const __m256 er = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), _mm256_set1_ps(1.0f));
  const __m256i two_k = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(er, _mm256_castsi256_ps(two_k));
}

}  // namespace

void swiglu(int n, float* g, const float* u) {
  const __m256 one = _mm256_set1_ps(1.0f);
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(g + i);
    const __m256 silu = _mm256_div_ps(x, _mm256_add_ps(one, exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), x))));
    _mm256_storeu_ps(g + i, _mm256_mul_ps(silu, _mm256_loadu_ps(u + i)));
  }
  swiglu_inplace(g + i, u + i, n - i);
}

// Three passes as the scalar form (scale and max, exp and sum, normalise), eight scores at a time
// with exp_ps; the sum is kept in floats (eight partial sums), where the scalar form uses a double.
void softmax_scaled(int n, float* x, float scale) {
  const __m256 vscale = _mm256_set1_ps(scale);
  __m256 vmax = _mm256_set1_ps(-INFINITY);
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), vscale);
    _mm256_storeu_ps(x + i, v);
    vmax = _mm256_max_ps(vmax, v);
  }
  __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  float mx = _mm_cvtss_f32(_mm_max_ss(m4, _mm_movehdup_ps(m4)));
  for (; i < n; ++i) {
    x[i] *= scale;
    mx = std::max(mx, x[i]);
  }
  const __m256 vmx = _mm256_set1_ps(mx);
  __m256 vsum = _mm256_setzero_ps();
  for (i = 0; i + 8 <= n; i += 8) {
    const __m256 e = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmx));
    _mm256_storeu_ps(x + i, e);
    vsum = _mm256_add_ps(vsum, e);
  }
  float sum = kernels::hsum(vsum);
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
  const __m256 vinv = _mm256_set1_ps(inv);
  for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vinv));
  for (; i < n; ++i) x[i] *= inv;
}

}  // namespace qwen::vec_avx2
