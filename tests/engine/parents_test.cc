// Parent lists (model.h): kept in their own record, so a fan-in task is not rewritten with all
// its parents each time one of them completes; version-1 records (ids inline) still read, and
// move their list out at their next write.
#include <filesystem>

#include "engine/test_engine.h"

namespace crew::engine {
namespace {

namespace fs = std::filesystem;

uint64_t WalBytes(const std::string& dir) {
  uint64_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".log") n += e.file_size();
  }
  return n;
}

TEST_F(EngineTest, CompletingOneOfManyParentsDoesNotRewriteTheParentList) {
  Id g = Group();
  std::vector<Id> parents;
  for (int i = 0; i < 1000; ++i) parents.push_back(Make(g, "p", "c").id);
  Task f = MakeChild(g, "fan-in", "f", parents);
  auto p = Take("c");
  ASSERT_TRUE(p);
  const uint64_t before = WalBytes(dir_);
  ASSERT_TRUE(Done(p->id).ok());
  // The list is 12,000 bytes; the release writes the parent, the fan-in's record and indexes.
  EXPECT_LT(WalBytes(dir_) - before, 3000u);
  Task now = Get(f.id);
  EXPECT_EQ(now.parent_ids, parents);
  EXPECT_EQ(now.pending_parents, 999u);
}

TEST_F(EngineTest, AVersion1RecordReadsAndMovesItsParentsOutOnItsNextWrite) {
  Id g = Group();
  Task a = Make(g, "a", "c");
  Task b = Make(g, "b", "c");
  Task child = MakeChild(g, "child", "d", {a.id, b.id});
  // Rewrite the child as an earlier version stored it: ids inline, no parent record.
  Task stored = engine_->GetTask(child.id).value();
  rocksdb::WriteBatch batch;
  batch.Put(store_->handle(storage::Cf::kTasks), storage::IdKey(child.id), EncodeTask(stored, 1));
  batch.Delete(store_->handle(storage::Cf::kParents), storage::IdKey(child.id));
  uint64_t seq = 0;
  ASSERT_TRUE(store_->Write(&batch, &seq).ok());
  Reopen();  // (such a record is there at start-up: the engine has not read or written it since)
  EXPECT_EQ(Get(child.id).parent_ids, (std::vector<Id>{a.id, b.id}));

  auto taken = Take("c");
  ASSERT_TRUE(taken);
  ASSERT_TRUE(Done(taken->id).ok());  // the child loses a pending parent: written again
  Reopen();
  auto raw = store_->Get(storage::Cf::kTasks, storage::IdKey(child.id)).value();
  ASSERT_TRUE(raw && !raw->empty());
  EXPECT_EQ(static_cast<uint8_t>((*raw)[0]), kTaskVersion);
  EXPECT_TRUE(store_->Get(storage::Cf::kParents, storage::IdKey(child.id)).value().has_value());
  Task now = Get(child.id);
  EXPECT_EQ(now.parent_ids, (std::vector<Id>{a.id, b.id}));
  EXPECT_EQ(now.pending_parents, 1u);
}

// The children column family's bloom filters hold 12-byte parent prefixes (storage/store.cc):
// a release finds its children whether their edges sit in table files or in the memtable, and
// a task without children finds none.
TEST_F(EngineTest, ChildrenAreFoundInTableFilesAndInTheMemtable) {
  Id g = Group();
  std::vector<Id> children;
  for (int i = 0; i < 40; ++i) {
    Task p = Make(g, "p", "parents");
    children.push_back(MakeChild(g, "c", "children", {p.id}).id);
    Make(g, "lone", "parents");  // no children
    if (i == 19) Reopen();       // the first half's edges go to a table file
  }
  for (int i = 0; i < 80; ++i) {
    auto p = Take("parents");
    ASSERT_TRUE(p);
    ASSERT_TRUE(Done(p->id).ok());
  }
  EXPECT_FALSE(Take("parents"));
  for (const Id& c : children) EXPECT_EQ(Get(c).pending_parents, 0u);
  int ready = 0;
  while (Take("children")) ++ready;
  EXPECT_EQ(ready, 40);
}

TEST_F(EngineTest, DeletingATaskDeletesItsParentList) {
  Id g = Group();
  Task a = Make(g, "a", "c");
  Task child = MakeChild(g, "child", "d", {a.id});
  ASSERT_TRUE(store_->Get(storage::Cf::kParents, storage::IdKey(child.id)).value().has_value());
  ASSERT_TRUE(engine_->DeleteTask(child.id).ok());
  EXPECT_FALSE(store_->Get(storage::Cf::kParents, storage::IdKey(child.id)).value().has_value());
}

// A release looks up the task's children only once kChildren may hold an edge (a flat queue
// skips the scan); edges stored before a restart count, though the engine made none since.
TEST_F(EngineTest, ChildrenStoredBeforeARestartAreFoundAfterIt) {
  Id g = Group();
  Task parent = Make(g, "p", "c");
  Task child = MakeChild(g, "child", "d", {parent.id});
  Reopen();
  Task flat = Make(g, "flat", "c");
  std::optional<Task> p = Take("c");
  ASSERT_TRUE(p);
  ASSERT_EQ(p->id, parent.id);
  EXPECT_FALSE(Take("d")) << "its parent is not complete";
  ASSERT_TRUE(Done(p->id).ok());
  std::optional<Task> c = Take("d");
  ASSERT_TRUE(c) << "the child became acquirable";
  EXPECT_EQ(c->id, child.id);
  std::optional<Task> f = Take("c");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->id, flat.id);
  ASSERT_TRUE(Done(f->id).ok());
}

}  // namespace
}  // namespace crew::engine
