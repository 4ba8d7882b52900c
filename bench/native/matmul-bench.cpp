// Matmul throughput of the CPU engine for one weight type and shape, measured in thread CPU time
// as well as wall time, so kernels can be compared on a machine that other work is loading.
//   B=build/<dir>; g++ -O2 -std=c++17 -I native/src bench/native/matmul-bench.cpp $B/libqwen_cpu.a $B/libqwen_model.a \
//     $B/libqwen_gguf.a $B/libqwen_quants.a $B/libqwen_base.a -lpthread -o /tmp/mmb
//   /tmp/mmb TYPE ROWS COLS NTOK THREADS [REPS] [cold|hot] [packed|rows]   e.g. /tmp/mmb Q8_0 4864 896 512 1
// "packed" (the default, as the model loads it) repacks the matrix into 8-row groups where this CPU
// has packed kernels for the type (quants/packed.h); "rows" keeps GGML's row layout.
// Prints GMAC/s per CPU-second and per wall-second.
// "cold" (the default) cycles through enough copies of the matrix (>= 256 MiB) that every call
// reads its weights from DRAM, as decode does with a real model; "hot" reuses one copy, which
// stays in L2/L3 when small. A kernel that wins hot can lose cold (the two-row decode kernel did).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "cpu/matmul.h"
#include "cpu/thread_pool.h"
#include "cpu/weight_arena.h"
#include "quants/quants.h"

using namespace qwen;

static double process_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: %s TYPE ROWS COLS NTOK THREADS [REPS]\n", argv[0]);
    return 2;
  }
  const std::string type_name = argv[1];
  const int64_t rows = std::atoll(argv[2]), cols = std::atoll(argv[3]);
  const int n_tok = std::atoi(argv[4]), threads = std::atoi(argv[5]);
  const int reps = argc > 6 ? std::atoi(argv[6]) : 5;
  const std::string cache_mode = argc > 7 ? argv[7] : "cold";
  const std::string layout = argc > 8 ? argv[8] : "packed";
  if (layout != "packed" && layout != "rows") {
    std::fprintf(stderr, "layout must be packed or rows, not %s\n", layout.c_str());
    return 2;
  }
  if (cache_mode != "cold" && cache_mode != "hot") {
    std::fprintf(stderr, "cache mode must be cold or hot, not %s\n", cache_mode.c_str());
    return 2;
  }
  const TypeTraits* tt = nullptr;
  GgmlType type = GgmlType::F32;
  for (uint32_t id = 0; id < kGgmlTypeIdLimit; ++id) {
    const TypeTraits* t = type_traits(id);
    if (t && type_name == t->name) {
      tt = t;
      type = static_cast<GgmlType>(id);
    }
  }
  if (!tt || !tt->quantize_row) {
    std::fprintf(stderr, "unknown or unwritable type %s\n", type_name.c_str());
    return 2;
  }
  std::mt19937 rng(42);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> wf(cols), x((size_t)n_tok * cols), y((size_t)n_tok * rows);
  const size_t rb = row_size(type, cols);
  std::vector<uint8_t> wq(rb * rows);
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : wf) v = nd(rng) * 0.02f;
    tt->quantize_row(wf.data(), wq.data() + rb * r, cols);
  }
  for (auto& v : x) v = nd(rng);
  const PackedTraits* packed = layout == "packed" && rows % kPackRows == 0 ? packed_traits(type) : nullptr;
  if (packed) {
    std::vector<uint8_t> groups(wq.size());
    pack_groups(*packed, wq.data(), rb, (int)cols, 0, rows / kPackRows, groups.data());
    wq.swap(groups);
  }
  const size_t kColdBytes = size_t(256) << 20;
  const size_t copies = cache_mode == "hot" ? 1 : std::max<size_t>(1, (kColdBytes + wq.size() - 1) / wq.size());
  // Identical bytes at different addresses, in the engine's weight memory (huge pages).
  WeightArena arena;
  arena.reserve(wq.size() * copies + 64 * copies);
  std::vector<uint8_t*> copy_at(copies);
  for (size_t c = 0; c < copies; ++c) {
    copy_at[c] = arena.take(wq.size());
    std::memcpy(copy_at[c], wq.data(), wq.size());
  }
  WeightMatrix w;
  w.type = type;
  w.data = copy_at[0];
  w.rows = rows;
  w.cols = cols;
  w.row_bytes = rb;
  w.packed = packed;
  ThreadPool pool(threads);
  MatmulScratch scratch;
  matmul(pool, w, x.data(), n_tok, y.data(), scratch);  // warm-up
  const double c0 = process_cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) {
    w.data = copy_at[(size_t)r % copies];
    matmul(pool, w, x.data(), n_tok, y.data(), scratch);
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = process_cpu_seconds() - c0;
  const double gmac = (double)rows * cols * n_tok * reps * 1e-9;
  double check = 0;
  for (float v : y) check += v;
  std::printf(
      "%s%s %lldx%lld ntok=%d threads=%d %s: %.2f GMAC/cpu-s, %.2f GMAC/wall-s, %.3f ms/call wall, %.1f GB/s wall (weights), checksum %.4f\n",
      type_name.c_str(), packed ? " packed" : "", (long long)rows, (long long)cols, n_tok, threads, cache_mode.c_str(),
      gmac / cpu, gmac / wall, wall * 1e3 / reps, (double)wq.size() * reps / wall * 1e-9, check);
  return 0;
}
