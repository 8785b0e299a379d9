// What operations read from the engine and the store (SPEC N6): the work counters of /metrics
// and the snapshots of crew backup.
#include <filesystem>

#include "engine/test_engine.h"

namespace crew::engine {
namespace {

TEST_F(EngineTest, WorkCountersCountOnlyCommittedWork) {
  Id g = Group();
  Task a = Make(g, "a", "c");
  Task b = Make(g, "b", "c");
  Make(g, "c", "other");
  NewTask bad = Spec("bad", "c");
  bad.parent_ids = {Id()};  // unknown parent: refused, nothing created
  EXPECT_FALSE(engine_->CreateTasks(g, {Spec("fine", "c"), bad}).ok());
  ASSERT_TRUE(Take("c"));
  ASSERT_TRUE(Take("c"));
  ASSERT_TRUE(Done(a.id).ok());
  ASSERT_TRUE(Done(a.id).ok());  // late: changes nothing, counts nothing
  EXPECT_FALSE(Done(b.id, "intruder").ok());
  ASSERT_TRUE(Fail(b.id).ok());
  WorkCounts w = engine_->work();
  EXPECT_EQ(w.tasks_created, 3);
  EXPECT_EQ(w.tasks_acquired, 2);
  EXPECT_EQ(w.released_ok, 1);
  EXPECT_EQ(w.released_error, 1);
  EXPECT_EQ(w.leases_expired, 0);

  Advance(31'000);  // b's error delay
  ASSERT_TRUE(Take("c"));
  Advance(options_.lease_ms + 1);
  EXPECT_EQ(engine_->work().leases_expired, 1);
  EXPECT_EQ(engine_->work().tasks_acquired, 3);
}

// A write's Txn is emptied and used again by the next write (Txn::Reset): what a refused write
// made in it before its refusal is not committed by the write after it.
TEST_F(EngineTest, TheWriteAfterARefusedOneCommitsNothingOfIt) {
  Id g = Group();
  NewTask bad = Spec("bad", "c");
  bad.parent_ids = {Id()};  // unknown parent: refused after "fine" was made in the Txn
  ASSERT_FALSE(engine_->CreateTasks(g, {Spec("fine", "c"), bad}).ok());
  Make(g, "next", "c");
  auto tasks = engine_->ListGroupTasks(g, -1, 0).value();
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].name, "next");
  EXPECT_EQ(engine_->work().tasks_created, 1);
}

TEST_F(EngineTest, SnapshotHoldsEveryAcknowledgedWriteAndOpensAlone) {
  Id g = Group();
  std::vector<Id> ids;
  for (int i = 0; i < 50; ++i) ids.push_back(Make(g, "t" + std::to_string(i), "c").id);
  ASSERT_TRUE(Take("c"));
  auto dir = store_->CreateSnapshot();
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  Make(g, "after", "c");  // not in the snapshot

  storage::StoreOptions o;
  o.dir = *dir;
  auto copy = storage::Store::Open(o);
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  auto engine = Engine::Open(copy->get(), &clock_, options_);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  EXPECT_EQ((*engine)->CountGroups(), 1);
  auto tasks = (*engine)->ListGroupTasks(g, 0, 0);
  ASSERT_TRUE(tasks.ok());
  EXPECT_EQ(tasks->size(), ids.size());
  for (const Id& id : ids) {
    auto t = (*engine)->GetTask(id);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->name, Get(id).name);
    EXPECT_EQ(t->assigned_to, Get(id).assigned_to);
  }
  engine->reset();
  copy->reset();
  store_->RemoveSnapshot(*dir);
  EXPECT_FALSE(std::filesystem::exists(*dir));
}

TEST_F(EngineTest, SnapshotsLeftByACrashAreRemovedOnOpen) {
  auto dir = store_->CreateSnapshot();
  ASSERT_TRUE(dir.ok());
  Reopen();
  EXPECT_FALSE(std::filesystem::exists(*dir));
}

}  // namespace
}  // namespace crew::engine
