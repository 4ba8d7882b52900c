#include "cpu/cpu_weights.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/thread_pool.h"
#include "cpu/weight_arena.h"
#include "gguf/gguf.h"
#include "model/qwen2_weights.h"
#include "quants/packed.h"

namespace qwen {

namespace {

size_t matrix_bytes(const WeightMatrix& m) { return (size_t)m.rows * m.row_bytes; }

// Copies (or packs) one matrix into dst; groups are spread over the pool's threads.
void place(WeightMatrix& m, uint8_t* dst, ThreadPool& pool) {
  const PackedTraits* p = m.rows % kPackRows == 0 ? packed_traits(m.type) : nullptr;
  const int64_t n_groups = (m.rows + kPackRows - 1) / kPackRows;
  // ~64 tasks per matrix: enough to balance, few enough that scheduling is noise.
  const int64_t per_task = std::max<int64_t>(1, n_groups / 64);
  const int n_tasks = (int)((n_groups + per_task - 1) / per_task);
  const size_t group_bytes = kPackRows * m.row_bytes;
  const uint8_t* src = m.data;
  pool.parallel_for(n_tasks, [&](int task, int) {
    const int64_t g0 = task * per_task, g1 = std::min(n_groups, g0 + per_task);
    if (!p) {
      const size_t begin = g0 * group_bytes, end = std::min(matrix_bytes(m), (size_t)g1 * group_bytes);
      std::memcpy(dst + begin, src + begin, end - begin);
      return;
    }
    pack_groups(*p, src, m.row_bytes, (int)m.cols, g0, g1, dst);
  });
  m.data = dst;
  m.packed = p;
}

}  // namespace

void place_weights_in_arena(Qwen2Weights& w, const GgufFile& file, WeightArena& arena, ThreadPool& pool) {
  std::vector<WeightMatrix*> all = {&w.output};
  for (Qwen2Layer& L : w.layers)
    for (WeightMatrix* m : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) all.push_back(m);
  size_t total = 0;
  for (const WeightMatrix* m : all) total += (matrix_bytes(*m) + 63) / 64 * 64;
  arena.reserve(total);
  for (WeightMatrix* m : all) {
    const uint8_t* mapped = m->data;
    place(*m, arena.take(matrix_bytes(*m)), pool);
    file.release(mapped, matrix_bytes(*m));
  }
}

}  // namespace qwen
