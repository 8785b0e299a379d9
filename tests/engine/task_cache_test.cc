// TaskCache: bounded by bytes, oldest written first out; and the engine reading through it
// sees what RocksDB holds (a task rewritten or deleted is never read stale).
#include "engine/task_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
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

std::shared_ptr<const StoredTask> Bytes(std::string bytes) {
  return std::make_shared<const StoredTask>(StoredTask{std::move(bytes), std::nullopt});
}

TEST(TaskCache, KeepsTheLatestAndForgetsDeletedTasks) {
  TaskCache cache(1 << 20);
  const Id a = IdOf(0);
  EXPECT_FALSE(cache.Get(a));
  cache.Set(a, Bytes("one"));
  cache.Set(a, Bytes("two"));
  ASSERT_TRUE(cache.Get(a));
  EXPECT_EQ(cache.Get(a)->bytes, "two");
  cache.Set(a, nullptr);
  EXPECT_FALSE(cache.Get(a));
  cache.Set(a, Bytes(std::string(TaskCache::kMaxRecord + 1, 'x')));
  EXPECT_FALSE(cache.Get(a)) << "too large to keep";
}

TEST(TaskCache, AReaderKeepsTheEntryItGotWhileAWriterReplacesIt) {
  TaskCache cache(1 << 20);
  const Id a = IdOf(0);
  cache.Set(a, Bytes("one"));
  std::shared_ptr<const StoredTask> held = cache.Get(a);
  cache.Set(a, Bytes("two"));
  cache.Set(a, nullptr);
  EXPECT_EQ(held->bytes, "one");
}

TEST(TaskCache, PastItsBudgetTheTasksWrittenLongestAgoGoFirst) {
  std::vector<Id> id;
  for (int i = 0; i < 4; ++i) id.push_back(IdOf(i));
  const auto record = Bytes(std::string(840, 'r'));
  TaskCache cache(3 * TaskCache::CostOf(*record));  // room for three
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

// Each field of a task read through the cache, its parent ids too, is what RocksDB alone gives
// after a restart, after writes of each kind: a create with parents, a lease, an error, a release
// with children, a key's merge, a patch, new parents (one for another too), a reset, a workgroup
// delay, a delete.
TEST_F(EngineTest, TheCachedTaskIsTheOneItsRecordDecodesTo) {
  const Id g = Group();
  std::vector<Id> ids;
  Task a = Make(g, "a", "c");
  Task b = Make(g, "b", "c");
  ids.push_back(a.id);
  ids.push_back(b.id);
  ids.push_back(MakeChild(g, "child", "d", {a.id, b.id}).id);
  NewTask keyed = Spec("keyed", "k");
  keyed.key = "same";
  keyed.workgroup = "wg";
  keyed.input = "{\"long\":\"an input longer than a short string's own room\"}";
  ids.push_back(Make(g, keyed).id);
  ids.push_back(Make(g, keyed).id);  // merged with the first
  ASSERT_TRUE(Take("c"));
  ASSERT_TRUE(Fail(a.id, "w", "\"first error\"").ok());
  ASSERT_TRUE(Take("c", "another worker"));
  ReleaseCommand with_children;
  with_children.worker_id = "another worker";
  with_children.output = "{\"done\":true}";
  with_children.children.push_back({Spec("grandchild", "e"), std::nullopt, std::nullopt});
  auto released = engine_->Release(b.id, with_children);
  ASSERT_TRUE(released.ok()) << released.status().ToString();
  auto listed = engine_->ListGroupTasks(g, 100, 0);
  ASSERT_TRUE(listed.ok());
  for (const Task& t : *listed) {
    if (std::find(ids.begin(), ids.end(), t.id) == ids.end()) ids.push_back(t.id);
  }
  TaskPatch patch;
  patch.name = "renamed";
  patch.priority = 7;
  patch.run_after = std::optional<int64_t>(kStart + 60'000);
  patch.input = "[1,2,3]";
  patch.parent_ids = std::vector<Id>{b.id};
  ASSERT_TRUE(engine_->UpdateTask(ids[2], patch).ok());
  // A new parent in place of the old, both incomplete: the record is the same, the list not.
  const Id p1 = Make(g, "p1", "p1").id, p2 = Make(g, "p2", "p2").id;
  const Id swapped = MakeChild(g, "swapped", "s", {p1}).id;
  ids.push_back(swapped);
  TaskPatch swap;
  swap.parent_ids = std::vector<Id>{p2};
  ASSERT_TRUE(engine_->UpdateTask(swapped, swap).ok());
  ASSERT_TRUE(Take("p2"));
  ASSERT_TRUE(Done(p2).ok());
  auto child = Take("s");  // (read by the writer, through the cache)
  ASSERT_TRUE(child);
  EXPECT_EQ(child->parent_ids, std::vector<Id>{p2});
  ASSERT_TRUE(engine_->ResetTask(a.id, 3).ok());
  auto k = Take("k");
  ASSERT_TRUE(k);
  ReleaseCommand delay;
  delay.worker_id = "w";
  delay.error = "\"rate limited\"";
  delay.workgroup_delay_s = 30;
  ASSERT_TRUE(engine_->Release(k->id, delay).ok());
  Task gone = Make(g, "gone", "c");
  ASSERT_TRUE(Take("c"));
  ASSERT_TRUE(engine_->DeleteTask(gone.id).ok());

  std::vector<Task> cached;
  for (const Id& id : ids) cached.push_back(Get(id));
  Reopen();
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_TRUE(Get(ids[i]) == cached[i]) << cached[i].name << ": the cache and the record differ";
  }
  EXPECT_FALSE(engine_->GetTask(gone.id).ok());
}

}  // namespace
}  // namespace crew::engine
