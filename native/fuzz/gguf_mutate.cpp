// A self-contained mutation fuzzer for the GGUF parser and the Qwen2 model loader (no libFuzzer
// needed, so it runs in CI with g++ alone). It starts from small valid files (GGUF files of every
// value type, and tiny real Qwen2 models in F32, F16/BF16 and Q8_0/Q4_0), damages them the ways
// real corruption and hostile inputs do (bit flips, truncation, inserted and deleted ranges,
// splices, and edge values written into the exact header fields: counts, lengths, n_dims, dims,
// types, offsets), and parses each result from an exact-size heap buffer so AddressSanitizer sees
// any read past the end. Every 500th input is also written to disk and opened through mmap, which
// must agree.
//
// Every input must end in one of three ways: rejected by the parser with a GgufError naming the
// input; parsed, every promised byte readable (exercise()), then refused by the model loader with
// an error naming the input; or loaded, and then loaded again from disk by load_model and run
// through a forward pass and the sampler (fuzz_loader.h). Anything else is a failure: a different
// exception, an error that does not say which file, a sanitizer report, or an input that takes
// longer than --timeout seconds (a hang). The failing input is saved for replay with --replay.
//
//   gguf_mutate [--iterations N] [--seed S] [--corpus DIR]... [--write-corpus DIR]
//               [--replay FILE] [--replay-dir DIR] [--failure-path FILE] [--timeout SECONDS]
//               [--show-errors N] [--error-summary FILE]
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fuzz_loader.h"
#include "fuzz_model_seeds.h"
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

// Signal-time save of the current input: only async-signal-safe calls.
void save_current_from_signal() {
  const int fd = open(g_failure_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    if (write(fd, g_current.data(), g_current.size()) < 0) {}
    close(fd);
  }
}

// SIGALRM: the current input has run past --timeout, which counts as a hang.
void on_timeout(int) {
  save_current_from_signal();
  static const char msg[] = "gguf_mutate: an input ran past the timeout (hang); it is saved at the failure path\n";
  if (write(2, msg, sizeof msg - 1) < 0) {}
  _exit(3);
}

// SIGABRT: a sanitizer report (abort_on_error=1) or a failed assert. UBSan's abort does not run
// the sanitizer death callback, so the input is saved here, then the abort goes on.
void on_abort(int sig) {
  save_current_from_signal();
  static const char msg[] = "gguf_mutate: aborted; the input is saved at the failure path\n";
  if (write(2, msg, sizeof msg - 1) < 0) {}
  signal(sig, SIG_DFL);
  raise(sig);
}

struct Mutator {
  std::mt19937_64 rng;
  explicit Mutator(uint64_t seed) : rng(seed) {}

  uint64_t below(uint64_t n) { return n == 0 ? 0 : rng() % n; }

  // Edge values for integer fields: zero, one, off-by-one around the real value, powers of two,
  // sign-bit patterns and sizes near the file's own length.
  uint64_t interesting(uint64_t current, uint64_t file_size, int width) {
    // Laid out by hand: edge values grouped by width; one per line hides them.
    // clang-format off
    static const uint64_t fixed[] = {0, 1, 2, 3, 4, 5, 7, 8, 13, 31, 32, 33, 64, 255, 256, 0x7fff, 0xffff,
                                     0x7fffffffull, 0x80000000ull, 0xffffffffull, 0x100000000ull,
                                     0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull};
    // clang-format on
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

enum class Outcome { Ran, LoaderRejected, ParserRejected, Failed };

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::Ran: return "loaded and ran";
    case Outcome::LoaderRejected: return "rejected by the model loader";
    case Outcome::ParserRejected: return "rejected by the GGUF parser";
    default: return "FAILED";
  }
}

struct Verdict {
  Outcome outcome;
  std::string message;  // the rejection, or why it failed
};

// Parses from an exact-size heap copy so ASan flags even a one-byte over-read, then hands a
// parsed file to the model loader (and, if it loads, to load_model and a forward pass).
Verdict check_one(const std::vector<uint8_t>& input, uint64_t& checksum, const std::string& disk_path) {
  g_current = input;
  std::unique_ptr<uint8_t[]> exact(new uint8_t[input.size() ? input.size() : 1]);
  if (!input.empty()) std::memcpy(exact.get(), input.data(), input.size());
  std::unique_ptr<qwen::GgufFile> f;
  try {
    f = qwen::GgufFile::open_memory(kInputName, exact.get(), input.size());
    checksum += qwen_fuzz::exercise(*f);
  } catch (const qwen::GgufError& e) {
    // A rejection must say which file and stay readable (bounded length).
    if (!qwen_fuzz::names_file(e.what(), kInputName))
      return {Outcome::Failed, std::string("badly formed error message: ") + e.what()};
    return {Outcome::ParserRejected, e.what()};
  } catch (const std::exception& e) {
    return {Outcome::Failed, std::string("unexpected exception from the parser (not GgufError): ") + e.what()};
  }
  qwen_fuzz::LoaderResult r = qwen_fuzz::check_loader(*f, kInputName, input, disk_path);
  switch (r.verdict) {
    case qwen_fuzz::LoaderVerdict::Ran: return {Outcome::Ran, ""};
    case qwen_fuzz::LoaderVerdict::Rejected: return {Outcome::LoaderRejected, r.message};
    default: return {Outcome::Failed, r.message};
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

// Error messages with the input's name dropped, every number replaced by N and every quoted name
// by '…', so "offset 4128 past the end" and "offset 77 past the end", or a missing tensor whatever
// its name, count as one kind of error.
std::string error_kind(const std::string& msg) {
  std::string m = msg.compare(0, std::strlen(kInputName) + 2, std::string(kInputName) + ": ") == 0
                      ? msg.substr(std::strlen(kInputName) + 2)
                      : msg;
  std::string out;
  for (size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\'' && m.find('\'', i + 1) != std::string::npos) {
      i = m.find('\'', i + 1);
      out += "'…'";
    } else if (m[i] >= '0' && m[i] <= '9') {
      while (i + 1 < m.size() && m[i + 1] >= '0' && m[i + 1] <= '9') ++i;
      out += 'N';
    } else {
      out += (unsigned char)m[i] < 0x20 ? '?' : m[i];  // one line per kind in the summary
    }
  }
  return out;
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> gguf_files_in(const std::string& dir_path) {
  std::vector<std::string> out;
  if (DIR* dir = opendir(dir_path.c_str())) {
    while (dirent* e = readdir(dir)) {
      std::string name = e->d_name;
      if (name.size() > 5 && name.substr(name.size() - 5) == ".gguf") out.push_back(dir_path + "/" + name);
    }
    closedir(dir);
  }
  std::sort(out.begin(), out.end());
  return out;
}

int usage() {
  std::fprintf(stderr,
               "usage: gguf_mutate [--iterations N] [--seed S] [--corpus DIR]... [--write-corpus DIR]\n"
               "                   [--replay FILE] [--replay-dir DIR] [--failure-path FILE] [--timeout SECONDS]\n"
               "                   [--show-errors N] [--error-summary FILE]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t iterations = 100000, seed = 1;
  unsigned timeout_s = 10;
  std::vector<std::string> corpus_dirs;
  std::string write_dir, replay, replay_dir, error_summary;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--iterations") iterations = std::strtoull(next().c_str(), nullptr, 10);
    else if (a == "--seed") seed = std::strtoull(next().c_str(), nullptr, 10);
    else if (a == "--corpus") corpus_dirs.push_back(next());
    else if (a == "--write-corpus") write_dir = next();
    else if (a == "--failure-path") g_failure_path = next();
    else if (a == "--replay") replay = next();
    else if (a == "--replay-dir") replay_dir = next();
    else if (a == "--timeout") timeout_s = unsigned(std::strtoul(next().c_str(), nullptr, 10));
    else if (a == "--show-errors") g_show_errors = std::strtoull(next().c_str(), nullptr, 10);
    else if (a == "--error-summary") error_summary = next();
    else return usage();
  }
#ifdef QWEN_HAVE_SANITIZER
  __sanitizer_set_death_callback(save_current);
#endif
  signal(SIGALRM, on_timeout);
  signal(SIGABRT, on_abort);
  const std::string disk_path = g_failure_path + ".disk-check." + std::to_string(getpid()) + ".gguf";
  const std::string model_path = g_failure_path + ".model." + std::to_string(getpid()) + ".gguf";
  uint64_t checksum = 0;

  // Replays: each file must end in a verdict (no failure); prints one line per file.
  if (!replay.empty() || !replay_dir.empty()) {
    std::vector<std::string> files = replay.empty() ? gguf_files_in(replay_dir) : std::vector<std::string>{replay};
    uint64_t counts[4] = {0, 0, 0, 0};
    for (const std::string& path : files) {
      alarm(timeout_s);
      Verdict v = check_one(read_file(path), checksum, model_path);
      alarm(0);
      ++counts[int(v.outcome)];
      std::printf("%s: %s%s%s\n", path.c_str(), outcome_name(v.outcome), v.message.empty() ? "" : ": ",
                  v.message.c_str());
    }
    std::printf(
        "replayed %zu files: %llu loaded and ran, %llu rejected by the loader, %llu rejected by the parser, %llu failures\n",
        files.size(), (unsigned long long)counts[0], (unsigned long long)counts[1], (unsigned long long)counts[2],
        (unsigned long long)counts[3]);
    return counts[3] == 0 && !files.empty() ? 0 : 1;
  }

  std::vector<Bytes> seeds = qwen_fuzz::make_seeds();
  const size_t n_format_seeds = seeds.size();
  for (Bytes& m : qwen_fuzz::make_model_seeds()) seeds.push_back(std::move(m));
  const size_t n_model_seeds = seeds.size() - n_format_seeds;
  if (!write_dir.empty()) {
    for (size_t i = 0; i < seeds.size(); ++i) {
      std::string path =
          write_dir +
          (i < n_format_seeds ? "/seed-" + std::to_string(i) : "/model-" + std::to_string(i - n_format_seeds)) +
          ".gguf";
      std::ofstream(path, std::ios::binary)
          .write(reinterpret_cast<const char*>(seeds[i].data.data()), static_cast<std::streamsize>(seeds[i].size()));
      std::printf("wrote %s (%zu bytes)\n", path.c_str(), seeds[i].size());
    }
    return 0;
  }
  for (const std::string& dir : corpus_dirs) {
    for (const std::string& path : gguf_files_in(dir)) {
      Bytes b;
      b.data = read_file(path);  // no field map: bytes-level mutation only
      // The committed corpus is a copy of the built-in seeds; skip those duplicates.
      bool duplicate = false;
      for (const Bytes& s : seeds) duplicate = duplicate || s.data == b.data;
      if (!duplicate) seeds.push_back(std::move(b));
    }
  }
  std::vector<std::vector<uint8_t>> seed_bytes;
  for (const Bytes& s : seeds) seed_bytes.push_back(s.data);

  // The built-in seeds must parse, and the model seeds must load and run: otherwise the fuzzer
  // would only test the first check. (Corpus extras, such as kept regressions, may be rejects.)
  for (size_t i = 0; i < n_format_seeds + n_model_seeds; ++i) {
    Verdict v = check_one(seed_bytes[i], checksum, model_path);
    const bool ok = i < n_format_seeds ? v.outcome != Outcome::ParserRejected && v.outcome != Outcome::Failed
                                       : v.outcome == Outcome::Ran;
    if (!ok) {
      std::fprintf(stderr, "gguf_mutate: seed %zu is not valid: %s %s\n", i, outcome_name(v.outcome),
                   v.message.c_str());
      return 1;
    }
  }

  Mutator m(seed);
  uint64_t counts[4] = {0, 0, 0, 0};
  std::map<std::string, uint64_t> kinds;
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t it = 0; it < iterations; ++it) {
    // Half the inputs start from a model seed: those are the ones that reach the loader and the
    // forward pass, which the other seeds only reach through a rare lucky splice.
    const size_t pick = m.below(2) ? n_format_seeds + m.below(n_model_seeds) : m.below(seeds.size());
    const Bytes& s = seeds[pick];
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
    alarm(timeout_s);
    Verdict v = check_one(d, checksum, model_path);
    // Every 500th input also goes through the mmap path.
    if (v.outcome != Outcome::Failed && it % 500 == 0 && !same_verdict_from_disk(d, disk_path)) {
      v = {Outcome::Failed, "memory and disk parses disagree"};
    }
    alarm(0);
    ++counts[int(v.outcome)];
    if (v.outcome == Outcome::Failed) {
      std::fprintf(stderr, "gguf_mutate: iteration %llu failed: %s\n", (unsigned long long)it, v.message.c_str());
      save_current();
    } else if (!v.message.empty()) {
      ++kinds[error_kind(v.message)];
      if (g_show_errors > 0) {
        --g_show_errors;
        std::printf("rejected: %s\n", v.message.c_str());
      }
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!error_summary.empty()) {
    std::vector<std::pair<uint64_t, std::string>> by_count;
    for (const auto& k : kinds) by_count.emplace_back(k.second, k.first);
    std::sort(by_count.rbegin(), by_count.rend());
    if (FILE* f = std::fopen(error_summary.c_str(), "w")) {
      for (const auto& [n, msg] : by_count) std::fprintf(f, "%8llu  %s\n", (unsigned long long)n, msg.c_str());
      std::fclose(f);
    }
  }
  std::printf(
      "fuzzed %llu files: %llu loaded and ran, %llu rejected by the model loader, %llu rejected by the GGUF parser, "
      "%zu distinct kinds of error, %llu crashes (seed %llu, %zu seeds, %.1f s, checksum %llx)\n",
      (unsigned long long)iterations, (unsigned long long)counts[0], (unsigned long long)counts[1],
      (unsigned long long)counts[2], kinds.size(), (unsigned long long)counts[3], (unsigned long long)seed,
      seeds.size(), secs, (unsigned long long)checksum);
  return counts[3] == 0 ? 0 : 1;
}
