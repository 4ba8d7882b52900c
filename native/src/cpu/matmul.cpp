#include "cpu/matmul.h"

#include <algorithm>

#include "cpu/thread_pool.h"

namespace qwen {

namespace {

// Rows per task for a batch (prefill and small batches): about this many weight bytes. Every task
// reads all the batch's activation rows once, so the activation traffic of a call is (tasks x
// tokens x activation row) and only large tiles keep it below the weights' own: a fixed 16-row
// tile (14 KB of a 1536-wide Q4_K matrix) made a 512-token call read its activations 560 times.
// 384 KB measured best of 16-384 KB across the 0.5B and 1.5B shapes; figures in
// bench/results/kernel-design-notes.md.
constexpr size_t kBatchTileBytes = 384 * 1024;
constexpr int64_t kBatchRowTileMin = 16;
// Tasks per thread a batch matrix keeps at least, so the atomic counter still balances the threads.
constexpr int64_t kBatchTasksPerThread = 4;
// Tokens whose quantized activations a task keeps hot at once: 64 rows of a 4864-wide Q8_0 input
// are ~330 KB, inside a 512 KB L2, so each is fetched from L3 once per row tile.
constexpr int kTokenBlock = 64;

// Rows per task: small enough to balance two or more threads, large enough that the atomic task
// counter is noise. Decode keeps ~32 tasks per matrix but no fewer than 32 rows (~16 KB of a
// 896-wide Q4_0 matrix): longer runs of consecutive rows keep each thread's DRAM stream
// sequential, which on the 151936-row output head measured much faster at 256 rows than at 16,
// and the 0.5B model's 896-row matrices decode faster in 32-row tasks than in 16-row ones (two
// Q4_0 groups, 8 KB); figures in bench/results/kernel-design-notes.md.
// Decode tiles are multiples of kPackRows and batch tiles of 16 (a group pair), so packed matrices
// split on group (pair) boundaries.
int64_t row_tile(int n_tok, int64_t n_rows, size_t row_bytes, int n_threads) {
  if (n_tok == 1) return std::clamp<int64_t>(n_rows / 32, 32, 256) / kPackRows * kPackRows;
  const int64_t by_bytes = (int64_t)(kBatchTileBytes / std::max<size_t>(row_bytes, 1));
  const int64_t by_balance = n_rows / (kBatchTasksPerThread * std::max(n_threads, 1));
  const int64_t rows = std::max(kBatchRowTileMin, std::min(by_bytes, by_balance));
  return rows / kBatchRowTileMin * kBatchRowTileMin;
}

// The activation format a matrix's kernels read: the packed kernel's own where it has one, else
// rows of the type's vec_dot_type.
struct ActFormat {
  QuantizeRowFn quantize;
  size_t row_bytes;
};

ActFormat act_format(const WeightMatrix& w) {
  if (w.packed && w.packed->quantize_act) return {w.packed->quantize_act, w.packed->act_row_bytes(w.cols)};
  const GgmlType vt = traits(w.type).vec_dot_type;
  return {traits(vt).quantize_row, row_size(vt, w.cols)};
}

// Quantizes X (n_tok, k) into the activation format, one token per task. Returns the bytes per row.
size_t quantize_activations(ThreadPool& pool, const ActFormat& f, const float* x, int n_tok, int64_t k,
                            MatmulScratch& scratch) {
  if (scratch.xq.size() < f.row_bytes * n_tok) scratch.xq.resize(f.row_bytes * n_tok);
  uint8_t* xq = scratch.xq.data();
  pool.parallel_for(n_tok, [&](int tok, int) { f.quantize(x + (size_t)tok * k, xq + f.row_bytes * tok, k); });
  return f.row_bytes;
}

// Packed matrices: r0 and r1 are multiples of kPackRows (row tiles are, and so is w.rows).
inline void packed_rows_kernel(const WeightMatrix& w, const uint8_t* xq, size_t xq_row, int n_tok, float* y,
                               int64_t out_stride, int64_t r0, int64_t r1) {
  const PackedTraits& p = *w.packed;
  const int k = (int)w.cols;
  const int64_t g0 = r0 / kPackRows, g1 = r1 / kPackRows;
  if (n_tok == 1) {
    int64_t g = g0;
    if (p.gemv2) {
      // The tile's first half paired with its second half: two DRAM streams per thread (see
      // packed.h); an odd group left over goes alone.
      const int64_t half = (g1 - g0) / 2;
      for (; g < g0 + half; ++g)
        p.gemv2(k, w.group(g), w.group(g + half), xq, y + g * kPackRows, y + (g + half) * kPackRows);
      g = g0 + 2 * half;
    }
    for (; g < g1; ++g) p.gemv(k, w.group(g), xq, y + g * kPackRows);
    return;
  }
  // As below: a block of tokens stays in L2 while the tile's groups pass over it.
  for (int t0 = 0; t0 < n_tok; t0 += kTokenBlock) {
    const int nt = std::min(kTokenBlock, n_tok - t0);
    const uint8_t* xt = xq + xq_row * t0;
    float* yt = y + (size_t)t0 * out_stride;
    int64_t g = g0;
    if (p.gemm2)  // neighbouring groups in pairs (their outputs are adjacent columns of y)
      for (; g + 2 <= g1; g += 2)
        p.gemm2(k, w.group(g), w.group(g + 1), xt, xq_row, nt, yt + g * kPackRows, out_stride);
    for (; g < g1; ++g) p.gemm(k, w.group(g), xt, xq_row, nt, yt + g * kPackRows, out_stride);
  }
}

// y (n_tok, out_stride) columns [r0, r1) from weight rows [r0, r1).
inline void rows_kernel(const WeightMatrix& w, const TypeTraits& t, const uint8_t* xq, size_t xq_row, int n_tok,
                        float* y, int64_t out_stride, int64_t r0, int64_t r1) {
  if (w.packed) {
    packed_rows_kernel(w, xq, xq_row, n_tok, y, out_stride, r0, r1);
    return;
  }
  const int k = (int)w.cols;
  if (n_tok == 1) {
    // Decode: one row at a time. The two-row kernel is faster only while the weights sit in cache;
    // decode streams every weight from DRAM once per token (the models are far larger than L3),
    // and there the single-row kernel measured faster for Q4_0 and Q8_0 (figures in
    // bench/results/kernel-design-notes.md): two interleaved row streams defeat the hardware
    // prefetcher, one sequential stream does not.
    for (int64_t r = r0; r < r1; ++r) y[r] = t.vec_dot(k, w.row(r), xq);
    return;
  }
  // Batch: one weight row against a block of tokens at a time (vec_dot_multi decodes each weight
  // block once for up to four tokens and keeps four independent accumulator chains); the block's
  // activations stay in L2 while the tile's weight rows pass over them.
  float dots[2 * kTokenBlock];
  for (int t0 = 0; t0 < n_tok; t0 += kTokenBlock) {
    const int nt = std::min(kTokenBlock, n_tok - t0);
    const uint8_t* xb = xq + xq_row * t0;
    int64_t r = r0;
    if (t.vec_dot_2rows_multi) {
      for (; r + 2 <= r1; r += 2) {
        t.vec_dot_2rows_multi(k, w.row(r), w.row_bytes, xb, xq_row, nt, dots, kTokenBlock);
        float* yr = y + (size_t)t0 * out_stride + r;
        for (int i = 0; i < nt; ++i) {
          yr[(size_t)i * out_stride] = dots[i];
          yr[(size_t)i * out_stride + 1] = dots[kTokenBlock + i];
        }
      }
    }
    for (; r < r1; ++r) {
      vec_dot_multi(t, k, w.row(r), xb, xq_row, nt, dots);
      float* yr = y + (size_t)t0 * out_stride + r;
      for (int i = 0; i < nt; ++i) yr[(size_t)i * out_stride] = dots[i];
    }
  }
}

}  // namespace

size_t activation_row_bytes(const WeightMatrix& w) { return act_format(w).row_bytes; }

void matmul(ThreadPool& pool, const WeightMatrix& w, const float* x, int n_tok, float* y, MatmulScratch& scratch) {
  const TypeTraits& t = traits(w.type);
  const size_t xq_row = quantize_activations(pool, act_format(w), x, n_tok, w.cols, scratch);
  const uint8_t* xq = scratch.xq.data();
  const int64_t tile = row_tile(n_tok, w.rows, w.row_bytes, pool.size());
  const int n_tasks = (int)((w.rows + tile - 1) / tile);
  pool.parallel_for(n_tasks, [&](int task, int) {
    const int64_t r0 = task * tile;
    rows_kernel(w, t, xq, xq_row, n_tok, y, w.rows, r0, std::min(w.rows, r0 + tile));
  });
}

void matmul_multi(ThreadPool& pool, const WeightMatrix* const* w, float* const* y, int n_mats, const float* x,
                  int n_tok, MatmulScratch& scratch) {
  constexpr int kMax = 4;
  const ActFormat f = act_format(*w[0]);
  bool same = n_mats <= kMax;
  for (int i = 1; i < n_mats && same; ++i) {
    const ActFormat fi = act_format(*w[i]);
    same = fi.quantize == f.quantize && fi.row_bytes == f.row_bytes && w[i]->cols == w[0]->cols;
  }
  if (!same) {
    for (int i = 0; i < n_mats; ++i) matmul(pool, *w[i], x, n_tok, y[i], scratch);
    return;
  }
  const size_t xq_row = quantize_activations(pool, f, x, n_tok, w[0]->cols, scratch);
  const uint8_t* xq = scratch.xq.data();
  // One tile size for all matrices (the smallest's), so the combined task range stays balanced.
  int64_t min_rows = w[0]->rows;
  size_t max_row_bytes = w[0]->row_bytes;
  for (int i = 1; i < n_mats; ++i) {
    min_rows = std::min(min_rows, w[i]->rows);
    max_row_bytes = std::max(max_row_bytes, w[i]->row_bytes);
  }
  const int64_t tile = row_tile(n_tok, min_rows, max_row_bytes, pool.size());
  // first_task[i]: index of matrix i's first tile in the combined task range.
  int first_task[kMax + 1] = {0};
  const TypeTraits* types[kMax];
  for (int i = 0; i < n_mats; ++i) {
    first_task[i + 1] = first_task[i] + (int)((w[i]->rows + tile - 1) / tile);
    types[i] = &traits(w[i]->type);
  }
  pool.parallel_for(first_task[n_mats], [&](int task, int) {
    int m = 0;
    while (task >= first_task[m + 1]) ++m;
    const WeightMatrix& wm = *w[m];
    const int64_t r0 = (int64_t)(task - first_task[m]) * tile;
    rows_kernel(wm, *types[m], xq, xq_row, n_tok, y[m], wm.rows, r0, std::min(wm.rows, r0 + tile));
  });
}

}  // namespace qwen
