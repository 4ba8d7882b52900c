// The CPU backend's Model (cpu_model.cpp): the Qwen2 forward pass over the weight arena, the
// paged KV cache and the thread pool. load_model (loader/load_model.h) decides when to use it.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "model/model.h"

namespace qwen {

std::unique_ptr<Model> load_cpu_model(const std::string& path, const ModelOptions& opts,
                                      const std::function<void(float)>& progress = {});

}  // namespace qwen
