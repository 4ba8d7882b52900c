// The packed Q8_0 kernels (packed_q8_0_avx2.cpp) must give, for every (row, token), what the
// per-row kernel traits(Q8_0).vec_dot gives on the unpacked rows, to float rounding; pack must
// write exactly the 8 rows' bytes. Calls the AVX2 kernels directly, so each test first asks
// cpu_features() and says why when it cannot run.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/cpu_features.h"
#include "quants/packed_impl.h"
#include "quants/quants.h"
#include "test_avx2.h"
#include "test_framework.h"

using namespace qwen;
using qwen_test::avx2_or_say_why;

namespace {

constexpr int kGroupRows = 8;
constexpr uint8_t kSentinel = 0xA5;

bool close_to(float got, float want) { return std::fabs(got - want) <= 1e-5f * (std::fabs(want) + 30.0f); }

std::string where(int n, int n_x, int row, int token, float got, float want) {
  return "n=" + std::to_string(n) + " n_x=" + std::to_string(n_x) + " row " + std::to_string(row) + " token " +
         std::to_string(token) + ": packed " + std::to_string(got) + " vs vec_dot " + std::to_string(want);
}

// Eight quantized rows (GGML layout, row_bytes apart) and their packed group.
struct Group {
  int n;
  size_t row_bytes;
  std::vector<uint8_t> rows;
  std::vector<uint8_t> packed;
};

Group pack_rows(int n, std::vector<uint8_t> rows) {
  Group g{n, row_size(GgmlType::Q8_0, n), std::move(rows), {}};
  g.packed.assign(g.row_bytes * kGroupRows, 0);
  kernels::pack_q8_0_x8(g.rows.data(), g.row_bytes, n, g.packed.data());
  return g;
}

Group quantized_group(int n, std::mt19937& rng) {
  const TypeTraits& t = traits(GgmlType::Q8_0);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const size_t row_bytes = row_size(GgmlType::Q8_0, n);
  std::vector<uint8_t> rows(row_bytes * kGroupRows);
  std::vector<float> w(n);
  for (int r = 0; r < kGroupRows; ++r) {
    for (auto& v : w) v = dist(rng);
    if (r == 5) {  // outliers: a few huge values make the other levels of their blocks small
      for (int i = 3; i < n; i += 37) w[i] *= 200.0f;
    }
    if (r == 6) {  // a row with a different magnitude altogether
      for (auto& v : w) v *= 1e-3f;
    }
    t.quantize_row(w.data(), rows.data() + row_bytes * r, n);
  }
  return pack_rows(n, std::move(rows));
}

std::vector<uint8_t> quantized_activations(int n, int n_x, std::mt19937& rng) {
  const size_t stride = row_size(GgmlType::Q8_0, n);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<uint8_t> xq(stride * n_x);
  std::vector<float> x(n);
  for (int t = 0; t < n_x; ++t) {
    for (auto& v : x) v = dist(rng);
    traits(GgmlType::Q8_0).quantize_row(x.data(), xq.data() + stride * t, n);
  }
  return xq;
}

void check_gemv(const Group& g, const std::vector<uint8_t>& xq, int n_x) {
  const TypeTraits& t = traits(GgmlType::Q8_0);
  const size_t stride = row_size(GgmlType::Q8_0, g.n);
  for (int tok = 0; tok < n_x; ++tok) {
    float got[kGroupRows + 1];
    got[kGroupRows] = -7.0f;  // must stay untouched
    kernels::gemv_q8_0_x8(g.n, g.packed.data(), xq.data() + stride * tok, got);
    if (got[kGroupRows] != -7.0f) qwen_test::fail(__FILE__, __LINE__, "gemv wrote past out[7]");
    for (int r = 0; r < kGroupRows; ++r) {
      const float want = t.vec_dot(g.n, g.rows.data() + g.row_bytes * r, xq.data() + stride * tok);
      if (!close_to(got[r], want)) qwen_test::fail(__FILE__, __LINE__, "gemv " + where(g.n, 1, r, tok, got[r], want));
    }
  }
}

// gemm over the first n_x activation rows, with out_stride > 8 so writes outside a token's eight
// slots show up as changed NaN padding.
void check_gemm(const Group& g, const std::vector<uint8_t>& xq, int n_x) {
  const TypeTraits& t = traits(GgmlType::Q8_0);
  const size_t stride = row_size(GgmlType::Q8_0, g.n);
  const size_t out_stride = kGroupRows + 3;
  std::vector<float> out(out_stride * n_x + 8, NAN);
  kernels::gemm_q8_0_x8(g.n, g.packed.data(), xq.data(), stride, n_x, out.data(), out_stride);
  for (int tok = 0; tok < n_x; ++tok) {
    for (int r = 0; r < kGroupRows; ++r) {
      const float want = t.vec_dot(g.n, g.rows.data() + g.row_bytes * r, xq.data() + stride * tok);
      const float got = out[out_stride * tok + r];
      if (!close_to(got, want)) qwen_test::fail(__FILE__, __LINE__, "gemm " + where(g.n, n_x, r, tok, got, want));
    }
    for (size_t p = kGroupRows; p < out_stride; ++p)
      if (!std::isnan(out[out_stride * tok + p])) qwen_test::fail(__FILE__, __LINE__, "gemm wrote into the padding");
  }
  for (size_t p = out_stride * n_x; p < out.size(); ++p)
    if (!std::isnan(out[p])) qwen_test::fail(__FILE__, __LINE__, "gemm wrote past its last token");
}

}  // namespace

QWEN_TEST(packed_q8_0_pack_writes_exactly_the_group) {
  if (!avx2_or_say_why("packed_q8_0_pack_writes_exactly_the_group")) return;
  std::mt19937 rng(3);
  for (int n : {32, 896, 4864}) {
    const Group g = quantized_group(n, rng);
    const size_t bytes = g.row_bytes * kGroupRows;
    std::vector<uint8_t> dst(bytes + 64, kSentinel);
    kernels::pack_q8_0_x8(g.rows.data(), g.row_bytes, n, dst.data());
    for (size_t i = bytes; i < dst.size(); ++i)
      if (dst[i] != kSentinel)
        qwen_test::fail(__FILE__, __LINE__, "pack wrote past the group at byte " + std::to_string(i));
    // Same bytes, only reordered: the multisets of byte values agree, and every byte was written
    // (a count of sentinel bytes above the rows' own count would mean a hole).
    std::vector<size_t> in_count(256, 0), out_count(256, 0);
    for (size_t i = 0; i < bytes; ++i) {
      ++in_count[g.rows[i]];
      ++out_count[dst[i]];
    }
    for (int v = 0; v < 256; ++v)
      if (in_count[v] != out_count[v])
        qwen_test::fail(__FILE__, __LINE__,
                        "n=" + std::to_string(n) + ": byte value " + std::to_string(v) + " occurs " +
                            std::to_string(out_count[v]) + " times packed, " + std::to_string(in_count[v]) +
                            " times in the rows");
  }
}

QWEN_TEST(packed_q8_0_gemv_matches_vec_dot) {
  if (!avx2_or_say_why("packed_q8_0_gemv_matches_vec_dot")) return;
  std::mt19937 rng(11);
  for (int n : {32, 896, 4864}) {
    const Group g = quantized_group(n, rng);
    check_gemv(g, quantized_activations(n, 3, rng), 3);
  }
}

QWEN_TEST(packed_q8_0_gemm_matches_vec_dot) {
  if (!avx2_or_say_why("packed_q8_0_gemm_matches_vec_dot")) return;
  std::mt19937 rng(17);
  for (int n : {32, 896, 4864}) {
    const Group g = quantized_group(n, rng);
    const std::vector<uint8_t> xq = quantized_activations(n, 64, rng);
    for (int n_x : {1, 2, 3, 4, 5, 6, 7, 8, 9, 17, 64}) check_gemm(g, xq, n_x);
  }
}

// Levels at their extremes, -128 included (the reference quantizer never writes it, but a file
// may hold it), against activations of +-127: the integer sums must neither saturate nor overflow
// any differently from vec_dot's.
QWEN_TEST(packed_q8_0_extreme_levels_match_vec_dot) {
  if (!avx2_or_say_why("packed_q8_0_extreme_levels_match_vec_dot")) return;
  const int n = 4864;
  const size_t row_bytes = row_size(GgmlType::Q8_0, n);
  const int nb = n / 32;
  std::vector<uint8_t> rows(row_bytes * kGroupRows);
  std::mt19937 rng(23);
  const int8_t extremes[] = {-128, -127, 127};
  for (int r = 0; r < kGroupRows; ++r) {
    auto* blocks = reinterpret_cast<block_q8_0*>(rows.data() + row_bytes * r);
    for (int i = 0; i < nb; ++i) {
      blocks[i].d = 0x3c00;  // 1.0
      for (int j = 0; j < 32; ++j) {
        // Row 0 all -128, row 1 all 127, the others a random mix of the extremes.
        blocks[i].qs[j] = r == 0 ? -128 : r == 1 ? 127 : extremes[rng() % 3];
      }
    }
  }
  const Group g = pack_rows(n, std::move(rows));
  // Activations: token 0 all +127, token 1 all -127, token 2 the signs at random, then more random.
  const int n_x = 6;
  std::vector<uint8_t> xq(row_bytes * n_x);
  for (int t = 0; t < n_x; ++t) {
    auto* blocks = reinterpret_cast<block_q8_0*>(xq.data() + row_bytes * t);
    for (int i = 0; i < nb; ++i) {
      blocks[i].d = 0x3c00;
      for (int j = 0; j < 32; ++j) blocks[i].qs[j] = t == 0 ? 127 : t == 1 ? -127 : (rng() & 1 ? 127 : -127);
    }
  }
  // Row 0 against token 0 is -128 * 127 * n exactly; make sure vec_dot itself agrees, so the
  // comparison below is against the true value where it is known.
  const float want00 = traits(GgmlType::Q8_0).vec_dot(n, g.rows.data(), xq.data());
  CHECK_NEAR(want00, -128.0 * 127.0 * n, 1.0);
  check_gemv(g, xq, n_x);
  for (int k = 1; k <= n_x; ++k) check_gemm(g, xq, k);
}

// Groups are not guaranteed any alignment: the kernels must give the same results (bit for bit:
// same arithmetic) from a group that starts at an odd address.
QWEN_TEST(packed_q8_0_unaligned_group_same_results) {
  if (!avx2_or_say_why("packed_q8_0_unaligned_group_same_results")) return;
  std::mt19937 rng(29);
  const int n = 896, n_x = 7;
  const Group g = quantized_group(n, rng);
  const std::vector<uint8_t> xq = quantized_activations(n, n_x, rng);
  const size_t stride = row_size(GgmlType::Q8_0, n);
  std::vector<uint8_t> shifted(g.packed.size() + 3);
  std::memcpy(shifted.data() + 3, g.packed.data(), g.packed.size());
  std::vector<float> aligned_out(kGroupRows * n_x), odd_out(kGroupRows * n_x);
  kernels::gemm_q8_0_x8(n, g.packed.data(), xq.data(), stride, n_x, aligned_out.data(), kGroupRows);
  kernels::gemm_q8_0_x8(n, shifted.data() + 3, xq.data(), stride, n_x, odd_out.data(), kGroupRows);
  for (size_t i = 0; i < aligned_out.size(); ++i) CHECK(aligned_out[i] == odd_out[i]);
  float a[kGroupRows], b[kGroupRows];
  kernels::gemv_q8_0_x8(n, g.packed.data(), xq.data(), a);
  kernels::gemv_q8_0_x8(n, shifted.data() + 3, xq.data(), b);
  for (int r = 0; r < kGroupRows; ++r) CHECK(a[r] == b[r]);
}
