// Store::Open on a data dir that lost its CURRENT file: refused, every file left in place.
// RocksDB (create_if_missing) made a new, empty store there and deleted the old table files.
#include <gtest/gtest.h>

#include <rocksdb/write_batch.h>

#include <filesystem>
#include <string>

#include "storage/keys.h"
#include "storage/store.h"
#include "temp_dir.h"
#include "test_ids.h"

namespace crew::storage {
namespace {

namespace fs = std::filesystem;

size_t FilesEndingWith(const std::string& dir, const std::string& suffix) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    n += name.size() > suffix.size() && name.ends_with(suffix);
  }
  return n;
}

TEST(OpenTest, ADataDirWithoutItsCurrentFileIsRefusedAndLeftAlone) {
  crew::testing::TempDir dir("open-test");
  StoreOptions options;
  options.dir = dir.path();
  {
    auto store = std::move(Store::Open(options)).value();
    rocksdb::WriteBatch b;
    b.Put(store->handle(Cf::kTasks), IdKey(crew::testing::MakeId(1)), "task");
    uint64_t seq = 0;
    ASSERT_TRUE(store->Write(&b, &seq).ok());
    ASSERT_TRUE(store->db()->Flush({}, store->handle(Cf::kTasks)).ok());
  }
  const size_t tables = FilesEndingWith(dir.path(), ".sst");
  ASSERT_GT(tables, 0u);
  fs::remove(fs::path(dir.path()) / "CURRENT");
  for (const auto& e : fs::directory_iterator(dir.path())) {
    if (e.path().extension() == ".log") fs::remove(e.path());
  }
  auto reopened = Store::Open(options);
  ASSERT_FALSE(reopened.ok());
  EXPECT_NE(reopened.status().message().find("no CURRENT file"), std::string::npos)
      << reopened.status().message();
  EXPECT_EQ(FilesEndingWith(dir.path(), ".sst"), tables);
}

// A new data dir, and one whose creation stopped after its first MANIFEST: opened.
TEST(OpenTest, ANewDataDirOpens) {
  crew::testing::TempDir dir("open-test");
  StoreOptions options;
  options.dir = dir.path();
  ASSERT_TRUE(Store::Open(options).ok());
  fs::remove(fs::path(dir.path()) / "CURRENT");
  for (const auto& e : fs::directory_iterator(dir.path())) {
    if (e.path().extension() == ".log") fs::remove(e.path());
  }
  EXPECT_TRUE(Store::Open(options).ok());
}

}  // namespace
}  // namespace crew::storage
