// Shared by the libFuzzer target and the standalone mutation loop: the valid seed files the
// fuzzers start from, and exercise(), which touches everything a successful parse promises is
// safe to touch (every metadata value through every accessor, every byte of every tensor), so a
// parser that accepted a bad file is caught by the sanitizers right here rather than later.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "../tests/test_gguf_writer.h"

namespace qwen_fuzz {

using namespace qwen_test;

// GGML type ids used by the seeds (fixed by the GGUF format, so spelled out here).
constexpr uint32_t kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ8_0 = 8, kQ4_K = 12, kBF16 = 30;

// Small valid files covering every value type, nesting, both versions, custom alignment and
// several tensor types. Kept under a few KB so 100,000 mutations run in seconds.
inline std::vector<Bytes> make_seeds() {
  std::vector<Bytes> seeds;

  Builder empty;  // header only
  seeds.push_back(empty.build());

  Builder all_types = all_value_types();
  all_types.tensor({"token_embd.weight", {4, 3}, kF32, pattern_bytes(4 * 3 * 4, 1)});
  all_types.tensor({"output_norm.weight", {4}, kF16, pattern_bytes(4 * 2, 2)});
  seeds.push_back(all_types.build());

  Builder quants;
  quants.alignment = 64;
  quants.kv("general.alignment", v_u32(64));
  quants.tensor({"blk.0.attn_q.weight", {64, 2}, kQ8_0, pattern_bytes(2 * 2 * 34, 3)});
  quants.tensor({"blk.0.ffn_up.weight", {32, 1}, kQ4_0, pattern_bytes(18, 4)});
  quants.tensor({"blk.0.ffn_down.weight", {256}, kQ4_K, pattern_bytes(144, 5)});
  quants.tensor({"blk.0.attn_norm.weight", {2, 2, 2, 2}, kBF16, pattern_bytes(32, 6)});
  seeds.push_back(quants.build());

  Builder vocab;
  vocab.version = 2;
  std::vector<Value> tokens, types;
  for (int i = 0; i < 40; ++i) {
    tokens.push_back(v_str("tok" + std::to_string(i)));
    types.push_back(v_i32(i % 3));
  }
  vocab.kv("tokenizer.ggml.model", v_str("gpt2"))
      .kv("tokenizer.ggml.tokens", v_array(T_STRING, tokens))
      .kv("tokenizer.ggml.token_type", v_array(T_INT32, types))
      .kv("qwen2.context_length", v_u32(32768));
  vocab.tensor({"output.weight", {8, 2}, kF32, pattern_bytes(64, 7)});
  seeds.push_back(vocab.build());
  return seeds;
}

// Visits a value through every accessor; wrong-type accessors must refuse with GgufError.
inline uint64_t exercise_value(const qwen::GgufValue& v) {
  uint64_t h = static_cast<uint64_t>(v.type);
  try {
    h += v.as_u64();
  } catch (const qwen::GgufError&) {
    h += 1;
  }
  try {
    h += static_cast<uint64_t>(v.as_i64());
  } catch (const qwen::GgufError&) {
    h += 2;
  }
  try {
    h += static_cast<uint64_t>(v.as_f64() != 0.0);
  } catch (const qwen::GgufError&) {
    h += 3;
  }
  try {
    h += v.as_string().size();
  } catch (const qwen::GgufError&) {
    h += 4;
  }
  try {
    for (const qwen::GgufValue& e : v.as_array()) h = h * 31 + exercise_value(e);
  } catch (const qwen::GgufError&) {
    h += 5;
  }
  return h;
}

// Returns a checksum so the compiler cannot drop the reads.
inline uint64_t exercise(const qwen::GgufFile& f) {
  uint64_t h = f.version() + f.alignment() + f.data_offset();
  for (const auto& kv : f.metadata()) {
    h += kv.first.size();
    h = h * 31 + exercise_value(kv.second);
    if (f.find(kv.first) != &kv.second) h ^= 0xdead;  // index must agree with the list
  }
  try {
    h += f.get_string("general.architecture").size();
  } catch (const qwen::GgufError&) {
    h += 7;
  }
  try {
    h += f.get_u64("general.alignment");
  } catch (const qwen::GgufError&) {
    h += 8;
  }
  for (const qwen::GgufTensorInfo& t : f.tensors()) {
    h += static_cast<uint64_t>(t.n_elements()) + static_cast<uint64_t>(t.type);
    const uint8_t* p = f.tensor_data(t);
    for (uint64_t i = 0; i < t.nbytes; ++i) h = h * 131 + p[i];
    if (f.find_tensor(t.name) != &t) h ^= 0xbeef;
  }
  return h;
}

}  // namespace qwen_fuzz
