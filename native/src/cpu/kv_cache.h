// Keys and values of every sequence, in one pool of fixed-size blocks (F16, as llama.cpp stores
// them by default, which keeps our logits close to its). A sequence is a list of block indices:
// sequences of any lengths share the pool, truncation frees whole blocks, and the pool's size is
// the memory budget the server plans against. The pool is mapped, not filled (AnonymousMemory):
// a block's pages become resident when its first token is written, so resident memory follows
// the tokens cached, not the context size. A freed block is reused before an untouched one.
//   K/V block layout per layer: (kBlockTokens, n_kv_heads * head_dim) f16.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "base/anonymous_memory.h"

namespace qwen {

class KvCache {
 public:
  static constexpr int kBlockTokens = 32;

  KvCache(int n_layer, int kv_dim, int capacity_tokens);

  int capacity() const { return n_blocks_ * kBlockTokens; }
  int used_tokens() const;
  size_t bytes_per_token() const { return (size_t)n_layer_ * kv_dim_ * 2 * sizeof(uint16_t); }

  int create_sequence();
  void free_sequence(int seq);
  bool has_sequence(int seq) const { return seqs_.count(seq) != 0; }
  int length(int seq) const;
  void truncate(int seq, int n);
  // Grows seq to hold n more positions; throws std::runtime_error naming the capacity when the
  // pool has too few free blocks (nothing is changed then).
  void reserve(int seq, int n_more);
  void set_length(int seq, int n);

  // Row of K (or V) for (layer, seq, position): kv_dim f16 values.
  uint16_t* k_row(int layer, int seq, int pos) { return row(k_base(), layer, seq, pos); }
  uint16_t* v_row(int layer, int seq, int pos) { return row(v_base(), layer, seq, pos); }
  const uint16_t* k_row(int layer, int seq, int pos) const {
    return const_cast<KvCache*>(this)->k_row(layer, seq, pos);
  }
  const uint16_t* v_row(int layer, int seq, int pos) const {
    return const_cast<KvCache*>(this)->v_row(layer, seq, pos);
  }

  // Block-level access for attention, which walks a sequence's blocks without per-row lookups.
  const std::vector<int>& blocks(int seq) const { return get(seq).blocks; }
  const uint16_t* k_block(int layer, int block) const { return k_base() + block_offset(layer, block); }
  const uint16_t* v_block(int layer, int block) const { return v_base() + block_offset(layer, block); }

 private:
  size_t block_offset(int layer, int block) const {
    return ((size_t)layer * n_blocks_ + block) * kBlockTokens * kv_dim_;
  }
  struct Seq {
    std::vector<int> blocks;
    int length = 0;
  };
  uint16_t* k_base() const { return reinterpret_cast<uint16_t*>(k_.data()); }
  uint16_t* v_base() const { return reinterpret_cast<uint16_t*>(v_.data()); }
  uint16_t* row(uint16_t* pool, int layer, int seq, int pos);
  Seq& get(int seq);
  const Seq& get(int seq) const;

  int n_layer_, kv_dim_, n_blocks_;
  AnonymousMemory k_, v_;  // f16 (n_layer, n_blocks, kBlockTokens, kv_dim)
  std::vector<int> free_;
  std::map<int, Seq> seqs_;
  int next_id_ = 1;
};

}  // namespace qwen
