// AVX2 + FMA + F16C dots of the legacy 32-value block formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0)
// against Q8_0 / Q8_1 activations: integer multiply-adds per block (maddubs + madd), one float
// scale per block. Compiled with -mavx2 -mfma -mf16c (CMake does this for *_avx2.cpp only) and
// called only after cpu_features() said yes. Each must match its scalar twin in quants_legacy.cpp.
#include <immintrin.h>

#include <cstring>

#include "quants/avx2_util.h"
#include "quants/ggml_types.h"
#include "quants/quants_impl.h"

namespace qwen::kernels {

// 32 unsigned 4-bit values of a block as bytes: low nibbles -> elements 0..15, high -> 16..31.
static inline __m256i unpack_nibbles(const uint8_t* qs) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

// Expands the 32 bits of qh into 32 bytes, 0xff where the bit is set.
static inline __m256i bits_to_bytes(const uint8_t* qh) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  // Laid out by hand: one row per 128-bit lane of the shuffle mask.
  // clang-format off
  const __m256i shuf = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                        2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  // clang-format on
  __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), shuf);
  const __m256i mask = _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe);
  v = _mm256_or_si256(v, mask);
  return _mm256_cmpeq_epi8(v, _mm256_set1_epi64x(-1));
}

// Sum of 32 products of signed bytes, as 8 int32 lanes -> floats.
static inline __m256 dot_i8(__m256i a, __m256i b) {
  const __m256i ua = _mm256_sign_epi8(a, a);  // |a|
  const __m256i sb = _mm256_sign_epi8(b, a);  // b with a's sign
  const __m256i p16 = _mm256_maddubs_epi16(ua, sb);
  return _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
}
// Unsigned bytes a (0..31) times signed bytes b.
static inline __m256 dot_u8_i8(__m256i a, __m256i b) {
  const __m256i p16 = _mm256_maddubs_epi16(a, b);
  return _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
}

// Decode reads each weight once from DRAM; the hardware prefetcher alone leaves the core waiting on
// the first load of each block. One software prefetch per loop step, kPrefetchAhead bytes on
// (prefetches never fault, so running past the end of the matrix is harmless), measurably raised
// single-row throughput from DRAM for Q4_0 and Q8_0, more than 512 or 1024 bytes ahead did
// (figures in bench/results/kernel-design-notes.md).
static constexpr size_t kPrefetchAhead = 2048;

// Two accumulators over alternating blocks: the FMA's latency, not the integer work, bounds a
// single chain (rows here are only 28-152 blocks long, so the extra hsum costs little).
template <typename Levels>
static inline float dot_blocks_q8_0(int nb, const block_q8_0* b, Levels levels, const char* w, size_t block_bytes) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int i = 0;
  for (; i + 1 < nb; i += 2) {
    _mm_prefetch(w + block_bytes * i + kPrefetchAhead, _MM_HINT_T0);
    float d0, d1;
    const __m256i q0 = levels(i, &d0), q1 = levels(i + 1, &d1);
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(d0 * half_to_float(b[i].d)), dot_i8(q0, load32(b[i].qs)), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_set1_ps(d1 * half_to_float(b[i + 1].d)), dot_i8(q1, load32(b[i + 1].qs)), acc1);
  }
  if (i < nb) {
    float d0;
    const __m256i q0 = levels(i, &d0);
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(d0 * half_to_float(b[i].d)), dot_i8(q0, load32(b[i].qs)), acc0);
  }
  return hsum(_mm256_add_ps(acc0, acc1));
}

float vec_dot_q8_0_avx2(int n, const void* w, const void* xv) {
  const block_q8_0* a = static_cast<const block_q8_0*>(w);
  return dot_blocks_q8_0(
      n / QK8_0, static_cast<const block_q8_0*>(xv),
      [a](int i, float* d) {
        *d = half_to_float(a[i].d);
        return load32(a[i].qs);
      },
      static_cast<const char*>(w), sizeof(*a));
}

float vec_dot_q4_0_avx2(int n, const void* w, const void* xv) {
  const block_q4_0* a = static_cast<const block_q4_0*>(w);
  return dot_blocks_q8_0(
      n / QK4_0, static_cast<const block_q8_0*>(xv),
      [a](int i, float* d) {
        *d = half_to_float(a[i].d);
        return _mm256_sub_epi8(unpack_nibbles(a[i].qs), _mm256_set1_epi8(8));
      },
      static_cast<const char*>(w), sizeof(*a));
}

float vec_dot_q4_1_avx2(int n, const void* w, const void* xv) {
  const block_q4_1* a = static_cast<const block_q4_1*>(w);
  const block_q8_1* b = static_cast<const block_q8_1*>(xv);
  __m256 acc = _mm256_setzero_ps();
  float offsets = 0;
  for (int i = 0; i < n / QK4_1; ++i) {
    const __m256 d = _mm256_set1_ps(half_to_float(a[i].d) * half_to_float(b[i].d));
    acc = _mm256_fmadd_ps(d, dot_u8_i8(unpack_nibbles(a[i].qs), load32(b[i].qs)), acc);
    offsets += half_to_float(a[i].m) * half_to_float(b[i].s);
  }
  return hsum(acc) + offsets;
}

float vec_dot_q5_0_avx2(int n, const void* w, const void* xv) {
  const block_q5_0* a = static_cast<const block_q5_0*>(w);
  return dot_blocks_q8_0(
      n / QK5_0, static_cast<const block_q8_0*>(xv),
      [a](int i, float* d) {
        *d = half_to_float(a[i].d);
        // q - 16 = nibble | (hbit << 4) - 16: as signed bytes, the nibble with 0xF0 where the bit is clear.
        const __m256i hi = _mm256_andnot_si256(bits_to_bytes(a[i].qh), _mm256_set1_epi8((char)0xF0));
        return _mm256_or_si256(unpack_nibbles(a[i].qs), hi);
      },
      static_cast<const char*>(w), sizeof(*a));
}

float vec_dot_q5_1_avx2(int n, const void* w, const void* xv) {
  const block_q5_1* a = static_cast<const block_q5_1*>(w);
  const block_q8_1* b = static_cast<const block_q8_1*>(xv);
  __m256 acc = _mm256_setzero_ps();
  float offsets = 0;
  for (int i = 0; i < n / QK5_1; ++i) {
    const __m256 d = _mm256_set1_ps(half_to_float(a[i].d) * half_to_float(b[i].d));
    const __m256i hi = _mm256_and_si256(bits_to_bytes(a[i].qh), _mm256_set1_epi8(0x10));
    const __m256i q = _mm256_or_si256(unpack_nibbles(a[i].qs), hi);
    acc = _mm256_fmadd_ps(d, dot_u8_i8(q, load32(b[i].qs)), acc);
    offsets += half_to_float(a[i].m) * half_to_float(b[i].s);
  }
  return hsum(acc) + offsets;
}

}  // namespace qwen::kernels
