// Helpers for the GGUF tests: parse an in-memory image from an exact-size heap copy (so a
// sanitizer build flags any over-read), and check that a bad image is refused with GgufError
// whose message names the file and contains the expected words.
#pragma once
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "test_gguf_writer.h"

namespace qwen_test {

constexpr const char* kTestName = "t.gguf";

// Keeps the bytes alive as long as the parsed file that points into them.
struct Parsed {
  std::unique_ptr<uint8_t[]> bytes;
  std::unique_ptr<qwen::GgufFile> file;
};

inline Parsed parse_bytes(const std::vector<uint8_t>& data) {
  Parsed p;
  p.bytes.reset(new uint8_t[data.empty() ? 1 : data.size()]);
  if (!data.empty()) std::memcpy(p.bytes.get(), data.data(), data.size());
  p.file = qwen::GgufFile::open_memory(kTestName, p.bytes.get(), data.size());
  return p;
}

// The GgufError message for `data`, "(parsed)" if it was accepted. Other exception types
// propagate and fail the test: they would be a bug in the parser.
inline std::string error_of(const std::vector<uint8_t>& data) {
  try {
    parse_bytes(data);
    return "(parsed)";
  } catch (const qwen::GgufError& e) {
    return e.what();
  }
}

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// True when parsing fails with "t.gguf: ...<each of words>..."; prints the message otherwise so a
// failing CHECK shows what the parser actually said.
inline bool rejects_with(const std::vector<uint8_t>& data, const std::vector<std::string>& words) {
  const std::string msg = error_of(data);
  bool ok = msg.rfind(std::string(kTestName) + ": ", 0) == 0;
  for (const std::string& w : words) ok = ok && contains(msg, w);
  if (!ok) {
    std::fprintf(stderr, "    message was: %s\n    expected words:", msg.c_str());
    for (const std::string& w : words) std::fprintf(stderr, " [%s]", w.c_str());
    std::fprintf(stderr, "\n");
  }
  return ok;
}

// Byte position of a tensor info's fields, from where build() recorded the info's start.
inline size_t tensor_ndims_at(const Builder& b, size_t i) { return b.tensor_info_at[i] + 8 + b.tensors[i].name.size(); }
inline size_t tensor_type_at(const Builder& b, size_t i) {
  return tensor_ndims_at(b, i) + 4 + 8 * b.tensors[i].dims.size();
}
inline size_t tensor_offset_at(const Builder& b, size_t i) { return tensor_type_at(b, i) + 4; }

}  // namespace qwen_test
