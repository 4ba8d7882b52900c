// AVX2 dots of the K-quants (Q2_K … Q6_K) against Q8_K activations. Compiled with -mavx2 -mfma
// -mf16c (CMake does this for *_avx2.cpp only); the traits table calls them only after
// cpu_features() confirmed the CPU and OS support them. Each matches dot_k in quants_k_dequant.cpp
// (the tests compare): integer sums per super-block, scaled once.
//
// Common step: 32 weight levels as unsigned bytes times 32 activation bytes (signed) with
// maddubs -> 16 int16 (lanes 0-7 cover values 0-15, lanes 8-15 values 16-31, i.e. two groups of
// 16), then madd with the two groups' integer scales -> 8 int32 partial sums. Formats with signed
// levels (Q3_K, Q6_K) are stored with a positive offset; the offset times the activation group sums
// (bsums, precomputed in Q8_K) is subtracted once per super-block.
#include <immintrin.h>

#include "quants/avx2_util.h"
#include "quants/quants_impl.h"
#include "quants/quants_k_avx2_util.h"
#include "quants/quants_k_common.h"

namespace qwen::kernels {

namespace {

// sum over 32 values of level * q8, weighted by s0 for values 0-15 and s1 for values 16-31.
inline __m256i scaled_dot(__m256i levels, __m256i q8, int s0, int s1) {
  const __m256i scales = _mm256_set_m128i(_mm_set1_epi16((short)s1), _mm_set1_epi16((short)s0));
  return _mm256_madd_epi16(_mm256_maddubs_epi16(levels, q8), scales);
}

// 0x00 / `value` per byte, by whether `bit` of that byte of `bits` is set.
inline __m256i bit_as(__m256i bits, int bit, char value) {
  const __m256i mask = _mm256_set1_epi8((char)(1 << bit));
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(bits, mask), mask);
  return _mm256_and_si256(set, _mm256_set1_epi8(value));
}

}  // namespace

// w (n,) Q2_K . x (n,) Q8_K: x = d*sc*q - dmin*m with 2-bit q.
float vec_dot_q2_K_avx2(int n, const void* w, const void* xv) {
  const block_q2_K* a = static_cast<const block_q2_K*>(w);
  const block_q8_K* b = static_cast<const block_q8_K*>(xv);
  const __m256i three = _mm256_set1_epi8(3);
  __m256 acc = _mm256_setzero_ps(), mins = _mm256_setzero_ps();
  for (int i = 0; i < n / QK_K; ++i) {
    // The mins sit in the high nibbles of the 16 scale bytes: sum_g min[g] * bsums[g].
    const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a[i].scales));
    const __m256i m16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(raw, 4), _mm_set1_epi8(0x0f)));
    const __m256i summ = _mm256_madd_epi16(m16, load32(b[i].bsums));
    mins = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * half_to_float(a[i].dmin)), _mm256_cvtepi32_ps(summ), mins);
    __m256i sumi = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i q = load32(a[i].qs + 32 * h);
      for (int js = 0; js < 4; ++js) {
        const __m256i lev = _mm256_and_si256(_mm256_srli_epi16(q, 2 * js), three);
        const int g = 8 * h + 2 * js;
        sumi = _mm256_add_epi32(sumi, scaled_dot(lev, load32(b[i].qs + 128 * h + 32 * js), a[i].scales[g] & 0x0f,
                                                 a[i].scales[g + 1] & 0x0f));
      }
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * half_to_float(a[i].d)), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum(_mm256_sub_ps(acc, mins));
}

// w (n,) Q3_K . x (n,) Q8_K: x = d*sc*(q-4), q = 2 low bits | hmask bit << 2.
float vec_dot_q3_K_avx2(int n, const void* w, const void* xv) {
  const block_q3_K* a = static_cast<const block_q3_K*>(w);
  const block_q8_K* b = static_cast<const block_q8_K*>(xv);
  const __m256i three = _mm256_set1_epi8(3);
  __m256 acc = _mm256_setzero_ps();
  for (int i = 0; i < n / QK_K; ++i) {
    int8_t sc[16];
    q3k_unpack_scales(a[i].scales, sc);
    const __m256i hm = load32(a[i].hmask);
    // The stored +4 on every level over-counts 4 * sum_g sc[g] * bsums[g].
    __m256i sumi = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(k16_scale_dot(sc, b[i].bsums), 2));
    for (int h = 0; h < 2; ++h) {
      const __m256i q = load32(a[i].qs + 32 * h);
      for (int js = 0; js < 4; ++js) {
        const __m256i low = _mm256_and_si256(_mm256_srli_epi16(q, 2 * js), three);
        const __m256i lev = _mm256_or_si256(low, bit_as(hm, 4 * h + js, 4));  // level + 4, 0..7
        const int g = 8 * h + 2 * js;
        sumi = _mm256_add_epi32(sumi, scaled_dot(lev, load32(b[i].qs + 128 * h + 32 * js), sc[g], sc[g + 1]));
      }
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * half_to_float(a[i].d)), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum(acc);
}

// Decode reads each weight once from DRAM; the hardware prefetcher alone leaves the core waiting on
// the first load of each block. Asking for the cache lines of the block kPrefetchAhead bytes on
// (prefetches never fault, so running past the end of the matrix is harmless) measurably raised
// single-row throughput from DRAM (figures in bench/results/kernel-design-notes.md).
static constexpr size_t kPrefetchAhead = 2048;
template <typename Block> static inline void prefetch_block_ahead(const Block* blk) {
  const char* p = reinterpret_cast<const char*>(blk) + kPrefetchAhead;
  for (size_t off = 0; off < sizeof(Block); off += 64) _mm_prefetch(p + off, _MM_HINT_T0);
}

// Q4_K and Q5_K share everything but the fifth bit. x = d*sc*q - dmin*m, 8 sub-blocks of 32.
static inline const uint8_t* fifth_bits(const block_q4_K&) { return nullptr; }
static inline const uint8_t* fifth_bits(const block_q5_K& blk) { return blk.qh; }

template <bool FIFTH_BIT, typename Block> static float dot_k45(int n, const Block* a, const block_q8_K* b) {
  const __m256i low_nibble = _mm256_set1_epi8(0x0f);
  __m256 acc = _mm256_setzero_ps();
  __m128 mins = _mm_setzero_ps();
  for (int i = 0; i < n / QK_K; ++i) {
    prefetch_block_ahead(&a[i]);
    uint8_t sc[8], m[8];
    k4_unpack_scales_mins(a[i].scales, sc, m);
    mins =
        _mm_fmadd_ps(_mm_set1_ps(b[i].d * half_to_float(a[i].dmin)), _mm_cvtepi32_ps(k4_min_dot(m, b[i].bsums)), mins);
    __m256i qh = _mm256_setzero_si256();
    if constexpr (FIFTH_BIT) qh = load32(fifth_bits(a[i]));
    __m256i sumi = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const __m256i q = load32(a[i].qs + 32 * c);
      __m256i lo = _mm256_and_si256(q, low_nibble);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low_nibble);
      if constexpr (FIFTH_BIT) {
        lo = _mm256_or_si256(lo, bit_as(qh, 2 * c, 16));
        hi = _mm256_or_si256(hi, bit_as(qh, 2 * c + 1, 16));
      }
      sumi = _mm256_add_epi32(sumi, scaled_dot(lo, load32(b[i].qs + 64 * c), sc[2 * c], sc[2 * c]));
      sumi = _mm256_add_epi32(sumi, scaled_dot(hi, load32(b[i].qs + 64 * c + 32), sc[2 * c + 1], sc[2 * c + 1]));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * half_to_float(a[i].d)), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum(acc) - hsum_ps128(mins);
}

float vec_dot_q4_K_avx2(int n, const void* w, const void* x) {
  return dot_k45<false>(n, static_cast<const block_q4_K*>(w), static_cast<const block_q8_K*>(x));
}
float vec_dot_q5_K_avx2(int n, const void* w, const void* x) {
  return dot_k45<true>(n, static_cast<const block_q5_K*>(w), static_cast<const block_q8_K*>(x));
}

// w (n,) Q6_K . x (n,) Q8_K: x = d*sc*(q-32), q = 4 bits of ql | 2 bits of qh << 4.
float vec_dot_q6_K_avx2(int n, const void* w, const void* xv) {
  const block_q6_K* a = static_cast<const block_q6_K*>(w);
  const block_q8_K* b = static_cast<const block_q8_K*>(xv);
  const __m256i low_nibble = _mm256_set1_epi8(0x0f), top_pair = _mm256_set1_epi8(0x30);
  __m256 acc = _mm256_setzero_ps();
  for (int i = 0; i < n / QK_K; ++i) {
    prefetch_block_ahead(&a[i]);
    const int8_t* sc = a[i].scales;
    // The stored +32 on every level over-counts 32 * sum_g sc[g] * bsums[g].
    __m256i sumi = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(k16_scale_dot(sc, b[i].bsums), 5));
    for (int h = 0; h < 2; ++h) {
      const __m256i ql0 = load32(a[i].ql + 64 * h), ql1 = load32(a[i].ql + 64 * h + 32);
      const __m256i qh = load32(a[i].qh + 32 * h);
      // Bits 2k, 2k+1 of qh are the top bits of the k-th 32 values; move them to bits 4-5.
      const __m256i q1 =
          _mm256_or_si256(_mm256_and_si256(ql0, low_nibble), _mm256_and_si256(_mm256_slli_epi16(qh, 4), top_pair));
      const __m256i q2 =
          _mm256_or_si256(_mm256_and_si256(ql1, low_nibble), _mm256_and_si256(_mm256_slli_epi16(qh, 2), top_pair));
      const __m256i q3 =
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low_nibble), _mm256_and_si256(qh, top_pair));
      const __m256i q4 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low_nibble),
                                         _mm256_and_si256(_mm256_srli_epi16(qh, 2), top_pair));
      const int8_t* y = b[i].qs + 128 * h;
      const int g = 8 * h;
      sumi = _mm256_add_epi32(sumi, scaled_dot(q1, load32(y), sc[g], sc[g + 1]));
      sumi = _mm256_add_epi32(sumi, scaled_dot(q2, load32(y + 32), sc[g + 2], sc[g + 3]));
      sumi = _mm256_add_epi32(sumi, scaled_dot(q3, load32(y + 64), sc[g + 4], sc[g + 5]));
      sumi = _mm256_add_epi32(sumi, scaled_dot(q4, load32(y + 96), sc[g + 6], sc[g + 7]));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * half_to_float(a[i].d)), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum(acc);
}

}  // namespace qwen::kernels
