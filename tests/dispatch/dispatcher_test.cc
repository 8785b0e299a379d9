// dispatch/dispatcher: a push still under way when Stop stops waiting for it (its lease and 5 s)
// must not reach the dispatcher or the engine, which are gone by the time it ends.
#include "dispatch/dispatcher.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "storage/store.h"
#include "temp_dir.h"
#include "util/clock.h"

namespace crew::dispatch {
namespace {

using namespace std::chrono_literals;

template <typename Fn>
bool Within(std::chrono::milliseconds limit, Fn done) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// An operator that answers slowly: a space every 50 ms (each well within the push's read
// timeout) until told to finish.
class SlowOperator {
 public:
  SlowOperator() {
    server_.Post("/op", [this](const httplib::Request&, httplib::Response& res) {
      started_ = true;
      res.set_chunked_content_provider("application/json", [this](size_t, httplib::DataSink& sink) {
        if (finish_) {
          sink.done();
          ended_ = true;
          return true;
        }
        std::this_thread::sleep_for(50ms);
        return sink.write(" ", 1);
      });
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~SlowOperator() {
    finish_ = true;
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/op"; }
  std::atomic<bool> started_{false}, finish_{false}, ended_{false};

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST(Dispatcher, APushStopGaveUpOnLeavesTheEngineAlone) {
  testing::TempDir dir("dispatch");
  SlowOperator op;
  engine::EngineOptions options;
  options.lease_ms = 2000;  // (Stop waits 7 s; a push's read times out after 1.8 s of silence)
  Id task_id;
  {
    storage::StoreOptions so;
    so.dir = dir.path();
    auto store = std::move(storage::Store::Open(so)).value();
    auto engine =
        std::move(engine::Engine::Open(store.get(), SystemClock::Default(), options)).value();
    Dispatcher dispatcher(engine.get(), DispatchOptions());
    engine->SetListener(&dispatcher);
    dispatcher.Start();
    engine::OperatorFields f;
    f.channel = "c";
    f.url = op.url();
    ASSERT_TRUE(engine->CreateOperator(f).ok());
    const Id group = engine->CreateGroup({"g", false}).value().id;
    engine::NewTask t;
    t.name = "t";
    t.channel = "c";
    task_id = engine->CreateTasks(group, {t}).value().at(0).id;
    ASSERT_TRUE(Within(5s, [&] { return op.started_.load(); }));
    const auto before = std::chrono::steady_clock::now();
    dispatcher.Stop();
    EXPECT_GE(std::chrono::steady_clock::now() - before, 6s);  // it did not wait for the push
    EXPECT_FALSE(op.ended_);
    engine->SetListener(nullptr);
  }  // the dispatcher, the engine and the store are gone; the push goes on
  op.finish_ = true;
  ASSERT_TRUE(Within(5s, [&] { return op.ended_.load(); }));
  std::this_thread::sleep_for(500ms);  // (the push's thread reads the answer's end, and returns)

  storage::StoreOptions so;
  so.dir = dir.path();
  auto store = std::move(storage::Store::Open(so)).value();
  auto engine =
      std::move(engine::Engine::Open(store.get(), SystemClock::Default(), options)).value();
  auto task = engine->GetTask(task_id);
  ASSERT_TRUE(task.ok()) << task.status().ToString();
  EXPECT_FALSE(task->is_complete) << "released after Stop";
  EXPECT_EQ(task->output, "null");
}

}  // namespace
}  // namespace crew::dispatch
