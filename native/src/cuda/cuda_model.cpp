// The Qwen2 forward pass on the GPU (see cuda_model.h). Per micro-batch of n tokens of one
// sequence, all buffers (n, ...) f32 on the device:
//   x = embed(tokens)                                               (n, d)
//   per layer: h = rmsnorm(x); q,k,v = W h + b; rope(q,k) and k,v -> f16 cache;
//              x += Wo attention(q, cache);  h = rmsnorm(x); x += Wdown (silu(Wgate h) * Wup h)
//   logits = Wout rmsnorm(x) for the rows asked for                 (rows, n_vocab)
// Residual adds are fused into the o_proj / down_proj epilogues (accumulate=true). Every kernel
// is queued on one stream; the host waits only when it copies logits or a sampled token back.
// Single-token decode steps are captured once per sequence into a CUDA graph and replayed: the
// ~12 kernels per layer would otherwise cost more in launch overhead than the GPU needs to read
// the weights. Everything that changes between steps lives in device memory (the token id, the
// position, the block table) and attention uses a fixed split count, so one graph serves every
// step of its sequence. QWEN_CUDA_GRAPH=0 turns this off (plain launches) for comparison.
#include "cuda/cuda_model.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <stdexcept>

#include "cuda/cuda_api.h"
#include "cuda/cuda_kv.h"
#include "cuda/cuda_weights.h"
#include "gguf/gguf.h"
#include "model/qwen2_weights.h"
#include "model/sampler.h"

namespace qwen {

bool cuda_available(std::string* why) { return cuda::available(why); }

namespace cuda {
namespace {

class CudaModel final : public Model {
 public:
  CudaModel(std::unique_ptr<GgufFile> file, const ModelOptions& opts, const std::function<void(float)>& progress)
      : file_(std::move(file)) {
    // The CPU loader reads and checks hyper-parameters and tensors; we only copy what it found.
    const Qwen2Weights host = load_qwen2_weights(*file_);
    hp_ = host.hp;
    head_dim_ = hp_.n_embd / hp_.n_head;
    shape_ = AttentionShape{hp_.n_head, hp_.n_head_kv, head_dim_};
    if (head_dim_ != 64 && head_dim_ != 128)
      throw std::runtime_error(file_->path() + ": head size " + std::to_string(head_dim_) +
                               " has no CUDA attention kernel (64 and 128 do)");
    weights_ = upload_weights(file_->path(), host, progress);
    micro_batch_ = std::max(1, opts.micro_batch);
    int ctx = opts.context_size > 0 ? opts.context_size : 4096;
    if (hp_.n_ctx_train > 0) ctx = std::min(ctx, hp_.n_ctx_train);
    const size_t kv_bytes = static_cast<size_t>(hp_.n_layer) * 2 * hp_.n_head_kv * head_dim_ * 2 * ctx;
    size_t free_b = 0, total_b = 0;
    memory_info(&free_b, &total_b);
    const size_t work = workspace_bytes();
    if (kv_bytes + work + (256u << 20) > free_b)
      throw GpuOutOfMemory(file_->path() + ": a " + std::to_string(ctx) + "-token context needs " +
                           std::to_string((kv_bytes + work) >> 20) + " MiB of GPU memory after the weights, " +
                           std::to_string(free_b >> 20) + " MiB are free; lower the context size");
    kv_ = std::make_unique<KvCache>(hp_.n_layer, hp_.n_head_kv, head_dim_, ctx);
    allocate_workspace();
    make_rope();
    const char* env = std::getenv("QWEN_CUDA_GRAPH");
    use_graphs_ = !(env && std::strcmp(env, "0") == 0);
    description_ = "CUDA " + device_name() + ", weights " + std::to_string(weights_.bytes >> 20) + " MiB";
  }

  const HParams& hparams() const override { return hp_; }
  const GgufFile& gguf() const override { return *file_; }
  int context_size() const override { return kv_->capacity(); }
  std::string backend_description() const override { return description_; }
  size_t kv_bytes_per_token() const override { return kv_->bytes_per_token(); }
  int kv_used() const override { return kv_->used_tokens(); }
  int kv_block_tokens() const override { return kKvBlock; }

  int create_sequence() override {
    const int id = kv_->create();
    last_logits_[id] = DeviceBuffer(static_cast<size_t>(hp_.n_vocab) * sizeof(float));
    return id;
  }
  void free_sequence(int seq) override {
    kv_->free(seq);
    graphs_.erase(seq);
    last_logits_.erase(seq);
    has_logits_.erase(seq);
    rngs_.erase(seq);
  }
  int sequence_length(int seq) const override { return kv_->length(seq); }
  void truncate(int seq, int n) override {
    kv_->truncate(seq, n);
    has_logits_.erase(seq);  // the kept row belonged to a position that may be gone
  }

  void eval(int seq, const int32_t* tokens, int n, LogitsMode mode, std::vector<float>* logits_out,
            const std::atomic<bool>* cancel) override {
    if (n <= 0) return;
    for (int i = 0; i < n; ++i)
      if (tokens[i] < 0 || tokens[i] >= hp_.n_vocab)
        throw std::runtime_error("token id " + std::to_string(tokens[i]) + " at index " + std::to_string(i) +
                                 " is outside the vocabulary (0.." + std::to_string(hp_.n_vocab - 1) + ")");
    kv_->reserve(seq, n);  // throws "KV cache full" before any work is done
    if (logits_out) logits_out->clear();
    const size_t V = hp_.n_vocab;
    if (n == 1 && mode != LogitsMode::All && use_graphs_) {
      decode_with_graph(seq, tokens[0]);
      if (mode == LogitsMode::Last && logits_out) {
        logits_out->resize(V);
        last_logits_.at(seq).download(logits_out->data(), V * sizeof(float));
      }
      synchronize();
      has_logits_[seq] = true;
      return;
    }
    for (int done = 0; done < n; done += micro_batch_) {
      if (done > 0 && cancel && cancel->load()) throw Cancelled();
      const int m = std::min(micro_batch_, n - done);
      const bool last_chunk = done + m == n;
      tokens_.upload(tokens + done, m * sizeof(int32_t));
      forward(seq, m);
      kv_->advance(seq, m);
      if (mode == LogitsMode::All) {
        logits_head(0, m, logits_.as<float>());
        if (logits_out) {
          const size_t at = logits_out->size();
          logits_out->resize(at + m * V);
          logits_.download(logits_out->data() + at, m * V * sizeof(float));
        }
        if (last_chunk) copy_row_to_last(seq, logits_.as<float>() + (m - 1) * V);
      } else if (last_chunk) {
        // Only the final row: norm and project just that token.
        logits_head(m - 1, 1, last_logits_.at(seq).as<float>());
        if (mode == LogitsMode::Last && logits_out) {
          logits_out->resize(V);
          last_logits_.at(seq).download(logits_out->data(), V * sizeof(float));
        }
      }
    }
    synchronize();
    has_logits_[seq] = true;
  }

  int32_t sample(int seq, const SamplerParams& params, const int32_t* recent, int n_recent) override {
    if (!has_logits_.count(seq))
      throw std::runtime_error("sample: sequence " + std::to_string(seq) + " has no logits yet");
    const DeviceBuffer& row = last_logits_.at(seq);
    if (params.temperature <= 0.0f && params.repeat_penalty == 1.0f) {
      argmax(row.as<float>(), hp_.n_vocab, sampled_.as<int32_t>());
      int32_t t = 0;
      sampled_.download(&t, sizeof t);
      return t;
    }
    // Other sampling runs on the CPU with the CPU backend's sampler, so both backends draw the
    // same tokens from the same logits and seed; only the one row crosses PCIe.
    std::vector<float> host(hp_.n_vocab);
    row.download(host.data(), host.size() * sizeof(float));
    SeqRng& r = rngs_[seq];
    if (!r.seeded || r.seed != params.seed) {
      r.rng.seed(params.seed);
      r.seed = params.seed;
      r.seeded = true;
    }
    return sampler_.sample(host.data(), hp_.n_vocab, params, recent, n_recent, r.rng);
  }

 private:
  int q_dim() const { return hp_.n_head * head_dim_; }
  int kv_dim() const { return hp_.n_head_kv * head_dim_; }
  size_t workspace_bytes() const {
    const size_t mb = micro_batch_, f = sizeof(float);
    return mb * f * (2 * hp_.n_embd + 2 * q_dim() + 2 * kv_dim() + 2 * hp_.n_ff) + mb * f * hp_.n_vocab;
  }
  void allocate_workspace() {
    const size_t mb = micro_batch_, f = sizeof(float);
    x_ = DeviceBuffer(mb * hp_.n_embd * f);
    h_ = DeviceBuffer(mb * hp_.n_embd * f);
    q_ = DeviceBuffer(mb * q_dim() * f);
    k_ = DeviceBuffer(mb * kv_dim() * f);
    v_ = DeviceBuffer(mb * kv_dim() * f);
    attn_ = DeviceBuffer(mb * q_dim() * f);
    gate_ = DeviceBuffer(mb * hp_.n_ff * f);
    up_ = DeviceBuffer(mb * hp_.n_ff * f);
    logits_ = DeviceBuffer(mb * hp_.n_vocab * f);
    tokens_ = DeviceBuffer(mb * sizeof(int32_t));
    sampled_ = DeviceBuffer(sizeof(int32_t));
    pos_ = DeviceBuffer(sizeof(int32_t));
    fixed_splits_ = attention_fixed_splits(kv_->capacity());
    scratch_floats_ = attention_scratch_floats(4, kv_->capacity(), shape_);
    scratch_ = DeviceBuffer(std::max<size_t>(scratch_floats_, 1) * f);
  }
  void make_rope() {
    const RopeParams p = rope_params_for(hp_);
    std::vector<float> tables(head_dim_);
    make_rope_tables(p, tables.data(), &rope_mscale_);
    rope_tables_ = DeviceBuffer(tables.size() * sizeof(float));
    rope_tables_.upload(tables.data(), tables.size() * sizeof(float));
  }
  void mm(const DeviceMatrix& w, const float* x, int n, float* y, const DeviceBuffer* bias, bool acc) {
    matmul(w.type, w.data.get(), w.rows, w.k, x, n, y, bias ? bias->as<float>() : nullptr, acc);
  }

  // One token through a per-sequence graph: the token id and position are uploaded first, then
  // the captured forward + last-row logits are replayed.
  void decode_with_graph(int seq, int32_t token) {
    const int32_t pos = kv_->length(seq);
    tokens_.upload(&token, sizeof token);
    pos_.upload(&pos, sizeof pos);
    std::unique_ptr<StreamGraph>& g = graphs_[seq];
    if (!g) {
      auto fresh = std::make_unique<StreamGraph>();
      fresh->begin_capture();
      try {
        forward(seq, 1, /*graph=*/true);
        logits_head(0, 1, last_logits_.at(seq).as<float>());
        fresh->end_capture();
      } catch (...) {
        fresh->abort_capture();
        graphs_.erase(seq);
        throw;
      }
      g = std::move(fresh);
    }
    g->launch();
    kv_->advance(seq, 1);
  }

  // Runs the transformer layers for m tokens already uploaded to tokens_, at positions
  // len .. len+m-1 of `seq`, leaving the final hidden states in x_ (m, n_embd). With graph=true
  // (m = 1) positions come from pos_ on the device and attention uses the fixed split count.
  void forward(int seq, int m, bool graph = false) {
    const int pos0 = kv_->length(seq);
    const int32_t* d_pos = graph ? pos_.as<int32_t>() : nullptr;
    const int splits = graph ? fixed_splits_ : 0;
    const int32_t* table = kv_->device_table(seq);
    const DeviceMatrix& emb = weights_.tok_embd;
    get_rows(emb.type, emb.data.get(), emb.rows, emb.k, tokens_.as<int32_t>(), m, x_.as<float>());
    float* x = x_.as<float>();
    float* h = h_.as<float>();
    for (int l = 0; l < hp_.n_layer; ++l) {
      const DeviceLayer& L = weights_.layers[l];
      rms_norm(x, L.attn_norm.as<float>(), m, hp_.n_embd, hp_.rms_eps, h);
      mm(L.wq, h, m, q_.as<float>(), &L.bq, false);
      mm(L.wk, h, m, k_.as<float>(), &L.bk, false);
      mm(L.wv, h, m, v_.as<float>(), &L.bv, false);
      rope_and_store_kv(q_.as<float>(), k_.as<float>(), v_.as<float>(), m, pos0, shape_, rope_tables_.as<float>(),
                        rope_mscale_, kv_->k(l), kv_->v(l), table, d_pos);
      attention(q_.as<float>(), m, pos0, shape_, kv_->k(l), kv_->v(l), table, attn_.as<float>(), scratch_.as<float>(),
                scratch_floats_, d_pos, splits);
      mm(L.wo, attn_.as<float>(), m, x, nullptr, true);
      rms_norm(x, L.ffn_norm.as<float>(), m, hp_.n_embd, hp_.rms_eps, h);
      mm(L.w_gate, h, m, gate_.as<float>(), nullptr, false);
      mm(L.w_up, h, m, up_.as<float>(), nullptr, false);
      swiglu(gate_.as<float>(), up_.as<float>(), static_cast<int64_t>(m) * hp_.n_ff, gate_.as<float>());
      mm(L.w_down, gate_.as<float>(), m, x, nullptr, true);
    }
  }

  // Logits for rows [first, first+count) of the last forward: (count, n_vocab) into out.
  void logits_head(int first, int count, float* out) {
    float* rows = x_.as<float>() + static_cast<size_t>(first) * hp_.n_embd;
    rms_norm(rows, weights_.output_norm.as<float>(), count, hp_.n_embd, hp_.rms_eps, h_.as<float>());
    mm(weights_.lm_head(), h_.as<float>(), count, out, nullptr, false);
  }
  void copy_row_to_last(int seq, const float* d_row);

  std::unique_ptr<GgufFile> file_;
  HParams hp_;
  int head_dim_ = 0, micro_batch_ = 256;
  AttentionShape shape_;
  DeviceWeights weights_;
  std::unique_ptr<KvCache> kv_;
  DeviceBuffer x_, h_, q_, k_, v_, attn_, gate_, up_, logits_, tokens_, sampled_, scratch_, rope_tables_, pos_;
  size_t scratch_floats_ = 0;
  int fixed_splits_ = 1;
  bool use_graphs_ = true;
  std::map<int, std::unique_ptr<StreamGraph>> graphs_;  // decode graph per sequence
  float rope_mscale_ = 1.0f;
  std::map<int, DeviceBuffer> last_logits_;
  std::map<int, bool> has_logits_;
  struct SeqRng {
    std::mt19937_64 rng;
    uint64_t seed = 0;
    bool seeded = false;
  };
  std::map<int, SeqRng> rngs_;  // per sequence, as the CPU backend keeps them
  Sampler sampler_;
  std::string description_;
};

void CudaModel::copy_row_to_last(int seq, const float* d_row) {
  // Keeps the final row for sample() without a round trip through the host.
  copy_device(last_logits_.at(seq).as<float>(), d_row, static_cast<size_t>(hp_.n_vocab) * sizeof(float));
}

}  // namespace

}  // namespace cuda

std::unique_ptr<Model> load_cuda_model(const std::string& path, const ModelOptions& opts,
                                       const std::function<void(float)>& progress) {
  std::string why;
  if (!cuda::available(&why)) throw std::runtime_error(path + ": cannot use the GPU: " + why);
  auto file = GgufFile::open(path);
  return std::make_unique<cuda::CudaModel>(std::move(file), opts, progress);
}

}  // namespace qwen
