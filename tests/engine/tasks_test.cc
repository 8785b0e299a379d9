// Groups and tasks: create, update, delete, reset, retry, pluck, counters, events, restart.
#include <algorithm>
#include <atomic>
#include <thread>
#include <tuple>
#include "engine/test_engine.h"

namespace crew::engine {
namespace {

TEST_F(EngineTest, CreateInUnknownGroupIsNotFoundAndBatchIsAllOrNothing) {
  EXPECT_EQ(engine_->CreateTasks(Id(), {Spec("t", "c")}).status().code(), Code::kNotFound);
  EXPECT_EQ(engine_->CreateTasks(Id(), {}).status().code(), Code::kNotFound) << "D1";
  Id g = Group();
  EXPECT_TRUE(engine_->CreateTasks(g, {}).value().empty());
  NewTask bad = Spec("bad", "c");
  bad.parent_ids = {Id()};
  EXPECT_EQ(engine_->CreateTasks(g, {Spec("good", "c"), bad}).status().code(),
            Code::kInvalidArgument);
  EXPECT_TRUE(engine_->ListGroupTasks(g, -1, 0).value().empty());
}

TEST_F(EngineTest, ListsAreNewestFirstWithLimitAndSkip) {
  Id g = Group();
  for (int i = 0; i < 4; ++i) Make(g, "t" + std::to_string(i), "c");
  auto names = [](const std::vector<Task>& ts) {
    std::vector<std::string> out;
    for (auto& t : ts) out.push_back(t.name);
    return out;
  };
  EXPECT_EQ(names(engine_->ListGroupTasks(g, -1, 0).value()),
            (std::vector<std::string>{"t3", "t2", "t1", "t0"}));
  EXPECT_EQ(names(engine_->ListGroupTasks(g, 2, 1).value()),
            (std::vector<std::string>{"t2", "t1"}));
  EXPECT_EQ(names(engine_->ListChannelTasks("c", 1, 0).value()), (std::vector<std::string>{"t3"}));
}

TEST_F(EngineTest, UpdateValidatesParentsAndRecomputesParentsComplete) {  // D9
  Id g = Group();
  Task parent = Make(g, "parent", "p");
  Task child = Make(g, "child", "c");
  TaskPatch unknown;
  unknown.parent_ids = std::vector<Id>{Id()};
  EXPECT_EQ(engine_->UpdateTask(child.id, unknown).status().code(), Code::kInvalidArgument);
  TaskPatch p;
  p.parent_ids = std::vector<Id>{parent.id};
  Task updated = engine_->UpdateTask(child.id, p).value();
  EXPECT_FALSE(updated.parents_complete);
  EXPECT_FALSE(Take("c"));
  TaskPatch cycle;
  cycle.parent_ids = std::vector<Id>{child.id};
  EXPECT_EQ(engine_->UpdateTask(parent.id, cycle).status().code(), Code::kInvalidArgument);
  ASSERT_TRUE(Done(Take("p")->id).ok());
  EXPECT_TRUE(Get(child.id).parents_complete) << "the new edge is real";
  EXPECT_EQ(Take("c")->id, child.id);
}

// A parent deleted since (its group deleted) stays in the child's parentIds without blocking it;
// an edit that sends those parentIds back, as crew-ui's edit dialog does, is no error, and a
// new unknown id still is (D9).
TEST_F(EngineTest, UpdateKeepsAParentDeletedSince) {
  Id elsewhere = Group();
  Id g = Group();
  Task parent = Make(elsewhere, "parent", "p");
  Task other = Make(g, "other", "o");
  NewTask spec = Spec("child", "c");
  spec.parent_ids = {parent.id};
  Task child = Make(g, spec);
  ASSERT_TRUE(engine_->DeleteGroup(elsewhere).ok());
  EXPECT_EQ(Get(child.id).parent_ids, std::vector<Id>{parent.id});
  TaskPatch same;
  same.name = "renamed";
  same.parent_ids = std::vector<Id>{parent.id};
  Task updated = engine_->UpdateTask(child.id, same).value();
  EXPECT_EQ(updated.name, "renamed");
  EXPECT_TRUE(updated.parents_complete);
  TaskPatch more;
  more.parent_ids = std::vector<Id>{parent.id, other.id};
  EXPECT_FALSE(engine_->UpdateTask(child.id, more).value().parents_complete);
  TaskPatch unknown;
  unknown.parent_ids = std::vector<Id>{parent.id, Id()};
  EXPECT_EQ(engine_->UpdateTask(child.id, unknown).status().code(), Code::kInvalidArgument);
  ASSERT_TRUE(Done(Take("o")->id).ok());
  EXPECT_EQ(Take("c")->id, child.id);
}

TEST_F(EngineTest, DeleteTaskTakesItsDescendants) {
  Id g = Group();
  Task root = Make(g, "root", "c");
  Task ta = MakeChild(g, "a", "c", {root.id});
  MakeChild(g, "b", "c", {ta.id});
  Task x = Make(g, "x", "c");
  ASSERT_TRUE(engine_->DeleteTask(root.id).ok());
  auto left = engine_->ListGroupTasks(g, -1, 0).value();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].id, x.id);
  EXPECT_EQ(engine_->DeleteTask(root.id).code(), Code::kNotFound);
}

TEST_F(EngineTest, DeleteGroupUnblocksChildrenElsewhere) {
  Id doomed = Group(), kept = Group();
  Task parent = Make(doomed, "parent", "p");
  NewTask c = Spec("child", "c");
  c.parent_ids = {parent.id};
  Task child = Make(kept, c);
  ASSERT_TRUE(engine_->DeleteGroup(doomed).ok());
  EXPECT_EQ(engine_->GetTask(parent.id).status().code(), Code::kNotFound);
  EXPECT_EQ(engine_->GetGroup(doomed).status().code(), Code::kNotFound);
  EXPECT_TRUE(Get(child.id).parents_complete);
  EXPECT_EQ(Take("c")->id, child.id);
}

// A group larger than options_.group_batch goes in several Txns (groups.cc): a DAG across them
// still goes whole, and a child elsewhere is released by its parent's deletion, as above.
TEST_F(EngineTest, ALargeGroupIsDeletedInBatchesWithItsDagAndChildrenElsewhereFreed) {
  options_.group_batch = 3;
  Reopen();
  Id doomed = Group(), kept = Group();
  std::vector<Id> made;
  Id prev = Make(doomed, "root", "d").id;
  made.push_back(prev);
  for (int i = 0; i < 10; ++i) {  // a chain: each task the child of the one before
    prev = MakeChild(doomed, "t" + std::to_string(i), "d", {prev}).id;
    made.push_back(prev);
  }
  Task outside = MakeChild(kept, "outside", "o", {made[4]});
  ASSERT_TRUE(engine_->DeleteGroup(doomed).ok());
  for (const Id& id : made) EXPECT_EQ(engine_->GetTask(id).status().code(), Code::kNotFound);
  EXPECT_EQ(engine_->GetGroup(doomed).status().code(), Code::kNotFound);
  EXPECT_TRUE(Get(outside.id).parents_complete);
  EXPECT_EQ(Take("o")->id, outside.id);
  EXPECT_FALSE(Take("d"));
  EXPECT_EQ(engine_->DeleteGroup(doomed).code(), Code::kNotFound);
}

// Tasks made in the group while its batches are deleted go with the last one: no task is left
// without its group.
TEST_F(EngineTest, TasksMadeInAGroupWhileItIsDeletedGoWithIt) {
  options_.group_batch = 2;
  Reopen();
  Id g = Group();
  for (int i = 0; i < 400; ++i) Make(g, "t" + std::to_string(i), "c");
  std::vector<Id> created;
  std::atomic<bool> stop{false};
  std::thread maker([&] {
    while (!stop) {
      auto r = engine_->CreateTasks(g, {Spec("late", "c")});
      if (!r.ok()) break;  // the group is gone
      created.push_back(r->at(0).id);
    }
  });
  ASSERT_TRUE(engine_->DeleteGroup(g).ok());
  stop = true;
  maker.join();
  for (const Id& id : created) EXPECT_EQ(engine_->GetTask(id).status().code(), Code::kNotFound);
  EXPECT_FALSE(Take("c"));
  EXPECT_TRUE(engine_->ListChannelTasks("c", 0, 0).value().empty());
}

TEST_F(EngineTest, GroupResetKeepsSeedsAndHonoursAttempts) {  // reference §5.3, D10
  Id g = Group();
  NewTask s = Spec("seed", "s");
  s.is_seed = true;
  Make(g, s);
  Make(g, "plain", "p");
  ASSERT_TRUE(Done(Take("s")->id).ok());
  ASSERT_TRUE(engine_->ResetGroup(g, 3).ok());
  auto left = engine_->ListGroupTasks(g, -1, 0).value();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].name, "seed");
  EXPECT_FALSE(left[0].is_complete);
  EXPECT_EQ(left[0].remaining_attempts, 3);
  EXPECT_TRUE(left[0].parents_complete);
  EXPECT_EQ(Take("s")->name, "seed");
}

// A large group is reset in batches (groups.cc): the same end as in one Txn, and no task is
// handed out before its parents started over.
TEST_F(EngineTest, ALargeGroupIsResetInBatches) {
  options_.group_batch = 3;
  Reopen();
  Id g = Group(), other = Group();
  NewTask s = Spec("seed", "s");
  s.is_seed = true;
  Task seed = Make(g, s);
  for (int i = 0; i < 8; ++i) MakeChild(g, "cont" + std::to_string(i), "c", {seed.id});
  Task outside = MakeChild(other, "outside", "o", {seed.id});
  ASSERT_TRUE(Done(Take("s")->id).ok());
  ASSERT_TRUE(Done(Take("c")->id).ok());
  recorder_.Clear();
  ASSERT_EQ(engine_->ResetGroup(g, 3).value().id, g);
  auto left = engine_->ListGroupTasks(g, -1, 0).value();
  ASSERT_EQ(left.size(), 1u);  // the seed only
  EXPECT_FALSE(left[0].is_complete);
  EXPECT_EQ(left[0].remaining_attempts, 3);
  EXPECT_TRUE(left[0].parents_complete);
  // (as in one Txn: a child elsewhere keeps its cached parentsComplete, reference §5.6)
  EXPECT_TRUE(Get(outside.id).parents_complete);
  auto names = recorder_.Names();
  EXPECT_EQ(std::count(names.begin(), names.end(), "group:reset"), 1);

  // Without a seed every task stays and starts over: a chain runs again in its order.
  Id chain = Group();
  std::vector<Id> ids{Make(chain, "n0", "n").id};
  for (int i = 1; i < 7; ++i)
    ids.push_back(MakeChild(chain, "n" + std::to_string(i), "n", {ids.back()}).id);
  for (size_t i = 0; i < ids.size(); ++i) ASSERT_TRUE(Done(Take("n")->id).ok());
  ASSERT_TRUE(engine_->ResetGroup(chain, 2).ok());
  for (size_t i = 0; i < ids.size(); ++i) {
    Task t = Get(ids[i]);
    EXPECT_FALSE(t.is_complete);
    EXPECT_EQ(t.remaining_attempts, 2);
    EXPECT_EQ(t.parents_complete, i == 0) << i;
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    auto next = Take("n");
    ASSERT_TRUE(next);
    EXPECT_EQ(next->id, ids[i]);
    EXPECT_FALSE(Take("n"));  // its child waits for it
    ASSERT_TRUE(Done(next->id).ok());
  }
  EXPECT_EQ(engine_->ResetGroup(Id(), 1).status().code(), Code::kNotFound);
}

// Between two batches of a large group's reset (where a crash would leave it), no task is
// handed out while a parent of it starts over: a ready task of a later batch was, once an
// earlier batch had reopened its parent.
TEST_F(EngineTest, NoTaskIsHandedOutBetweenBatchesOfAResetBeforeItsParents) {
  options_.group_batch = 2;
  std::vector<std::string> early;  // tasks handed out with a parent incomplete
  int batches = 0;
  options_.after_group_batch = [&] {
    ++batches;
    while (auto t = Take("n")) {
      for (const Id& p : t->parent_ids) {
        if (!Get(p).is_complete) early.push_back(t->name);
      }
      ASSERT_TRUE(Done(t->id).ok());
    }
  };
  Reopen();
  Id chain = Group();
  std::vector<Id> ids{Make(chain, "n0", "n").id};
  for (int i = 1; i < 7; ++i)
    ids.push_back(MakeChild(chain, "n" + std::to_string(i), "n", {ids.back()}).id);
  ASSERT_TRUE(Done(Take("n")->id).ok());  // n0 and n1 complete, n2 ready
  ASSERT_TRUE(Done(Take("n")->id).ok());
  ASSERT_TRUE(engine_->ResetGroup(chain, 2).ok());
  EXPECT_GT(batches, 3);
  EXPECT_EQ(early, std::vector<std::string>{});
}

TEST_F(EngineTest, GroupRetryOnlyTouchesExhaustedIncompleteTasks) {
  Id g = Group();
  NewTask t = Spec("x", "c");
  t.remaining_attempts = 1;
  t.error_delay_s = 0;
  Task x = Make(g, t);
  Task y = Make(g, "y", "other");
  ASSERT_TRUE(Fail(Take("c")->id).ok());
  ASSERT_TRUE(engine_->RetryGroup(g, 2).ok());
  EXPECT_EQ(Get(x.id).remaining_attempts, 2);
  EXPECT_EQ(Get(y.id).remaining_attempts, 5);
}

TEST_F(EngineTest, ALargeGroupIsRetriedInBatches) {
  options_.group_batch = 3;
  Reopen();
  Id g = Group();
  std::vector<Id> failed, done;
  for (int i = 0; i < 10; ++i) {
    NewTask t = Spec("t" + std::to_string(i), "c");
    t.remaining_attempts = 1;
    t.error_delay_s = 0;
    Make(g, t);
  }
  for (int i = 0; i < 10; ++i) {
    Task held = *Take("c");
    ASSERT_TRUE((i % 2 ? Done(held.id) : Fail(held.id)).ok());
    (i % 2 ? done : failed).push_back(held.id);
  }
  recorder_.Clear();
  ASSERT_EQ(engine_->RetryGroup(g, 4).value().id, g);
  for (const Id& id : failed) EXPECT_EQ(Get(id).remaining_attempts, 4);
  for (const Id& id : done) EXPECT_EQ(Get(id).remaining_attempts, 0);  // (complete: untouched)
  auto names = recorder_.Names();
  EXPECT_EQ(std::count(names.begin(), names.end(), "group:retry"), 1);
  EXPECT_EQ(engine_->RetryGroup(Id(), 1).status().code(), Code::kNotFound);
}

TEST_F(EngineTest, TaskResetReopensACompleteTask) {
  Id g = Group();
  Make(g, "t", "c");
  Task held = *Take("c");
  ASSERT_TRUE(Done(held.id).ok());
  Task reset = engine_->ResetTask(held.id, 2).value();
  EXPECT_FALSE(reset.is_complete);
  EXPECT_EQ(reset.output, "null");
  EXPECT_EQ(reset.remaining_attempts, 2);
  EXPECT_EQ(Take("c")->id, held.id);
}

TEST_F(EngineTest, PluckCopiesIntoANewPausedGroup) {
  Id g = Group();
  NewTask t = Spec("orig", "c");
  t.priority = 3;
  t.input = R"({"in":1})";
  Task orig = Make(g, t);
  Task plucked = engine_->PluckTask(orig.id).value();
  EXPECT_NE(plucked.group_id, g);
  EXPECT_TRUE(plucked.is_paused);
  EXPECT_EQ(plucked.input, R"({"in":1})");
  EXPECT_EQ(plucked.priority, 3);
  EXPECT_EQ(engine_->GetGroup(plucked.group_id).value().name, "Pluck Task " + orig.id.Hex());
  EXPECT_EQ(engine_->PluckTask(Id()).status().code(), Code::kNotFound);
}

TEST_F(EngineTest, CountersFollowEveryChange) {
  Id g = Group();
  Make(g, "a", "c");
  Make(g, "b", "c");
  Task held = *Take("c");
  auto channel = [&] { return engine_->ListChannels().at(0); };
  EXPECT_EQ(channel().total, 2);
  EXPECT_EQ(channel().assigned, 1);
  ASSERT_TRUE(Done(held.id).ok());
  EXPECT_EQ(channel().complete, 1);
  EXPECT_EQ(channel().assigned, 0);
  GroupStats s = engine_->GetGroup(g).value().stats;
  EXPECT_EQ(s.total, 2);
  EXPECT_EQ(s.complete, 1);
  ASSERT_TRUE(engine_->DeleteGroup(g).ok());
  EXPECT_TRUE(engine_->ListChannels().empty());
}

// A group's counts put each task in one of complete, running, failed or waiting, as the
// dashboard does: a held task out of attempts (edited so, or a key duplicate locked while
// exhausted) is running, not failed too, which left a waiting task uncounted.
TEST_F(EngineTest, AHeldTaskOutOfAttemptsCountsAsRunningNotFailed) {
  Id g = Group();
  Task a = Make(g, "a", "c");
  Make(g, "b", "c2");
  ASSERT_EQ(Take("c")->id, a.id);
  TaskPatch none_left;
  none_left.remaining_attempts = 0;
  ASSERT_TRUE(engine_->UpdateTask(a.id, none_left).ok());
  GroupStats s = engine_->GetGroup(g).value().stats;
  EXPECT_EQ(s.assigned, 1);
  EXPECT_EQ(s.failed, 0);
  ASSERT_TRUE(Fail(a.id).ok());
  s = engine_->GetGroup(g).value().stats;
  EXPECT_EQ(s.assigned, 0);
  EXPECT_EQ(s.failed, 1);
  // Counted the same anew at start-up; counters an older version saved are not read (their
  // marker goes).
  ASSERT_TRUE(store_->db()->Put({}, store_->handle(storage::Cf::kMeta), "counters_saved", "").ok());
  Reopen();
  EXPECT_EQ(engine_->GetGroup(g).value().stats.failed, 1);
  EXPECT_FALSE(store_->Get(storage::Cf::kMeta, "counters_saved").value());
}

// The counters live in memory and are stored only at a clean shutdown (SaveCounters); any other
// start-up recounts them from the tasks.
TEST_F(EngineTest, CountersSurviveACrashAndACleanShutdown) {
  Id g = Group();
  Id other = Group();
  Make(g, "a", "c");
  Task b = Make(g, "b", "c");
  Make(g, "x", "c");
  Make(other, "gone", "old");
  Task held = *Take("c");
  ASSERT_TRUE(Done(held.id).ok());
  Take("c");
  auto counts = [&] {
    std::vector<std::tuple<std::string, int64_t, int64_t, int64_t>> out;
    for (const auto& c : engine_->ListChannels())
      out.emplace_back(c.name, c.total, c.complete, c.assigned);
    GroupStats s = engine_->GetGroup(g).value().stats;
    out.emplace_back("group", s.total, s.complete, s.assigned);
    return out;
  };
  const auto before = counts();
  EXPECT_EQ(before.back(),
            std::make_tuple(std::string("group"), int64_t{3}, int64_t{1}, int64_t{1}));

  Reopen();  // as after a crash: nothing saved, recounted
  EXPECT_EQ(counts(), before);
  ASSERT_TRUE(engine_->SaveCounters().ok());
  Reopen();  // read back
  EXPECT_EQ(counts(), before);

  // Saved once, then changed: a crash now must not read back the saved (stale) counters.
  ASSERT_TRUE(engine_->DeleteTask(b.id).ok());
  ASSERT_TRUE(engine_->DeleteGroup(other).ok());
  const auto after = counts();
  EXPECT_EQ(after.size(), 2u);  // channel "old" went with its only task
  Reopen();
  EXPECT_EQ(counts(), after);
  // A channel gone since the last save leaves no record behind.
  ASSERT_TRUE(engine_->SaveCounters().ok());
  Reopen();
  EXPECT_EQ(counts(), after);

  // A write after the save, in the same run (an operator's push that outlived the shutdown's
  // wait for it): the counters saved are no longer the tasks', and are not read back.
  ASSERT_TRUE(engine_->SaveCounters().ok());
  ASSERT_TRUE(Done(Take("c")->id).ok());
  const auto later = counts();
  ASSERT_NE(later, after);
  Reopen();
  EXPECT_EQ(counts(), later);
}

// The ready queues live in memory as the counters do: stored only at a clean shutdown, rebuilt
// from the task records at any other start-up; either way they hand out what they did before.
TEST_F(EngineTest, ReadyQueuesSurviveACrashAndACleanShutdown) {
  Id g = Group();
  std::vector<NewTask> many;  // more than one saved chunk (4,096 entries)
  for (int i = 0; i < 5000; ++i) many.push_back(Spec("m" + std::to_string(10000 + i), "many"));
  ASSERT_TRUE(engine_->CreateTasks(g, many).ok());
  Make(g, "a", "c");
  NewTask urgent = Spec("b", "c");
  urgent.priority = 5;
  Make(g, urgent);
  NewTask low = Spec("low", "c");
  low.priority = -3;
  Make(g, low);
  Make(g, "d", "c");
  Make(g, "e", "other");
  ASSERT_EQ(Take("c")->name, "b");
  ASSERT_EQ(Take("many")->name, "m10000");
  auto queues = [&] {
    return std::make_tuple(engine_->ReadyTasks("c"), engine_->ReadyTasks("many"),
                           engine_->ReadyTasks("other"), engine_->ReadyChannelCount());
  };
  const auto before = queues();
  EXPECT_EQ(std::get<0>(before).size(), 3u);
  EXPECT_EQ(std::get<1>(before).size(), 4999u);

  Reopen();  // as after a crash: nothing saved, rebuilt from the tasks
  EXPECT_EQ(queues(), before);
  ASSERT_TRUE(engine_->SaveCounters().ok());
  Reopen();  // read back
  EXPECT_EQ(queues(), before);

  // Saved once, then changed: a crash now must not read back the saved (stale) queues.
  ASSERT_EQ(Take("c")->name, "a");
  const auto after = queues();
  Reopen();
  EXPECT_EQ(queues(), after);
  ASSERT_TRUE(engine_->SaveCounters().ok());
  Reopen();
  EXPECT_EQ(queues(), after);
  // A write after the save, in the same run: the queues saved are not read back.
  ASSERT_TRUE(engine_->SaveCounters().ok());
  Make(g, "late", "other");
  const auto later = queues();
  Reopen();
  EXPECT_EQ(queues(), later);
  std::vector<std::string> order;
  while (auto t = Take("c")) order.push_back(t->name);
  EXPECT_EQ(order, (std::vector<std::string>{"d", "low"}));
  EXPECT_EQ(Take("many")->name, "m10001");
}

// A data dir whose ready queue an older version stored in kReady: the entries go at start-up,
// and the queue is built from the task records.
TEST_F(EngineTest, AReadyQueueStoredByAnOlderVersionIsRebuiltAndItsEntriesGo) {
  Id g = Group();
  Task a = Make(g, "a", "c");
  ASSERT_TRUE(engine_->SaveCounters().ok());  // counters saved, queues too
  rocksdb::WriteBatch b;  // as an older version left it: its key, and no saved queue
  b.Put(store_->handle(storage::Cf::kReady), storage::ReadyKey("c", 0, a.id), "");
  b.Delete(store_->handle(storage::Cf::kMeta), "ready_saved");
  uint64_t seq;
  ASSERT_TRUE(store_->Write(&b, &seq).ok());
  Reopen();
  EXPECT_EQ(engine_->ReadyTasks("c"), std::vector<Id>{a.id});
  bool any = false;
  ASSERT_TRUE(store_
                  ->Scan(storage::Cf::kReady, "", false,
                         [&](std::string_view, std::string_view) { return !(any = true); })
                  .ok());
  EXPECT_FALSE(any);
  EXPECT_EQ(Take("c")->id, a.id);
}

TEST_F(EngineTest, EventsNameTheGroupRoom) {
  Id g = Group();
  recorder_.Clear();
  Task t = Make(g, "t", "c");
  Take("c");
  ASSERT_TRUE(Done(t.id).ok());
  EXPECT_EQ(recorder_.Names(),
            (std::vector<std::string>{"task:create", "task:update", "task:update"}));
  const std::vector<Event> events = recorder_.events();
  for (auto& e : events) EXPECT_EQ(e.room, g.Hex());
  auto& last = std::get<Task>(events.back().payload);
  EXPECT_TRUE(last.is_complete);
}

// With no one to hear them, task events are not built (their payload is a copy of the task);
// the others still go out, and task events do again once someone listens.
TEST_F(EngineTest, TaskEventsAreSkippedWhileNoOneListens) {
  Id g = Group();
  recorder_.SetWantsTaskEvents(false);
  recorder_.Clear();
  Task t = Make(g, "t", "c");
  Take("c");
  ASSERT_TRUE(Done(t.id).ok());
  ASSERT_TRUE(engine_->SetGroupPaused(g, true).ok());
  EXPECT_EQ(recorder_.Names(), (std::vector<std::string>{"group:syncPause"}));
  recorder_.SetWantsTaskEvents(true);
  recorder_.Clear();
  Make(g, "u", "c");
  EXPECT_EQ(recorder_.Names(), (std::vector<std::string>{"task:create"}));
}

TEST_F(EngineTest, StateSurvivesARestart) {
  Id g = Group();
  NewTask t = Spec("held", "c");
  t.workgroup = "wg";
  t.error_delay_s = 0;  // so its runAfter shows the workgroup delay alone
  Make(g, t);
  Make(g, "other", "c");
  Task held = *Take("c");
  ASSERT_TRUE(Fail(held.id, "w", "\"e\"", 10).ok());
  Task second = *Take("c");
  Reopen();
  EXPECT_EQ(engine_->CountGroups(), 1);
  EXPECT_EQ(Get(second.id).assigned_to, "w");
  EXPECT_EQ(Get(held.id).shown_run_after, kStart + 10000) << "workgroup delays persist";
  EXPECT_FALSE(Take("c"));
  Advance(options_.lease_ms + 1);  // the lease of the held task expires after the restart too
  EXPECT_FALSE(Get(second.id).assigned_to);
  EXPECT_EQ(Get(second.id).errors,
            (std::vector<std::string>{"\"Task not completed in 60 seconds.\""}));
}

}  // namespace
}  // namespace crew::engine
