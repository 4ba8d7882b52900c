// Decoding of GGML weight blocks, eight consecutive elements at a time, on the device (and, for
// the layout tests, on the host: decode_row_host() in matmul.cu runs the same code on the CPU).
//
// Every kernel that reads weights (GEMV, GEMM, row lookup) goes through decode8(), so each block
// layout is decoded in exactly one place on the GPU. Eight elements aligned to 8 always share one
// scale in every format (the smallest K-quant sub-block has 16), which lets decode8 read each
// scale once. Byte offsets follow GGML's block structs (quants/ggml_types.h, asserted below);
// blocks are only 2-byte aligned inside a row (18, 34, 110, 210 bytes ...), so we read bytes and
// 16-bit halves, never wider words.
#pragma once
#include <cstddef>
#include <cstdint>

#include "cuda/cuda_util.cuh"
#include "quants/ggml_types.h"

namespace qwen {
namespace cuda {

// Laid out by hand: block size and bytes per type, aligned as a table.
// clang-format off
template <GgmlType T> struct BlockInfo;
template <> struct BlockInfo<GgmlType::F32>  { static constexpr int qk = 1,   bytes = 4; };
template <> struct BlockInfo<GgmlType::F16>  { static constexpr int qk = 1,   bytes = 2; };
template <> struct BlockInfo<GgmlType::BF16> { static constexpr int qk = 1,   bytes = 2; };
template <> struct BlockInfo<GgmlType::Q4_0> { static constexpr int qk = QK4_0, bytes = sizeof(block_q4_0); };
template <> struct BlockInfo<GgmlType::Q4_1> { static constexpr int qk = QK4_1, bytes = sizeof(block_q4_1); };
template <> struct BlockInfo<GgmlType::Q5_0> { static constexpr int qk = QK5_0, bytes = sizeof(block_q5_0); };
template <> struct BlockInfo<GgmlType::Q5_1> { static constexpr int qk = QK5_1, bytes = sizeof(block_q5_1); };
template <> struct BlockInfo<GgmlType::Q8_0> { static constexpr int qk = QK8_0, bytes = sizeof(block_q8_0); };
template <> struct BlockInfo<GgmlType::Q2_K> { static constexpr int qk = QK_K, bytes = sizeof(block_q2_K); };
template <> struct BlockInfo<GgmlType::Q3_K> { static constexpr int qk = QK_K, bytes = sizeof(block_q3_K); };
template <> struct BlockInfo<GgmlType::Q4_K> { static constexpr int qk = QK_K, bytes = sizeof(block_q4_K); };
template <> struct BlockInfo<GgmlType::Q5_K> { static constexpr int qk = QK_K, bytes = sizeof(block_q5_K); };
template <> struct BlockInfo<GgmlType::Q6_K> { static constexpr int qk = QK_K, bytes = sizeof(block_q6_K); };
// clang-format on

// The byte offsets the decoders below use, tied to the block structs so a layout change there
// cannot silently desynchronise the GPU.
static_assert(offsetof(block_q4_1, m) == 2 && offsetof(block_q4_1, qs) == 4, "Q4_1 offsets");
static_assert(offsetof(block_q5_0, qh) == 2 && offsetof(block_q5_0, qs) == 6, "Q5_0 offsets");
static_assert(offsetof(block_q5_1, qh) == 4 && offsetof(block_q5_1, qs) == 8, "Q5_1 offsets");
static_assert(offsetof(block_q8_0, qs) == 2, "Q8_0 offsets");
static_assert(offsetof(block_q2_K, qs) == 16 && offsetof(block_q2_K, d) == 80 && offsetof(block_q2_K, dmin) == 82,
              "Q2_K offsets");
static_assert(offsetof(block_q3_K, qs) == 32 && offsetof(block_q3_K, scales) == 96 && offsetof(block_q3_K, d) == 108,
              "Q3_K offsets");
static_assert(offsetof(block_q4_K, scales) == 4 && offsetof(block_q4_K, qs) == 16, "Q4_K offsets");
static_assert(offsetof(block_q5_K, qh) == 16 && offsetof(block_q5_K, qs) == 48, "Q5_K offsets");
static_assert(offsetof(block_q6_K, qh) == 128 && offsetof(block_q6_K, scales) == 192 && offsetof(block_q6_K, d) == 208,
              "Q6_K offsets");

__host__ __device__ __forceinline__ float ld_f16(const uint8_t* p) {
  return f16_bits_to_float(static_cast<uint16_t>(p[0] | (p[1] << 8)));
}

// K-quant 6-bit scale/min pairs packed in 12 bytes (Q4_K, Q5_K): sub-block j of 8.
__host__ __device__ __forceinline__ void k4_scale_min(int j, const uint8_t* q, float* sc, float* mn) {
  if (j < 4) {
    *sc = q[j] & 63;
    *mn = q[j + 4] & 63;
  } else {
    *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *mn = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// Writes elements 8c .. 8c+7 of a row (stored as T) to out[0..7].
template <GgmlType T> __host__ __device__ __forceinline__ void decode8(const uint8_t* row, int64_t c, float* out);

template <> __host__ __device__ __forceinline__ void decode8<GgmlType::F32>(const uint8_t* row, int64_t c, float* out) {
  // F32 rows are 4-byte aligned: two 16-byte loads.
  const float4* p = reinterpret_cast<const float4*>(row + c * 32);
  const float4 a = p[0], b = p[1];
  out[0] = a.x;
  out[1] = a.y;
  out[2] = a.z;
  out[3] = a.w;
  out[4] = b.x;
  out[5] = b.y;
  out[6] = b.z;
  out[7] = b.w;
}

template <> __host__ __device__ __forceinline__ void decode8<GgmlType::F16>(const uint8_t* row, int64_t c, float* out) {
  // Rows of an F16 matrix start at even k * 2 bytes; k is a multiple of 32, so 16-byte aligned.
  const uint4 v = *reinterpret_cast<const uint4*>(row + c * 16);
  const uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    out[2 * i] = f16_bits_to_float(w[i] & 0xFFFF);
    out[2 * i + 1] = f16_bits_to_float(w[i] >> 16);
  }
}

template <>
__host__ __device__ __forceinline__ void decode8<GgmlType::BF16>(const uint8_t* row, int64_t c, float* out) {
  const uint4 v = *reinterpret_cast<const uint4*>(row + c * 16);
  const uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    out[2 * i] = bf16_bits_to_float(w[i] & 0xFFFF);
    out[2 * i + 1] = bf16_bits_to_float(w[i] >> 16);
  }
}

// Q8_0: {f16 d; int8 qs[32]}; x = d * q.
template <>
__host__ __device__ __forceinline__ void decode8<GgmlType::Q8_0>(const uint8_t* row, int64_t c, float* out) {
  const uint8_t* b = row + (c >> 2) * 34;
  const float d = ld_f16(b);
  const int8_t* q = reinterpret_cast<const int8_t*>(b + 2) + (c & 3) * 8;
#pragma unroll
  for (int i = 0; i < 8; ++i) out[i] = d * q[i];
}

// Q4_0 / Q4_1 / Q5_0 / Q5_1 store element e < 16 in the low nibble of qs[e] and element e >= 16
// in the high nibble of qs[e - 16]; the Q5 types add bit e of the 32-bit qh as the fifth bit.
template <bool HasMin, bool Has5th, int Bytes>
__host__ __device__ __forceinline__ void decode8_legacy(const uint8_t* row, int64_t c, float* out) {
  const uint8_t* b = row + (c >> 2) * Bytes;
  const int sub = static_cast<int>(c & 3);  // which 8 of the block's 32 elements
  const float d = ld_f16(b);
  const float m = HasMin ? ld_f16(b + 2) : 0.0f;
  const int qh_at = HasMin ? 4 : 2;
  const int qs_at = qh_at + (Has5th ? 4 : 0);
  uint32_t qh = 0;
  if (Has5th) qh = b[qh_at] | (b[qh_at + 1] << 8) | (b[qh_at + 2] << 16) | (static_cast<uint32_t>(b[qh_at + 3]) << 24);
  const uint8_t* qs = b + qs_at + (sub & 1) * 8;
  const int shift = (sub >> 1) * 4;                   // elements 16..31 use the high nibbles
  const int offset = HasMin ? 0 : (Has5th ? 16 : 8);  // symmetric types are centred on zero
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    int q = (qs[i] >> shift) & 0xF;
    if (Has5th) q |= ((qh >> (sub * 8 + i)) & 1) << 4;
    out[i] = HasMin ? d * q + m : d * (q - offset);
  }
}
template <> __host__ __device__ __forceinline__ void decode8<GgmlType::Q4_0>(const uint8_t* r, int64_t c, float* o) {
  decode8_legacy<false, false, 18>(r, c, o);
}
template <> __host__ __device__ __forceinline__ void decode8<GgmlType::Q4_1>(const uint8_t* r, int64_t c, float* o) {
  decode8_legacy<true, false, 20>(r, c, o);
}
template <> __host__ __device__ __forceinline__ void decode8<GgmlType::Q5_0>(const uint8_t* r, int64_t c, float* o) {
  decode8_legacy<false, true, 22>(r, c, o);
}
template <> __host__ __device__ __forceinline__ void decode8<GgmlType::Q5_1>(const uint8_t* r, int64_t c, float* o) {
  decode8_legacy<true, true, 24>(r, c, o);
}

// Q2_K: {uint8 scales[16]; uint8 qs[64]; f16 d, dmin}. Element e: half n = e/128, shift 2*j with
// j = (e%128)/32, byte qs[32n + e%32], scale byte scales[8n + 2j + (e%32 >= 16)] = (min<<4)|sc.
template <>
__host__ __device__ __forceinline__ void decode8<GgmlType::Q2_K>(const uint8_t* row, int64_t c, float* out) {
  const uint8_t* b = row + (c >> 5) * 84;
  const int e = static_cast<int>(c & 31) * 8;
  const int n = e >> 7, j = (e & 127) >> 5, l = e & 31;
  const uint8_t s = b[8 * n + 2 * j + (l >> 4)];
  const float dl = ld_f16(b + 80) * (s & 0xF), ml = ld_f16(b + 82) * (s >> 4);
  const uint8_t* q = b + 16 + 32 * n + l;
#pragma unroll
  for (int i = 0; i < 8; ++i) out[i] = dl * ((q[i] >> (2 * j)) & 3) - ml;
}

// Q3_K: {uint8 hmask[32]; uint8 qs[64]; uint8 scales[12]; f16 d}. Same walk as Q2_K; the third
// bit comes from hmask[e%32] bit (4n + j) and is *subtracted* as 4 when clear; the 16 six-bit
// scales are packed as low nibbles in bytes 0..7 and high pairs in bytes 8..11, offset by 32.
template <>
__host__ __device__ __forceinline__ void decode8<GgmlType::Q3_K>(const uint8_t* row, int64_t c, float* out) {
  const uint8_t* b = row + (c >> 5) * 110;
  const int e = static_cast<int>(c & 31) * 8;
  const int n = e >> 7, j = (e & 127) >> 5, l = e & 31;
  const int is = 8 * n + 2 * j + (l >> 4);
  const uint8_t* sc = b + 96;
  const int lo = is < 8 ? (sc[is] & 0xF) : (sc[is - 8] >> 4);
  const int hi = (sc[8 + (is & 3)] >> (2 * (is >> 2))) & 3;
  const float dl = ld_f16(b + 108) * ((lo | (hi << 4)) - 32);
  const uint8_t* q = b + 32 + 32 * n + l;
  const uint8_t* hm = b + l;
  const int mbit = 4 * n + j;
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int v = ((q[i] >> (2 * j)) & 3) - (((hm[i] >> mbit) & 1) ? 0 : 4);
    out[i] = dl * v;
  }
}

// Q4_K: {f16 d, dmin; uint8 scales[12]; uint8 qs[128]}. Element e: chunk g = e/64 uses byte
// qs[32g + e%32], low nibble for e%64 < 32 else high, sub-block 2g + (e%64 >= 32).
// Q5_K adds qh[32] before qs: bit (2g + hi) of qh[e%32] is the fifth bit.
template <bool Has5th, int Bytes>
__host__ __device__ __forceinline__ void decode8_k45(const uint8_t* row, int64_t c, float* out) {
  const uint8_t* b = row + (c >> 5) * Bytes;
  const int e = static_cast<int>(c & 31) * 8;
  const int g = e >> 6, hi = (e & 63) >> 5, l = e & 31;
  float sc, mn;
  k4_scale_min(2 * g + hi, b + 4, &sc, &mn);
  const float d = ld_f16(b) * sc, m = ld_f16(b + 2) * mn;
  // These blocks are 144 and 176 bytes (multiples of 16) and rows start 16-byte aligned, so the
  // eight quant bytes (and the eight qh bytes) are one aligned 8-byte load each.
  const uint2 qv = *reinterpret_cast<const uint2*>(b + 16 + (Has5th ? 32 : 0) + 32 * g + l);
  uint2 hv = make_uint2(0, 0);
  if (Has5th) hv = *reinterpret_cast<const uint2*>(b + 16 + l);
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const uint32_t qw = i < 4 ? qv.x : qv.y, hw = i < 4 ? hv.x : hv.y;
    const int byte = (qw >> (8 * (i & 3))) & 0xFF;
    int v = (byte >> (4 * hi)) & 0xF;
    if (Has5th) v |= ((((hw >> (8 * (i & 3))) & 0xFF) >> (2 * g + hi)) & 1) << 4;
    out[i] = d * v - m;
  }
}
template <> __host__ __device__ __forceinline__ void decode8<GgmlType::Q4_K>(const uint8_t* r, int64_t c, float* o) {
  decode8_k45<false, 144>(r, c, o);
}
template <> __host__ __device__ __forceinline__ void decode8<GgmlType::Q5_K>(const uint8_t* r, int64_t c, float* o) {
  decode8_k45<true, 176>(r, c, o);
}

// Q6_K: {uint8 ql[128]; uint8 qh[64]; int8 scales[16]; f16 d}. Element e: half n = e/128,
// quarter g = (e%128)/32, l = e%32: low 4 bits from ql[64n + l + 32*(g&1)] (high nibble when
// g >= 2), top 2 bits (qh[32n + l] >> 2g) & 3, value - 32, scale scales[8n + l/16 + 2g].
template <>
__host__ __device__ __forceinline__ void decode8<GgmlType::Q6_K>(const uint8_t* row, int64_t c, float* out) {
  const uint8_t* b = row + (c >> 5) * 210;
  const int e = static_cast<int>(c & 31) * 8;
  const int n = e >> 7, g = (e & 127) >> 5, l = e & 31;
  const int8_t* scales = reinterpret_cast<const int8_t*>(b + 192);
  const float d = ld_f16(b + 208) * scales[8 * n + (l >> 4) + 2 * g];
  const uint8_t* ql = b + 64 * n + l + 32 * (g & 1);
  const uint8_t* qh = b + 128 + 32 * n + l;
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int v = (((ql[i] >> (4 * (g >> 1))) & 0xF) | (((qh[i] >> (2 * g)) & 3) << 4)) - 32;
    out[i] = d * v;
  }
}

// Bytes of one row of k elements of type T.
template <GgmlType T> __host__ __device__ constexpr int64_t row_bytes(int64_t k) {
  return k / BlockInfo<T>::qk * BlockInfo<T>::bytes;
}

}  // namespace cuda
}  // namespace qwen

// Calls F<T>::run(args...) for the runtime type `t`; returns false if T has no GPU decoder.
#define QWEN_CUDA_DISPATCH_TYPE(t, CALL)                                                                    \
  switch (t) {                                                                                              \
    case GgmlType::F32: {                                                                                   \
      constexpr GgmlType T_ = GgmlType::F32;                                                                \
      CALL;                                                                                                 \
    } break;                                                                                                \
    case GgmlType::F16: {                                                                                   \
      constexpr GgmlType T_ = GgmlType::F16;                                                                \
      CALL;                                                                                                 \
    } break;                                                                                                \
    case GgmlType::BF16: {                                                                                  \
      constexpr GgmlType T_ = GgmlType::BF16;                                                               \
      CALL;                                                                                                 \
    } break;                                                                                                \
    case GgmlType::Q4_0: {                                                                                  \
      constexpr GgmlType T_ = GgmlType::Q4_0;                                                               \
      CALL;                                                                                                 \
    } break;                                                                                                \
    case GgmlType::Q4_1: {                                                                                  \
      constexpr GgmlType T_ = GgmlType::Q4_1;                                                               \
      CALL;                                                                                                 \
    } break;                                                                                                \
    case GgmlType::Q5_0: {                                                                                  \
      constexpr GgmlType T_ = GgmlType::Q5_0;                                                               \
      CALL;                                                                                                 \
    } break;                                                                                                \
    case GgmlType::Q5_1: {                                                                                  \
      constexpr GgmlType T_ = GgmlType::Q5_1;                                                               \
      CALL;                                                                                                 \
    } break;                                                                                                \
    case GgmlType::Q8_0: {                                                                                  \
      constexpr GgmlType T_ = GgmlType::Q8_0;                                                               \
      CALL;                                                                                                 \
    } break;                                                                                                \
    case GgmlType::Q2_K: {                                                                                  \
      constexpr GgmlType T_ = GgmlType::Q2_K;                                                               \
      CALL;                                                                                                 \
    } break;                                                                                                \
    case GgmlType::Q3_K: {                                                                                  \
      constexpr GgmlType T_ = GgmlType::Q3_K;                                                               \
      CALL;                                                                                                 \
    } break;                                                                                                \
    case GgmlType::Q4_K: {                                                                                  \
      constexpr GgmlType T_ = GgmlType::Q4_K;                                                               \
      CALL;                                                                                                 \
    } break;                                                                                                \
    case GgmlType::Q5_K: {                                                                                  \
      constexpr GgmlType T_ = GgmlType::Q5_K;                                                               \
      CALL;                                                                                                 \
    } break;                                                                                                \
    case GgmlType::Q6_K: {                                                                                  \
      constexpr GgmlType T_ = GgmlType::Q6_K;                                                               \
      CALL;                                                                                                 \
    } break;                                                                                                \
    default:                                                                                                \
      throw std::runtime_error(std::string("CUDA: weight type id ") + std::to_string(static_cast<int>(t)) + \
                               " has no GPU kernel");                                                       \
  }
