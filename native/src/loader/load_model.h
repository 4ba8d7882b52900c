// The one place that decides where a model runs (device_select.cpp): "cpu" always runs on the
// CPU backend; "auto" and "cuda" probe the GPU, load the CUDA backend where the build has one,
// and prove it against the CPU with the self-check (loader/device.h). The model's DeviceReport
// says what was chosen and why.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "model/model.h"

namespace qwen {

// Throws std::runtime_error with a message naming the file and the problem (not qwen2, missing
// tensor, wrong shape, unsupported type, context too large for memory, ...).
std::unique_ptr<Model> load_model(const std::string& path, const ModelOptions& opts,
                                  const std::function<void(float)>& progress = {});

}  // namespace qwen
