// The model-loader stage of the GGUF fuzzer. A file the GGUF parser accepted goes on to the Qwen2
// loader; if the loader accepts it too, the same bytes are loaded from disk the way the engine
// does (load_model: mmap, hyper-parameter checks, KV cache, thread pool) and run through a short
// forward pass and the sampler, so weights that passed the checks are also shown to be safe to
// compute with. Every refusal must be a std::runtime_error whose message starts with the file's
// name; any other exception, a disagreement between the two loads, or a sanitizer report fails.
#pragma once
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "loader/load_model.h"
#include "model/model.h"
#include "model/qwen2_weights.h"

namespace qwen_fuzz {

enum class LoaderVerdict { Ran, Rejected, Failed };

struct LoaderResult {
  LoaderVerdict verdict;
  std::string message;  // the refusal (Rejected) or what went wrong (Failed)
};

inline bool names_file(const std::string& msg, const std::string& name) {
  return msg.size() > name.size() + 2 && msg.compare(0, name.size() + 2, name + ": ") == 0 && msg.size() <= 2000;
}

// Loads `bytes` from disk through load_model and runs three tokens and two samples. The in-memory
// loader already accepted the same bytes, so any refusal here is a disagreement (a failure).
inline LoaderResult run_from_disk(const std::vector<uint8_t>& bytes, const std::string& disk_path) {
  if (FILE* f = std::fopen(disk_path.c_str(), "wb")) {
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
  } else {
    return {LoaderVerdict::Failed, "cannot write " + disk_path};
  }
  LoaderResult result{LoaderVerdict::Ran, ""};
  try {
    qwen::ModelOptions opts;
    opts.device = "cpu";
    opts.threads = 1;
    opts.context_size = 64;
    opts.micro_batch = 2;  // two chunks for three tokens: the chunk loop runs too
    auto model = qwen::load_model(disk_path, opts);
    const int n_vocab = model->hparams().n_vocab;
    const int seq = model->create_sequence();
    const int32_t tokens[3] = {0, n_vocab / 2, n_vocab - 1};
    std::vector<float> logits;
    model->eval(seq, tokens, 3, qwen::LogitsMode::All, &logits, nullptr);
    if (logits.size() != size_t(3) * n_vocab) {
      result = {LoaderVerdict::Failed,
                "eval returned " + std::to_string(logits.size()) + " logits for 3 rows of " + std::to_string(n_vocab)};
    }
    qwen::SamplerParams greedy, random;
    random.temperature = 0.8f;
    random.top_k = 5;
    random.top_p = 0.9f;
    random.min_p = 0.05f;
    random.repeat_penalty = 1.1f;
    for (const qwen::SamplerParams& p : {greedy, random}) {
      const int32_t t = model->sample(seq, p, tokens, 3);
      if (t < 0 || t >= n_vocab)
        result = {LoaderVerdict::Failed, "sampled token " + std::to_string(t) + " is out of range"};
    }
    // A token past the vocabulary must be refused without touching the cache.
    const int32_t bad = n_vocab;
    try {
      model->eval(seq, &bad, 1, qwen::LogitsMode::Last, &logits, nullptr);
      result = {LoaderVerdict::Failed, "eval accepted token id " + std::to_string(bad)};
    } catch (const std::runtime_error&) {}
    if (model->sequence_length(seq) != 3)
      result = {LoaderVerdict::Failed, "a refused eval changed the sequence length"};
  } catch (const std::runtime_error& e) {
    result = {LoaderVerdict::Failed, std::string("disk load refused what the memory load accepted: ") + e.what()};
  } catch (const std::exception& e) {
    result = {LoaderVerdict::Failed, std::string("unexpected exception from load_model/eval: ") + e.what()};
  }
  std::remove(disk_path.c_str());
  return result;
}

// Runs the loader on a parsed file (named `name`); on acceptance loads and runs it from disk.
inline LoaderResult check_loader(const qwen::GgufFile& file, const std::string& name, const std::vector<uint8_t>& bytes,
                                 const std::string& disk_path) {
  try {
    qwen::Qwen2Weights w = qwen::load_qwen2_weights(file);
    (void)w;
  } catch (const std::runtime_error& e) {
    // GgufError derives from runtime_error too: both must say which file.
    if (!names_file(e.what(), name))
      return {LoaderVerdict::Failed, std::string("loader error does not name the file: ") + e.what()};
    return {LoaderVerdict::Rejected, e.what()};
  } catch (const std::exception& e) {
    return {LoaderVerdict::Failed, std::string("unexpected exception from the loader: ") + e.what()};
  }
  return run_from_disk(bytes, disk_path);
}

}  // namespace qwen_fuzz
