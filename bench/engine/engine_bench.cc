// Engine benchmarks, in-process (no HTTP): create, acquire+release with backlogs of blocked
// tasks of every kind (the O(log n) claim of DESIGN.md), a drain by 8 threads (group commit),
// release with children, key merge;
// each with full durability (WAL synced per write) and relaxed (synced every 100 ms).
//
//   ./build/engine_bench                       # full run
//   CREW_BENCH_SMOKE=1 ./build/engine_bench --benchmark_min_time=0.01   # CI smoke
//
// Args: {backlog, sync} where backlog is the number of tasks that wait (delayed an hour, in a
// paused group, or behind an incomplete parent, a third each) and sync is 1 for full durability.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "storage/store.h"

namespace {

using namespace crew;

bool Smoke() { return std::getenv("CREW_BENCH_SMOKE") != nullptr; }

struct Db {
  std::string dir;
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<engine::Engine> engine;

  explicit Db(bool sync) {
    char tmpl[] = "/tmp/crew-bench-XXXXXX";
    dir = mkdtemp(tmpl);
    storage::StoreOptions o;
    o.dir = dir;
    o.relaxed_durability = !sync;
    store = std::move(storage::Store::Open(o)).value();
    engine = std::move(engine::Engine::Open(store.get(), SystemClock::Default(), {})).value();
  }
  ~Db() {
    engine.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }
  Id Group(bool paused = false) { return engine->CreateGroup({"bench", paused}).value().id; }
  void Create(const Id& group, const std::vector<engine::NewTask>& tasks) {
    if (!engine->CreateTasks(group, tasks).ok()) std::abort();
  }
};

engine::NewTask Task(const std::string& channel) {
  engine::NewTask t;
  t.name = "t";
  t.channel = channel;
  static const std::string kInput =
      R"({"payload":"0123456789012345678901234567890123456789012345678901234567890123456789"})";
  t.input = kInput;
  return t;
}

// Fills the store with `n` waiting tasks on the measured channel: a third delayed by an hour, a
// third in a paused group, a third behind a parent that never completes.
void AddBacklog(Db& db, int64_t n) {
  if (n <= 0) return;
  Id open = db.Group(), paused = db.Group(true);
  auto parent = db.engine->CreateTasks(open, {Task("elsewhere")}).value().at(0).id;
  const int64_t batch = 1000;
  for (int64_t done = 0; done < n; done += batch) {
    std::vector<engine::NewTask> delayed, held, blocked;
    for (int64_t i = 0; i < batch / 3 + 1; ++i) {
      auto t = Task("bench");
      t.run_after = SystemClock::Default()->NowMs() + 3'600'000;
      delayed.push_back(t);
      held.push_back(Task("bench"));
      auto c = Task("bench");
      c.parent_ids = {parent};
      blocked.push_back(c);
    }
    db.Create(open, delayed);
    db.Create(paused, held);
    db.Create(open, blocked);
  }
}

void BM_Create(benchmark::State& state) {
  Db db(state.range(0));
  Id g = db.Group();
  for (auto _ : state) db.Create(g, {Task("bench")});
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Create)->ArgName("sync")->Arg(0)->Arg(1)->UseRealTime();

void BM_AcquireRelease(benchmark::State& state) {
  int64_t backlog = state.range(0);
  if (Smoke()) backlog = std::min<int64_t>(backlog, 3000);
  Db db(state.range(1));
  AddBacklog(db, backlog);
  Id g = db.Group();
  engine::ReleaseCommand done;
  done.worker_id = "w";
  done.output = R"({"ok":true})";
  for (auto _ : state) {
    state.PauseTiming();
    db.Create(g, {Task("bench")});
    state.ResumeTiming();
    auto got = db.engine->Acquire("bench", "w", 1);
    if (!got.ok() || got->size() != 1) {
      state.SkipWithError("acquire found nothing");
      break;
    }
    if (!db.engine->Release(got->front().task.id, done).ok()) std::abort();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AcquireRelease)
    ->ArgNames({"backlog", "sync"})
    ->Args({0, 0})
    ->Args({30000, 0})
    ->Args({300000, 0})
    ->Args({0, 1})
    ->Args({30000, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// W1's drain without HTTP: 8 threads acquire+release until the channel is empty, so the group
// commit groups what 8 workers write. Shows what the engine and storage allow before the HTTP
// layer takes its share (compare with crew_load's W1 drain).
void BM_DrainEightWorkers(benchmark::State& state) {
  const int n = Smoke() ? 800 : 20000;
  Db db(state.range(0));
  Id g = db.Group();
  for (auto _ : state) {
    for (int done = 0; done < n; done += 1000) {
      db.Create(g, std::vector<engine::NewTask>(std::min(1000, n - done), Task("drain")));
    }
    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (int w = 0; w < 8; ++w) {
      workers.emplace_back([&db, w] {
        engine::ReleaseCommand done;
        done.worker_id = "w" + std::to_string(w);
        done.output = R"({"ok":true})";
        while (true) {
          auto got = db.engine->Acquire("drain", done.worker_id, 1);
          if (!got.ok()) std::abort();
          if (got->empty()) return;
          if (!db.engine->Release(got->front().task.id, done).ok()) std::abort();
        }
      });
    }
    for (auto& t : workers) t.join();
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_DrainEightWorkers)
    ->ArgName("sync")
    ->Arg(0)
    ->Arg(1)
    ->UseManualTime()
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);

void BM_ReleaseWithChildren(benchmark::State& state) {
  Db db(state.range(1));
  Id g = db.Group();
  const int64_t children = state.range(0);
  for (auto _ : state) {
    state.PauseTiming();
    db.Create(g, {Task("parent")});
    auto got = db.engine->Acquire("parent", "w", 1).value();
    engine::ReleaseCommand cmd;
    cmd.worker_id = "w";
    for (int64_t i = 0; i < children; ++i) {
      engine::ChildSpec c;
      c.task = Task("child");
      c.child_id = std::to_string(i);
      cmd.children.push_back(c);
    }
    state.ResumeTiming();
    if (!db.engine->Release(got.front().task.id, cmd).ok()) std::abort();
  }
  state.SetItemsProcessed(state.iterations() * children);
}
BENCHMARK(BM_ReleaseWithChildren)
    ->ArgNames({"children", "sync"})
    ->Args({10, 0})
    ->Args({10, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// One acquire locks `dups` duplicates in other groups; its release completes them all.
void BM_KeyMerge(benchmark::State& state) {
  Db db(state.range(1));
  const int64_t dups = state.range(0);
  engine::ReleaseCommand done;
  done.worker_id = "w";
  int64_t round = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::string key = std::to_string(round++);
    for (int64_t i = 0; i <= dups; ++i) {
      auto t = Task("keyed");
      t.key = key;
      db.Create(db.Group(), {t});
    }
    state.ResumeTiming();
    auto got = db.engine->Acquire("keyed", "w", 1).value();
    if (!db.engine->Release(got.front().task.id, done).ok()) std::abort();
  }
  state.SetItemsProcessed(state.iterations() * (dups + 1));
}
BENCHMARK(BM_KeyMerge)
    ->ArgNames({"dups", "sync"})
    ->Args({10, 0})
    ->Args({10, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
