// Small pieces the AVX-512 VNNI group-pair kernels (packed_*_avx512.cpp, PackedTraits::gemm2)
// share. Only for files compiled with the AVX-512 flags (the *_avx512.cpp ones).
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "quants/packed_avx2_util.h"

namespace qwen::kernels {

// The 32 bytes at a in the low half and the 32 bytes at b in the high half: the same chunk of two
// groups, so int32 lane r is row r of group a and lane 8 + r row r of group b.
inline __m512i load_pair(const void* a, const void* b) {
  return _mm512_inserti64x4(_mm512_zextsi256_si512(_mm256_loadu_si256(static_cast<const __m256i*>(a))),
                            _mm256_loadu_si256(static_cast<const __m256i*>(b)), 1);
}

// Eight fp16 values at a then eight at b, as 16 floats.
inline __m512 load_pair_f16(const void* a, const void* b) {
  const __m128i lo = _mm_loadu_si128(static_cast<const __m128i*>(a));
  const __m128i hi = _mm_loadu_si128(static_cast<const __m128i*>(b));
  return _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1));
}

// Four activation bytes (signed) in every int32 lane, for vpdpbusd's signed operand. From memory,
// so the compiler can fold it into the instruction as an embedded broadcast.
inline __m512i broadcast4_512(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// Asks for the cache lines of the two records `ahead` bytes past ra and rb (record_bytes each), one
// request per 64 bytes from each record's start: the pair kernels stream both groups from DRAM
// about once.
inline void prefetch_record_pair(const uint8_t* ra, const uint8_t* rb, size_t ahead, size_t record_bytes) {
  for (size_t line = 0; line < record_bytes; line += 64) {
    _mm_prefetch(reinterpret_cast<const char*>(ra + ahead + line), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(rb + ahead + line), _MM_HINT_T0);
  }
}

// A pair kernel's 16 outputs (lane r: row r of group a, lane 8 + r: row r of group b) split into
// the two groups' rows, for the decode kernels whose groups lie apart (PackedTraits::gemv2).
inline void store_pair_split(const float* pair, float* out_a, float* out_b) {
  std::memcpy(out_a, pair, 8 * sizeof(float));
  std::memcpy(out_b, pair + 8, 8 * sizeof(float));
}

// acc + sum over the four bytes of each int32 lane of u (unsigned) * s (signed), exact in int32.
inline __m512i dot4(__m512i acc, __m512i u, __m512i s) { return _mm512_dpbusd_epi32(acc, u, s); }

}  // namespace qwen::kernels
