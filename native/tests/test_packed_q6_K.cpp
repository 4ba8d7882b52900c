// The packed Q6_K kernels (packed_q6_K_avx2.cpp) must give, for every (row, token), what the
// per-row kernel traits(Q6_K).vec_dot gives on the unpacked rows, to float rounding; pack must write
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

const qwen_test::packed_k::Kernels kQ6K{GgmlType::Q6_K, kernels::pack_q6_K_x8, kernels::gemv_q6_K_x8,
                                        kernels::gemm_q6_K_x8};

size_t q6k_bit_count(uint8_t v) {
  size_t bits = 0;
  for (; v; v &= (uint8_t)(v - 1)) ++bits;
  return bits;
}
}  // namespace

QWEN_TEST(packed_q6_K_pack_writes_exactly_the_group) {
  if (!avx2_or_say_why("packed_q6_K_pack_writes_exactly_the_group")) return;
  for (int n : {256, 1536}) {
    Group g = make_group(kQ6K, n, 11);
    const size_t bytes = g.row_bytes * kGroupRows;
    std::vector<uint8_t> dst(bytes + 64, 0xa5);
    kernels::pack_q6_K_x8(g.rows.data(), g.src_stride, n, dst.data());
    for (size_t i = bytes; i < dst.size(); ++i) CHECK(dst[i] == 0xa5);
    // Every byte of the group is written: packing onto a differently filled buffer gives the same bytes.
    std::vector<uint8_t> dst2(bytes, 0x5a);
    kernels::pack_q6_K_x8(g.rows.data(), g.src_stride, n, dst2.data());
    CHECK(std::memcmp(dst.data(), dst2.data(), bytes) == 0);
    // The levels' bits are only regrouped, never lost or invented: per super-block, the packed
    // record's last 1536 bytes hold as many set bits as the 8 rows' ql and qh bytes, and its first
    // 144 bytes (d and scales) hold the rows' d and scale bytes, each byte value as often.
    for (int i = 0; i < n / QK_K; ++i) {
      size_t bits_src = 0, bits_dst = 0, count_src[256] = {}, count_dst[256] = {};
      for (int r = 0; r < kGroupRows; ++r) {
        const auto* b = reinterpret_cast<const block_q6_K*>(g.row(r)) + i;
        for (uint8_t v : b->ql) bits_src += q6k_bit_count(v);
        for (uint8_t v : b->qh) bits_src += q6k_bit_count(v);
        for (int8_t v : b->scales) ++count_src[(uint8_t)v];
        uint8_t d[2];
        std::memcpy(d, &b->d, 2);
        ++count_src[d[0]];
        ++count_src[d[1]];
      }
      const uint8_t* rec = dst.data() + sizeof(block_q6_K) * kGroupRows * i;
      for (size_t j = 0; j < 144; ++j) ++count_dst[rec[j]];
      for (size_t j = 144; j < sizeof(block_q6_K) * kGroupRows; ++j) bits_dst += q6k_bit_count(rec[j]);
      CHECK(bits_src == bits_dst);
      CHECK(std::memcmp(count_src, count_dst, sizeof(count_src)) == 0);
    }
  }
}

QWEN_TEST(packed_q6_K_gemv_matches_vec_dot) {
  if (!avx2_or_say_why("packed_q6_K_gemv_matches_vec_dot")) return;
  check_gemv_sizes(kQ6K);
}

QWEN_TEST(packed_q6_K_gemm_matches_vec_dot) {
  if (!avx2_or_say_why("packed_q6_K_gemm_matches_vec_dot")) return;
  check_gemm_sizes(kQ6K);
}

// Levels 63 (and 0) with scales 127 / -128 against activations all -128 or all +127: the largest
// int16 partial sums the kernel forms. A saturating maddubs/add would show as a wrong result here.
QWEN_TEST(packed_q6_K_extremes_do_not_saturate) {
  if (!avx2_or_say_why("packed_q6_K_extremes_do_not_saturate")) return;
  const int n = 512;
  const TypeTraits& t = traits(GgmlType::Q6_K);
  Group g;
  g.n = n;
  g.row_bytes = row_size(GgmlType::Q6_K, n);
  g.src_stride = g.row_bytes;
  g.rows.assign(g.row_bytes * kGroupRows, 0);
  for (int r = 0; r < kGroupRows; ++r) {
    auto* blocks = reinterpret_cast<block_q6_K*>(g.rows.data() + g.row_bytes * r);
    for (int i = 0; i < n / QK_K; ++i) {
      blocks[i].d = 0x3c00;                      // 1.0
      const uint8_t bits = r % 2 ? 0x00 : 0xff;  // every level 0 (-32) or 63 (+31)
      std::memset(blocks[i].ql, bits, sizeof(blocks[i].ql));
      std::memset(blocks[i].qh, bits, sizeof(blocks[i].qh));
      for (int s = 0; s < QK_K / 16; ++s) blocks[i].scales[s] = (int8_t)(r < 4 ? 127 : (s % 3 ? -128 : 127));
    }
  }
  g.packed.assign(g.row_bytes * kGroupRows, 0);
  kernels::pack_q6_K_x8(g.rows.data(), g.src_stride, n, g.packed.data());
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
    // The expected value by hand for row 0: d*yd*127*31*level*n.
    CHECK_NEAR(want0, 0.01 * 127 * 31 * (tok == 0 ? -128 : 127) * n, 1e-3 * std::fabs(want0));
  }
  check_gemm(kQ6K, g, xq, stride, 2, "extremes");
  float got[kGroupRows];
  kernels::gemv_q6_K_x8(n, g.packed.data(), xq.data(), got);
  for (int r = 0; r < kGroupRows; ++r)
    expect_close(got[r], t.vec_dot(n, g.row(r), xq.data()), "extremes gemv row " + std::to_string(r));
}
