#include "core/thread_pool.hpp"

#include <memory>

namespace c2s {

ThreadPool::ThreadPool(std::size_t n_threads) {
  if (n_threads == 0) n_threads = 1;
  for (std::size_t i = 1; i < n_threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_items() {
  for (;;) {
    std::size_t i;
    {
      std::lock_guard lock(mutex_);
      if (next_ >= job_size_) return;
      i = next_++;
    }
    try {
      (*job_)(i);
    } catch (...) {
      std::lock_guard lock(mutex_);
      if (!error_) error_ = std::current_exception();
      next_ = job_size_;  // stop handing out work
    }
    std::lock_guard lock(mutex_);
    ++finished_;
  }
}

void ThreadPool::worker_loop() {
  std::size_t seen = 0;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      ++active_;
    }
    run_items();
    {
      std::lock_guard lock(mutex_);
      --active_;
    }
    done_.notify_all();
  }
}

void ThreadPool::parallel_for(std::size_t n, const std::function<void(std::size_t)>& fn) {
  if (n == 0) return;
  if (workers_.empty() || n == 1) {
    for (std::size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    job_ = &fn;
    job_size_ = n;
    next_ = 0;
    finished_ = 0;
    error_ = nullptr;
    ++generation_;
  }
  wake_.notify_all();
  run_items();
  std::exception_ptr error;
  {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return next_ >= job_size_ && active_ == 0; });
    job_ = nullptr;
    error = error_;
  }
  if (error) std::rethrow_exception(error);
}

namespace {
std::size_t g_default_threads = 0;
std::unique_ptr<ThreadPool> g_pool;
std::mutex g_pool_mutex;
}  // namespace

void ThreadPool::set_default_threads(std::size_t n) {
  std::lock_guard lock(g_pool_mutex);
  g_default_threads = n;
  g_pool.reset();
}

ThreadPool& ThreadPool::global() {
  std::lock_guard lock(g_pool_mutex);
  if (!g_pool) {
    std::size_t n = g_default_threads ? g_default_threads : std::thread::hardware_concurrency();
    g_pool = std::make_unique<ThreadPool>(n ? n : 1);
  }
  return *g_pool;
}

}  // namespace c2s
