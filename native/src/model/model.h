// The Qwen2 model as the rest of the engine sees it, whatever backend runs it: keep a KV cache
// shared by several sequences, evaluate token batches, sample. The CPU backend (cpu/) and the
// CUDA one (cuda/) implement it; loader/ picks one. No Node types here (napi/ wraps this).
//
// Threading: a Model is used by one caller thread at a time (napi/ serializes calls); the forward
// pass itself fans out over the model's own thread pool.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <memory>
#include <string>
#include <vector>

#include "model/device_report.h"

namespace qwen {

class GgufFile;

struct ModelOptions {
  std::string device = "auto";  // "auto" (GPU when usable and proven right), "cpu" or "cuda"
  bool gpu_self_check = true;   // compare GPU with CPU logits at load (see device.h)
  int threads = 0;              // 0 = number of physical cores
  int context_size = 4096;      // KV capacity in tokens over all sequences; clamped to trained ctx
  int micro_batch = 256;        // tokens per forward chunk in prefill; cancellation is checked between chunks
};

struct HParams {
  int n_vocab = 0, n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0;
  int n_ctx_train = 0;
  float rms_eps = 1e-6f;
  float rope_freq_base = 1000000.0f;
  // YaRN / linear rope scaling as declared in qwen2.rope.scaling.* (type "none" when absent).
  std::string rope_scaling_type = "none";
  float rope_scaling_factor = 1.0f;
  int rope_orig_ctx = 0;
  bool tied_embeddings = false;
};

struct SamplerParams {
  float temperature = 0.0f;  // 0 = greedy
  int top_k = 0;             // 0 = off
  float top_p = 1.0f;
  float min_p = 0.0f;
  float repeat_penalty = 1.0f;
  uint64_t seed = 0;
};

enum class LogitsMode { None, Last, All };

// Thrown by eval() when the cancel flag was seen between micro-batches. The sequence keeps the
// tokens evaluated before that point.
struct Cancelled : std::runtime_error {
  Cancelled() : std::runtime_error("cancelled") {}
};

class Model {
 public:
  // Models are made by load_model (loader/load_model.h), which picks the backend.
  virtual ~Model() = default;

  virtual const HParams& hparams() const = 0;
  virtual const GgufFile& gguf() const = 0;
  virtual int context_size() const = 0;                 // KV capacity actually allocated
  virtual std::string backend_description() const = 0;  // "CPU AVX2, 2 threads"
  virtual size_t kv_bytes_per_token() const = 0;
  virtual int kv_used() const = 0;          // tokens held over all sequences
  virtual int kv_block_tokens() const = 0;  // a sequence's KV grows in blocks of this many tokens

  virtual int create_sequence() = 0;  // returns a sequence id
  virtual void free_sequence(int seq) = 0;
  virtual int sequence_length(int seq) const = 0;
  virtual void truncate(int seq, int n) = 0;  // keep the first n positions

  // Appends n tokens to seq at positions [len, len+n) and runs the forward pass in micro-batches.
  // logits_out receives rows x n_vocab floats: none, the last token's row, or one row per token;
  // it may be null, and then nothing is copied out.
  // The last row is also kept internally for sample(). Throws Cancelled if *cancel becomes true
  // between micro-batches, std::runtime_error if the KV cache is full or a token id is out of range.
  virtual void eval(int seq, const int32_t* tokens, int n, LogitsMode mode, std::vector<float>* logits_out,
                    const std::atomic<bool>* cancel) = 0;

  // Samples from seq's last evaluated logits row. `recent` feeds the repetition penalty.
  virtual int32_t sample(int seq, const SamplerParams& params, const int32_t* recent, int n_recent) = 0;

  // Which device runs this model and why (set by load_model).
  const DeviceReport& device_report() const { return device_report_; }
  void set_device_report(DeviceReport r) { device_report_ = std::move(r); }

 private:
  DeviceReport device_report_;
};

}  // namespace qwen
