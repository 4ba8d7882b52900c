// Reading a model's declared rope scaling (qwen2.rope.scaling.*), the same for every backend.
#pragma once
#include <string>

namespace qwen {

// How positions are rescaled for a model's declared rope scaling. The one decision shared by the
// CPU Rope (cpu/ops.h) and the CUDA rope tables (cuda/rope.cu), so the GPU applies YaRN or linear
// scaling exactly when the CPU does: only for type "yarn" / "linear" with a factor above 1 (a
// factor of 1 changes nothing, and one below 1 would compress positions, which no Qwen2.5
// release declares; it is ignored on both backends alike).
enum class RopeScaling { None, Linear, Yarn };
RopeScaling rope_scaling_mode(const std::string& type, float factor);

}  // namespace qwen
