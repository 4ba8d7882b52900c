#include "cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu/kv_cache.h"
#include "cpu/thread_pool.h"
#include "cpu/vec.h"

namespace qwen {

void attention(ThreadPool& pool, const KvCache& kv, int layer, int seq, const AttentionShape& s, const float* q,
               int n_tok, int pos0, float* out, float* scratch, int scratch_stride) {
  const int hd = s.head_dim;
  const int group = s.n_head / s.n_head_kv;
  const int kv_dim = s.n_head_kv * hd;
  const float scale = 1.0f / std::sqrt((float)hd);
  const std::vector<int>& blocks = kv.blocks(seq);
  const int B = KvCache::kBlockTokens;
  const VecOps& ops = vec_ops();

  if (n_tok == 1) {
    // Decode: one task per head, so every thread has work even with two KV heads.
    pool.parallel_for(s.n_head, [&](int h, int thread) {
      const int g = h / group, n_pos = pos0 + 1;
      const float* qh = q + (size_t)h * hd;
      float* scores = scratch + (size_t)thread * scratch_stride;
      for (int p = 0; p < n_pos; ++p) {
        const uint16_t* krow = kv.k_block(layer, blocks[p / B]) + (size_t)(p % B) * kv_dim + (size_t)g * hd;
        scores[p] = ops.dot_f16_f32(hd, krow, qh);
      }
      ops.softmax_scaled(n_pos, scores, scale);
      float* o = out + (size_t)h * hd;
      std::memset(o, 0, sizeof(float) * hd);
      for (int p = 0; p < n_pos; ++p) {
        const uint16_t* vrow = kv.v_block(layer, blocks[p / B]) + (size_t)(p % B) * kv_dim + (size_t)g * hd;
        ops.axpy_f16(hd, scores[p], vrow, o);
      }
    });
    return;
  }
  // Prefill: one task per (token, KV head) covering the `group` query heads that share it, so each
  // K and V row is converted from f16 once per group rather than once per head. The scratch holds
  // the group's score rows side by side (group * context floats per thread).
  const int ctx = scratch_stride / group;
  pool.parallel_for(n_tok * s.n_head_kv, [&](int task, int thread) {
    const int i = task / s.n_head_kv, g = task % s.n_head_kv;
    const int n_pos = pos0 + i + 1;
    const float* qg = q + (size_t)i * s.n_head * hd + (size_t)g * group * hd;
    float* scores = scratch + (size_t)thread * scratch_stride;  // scores[j * ctx + p], head j of the group
    for (int p0 = 0; p0 < n_pos; p0 += B) {                     // one KV block's run of rows at a time
      const uint16_t* krows = kv.k_block(layer, blocks[p0 / B]) + (size_t)g * hd;
      ops.dot_f16_f32_run(hd, std::min(B, n_pos - p0), krows, kv_dim, qg, hd, group, scores + p0, ctx);
    }
    for (int j = 0; j < group; ++j) ops.softmax_scaled(n_pos, scores + (size_t)j * ctx, scale);
    float* og = out + (size_t)i * s.n_head * hd + (size_t)g * group * hd;
    std::memset(og, 0, sizeof(float) * hd * group);
    for (int p0 = 0; p0 < n_pos; p0 += B) {  // one KV block's run of rows at a time
      const uint16_t* vrows = kv.v_block(layer, blocks[p0 / B]) + (size_t)g * hd;
      ops.axpy_f16_run(hd, std::min(B, n_pos - p0), scores + p0, ctx, vrows, kv_dim, og, hd, group);
    }
  });
}

}  // namespace qwen
