// Byte-for-byte comparison with GGML itself: node-llama-cpp (a dev dependency) ships llama.cpp's
// prebuilt libggml-base.so, which exports GGML's reference quantizers (quantize_row_*_ref) and
// dequantizers. We load it with dlopen and check that
//   - our quantizer writes exactly the blocks GGML's reference quantizer writes, every format
//     including the K-quants' scale searches (measured: all blocks identical), and
//   - GGML's dequantizer decodes our blocks to exactly the values ours does (layout agreement).
// Where the library is absent (another platform, or node_modules not installed) the test prints
// SKIP with the reason and checks nothing else.
#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "quants/quants.h"
#include "test_framework.h"

using namespace qwen;

namespace {

const char* kLibRelative = "node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so";

// Looks for the library under $QWEN_GGML_BASE_LIB, then in the current directory and the
// executable's folder and their parents (the tests run from the repository root or build/...).
std::string find_ggml_base() {
  if (const char* env = std::getenv("QWEN_GGML_BASE_LIB")) return env;
  std::vector<std::string> starts;
  char buf[4096];
  if (getcwd(buf, sizeof buf)) starts.emplace_back(buf);
  const ssize_t len = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (len > 0) {
    buf[len] = 0;
    std::string dir(buf);
    starts.push_back(dir.substr(0, dir.rfind('/')));
  }
  for (std::string dir : starts) {
    for (int up = 0; up < 6 && !dir.empty(); ++up) {
      const std::string candidate = dir + "/" + kLibRelative;
      if (access(candidate.c_str(), R_OK) == 0) return candidate;
      dir = dir.substr(0, dir.rfind('/'));
    }
  }
  return "";
}

void* ggml_base() {
  static void* handle = [] {
    const std::string path = find_ggml_base();
    return path.empty() ? nullptr : dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  }();
  return handle;
}

using GgmlQuantize = void (*)(const float*, void*, int64_t);
using GgmlDequantize = void (*)(const void*, float*, int64_t);

struct Pair {
  GgmlType type;
  const char* quantize;     // GGML's reference quantizer symbol
  const char* dequantize;   // GGML's dequantizer symbol
  double min_equal_blocks;  // fraction of blocks that must be byte-identical
};

const Pair kPairs[] = {
    {GgmlType::Q4_0, "quantize_row_q4_0_ref", "dequantize_row_q4_0", 1.0},
    {GgmlType::Q4_1, "quantize_row_q4_1_ref", "dequantize_row_q4_1", 1.0},
    {GgmlType::Q5_0, "quantize_row_q5_0_ref", "dequantize_row_q5_0", 1.0},
    {GgmlType::Q5_1, "quantize_row_q5_1_ref", "dequantize_row_q5_1", 1.0},
    {GgmlType::Q8_0, "quantize_row_q8_0_ref", "dequantize_row_q8_0", 1.0},
    {GgmlType::Q2_K, "quantize_row_q2_K_ref", "dequantize_row_q2_K", 1.0},
    {GgmlType::Q3_K, "quantize_row_q3_K_ref", "dequantize_row_q3_K", 1.0},
    {GgmlType::Q4_K, "quantize_row_q4_K_ref", "dequantize_row_q4_K", 1.0},
    {GgmlType::Q5_K, "quantize_row_q5_K_ref", "dequantize_row_q5_K", 1.0},
    {GgmlType::Q6_K, "quantize_row_q6_K_ref", "dequantize_row_q6_K", 1.0},
    {GgmlType::Q8_K, "quantize_row_q8_K_ref", "dequantize_row_q8_K", 1.0},
};

}  // namespace

QWEN_TEST(quants_match_ggml_reference_bytes) {
  if (!ggml_base()) {
    std::printf("SKIP quants_match_ggml_reference_bytes: could not load %s (set QWEN_GGML_BASE_LIB to its path)\n",
                kLibRelative);
    return;
  }
  const int n = 256 * 64;
  std::mt19937 rng(1234);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(n);
  // Mixed magnitudes and some exact zeros, like real weight rows.
  for (int i = 0; i < n; ++i) x[i] = (i % 97 == 0) ? 0.0f : normal(rng) * (1.0f + (i / 256) % 5);
  std::string summary;
  for (const Pair& p : kPairs) {
    auto gq = reinterpret_cast<GgmlQuantize>(dlsym(ggml_base(), p.quantize));
    auto gd = reinterpret_cast<GgmlDequantize>(dlsym(ggml_base(), p.dequantize));
    if (!gq || !gd) qwen_test::fail(__FILE__, __LINE__, std::string("libggml-base.so lacks ") + p.quantize);
    const TypeTraits& t = traits(p.type);
    std::vector<uint8_t> ours(row_size(p.type, n)), theirs(row_size(p.type, n));
    t.quantize_row(x.data(), ours.data(), n);
    gq(x.data(), theirs.data(), n);
    const int blocks = n / t.block_size;
    int equal = 0;
    for (int b = 0; b < blocks; ++b)
      equal += std::memcmp(&ours[b * t.type_size], &theirs[b * t.type_size], t.type_size) == 0;
    if (equal < p.min_equal_blocks * blocks) {
      qwen_test::fail(__FILE__, __LINE__,
                      std::string(t.name) + ": only " + std::to_string(equal) + " of " + std::to_string(blocks) +
                          " blocks match GGML's reference quantizer");
    }
    // Both decoders must read our blocks identically (bit-exact floats).
    std::vector<float> a(n), b(n);
    t.dequantize_row(ours.data(), a.data(), n);
    gd(ours.data(), b.data(), n);
    for (int i = 0; i < n; ++i) {
      if (a[i] != b[i]) {
        qwen_test::fail(__FILE__, __LINE__,
                        std::string(t.name) + ": value " + std::to_string(i) + " decodes to " + std::to_string(a[i]) +
                            " here but " + std::to_string(b[i]) + " in GGML");
      }
    }
    summary += std::string(" ") + t.name + " " + std::to_string(equal) + "/" + std::to_string(blocks);
  }
  std::printf("  blocks byte-identical to GGML's reference:%s\n", summary.c_str());
}
