// Table files stay small (store.cc, kTargetFileBytes): task ids grow with time, and a compaction
// of updates to the oldest tasks (a drain) must rewrite only the table files that hold them, not
// every task the column family stores.
#include <gtest/gtest.h>

#include <rocksdb/db.h>
#include <rocksdb/metadata.h>
#include <rocksdb/write_batch.h>

#include <cstdint>
#include <random>
#include <set>
#include <string>

#include "storage/keys.h"
#include "storage/store.h"
#include "temp_dir.h"
#include "test_ids.h"
#include "util/id.h"

namespace crew::storage {
namespace {

std::string TaskKey(uint64_t n) { return IdKey(crew::testing::MakeId(n)); }

// The names of kTasks' table files in L1, and their total size.
std::set<std::string> L1Files(Store& store, uint64_t* bytes = nullptr) {
  rocksdb::ColumnFamilyMetaData meta;
  store.db()->GetColumnFamilyMetaData(store.handle(Cf::kTasks), &meta);
  std::set<std::string> names;
  if (bytes) *bytes = 0;
  for (const auto& f : meta.levels[1].files) {
    names.insert(f.name);
    if (bytes) *bytes += f.size;
  }
  return names;
}

TEST(TableFilesTest, UpdatesToTheOldestTasksRewriteOnlyTheFilesThatHoldThem) {
  crew::testing::TempDir dir("table-files-test");
  StoreOptions options;
  options.dir = dir.path();
  auto store = std::move(Store::Open(options)).value();
  std::mt19937_64 rng(7);
  auto put = [&](uint64_t first, uint64_t end) {
    rocksdb::WriteBatch b;
    for (uint64_t n = first; n < end; ++n) {
      std::string value(200, '\0');  // (random: LZ4 leaves it its size)
      for (char& c : value) c = static_cast<char>(rng());
      b.Put(store->handle(Cf::kTasks), TaskKey(n), value);
    }
    uint64_t seq = 0;
    ASSERT_TRUE(store->Write(&b, &seq).ok());
  };

  constexpr uint64_t kTasks = 100000;  // ~21 MB
  for (uint64_t n = 0; n < kTasks; n += 1000) put(n, n + 1000);
  rocksdb::CompactRangeOptions compact;  // (rewrites the flushes' files, not only moves them)
  compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  ASSERT_TRUE(store->db()->CompactRange(compact, store->handle(Cf::kTasks), nullptr, nullptr).ok());
  uint64_t stored_bytes = 0;
  const std::set<std::string> before = L1Files(*store, &stored_bytes);
  ASSERT_GE(stored_bytes, 20u << 20);
  ASSERT_GE(before.size(), 4u) << "one large table file would be rewritten by every compaction";

  // A drain's first updates: the oldest 1% of the tasks, flushed, then compacted into L1.
  put(0, kTasks / 100);
  ASSERT_TRUE(store->db()->Flush(rocksdb::FlushOptions(), store->handle(Cf::kTasks)).ok());
  const std::string begin = TaskKey(0), end = TaskKey(kTasks / 100);
  rocksdb::Slice b(begin), e(end);
  ASSERT_TRUE(store->db()->CompactRange(compact, store->handle(Cf::kTasks), &b, &e).ok());

  const std::set<std::string> after = L1Files(*store);
  size_t kept = 0;
  for (const std::string& name : before) kept += after.count(name);
  EXPECT_GE(kept, before.size() - 1) << "files the update does not overlap were rewritten";
  for (uint64_t n : {uint64_t{0}, kTasks / 2, kTasks - 1}) {  // (and nothing was lost)
    EXPECT_TRUE(store->Get(Cf::kTasks, TaskKey(n)).value().has_value()) << n;
  }
}

}  // namespace
}  // namespace crew::storage
