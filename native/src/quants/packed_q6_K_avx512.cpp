// The AVX-512 VNNI group-pair kernel for packed Q6_K (PackedTraits::gemm2, contract in packed.h).
// The groups are in packed_q6_K_avx2.cpp's layout: per super-block a 1680-byte record with the 8
// rows' d (fp16), their int8 scales (byte g*8+r for 16-value group g), then for half h and step k
// three 32-byte chunks whose low 6 bits are the levels of values 128h + 32q + 4k + j (q < 3, j < 4;
// bytes 4r..4r+3 belong to row r) and whose top 2 bits together give quarter 3's level.
//
// Arithmetic, per row, token and super-block: the exact integer sum over groups g of
// scale(g) * sum_v level_v * y_v (levels 0..63 unsigned, vpdpbusd into int32), minus
// 32 * sum_g scale(g) * bsums(g) for GGML's +32 level offset (vpdpwssd), then one float
// multiply-add as in the AVX2 kernels, so results equal vec_dot's to float rounding.
#include <immintrin.h>

#include "quants/ggml_types.h"
#include "quants/packed_avx512_util.h"
#include "quants/packed_impl.h"

namespace qwen::kernels {

namespace {

constexpr size_t kRecordBytes = 8 * sizeof(block_q6_K);  // 1680
constexpr size_t kScaleOff = 16, kBitsOff = 144, kStepBytes = 96;
constexpr int kTile = 8;  // tokens per register tile: 2 * 8 accumulators
// Records ahead whose lines are prefetched (as in packed_q4_K_avx512.cpp); decode streams
// from DRAM with little work per byte, so it asks further ahead.
constexpr int kPrefetchRecords = 2;
constexpr int kDecodePrefetchRecords = 4;

// One record pair's scales, int32 lane r = row r of group a, lane 8 + r = row r of group b:
// scale[g] for 16-value group g (int32), pair[j] = (scale(2j), scale(2j+1)) as int16 for vpdpwssd.
struct PairScales {
  __m512i scale[16];
  __m512i pair[8];
  __m512 d;
};

inline void unpack_pair_scales(const uint8_t* ra, const uint8_t* rb, PairScales* out) {
  for (int j = 0; j < 8; ++j) {
    // Groups 2j and 2j+1 of the eight rows: 16 bytes of each record.
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(ra + kScaleOff + 16 * j));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rb + kScaleOff + 16 * j));
    out->scale[2 * j] = _mm512_cvtepi8_epi32(_mm_unpacklo_epi64(a, b));
    out->scale[2 * j + 1] = _mm512_cvtepi8_epi32(_mm_unpackhi_epi64(a, b));
    // Per row, its two scales side by side: bytes r and 8 + r interleaved.
    const __m128i pa = _mm_unpacklo_epi8(a, _mm_srli_si128(a, 8)), pb = _mm_unpacklo_epi8(b, _mm_srli_si128(b, 8));
    out->pair[j] = _mm512_cvtepi8_epi16(_mm256_inserti128_si256(_mm256_castsi128_si256(pa), pb, 1));
  }
  out->d = load_pair_f16(ra, rb);
}

// Quarter 3's levels of one step from its three chunks: bits 0-1 are C0's top bits, 2-3 C1's, 4-5
// C2's (16-bit shifts bring in bits of the neighbouring byte, which the byte masks drop).
inline __m512i quarter3_levels(__m512i c0, __m512i c1, __m512i c2) {
  const __m512i b01 = _mm512_and_si512(_mm512_srli_epi16(c0, 6), _mm512_set1_epi8(0x03));
  const __m512i b23 = _mm512_and_si512(_mm512_srli_epi16(c1, 4), _mm512_set1_epi8(0x0c));
  const __m512i b45 = _mm512_and_si512(_mm512_srli_epi16(c2, 2), _mm512_set1_epi8(0x30));
  return _mm512_or_si512(_mm512_or_si512(b01, b23), b45);
}

// All 64 level vectors (0..63) of a record pair, index (4h + q) * 8 + k.
struct Levels {
  __m512i v[64];
};

inline void build_levels(const uint8_t* ra, const uint8_t* rb, Levels* out) {
  const __m512i six = _mm512_set1_epi8(0x3f);
  for (int h = 0; h < 2; ++h) {
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
      const size_t off = kBitsOff + kStepBytes * (8 * h + k);
      const __m512i c0 = load_pair(ra + off, rb + off);
      const __m512i c1 = load_pair(ra + off + 32, rb + off + 32);
      const __m512i c2 = load_pair(ra + off + 64, rb + off + 64);
      out->v[(4 * h + 0) * 8 + k] = _mm512_and_si512(c0, six);
      out->v[(4 * h + 1) * 8 + k] = _mm512_and_si512(c1, six);
      out->v[(4 * h + 2) * 8 + k] = _mm512_and_si512(c2, six);
      out->v[(4 * h + 3) * 8 + k] = quarter3_levels(c0, c1, c2);
    }
  }
}

// T activation rows (super-block i of each, x_stride apart) against one record pair's levels:
// adds the record's contribution to out[t * out_stride + 0..15].
template <int T>
void record_tile(const Levels& lv, const PairScales& ps, const uint8_t* x, size_t x_stride, float* out,
                 size_t out_stride) {
  __m512i sumi[T];
  for (int t = 0; t < T; ++t) sumi[t] = _mm512_setzero_si512();
  for (int g = 0; g < 16; ++g) {  // 16-value group g: half h, quarter q, steps 4 * (g % 2) ..
    const int h = g / 8, q = (g / 2) % 4, k0 = 4 * (g % 2);
    __m512i acc[T];
    for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int kk = 0; kk < 4; ++kk) {
      const __m512i lev = lv.v[(4 * h + q) * 8 + k0 + kk];
      for (int t = 0; t < T; ++t)
        acc[t] = dot4(acc[t], lev, broadcast4_512(q8k_qs(x + x_stride * t) + 128 * h + 32 * q + 4 * (k0 + kk)));
    }
    for (int t = 0; t < T; ++t) sumi[t] = _mm512_add_epi32(sumi[t], _mm512_mullo_epi32(acc[t], ps.scale[g]));
  }
  for (int t = 0; t < T; ++t) {
    const uint8_t* y = x + x_stride * t;
    const int16_t* bs = q8k_bsums(y);
    __m512i off = _mm512_setzero_si512();
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) off = _mm512_dpwssd_epi32(off, ps.pair[j], broadcast4_512(bs + 2 * j));
    const __m512 part = _mm512_cvtepi32_ps(_mm512_sub_epi32(sumi[t], _mm512_slli_epi32(off, 5)));
    float* o = out + out_stride * t;
    _mm512_storeu_ps(o, _mm512_fmadd_ps(_mm512_mul_ps(ps.d, _mm512_set1_ps(q8k_d(y))), part, _mm512_loadu_ps(o)));
  }
}

}  // namespace

void gemm2_q6_K_x8(int n, const void* group_a, const void* group_b, const void* x, size_t x_stride, int n_x, float* out,
                   size_t out_stride) {
  const uint8_t* ga = static_cast<const uint8_t*>(group_a);
  const uint8_t* gb = static_cast<const uint8_t*>(group_b);
  const uint8_t* xb = static_cast<const uint8_t*>(x);
  for (int t = 0; t < n_x; ++t) _mm512_storeu_ps(out + out_stride * t, _mm512_setzero_ps());
  Levels levels;  // built once per record pair, read by every token tile from L1
  for (int i = 0; i < n / QK_K; ++i) {
    const uint8_t* ra = ga + kRecordBytes * i;
    const uint8_t* rb = gb + kRecordBytes * i;
    prefetch_record_pair(ra, rb, kPrefetchRecords * kRecordBytes, kRecordBytes);
    PairScales ps;
    unpack_pair_scales(ra, rb, &ps);
    build_levels(ra, rb, &levels);
    const uint8_t* xi = xb + sizeof(block_q8_K) * i;
    for_token_tiles<kTile>(n_x, [&](auto nt, int t) {
      record_tile<decltype(nt)::value>(levels, ps, xi + x_stride * t, x_stride, out + out_stride * t, out_stride);
    });
  }
}

// Decode: one activation row against two groups, with the same integer sums and float operations
// per lane as the AVX2 gemv (packed_q6_K_avx2.cpp), so each group's result equals gemv's bit for
// bit. The AVX2 kernel needs a maddubs, an add and a madd per 32 weight bytes and runs at about
// 60% of this machine's read bandwidth per core; here one vpdpbusd covers 64 bytes, and the levels
// are used as they are unpacked instead of going through a table.
void gemv2_vnni_q6_K_x8(int n, const void* group_a, const void* group_b, const void* x, float* out_a, float* out_b) {
  const uint8_t* ga = static_cast<const uint8_t*>(group_a);
  const uint8_t* gb = static_cast<const uint8_t*>(group_b);
  const uint8_t* xb = static_cast<const uint8_t*>(x);
  const __m512i six = _mm512_set1_epi8(0x3f);
  __m512 acc = _mm512_setzero_ps();
  for (int i = 0; i < n / QK_K; ++i) {
    const uint8_t* ra = ga + kRecordBytes * i;
    const uint8_t* rb = gb + kRecordBytes * i;
    prefetch_record_pair(ra, rb, kDecodePrefetchRecords * kRecordBytes, kRecordBytes);
    PairScales ps;
    unpack_pair_scales(ra, rb, &ps);
    const uint8_t* y = xb + sizeof(block_q8_K) * i;
    const int8_t* yq = q8k_qs(y);
    __m512i sumi = _mm512_setzero_si512();
    for (int h = 0; h < 2; ++h) {
      for (int half = 0; half < 2; ++half) {  // steps 4 * half ..: group 8h + 2q + half of quarter q
        __m512i part[4];
        for (int q = 0; q < 4; ++q) part[q] = _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int kk = 0; kk < 4; ++kk) {
          const int k = 4 * half + kk;
          const size_t off = kBitsOff + kStepBytes * (8 * h + k);
          const __m512i c0 = load_pair(ra + off, rb + off);
          const __m512i c1 = load_pair(ra + off + 32, rb + off + 32);
          const __m512i c2 = load_pair(ra + off + 64, rb + off + 64);
          const int8_t* a = yq + 128 * h + 4 * k;
          part[0] = dot4(part[0], _mm512_and_si512(c0, six), broadcast4_512(a));
          part[1] = dot4(part[1], _mm512_and_si512(c1, six), broadcast4_512(a + 32));
          part[2] = dot4(part[2], _mm512_and_si512(c2, six), broadcast4_512(a + 64));
          part[3] = dot4(part[3], quarter3_levels(c0, c1, c2), broadcast4_512(a + 96));
        }
        for (int q = 0; q < 4; ++q)
          sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(part[q], ps.scale[8 * h + 2 * q + half]));
      }
    }
    const int16_t* bs = q8k_bsums(y);
    __m512i offset = _mm512_setzero_si512();
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) offset = _mm512_dpwssd_epi32(offset, ps.pair[j], broadcast4_512(bs + 2 * j));
    const __m512 sum = _mm512_cvtepi32_ps(_mm512_sub_epi32(sumi, _mm512_slli_epi32(offset, 5)));
    acc = _mm512_fmadd_ps(_mm512_mul_ps(ps.d, _mm512_set1_ps(q8k_d(y))), sum, acc);
  }
  alignas(64) float pair[16];
  _mm512_store_ps(pair, acc);
  store_pair_split(pair, out_a, out_b);
}

}  // namespace qwen::kernels
