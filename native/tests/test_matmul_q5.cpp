// Q5_0 and Q5_1 matrices through matmul as the model uses them: packed where the CPU has the packed
// kernels and the row count is a multiple of the group (as cpu_weights places them), GGML rows
// otherwise. Every output must equal the dequantized weights times the dequantized activations to
// float rounding, for the 0.5B model's 896- and 4864-wide rows, row counts that are and are not a
// multiple of 8 (an odd number of groups leaves gemm2 one lone group), and 1..17 tokens. The same
// test runs on every path the environment selects: AVX-512 VNNI, QWEN_NO_AVX512=1 (AVX2 only) and
// QWEN_FORCE_SCALAR=1 (the scalar row kernels); it prints which one it ran.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "base/cpu_features.h"
#include "base/fp16.h"
#include "cpu/matmul.h"
#include "cpu/thread_pool.h"
#include "quants/packed.h"
#include "quants/quants.h"
#include "test_framework.h"

using namespace qwen;

namespace {

struct Matrix {
  std::vector<uint8_t> ggml, placed;  // GGML rows, and the bytes matmul reads (packed or a copy)
  std::vector<float> w;               // dequantized rows
  WeightMatrix m;
};

// rows x n random weights (rows of different offsets and sizes, some with outliers), placed as
// cpu_weights places them.
Matrix make_matrix(GgmlType type, int64_t rows, int n, uint32_t seed) {
  const TypeTraits& t = traits(type);
  const size_t row_bytes = row_size(type, n);
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  Matrix mx;
  mx.ggml.resize(row_bytes * rows);
  mx.w.resize((size_t)n * rows);
  std::vector<float> f(n);
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : f) v = dist(rng) * (1.0f + (float)(r % 5)) + 0.5f * (float)(r % 7 - 3);
    if (r % 8 == 5)
      for (int i = 0; i < n; i += 37) f[i] *= 30.0f;
    t.quantize_row(f.data(), mx.ggml.data() + row_bytes * r, n);
    t.dequantize_row(mx.ggml.data() + row_bytes * r, mx.w.data() + (size_t)n * r, n);
  }
  const PackedTraits* p = rows % kPackRows == 0 ? packed_traits(type) : nullptr;
  mx.placed = mx.ggml;
  if (p) pack_groups(*p, mx.ggml.data(), row_bytes, n, 0, rows / kPackRows, mx.placed.data());
  mx.m = WeightMatrix{type, mx.placed.data(), rows, n, row_bytes, p};
  return mx;
}

// What matmul's activations are after quantization: each block's 32 values rounded to 8-bit levels
// of one scale (Q8_0 and Q8_1 share levels and scale), back as floats.
std::vector<float> quantized_inputs(const std::vector<float>& x, int n_tok, int n) {
  std::vector<uint8_t> q(row_size(GgmlType::Q8_0, n));
  std::vector<float> out(x.size());
  for (int t = 0; t < n_tok; ++t) {
    traits(GgmlType::Q8_0).quantize_row(x.data() + (size_t)n * t, q.data(), n);
    traits(GgmlType::Q8_0).dequantize_row(q.data(), out.data() + (size_t)n * t, n);
  }
  return out;
}

const char* path_name(const WeightMatrix& m) {
  if (!m.packed) return quants_scalar_forced() ? "scalar rows" : "GGML rows";
  return m.packed->gemm2 ? "packed, AVX-512 VNNI gemm2" : "packed, AVX2";
}

}  // namespace

QWEN_TEST(matmul_q5_0_q5_1_match_the_exact_product) {
  ThreadPool pool(2);
  MatmulScratch scratch;
  const struct {
    int64_t rows;
    int n;
  } shapes[] = {{20, 896}, {136, 896}, {64, 896}, {12, 4864}, {24, 4864}};
  for (GgmlType type : {GgmlType::Q5_0, GgmlType::Q5_1}) {
    for (const auto& s : shapes) {
      const Matrix mx = make_matrix(type, s.rows, s.n, 40 + (uint32_t)s.rows + (uint32_t)s.n);
      std::printf("  %s %lldx%d: %s\n", traits(type).name, (long long)s.rows, s.n, path_name(mx.m));
      // Packed wherever this CPU has the packed kernels and the rows fill whole groups.
      if (s.rows % kPackRows == 0 && cpu_features().use_avx2() && !quants_scalar_forced())
        CHECK(mx.m.packed != nullptr);
      if (s.rows % kPackRows != 0) CHECK(mx.m.packed == nullptr);
      std::mt19937 rng(7 + (uint32_t)s.n);
      std::normal_distribution<float> dist(0.0f, 1.0f);
      for (int n_tok = 1; n_tok <= 17; ++n_tok) {
        std::vector<float> x((size_t)s.n * n_tok), y((size_t)s.rows * n_tok, NAN);
        for (auto& v : x) v = dist(rng);
        const std::vector<float> xq = quantized_inputs(x, n_tok, s.n);
        matmul(pool, mx.m, x.data(), n_tok, y.data(), scratch);
        for (int t = 0; t < n_tok; ++t) {
          for (int64_t r = 0; r < s.rows; ++r) {
            // The exact product; and the bound: float rounding grows with sum |w x|, and GGML's
            // Q5_1 dot (the row path) takes each block's d * sum(x) rounded to fp16 (Q8_1), off by
            // up to 2^-11 of |m * d * sum(x)| per block.
            double want = 0, mag = 0, fp16_terms = 0;
            const float* wr = mx.w.data() + (size_t)s.n * r;
            const float* xt = xq.data() + (size_t)s.n * t;
            for (int b = 0; b < s.n / 32; ++b) {
              double block_sum = 0;
              for (int i = 32 * b; i < 32 * b + 32; ++i) {
                want += (double)wr[i] * xt[i];
                mag += std::fabs((double)wr[i] * xt[i]);
                block_sum += xt[i];
              }
              if (type == GgmlType::Q5_1) {
                const auto* blk = reinterpret_cast<const block_q5_1*>(mx.ggml.data() + mx.m.row_bytes * r) + b;
                fp16_terms += std::fabs(fp16_to_fp32(blk->m) * block_sum);
              }
            }
            const float got = y[(size_t)s.rows * t + r];
            const double bound = 1e-5 * (std::fabs(want) + 30.0) + 2e-7 * mag + std::ldexp(fp16_terms, -10);
            if (!(std::fabs(got - want) <= bound))
              qwen_test::fail(__FILE__, __LINE__,
                              std::string(traits(type).name) + " " + std::to_string(s.rows) + "x" +
                                  std::to_string(s.n) + " n_tok=" + std::to_string(n_tok) + " (" + path_name(mx.m) +
                                  ") row " + std::to_string(r) + " token " + std::to_string(t) + ": " +
                                  std::to_string(got) + " vs exact " + std::to_string(want));
          }
        }
      }
    }
  }
}
