#include "storage/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>

#include <rocksdb/cache.h>
#include <rocksdb/comparator.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/utilities/table_properties_collectors.h>
#include <rocksdb/write_buffer_manager.h>
#include <spdlog/spdlog.h>

#include "storage/crc32c.h"
#include "storage/info_log.h"
#include "storage/memtable.h"
#include "storage/wal_spare.h"
#include "util/thread_name.h"

namespace crew::storage {

namespace {

constexpr const char* kSnapshotsDir = "snapshots";  // under the data dir (CreateSnapshot)

// Removes what CreateSnapshot makes under <dir>/snapshots: directories named by a number (and
// RocksDB's "<number>.tmp" while it builds one), then the directory itself if that emptied it.
// Nothing else: a data dir may be a directory that held other files before crew used it.
void RemoveLeftSnapshots(const std::string& dir) {
  const std::filesystem::path parent = std::filesystem::path(dir) / kSnapshotsDir;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(parent, ec)) {
    std::string name = entry.path().filename().string();
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0)
      name.resize(name.size() - 4);
    const bool ours = !name.empty() && name.find_first_not_of("0123456789") == std::string::npos;
    std::error_code ignored;
    if (ours && entry.is_directory(ignored)) std::filesystem::remove_all(entry.path(), ignored);
  }
  std::filesystem::remove(parent, ec);  // (only if empty)
}

// A store's files in `dir` when its CURRENT file (which names the live MANIFEST) is gone: a
// MANIFEST, table files or WALs. RocksDB would then make a new, empty store there and delete the
// table files as obsolete (create_if_missing), or refuse with "wal_dir contains existing log
// file". Empty: none (a new data dir, or a whole store).
std::string OrphanedStoreFiles(const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec) || ec) return "";
  size_t manifests = 0, tables = 0, logs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    // RocksDB's own: a number and the suffix (not a log of the operator's own, app.log)
    const auto ends = [&](std::string_view suffix) {
      return name.size() > suffix.size() &&
             name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
             name.find_first_not_of("0123456789") == name.size() - suffix.size();
    };
    manifests += name.rfind("MANIFEST-", 0) == 0;
    tables += ends(".sst") || ends(".ldb");
    logs += ends(".log");
  }
  // (a MANIFEST alone, a new store's creation cut short, holds no task: made again)
  if (!tables && !logs) return "";
  return std::to_string(manifests) + " MANIFEST, " + std::to_string(tables) + " table and " +
         std::to_string(logs) + " WAL file(s)";
}

// The pid of another process that holds RocksDB's fcntl lock on the data dir's LOCK file (a
// crew of a version before crew.lock, or any other RocksDB user), or 0.
// REQUIRES: this process holds no store on `dir` (closing the probe's descriptor would drop
// this process's own fcntl locks on the file): crew.lock says so.
pid_t DataDirHolder(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "LOCK").string();
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct flock lock = {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  const bool held = fcntl(fd, F_GETLK, &lock) == 0 && lock.l_type != F_UNLCK;
  close(fd);
  return held ? lock.l_pid : 0;
}

}  // namespace

// Taken before anything in the data dir is touched: RocksDB's own LOCK is taken inside DB::Open,
// after crew has moved LOG aside and prepared a WAL spare, so of two starts at once the one
// refused had already renamed the other's LOG and deleted its spare.
Result<DataDirLock> DataDirLock::Take(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / kDataDirLockFile).string();
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::IoError("cannot open data dir " + dir + ": cannot open " + path + ": " +
                           std::strerror(errno));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) {
      const std::string why = std::strerror(errno);
      close(fd);
      return Status::IoError("cannot open data dir " + dir + ": cannot lock " + path + ": " + why);
    }
    char pid[32] = {};
    const ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
    close(fd);
    std::string holder = n > 0 ? std::string(pid, static_cast<size_t>(n)) : "";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    return Status::Unavailable("cannot open data dir " + dir + ": in use by another process" +
                               (holder.empty() ? "" : " (pid " + holder + ")"));
  }
  if (const pid_t other = DataDirHolder(dir)) {
    close(fd);
    return Status::Unavailable("cannot open data dir " + dir + ": in use by another process (pid " +
                               std::to_string(other) + ")");
  }
  const std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // (the lock holds without the pid: only the message of a refused start lacks it)
  }
  return DataDirLock(fd);
}

DataDirLock& DataDirLock::operator=(DataDirLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) close(fd_);  // (the flock goes with it)
}

namespace {

Status FromRocks(const rocksdb::Status& s) {
  if (s.ok()) return Status::Ok();
  if (s.IsNotFound()) return Status::NotFound(s.ToString());
  if (s.IsCorruption()) return Status::Corruption(s.ToString());
  return Status::IoError(s.ToString());
}

// Queue-like column families: entries are written once and deleted once, mostly from the head.
bool IsQueueCf(int cf) {
  Cf c = static_cast<Cf>(cf);
  return c == Cf::kReady || c == Cf::kDelayed || c == Cf::kLeases || c == Cf::kKeys ||
         c == Cf::kParked;
}

// Column families whose every key starts with a 12-byte id and that are read only by scans of
// one id's entries (never by Get). Their bloom filters hold that prefix, not whole keys, so a
// scan of an id with no entries (a release looking for children that most tasks lack) is
// answered by the filters instead of a seek into every table file and level.
constexpr size_t kIdPrefixLen = 12;
bool IsIdPrefixedCf(int cf) { return static_cast<Cf>(cf) == Cf::kChildren; }

// Column families read by Get. Only their tables carry whole-key bloom filters: an iterator never
// consults one, so in the column families that are only scanned (the indexes, the queues) a
// filter was built at every flush and compaction, kept in memory by every table reader and
// written to disk for nothing. Measured with these table options on 1,000,000 index keys in 8
// overlapping flushes: flush CPU -11%, compaction CPU -16%, files -8%. (kChildren keeps its
// prefix filter: IsIdPrefixedCf.)
bool ReadByGet(int cf) {
  Cf c = static_cast<Cf>(cf);
  return c == Cf::kMeta || c == Cf::kTasks || c == Cf::kParents || c == Cf::kOperators;
}

// Column families written more than read, and read only at start-up or shutdown: kMeta
// ("last_id_us" with every create; the channel counters at a clean shutdown) and kGroups (the
// engine serves groups from its cache). Their memtables are vectors: an insert appends, with no
// skip-list search, and the vector is sorted once when it is read (at start-up, after a WAL replay)
// or flushed. A read of a vector memtable that is still being written sorts a copy of it, so a
// column family read at run time must not be one. Engine bench: acquire+release 26.0 -> 24.9 µs.
bool WrittenNotRead(int cf) {
  return static_cast<Cf>(cf) == Cf::kMeta || static_cast<Cf>(cf) == Cf::kGroups;
}

// The size of the table files a compaction writes (RocksDB's default: 64 MB). Task ids grow
// with time, so a flush of a drain's updates covers a narrow id range, and an L0->L1 compaction
// rewrites only the L1 files that overlap it. With 64 MB files, 1,000,000 tasks (~29 MB in
// W5) were one L1 file, rewritten whole by every compaction of the drain; with 4 MB files,
// W5's compactions wrote 76-87 MB instead of 203 MB, and their CPU went from 5.8-7.1 s to
// 2.3-3.1 s (bench/RESULTS.md, eighteenth session).
constexpr uint64_t kTargetFileBytes = 4 << 20;

}  // namespace

Result<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  std::unique_ptr<Store> store(new Store(options));

  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.bytes_per_sync = 1 << 20;
  db_options.max_total_wal_size = 256ull << 20;
  // RocksDB's own LOG in the data dir, written by InfoLog (info_log.h: a full disk must not
  // abort crew). Debian's librocksdb defaults to DEBUG level, which writes a line for every WAL
  // flush and sync (~14 bytes per task: gigabytes a day under load, and a formatted, timestamped
  // line on the write path). INFO keeps flushes, compactions and the periodic stats; the LOG
  // rolls at 16 MB and the 5 newest are kept.
  std::error_code dir_error;
  std::filesystem::create_directories(options.dir, dir_error);  // (Open reports a failure)
  if (!dir_error && !options.dir_locked) {
    ASSIGN_OR_RETURN(store->dir_lock_, DataDirLock::Take(options.dir));
  }
  if (std::string orphaned = OrphanedStoreFiles(options.dir); !orphaned.empty()) {
    return Status::Corruption("cannot open data dir " + options.dir +
                              ": it holds a store's files (" + orphaned +
                              ") but no CURRENT file, which names the store's MANIFEST; restore "
                              "it (or the data dir from a backup): a new store there would delete "
                              "them");
  }
  db_options.info_log = InfoLog::Open(options.dir, 16 << 20, 5);
  db_options.write_buffer_manager =
      std::make_shared<rocksdb::WriteBufferManager>(options.write_buffer_mb << 20);
  db_options.avoid_unnecessary_blocking_io = true;
  db_options.allow_concurrent_memtable_write = false;  // (one writer; and vector memtables)
  db_options.manual_wal_flush = true;  // Write() or FlushWal() hands appends to the OS

  // A spare only makes the syncs on an answer's path cheaper. Relaxed durability has none there
  // (a background sync every 100 ms), and a spare would cost a zero-fill of wal_spare_mb at
  // every WAL switch: in a relaxed W1,W3 run, 1 GB of zeros against 0.4 GB of data and tables.
  if (options.wal_spare_mb > 0 && !options.relaxed_durability) {
    store->wal_fs_ = std::make_shared<WalSpareFileSystem>(
        rocksdb::FileSystem::Default(), options.dir, uint64_t{options.wal_spare_mb} << 20);
    store->env_ = rocksdb::NewCompositeEnv(store->wal_fs_);
    db_options.env = store->env_.get();
  }

  auto cache = rocksdb::NewLRUCache(options.block_cache_mb << 20);
  const auto skip_list = NewSkipListMemtableFactory();
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (int i = 0; i < kNumCfs; ++i) {
    rocksdb::ColumnFamilyOptions cf_options;
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = cache;
    if (ReadByGet(i) || IsIdPrefixedCf(i)) {
      table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    }
    // Index and filter blocks live with their table readers, not in the block cache: a filter
    // of a large table file (1.25 MB per million keys) is bigger than one shard of the sharded
    // LRU cache, so it was read and decompressed from the file on every Get (W5's drain of
    // 1,000,000 tasks slowed to a tenth). They cost ~1.5 bytes per stored key of memory.
    table.cache_index_and_filter_blocks = false;
    if (IsIdPrefixedCf(i)) {
      cf_options.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(kIdPrefixLen));
      cf_options.memtable_prefix_bloom_size_ratio = 0.02;
      table.whole_key_filtering = false;
    }
    cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    cf_options.write_buffer_size = 16 << 20;
    cf_options.target_file_size_base = kTargetFileBytes;
    cf_options.compression = rocksdb::kLZ4Compression;
    if (WrittenNotRead(i)) {
      cf_options.memtable_factory = std::make_shared<rocksdb::VectorRepFactory>();
    } else if (cf_options.comparator == rocksdb::BytewiseComparator()) {
      // memtable.h: faster than RocksDB's skip list, as Debian builds it.
      cf_options.memtable_factory = skip_list;
    }
    if (IsQueueCf(i)) {
      // The LSM queue trap (DESIGN.md): compact files dense with tombstones early.
      cf_options.table_properties_collector_factories.emplace_back(
          rocksdb::NewCompactOnDeletionCollectorFactory(4096, 1024, 0.3));
    }
    descriptors.emplace_back(CfName(static_cast<Cf>(i)), cf_options);
  }

  rocksdb::DB* raw = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s = rocksdb::DB::Open(db_options, options.dir, descriptors, &handles, &raw);
  if (!s.ok()) return Status::IoError("cannot open data dir " + options.dir + ": " + s.ToString());
  store->db_.reset(raw);
  // (Also what links crc32c.cc's definitions ahead of RocksDB's: see crc32c.h.)
  spdlog::debug("RocksDB's CRC32C runs on the {}",
                Crc32cOnHardware() ? "crc32 instruction" : "table (no SSE4.2)");
  store->handles_ = std::move(handles);
  store->durable_seq_ = raw->GetLatestSequenceNumber();
  // Snapshots a crash left behind (nothing else uses them: the DB's LOCK is ours now), and a
  // WAL spare an earlier start left if this one keeps none.
  RemoveLeftSnapshots(options.dir);
  if (!store->wal_fs_) WalSpareFileSystem::Discard(options.dir);
  store->background_sync_ = std::thread([st = store.get()] {
    SetThreadName("crew-bgsync");
    st->BackgroundSyncLoop();
  });
  return store;
}

Store::~Store() {
  {
    std::lock_guard<std::mutex> lock(sync_mu_);
    stopping_ = true;
  }
  lazy_cv_.notify_all();
  if (background_sync_.joinable()) background_sync_.join();
  if (db_) {
    if (wal_fs_) wal_fs_->StopPreparing();  // the final flush's new WAL needs no spare
    (void)SyncNow();
    // Memtables to table files, so the next start has no WAL to replay (with 1,000,000 tasks
    // the replay took a second of the start-up); after a crash the WAL is replayed as usual.
    rocksdb::FlushOptions flush;
    flush.allow_write_stall = true;
    (void)db_->Flush(flush, handles_);
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close();
  }
}

Result<std::optional<std::string>> Store::Get(Cf cf, std::string_view key) const {
  if (before_read_) before_read_(cf);
  return GetWritten(cf, key);
}

Status Store::RangeWritten(
    Cf cf, std::string_view lower, std::string_view upper,
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  rocksdb::Slice lower_slice(lower.data(), lower.size()), upper_slice(upper.data(), upper.size());
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower_slice;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, handle(cf)));
  for (it->Seek(lower_slice); it->Valid(); it->Next()) {
    if (!fn(it->key().ToStringView(), it->value().ToStringView())) break;
  }
  return FromRocks(it->status());
}

Result<std::optional<std::string>> Store::GetWritten(Cf cf, std::string_view key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), handle(cf), key, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s);
  return std::optional<std::string>(std::move(value));
}

Result<std::pair<std::optional<std::string>, std::optional<std::string>>> Store::GetTogether(
    Cf a, Cf b, std::string_view key) const {
  if (before_read_) {
    before_read_(a);
    before_read_(b);
  }
  rocksdb::ManagedSnapshot snapshot(db_.get());
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot.snapshot();
  std::pair<std::optional<std::string>, std::optional<std::string>> out;
  for (auto [cf, value] : {std::pair{a, &out.first}, std::pair{b, &out.second}}) {
    std::string v;
    rocksdb::Status s = db_->Get(ro, handle(cf), key, &v);
    if (s.ok()) {
      *value = std::move(v);
    } else if (!s.IsNotFound()) {
      return FromRocks(s);
    }
  }
  return out;
}

Status Store::Scan(Cf cf, std::string_view prefix, bool reverse,
                   const std::function<bool(std::string_view, std::string_view)>& fn) const {
  if (before_read_) before_read_(cf);
  std::string lower(prefix), upper = PrefixEnd(prefix);
  rocksdb::Slice lower_slice(lower), upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower_slice;
  if (!upper.empty()) ro.iterate_upper_bound = &upper_slice;
  // Every key in range shares the seek key's first 12 bytes: the prefix filters may answer.
  ro.prefix_same_as_start = IsIdPrefixedCf(static_cast<int>(cf)) && prefix.size() >= kIdPrefixLen;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, handle(cf)));
  if (reverse) {
    for (it->SeekToLast(); it->Valid(); it->Prev()) {
      if (!fn(it->key().ToStringView(), it->value().ToStringView())) break;
    }
  } else {
    for (it->Seek(lower_slice); it->Valid(); it->Next()) {
      if (!fn(it->key().ToStringView(), it->value().ToStringView())) break;
    }
  }
  return FromRocks(it->status());
}

Status KeptScan::Scan(std::string_view prefix,
                      const std::function<bool(std::string_view, std::string_view)>& fn) {
  // (prefix_same_as_start: only with a whole id, as Store::Scan)
  const bool by_prefix = IsIdPrefixedCf(static_cast<int>(cf_));
  if (by_prefix && prefix.size() < kIdPrefixLen) return store_->Scan(cf_, prefix, false, fn);
  if (store_->before_read_) store_->before_read_(cf_);
  if (it_ && !it_->Refresh().ok()) it_.reset();
  if (!it_) {
    rocksdb::ReadOptions ro;
    ro.prefix_same_as_start = by_prefix;
    it_.reset(store_->db_->NewIterator(ro, store_->handle(cf_)));
  }
  for (it_->Seek(rocksdb::Slice(prefix.data(), prefix.size()));
       it_->Valid() && it_->key().starts_with(rocksdb::Slice(prefix.data(), prefix.size()));
       it_->Next()) {
    if (!fn(it_->key().ToStringView(), it_->value().ToStringView())) break;
  }
  Status s = FromRocks(it_->status());
  if (!s.ok()) it_.reset();
  return s;
}

std::unique_ptr<rocksdb::Iterator> Store::NewIterator(Cf cf, const rocksdb::ReadOptions& ro) const {
  if (before_read_) before_read_(cf);
  return std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(ro, handle(cf)));
}

Status Store::Write(rocksdb::WriteBatch* batch, uint64_t* seq, bool flush) {
  {
    std::lock_guard<std::mutex> lock(sync_mu_);
    if (!sticky_error_.ok()) return sticky_error_;
  }
  rocksdb::WriteOptions wo;
  wo.sync = false;
  rocksdb::Status s = db_->Write(wo, batch);
  if (!s.ok()) {
    std::lock_guard<std::mutex> lock(sync_mu_);
    return Refuse("storage write failed", s);
  }
  *seq = db_->GetLatestSequenceNumber();
  wal_writes_.fetch_add(1, std::memory_order_relaxed);
  wal_buffered_.store(true, std::memory_order_release);
  return flush ? FlushWal() : Status::Ok();
}

Status Store::FlushWal() {
  // Held while flushing: a caller that finds nothing buffered because another one is handing it
  // over returns only once that is done (its own appends may be in it).
  std::lock_guard<std::mutex> flushing(flush_mu_);
  if (!wal_buffered_.exchange(false, std::memory_order_acq_rel)) return Status::Ok();
  rocksdb::Status s = db_->FlushWAL(false);
  if (s.ok()) return Status::Ok();
  std::lock_guard<std::mutex> lock(sync_mu_);
  return Refuse("WAL write failed", s);
}

Status Store::Refuse(const char* what, const rocksdb::Status& s) {
  sticky_error_ = Status::Unavailable(std::string(what) + ", refusing writes: " + s.ToString());
  failed_.store(true, std::memory_order_release);
  spdlog::error("{}", sticky_error_.message());
  return sticky_error_;
}

Status Store::WaitDurable(uint64_t seq) {
  if (options_.relaxed_durability) return Status::Ok();
  std::unique_lock<std::mutex> lock(sync_mu_);
  return SyncUpTo(lock, seq);
}

bool Store::SyncSoon(uint64_t seq) {
  if (options_.relaxed_durability) return true;
  std::lock_guard<std::mutex> lock(sync_mu_);
  if (durable_seq_ >= seq) return true;
  if (seq > lazy_seq_) {
    // Wake the background thread only when it waits for a first lazy write: otherwise it is
    // already counting down kLazySyncDelay and syncs up to lazy_seq_ as it is then. (Not
    // `lazy_seq_ <= durable_seq_`: a sync for other writes makes that true while the thread
    // counts down, and an acquire then woke it for nothing.)
    lazy_seq_ = seq;
    if (lazy_idle_) lazy_cv_.notify_one();
  }
  return false;
}

void Store::SetOnDurable(std::function<void(uint64_t)> fn) {
  std::lock_guard<std::mutex> lock(on_durable_mu_);
  on_durable_ = std::move(fn);
}

Status Store::SyncNow() {
  std::unique_lock<std::mutex> lock(sync_mu_);
  return SyncUpTo(lock, db_->GetLatestSequenceNumber());
}

Status Store::SyncUpTo(std::unique_lock<std::mutex>& lock, uint64_t seq) {
  while (durable_seq_ < seq) {
    if (!sticky_error_.ok()) return sticky_error_;
    if (sync_running_) {
      sync_cv_.wait(lock);
      continue;
    }
    // Leader: one sync covers every write appended so far.
    sync_running_ = true;
    uint64_t target = db_->GetLatestSequenceNumber();
    lock.unlock();
    const auto started = std::chrono::steady_clock::now();
    rocksdb::Status s = db_->FlushWAL(true);  // (hands the buffered appends over first)
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    lock.lock();
    sync_running_ = false;
    ++wal_syncs_;
    wal_sync_seconds_ += took.count();
    if (s.ok()) {
      durable_seq_ = std::max(durable_seq_, target);
    } else {
      (void)Refuse("WAL sync failed", s);  // (returned below)
    }
    sync_cv_.notify_all();  // (a lazy write covered here is published by the background
  }                         //  thread at the end of its wait, or by a later writer)
  return sticky_error_.ok() ? Status::Ok() : sticky_error_;
}

// Relaxed durability: syncs every 100 ms. Full durability: syncs what SyncSoon asked for, unless
// another sync covered it within kLazySyncDelay. Then says how far the WAL is synced.
void Store::BackgroundSyncLoop() {
  std::unique_lock<std::mutex> lock(sync_mu_);
  while (!stopping_) {
    if (options_.relaxed_durability) {
      lazy_cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping_; });
    } else {
      lazy_idle_ = true;
      lazy_cv_.wait(lock, [this] { return stopping_ || lazy_seq_ > durable_seq_; });
      lazy_idle_ = false;
      lazy_cv_.wait_for(lock, kLazySyncDelay,
                        [this] { return stopping_ || lazy_seq_ <= durable_seq_; });
    }
    if (stopping_) break;
    const uint64_t target =
        options_.relaxed_durability ? db_->GetLatestSequenceNumber() : lazy_seq_;
    if (!SyncUpTo(lock, target).ok()) {
      // Sticky: every write is refused from now on and nothing more becomes durable.
      lazy_cv_.wait(lock, [this] { return stopping_; });
      break;
    }
    const uint64_t durable = durable_seq_;
    lock.unlock();
    {
      std::lock_guard<std::mutex> callback_lock(on_durable_mu_);
      if (on_durable_) on_durable_(durable);
    }
    lock.lock();
  }
}

Result<std::string> Store::CreateSnapshot() {
  std::error_code ec;
  const std::filesystem::path parent = std::filesystem::path(options_.dir) / kSnapshotsDir;
  std::filesystem::create_directories(parent, ec);
  if (ec) return Status::IoError("cannot create " + parent.string() + ": " + ec.message());
  const std::string dir = (parent / std::to_string(++snapshot_seq_)).string();
  std::filesystem::remove_all(dir, ec);
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(db_.get(), &raw);
  if (!s.ok()) return FromRocks(s);
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  s = cp->CreateCheckpoint(dir);
  if (!s.ok()) {
    RemoveSnapshot(dir);
    return FromRocks(s);
  }
  return dir;
}

void Store::RemoveSnapshot(const std::string& snapshot_dir) const {
  std::error_code ec;
  std::filesystem::remove_all(snapshot_dir, ec);
  if (ec) spdlog::warn("cannot remove snapshot {}: {}", snapshot_dir, ec.message());
}

Status Store::WriteError() const {
  std::lock_guard<std::mutex> lock(sync_mu_);
  return sticky_error_;
}

StoreStats Store::Stats() const {
  StoreStats st;
  auto prop = [this](const std::string& name) {
    uint64_t v = 0;
    return db_->GetAggregatedIntProperty(name, &v) ? v : 0;
  };
  st.estimate_num_keys = prop(rocksdb::DB::Properties::kEstimateNumKeys);
  st.live_data_bytes = prop(rocksdb::DB::Properties::kEstimateLiveDataSize);
  st.sst_files_bytes = prop(rocksdb::DB::Properties::kTotalSstFilesSize);
  st.memtable_bytes = prop(rocksdb::DB::Properties::kCurSizeAllMemTables);
  st.pending_compaction_bytes = prop(rocksdb::DB::Properties::kEstimatePendingCompactionBytes);
  std::lock_guard<std::mutex> lock(sync_mu_);
  st.write_error = !sticky_error_.ok();
  st.wal_syncs = wal_syncs_;
  st.wal_sync_seconds = wal_sync_seconds_;
  st.wal_writes = wal_writes_.load(std::memory_order_relaxed);
  if (wal_fs_) {
    st.wal_files_prepared = wal_fs_->prepared();
    st.wal_files_unprepared = wal_fs_->unprepared();
  }
  return st;
}

}  // namespace crew::storage
