// Runtime probing, the backend stream and device buffers. cudart is linked statically, so every
// call here works (and fails politely) on machines without a driver: cudaGetDeviceCount then
// returns cudaErrorInsufficientDriver or cudaErrorNoDevice instead of the process failing to load.
#include <cstdio>
#include <mutex>

#include "cuda/cuda_api.h"
#include "cuda/cuda_util.cuh"

namespace qwen {
namespace cuda {

// Errors after which the CUDA context is unusable: every later call in this process fails too.
static bool is_sticky(cudaError_t err) {
  switch (err) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorLaunchTimeout:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorAssert:
    case cudaErrorECCUncorrectable:
    case cudaErrorUnknown: return true;
    default: return false;
  }
}

void check(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return;
  const std::string msg = std::string("CUDA ") + what + ": " + cudaGetErrorString(err);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    throw GpuOutOfMemory(msg);
  }
  if (is_sticky(err)) throw GpuFault(msg + " (the GPU context is lost)");
  throw std::runtime_error(msg);
}

cudaStream_t stream() {
  static std::once_flag once;
  static cudaStream_t s = nullptr;
  std::call_once(once, [] { check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate"); });
  return s;
}

static std::string version_text(int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }

GpuProbe probe(size_t need_bytes) {
  GpuProbe p;
  p.runtime_version = CUDART_VERSION;
  cudaDriverGetVersion(&p.driver_version);  // 0 when no driver is installed
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  // A failed probe leaves the error for cudaGetLastError in some runtime versions; clear it.
  cudaGetLastError();
  auto refuse = [&](GpuReason r, std::string m) {
    p.usable = false;
    p.reason = r;
    p.message = std::move(m);
    return p;
  };
  if (err == cudaErrorInsufficientDriver || (err == cudaErrorNoDevice && p.driver_version == 0)) {
    if (p.driver_version == 0)
      return refuse(GpuReason::NoDriver, "no CUDA driver: libcuda.so (the NVIDIA driver) was not found");
    return refuse(GpuReason::DriverTooOld, "the NVIDIA driver supports CUDA " + version_text(p.driver_version) +
                                               ", older than the CUDA " + version_text(CUDART_VERSION) +
                                               " runtime this addon was built with; update the driver");
  }
  if (err == cudaErrorNoDevice || (err == cudaSuccess && count == 0))
    return refuse(GpuReason::NoDevice, "no GPU: the CUDA driver found no device");
  if (err != cudaSuccess)
    return refuse(GpuReason::ProbeFailed, std::string("the CUDA runtime failed: ") + cudaGetErrorString(err));
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) {
    cudaGetLastError();
    return refuse(GpuReason::ProbeFailed, "the CUDA runtime could not read GPU 0's properties");
  }
  char name[320];
  std::snprintf(name, sizeof name, "%s (sm_%d%d, %.0f GiB)", prop.name, prop.major, prop.minor,
                prop.totalGlobalMem / 1073741824.0);
  p.device_name = name;
  // The memory clock left cudaDeviceProp in CUDA 13; the attribute exists in 12 and 13 alike.
  int clock_khz = 0, bus_bits = 0;
  if (cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, 0) == cudaSuccess &&
      cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, 0) == cudaSuccess)
    p.peak_bandwidth = 2.0 * clock_khz * 1e3 * bus_bits / 8.0;  // double data rate
  cudaGetLastError();
  if (prop.major < 8)
    return refuse(GpuReason::UnsupportedGpu, std::string("GPU ") + prop.name + " has compute capability " +
                                                 std::to_string(prop.major) + "." + std::to_string(prop.minor) +
                                                 "; the CUDA kernels need 8.0 (Ampere) or newer");
  if (cudaMemGetInfo(&p.free_bytes, &p.total_bytes) != cudaSuccess) {
    cudaGetLastError();
    return refuse(GpuReason::ProbeFailed, "the CUDA runtime could not read GPU 0's free memory");
  }
  if (need_bytes > 0 && p.free_bytes < need_bytes)
    return refuse(GpuReason::NotEnoughMemory, "not enough free GPU memory: the model needs about " +
                                                  std::to_string(need_bytes >> 20) + " MiB, " +
                                                  std::to_string(p.free_bytes >> 20) + " MiB of " +
                                                  std::to_string(p.total_bytes >> 20) + " MiB are free");
  p.usable = true;
  p.reason = GpuReason::None;
  return p;
}

bool available(std::string* why) {
  const GpuProbe p = probe(0);
  if (why) *why = p.message;
  return p.usable;
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
    ptr_ = nullptr;
    if (is_sticky(err)) check(err, "cudaMalloc");
    cudaGetLastError();
    throw GpuOutOfMemory("CUDA out of memory: could not allocate " + std::to_string(bytes >> 20) + " MiB on the GPU (" +
                         cudaGetErrorString(err) + ")");
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
  check(cudaMemcpyAsync(static_cast<char*>(ptr_) + offset, host, bytes, cudaMemcpyHostToDevice, stream()), "upload");
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
