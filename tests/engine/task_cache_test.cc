// TaskCache: bounded by bytes, oldest written first out; and the engine reading through it
// sees what RocksDB holds (a task rewritten or deleted is never read stale).
#include "engine/task_cache.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/model.h"
#include "test_engine.h"

namespace crew::engine {
namespace {

Id IdOf(int n) {
  std::string hex = std::to_string(n);
  return *Id::FromHex(std::string(24 - hex.size(), '0') + hex);
}

TEST(TaskCache, KeepsTheLatestBytesAndForgetsDeletedTasks) {
  TaskCache cache(1 << 20);
  const Id a = IdOf(0);
  EXPECT_FALSE(cache.Get(a));
  EXPECT_FALSE(cache.Contains(a));
  cache.Set(a, "one");
  cache.Set(a, "two");
  EXPECT_EQ(cache.Get(a), "two");
  EXPECT_TRUE(cache.Contains(a));
  cache.Set(a, std::nullopt);
  EXPECT_FALSE(cache.Get(a));
  EXPECT_FALSE(cache.Contains(a));
  cache.Set(a, std::string(TaskCache::kMaxRecord + 1, 'x'));
  EXPECT_FALSE(cache.Get(a)) << "too large to keep";
}

TEST(TaskCache, PastItsBudgetTheTasksWrittenLongestAgoGoFirst) {
  std::vector<Id> id;
  for (int i = 0; i < 4; ++i) id.push_back(IdOf(i));
  const std::string record(904, 'r');  // costs 1,000 bytes with its overhead
  TaskCache cache(3'000);
  cache.Set(id[0], record);
  cache.Set(id[1], record);
  cache.Set(id[2], record);
  cache.Set(id[0], record);  // written again: now the newest
  cache.Set(id[3], record);  // over budget: id[1] goes
  EXPECT_TRUE(cache.Get(id[0]));
  EXPECT_FALSE(cache.Get(id[1]));
  EXPECT_TRUE(cache.Get(id[2]));
  EXPECT_TRUE(cache.Get(id[3]));
  EXPECT_EQ(cache.size(), 3u);
  for (int i = 0; i < 10000; ++i) cache.Set(id[2], record);  // (its order stays bounded)
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_TRUE(cache.Get(id[0]));
}

// Every read below goes through the cache the writes filled; a restart reads RocksDB alone.
TEST_F(EngineTest, ReadsThroughTheTaskCacheAgreeWithTheStore) {
  const Id g = Group();
  Task a = Make(g, "a", "c");
  Task b = Make(g, "b", "c");
  Task gone = Make(g, "gone", "c");
  ASSERT_TRUE(Take("c"));
  ASSERT_TRUE(Fail(a.id).ok());
  ASSERT_TRUE(Take("c"));
  ASSERT_TRUE(Done(b.id, "w", "{\"x\":1}").ok());
  ASSERT_TRUE(engine_->DeleteTask(gone.id).ok());
  EXPECT_FALSE(engine_->GetTask(gone.id).ok()) << "a deleted task must not be read from the cache";
  const std::string before_a = EncodeTask(Get(a.id)), before_b = EncodeTask(Get(b.id));
  EXPECT_EQ(Get(b.id).output, "{\"x\":1}");
  Reopen();
  EXPECT_EQ(EncodeTask(Get(a.id)), before_a);
  EXPECT_EQ(EncodeTask(Get(b.id)), before_b);
  EXPECT_FALSE(engine_->GetTask(gone.id).ok());
}

}  // namespace
}  // namespace crew::engine
