// A tiny GGUF writer for tests and fuzzing: builds GGUF images byte by byte so each test can
// produce exactly the valid or broken file it needs. It deliberately does no validation of its
// own (tests must be able to write an n_dims of 5 or an offset past the end), and it records
// where every integer field landed so the mutation fuzzer can smash counts, lengths and offsets
// precisely. Shared by native/tests/test_gguf*.cpp and native/fuzz/*.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace qwen_test {

// GGUF value type ids (the spec's gguf_type), spelled out so the writer stands alone.
// Laid out by hand: the spec's value type ids, packed as a table.
// clang-format off
enum GgufT : uint32_t {
  T_UINT8 = 0, T_INT8 = 1, T_UINT16 = 2, T_INT16 = 3, T_UINT32 = 4, T_INT32 = 5, T_FLOAT32 = 6,
  T_BOOL = 7, T_STRING = 8, T_ARRAY = 9, T_UINT64 = 10, T_INT64 = 11, T_FLOAT64 = 12,
};
// clang-format on

// Where an integer field sits in the image: the fuzzer overwrites these with edge values.
struct Field {
  size_t offset;
  int width;  // 4 or 8 bytes
};

// Little-endian byte sink.
class Bytes {
 public:
  std::vector<uint8_t> data;
  std::vector<Field> fields;

  size_t size() const { return data.size(); }
  void u8(uint8_t v) { data.push_back(v); }
  void u16(uint16_t v) { le(v, 2); }
  void u32(uint32_t v) {
    fields.push_back({data.size(), 4});
    le(v, 4);
  }
  void u64(uint64_t v) {
    fields.push_back({data.size(), 8});
    le(v, 8);
  }
  void f32(float f) {
    uint32_t b;
    std::memcpy(&b, &f, 4);
    le(b, 4);
  }
  void f64(double d) {
    uint64_t b;
    std::memcpy(&b, &d, 8);
    le(b, 8);
  }
  void str(const std::string& s) {
    u64(s.size());
    data.insert(data.end(), s.begin(), s.end());
  }
  void raw(const std::vector<uint8_t>& b) { data.insert(data.end(), b.begin(), b.end()); }
  void pad_to(uint64_t align) {
    while (data.size() % align != 0) data.push_back(0);
  }
  // Appends another image, shifting its recorded fields.
  void append(const Bytes& other) {
    for (Field f : other.fields) fields.push_back({f.offset + data.size(), f.width});
    raw(other.data);
  }
  void patch_u32(size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) data[at + i] = uint8_t(v >> (8 * i));
  }
  void patch_u64(size_t at, uint64_t v) {
    for (int i = 0; i < 8; ++i) data[at + i] = uint8_t(v >> (8 * i));
  }

 private:
  void le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) data.push_back(uint8_t(v >> (8 * i)));
  }
};

// Encoded metadata values (type id + payload), composable into arrays.
struct Value {
  uint32_t type;
  Bytes payload;
};
// Laid out by hand: one builder per value type, a line each, read as a table.
// clang-format off
inline Value v_u8(uint8_t x) { Value v{T_UINT8, {}}; v.payload.u8(x); return v; }
inline Value v_i8(int8_t x) { Value v{T_INT8, {}}; v.payload.u8(uint8_t(x)); return v; }
inline Value v_u16(uint16_t x) { Value v{T_UINT16, {}}; v.payload.u16(x); return v; }
inline Value v_i16(int16_t x) { Value v{T_INT16, {}}; v.payload.u16(uint16_t(x)); return v; }
inline Value v_u32(uint32_t x) { Value v{T_UINT32, {}}; v.payload.u32(x); return v; }
inline Value v_i32(int32_t x) { Value v{T_INT32, {}}; v.payload.u32(uint32_t(x)); return v; }
inline Value v_u64(uint64_t x) { Value v{T_UINT64, {}}; v.payload.u64(x); return v; }
inline Value v_i64(int64_t x) { Value v{T_INT64, {}}; v.payload.u64(uint64_t(x)); return v; }
inline Value v_f32(float x) { Value v{T_FLOAT32, {}}; v.payload.f32(x); return v; }
inline Value v_f64(double x) { Value v{T_FLOAT64, {}}; v.payload.f64(x); return v; }
inline Value v_bool(bool x) { Value v{T_BOOL, {}}; v.payload.u8(x ? 1 : 0); return v; }
inline Value v_str(const std::string& s) { Value v{T_STRING, {}}; v.payload.str(s); return v; }
// clang-format on
// An array of elements that must all share `elem_type` (not checked: tests may lie).
inline Value v_array(uint32_t elem_type, const std::vector<Value>& elems) {
  Value v{T_ARRAY, {}};
  v.payload.u32(elem_type);
  v.payload.u64(elems.size());
  for (const Value& e : elems) v.payload.append(e.payload);
  return v;
}

struct Tensor {
  std::string name;
  std::vector<uint64_t> dims;  // GGML order
  uint32_t type;               // GGML type id
  std::vector<uint8_t> data;   // the tensor's bytes, written at `offset` in the data section
  bool explicit_offset = false;
  uint64_t offset = 0;  // used when explicit_offset; otherwise packed, aligned
};

// Builds a whole image. Counts default to the real ones; tests override them to lie.
struct Builder {
  uint32_t version = 3;
  uint64_t alignment = 32;  // used to place data; written only if set via kv
  std::vector<std::pair<std::string, Value>> kvs;
  std::vector<Tensor> tensors;
  bool override_tensor_count = false, override_kv_count = false;
  uint64_t tensor_count = 0, kv_count = 0;
  // Positions filled in by build(), for tests that patch a field afterwards.
  size_t data_offset = 0;
  std::vector<size_t> tensor_info_at;  // where each tensor info (its name length) starts

  Builder& kv(const std::string& key, Value v) {
    kvs.emplace_back(key, std::move(v));
    return *this;
  }
  Builder& tensor(Tensor t) {
    tensors.push_back(std::move(t));
    return *this;
  }

  Bytes build() {
    Bytes b;
    b.data = {'G', 'G', 'U', 'F'};
    b.u32(version);
    b.u64(override_tensor_count ? tensor_count : tensors.size());
    b.u64(override_kv_count ? kv_count : kvs.size());
    for (auto& [key, value] : kvs) {
      b.str(key);
      b.u32(value.type);
      b.append(value.payload);
    }
    // Pack tensors one after another at aligned offsets unless a test fixed the offset.
    uint64_t next = 0;
    std::vector<uint64_t> offsets;
    for (const Tensor& t : tensors) {
      uint64_t off = t.explicit_offset ? t.offset : next;
      offsets.push_back(off);
      uint64_t end = off + t.data.size();
      next = (end + alignment - 1) / alignment * alignment;
    }
    tensor_info_at.clear();
    for (size_t i = 0; i < tensors.size(); ++i) {
      const Tensor& t = tensors[i];
      tensor_info_at.push_back(b.size());
      b.str(t.name);
      b.u32(uint32_t(t.dims.size()));
      for (uint64_t d : t.dims) b.u64(d);
      b.u32(t.type);
      b.u64(offsets[i]);
    }
    b.pad_to(alignment);
    data_offset = b.size();
    // Data: each tensor at its offset; no padding after the last one, so any cut is noticed.
    for (size_t i = 0; i < tensors.size(); ++i) {
      size_t at = data_offset + offsets[i];
      if (b.data.size() < at + tensors[i].data.size()) b.data.resize(at + tensors[i].data.size(), 0);
      std::memcpy(b.data.data() + at, tensors[i].data.data(), tensors[i].data.size());
    }
    return b;
  }
};

// Deterministic filler so tests can check tensor bytes came back unchanged.
inline std::vector<uint8_t> pattern_bytes(size_t n, uint8_t seed) {
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = uint8_t(seed + i * 7);
  return out;
}

// A qwen2 header with one metadata entry of every GGUF value type, empty strings and arrays, and
// nested arrays: the reader tests and the fuzz seeds start from it.
inline Builder all_value_types() {
  Builder b;
  b.kv("general.architecture", v_str("qwen2"))
      .kv("u8", v_u8(200))
      .kv("i8", v_i8(-100))
      .kv("u16", v_u16(60000))
      .kv("i16", v_i16(-30000))
      .kv("u32", v_u32(4000000000u))
      .kv("i32", v_i32(-2000000000))
      .kv("f32", v_f32(0.5f))
      .kv("bool", v_bool(true))
      .kv("u64", v_u64(1ull << 40))
      .kv("i64", v_i64(-(1ll << 40)))
      .kv("f64", v_f64(-2.25))
      .kv("empty", v_str(""))
      .kv("ints", v_array(T_INT32, {v_i32(1), v_i32(-2), v_i32(3)}))
      .kv("words", v_array(T_STRING, {v_str("a"), v_str("bc"), v_str("")}))
      .kv("nested", v_array(T_ARRAY, {v_array(T_UINT8, {v_u8(1), v_u8(2)}), v_array(T_UINT8, {})}));
  return b;
}

}  // namespace qwen_test
