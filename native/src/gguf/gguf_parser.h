// The GGUF parser: turns the bytes of a whole file into a GgufFile's metadata and tensor table,
// validating as it goes. Internal to src/gguf/ (gguf_file.cpp calls it after mapping the file).
//
// Layout it reads (all little-endian):
//   "GGUF" | u32 version | u64 tensor_count | u64 kv_count
//   kv_count x   { string key | u32 value_type | value }
//   tensor_count x { string name | u32 n_dims | u64 dims[n_dims] | u32 ggml_type | u64 offset }
//   padding to general.alignment, then the data section; each tensor's bytes start at
//   data_offset + offset.
// where string = u64 length + bytes, and an ARRAY value = u32 element type + u64 count + elements.
#pragma once
#include <cstdint>
#include <string>

#include "gguf/gguf.h"
#include "gguf/gguf_reader.h"

namespace qwen {

// Names as the spec writes them ("UINT32", "STRING", ...); "unknown" for ids outside the enum.
const char* gguf_value_type_name(GgufValueType t);

class GgufParser {
 public:
  // Limits that keep a hostile file from exhausting the stack or memory. Real models stay far
  // below them (a 152k-token vocabulary is ~460k values; nobody nests arrays). 4M values cost
  // ~200 MB decoded, the most any file may make us allocate for metadata.
  static constexpr int kMaxArrayDepth = 8;
  static constexpr uint64_t kMaxMetadataValues = uint64_t{1} << 22;
  static constexpr uint32_t kMaxDims = 4;
  static constexpr uint64_t kDefaultAlignment = 32;

  // `file` receives the result; its path_ is used in messages and map_ must already point at
  // `size` readable bytes.
  explicit GgufParser(GgufFile& file);
  void parse();

 private:
  void parse_header();
  void parse_metadata();
  void parse_alignment();
  void parse_tensor_infos();
  void place_data_section();

  GgufValue read_value(GgufValueType type, const std::string& where, int depth);
  GgufValue read_array(const std::string& where, int depth);
  void count_values(uint64_t n, const std::string& where);

  GgufFile& file_;
  gguf_detail::ByteReader in_;
  uint64_t tensor_count_ = 0;
  uint64_t kv_count_ = 0;
  uint64_t values_seen_ = 0;
};

}  // namespace qwen
