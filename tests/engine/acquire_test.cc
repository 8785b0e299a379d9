// Acquire (reference §4.2, SPEC D5, D8, N8): what is handed out, in which order, and what not.
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "engine/test_engine.h"

namespace crew::engine {
namespace {

TEST_F(EngineTest, AcquireTakesHighestPriorityThenOldest) {
  Id g = Group();
  auto spec = [](const char* name, int64_t priority) {
    NewTask t = Spec(name, "c");
    t.priority = priority;
    return t;
  };
  std::vector<std::string> order;
  for (auto* name : {"a", "b", "c", "d", "e"}) {
    int64_t p = std::string(name) == "b" || std::string(name) == "d"
                    ? 5
                    : (std::string(name) == "e" ? -1 : 0);
    Make(g, spec(name, p));
  }
  while (auto t = Take("c")) order.push_back(t->name);
  EXPECT_EQ(order, (std::vector<std::string>{"b", "d", "a", "c", "e"}));
}

TEST_F(EngineTest, AcquireAssignsAndLeases) {
  Id g = Group();
  Task t = Make(g, "t", "c");
  auto got = Take("c", "w1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->id, t.id);
  EXPECT_EQ(got->assigned_to, "w1");
  EXPECT_EQ(got->assigned_at, clock_.NowMs());
  EXPECT_FALSE(Take("c", "w2")) << "an assigned task is not handed out again";
}

TEST_F(EngineTest, RootTaskHasParentsComplete) {  // D8
  Task t = Make(Group(), "t", "c");
  EXPECT_TRUE(t.parents_complete);
}

TEST_F(EngineTest, PausedGroupBlocksAndResumeUnblocks) {
  Id g = Group();
  Task before = Make(g, "before", "c");
  ASSERT_TRUE(engine_->SetGroupPaused(g, true).ok());
  EXPECT_TRUE(Get(before.id).is_paused);
  Task during = Make(g, "during", "c");
  EXPECT_TRUE(during.is_paused);
  EXPECT_FALSE(Take("c"));
  ASSERT_TRUE(engine_->SetGroupPaused(g, false).ok());
  EXPECT_EQ(Take("c")->id, before.id);
  EXPECT_EQ(Take("c")->id, during.id);
}

TEST_F(EngineTest, RunAfterBlocksUntilStrictlyPast) {
  Id g = Group();
  NewTask t = Spec("later", "c");
  t.run_after = kStart + 5000;
  Task later = Make(g, t);
  EXPECT_FALSE(Take("c"));
  Advance(5000);
  EXPECT_FALSE(Take("c")) << "runAfter must be strictly past";
  Advance(1);
  EXPECT_EQ(Take("c")->id, later.id);
}

TEST_F(EngineTest, IncompleteParentsBlockUntilAllComplete) {
  Id g = Group();
  Task p1 = Make(g, "p1", "p"), p2 = Make(g, "p2", "p");
  Task child = MakeChild(g, "child", "c", {p1.id, p2.id});
  EXPECT_FALSE(child.parents_complete);
  EXPECT_FALSE(Take("c"));
  ASSERT_TRUE(Done(Take("p")->id).ok());
  EXPECT_FALSE(Get(child.id).parents_complete);
  EXPECT_FALSE(Take("c"));
  ASSERT_TRUE(Done(Take("p")->id).ok());
  EXPECT_TRUE(Get(child.id).parents_complete);
  auto got = engine_->Acquire("c", "w", 1).value();
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(got[0].parents.size(), 2u);
  EXPECT_EQ(got[0].parents[0].id, p1.id) << "parents come in parentIds order";
  EXPECT_EQ(got[0].parents[1].id, p2.id);
  EXPECT_EQ(got[0].parents[0].output, "{}");
}

TEST_F(EngineTest, AcquireWithLimitTakesUpToLimitInOrder) {  // N8
  Id g = Group();
  for (int i = 0; i < 5; ++i) Make(g, "t" + std::to_string(i), "c");
  auto got = engine_->Acquire("c", "w", 3).value();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].task.name, "t0");
  EXPECT_EQ(got[2].task.name, "t2");
  EXPECT_EQ(engine_->Acquire("c", "w", 10).value().size(), 2u);
}

TEST_F(EngineTest, ExhaustedAttemptsBlockUntilRetry) {
  Id g = Group();
  NewTask t = Spec("once", "c");
  t.remaining_attempts = 1;
  t.error_delay_s = 0;
  Task once = Make(g, t);
  ASSERT_TRUE(Fail(Take("c")->id).ok());
  EXPECT_EQ(Get(once.id).remaining_attempts, 0);
  EXPECT_FALSE(Take("c"));
  ASSERT_TRUE(engine_->RetryTask(once.id, 2).ok());
  EXPECT_EQ(Take("c")->id, once.id);
}

TEST_F(EngineTest, OnlyReadyTasksAreHandedOutBehindALargeBacklog) {
  Id open = Group(), paused = Group(true);
  Task never = Make(open, "never", "elsewhere");
  std::vector<NewTask> delayed, held, blocked;
  for (int i = 0; i < 700; ++i) {
    NewTask d = Spec("delayed", "c");
    d.run_after = kStart + 3'600'000;
    delayed.push_back(d);
    held.push_back(Spec("held", "c"));
    NewTask b = Spec("blocked", "c");
    b.parent_ids = {never.id};
    blocked.push_back(b);
  }
  ASSERT_TRUE(engine_->CreateTasks(open, delayed).ok());
  ASSERT_TRUE(engine_->CreateTasks(paused, held).ok());
  ASSERT_TRUE(engine_->CreateTasks(open, blocked).ok());
  for (int i = 0; i < 10; ++i) Make(open, "ready", "c");
  int taken = 0;
  while (auto t = Take("c")) {
    EXPECT_EQ(t->name, "ready");
    ++taken;
  }
  EXPECT_EQ(taken, 10);
}

TEST_F(EngineTest, ReadyChannelsArePublishedForLongPolls) {
  Id g = Group();
  recorder_.Clear();
  Make(g, "t", "lp");
  EXPECT_EQ(recorder_.ready(), (std::vector<std::string>{"lp"}));
}

// A channel's ready queue goes with its last ready task, so channels used once (a new name per
// task) do not pile up in the writer's memory; the channel works as before after.
TEST_F(EngineTest, AChannelsReadyQueueGoesWithItsLastReadyTask) {
  Id kept = Group(), gone = Group();
  Make(kept, "k1", "kept");
  Make(kept, "k2", "kept");
  Make(gone, "a", "once");
  Make(gone, "b", "once");
  EXPECT_EQ(engine_->ReadyChannelCount(), 2u);
  ASSERT_TRUE(Take("kept"));
  ASSERT_TRUE(Take("once"));
  EXPECT_EQ(engine_->ReadyChannelCount(), 2u);
  ASSERT_TRUE(engine_->DeleteGroup(gone).ok());
  EXPECT_EQ(engine_->ReadyChannelCount(), 1u) << "the deleted group's ready task went";
  ASSERT_TRUE(Take("kept"));
  EXPECT_EQ(engine_->ReadyChannelCount(), 0u);
  Task again = Make(kept, "again", "once");
  EXPECT_EQ(Take("once")->id, again.id);
  EXPECT_FALSE(Take("once"));
}

// A task that becomes ready with a higher priority than those waiting is handed out first.
TEST_F(EngineTest, ANewTaskOfHigherPriorityGoesAheadOfTheWaitingOnes) {
  Id g = Group();
  for (auto* name : {"a", "b", "c"}) Make(g, name, "c");
  EXPECT_EQ(Take("c")->name, "a");
  NewTask urgent = Spec("urgent", "c");
  urgent.priority = 5;
  Make(g, urgent);
  std::vector<std::string> order;
  while (auto t = Take("c")) order.push_back(t->name);
  EXPECT_EQ(order, (std::vector<std::string>{"urgent", "b", "c"}));
}

// A waiting task whose group was paused is skipped, and comes back in order when its group
// resumes.
TEST_F(EngineTest, ReadyTasksOfAPausedGroupAreSkipped) {
  Id one = Group(), two = Group();
  Make(one, "a", "c");
  Make(two, "b", "c");
  Make(one, "c", "c");
  Make(two, "d", "c");
  EXPECT_EQ(Take("c")->name, "a");
  ASSERT_TRUE(engine_->SetGroupPaused(two, true).ok());
  EXPECT_EQ(Take("c")->name, "c");
  EXPECT_FALSE(Take("c"));
  ASSERT_TRUE(engine_->SetGroupPaused(two, false).ok());
  EXPECT_EQ(Take("c")->name, "b");
  EXPECT_EQ(Take("c")->name, "d");
  EXPECT_FALSE(Take("c"));
}

// A waiting task that is delayed leaves the ready queue, and comes back at its place (by
// priority, then age) once due, ahead of a newer task that waited all along.
TEST_F(EngineTest, AReadyTaskDelayedComesBackAtItsPlaceWhenDue) {
  Id g = Group();
  Make(g, "a", "c");
  Task b = Make(g, "b", "c");
  Task c = Make(g, "c", "c");
  EXPECT_EQ(Take("c")->name, "a");
  TaskPatch later;
  later.run_after = std::optional<int64_t>(clock_.NowMs() + 1000);
  ASSERT_TRUE(engine_->UpdateTask(b.id, later).ok());
  EXPECT_EQ(engine_->ReadyTasks("c"), std::vector<Id>{c.id});
  Advance(1001);  // due: the maintenance pass puts it back
  EXPECT_EQ(engine_->ReadyTasks("c"), (std::vector<Id>{b.id, c.id}));
  EXPECT_EQ(Take("c")->id, b.id);
  EXPECT_EQ(Take("c")->id, c.id);
}

// A batch acquire takes the next tasks in order; those it leaves stay in order.
TEST_F(EngineTest, BatchAcquireTakesTheNextTasksInOrder) {
  Id g = Group();
  std::vector<NewTask> specs;
  for (int i = 0; i < 150; ++i) specs.push_back(Spec("t" + std::to_string(1000 + i), "c"));
  ASSERT_TRUE(engine_->CreateTasks(g, specs).ok());
  EXPECT_EQ(Take("c")->name, "t1000");
  auto got = engine_->Acquire("c", "w", 100).value();
  ASSERT_EQ(got.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(got[i].task.name, "t" + std::to_string(1001 + i));
  std::vector<std::string> rest;
  while (auto t = Take("c")) rest.push_back(t->name);
  ASSERT_EQ(rest.size(), 49u);
  EXPECT_EQ(rest.front(), "t1101");
  EXPECT_EQ(rest.back(), "t1149");
}

// Acquire's order against a model, over a seeded random mix of creates (two channels, three
// priorities, two groups), acquires, completions, pauses and resumes, priority changes and
// deletes: each acquire must hand out the highest-priority, then oldest, task of its channel
// that is neither held, done nor paused. (The kept read-ahead keys go stale in every way here.)
TEST_F(EngineTest, AcquireOrderMatchesAModelUnderRandomChanges) {
  struct Model {
    Id id, group;
    std::string channel;
    int64_t priority = 0;
    bool held = false;
  };
  std::mt19937 rng(20261204);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const Id groups[2] = {Group(), Group()};
  bool paused[2] = {false, false};
  const std::string channels[2] = {"a", "b"};
  std::vector<Model> live;  // in creation (= id) order
  auto expected = [&](const std::string& channel) -> std::optional<Id> {
    const Model* best = nullptr;
    for (const Model& m : live) {
      if (m.channel != channel || m.held || paused[m.group == groups[1]]) continue;
      if (!best || m.priority > best->priority) best = &m;  // the oldest among equals
    }
    return best ? std::optional<Id>(best->id) : std::nullopt;
  };
  int acquired = 0;
  for (int step = 0; step < 3000; ++step) {
    const int op = pick(100);
    if (op < 35) {
      NewTask t = Spec("t", channels[pick(2)]);
      t.priority = std::vector<int64_t>{-1, 0, 5}[pick(3)];
      const Id g = groups[pick(2)];
      Task made = Make(g, t);
      live.push_back({made.id, g, t.channel, t.priority});
    } else if (op < 70) {
      const std::string& channel = channels[pick(2)];
      std::optional<Id> want = expected(channel);
      auto got = Take(channel);
      ASSERT_EQ(got.has_value(), want.has_value()) << "step " << step;
      if (!got) continue;
      ASSERT_EQ(got->id, *want) << "step " << step;
      for (Model& m : live) m.held = m.held || m.id == got->id;
      ++acquired;
    } else if (op < 82) {
      std::vector<size_t> held;
      for (size_t i = 0; i < live.size(); ++i) {
        if (live[i].held) held.push_back(i);
      }
      if (held.empty()) continue;
      const size_t i = held[static_cast<size_t>(pick(static_cast<int>(held.size())))];
      ASSERT_TRUE(Done(live[i].id).ok());
      live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
    } else if (op < 88) {
      const int g = pick(2);
      paused[g] = !paused[g];
      ASSERT_TRUE(engine_->SetGroupPaused(groups[g], paused[g]).ok());
    } else if (op < 95) {
      if (live.empty()) continue;
      Model& m = live[static_cast<size_t>(pick(static_cast<int>(live.size())))];
      if (m.held) continue;
      TaskPatch patch;
      patch.priority = m.priority = std::vector<int64_t>{-1, 0, 5}[pick(3)];
      ASSERT_TRUE(engine_->UpdateTask(m.id, patch).ok());
    } else {
      if (live.empty()) continue;
      const size_t i = static_cast<size_t>(pick(static_cast<int>(live.size())));
      if (live[i].held) continue;
      ASSERT_TRUE(engine_->DeleteTask(live[i].id).ok());
      live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  EXPECT_GT(acquired, 500);  // the mix hands out plenty
}

}  // namespace
}  // namespace crew::engine
