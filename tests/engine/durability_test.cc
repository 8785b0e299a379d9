// When answers wait for the WAL sync (full durability): every write but a lease waits; a lease
// (acquire, heartbeat) is synced by the next sync, and its events go out once it is.
#include <chrono>
#include <thread>

#include "engine/test_engine.h"

namespace crew::engine {
namespace {

// Polls `done` for up to 2 s (the background sync runs within Store::kLazySyncDelay).
template <typename Fn>
bool Eventually(Fn done) {
  for (int i = 0; i < 400; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

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

}  // namespace
}  // namespace crew::engine
