// Tasks: create, update, delete, reset, retry, pluck (reference §4.1, §5.6-5.7; SPEC D5, D8, D9).
#include <algorithm>
#include <deque>
#include <set>

#include "engine/txn.h"

namespace crew::engine {

namespace {

// Counts the distinct parents that are not complete; kInvalidArgument for an unknown one, unless
// `kept` (an edited task's parents before the edit) holds it: a parent deleted since (its group
// deleted or reset) no longer blocks, reference §4.2, and an edit that sends the task's
// parentIds back as they are (crew-ui's edit dialog always does) must not fail on it.
Result<uint32_t> PendingParents(Txn& txn, const std::vector<Id>& parents,
                                const std::vector<Id>& kept = {}) {
  uint32_t pending = 0;
  std::set<Id> seen;
  for (const Id& p : parents) {
    if (!seen.insert(p).second) continue;
    ASSIGN_OR_RETURN(Task * parent, txn.Find(p));
    if (!parent && std::find(kept.begin(), kept.end(), p) != kept.end()) continue;
    if (!parent) return Status::Invalid("Cannot create task with missing parent : " + p.Hex());
    pending += !parent->is_complete;
  }
  return pending;
}

}  // namespace

// D5: a task that becomes a duplicate (same channel and key) of a held task, by its create or a
// PUT of its channel or key, is locked to the holder at once: a second worker can never take it,
// and with it the holder's lock.
Status Engine::LockToKeyHolder(Txn& txn, Task* t, KeyHolders* holders) {
  if (!t->key) return Status::Ok();
  std::optional<KeyHolder> found;
  auto known = holders ? holders->find({t->channel, *t->key}) : KeyHolders::iterator();
  if (holders && known != holders->end()) {
    found = known->second;
  } else {
    // (it read every duplicate's record when none was held: 35 ms per create with 20,000)
    ASSIGN_OR_RETURN(Task * holder, txn.FindKeyHolder(t->channel, *t->key, t->id));
    if (holder) {
      found = KeyHolder{holder->assigned_to, holder->assigned_at, holder->lease_expires_at};
    }
    if (holders) (*holders)[{t->channel, *t->key}] = found;
  }
  if (found) {
    t->assigned_to = found->assigned_to;
    t->assigned_at = found->assigned_at;
    t->lease_expires_at = found->lease_expires_at;
  }
  return Status::Ok();
}

Status Engine::DoCreateTask(Txn& txn, const Id& group_id, const NewTask& nt, Task** out,
                            KeyHolders* holders) {
  RETURN_IF_ERROR(txn.GetGroup(group_id).status());
  ASSIGN_OR_RETURN(uint32_t pending, PendingParents(txn, nt.parent_ids));
  Task t;
  t.id = ids_.Next();
  t.group_id = group_id;
  t.name = nt.name;
  t.channel = nt.channel;
  t.workgroup = nt.workgroup;
  t.key = nt.key;
  t.remaining_attempts = nt.remaining_attempts;
  t.priority = nt.priority;
  t.run_after = nt.run_after;
  t.progress_weight = nt.progress_weight;
  t.is_seed = nt.is_seed;
  t.error_delay_s = nt.error_delay_s;
  t.input = nt.input;
  t.created_at = IdSource::CreatedMs(t.id);
  t.parent_ids = nt.parent_ids;
  t.pending_parents = pending;
  t.parents_complete = pending == 0;  // D8: true without parents
  RETURN_IF_ERROR(LockToKeyHolder(txn, &t, holders));
  Task* inserted = txn.Insert(std::move(t));
  ++txn.counts().tasks_created;
  txn.EmitTask("task:create", inserted->id);
  *out = inserted;
  return Status::Ok();
}

Result<std::vector<Task>> Engine::CreateTasks(const Id& group_id,
                                              const std::vector<NewTask>& tasks) {
  auto r = Write<std::vector<Task>>([&](Txn& txn) -> Result<std::vector<Task>> {
    // (D1: an unknown group is 404, even for an empty list)
    if (tasks.empty()) RETURN_IF_ERROR(txn.GetGroup(group_id).status());
    std::vector<Task> out;
    KeyHolders holders;
    for (const NewTask& nt : tasks) {
      Task* t;
      RETURN_IF_ERROR(DoCreateTask(txn, group_id, nt, &t, &holders));
      out.push_back(*t);
    }
    return out;
  });
  if (r.ok()) {
    for (Task& t : *r) FillDerived(t);
  }
  return r;
}

// REQUIRES: `parents` exist. kInvalidArgument when one of them is `task` or descends from it.
Status Engine::CheckNoCycle(Txn& txn, const Id& task, const std::vector<Id>& parents) {
  std::set<Id> wanted(parents.begin(), parents.end());
  std::set<Id> seen{task};
  std::deque<Id> todo{task};
  std::vector<Id> children;
  while (!todo.empty()) {
    Id id = todo.front();
    todo.pop_front();
    if (wanted.count(id))
      return Status::Invalid("parentIds would make a cycle through " + id.Hex());
    RETURN_IF_ERROR(txn.ChildrenOf(id, &children));
    for (const Id& c : children) {
      if (seen.insert(c).second) todo.push_back(c);
    }
  }
  return Status::Ok();
}

Result<Task> Engine::UpdateTask(const Id& id, const TaskPatch& p) {
  auto r = Write<Task>([&](Txn& txn) -> Result<Task> {
    ASSIGN_OR_RETURN(Task * t, txn.Get(id));
    // D5: a held task and the duplicates locked with it are one lock, released as one; moving
    // one of them to another channel or key while held would leave a lock with two holders, or
    // one no worker holds. (A PUT that sends them back unchanged, as crew-ui's does, is fine.)
    const bool moves = (p.channel && *p.channel != t->channel) || (p.key && *p.key != t->key);
    if (moves && t->assigned() && !t->is_complete) {
      return Status::Conflict("Task " + id.Hex() + " is held by worker " + *t->assigned_to +
                              ": its channel and key cannot change until it is released");
    }
    if (p.parent_ids) {
      ASSIGN_OR_RETURN(uint32_t pending, PendingParents(txn, *p.parent_ids, t->parent_ids));
      RETURN_IF_ERROR(CheckNoCycle(txn, id, *p.parent_ids));
      txn.SetParents(t, *p.parent_ids);
      t->pending_parents = pending;
      t->parents_complete = pending == 0;  // D9: recomputed
    }
    if (p.name) t->name = *p.name;
    if (p.channel) t->channel = *p.channel;
    if (p.workgroup) t->workgroup = *p.workgroup;
    if (p.key) t->key = *p.key;
    if (p.remaining_attempts) t->remaining_attempts = *p.remaining_attempts;
    if (p.priority) t->priority = *p.priority;
    if (p.run_after) t->run_after = *p.run_after;
    if (p.progress_weight) t->progress_weight = *p.progress_weight;
    if (p.error_delay_s) t->error_delay_s = *p.error_delay_s;
    if (p.is_seed) t->is_seed = *p.is_seed;
    if (p.input) t->input = *p.input;
    if (moves) {
      txn.NoteKeyChanged(*t);
      if (!t->is_complete) RETURN_IF_ERROR(LockToKeyHolder(txn, t));
    }
    txn.EmitTask("task:update", id);
    return *t;
  });
  if (r.ok()) FillDerived(*r);
  return r;
}

// Erases one task. Its children that stay lose a pending parent if it was incomplete (a deleted
// parent no longer blocks; reference §4.2 skips missing parents).
Status Engine::EraseTask(Txn& txn, const Id& id, const std::set<Id>& deleting, bool emit) {
  ASSIGN_OR_RETURN(Task * t, txn.Find(id));
  if (!t) return Status::Ok();
  if (!t->is_complete) {
    std::vector<Id> children;
    RETURN_IF_ERROR(txn.ChildrenOf(id, &children));
    for (const Id& cid : children) {
      if (!deleting.count(cid)) RETURN_IF_ERROR(txn.ParentDone(cid));
    }
  }
  if (emit) txn.EmitTask("task:delete", id);
  txn.Erase(id);
  return Status::Ok();
}

// Reference §5.6: a task goes with all its descendants, deepest first.
Status Engine::DeleteTask(const Id& id) {
  return Write<bool>([&](Txn& txn) -> Result<bool> {
           RETURN_IF_ERROR(txn.Get(id).status());
           std::vector<Id> order{id};  // breadth-first; erased in reverse
           std::set<Id> deleting{id};
           std::vector<Id> children;
           for (size_t i = 0; i < order.size(); ++i) {
             RETURN_IF_ERROR(txn.ChildrenOf(order[i], &children));
             for (const Id& c : children) {
               if (deleting.insert(c).second) order.push_back(c);
             }
           }
           for (auto it = order.rbegin(); it != order.rend(); ++it) {
             RETURN_IF_ERROR(EraseTask(txn, *it, deleting, true));
           }
           return true;
         })
      .status();
}

// Makes a task new again (task reset, group reset). Children that counted it as complete count
// it as pending again; their cached parentsComplete is left alone (reference §5.6). Its caller
// then locks it to its key's holder, if another task holds the key (D5).
Status Engine::ReopenTask(Txn& txn, Task* t, int64_t remaining_attempts) {
  if (t->is_complete) {
    std::vector<Id> children;
    RETURN_IF_ERROR(txn.ChildrenOf(t->id, &children));
    for (const Id& cid : children) {
      ASSIGN_OR_RETURN(Task * c, txn.Find(cid));
      if (c) ++c->pending_parents;
    }
  }
  t->is_complete = false;
  t->errors.clear();
  t->output = "null";
  t->run_after.reset();
  t->assigned_to.reset();
  t->assigned_at.reset();
  t->lease_expires_at = 0;
  t->remaining_attempts = remaining_attempts;
  return Status::Ok();
}

Result<Task> Engine::ResetTask(const Id& id, int64_t remaining_attempts) {
  auto r = Write<Task>([&](Txn& txn) -> Result<Task> {
    ASSIGN_OR_RETURN(Task * t, txn.Get(id));
    RETURN_IF_ERROR(ReopenTask(txn, t, remaining_attempts));
    RETURN_IF_ERROR(LockToKeyHolder(txn, t));  // (D5: a held key stays its holder's)
    txn.EmitTask("task:update", id);
    return *t;
  });
  if (r.ok()) FillDerived(*r);
  return r;
}

Result<Task> Engine::RetryTask(const Id& id, int64_t remaining_attempts) {
  auto r = Write<Task>([&](Txn& txn) -> Result<Task> {
    ASSIGN_OR_RETURN(Task * t, txn.Get(id));
    t->remaining_attempts = remaining_attempts;  // sets, not adds (reference §5.6)
    txn.EmitTask("task:update", id);
    return *t;
  });
  if (r.ok()) FillDerived(*r);
  return r;
}

// Reference §5.6: a copy of the task, alone in a new paused group.
Result<Task> Engine::PluckTask(const Id& id) {
  auto r = Write<Task>([&](Txn& txn) -> Result<Task> {
    ASSIGN_OR_RETURN(Task * orig, txn.Get(id));
    Group g;
    g.id = ids_.Next();
    g.name = "Pluck Task " + id.Hex();
    g.is_paused = true;
    g.created_at = IdSource::CreatedMs(g.id);
    txn.InsertGroup(g);
    Event created;
    created.room = g.id.Hex();
    created.name = "group:create";
    created.payload = g;
    txn.Emit(std::move(created));
    NewTask nt;
    nt.name = orig->name;
    nt.channel = orig->channel;
    nt.workgroup = orig->workgroup;
    nt.key = orig->key;
    nt.priority = orig->priority;
    nt.progress_weight = orig->progress_weight;
    nt.is_seed = orig->is_seed;
    nt.error_delay_s = orig->error_delay_s;
    nt.input = orig->input;
    Task* t;
    RETURN_IF_ERROR(DoCreateTask(txn, g.id, nt, &t));
    return *t;
  });
  if (r.ok()) FillDerived(*r);
  return r;
}

}  // namespace crew::engine
