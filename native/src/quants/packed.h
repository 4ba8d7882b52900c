// Weights repacked at load time for the AVX2 matmul: groups of kPackRows consecutive rows,
// interleaved block by block, so one activation block is multiplied against eight weight rows
// with 8-lane vectors whose lanes are the rows. Compared with one row at a time this removes the
// per-row horizontal sums and per-block scalar scale handling (eight scales convert in one
// instruction), which is what kept the single-row Q4_0 kernel from reaching memory bandwidth in
// decode and what bounded prefill.
//
// A group holds exactly the bytes of its eight rows (8 * row_size(type, n)), only reordered, so a
// packed matrix takes no more memory than the file's. Activations are in the type's vec_dot_type
// (Q8_0 for Q4_0/Q5_0/Q8_0, Q8_K for Q4_K/Q5_K/Q6_K), quantized once per matmul as before.
// Packed forms exist only where the CPU has AVX2; elsewhere the matrix stays in GGML layout.
#pragma once
#include <cstddef>
#include <cstdint>

#include "quants/ggml_types.h"

namespace qwen {

constexpr int kPackRows = 8;

// Rewrites rows src, src + src_row_bytes, ..., (kPackRows of them, n elements each, GGML layout)
// into one group at dst (8 * row_size(type, n) bytes).
using PackGroupFn = void (*)(const void* src, size_t src_row_bytes, int n, void* dst);
// One group against one activation row: out[r] = row_r . x for r < kPackRows.
using PackedGemvFn = void (*)(int n, const void* group, const void* x, float* out);
// Two groups, anywhere in the matrix, against one activation row: out_a = group_a . x and
// out_b = group_b . x, bit for bit as gemv computes each. Decode reads every weight once from DRAM;
// walking two distant groups block by block keeps two memory streams per thread in flight, where
// one stream leaves the core waiting on DRAM latency between its prefetches; two streams measured
// faster for Q4_0, Q8_0 and Q6_K, in matmul-bench and in whole-model decode. Q4_K has none: its
// two-group kernel is compute-bound and measured slower in cache and no faster from DRAM (figures
// in bench/results/kernel-design-notes.md).
using PackedGemv2Fn = void (*)(int n, const void* group_a, const void* group_b, const void* x, float* out_a,
                               float* out_b);
// One group against n_x activation rows (x_t = x + t * x_stride bytes):
//   out[t * out_stride + r] = row_r . x_t  for t < n_x, r < kPackRows.
using PackedGemmFn = void (*)(int n, const void* group, const void* x, size_t x_stride, int n_x, float* out,
                              size_t out_stride);

// Two groups against n_x activation rows, for CPUs with AVX-512 VNNI: one 512-bit vector holds a
// 32-byte chunk of each group, so every vpdpbusd multiplies 16 rows by four activation bytes and
// accumulates in int32 (64 MACs, against 32 for an AVX2 maddubs that still needs its int16 add):
//   out[t * out_stride + r]     = row_r of group_a . x_t
//   out[t * out_stride + 8 + r] = row_r of group_b . x_t        for t < n_x, r < kPackRows.
// Same packed layout as the AVX2 kernels, so a matrix packs the same way on every CPU.
using PackedGemm2Fn = void (*)(int n, const void* group_a, const void* group_b, const void* x, size_t x_stride, int n_x,
                               float* out, size_t out_stride);

// One token's activations (n floats) in a kernel's own format (act_row_bytes(n) bytes).
using PackedQuantizeActFn = void (*)(const float* x, void* dst, int64_t n);

struct PackedTraits {
  GgmlType type;  // the GGML type the rows are stored in
  PackGroupFn pack;
  PackedGemvFn gemv;
  PackedGemmFn gemm;
  // The activation format gemv/gemm read. nullptr: rows of the type's vec_dot_type. Otherwise the
  // kernel's own format, written once per matmul call, so that per-block terms every group would
  // otherwise recompute (Q4_0/Q5_0: the block's level sum and its scale as a float) are computed
  // once per token instead of once per 8 rows.
  PackedQuantizeActFn quantize_act = nullptr;
  size_t (*act_row_bytes)(int64_t n) = nullptr;
  // nullptr where a type has no two-group kernel: decode then calls gemv once per group.
  PackedGemv2Fn gemv2 = nullptr;
  // Set only where the CPU has AVX-512 VNNI (and QWEN_NO_AVX512 is not set): batches then run
  // group pairs through it instead of gemm.
  PackedGemm2Fn gemm2 = nullptr;
};

// Packs groups [g0, g1) of a matrix whose GGML rows (n elements, row_bytes each) start at src into
// dst, where group g sits at the same offset as its rows did (g * kPackRows * row_bytes).
void pack_groups(const PackedTraits& p, const uint8_t* src, size_t row_bytes, int n, int64_t g0, int64_t g1,
                 uint8_t* dst);

// The packed form of a type on this CPU, or nullptr (no AVX2, or no packed kernels for the type).
const PackedTraits* packed_traits(GgmlType t);

// Forgets every packed form (QWEN_NO_PACK=1, and tests that compare packed with unpacked).
void packed_disable(bool off);

}  // namespace qwen
