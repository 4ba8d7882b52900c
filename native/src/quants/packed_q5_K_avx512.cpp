// The AVX-512 VNNI group-pair kernel for packed Q5_K (PackedTraits::gemm2, contract in packed.h).
// The groups are in packed_q5_K_avx2.cpp's layout: per super-block i a 1408-byte record with Q4_K's
// packed head and low-nibble chunks (packed_k45_avx2.h) followed by 8 chunks of fifth bits, chunk k
// holding bit s of value 4k..4k+3 of sub-block s in bit s of the byte in the low chunks' position.
//
// Arithmetic, per row, token and super-block: the exact integer sum over sub-blocks s of
// scale(s) * sum_v level_v * y_v (vpdpbusd: levels 0..31 unsigned, activations signed, int32 with
// no intermediate int16 step), the min correction as for Q4_K (k45::finish_pair), so results equal
// vec_dot's to float rounding.
#include <immintrin.h>

#include "quants/ggml_types.h"
#include "quants/packed_avx512_util.h"
#include "quants/packed_impl.h"
#include "quants/packed_k45_avx512.h"

namespace qwen::kernels {

namespace {

constexpr size_t kRecordBytes = 8 * sizeof(block_q5_K);  // 1408
constexpr size_t kQhOff = 1152;
using k45::kQsOff;
using k45::PairScales;
constexpr int kTile = 8;  // tokens per register tile, as for Q4_K
// Each record pair's 2 x 22 lines are asked for this many records ahead, as for Q4_K.
constexpr int kPrefetchRecords = 2;

// T activation rows (super-block i of each, x_stride apart) against one record pair: adds the
// record's contribution to out[t * out_stride + 0..15].
template <int T>
void record_tile(const uint8_t* ra, const uint8_t* rb, const PairScales& ps, const uint8_t* x, size_t x_stride,
                 float* out, size_t out_stride) {
  const __m512i low4 = _mm512_set1_epi8(0x0f), bit4 = _mm512_set1_epi8(0x10);
  __m512i sumi[T];
  for (int t = 0; t < T; ++t) sumi[t] = _mm512_setzero_si512();
  for (int c = 0; c < 4; ++c) {
    const __m128i shift = _mm_cvtsi32_si128(2 * c);
    __m512i acc_lo[T], acc_hi[T];
    for (int t = 0; t < T; ++t) acc_lo[t] = acc_hi[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
      const size_t off = kQsOff + 256 * c + 32 * k;
      const __m512i raw = load_pair(ra + off, rb + off);
      // Bits 2c and 2c+1 of each fifth-bit byte to bits 0 and 1 (16-bit shifts keep each byte's
      // low bits its own, as only bit 4 survives the masks below).
      const __m512i h = _mm512_srl_epi16(load_pair(ra + kQhOff + 32 * k, rb + kQhOff + 32 * k), shift);
      const __m512i lo = _mm512_or_si512(_mm512_and_si512(raw, low4), _mm512_and_si512(_mm512_slli_epi16(h, 4), bit4));
      const __m512i hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(raw, 4), low4),
                                         _mm512_and_si512(_mm512_slli_epi16(h, 3), bit4));
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
  for (int t = 0; t < T; ++t) k45::finish_pair(ps, sumi[t], x + x_stride * t, out + out_stride * t);
}

}  // namespace

void gemm2_q5_K_x8(int n, const void* group_a, const void* group_b, const void* x, size_t x_stride, int n_x, float* out,
                   size_t out_stride) {
  const uint8_t* ga = static_cast<const uint8_t*>(group_a);
  const uint8_t* gb = static_cast<const uint8_t*>(group_b);
  const uint8_t* xb = static_cast<const uint8_t*>(x);
  for (int t = 0; t < n_x; ++t) _mm512_storeu_ps(out + out_stride * t, _mm512_setzero_ps());
  for (int i = 0; i < n / QK_K; ++i) {
    const uint8_t* ra = ga + kRecordBytes * i;
    const uint8_t* rb = gb + kRecordBytes * i;
    prefetch_record_pair(ra, rb, kPrefetchRecords * kRecordBytes, kRecordBytes);
    PairScales ps;
    k45::unpack_pair_scales(ra, rb, &ps);
    const uint8_t* xi = xb + sizeof(block_q8_K) * i;
    for_token_tiles<kTile>(n_x, [&](auto nt, int t) {
      record_tile<decltype(nt)::value>(ra, rb, ps, xi + x_stride * t, x_stride, out + out_stride * t, out_stride);
    });
  }
}

}  // namespace qwen::kernels
