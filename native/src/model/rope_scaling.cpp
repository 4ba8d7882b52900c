#include "model/rope_scaling.h"

namespace qwen {

RopeScaling rope_scaling_mode(const std::string& type, float factor) {
  if (!(factor > 1.0f)) return RopeScaling::None;
  if (type == "yarn") return RopeScaling::Yarn;
  if (type == "linear") return RopeScaling::Linear;
  return RopeScaling::None;
}

}  // namespace qwen
