// Dispatcher: the HTTP push workers of reference §7 ("operators"), dispatched by the server
// itself (SPEC D16). For every channel with an unpaused operator (or every channel, when a
// virtual operator base URL is set) it acquires ready tasks as worker "operator_<id>", POSTs
// {"input", "parents", "taskId"} to the operator's URL, and releases the task with the answer:
// a 2xx body is a release body (output, error, children, delays); anything else is an error.
//
// Durable by construction: a task waiting for dispatch is in the ready queue, and a task
// pushed when the server stopped is leased, so its lease expires (D2) and it is pushed again.
// Each operator has at most `concurrency` requests in flight; a request times out after the
// lease. Thread-safe; OnReady/OnEvents only wake the dispatch thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"

namespace crew::dispatch {

struct DispatchOptions {
  std::string
      virtual_base_url;       // CREW_VIRTUAL_OPERATOR_BASE_URL: push every channel to BASE+channel
  std::string virtual_token;  // CREW_VIRTUAL_OPERATOR_AUTH_TOKEN: sent as a Bearer token
  int concurrency = 8;        // CREW_OPERATOR_CONCURRENCY: requests in flight per operator
};

class Dispatcher final : public engine::EngineListener {
 public:
  Dispatcher(engine::Engine* engine, DispatchOptions options);
  ~Dispatcher() override;
  void Start();
  // Stops pushing; waits for the requests in flight to finish and be released, for a lease and
  // 5 s at most: a push still under way then leaves its task held (pushed again once its lease
  // runs out) and touches neither the dispatcher nor the engine when it ends.
  void Stop();
  // Asks for a dispatch pass soon (examine/execute routes).
  void Poke();
  // Pushes since Start that the operator answered with a 2xx, and those that failed (an error
  // answer, a timeout, no connection): for /metrics (N6).
  int64_t pushed() const { return pushed_.load(std::memory_order_relaxed); }
  int64_t push_failed() const { return push_failed_.load(std::memory_order_relaxed); }

  void OnEvents(const std::vector<engine::Event>& events) override;
  void OnReady(const std::vector<std::string>& channels) override;
  bool WantsTaskEvents() const override { return false; }  // operator events alone

 private:
  struct Target {
    std::string id;  // operator id hex ("virtual" for the virtual operator)
    std::string channel;
    std::string url;
    std::string request_config;  // JSON object or null
  };
  // What a push's thread shares with the dispatcher, which it may outlive (a push Stop stopped
  // waiting for): once `closed`, the thread returns without a release.
  struct Gate {
    std::shared_mutex mu;  // held shared by a push's release, exclusive to close
    bool closed = false;   // GUARDED_BY(mu)
  };
  void Loop();
  std::vector<Target> Targets();
  void Release(const Target& target, const engine::Acquired& task, const std::string& release);

  engine::Engine* engine_;
  std::shared_ptr<Gate> gate_ = std::make_shared<Gate>();
  DispatchOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                    // GUARDED_BY(mu_)
  bool dirty_ = true;                    // GUARDED_BY(mu_): operators changed
  bool poked_ = false;                   // GUARDED_BY(mu_)
  std::map<std::string, int> inflight_;  // GUARDED_BY(mu_): operator id -> requests
  std::vector<Target> targets_;          // dispatch thread only
  std::thread thread_;
  std::atomic<int64_t> pushed_{0}, push_failed_{0};
};

}  // namespace crew::dispatch
