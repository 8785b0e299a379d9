// The memtable of crew's skip-list column families: a skip list with one writer and lock-free
// readers, for keys in RocksDB's bytewise order.
//
// Why not RocksDB's own: Debian's librocksdb is built without NDEBUG, so its skip list runs its
// assertions on every insert (a check of the whole splice, two key comparisons per level) and
// compares keys through two virtual calls and a thread-local performance counter. Counted with
// callgrind in the relaxed drain, its inserts took ~7k instructions each (~60 comparisons), two
// per task: a fifth of the event loop's work. This one compares keys inline, and starts each
// insert from the previous insert's position (a finger), climbing only as far as the distance
// between the two keys needs: a task's lease and its release land close to the last write.
//
// Reads follow RocksDB's contract for memtables written by one thread at a time
// (allow_concurrent_memtable_write = false): a node is fully written before a release store
// links it at each level, and readers load the links with acquire.
#pragma once

#include <memory>

#include <rocksdb/memtablerep.h>

namespace crew::storage {

// For column families ordered by rocksdb::BytewiseComparator() only (store.cc checks).
std::shared_ptr<rocksdb::MemTableRepFactory> NewSkipListMemtableFactory();

}  // namespace crew::storage
