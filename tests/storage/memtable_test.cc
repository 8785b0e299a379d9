// crew's skip-list memtable (storage/memtable.h), through a real RocksDB database whose reads
// are all answered by memtables: every read path (Get, forward and backward iteration, Seek,
// SeekForPrev, reads at snapshots) against a model, for inserts in the orders its finger search
// treats apart (ascending, descending, a key rewritten, far jumps, random), a reader thread
// running beside the writer, and a flush and reopen.
#include <gtest/gtest.h>

#include <rocksdb/db.h>
#include <rocksdb/memtablerep.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "storage/memtable.h"
#include "temp_dir.h"

namespace crew::storage {
namespace {

namespace fs = std::filesystem;

std::string Key(uint64_t i) {  // 12 bytes in big-endian order, like a task id
  std::string k(12, '\0');
  for (int b = 0; b < 8; ++b) k[11 - b] = static_cast<char>(i >> (8 * b) & 0xff);
  k[0] = 'k';
  return k;
}

class MemtableTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void TearDown() override {
    for (const rocksdb::Snapshot* s : snapshots_) db_->ReleaseSnapshot(s);
    db_.reset();
  }

  void Open() {
    rocksdb::Options o;
    o.create_if_missing = true;
    o.write_buffer_size = 256 << 20;  // (no flush unless asked: the memtable answers)
    o.memtable_factory = NewSkipListMemtableFactory();
    o.allow_concurrent_memtable_write = false;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, dir_, &raw).ok());
    db_.reset(raw);
  }

  void Put(const std::string& key, const std::string& value) {
    ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), key, value).ok());
    model_[key] = value;
  }
  void Delete(const std::string& key) {
    ASSERT_TRUE(db_->Delete(rocksdb::WriteOptions(), key).ok());
    model_.erase(key);
  }

  // Every read of the database agrees with the model (at the snapshot, with its model).
  void ExpectMatches(const std::map<std::string, std::string>& model,
                     const rocksdb::Snapshot* snapshot = nullptr) {
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
    auto m = model.begin();
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++m) {
      ASSERT_NE(m, model.end());
      ASSERT_EQ(it->key().ToString(), m->first);
      ASSERT_EQ(it->value().ToString(), m->second);
    }
    ASSERT_TRUE(it->status().ok());
    ASSERT_EQ(m, model.end());
    auto r = model.rbegin();
    for (it->SeekToLast(); it->Valid(); it->Prev(), ++r) {
      ASSERT_NE(r, model.rend());
      ASSERT_EQ(it->key().ToString(), r->first);
    }
    ASSERT_EQ(r, model.rend());
    std::mt19937_64 rng(7);
    for (int i = 0; i < 200; ++i) {
      const std::string probe = Key(rng() % 3000);
      std::string value;
      const rocksdb::Status s = db_->Get(ro, probe, &value);
      auto found = model.find(probe);
      if (found == model.end()) {
        ASSERT_TRUE(s.IsNotFound()) << s.ToString();
      } else {
        ASSERT_TRUE(s.ok()) << s.ToString();
        ASSERT_EQ(value, found->second);
      }
      it->Seek(probe);
      auto lb = model.lower_bound(probe);
      ASSERT_EQ(it->Valid(), lb != model.end());
      if (it->Valid()) {
        ASSERT_EQ(it->key().ToString(), lb->first);
      }
      it->SeekForPrev(probe);
      auto ub = model.upper_bound(probe);
      ASSERT_EQ(it->Valid(), ub != model.begin());
      if (it->Valid()) {
        ASSERT_EQ(it->key().ToString(), std::prev(ub)->first);
      }
    }
  }

  crew::testing::TempDir tmp_{"memtable-test"};
  const std::string dir_ = tmp_.path();
  std::unique_ptr<rocksdb::DB> db_;
  std::map<std::string, std::string> model_;
  std::vector<const rocksdb::Snapshot*> snapshots_;
};

TEST_F(MemtableTest, AnEmptyMemtableHasNothing) { ExpectMatches(model_); }

TEST_F(MemtableTest, AscendingDescendingAndRewrittenKeysReadBack) {
  for (uint64_t i = 0; i < 1000; i += 2) Put(Key(i), "up" + std::to_string(i));
  for (uint64_t i = 1999; i >= 1001; i -= 2) Put(Key(i), "down" + std::to_string(i));
  for (int round = 0; round < 5; ++round) {  // newer versions sort before older ones
    for (uint64_t i = 0; i < 1000; i += 10) Put(Key(i), "v" + std::to_string(round));
  }
  ExpectMatches(model_);
}

TEST_F(MemtableTest, InsertsNearTheLastOneAndFarFromItReadBack) {
  // The drain's pattern (a lease, then a release a few keys back), and jumps across the list.
  for (uint64_t i = 0; i < 3000; ++i) Put(Key(i), "created");
  for (uint64_t i = 8; i < 3000; ++i) {
    Put(Key(i), "leased");
    Put(Key(i - 8), "done");
    if (i % 97 == 0) Put(Key(2999 - i), "far");
    if (i % 89 == 0) Delete(Key(i / 2));
  }
  ExpectMatches(model_);
}

TEST_F(MemtableTest, RandomWritesMatchAModelAtEverySnapshot) {
  std::mt19937_64 rng(42);
  std::vector<std::map<std::string, std::string>> models;
  for (int i = 0; i < 20000; ++i) {
    const std::string key = Key(rng() % 3000);
    if (rng() % 5 == 0) {
      Delete(key);
    } else {
      Put(key, std::to_string(i));
    }
    if (i % 4000 == 0) {
      snapshots_.push_back(db_->GetSnapshot());
      models.push_back(model_);
    }
  }
  ExpectMatches(model_);
  for (size_t s = 0; s < snapshots_.size(); ++s) ExpectMatches(models[s], snapshots_[s]);
}

// Keys are compared a word at a time where they are short: keys of every length from 0 to 40
// bytes, made of bytes at the edges (0x00, 0x7f, 0x80, 0xff) so that many share a prefix or
// are one another's prefix, sort as their bytes do and read back.
TEST_F(MemtableTest, KeysOfAnyLengthAndByteSortAsTheirBytes) {
  std::mt19937_64 rng(11);
  const char kBytes[] = {'\x00', '\x01', '\x7f', '\x80', '\xff', 'a'};
  for (int i = 0; i < 6000; ++i) {
    std::string key(rng() % 41, '\0');
    for (char& c : key) c = kBytes[rng() % sizeof kBytes];
    if (rng() % 7 == 0) {
      Delete(key);
    } else {
      Put(key, std::to_string(i));
    }
  }
  ExpectMatches(model_);
  for (const auto& [key, value] : model_) {
    std::string got;
    ASSERT_TRUE(db_->Get(rocksdb::ReadOptions(), key, &got).ok());
    ASSERT_EQ(got, value);
  }
}

TEST_F(MemtableTest, ABatchWritingOneKeyTwiceKeepsTheLastValue) {
  rocksdb::WriteBatch batch;
  batch.Put(Key(5), "first");
  batch.Put(Key(5), "second");
  batch.Put(Key(4), "other");
  ASSERT_TRUE(db_->Write(rocksdb::WriteOptions(), &batch).ok());
  model_[Key(5)] = "second";
  model_[Key(4)] = "other";
  ExpectMatches(model_);
}

TEST_F(MemtableTest, AReaderBesideTheWriterSeesEveryKeyItWasToldOf) {
  // The writer publishes how many keys it wrote; a reader then finds each of those, a seek
  // lands at or after its target, and an iteration never sees keys out of order or a value it
  // was not given. (A search that loaded the first node at or after its key twice could meet a
  // node inserted in between, before the key: a Get then missed the key, a Seek landed short.)
  std::atomic<uint64_t> written{0};
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::thread reader([&] {
    std::mt19937_64 rng(1);
    while (!done.load()) {
      const uint64_t n = written.load();
      if (n == 0) continue;
      const uint64_t i = rng() % n;
      std::string value;
      if (!db_->Get(rocksdb::ReadOptions(), Key(i * 7919 % 100000), &value).ok()) ++failures;
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
      std::string last;
      int seen = 0;
      it->Seek(Key(i));
      if (it->Valid() && it->key().ToString() < Key(i)) ++failures;
      for (; it->Valid() && seen < 50; it->Next(), ++seen) {
        if (!last.empty() && it->key().ToString() <= last) ++failures;
        if (it->value().ToString() != "value") ++failures;
        last = it->key().ToString();
      }
    }
  });
  for (uint64_t i = 0; i < 100000; ++i) {
    ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), Key(i * 7919 % 100000), "value").ok());
    written.store(i + 1);
  }
  done.store(true);
  reader.join();
  EXPECT_EQ(failures.load(), 0);
}

// The same race made likely: the writer inserts each odd key just before the even key a reader
// looks up at that moment, between the node the reader's search stops at and its target.
TEST_F(MemtableTest, AReadRacingAnInsertJustBeforeItsKeyStillFindsIt) {
  constexpr uint64_t kKeys = 20000;
  // (even keys up to 2 * kKeys + 2: the reader may look one up after the writer's last insert)
  for (uint64_t i = 0; i <= kKeys + 1; ++i) Put(Key(2 * i), "even");
  std::atomic<uint64_t> next{0};  // the odd key the writer inserts next is 2 * next + 1
  std::atomic<bool> done{false};
  std::atomic<int> missed{0}, short_seeks{0};
  std::thread reader([&] {
    std::string value;
    while (!done.load()) {
      const std::string target = Key(2 * next.load() + 2);
      if (!db_->Get(rocksdb::ReadOptions(), target, &value).ok()) ++missed;
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
      it->Seek(target);
      if (!it->Valid() || it->key().ToString() != target) ++short_seeks;
    }
  });
  for (uint64_t i = 0; i < kKeys; ++i) {
    ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), Key(2 * i + 1), "odd").ok());
    next.store(i + 1);
  }
  done.store(true);
  reader.join();
  EXPECT_EQ(missed.load(), 0) << "Gets of an even key that missed it";
  EXPECT_EQ(short_seeks.load(), 0) << "Seeks to an even key that did not land on it";
}

TEST_F(MemtableTest, AFlushedMemtableIsReadBackFromItsTableAfterAReopen) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 5000; ++i) Put(Key(rng() % 3000), std::to_string(i));
  ASSERT_TRUE(db_->Flush(rocksdb::FlushOptions()).ok());
  db_.reset();
  Open();
  ExpectMatches(model_);
}

}  // namespace
}  // namespace crew::storage
