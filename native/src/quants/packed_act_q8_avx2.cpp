#include <immintrin.h>

#include "quants/avx2_util.h"
#include "quants/packed_act_q8.h"
#include "quants/quants_impl.h"

namespace qwen::kernels {

void quantize_act_q8_0_terms(const float* x, void* dst, int64_t n) {
  quantize_row_q8_0_avx2(x, dst, n);
  const int64_t nb = n / QK8_0;
  const block_q8_0* blocks = static_cast<const block_q8_0*>(dst);
  uint8_t* base = static_cast<uint8_t*>(dst);
  float* d = reinterpret_cast<float*>(base + q8_terms_offset(n));
  int32_t* sum = reinterpret_cast<int32_t*>(base + q8_terms_offset(n) + nb * 4);
  // psadbw sums unsigned bytes, so the levels are biased by +128 and 32 * 128 is taken off again.
  const __m256i bias = _mm256_set1_epi8(static_cast<char>(0x80));
  for (int64_t b = 0; b < nb; ++b) {
    const __m256i s = _mm256_sad_epu8(_mm256_xor_si256(load32(blocks[b].qs), bias), _mm256_setzero_si256());
    const __m128i h = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    sum[b] = (int32_t)(_mm_cvtsi128_si32(h) + _mm_extract_epi32(h, 2)) - QK8_0 * 128;
    d[b] = half_to_float(blocks[b].d);
  }
}

}  // namespace qwen::kernels
