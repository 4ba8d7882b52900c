// NativeModel: the JS handle of one loaded qwen::Model (created only by loadModel()).
//
// Concurrency rule: qwen::Model is used by one thread at a time. While an eval() runs on the
// libuv pool the model is "busy": a second eval() rejects and the synchronous methods that read or
// change model state throw, both with a message saying so (the TS layer queues evals, so users of
// src/engine never see these). cancel() only sets an atomic flag and is allowed at any time;
// B's eval() checks it between micro-batches. Constant facts (hparams, backend, context size)
// stay readable while busy. close() during an eval cancels it and frees the model when it ends.
#pragma once
#include <atomic>
#include <map>
#include <memory>
#include <stdexcept>  // model.h uses std::runtime_error
#include <vector>

#include "model/model.h"
#include "napi/napi_util.h"

namespace qwen_napi {

using CancelFlag = std::shared_ptr<std::atomic<bool>>;

class NativeModel : public Napi::ObjectWrap<NativeModel> {
 public:
  static Napi::Function Define(Napi::Env env);
  // Called only from the load worker with an External holding the loaded model.
  explicit NativeModel(const Napi::CallbackInfo& info);
  ~NativeModel() override;

  // Called by the eval worker on the JS thread when its work is done (success or failure).
  void finish_eval();

 private:
  Napi::Value Hparams(const Napi::CallbackInfo& info);
  Napi::Value Backend(const Napi::CallbackInfo& info);
  Napi::Value DeviceReport(const Napi::CallbackInfo& info);
  Napi::Value ContextSize(const Napi::CallbackInfo& info);
  Napi::Value KvBytesPerToken(const Napi::CallbackInfo& info);
  Napi::Value KvUsed(const Napi::CallbackInfo& info);
  Napi::Value KvBlockTokens(const Napi::CallbackInfo& info);
  Napi::Value IsBusy(const Napi::CallbackInfo& info);
  Napi::Value CreateSequence(const Napi::CallbackInfo& info);
  Napi::Value FreeSequence(const Napi::CallbackInfo& info);
  Napi::Value SequenceLength(const Napi::CallbackInfo& info);
  Napi::Value Truncate(const Napi::CallbackInfo& info);
  Napi::Value Eval(const Napi::CallbackInfo& info);
  Napi::Value Cancel(const Napi::CallbackInfo& info);
  Napi::Value Sample(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  // Throws unless the model is open (and, with need_idle, not running an eval).
  qwen::Model& model(const Napi::Env& env, const char* fn, bool need_idle);
  int sequence_arg(const Napi::CallbackInfo& info, const char* fn);

  std::unique_ptr<qwen::Model> model_;
  bool busy_ = false;                    // an EvalWorker is queued or running
  bool close_pending_ = false;           // close() was called during an eval
  std::map<int, CancelFlag> sequences_;  // live sequence ids and their cancel flags
};

// loadModel(path, opts, onProgress?) -> Promise<NativeModel> (defined in model_workers.cpp).
Napi::Value load_model_entry(const Napi::CallbackInfo& info);

// Promise-returning eval on the libuv thread pool (defined in model_workers.cpp). Without
// return_logits the promise resolves null whatever rows were computed (they stay for sample()).
Napi::Value queue_eval(Napi::Env env, NativeModel* owner, qwen::Model* model, int seq, std::vector<int32_t> tokens,
                       qwen::LogitsMode mode, bool return_logits, CancelFlag cancel);

}  // namespace qwen_napi
