// GGUF v2/v3 reader: header, metadata of every value type, tensor infos, alignment, and the tensor
// data mapped read-only with mmap. Every count, string length, offset, size, type and shape is
// validated against the file size before use; any problem throws GgufError with one message that
// names the file and the problem. Nothing here knows about Qwen: model/ checks the architecture.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "quants/ggml_types.h"

namespace qwen {

struct GgufError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// GGUF metadata value types (gguf_type in the spec).
// Laid out by hand: the spec's value type ids, packed as a table.
// clang-format off
enum class GgufValueType : uint32_t {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};
// clang-format on

struct GgufValue;
using GgufArray = std::vector<GgufValue>;
// One metadata value. Integers of every width are kept as int64/uint64 together with the original
// type, so writers can round-trip them; arrays of strings (the vocabulary) and numbers are common.
struct GgufValue {
  GgufValueType type = GgufValueType::UINT8;
  GgufValueType array_type = GgufValueType::UINT8;  // element type when type == ARRAY
  std::variant<uint64_t, int64_t, double, bool, std::string, std::shared_ptr<GgufArray>> v;

  uint64_t as_u64() const;  // throws GgufError if not a non-negative integer
  int64_t as_i64() const;
  double as_f64() const;  // any numeric type
  const std::string& as_string() const;
  const GgufArray& as_array() const;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> dims;  // GGML order: dims[0] is the contiguous (row) length
  GgmlType type;
  uint64_t offset;  // relative to the start of the data section
  uint64_t nbytes;  // validated: fits inside the file
  int64_t n_elements() const;
};

class GgufFile {
 public:
  // Opens, parses and validates; throws GgufError("<path>: <problem>") on anything wrong.
  static std::unique_ptr<GgufFile> open(const std::string& path);
  // Parses a GGUF image already in memory (fuzzing, tests, files read some other way). `name`
  // stands in for the path in error messages. Nothing is copied: `data` must stay alive and
  // unchanged for as long as the returned GgufFile does, since tensor_data() points into it.
  static std::unique_ptr<GgufFile> open_memory(const std::string& name, const uint8_t* data, uint64_t size);
  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // absolute, aligned
  uint64_t file_size() const { return file_size_; }

  // Metadata in file order, and lookup by key.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  const GgufValue* find(const std::string& key) const;  // nullptr if absent
  // Typed getters that throw GgufError naming the key when it is missing or of the wrong type.
  std::string get_string(const std::string& key) const;
  uint64_t get_u64(const std::string& key) const;
  double get_f64(const std::string& key) const;
  // Frees the metadata values whose key starts with `prefix` (a model drops the vocabulary
  // arrays, tens of MB as C++ strings, once the JavaScript tokenizer has its own copy).
  void drop_metadata(const std::string& prefix);

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(const std::string& name) const;  // nullptr if absent
  // Pointer to a tensor's bytes inside the mapping (valid as long as the GgufFile lives).
  const uint8_t* tensor_data(const GgufTensorInfo& t) const;
  // Drops this process's resident pages of [data, data + nbytes), a range of tensor bytes, once
  // they were copied elsewhere (the CPU backend's weight arena), so the model is not counted twice
  // in its memory; a later read just faults the pages back in from the page cache. Only the whole
  // pages inside the range are released. No-op for open_memory() images, which this object does
  // not own, and for a range outside the mapping.
  void release(const uint8_t* data, uint64_t nbytes) const;
  // Copies [data, data + nbytes), tensor bytes of this file, to dst without mapping them: a file
  // from open() is read with pread, an open_memory() image is copied. For token embedding rows:
  // faulting one ~1 KB row in through the mapping would make the kernel map the 64 KB around it
  // too (fault-around), so a 512-token prompt left ~34 MiB of a 0.5B model's embedding resident.
  // Throws GgufError naming the file when the read fails or the range is not in the file.
  void copy_bytes(const uint8_t* data, size_t nbytes, uint8_t* dst) const;

 private:
  GgufFile() = default;
  std::string path_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  uint64_t file_size_ = 0;
  const uint8_t* map_ = nullptr;  // the whole file: mmap'd by open(), borrowed by open_memory()
  bool owns_map_ = false;         // true when the destructor must munmap map_
  int fd_ = -1;                   // the open file behind an owned mapping (for copy_bytes)
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::map<std::string, size_t> kv_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;
  friend class GgufParser;
};

}  // namespace qwen
