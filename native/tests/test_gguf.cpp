// GGUF reader, accepting side: files built byte by byte here parse into exactly the metadata and
// tensor table that was written, from memory and from disk, for versions 2 and 3 and for custom
// alignment. The refusing side is in test_gguf_errors.cpp.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "test_framework.h"
#include "test_gguf_util.h"

using namespace qwen_test;
using qwen::GgufError;
using qwen::GgufValueType;

namespace {

constexpr uint32_t kF32 = 0, kF16 = 1, kQ8_0 = 8;

// Three tensors of different types and ranks, packed at 32-byte-aligned offsets.
Builder with_tensors() {
  Builder b = all_value_types();
  b.tensor({"token_embd.weight", {4, 3}, kF32, pattern_bytes(4 * 3 * 4, 1)});
  b.tensor({"output_norm.weight", {4}, kF16, pattern_bytes(4 * 2, 2)});
  b.tensor({"blk.0.attn_q.weight", {64, 2}, kQ8_0, pattern_bytes(2 * 2 * 34, 3)});
  return b;
}

std::string temp_path(const char* tag) {
  return std::string("/tmp/qwen-test-gguf-") + tag + "-" + std::to_string(getpid()) + ".gguf";
}

void write_file(const std::string& path, const std::vector<uint8_t>& data) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return;
  if (!data.empty()) std::fwrite(data.data(), 1, data.size(), f);
  std::fclose(f);
}

}  // namespace

QWEN_TEST(gguf_reads_every_metadata_value_type) {
  Builder b = all_value_types();
  Parsed p = parse_bytes(b.build().data);
  const qwen::GgufFile& f = *p.file;
  CHECK(f.version() == 3);
  CHECK(f.alignment() == 32);
  CHECK(f.tensors().empty());
  CHECK(f.metadata().size() == b.kvs.size());
  for (size_t i = 0; i < b.kvs.size() && i < f.metadata().size(); ++i) CHECK(f.metadata()[i].first == b.kvs[i].first);

  CHECK(f.find("u8")->type == GgufValueType::UINT8 && f.find("u8")->as_u64() == 200);
  CHECK(f.find("i8")->type == GgufValueType::INT8 && f.find("i8")->as_i64() == -100);
  CHECK(f.find("u16")->type == GgufValueType::UINT16 && f.find("u16")->as_u64() == 60000);
  CHECK(f.find("i16")->type == GgufValueType::INT16 && f.find("i16")->as_i64() == -30000);
  CHECK(f.find("u32")->type == GgufValueType::UINT32 && f.find("u32")->as_u64() == 4000000000u);
  CHECK(f.find("i32")->type == GgufValueType::INT32 && f.find("i32")->as_i64() == -2000000000);
  CHECK(f.find("u64")->type == GgufValueType::UINT64 && f.find("u64")->as_u64() == (1ull << 40));
  CHECK(f.find("i64")->type == GgufValueType::INT64 && f.find("i64")->as_i64() == -(1ll << 40));
  CHECK(f.find("f32")->type == GgufValueType::FLOAT32);
  CHECK_NEAR(f.find("f32")->as_f64(), 0.5, 1e-12);
  CHECK(f.find("f64")->type == GgufValueType::FLOAT64);
  CHECK_NEAR(f.find("f64")->as_f64(), -2.25, 1e-12);
  CHECK(f.find("bool")->type == GgufValueType::BOOL && std::get<bool>(f.find("bool")->v) == true);
  CHECK(f.find("empty")->as_string().empty());
  CHECK(f.get_string("general.architecture") == "qwen2");
  CHECK(f.get_u64("u32") == 4000000000u);
  CHECK_NEAR(f.get_f64("i16"), -30000.0, 0.0);
  CHECK(f.find("absent") == nullptr);

  const qwen::GgufArray& ints = f.find("ints")->as_array();
  CHECK(f.find("ints")->array_type == GgufValueType::INT32);
  CHECK(ints.size() == 3 && ints[0].as_i64() == 1 && ints[1].as_i64() == -2 && ints[2].as_i64() == 3);
  const qwen::GgufArray& words = f.find("words")->as_array();
  CHECK(words.size() == 3 && words[0].as_string() == "a" && words[1].as_string() == "bc" &&
        words[2].as_string().empty());
  const qwen::GgufValue& nested = *f.find("nested");
  CHECK(nested.array_type == GgufValueType::ARRAY && nested.as_array().size() == 2);
  if (nested.as_array().size() == 2) {
    const qwen::GgufArray& inner = nested.as_array()[0].as_array();
    CHECK(nested.as_array()[0].array_type == GgufValueType::UINT8);
    CHECK(inner.size() == 2 && inner[0].as_u64() == 1 && inner[1].as_u64() == 2);
    CHECK(nested.as_array()[1].as_array().empty());
  }
}

QWEN_TEST(gguf_typed_getters_refuse_wrong_types_naming_the_key) {
  Parsed p = parse_bytes(all_value_types().build().data);
  const qwen::GgufFile& f = *p.file;
  auto message = [](auto&& fn) -> std::string {
    try {
      fn();
    } catch (const GgufError& e) {
      return e.what();
    }
    return "(no error)";
  };
  CHECK(message([&] { f.get_u64("nope"); }) == "t.gguf: metadata key 'nope' is missing");
  CHECK(contains(message([&] { f.get_u64("f32"); }), "t.gguf: metadata key 'f32': metadata value is FLOAT32"));
  CHECK(contains(message([&] { f.get_u64("i8"); }), "-100, not a non-negative integer"));
  CHECK(contains(message([&] { f.get_string("u8"); }), "'u8'"));
  CHECK(contains(message([&] { f.get_f64("words"); }), "is ARRAY, not a number"));
  CHECK(contains(message([&] { f.find("general.architecture")->as_array(); }), "is STRING, not an ARRAY"));
  CHECK(contains(message([&] { f.find("bool")->as_u64(); }), "is BOOL"));
  // 2^63 and above fit a UINT64 but not as_i64.
  Builder big;
  big.kv("huge", v_u64(~0ull));
  Parsed q = parse_bytes(big.build().data);
  CHECK(contains(message([&] { q.file->find("huge")->as_i64(); }), "does not fit"));
}

QWEN_TEST(gguf_reads_tensor_infos_and_data) {
  Builder b = with_tensors();
  Bytes image = b.build();
  Parsed p = parse_bytes(image.data);
  const qwen::GgufFile& f = *p.file;
  CHECK(f.data_offset() == b.data_offset && f.data_offset() % 32 == 0);
  CHECK(f.file_size() == image.size());
  CHECK(f.tensors().size() == 3);
  if (f.tensors().size() != 3) return;

  const uint64_t expected_nbytes[] = {48, 8, 136};  // 12 f32, 4 f16, 4 Q8_0 blocks of 34 bytes
  const uint64_t expected_offset[] = {0, 64, 96};   // packed, each start rounded up to 32
  for (size_t i = 0; i < 3; ++i) {
    const qwen::GgufTensorInfo& t = f.tensors()[i];
    CHECK(t.name == b.tensors[i].name);
    CHECK(t.dims.size() == b.tensors[i].dims.size());
    for (size_t d = 0; d < t.dims.size() && d < b.tensors[i].dims.size(); ++d)
      CHECK(uint64_t(t.dims[d]) == b.tensors[i].dims[d]);
    CHECK(static_cast<uint32_t>(t.type) == b.tensors[i].type);
    CHECK(t.offset == expected_offset[i]);
    CHECK(t.nbytes == expected_nbytes[i]);
    CHECK(f.find_tensor(t.name) == &t);
    const uint8_t* data = f.tensor_data(t);
    CHECK(data == p.bytes.get() + f.data_offset() + t.offset);
    CHECK(std::equal(data, data + t.nbytes, b.tensors[i].data.begin()));
  }
  CHECK(f.tensors()[0].n_elements() == 12 && f.tensors()[2].n_elements() == 128);
  CHECK(f.find_tensor("missing.weight") == nullptr);
}

QWEN_TEST(gguf_reads_version_2_and_custom_alignment) {
  Builder b = with_tensors();
  b.version = 2;
  b.alignment = 64;
  b.kv("general.alignment", v_u32(64));
  Parsed p = parse_bytes(b.build().data);
  const qwen::GgufFile& f = *p.file;
  CHECK(f.version() == 2);
  CHECK(f.alignment() == 64);
  CHECK(f.data_offset() % 64 == 0 && f.data_offset() == b.data_offset);
  CHECK(f.tensors().size() == 3);
  for (const auto& t : f.tensors()) CHECK(t.offset % 64 == 0);
  if (f.tensors().size() == 3) CHECK(f.tensors()[2].offset == 128);
  // Any unsigned width is a valid way to store the alignment.
  Builder u64_align;
  u64_align.alignment = 16;
  u64_align.kv("general.alignment", v_u64(16)).tensor({"w", {3}, kF32, pattern_bytes(12, 9)});
  Parsed q = parse_bytes(u64_align.build().data);
  CHECK(q.file->alignment() == 16 && q.file->data_offset() % 16 == 0);
}

QWEN_TEST(gguf_opens_files_from_disk_with_mmap) {
  Builder b = with_tensors();
  Bytes image = b.build();
  const std::string path = temp_path("ok");
  write_file(path, image.data);
  {
    auto f = qwen::GgufFile::open(path);
    CHECK(f->path() == path);
    CHECK(f->file_size() == image.size());
    CHECK(f->tensors().size() == 3 && f->metadata().size() == b.kvs.size());
    const qwen::GgufTensorInfo* t = f->find_tensor("blk.0.attn_q.weight");
    CHECK(t != nullptr);
    if (t) CHECK(std::equal(f->tensor_data(*t), f->tensor_data(*t) + t->nbytes, b.tensors[2].data.begin()));
  }
  // Errors from disk name the path as given.
  std::vector<uint8_t> cut(image.data.begin(), image.data.end() - 1);
  write_file(path, cut);
  try {
    qwen::GgufFile::open(path);
    CHECK(false);
  } catch (const GgufError& e) {
    CHECK(std::string(e.what()).rfind(path + ": truncated: tensor 'blk.0.attn_q.weight' data ends at byte", 0) == 0);
  }
  write_file(path, {});
  try {
    qwen::GgufFile::open(path);
    CHECK(false);
  } catch (const GgufError& e) {
    CHECK(std::string(e.what()) == path + ": truncated: the file is empty");
  }
  std::remove(path.c_str());

  auto open_error = [](const std::string& p) -> std::string {
    try {
      qwen::GgufFile::open(p);
    } catch (const GgufError& e) {
      return e.what();
    }
    return "(opened)";
  };
  CHECK(open_error(path) == path + ": cannot open: No such file or directory");
  CHECK(open_error("/tmp") == "/tmp: not a regular file");
  // A FIFO would block a plain open() forever; it must be refused at once instead.
  const std::string fifo = temp_path("fifo");
  if (mkfifo(fifo.c_str(), 0600) == 0) {
    CHECK(open_error(fifo) == fifo + ": not a regular file");
    std::remove(fifo.c_str());
  } else {
    std::fprintf(stderr, "    (FIFO case skipped: mkfifo failed)\n");
  }
}
