// Task groups: create, rename, delete, reset, retry, pause (reference §5.1-5.4, SPEC D10).
#include <set>

#include "engine/txn.h"

namespace crew::engine {

using storage::Cf;

namespace {

Result<Group*> RequireGroup(Txn& txn, const Id& id) {
  ASSIGN_OR_RETURN(Group * g, txn.FindGroup(id));
  if (!g) return Status::NotFound("TaskGroup with id " + id.Hex() + " not found!");
  return g;
}

Status GroupTaskIds(storage::Store* store, const Id& group, std::vector<Id>* out) {
  return store->Scan(Cf::kGroupTasks, storage::IdKey(group), false,
                     [&](std::string_view key, std::string_view) {
                       out->push_back(storage::TrailingId(key));
                       return true;
                     });
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
    ASSIGN_OR_RETURN(Group * g, RequireGroup(txn, id));
    if (name) g->name = *name;
    txn.Emit(GroupEvent("task_group:update", id, *g));
    return *g;
  });
}

Status Engine::DeleteGroup(const Id& id) {
  return Write<bool>([&](Txn& txn) -> Result<bool> {
           ASSIGN_OR_RETURN(Group * g, RequireGroup(txn, id));
           Group before = *g;
           std::vector<Id> ids;
           RETURN_IF_ERROR(GroupTaskIds(store_, id, &ids));
           std::set<Id> deleting(ids.begin(), ids.end());
           for (const Id& tid : ids) RETURN_IF_ERROR(EraseTask(txn, tid, deleting, false));
           txn.EraseGroup(id);
           txn.Emit(GroupEvent("group:delete", id, before));
           return true;
         })
      .status();
}

// Reference §5.3 with D10: with seeds in the group, only the seeds stay; every remaining task
// starts over with `remaining_attempts`, and parentsComplete is recomputed (D8, D13).
Result<Group> Engine::ResetGroup(const Id& id, int64_t remaining_attempts) {
  return Write<Group>([&](Txn& txn) -> Result<Group> {
    ASSIGN_OR_RETURN(Group * g, RequireGroup(txn, id));
    Group before = *g;
    std::vector<Id> ids;
    RETURN_IF_ERROR(GroupTaskIds(store_, id, &ids));
    std::vector<Task*> tasks;
    bool has_seed = false;
    for (const Id& tid : ids) {
      ASSIGN_OR_RETURN(Task * t, txn.Get(tid));
      tasks.push_back(t);
      has_seed = has_seed || t->is_seed;
    }
    std::set<Id> deleting;
    if (has_seed) {
      for (Task* t : tasks) {
        if (!t->is_seed) deleting.insert(t->id);
      }
    }
    std::vector<Id> kept;
    for (Task* t : tasks) {
      if (!deleting.count(t->id)) kept.push_back(t->id);
    }
    for (const Id& tid : deleting) RETURN_IF_ERROR(EraseTask(txn, tid, deleting, false));
    for (const Id& tid : kept) {
      ASSIGN_OR_RETURN(Task * t, txn.Get(tid));
      RETURN_IF_ERROR(ReopenTask(txn, t, remaining_attempts));
    }
    for (const Id& tid : kept) {  // now that every kept task is incomplete again
      ASSIGN_OR_RETURN(Task * t, txn.Get(tid));
      uint32_t pending = 0;
      std::set<Id> seen;
      for (const Id& p : t->parent_ids) {
        if (!seen.insert(p).second) continue;
        ASSIGN_OR_RETURN(Task * parent, txn.Find(p));
        pending += parent && !parent->is_complete;
      }
      t->pending_parents = pending;
      t->parents_complete = pending == 0;
    }
    txn.Emit(GroupEvent("group:reset", id, std::monostate()));
    return before;
  });
}

Result<Group> Engine::RetryGroup(const Id& id, int64_t remaining_attempts) {
  return Write<Group>([&](Txn& txn) -> Result<Group> {
    ASSIGN_OR_RETURN(Group * g, RequireGroup(txn, id));
    Group result = *g;
    std::vector<Id> ids;
    RETURN_IF_ERROR(GroupTaskIds(store_, id, &ids));
    for (const Id& tid : ids) {
      ASSIGN_OR_RETURN(Task * t, txn.Get(tid));
      if (!t->is_complete && t->remaining_attempts < 1) t->remaining_attempts = remaining_attempts;
    }
    txn.Emit(GroupEvent("group:retry", id, std::monostate()));
    return result;
  });
}

// Pausing only flips the group's flag: its queued tasks are parked when an acquire or a timer
// meets them (DESIGN.md); resuming loads the parked ones, which re-places them.
Result<Group> Engine::SetGroupPaused(const Id& id, bool paused) {
  return Write<Group>([&](Txn& txn) -> Result<Group> {
    ASSIGN_OR_RETURN(Group * g, RequireGroup(txn, id));
    g->is_paused = paused;
    if (!paused) {
      std::vector<Id> parked;
      RETURN_IF_ERROR(store_->Scan(Cf::kParked, storage::IdKey(id), false,
                                   [&](std::string_view key, std::string_view) {
                                     parked.push_back(storage::TrailingId(key));
                                     return true;
                                   }));
      for (const Id& tid : parked) {
        ASSIGN_OR_RETURN(Task * t, txn.Find(tid));
        if (!t) txn.DeleteIndexKey(Cf::kParked, storage::PairKey(id, tid));
      }
    }
    txn.Emit(GroupEvent("group:syncPause", id,
                        std::string(paused ? "{\"isPaused\":true}" : "{\"isPaused\":false}")));
    return *g;
  });
}

}  // namespace crew::engine
