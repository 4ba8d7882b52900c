// Causal grouped-query attention over the paged KV cache for the tokens of one micro-batch.
//   q   (n_tok, n_head * head_dim) f32, already rotated
//   out (n_tok, n_head * head_dim) f32
// Token i sits at position pos0 + i and attends to positions [0, pos0 + i]. Query head h reads
// KV head h / (n_head / n_head_kv): K and V are never replicated.
#pragma once

namespace qwen {

class KvCache;
class ThreadPool;

struct AttentionShape {
  int n_head, n_head_kv, head_dim;
};

void attention(ThreadPool& pool, const KvCache& kv, int layer, int seq, const AttentionShape& shape, const float* q,
               int n_tok, int pos0, float* out,
               float* scratch /* (threads, scratch_stride): (n_head / n_head_kv) * max_ctx floats each */,
               int scratch_stride);

}  // namespace qwen
