// The CUDA backend as the rest of the engine sees it: a qwen::Model whose weights, KV cache and
// forward pass all live on the GPU. Plain C++ header (no CUDA types), so model/ can call it from
// Model::load when QWEN_HAVE_CUDA is defined:
//
//   #ifdef QWEN_HAVE_CUDA
//   if (auto m = qwen::maybe_load_cuda_model(path, opts.device, opts, progress)) return m;
//   #endif
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

// Loads the GGUF at `path` onto GPU 0. Throws std::runtime_error naming the file and the problem
// (not qwen2, missing tensor, unsupported type, not enough GPU memory for the context, no GPU).
std::unique_ptr<Model> load_cuda_model(const std::string& path, const ModelOptions& opts,
                                       const std::function<void(float)>& progress = {});

// The device choice in one call. device "cpu": nullptr (use the CPU backend). "auto": the CUDA
// model when a GPU is usable, else nullptr (and *why_not, if given, says why). "cuda": the CUDA
// model, or std::runtime_error("<path>: device 'cuda' requested but <why>"). Anything else throws.
std::unique_ptr<Model> maybe_load_cuda_model(const std::string& path, const std::string& device,
                                             const ModelOptions& opts,
                                             const std::function<void(float)>& progress = {},
                                             std::string* why_not = nullptr);

}  // namespace qwen
