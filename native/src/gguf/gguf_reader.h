// A bounds-checked little-endian cursor over the bytes of a GGUF image. It is the only code that
// touches the raw bytes during parsing, so "never read past the end" is enforced in one place:
// every read first checks that the bytes exist and otherwise throws GgufError naming what was
// being read, where, and how big the file is. Internal to src/gguf/.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>

#include "gguf/gguf.h"

namespace qwen {
namespace gguf_detail {

// Renders bytes from the file for an error message: printable ASCII as is, anything else as
// \xNN, cut after `max_len` bytes so a corrupt 4 GB "name" cannot flood the message.
std::string printable(const char* bytes, size_t len, size_t max_len = 80);
inline std::string quoted(const std::string& s) { return "'" + printable(s.data(), s.size()) + "'"; }

class ByteReader {
 public:
  ByteReader(const std::string& name, const uint8_t* data, uint64_t size) : name_(name), data_(data), size_(size) {}

  uint64_t pos() const { return pos_; }
  uint64_t size() const { return size_; }
  uint64_t remaining() const { return size_ - pos_; }

  // Throws "<name>: <problem>". Every parser error goes through here or through truncated().
  [[noreturn]] void fail(const std::string& problem) const { throw GgufError(name_ + ": " + problem); }

  // Ensures `n` more bytes exist. `what` is a callable returning a description such as
  // "the length of metadata key 3"; it is only called when the check fails, so the hot path
  // (hundreds of thousands of vocabulary strings) builds no strings.
  template <class Describe> void need(uint64_t n, Describe&& what) const {
    if (n > size_ - pos_) {
      fail("truncated: " + what() + " (" + std::to_string(n) + " bytes at byte " + std::to_string(pos_) +
           ") runs past the end of the file (" + std::to_string(size_) + " bytes)");
    }
  }

  template <class Describe> uint8_t u8(Describe&& what) {
    need(1, what);
    return data_[pos_++];
  }
  template <class Describe> uint16_t u16(Describe&& what) {
    need(2, what);
    uint16_t v = static_cast<uint16_t>(data_[pos_] | (data_[pos_ + 1] << 8));
    pos_ += 2;
    return v;
  }
  template <class Describe> uint32_t u32(Describe&& what) {
    need(4, what);
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | data_[pos_ + i];
    pos_ += 4;
    return v;
  }
  template <class Describe> uint64_t u64(Describe&& what) {
    need(8, what);
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | data_[pos_ + i];
    pos_ += 8;
    return v;
  }
  template <class Describe> float f32(Describe&& what) {
    uint32_t bits = u32(what);
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  }
  template <class Describe> double f64(Describe&& what) {
    uint64_t bits = u64(what);
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }

  // A GGUF string: a u64 byte length, then that many bytes (UTF-8, not NUL-terminated). The
  // length is checked against the bytes left before anything is allocated.
  template <class Describe> std::string string(Describe&& what) {
    uint64_t len = u64([&] { return "the length of " + what(); });
    if (len > remaining()) {
      fail("truncated: " + what() + " claims " + std::to_string(len) + " bytes at byte " + std::to_string(pos_) +
           " but only " + std::to_string(remaining()) + " bytes remain in the file (" + std::to_string(size_) +
           " bytes)");
    }
    std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(len));
    pos_ += len;
    return s;
  }

 private:
  const std::string& name_;
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

}  // namespace gguf_detail
}  // namespace qwen
