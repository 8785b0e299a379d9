// Leases and heartbeats (SPEC D2).
#include <rocksdb/perf_context.h>
#include <rocksdb/perf_level.h>

#include "engine/test_engine.h"

namespace crew::engine {
namespace {

TEST_F(EngineTest, ExpiredLeaseFreesTheTaskAndItsDuplicates) {
  Id g = Group();
  NewTask a = Spec("a", "k");
  a.key = "same";
  a.error_delay_s = 0;
  Make(g, a);
  Task dup = Make(Group(), a);
  Task held = *Take("k", "w1");
  Advance(options_.lease_ms);
  EXPECT_EQ(Get(held.id).assigned_to, "w1") << "not yet: strictly after the lease";
  Advance(1);
  Task freed = Get(held.id);
  EXPECT_FALSE(freed.assigned_to);
  EXPECT_EQ(freed.remaining_attempts, 4);
  EXPECT_EQ(freed.errors.back(), "\"Task not completed in 60 seconds.\"");
  EXPECT_FALSE(Get(dup.id).assigned_to);
  EXPECT_EQ(engine_->NextTimer(), INT64_MAX) << "no entry left in the lease index";
  EXPECT_EQ(Done(held.id, "w1").status().code(), Code::kConflict);
  EXPECT_TRUE(Take("k", "w2"));
}

// The lease's seconds as JavaScript prints them: a fractional lease said "1.500000", one of
// 100000 s "1e+05".
TEST_F(EngineTest, AFractionalLeaseIsNamedAsJavaScriptPrintsIt) {
  for (const auto& [lease_ms, seconds] :
       {std::pair<int64_t, const char*>{1500, "1.5"}, {100'000'000, "100000"}, {1005, "1.005"}}) {
    Close();
    options_.lease_ms = lease_ms;
    Open();
    Make(Group(), "a", "c");
    Task held = *Take("c");
    Advance(lease_ms + 1);
    EXPECT_EQ(Get(held.id).errors.back(),
              "\"Task not completed in " + std::string(seconds) + " seconds.\"");
  }
}

// The lease index lives in memory: after a restart, the leases held before it are read back from
// the task records (LoadLeases) and expire on time, a release before that read is fine, and the
// entries an earlier build left in kLeases are dropped.
TEST_F(EngineTest, LeasesHeldBeforeARestartAreReadBack) {
  Id g = Group();
  Make(g, "a", "c");
  Make(g, "b", "c");
  Task a = *Take("c", "w1");
  Advance(1000);
  Task b = *Take("c", "w1");
  rocksdb::WriteBatch old;
  old.Put(store_->handle(storage::Cf::kLeases), storage::TimeKey(kStart, a.id), "");
  uint64_t seq;
  ASSERT_TRUE(store_->Write(&old, &seq).ok());
  Reopen();

  ASSERT_TRUE(Done(a.id, "w1").ok()) << "released before the leases are read back";
  EXPECT_EQ(engine_->NextTimer(), kStart + 1000 + options_.lease_ms + 1) << "b's lease alone";
  bool legacy_left = false;
  ASSERT_TRUE(store_
                  ->Scan(storage::Cf::kLeases, "", false,
                         [&](std::string_view, std::string_view) { return legacy_left = true; })
                  .ok());
  EXPECT_FALSE(legacy_left);
  Advance(options_.lease_ms);
  EXPECT_EQ(Get(b.id).assigned_to, "w1");
  Advance(1);
  EXPECT_FALSE(Get(b.id).assigned_to);
  EXPECT_EQ(Get(b.id).remaining_attempts, 4);
  EXPECT_TRUE(Get(a.id).is_complete);
  EXPECT_EQ(engine_->NextTimer(), INT64_MAX);
}

TEST_F(EngineTest, HeartbeatKeepsTheLease) {
  Id g = Group();
  Make(g, "t", "c");
  Task held = *Take("c", "w1");
  Advance(options_.lease_ms / 2);
  ASSERT_TRUE(engine_->Heartbeat(held.id, "w1").ok());
  EXPECT_EQ(engine_->Heartbeat(held.id, "w2").status().code(), Code::kConflict);
  Advance(options_.lease_ms / 2 + 10);
  EXPECT_EQ(Get(held.id).assigned_to, "w1");
  Advance(options_.lease_ms);
  EXPECT_FALSE(Get(held.id).assigned_to);
  EXPECT_EQ(engine_->Heartbeat(held.id, "w1").status().code(), Code::kConflict);
}

TEST_F(EngineTest, CleanExpiredGroupsDeletesOnlyOldOnes) {
  Id old_group = Group();
  Make(old_group, "t", "c");
  clock_.AdvanceMs(options_.expired_group_age_ms + 1000);
  Id young = Group();
  EXPECT_EQ(engine_->CleanExpiredGroups(10).value(), 1);
  EXPECT_EQ(engine_->GetGroup(old_group).status().code(), Code::kNotFound);
  EXPECT_TRUE(engine_->GetGroup(young).ok());
}

// CREW_USE_EXTERNAL_CRON=yes was ignored: the maintenance thread still deleted expired groups
// hourly. Without its scheduled clean, only CleanExpiredGroups (/api/v1/clean) deletes them.
TEST_F(EngineTest, TheScheduledCleanRunsOnlyWhenNoExternalCronDoes) {
  for (bool scheduled : {true, false}) {
    options_.scheduled_clean = scheduled;
    Reopen();
    Id old_group = Group();
    clock_.AdvanceMs(options_.expired_group_age_ms + 1000);
    Id young = Group();
    // A pass of the maintenance thread is seen by the lease it frees. The clean is due 60 s
    // after the thread started (before the first lease was freed): it runs at the latest in the
    // pass that frees the second lease, so before the third is freed.
    engine_->StartMaintenance();
    for (int pass = 0; pass < 3; ++pass) {
      const std::string channel = "c" + std::to_string(pass);
      Make(young, "t", channel);
      Task held = *Take(channel);
      clock_.AdvanceMs(options_.lease_ms + 1);  // (60 s + 1 ms; the thread looks within 1 s)
      ASSERT_TRUE(Eventually([&] { return !Get(held.id).assigned_to; })) << "pass " << pass;
    }
    engine_->StopMaintenance();
    EXPECT_EQ(engine_->GetGroup(old_group).ok(), !scheduled) << "scheduled " << scheduled;
    // (the first round's young group is old by the second round too)
    EXPECT_EQ(engine_->CleanExpiredGroups(10).value() > 0, !scheduled);  // (/api/v1/clean)
    EXPECT_FALSE(engine_->GetGroup(old_group).ok());
    EXPECT_TRUE(engine_->GetGroup(young).ok());
  }
}

// A workgroup delay that is over is forgotten (for good: a restart does not bring it back);
// one still running is kept, and a task of either workgroup behaves as before.
TEST_F(EngineTest, PastWorkgroupDelaysAreForgotten) {
  Id g = Group();
  auto in = [](const char* name, const char* wg) {
    NewTask t = Spec(name, "c");
    t.workgroup = wg;
    return t;
  };
  Make(g, in("short", "brief"));
  Make(g, in("long", "lasting"));
  auto delay = [&](double seconds) {
    Task held = *Take("c");
    ReleaseCommand cmd;
    cmd.worker_id = "w";
    cmd.workgroup_delay_s = seconds;
    ASSERT_TRUE(engine_->Release(held.id, cmd).ok());
  };
  delay(1);
  delay(100);
  Task later = Make(g, in("later", "lasting"));
  EXPECT_EQ(engine_->ForgetPastWorkgroupDelays(10).value(), 0) << "both delays still run";
  clock_.AdvanceMs(1000);
  EXPECT_EQ(engine_->ForgetPastWorkgroupDelays(10).value(), 0) << "over only strictly after";
  clock_.AdvanceMs(1);
  EXPECT_EQ(engine_->ForgetPastWorkgroupDelays(10).value(), 1);
  EXPECT_EQ(engine_->ForgetPastWorkgroupDelays(10).value(), 0);
  Reopen();
  EXPECT_EQ(engine_->ForgetPastWorkgroupDelays(10).value(), 0) << "not stored any more";
  EXPECT_EQ(Get(later.id).shown_run_after, kStart + 100'000) << "the running delay is kept";
  EXPECT_FALSE(Take("c"));
}

// Groups are listed from the engine's cache (kGroups' memtable is write-only: store.cc), newest
// first; after a crash, the WAL replayed into kGroups' and kMeta's memtables is read back.
TEST_F(EngineTest, GroupsListNewestFirstAndComeBackWithTheirCountersAfterACrash) {
  std::vector<Id> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Group());
  Make(ids[1], "t", "c");
  auto page = engine_->ListGroups(2, 1).value();
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].id, ids[3]);
  EXPECT_EQ(page[1].id, ids[2]);
  EXPECT_EQ(engine_->ListGroups(0, 0).value().size(), 5u);
  ASSERT_TRUE(engine_->DeleteGroup(ids[4]).ok());
  EXPECT_EQ(engine_->ListGroups(1, 0).value().at(0).id, ids[3]);

  // A copy of the data dir taken while the engine runs is what a crash leaves behind.
  const std::string original = dir_, crashed = dir_ + "-crashed";
  std::filesystem::copy(dir_, crashed, std::filesystem::copy_options::recursive);
  Close();
  dir_ = crashed;
  Open();
  auto all = engine_->ListGroups(0, 0).value();
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all.front().id, ids[3]);
  EXPECT_EQ(all.back().id, ids[0]);
  EXPECT_EQ(engine_->GetGroup(ids[1]).value().stats.total, 1);
  auto channels = engine_->ListChannels();
  ASSERT_EQ(channels.size(), 1u);
  EXPECT_EQ(channels[0].name, "c");
  EXPECT_EQ(channels[0].total, 1);
  Close();
  std::filesystem::remove_all(crashed);
  dir_ = original;
  Open();
}

// The deletes left in kDelayed by delays already over are walked once: the queue floor then
// starts past them, and entries added later lower the floor again. (Leases write no index
// entries: the lease index is in memory.)
TEST_F(EngineTest, MaintenanceWalksTheQueuesTombstonesOnce) {
  Id g = Group();
  for (int i = 0; i < 200; ++i) {
    NewTask t = Spec("t", "c");
    t.run_after = clock_.NowMs() + 10;
    Make(g, t);
  }
  Advance(11);  // promoted: 200 deletes in kDelayed
  for (int i = 0; i < 200; ++i) {
    std::optional<Task> t = Take("c");
    ASSERT_TRUE(t);
    ASSERT_TRUE(Done(t->id).ok());  // 200 leases begun and ended
  }
  Advance(1);  // the pass that walks them

  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  rocksdb::get_perf_context()->Reset();
  EXPECT_EQ(engine_->NextTimer(), INT64_MAX);
  ASSERT_TRUE(engine_->PromoteDue(100).ok());
  ASSERT_TRUE(engine_->ExpireLeases(100).ok());
  const uint64_t skipped = rocksdb::get_perf_context()->internal_delete_skipped_count;
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  EXPECT_EQ(skipped, 0u);

  // A delay made after the floor went past every key is still found, and so is a lease.
  NewTask later = Spec("later", "c");
  later.run_after = clock_.NowMs() + 1000;
  Task delayed = Make(g, later);
  EXPECT_EQ(engine_->NextTimer(), clock_.NowMs() + 1001);
  EXPECT_FALSE(Take("c"));
  Advance(1000);
  EXPECT_FALSE(Take("c")) << "due after its time, not at it";
  Advance(1);
  Task held = *Take("c", "w1");
  EXPECT_EQ(held.id, delayed.id);
  EXPECT_EQ(engine_->NextTimer(), clock_.NowMs() + options_.lease_ms + 1);
  Advance(options_.lease_ms);
  EXPECT_TRUE(Get(held.id).assigned_to) << "due after its time, not at it";
  Advance(1);
  EXPECT_FALSE(Get(held.id).assigned_to) << "its lease expired";
  EXPECT_EQ(Get(held.id).remaining_attempts, 4);
}

}  // namespace
}  // namespace crew::engine
