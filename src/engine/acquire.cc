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

// Hands out up to `limit` tasks of the channel: priority first, then age. The scan starts at
// the channel's queue floor, so it never walks the tombstones of tasks already handed out; a
// task met there that is no longer acquirable (its group paused, its workgroup delayed) is
// only loaded, and Commit moves it out of kReady.
//
// A scan reads kReadAhead keys, not one: the keys this acquire does not take are kept for the
// next (the channel's ReadyCursor), which then needs no RocksDB iterator (making one and seeking
// was ~5% of the event loop's time in a one-task-per-request drain). Every key is checked
// against its task when taken, so a kept key whose task moved meanwhile is only skipped; and a
// commit that adds a ready key sorting before the last kept one drops them (Txn::Commit), so a
// newer task of higher priority is never passed over.
Result<std::vector<Acquired>> Engine::Acquire(const std::string& channel, const std::string& worker,
                                              int limit) {
  auto r = Write<std::vector<Acquired>>(
      [&](Txn& txn) -> Result<std::vector<Acquired>> {
        constexpr size_t kReadAhead = 32;
        std::vector<Acquired> out;
        // Handed back by Commit; if this fails, the floor stays and the kept keys are dropped.
        ReadyCursor cursor;
        if (auto c = ready_cursors_.find(channel); c != ready_cursors_.end()) {
          cursor.floor = c->second.floor;
          cursor.ahead = std::exchange(c->second.ahead, {});
          cursor.next = std::exchange(c->second.next, 0);
        }
        const std::string prefix = storage::ChannelPrefix(channel);
        const std::string end = storage::PrefixEnd(prefix);
        rocksdb::Slice upper(end);
        std::unique_ptr<rocksdb::Iterator> it;
        bool scanned_all = false;
        std::string last;  // the last key taken
        // Appends the scan's next keys to the kept ones: from the floor, or after the kept keys
        // this acquire took (still in kReady until it commits).
        auto read_ahead = [&]() -> Status {
          if (!it) {
            rocksdb::ReadOptions ro;
            if (!end.empty()) ro.iterate_upper_bound = &upper;
            it = store_->NewIterator(Cf::kReady, ro);
            it->Seek(!last.empty() ? last : !cursor.floor.empty() ? cursor.floor : prefix);
            if (!last.empty() && it->Valid() && it->key() == last) it->Next();
          }
          const size_t want = std::max(kReadAhead, static_cast<size_t>(limit) - out.size());
          for (; it->Valid() && cursor.size() < want; it->Next()) {
            cursor.Keep(it->key().ToString());
          }
          if (!it->status().ok()) return Status::IoError(it->status().ToString());
          scanned_all = !it->Valid();
          return Status::Ok();
        };
        while (static_cast<int>(out.size()) < limit) {
          if (cursor.empty() && !scanned_all) RETURN_IF_ERROR(read_ahead());
          if (cursor.empty()) break;
          std::string key = cursor.Take();
          last = key;
          Id id = storage::TrailingId(key);
          ASSIGN_OR_RETURN(Task * t, txn.Find(id));
          if (!t || t->placement != Placement::kReady ||
              storage::ReadyKey(t->channel, t->priority, id) != key) {
            txn.DeleteIndexKey(Cf::kReady, std::move(key));
            continue;
          }
          int64_t due;
          if (txn.Place(*t, &due) != Placement::kReady) continue;  // re-placed at commit
          t->assigned_to = worker;
          t->assigned_at = txn.now();
          t->lease_expires_at = txn.now() + options_.lease_ms;
          RETURN_IF_ERROR(LockDuplicates(txn, *t));
          txn.EmitTask("task:update", id);
          Acquired a;
          a.task = *t;
          for (const Id& p : t->parent_ids) {
            ASSIGN_OR_RETURN(Task * parent, txn.Find(p));
            if (parent) a.parents.push_back({p, parent->channel, parent->input, parent->output});
          }
          out.push_back(std::move(a));
        }
        if (!last.empty()) cursor.floor = std::move(last);
        if (!cursor.floor.empty()) txn.SetReadyCursor(channel, std::move(cursor));
        txn.counts().tasks_acquired += static_cast<int64_t>(out.size());
        return out;
      },
      Ack::kLease);
  if (r.ok()) {
    for (Acquired& a : *r) FillDerived(a.task);
  }
  return r;
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
