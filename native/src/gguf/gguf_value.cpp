// Metadata values: typed accessors that refuse the wrong type instead of converting silently
// (a FLOAT32 context length or a negative head count is a broken file, not something to guess
// about), and the small text helpers the parser's messages use.
#include <cstdio>
#include <limits>

#include "gguf/gguf.h"
#include "gguf/gguf_parser.h"
#include "gguf/gguf_reader.h"

namespace qwen {

const char* gguf_value_type_name(GgufValueType t) {
  switch (t) {
    case GgufValueType::UINT8: return "UINT8";
    case GgufValueType::INT8: return "INT8";
    case GgufValueType::UINT16: return "UINT16";
    case GgufValueType::INT16: return "INT16";
    case GgufValueType::UINT32: return "UINT32";
    case GgufValueType::INT32: return "INT32";
    case GgufValueType::FLOAT32: return "FLOAT32";
    case GgufValueType::BOOL: return "BOOL";
    case GgufValueType::STRING: return "STRING";
    case GgufValueType::ARRAY: return "ARRAY";
    case GgufValueType::UINT64: return "UINT64";
    case GgufValueType::INT64: return "INT64";
    case GgufValueType::FLOAT64: return "FLOAT64";
  }
  return "unknown";
}

namespace {

[[noreturn]] void wrong_type(const GgufValue& v, const char* wanted) {
  throw GgufError(std::string("metadata value is ") + gguf_value_type_name(v.type) + ", not " + wanted);
}

}  // namespace

uint64_t GgufValue::as_u64() const {
  if (const uint64_t* u = std::get_if<uint64_t>(&v)) return *u;
  if (const int64_t* i = std::get_if<int64_t>(&v)) {
    if (*i >= 0) return static_cast<uint64_t>(*i);
    throw GgufError("metadata value is " + std::to_string(*i) + ", not a non-negative integer");
  }
  wrong_type(*this, "an integer");
}

int64_t GgufValue::as_i64() const {
  if (const int64_t* i = std::get_if<int64_t>(&v)) return *i;
  if (const uint64_t* u = std::get_if<uint64_t>(&v)) {
    if (*u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return static_cast<int64_t>(*u);
    throw GgufError("metadata value " + std::to_string(*u) + " does not fit in a signed 64-bit integer");
  }
  wrong_type(*this, "an integer");
}

double GgufValue::as_f64() const {
  if (const double* d = std::get_if<double>(&v)) return *d;
  if (const uint64_t* u = std::get_if<uint64_t>(&v)) return static_cast<double>(*u);
  if (const int64_t* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  wrong_type(*this, "a number");
}

const std::string& GgufValue::as_string() const {
  if (const std::string* s = std::get_if<std::string>(&v)) return *s;
  wrong_type(*this, "a STRING");
}

const GgufArray& GgufValue::as_array() const {
  if (const auto* a = std::get_if<std::shared_ptr<GgufArray>>(&v)) {
    if (*a) return **a;
  }
  wrong_type(*this, "an ARRAY");
}

namespace gguf_detail {

std::string printable(const char* bytes, size_t len, size_t max_len) {
  std::string out;
  size_t shown = len < max_len ? len : max_len;
  for (size_t i = 0; i < shown; ++i) {
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      out += static_cast<char>(c);
    } else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    }
  }
  if (shown < len) out += "...(" + std::to_string(len) + " bytes)";
  return out;
}

}  // namespace gguf_detail
}  // namespace qwen
