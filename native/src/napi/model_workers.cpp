// The two slow NativeModel operations, run on the libuv thread pool so the event loop (and with
// it the editor's language server) stays responsive: loading a model, with progress reported back
// through a thread-safe function, and eval, whose cancellation arrives through an atomic flag.
#include <memory>
#include <string>
#include <utility>

#include "loader/load_model.h"
#include "napi/bindings.h"
#include "napi/model_binding.h"

namespace qwen_napi {
namespace {

// Runs on the JS thread for each progress report that the load thread queued.
void deliver_progress(Napi::Env env, Napi::Function callback, float* fraction) {
  std::unique_ptr<float> owned(fraction);
  if (env == nullptr || callback.IsEmpty()) return;  // the environment is shutting down
  try {
    callback.Call({Napi::Number::New(env, *owned)});
  } catch (const Napi::Error&) {
    // A throwing progress callback must not fail the load or surface as an uncaught exception
    // on an unrelated tick; the exception was cleared when Napi::Error captured it.
  }
}

class LoadWorker : public Napi::AsyncWorker {
 public:
  LoadWorker(Napi::Env env, std::string path, qwen::ModelOptions opts, Napi::Value on_progress)
      : Napi::AsyncWorker(env, "qwenLoadModel"),
        deferred_(Napi::Promise::Deferred::New(env)),
        path_(std::move(path)),
        opts_(opts) {
    if (on_progress.IsFunction()) {
      progress_ = Napi::ThreadSafeFunction::New(env, on_progress.As<Napi::Function>(), "qwenLoadProgress",
                                                0 /* unbounded queue: a few hundred reports at most */, 1);
      has_progress_ = true;
    }
  }

  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    std::function<void(float)> report;
    if (has_progress_) {
      report = [this](float f) {
        float* p = new float(f);
        if (progress_.NonBlockingCall(p, deliver_progress) != napi_ok) delete p;
      };
    }
    try {
      model_ = qwen::load_model(path_, opts_, report);
    } catch (const std::exception& e) {
      SetError(e.what());
    } catch (...) {
      SetError(path_ + ": unknown error while loading the model");
    }
    // Released here, on the thread that used it, whether the load worked or not.
    if (has_progress_) progress_.Release();
  }

  void OnOK() override {
    Napi::Env env = Env();
    AddonData* data = env.GetInstanceData<AddonData>();
    // Ownership passes to the NativeModel constructor through the External.
    qwen::Model* raw = model_.release();
    try {
      Napi::Object obj = data->native_model_ctor.New({Napi::External<qwen::Model>::New(env, raw)});
      deferred_.Resolve(obj);
    } catch (const Napi::Error& e) {
      delete raw;
      deferred_.Reject(e.Value());
    }
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string path_;
  qwen::ModelOptions opts_;
  Napi::ThreadSafeFunction progress_;
  bool has_progress_ = false;
  std::unique_ptr<qwen::Model> model_;
};

class EvalWorker : public Napi::AsyncWorker {
 public:
  EvalWorker(Napi::Env env, NativeModel* owner, qwen::Model* model, int seq, std::vector<int32_t> tokens,
             qwen::LogitsMode mode, bool return_logits, CancelFlag cancel)
      : Napi::AsyncWorker(env, "qwenEval"),
        deferred_(Napi::Promise::Deferred::New(env)),
        owner_(owner),
        model_(model),
        seq_(seq),
        tokens_(std::move(tokens)),
        mode_(mode),
        return_logits_(return_logits && mode != qwen::LogitsMode::None),
        cancel_(std::move(cancel)) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      // logits_ (rows, n_vocab): no rows, the last token's row, or one row per token; with no
      // output vector the model keeps the last row for sample() and copies nothing.
      model_->eval(seq_, tokens_.data(), static_cast<int>(tokens_.size()), mode_, return_logits_ ? &logits_ : nullptr,
                   cancel_.get());
    } catch (const qwen::Cancelled&) {
      cancelled_ = true;
      SetError("eval cancelled");
    } catch (const qwen::GpuFault& e) {
      gpu_fault_ = true;
      SetError(e.what());
    } catch (const std::exception& e) {
      SetError(e.what());
    } catch (...) {
      SetError("unknown error in eval");
    }
  }

  void OnOK() override {
    owner_->finish_eval();
    Napi::Env env = Env();
    if (!return_logits_) {
      deferred_.Resolve(env.Null());
    } else {
      deferred_.Resolve(make_f32(env, logits_.data(), logits_.size()));
    }
  }

  void OnError(const Napi::Error& e) override {
    owner_->finish_eval();
    Napi::Object err = e.Value();
    // The TS layer turns this code into an AbortError; the sequence keeps the micro-batches that
    // finished before the flag was seen.
    if (cancelled_) err.Set("code", Napi::String::New(Env(), "QWEN_CANCELLED"));
    if (gpu_fault_) err.Set("code", Napi::String::New(Env(), kGpuFaultCode));
    deferred_.Reject(err);
  }

 private:
  Napi::Promise::Deferred deferred_;
  NativeModel* owner_;
  qwen::Model* model_;
  int seq_;
  std::vector<int32_t> tokens_;
  qwen::LogitsMode mode_;
  bool return_logits_;
  CancelFlag cancel_;
  std::vector<float> logits_;
  bool cancelled_ = false;
  bool gpu_fault_ = false;
};

int int_option(const Napi::Object& o, const char* key, int fallback, int lo, int hi) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("loadModel: ") + key + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= lo && d <= hi) || d != static_cast<double>(static_cast<int64_t>(d))) {
    throw Napi::RangeError::New(o.Env(), std::string("loadModel: ") + key + " must be an integer in [" +
                                             std::to_string(lo) + ", " + std::to_string(hi) + "], got " + num_str(d));
  }
  return static_cast<int>(d);
}

}  // namespace

Napi::Value load_model_entry(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    std::string path = arg_string(info, 0, "loadModel", "path");
    qwen::ModelOptions opts;
    if (info.Length() > 1 && info[1].IsObject()) {
      Napi::Object o = info[1].As<Napi::Object>();
      opts.threads = int_option(o, "threads", opts.threads, 0, 1024);
      opts.context_size = int_option(o, "contextSize", opts.context_size, 1, 1 << 24);
      opts.micro_batch = int_option(o, "microBatch", opts.micro_batch, 1, 1 << 16);
      Napi::Value device = o.Get("device");
      if (!device.IsUndefined() && !device.IsNull()) {
        if (!device.IsString()) throw Napi::TypeError::New(env, "loadModel: device must be 'auto', 'cpu' or 'cuda'");
        opts.device = device.As<Napi::String>().Utf8Value();
        if (opts.device != "auto" && opts.device != "cpu" && opts.device != "cuda")
          throw Napi::RangeError::New(env,
                                      "loadModel: device must be 'auto', 'cpu' or 'cuda', got '" + opts.device + "'");
      }
      Napi::Value check = o.Get("gpuSelfCheck");
      if (!check.IsUndefined() && !check.IsNull()) {
        if (!check.IsBoolean()) throw Napi::TypeError::New(env, "loadModel: gpuSelfCheck must be a boolean");
        opts.gpu_self_check = check.As<Napi::Boolean>().Value();
      }
    } else if (info.Length() > 1 && !info[1].IsUndefined()) {
      throw_type_error(env, "loadModel: options must be an object");
    }
    Napi::Value on_progress = info.Length() > 2 ? info[2] : env.Undefined();
    if (!on_progress.IsUndefined() && !on_progress.IsNull() && !on_progress.IsFunction()) {
      throw_type_error(env, "loadModel: onProgress must be a function");
    }
    auto* worker = new LoadWorker(env, std::move(path), opts, on_progress);
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
  });
}

Napi::Value queue_eval(Napi::Env env, NativeModel* owner, qwen::Model* model, int seq, std::vector<int32_t> tokens,
                       qwen::LogitsMode mode, bool return_logits, CancelFlag cancel) {
  auto* worker = new EvalWorker(env, owner, model, seq, std::move(tokens), mode, return_logits, std::move(cancel));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace qwen_napi
