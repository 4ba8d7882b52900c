// Moves the weight matrices of a loaded Qwen2 model out of the GGUF mapping into the CPU
// backend's WeightArena (huge pages), repacking each into its 8-row interleaved form where this
// CPU has one (quants/packed.h). Norms and biases are already f32 copies; the token embedding
// table stays in the mapping, where a lookup touches one row per token.
#pragma once

namespace qwen {

class GgufFile;
class ThreadPool;
class WeightArena;
struct Qwen2Weights;

// Re-points every matrix of `w` (the layers' and the output head) into `arena`, which this
// reserves. The copied ranges of the file are released from this process's memory afterwards.
void place_weights_in_arena(Qwen2Weights& w, const GgufFile& file, WeightArena& arena, ThreadPool& pool);

}  // namespace qwen
