// Txn: one mutation of the engine, built in memory and committed as one WriteBatch.
//
// Operations load tasks and groups into the Txn, change them through the pointers it hands out,
// and never touch an index: Commit() compares each loaded document with what was stored and
// derives every index entry (kGroupTasks, kChannelTasks, kChildren, kKeys, the task's queue:
// the in-memory ready queue or kDelayed / kParked, and the in-memory lease index) and every
// counter from the difference. So the indexes cannot drift from the documents, and re-placing a
// task (a paused group, a workgroup delay, a due runAfter) is just loading it. Index reads (the
// ready queue, kKeys, kChildren) see the state before this Txn; ChildrenOf() adds the edges
// made in the Txn itself.
// REQUIRES: used by one thread, under Engine::write_mu_.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <rocksdb/write_batch.h>

#include "engine/engine.h"

namespace crew::engine {

class Txn {
 public:
  Txn(Engine* engine, int64_t now) : e_(engine), now_(now) {}
  int64_t now() const { return now_; }
  void SetNow(int64_t now) { now_ = now; }
  Engine* engine() const { return e_; }

  // Tasks. Pointers stay valid for the Txn's life. Find answers nullptr for an unknown task.
  // `cached`: the task cache's entry as the caller took it.
  Result<Task*> Find(const Id& id, std::shared_ptr<const StoredTask> cached = nullptr);
  Result<Task*> Get(const Id& id);  // kNotFound for an unknown task
  Task* Insert(Task t);
  void Erase(const Id& id);  // REQUIRES: loaded by Find/Get/Insert
  void SetParents(Task* t, std::vector<Id> parents);
  // REQUIRES: called after a loaded task's channel or key changed (to a key).
  void NoteKeyChanged(const Task& t) {
    if (t.key) keyed_here_[{t.channel, *t.key}].push_back(t.id);
  }
  // Children of a task: stored edges plus those made (and minus those removed) in this Txn.
  Status ChildrenOf(const Id& id, std::vector<Id>* out);
  // Ids of the incomplete tasks with this channel and key (stored, plus those made or re-keyed
  // in this Txn).
  Status KeyedTasks(const std::string& channel, const std::string& key, std::vector<Id>* out);
  // The task (other than `except`) that holds this channel and key now, or nullptr (D5). Reads
  // as much with 20,000 incomplete duplicates as with one: kKeys keeps an index of the held.
  Result<Task*> FindKeyHolder(const std::string& channel, const std::string& key, const Id& except);
  // `t` first, then the other incomplete tasks with its channel and key (none without a key).
  Status WithDuplicates(const Task& t, std::vector<Id>* out);
  // A parent of `child` completed or left: one pending parent fewer; the child is announced
  // once none is left.
  Status ParentDone(const Id& child);

  // Groups.
  Result<Group*> FindGroup(const Id& id);
  Result<Group*> GetGroup(const Id& id);  // kNotFound for an unknown group
  Group* InsertGroup(Group g);
  void EraseGroup(const Id& id);
  bool GroupPaused(const Id& id);

  void PutOperator(const Operator& o, bool is_new);
  void EraseOperator(const Id& id);

  std::optional<int64_t> WorkgroupUntil(const std::string& wg);
  void SetWorkgroupUntil(const std::string& wg, int64_t until);
  void ForgetWorkgroup(const std::string& wg) { workgroups_[wg] = std::nullopt; }

  // Where the task belongs now (Commit moves its queue entry there).
  Placement Place(const Task& t, int64_t* due) { return PlaceOf(t, due); }
  // Removes an index entry that names no live document (self-healing). Written before the
  // Txn's own index changes, so a task this Txn puts back at that very key keeps it.
  void DeleteIndexKey(storage::Cf cf, std::string key) {
    raw_deletes_.emplace_back(cf, std::move(key));
  }
  // Writes a kMeta key (a large group operation's note, groups.cc) with the Txn.
  void PutMeta(std::string key, std::string value) {
    meta_puts_.emplace_back(std::move(key), std::move(value));
  }
  // Removes a ready queue entry that names no ready task (self-healing: Commit keeps the
  // queues exact), before the Txn's own queue changes, so a task this Txn makes ready again at
  // that very entry keeps it.
  void DropReady(const std::string& channel, const Engine::ReadyEntry& e) {
    ready_gone_.emplace_back(channel, e);
  }

  // Empties the Txn for another write at `now`: as new, but its containers keep their room.
  // Answers whether that room is small enough to keep the Txn for the next write (a write of
  // thousands of tasks leaves it large).
  bool Reset(int64_t now);

  // What this mutation did, added to the engine's WorkCounters once it committed.
  WorkCounts& counts() { return counts_; }

  // Events: EmitTask publishes the task as it is when the Txn commits.
  void EmitTask(const char* name, const Id& id);
  void Emit(Event e);

  // Appends the Txn's changes to the engine's batch (Engine::gathered_) and, unless `gather`,
  // writes it; `seq`: the write's sequence number, 0 when nothing was written, or
  // DeferSync::kGathered when the batch waits (the Txn's changes or earlier ones).
  Status Commit(uint64_t* seq, bool gather);
  // After Commit: events to publish and channels with newly acquirable tasks.
  std::vector<Event>& events() { return events_; }
  std::vector<std::string>& ready_channels() { return ready_channels_; }
  void NoteIdMade(const Id& id) { last_id_us_ = std::max(last_id_us_, id.MicrosPart()); }
  // Where the delayed queue's scan may start next time, applied only if the Txn commits.
  void SetDelayedFloor(std::string key) { delayed_floor_set_ = std::move(key); }
  // Drops an entry of the lease index that names no live lease (ExpireLeases), at commit.
  void DropLease(int64_t expires_at, const Id& id) { leases_gone_.emplace_back(expires_at, id); }

 private:
  struct TaskEntry {
    // As stored before this Txn (nullptr: none), decoded (task_cache.h).
    std::shared_ptr<const StoredTask> orig;
    // The task now (nullptr: erased, or none), in the entry the task cache takes once it is
    // written (no copy or move of the task at commit).
    std::shared_ptr<StoredTask> now;
    const Task* Orig() const { return orig ? &*orig->task : nullptr; }
    Task* Cur() const { return now ? &*now->task : nullptr; }
  };
  // A task this commit wrote (entry->now), found unchanged, or deleted: for Engine::task_cache_.
  struct Written {
    enum Kind : uint8_t { kWritten, kUnchanged, kDeleted };
    Id id;
    TaskEntry* entry;
    Kind kind;
  };
  struct GroupEntry {
    bool existed = false;
    std::optional<Group> cur;
  };
  // An event of Emit, or of EmitTask: its name and task, the Event made at commit only if anyone
  // listens (an Event made for each EmitTask was ~1.5% of an acquire and release).
  struct PendingEvent {
    std::optional<Event> event;  // Emit's
    const char* task_event = nullptr;
    Id task;  // payload = final state of this task
  };

  // The column family's handle, for a write of this Txn (noted in cfs_).
  rocksdb::ColumnFamilyHandle* Handle(storage::Cf cf) {
    cfs_ |= 1u << static_cast<int>(cf);
    return e_->store_->handle(cf);
  }
  Placement PlaceOf(const Task& t, int64_t* due);
  void FillDerived(Task& t);
  void DiffTask(rocksdb::WriteBatch& b, const Id& id, TaskEntry& e);
  void ApplyStats(const TaskEntry& e);

  Engine* e_;
  int64_t now_;
  std::unordered_map<Id, TaskEntry, IdHash> tasks_;
  std::vector<Written> written_;
  std::vector<Id> order_;                                // load order, for a deterministic batch
  std::unordered_multimap<Id, Id, IdHash> added_edges_;  // parent -> child
  std::set<std::pair<Id, Id>> removed_edges_;
  // Made with a key, or re-keyed, in this Txn: by (channel, key), so that KeyedTasks looks at
  // those of its key only (a create of 20,000 tasks, each with a key of its own, looked at all
  // of them for each: 9.8 s, the writer held throughout).
  std::map<std::pair<std::string, std::string>, std::vector<Id>> keyed_here_;
  std::unordered_map<Id, GroupEntry, IdHash> groups_;
  std::map<Id, std::pair<bool, std::optional<Operator>>> operators_;  // id -> (is new, value)
  std::map<std::string, std::optional<int64_t>> workgroups_;          // nullopt: forgotten
  std::vector<PendingEvent> pending_;
  std::vector<std::pair<storage::Cf, std::string>> raw_deletes_;
  std::vector<std::pair<std::string, std::string>> meta_puts_;
  int64_t last_id_us_ = 0;
  WorkCounts counts_;
  uint32_t cfs_ = 0;  // the column families written (bit 1 << Cf)

  // Filled by Commit.
  // The counters' changes (a Txn touches few channels and groups: looked up by a scan).
  std::vector<ChannelStats> channel_delta_;
  std::vector<std::pair<Id, GroupStats>> group_delta_;
  std::vector<Event> events_;
  std::vector<std::string> ready_channels_;
  // Changes to Engine::ready_, applied once the batch is written: the entries gone (tasks no
  // longer ready, or moved within the queue; and those DropReady named), then the new ones.
  std::vector<std::pair<std::string, Engine::ReadyEntry>> ready_gone_, ready_new_;
  std::string delayed_floor_set_;
  std::string min_new_delayed_;  // smallest key added to kDelayed
  int64_t earliest_timer_ = 0;   // smallest new delay or lease expiry (0: none)
  // Changes to Engine::leases_, applied once the batch is written: the entries of leases ended
  // or moved (and those DropLease named) go, then the leases begun come.
  std::vector<Engine::LeaseKey> leases_gone_, leases_new_;
};

// Runs fn(Txn&) -> Result<T> under the single writer, commits it, and returns once durable
// (group commit), after its events went out in commit order; under a DeferSync, once written,
// or once gathered (engine.h). A lease (Ack::kLease) returns once written; its events go out
// when a sync covers it (Store::SyncSoon). Once the store has failed, every call answers its
// sticky error, even one that would write nothing: its answer (a release found complete by a
// refused write still in the memtable, a lease) could not be made durable either.
template <typename T, typename Fn>
Result<T> Engine::Write(Fn&& fn, Ack ack) {
  uint64_t seq = 0;
  std::optional<Result<T>> result;
  DeferSync* defer = DeferSync::Current();
  const bool gather = defer && defer->gather_;
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    const std::thread::id me = std::this_thread::get_id();
    write_holder_.store(me, std::memory_order_relaxed);
    struct Leave {
      std::atomic<std::thread::id>* holder;
      ~Leave() { holder->store(std::thread::id(), std::memory_order_relaxed); }
    } leave{&write_holder_};
    if (store_->failed()) return store_->WriteError();
    // Another thread's gathered writes come before this one's reads (its own: SeeOwnWrites).
    if (gathered_.Count() > 0 && gather_owner_.load(std::memory_order_relaxed) != me) {
      uint64_t written;
      RETURN_IF_ERROR(WriteGathered(false, &written));
    }
    // The last write's Txn, emptied (its containers keep their room): a Txn made and destroyed
    // per write was ~5% of an acquire and release.
    std::unique_ptr<Txn> reused =
        spare_txn_ ? std::move(spare_txn_) : std::make_unique<Txn>(this, 0);
    struct Keep {
      std::unique_ptr<Txn>& txn;
      std::unique_ptr<Txn>& spare;
      ~Keep() {
        if (txn->Reset(0)) spare = std::move(txn);
      }
    } keep{reused, spare_txn_};
    Txn& txn = *reused;
    txn.SetNow(clock_->NowMs());
    Result<T> r = fn(txn);
    if (!r.ok()) return r.status();
    RETURN_IF_ERROR(txn.Commit(&seq, gather));
    work_.Add(txn.counts());
    if (seq == DeferSync::kGathered) {  // written by EndTurn, or before a read
      if (!txn.events().empty() || !txn.ready_channels().empty()) {
        std::lock_guard<std::mutex> events_lock(events_mu_);
        pending_.push_back({seq, std::move(txn.events()), std::move(txn.ready_channels())});
      }
      if (ack == Ack::kLease && !options_.sync_leases) {
        gathered_lease_.store(true, std::memory_order_relaxed);
        defer->gathered_lease_ = true;
      } else {
        defer->gathered_ = true;
      }
      return r;
    }
    if (!txn.events().empty() || !txn.ready_channels().empty()) {
      if (!seq) seq = store_->db()->GetLatestSequenceNumber();
      std::lock_guard<std::mutex> events_lock(events_mu_);
      pending_.push_back({seq, std::move(txn.events()), std::move(txn.ready_channels())});
    }
    result.emplace(std::move(r));
  }
  if (seq && ack == Ack::kLease && !options_.sync_leases) {
    if (store_->SyncSoon(seq)) Publish(seq);  // else the store's on-durable callback will
  } else if (seq) {
    if (defer) {
      defer->seq_ = std::max(defer->seq_, seq);
      return std::move(*result);
    }
    RETURN_IF_ERROR(store_->WaitDurable(seq));
    Publish(seq);
  }
  return std::move(*result);
}

}  // namespace crew::engine
