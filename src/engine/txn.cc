#include "engine/txn.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <iterator>
#include <mutex>
#include <unordered_set>

#include "util/coding.h"

namespace crew::engine {

using storage::Cf;

namespace {

// Which parents a parent list lost and gained. Sorted copies: a task may have thousands of
// parents (a fan-in), and a lookup per id would make every change quadratic.
struct ParentChanges {
  std::vector<Id> gone, added;
};

ParentChanges DiffParents(std::vector<Id> before, std::vector<Id> after) {
  std::sort(before.begin(), before.end());
  std::sort(after.begin(), after.end());
  ParentChanges c;
  std::set_difference(before.begin(), before.end(), after.begin(), after.end(),
                      std::back_inserter(c.gone));
  std::set_difference(after.begin(), after.end(), before.begin(), before.end(),
                      std::back_inserter(c.added));
  return c;
}

void DiffEntry(rocksdb::WriteBatch& b, rocksdb::ColumnFamilyHandle* cf,
               const std::optional<std::string>& before, const std::optional<std::string>& after) {
  if (before == after) return;
  if (before) b.Delete(cf, *before);
  if (after) b.Put(cf, *after, rocksdb::Slice());
}

void AddStats(const GroupStats& delta, GroupStats* stats) {
  stats->total += delta.total;
  stats->complete += delta.complete;
  stats->assigned += delta.assigned;
  stats->failed += delta.failed;
}

std::optional<std::string> KeyIndexEntry(const Task* t) {
  if (!t || !t->key || t->is_complete) return std::nullopt;
  return storage::KeyEntry(t->channel, *t->key, t->id);
}

std::optional<std::string> HeldIndexEntry(const Task* t) {
  if (!t || !t->key || t->is_complete || !t->assigned()) return std::nullopt;
  return storage::HeldEntry(t->channel, *t->key, t->id);
}

// A held task's entry in the lease index (Engine::leases_): (expiry ms, id).
std::optional<std::pair<int64_t, Id>> LeaseOf(const Task* t) {
  if (!t || !t->assigned() || t->is_complete) return std::nullopt;
  return std::make_pair(t->lease_expires_at, t->id);
}

// A task's entry in kDelayed or kParked (the ready queue is in memory: Engine::ready_).
std::optional<std::string> QueueEntry(const Task* t, Placement p) {
  if (!t || t->placement != p) return std::nullopt;
  switch (p) {
    case Placement::kDelayed:
      return storage::TimeKey(t->due, t->id);
    case Placement::kParked:
      return storage::PairKey(t->group_id, t->id);
    case Placement::kReady:
    case Placement::kNone:
      break;
  }
  return std::nullopt;
}

}  // namespace

// Reset empties every member: one added to Txn must be emptied there too. (A reminder that
// fails the build where the layout is known: the size moves with any member added.)
#if defined(__GLIBCXX__) && defined(__LP64__)
static_assert(sizeof(Txn) == 816, "a member added to Txn: empty it in Txn::Reset, then update");
#endif

bool Txn::Reset(int64_t now) {
  constexpr size_t kKeptRoom = 64;  // tasks, entries, events: what an acquire or release fills
  auto small = [](const auto& v) { return v.capacity() <= kKeptRoom; };
  const bool keep = tasks_.bucket_count() <= kKeptRoom && small(written_) && small(order_) &&
                    small(pending_) && small(raw_deletes_) && small(meta_puts_) &&
                    small(channel_delta_) && small(group_delta_) && small(events_) &&
                    small(ready_channels_) && small(ready_gone_) && small(ready_new_) &&
                    small(leases_gone_) && small(leases_new_);
  now_ = now;
  tasks_.clear();
  written_.clear();
  order_.clear();
  added_edges_.clear();
  removed_edges_.clear();
  keyed_here_.clear();
  groups_.clear();
  operators_.clear();
  workgroups_.clear();
  pending_.clear();
  raw_deletes_.clear();
  meta_puts_.clear();
  last_id_us_ = 0;
  counts_ = WorkCounts();
  cfs_ = 0;
  channel_delta_.clear();
  group_delta_.clear();
  events_.clear();
  ready_channels_.clear();
  ready_gone_.clear();
  ready_new_.clear();
  delayed_floor_set_.clear();
  min_new_delayed_.clear();
  earliest_timer_ = 0;
  leases_gone_.clear();
  leases_new_.clear();
  return keep;
}

Result<Task*> Txn::Find(const Id& id, std::shared_ptr<const StoredTask> cached) {
  auto [it, added] = tasks_.try_emplace(id);
  TaskEntry& entry = it->second;
  if (!added) return entry.Cur();
  Result<std::shared_ptr<const StoredTask>> stored = e_->LoadStored(id, std::move(cached));
  if (!stored.ok()) {
    tasks_.erase(it);
    return stored.status();
  }
  order_.push_back(id);
  if (!*stored) return static_cast<Task*>(nullptr);
  entry.orig = std::move(*stored);
  entry.now = std::make_shared<StoredTask>();
  return &entry.now->task.emplace(*entry.orig->task);
}

Result<Task*> Txn::Get(const Id& id) {
  ASSIGN_OR_RETURN(Task * t, Find(id));
  if (!t) return Status::NotFound("Task with id " + id.Hex() + " not found!");
  return t;
}

Task* Txn::Insert(Task t) {
  Id id = t.id;
  NoteIdMade(id);
  if (t.key) keyed_here_[{t.channel, *t.key}].push_back(id);
  for (const Id& p : t.parent_ids) added_edges_.emplace(p, id);
  TaskEntry& entry = tasks_[id];
  order_.push_back(id);
  entry.now = std::make_shared<StoredTask>();
  return &entry.now->task.emplace(std::move(t));
}

void Txn::Erase(const Id& id) {
  TaskEntry& entry = tasks_[id];
  if (!entry.now) return;
  for (const Id& p : entry.Cur()->parent_ids) removed_edges_.insert({p, id});
  entry.now.reset();
}

void Txn::SetParents(Task* t, std::vector<Id> parents) {
  ParentChanges changes = DiffParents(t->parent_ids, parents);
  for (const Id& p : changes.gone) {
    removed_edges_.insert({p, t->id});
    auto range = added_edges_.equal_range(p);
    for (auto it = range.first; it != range.second; ++it) {
      if (it->second == t->id) {
        added_edges_.erase(it);
        break;
      }
    }
  }
  for (const Id& p : changes.added) {
    removed_edges_.erase({p, t->id});
    added_edges_.emplace(p, t->id);
  }
  t->parent_ids = std::move(parents);
}

Status Txn::ChildrenOf(const Id& id, std::vector<Id>* out) {
  out->clear();
  if (e_->edges_stored_) {
    e_->children_scanned_ = true;
    RETURN_IF_ERROR(
        e_->children_scan_.Scan(storage::IdKey(id), [&](std::string_view key, std::string_view) {
          Id child = storage::TrailingId(key);
          if (!removed_edges_.count({id, child})) out->push_back(child);
          return true;
        }));
  }
  auto range = added_edges_.equal_range(id);
  if (range.first == range.second) return Status::Ok();
  // (a set: each edge checked against the list, a release making 32,000 children held the
  // writer 1.6 s)
  std::unordered_set<Id, IdHash> listed(out->begin(), out->end());
  for (auto it = range.first; it != range.second; ++it) {
    if (listed.insert(it->second).second) out->push_back(it->second);
  }
  return Status::Ok();
}

Status Txn::ParentDone(const Id& child) {
  ASSIGN_OR_RETURN(Task * c, Find(child));
  if (!c) return Status::Ok();
  if (c->pending_parents > 0) --c->pending_parents;
  if (c->pending_parents == 0 && !c->parents_complete) {
    c->parents_complete = true;
    EmitTask("task:update", child);
  }
  return Status::Ok();
}

void Txn::EmitTask(const char* name, const Id& id) {
  PendingEvent& pe = pending_.emplace_back();
  pe.task_event = name;
  pe.task = id;
}

void Txn::Emit(Event e) { pending_.emplace_back().event = std::move(e); }

Placement Txn::PlaceOf(const Task& t, int64_t* due) {
  if (t.is_complete || t.assigned() || t.remaining_attempts < 1 || !t.parents_complete) {
    return Placement::kNone;
  }
  if (GroupPaused(t.group_id)) return Placement::kParked;
  int64_t at = t.run_after.value_or(INT64_MIN);
  if (t.workgroup) {
    if (auto until = WorkgroupUntil(*t.workgroup)) at = std::max(at, *until);
  }
  if (at >= now_) {  // acquirable once runAfter is strictly past (reference §4.2)
    *due = at;
    return Placement::kDelayed;
  }
  return Placement::kReady;
}

void Txn::FillDerived(Task& t) {
  t.is_paused = GroupPaused(t.group_id);
  t.shown_run_after = t.run_after;
  if (!t.is_complete && t.workgroup) {
    auto until = WorkgroupUntil(*t.workgroup);
    if (until && *until > now_ && *until > t.run_after.value_or(INT64_MIN))
      t.shown_run_after = until;
  }
}

void Txn::DiffTask(rocksdb::WriteBatch& b, const Id& id, TaskEntry& e) {
  const Task* o = e.Orig();
  Task* c = e.Cur();
  if (!o && !c) return;
  if (c) {
    int64_t due = 0;
    c->placement = PlaceOf(*c, &due);
    c->due = c->placement == Placement::kDelayed ? due : 0;
  }
  // (Most writes change neither the group, the channel nor the key: then no entry is built.)
  if (!o || !c || o->group_id != c->group_id) {
    DiffEntry(b, Handle(Cf::kGroupTasks),
              o ? std::optional(storage::PairKey(o->group_id, id)) : std::nullopt,
              c ? std::optional(storage::PairKey(c->group_id, id)) : std::nullopt);
  }
  if (!o || !c || o->channel != c->channel) {
    DiffEntry(b, Handle(Cf::kChannelTasks),
              o ? std::optional(storage::ChannelTaskKey(o->channel, id)) : std::nullopt,
              c ? std::optional(storage::ChannelTaskKey(c->channel, id)) : std::nullopt);
  }
  if ((o && o->key) || (c && c->key)) {
    DiffEntry(b, Handle(Cf::kKeys), KeyIndexEntry(o), KeyIndexEntry(c));
    DiffEntry(b, Handle(Cf::kKeys), HeldIndexEntry(o), HeldIndexEntry(c));
  }
  auto lease_before = LeaseOf(o), lease_after = LeaseOf(c);
  if (lease_before != lease_after) {
    if (lease_before) leases_gone_.push_back(*lease_before);
    if (lease_after) {
      leases_new_.push_back(*lease_after);
      if (!earliest_timer_ || c->lease_expires_at < earliest_timer_)
        earliest_timer_ = c->lease_expires_at;
    }
  }
  // The ready queue is in memory (Engine::ready_): its entries move at commit.
  const bool ready_before = o && o->placement == Placement::kReady;
  const bool ready_after = c && c->placement == Placement::kReady;
  if (ready_before || ready_after) {
    // (an entry also carries the group and workgroup an acquire checks without loading the
    // task: Engine::SetAside)
    const bool same = ready_before && ready_after && o->channel == c->channel &&
                      o->priority == c->priority && o->group_id == c->group_id &&
                      o->workgroup == c->workgroup;
    if (ready_before && !same)
      ready_gone_.emplace_back(o->channel, Engine::ReadyEntry{o->priority, id, Id(), 0});
    if (ready_after && !same) {
      ready_new_.emplace_back(c->channel, Engine::ReadyEntry{c->priority, id, c->group_id,
                                                             Engine::WorkgroupHash(c->workgroup)});
      if (std::find(ready_channels_.begin(), ready_channels_.end(), c->channel) ==
          ready_channels_.end()) {
        ready_channels_.push_back(c->channel);
      }
    }
  }
  for (Placement p : {Placement::kDelayed, Placement::kParked}) {
    if ((!o || o->placement != p) && (!c || c->placement != p)) continue;  // (in neither)
    Cf cf = p == Placement::kDelayed ? Cf::kDelayed : Cf::kParked;
    auto before = QueueEntry(o, p), after = QueueEntry(c, p);
    DiffEntry(b, Handle(cf), before, after);
    if (!after || after == before) continue;
    if (p == Placement::kDelayed) {
      if (min_new_delayed_.empty() || *after < min_new_delayed_) min_new_delayed_ = *after;
      if (!earliest_timer_ || c->due < earliest_timer_) earliest_timer_ = c->due;
    }
  }
  static const std::vector<Id> kNone;
  const auto& before_parents = o ? o->parent_ids : kNone;
  const auto& after_parents = c ? c->parent_ids : kNone;
  const bool parents_changed = before_parents != after_parents;
  if (parents_changed) {  // rare: a PUT of parentIds, a create or a delete
    ParentChanges changes = DiffParents(before_parents, after_parents);
    for (const Id& p : changes.gone) b.Delete(Handle(Cf::kChildren), storage::PairKey(p, id));
    for (const Id& p : changes.added) {
      b.Put(Handle(Cf::kChildren), storage::PairKey(p, id), rocksdb::Slice());
      e_->edges_stored_ = true;
    }
  }
  // The parent list lives in its own record (model.h); a version-1 task record moves it there.
  // (An erased task's list is "changed" to none, and deleted.)
  const bool legacy = o && o->legacy_parents;
  if (parents_changed || legacy) {
    if (after_parents.empty()) {
      b.Delete(Handle(Cf::kParents), storage::IdKey(id));
    } else {
      b.Put(Handle(Cf::kParents), storage::IdKey(id), EncodeParents(after_parents));
    }
  }
  if (c) {
    // (unchanged: its record and parent list would be what was loaded: nothing is written)
    // (an acquire, a release or an error changes the lease: looked at first)
    if (o && !legacy && o->lease_expires_at == c->lease_expires_at && *o == *c) {
      written_.push_back({id, &e, Written::kUnchanged});
      return;
    }
    b.Put(Handle(Cf::kTasks), storage::IdKey(id), EncodeTask(*c));
    written_.push_back({id, &e, Written::kWritten});
  } else {
    b.Delete(Handle(Cf::kTasks), storage::IdKey(id));
    written_.push_back({id, &e, Written::kDeleted});
  }
}

void Txn::ApplyStats(const TaskEntry& e) {
  const Task* o = e.Orig();
  const Task* c = e.Cur();
  if (o && c && o->channel == c->channel && o->is_complete == c->is_complete &&
      o->assigned() == c->assigned() && o->failed() == c->failed()) {
    return;
  }
  // (the deltas of the task's channel and group, looked up once for both when its channel is
  // the same: a task's group never changes)
  auto deltas = [&](const Task& t) -> std::pair<ChannelStats*, GroupStats*> {
    auto cd = std::find_if(channel_delta_.begin(), channel_delta_.end(),
                           [&](const ChannelStats& d) { return d.name == t.channel; });
    if (cd == channel_delta_.end()) {
      cd = channel_delta_.emplace(channel_delta_.end());
      cd->name = t.channel;
    }
    auto gd = std::find_if(group_delta_.begin(), group_delta_.end(),
                           [&](const auto& d) { return d.first == t.group_id; });
    if (gd == group_delta_.end())
      gd = group_delta_.emplace(group_delta_.end(), t.group_id, GroupStats());
    return {&*cd, &gd->second};
  };
  if (o && c && o->channel == c->channel) {
    auto [cd, gd] = deltas(*c);
    CountTask(*o, -1, cd, gd);
    CountTask(*c, +1, cd, gd);
    return;
  }
  if (o) {
    auto [cd, gd] = deltas(*o);
    CountTask(*o, -1, cd, gd);
  }
  if (c) {
    auto [cd, gd] = deltas(*c);
    CountTask(*c, +1, cd, gd);
  }
}

Status Txn::Commit(uint64_t* seq, bool gather) {
  // (nothing reads the store from here to the write below: a read would write a half-built batch)
  rocksdb::WriteBatch& b = e_->gathered_;
  for (auto& [cf, key] : raw_deletes_) b.Delete(Handle(cf), key);
  for (auto& [key, value] : meta_puts_) b.Put(Handle(Cf::kMeta), key, value);
  for (const Id& id : order_) {
    TaskEntry& entry = tasks_[id];
    DiffTask(b, id, entry);
    ApplyStats(entry);
  }
  int64_t group_delta = 0;
  for (auto& [id, ge] : groups_) {
    if (ge.cur) {
      // A change of its counters alone is not written (Engine::SaveCounters).
      bool changed = true;
      if (ge.existed) {
        std::shared_lock lock(e_->cache_mu_);
        auto c = e_->groups_.find(id);
        changed = c == e_->groups_.end() || !SameGroupFields(c->second, *ge.cur);
      }
      if (changed) b.Put(Handle(Cf::kGroups), storage::IdKey(id), EncodeGroup(*ge.cur));
      if (!ge.existed) ++group_delta;
    } else if (ge.existed) {
      b.Delete(Handle(Cf::kGroups), storage::IdKey(id));
      --group_delta;
    }
  }
  int64_t operator_delta = 0;
  for (auto& [id, entry] : operators_) {
    if (entry.second) {
      b.Put(Handle(Cf::kOperators), storage::IdKey(id), EncodeOperator(*entry.second));
      operator_delta += entry.first;
    } else {
      b.Delete(Handle(Cf::kOperators), storage::IdKey(id));
      --operator_delta;
    }
  }
  for (auto& [wg, until] : workgroups_) {
    if (!until) {
      b.Delete(Handle(Cf::kWorkgroups), wg);
      continue;
    }
    std::string v;
    PutOrderedI64(v, *until);
    b.Put(Handle(Cf::kWorkgroups), wg, v);
  }
  if (last_id_us_) {
    std::string v;
    PutFixed64BE(v, static_cast<uint64_t>(last_id_us_));
    b.Put(Handle(Cf::kMeta), "last_id_us", v);
  }

  *seq = 0;
  if (gather) {
    if (b.Count() > 0) {
      *seq = DeferSync::kGathered;
      e_->gathered_cfs_.fetch_or(cfs_, std::memory_order_relaxed);
      e_->gather_owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
      std::vector<Id>& gathered_tasks = e_->gathered_tasks_;
      for (const Written& w : written_) {
        if (gathered_tasks.size() > Engine::kMaxGatheredTasks) break;  // (too many: not looked at)
        gathered_tasks.push_back(w.id);
      }
    }
  } else if (b.Count() > 0) {
    // (under a DeferSync the WAL append stays buffered until a sync or Store::FlushWal; engine.h)
    RETURN_IF_ERROR(e_->WriteGathered(DeferSync::Current() == nullptr, seq));
  }

  // Event payloads: the final state of each task named, if anyone listens. Asked after the
  // write, so one who subscribes after this answer reads the state written here (the fence
  // pairs with the one in the subscribe; engine.h, EngineListener::WantsTaskEvents).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  const bool task_events = e_->listener_ && e_->listener_->WantsTaskEvents();
  for (auto& pe : pending_) {
    if (pe.event) {
      events_.push_back(std::move(*pe.event));
      continue;
    }
    if (!task_events) continue;
    const TaskEntry& entry = tasks_[pe.task];
    const Task* t = entry.now ? entry.Cur() : entry.Orig();
    if (!t) continue;
    Task copy = *t;
    FillDerived(copy);
    Event& e = events_.emplace_back();
    e.room = copy.group_id.Hex();
    e.name = pe.task_event;
    e.payload = std::move(copy);
  }

  // Written or gathered (not yet synced): update the caches, the ready queues and the delayed
  // floor.
  // (the tasks themselves go there: nothing in this Txn changes them from here on)
  for (const Written& w : written_) {
    std::shared_ptr<const StoredTask> now;
    if (w.kind == Written::kWritten) {
      Task& t = *w.entry->Cur();
      t.legacy_parents = false;  // (as its decode would leave them)
      t.is_paused = false;
      t.shown_run_after.reset();
      now = w.entry->now;
    } else if (w.kind == Written::kUnchanged) {
      now = w.entry->orig;
    }
    e_->task_cache_.Set(w.id, std::move(now));
  }
  {
    std::unique_lock lock(e_->cache_mu_);
    // The counters: a group this Txn loaded gets its change in its copy, which replaces the
    // cached one just below; any other in the cache itself (a group gone has none to change).
    for (const auto& [id, delta] : group_delta_) {
      if (auto own = groups_.find(id); own != groups_.end()) {
        if (own->second.cur) AddStats(delta, &own->second.cur->stats);
      } else if (auto it = e_->groups_.find(id); it != e_->groups_.end()) {
        AddStats(delta, &it->second.stats);
      }
    }
    for (auto& [id, ge] : groups_) {
      if (ge.cur) {
        e_->groups_[id] = *ge.cur;
        if (ge.cur->is_paused) {
          e_->paused_groups_.insert(id);
        } else {
          e_->paused_groups_.erase(id);
        }
      } else if (ge.existed) {
        e_->groups_.erase(id);
        e_->paused_groups_.erase(id);
        e_->aside_groups_.erase(id);  // (its tasks are gone with it)
      }
    }
    for (const ChannelStats& delta : channel_delta_) {
      if (!delta.total && !delta.complete && !delta.assigned) continue;
      auto it = e_->channels_.find(delta.name);
      if (it == e_->channels_.end()) {
        it = e_->channels_.emplace(delta.name, ChannelStats()).first;
        it->second.name = delta.name;
      }
      ChannelStats& s = it->second;
      s.total += delta.total;
      s.complete += delta.complete;
      s.assigned += delta.assigned;
      if (s.total <= 0) {
        e_->channels_.erase(it);
      }
    }
    for (auto& [wg, until] : workgroups_) {
      const uint64_t hash = Engine::WorkgroupHash(std::string_view(wg));
      if (until) {
        e_->workgroup_until_[wg] = *until;
        e_->workgroup_until_hash_[hash] = *until;
      } else {
        e_->workgroup_until_.erase(wg);
        e_->workgroup_until_hash_.erase(hash);
      }
      // (tasks set aside behind it go back when it is over: that moved, maybe sooner)
      if (e_->aside_workgroups_.count(hash)) e_->WakeMaintenance(until ? *until + 1 : 0);
    }
  }
  e_->group_count_ += group_delta;
  e_->operator_count_ += operator_delta;
  for (const auto& [channel, e] : ready_gone_) {
    auto it = e_->ready_.find(channel);
    if (it == e_->ready_.end()) continue;
    // An acquire takes the queue's first task: erased there without a search of the queue (a
    // walk of ~log2(n) nodes, each a cache miss and an id compare, in a long queue).
    std::set<Engine::ReadyEntry>& queue = it->second;
    if (!queue.empty() && *queue.begin() == e) {
      queue.erase(queue.begin());
    } else {
      queue.erase(e);
    }
    if (queue.empty()) {  // (a channel name per task must not grow it)
      e_->ready_.erase(it);
      if (!e_->read_ahead_paused_.empty()) e_->read_ahead_paused_.erase(channel);
    }
  }
  for (const auto& [channel, e] : ready_new_) {
    // A new task of the queue's lowest priority sorts last (ids grow): the hint makes that
    // insert constant-time; any other searches as without it.
    std::set<Engine::ReadyEntry>& queue = e_->ready_[channel];
    queue.insert(queue.end(), e);
  }
  if (!delayed_floor_set_.empty()) e_->delayed_floor_ = delayed_floor_set_;
  if (!min_new_delayed_.empty() && min_new_delayed_ < e_->delayed_floor_) {
    e_->delayed_floor_ = min_new_delayed_;  // an empty floor means "from the start" already
  }
  for (const auto& k : leases_gone_) e_->leases_.erase(k);
  for (const auto& k : leases_new_) e_->leases_.insert(k);
  if (earliest_timer_) e_->WakeMaintenance(earliest_timer_ + 1);  // due strictly after its time
  return Status::Ok();
}

}  // namespace crew::engine
