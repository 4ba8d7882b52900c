// Block bookkeeping for the GPU KV cache (see cuda_kv.h).
#include "cuda/cuda_kv.h"

#include <string>

namespace qwen {
namespace cuda {

KvCache::KvCache(int n_layer, int n_head_kv, int head_dim, int capacity_tokens)
    : n_layer_(n_layer),
      n_head_kv_(n_head_kv),
      head_dim_(head_dim),
      n_blocks_((capacity_tokens + kKvBlock - 1) / kKvBlock) {
  const size_t pool = static_cast<size_t>(n_blocks_) * kKvBlock * n_head_kv * head_dim * sizeof(uint16_t);
  for (int l = 0; l < n_layer; ++l) {
    k_.emplace_back(pool);
    v_.emplace_back(pool);
    // Zeroed so a kernel bug reading an unwritten slot shows up as zeros, not stale NaNs.
    k_.back().zero();
    v_.back().zero();
  }
  // Hand out low block ids first (pop from the back).
  for (int b = n_blocks_ - 1; b >= 0; --b) free_blocks_.push_back(b);
}

KvCache::Seq& KvCache::get(int seq) {
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) throw std::runtime_error("unknown sequence id " + std::to_string(seq));
  return it->second;
}

const KvCache::Seq& KvCache::get(int seq) const {
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) throw std::runtime_error("unknown sequence id " + std::to_string(seq));
  return it->second;
}

int KvCache::used_tokens() const {
  int n = 0;
  for (const auto& kv : seqs_) n += kv.second.length;
  return n;
}

int KvCache::create() {
  const int id = next_id_++;
  Seq& s = seqs_[id];
  s.table = DeviceBuffer(static_cast<size_t>(n_blocks_) * sizeof(int32_t));
  s.table.zero();
  return id;
}

void KvCache::release_tail(Seq& s, size_t keep_blocks) {
  while (s.blocks.size() > keep_blocks) {
    free_blocks_.push_back(s.blocks.back());
    s.blocks.pop_back();
  }
}

void KvCache::free(int seq) {
  Seq& s = get(seq);
  release_tail(s, 0);
  seqs_.erase(seq);
}

void KvCache::truncate(int seq, int n) {
  Seq& s = get(seq);
  if (n < 0) throw std::runtime_error("truncate: negative length " + std::to_string(n));
  if (n >= s.length) return;
  s.length = n;
  release_tail(s, static_cast<size_t>((n + kKvBlock - 1) / kKvBlock));
  // The device table keeps stale ids past the end; kernels never read past the length.
}

void KvCache::reserve(int seq, int n) {
  Seq& s = get(seq);
  const size_t need = static_cast<size_t>((s.length + n + kKvBlock - 1) / kKvBlock);
  if (need <= s.blocks.size()) return;
  const size_t more = need - s.blocks.size();
  if (more > free_blocks_.size())
    throw std::runtime_error("KV cache full: sequence " + std::to_string(seq) + " needs " +
                             std::to_string(s.length + n) + " tokens but only " +
                             std::to_string((s.blocks.size() + free_blocks_.size()) * kKvBlock) + " fit in the " +
                             std::to_string(capacity()) + "-token cache");
  const size_t first = s.blocks.size();
  for (size_t i = 0; i < more; ++i) {
    s.blocks.push_back(free_blocks_.back());
    free_blocks_.pop_back();
  }
  s.table.upload(s.blocks.data() + first, more * sizeof(int32_t), first * sizeof(int32_t));
}

}  // namespace cuda
}  // namespace qwen
