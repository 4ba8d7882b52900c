// The packed Q4_0 and Q5_0 kernels (packed_q4_0_avx2.cpp, packed_q5_0_avx2.cpp) must give, for
// every (row, token), what the per-row kernel traits(T).vec_dot gives on the unpacked rows, to float
// rounding; pack must write exactly the 8 rows' bytes. Both read Q8_0 activations with per-block
// terms (packed_act_q8.h), so one set of tests covers both. Calls the AVX2 kernels directly, so
// each test first asks cpu_features() and says why when it cannot run.
#include <algorithm>
#include <bitset>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>
#include <utility>

#include "base/cpu_features.h"
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
// 32, 96 and 160 end in a short quad of blocks (packed Q4_0 lays blocks out in fours).
constexpr int kSizes[] = {32, 96, 160, 896, 4864};

// One packed type under test and its kernels.
struct Legacy {
  GgmlType type;
  const char* name;
  void (*pack)(const void*, size_t, int, void*);
  void (*gemv)(int, const void*, const void*, float*);
  void (*gemm)(int, const void*, const void*, size_t, int, float*, size_t);
};
const Legacy kTypes[] = {
    {GgmlType::Q4_0, "Q4_0", kernels::pack_q4_0_x8, kernels::gemv_q4_0_x8, kernels::gemm_q4_0_x8},
    {GgmlType::Q5_0, "Q5_0", kernels::pack_q5_0_x8, kernels::gemv_q5_0_x8, kernels::gemm_q5_0_x8},
};

bool close_to(float got, float want) { return std::fabs(got - want) <= 1e-5f * (std::fabs(want) + 30.0f); }

std::string where(const Legacy& k, int n, int n_x, int row, int token, float got, float want) {
  return std::string(k.name) + " n=" + std::to_string(n) + " n_x=" + std::to_string(n_x) + " row " +
         std::to_string(row) + " token " + std::to_string(token) + ": packed " + std::to_string(got) + " vs vec_dot " +
         std::to_string(want);
}

// Eight rows of random normal weights; row 5 also carries large outliers so some of its blocks
// use the extreme levels (0 and the top) against their scale.
std::vector<uint8_t> quantized_rows(const Legacy& k, int n, std::mt19937& rng) {
  const TypeTraits& t = traits(k.type);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const size_t row_bytes = row_size(k.type, n);
  std::vector<uint8_t> rows(row_bytes * kGroupRows);
  std::vector<float> w(n);
  for (int r = 0; r < kGroupRows; ++r) {
    for (auto& v : w) v = dist(rng);
    if (r == 5) {
      for (int i = 0; i < n; i += 7) w[i] = (i % 2 ? 40.0f : -40.0f) * (1.0f + dist(rng) * 0.1f);
    }
    t.quantize_row(w.data(), rows.data() + row_bytes * r, n);
  }
  return rows;
}

// n_x activation rows quantized to Q8_0 with the packed kernels' per-block terms (packed_act_q8.h);
// token 0 is all +-max so every block's
// activations reach +-127 (the int16 worst case against the extreme weight levels).
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

std::vector<uint8_t> packed_group(const Legacy& k, int n, const std::vector<uint8_t>& rows) {
  std::vector<uint8_t> g(row_size(k.type, n) * kGroupRows);
  k.pack(rows.data(), row_size(k.type, n), n, g.data());
  return g;
}

// Eight quantized rows of length n, their packed group, and the per-row dot that is the reference
// for every kernel result: vec_dot of row r against token tok of the activations.
struct GroupCase {
  const Legacy& k;
  int n;
  std::vector<uint8_t> rows, group;
  size_t row_bytes, stride;
  GroupCase(const Legacy& k_, int n_, std::vector<uint8_t> rows_)
      : k(k_),
        n(n_),
        rows(std::move(rows_)),
        group(packed_group(k_, n_, rows)),
        row_bytes(row_size(k_.type, n_)),
        stride(kernels::act_row_bytes_q8_0_terms(n_)) {}
  float want(int r, const std::vector<uint8_t>& xq, int tok) const {
    return traits(k.type).vec_dot(n, rows.data() + row_bytes * r, xq.data() + stride * tok);
  }
};

}  // namespace

QWEN_TEST(packed_q4_0_q5_0_pack_writes_exactly_the_group) {
  if (!avx2_or_say_why("packed_q4_0_q5_0_pack_writes_exactly_the_group")) return;
  std::mt19937 rng(11);
  for (const Legacy& k : kTypes)
    for (int n : kSizes) {
      const std::vector<uint8_t> rows = quantized_rows(k, n, rng);
      const size_t group_bytes = row_size(k.type, n) * kGroupRows;
      // Packed over two different fillings: every group byte must be written (the two agree) and
      // nothing after the group (the sentinels stay).
      std::vector<uint8_t> dst(group_bytes + 64, kSentinel), other(group_bytes + 64, (uint8_t)~kSentinel);
      k.pack(rows.data(), row_size(k.type, n), n, dst.data());
      k.pack(rows.data(), row_size(k.type, n), n, other.data());
      for (size_t i = group_bytes; i < dst.size(); ++i) {
        if (dst[i] != kSentinel || other[i] != (uint8_t)~kSentinel)
          qwen_test::fail(__FILE__, __LINE__,
                          std::string(k.name) + " n=" + std::to_string(n) + ": pack wrote byte " + std::to_string(i) +
                              " past the group");
      }
      for (size_t i = 0; i < group_bytes; ++i) {
        if (dst[i] != other[i])
          qwen_test::fail(__FILE__, __LINE__,
                          std::string(k.name) + " n=" + std::to_string(n) + ": pack left group byte " +
                              std::to_string(i) + " unwritten");
      }
      // The pack only moves bits (Q4_0 moves whole bytes; Q5_0 regroups its fifth bits into planes):
      // the group holds as many set bits as the rows.
      size_t want = 0, got = 0;
      for (uint8_t b : rows) want += std::bitset<8>(b).count();
      for (size_t i = 0; i < group_bytes; ++i) got += std::bitset<8>(dst[i]).count();
      if (want != got) {
        qwen_test::fail(__FILE__, __LINE__,
                        std::string(k.name) + " n=" + std::to_string(n) + ": group has " + std::to_string(got) +
                            " set bits, the rows " + std::to_string(want));
      }
    }
}

QWEN_TEST(packed_q4_0_q5_0_gemv_matches_vec_dot_per_row) {
  if (!avx2_or_say_why("packed_q4_0_q5_0_gemv_matches_vec_dot_per_row")) return;
  std::mt19937 rng(21);
  for (const Legacy& k : kTypes)
    for (int n : kSizes) {
      const GroupCase c(k, n, quantized_rows(k, n, rng));
      const size_t stride = c.stride;
      std::vector<uint8_t> misaligned(c.group.size() + 1);
      std::copy(c.group.begin(), c.group.end(), misaligned.begin() + 1);
      const int n_x = 3;
      const std::vector<uint8_t> xq = quantized_activations(n, n_x, rng);
      for (int tok = 0; tok < n_x; ++tok) {
        float got[kGroupRows];
        for (float& v : got) v = NAN;
        k.gemv(n, c.group.data(), xq.data() + stride * tok, got);
        // Groups need not be aligned: the same group one byte past an allocation's start gives the same.
        float shifted[kGroupRows];
        k.gemv(n, misaligned.data() + 1, xq.data() + stride * tok, shifted);
        for (int r = 0; r < kGroupRows; ++r) {
          const float want = c.want(r, xq, tok);
          if (!close_to(got[r], want))
            qwen_test::fail(__FILE__, __LINE__, "gemv " + where(k, n, 1, r, tok, got[r], want));
          if (!close_to(shifted[r], want))
            qwen_test::fail(__FILE__, __LINE__,
                            "gemv on a misaligned group " + where(k, n, 1, r, tok, shifted[r], want));
        }
      }
    }
}

QWEN_TEST(packed_q4_0_q5_0_gemm_matches_vec_dot_per_row_and_token) {
  if (!avx2_or_say_why("packed_q4_0_q5_0_gemm_matches_vec_dot_per_row_and_token")) return;
  std::mt19937 rng(31);
  const int token_counts[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 17, 64};
  for (const Legacy& k : kTypes)
    for (int n : kSizes) {
      const GroupCase c(k, n, quantized_rows(k, n, rng));
      const size_t stride = c.stride;
      const std::vector<uint8_t> xq = quantized_activations(n, 64, rng);
      std::vector<float> want((size_t)64 * kGroupRows);
      for (int tok = 0; tok < 64; ++tok)
        for (int r = 0; r < kGroupRows; ++r) want[(size_t)tok * kGroupRows + r] = c.want(r, xq, tok);
      for (int n_x : token_counts) {
        const size_t out_stride = 11;  // wider than 8: the kernel must not touch the gaps
        std::vector<float> got(out_stride * n_x, NAN);
        k.gemm(n, c.group.data(), xq.data(), stride, n_x, got.data(), out_stride);
        for (int tok = 0; tok < n_x; ++tok) {
          for (int r = 0; r < kGroupRows; ++r) {
            const float g = got[out_stride * tok + r], w = want[(size_t)tok * kGroupRows + r];
            if (!close_to(g, w)) qwen_test::fail(__FILE__, __LINE__, "gemm " + where(k, n, n_x, r, tok, g, w));
          }
          for (size_t c = kGroupRows; c < out_stride && out_stride * tok + c < got.size(); ++c) {
            if (!std::isnan(got[out_stride * tok + c]))
              qwen_test::fail(__FILE__, __LINE__,
                              std::string(k.name) + " gemm n=" + std::to_string(n) +
                                  " wrote outside its 8 outputs of token " + std::to_string(tok));
          }
        }
      }
    }
}

// The int16 worst case: each block's first weight is the block maximum and the rest its negative, so
// the quantizer puts the top level on 31 of 32 elements, against activations that are all +127 (or
// all -127). A kernel that summed too many maddubs products in int16 would saturate here.
QWEN_TEST(packed_q4_0_q5_0_extreme_levels_do_not_saturate) {
  if (!avx2_or_say_why("packed_q4_0_q5_0_extreme_levels_do_not_saturate")) return;
  for (const Legacy& k : kTypes) {
    const TypeTraits& t = traits(k.type);
    const int n = 896;
    const size_t row_bytes = row_size(k.type, n), stride = kernels::act_row_bytes_q8_0_terms(n);
    std::vector<uint8_t> rows(row_bytes * kGroupRows);
    std::vector<float> w(n);
    for (int r = 0; r < kGroupRows; ++r) {
      for (int i = 0; i < n; ++i) w[i] = (i % 32 == 0 ? 1.0f : -1.0f) * (1.0f + 0.01f * r);
      t.quantize_row(w.data(), rows.data() + row_bytes * r, n);
    }
    const GroupCase c(k, n, rows);
    std::vector<uint8_t> xq(stride * 2);
    std::vector<float> x(n);
    for (int tok = 0; tok < 2; ++tok) {
      for (float& v : x) v = tok == 0 ? 1.0f : -1.0f;
      kernels::quantize_act_q8_0_terms(x.data(), xq.data() + stride * tok, n);
    }
    float got[2 * kGroupRows];
    k.gemm(n, c.group.data(), xq.data(), stride, 2, got, kGroupRows);
    for (int tok = 0; tok < 2; ++tok) {
      for (int r = 0; r < kGroupRows; ++r) {
        const float want = c.want(r, xq, tok);
        CHECK(std::fabs(want) > 100.0f);  // the case is as large as intended
        if (!close_to(got[kGroupRows * tok + r], want))
          qwen_test::fail(__FILE__, __LINE__, "gemm " + where(k, n, 2, r, tok, got[kGroupRows * tok + r], want));
        float one[kGroupRows];
        k.gemv(n, c.group.data(), xq.data() + stride * tok, one);
        if (!close_to(one[r], want))
          qwen_test::fail(__FILE__, __LINE__, "gemv " + where(k, n, 1, r, tok, one[r], want));
      }
    }
  }
}
