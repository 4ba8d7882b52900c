// GGUF parsing and validation. The rule throughout: a number read from the file is checked
// before it is used as a size, count, index or offset, and the check is against what the file
// can actually hold, so no byte pattern can make us allocate without bound, recurse without
// bound, overflow arithmetic, or point outside the mapping.
#include "gguf/gguf_parser.h"

#include <algorithm>
#include <limits>

#include "quants/ggml_layout.h"

namespace qwen {

using gguf_detail::quoted;

namespace {

// Smallest possible encodings, used to refuse counts the remaining bytes could never hold.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;                  // empty key, type, 1-byte value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;  // empty name, n_dims, 1 dim, type, offset

bool is_known_value_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufValueType::FLOAT64); }

// Bytes one element of an array of `t` occupies at least (strings and arrays: their headers).
uint64_t min_value_bytes(GgufValueType t) {
  switch (t) {
    case GgufValueType::UINT8:
    case GgufValueType::INT8:
    case GgufValueType::BOOL: return 1;
    case GgufValueType::UINT16:
    case GgufValueType::INT16: return 2;
    case GgufValueType::UINT32:
    case GgufValueType::INT32:
    case GgufValueType::FLOAT32: return 4;
    case GgufValueType::UINT64:
    case GgufValueType::INT64:
    case GgufValueType::FLOAT64: return 8;
    case GgufValueType::STRING: return 8;
    case GgufValueType::ARRAY: return 4 + 8;
  }
  return 1;
}

bool is_power_of_two(uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }

std::string n(uint64_t v) { return std::to_string(v); }

}  // namespace

GgufParser::GgufParser(GgufFile& file) : file_(file), in_(file.path_, file.map_, file.file_size_) {}

void GgufParser::parse() {
  parse_header();
  parse_metadata();
  parse_alignment();
  parse_tensor_infos();
  place_data_section();
}

void GgufParser::parse_header() {
  if (in_.size() < 4) {
    in_.fail("truncated: the file has " + n(in_.size()) + " bytes, too few for the 4-byte GGUF magic");
  }
  const uint8_t* magic = file_.map_;
  if (!(magic[0] == 'G' && magic[1] == 'G' && magic[2] == 'U' && magic[3] == 'F')) {
    in_.fail("not a GGUF file (magic '" + gguf_detail::printable(reinterpret_cast<const char*>(magic), 4) + "')");
  }
  in_.u32([] { return std::string("the magic"); });

  uint32_t version = in_.u32([] { return std::string("the GGUF version"); });
  if (version != 2 && version != 3) {
    // A big-endian writer stores the version byte-swapped; say so rather than print 50331648.
    uint32_t swapped = (version >> 24) | ((version >> 8) & 0xff00) | ((version << 8) & 0xff0000) | (version << 24);
    if (swapped == 2 || swapped == 3) {
      in_.fail("big-endian GGUF (version " + n(swapped) + ") is not supported; only little-endian files are");
    }
    in_.fail("unsupported GGUF version " + n(version) + " (this reader handles versions 2 and 3)");
  }
  file_.version_ = version;

  tensor_count_ = in_.u64([] { return std::string("the tensor count"); });
  kv_count_ = in_.u64([] { return std::string("the metadata count"); });
  // Each entry needs a minimum number of bytes, so a count the file cannot hold is refused here,
  // before any vector is sized from it.
  if (kv_count_ > in_.remaining() / kMinKvBytes) {
    in_.fail("truncated or corrupt: metadata count " + n(kv_count_) + " cannot fit, each entry takes at least " +
             n(kMinKvBytes) + " bytes and only " + n(in_.remaining()) + " bytes follow the header");
  }
  if (tensor_count_ > in_.remaining() / kMinTensorInfoBytes) {
    in_.fail("truncated or corrupt: tensor count " + n(tensor_count_) +
             " cannot fit, each tensor info takes at least " + n(kMinTensorInfoBytes) + " bytes and only " +
             n(in_.remaining()) + " bytes follow the header");
  }
}

void GgufParser::parse_metadata() {
  file_.kv_.reserve(static_cast<size_t>(kv_count_));
  for (uint64_t i = 0; i < kv_count_; ++i) {
    std::string key = in_.string([&] { return "the key of metadata entry " + n(i); });
    if (file_.kv_index_.count(key)) in_.fail("duplicate metadata key " + quoted(key));
    const std::string where = "metadata key " + quoted(key);
    uint32_t type = in_.u32([&] { return "the value type of " + where; });
    if (!is_known_value_type(type)) in_.fail(where + " has unknown value type " + n(type));
    count_values(1, where);
    GgufValue value = read_value(static_cast<GgufValueType>(type), where, 0);
    file_.kv_index_.emplace(key, file_.kv_.size());
    file_.kv_.emplace_back(std::move(key), std::move(value));
  }
}

// Every decoded value costs ~50 bytes of memory however few bytes it took in the file, so the
// total is capped to keep a crafted file from turning megabytes into gigabytes.
void GgufParser::count_values(uint64_t count, const std::string& where) {
  if (count > kMaxMetadataValues - values_seen_) {
    in_.fail(where + " brings the metadata past " + n(kMaxMetadataValues) + " values, more than any model needs");
  }
  values_seen_ += count;
}

GgufValue GgufParser::read_value(GgufValueType type, const std::string& where, int depth) {
  GgufValue out;
  out.type = type;
  auto what = [&] { return "the " + std::string(gguf_value_type_name(type)) + " value of " + where; };
  switch (type) {
    case GgufValueType::UINT8: out.v = uint64_t{in_.u8(what)}; break;
    case GgufValueType::INT8: out.v = int64_t{static_cast<int8_t>(in_.u8(what))}; break;
    case GgufValueType::UINT16: out.v = uint64_t{in_.u16(what)}; break;
    case GgufValueType::INT16: out.v = int64_t{static_cast<int16_t>(in_.u16(what))}; break;
    case GgufValueType::UINT32: out.v = uint64_t{in_.u32(what)}; break;
    case GgufValueType::INT32: out.v = int64_t{static_cast<int32_t>(in_.u32(what))}; break;
    case GgufValueType::UINT64: out.v = in_.u64(what); break;
    case GgufValueType::INT64: out.v = static_cast<int64_t>(in_.u64(what)); break;
    case GgufValueType::FLOAT32: out.v = static_cast<double>(in_.f32(what)); break;
    case GgufValueType::FLOAT64: out.v = in_.f64(what); break;
    case GgufValueType::BOOL: {
      uint8_t b = in_.u8(what);
      if (b > 1) in_.fail(where + " is a BOOL stored as " + n(b) + "; only 0 and 1 are valid");
      out.v = b == 1;
      break;
    }
    case GgufValueType::STRING: out.v = in_.string(what); break;
    case GgufValueType::ARRAY: return read_array(where, depth);
  }
  return out;
}

GgufValue GgufParser::read_array(const std::string& where, int depth) {
  if (depth >= kMaxArrayDepth) {
    in_.fail(where + " nests arrays more than " + n(kMaxArrayDepth) + " levels deep");
  }
  uint32_t elem = in_.u32([&] { return "the element type of the array in " + where; });
  if (!is_known_value_type(elem)) in_.fail("the array in " + where + " has unknown element type " + n(elem));
  const GgufValueType elem_type = static_cast<GgufValueType>(elem);
  uint64_t count = in_.u64([&] { return "the length of the array in " + where; });
  const uint64_t min_bytes = min_value_bytes(elem_type);
  if (count > in_.remaining() / min_bytes) {
    in_.fail("truncated: the array in " + where + " claims " + n(count) + " " + gguf_value_type_name(elem_type) +
             " elements (at least " + n(min_bytes) + " bytes each) but only " + n(in_.remaining()) +
             " bytes remain in the file (" + n(in_.size()) + " bytes)");
  }
  count_values(count, where);

  GgufValue out;
  out.type = GgufValueType::ARRAY;
  out.array_type = elem_type;
  auto items = std::make_shared<GgufArray>();
  items->reserve(static_cast<size_t>(count));
  // Only nested arrays pay for a label per element; flat arrays (the vocabulary) share one.
  const std::string any_element = "an element of " + where;
  for (uint64_t i = 0; i < count; ++i) {
    if (elem_type == GgufValueType::ARRAY) {
      items->push_back(read_value(elem_type, "element " + n(i) + " of " + where, depth + 1));
    } else {
      items->push_back(read_value(elem_type, any_element, depth + 1));
    }
  }
  out.v = std::move(items);
  return out;
}

void GgufParser::parse_alignment() {
  const GgufValue* a = file_.find("general.alignment");
  if (!a) {
    file_.alignment_ = kDefaultAlignment;
    return;
  }
  if (!std::holds_alternative<uint64_t>(a->v) && !std::holds_alternative<int64_t>(a->v)) {
    in_.fail(std::string("general.alignment is a ") + gguf_value_type_name(a->type) + "; it must be an integer");
  }
  const bool negative = std::holds_alternative<int64_t>(a->v) && std::get<int64_t>(a->v) < 0;
  const uint64_t value = negative ? 0 : a->as_u64();
  if (negative || !is_power_of_two(value)) {
    const std::string shown = negative ? std::to_string(std::get<int64_t>(a->v)) : n(value);
    in_.fail("general.alignment is " + shown + "; it must be a nonzero power of two");
  }
  file_.alignment_ = value;
}

void GgufParser::parse_tensor_infos() {
  if (tensor_count_ > in_.remaining() / kMinTensorInfoBytes) {
    in_.fail("truncated or corrupt: tensor count " + n(tensor_count_) +
             " cannot fit, each tensor info takes at least " + n(kMinTensorInfoBytes) + " bytes and only " +
             n(in_.remaining()) + " bytes follow the metadata");
  }
  file_.tensors_.reserve(static_cast<size_t>(tensor_count_));
  for (uint64_t i = 0; i < tensor_count_; ++i) {
    GgufTensorInfo t;
    t.name = in_.string([&] { return "the name of tensor " + n(i); });
    if (t.name.empty()) in_.fail("tensor " + n(i) + " has an empty name");
    if (file_.tensor_index_.count(t.name)) in_.fail("duplicate tensor name " + quoted(t.name));
    const std::string who = "tensor " + quoted(t.name);

    uint32_t n_dims = in_.u32([&] { return "the dimension count of " + who; });
    if (n_dims == 0 || n_dims > kMaxDims) {
      in_.fail(who + " has " + n(n_dims) + " dimensions; GGML allows 1 to " + n(kMaxDims));
    }
    // Element count = product of dims, kept within int64 (GgufTensorInfo::n_elements' type).
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t dim = in_.u64([&] { return "dimension " + n(d) + " of " + who; });
      if (dim == 0) in_.fail(who + " has dimension " + n(d) + " of size 0");
      if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / elements) {
        in_.fail(who + " has too many elements: its dimensions overflow a 64-bit element count");
      }
      elements *= dim;
      t.dims.push_back(static_cast<int64_t>(dim));
    }

    uint32_t type_id = in_.u32([&] { return "the type of " + who; });
    const GgmlLayout* tt = ggml_layout(type_id);
    if (!tt || tt->block_size <= 0 || tt->type_size == 0) {
      in_.fail("unknown tensor type " + n(type_id) + " for " + quoted(t.name));
    }
    t.type = static_cast<GgmlType>(type_id);
    // GGML quantizes whole rows, so the row length (dims[0]) must fill whole blocks.
    const uint64_t block = static_cast<uint64_t>(tt->block_size);
    if (static_cast<uint64_t>(t.dims[0]) % block != 0) {
      in_.fail(who + " of type " + tt->name + " has row length " + n(static_cast<uint64_t>(t.dims[0])) +
               ", not a multiple of its block size " + n(block));
    }
    const uint64_t blocks = elements / block;
    if (blocks > std::numeric_limits<uint64_t>::max() / tt->type_size) {
      in_.fail(who + " is too large: its byte size overflows 64 bits");
    }
    t.nbytes = blocks * tt->type_size;

    t.offset = in_.u64([&] { return "the data offset of " + who; });
    if (t.offset % file_.alignment_ != 0) {
      in_.fail(who + " has data offset " + n(t.offset) + ", not a multiple of the alignment " + n(file_.alignment_));
    }
    file_.tensor_index_.emplace(t.name, file_.tensors_.size());
    file_.tensors_.push_back(std::move(t));
  }
}

// The data section starts at the first aligned byte after the tensor infos. Every tensor must
// lie inside the file, and no two may share bytes (a writer never produces that; a corrupt
// offset table would make two weights alias silently).
void GgufParser::place_data_section() {
  const uint64_t align = file_.alignment_;
  const uint64_t pos = in_.pos();  // <= file size, so adding less than `align` cannot wrap
  const uint64_t pad = (align - pos % align) % align;
  file_.data_offset_ = pos + pad;
  if (file_.data_offset_ < pos) in_.fail("the data section offset overflows 64 bits");

  const uint64_t size = in_.size();
  for (const GgufTensorInfo& t : file_.tensors_) {
    const bool start_inside = file_.data_offset_ <= size && t.offset <= size - file_.data_offset_;
    if (!start_inside || t.nbytes > size - file_.data_offset_ - t.offset) {
      const uint64_t start = file_.data_offset_ + t.offset;
      const bool overflows = start < t.offset || start + t.nbytes < start;
      if (overflows) {
        in_.fail("truncated: tensor " + quoted(t.name) + " has data offset " + n(t.offset) + " and " + n(t.nbytes) +
                 " bytes, which lies beyond the end of the file (" + n(size) + " bytes)");
      }
      in_.fail("truncated: tensor " + quoted(t.name) + " data ends at byte " + n(start + t.nbytes) +
               " but the file has " + n(size) + " bytes");
    }
  }

  std::vector<const GgufTensorInfo*> by_offset;
  by_offset.reserve(file_.tensors_.size());
  for (const GgufTensorInfo& t : file_.tensors_) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const GgufTensorInfo* a, const GgufTensorInfo* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const GgufTensorInfo& prev = *by_offset[i - 1];
    const GgufTensorInfo& cur = *by_offset[i];
    if (cur.offset < prev.offset + prev.nbytes) {  // both end inside the file: no overflow
      in_.fail("tensors " + quoted(prev.name) + " and " + quoted(cur.name) + " overlap: bytes " + n(prev.offset) +
               ".." + n(prev.offset + prev.nbytes) + " and " + n(cur.offset) + ".." + n(cur.offset + cur.nbytes) +
               " of the data section");
    }
  }
}

}  // namespace qwen
