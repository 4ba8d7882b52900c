// Runtime probing, the backend stream and device buffers. cudart is linked statically, so every
// call here works (and fails politely) on machines without a driver: cudaGetDeviceCount then
// returns cudaErrorInsufficientDriver or cudaErrorNoDevice instead of the process failing to load.
#include <cstdio>
#include <mutex>

#include "cuda/cuda_api.h"
#include "cuda/cuda_util.cuh"

namespace qwen {
namespace cuda {

void check(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return;
  throw std::runtime_error(std::string("CUDA ") + what + ": " + cudaGetErrorString(err));
}

cudaStream_t stream() {
  static std::once_flag once;
  static cudaStream_t s = nullptr;
  std::call_once(once, [] { check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate"); });
  return s;
}

bool available(std::string* why) {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  std::string reason;
  if (err == cudaErrorInsufficientDriver) {
    reason = "no CUDA driver: libcuda is missing or older than this build needs";
  } else if (err == cudaErrorNoDevice) {
    reason = "no GPU: the CUDA driver found no device";
  } else if (err != cudaSuccess) {
    reason = std::string("no CUDA: ") + cudaGetErrorString(err);
  } else if (count == 0) {
    reason = "no GPU: the CUDA driver reports 0 devices";
  } else {
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess && prop.major < 8) {
      reason = std::string("GPU ") + prop.name + " has compute capability " + std::to_string(prop.major) +
               "." + std::to_string(prop.minor) + "; this build needs 8.0 or newer";
    }
  }
  // A failed probe leaves a sticky error in some runtime versions; clear it for later callers.
  cudaGetLastError();
  if (why) *why = reason;
  return reason.empty();
}

std::string device_name() {
  cudaDeviceProp prop;
  check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s (sm_%d%d, %.0f GiB)", prop.name, prop.major, prop.minor,
                prop.totalGlobalMem / 1073741824.0);
  return buf;
}

void memory_info(size_t* free_bytes, size_t* total_bytes) {
  check(cudaMemGetInfo(free_bytes, total_bytes), "cudaMemGetInfo");
}

void copy_device(void* d_dst, const void* d_src, size_t bytes) {
  if (bytes) check(cudaMemcpyAsync(d_dst, d_src, bytes, cudaMemcpyDeviceToDevice, stream()), "device copy");
}

void synchronize() { check(cudaStreamSynchronize(stream()), "stream synchronize (a kernel failed)"); }

StreamGraph::~StreamGraph() {
  if (exec_) cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec_));
  if (graph_) cudaGraphDestroy(static_cast<cudaGraph_t>(graph_));
}

void StreamGraph::begin_capture() {
  check(cudaStreamBeginCapture(stream(), cudaStreamCaptureModeThreadLocal), "begin graph capture");
}

void StreamGraph::end_capture() {
  cudaGraph_t g = nullptr;
  check(cudaStreamEndCapture(stream(), &g), "end graph capture");
  graph_ = g;
  cudaGraphExec_t e = nullptr;
  check(cudaGraphInstantiate(&e, g, 0), "instantiate graph");
  exec_ = e;
}

void StreamGraph::abort_capture() {
  cudaGraph_t g = nullptr;
  cudaStreamEndCapture(stream(), &g);
  if (g) cudaGraphDestroy(g);
  cudaGetLastError();
}

void StreamGraph::launch() { check(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec_), stream()), "graph launch"); }

DeviceBuffer::DeviceBuffer(size_t bytes) : bytes_(bytes) {
  if (bytes == 0) return;
  const cudaError_t err = cudaMalloc(&ptr_, bytes);
  if (err != cudaSuccess) {
    cudaGetLastError();
    ptr_ = nullptr;
    throw std::runtime_error("CUDA out of memory: could not allocate " + std::to_string(bytes >> 20) +
                             " MiB on the GPU (" + cudaGetErrorString(err) + ")");
  }
}

DeviceBuffer::~DeviceBuffer() {
  if (ptr_) cudaFree(ptr_);
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) {
  o.ptr_ = nullptr;
  o.bytes_ = 0;
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    if (ptr_) cudaFree(ptr_);
    ptr_ = o.ptr_;
    bytes_ = o.bytes_;
    o.ptr_ = nullptr;
    o.bytes_ = 0;
  }
  return *this;
}

static void check_range(size_t offset, size_t bytes, size_t size, const char* op) {
  if (offset > size || bytes > size - offset)
    throw std::runtime_error(std::string("CUDA ") + op + ": range " + std::to_string(offset) + "+" +
                             std::to_string(bytes) + " outside a buffer of " + std::to_string(size) + " bytes");
}

void DeviceBuffer::upload(const void* host, size_t bytes, size_t offset) {
  check_range(offset, bytes, bytes_, "upload");
  if (bytes == 0) return;
  check(cudaMemcpyAsync(static_cast<char*>(ptr_) + offset, host, bytes, cudaMemcpyHostToDevice, stream()),
        "upload");
  check(cudaStreamSynchronize(stream()), "upload");
}

void DeviceBuffer::download(void* host, size_t bytes, size_t offset) const {
  check_range(offset, bytes, bytes_, "download");
  if (bytes == 0) return;
  check(cudaMemcpyAsync(host, static_cast<const char*>(ptr_) + offset, bytes, cudaMemcpyDeviceToHost, stream()),
        "download");
  check(cudaStreamSynchronize(stream()), "download");
}

void DeviceBuffer::zero() {
  if (bytes_ == 0) return;
  check(cudaMemsetAsync(ptr_, 0, bytes_, stream()), "memset");
  check(cudaStreamSynchronize(stream()), "memset");
}

}  // namespace cuda
}  // namespace qwen
