// A self-contained mutation fuzzer for the GGUF parser (no libFuzzer needed, so it runs in CI
// with g++ alone). It starts from small valid files, damages them the ways real corruption and
// hostile inputs do (bit flips, truncation, inserted and deleted ranges, splices, and edge values
// written into the exact header fields: counts, lengths, n_dims, dims, types, offsets), and
// parses each result from an exact-size heap buffer so AddressSanitizer sees any read past the end.
// Every 500th input is also written to disk and opened through mmap, which must agree.
//
// Every input must either parse (and then survive exercise(), which reads all it promised) or be
// rejected with GgufError whose message names the input. Anything else, a different exception or
// a sanitizer report, is a failure; the offending input is saved for replay with --replay.
//
//   gguf_mutate [--iterations N] [--seed S] [--corpus DIR] [--write-corpus DIR] [--replay FILE]
//               [--failure-path FILE] [--show-errors N]
#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gguf_fuzz_common.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define QWEN_HAVE_SANITIZER 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define QWEN_HAVE_SANITIZER 1
#endif
#ifdef QWEN_HAVE_SANITIZER
#include <sanitizer/common_interface_defs.h>
#endif

namespace {

using qwen_test::Bytes;
using qwen_test::Field;

const char* const kInputName = "fuzz-input";
std::string g_failure_path = "gguf-fuzz-failure.gguf";
std::vector<uint8_t> g_current;  // the input being parsed, saved if the process dies
uint64_t g_show_errors = 0;      // --show-errors N: print the first N rejection messages

void save_current() {
  if (FILE* f = std::fopen(g_failure_path.c_str(), "wb")) {
    std::fwrite(g_current.data(), 1, g_current.size(), f);
    std::fclose(f);
    std::fprintf(stderr, "gguf_mutate: failing input saved to %s (%zu bytes)\n", g_failure_path.c_str(),
                 g_current.size());
  }
}

struct Mutator {
  std::mt19937_64 rng;
  explicit Mutator(uint64_t seed) : rng(seed) {}

  uint64_t below(uint64_t n) { return n == 0 ? 0 : rng() % n; }

  // Edge values for integer fields: zero, one, off-by-one around the real value, powers of two,
  // sign-bit patterns and sizes near the file's own length.
  uint64_t interesting(uint64_t current, uint64_t file_size, int width) {
    static const uint64_t fixed[] = {0, 1, 2, 3, 4, 5, 7, 8, 13, 31, 32, 33, 64, 255, 256, 0x7fff, 0xffff,
                                     0x7fffffffull, 0x80000000ull, 0xffffffffull, 0x100000000ull,
                                     0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull};
    switch (below(5)) {
      case 0: return fixed[below(sizeof fixed / sizeof fixed[0])];
      case 1: return current + 1 - 2 * below(2);
      case 2: return file_size + below(16) - 8;
      case 3: return current << (1 + below(width == 4 ? 31 : 63));
      default: return rng();
    }
  }

  void smash_field(std::vector<uint8_t>& d, const std::vector<Field>& fields) {
    if (fields.empty()) return;
    Field f = fields[below(fields.size())];
    if (f.offset + f.width > d.size()) return;
    uint64_t cur = 0;
    for (int i = f.width - 1; i >= 0; --i) cur = (cur << 8) | d[f.offset + i];
    uint64_t v = interesting(cur, d.size(), f.width);
    for (int i = 0; i < f.width; ++i) d[f.offset + i] = uint8_t(v >> (8 * i));
  }

  // One random damage. Field smashing only makes sense before bytes have shifted, so the
  // caller applies it first.
  void damage(std::vector<uint8_t>& d, const std::vector<std::vector<uint8_t>>& others) {
    const size_t n = d.size();
    switch (below(8)) {
      case 0:  // flip one bit
        if (n) d[below(n)] ^= uint8_t(1u << below(8));
        break;
      case 1: {  // set one byte to a boundary value
        static const uint8_t b[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0x04, 0x09, 0x20};
        if (n) d[below(n)] = b[below(sizeof b)];
        break;
      }
      case 2:  // truncate (biased towards the header, where the structure is)
        d.resize(below(2) ? below(n + 1) : below(std::min<size_t>(n, 200) + 1));
        break;
      case 3: {  // insert random bytes
        size_t at = below(n + 1), len = 1 + below(16);
        std::vector<uint8_t> ins(len);
        for (auto& x : ins) x = uint8_t(rng());
        d.insert(d.begin() + at, ins.begin(), ins.end());
        break;
      }
      case 4: {  // delete a range
        if (!n) break;
        size_t at = below(n), len = 1 + below(std::min<size_t>(n - at, 32));
        d.erase(d.begin() + at, d.begin() + at + len);
        break;
      }
      case 5: {  // copy a range of the file over another place in it
        if (n < 2) break;
        size_t from = below(n), to = below(n), len = 1 + below(16);
        for (size_t i = 0; i < len && from + i < n && to + i < n; ++i) d[to + i] = d[from + i];
        break;
      }
      case 6: {  // splice: our prefix, another seed's suffix
        const auto& o = others[below(others.size())];
        size_t cut = below(n + 1), from = below(o.size() + 1);
        d.resize(cut);
        d.insert(d.end(), o.begin() + from, o.end());
        break;
      }
      default: {  // overwrite 4 or 8 bytes anywhere with an edge value
        int w = below(2) ? 4 : 8;
        if (n < size_t(w)) break;
        size_t at = below(n - w + 1);
        uint64_t v = interesting(0, n, w);
        for (int i = 0; i < w; ++i) d[at + i] = uint8_t(v >> (8 * i));
      }
    }
  }
};

enum class Outcome { Parsed, Rejected, Failed };

// Parses from an exact-size heap copy so ASan flags even a one-byte over-read.
Outcome parse_one(const std::vector<uint8_t>& input, uint64_t& checksum) {
  g_current = input;
  std::unique_ptr<uint8_t[]> exact(new uint8_t[input.size() ? input.size() : 1]);
  if (!input.empty()) std::memcpy(exact.get(), input.data(), input.size());
  try {
    auto f = qwen::GgufFile::open_memory(kInputName, exact.get(), input.size());
    checksum += qwen_fuzz::exercise(*f);
    return Outcome::Parsed;
  } catch (const qwen::GgufError& e) {
    // A rejection must say which file and stay readable (bounded length).
    std::string msg = e.what();
    if (msg.rfind(std::string(kInputName) + ": ", 0) != 0 || msg.size() > 2000) {
      std::fprintf(stderr, "gguf_mutate: badly formed error message: %.300s\n", msg.c_str());
      return Outcome::Failed;
    }
    if (g_show_errors > 0) {
      --g_show_errors;
      std::printf("rejected: %s\n", msg.c_str());
    }
    return Outcome::Rejected;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gguf_mutate: unexpected exception (not GgufError): %s\n", e.what());
    return Outcome::Failed;
  }
}

// The same input through GgufFile::open (mmap) must give the same verdict and, apart from the
// name, the same message as through open_memory: both paths share one parser.
bool same_verdict_from_disk(const std::vector<uint8_t>& input, const std::string& tmp_path) {
  std::string memory_msg = "(parsed)", disk_msg = "(parsed)";
  try {
    qwen::GgufFile::open_memory(kInputName, input.data(), input.size());
  } catch (const qwen::GgufError& e) {
    memory_msg = std::string(e.what()).substr(std::strlen(kInputName));
  }
  if (FILE* f = std::fopen(tmp_path.c_str(), "wb")) {
    if (!input.empty()) std::fwrite(input.data(), 1, input.size(), f);
    std::fclose(f);
  }
  try {
    qwen::GgufFile::open(tmp_path);
  } catch (const qwen::GgufError& e) {
    disk_msg = std::string(e.what()).substr(tmp_path.size());
  }
  std::remove(tmp_path.c_str());
  if (memory_msg != disk_msg) {
    std::fprintf(stderr, "gguf_mutate: memory and disk disagree:\n  memory%s\n  disk%s\n", memory_msg.c_str(),
                 disk_msg.c_str());
    return false;
  }
  return true;
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

int usage() {
  std::fprintf(stderr,
               "usage: gguf_mutate [--iterations N] [--seed S] [--corpus DIR] [--write-corpus DIR]\n"
               "                   [--failure-path FILE] [--replay FILE] [--show-errors N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t iterations = 100000, seed = 1;
  std::string corpus_dir, write_dir, replay;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--iterations") iterations = std::strtoull(next().c_str(), nullptr, 10);
    else if (a == "--seed") seed = std::strtoull(next().c_str(), nullptr, 10);
    else if (a == "--corpus") corpus_dir = next();
    else if (a == "--write-corpus") write_dir = next();
    else if (a == "--failure-path") g_failure_path = next();
    else if (a == "--replay") replay = next();
    else if (a == "--show-errors") g_show_errors = std::strtoull(next().c_str(), nullptr, 10);
    else return usage();
  }
#ifdef QWEN_HAVE_SANITIZER
  __sanitizer_set_death_callback(save_current);
#endif

  if (!replay.empty()) {
    uint64_t sum = 0;
    Outcome o = parse_one(read_file(replay), sum);
    std::printf("%s: %s\n", replay.c_str(), o == Outcome::Parsed ? "parsed" : o == Outcome::Rejected ? "rejected" : "FAILED");
    return o == Outcome::Failed ? 1 : 0;
  }

  std::vector<Bytes> seeds = qwen_fuzz::make_seeds();
  if (!write_dir.empty()) {
    for (size_t i = 0; i < seeds.size(); ++i) {
      std::string path = write_dir + "/seed-" + std::to_string(i) + ".gguf";
      std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(seeds[i].data.data()),
                                                 static_cast<std::streamsize>(seeds[i].size()));
      std::printf("wrote %s (%zu bytes)\n", path.c_str(), seeds[i].size());
    }
    return 0;
  }
  if (!corpus_dir.empty()) {
    if (DIR* dir = opendir(corpus_dir.c_str())) {
      while (dirent* e = readdir(dir)) {
        std::string name = e->d_name;
        if (name.size() > 5 && name.substr(name.size() - 5) == ".gguf") {
          Bytes b;
          b.data = read_file(corpus_dir + "/" + name);  // no field map: bytes-level mutation only
          // The committed corpus starts as a copy of the built-in seeds; skip those duplicates.
          bool duplicate = false;
          for (const Bytes& s : seeds) duplicate = duplicate || s.data == b.data;
          if (!duplicate) seeds.push_back(std::move(b));
        }
      }
      closedir(dir);
    }
  }
  std::vector<std::vector<uint8_t>> seed_bytes;
  for (const Bytes& s : seeds) seed_bytes.push_back(s.data);

  // The seeds themselves must parse: otherwise the fuzzer would only test the first check.
  uint64_t checksum = 0;
  for (size_t i = 0; i < seed_bytes.size(); ++i) {
    if (parse_one(seed_bytes[i], checksum) != Outcome::Parsed) {
      std::fprintf(stderr, "gguf_mutate: seed %zu does not parse\n", i);
      return 1;
    }
  }

  const std::string disk_path = g_failure_path + ".disk-check." + std::to_string(getpid()) + ".gguf";
  Mutator m(seed);
  uint64_t parsed = 0, rejected = 0, failed = 0;
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t it = 0; it < iterations; ++it) {
    const Bytes& s = seeds[m.below(seeds.size())];
    std::vector<uint8_t> d = s.data;
    // A share of iterations changes exactly one header field (the precise attack on counts and
    // offsets); the rest stack one to four random damages, sometimes after a field smash.
    const uint64_t kind = m.below(10);
    if (kind < 3) {
      m.smash_field(d, s.fields);
    } else {
      if (kind < 5) m.smash_field(d, s.fields);
      for (uint64_t k = 1 + m.below(4); k > 0; --k) m.damage(d, seed_bytes);
    }
    Outcome outcome = parse_one(d, checksum);
    // Every 500th input also goes through the mmap path.
    if (outcome != Outcome::Failed && it % 500 == 0 && !same_verdict_from_disk(d, disk_path)) outcome = Outcome::Failed;
    switch (outcome) {
      case Outcome::Parsed: ++parsed; break;
      case Outcome::Rejected: ++rejected; break;
      case Outcome::Failed:
        ++failed;
        save_current();
        break;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("fuzzed %llu files: %llu parsed, %llu rejected with GgufError, %llu crashes (seed %llu, %.1f s, checksum %llx)\n",
              (unsigned long long)iterations, (unsigned long long)parsed, (unsigned long long)rejected,
              (unsigned long long)failed, (unsigned long long)seed, secs, (unsigned long long)checksum);
  return failed == 0 ? 0 : 1;
}
