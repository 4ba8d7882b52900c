// typeInfo, quantize and dequantize: the block formats of quants/ as seen from JS. The quantizer
// (src/engine/quantize.ts) writes GGUF files with these, and tests compare them with references.
#include <string>

#include "napi/bindings.h"
#include "napi/napi_util.h"
#include "quants/quants.h"

namespace qwen_napi {
namespace {

// GGML type ids are small (under 64 in every GGML version so far); scanning them finds a type by
// name without a second table that could drift from quants/.
constexpr uint32_t kMaxTypeId = 64;

const qwen::TypeTraits& traits_by_name(const Napi::Env& env, const std::string& name, uint32_t* id_out) {
  std::string known;
  for (uint32_t id = 0; id < kMaxTypeId; ++id) {
    const qwen::TypeTraits* tr = qwen::type_traits(id);
    if (!tr || !tr->name) continue;
    if (name == tr->name) {
      if (id_out) *id_out = id;
      return *tr;
    }
    if (tr->supported) known += (known.empty() ? "" : ", ") + std::string(tr->name);
  }
  throw Napi::Error::New(env, "unknown GGML type name '" + name + "' (supported: " + known + ")");
}

// typeInfo(typeName) -> {id, name, blockSize, typeSize, supported, canQuantize}
Napi::Value TypeInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    std::string name = arg_string(info, 0, "typeInfo", "type name");
    uint32_t id = 0;
    const qwen::TypeTraits& tr = traits_by_name(env, name, &id);
    Napi::Object o = Napi::Object::New(env);
    o.Set("id", Napi::Number::New(env, id));
    o.Set("name", Napi::String::New(env, tr.name));
    o.Set("blockSize", Napi::Number::New(env, tr.block_size));
    o.Set("typeSize", Napi::Number::New(env, static_cast<double>(tr.type_size)));
    o.Set("supported", Napi::Boolean::New(env, tr.supported));
    o.Set("canQuantize", Napi::Boolean::New(env, tr.quantize_row != nullptr));
    return o;
  });
}

// quantize(typeName, Float32Array) -> Uint8Array of n / blockSize blocks.
// Blocks never straddle rows (row lengths are multiples of the block size), so a whole tensor can
// be quantized as one long row and gives the same bytes as quantizing it row by row.
Napi::Value Quantize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    std::string name = arg_string(info, 0, "quantize", "type name");
    if (info.Length() < 2 || !info[1].IsTypedArray() ||
        info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw_type_error(env, "quantize: data must be a Float32Array");
    }
    Napi::Float32Array src = info[1].As<Napi::Float32Array>();
    const qwen::TypeTraits& tr = traits_by_name(env, name, nullptr);
    if (!tr.quantize_row) throw Napi::Error::New(env, "quantize: cannot write type " + name);
    const int64_t n = static_cast<int64_t>(src.ElementLength());
    if (n % tr.block_size != 0) {
      throw Napi::RangeError::New(env, "quantize: " + std::to_string(n) + " values is not a multiple of the " + name +
                                           " block size " + std::to_string(tr.block_size));
    }
    const size_t nbytes = static_cast<size_t>(n / tr.block_size) * tr.type_size;
    Napi::Uint8Array out = Napi::Uint8Array::New(env, nbytes);
    if (n) tr.quantize_row(src.Data(), out.Data(), n);
    return out;
  });
}

// dequantize(typeName, Uint8Array, n) -> Float32Array of n values.
Napi::Value Dequantize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    std::string name = arg_string(info, 0, "dequantize", "type name");
    if (info.Length() < 2 || !info[1].IsTypedArray() ||
        info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      throw_type_error(env, "dequantize: data must be a Uint8Array");
    }
    Napi::Uint8Array src = info[1].As<Napi::Uint8Array>();
    const int64_t n = arg_int(info, 2, "dequantize", "element count", 0, int64_t{1} << 40);
    const qwen::TypeTraits& tr = traits_by_name(env, name, nullptr);
    if (!tr.dequantize_row) throw Napi::Error::New(env, "dequantize: cannot read type " + name);
    if (n % tr.block_size != 0) {
      throw Napi::RangeError::New(env, "dequantize: " + std::to_string(n) + " values is not a multiple of the " + name +
                                           " block size " + std::to_string(tr.block_size));
    }
    const size_t need = static_cast<size_t>(n / tr.block_size) * tr.type_size;
    if (src.ByteLength() < need) {
      throw Napi::RangeError::New(env, "dequantize: " + std::to_string(n) + " " + name + " values need " +
                                           std::to_string(need) + " bytes, got " + std::to_string(src.ByteLength()));
    }
    Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, static_cast<size_t>(n) * sizeof(float));
    if (n) tr.dequantize_row(src.Data(), static_cast<float*>(buf.Data()), n);
    return Napi::Float32Array::New(env, static_cast<size_t>(n), buf, 0);
  });
}

}  // namespace

void init_quants_binding(Napi::Env env, Napi::Object exports) {
  exports.Set("typeInfo", Napi::Function::New(env, TypeInfo, "typeInfo"));
  exports.Set("quantize", Napi::Function::New(env, Quantize, "quantize"));
  exports.Set("dequantize", Napi::Function::New(env, Dequantize, "dequantize"));
}

}  // namespace qwen_napi
