// Task groups: create, rename, delete, reset, retry, pause (reference §5.1-5.4, SPEC D10).
#include <algorithm>
#include <chrono>
#include <exception>
#include <functional>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>

#include "engine/txn.h"
#include "util/coding.h"

namespace crew::engine {

using storage::Cf;

namespace {

Status GroupTaskIds(storage::Store* store, const Id& group, std::vector<Id>* out) {
  return store->Scan(Cf::kGroupTasks, storage::IdKey(group), false,
                     [&](std::string_view key, std::string_view) {
                       out->push_back(storage::TrailingId(key));
                       return true;
                     });
}

// A task's parents that are not complete, counted again (a group reset's last step).
Status CountPendingParents(Txn& txn, Task* t) {
  uint32_t pending = 0;
  std::set<Id> seen;
  for (const Id& p : t->parent_ids) {
    if (!seen.insert(p).second) continue;
    ASSIGN_OR_RETURN(Task * parent, txn.Find(p));
    pending += parent && !parent->is_complete;
  }
  t->pending_parents = pending;
  t->parents_complete = pending == 0;
  return Status::Ok();
}

Event GroupEvent(const char* name, const Id& room,
                 std::variant<std::monostate, Task, Group, Operator, std::string> payload) {
  Event e;
  e.room = room.Hex();
  e.name = name;
  e.payload = std::move(payload);
  return e;
}

}  // namespace

Result<Group> Engine::CreateGroup(const NewGroup& ng) {
  return Write<Group>([&](Txn& txn) -> Result<Group> {
    Group g;
    g.id = ids_.Next();
    g.name = ng.name;
    g.is_paused = ng.is_paused;
    g.created_at = IdSource::CreatedMs(g.id);
    txn.InsertGroup(g);
    txn.Emit(GroupEvent("group:create", g.id, g));
    return g;
  });
}

Result<Group> Engine::RenameGroup(const Id& id, const std::optional<std::string>& name) {
  return Write<Group>([&](Txn& txn) -> Result<Group> {
    ASSIGN_OR_RETURN(Group * g, txn.GetGroup(id));
    if (name) g->name = *name;
    txn.Emit(GroupEvent("task_group:update", id, *g));
    return *g;
  });
}

// How a large group's delete, reset, retry and resume go (a group of more than options_.group_batch
// tasks): in batches, each a Txn of its own, so that other writes (every worker's) go on between
// them. In one Txn, a group of 200,000 tasks held the writer for 1.1-1.4 s (every worker and
// producer waited) and crew's memory grew by 0.4 GB. The last Txn takes the last batch, with
// any task made in the group meanwhile (LateGroupTasks), and emits the group's event.
// Meanwhile the group's tasks not yet reached can still be acquired, as with a task deleted or
// reset alone (the holder's release is then refused). The operation notes itself in kMeta
// before its first batch (a note of its own: two resets of one group at once each have theirs),
// and its last Txn erases the note: a crash in between leaves it half done, every batch whole,
// and the next start-up does it again, which finishes it (a reset cut short after its tasks
// were held back had left them waiting for good). A reset's and a retry's batches also mark the
// note with how far they got, and the start-up goes on from there: done again from the start,
// they reopened tasks that had started over and been completed before the crash, which then ran
// twice.

namespace {

// + group id(12) + op(1) + fixed64 instance -> ordered(attempts) + seeded(1) [+ step(1) +
// task id(12)] (the mark: GroupOpMark; an earlier version wrote the attempts alone)
constexpr std::string_view kGroupOpPrefix = "groupop/";

std::string NoteValue(int64_t remaining_attempts, const GroupOpMark& mark) {
  std::string v;
  PutOrderedI64(v, remaining_attempts);
  v += static_cast<char>(mark.seeded.value_or(false));
  if (mark.through) {
    v += static_cast<char>(mark.step);
    v += mark.through->View();
  }
  return v;
}

// The note's value, or nullopt if it does not parse.
std::optional<std::pair<int64_t, GroupOpMark>> ParseNoteValue(std::string_view v) {
  // (8: an earlier version's, the attempts alone; 21: one that marked without the seeds byte)
  if (v.size() != 8 && v.size() != 9 && v.size() != 21 && v.size() != 22) return std::nullopt;
  GroupOpMark mark;
  size_t at = 8;
  if (v.size() == 9 || v.size() == 22) {
    if (v[8] != 0 && v[8] != 1) return std::nullopt;
    mark.seeded = v[8] == 1;
    at = 9;
  }
  if (v.size() > at) {
    mark.step = static_cast<unsigned char>(v[at]);
    if (mark.step < 1 || mark.step > 3) return std::nullopt;
    mark.through = Id::FromBytes(v.substr(at + 1));
  }
  return std::make_pair(DecodeOrderedI64(v.data()), mark);
}

// Each batch's mark of the operation's note `key` (InGroupBatches): step `step` done through the
// batch's last task.
std::function<void(Txn&, const Id&)> MarkNote(const std::string& key, int64_t remaining_attempts,
                                              int step, std::optional<bool> seeded) {
  return [&key, remaining_attempts, step, seeded](Txn& txn, const Id& last) {
    txn.PutMeta(key, NoteValue(remaining_attempts, GroupOpMark{step, last, seeded}));
  };
}

// Which of two marks of one operation got less far (two at once: the start-up goes on from it).
bool Behind(const GroupOpMark& a, const GroupOpMark& b) {
  if (!a.through || !b.through) return !a.through && b.through;
  return a.step != b.step ? a.step < b.step : *a.through < *b.through;
}

// The part of `list` (in id order) that step `step` of an operation going on from `from` does:
// all of it past the mark's step, none before it, and in it the tasks after the mark's task.
std::span<const Id> StillToDo(std::span<const Id> list, int step, const GroupOpMark& from) {
  if (!from.through || step > from.step) return list;
  if (step < from.step) return {};
  auto first = std::upper_bound(list.begin(), list.end(), *from.through);
  return list.subspan(static_cast<size_t>(first - list.begin()));
}

// An operation's note, erased (by `erase`) if the operation ends by an error rather than by its
// last Txn, so that a failed operation is not done again at the next start-up (with the store
// failed the erase fails too, and the start-up does it again). An exception is taken for a
// crash (the tests' after_group_batch): the note stays.
class OpNote {
 public:
  explicit OpNote(std::function<void(const std::string&)> erase) : erase_(std::move(erase)) {}
  ~OpNote() {
    if (!key.empty() && std::uncaught_exceptions() == 0) erase_(key);
  }
  OpNote(const OpNote&) = delete;
  OpNote& operator=(const OpNote&) = delete;
  void Done() { key.clear(); }  // (its last Txn erased it)

  std::string key;  // (empty: none written)

 private:
  std::function<void(const std::string&)> erase_;
};

}  // namespace

void Engine::EraseNote(const std::string& key) {
  (void)Write<bool>([&](Txn& txn) -> Result<bool> {
    txn.DeleteIndexKey(Cf::kMeta, key);
    return true;
  });
}

std::string Engine::PutGroupOpNote(Txn& txn, const Id& group, GroupOp op,
                                   int64_t remaining_attempts, const GroupOpMark& from) {
  std::string key(kGroupOpPrefix);
  key += group.View();
  key += static_cast<char>(op);
  PutFixed64BE(key, next_group_op_.fetch_add(1, std::memory_order_relaxed));
  txn.PutMeta(key, NoteValue(remaining_attempts, from));
  return key;
}

Result<std::string> Engine::NoteGroupOp(const Id& group, GroupOp op, int64_t remaining_attempts,
                                        const GroupOpMark& from) {
  return Write<std::string>([&](Txn& txn) -> Result<std::string> {
    RETURN_IF_ERROR(txn.GetGroup(group).status());
    return PutGroupOpNote(txn, group, op, remaining_attempts, from);
  });
}

// At start-up: each operation a crash cut short done again, once however many notes name it (a
// delete first: a reset or a retry of the same group then finds it gone; a resume only if the
// group was not paused since), a reset or a retry from the mark of the one that got least far,
// then its notes erased. A note that does not parse is erased.
Status Engine::FinishGroupOps() {
  struct Cut {
    int64_t attempts = 0;
    GroupOpMark from;
    std::vector<std::string> notes;
  };
  std::map<std::pair<Id, char>, Cut> cut;  // (in key order: a group's delete first)
  std::vector<std::string> erase;          // (those that do not parse, then those done)
  RETURN_IF_ERROR(
      store_->Scan(Cf::kMeta, kGroupOpPrefix, false, [&](std::string_view k, std::string_view v) {
        const std::string_view rest = k.substr(kGroupOpPrefix.size());
        const char op = rest.size() == 21 ? rest[12] : 0;
        auto value = ParseNoteValue(v);
        if (!value || (op != 'd' && op != 'r' && op != 't' && op != 'u')) {
          spdlog::warn("dropping a group operation note that does not parse ({} bytes)", v.size());
          erase.emplace_back(k);
          return true;
        }
        Cut& c = cut[{Id::FromBytes(rest.substr(0, 12)), op}];
        if (c.notes.empty() || Behind(value->second, c.from)) {
          c.attempts = value->first;
          c.from = value->second;
        }
        c.notes.emplace_back(k);
        return true;
      }));
  for (auto& [what, c] : cut) {
    const auto& [group, op_char] = what;
    const auto op = static_cast<GroupOp>(op_char);
    Status done;
    auto g = GetGroup(group);
    if (!g.ok()) {
      done = g.status();
    } else if (op != GroupOp::kResume || !g->is_paused) {  // (paused since: nothing to finish)
      spdlog::warn("finishing the {} of task group {} that the last shutdown cut short",
                   op == GroupOp::kDelete  ? "delete"
                   : op == GroupOp::kReset ? "reset"
                   : op == GroupOp::kRetry ? "retry"
                                           : "resume",
                   group.Hex());
      done = op == GroupOp::kDelete  ? DeleteGroup(group)
             : op == GroupOp::kReset ? ResetGroup(group, c.attempts, c.from).status()
             : op == GroupOp::kRetry ? RetryGroup(group, c.attempts, c.from).status()
                                     : SetGroupPaused(group, false).status();
    }
    if (done.code() != Code::kNotFound) RETURN_IF_ERROR(done);  // (gone: nothing to finish)
    erase.insert(erase.end(), c.notes.begin(), c.notes.end());
  }
  if (erase.empty()) return Status::Ok();
  return Write<bool>([&](Txn& txn) -> Result<bool> {
           for (std::string& note : erase) txn.DeleteIndexKey(Cf::kMeta, std::move(note));
           return true;
         })
      .status();
}

// The ids of list (a group's tasks, in id order) that batches take; the rest goes with the
// last Txn.
size_t Engine::BatchedPart(size_t n) const {
  const size_t batch = std::max<size_t>(options_.group_batch, 1);
  return n > batch ? (n - 1) / batch * batch : 0;
}

template <typename Step>
Status Engine::InGroupBatches(const Id& group, std::span<const Id> list, Step&& step,
                              const std::function<void(Txn&, const Id&)>& mark) {
  const size_t batch = std::max<size_t>(options_.group_batch, 1);
  for (size_t from = 0; from < list.size(); from += batch) {
    if (from > 0) {
      // std::mutex is not fair: taken again at once, the writer's lock kept a waiting writer
      // (the event loop's) out for a whole retry of 200,000 tasks (0.4 s), whose Txns write
      // nothing and so wait for no sync between two. This lets it in.
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    std::span<const Id> piece = list.subspan(from, std::min(batch, list.size() - from));
    RETURN_IF_ERROR(Write<bool>([&](Txn& txn) -> Result<bool> {
                      RETURN_IF_ERROR(txn.GetGroup(group).status());
                      RETURN_IF_ERROR(step(txn, piece));
                      if (mark) mark(txn, piece.back());
                      return true;
                    }).status());
    if (options_.after_group_batch) options_.after_group_batch();
  }
  return Status::Ok();
}

// The tasks made in a group after `listed`, its tasks as listed before the batches (ids grow:
// theirs sort after). Read in the last Txn, from a bound past the listed ones: the batches'
// deletions are tombstones that a scan from the group's first key would walk through.
Status Engine::LateGroupTasks(const Id& group, const std::vector<Id>& listed,
                              std::vector<Id>* late) const {
  const std::string prefix = storage::IdKey(group);
  const std::string after = listed.empty() ? prefix : storage::PairKey(group, listed.back()) + '\0';
  return store_->RangeWritten(Cf::kGroupTasks, after, storage::PrefixEnd(prefix),
                              [&](std::string_view key, std::string_view) {
                                late->push_back(storage::TrailingId(key));
                                return true;
                              });
}

Status Engine::DeleteGroup(const Id& id) {
  RETURN_IF_ERROR(GetGroup(id).status());
  std::vector<Id> ids;
  RETURN_IF_ERROR(GroupTaskIds(store_, id, &ids));
  std::set<Id> deleting(ids.begin(), ids.end());
  auto erase = [&](Txn& txn, std::span<const Id> list) -> Status {
    for (const Id& tid : list) RETURN_IF_ERROR(EraseTask(txn, tid, deleting, false));
    return Status::Ok();
  };
  const size_t batched = BatchedPart(ids.size());
  OpNote note([this](const std::string& key) { EraseNote(key); });
  if (batched > 0) {
    ASSIGN_OR_RETURN(note.key, NoteGroupOp(id, GroupOp::kDelete, 0));
  }
  RETURN_IF_ERROR(InGroupBatches(id, std::span<const Id>(ids).first(batched), erase));
  Status done =
      Write<bool>([&](Txn& txn) -> Result<bool> {
        ASSIGN_OR_RETURN(Group * g, txn.GetGroup(id));
        Group before = *g;
        if (batched > 0) txn.DeleteIndexKey(Cf::kMeta, note.key);
        std::vector<Id> last(ids.begin() + static_cast<std::ptrdiff_t>(batched), ids.end());
        RETURN_IF_ERROR(LateGroupTasks(id, ids, &last));
        deleting.insert(last.begin(), last.end());
        RETURN_IF_ERROR(erase(txn, last));
        txn.EraseGroup(id);
        txn.Emit(GroupEvent("group:delete", id, before));
        return true;
      }).status();
  if (done.ok()) note.Done();
  return done;
}

// Reference §5.3 with D10: with seeds in the group, only the seeds stay; every remaining task
// starts over with `remaining_attempts`, and parentsComplete is recomputed (D8, D13). In
// batches (above): first the tasks that go, then every task kept is held back (parentsComplete
// false), then each starts over, then each one's pending parents are counted again, which lets
// the roots go. All are held back before the first starts over, so that none is handed out
// while a parent starts over, between two batches or after a crash there. Going on `from` a
// mark (steps 1-3: hold, start over, count), the deletes are done again whole (those done are
// gone) and each later step where the mark says; a task made in the group while the cut run
// went on (in the listing: ids grow) then takes those steps alone, not all as in the last Txn.
Result<Group> Engine::ResetGroup(const Id& id, int64_t remaining_attempts,
                                 const GroupOpMark& from) {
  ASSIGN_OR_RETURN(Group before, GetGroup(id));
  std::vector<Id> ids;
  RETURN_IF_ERROR(GroupTaskIds(store_, id, &ids));
  // With a seed among them (as the run a crash cut short found), all tasks but the seeds go
  // (read before the first Txn; the Txns read again the tasks they change).
  std::vector<Id> going, kept;
  for (const Id& tid : ids) {
    ASSIGN_OR_RETURN(auto t, LoadTask(tid));
    (t && t->is_seed ? kept : going).push_back(tid);
  }
  const bool has_seed = from.seeded.value_or(!kept.empty());
  if (!has_seed) {  // (no seed: every task stays)
    kept = ids;
    going.clear();
  }
  std::set<Id> deleting(going.begin(), going.end());
  auto erase = [&](Txn& txn, std::span<const Id> list) -> Status {
    for (const Id& tid : list) RETURN_IF_ERROR(EraseTask(txn, tid, deleting, false));
    return Status::Ok();
  };
  auto hold = [&](Txn& txn, std::span<const Id> list) -> Status {
    for (const Id& tid : list) {
      ASSIGN_OR_RETURN(Task * t, txn.Find(tid));
      if (t) t->parents_complete = false;  // (deleted meanwhile: none)
    }
    return Status::Ok();
  };
  auto reopen = [&](Txn& txn, std::span<const Id> list) -> Status {
    for (const Id& tid : list) {
      ASSIGN_OR_RETURN(Task * t, txn.Find(tid));
      if (t) RETURN_IF_ERROR(ReopenTask(txn, t, remaining_attempts));
    }
    return Status::Ok();
  };
  // Once every kept task is incomplete again: their pending parents are counted, and each is
  // locked to its key's holder, a task of another group that holds it (D5).
  auto count = [&](Txn& txn, std::span<const Id> list) -> Status {
    KeyHolders holders;  // (within one Txn: other writes come between two)
    for (const Id& tid : list) {
      ASSIGN_OR_RETURN(Task * t, txn.Find(tid));
      if (!t) continue;
      RETURN_IF_ERROR(CountPendingParents(txn, t));
      RETURN_IF_ERROR(LockToKeyHolder(txn, t, &holders));
    }
    return Status::Ok();
  };
  const bool batched = BatchedPart(ids.size()) > 0;
  OpNote note([this](const std::string& key) { EraseNote(key); });
  auto mark = [&](int step) { return MarkNote(note.key, remaining_attempts, step, has_seed); };
  if (batched) {  // (then every listed task goes in the batches)
    GroupOpMark start = from;
    start.seeded = has_seed;
    ASSIGN_OR_RETURN(note.key, NoteGroupOp(id, GroupOp::kReset, remaining_attempts, start));
    RETURN_IF_ERROR(InGroupBatches(id, going, erase));
    RETURN_IF_ERROR(InGroupBatches(id, StillToDo(kept, 1, from), hold, mark(1)));
    RETURN_IF_ERROR(InGroupBatches(id, StillToDo(kept, 2, from), reopen, mark(2)));
    RETURN_IF_ERROR(InGroupBatches(id, StillToDo(kept, 3, from), count, mark(3)));
    going.clear();
    kept.clear();
  }
  Result<Group> done = Write<Group>([&](Txn& txn) -> Result<Group> {
    RETURN_IF_ERROR(txn.GetGroup(id).status());
    std::vector<Id> late;
    RETURN_IF_ERROR(LateGroupTasks(id, ids, &late));
    for (const Id& tid : late) {
      ASSIGN_OR_RETURN(Task * t, txn.Find(tid));
      const bool goes = has_seed && t && !t->is_seed;
      (goes ? going : kept).push_back(tid);
      if (goes) deleting.insert(tid);
    }
    RETURN_IF_ERROR(erase(txn, going));
    // (a task made after the listing is past any mark: it starts over)
    RETURN_IF_ERROR(reopen(txn, batched ? kept : StillToDo(kept, 2, from)));
    RETURN_IF_ERROR(count(txn, batched ? kept : StillToDo(kept, 3, from)));
    if (batched) txn.DeleteIndexKey(Cf::kMeta, note.key);
    txn.Emit(GroupEvent("group:reset", id, std::monostate()));
    return before;
  });
  if (done.ok()) note.Done();
  return done;
}

// In batches (above): the exhausted tasks among the group's first tasks get their attempts back
// before the others' (a task made meanwhile has its own). Going on `from` a mark: the tasks
// after it.
Result<Group> Engine::RetryGroup(const Id& id, int64_t remaining_attempts,
                                 const GroupOpMark& from) {
  RETURN_IF_ERROR(GetGroup(id).status());
  std::vector<Id> ids;
  RETURN_IF_ERROR(GroupTaskIds(store_, id, &ids));
  auto retry = [&](Txn& txn, std::span<const Id> list) -> Status {
    for (const Id& tid : list) {
      ASSIGN_OR_RETURN(Task * t, txn.Find(tid));  // (deleted meanwhile: none)
      if (t && !t->is_complete && t->remaining_attempts < 1) {
        t->remaining_attempts = remaining_attempts;
      }
    }
    return Status::Ok();
  };
  const std::span<const Id> todo = StillToDo(ids, 1, from);
  const size_t batched = BatchedPart(todo.size());
  OpNote note([this](const std::string& key) { EraseNote(key); });
  if (batched > 0) {
    ASSIGN_OR_RETURN(note.key, NoteGroupOp(id, GroupOp::kRetry, remaining_attempts, from));
  }
  RETURN_IF_ERROR(InGroupBatches(id, todo.first(batched), retry,
                                 MarkNote(note.key, remaining_attempts, 1, std::nullopt)));
  Result<Group> done = Write<Group>([&](Txn& txn) -> Result<Group> {
    ASSIGN_OR_RETURN(Group * g, txn.GetGroup(id));
    Group result = *g;
    RETURN_IF_ERROR(retry(txn, todo.subspan(batched)));
    if (batched > 0) txn.DeleteIndexKey(Cf::kMeta, note.key);
    txn.Emit(GroupEvent("group:retry", id, std::monostate()));
    return result;
  });
  if (done.ok()) note.Done();
  return done;
}

// Pausing only flips the group's flag: an acquire sets its queued tasks aside as it meets them
// (in memory: Engine::SetAside), and the others are parked as they become ready (DESIGN.md).
// Resuming puts the ones set aside back in their queues and loads the parked ones, which
// re-places them. The parked ones are listed in the Txn that flips the flag (none is parked
// after it); more than a batch of them (200,000 made in a paused group took 0.7 s and 0.4 GB in
// one Txn) go in batches after it, as a large group's reset does (its note in that same Txn).
Result<Group> Engine::SetGroupPaused(const Id& id, bool paused) {
  std::vector<Id> parked;
  bool batched = false;
  OpNote note([this](const std::string& key) { EraseNote(key); });
  auto load = [&](Txn& txn, std::span<const Id> list) -> Status {
    for (const Id& tid : list) {
      ASSIGN_OR_RETURN(Task * t, txn.Find(tid));
      if (!t) txn.DeleteIndexKey(Cf::kParked, storage::PairKey(id, tid));
    }
    return Status::Ok();
  };
  ASSIGN_OR_RETURN(
      Group result, Write<Group>([&](Txn& txn) -> Result<Group> {
        ASSIGN_OR_RETURN(Group * g, txn.GetGroup(id));
        g->is_paused = paused;
        if (!paused) {
          if (auto aside = aside_groups_.find(id); aside != aside_groups_.end()) {
            PutBack(aside->second, &txn.ready_channels());
            aside_groups_.erase(aside);
          }
          parked.clear();
          RETURN_IF_ERROR(store_->Scan(Cf::kParked, storage::IdKey(id), false,
                                       [&](std::string_view key, std::string_view) {
                                         parked.push_back(storage::TrailingId(key));
                                         return true;
                                       }));
          batched = parked.size() > std::max<size_t>(options_.group_batch, 1);
          if (batched) {
            note.key = PutGroupOpNote(txn, id, GroupOp::kResume, 0);
          } else {
            RETURN_IF_ERROR(load(txn, parked));
          }
        }
        txn.Emit(GroupEvent("group:syncPause", id,
                            std::string(paused ? "{\"isPaused\":true}" : "{\"isPaused\":false}")));
        return *g;
      }));
  if (!batched) return result;
  RETURN_IF_ERROR(InGroupBatches(id, parked, load));
  RETURN_IF_ERROR(Write<bool>([&](Txn& txn) -> Result<bool> {
                    txn.DeleteIndexKey(Cf::kMeta, note.key);
                    return true;
                  }).status());
  note.Done();
  return result;
}

}  // namespace crew::engine
