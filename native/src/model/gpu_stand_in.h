// A test double for the GPU backend, used only when QWEN_TEST_FAKE_GPU is set (model/device.h):
// a CPU model underneath that behaves as a GPU model may, so that the self-check, the fallbacks
// and the reporting are tested on machines without a GPU. Modes:
//   exact            the CPU's logits unchanged (the self-check passes)
//   perturb:<e>      every logits row gets Gaussian noise of e times the row's RMS (fixed seed)
//   oom              loading throws GpuOutOfMemory, as a GPU too small for the model would
//   fault-after:<n>  the n+1-th eval throws GpuFault, and so does every call after it (a sticky
//                    CUDA error); the self-check's own evals count too
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "model/model.h"

namespace qwen {

std::unique_ptr<Model> load_gpu_stand_in(const std::string& mode, const std::string& path, const ModelOptions& opts,
                                         const std::function<void(float)>& progress);

}  // namespace qwen
