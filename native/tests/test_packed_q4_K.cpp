// The packed Q4_K kernels (packed_q4_K_avx2.cpp) must give, for every (row, token), what the
// per-row kernel traits(Q4_K).vec_dot gives on the unpacked rows, to float rounding; pack must write
// exactly 8 * row_size bytes; and the integer sums must not saturate at the format's extremes.
// The kernels are AVX2 only: each test asks cpu_features() first and prints why when it cannot run.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cpu/cpu_features.h"
#include "quants/packed_impl.h"
#include "quants/quants.h"
#include "test_framework.h"

using namespace qwen;

namespace {

constexpr int kGroupRows = 8;

bool q4k_avx2_or_say_why(const char* test) {
  if (cpu_features().use_avx2()) return true;
  std::printf("  %s skipped: this CPU has no AVX2, and the packed kernels are AVX2 only\n", test);
  return false;
}

void q4k_expect_close(float got, float want, const std::string& where) {
  if (!(std::fabs(got - want) <= 1e-5f * (std::fabs(want) + 30.0f)))
    qwen_test::fail(__FILE__, __LINE__, where + ": packed " + std::to_string(got) + " vs vec_dot " + std::to_string(want));
}

// Eight Q4_K rows (GGML layout, src_stride bytes apart, with padding to catch a wrong stride) and
// their packed group.
struct Q4kGroup {
  int n = 0;
  size_t row_bytes = 0, src_stride = 0;
  std::vector<uint8_t> rows, packed;
  const uint8_t* row(int r) const { return rows.data() + src_stride * r; }
};

Q4kGroup make_q4k_group(int n, uint32_t seed) {
  Q4kGroup g;
  g.n = n;
  g.row_bytes = row_size(GgmlType::Q4_K, n);
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
    if (r == 2) {  // a row of mostly positive values: exercises large mins
      for (auto& v : w) v = std::fabs(v) + 3.0f;
    }
    traits(GgmlType::Q4_K).quantize_row(w.data(), g.rows.data() + g.src_stride * r, n);
  }
  g.packed.assign(g.row_bytes * kGroupRows, 0);
  kernels::pack_q4_K_x8(g.rows.data(), g.src_stride, n, g.packed.data());
  return g;
}

std::vector<uint8_t> make_q4k_acts(int n, int n_x, size_t stride, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x((size_t)n);
  std::vector<uint8_t> xq(stride * n_x, 0);
  for (int t = 0; t < n_x; ++t) {
    for (auto& v : x) v = dist(rng);
    if (t % 3 == 1) x[t % n] = 25.0f;  // an outlier token
    traits(GgmlType::Q8_K).quantize_row(x.data(), xq.data() + stride * t, n);
  }
  return xq;
}

void check_gemm_q4k(const Q4kGroup& g, const std::vector<uint8_t>& xq, size_t stride, int n_x, const std::string& what) {
  const TypeTraits& t = traits(GgmlType::Q4_K);
  const size_t out_stride = kGroupRows + 3;  // not 8: catches a kernel that ignores out_stride
  std::vector<float> out(out_stride * n_x + 8, NAN);
  kernels::gemm_q4_K_x8(g.n, g.packed.data(), xq.data(), stride, n_x, out.data(), out_stride);
  for (int tok = 0; tok < n_x; ++tok)
    for (int r = 0; r < kGroupRows; ++r)
      q4k_expect_close(out[out_stride * tok + r], t.vec_dot(g.n, g.row(r), xq.data() + stride * tok),
                       what + " n=" + std::to_string(g.n) + " n_x=" + std::to_string(n_x) + " row " + std::to_string(r) +
                           " token " + std::to_string(tok));
  // Only out[t * out_stride + r], r < 8, is the kernel's: the slots between stay untouched.
  for (int tok = 0; tok < n_x; ++tok)
    for (size_t r = kGroupRows; r < out_stride; ++r)
      if (!std::isnan(out[out_stride * tok + r]))
        qwen_test::fail(__FILE__, __LINE__, what + " n_x=" + std::to_string(n_x) + ": wrote out slot " + std::to_string(r) +
                                                " of token " + std::to_string(tok));
}

}  // namespace

QWEN_TEST(packed_q4_K_pack_writes_exactly_the_group) {
  if (!q4k_avx2_or_say_why("packed_q4_K_pack_writes_exactly_the_group")) return;
  for (int n : {256, 1536}) {
    Q4kGroup g = make_q4k_group(n, 11);
    const size_t bytes = g.row_bytes * kGroupRows;
    std::vector<uint8_t> dst(bytes + 64, 0xa5);
    kernels::pack_q4_K_x8(g.rows.data(), g.src_stride, n, dst.data());
    for (size_t i = bytes; i < dst.size(); ++i) CHECK(dst[i] == 0xa5);
    // Every byte of the group is written: packing onto a differently filled buffer gives the same bytes.
    std::vector<uint8_t> dst2(bytes, 0x5a);
    kernels::pack_q4_K_x8(g.rows.data(), g.src_stride, n, dst2.data());
    CHECK(std::memcmp(dst.data(), dst2.data(), bytes) == 0);
    // The nibbles are only reordered: per super-block, the packed record's last 1024 bytes (its qs
    // area) hold the 8 rows' qs bytes, each byte value as often as in the rows.
    for (int i = 0; i < n / QK_K; ++i) {
      size_t count_src[256] = {}, count_dst[256] = {};
      for (int r = 0; r < kGroupRows; ++r) {
        const auto* b = reinterpret_cast<const block_q4_K*>(g.row(r)) + i;
        for (uint8_t v : b->qs) ++count_src[v];
      }
      const uint8_t* rec = dst.data() + sizeof(block_q4_K) * kGroupRows * i;
      for (size_t j = 128; j < sizeof(block_q4_K) * kGroupRows; ++j) ++count_dst[rec[j]];
      CHECK(std::memcmp(count_src, count_dst, sizeof(count_src)) == 0);
    }
  }
}

QWEN_TEST(packed_q4_K_gemv_matches_vec_dot) {
  if (!q4k_avx2_or_say_why("packed_q4_K_gemv_matches_vec_dot")) return;
  const TypeTraits& t = traits(GgmlType::Q4_K);
  for (int n : {256, 1536, 4864}) {
    Q4kGroup g = make_q4k_group(n, 100 + n);
    const size_t stride = row_size(GgmlType::Q8_K, n);
    const int tokens = 3;
    std::vector<uint8_t> xq = make_q4k_acts(n, tokens, stride, 7 + n);
    for (int tok = 0; tok < tokens; ++tok) {
      float got[kGroupRows];
      for (float& v : got) v = NAN;
      kernels::gemv_q4_K_x8(n, g.packed.data(), xq.data() + stride * tok, got);
      for (int r = 0; r < kGroupRows; ++r)
        q4k_expect_close(got[r], t.vec_dot(n, g.row(r), xq.data() + stride * tok),
                         "gemv n=" + std::to_string(n) + " row " + std::to_string(r) + " token " + std::to_string(tok));
    }
  }
}

QWEN_TEST(packed_q4_K_gemm_matches_vec_dot) {
  if (!q4k_avx2_or_say_why("packed_q4_K_gemm_matches_vec_dot")) return;
  for (int n : {256, 1536, 4864}) {
    Q4kGroup g = make_q4k_group(n, 300 + n);
    const size_t stride = row_size(GgmlType::Q8_K, n) + 8;  // padded activation rows
    std::vector<uint8_t> xq = make_q4k_acts(n, 64, stride, 500 + n);
    for (int n_x : {1, 2, 3, 4, 5, 6, 7, 8, 9, 17, 64}) check_gemm_q4k(g, xq, stride, n_x, "gemm");
  }
}

// Levels 15 with scales and mins 63 against activations all -128 or all +127: the largest int16
// partial sums the kernel forms. A saturating maddubs/add would show as a wrong result here.
QWEN_TEST(packed_q4_K_extremes_do_not_saturate) {
  if (!q4k_avx2_or_say_why("packed_q4_K_extremes_do_not_saturate")) return;
  const int n = 512;
  const TypeTraits& t = traits(GgmlType::Q4_K);
  Q4kGroup g;
  g.n = n;
  g.row_bytes = row_size(GgmlType::Q4_K, n);
  g.src_stride = g.row_bytes;
  g.rows.assign(g.row_bytes * kGroupRows, 0);
  for (int r = 0; r < kGroupRows; ++r) {
    auto* blocks = reinterpret_cast<block_q4_K*>(g.rows.data() + g.row_bytes * r);
    for (int i = 0; i < n / QK_K; ++i) {
      blocks[i].d = 0x3c00;                 // 1.0
      blocks[i].dmin = r % 2 ? 0x3800 : 0;  // 0.5 or 0
      std::memset(blocks[i].scales, 0xff, sizeof(blocks[i].scales));  // every scale and min 63
      std::memset(blocks[i].qs, r == 7 ? 0x0f : 0xff, sizeof(blocks[i].qs));  // row 7: high nibbles 0
    }
  }
  g.packed.assign(g.row_bytes * kGroupRows, 0);
  kernels::pack_q4_K_x8(g.rows.data(), g.src_stride, n, g.packed.data());
  const size_t stride = row_size(GgmlType::Q8_K, n);
  std::vector<uint8_t> xq(stride * 2);
  for (int tok = 0; tok < 2; ++tok) {
    auto* blocks = reinterpret_cast<block_q8_K*>(xq.data() + stride * tok);
    const int8_t level = tok == 0 ? -128 : 127;
    for (int i = 0; i < n / QK_K; ++i) {
      blocks[i].d = 0.01f;
      std::memset(blocks[i].qs, (uint8_t)level, QK_K);
      for (int b = 0; b < QK_K / 16; ++b) blocks[i].bsums[b] = (int16_t)(16 * level);
    }
  }
  for (int tok = 0; tok < 2; ++tok) {
    const float want0 = t.vec_dot(n, g.row(0), xq.data() + stride * tok);
    // The expected value by hand for row 0: d*yd*63*15*level*n (dmin is 0 there).
    CHECK_NEAR(want0, 0.01 * 63 * 15 * (tok == 0 ? -128 : 127) * n, 1e-3 * std::fabs(want0));
  }
  check_gemm_q4k(g, xq, stride, 2, "extremes");
  float got[kGroupRows];
  kernels::gemv_q4_K_x8(n, g.packed.data(), xq.data(), got);
  for (int r = 0; r < kGroupRows; ++r)
    q4k_expect_close(got[r], t.vec_dot(n, g.row(r), xq.data()), "extremes gemv row " + std::to_string(r));
}
