// The host-side face of the CUDA backend: plain C++ (no CUDA headers), so the model loader, the
// Node addon and the tests can include it from .cpp files compiled by the host compiler.
//
// Every float*/void* argument named d_* is a DEVICE pointer. Every launcher enqueues work on the
// backend's stream and returns without waiting; errors (a failed launch, an out-of-memory) throw
// std::runtime_error naming the operation. Shapes are written row-major, outermost first.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "model/model.h"
#include "quants/ggml_types.h"

namespace qwen {
namespace cuda {

// What the CUDA runtime finds: driver, GPU 0, its free memory (checked against need_bytes when
// that is non-zero) and its peak memory bandwidth. Never throws; a GPU that cannot be used comes
// back with usable = false and the reason (loader/device.h).
GpuProbe probe(size_t need_bytes);
// True when the CUDA runtime finds a driver and a usable GPU. Otherwise false, and *why (if
// given) says what is missing ("no CUDA driver ...", "no GPU ..."), for the status line.
bool available(std::string* why);
// "NVIDIA H100 80GB HBM3 (sm_90, 79 GiB)" for device 0.
std::string device_name();
// Free and total bytes of GPU memory on device 0.
void memory_info(size_t* free_bytes, size_t* total_bytes);
// Waits for all work queued on the backend stream; throws if any kernel failed.
void synchronize();

// Owns one allocation in GPU memory. Moves, never copies.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& o) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* get() const { return ptr_; }
  template <typename T> T* as() const { return static_cast<T*>(ptr_); }
  size_t size() const { return bytes_; }
  // Host <-> device copies of `bytes` starting at byte `offset` of this buffer (synchronous).
  void upload(const void* host, size_t bytes, size_t offset = 0);
  void download(void* host, size_t bytes, size_t offset = 0) const;
  void zero();

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// Device-to-device copy of `bytes` on the backend stream (asynchronous).
void copy_device(void* d_dst, const void* d_src, size_t bytes);

// Whether the GEMV/GEMM kernels can read weights stored as `t`.
bool weight_type_supported(GgmlType t);

// ---- matrix products over quantized weights (matmul.cu, gemv.cu, gemm.cu) ----
// W (rows, k) stored as `wtype` row-major (GGUF order: dims[0] = k) @ X (n, k) f32 -> Y (n, rows) f32.
// d_bias (rows,) may be null. accumulate=true adds to Y instead of overwriting it (fused residual).
// Picks the GEMV kernel for n <= 4 (decode) and the tensor-core GEMM for larger n (prefill).
// k must be a multiple of the type's block size (256 for K-quants, 32 otherwise).
void matmul(GgmlType wtype, const void* d_w, int64_t rows, int64_t k, const float* d_x, int n, float* d_y,
            const float* d_bias, bool accumulate);
// The two kernels behind matmul, exposed so tests can check each one on any n.
void gemv(GgmlType wtype, const void* d_w, int64_t rows, int64_t k, const float* d_x, int n, float* d_y,
          const float* d_bias, bool accumulate);
void gemm(GgmlType wtype, const void* d_w, int64_t rows, int64_t k, const float* d_x, int n, float* d_y,
          const float* d_bias, bool accumulate);
// Rows of a weight matrix as f32: token ids (n,) pick rows of W (rows, k) -> Y (n, k).
// Ids outside [0, rows) are the caller's error and must be checked on the host first.
void get_rows(GgmlType wtype, const void* d_w, int64_t rows, int64_t k, const int32_t* d_ids, int n, float* d_y);

// The GPU's block decoders run on the CPU: row (k elements stored as wtype) -> out (k,) f32.
// Lets the tests check every layout against the CPU dequantizer on machines without a GPU.
void decode_row_host(GgmlType wtype, const void* row, int64_t k, float* out);

// ---- elementwise and normalisation (elementwise.cu) ----
// X (n, d) -> Y (n, d) = X / sqrt(mean(X^2) + eps) * w (d,). Y may alias X.
void rms_norm(const float* d_x, const float* d_w, int n, int d, float eps, float* d_y);
// G (n, d), U (n, d) -> H (n, d) = silu(G) * U. H may alias G.
void swiglu(const float* d_g, const float* d_u, int64_t count, float* d_h);
// Y (count,) += X (count,).
void add_inplace(float* d_y, const float* d_x, int64_t count);

// NEOX rotary embedding with optional YaRN / linear scaling, computed the way GGML does it.
struct RopeParams {
  int head_dim = 128;  // rotated dims = head_dim (Qwen2 rotates all of them)
  float freq_base = 1e6f;
  float freq_scale = 1.0f;  // 1 / scaling factor
  float ext_factor = 0.0f;  // 1 for YaRN, 0 otherwise
  float attn_factor = 1.0f;
  int orig_ctx = 0;  // training context before scaling (YaRN)
  float beta_fast = 32.0f, beta_slow = 1.0f;
};

// ---- attention over a paged f16 KV cache (attention.cu) ----
// The cache of one layer is (n_blocks, kKvBlock, n_head_kv, head_dim) f16 for K and the same for
// V. A sequence owns a list of blocks: position p lives in block table[p / kKvBlock], slot
// p % kKvBlock. Sequences can therefore grow, shrink and be freed without moving any data.
constexpr int kKvBlock = 64;

struct AttentionShape {
  int n_head = 0, n_head_kv = 0, head_dim = 0;
};

// Rotates Q (n, n_head, head_dim) in place and K (n, n_head_kv, head_dim), then writes K and
// V (n, n_head_kv, head_dim) as f16 into the cache at positions pos0 .. pos0+n-1.
// d_rope_tables comes from make_rope_tables().
void rope_and_store_kv(float* d_q, const float* d_k, const float* d_v, int n, int pos0, const AttentionShape& s,
                       const float* d_rope_tables, float rope_mscale, uint16_t* d_kcache, uint16_t* d_vcache,
                       const int32_t* d_block_table, const int32_t* d_pos0 = nullptr);
// The rope parameters of a model: scaling applied exactly when the CPU applies it
// (rope_scaling_mode in model/rope_scaling.h).
RopeParams rope_params_for(const HParams& hp);
// Host: the per-dimension frequency and YaRN mix tables (2 * head_dim/2 floats) and the
// magnitude scale, which depend only on the hyper-parameters.
void make_rope_tables(const RopeParams& p, float* host_tables, float* mscale);

// Causal attention of Q (n, n_head, head_dim) at positions pos0 .. pos0+n-1 over cache
// positions [0, pos0+n) -> O (n, n_head * head_dim). GQA: query head h reads KV head
// h / (n_head / n_head_kv); K/V are never replicated. d_scratch must hold
// attention_scratch_floats(...) floats (split-K partials for long decodes).
// For CUDA-graph replay, d_pos0 (device int) replaces pos0 and fixed_splits (from
// attention_fixed_splits(capacity)) replaces the split count chosen from the key count.
void attention(const float* d_q, int n, int pos0, const AttentionShape& s, const uint16_t* d_kcache,
               const uint16_t* d_vcache, const int32_t* d_block_table, float* d_out, float* d_scratch,
               size_t scratch_floats, const int32_t* d_pos0 = nullptr, int fixed_splits = 0);
size_t attention_scratch_floats(int n, int n_ctx, const AttentionShape& s);
int attention_fixed_splits(int n_ctx);

// ---- CUDA graphs (cuda_device.cu) ----
// Records everything the backend stream is given between begin and end into a replayable graph.
// Nothing may synchronize or allocate in between.
class StreamGraph {
 public:
  StreamGraph() = default;
  ~StreamGraph();
  StreamGraph(const StreamGraph&) = delete;
  StreamGraph& operator=(const StreamGraph&) = delete;
  void begin_capture();
  void end_capture();    // instantiates; throws if capture failed
  void abort_capture();  // ends a capture that went wrong, leaving the stream usable
  void launch();         // enqueues one replay on the backend stream
  bool ready() const { return exec_ != nullptr; }

 private:
  void* graph_ = nullptr;  // cudaGraph_t
  void* exec_ = nullptr;   // cudaGraphExec_t
};

// ---- sampling helpers (elementwise.cu) ----
// Index of the largest of X (n,) written to *d_out (ties: the lowest index, as the CPU sampler).
void argmax(const float* d_x, int n, int32_t* d_out);

}  // namespace cuda
}  // namespace qwen
