// A fresh engine on a temp-dir RocksDB with a manual clock, for engine unit tests.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "storage/store.h"
#include "temp_dir.h"

namespace crew::engine {

// Polls `done` for up to 2 s (what another thread does: the background sync runs within
// Store::kLazySyncDelay, the maintenance thread once woken).
template <typename Fn>
bool Eventually(Fn done) {
  for (int i = 0; i < 400; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

// Records what the engine publishes. Thread-safe: events of a lease (acquire) are published from
// the store's background sync thread once a sync covers them.
class Recorder final : public EngineListener {
 public:
  void OnEvents(const std::vector<Event>& events) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& e : events) events_.push_back(e);
  }
  void OnReady(const std::vector<std::string>& channels) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& c : channels) ready_.push_back(c);
  }
  bool WantsTaskEvents() const override { return wants_task_events_.load(); }
  void SetWantsTaskEvents(bool wants) { wants_task_events_.store(wants); }
  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    events_.clear();
    ready_.clear();
  }
  std::vector<Event> events() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  std::vector<std::string> ready() const {
    std::lock_guard<std::mutex> lock(mu_);
    return ready_;
  }
  std::vector<std::string> Names() const {
    std::vector<std::string> out;
    for (const auto& e : events()) out.push_back(e.name);
    return out;
  }

 private:
  std::atomic<bool> wants_task_events_{true};
  mutable std::mutex mu_;
  std::vector<Event> events_;
  std::vector<std::string> ready_;
};

class EngineTest : public ::testing::Test {
 public:
  static constexpr int64_t kStart = 1'700'000'000'000;
  static NewTask Spec(const std::string& name, const std::string& channel) {
    NewTask t;
    t.name = name;
    t.channel = channel;
    return t;
  }

 protected:
  void SetUp() override { Open(); }
  void TearDown() override { Close(); }
  void Open() {
    storage::StoreOptions o;
    o.dir = dir_;
    store_ = std::move(storage::Store::Open(o)).value();
    engine_ = std::move(Engine::Open(store_.get(), &clock_, options_)).value();
    engine_->SetListener(&recorder_);
  }
  void Close() {
    engine_.reset();
    store_.reset();
  }
  void Reopen() {
    Close();
    Open();
  }

  Id Group(bool paused = false) { return engine_->CreateGroup({"g", paused}).value().id; }

  Task Make(const Id& group, NewTask t) {
    auto r = engine_->CreateTasks(group, {t});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r->at(0);
  }
  Task Make(const Id& group, const std::string& name, const std::string& channel) {
    NewTask t;
    t.name = name;
    t.channel = channel;
    return Make(group, t);
  }
  // A task of channel with these parents.
  Task MakeChild(const Id& group, const std::string& name, const std::string& channel,
                 std::vector<Id> parents) {
    NewTask t = Spec(name, channel);
    t.parent_ids = std::move(parents);
    return Make(group, t);
  }
  std::optional<Task> Take(const std::string& channel, const std::string& worker = "w") {
    auto r = engine_->Acquire(channel, worker, 1);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok() || r->empty()) return std::nullopt;
    return r->front().task;
  }
  Result<Task> Done(const Id& id, const std::string& worker = "w",
                    const std::string& output = "{}") {
    ReleaseCommand cmd;
    cmd.worker_id = worker;
    cmd.output = output;
    return engine_->Release(id, cmd);
  }
  Result<Task> Fail(const Id& id, const std::string& worker = "w",
                    const std::string& error = "\"e\"", double workgroup_delay_s = 0) {
    ReleaseCommand cmd;
    cmd.worker_id = worker;
    cmd.error = error;
    cmd.workgroup_delay_s = workgroup_delay_s;
    return engine_->Release(id, cmd);
  }
  Task Get(const Id& id) { return engine_->GetTask(id).value(); }
  // n tasks "t0".. of the channel (and workgroup), in creation order.
  std::vector<Id> MakeMany(const Id& g, int n, const std::string& channel,
                           const std::optional<std::string>& workgroup = std::nullopt) {
    std::vector<Id> ids;
    for (int i = 0; i < n; ++i) {
      NewTask t = Spec("t" + std::to_string(i), channel);
      t.workgroup = workgroup;
      ids.push_back(Make(g, t).id);
    }
    return ids;
  }
  // Every task the channel hands out now, in order.
  std::vector<Id> TakeAll(const std::string& channel) {
    std::vector<Id> got;
    while (auto t = Take(channel)) got.push_back(t->id);
    return got;
  }
  void Advance(int64_t ms) {
    clock_.AdvanceMs(ms);
    ASSERT_TRUE(engine_->PromoteDue(100000).ok());
    ASSERT_TRUE(engine_->ExpireLeases(100000).ok());
  }

  crew::testing::TempDir tmp_{"engine-test"};
  std::string dir_ = tmp_.path();  // (a test may point it elsewhere for a while)
  ManualClock clock_{kStart};
  EngineOptions options_;
  Recorder recorder_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace crew::engine
