// K-quant known-value tests: hand-built super-blocks whose dequantized values are worked out by
// hand from GGML's layout (so a packing mistake in the decoder, or in the dots' use of scales,
// mins and bsums, shows up as a wrong number), plus checks that the quantizers' scale search
// actually improves on the plain absmax scale.
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/cpu_features.h"
#include "base/fp16.h"
#include "quants/quants.h"
#include "test_framework.h"

using namespace qwen;

namespace {

// One Q8_K activation block of all ones (d = 1), so a dot returns the sum of the weight block.
block_q8_K ones_q8_K() {
  block_q8_K b;
  b.d = 1.0f;
  std::memset(b.qs, 1, sizeof b.qs);
  for (auto& s : b.bsums) s = 16;
  return b;
}

// Dequantizes a hand block and checks both dots (scalar and, where present, AVX2) against the
// exact sum of the dequantized values (all values here are small multiples of 1/4, exact in float).
template <typename Block> std::vector<float> decode_and_check_dots(GgmlType t, const Block& blk) {
  std::vector<float> y(QK_K);
  traits(t).dequantize_row(&blk, y.data(), QK_K);
  double sum = 0;
  for (float v : y) sum += v;
  const block_q8_K ones = ones_q8_K();
  CHECK_NEAR(traits(t).vec_dot_scalar(QK_K, &blk, &ones), sum, 1e-3);
  CHECK_NEAR(traits(t).vec_dot(QK_K, &blk, &ones), sum, 1e-3);
  return y;
}

// Scales/mins of Q4_K and Q5_K written by hand: sub-block 0 has scale 3 and min 1 (low 6 bits of
// bytes 0 and 4); sub-block 5 has scale 37 = 0b10'0101 and min 20 = 0b01'0100: low nibbles in
// byte 9, top two bits in bits 6-7 of bytes 1 (scale) and 5 (min). Every other sub-block is 0/0.
void hand_k4_scales(uint8_t* s) {
  std::memset(s, 0, K_SCALE_SIZE);
  s[0] = 3;
  s[4] = 1;
  s[9] = 0x45;
  s[1] = 0x80;
  s[5] = 0x40;
}

}  // namespace

QWEN_TEST(quants_q4_K_hand_block) {
  block_q4_K b;
  b.d = fp32_to_fp16(1.0f);
  b.dmin = fp32_to_fp16(0.5f);
  hand_k4_scales(b.scales);
  std::memset(b.qs, 0x72, sizeof b.qs);  // low nibbles 2, high nibbles 7
  const auto y = decode_and_check_dots(GgmlType::Q4_K, b);
  CHECK(y[0] == 1.0f * 3 * 2 - 0.5f * 1);  // sub-block 0: low nibbles of bytes 0-31
  CHECK(y[31] == 5.5f);
  CHECK(y[40] == 0.0f);                        // sub-block 1: scale 0, min 0
  CHECK(y[160] == 1.0f * 37 * 7 - 0.5f * 20);  // sub-block 5: high nibbles of bytes 64-95
  CHECK(y[191] == 249.0f);
}

QWEN_TEST(quants_q5_K_hand_block) {
  block_q5_K b;
  b.d = fp32_to_fp16(1.0f);
  b.dmin = fp32_to_fp16(0.5f);
  hand_k4_scales(b.scales);
  std::memset(b.qs, 0x72, sizeof b.qs);
  std::memset(b.qh, 0x20, sizeof b.qh);  // bit 5: the fifth bit of every value of sub-block 5
  const auto y = decode_and_check_dots(GgmlType::Q5_K, b);
  CHECK(y[0] == 5.5f);
  CHECK(y[160] == 1.0f * 37 * (7 + 16) - 0.5f * 20);
  CHECK(y[140] == 0.0f);  // sub-block 4 has scale 0 and min 0
}

QWEN_TEST(quants_q6_K_hand_block) {
  block_q6_K b;
  b.d = fp32_to_fp16(0.25f);
  for (int g = 0; g < 16; ++g) b.scales[g] = (int8_t)(g - 8);
  std::memset(b.ql, 0x31, sizeof b.ql);  // low nibble 1 (values r < 64), high nibble 3 (r >= 64)
  std::memset(b.qh, 0xE4, sizeof b.qh);  // top bits: 0 for r < 32, 1 for r < 64, 2 for r < 96, 3 above
  const auto y = decode_and_check_dots(GgmlType::Q6_K, b);
  CHECK(y[0] == 0.25f * -8 * (1 - 32));
  CHECK(y[40] == 0.25f * -6 * (17 - 32));
  CHECK(y[70] == 0.25f * -4 * (35 - 32));
  CHECK(y[250] == 0.25f * 7 * (51 - 32));  // second half: r = 122
}

QWEN_TEST(quants_q3_K_hand_block) {
  block_q3_K b;
  b.d = fp32_to_fp16(0.5f);
  // Every sub-block scale is 35 - 32 = 3: low nibbles 3 in bytes 0-7, top bits 0b10 in bytes 8-11.
  std::memset(b.scales, 0x33, 8);
  std::memset(b.scales + 8, 0xAA, 4);
  std::memset(b.qs, 0xE4, sizeof b.qs);        // 2-bit levels 0, 1, 2, 3 for r/32 = 0..3 of each half
  std::memset(b.hmask, 0x0F, sizeof b.hmask);  // high bit set for values 0-127 only
  const auto y = decode_and_check_dots(GgmlType::Q3_K, b);
  CHECK(y[0] == 0.0f);
  CHECK(y[33] == 0.5f * 3 * 1);
  CHECK(y[100] == 0.5f * 3 * 3);
  CHECK(y[128] == 0.5f * 3 * -4);  // high bit clear: level - 4
  CHECK(y[255] == 0.5f * 3 * -1);
}

QWEN_TEST(quants_q2_K_hand_block) {
  block_q2_K b;
  b.d = fp32_to_fp16(1.0f);
  b.dmin = fp32_to_fp16(0.25f);
  std::memset(b.scales, 0x21, sizeof b.scales);  // scale 1, min 2
  b.scales[15] = 0xF3;                           // last group: scale 3, min 15
  std::memset(b.qs, 0xE4, sizeof b.qs);
  const auto y = decode_and_check_dots(GgmlType::Q2_K, b);
  CHECK(y[0] == -0.5f);
  CHECK(y[33] == 1.0f * 1 * 1 - 0.25f * 2);
  CHECK(y[255] == 1.0f * 3 * 3 - 0.25f * 15);
}

// The searched scales must beat the naive ones they start from: compare with a plain absmax
// symmetric quantizer at the same bit width on the same data (relative RMS error).
QWEN_TEST(quants_k_scale_search_beats_absmax) {
  const int n = 4096;
  std::mt19937 rng(21);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(n);
  for (auto& v : x) v = dist(rng);
  struct Want {
    GgmlType type;
    int levels;
  };  // levels of the naive symmetric quantizer
  for (const Want& w :
       {Want{GgmlType::Q3_K, 8}, Want{GgmlType::Q4_K, 16}, Want{GgmlType::Q5_K, 32}, Want{GgmlType::Q6_K, 64}}) {
    std::vector<uint8_t> q(row_size(w.type, n));
    std::vector<float> y(n);
    traits(w.type).quantize_row(x.data(), q.data(), n);
    traits(w.type).dequantize_row(q.data(), y.data(), n);
    double err = 0, naive = 0, ref = 0;
    for (int g = 0; g < n; g += 16) {
      float amax = 0;
      for (int l = 0; l < 16; ++l) amax = std::max(amax, std::fabs(x[g + l]));
      const float d = amax / (w.levels / 2);
      for (int l = 0; l < 16; ++l) {
        const float r = d * std::min((float)(w.levels / 2 - 1), std::round(x[g + l] / d));
        naive += (r - x[g + l]) * (double)(r - x[g + l]);
      }
    }
    for (int i = 0; i < n; ++i) {
      err += (y[i] - x[i]) * (double)(y[i] - x[i]);
      ref += (double)x[i] * x[i];
    }
    if (!(err < naive)) {
      qwen_test::fail(__FILE__, __LINE__,
                      std::string(traits(w.type).name) + " rel RMS " + std::to_string(std::sqrt(err / ref)) +
                          " not better than absmax " + std::to_string(std::sqrt(naive / ref)));
    }
  }
}
