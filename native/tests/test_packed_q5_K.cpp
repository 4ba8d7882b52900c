// The packed Q5_K kernels (packed_q5_K_avx2.cpp) must give, for every (row, token), what the
// per-row kernel traits(Q5_K).vec_dot gives on the unpacked rows, to float rounding; pack must write
// exactly 8 * row_size bytes and keep every byte; the fifth bits must land on the right values;
// and the int16 partial sums must not saturate at the format's extremes (levels 31 against -128).
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

const qwen_test::packed_k::Kernels kQ5K{GgmlType::Q5_K, kernels::pack_q5_K_x8, kernels::gemv_q5_K_x8,
                                        kernels::gemm_q5_K_x8};

}  // namespace

QWEN_TEST(packed_q5_K_pack_writes_exactly_the_group) {
  if (!avx2_or_say_why("packed_q5_K_pack_writes_exactly_the_group")) return;
  for (int n : {256, 1536}) {
    Group g = make_group(kQ5K, n, 13);
    const size_t bytes = g.row_bytes * kGroupRows;
    std::vector<uint8_t> dst(bytes + 64, 0xa5);
    kernels::pack_q5_K_x8(g.rows.data(), g.src_stride, n, dst.data());
    for (size_t i = bytes; i < dst.size(); ++i) CHECK(dst[i] == 0xa5);
    std::vector<uint8_t> dst2(bytes, 0x5a);
    kernels::pack_q5_K_x8(g.rows.data(), g.src_stride, n, dst2.data());
    CHECK(std::memcmp(dst.data(), dst2.data(), bytes) == 0);
    // qs and qh bytes are only reordered: per super-block, the record's qs area [128, 1152) holds
    // the 8 rows' qs bytes and its qh area [1152, 1408) their qh bytes, each value as often.
    for (int i = 0; i < n / QK_K; ++i) {
      size_t qs_src[256] = {}, qs_dst[256] = {}, qh_src[256] = {}, qh_dst[256] = {};
      for (int r = 0; r < kGroupRows; ++r) {
        const auto* b = reinterpret_cast<const block_q5_K*>(g.row(r)) + i;
        for (uint8_t v : b->qs) ++qs_src[v];
        for (uint8_t v : b->qh) ++qh_src[v];
      }
      const uint8_t* rec = dst.data() + sizeof(block_q5_K) * kGroupRows * i;
      for (size_t j = 128; j < 1152; ++j) ++qs_dst[rec[j]];
      for (size_t j = 1152; j < sizeof(block_q5_K) * kGroupRows; ++j) ++qh_dst[rec[j]];
      CHECK(std::memcmp(qs_src, qs_dst, sizeof(qs_src)) == 0);
      CHECK(std::memcmp(qh_src, qh_dst, sizeof(qh_src)) == 0);
    }
  }
}

QWEN_TEST(packed_q5_K_gemv_matches_vec_dot) {
  if (!avx2_or_say_why("packed_q5_K_gemv_matches_vec_dot")) return;
  check_gemv_sizes(kQ5K);
}

QWEN_TEST(packed_q5_K_gemm_matches_vec_dot) {
  if (!avx2_or_say_why("packed_q5_K_gemm_matches_vec_dot")) return;
  check_gemm_sizes(kQ5K);
}

// One row's fifth bits set for one sub-block only, every other level 0: the row's dot with
// activations that are 1 on that sub-block and 0 elsewhere is 16 * 32 * scale * d * yd, and 0 for
// any other sub-block. A kernel that takes a fifth bit from the wrong sub-block or value fails here.
QWEN_TEST(packed_q5_K_fifth_bits_belong_to_their_sub_block) {
  if (!avx2_or_say_why("packed_q5_K_fifth_bits_belong_to_their_sub_block")) return;
  const int n = 256;
  Group g;
  g.n = n;
  g.row_bytes = row_size(GgmlType::Q5_K, n);
  g.src_stride = g.row_bytes;
  g.rows.assign(g.row_bytes * kGroupRows, 0);
  for (int r = 0; r < kGroupRows; ++r) {
    auto* b = reinterpret_cast<block_q5_K*>(g.rows.data() + g.row_bytes * r);
    b->d = 0x3c00;  // 1.0
    b->dmin = 0;
    std::memset(b->scales, 0x01, 8);      // scales and mins of sub-blocks 0..3: 1 (min unused, dmin 0)
    std::memset(b->scales + 8, 0x11, 4);  // sub-blocks 4..7: low bits 1, top bits 0
    for (int l = 0; l < 32; ++l) b->qh[l] = (uint8_t)(1u << r);  // row r: sub-block r's fifth bits
  }
  g.packed.assign(g.row_bytes * kGroupRows, 0);
  kernels::pack_q5_K_x8(g.rows.data(), g.src_stride, n, g.packed.data());
  const size_t stride = row_size(GgmlType::Q8_K, n);
  std::vector<uint8_t> xq(stride * 8, 0);
  for (int s = 0; s < 8; ++s) {  // token s: activations 1 on sub-block s
    auto* y = reinterpret_cast<block_q8_K*>(xq.data() + stride * s);
    y->d = 1.0f;
    std::memset(y->qs + 32 * s, 1, 32);
    y->bsums[2 * s] = y->bsums[2 * s + 1] = 16;
  }
  std::vector<float> out(8 * kGroupRows, NAN);
  kernels::gemm_q5_K_x8(n, g.packed.data(), xq.data(), stride, 8, out.data(), kGroupRows);
  for (int s = 0; s < 8; ++s) {
    float got[kGroupRows];
    kernels::gemv_q5_K_x8(n, g.packed.data(), xq.data() + stride * s, got);
    for (int r = 0; r < kGroupRows; ++r) {
      const float want = r == s ? 16.0f * 32 : 0.0f;
      CHECK_NEAR(traits(GgmlType::Q5_K).vec_dot(n, g.row(r), xq.data() + stride * s), want, 1e-3);
      CHECK_NEAR(out[kGroupRows * s + r], want, 1e-3);
      CHECK_NEAR(got[r], want, 1e-3);
    }
  }
}

// Levels 31 with scales and mins 63 against activations all -128 or all +127: the largest int16
// partial sums the kernels form. A saturating maddubs/add would show as a wrong result here.
QWEN_TEST(packed_q5_K_extremes_do_not_saturate) {
  if (!avx2_or_say_why("packed_q5_K_extremes_do_not_saturate")) return;
  const int n = 512;
  const TypeTraits& t = traits(GgmlType::Q5_K);
  Group g;
  g.n = n;
  g.row_bytes = row_size(GgmlType::Q5_K, n);
  g.src_stride = g.row_bytes;
  g.rows.assign(g.row_bytes * kGroupRows, 0);
  for (int r = 0; r < kGroupRows; ++r) {
    auto* blocks = reinterpret_cast<block_q5_K*>(g.rows.data() + g.row_bytes * r);
    for (int i = 0; i < n / QK_K; ++i) {
      blocks[i].d = 0x3c00;                                           // 1.0
      blocks[i].dmin = r % 2 ? 0x3800 : 0;                            // 0.5 or 0
      std::memset(blocks[i].scales, 0xff, sizeof(blocks[i].scales));  // every scale and min 63
      std::memset(blocks[i].qs, 0xff, sizeof(blocks[i].qs));
      std::memset(blocks[i].qh, r == 7 ? 0x55 : 0xff, sizeof(blocks[i].qh));  // row 7: odd sub-blocks 15
    }
  }
  g.packed.assign(g.row_bytes * kGroupRows, 0);
  kernels::pack_q5_K_x8(g.rows.data(), g.src_stride, n, g.packed.data());
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
    // The expected value by hand for row 0: d*yd*63*31*level*n (dmin is 0 there).
    CHECK_NEAR(want0, 0.01 * 63 * 31 * (tok == 0 ? -128 : 127) * n, 1e-3 * std::fabs(want0));
  }
  check_gemm(kQ5K, g, xq, stride, 2, "extremes");
  float got[kGroupRows];
  kernels::gemv_q5_K_x8(n, g.packed.data(), xq.data(), got);
  for (int r = 0; r < kGroupRows; ++r)
    expect_close(got[r], t.vec_dot(n, g.row(r), xq.data()), "extremes gemv row " + std::to_string(r));
}
