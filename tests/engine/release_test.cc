// Release (reference §4.3, SPEC D1, D3, D4, D5, D6, N8).
#include <cmath>
#include <limits>

#include "engine/test_engine.h"

namespace crew::engine {
namespace {

ChildSpec Child(const std::string& id, const std::string& channel,
                std::optional<std::vector<std::string>> parents = std::nullopt) {
  ChildSpec c;
  c.task = EngineTest::Spec(id, channel);
  c.child_id = "\"" + id + "\"";
  if (parents) {
    c.parent_refs.emplace();
    for (auto& p : *parents) c.parent_refs->push_back("\"" + p + "\"");
  }
  return c;
}

TEST_F(EngineTest, ReleaseCompletesWithOutput) {
  Id g = Group();
  Make(g, "t", "c");
  Task held = *Take("c");
  Task done = Done(held.id, "w", R"({"ok":1})").value();
  EXPECT_TRUE(done.is_complete);
  EXPECT_EQ(done.output, R"({"ok":1})");
  EXPECT_EQ(done.remaining_attempts, 0);
  EXPECT_FALSE(done.assigned_to);
}

TEST_F(EngineTest, ReleaseByAnotherWorkerIsConflictAndChangesNothing) {
  Id g = Group();
  Make(g, "t", "c");
  Task held = *Take("c", "w1");
  EXPECT_EQ(Done(held.id, "w2").status().code(), Code::kConflict);
  EXPECT_EQ(Get(held.id).assigned_to, "w1");
  EXPECT_FALSE(Get(held.id).is_complete);
  Task idle = Make(g, "idle", "other");
  EXPECT_EQ(Done(idle.id, "w1").status().code(), Code::kConflict) << "never acquired";
}

TEST_F(EngineTest, LateReleaseOfCompleteTaskAnswersItUnchanged) {
  Id g = Group();
  Make(g, "t", "c");
  Task held = *Take("c");
  Task done = Done(held.id, "w", "1").value();
  Task again = Done(held.id, "someone else", "2").value();
  EXPECT_EQ(again.output, "1");
  EXPECT_EQ(EncodeTask(again), EncodeTask(done));
}

// A task loaded and left as it was is not written again: its record, read back (from the store
// after a restart, or from the task cache), is compared with its encoding, which is canonical.
TEST_F(EngineTest, ALateReleaseWritesNothing) {
  Id g = Group();
  Make(g, "t", "c");
  Task held = *Take("c");
  ASSERT_TRUE(Done(held.id, "w", "{\"a\":[1,2.5,\"\u00e9\"]}").ok());
  for (bool restart : {true, false}) {
    if (restart) Reopen();
    const uint64_t before = store_->Stats().wal_writes;
    ASSERT_TRUE(Done(held.id, "someone else", "2").ok());
    EXPECT_EQ(store_->Stats().wal_writes, before) << (restart ? "from the store" : "cached");
  }
}

// Reference §4.3.1: an errorDelayInSeconds of null (NaN here, json_in) delays nothing.
TEST_F(EngineTest, AnErrorDelayOfNullRetriesAtOnce) {
  Id g = Group();
  NewTask t = Spec("flaky", "c");
  t.error_delay_s = std::numeric_limits<double>::quiet_NaN();
  Make(g, t);
  Task held = *Take("c");
  Task failed = Fail(held.id, "w", "\"boom\"").value();
  EXPECT_EQ(failed.remaining_attempts, 4);
  EXPECT_FALSE(failed.run_after);
  EXPECT_TRUE(std::isnan(failed.error_delay_s));
  EXPECT_EQ(Take("c")->id, held.id);
}

TEST_F(EngineTest, ErrorUsesAnAttemptRecordsTheErrorAndDelays) {
  Id g = Group();
  NewTask t = Spec("flaky", "c");
  t.error_delay_s = 2;
  t.remaining_attempts = 3;
  Make(g, t);
  Task held = *Take("c");
  Task failed = Fail(held.id, "w", "\"boom\"").value();
  EXPECT_EQ(failed.remaining_attempts, 2);
  EXPECT_EQ(failed.errors, (std::vector<std::string>{"\"boom\""}));
  EXPECT_EQ(failed.run_after, kStart + 2000);
  EXPECT_FALSE(Take("c"));
  Advance(2001);
  EXPECT_EQ(Take("c")->id, held.id);
}

// A release with children (D6): a task of a new group held by worker "w", and its release.
class ChildrenTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    group_ = Group();
    Make(group_, "parent", "p");
    parent_ = *Take("p");
    cmd_.worker_id = "w";
  }
  // The group's tasks by name, once released.
  std::map<std::string, Task> ByName() {
    std::map<std::string, Task> by_name;
    auto tasks = engine_->ListGroupTasks(group_, -1, 0).value();
    for (auto& t : tasks) by_name[t.name] = t;
    return by_name;
  }

  Id group_;
  Task parent_;
  ReleaseCommand cmd_;
};

TEST_F(ChildrenTest, ChildrenInAnyOrderFormTheDag) {
  cmd_.children = {Child("d", "c", {{"b", "c"}}), Child("c", "c", {{"a"}}),
                   Child("b", "c", {{"a"}}), Child("a", "c")};
  ASSERT_TRUE(engine_->Release(parent_.id, cmd_).ok());
  auto by_name = ByName();
  ASSERT_EQ(by_name.size(), 5u);
  EXPECT_EQ(by_name["a"].parent_ids, std::vector<Id>{parent_.id});
  EXPECT_EQ(by_name["d"].parent_ids, (std::vector<Id>{by_name["b"].id, by_name["c"].id}));
  EXPECT_TRUE(by_name["a"].parents_complete);
  EXPECT_FALSE(by_name["d"].parents_complete);
  std::vector<std::string> order;
  while (auto t = Take("c")) {
    order.push_back(t->name);
    ASSERT_TRUE(Done(t->id).ok());
  }
  EXPECT_EQ(order.front(), "a");
  EXPECT_EQ(order.back(), "d");
}

TEST_F(ChildrenTest, ChildrenWithUnknownReferenceOrCycleChangeNothing) {
  for (auto children :
       {std::vector<ChildSpec>{Child("a", "c"), Child("b", "c", {{"zz"}})},
        std::vector<ChildSpec>{Child("a", "c", {{"b"}}), Child("b", "c", {{"a"}})}}) {
    cmd_.children = children;
    EXPECT_EQ(engine_->Release(parent_.id, cmd_).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(engine_->ListGroupTasks(group_, -1, 0).value().size(), 1u);
    EXPECT_EQ(Get(parent_.id).assigned_to, "w");
  }
}

// Siblings that carry one `_child_id` are all made; a reference to it names the first (the
// reference finds the first sibling made with it). It was refused with 400, and a worker that
// stamps one `_child_id` on every child could never complete its task.
TEST_F(ChildrenTest, ASharedChildIdNamesTheFirstSiblingThatCarriesIt) {
  cmd_.children = {Child("a", "c"), Child("a", "c"), Child("b", "c", {{"a"}})};
  cmd_.children[1].task.name = "a2";
  ASSERT_TRUE(engine_->Release(parent_.id, cmd_).ok());
  auto by_name = ByName();
  ASSERT_EQ(by_name.size(), 4u);
  EXPECT_EQ(by_name["a2"].parent_ids, std::vector<Id>{parent_.id});
  EXPECT_EQ(by_name["b"].parent_ids, std::vector<Id>{by_name["a"].id});
}

// An error names the child by its place in the request, where children with an `_id` (not
// made, reference §4.3.2) count too.
TEST_F(ChildrenTest, AnUnknownReferenceNamesTheChildByItsPlaceInTheRequest) {
  cmd_.children = {Child("a", "c"), Child("b", "c", {{"zz"}})};
  cmd_.children[1].index = 2;
  EXPECT_EQ(engine_->Release(parent_.id, cmd_).status().message(),
            "children[2]: _parent_ids names \"zz\", which is no sibling's _child_id");
}

TEST_F(ChildrenTest, ChildrenDelayAppliesToEveryDirectChild) {
  cmd_.children = {Child("a", "c"), Child("b", "c", {{"a"}})};
  cmd_.children_delay_s = 3;
  ASSERT_TRUE(engine_->Release(parent_.id, cmd_).ok());
  EXPECT_FALSE(Take("c"));
  Advance(3001);
  EXPECT_EQ(Take("c")->name, "a");
}

TEST_F(EngineTest, WorkgroupDelaySpansChannelsGroupsAndLaterTasks) {
  Id g1 = Group(), g2 = Group();
  auto in = [](const char* name, const char* channel, const char* wg) {
    NewTask t = Spec(name, channel);
    t.workgroup = wg;
    return t;
  };
  Make(g1, in("released", "c1", "wg"));
  Task other_channel = Make(g1, in("b", "c2", "wg"));
  Make(g2, in("c", "c3", "wg"));
  Make(g2, in("free", "c2", "other"));
  Task held = *Take("c1");
  ReleaseCommand cmd;
  cmd.worker_id = "w";
  cmd.workgroup_delay_s = 2;
  ASSERT_TRUE(engine_->Release(held.id, cmd).ok());
  EXPECT_EQ(Get(other_channel.id).shown_run_after, kStart + 2000);
  Make(g2, in("later", "c3", "wg"));
  EXPECT_EQ(Take("c2")->name, "free");
  EXPECT_FALSE(Take("c2"));
  EXPECT_FALSE(Take("c3"));
  Advance(2001);
  EXPECT_EQ(Take("c2")->name, "b");
  EXPECT_EQ(Take("c3")->name, "c");
  EXPECT_EQ(Take("c3")->name, "later");
}

// Reference §4.3.3: on the error path the workgroup's delay replaces the task's own error delay.
TEST_F(EngineTest, AnErrorThatDelaysItsWorkgroupWaitsForTheWorkgroupsDelay) {
  Id g = Group();
  NewTask t = Spec("limited", "c");
  t.workgroup = "wg";
  t.error_delay_s = 1000;
  Make(g, t);
  Task held = *Take("c");
  ASSERT_TRUE(Fail(held.id, "w", "\"rate limited\"", 5).ok());
  EXPECT_EQ(Get(held.id).run_after, kStart + 5000);
  EXPECT_FALSE(Take("c"));
  Advance(5001);
  EXPECT_EQ(Take("c")->id, held.id);
}

// Reference §4.3.3 sets every member's runAfter to now + the delay: the last delay wins, a
// shorter one too (it was kept at the longer, while its event announced the shorter).
TEST_F(EngineTest, ALaterShorterWorkgroupDelayReplacesTheLongerOne) {
  Id g = Group();
  for (const char* name : {"a", "b", "c"}) {
    NewTask t = Spec(name, "c");
    t.workgroup = "wg";
    Make(g, t);
  }
  Task a = *Take("c"), b = *Take("c");
  ASSERT_TRUE(Fail(a.id, "w", "\"429\"", 100).ok());
  ReleaseCommand done;
  done.worker_id = "w";
  done.output = "1";
  done.workgroup_delay_s = 1;
  ASSERT_TRUE(engine_->Release(b.id, done).ok());
  EXPECT_FALSE(Take("c"));
  Advance(1001);
  EXPECT_EQ(Take("c")->name, "c");
}

// Reference §4.3.1 and §4.3.3: the error's delay goes to every duplicate; the workgroup's
// replaces it only for those of the workgroup.
TEST_F(EngineTest, AnErrorThatDelaysItsWorkgroupGivesOtherDuplicatesTheErrorDelay) {
  for (const int64_t error_delay_s : {30, 0}) {
    SCOPED_TRACE(error_delay_s);
    const std::string key = "k" + std::to_string(error_delay_s);
    NewTask a = Spec("a", "c");
    a.key = key;
    a.workgroup = "wg";
    a.error_delay_s = static_cast<double>(error_delay_s);
    Task limited = Make(Group(), a);
    NewTask b = Spec("b", "c");
    b.key = key;
    b.error_delay_s = 1000;  // (the released task's own delay is the one applied)
    Task dup = Make(Group(), b);
    NewTask m = a;
    m.name = "member";
    m.key = "another";
    Task member = Make(Group(), m);
    ASSERT_EQ(Take("c", "w1")->id, limited.id);
    const int64_t now = clock_.NowMs();
    ASSERT_TRUE(Fail(limited.id, "w1", "\"rate limited\"", 5).ok());
    EXPECT_EQ(Get(limited.id).run_after, now + 5000);
    if (error_delay_s > 0) {
      EXPECT_EQ(Get(dup.id).run_after, now + error_delay_s * 1000);
      EXPECT_FALSE(Take("c", "w2"));
    } else {
      EXPECT_FALSE(Get(dup.id).run_after);
      EXPECT_EQ(Take("c", "w2")->id, dup.id) << "no error delay: ready at once";
      ASSERT_TRUE(Done(dup.id, "w2").ok());
    }
    EXPECT_FALSE(Take("c", "w2")) << "the workgroup waits: " << member.name;
    Advance(60'000);
    while (Take("c", "w9")) {
    }
  }
}

// The held keyed tasks kKeys' index lists (Txn::FindKeyHolder).
std::vector<Id> HeldIndex(storage::Store& store) {
  std::vector<Id> held;
  EXPECT_TRUE(store
                  .Scan(storage::Cf::kKeys, storage::kHeldPrefix, false,
                        [&](std::string_view k, std::string_view) {
                          held.push_back(storage::TrailingId(k));
                          return true;
                        })
                  .ok());
  return held;
}

// A task of channel "k" with key "same": each one a duplicate of the others.
NewTask Duplicate(const std::string& name) {
  NewTask t = EngineTest::Spec(name, "k");
  t.key = "same";
  return t;
}

// Writes to the store as a version without the index would: kKeys' held entries of these tasks
// deleted, and (add_fake) one for a task that does not exist.
void LoseHeldEntries(storage::Store& store, const std::vector<Id>& ids, bool add_fake) {
  rocksdb::WriteBatch b;
  for (const Id& id : ids) {
    b.Delete(store.handle(storage::Cf::kKeys), storage::HeldEntry("k", "same", id));
  }
  if (add_fake) {
    b.Put(store.handle(storage::Cf::kKeys), storage::HeldEntry("k", "same", Id()),
          rocksdb::Slice());
  }
  uint64_t seq;
  ASSERT_TRUE(store.Write(&b, &seq).ok());
}

TEST_F(EngineTest, TheHeldKeyIndexFollowsLeases) {
  Id g = Group();
  Task ta = Make(g, Duplicate("a")), tb = Make(g, Duplicate("b"));
  EXPECT_TRUE(HeldIndex(*store_).empty());
  Task held = *Take("k", "w1");
  EXPECT_EQ(HeldIndex(*store_), (std::vector<Id>{ta.id, tb.id}));
  ASSERT_TRUE(Fail(held.id, "w1").ok());
  EXPECT_TRUE(HeldIndex(*store_).empty()) << "an error frees every duplicate";
  Advance(60'000);
  held = *Take("k", "w2");
  EXPECT_EQ(Make(g, Duplicate("c")).assigned_to, "w2") << "D5: one made late is locked at once";
  EXPECT_EQ(HeldIndex(*store_).size(), 3u);
  ASSERT_TRUE(Done(held.id, "w2").ok());
  EXPECT_TRUE(HeldIndex(*store_).empty());
}

TEST_F(EngineTest, TheHeldKeyIndexIsBuiltForAStoreWrittenBeforeIt) {
  Id g = Group();
  Task ta = Make(g, Duplicate("a")), tb = Make(g, Duplicate("b"));
  ASSERT_TRUE(Take("k", "w1"));
  LoseHeldEntries(*store_, {ta.id, tb.id}, false);  // (and no clean shutdown's mark)
  ASSERT_TRUE(HeldIndex(*store_).empty());
  Reopen();
  EXPECT_EQ(HeldIndex(*store_), (std::vector<Id>{ta.id, tb.id}));
  EXPECT_EQ(Make(g, Duplicate("c")).assigned_to, "w1");
}

TEST_F(EngineTest, TheKeysFirstTaskIsAskedWhenTheHeldIndexMissesItsHolders) {
  Id g = Group();
  Task ta = Make(g, Duplicate("a")), tb = Make(g, Duplicate("b"));
  ASSERT_TRUE(Take("k", "w1"));
  LoseHeldEntries(*store_, {ta.id, tb.id}, false);
  // The first task of the key is the one reset: the next one answers for the key.
  EXPECT_EQ(engine_->ResetTask(ta.id, 5)->assigned_to, "w1");
  EXPECT_FALSE(Take("k", "w2")) << "D5: b is w1's, and a with it";
}

TEST_F(EngineTest, TheHeldIndexIsTakenAsItIsOnlyAfterACleanShutdown) {
  Id g = Group();
  Task ta = Make(g, Duplicate("a")), tb = Make(g, Duplicate("b"));
  ASSERT_TRUE(Take("k", "w1"));
  LoseHeldEntries(*store_, {}, true);
  ASSERT_TRUE(engine_->SaveCounters().ok());
  Reopen();
  EXPECT_EQ(HeldIndex(*store_).size(), 3u) << "a clean shutdown's index is not read again";
  // A write after the mark (a crash since, or another version's run) has it built anew.
  LoseHeldEntries(*store_, {tb.id}, true);
  Reopen();
  EXPECT_EQ(HeldIndex(*store_), (std::vector<Id>{ta.id, tb.id}));
}

TEST_F(EngineTest, KeyedAcquireLocksDuplicatesAndSuccessMergesThem) {  // reference §4.5, D4
  Id g1 = Group(), g2 = Group();
  NewTask a = Spec("a", "k");
  a.key = "same";
  NewTask b = a;
  b.name = "b";
  Make(g1, a);
  Task dup = Make(g2, b);
  Task child = MakeChild(g2, "child of b", "cc", {dup.id});
  Task held = *Take("k", "w1");
  EXPECT_EQ(Get(dup.id).assigned_to, "w1");
  EXPECT_FALSE(Take("k", "w2"));
  ASSERT_TRUE(Done(held.id, "w1", R"({"shared":42})").ok());
  Task merged = Get(dup.id);
  EXPECT_TRUE(merged.is_complete);
  EXPECT_EQ(merged.output, R"({"shared":42})");
  EXPECT_TRUE(Get(child.id).parents_complete) << "D4";
  EXPECT_EQ(Take("cc")->id, child.id);
}

TEST_F(EngineTest, KeyedErrorCostsEachDuplicateExactlyOneAttempt) {  // D3
  Id g1 = Group(), g2 = Group();
  NewTask a = Spec("a", "k");
  a.key = "same";
  a.error_delay_s = 0;
  a.remaining_attempts = 3;
  Make(g1, a);
  Task dup = Make(g2, a);
  Task held = *Take("k");
  Task failed = Fail(held.id).value();
  EXPECT_EQ(failed.remaining_attempts, 2);
  EXPECT_EQ(failed.errors.size(), 1u);
  EXPECT_EQ(Get(dup.id).remaining_attempts, 2);
  EXPECT_EQ(Get(dup.id).errors.size(), 1u);
  EXPECT_FALSE(Get(dup.id).assigned_to);
}

// crew-ui pushes a task:release:key's error onto every duplicate it shows; a duplicate's own
// task:update (its errors as stored) must come after it, or the UI shows the error twice.
TEST_F(EngineTest, AKeyedErrorsDuplicateUpdatesFollowTheKeysEvent) {
  NewTask a = Spec("a", "k");
  a.key = "same";
  Id g = Group();
  Make(g, a);
  Make(g, a);
  Task held = *Take("k");
  ASSERT_TRUE(Fail(held.id).ok());  // (its sync publishes the acquire's events first)
  std::vector<std::string> names = recorder_.Names();
  ASSERT_GE(names.size(), 3u);
  names.erase(names.begin(), names.end() - 3);
  EXPECT_EQ(names, (std::vector<std::string>{"task:release:key", "task:update", "task:update"}));
}

TEST_F(EngineTest, LateDuplicateIsLockedToTheHolder) {  // D5
  Id g = Group();
  NewTask a = Spec("a", "k");
  a.key = "same";
  Make(g, a);
  Task held = *Take("k", "w1");
  Task late = Make(Group(), a);
  EXPECT_EQ(late.assigned_to, "w1");
  EXPECT_FALSE(Take("k", "w2"));
  ASSERT_TRUE(Done(held.id, "w1", "7").ok());
  EXPECT_TRUE(Get(late.id).is_complete);
  EXPECT_EQ(Get(late.id).output, "7");
}

// D5 through a PUT: a task whose channel or key change makes it a duplicate of a held task is
// locked to the holder, so no second worker takes it and the holder's lock with it.
TEST_F(EngineTest, ATaskEditedIntoADuplicateIsLockedToTheHolder) {
  Id g = Group();
  NewTask a = Spec("a", "k");
  a.key = "same";
  Make(g, a);
  Task held = *Take("k", "w1");
  NewTask elsewhere = Spec("b", "k-other");
  elsewhere.key = "same";
  Task moved = Make(g, elsewhere);
  NewTask rekeyed_spec = Spec("c", "k");
  rekeyed_spec.key = "different";
  Task rekeyed = Make(g, rekeyed_spec);
  TaskPatch to_channel;
  to_channel.channel = "k";
  EXPECT_EQ(engine_->UpdateTask(moved.id, to_channel).value().assigned_to, "w1");
  TaskPatch to_key;
  to_key.key = std::optional<std::string>("same");
  EXPECT_EQ(engine_->UpdateTask(rekeyed.id, to_key).value().assigned_to, "w1");
  EXPECT_FALSE(Take("k", "w2"));
  ASSERT_TRUE(Done(held.id, "w1", "7").ok());
  EXPECT_EQ(Get(moved.id).output, "7");
  EXPECT_EQ(Get(rekeyed.id).output, "7");
}

// D5: a held task and the duplicates locked with it are one lock. Moving one of them to another
// key or channel while held gave a key two holders (a second worker then took the first one's
// task) or left a task locked to a worker that never held it; it is refused, and a PUT that
// sends the same channel and key is not.
TEST_F(EngineTest, AHeldTaskKeepsItsChannelAndKey) {
  Id g = Group();
  NewTask a = Spec("a", "k");
  a.key = "k1";
  Task first = Make(g, a);
  NewTask b = Spec("b", "k");
  b.key = "k2";
  Task second = Make(g, b);
  Task dup = Make(g, a);
  ASSERT_EQ(Take("k", "w1")->id, first.id);
  for (const Id& id : {first.id, dup.id}) {
    TaskPatch to_key;
    to_key.key = std::optional<std::string>("k2");
    EXPECT_EQ(engine_->UpdateTask(id, to_key).status().code(), Code::kConflict);
    TaskPatch unkeyed;
    unkeyed.key = std::optional<std::string>();
    EXPECT_EQ(engine_->UpdateTask(id, unkeyed).status().code(), Code::kConflict);
    TaskPatch to_channel;
    to_channel.channel = "elsewhere";
    EXPECT_EQ(engine_->UpdateTask(id, to_channel).status().code(), Code::kConflict);
    TaskPatch same;
    same.channel = "k";
    same.key = std::optional<std::string>("k1");
    same.name = "renamed";
    EXPECT_EQ(engine_->UpdateTask(id, same).value().assigned_to, "w1");
  }
  EXPECT_EQ(Take("k", "w2")->id, second.id);
  EXPECT_EQ(Get(first.id).assigned_to, "w1");
  ASSERT_TRUE(Done(first.id, "w1", "1").ok());
  EXPECT_EQ(Get(dup.id).output, "1");
  TaskPatch after;  // complete: no lock to keep
  after.key = std::optional<std::string>("k2");
  EXPECT_TRUE(engine_->UpdateTask(dup.id, after).ok());
}

// D5 through a reset: a reset task that is a duplicate of a held one comes back locked to the
// holder, so no second worker takes it and the holder's lock with it (the holder's release was
// then refused). Whether it was the locked duplicate itself or complete before.
TEST_F(EngineTest, AResetDuplicateIsLockedToTheHolder) {
  NewTask a = Spec("a", "k");
  a.key = "same";
  Make(Group(), a);
  Task held = *Take("k", "w1");
  Task dup = Make(Group(), a);
  ASSERT_EQ(dup.assigned_to, "w1");
  ASSERT_TRUE(engine_->ResetTask(dup.id, 2).ok());
  EXPECT_EQ(Get(held.id).assigned_to, "w1");
  EXPECT_EQ(Get(dup.id).assigned_to, "w1");
  EXPECT_EQ(Get(dup.id).remaining_attempts, 2);
  EXPECT_FALSE(Take("k", "w2"));
  ASSERT_TRUE(Done(held.id, "w1", "7").ok());
  EXPECT_TRUE(Get(held.id).is_complete);
  EXPECT_EQ(Get(dup.id).output, "7");

  // A complete task reset while a later duplicate of it is held.
  Task again = Make(Group(), a);
  ASSERT_EQ(Take("k", "w3")->id, again.id);
  ASSERT_TRUE(engine_->ResetTask(held.id, 1).ok());
  EXPECT_EQ(Get(held.id).assigned_to, "w3");
  EXPECT_FALSE(Take("k", "w4"));
  ASSERT_TRUE(Done(again.id, "w3", "8").ok());
  EXPECT_EQ(Get(held.id).output, "8");
}

// D5 through a group reset: its tasks that are duplicates of a task another group holds come
// back locked to the holder; those it held itself are freed with the rest of the group.
TEST_F(EngineTest, AGroupResetLocksItsDuplicatesToAHolderElsewhere) {
  NewTask a = Spec("a", "k");
  a.key = "same";
  Id g1 = Group(), g2 = Group();
  Task held = Make(g1, a);
  ASSERT_EQ(Take("k", "w1")->id, held.id);
  Task dup = Make(g2, a);
  ASSERT_EQ(dup.assigned_to, "w1");
  ASSERT_TRUE(engine_->ResetGroup(g2, 3).ok());
  EXPECT_EQ(Get(dup.id).assigned_to, "w1");
  EXPECT_FALSE(Take("k", "w2"));
  ASSERT_TRUE(Done(held.id, "w1", "9").ok());
  EXPECT_EQ(Get(dup.id).output, "9");

  Id g3 = Group();
  Task alone = Make(g3, Spec("b", "k"));
  NewTask other = Spec("c", "k");
  other.key = "other";
  Task keyed = Make(g3, other);
  ASSERT_TRUE(Take("k", "w5"));
  ASSERT_TRUE(Take("k", "w5"));
  ASSERT_TRUE(engine_->ResetGroup(g3, 3).ok());
  EXPECT_FALSE(Get(alone.id).assigned_to);
  EXPECT_FALSE(Get(keyed.id).assigned_to) << "no holder elsewhere";
}

TEST_F(EngineTest, BatchReleaseCommitsTheGoodItemsOnly) {  // N8
  Id g = Group();
  Make(g, "a", "c");
  Make(g, "b", "c");
  Task a = *Take("c", "w"), b = *Take("c", "w");
  ReleaseCommand ok, wrong;
  ok.worker_id = "w";
  wrong.worker_id = "x";
  auto batch = engine_->ReleaseBatch({{a.id, ok}, {b.id, wrong}, {Id(), ok}});
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  auto& results = *batch;
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].ok());
  EXPECT_EQ(results[1].status().code(), Code::kConflict);
  EXPECT_EQ(results[2].status().code(), Code::kNotFound);
  EXPECT_TRUE(Get(a.id).is_complete);
  EXPECT_FALSE(Get(b.id).is_complete);
}

}  // namespace
}  // namespace crew::engine
