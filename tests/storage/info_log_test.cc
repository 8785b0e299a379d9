// RocksDB's own LOG in the data dir stays small: Debian's librocksdb would log at DEBUG level,
// a line for every WAL flush and sync, so a busy server's LOG grew by gigabytes a day.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "storage/store.h"

namespace crew::storage {
namespace {

namespace fs = std::filesystem;

class InfoLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/crew-log-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string dir_;
};

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

}  // namespace
}  // namespace crew::storage
