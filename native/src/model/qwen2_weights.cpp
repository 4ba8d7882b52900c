#include "model/qwen2_weights.h"

#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "gguf/gguf.h"
#include "quants/quants.h"

namespace qwen {

namespace {

// Numbers in messages: 1.5, 2147483648, 1e-12, nan (std::to_string would say 0.000000 for 1e-12).
std::string num_str(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", x);
  return buf;
}

std::string shape_str(const std::vector<int64_t>& d) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < d.size(); ++i) os << (i ? ", " : "") << d[i];
  os << "]";
  return os.str();
}

class Reader {
 public:
  explicit Reader(const GgufFile& f) : f_(f) {}

  [[noreturn]] void fail(const std::string& what) const { throw std::runtime_error(f_.path() + ": " + what); }

  const GgufTensorInfo& tensor(const std::string& name, std::vector<int64_t> want) const {
    const GgufTensorInfo* t = f_.find_tensor(name);
    if (!t) fail("missing tensor '" + name + "'");
    std::vector<int64_t> got = t->dims;
    while (got.size() > want.size() && got.back() == 1) got.pop_back();
    if (got != want)
      fail("tensor '" + name + "' has shape " + shape_str(t->dims) + " but the model needs " + shape_str(want));
    const TypeTraits* tr = type_traits(static_cast<uint32_t>(t->type));
    if (!tr || !tr->supported) {
      fail("tensor '" + name + "' has type " + std::string(tr ? tr->name : "unknown") +
           ", which Qwen Local cannot compute with yet");
    }
    return *t;
  }

  WeightMatrix matrix(const std::string& name, int64_t rows, int64_t cols) const {
    const GgufTensorInfo& t = tensor(name, {cols, rows});
    WeightMatrix m;
    m.type = t.type;
    m.data = f_.tensor_data(t);
    m.rows = rows;
    m.cols = cols;
    m.row_bytes = row_size(t.type, cols);
    if (cols % traits(t.type).block_size) fail("tensor '" + name + "' rows are not a whole number of blocks");
    return m;
  }

  std::vector<float> vec(const std::string& name, int64_t n) const {
    const GgufTensorInfo& t = tensor(name, {n});
    std::vector<float> out(n);
    traits(t.type).dequantize_row(f_.tensor_data(t), out.data(), n);
    return out;
  }

  // Metadata accessors. A value of the wrong type or out of range is an error naming the file
  // and the key (GgufValue's own errors know neither). Numbers are range-checked before any
  // narrowing cast: a hostile file must not reach an out-of-range float-to-int conversion (UB)
  // or have 2^32 + 1 layers wrap around to 1.
  int int_in(const std::string& key, int64_t lo, int64_t hi) const {
    const GgufValue* v = f_.find(key);
    if (!v) fail("missing metadata key '" + key + "'");
    return checked_int(key, *v, lo, hi);
  }
  int int_in(const std::string& key, int64_t lo, int64_t hi, int def) const {
    const GgufValue* v = f_.find(key);
    return v ? checked_int(key, *v, lo, hi) : def;
  }
  float float_in(const std::string& key, double lo, double hi, float def) const {
    const GgufValue* v = f_.find(key);
    if (!v) return def;
    double x = 0;
    try {
      x = v->as_f64();
    } catch (const GgufError& e) {
      fail("metadata key '" + key + "': " + e.what());
    }
    if (!(x >= lo && x <= hi))
      fail("metadata key '" + key + "' is " + num_str(x) + ", outside [" + num_str(lo) + ", " + num_str(hi) + "]");
    return (float)x;
  }
  std::string s(const std::string& key, const std::string& def) const {
    const GgufValue* v = f_.find(key);
    if (!v) return def;
    try {
      return v->as_string();
    } catch (const GgufError& e) {
      fail("metadata key '" + key + "': " + e.what());
    }
  }

 private:
  int checked_int(const std::string& key, const GgufValue& v, int64_t lo, int64_t hi) const {
    double x = 0;
    try {
      x = v.as_f64();  // every numeric type; integers above 2^53 stay far outside any bound below
    } catch (const GgufError& e) {
      fail("metadata key '" + key + "': " + e.what());
    }
    if (!(x >= (double)lo && x <= (double)hi) || x != (double)(int64_t)x) {
      fail("metadata key '" + key + "' is " + num_str(x) + ", expected a whole number from " + std::to_string(lo) +
           " to " + std::to_string(hi));
    }
    return (int)x;
  }

  const GgufFile& f_;
};

}  // namespace

Qwen2Weights load_qwen2_weights(const GgufFile& file) {
  Reader r(file);
  const std::string arch = r.s("general.architecture", "");
  if (arch.empty()) r.fail("no general.architecture in the metadata: not a model file");
  if (arch != "qwen2")
    r.fail("architecture '" + arch + "' is not supported (Qwen Local runs qwen2 models: Qwen2.5 and Qwen2.5-Coder)");

  Qwen2Weights w;
  HParams& hp = w.hp;
  hp.n_layer = r.int_in("qwen2.block_count", 1, 512);
  hp.n_embd = r.int_in("qwen2.embedding_length", 8, 65536);
  hp.n_ff = r.int_in("qwen2.feed_forward_length", 1, 1 << 20);
  hp.n_head = r.int_in("qwen2.attention.head_count", 1, 65536);
  hp.n_head_kv = r.int_in("qwen2.attention.head_count_kv", 1, 65536);
  hp.n_ctx_train = r.int_in("qwen2.context_length", 1, 1 << 24);
  hp.rms_eps = r.float_in("qwen2.attention.layer_norm_rms_epsilon", 1e-12, 1.0, 1e-6f);
  hp.rope_freq_base = r.float_in("qwen2.rope.freq_base", 1.0, 1e12, 1000000.0f);
  hp.rope_scaling_type = r.s("qwen2.rope.scaling.type", "none");
  hp.rope_scaling_factor = r.float_in("qwen2.rope.scaling.factor", 1e-3, 1e3, 1.0f);
  hp.rope_orig_ctx = r.int_in("qwen2.rope.scaling.original_context_length", 1, 1 << 24, hp.n_ctx_train);

  auto bad = [&](bool cond, const std::string& what) {
    if (cond) r.fail(what);
  };
  bad(hp.n_head < 1 || hp.n_embd % hp.n_head, "embedding_length is not a multiple of head_count");
  bad(hp.n_head_kv < 1 || hp.n_head % hp.n_head_kv, "head_count is not a multiple of head_count_kv");
  bad((hp.n_embd / hp.n_head) % 2 || hp.n_embd / hp.n_head > 512, "unsupported head dimension");
  bad(hp.rope_scaling_type != "none" && hp.rope_scaling_type != "linear" && hp.rope_scaling_type != "yarn",
      "unsupported rope scaling type '" + hp.rope_scaling_type + "'");

  const GgufTensorInfo* emb = file.find_tensor("token_embd.weight");
  if (!emb) r.fail("missing tensor 'token_embd.weight'");
  if (emb->dims.size() != 2) r.fail("tensor 'token_embd.weight' is not a matrix");
  if (emb->dims[1] < 1 || emb->dims[1] > (1 << 22))
    r.fail("implausible vocabulary size " + std::to_string(emb->dims[1]));
  hp.n_vocab = (int)emb->dims[1];
  const int hd = hp.n_embd / hp.n_head, q_dim = hp.n_head * hd, kv_dim = hp.n_head_kv * hd;

  w.token_embd = r.matrix("token_embd.weight", hp.n_vocab, hp.n_embd);
  w.output_norm = r.vec("output_norm.weight", hp.n_embd);
  hp.tied_embeddings = file.find_tensor("output.weight") == nullptr;
  w.output = hp.tied_embeddings ? w.token_embd : r.matrix("output.weight", hp.n_vocab, hp.n_embd);

  w.layers.resize(hp.n_layer);
  for (int i = 0; i < hp.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    Qwen2Layer& L = w.layers[i];
    L.attn_norm = r.vec(p + "attn_norm.weight", hp.n_embd);
    L.wq = r.matrix(p + "attn_q.weight", q_dim, hp.n_embd);
    L.wk = r.matrix(p + "attn_k.weight", kv_dim, hp.n_embd);
    L.wv = r.matrix(p + "attn_v.weight", kv_dim, hp.n_embd);
    L.bq = r.vec(p + "attn_q.bias", q_dim);
    L.bk = r.vec(p + "attn_k.bias", kv_dim);
    L.bv = r.vec(p + "attn_v.bias", kv_dim);
    L.wo = r.matrix(p + "attn_output.weight", hp.n_embd, q_dim);
    L.ffn_norm = r.vec(p + "ffn_norm.weight", hp.n_embd);
    L.w_gate = r.matrix(p + "ffn_gate.weight", hp.n_ff, hp.n_embd);
    L.w_up = r.matrix(p + "ffn_up.weight", hp.n_ff, hp.n_embd);
    L.w_down = r.matrix(p + "ffn_down.weight", hp.n_embd, hp.n_ff);
  }
  return w;
}

}  // namespace qwen
