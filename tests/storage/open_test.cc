// Store::Open on a damaged data dir. One that lost its CURRENT file is refused, every file left
// in place: RocksDB (create_if_missing) made a new, empty store there and deleted the old table
// files. One whose WAL is damaged in the middle is opened with the writes before the damage, as
// RocksDB's point-in-time recovery does, and crew's log says so (it said nothing).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <rocksdb/write_batch.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

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

TEST(OpenTest, AWalDamagedInTheMiddleIsSaidInCrewsLog) {
  crew::testing::TempDir dir("open-test"), crashed("open-test-crashed");
  StoreOptions options;
  options.dir = dir.path();
  {
    auto store = std::move(Store::Open(options)).value();
    for (int n = 0; n < 3; ++n) {  // (three WAL records: the damage is in the first)
      rocksdb::WriteBatch b;
      for (int i = 0; i < 100; ++i) {
        b.Put(store->handle(Cf::kTasks), IdKey(crew::testing::MakeId(n * 100 + i + 1)),
              std::string(200, 'v'));
      }
      uint64_t seq = 0;
      ASSERT_TRUE(store->Write(&b, &seq).ok());
    }
    // The data dir as a crash would leave it (a clean stop flushes the memtables to tables).
    ASSERT_TRUE(store->db()->FlushWAL(/*sync=*/true).ok());
    fs::copy(dir.path(), crashed.path(), fs::copy_options::recursive);
  }
  options.dir = crashed.path();
  std::string wal;
  for (const auto& e : fs::directory_iterator(crashed.path())) {
    if (e.path().extension() == ".log" && fs::file_size(e.path()) > 0) wal = e.path().string();
  }
  ASSERT_FALSE(wal.empty());
  const int fd = open(wal.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwrite(fd, "damage, damage", 14, 5000), 14);
  close(fd);

  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(16);
  spdlog::default_logger()->sinks().push_back(sink);
  auto reopened = Store::Open(options);
  spdlog::default_logger()->sinks().pop_back();
  ASSERT_TRUE(reopened.ok()) << reopened.status().message();
  bool said = false;
  for (const std::string& line : sink->last_formatted()) {
    said = said || line.find("recovery dropped a damaged part") != std::string::npos;
  }
  EXPECT_TRUE(said);
}

// A second store on a data dir in use is refused before it touches a file there: it moved the
// first one's LOG aside (and deleted its WAL spare) before RocksDB's own lock refused it.
TEST(OpenTest, ADataDirInUseIsLeftAlone) {
  crew::testing::TempDir dir("open-test");
  StoreOptions options;
  options.dir = dir.path();
  auto first = std::move(Store::Open(options)).value();
  auto files = [&] {  // (a LOG moved aside is one more: LOG.old.<time>)
    return std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator());
  };
  const auto before = files();
  auto second = Store::Open(options);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("in use by another process (pid "), std::string::npos)
      << second.status().message();
  EXPECT_EQ(files(), before);
  first.reset();
  EXPECT_TRUE(Store::Open(options).ok());  // (free again once the first is closed)
}

}  // namespace
}  // namespace crew::storage
