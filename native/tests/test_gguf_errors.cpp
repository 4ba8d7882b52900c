// GGUF reader, refusing side: every kind of damage is rejected with GgufError, and the message
// names the file and says plainly what is wrong. Run under QWEN_SANITIZE=ON these also prove no
// rejection path reads outside the buffer (each image is parsed from an exact-size heap copy).
#include <cstdint>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "test_framework.h"
#include "test_gguf_util.h"

using namespace qwen_test;

namespace {

constexpr uint32_t kF32 = 0, kQ8_0 = 8;

Builder valid() {
  Builder b;
  b.kv("general.architecture", v_str("qwen2"))
      .kv("qwen2.block_count", v_u32(1))
      .kv("tokenizer.ggml.tokens", v_array(T_STRING, {v_str("a"), v_str("b")}))
      .kv("nested", v_array(T_ARRAY, {v_array(T_INT16, {v_i16(1)})}));
  b.tensor({"token_embd.weight", {8, 2}, kF32, pattern_bytes(64, 1)});
  b.tensor({"blk.0.attn_q.weight", {32, 2}, kQ8_0, pattern_bytes(68, 2)});
  return b;
}

// A one-tensor file whose tensor info the test then corrupts.
Builder one_tensor(std::vector<uint64_t> dims, uint32_t type = kF32, size_t bytes = 16) {
  Builder b;
  b.tensor({"x", std::move(dims), type, pattern_bytes(bytes, 3)});
  return b;
}

}  // namespace

QWEN_TEST(gguf_rejects_truncation_at_every_byte) {
  Builder b = valid();
  const std::vector<uint8_t> full = b.build().data;
  CHECK(error_of(full) == "(parsed)");
  // Every cut, through the header, metadata, tensor infos, padding and data, is noticed.
  int failures = 0;
  for (size_t len = 0; len < full.size(); ++len) {
    std::vector<uint8_t> cut(full.begin(), full.begin() + len);
    if (!rejects_with(cut, {"truncated"})) {
      std::fprintf(stderr, "    (cut at %zu of %zu bytes)\n", len, full.size());
      if (++failures > 5) break;
    }
  }
  CHECK(failures == 0);
  std::vector<uint8_t> one_short(full.begin(), full.end() - 1);
  CHECK(rejects_with(one_short,
                     {"truncated: tensor 'blk.0.attn_q.weight' data ends at byte " + std::to_string(full.size()) +
                      " but the file has " + std::to_string(full.size() - 1) + " bytes"}));
  CHECK(rejects_with({}, {"truncated: the file is empty"}));
  CHECK(rejects_with({'G', 'G', 'U'}, {"truncated: the file has 3 bytes"}));
}

QWEN_TEST(gguf_rejects_wrong_magic_and_versions) {
  std::vector<uint8_t> zip = valid().build().data;
  zip[0] = 'P';
  zip[1] = 'K';
  zip[2] = 3;
  zip[3] = 4;
  CHECK(error_of(zip) == "t.gguf: not a GGUF file (magic 'PK\\x03\\x04')");

  for (uint32_t version : {0u, 1u, 4u, 99u}) {
    Builder b = valid();
    b.version = version;
    CHECK(rejects_with(b.build().data, {"unsupported GGUF version " + std::to_string(version)}));
  }
  Builder big_endian = valid();
  big_endian.version = 0x03000000;  // version 3 written by a big-endian machine
  CHECK(rejects_with(big_endian.build().data, {"big-endian GGUF (version 3) is not supported"}));
}

QWEN_TEST(gguf_rejects_absurd_counts_and_lengths_without_allocating) {
  Builder kvs = valid();
  kvs.override_kv_count = true;
  kvs.kv_count = 1ull << 62;
  CHECK(rejects_with(kvs.build().data, {"metadata count 4611686018427387904 cannot fit"}));

  Builder tensors = valid();
  tensors.override_tensor_count = true;
  tensors.tensor_count = ~0ull;
  CHECK(rejects_with(tensors.build().data, {"tensor count 18446744073709551615 cannot fit"}));
  // The largest count the header check lets through still cannot fit after the metadata.
  const Bytes sized = tensors.build();
  tensors.tensor_count = (sized.size() - 24) / 32;  // 32 bytes: the smallest tensor info
  CHECK((sized.size() - tensors.tensor_info_at[0]) / 32 < tensors.tensor_count);
  CHECK(rejects_with(tensors.build().data,
                     {"tensor count " + std::to_string(tensors.tensor_count) + " cannot fit", "follow the metadata"}));

  Builder array;
  array.kv("tokenizer.ggml.tokens", v_array(T_UINT8, {v_u8(1)}));
  Bytes image = array.build();
  image.patch_u64(24 + 8 + 21 + 4 + 4, 1ull << 60);  // header, key length, key, value type, element type
  CHECK(
      rejects_with(image.data, {"the array in metadata key 'tokenizer.ggml.tokens' claims 1152921504606846976 UINT8"}));

  Builder key;
  key.kv("k", v_u8(1));
  image = key.build();
  image.patch_u64(24, 1ull << 63);  // the key's length
  CHECK(rejects_with(image.data, {"truncated: the key of metadata entry 0 claims 9223372036854775808 bytes"}));

  Builder str;
  str.kv("general.name", v_str("qwen"));
  image = str.build();
  image.patch_u64(24 + 8 + 12 + 4, ~0ull);  // the string value's length
  CHECK(
      rejects_with(image.data, {"the STRING value of metadata key 'general.name' claims 18446744073709551615 bytes"}));

  // Each decoded value costs memory far beyond its byte in the file, so the total is capped.
  Builder many;
  many.kv("big", v_array(T_UINT8, {}));
  image = many.build();
  const uint64_t too_many = (uint64_t{1} << 22) + 1;
  image.patch_u64(24 + 8 + 3 + 4 + 4, too_many);
  image.data.resize(image.size() + too_many, 0);
  CHECK(rejects_with(image.data, {"metadata key 'big' brings the metadata past 4194304 values"}));

  Builder name = one_tensor({4});
  image = name.build();
  image.patch_u64(name.tensor_info_at[0], 1ull << 40);
  CHECK(rejects_with(image.data, {"truncated: the name of tensor 0 claims 1099511627776 bytes"}));
}

QWEN_TEST(gguf_rejects_bad_alignment) {
  for (uint32_t a : {0u, 3u, 48u, 0x80000001u}) {
    Builder b = valid();
    b.kv("general.alignment", v_u32(a));
    CHECK(rejects_with(b.build().data,
                       {"general.alignment is " + std::to_string(a) + "; it must be a nonzero power of two"}));
  }
  Builder negative = valid();
  negative.kv("general.alignment", v_i32(-32));
  CHECK(rejects_with(negative.build().data, {"general.alignment is -32; it must be a nonzero power of two"}));
  Builder text = valid();
  text.kv("general.alignment", v_str("32"));
  CHECK(rejects_with(text.build().data, {"general.alignment is a STRING; it must be an integer"}));
}

QWEN_TEST(gguf_rejects_tensor_data_outside_the_file) {
  Builder b = valid();
  Bytes image = b.build();
  const uint64_t q_nbytes = 68;
  image.patch_u64(tensor_offset_at(b, 1), 1024);
  CHECK(rejects_with(image.data, {"truncated: tensor 'blk.0.attn_q.weight' data ends at byte " +
                                  std::to_string(b.data_offset + 1024 + q_nbytes) + " but the file has " +
                                  std::to_string(image.size()) + " bytes"}));
  // Offsets so large that offset + size wraps around 64 bits must not slip through.
  image.patch_u64(tensor_offset_at(b, 1), ~0ull - 31);
  CHECK(rejects_with(image.data, {"truncated: tensor 'blk.0.attn_q.weight'", "beyond the end of the file"}));
  image.patch_u64(tensor_offset_at(b, 1), 1ull << 63);
  CHECK(rejects_with(image.data, {"truncated: tensor 'blk.0.attn_q.weight'"}));

  image.patch_u64(tensor_offset_at(b, 1), 40);  // inside the data section, but misaligned
  CHECK(rejects_with(image.data,
                     {"tensor 'blk.0.attn_q.weight' has data offset 40, not a multiple of the alignment 32"}));
  image.patch_u64(tensor_offset_at(b, 1), 32);  // aligned, but shares bytes with token_embd.weight
  CHECK(rejects_with(image.data, {"tensors 'token_embd.weight' and 'blk.0.attn_q.weight' overlap"}));
}

QWEN_TEST(gguf_rejects_bad_tensor_types_and_shapes) {
  Builder b = one_tensor({4});
  Bytes image = b.build();
  image.patch_u32(tensor_type_at(b, 0), 99);
  CHECK(error_of(image.data) == "t.gguf: unknown tensor type 99 for 'x'");
  image.patch_u32(tensor_type_at(b, 0), 0xffffffffu);
  CHECK(rejects_with(image.data, {"unknown tensor type 4294967295 for 'x'"}));

  CHECK(rejects_with(one_tensor({2, 2, 1, 1, 1}).build().data, {"tensor 'x' has 5 dimensions; GGML allows 1 to 4"}));
  CHECK(rejects_with(one_tensor({}).build().data, {"tensor 'x' has 0 dimensions"}));
  CHECK(rejects_with(one_tensor({4, 0}).build().data, {"tensor 'x' has dimension 1 of size 0"}));
  CHECK(rejects_with(one_tensor({1ull << 32, 1ull << 32}).build().data,
                     {"tensor 'x' has too many elements", "overflow"}));
  CHECK(rejects_with(one_tensor({~0ull}).build().data, {"tensor 'x' has too many elements"}));
  // 2^62 F32 elements fit an int64 count, but not a 64-bit byte size.
  CHECK(rejects_with(one_tensor({1ull << 62}).build().data,
                     {"tensor 'x' is too large: its byte size overflows 64 bits"}));
  CHECK(rejects_with(one_tensor({33}, kQ8_0, 34).build().data,
                     {"tensor 'x' of type Q8_0 has row length 33, not a multiple of its block size 32"}));
  Builder empty_name;
  empty_name.tensor({"", {4}, kF32, pattern_bytes(16, 1)});
  CHECK(rejects_with(empty_name.build().data, {"tensor 0 has an empty name"}));
}

QWEN_TEST(gguf_rejects_duplicates) {
  Builder keys = valid();
  keys.kv("qwen2.block_count", v_u32(2));
  CHECK(error_of(keys.build().data) == "t.gguf: duplicate metadata key 'qwen2.block_count'");
  Builder names = valid();
  names.tensor({"token_embd.weight", {8}, kF32, pattern_bytes(32, 4)});
  CHECK(error_of(names.build().data) == "t.gguf: duplicate tensor name 'token_embd.weight'");
}

QWEN_TEST(gguf_rejects_bad_metadata_values) {
  Value bad_type = v_u8(1);
  bad_type.type = 13;
  CHECK(rejects_with(Builder().kv("k", bad_type).build().data, {"metadata key 'k' has unknown value type 13"}));
  CHECK(rejects_with(Builder().kv("k", v_array(99, {})).build().data,
                     {"the array in metadata key 'k' has unknown element type 99"}));
  Value two = v_u8(2);
  two.type = T_BOOL;
  CHECK(rejects_with(Builder().kv("flag", two).build().data, {"metadata key 'flag' is a BOOL stored as 2"}));
  // Arrays nested deeper than the parser's limit are refused instead of recursing on.
  Value deep = v_array(T_UINT8, {});
  for (int i = 0; i < 9; ++i) deep = v_array(T_ARRAY, {deep});
  CHECK(rejects_with(Builder().kv("deep", deep).build().data, {"nests arrays more than 8 levels deep"}));
  Value ok_depth = v_array(T_UINT8, {v_u8(7)});
  for (int i = 0; i < 7; ++i) ok_depth = v_array(T_ARRAY, {ok_depth});
  CHECK(error_of(Builder().kv("deep", ok_depth).build().data) == "(parsed)");
  // Control bytes in a name are shown escaped, not written raw into the message.
  CHECK(error_of(Builder().kv("a\nb", v_u8(1)).kv("a\nb", v_u8(1)).build().data) ==
        "t.gguf: duplicate metadata key 'a\\x0Ab'");
}
