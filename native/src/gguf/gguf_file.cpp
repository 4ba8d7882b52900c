// GgufFile: maps a file read-only (the weights are never copied; the OS pages them in on first
// use and can drop them under memory pressure), hands the bytes to GgufParser, and answers
// lookups afterwards. POSIX mmap only; a Windows build would need a MapViewOfFile branch here.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gguf/gguf.h"
#include "gguf/gguf_parser.h"
#include "gguf/gguf_reader.h"

namespace qwen {

namespace {

// Closes a descriptor on every exit path; the mapping stays valid after close().
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

[[noreturn]] void fail_errno(const std::string& path, const char* action) {
  throw GgufError(path + ": cannot " + action + ": " + std::strerror(errno));
}

}  // namespace

std::unique_ptr<GgufFile> GgufFile::open(const std::string& path) {
  // O_NONBLOCK so that a FIFO given by mistake is refused below instead of blocking forever.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail_errno(path, "open");
  FdCloser closer{fd};

  struct stat st;
  if (::fstat(fd, &st) != 0) fail_errno(path, "stat");
  if (!S_ISREG(st.st_mode)) throw GgufError(path + ": not a regular file");
  if (st.st_size == 0) throw GgufError(path + ": truncated: the file is empty");

  const uint64_t size = static_cast<uint64_t>(st.st_size);
  void* map = ::mmap(nullptr, static_cast<size_t>(size), PROT_READ, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED) fail_errno(path, "map");

  // From here the GgufFile owns the mapping, so a parse error unmaps it via the destructor.
  std::unique_ptr<GgufFile> file(new GgufFile());
  file->path_ = path;
  file->map_ = static_cast<const uint8_t*>(map);
  file->owns_map_ = true;
  file->file_size_ = size;
  file->fd_ = fd;
  closer.fd = -1;  // kept open for copy_bytes; the destructor closes it
  GgufParser(*file).parse();
  return file;
}

std::unique_ptr<GgufFile> GgufFile::open_memory(const std::string& name, const uint8_t* data, uint64_t size) {
  if (size == 0) throw GgufError(name + ": truncated: the file is empty");
  if (!data) throw GgufError(name + ": no data (null buffer)");
  std::unique_ptr<GgufFile> file(new GgufFile());
  file->path_ = name;
  file->map_ = data;
  file->owns_map_ = false;
  file->file_size_ = size;
  GgufParser(*file).parse();
  return file;
}

GgufFile::~GgufFile() {
  if (owns_map_ && map_) ::munmap(const_cast<uint8_t*>(map_), static_cast<size_t>(file_size_));
  if (fd_ >= 0) ::close(fd_);
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

namespace {

// Runs a GgufValue accessor and, if it refuses, rethrows with the file and key named.
template <class Get> auto get_checked(const GgufFile& f, const std::string& key, Get get) {
  const GgufValue* v = f.find(key);
  if (!v) throw GgufError(f.path() + ": metadata key " + gguf_detail::quoted(key) + " is missing");
  try {
    return get(*v);
  } catch (const GgufError& e) {
    throw GgufError(f.path() + ": metadata key " + gguf_detail::quoted(key) + ": " + e.what());
  }
}

}  // namespace

std::string GgufFile::get_string(const std::string& key) const {
  return get_checked(*this, key, [](const GgufValue& v) { return v.as_string(); });
}

uint64_t GgufFile::get_u64(const std::string& key) const {
  return get_checked(*this, key, [](const GgufValue& v) { return v.as_u64(); });
}

double GgufFile::get_f64(const std::string& key) const {
  return get_checked(*this, key, [](const GgufValue& v) { return v.as_f64(); });
}

void GgufFile::drop_metadata(const std::string& prefix) {
  std::vector<std::pair<std::string, GgufValue>> kept;
  for (auto& kv : kv_)
    if (kv.first.compare(0, prefix.size(), prefix) != 0) kept.push_back(std::move(kv));
  kv_ = std::move(kept);
  kv_index_.clear();
  for (size_t i = 0; i < kv_.size(); ++i) kv_index_[kv_[i].first] = i;
}

const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

// The parser proved data_offset + offset + nbytes <= file size for every tensor it produced.
const uint8_t* GgufFile::tensor_data(const GgufTensorInfo& t) const { return map_ + data_offset_ + t.offset; }

void GgufFile::release(const uint8_t* data, uint64_t nbytes) const {
  if (!owns_map_ || !map_ || data < map_ || nbytes > file_size_ || data - map_ > (ptrdiff_t)(file_size_ - nbytes))
    return;
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = reinterpret_cast<uintptr_t>(data);
  const uintptr_t first = (begin + page - 1) & ~(page - 1), last = (begin + nbytes) & ~(page - 1);
  // A private read-only mapping has no dirty pages, so MADV_DONTNEED only unmaps them here.
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

void GgufFile::copy_bytes(const uint8_t* data, size_t nbytes, uint8_t* dst) const {
  if (!map_ || data < map_ || nbytes > file_size_ || (uint64_t)(data - map_) > file_size_ - nbytes) {
    throw GgufError(path_ + ": read of " + std::to_string(nbytes) + " bytes outside the file");
  }
  if (fd_ < 0) {
    std::memcpy(dst, data, nbytes);
    return;
  }
  off_t at = static_cast<off_t>(data - map_);
  while (nbytes > 0) {
    const ssize_t got = ::pread(fd_, dst, nbytes, at);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      throw GgufError(path_ + ": cannot read " + std::to_string(nbytes) + " bytes at offset " + std::to_string(at) +
                      ": " + (got < 0 ? std::strerror(errno) : "the file is shorter than when it was opened"));
    }
    dst += got;
    at += got;
    nbytes -= (size_t)got;
  }
}

int64_t GgufTensorInfo::n_elements() const {
  int64_t count = 1;
  for (int64_t d : dims) count *= d;  // validated by the parser not to overflow
  return count;
}

}  // namespace qwen
