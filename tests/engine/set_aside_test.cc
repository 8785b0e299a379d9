// Ready tasks behind a paused group or a delayed workgroup (acquire.cc, Engine::SetAside): an
// acquire sets their queue entries aside in memory, writes nothing for them, and they go back
// to their queues when the group resumes or the delay is over, in their order, across restarts.
#include <string>
#include <vector>

#include "engine/test_engine.h"

namespace crew::engine {
namespace {

class SetAsideTest : public EngineTest {};

TEST_F(SetAsideTest, APausedGroupsTasksAreSetAsideUntouchedAndComeBackInOrderOnResume) {
  Id paused = Group(), other = Group();
  std::vector<Id> ids = MakeMany(paused, 50, "c");
  Task behind = Make(other, "behind", "c");
  ASSERT_TRUE(engine_->SetGroupPaused(paused, true).ok());
  const uint64_t writes = store_->Stats().wal_writes;
  EXPECT_EQ(Take("c")->id, behind.id);
  EXPECT_EQ(store_->Stats().wal_writes, writes + 1) << "the lease alone is written";
  for (const Id& id : ids) EXPECT_EQ(Get(id).placement, Placement::kReady);  // (not re-placed)
  EXPECT_TRUE(engine_->ReadyTasks("c").empty());
  EXPECT_EQ(engine_->ReadyTasks("c", true).size(), ids.size());
  EXPECT_FALSE(Take("c"));
  ASSERT_TRUE(engine_->SetGroupPaused(paused, false).ok());
  EXPECT_EQ(TakeAll("c"), ids);
}

TEST_F(SetAsideTest, AWorkgroupsTasksComeBackWhenItsDelayIsOverAndNoneEarlier) {
  Id g = Group();
  std::vector<Id> ids = MakeMany(g, 20, "c", "wg");
  Task free = Make(g, "free", "c");
  ASSERT_TRUE(Fail(Take("c")->id, "w", "\"limited\"", 60).ok());  // delays the workgroup 60 s
  EXPECT_EQ(Take("c")->id, free.id);
  ASSERT_TRUE(Done(free.id).ok());
  EXPECT_FALSE(Take("c"));
  for (size_t i = 1; i < ids.size(); ++i) EXPECT_EQ(Get(ids[i]).placement, Placement::kReady);
  EXPECT_EQ(engine_->NextTimer(), kStart + 60'001);  // (the failed task's own delay; then theirs)
  Advance(30'000);
  EXPECT_FALSE(Take("c")) << "handed out before the workgroup's delay is over";
  Advance(30'001);
  std::vector<Id> after = TakeAll("c");
  // The failed one's own delay is the workgroup's (reference §4.3.3): all 20 come, in order.
  EXPECT_EQ(after, ids);
}

// A later release that shortens the delay (the last one wins) brings them back sooner.
TEST_F(SetAsideTest, AShortenedWorkgroupDelayBringsThemBackSooner) {
  Id g = Group();
  MakeMany(g, 5, "c", "wg");
  NewTask held = Spec("held", "h");
  held.workgroup = "wg";
  Make(g, held);
  Task first = *Take("c");
  Task second = *Take("h");
  ASSERT_TRUE(Fail(first.id, "w", "\"limited\"", 600).ok());
  EXPECT_FALSE(Take("c"));
  ASSERT_TRUE(Fail(second.id, "w", "\"limited\"", 10).ok());
  EXPECT_EQ(engine_->NextTimer(), kStart + 10'001);
  Advance(10'001);
  EXPECT_EQ(TakeAll("c").size(), 4u);  // (the first waits for its own delay: 600 s)
}

// A task set aside behind its workgroup's delay that leaves the workgroup (PUT) is handed out at
// once: its queue entry named the old workgroup until the delay was over.
TEST_F(SetAsideTest, ATaskMovedOutOfADelayedWorkgroupIsHandedOutAtOnce) {
  Id g = Group();
  std::vector<Id> ids = MakeMany(g, 3, "c", "wg");
  ASSERT_TRUE(Fail(Take("c")->id, "w", "\"limited\"", 600).ok());
  EXPECT_FALSE(Take("c"));
  TaskPatch none;
  none.workgroup = std::optional<std::string>();
  ASSERT_TRUE(engine_->UpdateTask(ids[1], none).ok());
  TaskPatch other;
  other.workgroup = std::optional<std::string>("other");
  ASSERT_TRUE(engine_->UpdateTask(ids[2], other).ok());
  EXPECT_EQ(TakeAll("c"), (std::vector<Id>{ids[1], ids[2]}));
}

TEST_F(SetAsideTest, TasksSetAsideSurviveACleanRestartAndACrash) {
  for (bool clean : {true, false}) {
    Id g = Group();
    std::vector<Id> ids = MakeMany(g, 10, "c");
    ASSERT_TRUE(engine_->SetGroupPaused(g, true).ok());
    EXPECT_FALSE(Take("c"));
    if (clean) {
      ASSERT_TRUE(engine_->SaveCounters().ok());
    }
    Reopen();
    EXPECT_FALSE(Take("c")) << clean;
    ASSERT_TRUE(engine_->SetGroupPaused(g, false).ok());
    EXPECT_EQ(TakeAll("c"), ids) << clean;
  }
}

// A task set aside that changed meanwhile (deleted, or given another priority) goes back all the
// same and is dropped by the acquire that meets it; a deleted group's go with it.
TEST_F(SetAsideTest, TasksChangedWhileSetAsideAreHandedOutAsTheyAreNow) {
  Id g = Group(), gone = Group();
  std::vector<Id> ids = MakeMany(g, 4, "c");
  MakeMany(gone, 3, "c");
  ASSERT_TRUE(engine_->SetGroupPaused(g, true).ok());
  ASSERT_TRUE(engine_->SetGroupPaused(gone, true).ok());
  EXPECT_FALSE(Take("c"));
  ASSERT_TRUE(engine_->DeleteTask(ids[0]).ok());
  TaskPatch f;
  f.priority = 5;
  ASSERT_TRUE(engine_->UpdateTask(ids[3], f).ok());
  ASSERT_TRUE(engine_->DeleteGroup(gone).ok());
  EXPECT_FALSE(Take("c"));
  ASSERT_TRUE(engine_->SetGroupPaused(g, false).ok());
  EXPECT_EQ(TakeAll("c"), (std::vector<Id>{ids[3], ids[1], ids[2]}));
  EXPECT_TRUE(engine_->ReadyTasks("c", true).empty());
}

}  // namespace
}  // namespace crew::engine
