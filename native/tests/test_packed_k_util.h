// What the packed K-quant kernel tests share (test_packed_q4_K.cpp, test_packed_q5_K.cpp,
// test_packed_q6_K.cpp):
// a group of eight quantized rows with its packed form, Q8_K activations, and the checks that
// gemv and gemm give traits(T).vec_dot for every (row, token) to float rounding. The kernels are
// AVX2 only: each test asks cpu_features() first and prints why when it cannot run.
#pragma once
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "base/cpu_features.h"
#include "quants/quants.h"
#include "test_avx2.h"
#include "test_framework.h"

namespace qwen_test::packed_k {

constexpr int kGroupRows = 8;

// One K-quant type and its packed kernels.
struct Kernels {
  qwen::GgmlType type;
  void (*pack)(const void* src, size_t src_row_bytes, int n, void* dst);
  void (*gemv)(int n, const void* group, const void* x, float* out);
  void (*gemm)(int n, const void* group, const void* x, size_t x_stride, int n_x, float* out, size_t out_stride);
};

inline void expect_close(float got, float want, const std::string& where) {
  if (!(std::fabs(got - want) <= 1e-5f * (std::fabs(want) + 30.0f)))
    qwen_test::fail(__FILE__, __LINE__,
                    where + ": packed " + std::to_string(got) + " vs vec_dot " + std::to_string(want));
}

// Eight rows (GGML layout, src_stride bytes apart, with padding to catch a wrong stride) and
// their packed group.
struct Group {
  int n = 0;
  size_t row_bytes = 0, src_stride = 0;
  std::vector<uint8_t> rows, packed;
  const uint8_t* row(int r) const { return rows.data() + src_stride * r; }
};

inline Group make_group(const Kernels& k, int n, uint32_t seed) {
  Group g;
  g.n = n;
  g.row_bytes = qwen::row_size(k.type, n);
  g.src_stride = g.row_bytes + 48;
  g.rows.assign(g.src_stride * kGroupRows, 0xee);
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> w(n);
  for (int r = 0; r < kGroupRows; ++r) {
    for (auto& v : w) v = dist(rng);
    if (r == 5) {  // a row with large outliers: big scales next to small ones
      for (int i = 0; i < n; i += 37) w[i] *= 40.0f;
    }
    if (r == 2) {  // a row of one sign: levels at one end of the range (Q4_K: large mins)
      for (auto& v : w) v = std::fabs(v) + 3.0f;
    }
    qwen::traits(k.type).quantize_row(w.data(), g.rows.data() + g.src_stride * r, n);
  }
  g.packed.assign(g.row_bytes * kGroupRows, 0);
  k.pack(g.rows.data(), g.src_stride, n, g.packed.data());
  return g;
}

// n_x Q8_K activation rows, stride bytes apart; every third token carries an outlier.
inline std::vector<uint8_t> make_acts(int n, int n_x, size_t stride, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x((size_t)n);
  std::vector<uint8_t> xq(stride * n_x, 0);
  for (int t = 0; t < n_x; ++t) {
    for (auto& v : x) v = dist(rng);
    if (t % 3 == 1) x[t % n] = 25.0f;
    qwen::traits(qwen::GgmlType::Q8_K).quantize_row(x.data(), xq.data() + stride * t, n);
  }
  return xq;
}

inline void check_gemm(const Kernels& k, const Group& g, const std::vector<uint8_t>& xq, size_t stride, int n_x,
                       const std::string& what) {
  const qwen::TypeTraits& t = qwen::traits(k.type);
  const size_t out_stride = kGroupRows + 3;  // not 8: catches a kernel that ignores out_stride
  std::vector<float> out(out_stride * n_x + 8, NAN);
  k.gemm(g.n, g.packed.data(), xq.data(), stride, n_x, out.data(), out_stride);
  for (int tok = 0; tok < n_x; ++tok)
    for (int r = 0; r < kGroupRows; ++r)
      expect_close(out[out_stride * tok + r], t.vec_dot(g.n, g.row(r), xq.data() + stride * tok),
                   what + " n=" + std::to_string(g.n) + " n_x=" + std::to_string(n_x) + " row " + std::to_string(r) +
                       " token " + std::to_string(tok));
  // Only out[t * out_stride + r], r < 8, is the kernel's: the slots between stay untouched.
  for (int tok = 0; tok < n_x; ++tok)
    for (size_t r = kGroupRows; r < out_stride; ++r)
      if (!std::isnan(out[out_stride * tok + r]))
        qwen_test::fail(__FILE__, __LINE__,
                        what + " n_x=" + std::to_string(n_x) + ": wrote out slot " + std::to_string(r) + " of token " +
                            std::to_string(tok));
}

// gemv for each of three tokens, and gemm for 1..9, 17 and 64 tokens (padded activation rows),
// against vec_dot, for rows of 1, 6 and 19 super-blocks.
inline void check_gemv_sizes(const Kernels& k) {
  const qwen::TypeTraits& t = qwen::traits(k.type);
  for (int n : {256, 1536, 4864}) {
    Group g = make_group(k, n, 100 + n);
    const size_t stride = qwen::row_size(qwen::GgmlType::Q8_K, n);
    const int tokens = 3;
    std::vector<uint8_t> xq = make_acts(n, tokens, stride, 7 + n);
    for (int tok = 0; tok < tokens; ++tok) {
      float got[kGroupRows];
      for (float& v : got) v = NAN;
      k.gemv(n, g.packed.data(), xq.data() + stride * tok, got);
      for (int r = 0; r < kGroupRows; ++r)
        expect_close(got[r], t.vec_dot(n, g.row(r), xq.data() + stride * tok),
                     std::string(t.name) + " gemv n=" + std::to_string(n) + " row " + std::to_string(r) + " token " +
                         std::to_string(tok));
    }
  }
}
inline void check_gemm_sizes(const Kernels& k) {
  for (int n : {256, 1536, 4864}) {
    Group g = make_group(k, n, 300 + n);
    const size_t stride = qwen::row_size(qwen::GgmlType::Q8_K, n) + 8;  // padded activation rows
    std::vector<uint8_t> xq = make_acts(n, 64, stride, 500 + n);
    for (int n_x : {1, 2, 3, 4, 5, 6, 7, 8, 9, 17, 64})
      check_gemm(k, g, xq, stride, n_x, std::string(qwen::traits(k.type).name) + " gemm");
  }
}

}  // namespace qwen_test::packed_k
