// vec_dot_multi (one weight row against several activation rows) must give what vec_dot gives
// for each activation row, for every type and every group size (1-7 exercises the groups of four
// and every remainder), whether the type has a multi-row kernel or uses the fallback.
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "quants/quants.h"
#include "test_framework.h"

using namespace qwen;

QWEN_TEST(quants_vec_dot_multi_matches_single_rows) {
  const int n = 768;  // 3 super-blocks, 24 legacy blocks
  const int max_rows = 7;
  std::mt19937 rng(99);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> w(n), x((size_t)n * max_rows);
  for (auto& v : w) v = dist(rng);
  for (auto& v : x) v = dist(rng);
  const GgmlType types[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0,
                            GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q2_K, GgmlType::Q3_K,
                            GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};
  for (GgmlType type : types) {
    const TypeTraits& t = traits(type);
    const TypeTraits& at = traits(t.vec_dot_type);
    std::vector<uint8_t> wq(row_size(type, n));
    t.quantize_row(w.data(), wq.data(), n);
    const size_t stride = row_size(t.vec_dot_type, n);
    std::vector<uint8_t> xq(stride * max_rows);
    for (int r = 0; r < max_rows; ++r) at.quantize_row(x.data() + (size_t)r * n, xq.data() + stride * r, n);
    for (int n_x = 1; n_x <= max_rows; ++n_x) {
      std::vector<float> got(n_x, NAN);
      vec_dot_multi(t, n, wq.data(), xq.data(), stride, n_x, got.data());
      for (int r = 0; r < n_x; ++r) {
        const float want = t.vec_dot(n, wq.data(), xq.data() + stride * r);
        if (!(std::fabs(got[r] - want) <= 1e-5f * (std::fabs(want) + 30.0f))) {
          qwen_test::fail(__FILE__, __LINE__,
                          std::string(t.name) + " n_x=" + std::to_string(n_x) + " row " + std::to_string(r) +
                              ": multi " + std::to_string(got[r]) + " vs single " + std::to_string(want));
        }
      }
    }
  }
}

// vec_dot_2rows_multi (two weight rows against several activation rows, where a type has it) must
// give vec_dot's result for every (row, activation) pair, for every group size and remainder.
QWEN_TEST(quants_vec_dot_2rows_multi_matches_single_rows) {
  const int n = 768;
  const int max_x = 7;
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> w((size_t)2 * n), x((size_t)n * max_x);
  for (auto& v : w) v = dist(rng);
  for (auto& v : x) v = dist(rng);
  int kernels = 0;
  for (GgmlType type : {GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q5_0}) {
    const TypeTraits& t = traits(type);
    if (!t.vec_dot_2rows_multi) continue;  // scalar CPU or forced scalar: nothing to compare
    ++kernels;
    const TypeTraits& at = traits(t.vec_dot_type);
    const size_t w_row = row_size(type, n), stride = row_size(t.vec_dot_type, n);
    std::vector<uint8_t> wq(2 * w_row), xq(stride * max_x);
    for (int r = 0; r < 2; ++r) t.quantize_row(w.data() + (size_t)r * n, wq.data() + w_row * r, n);
    for (int i = 0; i < max_x; ++i) at.quantize_row(x.data() + (size_t)i * n, xq.data() + stride * i, n);
    for (int n_x = 1; n_x <= max_x; ++n_x) {
      const size_t out_stride = 9;
      std::vector<float> got(2 * out_stride, NAN);
      t.vec_dot_2rows_multi(n, wq.data(), w_row, xq.data(), stride, n_x, got.data(), out_stride);
      for (int r = 0; r < 2; ++r) {
        for (int i = 0; i < n_x; ++i) {
          const float want = t.vec_dot(n, wq.data() + w_row * r, xq.data() + stride * i);
          const float g = got[r * out_stride + i];
          if (!(std::fabs(g - want) <= 1e-5f * (std::fabs(want) + 30.0f))) {
            qwen_test::fail(__FILE__, __LINE__,
                            std::string(t.name) + " n_x=" + std::to_string(n_x) + " row " + std::to_string(r) + " x " +
                                std::to_string(i) + ": two-row " + std::to_string(g) + " vs single " +
                                std::to_string(want));
          }
        }
      }
    }
  }
  if (kernels == 0) std::printf("  (no two-row kernels on this CPU: the AVX2 ones were not selected)\n");
}
