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
#include <fstream>
#include <set>
#include <string>

#include "storage/keys.h"
#include "storage/store.h"
#include "temp_dir.h"
#include "test_ids.h"

namespace crew::storage {
namespace {

namespace fs = std::filesystem;

class OpenTest : public ::testing::Test {
 protected:
  OpenTest() { options_.dir = dir_.path(); }
  size_t FilesEndingWith(const std::string& suffix) const {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(options_.dir)) {
      const std::string name = e.path().filename().string();
      n += name.size() > suffix.size() && name.ends_with(suffix);
    }
    return n;
  }
  // n task records of `bytes` each, from task `first` on, in one write (one WAL record).
  static void PutTasks(Store& store, int first, int n, size_t bytes) {
    rocksdb::WriteBatch b;
    for (int i = first; i < first + n; ++i) {
      b.Put(store.handle(Cf::kTasks), IdKey(crew::testing::MakeId(i)), std::string(bytes, 'v'));
    }
    uint64_t seq = 0;
    ASSERT_TRUE(store.Write(&b, &seq).ok());
  }
  // The data dir without its CURRENT file and its WALs.
  void LoseCurrentAndWals() const {
    fs::remove(fs::path(options_.dir) / "CURRENT");
    for (const auto& e : fs::directory_iterator(options_.dir)) {
      if (e.path().extension() == ".log") fs::remove(e.path());
    }
  }

  crew::testing::TempDir dir_{"open-test"};
  StoreOptions options_;
};

TEST_F(OpenTest, ADataDirWithoutItsCurrentFileIsRefusedAndLeftAlone) {
  {
    auto store = std::move(Store::Open(options_)).value();
    PutTasks(*store, 1, 1, 10);
    ASSERT_TRUE(store->db()->Flush({}, store->handle(Cf::kTasks)).ok());
  }
  const size_t tables = FilesEndingWith(".sst");
  ASSERT_GT(tables, 0u);
  LoseCurrentAndWals();
  auto reopened = Store::Open(options_);
  ASSERT_FALSE(reopened.ok());
  EXPECT_NE(reopened.status().message().find("no CURRENT file"), std::string::npos)
      << reopened.status().message();
  EXPECT_EQ(FilesEndingWith(".sst"), tables);
}

// A new data dir (one with a log of the operator's own too: only RocksDB's numbered files
// count), and one whose creation stopped after its first MANIFEST: opened.
TEST_F(OpenTest, ANewDataDirOpens) {
  std::ofstream(fs::path(options_.dir) / "app.log") << "not RocksDB's\n";
  ASSERT_TRUE(Store::Open(options_).ok());
  LoseCurrentAndWals();
  EXPECT_TRUE(Store::Open(options_).ok());
}

TEST_F(OpenTest, AWalDamagedInTheMiddleIsSaidInCrewsLog) {
  crew::testing::TempDir crashed("open-test-crashed");
  {
    auto store = std::move(Store::Open(options_)).value();
    for (int n = 0; n < 3; ++n)
      PutTasks(*store, n * 100 + 1, 100, 200);  // (the damage: in the first)
    // The data dir as a crash would leave it (a clean stop flushes the memtables to tables).
    ASSERT_TRUE(store->db()->FlushWAL(/*sync=*/true).ok());
    fs::copy(options_.dir, crashed.path(), fs::copy_options::recursive);
  }
  options_.dir = crashed.path();
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
  auto reopened = Store::Open(options_);
  spdlog::default_logger()->sinks().pop_back();
  ASSERT_TRUE(reopened.ok()) << reopened.status().message();
  bool said = false;
  for (const std::string& line : sink->last_formatted()) {
    said = said || line.find("recovery dropped a part of a log file") != std::string::npos;
  }
  EXPECT_TRUE(said);
}

// A second store on a data dir in use is refused before it touches a file there: it moved the
// first one's LOG aside (and deleted its WAL spare) before RocksDB's own lock refused it.
TEST_F(OpenTest, ADataDirInUseIsLeftAlone) {
  auto first = std::move(Store::Open(options_)).value();
  auto files = [&] {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(options_.dir)) names.insert(e.path().filename());
    return names;
  };
  const std::set<std::string> before = files();
  auto second = Store::Open(options_);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("in use by another process (pid "), std::string::npos)
      << second.status().message();
  // No file is added (a LOG moved aside would be LOG.old.<time>) and the LOG stays. (A file may
  // go meanwhile: the first store's RocksDB deletes the files it made obsolete when opening, in
  // the background, an old MANIFEST among them.)
  for (const std::string& name : files()) EXPECT_TRUE(before.count(name)) << name << " is new";
  EXPECT_TRUE(files().count("LOG"));
  first.reset();
  EXPECT_TRUE(Store::Open(options_).ok());  // (free again once the first is closed)
}

}  // namespace
}  // namespace crew::storage
