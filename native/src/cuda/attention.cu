// Causal attention over the paged f16 KV cache: a flash-style kernel (keys streamed through
// shared memory in tiles of 32, online softmax, nothing of size n_ctx ever materialised) that
// also serves batch-1 decode by splitting the key range over blocks ("flash-decoding") and
// merging the partial softmaxes in a second kernel.
//
// Q (n, n_head, hd) f32 at positions pos0.. ; caches (blocks, 64, n_head_kv, hd) f16 -> O (n, n_head*hd).
// One block handles one KV head and a tile of queries: its rows are every (query, query head)
// pair that reads this KV head, so each K/V tile loaded into shared memory serves the whole GQA
// group and K/V are never replicated per query head.
#include <cfloat>

#include "cuda/cuda_api.h"
#include "cuda/cuda_util.cuh"

namespace qwen {
namespace cuda {

namespace {

constexpr int kKeyTile = 32;       // keys per shared-memory tile: one per lane when scoring
constexpr int kMaxRows = 16;       // (query, head) rows per block
constexpr int kAttnThreads = 128;  // 4 warps; warp w owns rows w, w+4, ...
constexpr int kSplitKeys = 128;    // keys per split in flash-decoding
constexpr int kMaxSplits = 64;
constexpr float kNoScore = -1e30f;  // finite "minus infinity" so exp(m_old - m_new) never sees inf - inf

struct Params {
  const float* q;
  const uint16_t* kc;
  const uint16_t* vc;
  const int32_t* table;
  float* out;
  float* part;            // part: (splits, n, n_head, hd + 2) = acc, then m, l
  const int32_t* d_pos0;  // when set, pos0 is read here (CUDA graphs replay with a new position)
  int n, pos0, n_head, n_head_kv, group, q_per_tile, splits, keys_per_split;  // keys_per_split 0: derive
  float scale;
};

template <int HD> __global__ void __launch_bounds__(kAttnThreads) attention_kernel(Params p) {
  __shared__ float qs[kMaxRows][HD];
  __shared__ float acc[kMaxRows][HD];
  __shared__ float row_m[kMaxRows], row_l[kMaxRows];
  __shared__ __align__(16) __half ks[kKeyTile][HD + 2];  // +2 halves: lane j's row starts in bank j, no conflicts
  __shared__ __align__(16) __half vs[kKeyTile][HD];

  const int kvh = blockIdx.y, split = blockIdx.z, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int pos0 = p.d_pos0 ? *p.d_pos0 : p.pos0;
  const int q_first = blockIdx.x * p.q_per_tile;
  const int rows = p.q_per_tile * p.group;
  const int q_last = min(q_first + p.q_per_tile, p.n) - 1;
  const int key_end_tile = pos0 + q_last + 1;  // causal: the tile's last query sees this many keys
  // A fixed split count (graph replay) spreads however many keys there are now over the splits,
  // in whole key tiles; splits left without keys write an empty partial.
  const int n_keys = pos0 + p.n;
  const int kps = p.keys_per_split > 0 ? p.keys_per_split
                                       : ((n_keys + p.splits - 1) / p.splits + kKeyTile - 1) / kKeyTile * kKeyTile;
  const int key_begin = split * kps;
  const int key_end = min(key_end_tile, key_begin + kps);

  // Row r = (query q_first + r / group, head kvh * group + r % group); Q is pre-scaled by 1/sqrt(hd).
  for (int idx = threadIdx.x; idx < rows * HD; idx += kAttnThreads) {
    const int r = idx / HD, d = idx % HD, qi = q_first + r / p.group, h = kvh * p.group + r % p.group;
    qs[r][d] = qi < p.n ? p.q[(static_cast<int64_t>(qi) * p.n_head + h) * HD + d] * p.scale : 0.0f;
    acc[r][d] = 0.0f;
  }
  if (threadIdx.x < kMaxRows) {
    row_m[threadIdx.x] = kNoScore;
    row_l[threadIdx.x] = 0.0f;
  }

  for (int kt = key_begin; kt < key_end; kt += kKeyTile) {
    __syncthreads();  // previous tile fully consumed (and, first time, Q/acc initialised)
    // Load 32 keys' K and V for this KV head: 16-byte loads from the cache, rows may be in
    // different cache blocks.
    for (int idx = threadIdx.x; idx < kKeyTile * HD / 8; idx += kAttnThreads) {
      const int j = idx / (HD / 8), d8 = (idx % (HD / 8)) * 8, pos = kt + j;
      uint4 kv = make_uint4(0, 0, 0, 0), vv = make_uint4(0, 0, 0, 0);
      if (pos < key_end) {
        const int64_t slot = static_cast<int64_t>(p.table[pos / kKvBlock]) * kKvBlock + pos % kKvBlock;
        const int64_t at = (slot * p.n_head_kv + kvh) * HD + d8;
        kv = *reinterpret_cast<const uint4*>(p.kc + at);
        vv = *reinterpret_cast<const uint4*>(p.vc + at);
      }
      const uint32_t kw[4] = {kv.x, kv.y, kv.z, kv.w};
#pragma unroll
      for (int e = 0; e < 4; ++e) *reinterpret_cast<uint32_t*>(&ks[j][d8 + 2 * e]) = kw[e];
      *reinterpret_cast<uint4*>(&vs[j][d8]) = vv;
    }
    __syncthreads();

    for (int r = warp; r < rows; r += kAttnThreads / 32) {
      const int qi = q_first + r / p.group;
      if (qi >= p.n) continue;
      const int pos = kt + lane;
      float s = kNoScore;
      if (pos < key_end && pos <= pos0 + qi) {
        float dot = 0.0f;
#pragma unroll 16
        for (int d = 0; d < HD; d += 2) {
          const float2 kf = __half22float2(*reinterpret_cast<const __half2*>(&ks[lane][d]));
          dot += qs[r][d] * kf.x + qs[r][d + 1] * kf.y;
        }
        s = dot;
      }
      const float tile_max = warp_max(s);
      if (tile_max <= kNoScore) continue;  // every key of this tile is in this query's future
      const float m_old = row_m[r], m_new = fmaxf(m_old, tile_max);
      const float pj = s <= kNoScore ? 0.0f : __expf(s - m_new);
      const float corr = __expf(m_old - m_new);
      const float psum = warp_sum(pj);
#pragma unroll
      for (int i = 0; i < HD / 32; ++i) {
        const int d = lane + 32 * i;
        float a = acc[r][d] * corr;
#pragma unroll 8
        for (int j = 0; j < kKeyTile; ++j) a += __shfl_sync(0xffffffffu, pj, j) * __half2float(vs[j][d]);
        acc[r][d] = a;
      }
      __syncwarp();
      if (lane == 0) {
        row_m[r] = m_new;
        row_l[r] = row_l[r] * corr + psum;
      }
      __syncwarp();
    }
  }
  __syncthreads();

  // Either the final normalised output (one split) or this split's partial (acc, m, l).
  for (int idx = threadIdx.x; idx < rows * HD; idx += kAttnThreads) {
    const int r = idx / HD, d = idx % HD, qi = q_first + r / p.group, h = kvh * p.group + r % p.group;
    if (qi >= p.n) continue;
    if (p.splits == 1) {
      p.out[(static_cast<int64_t>(qi) * p.n_head + h) * HD + d] = row_l[r] > 0.0f ? acc[r][d] / row_l[r] : 0.0f;
    } else {
      float* dst = p.part + ((static_cast<int64_t>(split) * p.n + qi) * p.n_head + h) * (HD + 2);
      dst[d] = acc[r][d];
      if (d == 0) {
        dst[HD] = row_m[r];
        dst[HD + 1] = row_l[r];
      }
    }
  }
}

// Merges the splits' partial softmaxes: grid (n, n_head), hd threads.
__global__ void combine_kernel(const float* __restrict__ part, int splits, int n, int n_head, int hd,
                               float* __restrict__ out) {
  const int qi = blockIdx.x, h = blockIdx.y, d = threadIdx.x;
  const int64_t stride = static_cast<int64_t>(n) * n_head * (hd + 2);
  const float* base = part + (static_cast<int64_t>(qi) * n_head + h) * (hd + 2);
  float m = kNoScore;
  for (int s = 0; s < splits; ++s) m = fmaxf(m, base[s * stride + hd]);
  float num = 0.0f, den = 0.0f;
  for (int s = 0; s < splits; ++s) {
    const float* ps = base + s * stride;
    const float w = ps[hd + 1] > 0.0f ? __expf(ps[hd] - m) : 0.0f;
    num += w * ps[d];
    den += w * ps[hd + 1];
  }
  out[(static_cast<int64_t>(qi) * n_head + h) * hd + d] = den > 0.0f ? num / den : 0.0f;
}

int split_count(int n, int n_keys) {
  if (n > 4) return 1;  // prefill has enough (query tile, head) blocks to fill the GPU
  const int s = (n_keys + kSplitKeys - 1) / kSplitKeys;
  return s < 1 ? 1 : (s > kMaxSplits ? kMaxSplits : s);
}

}  // namespace

int attention_fixed_splits(int n_ctx) { return split_count(1, n_ctx); }

size_t attention_scratch_floats(int n, int n_ctx, const AttentionShape& s) {
  const int splits = split_count(n, n_ctx);
  return splits == 1 ? 0 : static_cast<size_t>(splits) * n * s.n_head * (s.head_dim + 2);
}

void attention(const float* d_q, int n, int pos0, const AttentionShape& s, const uint16_t* d_kcache,
               const uint16_t* d_vcache, const int32_t* d_block_table, float* d_out, float* d_scratch,
               size_t scratch_floats, const int32_t* d_pos0, int fixed_splits) {
  if (n <= 0) return;
  if (s.n_head_kv <= 0 || s.n_head % s.n_head_kv != 0)
    throw std::runtime_error("CUDA attention: n_head " + std::to_string(s.n_head) + " is not a multiple of n_head_kv " +
                             std::to_string(s.n_head_kv));
  const int group = s.n_head / s.n_head_kv;
  if (group > kMaxRows)
    throw std::runtime_error("CUDA attention: GQA group of " + std::to_string(group) + " heads is over 16");
  // Laid out by hand: positional fields in Params' order; one per line would take 16 lines.
  // clang-format off
  Params p{d_q, d_kcache, d_vcache, d_block_table, d_out, d_scratch, d_pos0, n, pos0, s.n_head, s.n_head_kv, group,
           kMaxRows / group, 1, 0, 1.0f / sqrtf(static_cast<float>(s.head_dim))};
  // clang-format on
  const size_t need_per_split = static_cast<size_t>(n) * s.n_head * (s.head_dim + 2);
  if (fixed_splits > 0) {
    // Graph replay: the key count is only known on the device, so the kernel derives the split length.
    if (fixed_splits > 1 && scratch_floats < fixed_splits * need_per_split)
      throw std::runtime_error("CUDA attention: scratch too small for " + std::to_string(fixed_splits) + " splits");
    p.splits = fixed_splits;
    p.keys_per_split = 0;
  } else {
    if (d_pos0) throw std::runtime_error("CUDA attention: a device-side position needs a fixed split count");
    const int n_keys = pos0 + n;
    p.splits = split_count(n, n_keys);
    if (p.splits > 1 && scratch_floats < p.splits * need_per_split) p.splits = 1;
    // Round the split length up to whole key tiles, then drop splits that would be empty.
    p.keys_per_split = ((n_keys + p.splits - 1) / p.splits + kKeyTile - 1) / kKeyTile * kKeyTile;
    p.splits = (n_keys + p.keys_per_split - 1) / p.keys_per_split;
  }
  const dim3 grid(ceil_div(n, p.q_per_tile), s.n_head_kv, p.splits);
  switch (s.head_dim) {
    case 64: attention_kernel<64><<<grid, kAttnThreads, 0, stream()>>>(p); break;
    case 128: attention_kernel<128><<<grid, kAttnThreads, 0, stream()>>>(p); break;
    default:
      throw std::runtime_error("CUDA attention: head_dim " + std::to_string(s.head_dim) +
                               " (only 64 and 128 have kernels)");
  }
  check_launch("attention kernel");
  if (p.splits > 1) {
    combine_kernel<<<dim3(n, s.n_head), s.head_dim, 0, stream()>>>(d_scratch, p.splits, n, s.n_head, s.head_dim, d_out);
    check_launch("attention combine kernel");
  }
}

}  // namespace cuda
}  // namespace qwen
