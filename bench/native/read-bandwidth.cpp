// How fast this machine's threads can stream memory when they do nothing else: the ceiling for
// decode, which reads every weight once per token. Compares 4 KiB pages with 2 MiB transparent
// huge pages and one sequential stream per thread with several interleaved ones.
//   g++ -O2 -mavx2 -std=c++17 bench/native/read-bandwidth.cpp -lpthread -o /tmp/rbw
//   /tmp/rbw THREADS STREAMS_PER_THREAD [huge|small] [MiB]      e.g. /tmp/rbw 2 1 huge 1024
// Prints the best of 5 passes in GB/s.
#include <immintrin.h>
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s THREADS STREAMS_PER_THREAD [huge|small] [MiB]\n", argv[0]);
    return 2;
  }
  const int threads = std::atoi(argv[1]), streams = std::atoi(argv[2]);
  const bool huge = argc <= 3 || std::string(argv[3]) == "huge";
  const size_t page = size_t(2) << 20;
  const size_t bytes = (argc > 4 ? std::atoll(argv[4]) : 1024) * (size_t(1) << 20);
  if (threads < 1 || streams < 1 || bytes < page * threads * streams) {
    std::fprintf(stderr, "need threads >= 1, streams >= 1 and at least 2 MiB per stream\n");
    return 2;
  }
  void* raw = mmap(nullptr, bytes + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return 1;
  char* base = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(raw) + page - 1) & ~(uintptr_t)(page - 1));
  madvise(base, bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  std::memset(base, 1, bytes);
  double best = 0;
  std::vector<long long> sink(threads);
  for (int pass = 0; pass < 5; ++pass) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        const size_t share = bytes / threads, lane = share / streams / 64 * 64;
        const char* mine = base + share * t;
        __m256i acc = _mm256_setzero_si256();
        for (size_t i = 0; i < lane; i += 64) {
          for (int s = 0; s < streams; ++s) {
            const char* p = mine + lane * s + i;
            acc = _mm256_add_epi8(acc, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
            acc = _mm256_add_epi8(acc, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32)));
          }
        }
        sink[t] = _mm256_extract_epi64(acc, 0);  // keeps the loads from being optimized away
      });
    }
    for (auto& th : pool) th.join();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, bytes / s * 1e-9);
  }
  std::printf("threads=%d streams/thread=%d pages=%s: best %.1f GB/s (checksum %lld)\n", threads, streams,
              huge ? "2 MiB" : "4 KiB", best, sink[0]);
  return 0;
}
