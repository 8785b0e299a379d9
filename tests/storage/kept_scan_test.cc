// storage::KeptScan: a scan by a kept iterator answers as a fresh Store::Scan would, after
// writes, deletes, a flush and a compaction made since the iterator was built.
#include <gtest/gtest.h>

#include <rocksdb/write_batch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "storage/keys.h"
#include "storage/store.h"
#include "temp_dir.h"
#include "test_ids.h"
#include "util/id.h"

namespace crew::storage {
namespace {

namespace fs = std::filesystem;

class KeptScanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions o;
    o.dir = dir_;
    store_ = std::move(Store::Open(o)).value();
  }
  void TearDown() override { store_.reset(); }

  void Edge(const Id& parent, const Id& child, bool add) {
    rocksdb::WriteBatch b;
    if (add) {
      b.Put(store_->handle(Cf::kChildren), PairKey(parent, child), rocksdb::Slice());
    } else {
      b.Delete(store_->handle(Cf::kChildren), PairKey(parent, child));
    }
    uint64_t seq = 0;
    ASSERT_TRUE(store_->Write(&b, &seq).ok());
  }

  std::vector<Id> Kept(KeptScan& scan, const Id& parent) {
    std::vector<Id> out;
    EXPECT_TRUE(scan.Scan(IdKey(parent),
                          [&](std::string_view key, std::string_view) {
                            out.push_back(TrailingId(key));
                            return true;
                          })
                    .ok());
    return out;
  }

  std::vector<Id> Fresh(const Id& parent) {
    std::vector<Id> out;
    EXPECT_TRUE(store_
                    ->Scan(Cf::kChildren, IdKey(parent), false,
                           [&](std::string_view key, std::string_view) {
                             out.push_back(TrailingId(key));
                             return true;
                           })
                    .ok());
    return out;
  }

  crew::testing::TempDir tmp_{"kept-scan-test"};
  const std::string dir_ = tmp_.path();
  std::unique_ptr<Store> store_;
};

using crew::testing::MakeId;

TEST_F(KeptScanTest, SeesWhatWasWrittenSinceItsIteratorWasBuilt) {
  KeptScan scan(store_.get(), Cf::kChildren);
  const Id p1 = MakeId(100), p2 = MakeId(200), p3 = MakeId(150);
  EXPECT_TRUE(Kept(scan, p1).empty());
  EXPECT_TRUE(scan.kept());
  Edge(p1, MakeId(1), true);
  Edge(p2, MakeId(2), true);
  EXPECT_EQ(Kept(scan, p1), std::vector<Id>{MakeId(1)});  // written after the iterator was built
  Edge(p1, MakeId(3), true);
  Edge(p1, MakeId(1), false);
  EXPECT_EQ(Kept(scan, p1), std::vector<Id>{MakeId(3)});
  EXPECT_EQ(Kept(scan, p2), std::vector<Id>{MakeId(2)});
  EXPECT_TRUE(Kept(scan, p3).empty());  // between two parents

  // A flush and a compaction change the column family's version: the iterator is rebuilt.
  rocksdb::FlushOptions flush;
  ASSERT_TRUE(store_->db()->Flush(flush, store_->handle(Cf::kChildren)).ok());
  Edge(p1, MakeId(4), true);
  EXPECT_EQ(Kept(scan, p1), (std::vector<Id>{MakeId(3), MakeId(4)}));
  ASSERT_TRUE(store_->db()
                  ->CompactRange(rocksdb::CompactRangeOptions(), store_->handle(Cf::kChildren),
                                 nullptr, nullptr)
                  .ok());
  Edge(p2, MakeId(2), false);
  EXPECT_TRUE(Kept(scan, p2).empty());
  EXPECT_EQ(Kept(scan, p1), Fresh(p1));

  scan.Drop();
  EXPECT_FALSE(scan.kept());
  EXPECT_EQ(Kept(scan, p1), (std::vector<Id>{MakeId(3), MakeId(4)}));
}

TEST_F(KeptScanTest, StopsWhenAskedAndAtThePrefixsEnd) {
  KeptScan scan(store_.get(), Cf::kChildren);
  const Id p = MakeId(7), next = MakeId(8);
  for (uint64_t c = 1; c <= 5; ++c) Edge(p, MakeId(c), true);
  Edge(next, MakeId(9), true);
  int seen = 0;
  ASSERT_TRUE(
      scan.Scan(IdKey(p), [&](std::string_view, std::string_view) { return ++seen < 2; }).ok());
  EXPECT_EQ(seen, 2);
  EXPECT_EQ(Kept(scan, p).size(), 5u);  // (not the next parent's child)
}

}  // namespace
}  // namespace crew::storage
