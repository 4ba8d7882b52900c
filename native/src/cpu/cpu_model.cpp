// The CPU Qwen2 model: forward pass over micro-batches of one sequence's tokens, the paged KV
// cache, and sampling. load_model (loader/load_model.h) picks the backend.
#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <unistd.h>

#include "base/cpu_features.h"
#include "base/heap_trim.h"
#include "cpu/attention.h"
#include "cpu/cpu_model.h"
#include "cpu/cpu_weights.h"
#include "cpu/kv_cache.h"
#include "cpu/matmul.h"
#include "cpu/ops.h"
#include "cpu/thread_pool.h"
#include "cpu/vec.h"
#include "cpu/weight_arena.h"
#include "gguf/gguf.h"
#include "model/model.h"
#include "model/qwen2_weights.h"
#include "model/sampler.h"
#include "quants/quants.h"

namespace qwen {

namespace {

int default_threads() { return std::min(physical_core_count(), 64); }

class CpuQwen2Model final : public Model {
 public:
  CpuQwen2Model(std::unique_ptr<GgufFile> file, Qwen2Weights w, const ModelOptions& opts, int ctx)
      : file_(std::move(file)),
        w_(std::move(w)),
        micro_batch_(std::max(1, std::min(opts.micro_batch, 2048))),
        pool_(opts.threads > 0 ? opts.threads : default_threads()),
        kv_(w_.hp.n_layer, w_.hp.n_head_kv * w_.head_dim(), ctx),
        rope_(rope_config(w_.hp)) {
    place_weights_in_arena(w_, *file_, arena_, pool_);
    const HParams& hp = w_.hp;
    const size_t mb = micro_batch_, kv_dim = (size_t)hp.n_head_kv * w_.head_dim();
    x_.resize(mb * hp.n_embd);
    xn_.resize(mb * hp.n_embd);
    q_.resize(mb * hp.n_embd);
    att_.resize(mb * hp.n_embd);
    o_.resize(mb * hp.n_embd);
    k_.resize(mb * kv_dim);
    v_.resize(mb * kv_dim);
    gate_.resize(mb * hp.n_ff);
    up_.resize(mb * hp.n_ff);
    emb_row_.resize(w_.token_embd.row_bytes);
    // The matmul's quantized-activation buffer, sized once for the widest input of any matrix.
    size_t xq_row = 0;
    auto widen = [&](const WeightMatrix& m) { xq_row = std::max(xq_row, activation_row_bytes(m)); };
    widen(w_.output);
    for (const Qwen2Layer& L : w_.layers)
      for (const WeightMatrix* m : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) widen(*m);
    mm_.xq.resize(xq_row * mb);
    att_stride_ = kv_.capacity() * (hp.n_head / hp.n_head_kv);  // a score row per head of a KV group
    att_scratch_.resize((size_t)pool_.size() * att_stride_);
  }

  const HParams& hparams() const override { return w_.hp; }
  const GgufFile& gguf() const override { return *file_; }
  int context_size() const override { return kv_.capacity(); }
  size_t kv_bytes_per_token() const override { return kv_.bytes_per_token(); }
  int kv_used() const override { return kv_.used_tokens(); }
  int kv_block_tokens() const override { return KvCache::kBlockTokens; }
  std::string backend_description() const override {
    return std::string("CPU ") + (cpu_features().use_avx2() ? "AVX2" : "scalar") + ", " + std::to_string(pool_.size()) +
           (pool_.size() == 1 ? " thread" : " threads");
  }

  int create_sequence() override {
    const int id = kv_.create_sequence();
    seqs_[id] = SeqState{};
    return id;
  }
  void free_sequence(int seq) override {
    kv_.free_sequence(seq);
    seqs_.erase(seq);
  }
  int sequence_length(int seq) const override { return kv_.length(seq); }
  void truncate(int seq, int n) override {
    kv_.truncate(seq, n);
    state(seq).has_logits = false;
  }

  void eval(int seq, const int32_t* tokens, int n, LogitsMode mode, std::vector<float>* logits_out,
            const std::atomic<bool>* cancel) override;
  int32_t sample(int seq, const SamplerParams& params, const int32_t* recent, int n_recent) override;

 private:
  struct SeqState {
    std::vector<float> last_logits;  // (n_vocab,) row after the last evaluated token
    bool has_logits = false;
    std::mt19937_64 rng;
    uint64_t seed = 0;
    bool seeded = false;
  };
  SeqState& state(int seq) {
    auto it = seqs_.find(seq);
    if (it == seqs_.end()) throw std::runtime_error("unknown sequence " + std::to_string(seq));
    return it->second;
  }
  static RopeConfig rope_config(const HParams& hp) {
    RopeConfig c;
    c.head_dim = hp.n_embd / hp.n_head;
    c.freq_base = hp.rope_freq_base;
    c.scaling = hp.rope_scaling_type;
    c.factor = hp.rope_scaling_factor;
    c.orig_ctx = hp.rope_orig_ctx > 0 ? hp.rope_orig_ctx : hp.n_ctx_train;
    return c;
  }
  // Runs tokens [0, nb) at positions pos0.. through every layer; writes logits for rows [row0, nb)
  // into out (nb - row0, n_vocab) when out is non-null.
  void forward(int seq, const int32_t* tokens, int nb, int pos0, int row0, float* out);

  std::unique_ptr<GgufFile> file_;
  Qwen2Weights w_;
  int micro_batch_;
  ThreadPool pool_;
  WeightArena arena_;  // the matrices, copied or packed out of file_'s mapping
  KvCache kv_;
  Rope rope_;
  Sampler sampler_;
  MatmulScratch mm_;
  std::map<int, SeqState> seqs_;
  // Activations for one micro-batch (mb rows each).
  std::vector<float> x_, xn_, q_, att_, o_, k_, v_, gate_, up_;
  std::vector<float> att_scratch_;  // (threads, group * context) attention scores
  std::vector<uint8_t> emb_row_;    // one token embedding row as stored in the file
  int att_stride_ = 0;
};

void CpuQwen2Model::forward(int seq, const int32_t* tokens, int nb, int pos0, int row0, float* out) {
  const HParams& hp = w_.hp;
  const int E = hp.n_embd, hd = w_.head_dim(), kv_dim = hp.n_head_kv * hd, F = hp.n_ff;
  const TypeTraits& emb = traits(w_.token_embd.type);
  // The embedding stays in the file (the arena holds only what is multiplied with): read each
  // row rather than fault it in, see GgufFile::copy_bytes.
  for (int i = 0; i < nb; ++i) {
    file_->copy_bytes(w_.token_embd.row(tokens[i]), w_.token_embd.row_bytes, emb_row_.data());
    emb.dequantize_row(emb_row_.data(), &x_[(size_t)i * E], E);
  }

  const AttentionShape shape{hp.n_head, hp.n_head_kv, hd};
  const VecOps& vo = vec_ops();
  for (int l = 0; l < hp.n_layer; ++l) {
    const Qwen2Layer& L = w_.layers[l];
    // Attention block: x += Wo · attn(rope(Wq·n(x) + bq), rope(Wk·n(x) + bk), Wv·n(x) + bv)
    for (int i = 0; i < nb; ++i) rmsnorm(&x_[(size_t)i * E], L.attn_norm.data(), &xn_[(size_t)i * E], E, hp.rms_eps);
    const WeightMatrix* qkv[3] = {&L.wq, &L.wk, &L.wv};
    float* qkv_out[3] = {q_.data(), k_.data(), v_.data()};
    matmul_multi(pool_, qkv, qkv_out, 3, xn_.data(), nb, mm_);
    pool_.parallel_for(nb, [&](int i, int) {
      float* q = &q_[(size_t)i * E];
      float* k = &k_[(size_t)i * kv_dim];
      float* v = &v_[(size_t)i * kv_dim];
      add_inplace(q, L.bq.data(), E);
      add_inplace(k, L.bk.data(), kv_dim);
      add_inplace(v, L.bv.data(), kv_dim);
      rope_.apply(q, hp.n_head, pos0 + i);
      rope_.apply(k, hp.n_head_kv, pos0 + i);
    });
    for (int i = 0; i < nb; ++i) {
      vo.f32_to_f16(kv_dim, &k_[(size_t)i * kv_dim], kv_.k_row(l, seq, pos0 + i));
      vo.f32_to_f16(kv_dim, &v_[(size_t)i * kv_dim], kv_.v_row(l, seq, pos0 + i));
    }
    attention(pool_, kv_, l, seq, shape, q_.data(), nb, pos0, att_.data(), att_scratch_.data(), att_stride_);
    matmul(pool_, L.wo, att_.data(), nb, o_.data(), mm_);
    for (size_t j = 0; j < (size_t)nb * E; ++j) x_[j] += o_[j];

    // Feed-forward block: x += W_down · (silu(W_gate·n(x)) * W_up·n(x))
    for (int i = 0; i < nb; ++i) rmsnorm(&x_[(size_t)i * E], L.ffn_norm.data(), &xn_[(size_t)i * E], E, hp.rms_eps);
    const WeightMatrix* gate_up[2] = {&L.w_gate, &L.w_up};
    float* gate_up_out[2] = {gate_.data(), up_.data()};
    matmul_multi(pool_, gate_up, gate_up_out, 2, xn_.data(), nb, mm_);
    pool_.parallel_for(nb, [&](int i, int) { vo.swiglu(F, &gate_[(size_t)i * F], &up_[(size_t)i * F]); });
    matmul(pool_, L.w_down, gate_.data(), nb, o_.data(), mm_);
    for (size_t j = 0; j < (size_t)nb * E; ++j) x_[j] += o_[j];
  }
  if (!out) return;
  const int rows = nb - row0;
  for (int i = 0; i < rows; ++i)
    rmsnorm(&x_[(size_t)(row0 + i) * E], w_.output_norm.data(), &xn_[(size_t)i * E], E, hp.rms_eps);
  matmul(pool_, w_.output, xn_.data(), rows, out, mm_);
}

void CpuQwen2Model::eval(int seq, const int32_t* tokens, int n, LogitsMode mode, std::vector<float>* logits_out,
                         const std::atomic<bool>* cancel) {
  const HParams& hp = w_.hp;
  SeqState& st = state(seq);
  for (int i = 0; i < n; ++i) {
    if (tokens[i] < 0 || tokens[i] >= hp.n_vocab) {
      throw std::runtime_error("token id " + std::to_string(tokens[i]) + " is out of range (the vocabulary has " +
                               std::to_string(hp.n_vocab) + " tokens)");
    }
  }
  if (logits_out) logits_out->clear();
  if (n <= 0) return;
  kv_.reserve(seq, n);  // throws "KV cache full" before anything changes
  if (mode == LogitsMode::All && logits_out) logits_out->resize((size_t)n * hp.n_vocab);
  st.has_logits = false;
  st.last_logits.resize(hp.n_vocab);

  for (int off = 0; off < n; off += micro_batch_) {
    if (cancel && cancel->load()) {
      kv_.truncate(seq, kv_.length(seq));  // give back blocks reserved for the tokens not run
      throw Cancelled();
    }
    const int nb = std::min(micro_batch_, n - off);
    const int pos0 = kv_.length(seq);
    const bool last_chunk = off + nb == n;
    float* out = nullptr;
    int row0 = 0;
    if (mode == LogitsMode::All) {
      out = logits_out ? logits_out->data() + (size_t)off * hp.n_vocab : nullptr;
      if (!out) {
        out = st.last_logits.data();
        row0 = nb - 1;
      }
    } else if (last_chunk) {
      out = st.last_logits.data();
      row0 = nb - 1;
    }
    forward(seq, tokens + off, nb, pos0, row0, out);
    kv_.set_length(seq, pos0 + nb);
  }
  if (mode == LogitsMode::All && logits_out) {
    std::memcpy(st.last_logits.data(), logits_out->data() + (size_t)(n - 1) * hp.n_vocab, sizeof(float) * hp.n_vocab);
  }
  // With LogitsMode::None no row was computed, so there is nothing to sample from yet.
  st.has_logits = mode != LogitsMode::None;
  if (mode == LogitsMode::Last && logits_out) *logits_out = st.last_logits;
}

int32_t CpuQwen2Model::sample(int seq, const SamplerParams& params, const int32_t* recent, int n_recent) {
  SeqState& st = state(seq);
  if (!st.has_logits) throw std::runtime_error("nothing to sample from: evaluate tokens on this sequence first");
  if (!st.seeded || st.seed != params.seed) {
    st.rng.seed(params.seed);
    st.seed = params.seed;
    st.seeded = true;
  }
  return sampler_.sample(st.last_logits.data(), w_.hp.n_vocab, params, recent, n_recent, st.rng);
}

int clamp_context(const std::string& path, const HParams& hp, int requested, size_t bytes_per_token) {
  if (requested <= 0)
    throw std::runtime_error(path + ": context size must be positive (got " + std::to_string(requested) + ")");
  int ctx = std::min(requested, hp.n_ctx_train);
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  const double ram = pages > 0 && page > 0 ? (double)pages * page : 0;
  const double need = (double)ctx * bytes_per_token;
  if (ram > 0 && need > 0.75 * ram) {
    throw std::runtime_error(path + ": a context of " + std::to_string(ctx) + " tokens needs " +
                             std::to_string((int)(need / (1 << 20))) +
                             " MiB of KV cache, more than this machine can spare (" +
                             std::to_string((int)(ram / (1 << 20))) + " MiB of RAM); choose a smaller context size");
  }
  return ctx;
}

}  // namespace

std::unique_ptr<Model> load_cpu_model(const std::string& path, const ModelOptions& opts,
                                      const std::function<void(float)>& progress) {
  if (progress) progress(0.0f);
  auto file = GgufFile::open(path);
  Qwen2Weights w = load_qwen2_weights(*file);
  // The engine never reads the vocabulary (tokenization happens in JavaScript); as C++ strings it
  // is ~25 MB of a 0.5B model's resident memory.
  file->drop_metadata("tokenizer.ggml.");
  trim_free_heap();
  const size_t bpt = (size_t)w.hp.n_layer * w.hp.n_head_kv * (w.hp.n_embd / w.hp.n_head) * 2 * sizeof(uint16_t);
  const int ctx = clamp_context(path, w.hp, opts.context_size, bpt);
  if (progress) progress(0.5f);
  auto m = std::make_unique<CpuQwen2Model>(std::move(file), std::move(w), opts, ctx);
  if (progress) progress(1.0f);
  return m;
}

}  // namespace qwen
