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

#include "base/cpu_features.h"
#include "quants/packed_impl.h"
#include "quants/quants.h"
#include "test_framework.h"
#include "test_packed_k_util.h"

using namespace qwen;
using namespace qwen_test::packed_k;
using qwen_test::avx2_or_say_why;

namespace {

const qwen_test::packed_k::Kernels kQ4K{GgmlType::Q4_K, kernels::pack_q4_K_x8, kernels::gemv_q4_K_x8,
                                        kernels::gemm_q4_K_x8};

}  // namespace

QWEN_TEST(packed_q4_K_pack_writes_exactly_the_group) {
  if (!avx2_or_say_why("packed_q4_K_pack_writes_exactly_the_group")) return;
  for (int n : {256, 1536}) {
    Group g = make_group(kQ4K, n, 11);
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
  if (!avx2_or_say_why("packed_q4_K_gemv_matches_vec_dot")) return;
  check_gemv_sizes(kQ4K);
}

QWEN_TEST(packed_q4_K_gemm_matches_vec_dot) {
  if (!avx2_or_say_why("packed_q4_K_gemm_matches_vec_dot")) return;
  check_gemm_sizes(kQ4K);
}

// Levels 15 with scales and mins 63 against activations all -128 or all +127: the largest int16
// partial sums the kernel forms. A saturating maddubs/add would show as a wrong result here.
QWEN_TEST(packed_q4_K_extremes_do_not_saturate) {
  if (!avx2_or_say_why("packed_q4_K_extremes_do_not_saturate")) return;
  const int n = 512;
  const TypeTraits& t = traits(GgmlType::Q4_K);
  Group g;
  g.n = n;
  g.row_bytes = row_size(GgmlType::Q4_K, n);
  g.src_stride = g.row_bytes;
  g.rows.assign(g.row_bytes * kGroupRows, 0);
  for (int r = 0; r < kGroupRows; ++r) {
    auto* blocks = reinterpret_cast<block_q4_K*>(g.rows.data() + g.row_bytes * r);
    for (int i = 0; i < n / QK_K; ++i) {
      blocks[i].d = 0x3c00;                                                   // 1.0
      blocks[i].dmin = r % 2 ? 0x3800 : 0;                                    // 0.5 or 0
      std::memset(blocks[i].scales, 0xff, sizeof(blocks[i].scales));          // every scale and min 63
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
  check_gemm(kQ4K, g, xq, stride, 2, "extremes");
  float got[kGroupRows];
  kernels::gemv_q4_K_x8(n, g.packed.data(), xq.data(), got);
  for (int r = 0; r < kGroupRows; ++r)
    expect_close(got[r], t.vec_dot(n, g.row(r), xq.data()), "extremes gemv row " + std::to_string(r));
}
