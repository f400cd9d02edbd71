// The one thread pool of c2s. Work is split by item index, never by thread,
// so results never depend on the number of threads.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace c2s {

class ThreadPool {
 public:
  explicit ThreadPool(std::size_t n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  std::size_t size() const { return workers_.size() + 1; }

  // Calls fn(i) for i in [0, n), on all threads including the caller; returns
  // when all calls are done. The first exception thrown by fn is rethrown.
  void parallel_for(std::size_t n, const std::function<void(std::size_t)>& fn);

  // The process-wide pool, sized by set_default_threads (default: all cores).
  static ThreadPool& global();
  static void set_default_threads(std::size_t n);

 private:
  void worker_loop();
  void run_items();

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(std::size_t)>* job_ = nullptr;
  std::size_t job_size_ = 0, next_ = 0, finished_ = 0, generation_ = 0, active_ = 0;
  std::exception_ptr error_;
  bool stop_ = false;
};

}  // namespace c2s
