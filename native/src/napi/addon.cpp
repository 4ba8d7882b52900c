// Module entry point of qwen_native.node: registers every binding on the exports object.
// The JS surface is mirrored, with types, in src/engine/native.ts.
#include "napi/bindings.h"

namespace {

Napi::Object InitQwenNative(Napi::Env env, Napi::Object exports) {
  using namespace qwen_napi;
  env.SetInstanceData<AddonData>(new AddonData());
  init_cpu_binding(env, exports);
  init_gguf_binding(env, exports);
  init_quants_binding(env, exports);
  init_model_binding(env, exports);
  // Lets the TS loader refuse an addon built from another revision of this surface.
  exports.Set("bindingVersion", Napi::Number::New(env, 2));
  return exports;
}

}  // namespace

NODE_API_MODULE(qwen_native, InitQwenNative)
