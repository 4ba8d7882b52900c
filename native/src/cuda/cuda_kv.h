// The GPU KV cache: per layer one K and one V pool of fixed 64-token blocks (f16), shared by all
// sequences. A sequence is a list of block ids plus a length; its block table is mirrored on the
// GPU so the attention and rope/store kernels can find position p at block table[p / 64]. Growing,
// truncating and freeing a sequence only moves block ids, never cache data.
#pragma once
#include <map>
#include <stdexcept>
#include <vector>

#include "cuda/cuda_api.h"

namespace qwen {
namespace cuda {

class KvCache {
 public:
  // capacity_tokens is rounded up to whole blocks. Allocates 2 * n_layer pools of
  // (blocks, 64, n_head_kv, head_dim) f16.
  KvCache(int n_layer, int n_head_kv, int head_dim, int capacity_tokens);

  int capacity() const { return n_blocks_ * kKvBlock; }
  size_t bytes_per_token() const { return static_cast<size_t>(n_layer_) * 2 * n_head_kv_ * head_dim_ * 2; }
  int used_tokens() const;

  int create();
  void free(int seq);
  int length(int seq) const { return get(seq).length; }
  void truncate(int seq, int n);
  // Makes room for n more tokens (allocating blocks and refreshing the GPU block table); throws
  // std::runtime_error("KV cache full ...") when the pool cannot hold them.
  void reserve(int seq, int n);
  void advance(int seq, int n) { get(seq).length += n; }
  const int32_t* device_table(int seq) const { return get(seq).table.as<int32_t>(); }

  uint16_t* k(int layer) const { return k_[layer].as<uint16_t>(); }
  uint16_t* v(int layer) const { return v_[layer].as<uint16_t>(); }

 private:
  struct Seq {
    std::vector<int32_t> blocks;
    int length = 0;
    DeviceBuffer table;  // (max_blocks,) int32 on the GPU
  };
  Seq& get(int seq);
  const Seq& get(int seq) const;
  void release_tail(Seq& s, size_t keep_blocks);

  int n_layer_, n_head_kv_, head_dim_, n_blocks_;
  std::vector<DeviceBuffer> k_, v_;
  std::vector<int32_t> free_blocks_;
  std::map<int, Seq> seqs_;
  int next_id_ = 0;
};

}  // namespace cuda
}  // namespace qwen
