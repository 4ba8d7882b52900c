// The KV cache's memory follows the tokens cached, not the context size: a pool for a 32K context
// of a 0.5B-shaped model (384 MiB of K and V) adds almost nothing to resident memory until
// tokens are written, and then grows by about their blocks' pages. Reads of untouched blocks are
// zeros, as the pool promised before it was mapped instead of filled.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "model/kv_cache.h"
#include "test_framework.h"

using namespace qwen;

namespace {

// Resident set of this process in bytes (second field of /proc/self/statm, in pages).
double resident_mib() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return (double)resident * (double)sysconf(_SC_PAGESIZE) / (1 << 20);
}

}  // namespace

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
