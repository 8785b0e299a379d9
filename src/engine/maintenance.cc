// Lease expiry, delayed-task promotion and expired-group cleanup, and the thread that runs them
// (SPEC D2, D13).
#include <charconv>
#include <chrono>
#include <climits>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "engine/txn.h"
#include "util/coding.h"
#include "util/json_text.h"
#include "util/memory.h"
#include "util/thread_name.h"

namespace crew::engine {

using storage::Cf;

namespace {

// Visits the entries of the delayed queue (kDelayed) from `floor` while their time is
// strictly before `now`, at most `limit` of them. `*next_floor` is where the next scan may start:
// the first key not visited (the limit stopped the scan, or the key is not due yet), or past
// every key when none is left (a key added later lowers the floor again: Txn::Commit). So the
// deletes of every delay already over (tombstones, until a compaction drops them) are walked
// once, not again at every maintenance tick and by every NextTimer.
Status ScanDue(storage::Store* store, const std::string& floor, int64_t now, int limit,
               const std::function<Status(const std::string&, const Id&)>& fn,
               std::string* next_floor) {
  rocksdb::ReadOptions ro;
  auto it = store->NewIterator(Cf::kDelayed, ro);
  int n = 0;
  for (it->Seek(floor);; it->Next(), ++n) {
    if (!it->Valid()) {
      if (!it->status().ok()) return Status::IoError(it->status().ToString());
      *next_floor = storage::PastEveryTimeKey();
      return Status::Ok();
    }
    std::string key = it->key().ToString();
    if (n == limit || storage::TimeOf(key) >= now) {
      *next_floor = std::move(key);
      return Status::Ok();
    }
    RETURN_IF_ERROR(fn(key, storage::TrailingId(key)));
  }
}

// The seconds as JavaScript prints them (reference §4.7): 60, 1.5, 0.25, 100000.
std::string LeaseMessage(int64_t lease_ms) {
  char secs[32];
  char* end = ToJsNumber(static_cast<double>(lease_ms) / 1000, secs);
  return "Task not completed in " + std::string(secs, end) + " seconds.";
}

}  // namespace

// A delayed task whose time has come is only loaded: Commit re-places it (ready, parked, or
// delayed again by a later workgroup delay). The ready tasks set aside behind a workgroup delay
// that is over (or was forgotten) go back to their queues (not counted: no Txn holds them).
Result<int64_t> Engine::PromoteDue(int limit) {
  return Write<int64_t>([&](Txn& txn) -> Result<int64_t> {
    for (auto it = aside_workgroups_.begin(); it != aside_workgroups_.end();) {
      auto until = workgroup_until_hash_.find(it->first);
      if (until != workgroup_until_hash_.end() && until->second >= txn.now()) {
        ++it;
        continue;
      }
      PutBack(it->second, &txn.ready_channels());
      it = aside_workgroups_.erase(it);
    }
    int64_t count = 0;
    std::string floor;
    RETURN_IF_ERROR(ScanDue(
        store_, delayed_floor_, txn.now(), limit,
        [&](const std::string& key, const Id& id) -> Status {
          ASSIGN_OR_RETURN(Task * t, txn.Find(id));
          if (!t || t->placement != Placement::kDelayed || storage::TimeKey(t->due, id) != key) {
            txn.DeleteIndexKey(Cf::kDelayed, key);
          }
          ++count;
          return Status::Ok();
        },
        &floor));
    txn.SetDelayedFloor(std::move(floor));
    return count;
  });
}

// D2: a task held past its lease is freed with one attempt used and an error recorded; the
// duplicates locked with it (same channel, key and worker) are freed the same way.
Status Engine::FreeAbandoned(Txn& txn, Task* t) {
  const std::string worker = *t->assigned_to;
  const std::string error = JsonQuote(LeaseMessage(options_.lease_ms));
  std::vector<Id> targets;
  RETURN_IF_ERROR(txn.WithDuplicates(*t, &targets));
  for (const Id& id : targets) {
    ASSIGN_OR_RETURN(Task * x, txn.Get(id));
    if (x->assigned_to != worker || x->is_complete) continue;
    x->assigned_to.reset();
    x->assigned_at.reset();
    x->lease_expires_at = 0;
    x->remaining_attempts -= 1;
    x->errors.push_back(error);
    txn.EmitTask("task:update", id);
  }
  return Status::Ok();
}

// The lease index (Engine::leases_) in order of expiry: each lease over is freed; an entry that
// names no lease (its task freed with its key holder earlier in this pass, or a stale one from
// LoadLeases) is dropped.
Result<int64_t> Engine::ExpireLeases(int limit) {
  RETURN_IF_ERROR(LoadLeases());
  return Write<int64_t>([&](Txn& txn) -> Result<int64_t> {
    std::vector<LeaseKey> due;
    for (auto it = leases_.begin();
         it != leases_.end() && it->first < txn.now() && static_cast<int>(due.size()) < limit;
         ++it) {
      due.push_back(*it);
    }
    int64_t count = 0;
    for (const auto& [expires_at, id] : due) {
      ASSIGN_OR_RETURN(Task * t, txn.Find(id));
      if (!t || !t->assigned() || t->is_complete || t->lease_expires_at != expires_at) {
        txn.DropLease(expires_at, id);
        continue;
      }
      ++count;
      RETURN_IF_ERROR(FreeAbandoned(txn, t));
    }
    txn.counts().leases_expired += count;
    return count;
  });
}

// Runs once per Engine, from the first ExpireLeases or NextTimer. The scan reads a snapshot,
// without the writer's lock: a lease begun since is in the index already (its commit put it there),
// and one ended since comes back stale, which ExpireLeases drops.
Status Engine::LoadLeases() {
  if (leases_loaded_.load(std::memory_order_acquire)) return Status::Ok();
  std::lock_guard<std::mutex> once(leases_load_mu_);
  if (leases_loaded_.load(std::memory_order_relaxed)) return Status::Ok();
  const auto started = std::chrono::steady_clock::now();
  std::vector<LeaseKey> held;
  int64_t records = 0, undecodable = 0;
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;  // a one-off read of every task: keep the block cache for the hot ones
  {
    auto it = store_->NewIterator(Cf::kTasks, ro);
    Task t;  // reused: its strings keep their capacity from record to record
    uint32_t stored_parents;
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++records) {
      if (records % 65536 == 65535 && MaintenanceStopping()) {
        return Status::Unavailable("stopping");  // a stop (SIGTERM) does not wait for the scan
      }
      if (!DecodeTask(it->value().ToStringView(), &t, &stored_parents).ok()) {
        ++undecodable;
      } else if (t.assigned() && !t.is_complete) {
        held.emplace_back(t.lease_expires_at, t.id);
      }
    }
    if (!it->status().ok()) return Status::IoError(it->status().ToString());
  }
  if (undecodable) {
    spdlog::error("leases: {} undecodable task records skipped; their leases will not expire",
                  undecodable);
  }
  // Entries in kLeases, the lease index earlier builds kept in the store, are dropped: nothing
  // reads it now.
  rocksdb::WriteBatch legacy;
  {
    auto it = store_->NewIterator(Cf::kLeases, ro);
    for (it->SeekToFirst(); it->Valid(); it->Next())
      legacy.Delete(store_->handle(Cf::kLeases), it->key());
    if (!it->status().ok()) return Status::IoError(it->status().ToString());
  }
  int64_t earliest = INT64_MAX;
  {
    std::lock_guard<std::mutex> lock(write_mu_);  // the store's writes are the writer's
    if (legacy.Count() > 0) {
      uint64_t seq;
      RETURN_IF_ERROR(store_->Write(&legacy, &seq));
    }
    for (const LeaseKey& k : held) {
      leases_.insert(k);
      earliest = std::min(earliest, k.first);
    }
  }
  leases_loaded_.store(true, std::memory_order_release);
  if (earliest != INT64_MAX) WakeMaintenance(earliest + 1);
  if (records > 0) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
    spdlog::info("leases: {} held tasks read back from {} task records in {} ms", held.size(),
                 records, ms);
  }
  return Status::Ok();
}

// Counts every task into its channel's and its group's counters (`counters`), puts every ready
// one in its channel's ready queue (`ready`), and builds kKeys' index of held keyed tasks anew
// (`held`; Txn::FindKeyHolder): at start-up after anything but a clean shutdown (a crash, a
// restored backup, a data dir of an older version, which keeps no held index). One scan of the
// tasks (a read of each keyed task by its key entry instead took 5.7 s for 1,000,000 of them).
Status Engine::Recount(bool counters, bool ready, bool held) {
  if (counters) {
    channels_.clear();
    for (auto& [id, g] : groups_) g.stats = GroupStats();
  }
  if (ready) ready_.clear();
  rocksdb::WriteBatch index;
  rocksdb::ColumnFamilyHandle* keys = store_->handle(Cf::kKeys);
  if (held) {  // the index as it was goes first (0xFF sorts after every key entry)
    RETURN_IF_ERROR(store_->Scan(Cf::kKeys, storage::kHeldPrefix, false,
                                 [&](std::string_view k, std::string_view) {
                                   index.Delete(keys, rocksdb::Slice(k.data(), k.size()));
                                   return true;
                                 }));
  }
  int64_t held_count = 0;
  Status decode_status;
  Task t;  // reused: its strings keep their capacity from record to record
  // The group of the previous record: tasks made together (a batch) are stored together.
  auto group = groups_.end();
  RETURN_IF_ERROR(store_->Scan(Cf::kTasks, "", false, [&](std::string_view, std::string_view v) {
    uint32_t stored_parents;
    decode_status = DecodeTask(v, &t, &stored_parents);
    if (!decode_status.ok()) return false;
    if (counters) {
      ChannelStats& c = channels_[t.channel];
      c.name = t.channel;
      if (group == groups_.end() || group->first != t.group_id) group = groups_.find(t.group_id);
      CountTask(t, +1, &c, group != groups_.end() ? &group->second.stats : nullptr);
    }
    if (ready && t.placement == Placement::kReady) {
      // (records come in id order: of one priority, each sorts last so far, and the hint makes
      // its insert constant-time instead of a search of the channel's queue)
      std::set<ReadyEntry>& queue = ready_[t.channel];
      queue.insert(queue.end(), {t.priority, t.id, t.group_id, WorkgroupHash(t.workgroup)});
    }
    if (held && t.key && !t.is_complete && t.assigned()) {
      index.Put(keys, storage::HeldEntry(t.channel, *t.key, t.id), rocksdb::Slice());
      ++held_count;
    }
    return true;
  }));
  RETURN_IF_ERROR(decode_status);
  if (index.Count() == 0) return Status::Ok();
  uint64_t seq;
  RETURN_IF_ERROR(store_->Write(&index, &seq));
  RETURN_IF_ERROR(store_->WaitDurable(seq));
  if (held_count > 0) spdlog::info("keys: {} held duplicates indexed", held_count);
  return Status::Ok();
}

Result<int64_t> Engine::CleanExpiredGroups(int limit) {
  int64_t cutoff = clock_->NowMs() - options_.expired_group_age_ms;
  std::vector<Id> expired;
  {
    std::shared_lock lock(cache_mu_);
    for (const auto& [id, group] : groups_) {
      if (IdSource::CreatedMs(id) >= cutoff) break;  // ids sort by creation time
      expired.push_back(id);
      if (static_cast<int>(expired.size()) >= limit) break;
    }
  }
  int64_t count = 0;
  for (const Id& id : expired) {
    Status s = DeleteGroup(id);
    if (s.ok()) {
      ++count;
    } else if (s.code() != Code::kNotFound) {
      return s;
    }
  }
  return count;
}

// A workgroup delay that is over changes nothing (Txn::PlaceOf, Txn::FillDerived), but each
// workgroup ever delayed would otherwise stay in kWorkgroups and the writer's map for good.
Result<int64_t> Engine::ForgetPastWorkgroupDelays(int limit) {
  return Write<int64_t>([&](Txn& txn) -> Result<int64_t> {
    std::vector<std::string> past;  // (read under the writer's lock: only a commit changes it)
    {
      std::shared_lock lock(cache_mu_);
      for (const auto& [wg, until] : workgroup_until_) {
        if (static_cast<int>(past.size()) >= limit) break;
        if (until < txn.now()) past.push_back(wg);
      }
    }
    for (const std::string& wg : past) txn.ForgetWorkgroup(wg);
    return static_cast<int64_t>(past.size());
  });
}

int64_t Engine::NextTimer() {
  Status loaded = LoadLeases();
  if (!loaded.ok()) spdlog::error("leases: {}", loaded.ToString());
  int64_t next = INT64_MAX;
  std::string floor;
  {
    std::lock_guard<std::mutex> lock(write_mu_);  // the floor and the lease index are writer state
    floor = delayed_floor_;
    // (each is due strictly after its time: the loop woken at the time itself found nothing
    // due and asked again, spinning for up to a millisecond at every distinct time, a core's
    // worth for a stream of delayed tasks)
    if (!leases_.empty()) next = leases_.begin()->first + 1;
    for (const auto& aside : aside_workgroups_) {
      auto until = workgroup_until_hash_.find(aside.first);
      next = std::min(next, until == workgroup_until_hash_.end() ? 0 : until->second + 1);
    }
  }
  auto it = store_->NewIterator(Cf::kDelayed, rocksdb::ReadOptions());
  it->Seek(floor);
  if (it->Valid() && it->key().size() >= 8)
    next = std::min(next, storage::TimeOf(it->key().ToStringView()) + 1);
  return next;
}

size_t Engine::ReadyChannelCount() {
  std::lock_guard<std::mutex> lock(write_mu_);  // the ready queues are writer state
  return ready_.size();
}

std::vector<Id> Engine::ReadyTasks(const std::string& channel, bool set_aside) {
  std::lock_guard<std::mutex> lock(write_mu_);
  std::vector<Id> out;
  if (auto it = ready_.find(channel); it != ready_.end()) {
    for (const ReadyEntry& e : it->second) out.push_back(e.id);
  }
  auto add = [&](const AsideEntries& entries) {
    if (auto it = entries.find(channel); it != entries.end()) {
      for (const ReadyEntry& e : it->second) out.push_back(e.id);
    }
  };
  if (set_aside) {
    for (const auto& [group, entries] : aside_groups_) add(entries);
    for (const auto& [hash, entries] : aside_workgroups_) add(entries);
  }
  return out;
}

// The maintenance thread (SPEC D13).

void Engine::StartMaintenance() {
  {
    std::lock_guard<std::mutex> lock(maint_mu_);
    maint_stop_ = false;
  }
  maint_thread_ = std::thread([this] {
    SetThreadName("crew-maint");
    MaintenanceLoop();
  });
}

void Engine::StopMaintenance() {
  {
    std::lock_guard<std::mutex> lock(maint_mu_);
    maint_stop_ = true;
  }
  maint_cv_.notify_all();
  if (maint_thread_.joinable()) maint_thread_.join();
}

bool Engine::MaintenanceStopping() {
  std::lock_guard<std::mutex> lock(maint_mu_);
  return maint_stop_;
}

void Engine::WakeMaintenance(int64_t at_ms) {
  std::lock_guard<std::mutex> lock(maint_mu_);
  if (at_ms < maint_wake_at_) {
    maint_wake_at_ = at_ms;
    maint_cv_.notify_all();
  }
}

void Engine::MaintenanceLoop() {
  constexpr int kBatch = 1000;
  constexpr int64_t kDecayEveryMs = 5000;
  int64_t next_clean = clock_->NowMs() + 60'000;  // let a restarted server settle first
  int64_t next_decay = 0;
  std::unique_lock<std::mutex> lock(maint_mu_);
  while (!maint_stop_) {
    maint_wake_at_ = clock_->NowMs() + 1000;  // re-check at least every second
    lock.unlock();
    bool more = false, backoff = false;
    auto promoted = PromoteDue(kBatch);
    auto expired = ExpireLeases(kBatch);
    if (!promoted.ok() || !expired.ok()) {
      if (MaintenanceStopping()) break;  // (a lease read-back cut short by the stop)
      if (store_->failed()) return IdleUntilStopped();
      spdlog::error("maintenance: {}",
                    (!promoted.ok() ? promoted.status() : expired.status()).ToString());
      backoff = true;  // (the timer NextTimer answers is still due: tried again in a second)
    } else {
      more = *promoted == kBatch || *expired == kBatch;
    }
    if (clock_->NowMs() >= next_clean) {
      if (options_.clean_expired_groups && options_.scheduled_clean) {
        auto cleaned = CleanExpiredGroups(options_.clean_batch);
        if (cleaned.ok() && *cleaned)
          spdlog::info("maintenance: deleted {} expired groups", *cleaned);
      }
      Result<int64_t> forgot = 0;
      do {
        forgot = ForgetPastWorkgroupDelays(kBatch);
      } while (forgot.ok() && *forgot == kBatch);
      if (!forgot.ok()) spdlog::error("maintenance: {}", forgot.status().ToString());
      next_clean = clock_->NowMs() + options_.clean_interval_ms;
    }
    if (clock_->NowMs() >= next_decay) {
      DecayFreedMemory();  // (the arenas no thread allocates from: util/memory.h)
      next_decay = clock_->NowMs() + kDecayEveryMs;
    }
    {
      std::lock_guard<std::mutex> write_lock(write_mu_);
      if (!children_scanned_) children_scan_.Drop();  // (idle: let go of what it holds)
      children_scanned_ = false;
    }
    int64_t next_timer = NextTimer();
    lock.lock();
    if (more) continue;
    if (!backoff) maint_wake_at_ = std::min(maint_wake_at_, next_timer);
    while (!maint_stop_) {
      int64_t wait_ms = maint_wake_at_ - clock_->NowMs();
      if (wait_ms <= 0) break;
      maint_cv_.wait_for(lock, std::chrono::milliseconds(wait_ms));
    }
  }
}

// Once the store refuses writes, every pass would fail (and, a lease or delay being due, at
// once, again and again) until a restart (README "A full disk"): say so once and wait to be
// stopped. (The store logged the cause.)
void Engine::IdleUntilStopped() {
  spdlog::warn("maintenance: paused until a restart, as the store refuses writes");
  std::unique_lock<std::mutex> lock(maint_mu_);
  maint_cv_.wait(lock, [this] { return maint_stop_; });
}

}  // namespace crew::engine
