// The whole CUDA model against the naive double-precision Qwen2 forward of
// test_reference_forward.h (the one the CPU model tests use): a tiny GGUF
// (256 hidden, 2 layers, 4 heads / 2 KV heads, 512 FFN, 300-token vocabulary, tied embeddings)
// in F32 and in Q8_0 is written to a temporary file, loaded with load_cuda_model, and its logits
// for a chunked prefill (micro-batch 8: tensor-core GEMM path) and for single-token decodes
// (GEMV + flash-decoding path) must match the reference computed from the same dequantized
// weights. Greedy sampling must pick the reference's argmax.
#include <cstdio>

#include "test_framework.h"

#ifdef QWEN_HAVE_CUDA
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "cuda/cuda_model.h"
#include "loader/load_model.h"
#include "test_cuda_util.h"
#include "test_gguf_writer.h"
#include "test_reference_forward.h"

using namespace qwen_cuda_test;
using qwen::GgmlType;

namespace {

constexpr int kEmbd = 256, kLayers = 2, kHeads = 4, kKvHeads = 2, kFf = 512, kVocab = 300, kHd = kEmbd / kHeads;
constexpr double kEps = 1e-6, kBase = 1e6;
// Tolerance relative to the largest |logit| of the reference (about 50 for this model): the GPU
// GEMM rounds activations and weights to f16 and the KV cache is f16, which after two layers
// leaves differences of a few 1e-3 of the logit range.
constexpr double kLogitRelTol = 1e-2;

// The tiny model's shape, as the reference forward pass reads it.
qwen_test::ReferenceShape tiny_shape() {
  qwen_test::ReferenceShape s;
  s.n_embd = kEmbd, s.n_head = kHeads, s.n_head_kv = kKvHeads, s.n_ff = kFf, s.n_layer = kLayers, s.n_vocab = kVocab;
  s.rope_freq_base = kBase, s.rms_eps = kEps, s.tied = true;
  return s;
}

struct TinyModel {
  qwen_test::ReferenceWeights w;  // reference weights (dequantized), by GGUF name
  std::string path;
};

// Writes the tiny model with matrices stored as `t` and returns the reference weights as read
// back through the CPU scalar dequantizer.
TinyModel write_tiny_model(GgmlType t, uint32_t seed) {
  using namespace qwen_test;
  TinyModel m;
  Builder b;
  b.kv("general.architecture", v_str("qwen2"))
      .kv("qwen2.embedding_length", v_u32(kEmbd))
      .kv("qwen2.block_count", v_u32(kLayers))
      .kv("qwen2.attention.head_count", v_u32(kHeads))
      .kv("qwen2.attention.head_count_kv", v_u32(kKvHeads))
      .kv("qwen2.feed_forward_length", v_u32(kFf))
      .kv("qwen2.context_length", v_u32(2048))
      .kv("qwen2.attention.layer_norm_rms_epsilon", v_f32(static_cast<float>(kEps)))
      .kv("qwen2.rope.freq_base", v_f32(static_cast<float>(kBase)));
  auto add = [&](const std::string& name, int64_t rows, int64_t k, float scale, bool matrix) {
    std::vector<float> v = random_floats(rows * k, seed++, scale);
    std::vector<uint8_t> bytes;
    const GgmlType type = matrix ? t : GgmlType::F32;
    encode_rows(type, v, rows, k, &bytes);
    m.w[name] = decode_rows(type, bytes, rows, k);
    Tensor tensor{name,
                  matrix ? std::vector<uint64_t>{uint64_t(k), uint64_t(rows)} : std::vector<uint64_t>{uint64_t(k)},
                  static_cast<uint32_t>(type), bytes};
    b.tensor(tensor);
  };
  add("token_embd.weight", kVocab, kEmbd, 1.0f, true);
  add("output_norm.weight", 1, kEmbd, 1.0f, false);
  for (int l = 0; l < kLayers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    const float ws = 1.0f / std::sqrt(static_cast<float>(kEmbd));
    add(p + "attn_norm.weight", 1, kEmbd, 1.0f, false);
    add(p + "attn_q.weight", kEmbd, kEmbd, ws, true);
    add(p + "attn_k.weight", kKvHeads * kHd, kEmbd, ws, true);
    add(p + "attn_v.weight", kKvHeads * kHd, kEmbd, ws, true);
    add(p + "attn_q.bias", 1, kEmbd, 0.1f, false);
    add(p + "attn_k.bias", 1, kKvHeads * kHd, 0.1f, false);
    add(p + "attn_v.bias", 1, kKvHeads * kHd, 0.1f, false);
    add(p + "attn_output.weight", kEmbd, kEmbd, ws, true);
    add(p + "ffn_norm.weight", 1, kEmbd, 1.0f, false);
    add(p + "ffn_gate.weight", kFf, kEmbd, ws, true);
    add(p + "ffn_up.weight", kFf, kEmbd, ws, true);
    add(p + "ffn_down.weight", kEmbd, kFf, 1.0f / std::sqrt(static_cast<float>(kFf)), true);
  }
  const Bytes img = b.build();
  char name[] = "/tmp/qwen-cuda-test-XXXXXX";
  const int fd = mkstemp(name);
  if (fd >= 0) {
    const ssize_t wrote = write(fd, img.data.data(), img.data.size());
    close(fd);
    if (wrote == static_cast<ssize_t>(img.data.size())) m.path = name;
  }
  return m;
}

using Vec = std::vector<double>;

// The reference logits of tokens at positions 0..n-1, one row per token.
std::vector<Vec> reference_logits(const TinyModel& m, const std::vector<int32_t>& tokens) {
  const std::vector<double> flat = qwen_test::reference_logits(tiny_shape(), m.w, tokens);
  std::vector<Vec> rows(tokens.size());
  for (size_t t = 0; t < rows.size(); ++t) rows[t].assign(flat.begin() + t * kVocab, flat.begin() + (t + 1) * kVocab);
  return rows;
}

// Largest |got - want| divided by the largest |want|.
double max_diff(const float* got, const Vec& want) {
  double worst = 0.0, range = 1e-9;
  for (double w : want) range = std::max(range, std::fabs(w));
  for (size_t i = 0; i < want.size(); ++i) {
    const double d = std::fabs(got[i] - want[i]);
    worst = std::isnan(d) ? INFINITY : std::max(worst, d);
  }
  return worst / range;
}

void check_model(GgmlType t, double tol, bool graphs) {
  // The decode steps below run through CUDA graphs unless QWEN_CUDA_GRAPH=0 at load time.
  setenv("QWEN_CUDA_GRAPH", graphs ? "1" : "0", 1);
  TinyModel tm = write_tiny_model(t, 1000);
  CHECK(!tm.path.empty());
  if (tm.path.empty()) return;
  qwen::ModelOptions opts;
  opts.context_size = 256;
  opts.micro_batch = 8;
  std::unique_ptr<qwen::Model> model = qwen::load_cuda_model(tm.path, opts);
  const std::vector<int32_t> tokens = {1, 17, 299, 42, 42, 7, 150, 3, 88, 200, 5, 61, 0, 12};
  const std::vector<Vec> want = reference_logits(tm, tokens);
  const int seq = model->create_sequence();
  const int prompt = 11;  // two micro-batches of 8 and 3: GEMM, then GEMV on the tail
  std::vector<float> logits;
  model->eval(seq, tokens.data(), prompt, qwen::LogitsMode::All, &logits, nullptr);
  CHECK(logits.size() == static_cast<size_t>(prompt) * kVocab);
  double worst = 0.0;
  for (int i = 0; i < prompt && logits.size() == static_cast<size_t>(prompt) * kVocab; ++i)
    worst = std::max(worst, max_diff(logits.data() + i * kVocab, want[i]));
  for (size_t i = prompt; i < tokens.size(); ++i) {  // single-token decode steps
    model->eval(seq, &tokens[i], 1, qwen::LogitsMode::Last, &logits, nullptr);
    CHECK(logits.size() == static_cast<size_t>(kVocab));
    worst = std::max(worst, max_diff(logits.data(), want[i]));
  }
  const int32_t greedy = model->sample(seq, qwen::SamplerParams{}, nullptr, 0);
  const Vec& last = want.back();
  const int32_t ref = static_cast<int32_t>(std::max_element(last.begin(), last.end()) - last.begin());
  double range = 0.0;
  for (double w : last) range = std::max(range, std::fabs(w));
  std::printf("    %s%s: worst logit difference %.3e of the logit range (tolerance %.1e), greedy %d vs reference %d\n",
              qwen::traits(t).name, graphs ? "" : " (no graphs)", worst, tol, greedy, ref);
  CHECK_NEAR(worst, 0.0, tol);
  // Greedy must pick the reference's best token, or one whose reference logit is within the
  // tolerance of it (a near tie that f16 rounding may legitimately flip).
  CHECK(greedy >= 0 && greedy < kVocab && last[greedy] >= last[ref] - tol * range);
  CHECK(model->sequence_length(seq) == static_cast<int>(tokens.size()));
  model->truncate(seq, 4);
  CHECK(model->sequence_length(seq) == 4);
  model.reset();
  unlink(tm.path.c_str());
}

}  // namespace

QWEN_TEST(cuda_model_logits_match_reference_f32) {
  if (!gpu_or_skip("cuda_model f32")) return;
  check_model(GgmlType::F32, kLogitRelTol, true);
}

QWEN_TEST(cuda_model_logits_match_reference_without_graphs) {
  if (!gpu_or_skip("cuda_model no graphs")) return;
  check_model(GgmlType::F32, kLogitRelTol, false);
}

QWEN_TEST(cuda_model_logits_match_reference_q8_0) {
  if (!gpu_or_skip("cuda_model q8_0")) return;
  // The reference uses the same dequantized Q8_0 weights, so the tolerance does not grow.
  check_model(GgmlType::Q8_0, kLogitRelTol, true);
}

QWEN_TEST(cuda_model_rejects_bad_input_with_clear_errors) {
  if (!gpu_or_skip("cuda_model errors")) return;
  TinyModel tm = write_tiny_model(GgmlType::F32, 2000);
  qwen::ModelOptions opts;
  opts.context_size = 64;
  std::unique_ptr<qwen::Model> model = qwen::load_cuda_model(tm.path, opts);
  const int seq = model->create_sequence();
  const int32_t bad = kVocab;
  std::string msg;
  try {
    model->eval(seq, &bad, 1, qwen::LogitsMode::Last, nullptr, nullptr);
  } catch (const std::exception& e) {
    msg = e.what();
  }
  CHECK(msg.find("outside the vocabulary") != std::string::npos);
  std::vector<int32_t> many(65, 1);
  msg.clear();
  try {
    model->eval(seq, many.data(), 65, qwen::LogitsMode::None, nullptr, nullptr);
  } catch (const std::exception& e) {
    msg = e.what();
  }
  CHECK(msg.find("KV cache full") != std::string::npos);
  msg.clear();
  try {
    qwen::load_cuda_model("/nonexistent/model.gguf", opts);
  } catch (const std::exception& e) {
    msg = e.what();
  }
  CHECK(msg.find("/nonexistent/model.gguf") != std::string::npos);
  unlink(tm.path.c_str());
}

// Runs with or without a GPU: the naive reference above must agree with the CPU backend on the
// same file, so a GPU failure below points at the GPU, not at the reference or the test model.
QWEN_TEST(cuda_test_reference_matches_cpu_backend) {
  TinyModel tm = write_tiny_model(GgmlType::F32, 1000);
  CHECK(!tm.path.empty());
  qwen::ModelOptions opts;
  opts.device = "cpu";
  opts.context_size = 256;
  opts.threads = 1;
  std::unique_ptr<qwen::Model> cpu = qwen::load_model(tm.path, opts);
  const std::vector<int32_t> tokens = {1, 17, 299, 42, 42, 7, 150, 3};
  const std::vector<Vec> want = reference_logits(tm, tokens);
  const int seq = cpu->create_sequence();
  std::vector<float> logits;
  cpu->eval(seq, tokens.data(), static_cast<int>(tokens.size()), qwen::LogitsMode::All, &logits, nullptr);
  CHECK(logits.size() == tokens.size() * kVocab);
  double worst = 0.0;
  for (size_t i = 0; i < tokens.size(); ++i) worst = std::max(worst, max_diff(logits.data() + i * kVocab, want[i]));
  std::printf("    CPU backend vs test reference: worst difference %.3e of the logit range\n", worst);
  // Same f32 weights and, like the reference, K/V rounded to f16; what is left is the CPU backend's
  // f32 sums (about 2e-7 of the range here).
  CHECK_NEAR(worst, 0.0, 1e-3);
  cpu.reset();
  unlink(tm.path.c_str());
}

#endif  // QWEN_HAVE_CUDA (without it, test_cuda_kernels.cpp prints the one skip notice)
