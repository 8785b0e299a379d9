// When answers wait for the WAL sync (full durability): every write but a lease waits; a lease
// (acquire, heartbeat) is synced by the next sync, and its events go out once it is.
#include <chrono>
#include <thread>

#include "engine/test_engine.h"

namespace crew::engine {
namespace {

TEST_F(EngineTest, WritesAnswerOnceSynced) {
  const uint64_t before = store_->Stats().wal_syncs;
  Make(Group(), "t", "c");
  EXPECT_GE(store_->Stats().wal_syncs, before + 1) << "the create was answered before a sync";
}

TEST_F(EngineTest, ALeaseIsSyncedSoonAfterItsAnswerAndThenPublished) {
  Id g = Group();
  Make(g, "t", "c");
  recorder_.Clear();
  ASSERT_TRUE(Take("c"));
  EXPECT_TRUE(Eventually([&] {
    return recorder_.Names() == std::vector<std::string>{"task:update"};
  })) << "the acquire's event never went out";
  const uint64_t latest = store_->db()->GetLatestSequenceNumber();
  EXPECT_TRUE(Eventually([&] { return store_->SyncSoon(latest); })) << "the lease was never synced";
}

TEST_F(EngineTest, SyncLeasesMakesAcquireWaitForTheSync) {
  options_.sync_leases = true;
  Reopen();
  Make(Group(), "t", "c");
  recorder_.Clear();
  const uint64_t before = store_->Stats().wal_syncs;
  ASSERT_TRUE(Take("c"));
  EXPECT_GE(store_->Stats().wal_syncs, before + 1);
  EXPECT_TRUE(store_->SyncSoon(store_->db()->GetLatestSequenceNumber()));
  EXPECT_EQ(recorder_.Names(), std::vector<std::string>{"task:update"})
      << "published before the answer";
}

TEST_F(EngineTest, ALeaseCoveredByALaterWriteIsPublishedInOrder) {
  Id g = Group();
  Task t = Make(g, "t", "c");
  recorder_.Clear();
  ASSERT_TRUE(Take("c"));
  ASSERT_TRUE(Done(t.id).ok());  // synced: covers the acquire, whose event goes out first
  EXPECT_EQ(recorder_.Names(), (std::vector<std::string>{"task:update", "task:update"}));
}

TEST_F(EngineTest, UnderDeferSyncAWriteReturnsUnsyncedAndAwaitDurableSyncsAndPublishes) {
  Id g = Group();
  recorder_.Clear();
  const uint64_t syncs = store_->Stats().wal_syncs;
  uint64_t seq = 0;
  {
    DeferSync defer;
    Make(g, "a", "c");
    Make(g, "b", "c");
    seq = defer.seq();
  }
  EXPECT_EQ(seq, store_->db()->GetLatestSequenceNumber()) << "the scope keeps the highest seq";
  EXPECT_TRUE(recorder_.Names().empty()) << "published before durable";
  EXPECT_FALSE(store_->SyncSoon(seq)) << "a deferred write was synced before AwaitDurable";
  ASSERT_TRUE(engine_->AwaitDurable(seq).ok());
  EXPECT_GE(store_->Stats().wal_syncs, syncs + 1);
  EXPECT_EQ(recorder_.Names(), (std::vector<std::string>{"task:create", "task:create"}));
}

TEST_F(EngineTest, DeferSyncScopesNestAndEndWithTheirThread) {
  Id g = Group();
  DeferSync outer;
  {
    DeferSync inner;
    Make(g, "a", "c");
    EXPECT_GT(inner.seq(), 0u);
  }
  EXPECT_EQ(outer.seq(), 0u) << "the innermost scope collects";
  std::thread other([&] {
    const uint64_t syncs = store_->Stats().wal_syncs;
    Make(g, "b", "c");  // no scope on this thread: answered once synced
    EXPECT_GE(store_->Stats().wal_syncs, syncs + 1);
  });
  other.join();
  EXPECT_EQ(outer.seq(), 0u);
}

// Gathered writes (an event loop's turn): one store write for all of them at the turn's end,
// answered with the sequence number EndTurn gives, their events out once that is durable.
TEST_F(EngineTest, GatheredWritesAreWrittenOnceAtTheTurnsEnd) {
  Id g = Group();
  recorder_.Clear();
  const uint64_t writes = store_->Stats().wal_writes;
  std::vector<Task> made;
  uint64_t answered = 0;
  {
    DeferSync defer(/*gather=*/true);
    for (const char* name : {"a", "b", "c"}) made.push_back(Make(g, name, "c"));
    answered = defer.seq();
  }
  EXPECT_EQ(answered, DeferSync::kGathered);
  EXPECT_EQ(store_->Stats().wal_writes, writes) << "written before the turn's end";
  std::thread([&] {  // another thread's read of the store misses writes nobody was answered
    auto stored = store_->Get(storage::Cf::kTasks, storage::IdKey(made[0].id));
    ASSERT_TRUE(stored.ok());
    EXPECT_FALSE(stored->has_value());
  })
      .join();
  auto seq = engine_->EndTurn();
  ASSERT_TRUE(seq.ok()) << seq.status().ToString();
  EXPECT_EQ(store_->Stats().wal_writes, writes + 1) << "one write for the turn";
  EXPECT_EQ(*seq, store_->db()->GetLatestSequenceNumber());
  EXPECT_TRUE(recorder_.Names().empty()) << "published before durable";
  ASSERT_TRUE(engine_->AwaitDurable(*seq).ok());
  EXPECT_EQ(recorder_.Names(),
            (std::vector<std::string>{"task:create", "task:create", "task:create"}));
  for (const Task& t : made) {
    auto stored = store_->Get(storage::Cf::kTasks, storage::IdKey(t.id));
    ASSERT_TRUE(stored.ok() && stored->has_value()) << t.name;
  }
  EXPECT_EQ(store_->Stats().wal_writes, writes + 1) << "an end with nothing gathered writes";
  ASSERT_TRUE(engine_->EndTurn().ok());
  EXPECT_EQ(store_->Stats().wal_writes, writes + 1) << "an end with nothing gathered writes";
}

TEST_F(EngineTest, AThreadReadsItsOwnGatheredWritesAndAnotherThreadsWriteComesAfterThem) {
  Id g = Group();
  recorder_.Clear();
  DeferSync defer(/*gather=*/true);
  Task a = Make(g, "a", "c");
  // A read of the store (the group's index) on the gathering thread writes them first.
  auto listed = engine_->ListGroupTasks(g, 0, 0);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().id, a.id);
  Task b = Make(g, "b", "c");
  // Another thread's write writes b first, and its events go out after b's.
  std::thread([&] { Make(g, "x", "c"); }).join();
  auto stored = store_->Get(storage::Cf::kTasks, storage::IdKey(b.id));
  ASSERT_TRUE(stored.ok() && stored->has_value());
  auto seq = engine_->EndTurn();
  ASSERT_TRUE(seq.ok());
  ASSERT_TRUE(engine_->AwaitDurable(*seq).ok());
  ASSERT_EQ(recorder_.events().size(), 3u);
  std::vector<std::string> names;
  for (const Event& e : recorder_.events()) names.push_back(std::get<Task>(e.payload).name);
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "x"}));
}

// A read of the store writes the gathered batch first only if the batch writes what it reads:
// with child edges stored, a release looks for children (kChildren) and a flat drain's turn
// writes none, so its writes stay gathered; a child made in the turn is found by its parent's
// release in the same turn.
TEST_F(EngineTest, AGatheredBatchIsWrittenBeforeAReadOfWhatItWritesOnly) {
  Id g = Group();
  Task parent = Make(g, "parent", "p");
  MakeChild(g, "child", "c", {parent.id});  // (an edge stored: every release scans kChildren)
  Task flat = Make(g, "flat", "f");
  ASSERT_TRUE(Take("f"));
  ASSERT_TRUE(Take("p"));
  const uint64_t writes = store_->Stats().wal_writes;
  DeferSync defer(/*gather=*/true);
  ASSERT_TRUE(Done(flat.id).ok());
  EXPECT_EQ(store_->Stats().wal_writes, writes) << "the look for children wrote the batch";
  Task late = MakeChild(g, "late child", "c", {parent.id});
  ASSERT_TRUE(Done(parent.id).ok());
  EXPECT_EQ(store_->Stats().wal_writes, writes + 1) << "the parent's release missed its child";
  ASSERT_TRUE(engine_->EndTurn().ok());
  EXPECT_TRUE(Get(late.id).parents_complete);
}

// A queue deeper than the task cache (which keeps the records written last): its head is read
// from the store, with the tasks queued after it (Engine::ReadAhead), without writing the turn's
// gathered batch first, which holds none of them. The tasks go out in order, as written.
TEST_F(EngineTest, ADeepQueuesHeadIsReadFromTheStoreWithoutWritingTheTurnsBatch) {
  options_.task_cache_bytes = 50'000;  // ~60 tasks
  Reopen();
  Id g = Group();
  std::vector<Task> made;
  for (int i = 0; i < 200; ++i) {
    NewTask t = Spec("t" + std::to_string(i), "c");
    t.input = "{\"i\":" + std::to_string(i) + "}";
    made.push_back(Make(g, t));
  }
  for (size_t next = 0; next < made.size(); next += 2) {
    const uint64_t writes = store_->Stats().wal_writes;
    {
      DeferSync defer(/*gather=*/true);
      Make(g, "elsewhere", "other");  // (the turn's batch writes task records)
      auto a = Take("c");
      auto b = Take("c");
      ASSERT_TRUE(a && b);
      EXPECT_EQ(store_->Stats().wal_writes, writes) << "a read of the head wrote the turn's batch";
      EXPECT_EQ(a->id, made[next].id);
      EXPECT_EQ(a->input, made[next].input);
      EXPECT_EQ(b->id, made[next + 1].id);
      EXPECT_EQ(b->input, made[next + 1].input);
      ASSERT_TRUE(Done(a->id).ok());
      ASSERT_TRUE(Done(b->id).ok());
    }
    ASSERT_TRUE(engine_->EndTurn().ok());
    EXPECT_EQ(store_->Stats().wal_writes, writes + 1) << "one write for the turn";
  }
  EXPECT_FALSE(Take("c"));
  for (const Task& t : made) EXPECT_TRUE(Get(t.id).is_complete) << t.name;
}

// The same for a queue whose tasks lie among other channels' tasks in the store (a read-ahead
// that finds few of them, and the misses read one by one after it).
TEST_F(EngineTest, ADeepQueueAmongOtherChannelsTasksIsHandedOutInOrder) {
  options_.task_cache_bytes = 50'000;
  Reopen();
  Id g = Group();
  std::vector<Task> made;
  for (int i = 0; i < 400; ++i) {
    NewTask t = Spec("t" + std::to_string(i), "c" + std::to_string(i % 10));
    t.input = "{\"i\":" + std::to_string(i) + "}";
    Task task = Make(g, t);
    if (i % 10 == 0) made.push_back(task);
  }
  for (const Task& want : made) {
    auto got = Take("c0");
    ASSERT_TRUE(got);
    EXPECT_EQ(got->id, want.id);
    EXPECT_EQ(got->input, want.input);
  }
  EXPECT_FALSE(Take("c0"));
  auto other = Take("c1");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->name, "t1");
}

// What the turn's gathered batch changed is read through it, never around it: a task it
// updated is not read ahead from the store (the cache would get the record from before), and a
// task it deleted is gone for the writer too.
TEST_F(EngineTest, AReadOfATaskTheTurnsBatchChangedSeesTheChange) {
  options_.task_cache_bytes = 50'000;
  Reopen();
  Id g = Group();
  std::vector<Task> made;
  for (int i = 0; i < 200; ++i) made.push_back(Make(g, "t" + std::to_string(i), "c"));
  {
    DeferSync defer(/*gather=*/true);
    TaskPatch patch;
    patch.input = "{\"changed\":true}";
    ASSERT_TRUE(engine_->UpdateTask(made[1].id, patch).ok());
    ASSERT_TRUE(engine_->DeleteTask(made[2].id).ok());
    auto head = Take("c");  // not in the cache: reads ahead past made[1] and made[2]
    ASSERT_TRUE(head);
    EXPECT_EQ(head->id, made[0].id);
    EXPECT_EQ(Done(made[2].id).status().code(), Code::kNotFound);
  }
  ASSERT_TRUE(engine_->EndTurn().ok());
  auto changed = Take("c");
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->id, made[1].id);
  EXPECT_EQ(changed->input, "{\"changed\":true}");
  auto after = Take("c");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->id, made[3].id);
}

// A task made in the turn is in the task cache, its parent list (a record of its own) only in
// the turn's gathered batch: the writer reads that list through the batch.
TEST_F(EngineTest, TheWriterReadsTheParentListOfATaskMadeInTheTurn) {
  Id g = Group();
  Task parent = Make(g, "parent", "p");
  {
    DeferSync defer(/*gather=*/true);
    Task child = MakeChild(g, "child", "c", {parent.id});
    TaskPatch patch;
    patch.input = "{\"changed\":true}";
    auto updated = engine_->UpdateTask(child.id, patch);
    ASSERT_TRUE(updated.ok()) << updated.status().ToString();
    EXPECT_EQ(updated->parent_ids, std::vector<Id>{parent.id});
  }
  ASSERT_TRUE(engine_->EndTurn().ok());
}

// Another thread's Txn reads the store (here the key index, for the duplicates its acquire
// locks) after the gathered writes before it.
TEST_F(EngineTest, AnotherThreadsTxnReadsTheGatheredWritesBeforeIt) {
  Id g = Group();
  NewTask a = Spec("a", "k");
  a.key = "same";
  NewTask b = a;
  b.name = "b";
  Task dup;
  {
    DeferSync defer(/*gather=*/true);
    Make(g, a);
    dup = Make(g, b);
    std::thread([&] { ASSERT_TRUE(Take("k", "w1")); }).join();
  }
  ASSERT_TRUE(engine_->EndTurn().ok());
  EXPECT_EQ(Get(dup.id).assigned_to, "w1") << "the duplicate was not locked to the holder";
  EXPECT_FALSE(Take("k", "w2"));
}

TEST_F(EngineTest, AGatheredLeaseIsAnsweredUnsyncedAndPublishedOnceSyncedAfterTheTurn) {
  Id g = Group();
  Make(g, "t", "c");
  recorder_.Clear();
  {
    DeferSync defer(/*gather=*/true);
    ASSERT_TRUE(Take("c"));
    // (but for the turn's end: a lease whose write fails there is refused, never answered)
    EXPECT_EQ(defer.seq(), DeferSync::kGatheredLease) << "a lease waits for no sync";
  }
  auto seq = engine_->EndTurn();
  ASSERT_TRUE(seq.ok());
  EXPECT_TRUE(Eventually([&] {
    return recorder_.Names() == std::vector<std::string>{"task:update"};
  })) << "the acquire's event never went out";
  EXPECT_TRUE(store_->SyncSoon(*seq));
}

TEST_F(EngineTest, SettleWritesWhatAnyThreadGathered) {
  Id g = Group();
  Task a;
  std::thread([&] {
    DeferSync defer(/*gather=*/true);
    a = Make(g, "a", "c");  // (its turn never ends: the engine's close writes it at the latest)
  }).join();
  auto before = store_->Get(storage::Cf::kTasks, storage::IdKey(a.id));
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(before->has_value());
  engine_->Settle();
  auto after = store_->Get(storage::Cf::kTasks, storage::IdKey(a.id));
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->has_value());
}

TEST_F(EngineTest, WritesGatheredByATurnThatNeverEndedSurviveAReopen) {
  Id g = Group();
  Task a;
  std::thread([&] {
    DeferSync defer(/*gather=*/true);
    a = Make(g, "a", "c");
  }).join();
  Reopen();
  EXPECT_EQ(Get(a.id).name, "a");
}

}  // namespace
}  // namespace crew::engine
