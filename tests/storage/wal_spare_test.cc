// Prepared WAL files (storage/wal_spare.h): each new WAL starts as a zero-filled spare, a
// crash's zero tail replays cleanly, and a graceful close keeps the spare for the next start.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include "storage/store.h"
#include "storage/wal_spare.h"
#include "temp_dir.h"

namespace crew::storage {
namespace {

namespace fs = std::filesystem;

class WalSpareTest : public ::testing::Test {
 protected:
  std::unique_ptr<Store> Open(bool relaxed = false) {
    StoreOptions o;
    o.dir = dir_;
    o.wal_spare_mb = 1;
    o.relaxed_durability = relaxed;
    return std::move(Store::Open(o)).value();
  }
  // Writes key (and waits for its sync if `sync`): false on a failure.
  static bool Append(Store& store, const std::string& key, bool sync) {
    rocksdb::WriteBatch b;
    b.Put(store.handle(Cf::kMeta), key, std::string(300, 'v'));
    uint64_t seq = 0;
    return store.Write(&b, &seq).ok() && (!sync || store.WaitDurable(seq).ok());
  }
  void Put(Store& store, const std::string& key) { ASSERT_TRUE(Append(store, key, true)); }
  // A child process opens the store, runs `work` and dies without closing it (as kill -9
  // would).
  void CrashAfter(const std::function<bool(Store&)>& work) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) _exit(work(*Open()) ? 0 : 1);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  // Keys k0 .. k(n-1) are there after the store is opened again.
  void ExpectKeys(int n, const char* otherwise) {
    auto store = Open();
    for (int i = 0; i < n; ++i) {
      auto v = store->Get(Cf::kMeta, "k" + std::to_string(i));
      ASSERT_TRUE(v.ok() && v->has_value()) << "k" << i << " " << otherwise;
    }
  }
  std::vector<uint64_t> WalSizes() {
    std::vector<uint64_t> out;
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (WalSpareFileSystem::IsWalFile(e.path().string())) out.push_back(e.file_size());
    }
    return out;
  }

  crew::testing::TempDir tmp_{"wal-test"};
  const std::string dir_ = tmp_.path();
  const fs::path spare_ = fs::path(dir_) / "wal-spare";
};

TEST_F(WalSpareTest, RecognizesWalFileNames) {
  EXPECT_TRUE(WalSpareFileSystem::IsWalFile("/d/000012.log"));
  EXPECT_TRUE(WalSpareFileSystem::IsWalFile("000012.log"));
  EXPECT_FALSE(WalSpareFileSystem::IsWalFile("/d/LOG"));
  EXPECT_FALSE(WalSpareFileSystem::IsWalFile("/d/.log"));
  EXPECT_FALSE(WalSpareFileSystem::IsWalFile("/d/LOG.old.log"));
  EXPECT_FALSE(WalSpareFileSystem::IsWalFile("/d/000012.sst"));
}

TEST_F(WalSpareTest, TheFirstWalIsPreparedAndWritesOverwriteIt) {
  auto store = Open();
  EXPECT_EQ(store->Stats().wal_files_prepared, 1u);
  for (int i = 0; i < 100; ++i) Put(*store, "k" + std::to_string(i));
  EXPECT_EQ(WalSizes(), std::vector<uint64_t>{1u << 20}) << "appends grew the file";
}

TEST_F(WalSpareTest, AZeroTailLeftByACrashReplays) {
  // Its WAL is the data followed by the rest of the spare's zeros.
  CrashAfter([&](Store& store) {
    for (int i = 0; i < 100; ++i) {
      if (!Append(store, "k" + std::to_string(i), /*sync=*/true)) return false;
    }
    return true;
  });
  EXPECT_EQ(WalSizes(), std::vector<uint64_t>{1u << 20});
  ExpectKeys(100, "was acknowledged, then lost");
}

TEST_F(WalSpareTest, AnAppendHandedToTheOsSurvivesACrashOfTheProcess) {
  // What an event loop's turn relies on before it answers a lease: Write hands the append to
  // the OS, without a sync.
  CrashAfter([&](Store& store) {
    for (int i = 0; i < 100; ++i) {
      if (!Append(store, "k" + std::to_string(i), /*sync=*/false)) return false;
    }
    return true;
  });
  ExpectKeys(100, "was handed to the OS, then lost");
}

TEST_F(WalSpareTest, ALogThatOutgrowsItsSpareGoesOnAppending) {
  CrashAfter([&](Store& store) {  // a spare of 1 MB; ~3 MB written
    for (int i = 0; i < 10000; ++i) {
      if (!Append(store, "k" + std::to_string(i), /*sync=*/i % 1000 == 999)) return false;
    }
    return true;
  });
  const std::vector<uint64_t> sizes = WalSizes();
  ASSERT_EQ(sizes.size(), 1u);
  EXPECT_GT(sizes[0], 3u << 20);
  ExpectKeys(10000, "lost");
}

TEST_F(WalSpareTest, AGracefulCloseTrimsTheLogToItsData) {
  {
    auto store = Open();
    Put(*store, "k");
  }
  const std::vector<uint64_t> sizes = WalSizes();
  ASSERT_EQ(sizes.size(), 1u);
  EXPECT_LT(sizes[0], 4096u) << "the spare's zero tail was left";
}

TEST_F(WalSpareTest, AGracefulCloseKeepsTheSpareAndTheData) {
  {
    auto store = Open();
    for (int i = 0; i < 10; ++i) Put(*store, "k" + std::to_string(i));
  }
  EXPECT_EQ(fs::file_size(spare_), 1u << 20);
  auto store = Open();
  EXPECT_EQ(store->Stats().wal_files_unprepared, 0u);
  for (int i = 0; i < 10; ++i) {
    auto v = store->Get(Cf::kMeta, "k" + std::to_string(i));
    ASSERT_TRUE(v.ok() && v->has_value()) << i;
  }
}

TEST_F(WalSpareTest, RelaxedDurabilityKeepsNoSpare) {
  // Its syncs are off the answers' path: a spare would only cost a zero-fill per WAL.
  { auto store = Open(); }
  ASSERT_TRUE(fs::exists(spare_));
  auto store = Open(/*relaxed=*/true);
  EXPECT_FALSE(fs::exists(spare_)) << "a full-durability start's spare";
  for (int i = 0; i < 10; ++i) Put(*store, "k" + std::to_string(i));
  EXPECT_EQ(store->Stats().wal_files_prepared, 0u);
  EXPECT_EQ(store->Stats().wal_files_unprepared, 0u);
  fs::path newest;  // (RocksDB's WAL names are zero-padded numbers)
  for (const auto& e : fs::directory_iterator(dir_)) {
    if (WalSpareFileSystem::IsWalFile(e.path().string()) && e.path() > newest) newest = e.path();
  }
  ASSERT_FALSE(newest.empty());
  EXPECT_LT(fs::file_size(newest), 1u << 20) << "the relaxed store's WAL started as a spare";
}

TEST_F(WalSpareTest, ARelaxedOpenOfAHeldDataDirLeavesItsSpare) {
  auto holder = Open();
  for (int i = 0; i < 1000 && !fs::exists(spare_); ++i) {  // refilled after the first WAL took it
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(fs::exists(spare_));
  StoreOptions o;
  o.dir = dir_;
  o.relaxed_durability = true;
  EXPECT_FALSE(Store::Open(o).ok()) << "RocksDB's LOCK is held";
  EXPECT_TRUE(fs::exists(spare_)) << "the holder's spare was removed";
}

}  // namespace
}  // namespace crew::storage
