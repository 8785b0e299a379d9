// RocksDB's own LOG in the data dir stays small: Debian's librocksdb would log at DEBUG level,
// a line for every WAL flush and sync, so a busy server's LOG grew by gigabytes a day. It rolls
// by size, and a line that cannot be written is dropped instead of aborting (InfoLog).
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdarg>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "storage/info_log.h"
#include "storage/store.h"
#include "temp_dir.h"

namespace crew::storage {
namespace {

namespace fs = std::filesystem;

class InfoLogTest : public ::testing::Test {
 protected:
  std::string Read(const std::string& name) const {
    std::ifstream in(fs::path(dir_) / name);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  std::vector<std::string> OldLogs() const {
    std::vector<std::string> old;
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.path().filename().string().rfind("LOG.old.", 0) == 0) {
        old.push_back(e.path().filename().string());
      }
    }
    std::sort(old.begin(), old.end());
    return old;
  }

  crew::testing::TempDir tmp_{"log-test"};
  const std::string dir_ = tmp_.path();
};

void LineAt(rocksdb::Logger* log, rocksdb::InfoLogLevel level, const char* format, ...) {
  va_list ap;
  va_start(ap, format);
  log->Logv(level, format, ap);
  va_end(ap);
}

template <typename... Args>
void Line(rocksdb::Logger* log, const char* format, Args... args) {
  LineAt(log, rocksdb::InfoLogLevel::INFO_LEVEL, format, args...);
}

TEST_F(InfoLogTest, WritesAndSyncsAddNoLinesToTheLog) {
  {
    StoreOptions o;
    o.dir = dir_;
    auto store = std::move(Store::Open(o)).value();
    for (int i = 0; i < 200; ++i) {
      rocksdb::WriteBatch b;
      b.Put(store->handle(Cf::kMeta), "k" + std::to_string(i), "v");
      uint64_t seq = 0;
      ASSERT_TRUE(store->Write(&b, &seq, /*flush=*/true).ok());
      ASSERT_TRUE(store->WaitDurable(seq).ok());
    }
  }
  std::ifstream in(fs::path(dir_) / "LOG");
  std::stringstream log;
  log << in.rdbuf();
  ASSERT_FALSE(log.str().empty());  // the LOG is there, at INFO level
  EXPECT_EQ(log.str().find("FlushWAL"), std::string::npos);
  EXPECT_EQ(log.str().find("[DEBUG]"), std::string::npos);
}

TEST_F(InfoLogTest, RollsBySizeAndKeepsTheNewestFiles) {
  auto log = InfoLog::Open(dir_, 4096, 3);
  for (int i = 0; i < 200; ++i) Line(log.get(), "line %03d %s", i, std::string(60, 'x').c_str());
  EXPECT_EQ(OldLogs().size(), 2u);  // LOG and the two newest old ones
  EXPECT_LE(fs::file_size(fs::path(dir_) / "LOG"), 4096u);
  EXPECT_NE(Read("LOG").find("line 199 xxx"), std::string::npos);
  EXPECT_NE(Read(OldLogs().back()).find("line 1"), std::string::npos);
  EXPECT_EQ(log->dropped(), 0u);
}

TEST_F(InfoLogTest, AStartMovesThePreviousLogAside) {
  Line(InfoLog::Open(dir_, 1 << 20, 5).get(), "from the first start");
  auto log = InfoLog::Open(dir_, 1 << 20, 5);
  Line(log.get(), "from the second start, %d", 2);
  EXPECT_EQ(Read("LOG").find("first"), std::string::npos);
  ASSERT_EQ(OldLogs().size(), 1u);
  EXPECT_NE(Read(OldLogs()[0]).find("from the first start\n"), std::string::npos);
  // "2026/12/04-14:22:55.071234 7f3a2c1ff6c0 text": RocksDB's own layout.
  const std::string line = Read("LOG");
  EXPECT_EQ(line[4], '/');
  EXPECT_EQ(line[10], '-');
  EXPECT_NE(line.find(" from the second start, 2\n"), std::string::npos);
}

TEST_F(InfoLogTest, LevelsBelowInfoAreLeftOutAndOthersMarked) {
  auto log = InfoLog::Open(dir_, 1 << 20, 5);
  LineAt(log.get(), rocksdb::InfoLogLevel::DEBUG_LEVEL, "quiet");
  Line(log.get(), "%s", std::string(3000, 'y').c_str());  // longer than the stack buffer
  LineAt(log.get(), rocksdb::InfoLogLevel::WARN_LEVEL, "careful %d", 7);
  const std::string text = Read("LOG");
  EXPECT_EQ(text.find("quiet"), std::string::npos);
  EXPECT_NE(text.find(std::string(3000, 'y') + "\n"), std::string::npos);
  EXPECT_NE(text.find("[WARN] careful 7\n"), std::string::npos);
}

// A full disk or a file-size limit: lines that cannot be written are dropped and counted, the
// process goes on, and once there is room again the lines are written.
TEST_F(InfoLogTest, ALineThatCannotBeWrittenIsDroppedAndTheNextTriesAgain) {
  auto log = InfoLog::Open(dir_, 1 << 20, 5);
  Line(log.get(), "before the limit");
  rlimit saved;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = saved;
  small.rlim_cur = 256;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  for (int i = 0; i < 20; ++i) Line(log.get(), "while full %d %s", i, std::string(40, 'z').c_str());
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &saved), 0);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_GT(log->dropped(), 10u);
  const uint64_t dropped = log->dropped();
  Line(log.get(), "room again");
  EXPECT_EQ(log->dropped(), dropped);
  EXPECT_NE(Read("LOG").find("room again\n"), std::string::npos);
}

}  // namespace
}  // namespace crew::storage
