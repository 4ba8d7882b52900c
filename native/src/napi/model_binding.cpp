// NativeModel's synchronous methods: facts about the model, sequence bookkeeping, sampling and
// close. The asynchronous parts (loading, eval) are in model_workers.cpp.
#include "napi/model_binding.h"

#include <cmath>
#include <string>

#include "napi/bindings.h"

namespace qwen_napi {

Napi::Function NativeModel::Define(Napi::Env env) {
  return DefineClass(env, "NativeModel",
                     {
                         InstanceMethod<&NativeModel::Hparams>("hparams"),
                         InstanceMethod<&NativeModel::Backend>("backend"),
                         InstanceMethod<&NativeModel::DeviceReport>("deviceReport"),
                         InstanceMethod<&NativeModel::ContextSize>("contextSize"),
                         InstanceMethod<&NativeModel::KvBytesPerToken>("kvBytesPerToken"),
                         InstanceMethod<&NativeModel::KvUsed>("kvUsed"),
                         InstanceMethod<&NativeModel::KvBlockTokens>("kvBlockTokens"),
                         InstanceMethod<&NativeModel::IsBusy>("isBusy"),
                         InstanceMethod<&NativeModel::CreateSequence>("createSequence"),
                         InstanceMethod<&NativeModel::FreeSequence>("freeSequence"),
                         InstanceMethod<&NativeModel::SequenceLength>("sequenceLength"),
                         InstanceMethod<&NativeModel::Truncate>("truncate"),
                         InstanceMethod<&NativeModel::Eval>("eval"),
                         InstanceMethod<&NativeModel::Cancel>("cancel"),
                         InstanceMethod<&NativeModel::Sample>("sample"),
                         InstanceMethod<&NativeModel::Close>("close"),
                     });
}

NativeModel::NativeModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeModel>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "NativeModel cannot be constructed directly; use loadModel()");
  }
  // The load worker released ownership into the External; take it back.
  model_.reset(info[0].As<Napi::External<qwen::Model>>().Data());
}

NativeModel::~NativeModel() {
  // Only reachable while busy when the environment is torn down (process exit, worker thread
  // end) with an eval still on the pool: the handle is pinned otherwise. Freeing the model under
  // the running eval would crash the exit, so it is cancelled and deliberately leaked instead.
  if (busy_) {
    for (auto& kv : sequences_) kv.second->store(true);
    (void)model_.release();
  }
}

qwen::Model& NativeModel::model(const Napi::Env& env, const char* fn, bool need_idle) {
  if (!model_ || close_pending_) throw Napi::Error::New(env, std::string(fn) + ": model is closed");
  if (need_idle && busy_) {
    throw Napi::Error::New(env,
                           std::string(fn) + ": model is busy with an eval; wait for it to settle before this call");
  }
  return *model_;
}

int NativeModel::sequence_arg(const Napi::CallbackInfo& info, const char* fn) {
  const int seq = static_cast<int>(arg_int(info, 0, fn, "sequence id", INT32_MIN, INT32_MAX));
  if (!sequences_.count(seq)) {
    throw Napi::Error::New(info.Env(), std::string(fn) + ": unknown sequence id " + std::to_string(seq));
  }
  return seq;
}

void NativeModel::finish_eval() {
  busy_ = false;
  if (close_pending_) {
    model_.reset();
    sequences_.clear();
  }
  Unref();  // taken in Eval() so the handle outlives the worker
}

Napi::Value NativeModel::Hparams(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const qwen::HParams& h = model(env, "hparams", false).hparams();
    Napi::Object o = Napi::Object::New(env);
    o.Set("nVocab", h.n_vocab);
    o.Set("nEmbd", h.n_embd);
    o.Set("nLayer", h.n_layer);
    o.Set("nHead", h.n_head);
    o.Set("nHeadKv", h.n_head_kv);
    o.Set("nFf", h.n_ff);
    o.Set("nCtxTrain", h.n_ctx_train);
    o.Set("rmsEps", h.rms_eps);
    o.Set("ropeFreqBase", h.rope_freq_base);
    o.Set("ropeScalingType", h.rope_scaling_type);
    o.Set("ropeScalingFactor", h.rope_scaling_factor);
    o.Set("ropeOrigCtx", h.rope_orig_ctx);
    o.Set("tiedEmbeddings", h.tied_embeddings);
    return o;
  });
}

Napi::Value NativeModel::Backend(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    return Napi::String::New(info.Env(), model(info.Env(), "backend", false).backend_description());
  });
}

Napi::Value NativeModel::DeviceReport(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const qwen::DeviceReport& r = model(env, "deviceReport", false).device_report();
    Napi::Object o = Napi::Object::New(env);
    o.Set("requested", r.requested);
    o.Set("used", r.used);
    o.Set("reasonCode", qwen::gpu_reason_code(r.reason));
    o.Set("reason", r.reason_message);
    o.Set("gpuName", r.gpu_name);
    if (r.self_check.ran) {
      Napi::Object c = Napi::Object::New(env);
      c.Set("passed", r.self_check.passed);
      c.Set("tokens", r.self_check.tokens);
      c.Set("cosineMin", r.self_check.cosine_min);
      c.Set("cosineThreshold", r.self_check.cosine_threshold);
      c.Set("top1Mismatches", r.self_check.top1_mismatches);
      c.Set("tieMarginSd", r.self_check.tie_margin);
      c.Set("summary", r.self_check.summary());
      o.Set("selfCheck", c);
    }
    return o;
  });
}

Napi::Value NativeModel::ContextSize(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), model(info.Env(), "contextSize", false).context_size());
  });
}

Napi::Value NativeModel::KvBytesPerToken(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    const size_t b = model(info.Env(), "kvBytesPerToken", false).kv_bytes_per_token();
    return Napi::Number::New(info.Env(), static_cast<double>(b));
  });
}

Napi::Value NativeModel::KvBlockTokens(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), model(info.Env(), "kvBlockTokens", false).kv_block_tokens());
  });
}

Napi::Value NativeModel::KvUsed(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), model(info.Env(), "kvUsed", true).kv_used());
  });
}

Napi::Value NativeModel::IsBusy(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), busy_); }

Napi::Value NativeModel::CreateSequence(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const int seq = model(env, "createSequence", true).create_sequence();
    sequences_[seq] = std::make_shared<std::atomic<bool>>(false);
    return Napi::Number::New(env, seq);
  });
}

Napi::Value NativeModel::FreeSequence(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    qwen::Model& m = model(env, "freeSequence", true);
    const int seq = sequence_arg(info, "freeSequence");
    m.free_sequence(seq);
    sequences_.erase(seq);
    return env.Undefined();
  });
}

Napi::Value NativeModel::SequenceLength(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    qwen::Model& m = model(env, "sequenceLength", true);
    return Napi::Number::New(env, m.sequence_length(sequence_arg(info, "sequenceLength")));
  });
}

Napi::Value NativeModel::Truncate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    qwen::Model& m = model(env, "truncate", true);
    const int seq = sequence_arg(info, "truncate");
    const int len = m.sequence_length(seq);
    const int n = static_cast<int>(arg_int(info, 1, "truncate", "length", 0, len));
    m.truncate(seq, n);
    return env.Undefined();
  });
}

Napi::Value NativeModel::Eval(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    qwen::Model& m = model(env, "eval", true);
    const int seq = sequence_arg(info, "eval");
    if (info.Length() < 2 || !info[1].IsTypedArray() ||
        info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      throw_type_error(env, "eval: tokens must be an Int32Array");
    }
    Napi::Int32Array arr = info[1].As<Napi::Int32Array>();
    if (arr.ElementLength() == 0) throw Napi::RangeError::New(env, "eval: no tokens to evaluate");
    // Copied now: the worker must not read JS memory that the caller may reuse meanwhile.
    std::vector<int32_t> tokens(arr.Data(), arr.Data() + arr.ElementLength());
    const int n_vocab = m.hparams().n_vocab;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (tokens[i] < 0 || tokens[i] >= n_vocab) {
        throw Napi::RangeError::New(env, "eval: token id " + std::to_string(tokens[i]) + " at index " +
                                             std::to_string(i) + " is outside the vocabulary [0, " +
                                             std::to_string(n_vocab) + ")");
      }
    }
    std::string mode_name = info.Length() > 2 && info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "last";
    qwen::LogitsMode mode;
    // 'keep': the last row is computed for sample() but not copied out (generation).
    const bool return_logits = mode_name != "keep";
    if (mode_name == "none") mode = qwen::LogitsMode::None;
    else if (mode_name == "last" || mode_name == "keep") mode = qwen::LogitsMode::Last;
    else if (mode_name == "all") mode = qwen::LogitsMode::All;
    else
      throw Napi::TypeError::New(env,
                                 "eval: logits mode must be 'none', 'keep', 'last' or 'all', got '" + mode_name + "'");

    CancelFlag flag = sequences_[seq];
    flag->store(false);  // a cancel() aimed at an earlier eval must not stop this one
    busy_ = true;
    Ref();
    return queue_eval(env, this, &m, seq, std::move(tokens), mode, return_logits, flag);
  });
}

Napi::Value NativeModel::Cancel(const Napi::CallbackInfo& info) {
  // Allowed while busy: that is the point. Unknown ids are ignored (the sequence may be gone).
  const int seq = static_cast<int>(arg_int(info, 0, "cancel", "sequence id", INT32_MIN, INT32_MAX));
  auto it = sequences_.find(seq);
  if (it != sequences_.end()) it->second->store(true);
  return info.Env().Undefined();
}

namespace {

float number_field(const Napi::Object& o, const char* key, float fallback, float lo, float hi) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("sample: ") + key + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d < lo || d > hi) {
    throw Napi::RangeError::New(o.Env(), std::string("sample: ") + key + " must be in [" + num_str(lo) + ", " +
                                             num_str(hi) + "], got " + num_str(d));
  }
  return static_cast<float>(d);
}

uint64_t seed_field(const Napi::Object& o) {
  Napi::Value v = o.Get("seed");
  if (v.IsUndefined() || v.IsNull()) return 0;
  if (v.IsBigInt()) {
    bool lossless = true;
    return v.As<Napi::BigInt>().Uint64Value(&lossless);
  }
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), "sample: seed must be a number or bigint");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > static_cast<double>(kMaxSafeInteger) || d != std::floor(d)) {
    throw Napi::RangeError::New(o.Env(), "sample: seed must be a non-negative integer");
  }
  return static_cast<uint64_t>(d);
}

}  // namespace

Napi::Value NativeModel::Sample(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    qwen::Model& m = model(env, "sample", true);
    const int seq = sequence_arg(info, "sample");
    qwen::SamplerParams p;
    if (info.Length() > 1 && info[1].IsObject()) {
      Napi::Object o = info[1].As<Napi::Object>();
      p.temperature = number_field(o, "temperature", p.temperature, 0.0f, 100.0f);
      p.top_k = static_cast<int>(number_field(o, "topK", static_cast<float>(p.top_k), 0.0f, 1e7f));
      p.top_p = number_field(o, "topP", p.top_p, 0.0f, 1.0f);
      p.min_p = number_field(o, "minP", p.min_p, 0.0f, 1.0f);
      p.repeat_penalty = number_field(o, "repeatPenalty", p.repeat_penalty, 0.0f, 100.0f);
      p.seed = seed_field(o);
    } else if (info.Length() > 1 && !info[1].IsUndefined()) {
      throw_type_error(env, "sample: params must be an object");
    }
    const int32_t* recent = nullptr;
    int n_recent = 0;
    if (info.Length() > 2 && !info[2].IsUndefined() && !info[2].IsNull()) {
      if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
        throw_type_error(env, "sample: recent tokens must be an Int32Array");
      }
      Napi::Int32Array r = info[2].As<Napi::Int32Array>();
      recent = r.Data();
      n_recent = static_cast<int>(r.ElementLength());
    }
    return Napi::Number::New(env, m.sample(seq, p, recent, n_recent));
  });
}

Napi::Value NativeModel::Close(const Napi::CallbackInfo& info) {
  if (busy_) {
    // The running eval still uses the model: stop it, and free everything when it settles.
    close_pending_ = true;
    for (auto& kv : sequences_) kv.second->store(true);
  } else {
    model_.reset();
    sequences_.clear();
  }
  return info.Env().Undefined();
}

void init_model_binding(Napi::Env env, Napi::Object exports) {
  AddonData* data = env.GetInstanceData<AddonData>();
  data->native_model_ctor = Napi::Persistent(NativeModel::Define(env));
  exports.Set("loadModel", Napi::Function::New(env, load_model_entry, "loadModel"));
}

}  // namespace qwen_napi
