// The pieces of the addon and how addon.cpp puts them together: each binding file registers its
// functions on `exports`; per-environment state (the NativeModel constructor) lives in AddonData
// so the addon also works when loaded in several worker threads.
#pragma once
#include <napi.h>

namespace qwen_napi {

struct AddonData {
  Napi::FunctionReference native_model_ctor;  // NativeModel, instantiated only by loadModel()
};

void init_gguf_binding(Napi::Env env, Napi::Object exports);    // readGguf, tensorToF32
void init_quants_binding(Napi::Env env, Napi::Object exports);  // typeInfo, quantize, dequantize
void init_cpu_binding(Napi::Env env, Napi::Object exports);     // cpuFeatures, gpuInfo
void init_model_binding(Napi::Env env, Napi::Object exports);   // loadModel, NativeModel

}  // namespace qwen_napi
