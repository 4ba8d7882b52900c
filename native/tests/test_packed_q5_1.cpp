// The packed Q5_1 kernels (packed_q5_1_avx2.cpp) must give, for every (row, token), the dot of the
// dequantized row with the dequantized activations (computed here in double) to float rounding, and
// pack must write exactly the 8 rows' bytes. The reference is not vec_dot_q5_1: that reads Q8_1
// activations, whose per-block d * sum(y) is stored rounded to fp16, while the packed kernels read
// Q8_0 activations with exact block sums (packed_act_q8.h). Calls the AVX2 kernels directly, so each
// test first asks cpu_features() and says why when it cannot run.
#include <algorithm>
#include <bitset>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "quants/packed_act_q8.h"
#include "quants/packed_impl.h"
#include "quants/quants.h"
#include "test_avx2.h"
#include "test_framework.h"

using namespace qwen;
using qwen_test::avx2_or_say_why;

namespace {

constexpr int kGroupRows = 8;
constexpr uint8_t kSentinel = 0x5C;
constexpr int kSizes[] = {32, 96, 160, 896, 4864};

// Eight rows of random normal weights, each shifted by its own offset so the minimums differ in
// sign and size; row 5 also carries large outliers so some blocks reach the extreme levels.
std::vector<uint8_t> quantized_rows(int n, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const size_t row_bytes = row_size(GgmlType::Q5_1, n);
  std::vector<uint8_t> rows(row_bytes * kGroupRows);
  std::vector<float> w(n);
  for (int r = 0; r < kGroupRows; ++r) {
    for (auto& v : w) v = dist(rng) + 0.75f * (r - 3);
    if (r == 5)
      for (int i = 0; i < n; i += 7) w[i] = (i % 2 ? 40.0f : -40.0f) * (1.0f + dist(rng) * 0.1f);
    traits(GgmlType::Q5_1).quantize_row(w.data(), rows.data() + row_bytes * r, n);
  }
  return rows;
}

// n_x activation rows in the packed kernels' format; token 0 is all +-max so every block's
// activations reach +-127.
std::vector<uint8_t> quantized_activations(int n, int n_x, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const size_t stride = kernels::act_row_bytes_q8_0_terms(n);
  std::vector<uint8_t> xq(stride * n_x);
  std::vector<float> x(n);
  for (int t = 0; t < n_x; ++t) {
    for (int i = 0; i < n; ++i) x[i] = t == 0 ? (i % 3 == 0 ? -1.0f : 1.0f) : dist(rng);
    kernels::quantize_act_q8_0_terms(x.data(), xq.data() + stride * t, n);
  }
  return xq;
}

// Eight quantized rows, their packed group and the exact reference for each (row, token).
struct GroupCase {
  int n;
  size_t row_bytes, stride;
  std::vector<uint8_t> rows, group;
  std::vector<float> w;  // dequantized rows
  GroupCase(int n_, std::vector<uint8_t> rows_)
      : n(n_),
        row_bytes(row_size(GgmlType::Q5_1, n_)),
        stride(kernels::act_row_bytes_q8_0_terms(n_)),
        rows(std::move(rows_)),
        group(row_bytes * kGroupRows),
        w((size_t)n_ * kGroupRows) {
    kernels::pack_q5_1_x8(rows.data(), row_bytes, n, group.data());
    for (int r = 0; r < kGroupRows; ++r)
      traits(GgmlType::Q5_1).dequantize_row(rows.data() + row_bytes * r, w.data() + (size_t)n * r, n);
  }
  // The dot and the sum of |terms| (float rounding grows with the latter).
  void want(int r, const std::vector<uint8_t>& xq, int tok, double& dot, double& magnitude) const {
    std::vector<float> x(n);
    traits(GgmlType::Q8_0).dequantize_row(xq.data() + stride * tok, x.data(), n);
    dot = magnitude = 0;
    for (int i = 0; i < n; ++i) {
      const double p = (double)w[(size_t)n * r + i] * x[i];
      dot += p;
      magnitude += std::fabs(p);
    }
  }
};

void expect_close(float got, double want, double magnitude, const std::string& where) {
  if (!(std::fabs(got - want) <= 1e-5 * (std::fabs(want) + 30.0) + 2e-7 * magnitude))
    qwen_test::fail(__FILE__, __LINE__,
                    where + ": packed " + std::to_string(got) + " vs exact " + std::to_string(want));
}

std::string where(const char* kernel, int n, int n_x, int row, int tok) {
  return std::string(kernel) + " Q5_1 n=" + std::to_string(n) + " n_x=" + std::to_string(n_x) + " row " +
         std::to_string(row) + " token " + std::to_string(tok);
}

}  // namespace

QWEN_TEST(packed_q5_1_pack_writes_exactly_the_group) {
  if (!avx2_or_say_why("packed_q5_1_pack_writes_exactly_the_group")) return;
  std::mt19937 rng(12);
  for (int n : kSizes) {
    const std::vector<uint8_t> rows = quantized_rows(n, rng);
    const size_t row_bytes = row_size(GgmlType::Q5_1, n), group_bytes = row_bytes * kGroupRows;
    // Packed over two different fillings: every group byte must be written (the two agree) and
    // nothing after the group (the sentinels stay).
    std::vector<uint8_t> dst(group_bytes + 64, kSentinel), other(group_bytes + 64, (uint8_t)~kSentinel);
    kernels::pack_q5_1_x8(rows.data(), row_bytes, n, dst.data());
    kernels::pack_q5_1_x8(rows.data(), row_bytes, n, other.data());
    const std::string at = "Q5_1 n=" + std::to_string(n);
    for (size_t i = group_bytes; i < dst.size(); ++i)
      if (dst[i] != kSentinel || other[i] != (uint8_t)~kSentinel)
        qwen_test::fail(__FILE__, __LINE__, at + ": pack wrote byte " + std::to_string(i) + " past the group");
    for (size_t i = 0; i < group_bytes; ++i)
      if (dst[i] != other[i])
        qwen_test::fail(__FILE__, __LINE__, at + ": pack left group byte " + std::to_string(i) + " unwritten");
    // The pack only moves bits (scales, minimums and nibbles whole; fifth bits into planes).
    size_t want = 0, got = 0;
    for (uint8_t b : rows) want += std::bitset<8>(b).count();
    for (size_t i = 0; i < group_bytes; ++i) got += std::bitset<8>(dst[i]).count();
    if (want != got)
      qwen_test::fail(__FILE__, __LINE__,
                      at + ": group has " + std::to_string(got) + " set bits, the rows " + std::to_string(want));
  }
}

QWEN_TEST(packed_q5_1_gemv_and_gemm_match_the_exact_dot) {
  if (!avx2_or_say_why("packed_q5_1_gemv_and_gemm_match_the_exact_dot")) return;
  std::mt19937 rng(22);
  constexpr int kTokens = 64;
  for (int n : kSizes) {
    const GroupCase c(n, quantized_rows(n, rng));
    const std::vector<uint8_t> xq = quantized_activations(n, kTokens, rng);
    std::vector<double> want((size_t)kTokens * kGroupRows), mag(want.size());
    for (int tok = 0; tok < kTokens; ++tok)
      for (int r = 0; r < kGroupRows; ++r)
        c.want(r, xq, tok, want[(size_t)tok * kGroupRows + r], mag[(size_t)tok * kGroupRows + r]);
    // gemv, also on a group one byte past an allocation's start (groups need not be aligned).
    std::vector<uint8_t> misaligned(c.group.size() + 1);
    std::copy(c.group.begin(), c.group.end(), misaligned.begin() + 1);
    for (int tok = 0; tok < 3; ++tok) {
      float got[kGroupRows], shifted[kGroupRows];
      kernels::gemv_q5_1_x8(n, c.group.data(), xq.data() + c.stride * tok, got);
      kernels::gemv_q5_1_x8(n, misaligned.data() + 1, xq.data() + c.stride * tok, shifted);
      for (int r = 0; r < kGroupRows; ++r) {
        const size_t i = (size_t)tok * kGroupRows + r;
        expect_close(got[r], want[i], mag[i], where("gemv", n, 1, r, tok));
        expect_close(shifted[r], want[i], mag[i], where("gemv (misaligned group)", n, 1, r, tok));
      }
    }
    // gemm on every token count up to 17 (all tile remainders) and 64.
    std::vector<int> counts;
    for (int k = 1; k <= 17; ++k) counts.push_back(k);
    counts.push_back(kTokens);
    for (int n_x : counts) {
      const size_t out_stride = 11;  // wider than 8: the kernel must not touch the gaps
      std::vector<float> got(out_stride * n_x, NAN);
      kernels::gemm_q5_1_x8(n, c.group.data(), xq.data(), c.stride, n_x, got.data(), out_stride);
      for (int tok = 0; tok < n_x; ++tok) {
        for (int r = 0; r < kGroupRows; ++r) {
          const size_t i = (size_t)tok * kGroupRows + r;
          expect_close(got[out_stride * tok + r], want[i], mag[i], where("gemm", n, n_x, r, tok));
        }
        for (size_t s = kGroupRows; s < out_stride && out_stride * tok + s < got.size(); ++s)
          if (!std::isnan(got[out_stride * tok + s]))
            qwen_test::fail(__FILE__, __LINE__, where("gemm", n, n_x, (int)s, tok) + ": wrote outside its 8 outputs");
      }
    }
  }
}

// The int16 worst case: every level 31 (or 0) with the largest scales, against activations all +127
// or all -127. A kernel that summed too many maddubs products in int16 would saturate here.
QWEN_TEST(packed_q5_1_extreme_levels_do_not_saturate) {
  if (!avx2_or_say_why("packed_q5_1_extreme_levels_do_not_saturate")) return;
  const int n = 896;
  std::mt19937 rng(32);
  std::vector<uint8_t> rows = quantized_rows(n, rng);  // keeps the quantizer's fp16 scales and minimums
  const size_t row_bytes = row_size(GgmlType::Q5_1, n);
  for (int r = 0; r < kGroupRows; ++r) {
    auto* blocks = reinterpret_cast<block_q5_1*>(rows.data() + row_bytes * r);
    for (int b = 0; b < n / QK5_1; ++b) {
      std::memset(blocks[b].qs, r % 2 ? 0x00 : 0xff, sizeof(blocks[b].qs));
      std::memset(blocks[b].qh, r % 2 ? 0x00 : 0xff, sizeof(blocks[b].qh));
    }
  }
  const GroupCase c(n, rows);
  std::vector<uint8_t> xq(c.stride * 2);
  std::vector<float> x(n);
  for (int tok = 0; tok < 2; ++tok) {
    for (float& v : x) v = tok == 0 ? 1.0f : -1.0f;
    kernels::quantize_act_q8_0_terms(x.data(), xq.data() + c.stride * tok, n);
  }
  float got[2 * kGroupRows];
  kernels::gemm_q5_1_x8(n, c.group.data(), xq.data(), c.stride, 2, got, kGroupRows);
  for (int tok = 0; tok < 2; ++tok) {
    float one[kGroupRows];
    kernels::gemv_q5_1_x8(n, c.group.data(), xq.data() + c.stride * tok, one);
    for (int r = 0; r < kGroupRows; ++r) {
      double want, mag;
      c.want(r, xq, tok, want, mag);
      expect_close(got[kGroupRows * tok + r], want, mag, where("gemm", n, 2, r, tok));
      expect_close(one[r], want, mag, where("gemv", n, 1, r, tok));
    }
  }
}
