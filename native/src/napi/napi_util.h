// Small helpers shared by the binding files: turning C++ exceptions into JS errors, reading
// typed arguments with messages that name the function and the argument, and building JS numbers
// from 64-bit integers. Only src/napi/ includes napi.h; the engine below knows nothing of Node.
#pragma once
#include <napi.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <utility>

#include "loader/device.h"

namespace qwen_napi {

// The code a JS error gets when the GPU failed for good (a sticky CUDA error): the caller must
// load the model again, on the CPU.
constexpr const char* kGpuFaultCode = "QWEN_GPU_FAULT";

// Runs `body` and converts anything it throws into a pending JS exception carrying the same
// message. node-addon-api only converts Napi::Error by itself; a std::exception escaping a
// callback would call std::terminate and take the editor's language server down with it.
template <class Body> Napi::Value guarded(const Napi::Env& env, Body&& body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;  // already a JS error; node-addon-api rethrows it into JS
  } catch (const qwen::GpuFault& e) {
    Napi::Error err = Napi::Error::New(env, e.what());
    err.Value().Set("code", Napi::String::New(env, kGpuFaultCode));
    throw err;
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  } catch (...) {
    throw Napi::Error::New(env, "unknown native error");
  }
}

// A number for an error message: "99", "0.5", "-1" rather than std::to_string's "99.000000".
inline std::string num_str(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", d);
  return buf;
}

[[noreturn]] inline void throw_type_error(const Napi::Env& env, const std::string& msg) {
  throw Napi::TypeError::New(env, msg);
}

inline std::string arg_string(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* what) {
  if (info.Length() <= i || !info[i].IsString()) {
    throw_type_error(info.Env(), std::string(fn) + ": " + what + " must be a string");
  }
  return info[i].As<Napi::String>().Utf8Value();
}

// An integral JS number in [lo, hi]; rejects NaN, fractions and values out of range.
inline int64_t arg_int(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* what, int64_t lo,
                       int64_t hi) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    throw_type_error(info.Env(), std::string(fn) + ": " + what + " must be a number");
  }
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) ||
      d != static_cast<double>(static_cast<int64_t>(d))) {
    throw Napi::RangeError::New(info.Env(), std::string(fn) + ": " + what + " must be an integer in [" +
                                                std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                                                num_str(d));
  }
  return static_cast<int64_t>(d);
}

// GGUF integers can be full 64-bit; JS numbers are exact only up to 2^53. Small values (all the
// ones a model actually uses) come back as Number, anything larger as BigInt so nothing is lost.
constexpr uint64_t kMaxSafeInteger = (uint64_t{1} << 53) - 1;

inline Napi::Value u64_to_js(const Napi::Env& env, uint64_t v) {
  if (v <= kMaxSafeInteger) return Napi::Number::New(env, static_cast<double>(v));
  return Napi::BigInt::New(env, v);
}

inline Napi::Value i64_to_js(const Napi::Env& env, int64_t v) {
  if (v >= -static_cast<int64_t>(kMaxSafeInteger) && v <= static_cast<int64_t>(kMaxSafeInteger)) {
    return Napi::Number::New(env, static_cast<double>(v));
  }
  return Napi::BigInt::New(env, v);
}

// A Float32Array owning a fresh copy of `n` floats. The copy (instead of an external buffer) is
// deliberate: Electron's V8 memory cage, which VS Code runs under, forbids external ArrayBuffers.
inline Napi::Float32Array make_f32(const Napi::Env& env, const float* data, size_t n) {
  Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, n * sizeof(float));
  if (n) std::memcpy(buf.Data(), data, n * sizeof(float));
  return Napi::Float32Array::New(env, n, buf, 0);
}

}  // namespace qwen_napi
