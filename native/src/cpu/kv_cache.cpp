#include "cpu/kv_cache.h"

#include <stdexcept>
#include <string>

namespace qwen {

KvCache::KvCache(int n_layer, int kv_dim, int capacity_tokens)
    : n_layer_(n_layer), kv_dim_(kv_dim), n_blocks_((capacity_tokens + kBlockTokens - 1) / kBlockTokens) {
  const size_t bytes = (size_t)n_layer * n_blocks_ * kBlockTokens * kv_dim * sizeof(uint16_t);
  k_ = AnonymousMemory(bytes, /*huge_pages=*/false, "the KV cache (keys)");
  v_ = AnonymousMemory(bytes, /*huge_pages=*/false, "the KV cache (values)");
  free_.reserve(n_blocks_);
  for (int b = n_blocks_ - 1; b >= 0; --b) free_.push_back(b);
}

int KvCache::used_tokens() const {
  int n = 0;
  for (const auto& kv : seqs_) n += kv.second.length;
  return n;
}

int KvCache::create_sequence() {
  const int id = next_id_++;
  seqs_[id] = Seq{};
  return id;
}

KvCache::Seq& KvCache::get(int seq) {
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) throw std::runtime_error("unknown sequence " + std::to_string(seq));
  return it->second;
}
const KvCache::Seq& KvCache::get(int seq) const { return const_cast<KvCache*>(this)->get(seq); }

void KvCache::free_sequence(int seq) {
  Seq& s = get(seq);
  for (int b : s.blocks) free_.push_back(b);
  seqs_.erase(seq);
}

int KvCache::length(int seq) const { return get(seq).length; }

void KvCache::truncate(int seq, int n) {
  Seq& s = get(seq);
  if (n < 0) n = 0;
  // Also called with n == length to give back blocks reserved for tokens that never came.
  if (n < s.length) s.length = n;
  const size_t keep = (size_t)(s.length + kBlockTokens - 1) / kBlockTokens;
  while (s.blocks.size() > keep) {
    free_.push_back(s.blocks.back());
    s.blocks.pop_back();
  }
}

void KvCache::reserve(int seq, int n_more) {
  Seq& s = get(seq);
  const size_t need = (size_t)(s.length + n_more + kBlockTokens - 1) / kBlockTokens;
  if (need > s.blocks.size() && need - s.blocks.size() > free_.size()) {
    throw std::runtime_error("KV cache full: the context holds " + std::to_string(capacity()) + " tokens, " +
                             std::to_string(used_tokens()) + " are in use and " + std::to_string(n_more) +
                             " more were asked for (raise the context size or free sequences)");
  }
  while (s.blocks.size() < need) {
    s.blocks.push_back(free_.back());
    free_.pop_back();
  }
}

void KvCache::set_length(int seq, int n) { get(seq).length = n; }

uint16_t* KvCache::row(uint16_t* pool, int layer, int seq, int pos) {
  const Seq& s = get(seq);
  const int block = s.blocks[pos / kBlockTokens];
  const size_t index = (((size_t)layer * n_blocks_ + block) * kBlockTokens + pos % kBlockTokens) * kv_dim_;
  return pool + index;
}

}  // namespace qwen
