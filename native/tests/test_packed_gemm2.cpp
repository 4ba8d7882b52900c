// The AVX-512 VNNI group-pair kernels (PackedTraits::gemm2, packed_*_avx512.cpp) must give, for
// every (row, token), what the per-row kernel traits(T).vec_dot gives on the unpacked rows, to float
// rounding: for 1..9 tokens (every tile remainder), 17 and 64, rows of one block up to many, with
// short last quads (Q4_0), outliers and one-signed rows, at the formats' extremes, and writing
// only their own 16 output slots per token. They run only where the CPU has AVX-512 VNNI; elsewhere
// each test prints why it did not run.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/cpu_features.h"
#include "quants/packed.h"
#include "quants/quants.h"
#include "test_framework.h"

using namespace qwen;

namespace {

constexpr int kRows = 2 * kPackRows;  // two groups

// The types whose packed form has a gemm2 on AVX-512 VNNI machines.
const GgmlType kTypes[] = {GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q5_0, GgmlType::Q5_1,
                           GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};

// The type of the activation rows the packed kernels read: vec_dot_type, except Q5_1, whose packed
// kernels read Q8_0 rows with block sums (packed_act_q8.h) in place of Q8_1.
GgmlType act_type(GgmlType type) { return type == GgmlType::Q5_1 ? GgmlType::Q8_0 : traits(type).vec_dot_type; }

const PackedTraits* gemm2_or_say_why(GgmlType type, const char* test) {
  const CpuFeatures& f = cpu_features();
  if (!f.use_avx512_vnni()) {
    std::printf("  %s skipped for %s: %s\n", test, traits(type).name,
                !f.use_avx2() ? "the packed kernels are off (no AVX2, or QWEN_FORCE_SCALAR)"
                : f.no_avx512 ? "QWEN_NO_AVX512 turns the AVX-512 kernels off"
                              : "this CPU lacks AVX-512 F/BW/VL with VNNI");
    return nullptr;
  }
  const PackedTraits* p = packed_traits(type);
  if (!p || !p->gemm2)
    qwen_test::fail(__FILE__, __LINE__, std::string(traits(type).name) + " has no gemm2 on this CPU");
  return p;
}

// Sixteen rows (GGML layout, src_stride apart), packed as two groups.
struct Rows {
  GgmlType type;
  int n = 0;
  size_t row_bytes = 0, src_stride = 0;
  std::vector<uint8_t> src, packed;
  const uint8_t* row(int r) const { return src.data() + src_stride * r; }
  const uint8_t* group(int g) const { return packed.data() + row_bytes * kPackRows * g; }
};

Rows make_rows(const PackedTraits& p, GgmlType type, int n, uint32_t seed) {
  Rows w;
  w.type = type;
  w.n = n;
  w.row_bytes = row_size(type, n);
  w.src_stride = w.row_bytes + 48;
  w.src.assign(w.src_stride * kRows, 0xee);
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (int r = 0; r < kRows; ++r) {
    for (auto& x : v) x = dist(rng);
    if (r % 8 == 5)  // large outliers: big scales next to small ones
      for (int i = 0; i < n; i += 37) v[i] *= 40.0f;
    if (r % 8 == 2)  // one sign: levels at one end of the range
      for (auto& x : v) x = std::fabs(x) + 3.0f;
    traits(type).quantize_row(v.data(), w.src.data() + w.src_stride * r, n);
  }
  w.packed.assign(w.row_bytes * kRows, 0);
  for (int g = 0; g < 2; ++g)
    p.pack(w.src.data() + w.src_stride * kPackRows * g, w.src_stride, n, w.packed.data() + w.row_bytes * kPackRows * g);
  return w;
}

// The activation rows the kernels read: the packed form's own format, or rows of vec_dot_type;
// padded (stride > row bytes) to catch a kernel that assumes dense rows.
struct Acts {
  size_t stride = 0;
  std::vector<uint8_t> q;
  const uint8_t* row(int t) const { return q.data() + stride * t; }
};

Acts make_acts(const PackedTraits& p, GgmlType type, int n, int n_x, uint32_t seed) {
  const GgmlType vt = act_type(type);
  Acts a;
  a.stride = (p.act_row_bytes ? p.act_row_bytes(n) : row_size(vt, n)) + 64;
  a.q.assign(a.stride * n_x, 0);
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(n);
  for (int t = 0; t < n_x; ++t) {
    for (auto& v : x) v = dist(rng);
    if (t % 3 == 1) x[t % n] = 25.0f;  // an outlier every third token
    if (p.quantize_act) p.quantize_act(x.data(), a.q.data() + a.stride * t, n);
    else traits(vt).quantize_row(x.data(), a.q.data() + a.stride * t, n);
  }
  return a;
}

// Float rounding in either kernel grows with the terms summed, not with the result: a row with
// outliers can sum to ~9 from terms adding up to ~6400 in magnitude (there both kernels are within
// 4e-4 of the exact sum, from different sides). So the bound also scales with sum |w_i x_i|,
// taken from the dequantized row and activations.
double magnitude(GgmlType type, const uint8_t* row, const uint8_t* act, int n) {
  std::vector<float> w(n), x(n);
  traits(type).dequantize_row(row, w.data(), n);
  traits(act_type(type)).dequantize_row(act, x.data(), n);
  double m = 0;
  for (int i = 0; i < n; ++i) m += std::fabs((double)w[i] * x[i]);
  return m;
}

void expect_close(float got, float want, double magnitude, const std::string& where) {
  if (!(std::fabs(got - want) <= 1e-5 * (std::fabs(want) + 30.0) + 2e-7 * magnitude))
    qwen_test::fail(__FILE__, __LINE__,
                    where + ": gemm2 " + std::to_string(got) + " vs vec_dot " + std::to_string(want));
}

// The reference dot: vec_dot, or for Q5_1 (whose vec_dot reads Q8_1 rows, with each block's
// d * sum(y) rounded to fp16) the dequantized row times the dequantized activations in double.
float reference_dot(GgmlType type, const uint8_t* row, const uint8_t* act, int n) {
  if (act_type(type) == traits(type).vec_dot_type) return traits(type).vec_dot(n, row, act);
  std::vector<float> w(n), x(n);
  traits(type).dequantize_row(row, w.data(), n);
  traits(act_type(type)).dequantize_row(act, x.data(), n);
  double dot = 0;
  for (int i = 0; i < n; ++i) dot += (double)w[i] * x[i];
  return (float)dot;
}

void check(const PackedTraits& p, const Rows& w, const Acts& a, int n_x, const std::string& what) {
  const TypeTraits& t = traits(w.type);
  const size_t out_stride = kRows + 3;  // not 16: catches a kernel that ignores out_stride
  std::vector<float> out(out_stride * n_x + 16, NAN);
  p.gemm2(w.n, w.group(0), w.group(1), a.q.data(), a.stride, n_x, out.data(), out_stride);
  for (int tok = 0; tok < n_x; ++tok) {
    for (int r = 0; r < kRows; ++r)
      expect_close(out[out_stride * tok + r], reference_dot(w.type, w.row(r), a.row(tok), w.n),
                   magnitude(w.type, w.row(r), a.row(tok), w.n),
                   what + " " + t.name + " n=" + std::to_string(w.n) + " n_x=" + std::to_string(n_x) + " row " +
                       std::to_string(r) + " token " + std::to_string(tok));
    for (size_t r = kRows; r < out_stride && (size_t)tok * out_stride + r < out.size(); ++r)
      if (!std::isnan(out[out_stride * tok + r]))
        qwen_test::fail(__FILE__, __LINE__,
                        what + " wrote slot " + std::to_string(r) + " of token " + std::to_string(tok));
  }
}

std::vector<int> row_lengths(GgmlType type) {
  if (traits(type).block_size == QK_K) return {256, 1536, 4864};
  // 32-value blocks: one block, three (a single short quad), 25 (a full quad run ending in a short one),
  // 28 (the 0.5B model's rows), 152.
  return {32, 96, 800, 896, 4864};
}

}  // namespace

QWEN_TEST(packed_gemm2_matches_vec_dot) {
  for (GgmlType type : kTypes) {
    const PackedTraits* p = gemm2_or_say_why(type, "packed_gemm2_matches_vec_dot");
    if (!p) continue;
    for (int n : row_lengths(type)) {
      const Rows w = make_rows(*p, type, n, 300 + n);
      const Acts a = make_acts(*p, type, n, 64, 500 + n);
      for (int n_x : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 64}) check(*p, w, a, n_x, "random");
    }
  }
}

// Every level at the end of its range (even rows: the largest, odd rows: the smallest) with
// the largest scales, against activations all at -128: the largest integer sums each format forms,
// so a saturating or overflowing step would show here.
void set_extreme_levels(GgmlType type, uint8_t* blk, bool high) {
  switch (type) {
    case GgmlType::Q4_K: {
      auto* b = reinterpret_cast<block_q4_K*>(blk);
      std::memset(b->scales, 0xff, sizeof(b->scales));  // every 6-bit scale and min 63
      std::memset(b->qs, high ? 0xff : 0x00, sizeof(b->qs));
      break;
    }
    case GgmlType::Q5_K: {
      auto* b = reinterpret_cast<block_q5_K*>(blk);
      std::memset(b->scales, 0xff, sizeof(b->scales));
      std::memset(b->qs, high ? 0xff : 0x00, sizeof(b->qs));
      std::memset(b->qh, high ? 0xff : 0x00, sizeof(b->qh));  // levels 31 or 0
      break;
    }
    case GgmlType::Q6_K: {
      auto* b = reinterpret_cast<block_q6_K*>(blk);
      std::memset(b->ql, high ? 0xff : 0x00, sizeof(b->ql));
      std::memset(b->qh, high ? 0xff : 0x00, sizeof(b->qh));
      std::memset(b->scales, high ? 0x7f : 0x81, sizeof(b->scales));  // +127 or -127
      break;
    }
    case GgmlType::Q8_0: {
      auto* b = reinterpret_cast<block_q8_0*>(blk);
      std::memset(b->qs, high ? 0x7f : 0x80, sizeof(b->qs));  // +127 or -128
      break;
    }
    case GgmlType::Q5_0: {
      auto* b = reinterpret_cast<block_q5_0*>(blk);
      std::memset(b->qs, high ? 0xff : 0x00, sizeof(b->qs));
      std::memset(b->qh, high ? 0xff : 0x00, sizeof(b->qh));  // +15 or -16
      break;
    }
    case GgmlType::Q5_1: {
      auto* b = reinterpret_cast<block_q5_1*>(blk);
      std::memset(b->qs, high ? 0xff : 0x00, sizeof(b->qs));
      std::memset(b->qh, high ? 0xff : 0x00, sizeof(b->qh));  // levels 31 or 0
      break;
    }
    case GgmlType::Q4_0: {
      auto* b = reinterpret_cast<block_q4_0*>(blk);
      std::memset(b->qs, high ? 0xff : 0x00, sizeof(b->qs));  // +7 or -8
      break;
    }
    default: qwen_test::fail(__FILE__, __LINE__, std::string("no extreme levels for ") + traits(type).name);
  }
}

QWEN_TEST(packed_gemm2_extremes_do_not_saturate) {
  for (GgmlType type : kTypes) {
    const PackedTraits* p = gemm2_or_say_why(type, "packed_gemm2_extremes_do_not_saturate");
    if (!p) continue;
    const TypeTraits& t = traits(type);
    const int n = t.block_size == QK_K ? 512 : 128;
    Rows w = make_rows(*p, type, n, 77);  // keeps each block's quantized fp16 scales
    for (int r = 0; r < kRows; ++r)
      for (int b = 0; b < n / t.block_size; ++b)
        set_extreme_levels(type, w.src.data() + w.src_stride * r + t.type_size * b, r % 2 == 0);
    for (int g = 0; g < 2; ++g)
      p->pack(w.src.data() + w.src_stride * kPackRows * g, w.src_stride, n,
              w.packed.data() + w.row_bytes * kPackRows * g);
    // All -1 quantizes to levels of -128 in Q8_K and -127 in Q8_0; all +1 to +127 in Q8_0.
    Acts a;
    const GgmlType vt = act_type(type);
    a.stride = p->act_row_bytes ? p->act_row_bytes(n) : row_size(vt, n);
    a.q.assign(a.stride * 2, 0);
    for (int tok = 0; tok < 2; ++tok) {
      std::vector<float> x(n, tok == 0 ? -1.0f : 1.0f);
      if (p->quantize_act) p->quantize_act(x.data(), a.q.data() + a.stride * tok, n);
      else traits(vt).quantize_row(x.data(), a.q.data() + a.stride * tok, n);
    }
    check(*p, w, a, 2, "extremes");
  }
}
