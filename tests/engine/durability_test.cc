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

}  // namespace
}  // namespace crew::engine
