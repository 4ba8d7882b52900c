// Y = X @ W^T for a weight matrix in any supported GGML format.
//   W (rows, k) stored row-major in its block format; X (n_tok, k) f32; Y (n_tok, rows) f32.
// The activations are quantized once per call into the weight type's activation format (Q8_0,
// Q8_K or plain F32), then threads split the ROWS in tiles: each weight row is read from memory
// once per call and reused for every token of the batch, which is what makes prefill
// compute-bound and decode (n_tok = 1) run at memory bandwidth. Only the traits' kernels are used (quantize_row, vec_dot,
// and for packed matrices the PackedTraits gemv/gemm): no block format is known here.
#pragma once
#include <cstdint>
#include <vector>

#include "model/weight_matrix.h"
#include "quants/packed.h"
#include "quants/quants.h"

namespace qwen {

class ThreadPool;

// Scratch space reused across calls; grows to the largest (n_tok, k) seen, then never again.
struct MatmulScratch {
  std::vector<uint8_t> xq;  // (n_tok, row_size(vec_dot_type, k))
};

void matmul(ThreadPool& pool, const WeightMatrix& w, const float* x, int n_tok, float* y, MatmulScratch& scratch);

// Bytes of one token's quantized activations for w (what MatmulScratch::xq holds per token).
size_t activation_row_bytes(const WeightMatrix& w);

// Several matrices that read the same input X (Q/K/V; gate/up): X is quantized once and a single
// parallel_for covers the rows of all of them, halving the thread hand-offs of a decode step.
// y[i] is (n_tok, w[i]->rows). Falls back to separate calls when the activation formats differ.
void matmul_multi(ThreadPool& pool, const WeightMatrix* const* w, float* const* y, int n_mats, const float* x,
                  int n_tok, MatmulScratch& scratch);

}  // namespace qwen
