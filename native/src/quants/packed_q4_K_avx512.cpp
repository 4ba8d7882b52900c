// The AVX-512 VNNI group-pair kernel for packed Q4_K (PackedTraits::gemm2, contract in packed.h).
// The groups are in packed_q4_K_avx2.cpp's layout: per super-block i a 1152-byte record with the 8
// rows' d and dmin (fp16), their 6-bit scales and mins split in low-bit and top-bit bytes, then 32
// chunks (c, k) of 32 bytes whose low nibbles are values 4k..4k+3 of sub-block 2c and whose high
// nibbles the same values of sub-block 2c+1 (bytes 4r..4r+3 belong to row r).
//
// Arithmetic, per row, token and super-block: the exact integer sum over sub-blocks s of
// scale(s) * sum_v level_v * y_v (vpdpbusd: nibble levels unsigned, activations signed, int32 with
// no intermediate int16 step), the exact sum over s of min(s) * (Q8_K bsums of s) (vpdpwssd), then
// the same two float operations as the AVX2 kernels, so results equal vec_dot's to float rounding.
#include <immintrin.h>

#include "quants/ggml_types.h"
#include "quants/packed_avx512_util.h"
#include "quants/packed_impl.h"

namespace qwen::kernels {

namespace {

constexpr size_t kRecordBytes = 8 * sizeof(block_q4_K);  // 1152
constexpr size_t kScaleLowOff = 32, kScaleHighOff = 96, kQsOff = 128;
constexpr int kTile = 8;  // tokens per register tile: 3 * 8 accumulators + 4 working vectors of 32
// Small batches read the weights from DRAM about once; the hardware prefetcher alone leaves the
// core waiting, so each record pair's 2 x 18 lines are asked for this many records ahead
// (matmul-bench cold, 2 threads, 8-16 tokens, 3 runs each: 2 ahead was 10-20% more GMAC per
// CPU-second than none, and no worse than 4).
constexpr int kPrefetchRecords = 2;

// One record pair's scales, int32 lane r = row r of group a, lane 8 + r = row r of group b:
// scale[s] for sub-block s, and min_pair[j] = (min(2j), min(2j+1)) as two int16 for vpdpwssd.
struct PairScales {
  __m512i scale[8];
  __m512i min_pair[4];
  __m512 d, dmin;
};

// Qwords q and q + 4 of v (the same 8 bytes of both groups) as the low 16 bytes.
inline __m128i both_halves_qword(__m512i v, int q) {
  const __m512i idx = _mm512_set_epi64(0, 0, 0, 0, 0, 0, q + 4, q);
  return _mm512_castsi512_si128(_mm512_permutexvar_epi64(idx, v));
}

inline void unpack_pair_scales(const uint8_t* ra, const uint8_t* rb, PairScales* out) {
  const __m512i low4 = _mm512_set1_epi8(0x0f), top2 = _mm512_set1_epi8(0x30);
  const __m512i lo0 = load_pair(ra + kScaleLowOff, rb + kScaleLowOff);
  const __m512i lo1 = load_pair(ra + kScaleLowOff + 32, rb + kScaleLowOff + 32);
  const __m512i hi = load_pair(ra + kScaleHighOff, rb + kScaleHighOff);
  // Bytes s*8+r of each half (s < 4 in the *03 vectors, s - 4 in the *47 ones), as in the AVX2 kernel.
  const __m512i sc03 = _mm512_or_si512(_mm512_and_si512(lo0, low4), _mm512_and_si512(_mm512_slli_epi16(hi, 4), top2));
  const __m512i mn03 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(lo0, 4), low4),
                                       _mm512_and_si512(_mm512_slli_epi16(hi, 2), top2));
  const __m512i sc47 = _mm512_or_si512(_mm512_and_si512(lo1, low4), _mm512_and_si512(hi, top2));
  const __m512i mn47 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(lo1, 4), low4),
                                       _mm512_and_si512(_mm512_srli_epi16(hi, 2), top2));
  for (int s = 0; s < 4; ++s) {
    out->scale[s] = _mm512_cvtepu8_epi32(both_halves_qword(sc03, s));
    out->scale[s + 4] = _mm512_cvtepu8_epi32(both_halves_qword(sc47, s));
  }
  // Within each 128-bit lane, interleave qword 0's bytes with qword 1's: mins of sub-blocks 2j and
  // 2j+1 side by side per row. Lanes 0 and 2 then hold pair j = 0 (or 2) of groups a and b,
  // lanes 1 and 3 pair j = 1 (or 3).
  const __m512i pairs03 = _mm512_unpacklo_epi8(mn03, _mm512_bsrli_epi128(mn03, 8));
  const __m512i pairs47 = _mm512_unpacklo_epi8(mn47, _mm512_bsrli_epi128(mn47, 8));
  const __m512i even = _mm512_set_epi64(0, 0, 0, 0, 5, 4, 1, 0), odd = _mm512_set_epi64(0, 0, 0, 0, 7, 6, 3, 2);
  out->min_pair[0] = _mm512_cvtepu8_epi16(_mm512_castsi512_si256(_mm512_permutexvar_epi64(even, pairs03)));
  out->min_pair[1] = _mm512_cvtepu8_epi16(_mm512_castsi512_si256(_mm512_permutexvar_epi64(odd, pairs03)));
  out->min_pair[2] = _mm512_cvtepu8_epi16(_mm512_castsi512_si256(_mm512_permutexvar_epi64(even, pairs47)));
  out->min_pair[3] = _mm512_cvtepu8_epi16(_mm512_castsi512_si256(_mm512_permutexvar_epi64(odd, pairs47)));
  out->d = load_pair_f16(ra, rb);
  out->dmin = load_pair_f16(ra + 16, rb + 16);
}

// T activation rows (super-block i of each, x_stride apart) against one record pair: adds the
// record's contribution to out[t * out_stride + 0..15].
template <int T>
void record_tile(const uint8_t* ra, const uint8_t* rb, const PairScales& ps, const uint8_t* x, size_t x_stride,
                 float* out, size_t out_stride) {
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  __m512i sumi[T];
  for (int t = 0; t < T; ++t) sumi[t] = _mm512_setzero_si512();
  for (int c = 0; c < 4; ++c) {
    __m512i acc_lo[T], acc_hi[T];
    for (int t = 0; t < T; ++t) acc_lo[t] = acc_hi[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
      const size_t off = kQsOff + 256 * c + 32 * k;
      const __m512i raw = load_pair(ra + off, rb + off);
      const __m512i lo = _mm512_and_si512(raw, low4);
      const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(raw, 4), low4);
      for (int t = 0; t < T; ++t) {
        const int8_t* yq = q8k_qs(x + x_stride * t) + 64 * c + 4 * k;
        acc_lo[t] = dot4(acc_lo[t], lo, broadcast4_512(yq));
        acc_hi[t] = dot4(acc_hi[t], hi, broadcast4_512(yq + 32));
      }
    }
    for (int t = 0; t < T; ++t)
      sumi[t] = _mm512_add_epi32(sumi[t], _mm512_add_epi32(_mm512_mullo_epi32(acc_lo[t], ps.scale[2 * c]),
                                                           _mm512_mullo_epi32(acc_hi[t], ps.scale[2 * c + 1])));
  }
  for (int t = 0; t < T; ++t) {
    const uint8_t* y = x + x_stride * t;
    // sum_s min(s) * (bsums[2s] + bsums[2s+1]): the sub-block sums in int16 pairs, one per min pair.
    const int16_t* bs = q8k_bsums(y);
    const __m128i sub = _mm_hadd_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bs)),
                                       _mm_loadu_si128(reinterpret_cast<const __m128i*>(bs + 8)));
    __m512i md = _mm512_dpwssd_epi32(_mm512_setzero_si512(), ps.min_pair[0], _mm512_broadcastd_epi32(sub));
    md = _mm512_dpwssd_epi32(md, ps.min_pair[1], _mm512_broadcastd_epi32(_mm_shuffle_epi32(sub, 0x55)));
    md = _mm512_dpwssd_epi32(md, ps.min_pair[2], _mm512_broadcastd_epi32(_mm_shuffle_epi32(sub, 0xaa)));
    md = _mm512_dpwssd_epi32(md, ps.min_pair[3], _mm512_broadcastd_epi32(_mm_shuffle_epi32(sub, 0xff)));
    const __m512 yd = _mm512_set1_ps(q8k_d(y));
    float* o = out + out_stride * t;
    __m512 acc = _mm512_fmadd_ps(_mm512_mul_ps(ps.d, yd), _mm512_cvtepi32_ps(sumi[t]), _mm512_loadu_ps(o));
    acc = _mm512_fnmadd_ps(_mm512_mul_ps(ps.dmin, yd), _mm512_cvtepi32_ps(md), acc);
    _mm512_storeu_ps(o, acc);
  }
}

}  // namespace

void gemm2_q4_K_x8(int n, const void* group_a, const void* group_b, const void* x, size_t x_stride, int n_x,
                   float* out, size_t out_stride) {
  const uint8_t* ga = static_cast<const uint8_t*>(group_a);
  const uint8_t* gb = static_cast<const uint8_t*>(group_b);
  const uint8_t* xb = static_cast<const uint8_t*>(x);
  for (int t = 0; t < n_x; ++t) _mm512_storeu_ps(out + out_stride * t, _mm512_setzero_ps());
  for (int i = 0; i < n / QK_K; ++i) {
    const uint8_t* ra = ga + kRecordBytes * i;
    const uint8_t* rb = gb + kRecordBytes * i;
    for (int line = 0; line < (int)(kRecordBytes / 64); ++line) {
      _mm_prefetch(reinterpret_cast<const char*>(ra) + kPrefetchRecords * kRecordBytes + 64 * line, _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(rb) + kPrefetchRecords * kRecordBytes + 64 * line, _MM_HINT_T0);
    }
    PairScales ps;
    unpack_pair_scales(ra, rb, &ps);
    const uint8_t* xi = xb + sizeof(block_q8_K) * i;
    for_token_tiles<kTile>(n_x, [&](auto nt, int t) {
      record_tile<decltype(nt)::value>(ra, rb, ps, xi + x_stride * t, x_stride, out + out_stride * t, out_stride);
    });
  }
}

}  // namespace qwen::kernels
