// ElasticPool: the thread pool of requests that may wait (loop_server.h), plain or TLS.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "util/thread_name.h"

namespace crew::api {

// A TaskQueue that starts a thread whenever every thread is busy (up to `max`), so a held
// connection never makes a new one wait. Threads stay for later connections.
class ElasticPool final : public httplib::TaskQueue {
 public:
  // `after_job`, if given, runs on the pool thread after each job (what a job left behind in
  // the thread's caches, freed).
  explicit ElasticPool(size_t max, std::function<void()> after_job = nullptr)
      : max_(max), after_job_(std::move(after_job)) {}
  ~ElasticPool() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    std::unique_lock<std::mutex> lock(mu_);
    jobs_.push_back(std::move(fn));
    if (idle_ < jobs_.size() && threads_.size() < max_) {
      try {
        threads_.emplace_back([this] {
          SetThreadName("crew-pool");
          Work();
        });
      } catch (const std::system_error& e) {
        // Out of threads (ulimit -u, a container's pids limit): the job waits for a busy thread
        // to come free, as it would past `max`; with none at all, for the next enqueue.
        if (!failed_before_) spdlog::warn("cannot start a pool thread: {}", e.what());
        failed_before_ = true;
      }
    }
    cv_.notify_one();
  }

  void shutdown() override {
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      stop_ = true;
      threads.swap(threads_);
    }
    cv_.notify_all();
    for (auto& t : threads) t.join();
  }

 private:
  void Work() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      ++idle_;
      cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
      --idle_;
      if (jobs_.empty()) return;  // stopping and drained
      auto fn = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      fn();
      if (after_job_) after_job_();
      lock.lock();
    }
  }

  const size_t max_;
  const std::function<void()> after_job_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  size_t idle_ = 0;
  bool stop_ = false;
  bool failed_before_ = false;  // (said once)
};

}  // namespace crew::api
