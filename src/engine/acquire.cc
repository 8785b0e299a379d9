// Acquire and heartbeat (reference §4.2, SPEC D2, D5, N8).
#include <algorithm>
#include <memory>
#include <utility>

#include "engine/txn.h"
#include "util/iso_time.h"

namespace crew::engine {

using storage::Cf;

// Locks every incomplete same-channel+key task to the holder of `t` (reference §4.5).
Status Engine::LockDuplicates(Txn& txn, const Task& t) {
  if (!t.key) return Status::Ok();
  std::vector<Id> dups;
  RETURN_IF_ERROR(txn.KeyedTasks(t.channel, *t.key, &dups));
  for (const Id& d : dups) {
    if (d == t.id) continue;
    ASSIGN_OR_RETURN(Task * x, txn.Get(d));
    x->assigned_to = t.assigned_to;
    x->assigned_at = t.assigned_at;
    x->lease_expires_at = t.lease_expires_at;
    txn.EmitTask("task:update", d);
  }
  Event e;
  e.room = t.group_id.Hex();
  e.name = "task:acquire:key";
  e.payload = "{\"channel\":" + JsonQuote(t.channel) + ",\"key\":" + JsonQuote(*t.key) +
              ",\"update\":{\"assignedTo\":" + JsonQuote(*t.assigned_to) +
              ",\"assignedAt\":" + JsonQuote(FormatIso(*t.assigned_at)) + "}}";
  txn.Emit(std::move(e));
  return Status::Ok();
}

// Hands out up to `limit` tasks of the channel: priority first, then age, from the channel's
// ready queue (in memory: Engine::ready_). An entry whose group is paused or whose workgroup is
// delayed is set aside, in memory, without loading its task (SetAside). Any other task met there
// that is not acquirable is only loaded, and Commit moves it out of the queue. Apart from those
// set aside, the queue is not changed until the Txn commits, so the walk below reads it as it
// was before.
Result<std::vector<Acquired>> Engine::Acquire(const std::string& channel, const std::string& worker,
                                              int limit) {
  auto r = Write<std::vector<Acquired>>(
      [&](Txn& txn) -> Result<std::vector<Acquired>> {
        std::vector<Acquired> out;
        auto queue = ready_.find(channel);
        if (queue == ready_.end()) return out;
        std::set<ReadyEntry>& q = queue->second;
        for (auto next = q.begin(); next != q.end() && static_cast<int>(out.size()) < limit;) {
          if (SetAside(channel, *next, txn.now())) {
            next = q.erase(next);
            continue;
          }
          const auto e = next++;
          const Id id = e->id;
          std::shared_ptr<const StoredTask> cached = task_cache_.Get(id);  // (one look for both)
          if (!cached) ReadAhead(channel, q, e);
          ASSIGN_OR_RETURN(Task * t, txn.Find(id, std::move(cached)));
          if (!t || t->placement != Placement::kReady || t->channel != channel ||
              t->priority != e->priority) {
            txn.DropReady(channel, *e);  // (the queue is kept exact: never expected)
            continue;
          }
          int64_t due;
          if (txn.Place(*t, &due) != Placement::kReady) continue;  // re-placed at commit
          t->assigned_to = worker;
          t->assigned_at = txn.now();
          t->lease_expires_at = txn.now() + options_.lease_ms;
          RETURN_IF_ERROR(LockDuplicates(txn, *t));
          txn.EmitTask("task:update", id);
          Acquired& a = out.emplace_back(*t);  // (the task copied in place: no move of it)
          for (const Id& p : t->parent_ids) {
            ASSIGN_OR_RETURN(Task * parent, txn.Find(p));
            if (parent) a.parents.push_back({p, parent->channel, parent->input, parent->output});
          }
        }
        if (q.empty()) {  // (all of it set aside: a channel with no ready task has no queue)
          ready_.erase(queue);
          read_ahead_paused_.erase(channel);
        }
        txn.counts().tasks_acquired += static_cast<int64_t>(out.size());
        return out;
      },
      Ack::kLease);
  if (r.ok()) {
    for (Acquired& a : *r) FillDerived(a.task);
  }
  return r;
}

// The task cache keeps the records written last, so a queue deeper than it hands out tasks it
// does not hold, oldest first, each read with a Get (~14,000 instructions: most of an acquire's
// cost). Ids grow with time, so the tasks queued next are mostly neighbours in the key space:
// one pass of an iterator from the first to the last of them (a seek, then ~2,300 instructions
// per record) reads them for the acquires to come at a fraction of that. Where other tasks lie
// between them (other channels' tasks made at the same time), the pass stops once it has passed
// more of those than it found plus 4; when it found fewer than half of its tasks, the channel's
// next kReadAhead misses are read one by one, so a sparse queue pays at most a short pass per
// kReadAhead Gets. Only the writer fills the cache, with what is written (not a gathered write:
// GatheredTaskRecords), so nothing stale goes in.
void Engine::ReadAhead(const std::string& channel, const std::set<ReadyEntry>& queue,
                       std::set<ReadyEntry>::const_iterator from) {
  if (auto paused = read_ahead_paused_.find(channel); paused != read_ahead_paused_.end()) {
    if (--paused->second == 0) read_ahead_paused_.erase(paused);
    return;
  }
  std::vector<Id> wanted;  // in key order below (a task's key is its id's bytes)
  auto e = from;
  for (size_t i = 0; i < kReadAhead && e != queue.end(); ++i, ++e) {
    if (!GatheredTaskRecords(e->id)) wanted.push_back(e->id);
  }
  if (wanted.empty()) return;
  std::sort(wanted.begin(), wanted.end());
  const std::string upper = storage::IdKey(wanted.back()) + '\0';  // (just past the last)
  size_t next = 0, found = 0, passed = 0;
  (void)store_->RangeWritten(
      Cf::kTasks, wanted.front().View(), upper, [&](std::string_view key, std::string_view value) {
        while (next < wanted.size() && wanted[next].View() < key) ++next;
        if (next == wanted.size()) return false;
        if (wanted[next].View() == key) {
          task_cache_.Set(wanted[next], std::make_shared<const StoredTask>(
                                            StoredTask{std::string(value), std::nullopt}));
          ++next;
          ++found;
        } else {
          ++passed;
        }
        return next < wanted.size() && passed <= found + 4;
      });  // (a failure: the task's own read reports it)
  if (2 * found < wanted.size()) read_ahead_paused_[channel] = kReadAhead;
}

// D2: the holder extends its lease (and that of the duplicates locked with it).
Result<Task> Engine::Heartbeat(const Id& id, const std::string& worker) {
  auto r = Write<Task>(
      [&](Txn& txn) -> Result<Task> {
        ASSIGN_OR_RETURN(Task * t, txn.Get(id));
        if (t->is_complete || t->assigned_to != worker) {
          return Status::Conflict("Task " + id.Hex() + " is not held by worker " + worker);
        }
        int64_t until = txn.now() + options_.lease_ms;
        t->lease_expires_at = until;
        if (t->key) {
          std::vector<Id> dups;
          RETURN_IF_ERROR(txn.KeyedTasks(t->channel, *t->key, &dups));
          for (const Id& d : dups) {
            ASSIGN_OR_RETURN(Task * x, txn.Get(d));
            if (x->assigned_to == worker) x->lease_expires_at = until;
          }
        }
        return *t;
      },
      Ack::kLease);
  if (r.ok()) FillDerived(*r);
  return r;
}

}  // namespace crew::engine
