#include "model/cpu_weights.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "cpu/thread_pool.h"
#include "cpu/weight_arena.h"
#include "gguf/gguf.h"
#include "model/qwen2_weights.h"
#include "quants/packed.h"

namespace qwen {

namespace {

struct Placement {
  WeightMatrix* m;
  const GgufTensorInfo* tensor;
};

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
    for (int64_t g = g0; g < g1; ++g) p->pack(src + g * group_bytes, m.row_bytes, (int)m.cols, dst + g * group_bytes);
  });
  m.data = dst;
  m.packed = p;
}

}  // namespace

void place_weights_in_arena(Qwen2Weights& w, const GgufFile& file, WeightArena& arena, ThreadPool& pool) {
  std::vector<Placement> all;
  auto add = [&](WeightMatrix& m, const std::string& name) { all.push_back({&m, file.find_tensor(name)}); };
  add(w.output, w.hp.tied_embeddings ? "token_embd.weight" : "output.weight");
  for (size_t i = 0; i < w.layers.size(); ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    Qwen2Layer& L = w.layers[i];
    add(L.wq, b + "attn_q.weight");
    add(L.wk, b + "attn_k.weight");
    add(L.wv, b + "attn_v.weight");
    add(L.wo, b + "attn_output.weight");
    add(L.w_gate, b + "ffn_gate.weight");
    add(L.w_up, b + "ffn_up.weight");
    add(L.w_down, b + "ffn_down.weight");
  }
  size_t total = 0;
  for (const Placement& pl : all) total += (matrix_bytes(*pl.m) + 63) / 64 * 64;
  arena.reserve(total);
  for (const Placement& pl : all) {
    place(*pl.m, arena.take(matrix_bytes(*pl.m)), pool);
    if (pl.tensor) file.release(*pl.tensor);
  }
}

}  // namespace qwen
