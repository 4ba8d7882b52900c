// Every weight format: quantize -> dequantize error within a per-type tolerance, the scalar dot
// equal to the float dot of the dequantized values, AVX2 equal to scalar, hand-computed blocks.
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "base/cpu_features.h"
#include "base/fp16.h"
#include "quants/quants.h"
#include "quants/quants_impl.h"
#include "test_framework.h"

using namespace qwen;

namespace {

std::vector<float> random_floats(int n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

double rel_rms(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - b[i]) * (double)(a[i] - b[i]);
    den += (double)a[i] * a[i];
  }
  return std::sqrt(num / den);
}

struct Case {
  GgmlType type;
  double max_rel_rms;  // round-trip error on N(0,1) data
};

// Named tolerances (relative RMS round-trip error on N(0,1) data), about 1.2-1.5x what the
// quantizers measure (F16 2e-4, BF16 1.6e-3, Q8_0 0.0052, Q5_0 0.042, Q5_1 0.037, Q4_0 0.084,
// Q4_1 0.077, Q6_K 0.018, Q5_K 0.036, Q4_K 0.071, Q3_K 0.150, Q2_K 0.292).
const Case kCases[] = {
    {GgmlType::F32, 0.0},    {GgmlType::F16, 5e-4},  {GgmlType::BF16, 2.5e-3}, {GgmlType::Q8_0, 0.0075},
    {GgmlType::Q5_0, 0.055}, {GgmlType::Q5_1, 0.05}, {GgmlType::Q4_0, 0.11},   {GgmlType::Q4_1, 0.10},
    {GgmlType::Q6_K, 0.025}, {GgmlType::Q5_K, 0.05}, {GgmlType::Q4_K, 0.09},   {GgmlType::Q3_K, 0.19},
    {GgmlType::Q2_K, 0.36},
};

std::vector<uint8_t> quantize(GgmlType t, const std::vector<float>& x) {
  std::vector<uint8_t> q(row_size(t, (int64_t)x.size()));
  traits(t).quantize_row(x.data(), q.data(), (int64_t)x.size());
  return q;
}

std::vector<float> dequantize(GgmlType t, const std::vector<uint8_t>& q, int n) {
  std::vector<float> y(n);
  traits(t).dequantize_row(q.data(), y.data(), n);
  return y;
}

}  // namespace

QWEN_TEST(quants_block_sizes_match_ggml) {
  CHECK(traits(GgmlType::Q4_0).type_size == 18 && traits(GgmlType::Q4_0).block_size == 32);
  CHECK(traits(GgmlType::Q6_K).type_size == 210 && traits(GgmlType::Q6_K).block_size == 256);
  CHECK(type_traits(99) == nullptr);
  CHECK(type_traits(16) != nullptr && !type_traits(16)->supported);  // IQ2_XXS: known, unsupported
  CHECK(row_size(GgmlType::Q8_0, 896) == 28 * 34);
}

QWEN_TEST(quants_fp16_conversions_exact) {
  CHECK(fp32_to_fp16(1.0f) == 0x3c00);
  CHECK(fp32_to_fp16(-2.0f) == 0xc000);
  CHECK(fp32_to_fp16(65504.0f) == 0x7bff);
  CHECK(fp32_to_fp16(1e6f) == 0x7c00);
  CHECK(fp16_to_fp32(0x0001) == std::ldexp(1.0f, -24));  // smallest subnormal
  CHECK(fp32_to_fp16(std::ldexp(1.0f, -24)) == 0x0001);
  CHECK(fp32_to_fp16(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);  // tie -> even
  CHECK(fp32_to_fp16(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3c02);
  for (uint32_t h = 0; h < 0x7c00; ++h) CHECK(fp32_to_fp16(fp16_to_fp32((uint16_t)h)) == h);
  CHECK(fp32_to_bf16(1.0f) == 0x3f80);
  CHECK(bf16_to_fp32(0xc040) == -3.0f);
}

QWEN_TEST(quants_q4_0_hand_block) {
  // d = 0.5, nibbles q -> (q - 8) * 0.5.
  block_q4_0 b;
  b.d = fp32_to_fp16(0.5f);
  for (int j = 0; j < 16; ++j) b.qs[j] = (uint8_t)(j | ((15 - j) << 4));
  float y[32];
  traits(GgmlType::Q4_0).dequantize_row(&b, y, 32);
  for (int j = 0; j < 16; ++j) {
    CHECK(y[j] == (j - 8) * 0.5f);
    CHECK(y[j + 16] == (15 - j - 8) * 0.5f);
  }
}

QWEN_TEST(quants_q5_0_hand_block) {
  block_q5_0 b;
  b.d = fp32_to_fp16(0.25f);
  std::memset(b.qs, 0x33, sizeof b.qs);  // every nibble 3
  const uint32_t qh = 0x80000001u;       // fifth bit set for elements 0 and 31
  std::memcpy(b.qh, &qh, 4);
  float y[32];
  traits(GgmlType::Q5_0).dequantize_row(&b, y, 32);
  CHECK(y[0] == (19 - 16) * 0.25f);
  CHECK(y[1] == (3 - 16) * 0.25f);
  CHECK(y[31] == (19 - 16) * 0.25f);
}

QWEN_TEST(quants_roundtrip_error_per_type) {
  const int n = 4096;
  const auto x = random_floats(n, 7);
  for (const Case& c : kCases) {
    const auto y = dequantize(c.type, quantize(c.type, x), n);
    const double err = rel_rms(x, y);
    if (!(err <= c.max_rel_rms)) {
      qwen_test::fail(__FILE__, __LINE__,
                      std::string(traits(c.type).name) + " round-trip error " + std::to_string(err));
    }
    // Requantizing the dequantized values must be (nearly) lossless: catches layout mismatches
    // between quantizer and dequantizer that a loose tolerance alone could hide.
    const auto y2 = dequantize(c.type, quantize(c.type, y), n);
    CHECK(rel_rms(y, y2) <= c.max_rel_rms * 0.5 + 1e-6);
  }
}

QWEN_TEST(quants_zero_and_constant_rows) {
  for (const Case& c : kCases) {
    std::vector<float> zeros(512, 0.0f);
    const auto y = dequantize(c.type, quantize(c.type, zeros), 512);
    for (float v : y) CHECK(v == 0.0f);
  }
}

QWEN_TEST(quants_scalar_dot_matches_float_dot) {
  const int n = 2048;
  const auto w = random_floats(n, 11);
  const auto x = random_floats(n, 12);
  for (const Case& c : kCases) {
    const TypeTraits& t = traits(c.type);
    const auto wq = quantize(c.type, w);
    const auto wd = dequantize(c.type, wq, n);
    // Activations go through the type's activation format; compare with the float dot of both
    // dequantized vectors, which is what the integer dot computes.
    const TypeTraits& at = traits(t.vec_dot_type);
    std::vector<uint8_t> xq(row_size(t.vec_dot_type, n));
    at.quantize_row(x.data(), xq.data(), n);
    std::vector<float> xd(n);
    at.dequantize_row(xq.data(), xd.data(), n);
    double ref = 0, mag = 0;
    for (int i = 0; i < n; ++i) {
      ref += (double)wd[i] * xd[i];
      mag += std::fabs((double)wd[i] * xd[i]);
    }
    const float got = t.vec_dot_scalar(n, wq.data(), xq.data());
    // Q8_1 stores each block's sum d*sum(q) as fp16 (as GGML does), so the offset formats' dots
    // carry that rounding (about 2^-11 of the block sum) on top of exact integer arithmetic.
    const double tol = t.vec_dot_type == GgmlType::Q8_1 ? 2e-3 * mag : 1e-5 * mag + 1e-4;
    if (!(std::fabs(got - ref) <= tol)) {
      qwen_test::fail(__FILE__, __LINE__,
                      std::string(t.name) + " scalar dot " + std::to_string(got) + " vs " + std::to_string(ref));
    }
  }
}

QWEN_TEST(quants_avx2_matches_scalar) {
  if (!cpu_features().use_avx2()) {
    std::printf("  (this CPU has no AVX2: only the scalar path exists to test)\n");
    return;
  }
  for (int n : {32, 256, 768, 896, 2304, 4864}) {  // 1 to 19 super-blocks, odd counts too
    const auto w = random_floats(n, 100 + n);
    const auto x = random_floats(n, 200 + n, 3.0f);
    for (const Case& c : kCases) {
      const TypeTraits& t = traits(c.type);
      if (n % t.block_size) continue;
      const auto wq = quantize(c.type, w);
      std::vector<uint8_t> xq(row_size(t.vec_dot_type, n));
      traits(t.vec_dot_type).quantize_row(x.data(), xq.data(), n);
      const float a = t.vec_dot(n, wq.data(), xq.data());
      const float s = t.vec_dot_scalar(n, wq.data(), xq.data());
      double mag = 0;
      for (int i = 0; i < n; ++i) mag += std::fabs(w[i] * x[i]);
      if (!(std::fabs(a - s) <= 2e-5 * mag + 1e-5)) {
        qwen_test::fail(__FILE__, __LINE__,
                        std::string(t.name) + " n=" + std::to_string(n) + " avx2 " + std::to_string(a) + " vs scalar " +
                            std::to_string(s));
      }
    }
  }
}

QWEN_TEST(quants_q8_K_bsums) {
  const auto x = random_floats(512, 5);
  std::vector<uint8_t> q(row_size(GgmlType::Q8_K, 512));
  traits(GgmlType::Q8_K).quantize_row(x.data(), q.data(), 512);
  const block_q8_K* b = reinterpret_cast<const block_q8_K*>(q.data());
  for (int i = 0; i < 2; ++i)
    for (int g = 0; g < 16; ++g) {
      int s = 0;
      for (int j = 0; j < 16; ++j) s += b[i].qs[g * 16 + j];
      CHECK(b[i].bsums[g] == s);
    }
}

QWEN_TEST(quants_q8_0_quantize_known_values) {
  // x_j = j - 16: amax 16, d = 16/127, q = round(x * 127 / 16) with ties away from zero.
  float x[32];
  for (int j = 0; j < 32; ++j) x[j] = (float)(j - 16);
  block_q8_0 b;
  traits(GgmlType::Q8_0).quantize_row(x, &b, 32);
  CHECK(b.d == fp32_to_fp16(16.0f / 127.0f));
  CHECK(b.qs[0] == -127);
  CHECK(b.qs[16] == 0);
  CHECK(b.qs[17] == 8);    // 127/16 = 7.94
  CHECK(b.qs[24] == 64);   // 8 * 127/16 = 63.5 -> 64
  CHECK(b.qs[31] == 119);  // 15 * 127/16 = 119.06
}

QWEN_TEST(quants_q4_0_quantize_known_values) {
  // Largest magnitude -4 (negative) gives d = -4 / -8 = 0.5 and q = x/d + 8 truncated after +0.5,
  // so x_j = (j%16 - 8) * 0.5 lands exactly on nibble j%16.
  float x[32];
  for (int j = 0; j < 32; ++j) x[j] = ((j % 16) - 8) * 0.5f;
  block_q4_0 b;
  traits(GgmlType::Q4_0).quantize_row(x, &b, 32);
  CHECK(fp16_to_fp32(b.d) == 0.5f);
  for (int j = 0; j < 16; ++j) CHECK(b.qs[j] == (uint8_t)(j | (j << 4)));
}

QWEN_TEST(quants_force_scalar_switches_the_table) {
  quants_force_scalar(true);
  const bool scalar_everywhere = traits(GgmlType::Q4_K).vec_dot == traits(GgmlType::Q4_K).vec_dot_scalar &&
                                 traits(GgmlType::Q8_0).vec_dot == traits(GgmlType::Q8_0).vec_dot_scalar;
  quants_force_scalar(false);
  CHECK(scalar_everywhere);
  if (cpu_features().use_avx2()) CHECK(traits(GgmlType::Q4_K).vec_dot != traits(GgmlType::Q4_K).vec_dot_scalar);
}
