// A fixed pool of compute threads for the forward pass. parallel_for hands out task indices from
// one atomic counter (so uneven tasks balance themselves; callers size tasks, e.g. 16 weight rows
// each, which is the "static chunking" and keeps the counter cheap); the calling thread works
// too. Between calls, workers spin briefly (decode issues a matmul every few microseconds) and
// then sleep on a condition variable so an idle model costs no CPU.
//
// parallel_for is a template that passes the callable by address plus a plain function pointer,
// so a call allocates nothing (std::function would heap-allocate for large captures).
#pragma once
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace qwen {

// Physical cores of this machine (hyper-threads of one core share its execution units, which the
// matmul already saturates), falling back to the logical count where topology is unknown.
int physical_core_count();

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);  // total threads including the caller; >= 1
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Runs fn(task, thread) for task in [0, n_tasks); returns when all are done. `thread` is in
  // [0, size()) and unique among concurrently running tasks (for per-thread scratch). Not reentrant.
  template <class F> void parallel_for(int n_tasks, F&& fn) {
    using Fn = std::remove_reference_t<F>;
    run(
        n_tasks, [](void* ctx, int task, int thread) { (*static_cast<Fn*>(ctx))(task, thread); },
        const_cast<void*>(static_cast<const void*>(&fn)));
  }

 private:
  using TaskFn = void (*)(void* ctx, int task, int thread);
  void run(int n_tasks, TaskFn fn, void* ctx);
  void worker(int index);
  void run_tasks(int thread);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> next_task_{0};
  std::atomic<int> active_{0};
  std::atomic<bool> stop_{false};
  int n_tasks_ = 0;
  TaskFn fn_ = nullptr;
  void* ctx_ = nullptr;
};

}  // namespace qwen
