#include "cpu/matmul.h"

#include <algorithm>

#include "cpu/thread_pool.h"

namespace qwen {

void matmul(ThreadPool& pool, const WeightMatrix& w, const float* x, int n_tok, float* y, MatmulScratch& scratch) {
  matmul_rows(pool, w, x, n_tok, y, 0, w.rows, scratch);
}

void matmul_rows(ThreadPool& pool, const WeightMatrix& w, const float* x, int n_tok, float* y,
                 int64_t row_begin, int64_t row_end, MatmulScratch& scratch) {
  const TypeTraits& t = traits(w.type);
  const TypeTraits& at = traits(t.vec_dot_type);
  const int k = (int)w.cols;
  const size_t xq_row = row_size(t.vec_dot_type, k);
  if (scratch.xq.size() < xq_row * n_tok) scratch.xq.resize(xq_row * n_tok);
  uint8_t* xq = scratch.xq.data();

  // Quantize the activations once, one token per task.
  pool.parallel_for(n_tok, [&](int tok, int) { at.quantize_row(x + (size_t)tok * k, xq + xq_row * tok, k); });

  const int64_t n_rows = row_end - row_begin;
  const int64_t out_stride = n_rows;
  // Tiles of rows: small enough to balance across threads, large enough to amortize dispatch.
  // For decode, 16 rows of a 896-wide Q8_0 matrix is ~15 KB of weights per task.
  const int64_t tile = n_tok == 1 ? 16 : 4;
  const int n_tasks = (int)((n_rows + tile - 1) / tile);
  const VecDotFn dot = t.vec_dot;
  pool.parallel_for(n_tasks, [&](int task, int) {
    const int64_t r0 = row_begin + task * tile;
    const int64_t r1 = std::min(row_end, r0 + tile);
    for (int64_t r = r0; r < r1; ++r) {
      const uint8_t* wr = w.row(r);
      float* yr = y + (r - row_begin);
      // Loop tokens inside the row so the weight row stays in L1 for the whole batch.
      for (int tok = 0; tok < n_tok; ++tok) yr[(size_t)tok * out_stride] = dot(k, wr, xq + xq_row * tok);
    }
  });
}

}  // namespace qwen
