// The CUDA backend as the rest of the engine sees it: a qwen::Model whose weights, KV cache and
// forward pass all live on the GPU. Plain C++ header (no CUDA types), so model/ can call it from
// Model::load (model/device_select.cpp) when QWEN_HAVE_CUDA is defined; that is where the device
// is chosen, the GPU checked against the CPU and the fallbacks taken.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include <stdexcept>  // model.h uses std::runtime_error without including it

#include "model/model.h"

namespace qwen {

// True when a usable GPU is present; otherwise false with *why set ("no CUDA driver ...",
// "no GPU ...", "GPU X has compute capability 7.5 ...").
bool cuda_available(std::string* why);

// Loads the GGUF at `path` onto GPU 0. Throws GpuOutOfMemory when the weights or the context do
// not fit, std::runtime_error naming the file and the problem otherwise (not qwen2, missing
// tensor, unsupported type, no GPU).
std::unique_ptr<Model> load_cuda_model(const std::string& path, const ModelOptions& opts,
                                       const std::function<void(float)>& progress = {});

}  // namespace qwen
