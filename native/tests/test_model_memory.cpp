// Resident memory follows use, not sizes:
//   - the KV cache: a pool for a 32K context of a 0.5B-shaped model (384 MiB of K and V) adds
//     almost nothing until tokens are written, then about their blocks' pages; unwritten blocks
//     read as zeros, as the pool promised before it was mapped instead of filled;
//   - the token embedding, which stays in the GGUF file: looking up a prompt's rows leaves none of
//     the file's pages mapped in this process (they are read, not faulted in, which would map
//     64 KB around each row).
#include <unistd.h>

#include <cctype>
#include <cmath>

#include <cstdio>
#include <fstream>
#include <string>

#include "cpu/kv_cache.h"
#include "loader/load_model.h"
#include "model/model.h"
#include "test_framework.h"
#include "test_model_util.h"

using namespace qwen;

namespace {

// Resident set of this process in bytes (second field of /proc/self/statm, in pages).
double resident_mib() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return (double)resident * (double)sysconf(_SC_PAGESIZE) / (1 << 20);
}

// Resident KiB of this process's mappings of `path` (the Rss lines of its /proc/self/smaps entries).
long mapped_rss_kib(const std::string& path) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool in_file = false;
  long kib = 0;
  while (std::getline(smaps, line)) {
    // Mapping headers start with "start-end perms"; the fields below them start with a name.
    const bool header = !line.empty() && std::isxdigit((unsigned char)line[0]) && line.find('-') < line.find(' ');
    if (header) in_file = line.size() >= path.size() && line.compare(line.size() - path.size(), path.size(), path) == 0;
    else if (in_file && line.rfind("Rss:", 0) == 0) kib += std::stol(line.substr(4));
  }
  return kib;
}

}  // namespace

QWEN_TEST(model_embedding_lookups_leave_no_file_pages_mapped) {
  // 8192 rows of 64 floats: a 2 MiB embedding, 16 rows per page; tied, as in the 0.5B and 1.5B.
  qwen_test::TinySpec spec;
  spec.n_vocab = 8192;
  const qwen_test::TinyModel tiny = qwen_test::write_tiny_model(spec, "embedding-pages");
  {
    ModelOptions o;
    o.device = "cpu";
    o.threads = 2;
    o.context_size = 256;
    auto model = load_model(tiny.path, o);
    const int seq = model->create_sequence();
    std::vector<int32_t> tokens;
    for (int i = 0; i < 96; ++i) tokens.push_back((i * 85) % spec.n_vocab);  // a new page each
    std::vector<float> logits;
    // The header and metadata pages the parser read stay mapped; only the growth counts.
    const long loaded = mapped_rss_kib(tiny.path);
    model->eval(seq, tokens.data(), (int)tokens.size(), LogitsMode::Last, &logits, nullptr);
    const long grown = mapped_rss_kib(tiny.path) - loaded;
    std::printf("  %ld KiB of the file mapped after loading, +%ld KiB after looking up 96 rows\n", loaded, grown);
    // Faulting the rows in would add 384 KiB (a page each) to 2 MiB (fault-around).
    CHECK(grown == 0);
    CHECK((int)logits.size() == spec.n_vocab && std::isfinite(logits[0]));
  }
  std::remove(tiny.path.c_str());
}

QWEN_TEST(kv_cache_memory_follows_tokens_not_capacity) {
  const int layers = 24, kv_dim = 128, capacity = 32768;
  const double pool_mib = 2.0 * layers * kv_dim * capacity * 2 / (1 << 20);  // K and V, f16
  CHECK(pool_mib == 384.0);
  const double before = resident_mib();
  KvCache kv(layers, kv_dim, capacity);
  const double created = resident_mib() - before;
  std::printf("  KV pool %.0f MiB: +%.1f MiB resident when created", pool_mib, created);
  CHECK(created < 4.0);

  // 256 tokens in every layer: 8 blocks x 24 layers x (K + V) x 8 KiB = 3 MiB of pages.
  const int seq = kv.create_sequence();
  kv.reserve(seq, 256);
  for (int l = 0; l < layers; ++l)
    for (int p = 0; p < 256; ++p) {
      kv.k_row(l, seq, p)[0] = (uint16_t)(p + 1);
      kv.v_row(l, seq, p)[kv_dim - 1] = (uint16_t)(l + 1);
    }
  kv.set_length(seq, 256);
  const double written = resident_mib() - before;
  std::printf(", +%.1f MiB after 256 tokens\n", written);
  CHECK(written >= 2.5 && written < 8.0);
  CHECK(kv.k_row(23, seq, 255)[0] == 256 && kv.v_row(7, seq, 3)[kv_dim - 1] == 8);
  CHECK(kv.k_row(5, seq, 17)[1] == 0 && kv.v_row(5, seq, 17)[0] == 0);

  // A block nobody wrote reads as zeros.
  const int other = kv.create_sequence();
  kv.reserve(other, 32);
  for (int j = 0; j < kv_dim; ++j) CHECK(kv.k_row(0, other, 31)[j] == 0 && kv.v_row(23, other, 0)[j] == 0);
}
