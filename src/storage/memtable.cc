#include "storage/memtable.h"

#include <array>
#include <atomic>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include <rocksdb/slice.h>
#include <rocksdb/version.h>

#include <spdlog/spdlog.h>

// RocksDB's memory/allocator.h, which Debian does not install: the interface of a memtable's
// arena (MemTableRep::allocator_) and of the arena an iterator may be placed in (an Arena is an
// Allocator, its only base). Declared exactly as there. It, and LookupKey's members (below), are
// the same in RocksDB 6.29, 7.8 (Debian 12's), 8.11, 9.0 and 11.9.
static_assert(ROCKSDB_MAJOR >= 6 && ROCKSDB_MAJOR <= 11, "check rocksdb::Allocator and LookupKey");
namespace rocksdb {
class Allocator {
 public:
  virtual ~Allocator() {}

  virtual char* Allocate(size_t bytes) = 0;
  virtual char* AllocateAligned(size_t bytes, size_t huge_page_size = 0,
                                Logger* logger = nullptr) = 0;

  virtual size_t BlockSize() const = 0;
};
}  // namespace rocksdb

namespace crew::storage {
namespace {

// --- keys -----------------------------------------------------------------------------------
// An entry, as MemTable::Add writes it: varint32 length, internal key (user key, then 8 bytes
// of sequence number << 8 | type, little-endian), varint32 length, value.

rocksdb::Slice LengthPrefixed(const char* p) {
  uint32_t n = 0;
  for (int shift = 0; shift <= 28; shift += 7) {
    const uint32_t byte = static_cast<unsigned char>(*p++);
    n |= (byte & 0x7f) << shift;
    if (byte < 0x80) break;
  }
  return rocksdb::Slice(p, n);
}

constexpr bool kLittleEndian = std::endian::native == std::endian::little;

uint64_t Trailer(const rocksdb::Slice& internal_key) {  // (sequence << 8 | type)
  uint64_t v;
  std::memcpy(&v, internal_key.data() + internal_key.size() - 8, sizeof v);  // (little-endian)
  return kLittleEndian ? v : __builtin_bswap64(v);
}

// Eight bytes as a number that orders as they do.
uint64_t BigEndianWord(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return kLittleEndian ? __builtin_bswap64(v) : v;
}

// RocksDB's InternalKeyComparator over BytewiseComparator: user keys in byte order, then the
// newer (larger trailer) first. (An insert compares ~10 keys, most of them a task's 12-byte id
// with another: compared a word at a time here, where a call of memcmp and a trailer read a
// byte at a time were ~3% of the drain's instructions.)
int Compare(const rocksdb::Slice& a, const rocksdb::Slice& b) {
  const size_t an = a.size() - 8, bn = b.size() - 8, n = an < bn ? an : bn;
  if (n > 32) {
    const int r = std::memcmp(a.data(), b.data(), n);
    if (r != 0) return r;
  } else if (n >= 8) {
    // Whole words, then the last eight bytes (the part they share with the last word is equal).
    for (size_t i = 0; i + 8 <= n; i += 8) {
      const uint64_t x = BigEndianWord(a.data() + i), y = BigEndianWord(b.data() + i);
      if (x != y) return x < y ? -1 : 1;
    }
    const uint64_t x = BigEndianWord(a.data() + n - 8), y = BigEndianWord(b.data() + n - 8);
    if (x != y) return x < y ? -1 : 1;
  } else {
    for (size_t i = 0; i < n; ++i) {
      const auto x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
      if (x != y) return x < y ? -1 : 1;
    }
  }
  if (an != bn) return an < bn ? -1 : 1;
  const uint64_t at = Trailer(a), bt = Trailer(b);
  return at > bt ? -1 : at < bt ? 1 : 0;
}

// --- the skip list --------------------------------------------------------------------------

constexpr int kMaxHeight = 12;  // 4^12 entries: memtables hold well under a million
constexpr uint32_t kBranching = 4;

// A node is its level-0 link; the link of level i is i links before it, and the entry follows
// it. Links of an unpublished node are written relaxed; publishing is the release store of the
// link that points to it.
using Link = std::atomic<void*>;
struct Node {
  Link& link(int level) { return *(reinterpret_cast<Link*>(this) - level); }
  Node* Next(int level) { return static_cast<Node*>(link(level).load(std::memory_order_acquire)); }
  const char* entry() { return reinterpret_cast<const char*>(this) + sizeof(Link); }
  rocksdb::Slice key() { return LengthPrefixed(entry()); }
};

class SkipList final : public rocksdb::MemTableRep {
 public:
  explicit SkipList(rocksdb::Allocator* allocator) : MemTableRep(allocator) {
    head_ = NewNode(kMaxHeight, 0);
    for (int i = 0; i < kMaxHeight; ++i) finger_[i] = head_;
  }

  rocksdb::KeyHandle Allocate(const size_t len, char** buf) override {
    const int height = RandomHeight();
    Node* x = NewNode(height, len);
    x->link(0).store(reinterpret_cast<void*>(static_cast<uintptr_t>(height)),
                     std::memory_order_relaxed);  // (until Insert links it)
    *buf = const_cast<char*>(x->entry());
    return x;
  }

  void Insert(rocksdb::KeyHandle handle) override { InsertKey(handle); }

  // Called by one thread at a time (RocksDB's write leader). Returns false for an entry that is
  // already there (same key, sequence and type).
  bool InsertKey(rocksdb::KeyHandle handle) override {
    Node* x = static_cast<Node*>(handle);
    const int height =
        static_cast<int>(reinterpret_cast<uintptr_t>(x->link(0).load(std::memory_order_relaxed)));
    const rocksdb::Slice key = x->key();
    const int top = max_height_.load(std::memory_order_relaxed);

    // prev[i]: the last node of level i before the key. finger_[i] is that of the last insert;
    // it stays right for every level where no node lies between the two keys.
    std::array<Node*, kMaxHeight> prev = finger_;
    int from = -1;  // search levels from..0, starting at start
    Node* start = head_;
    if (last_ == nullptr || Compare(last_->key(), key) < 0) {
      // After the last insert: climb the finger while its next node is still before the key.
      for (int level = 0;; ++level) {
        Node* next = finger_[level]->Next(level);
        if (next == nullptr || Compare(next->key(), key) >= 0) {
          from = level - 1;  // (start: the node before the key found one level down)
          break;
        }
        start = next;
        if (level + 1 >= top) {
          from = level;
          break;
        }
      }
    } else {
      // Before (or at) the last insert: climb to a finger node before the key.
      int level = 0;
      while (level < top && finger_[level] != head_ && Compare(finger_[level]->key(), key) >= 0) {
        ++level;
      }
      from = level - 1;
      start = level < top ? finger_[level] : head_;
    }
    for (int level = from; level >= 0; --level) {
      Node* next;
      while ((next = start->Next(level)) != nullptr && Compare(next->key(), key) < 0) start = next;
      prev[level] = start;
    }

    Node* after = prev[0]->Next(0);
    if (after != nullptr && Compare(after->key(), key) == 0) return false;
    if (height > top) max_height_.store(height, std::memory_order_relaxed);  // (prev: head_)
    for (int i = 0; i < height; ++i) {
      x->link(i).store(prev[i]->link(i).load(std::memory_order_relaxed), std::memory_order_relaxed);
      prev[i]->link(i).store(x, std::memory_order_release);
      prev[i] = x;
    }
    finger_ = prev;
    last_ = x;
    return true;
  }

  bool Contains(const char* entry) const override {
    const rocksdb::Slice key = LengthPrefixed(entry);
    Node* x = FindGreaterOrEqual(key);
    return x != nullptr && Compare(x->key(), key) == 0;
  }

  void Get(const rocksdb::LookupKey& lookup, void* arg,
           bool (*callback)(void* arg, const char* entry)) override {
    for (Node* x = FindGreaterOrEqual(LengthPrefixed(MemtableKey(lookup)));
         x != nullptr && callback(arg, x->entry()); x = x->Next(0)) {
    }
  }

  size_t ApproximateMemoryUsage() override { return 0; }  // (all of it is in the arena)

  class Iterator final : public rocksdb::MemTableRep::Iterator {
   public:
    explicit Iterator(const SkipList* list) : list_(list) {}
    bool Valid() const override { return node_ != nullptr; }
    const char* key() const override { return node_->entry(); }
    void Next() override { node_ = node_->Next(0); }
    void Prev() override { node_ = list_->FindLessThan(node_->key()); }
    void Seek(const rocksdb::Slice& internal_key, const char* memtable_key) override {
      node_ = list_->FindGreaterOrEqual(memtable_key ? LengthPrefixed(memtable_key) : internal_key);
    }
    void SeekForPrev(const rocksdb::Slice& internal_key, const char* memtable_key) override {
      const rocksdb::Slice target = memtable_key ? LengthPrefixed(memtable_key) : internal_key;
      node_ = list_->FindGreaterOrEqual(target);
      if (node_ == nullptr || Compare(node_->key(), target) > 0)
        node_ = list_->FindLessThan(target);
    }
    void SeekToFirst() override { node_ = list_->head_->Next(0); }
    void SeekToLast() override { node_ = list_->FindLast(); }

   private:
    const SkipList* list_;
    Node* node_ = nullptr;
  };

  rocksdb::MemTableRep::Iterator* GetIterator(rocksdb::Arena* arena) override {
    void* mem =
        arena ? reinterpret_cast<rocksdb::Allocator*>(arena)->AllocateAligned(sizeof(Iterator))
              : ::operator new(sizeof(Iterator));
    return new (mem) Iterator(this);
  }

 private:
  // The memtable key of a LookupKey, whose class RocksDB does not install: its first member is
  // that key's start, its second the internal key's and its third their end (db/lookup_key.h,
  // unchanged since LevelDB). Checked on every call: a varint length, then that many bytes.
  static const char* MemtableKey(const rocksdb::LookupKey& lookup) {
    const char* const* field = reinterpret_cast<const char* const*>(&lookup);
    const char *start = field[0], *internal = field[1], *end = field[2];
    const rocksdb::Slice key = LengthPrefixed(start);
    if (key.data() != internal || internal + key.size() != end) {
      spdlog::critical("RocksDB's LookupKey layout is not the one crew was written for");
      std::abort();
    }
    return start;
  }

  Node* NewNode(int height, size_t entry_len) {
    char* mem = allocator_->AllocateAligned(sizeof(Link) * height + entry_len);
    for (int i = 0; i < height; ++i) new (mem + sizeof(Link) * i) Link(nullptr);
    return reinterpret_cast<Node*>(mem + sizeof(Link) * (height - 1));
  }

  int RandomHeight() {  // (writer only) levels with probability 1/4 each, xorshift64
    int height = 1;
    while (height < kMaxHeight) {
      rng_ ^= rng_ << 13;
      rng_ ^= rng_ >> 7;
      rng_ ^= rng_ << 17;
      if (rng_ % kBranching != 0) break;
      ++height;
    }
    return height;
  }

  // The last node before key at level 0 (or head_), and the first at or after it (nullptr if
  // none), both as the walk saw them. (Loading the first from the last's link again could meet
  // a node the writer inserted since: one before the key.)
  std::pair<Node*, Node*> Around(const rocksdb::Slice& key) const {
    Node* x = head_;
    Node* next = nullptr;
    for (int level = max_height_.load(std::memory_order_relaxed) - 1; level >= 0; --level) {
      while ((next = x->Next(level)) != nullptr && Compare(next->key(), key) < 0) x = next;
    }
    return {x, next};
  }
  // The first node at or after key; nullptr if none.
  Node* FindGreaterOrEqual(const rocksdb::Slice& key) const { return Around(key).second; }
  // The last node before key; nullptr if none.
  Node* FindLessThan(const rocksdb::Slice& key) const {
    Node* x = Around(key).first;
    return x == head_ ? nullptr : x;
  }

  Node* FindLast() const {
    Node* x = head_;
    for (int level = max_height_.load(std::memory_order_relaxed) - 1; level >= 0; --level) {
      Node* next;
      while ((next = x->Next(level)) != nullptr) x = next;
    }
    return x == head_ ? nullptr : x;
  }

  Node* head_;
  std::atomic<int> max_height_{1};
  // The writer's own state.
  std::array<Node*, kMaxHeight> finger_;
  Node* last_ = nullptr;
  uint64_t rng_ = 0x9e3779b97f4a7c15ull;
};

class Factory final : public rocksdb::MemTableRepFactory {
 public:
  rocksdb::MemTableRep* CreateMemTableRep(const rocksdb::MemTableRep::KeyComparator&,
                                          rocksdb::Allocator* allocator,
                                          const rocksdb::SliceTransform*,
                                          rocksdb::Logger*) override {
    return new SkipList(allocator);
  }
  const char* Name() const override { return "CrewSkipList"; }
};

}  // namespace

std::shared_ptr<rocksdb::MemTableRepFactory> NewSkipListMemtableFactory() {
  return std::make_shared<Factory>();
}

}  // namespace crew::storage
