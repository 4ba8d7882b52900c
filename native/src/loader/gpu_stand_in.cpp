// The stand-in GPU backend (loader/gpu_stand_in.h): forwards everything to a CPU model and
// perturbs or fails on purpose.
#include "loader/gpu_stand_in.h"

#include <cmath>
#include <cstdlib>
#include <random>

#include "cpu/cpu_model.h"

namespace qwen {

namespace {

class StandInGpuModel final : public Model {
 public:
  StandInGpuModel(std::unique_ptr<Model> inner, std::string mode, double noise, long fault_after)
      : inner_(std::move(inner)), mode_(std::move(mode)), noise_(noise), fault_after_(fault_after) {}

  const HParams& hparams() const override { return inner_->hparams(); }
  const GgufFile& gguf() const override { return inner_->gguf(); }
  int context_size() const override { return inner_->context_size(); }
  std::string backend_description() const override {
    return "test stand-in GPU (QWEN_TEST_FAKE_GPU=" + mode_ + ") over " + inner_->backend_description();
  }
  size_t kv_bytes_per_token() const override { return inner_->kv_bytes_per_token(); }
  int kv_used() const override { return inner_->kv_used(); }
  int kv_block_tokens() const override { return inner_->kv_block_tokens(); }
  int create_sequence() override { return inner_->create_sequence(); }
  void free_sequence(int seq) override { inner_->free_sequence(seq); }
  int sequence_length(int seq) const override { return inner_->sequence_length(seq); }
  void truncate(int seq, int n) override { inner_->truncate(seq, n); }

  void eval(int seq, const int32_t* tokens, int n, LogitsMode mode, std::vector<float>* logits_out,
            const std::atomic<bool>* cancel) override {
    if (fault_after_ >= 0 && ++evals_ > fault_after_) faulted_ = true;
    if (faulted_)
      throw GpuFault(
          "CUDA stream synchronize (a kernel failed): an illegal memory access was encountered "
          "(the GPU context is lost) [QWEN_TEST_FAKE_GPU]");
    inner_->eval(seq, tokens, n, mode, logits_out, cancel);
    if (noise_ > 0 && logits_out && !logits_out->empty()) perturb(*logits_out);
  }

  int32_t sample(int seq, const SamplerParams& params, const int32_t* recent, int n_recent) override {
    if (faulted_) throw GpuFault("CUDA download: an illegal memory access was encountered [QWEN_TEST_FAKE_GPU]");
    return inner_->sample(seq, params, recent, n_recent);
  }

 private:
  void perturb(std::vector<float>& rows) {
    const size_t V = static_cast<size_t>(inner_->hparams().n_vocab);
    std::normal_distribution<float> gauss(0.0f, 1.0f);
    for (size_t r = 0; r + V <= rows.size(); r += V) {
      double ss = 0;
      for (size_t j = 0; j < V; ++j) ss += static_cast<double>(rows[r + j]) * rows[r + j];
      const float scale = static_cast<float>(noise_ * std::sqrt(ss / V));
      for (size_t j = 0; j < V; ++j) rows[r + j] += scale * gauss(rng_);
    }
  }

  std::unique_ptr<Model> inner_;
  std::string mode_;
  double noise_;
  long fault_after_;
  long evals_ = 0;
  bool faulted_ = false;
  std::mt19937 rng_{12345};
};

bool parse_number(const std::string& text, double* out) {
  char* end = nullptr;
  *out = std::strtod(text.c_str(), &end);
  return !text.empty() && end && *end == '\0' && std::isfinite(*out) && *out >= 0;
}

}  // namespace

std::unique_ptr<Model> load_gpu_stand_in(const std::string& mode, const std::string& path, const ModelOptions& opts,
                                         const std::function<void(float)>& progress) {
  double noise = 0;
  long fault_after = -1;
  double v = 0;
  if (mode == "exact") {
  } else if (mode == "oom") {
    throw GpuOutOfMemory(
        "CUDA out of memory: could not allocate 512 MiB on the GPU (out of memory) [QWEN_TEST_FAKE_GPU]");
  } else if (mode.rfind("perturb:", 0) == 0 && parse_number(mode.substr(8), &v)) {
    noise = v;
  } else if (mode.rfind("fault-after:", 0) == 0 && parse_number(mode.substr(12), &v)) {
    fault_after = static_cast<long>(v);
  } else {
    throw std::runtime_error("QWEN_TEST_FAKE_GPU='" + mode + "': expected exact, perturb:<e>, oom or fault-after:<n>");
  }
  ModelOptions cpu_opts = opts;
  cpu_opts.device = "cpu";
  return std::make_unique<StandInGpuModel>(load_cpu_model(path, cpu_opts, progress), mode, noise, fault_after);
}

}  // namespace qwen
