#include "engine/engine.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <iterator>

#include <spdlog/spdlog.h>

#include "engine/txn.h"
#include "util/coding.h"

namespace crew::engine {

using storage::Cf;

namespace {

// The counters of a channel: kMeta "chan/<name>", EncodeChannelStats.
constexpr std::string_view kChannelStatsPrefix = "chan/";
// In kMeta while the counters stored (the channels' records, the groups' stats) are those of the
// tasks: written by SaveCounters at a clean shutdown, deleted by the next start-up's Load. ("2":
// a held task counts as failed no more; the counters an older version saved, under the first
// name, are counted anew.)
constexpr std::string_view kCountersSaved = "counters_saved2";
constexpr std::string_view kCountersSavedBefore = "counters_saved";
// The same for the ready queues (Engine::ready_): kMeta "ready/" str(channel) fixed32(chunk)
// holds up to kReadyChunk entries of the channel's queue, each ordered(priority) id(12)
// group(12) fixed64(workgroup hash), in order. (A separate marker: a data dir a version without
// them shut down has counters only. "2": entries with their group and workgroup; the queues an
// older version saved are rebuilt.)
constexpr std::string_view kReadySaved = "ready_saved2";
constexpr std::string_view kReadySavedBefore = "ready_saved";
constexpr std::string_view kReadyPrefix = "ready/";
constexpr size_t kReadyChunk = 4096;
constexpr size_t kReadyEntrySize = 8 + 12 + 12 + 8;

}  // namespace

Engine::Engine(storage::Store* store, const Clock* clock, EngineOptions options)
    : store_(store),
      clock_(clock),
      options_(options),
      ids_(clock),
      children_scan_(store, storage::Cf::kChildren) {}

Engine::~Engine() {
  StopMaintenance();
  {
    std::lock_guard<std::mutex> lock(write_mu_);  // (a gathering thread that never ended its turn)
    uint64_t seq;
    (void)WriteGathered(true, &seq);
    children_scan_.Drop();
  }
  store_->SetBeforeRead(nullptr);
  store_->SetOnDurable(nullptr);
}

Result<std::unique_ptr<Engine>> Engine::Open(storage::Store* store, const Clock* clock,
                                             EngineOptions options) {
  std::unique_ptr<Engine> engine(new Engine(store, clock, options));
  RETURN_IF_ERROR(engine->Load());
  store->SetOnDurable([e = engine.get()](uint64_t seq) { e->Publish(seq); });
  store->SetBeforeRead([e = engine.get()](storage::Cf cf) { e->SeeOwnWrites(cf); });
  RETURN_IF_ERROR(engine->FinishGroupOps());
  return engine;
}

Status Engine::Load() {
  next_group_op_ = static_cast<uint64_t>(clock_->NowMs()) * 1000;
  ASSIGN_OR_RETURN(auto schema, store_->Get(Cf::kMeta, "schema"));
  if (!schema) {
    std::string v(1, static_cast<char>(storage::kSchemaVersion));
    rocksdb::WriteBatch b;
    b.Put(store_->handle(Cf::kMeta), "schema", v);
    uint64_t seq;
    RETURN_IF_ERROR(store_->Write(&b, &seq));
    RETURN_IF_ERROR(store_->WaitDurable(seq));
  } else if (schema->size() != 1 || static_cast<uint8_t>((*schema)[0]) != storage::kSchemaVersion) {
    return Status::Corruption("data dir has an unknown schema version");
  }
  // What SaveCounters saved (the counters, the ready queues) and kKeys' index of held keyed
  // tasks are taken as they are only if the store's last write was SaveCounters' mark (a clean
  // shutdown of this version): after a crash, after a write that came later (an operator's push
  // that outlived the shutdown's wait for it), or once another version wrote (it keeps no index),
  // they are counted, queued and built anew.
  ASSIGN_OR_RETURN(auto mark, store_->Get(Cf::kMeta, storage::kSavedLast));
  const bool saved_last = mark && mark->size() == 8 &&
                          DecodeFixed64BE(mark->data()) == store_->db()->GetLatestSequenceNumber();
  ASSIGN_OR_RETURN(auto last_id, store_->Get(Cf::kMeta, "last_id_us"));
  if (last_id && last_id->size() == 8) {
    ids_.RaiseFloor(static_cast<int64_t>(DecodeFixed64BE(last_id->data())));
  }
  RETURN_IF_ERROR(store_->Scan(Cf::kChildren, "", false, [&](std::string_view, std::string_view) {
    edges_stored_ = true;
    return false;
  }));
  Status decode_status;
  RETURN_IF_ERROR(store_->Scan(Cf::kGroups, "", false, [&](std::string_view, std::string_view v) {
    Group g;
    decode_status = DecodeGroup(v, &g);
    if (!decode_status.ok()) return false;
    groups_[g.id] = std::move(g);
    return true;
  }));
  RETURN_IF_ERROR(decode_status);
  group_count_ = static_cast<int64_t>(groups_.size());
  rocksdb::ColumnFamilyHandle* meta = store_->handle(Cf::kMeta);
  // The first task write makes what a clean shutdown saved stale: its markers and the saved
  // queues go (a crash from here on counts and queues anew), along with any kReady entry an
  // older version wrote (its ready queue was stored there).
  rocksdb::WriteBatch done;
  ASSIGN_OR_RETURN(auto counters_saved, store_->Get(Cf::kMeta, kCountersSaved));
  if (counters_saved) done.Delete(meta, kCountersSaved);
  const bool counters_loaded = counters_saved && saved_last;
  if (counters_loaded) {
    RETURN_IF_ERROR(store_->Scan(Cf::kMeta, kChannelStatsPrefix, false,
                                 [&](std::string_view k, std::string_view v) {
                                   ChannelStats c;
                                   decode_status = DecodeChannelStats(v, &c);
                                   c.name = std::string(k.substr(kChannelStatsPrefix.size()));
                                   channels_[c.name] = c;
                                   return decode_status.ok();
                                 }));
    RETURN_IF_ERROR(decode_status);
  }
  done.Delete(meta, kCountersSavedBefore);
  done.Delete(meta, kReadySavedBefore);  // (its chunks go with the next save's)
  ASSIGN_OR_RETURN(auto ready_saved, store_->Get(Cf::kMeta, kReadySaved));
  bool ready_loaded = false;
  if (ready_saved) {
    ready_loaded = saved_last;
    RETURN_IF_ERROR(
        store_->Scan(Cf::kMeta, kReadyPrefix, false, [&](std::string_view k, std::string_view v) {
          done.Delete(meta, k);
          ready_loaded = ready_loaded && LoadReadyChunk(k, v);
          return true;
        }));
    done.Delete(meta, kReadySaved);
    if (saved_last && !ready_loaded) {
      spdlog::warn("the ready queues saved at the last shutdown are unreadable: rebuilt");
      ready_.clear();
    }
  }
  if (!counters_loaded || !ready_loaded) {  // (always after anything but a clean shutdown)
    RETURN_IF_ERROR(Recount(!counters_loaded, !ready_loaded, /*held=*/!saved_last));
  }
  bool old_queue = false;
  RETURN_IF_ERROR(store_->Scan(Cf::kReady, "", false, [&](std::string_view, std::string_view) {
    old_queue = true;
    return false;
  }));
  if (old_queue) done.DeleteRange(store_->handle(Cf::kReady), "", "\xff");
  if (done.Count() > 0) {
    uint64_t seq;
    RETURN_IF_ERROR(store_->Write(&done, &seq));
    RETURN_IF_ERROR(store_->WaitDurable(seq));
  }
  RETURN_IF_ERROR(
      store_->Scan(Cf::kWorkgroups, "", false, [&](std::string_view k, std::string_view v) {
        if (v.size() != 8) return true;
        workgroup_until_[std::string(k)] = DecodeOrderedI64(v.data());
        workgroup_until_hash_[WorkgroupHash(k)] = DecodeOrderedI64(v.data());
        return true;
      }));
  for (const auto& [id, g] : groups_) {
    if (g.is_paused) paused_groups_.insert(id);
  }
  int64_t operators = 0;
  RETURN_IF_ERROR(store_->Scan(Cf::kOperators, "", false, [&](std::string_view, std::string_view) {
    ++operators;
    return true;
  }));
  operator_count_ = operators;
  return Status::Ok();
}

// One saved chunk of a channel's ready queue (kReadyPrefix): false when malformed.
bool Engine::LoadReadyChunk(std::string_view key, std::string_view value) {
  key.remove_prefix(kReadyPrefix.size());
  if (key.size() < 8) return false;
  uint32_t length = 0;
  for (int i = 0; i < 4; ++i) length = length << 8 | static_cast<uint8_t>(key[i]);
  if (key.size() != 4 + size_t{length} + 4 || value.size() % kReadyEntrySize != 0) return false;
  std::set<ReadyEntry>& queue = ready_[std::string(key.substr(4, length))];
  for (size_t at = 0; at < value.size(); at += kReadyEntrySize) {
    queue.insert(
        queue.end(),
        {DecodeOrderedI64(value.data() + at), Id::FromBytes(value.substr(at + 8, 12)),
         Id::FromBytes(value.substr(at + 20, 12)), DecodeFixed64BE(value.data() + at + 32)});
  }
  return true;
}

// FNV-1a, 64 bits: saved with the queues, so it must not change with the standard library.
uint64_t Engine::WorkgroupHash(std::string_view workgroup) {
  uint64_t h = 0xcbf29ce484222325;
  for (unsigned char c : workgroup) h = (h ^ c) * 0x100000001b3;
  return h ? h : 1;
}

bool Engine::SetAside(const std::string& channel, const ReadyEntry& e, int64_t now) {
  if (!paused_groups_.empty() && paused_groups_.count(e.group)) {
    aside_groups_[e.group][channel].push_back(e);
    return true;
  }
  if (e.workgroup == 0 || workgroup_until_hash_.empty()) return false;
  auto until = workgroup_until_hash_.find(e.workgroup);
  // (acquirable once the delay is strictly past, as Txn::PlaceOf has it)
  if (until == workgroup_until_hash_.end() || until->second < now) return false;
  AsideEntries& aside = aside_workgroups_[e.workgroup];
  if (aside.empty()) WakeMaintenance(until->second + 1);
  aside[channel].push_back(e);
  return true;
}

void Engine::PutBack(AsideEntries& entries, std::vector<std::string>* channels) {
  for (auto& [channel, list] : entries) {
    std::set<ReadyEntry>& queue = ready_[channel];
    for (const ReadyEntry& e : list) queue.insert(queue.end(), e);
    if (channels && std::find(channels->begin(), channels->end(), channel) == channels->end()) {
      channels->push_back(channel);
    }
  }
}

void Engine::PutAllBack() {
  for (auto& [group, entries] : aside_groups_) PutBack(entries, nullptr);
  for (auto& [hash, entries] : aside_workgroups_) PutBack(entries, nullptr);
  aside_groups_.clear();
  aside_workgroups_.clear();
}

Status Engine::SaveCounters() {
  std::lock_guard<std::mutex> writer(write_mu_);
  uint64_t written;
  RETURN_IF_ERROR(WriteGathered(true, &written));  // (the counters below count those writes)
  PutAllBack();  // (their tasks are ready: saved with their queues)
  std::shared_lock lock(cache_mu_);
  rocksdb::WriteBatch b;
  rocksdb::ColumnFamilyHandle* meta = store_->handle(Cf::kMeta);
  RETURN_IF_ERROR(store_->Scan(Cf::kMeta, kChannelStatsPrefix, false,
                               [&](std::string_view k, std::string_view) {
                                 b.Delete(meta, k);  // (a channel gone since)
                                 return true;
                               }));
  for (const auto& [name, c] : channels_) {
    b.Put(meta, std::string(kChannelStatsPrefix) + name, EncodeChannelStats(c));
  }
  for (const auto& [id, g] : groups_) {
    b.Put(store_->handle(Cf::kGroups), storage::IdKey(id), EncodeGroup(g));
  }
  b.Put(meta, kCountersSaved, rocksdb::Slice());
  RETURN_IF_ERROR(
      store_->Scan(Cf::kMeta, kReadyPrefix, false, [&](std::string_view k, std::string_view) {
        b.Delete(meta, k);  // (Load deleted those it read: these are an earlier save's)
        return true;
      }));
  for (const auto& [channel, queue] : ready_) {
    std::string key(kReadyPrefix), value;
    PutKeyString(key, channel);
    uint32_t chunk = 0;
    auto put = [&] {
      std::string k = key;
      PutFixed32BE(k, chunk++);
      b.Put(meta, k, value);
      value.clear();
    };
    for (const ReadyEntry& e : queue) {
      PutOrderedI64(value, e.priority);
      value.append(e.id.View());
      value.append(e.group.View());
      PutFixed64BE(value, e.workgroup);
      if (value.size() >= kReadyChunk * kReadyEntrySize) put();
    }
    if (!value.empty()) put();
  }
  b.Put(meta, kReadySaved, rocksdb::Slice());
  uint64_t seq;
  RETURN_IF_ERROR(store_->Write(&b, &seq));
  // What was saved, and the held keyed tasks' index, are whole as of this write: the mark names
  // the sequence number of its own write, the store's last if nothing writes after it (Load).
  std::string mark;
  PutFixed64BE(mark, store_->db()->GetLatestSequenceNumber() + 1);
  rocksdb::WriteBatch marked;
  marked.Put(meta, rocksdb::Slice(storage::kSavedLast.data(), storage::kSavedLast.size()), mark);
  RETURN_IF_ERROR(store_->Write(&marked, &seq));
  return store_->WaitDurable(seq);
}

DeferSync::DeferSync(bool gather) : gather_(gather), outer_(Current()) { Current() = this; }
DeferSync::~DeferSync() { Current() = outer_; }

DeferSync*& DeferSync::Current() {
  thread_local DeferSync* current = nullptr;
  return current;
}

Status Engine::WriteGathered(bool flush, uint64_t* seq) {
  *seq = 0;
  if (gathered_.Count() == 0) return Status::Ok();
  Status written = store_->Write(&gathered_, seq, flush);
  gathered_.Clear();
  gathered_cfs_.store(0, std::memory_order_release);
  gathered_tasks_.clear();
  // (release: a gatherer that sees its writes no longer owned sees them written; EndTurn)
  gather_owner_.store(std::thread::id(), std::memory_order_release);
  std::lock_guard<std::mutex> lock(events_mu_);
  // The gathered Txns' events are the last ones queued (in commit order).
  auto first = pending_.end();
  while (first != pending_.begin() && std::prev(first)->seq == DeferSync::kGathered) --first;
  if (!written.ok()) {
    pending_.erase(first, pending_.end());  // (never written: never published)
    return written;
  }
  for (auto it = first; it != pending_.end(); ++it) it->seq = *seq;
  return Status::Ok();
}

void Engine::SeeOwnWrites(storage::Cf cf) {
  const std::thread::id me = std::this_thread::get_id();
  if (gather_owner_.load(std::memory_order_acquire) != me) return;
  // (a release's look for children in a flat queue's drain: its turn's writes stay gathered)
  if (!(gathered_cfs_.load(std::memory_order_acquire) & (1u << static_cast<int>(cf)))) return;
  if (write_holder_.load(std::memory_order_relaxed) != me) return Settle();
  uint64_t seq;                      // (a read within a Txn: write_mu_ is held already)
  (void)WriteGathered(false, &seq);  // (a failure is sticky: EndTurn reports it)
}

bool Engine::GatheredTaskRecords(const Id& id) const {
  if (write_holder_.load(std::memory_order_relaxed) != std::this_thread::get_id()) return true;
  return gathered_tasks_.size() > kMaxGatheredTasks ||
         std::find(gathered_tasks_.begin(), gathered_tasks_.end(), id) != gathered_tasks_.end();
}

Result<uint64_t> Engine::EndTurn() {
  uint64_t seq = 0;
  if (gather_owner_.load(std::memory_order_acquire) == std::this_thread::get_id()) {
    std::lock_guard<std::mutex> lock(write_mu_);
    RETURN_IF_ERROR(WriteGathered(false, &seq));
  }
  // (written by this call, or by another thread's write or this one's read since: a failure of
  // that write is sticky)
  if (store_->failed()) return store_->WriteError();
  if (!seq) seq = store_->db()->GetLatestSequenceNumber();
  const bool leases = gathered_lease_.exchange(false, std::memory_order_relaxed);
  // A lease is answered before its sync, but not before the OS has it: a crash of crew (even
  // kill -9) loses no answered lease; a power loss before its sync can (README, Durability).
  if (store_->relaxed() || leases) RETURN_IF_ERROR(store_->FlushWal());
  if (leases && store_->SyncSoon(seq)) Publish(seq);  // else the store's on-durable callback will
  return seq;
}

void Engine::Settle() {
  std::lock_guard<std::mutex> lock(write_mu_);
  uint64_t seq;
  (void)WriteGathered(false, &seq);
}

Status Engine::AwaitDurable(uint64_t seq) {
  if (seq == 0) return Status::Ok();
  RETURN_IF_ERROR(store_->WaitDurable(seq));
  Publish(seq);
  return Status::Ok();
}

void Engine::Publish(uint64_t seq) {
  std::lock_guard<std::mutex> lock(events_mu_);
  while (!pending_.empty() && pending_.front().seq <= seq) {
    Pending& p = pending_.front();
    if (listener_) {
      if (!p.events.empty()) listener_->OnEvents(p.events);
      if (!p.ready_channels.empty()) listener_->OnReady(p.ready_channels);
    }
    pending_.pop_front();
  }
}

bool Engine::GroupPausedCached(const Id& id) const {
  std::shared_lock lock(cache_mu_);
  auto it = groups_.find(id);
  return it != groups_.end() && it->second.is_paused;
}

std::optional<int64_t> Engine::WorkgroupUntil(const std::string& wg) const {
  std::shared_lock lock(cache_mu_);
  auto it = workgroup_until_.find(wg);
  if (it == workgroup_until_.end()) return std::nullopt;
  return it->second;
}

void Engine::FillDerived(Task& t) const {
  t.is_paused = GroupPausedCached(t.group_id);
  t.shown_run_after = t.run_after;
  if (!t.is_complete && t.workgroup) {
    auto until = WorkgroupUntil(*t.workgroup);
    if (until && *until > clock_->NowMs() && *until > t.run_after.value_or(INT64_MIN)) {
      t.shown_run_after = until;
    }
  }
}

Result<std::optional<Task>> Engine::LoadTask(const Id& id) const {
  ASSIGN_OR_RETURN(std::shared_ptr<const StoredTask> stored, LoadStored(id));
  if (!stored) return std::optional<Task>();
  return std::optional<Task>(*stored->task);
}

namespace {

// A task's parent list as read (`list`) decoded into t->parent_ids: its record said `parents`.
Status DecodeParentList(const Id& id, const Result<std::optional<std::string>>& list,
                        uint32_t parents, Task* t) {
  if (!list.ok()) return list.status();
  if (!*list) return Status::Corruption("task " + id.Hex() + " has no parent list");
  return DecodeParents(**list, parents, &t->parent_ids);
}

}  // namespace

Result<std::shared_ptr<const StoredTask>> Engine::LoadStored(
    const Id& id, std::shared_ptr<const StoredTask> cached) const {
  if (!cached) cached = task_cache_.Get(id);
  // Between two reads, a thread that does not hold the writer may see a write (a delete, a PUT
  // of the parents) land: its record and parent list were then of two versions (a 500, or a task
  // whose parentsComplete disagreed with its parentIds). It reads a task with parents from one
  // snapshot of the store.
  const bool writer = write_holder_.load(std::memory_order_relaxed) == std::this_thread::get_id();
  if (cached && cached->task) {
    if (writer || cached->task->parent_ids.empty()) return cached;
    return LoadStoredAtOnce(id);
  }
  // The writer reads the store without first writing the turn's gathered writes unless they
  // hold this task's records. A deep queue's head is not in the cache (it keeps the tasks
  // written last), and writing them first for each acquire split the turn's one RocksDB write
  // in many.
  const std::string key = storage::IdKey(id);
  auto get = [&](Cf cf) {
    return GatheredTaskRecords(id) ? store_->Get(cf, key) : store_->GetWritten(cf, key);
  };
  std::optional<std::string> raw;
  if (!cached) {
    ASSIGN_OR_RETURN(raw, get(Cf::kTasks));
    if (!raw) return std::shared_ptr<const StoredTask>();
  }
  // (a cached entry without the task: read ahead, its record's bytes alone)
  auto out = std::make_shared<StoredTask>();
  uint32_t parents = 0;
  RETURN_IF_ERROR(DecodeTask(cached ? cached->bytes : *raw, &out->task.emplace(), &parents));
  if (parents > 0) {
    if (!writer) return LoadStoredAtOnce(id);
    RETURN_IF_ERROR(DecodeParentList(id, get(Cf::kParents), parents, &*out->task));
  }
  return std::shared_ptr<const StoredTask>(std::move(out));
}

// The record and parent list from one snapshot of the store. The cached record is set aside:
// it may be a turn's gathered write, not in the store yet.
Result<std::shared_ptr<const StoredTask>> Engine::LoadStoredAtOnce(const Id& id) const {
  ASSIGN_OR_RETURN(auto both, store_->GetTogether(Cf::kTasks, Cf::kParents, storage::IdKey(id)));
  auto& [raw, list] = both;
  // (none: deleted meanwhile, or new in a turn and not written yet)
  if (!raw) return std::shared_ptr<const StoredTask>();
  auto out = std::make_shared<StoredTask>();
  uint32_t parents = 0;
  RETURN_IF_ERROR(DecodeTask(*raw, &out->task.emplace(), &parents));
  if (parents > 0) RETURN_IF_ERROR(DecodeParentList(id, list, parents, &*out->task));
  return std::shared_ptr<const StoredTask>(std::move(out));
}

Result<Task> Engine::ReadTask(const Id& id) const {
  ASSIGN_OR_RETURN(auto t, LoadTask(id));
  if (!t) return Status::NotFound("Task with id " + id.Hex() + " not found!");
  FillDerived(*t);
  return std::move(*t);
}

Result<Task> Engine::GetTask(const Id& id) const { return ReadTask(id); }

Result<std::vector<Id>> Engine::TaskIdsByIndex(Cf cf, const std::string& prefix, int64_t limit,
                                               int64_t skip) const {
  std::vector<Id> ids;
  int64_t seen = 0;
  RETURN_IF_ERROR(store_->Scan(cf, prefix, true, [&](std::string_view key, std::string_view) {
    if (seen++ < skip) return true;
    ids.push_back(storage::TrailingId(key));
    return limit <= 0 || static_cast<int64_t>(ids.size()) < limit;
  }));
  return ids;
}

Result<std::vector<Task>> Engine::ReadTasks(std::span<const Id> ids) const {
  std::vector<Task> out;
  out.reserve(ids.size());
  for (const Id& id : ids) {
    auto t = ReadTask(id);
    if (t.ok()) {
      out.push_back(std::move(t).value());
    } else if (t.status().code() != Code::kNotFound) {
      return t.status();  // deleted meanwhile: skipped
    }
  }
  return out;
}

Result<std::vector<Id>> Engine::ListGroupTaskIds(const Id& group_id, int64_t limit,
                                                 int64_t skip) const {
  RETURN_IF_ERROR(GetGroup(group_id).status());
  return TaskIdsByIndex(Cf::kGroupTasks, storage::IdKey(group_id), limit, skip);
}

Result<std::vector<Id>> Engine::ListChannelTaskIds(const std::string& channel, int64_t limit,
                                                   int64_t skip) const {
  return TaskIdsByIndex(Cf::kChannelTasks, storage::ChannelPrefix(channel), limit, skip);
}

Result<std::vector<Task>> Engine::ListGroupTasks(const Id& group_id, int64_t limit,
                                                 int64_t skip) const {
  ASSIGN_OR_RETURN(auto ids, ListGroupTaskIds(group_id, limit, skip));
  return ReadTasks(ids);
}

Result<std::vector<Task>> Engine::ListChannelTasks(const std::string& channel, int64_t limit,
                                                   int64_t skip) const {
  ASSIGN_OR_RETURN(auto ids, ListChannelTaskIds(channel, limit, skip));
  return ReadTasks(ids);
}

std::vector<ChannelStats> Engine::ListChannels() const {
  std::shared_lock lock(cache_mu_);
  std::vector<ChannelStats> out;
  out.reserve(channels_.size());
  for (const auto& [name, stats] : channels_) out.push_back(stats);
  return out;
}

Result<Group> Engine::GetGroup(const Id& id) const {
  std::shared_lock lock(cache_mu_);
  auto it = groups_.find(id);
  if (it == groups_.end()) return Status::NotFound("TaskGroup with id " + id.Hex() + " not found!");
  return it->second;
}

Result<std::vector<Group>> Engine::ListGroups(int64_t limit, int64_t skip) const {
  std::vector<Group> out;
  std::shared_lock lock(cache_mu_);
  auto it = groups_.rbegin();  // newest first
  std::advance(it, std::clamp<int64_t>(skip, 0, static_cast<int64_t>(groups_.size())));
  for (; it != groups_.rend() && (limit <= 0 || static_cast<int64_t>(out.size()) < limit); ++it) {
    out.push_back(it->second);
  }
  return out;
}

}  // namespace crew::engine
