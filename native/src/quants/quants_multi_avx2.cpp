// AVX2 dots of ONE weight row with up to four activation rows at once (prompt prefill): each
// weight block is loaded and unpacked once and then multiplied with every activation row, which
// saves the unpacking (shifts, masks, scale decoding) that dominates the K-quant kernels.
//   w (n,) . x_t (n,) -> out[t], t < n_x <= 4, x_t = x + t * x_stride bytes.
// Same arithmetic as the single-row kernels (integer sums per block, one float scale per block),
// so results agree with them to float rounding (tests check). Compiled with -mavx2 -mfma -mf16c;
// called only after cpu_features() said yes.
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "quants/avx2_util.h"
#include "quants/quants_impl.h"
#include "quants/quants_k_avx2_util.h"
#include "quants/quants_k_common.h"

namespace qwen::kernels {

namespace {

// Signed bytes a times signed bytes b, 32 products summed into 8 int32 lanes.
inline __m256i dot_i8_i32(__m256i abs_a, __m256i a, __m256i b) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(abs_a, _mm256_sign_epi8(b, a)), _mm256_set1_epi16(1));
}
inline __m256i scaled_dot(__m256i levels, __m256i q8, __m256i scales) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(levels, q8), scales);
}
inline __m256i pair_scales(int s0, int s1) {
  return _mm256_set_m128i(_mm_set1_epi16((short)s1), _mm_set1_epi16((short)s0));
}

template <typename Block> inline const Block* act(const void* x, size_t stride, int t) {
  return reinterpret_cast<const Block*>(static_cast<const uint8_t*>(x) + stride * t);
}

// Expands the 32 bits at qh into 32 bytes, 0xff where the bit is set (Q5_0's fifth bits).
inline __m256i bits_to_bytes(const uint8_t* qh) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  // Laid out by hand: one row per 128-bit lane of the shuffle mask.
  // clang-format off
  const __m256i shuf = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                        2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  // clang-format on
  const __m256i v =
      _mm256_or_si256(_mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), shuf), _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
  return _mm256_cmpeq_epi8(v, _mm256_set1_epi64x(-1));
}

enum class Legacy { Q8_0, Q4_0, Q5_0 };

// One block of Q8_0 / Q4_0 / Q5_0 weights as 32 signed levels, and its scale.
template <Legacy L> inline __m256i legacy_levels(const void* w, int i, float* d) {
  if constexpr (L == Legacy::Q8_0) {
    const block_q8_0& blk = static_cast<const block_q8_0*>(w)[i];
    *d = half_to_float(blk.d);
    return load32(blk.qs);
  } else {
    const uint8_t* qs;
    if constexpr (L == Legacy::Q4_0) {
      const block_q4_0& blk = static_cast<const block_q4_0*>(w)[i];
      *d = half_to_float(blk.d);
      qs = blk.qs;
    } else {
      const block_q5_0& blk = static_cast<const block_q5_0*>(w)[i];
      *d = half_to_float(blk.d);
      qs = blk.qs;
    }
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    const __m256i q = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed), _mm256_set1_epi8(0x0f));
    if constexpr (L == Legacy::Q4_0) return _mm256_sub_epi8(q, _mm256_set1_epi8(8));
    // Q5_0: level - 16 = nibble | (fifth bit << 4) - 16, i.e. the nibble with 0xF0 where the bit is clear.
    const block_q5_0& blk = static_cast<const block_q5_0*>(w)[i];
    return _mm256_or_si256(q, _mm256_andnot_si256(bits_to_bytes(blk.qh), _mm256_set1_epi8((char)0xF0)));
  }
}

// Q8_0, Q4_0 and Q5_0 weights (signed levels) against Q8_0 activations.
template <int NX, Legacy L> void dot_legacy_multi(int n, const void* w, const void* x, size_t stride, float* out) {
  __m256 acc[NX];
  for (int t = 0; t < NX; ++t) acc[t] = _mm256_setzero_ps();
  for (int i = 0; i < n / QK8_0; ++i) {
    float dw;
    const __m256i q = legacy_levels<L>(w, i, &dw);
    const __m256i abs_q = _mm256_sign_epi8(q, q);
    for (int t = 0; t < NX; ++t) {
      const block_q8_0& y = act<block_q8_0>(x, stride, t)[i];
      const __m256 p = _mm256_cvtepi32_ps(dot_i8_i32(abs_q, q, load32(y.qs)));
      acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(dw * half_to_float(y.d)), p, acc[t]);
    }
  }
  for (int t = 0; t < NX; ++t) out[t] = hsum(acc[t]);
}

// Two weight rows of Q8_0 / Q4_0 / Q5_0 against NX Q8_0 activation rows: each activation block
// is loaded once for both rows and each weight block decoded once for all NX tokens, and the
// block scale product is one vector multiply per pair. out[r * out_stride + t], r < 2, t < NX.
template <int NX, Legacy L>
void dot_legacy_2rows(int n, const void* w, size_t w_stride, const void* x, size_t stride, float* out,
                      size_t out_stride) {
  const void* w1 = static_cast<const uint8_t*>(w) + w_stride;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc0[NX], acc1[NX];
  for (int t = 0; t < NX; ++t) acc0[t] = acc1[t] = _mm256_setzero_ps();
  for (int i = 0; i < n / QK8_0; ++i) {
    float d0, d1;
    const __m256i q0 = legacy_levels<L>(w, i, &d0), q1 = legacy_levels<L>(w1, i, &d1);
    const __m256i abs0 = _mm256_sign_epi8(q0, q0), abs1 = _mm256_sign_epi8(q1, q1);
    const __m256 vd0 = _mm256_set1_ps(d0), vd1 = _mm256_set1_ps(d1);
    for (int t = 0; t < NX; ++t) {
      const block_q8_0& y = act<block_q8_0>(x, stride, t)[i];
      const __m256i yq = load32(y.qs);
      const __m256 yd = _mm256_set1_ps(half_to_float(y.d));
      const __m256 p0 =
          _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(abs0, _mm256_sign_epi8(yq, q0)), ones));
      const __m256 p1 =
          _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(abs1, _mm256_sign_epi8(yq, q1)), ones));
      acc0[t] = _mm256_fmadd_ps(_mm256_mul_ps(vd0, yd), p0, acc0[t]);
      acc1[t] = _mm256_fmadd_ps(_mm256_mul_ps(vd1, yd), p1, acc1[t]);
    }
  }
  for (int t = 0; t < NX; ++t) {
    out[t] = hsum(acc0[t]);
    out[out_stride + t] = hsum(acc1[t]);
  }
}

// Q4_K / Q5_K weights against Q8_K activations (see quants_k_avx2.cpp for the single-row form).
template <int NX, bool FIFTH_BIT> void dot_k45_multi(int n, const void* w, const void* x, size_t stride, float* out) {
  using Block = std::conditional_t<FIFTH_BIT, block_q5_K, block_q4_K>;
  const Block* a = static_cast<const Block*>(w);
  const __m256i low_nibble = _mm256_set1_epi8(0x0f);
  __m256 acc[NX];
  __m128 mins[NX];
  for (int t = 0; t < NX; ++t) {
    acc[t] = _mm256_setzero_ps();
    mins[t] = _mm_setzero_ps();
  }
  for (int i = 0; i < n / QK_K; ++i) {
    uint8_t sc[8], m[8];
    k4_unpack_scales_mins(a[i].scales, sc, m);
    const float d = half_to_float(a[i].d), dmin = half_to_float(a[i].dmin);
    __m256i sumi[NX];
    for (int t = 0; t < NX; ++t) {
      const block_q8_K& y = act<block_q8_K>(x, stride, t)[i];
      mins[t] = _mm_fmadd_ps(_mm_set1_ps(y.d * dmin), _mm_cvtepi32_ps(k4_min_dot(m, y.bsums)), mins[t]);
      sumi[t] = _mm256_setzero_si256();
    }
    __m256i qh = _mm256_setzero_si256();
    if constexpr (FIFTH_BIT) qh = load32(a[i].qh);
    for (int c = 0; c < 4; ++c) {
      const __m256i q = load32(a[i].qs + 32 * c);
      __m256i lo = _mm256_and_si256(q, low_nibble);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low_nibble);
      if constexpr (FIFTH_BIT) {
        const __m256i m0 = _mm256_set1_epi8((char)(1 << (2 * c))), m1 = _mm256_set1_epi8((char)(2 << (2 * c)));
        lo = _mm256_or_si256(lo,
                             _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, m0), m0), _mm256_set1_epi8(16)));
        hi = _mm256_or_si256(hi,
                             _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, m1), m1), _mm256_set1_epi8(16)));
      }
      const __m256i s_lo = _mm256_set1_epi16((short)sc[2 * c]), s_hi = _mm256_set1_epi16((short)sc[2 * c + 1]);
      for (int t = 0; t < NX; ++t) {
        const int8_t* y = act<block_q8_K>(x, stride, t)[i].qs + 64 * c;
        sumi[t] = _mm256_add_epi32(sumi[t], scaled_dot(lo, load32(y), s_lo));
        sumi[t] = _mm256_add_epi32(sumi[t], scaled_dot(hi, load32(y + 32), s_hi));
      }
    }
    for (int t = 0; t < NX; ++t) {
      const float yd = act<block_q8_K>(x, stride, t)[i].d;
      acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(yd * d), _mm256_cvtepi32_ps(sumi[t]), acc[t]);
    }
  }
  for (int t = 0; t < NX; ++t) out[t] = hsum(acc[t]) - hsum_ps128(mins[t]);
}

// Q6_K weights against Q8_K activations.
template <int NX> void dot_q6_K_multi(int n, const void* w, const void* x, size_t stride, float* out) {
  const block_q6_K* a = static_cast<const block_q6_K*>(w);
  const __m256i low_nibble = _mm256_set1_epi8(0x0f), top_pair = _mm256_set1_epi8(0x30);
  __m256 acc[NX];
  for (int t = 0; t < NX; ++t) acc[t] = _mm256_setzero_ps();
  for (int i = 0; i < n / QK_K; ++i) {
    const int8_t* sc = a[i].scales;
    __m256i sumi[NX];
    for (int t = 0; t < NX; ++t) {
      // The stored +32 on every level over-counts 32 * sum_g sc[g] * bsums[g].
      sumi[t] = _mm256_sub_epi32(_mm256_setzero_si256(),
                                 _mm256_slli_epi32(k16_scale_dot(sc, act<block_q8_K>(x, stride, t)[i].bsums), 5));
    }
    for (int h = 0; h < 2; ++h) {
      const __m256i ql0 = load32(a[i].ql + 64 * h), ql1 = load32(a[i].ql + 64 * h + 32);
      const __m256i qh = load32(a[i].qh + 32 * h);
      __m256i q[4];
      q[0] = _mm256_or_si256(_mm256_and_si256(ql0, low_nibble), _mm256_and_si256(_mm256_slli_epi16(qh, 4), top_pair));
      q[1] = _mm256_or_si256(_mm256_and_si256(ql1, low_nibble), _mm256_and_si256(_mm256_slli_epi16(qh, 2), top_pair));
      q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low_nibble), _mm256_and_si256(qh, top_pair));
      q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low_nibble),
                             _mm256_and_si256(_mm256_srli_epi16(qh, 2), top_pair));
      for (int k = 0; k < 4; ++k) {
        const __m256i s = pair_scales(sc[8 * h + 2 * k], sc[8 * h + 2 * k + 1]);
        for (int t = 0; t < NX; ++t) {
          const int8_t* y = act<block_q8_K>(x, stride, t)[i].qs + 128 * h + 32 * k;
          sumi[t] = _mm256_add_epi32(sumi[t], scaled_dot(q[k], load32(y), s));
        }
      }
    }
    const float d = half_to_float(a[i].d);
    for (int t = 0; t < NX; ++t) {
      const float yd = act<block_q8_K>(x, stride, t)[i].d;
      acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(yd * d), _mm256_cvtepi32_ps(sumi[t]), acc[t]);
    }
  }
  for (int t = 0; t < NX; ++t) out[t] = hsum(acc[t]);
}

// Runs KERNEL<1..4> over the activations in groups of four.
template <template <int> class K>
void in_groups_of_four(int n, const void* w, const void* x, size_t stride, int n_x, float* out) {
  int t = 0;
  for (; t + 4 <= n_x; t += 4) K<4>::run(n, w, static_cast<const uint8_t*>(x) + stride * t, stride, out + t);
  const void* rest = static_cast<const uint8_t*>(x) + stride * t;
  switch (n_x - t) {
    case 3: K<3>::run(n, w, rest, stride, out + t); break;
    case 2: K<2>::run(n, w, rest, stride, out + t); break;
    case 1: K<1>::run(n, w, rest, stride, out + t); break;
    default: break;
  }
}

// Runs KERNEL<1..4> (two weight rows each) over the activations in groups of four.
template <template <int> class K>
void two_rows_in_groups_of_four(int n, const void* w, size_t w_stride, const void* x, size_t stride, int n_x,
                                float* out, size_t out_stride) {
  int t = 0;
  for (; t + 4 <= n_x; t += 4)
    K<4>::run(n, w, w_stride, static_cast<const uint8_t*>(x) + stride * t, stride, out + t, out_stride);
  const void* rest = static_cast<const uint8_t*>(x) + stride * t;
  switch (n_x - t) {
    case 3: K<3>::run(n, w, w_stride, rest, stride, out + t, out_stride); break;
    case 2: K<2>::run(n, w, w_stride, rest, stride, out + t, out_stride); break;
    case 1: K<1>::run(n, w, w_stride, rest, stride, out + t, out_stride); break;
    default: break;
  }
}

template <Legacy L> struct TwoRows {
  template <int NX> struct K {
    static void run(int n, const void* w, size_t ws, const void* x, size_t s, float* o, size_t os) {
      dot_legacy_2rows<NX, L>(n, w, ws, x, s, o, os);
    }
  };
};

template <int NX> struct Q8_0Kernel {
  static void run(int n, const void* w, const void* x, size_t s, float* o) {
    dot_legacy_multi<NX, Legacy::Q8_0>(n, w, x, s, o);
  }
};
template <int NX> struct Q4_0Kernel {
  static void run(int n, const void* w, const void* x, size_t s, float* o) {
    dot_legacy_multi<NX, Legacy::Q4_0>(n, w, x, s, o);
  }
};
template <int NX> struct Q5_0Kernel {
  static void run(int n, const void* w, const void* x, size_t s, float* o) {
    dot_legacy_multi<NX, Legacy::Q5_0>(n, w, x, s, o);
  }
};
template <int NX> struct Q4_KKernel {
  static void run(int n, const void* w, const void* x, size_t s, float* o) { dot_k45_multi<NX, false>(n, w, x, s, o); }
};
template <int NX> struct Q5_KKernel {
  static void run(int n, const void* w, const void* x, size_t s, float* o) { dot_k45_multi<NX, true>(n, w, x, s, o); }
};
template <int NX> struct Q6_KKernel {
  static void run(int n, const void* w, const void* x, size_t s, float* o) { dot_q6_K_multi<NX>(n, w, x, s, o); }
};

}  // namespace

void vec_dot_2rows_multi_q8_0_avx2(int n, const void* w, size_t ws, const void* x, size_t s, int n_x, float* o,
                                   size_t os) {
  two_rows_in_groups_of_four<TwoRows<Legacy::Q8_0>::K>(n, w, ws, x, s, n_x, o, os);
}
void vec_dot_2rows_multi_q4_0_avx2(int n, const void* w, size_t ws, const void* x, size_t s, int n_x, float* o,
                                   size_t os) {
  two_rows_in_groups_of_four<TwoRows<Legacy::Q4_0>::K>(n, w, ws, x, s, n_x, o, os);
}
void vec_dot_2rows_multi_q5_0_avx2(int n, const void* w, size_t ws, const void* x, size_t s, int n_x, float* o,
                                   size_t os) {
  two_rows_in_groups_of_four<TwoRows<Legacy::Q5_0>::K>(n, w, ws, x, s, n_x, o, os);
}
void vec_dot_multi_q8_0_avx2(int n, const void* w, const void* x, size_t s, int n_x, float* o) {
  in_groups_of_four<Q8_0Kernel>(n, w, x, s, n_x, o);
}
void vec_dot_multi_q4_0_avx2(int n, const void* w, const void* x, size_t s, int n_x, float* o) {
  in_groups_of_four<Q4_0Kernel>(n, w, x, s, n_x, o);
}
void vec_dot_multi_q5_0_avx2(int n, const void* w, const void* x, size_t s, int n_x, float* o) {
  in_groups_of_four<Q5_0Kernel>(n, w, x, s, n_x, o);
}
void vec_dot_multi_q4_K_avx2(int n, const void* w, const void* x, size_t s, int n_x, float* o) {
  in_groups_of_four<Q4_KKernel>(n, w, x, s, n_x, o);
}
void vec_dot_multi_q5_K_avx2(int n, const void* w, const void* x, size_t s, int n_x, float* o) {
  in_groups_of_four<Q5_KKernel>(n, w, x, s, n_x, o);
}
void vec_dot_multi_q6_K_avx2(int n, const void* w, const void* x, size_t s, int n_x, float* o) {
  in_groups_of_four<Q6_KKernel>(n, w, x, s, n_x, o);
}

}  // namespace qwen::kernels
