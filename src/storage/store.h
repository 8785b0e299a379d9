// Store: the RocksDB database with Crew's column families, and group commit (DESIGN.md).
//
// Writes: callers serialize their writes (the engine's single writer) and call Write(), which
// appends the batch to the WAL without syncing and returns its sequence number. WaitDurable(seq)
// then blocks until the WAL is synced past seq: whoever arrives while no sync runs becomes the
// leader and syncs once for every write made so far; the others wait for it (leader/follower, as
// in LevelDB's DBImpl::Write). With relaxed durability a background thread syncs every 100 ms
// and WaitDurable returns at once. A write whose loss a crash may cost (a lease: the task is
// handed out again, as when a lease expires) need not wait: SyncSoon(seq) has it synced by the
// next sync anyway, or by a background sync at most kLazySyncDelay later. Either way the
// on-durable callback then tells the engine how far the WAL is synced (its events go out then).
// RocksDB keeps the WAL's appends in its own buffer (manual_wal_flush): Write() hands them to the
// OS at once, unless its caller leaves them there (Write's `flush`): then the next sync, or
// FlushWal(), hands them over (an event loop's writes: one write system call per sync, or per
// turn with relaxed durability, instead of one per request).
// Every sync flushes first. A failed write or sync is sticky: the store refuses every later write
// with kUnavailable rather than acknowledge something it could not make durable.
//
// Reads (Get, Scan, NewIterator) are thread-safe and may run concurrently with writes. Each first
// calls the before-read hook with its column family, on the reading thread: the engine writes a
// batch that thread gathered and has not written yet, if it writes that column family
// (Engine::SeeOwnWrites), so a thread reads its own writes.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <sys/types.h>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "storage/keys.h"
#include "util/status.h"

namespace crew::storage {

class WalSpareFileSystem;  // wal_spare.h
class KeptScan;

inline constexpr const char* kDataDirLockFile = "crew.lock";

// crew.lock in a data dir, flock()ed (exclusive): while it is held, no other crew (server or
// restore) opens the dir. Freed when destroyed.
class DataDirLock {
 public:
  // Takes it in `dir` (which exists) and writes this process's pid in it; or an error naming the
  // holder (of crew.lock, or of RocksDB's LOCK: a crew of a version before crew.lock).
  static Result<DataDirLock> Take(const std::string& dir);

  DataDirLock() = default;
  DataDirLock(DataDirLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  DataDirLock& operator=(DataDirLock&& other) noexcept;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  ~DataDirLock();

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

struct StoreOptions {
  std::string dir;
  bool dir_locked = false;  // the caller holds dir's DataDirLock (crew restore); else Open takes it
  bool relaxed_durability = false;  // SPEC §4: answer once written, sync every 100 ms; no spare
  size_t block_cache_mb = 64;
  size_t write_buffer_mb = 64;  // total memtable budget across column families
  size_t wal_spare_mb = 0;      // size of the zero-filled WAL files prepared ahead (0: none)
};

struct StoreStats {
  uint64_t estimate_num_keys = 0;         // rocksdb.estimate-num-keys
  uint64_t live_data_bytes = 0;           // rocksdb.estimate-live-data-size
  uint64_t sst_files_bytes = 0;           // rocksdb.total-sst-files-size
  uint64_t memtable_bytes = 0;            // rocksdb.cur-size-all-mem-tables
  uint64_t pending_compaction_bytes = 0;  // rocksdb.estimate-pending-compaction-bytes
  bool write_error = false;               // the sticky error: every write is refused
  uint64_t wal_writes = 0;                // batches appended to the WAL
  uint64_t wal_syncs = 0;                 // WAL syncs (each covers every write before it)
  double wal_sync_seconds = 0;            // time spent in those syncs
  uint64_t wal_files_prepared = 0;        // WAL files that started zero-filled (wal_spare.h)
  uint64_t wal_files_unprepared = 0;      // ... and that did not
};

class Store {
 public:
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // The value at key, or nullopt when absent.
  Result<std::optional<std::string>> Get(Cf cf, std::string_view key) const;
  // The same without the before-read hook (SetBeforeRead): for a caller that knows no write the
  // hook would make first touches key.
  Result<std::optional<std::string>> GetWritten(Cf cf, std::string_view key) const;
  // The values at key in two column families as of one moment (nullopt where absent): for
  // records written together, read by a thread that another may write between two Gets.
  Result<std::pair<std::optional<std::string>, std::optional<std::string>>> GetTogether(
      Cf a, Cf b, std::string_view key) const;
  // Calls fn(key, value) for every entry in [lower, upper), in key order, until fn returns
  // false; without the before-read hook (GetWritten).
  Status RangeWritten(Cf cf, std::string_view lower, std::string_view upper,
                      const std::function<bool(std::string_view, std::string_view)>& fn) const;
  // Calls fn(key, value) for every entry whose key starts with prefix, in key order (or reverse
  // order), until fn returns false.
  Status Scan(Cf cf, std::string_view prefix, bool reverse,
              const std::function<bool(std::string_view, std::string_view)>& fn) const;
  std::unique_ptr<rocksdb::Iterator> NewIterator(Cf cf, const rocksdb::ReadOptions& ro) const;

  // REQUIRES: writes are serialized by the caller. Appends batch to the WAL (unsynced); with
  // flush false it stays in RocksDB's buffer until FlushWal() or a sync.
  Status Write(rocksdb::WriteBatch* batch, uint64_t* seq, bool flush = true);
  // Hands the WAL's buffered appends to the OS (a crash of this process then loses nothing).
  Status FlushWal();
  // Blocks until every write up to seq is synced (no-op with relaxed durability).
  Status WaitDurable(uint64_t seq);
  // Has seq synced soon without waiting for it (see above). Answers true when it is durable
  // already (always with relaxed durability), false when the on-durable callback will say so.
  bool SyncSoon(uint64_t seq);
  // Called, from the background sync thread, with the sequence number synced so far after each
  // of its syncs. Set it before the first write; clear it (nullptr) before its target goes.
  void SetOnDurable(std::function<void(uint64_t)> fn);
  // Syncs everything written so far, in every mode.
  Status SyncNow();
  // The sticky error once a write or sync failed (every write is refused from then on), else Ok.
  Status WriteError() const;
  bool failed() const { return failed_.load(std::memory_order_acquire); }  // WriteError() not Ok
  // Set once, before any read; cleared (nullptr) before its target goes.
  void SetBeforeRead(std::function<void(Cf)> fn) { before_read_ = std::move(fn); }

  static constexpr std::chrono::milliseconds kLazySyncDelay{5};

  rocksdb::ColumnFamilyHandle* handle(Cf cf) const { return handles_[static_cast<int>(cf)]; }
  rocksdb::DB* db() const { return db_.get(); }
  bool relaxed() const { return options_.relaxed_durability; }
  // A consistent online snapshot (RocksDB checkpoint: hard links to the live SST files, a copy
  // of the MANIFEST and of the WAL tail) in a new directory under <dir>/snapshots/, with every
  // write acknowledged before the call. Answers the directory; the caller removes it with
  // RemoveSnapshot. Leftovers of a crash are removed by the next Open. Thread-safe.
  Result<std::string> CreateSnapshot();
  void RemoveSnapshot(const std::string& snapshot_dir) const;

  // A few RocksDB properties, summed over the column families (SPEC N6, /metrics).
  StoreStats Stats() const;

 private:
  friend class KeptScan;
  explicit Store(StoreOptions options) : options_(std::move(options)) {}
  Status SyncUpTo(std::unique_lock<std::mutex>& lock, uint64_t seq);
  // REQUIRES: sync_mu_ held. Makes the failure `what` sticky (logged once) and returns it.
  Status Refuse(const char* what, const rocksdb::Status& s);
  void BackgroundSyncLoop();

  StoreOptions options_;
  // crew.lock in the data dir (Open, unless the caller holds it): freed after every member
  // below is gone (the WAL spare's filler thread among them, which still writes in the dir).
  DataDirLock dir_lock_;
  std::shared_ptr<WalSpareFileSystem> wal_fs_;  // outlive db_
  std::unique_ptr<rocksdb::Env> env_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;

  mutable std::mutex sync_mu_;
  std::condition_variable sync_cv_;  // a sync ended (followers)
  std::condition_variable lazy_cv_;  // SyncSoon asked while it idled, or stopping (background)
  bool sync_running_ = false;        // GUARDED_BY(sync_mu_)
  uint64_t lazy_seq_ = 0;            // GUARDED_BY(sync_mu_): the highest seq passed to SyncSoon
  bool lazy_idle_ = false;    // GUARDED_BY(sync_mu_): background waits for a first lazy write
  uint64_t durable_seq_ = 0;  // GUARDED_BY(sync_mu_)
  Status sticky_error_;       // GUARDED_BY(sync_mu_)
  bool stopping_ = false;     // GUARDED_BY(sync_mu_)
  std::thread background_sync_;
  std::mutex on_durable_mu_;  // held while the callback runs, so clearing it waits for that
  std::function<void(uint64_t)> on_durable_;  // GUARDED_BY(on_durable_mu_)
  std::atomic<uint64_t> snapshot_seq_{0};
  std::mutex flush_mu_;                    // held by FlushWal
  std::atomic<bool> wal_buffered_{false};  // appends not yet handed to the OS
  std::atomic<bool> failed_{false};        // sticky_error_ is set
  std::function<void(Cf)> before_read_;
  std::atomic<uint64_t> wal_writes_{0};
  uint64_t wal_syncs_ = 0;       // GUARDED_BY(sync_mu_)
  double wal_sync_seconds_ = 0;  // GUARDED_BY(sync_mu_)
};

// Forward scans of one column family by an iterator kept from one scan to the next, and refreshed
// to the latest writes before each (rocksdb::Iterator::Refresh): building a RocksDB iterator and
// destroying it costs ~2.7k instructions, a refresh a few hundred while no flush or compaction
// changed the column family (after one it is rebuilt). The engine looks for a task's children
// this way at every release once any task has a parent. The kept iterator holds the version it
// last saw (that column family's memtables and table files) until the next scan or Drop().
// Not thread-safe: one caller at a time (the engine's writer).
class KeptScan {
 public:
  KeptScan(const Store* store, Cf cf) : store_(store), cf_(cf) {}
  // As Store::Scan forward: fn(key, value) for each entry whose key starts with prefix, in key
  // order, until fn returns false.
  Status Scan(std::string_view prefix,
              const std::function<bool(std::string_view, std::string_view)>& fn);
  void Drop() { it_.reset(); }
  bool kept() const { return it_ != nullptr; }

 private:
  const Store* store_;
  const Cf cf_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

}  // namespace crew::storage
