#include "cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu/thread_pool.h"
#include "cpu/vec.h"
#include "model/kv_cache.h"

namespace qwen {

void attention(ThreadPool& pool, const KvCache& kv, int layer, int seq, const AttentionShape& s,
               const float* q, int n_tok, int pos0, float* out, float* scratch, int scratch_stride) {
  const int hd = s.head_dim;
  const int group = s.n_head / s.n_head_kv;
  const int kv_dim = s.n_head_kv * hd;
  const float scale = 1.0f / std::sqrt((float)hd);
  const std::vector<int>& blocks = kv.blocks(seq);
  const int B = KvCache::kBlockTokens;
  const VecOps& ops = vec_ops();

  // One task per (token, head): enough parallelism for decode (n_head tasks) and prefill.
  pool.parallel_for(n_tok * s.n_head, [&](int task, int thread) {
    const int i = task / s.n_head, h = task % s.n_head, g = h / group;
    const int n_pos = pos0 + i + 1;
    const float* qh = q + (size_t)i * s.n_head * hd + (size_t)h * hd;
    float* scores = scratch + (size_t)thread * scratch_stride;
    float mx = -INFINITY;
    for (int p = 0; p < n_pos; ++p) {
      const uint16_t* krow = kv.k_block(layer, blocks[p / B]) + (size_t)(p % B) * kv_dim + (size_t)g * hd;
      scores[p] = ops.dot_f16_f32(hd, krow, qh) * scale;
      mx = std::max(mx, scores[p]);
    }
    double sum = 0;
    for (int p = 0; p < n_pos; ++p) {
      scores[p] = std::exp(scores[p] - mx);
      sum += scores[p];
    }
    const float inv = (float)(1.0 / sum);
    float* o = out + (size_t)i * s.n_head * hd + (size_t)h * hd;
    std::memset(o, 0, sizeof(float) * hd);
    for (int p = 0; p < n_pos; ++p) {
      const uint16_t* vrow = kv.v_block(layer, blocks[p / B]) + (size_t)(p % B) * kv_dim + (size_t)g * hd;
      ops.axpy_f16(hd, scores[p] * inv, vrow, o);
    }
  });
}

}  // namespace qwen
