// Decode reads packed matrices two groups at a time (PackedTraits::gemv2, paired by matmul across
// each row tile). Both must change nothing but the memory order: gemv2 computes each group with the
// same integer sums and the same float operations in the same order as gemv, so its outputs are
// compared bit for bit, and a decode matmul must put every group's result in that group's rows.
#include <cstdint>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "base/cpu_features.h"
#include "cpu/matmul.h"
#include "cpu/thread_pool.h"
#include "quants/packed.h"
#include "quants/quants.h"
#include "test_avx2.h"
#include "test_framework.h"

using namespace qwen;
using qwen_test::avx2_or_say_why;

namespace {

const GgmlType kPackedTypes[] = {GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q5_0,
                                 GgmlType::Q5_1, GgmlType::Q4_K, GgmlType::Q6_K};

// A rows x n matrix of random weights quantized to `type` and packed, as cpu_weights does at load.
struct PackedMatrix {
  std::vector<uint8_t> bytes;
  WeightMatrix w;
};

PackedMatrix packed_matrix(GgmlType type, const PackedTraits& p, int64_t rows, int n, uint32_t seed) {
  const TypeTraits& t = traits(type);
  const size_t row_bytes = row_size(type, n);
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<uint8_t> rows_q(row_bytes * rows);
  std::vector<float> f(n);
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : f) v = dist(rng) * (1.0f + (float)(r % 5));  // rows of different magnitudes
    t.quantize_row(f.data(), rows_q.data() + row_bytes * r, n);
  }
  PackedMatrix m;
  m.bytes.resize(rows_q.size());
  pack_groups(p, rows_q.data(), row_bytes, n, 0, rows / kPackRows, m.bytes.data());
  m.w = WeightMatrix{type, m.bytes.data(), rows, n, row_bytes, &p};
  return m;
}

// One token's activations in the format p's kernels read.
std::vector<uint8_t> activations(GgmlType type, const PackedTraits& p, int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(n);
  for (auto& v : x) v = dist(rng);
  const GgmlType vt = traits(type).vec_dot_type;
  std::vector<uint8_t> xq(p.quantize_act ? p.act_row_bytes(n) : row_size(vt, n));
  if (p.quantize_act) p.quantize_act(x.data(), xq.data(), n);
  else traits(vt).quantize_row(x.data(), xq.data(), n);
  return xq;
}

bool same_bits(const float* a, const float* b, int count) { return std::memcmp(a, b, sizeof(float) * count) == 0; }

}  // namespace

QWEN_TEST(packed_gemv2_equals_gemv_on_each_group_bit_for_bit) {
  if (!avx2_or_say_why("packed_gemv2_equals_gemv_on_each_group_bit_for_bit")) return;
  int with_gemv2 = 0;
  for (GgmlType type : kPackedTypes) {
    const PackedTraits* p = packed_traits(type);
    CHECK(p != nullptr);
    if (!p || !p->gemv2) continue;
    ++with_gemv2;
    for (int n : {256, 1536, 8960}) {
      const PackedMatrix m = packed_matrix(type, *p, 3 * kPackRows, n, 7 + n);
      const std::vector<uint8_t> xq = activations(type, *p, n, 11 + n);
      // Groups 0 and 2, as matmul pairs groups from two halves of a tile; then one group twice.
      for (auto [a, b] : {std::pair<int, int>{0, 2}, std::pair<int, int>{1, 1}}) {
        float want_a[kPackRows], want_b[kPackRows], got_a[kPackRows], got_b[kPackRows];
        p->gemv(n, m.w.group(a), xq.data(), want_a);
        p->gemv(n, m.w.group(b), xq.data(), want_b);
        p->gemv2(n, m.w.group(a), m.w.group(b), xq.data(), got_a, got_b);
        const std::string where = std::string(traits(type).name) + " n=" + std::to_string(n) + " groups " +
                                  std::to_string(a) + "," + std::to_string(b);
        if (!same_bits(got_a, want_a, kPackRows))
          qwen_test::fail(__FILE__, __LINE__, "gemv2 first group differs from gemv, " + where);
        if (!same_bits(got_b, want_b, kPackRows))
          qwen_test::fail(__FILE__, __LINE__, "gemv2 second group differs from gemv, " + where);
      }
    }
  }
  // Q8_0, Q4_0 and Q6_K decode two groups at a time (with AVX-512 VNNI also Q4_K, Q5_0, Q5_1).
  CHECK(with_gemv2 >= (cpu_features().use_avx512_vnni() ? 6 : 3));
}

// Row counts chosen so that decode tiles (rows / 32, at least 32 rows; matmul.cpp row_tile) hold an
// odd number of groups (a left-over single gemv: 24 and 1280 rows, 3 and 5 groups), an even number
// (296 and 2560: 4 and 10), and a last tile shorter than the rest (296 and 1288); every output row
// must equal gemv's.
QWEN_TEST(packed_decode_matmul_puts_each_group_in_its_rows) {
  if (!avx2_or_say_why("packed_decode_matmul_puts_each_group_in_its_rows")) return;
  ThreadPool pool(2);
  MatmulScratch scratch;
  for (GgmlType type : kPackedTypes) {
    const PackedTraits* p = packed_traits(type);
    CHECK(p != nullptr);
    if (!p) continue;
    const int n = 256;
    for (int64_t rows : {8, 24, 296, 1280, 1288, 2560}) {
      const PackedMatrix m = packed_matrix(type, *p, rows, n, 100 + (uint32_t)rows);
      std::mt19937 rng(5 + (uint32_t)rows);
      std::normal_distribution<float> dist(0.0f, 1.0f);
      std::vector<float> x(n), y(rows, -1.0f);
      for (auto& v : x) v = dist(rng);
      matmul(pool, m.w, x.data(), 1, y.data(), scratch);
      const std::vector<uint8_t> xq(scratch.xq.begin(), scratch.xq.begin() + activation_row_bytes(m.w));
      for (int64_t g = 0; g < rows / kPackRows; ++g) {
        float want[kPackRows];
        p->gemv(n, m.w.group(g), xq.data(), want);
        if (!same_bits(y.data() + g * kPackRows, want, kPackRows))
          qwen_test::fail(__FILE__, __LINE__,
                          std::string(traits(type).name) + " rows=" + std::to_string(rows) +
                              ": decode matmul differs from gemv in group " + std::to_string(g));
      }
    }
  }
}

// Batch tiles are sized by weight bytes and thread count (matmul.cpp row_tile), so they span many
// group pairs: row counts with a left-over odd group (24, 1288), a last tile shorter than the rest
// (296, 1288) and many tiles (2568), at two widths (a 256-wide row is small, so tiles grow long).
// Every token's output rows must equal the single-group gemm's for that group, to float rounding
// (the group-pair kernels add in another order); a tile that dropped, shifted or repeated a group
// would be off by whole dot products.
QWEN_TEST(packed_batch_matmul_puts_each_group_in_its_rows) {
  if (!avx2_or_say_why("packed_batch_matmul_puts_each_group_in_its_rows")) return;
  ThreadPool pool(2);
  MatmulScratch scratch;
  const int n_tok = 5;
  for (GgmlType type : kPackedTypes) {
    const PackedTraits* p = packed_traits(type);
    CHECK(p != nullptr);
    if (!p) continue;
    for (int n : {256, 1536}) {
      for (int64_t rows : {24, 296, 1288, 2568}) {
        const PackedMatrix m = packed_matrix(type, *p, rows, n, 300 + (uint32_t)rows + (uint32_t)n);
        std::mt19937 rng(9 + (uint32_t)rows);
        std::normal_distribution<float> dist(0.0f, 1.0f);
        std::vector<float> x((size_t)n_tok * n), y((size_t)n_tok * rows, -1.0f);
        for (auto& v : x) v = dist(rng);
        matmul(pool, m.w, x.data(), n_tok, y.data(), scratch);
        const size_t act_row = activation_row_bytes(m.w);
        const std::vector<uint8_t> xq(scratch.xq.begin(), scratch.xq.begin() + act_row * n_tok);
        for (int64_t g = 0; g < rows / kPackRows; ++g) {
          float want[n_tok * kPackRows];
          p->gemm(n, m.w.group(g), xq.data(), act_row, n_tok, want, kPackRows);
          for (int t = 0; t < n_tok; ++t)
            for (int r = 0; r < kPackRows; ++r) {
              const float ref = want[t * kPackRows + r], got = y[(size_t)t * rows + g * kPackRows + r];
              if (std::fabs(got - ref) > 1e-4f * (1.0f + std::fabs(ref)))
                qwen_test::fail(__FILE__, __LINE__,
                                std::string(traits(type).name) + " n=" + std::to_string(n) +
                                    " rows=" + std::to_string(rows) + ": batch matmul differs from gemm in group " +
                                    std::to_string(g) + " token " + std::to_string(t));
            }
        }
      }
    }
  }
}
