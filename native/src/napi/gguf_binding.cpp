// readGguf and tensorToF32: a GGUF file's header, metadata and tensor table as plain JS values,
// and any tensor dequantized to float32. The metadata of a Qwen2.5 file holds two arrays of about
// 150k strings (tokens and merges), so arrays are built with the raw Node-API calls in one tight
// loop rather than through a wrapper object per element.
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "base/heap_trim.h"
#include "gguf/gguf.h"
#include "napi/bindings.h"
#include "napi/napi_util.h"
#include "quants/quants.h"

namespace qwen_napi {
namespace {

using qwen::GgufArray;
using qwen::GgufValue;

// Checks a raw Node-API status and turns a failure into a C++ exception that guarded() reports.
void check(napi_env env, napi_status status, const char* what) {
  if (status != napi_ok) throw Napi::Error::New(env, std::string("readGguf: could not create ") + what);
}

napi_value scalar_to_js(napi_env env, const GgufValue& v);

// Arrays become JS arrays. Element types repeat, so the element kind is looked at once per array
// for the two hot cases (strings, the vocabulary; 32-bit integers, the token types).
napi_value array_to_js(napi_env env, const GgufArray& arr) {
  napi_value out;
  check(env, napi_create_array_with_length(env, arr.size(), &out), "an array");
  for (size_t i = 0; i < arr.size(); ++i) {
    const GgufValue& el = arr[i];
    napi_value js;
    if (const std::string* s = std::get_if<std::string>(&el.v)) {
      check(env, napi_create_string_utf8(env, s->data(), s->size(), &js), "a string");
    } else {
      js = scalar_to_js(env, el);
    }
    check(env, napi_set_element(env, out, static_cast<uint32_t>(i), js), "an array element");
  }
  return out;
}

napi_value scalar_to_js(napi_env env, const GgufValue& v) {
  Napi::Env e(env);
  if (const uint64_t* u = std::get_if<uint64_t>(&v.v)) return u64_to_js(e, *u);
  if (const int64_t* i = std::get_if<int64_t>(&v.v)) return i64_to_js(e, *i);
  if (const double* d = std::get_if<double>(&v.v)) return Napi::Number::New(e, *d);
  if (const bool* b = std::get_if<bool>(&v.v)) return Napi::Boolean::New(e, *b);
  if (const std::string* s = std::get_if<std::string>(&v.v)) return Napi::String::New(e, *s);
  if (const auto* a = std::get_if<std::shared_ptr<GgufArray>>(&v.v)) {
    if (*a) return array_to_js(env, **a);
    return Napi::Array::New(e, 0);
  }
  return e.Null();
}

const char* type_name_of(qwen::GgmlType t) {
  const qwen::TypeTraits* tr = qwen::type_traits(static_cast<uint32_t>(t));
  return tr ? tr->name : "unknown";
}

Napi::Object tensor_info_to_js(const Napi::Env& env, const qwen::GgufTensorInfo& t) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", Napi::String::New(env, t.name));
  o.Set("type", Napi::Number::New(env, static_cast<double>(static_cast<uint32_t>(t.type))));
  o.Set("typeName", Napi::String::New(env, type_name_of(t.type)));
  Napi::Array dims = Napi::Array::New(env, t.dims.size());
  for (size_t i = 0; i < t.dims.size(); ++i) dims.Set(static_cast<uint32_t>(i), i64_to_js(env, t.dims[i]));
  o.Set("dims", dims);
  o.Set("offset", u64_to_js(env, t.offset));
  o.Set("nbytes", u64_to_js(env, t.nbytes));
  return o;
}

// readGguf(path) -> {version, alignment, dataOffset, fileSize, metadata, tensors}
Napi::Value ReadGguf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    std::string path = arg_string(info, 0, "readGguf", "path");
    std::unique_ptr<qwen::GgufFile> file = qwen::GgufFile::open(path);

    Napi::Object out = Napi::Object::New(env);
    out.Set("version", Napi::Number::New(env, file->version()));
    out.Set("alignment", u64_to_js(env, file->alignment()));
    out.Set("dataOffset", u64_to_js(env, file->data_offset()));
    out.Set("fileSize", u64_to_js(env, file->file_size()));

    // Keys are set in file order, so Object.keys() lists them as the file does.
    Napi::Object meta = Napi::Object::New(env);
    for (const auto& kv : file->metadata()) meta.Set(kv.first, Napi::Value(env, scalar_to_js(env, kv.second)));
    out.Set("metadata", meta);

    const auto& tensors = file->tensors();
    Napi::Array list = Napi::Array::New(env, tensors.size());
    for (size_t i = 0; i < tensors.size(); ++i) list.Set(static_cast<uint32_t>(i), tensor_info_to_js(env, tensors[i]));
    out.Set("tensors", list);
    file.reset();
    qwen::trim_free_heap();
    return out;
  });
}

// tensorToF32(path, name) -> Float32Array of every element, in GGML order (dims[0] fastest).
Napi::Value TensorToF32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    std::string path = arg_string(info, 0, "tensorToF32", "path");
    std::string name = arg_string(info, 1, "tensorToF32", "tensor name");
    std::unique_ptr<qwen::GgufFile> file = qwen::GgufFile::open(path);
    const qwen::GgufTensorInfo* t = file->find_tensor(name);
    if (!t) throw Napi::Error::New(env, path + ": no tensor named '" + name + "'");
    const qwen::TypeTraits* tr = qwen::type_traits(static_cast<uint32_t>(t->type));
    if (!tr || !tr->dequantize_row) {
      throw Napi::Error::New(env, path + ": tensor '" + name + "' has type " + type_name_of(t->type) +
                                      ", which this engine cannot dequantize");
    }
    const int64_t n = t->n_elements();
    if (n % tr->block_size != 0) {
      throw Napi::Error::New(env, path + ": tensor '" + name + "' has " + std::to_string(n) +
                                      " elements, not a multiple of the " + tr->name + " block size");
    }
    Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, static_cast<size_t>(n) * sizeof(float));
    tr->dequantize_row(file->tensor_data(*t), static_cast<float*>(buf.Data()), n);
    return Napi::Float32Array::New(env, static_cast<size_t>(n), buf, 0);
  });
}

}  // namespace

void init_gguf_binding(Napi::Env env, Napi::Object exports) {
  exports.Set("readGguf", Napi::Function::New(env, ReadGguf, "readGguf"));
  exports.Set("tensorToF32", Napi::Function::New(env, TensorToF32, "tensorToF32"));
}

}  // namespace qwen_napi
