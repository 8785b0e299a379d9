// storage/crc32c.h: RocksDB's CRC32C functions as crew defines them. The checksums must be the
// standard CRC32C bit for bit (WAL records and table blocks written before, or by another build,
// are checked with them), and a store must be running on them.
#include <gtest/gtest.h>

#include <rocksdb/write_batch.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "storage/crc32c.h"
#include "storage/store.h"
#include "temp_dir.h"

namespace crew::storage {
namespace {

namespace fs = std::filesystem;

uint32_t Value(const std::string& s) { return rocksdb::crc32c::Extend(0, s.data(), s.size()); }

std::string RandomBytes(std::mt19937& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

// RFC 3720, B.4 (iSCSI's CRC32C examples), and the common check value.
TEST(Crc32cTest, MatchesTheStandardExamples) {
  std::string ascending(32, '\0'), descending(32, '\0');
  for (int i = 0; i < 32; ++i) {
    ascending[i] = static_cast<char>(i);
    descending[i] = static_cast<char>(31 - i);
  }
  EXPECT_EQ(Value(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Value(std::string(32, '\xff')), 0x62A8AB43u);
  EXPECT_EQ(Value(ascending), 0x46DD794Eu);
  EXPECT_EQ(Value(descending), 0x113FDB5Cu);
  EXPECT_EQ(Value("123456789"), 0xE3069283u);
  EXPECT_EQ(Value(""), 0u);
  for (uint32_t crc : {0u, 0x12345678u}) {
    EXPECT_EQ(Crc32cByTable(crc, "123456789", 9), rocksdb::crc32c::Extend(crc, "123456789", 9));
  }
}

TEST(Crc32cTest, TableAndInstructionAgreeAtEveryLengthAndAlignment) {
  if (!Crc32cOnHardware()) GTEST_SKIP() << "this CPU has no crc32 instruction";
  std::mt19937 rng(7);
  const std::string data = RandomBytes(rng, 4096 + 64);
  for (size_t offset = 0; offset < 9; ++offset) {
    for (size_t n : {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 63, 64, 65, 100, 1000, 4096}) {
      const uint32_t start = static_cast<uint32_t>(rng());
      ASSERT_EQ(Crc32cByTable(start, data.data() + offset, n),
                Crc32cByInstruction(start, data.data() + offset, n))
          << "offset " << offset << ", length " << n;
    }
  }
}

TEST(Crc32cTest, ExtendContinuesAChecksum) {
  std::mt19937 rng(11);
  for (size_t n : {0, 1, 7, 8, 9, 100, 4097}) {
    const std::string a = RandomBytes(rng, n), b = RandomBytes(rng, 2 * n + 3);
    EXPECT_EQ(rocksdb::crc32c::Extend(Value(a), b.data(), b.size()), Value(a + b)) << n;
  }
}

// RocksDB's log writer checksums a WAL record as Combine(crc of its type, crc of its payload).
TEST(Crc32cTest, CombineGivesTheChecksumOfTheConcatenation) {
  std::mt19937 rng(13);
  for (size_t na : {0, 1, 5, 32}) {
    for (size_t nb : {0, 1, 2, 3, 4, 5, 8, 13, 64, 999, 4096, 32768}) {
      const std::string a = RandomBytes(rng, na), b = RandomBytes(rng, nb);
      EXPECT_EQ(rocksdb::crc32c::Crc32cCombine(Value(a), Value(b), b.size()), Value(a + b))
          << na << " + " << nb;
    }
  }
}

#if defined(__x86_64__)
// The link: a store's RocksDB calls these definitions, not its own (RocksDB writes which one
// answered into its LOG when it opens).
TEST(Crc32cTest, AStoreRunsOnCrewsDefinitions) {
  crew::testing::TempDir tmp("crc32c-test");
  const std::string& dir = tmp.path();
  {
    StoreOptions o;
    o.dir = dir;
    auto store = std::move(Store::Open(o)).value();
    rocksdb::WriteBatch b;
    b.Put(store->handle(Cf::kMeta), "k", "v");
    uint64_t seq = 0;
    ASSERT_TRUE(store->Write(&b, &seq).ok());
    ASSERT_TRUE(store->WaitDurable(seq).ok());
  }
  {
    StoreOptions o;
    o.dir = dir;
    auto store = std::move(Store::Open(o)).value();  // (reads the tables it flushed at close)
    EXPECT_EQ(store->Get(Cf::kMeta, "k").value(), std::optional<std::string>("v"));
  }
  std::ifstream in(fs::path(dir) / "LOG");
  std::stringstream log;
  log << in.rdbuf();
  EXPECT_NE(log.str().find("Fast CRC32 supported: " + rocksdb::crc32c::IsFastCrc32Supported()),
            std::string::npos);
  EXPECT_NE(rocksdb::crc32c::IsFastCrc32Supported().find("(crew)"), std::string::npos);
}
#endif

}  // namespace
}  // namespace crew::storage
