// Release (reference §4.3, SPEC D3, D4, D6, N8).
#include <cmath>
#include <deque>
#include <map>

#include "engine/txn.h"
#include "util/iso_time.h"

namespace crew::engine {

namespace {

// (NaN, an errorDelayInSeconds of null, is no delay.)
int64_t SecondsToMs(double s) { return s > 0 ? static_cast<int64_t>(std::llround(s * 1000.0)) : 0; }

// D6: `_parent_ids` may name any sibling's `_child_id` in any order; a `_child_id` that several
// siblings carry names the first of them, as in the reference (which finds the first sibling
// made with it). Answers the siblings' creation order (parents first, otherwise request order)
// and each child's sibling parents.
Status OrderChildren(const std::vector<ChildSpec>& children, std::vector<size_t>* order,
                     std::vector<std::vector<size_t>>* parents) {
  order->clear();
  parents->clear();
  if (children.empty()) return Status::Ok();  // (most releases: no deque, map or vectors made)
  std::map<std::string, size_t> by_id;
  for (size_t i = 0; i < children.size(); ++i) {
    if (const auto& cid = children[i].child_id) by_id.emplace(*cid, i);
  }
  parents->assign(children.size(), {});
  std::vector<std::vector<size_t>> dependents(children.size());
  std::vector<size_t> indegree(children.size(), 0);
  for (size_t i = 0; i < children.size(); ++i) {
    if (!children[i].parent_refs) continue;
    for (const std::string& ref : *children[i].parent_refs) {
      auto it = by_id.find(ref);
      if (it == by_id.end()) {
        return Status::Invalid("children[" + std::to_string(children[i].index) +
                               "]: _parent_ids names " + ref + ", which is no sibling's _child_id");
      }
      auto& mine = (*parents)[i];
      if (std::find(mine.begin(), mine.end(), it->second) != mine.end()) continue;
      mine.push_back(it->second);
      dependents[it->second].push_back(i);
      ++indegree[i];
    }
  }
  std::deque<size_t> ready;
  for (size_t i = 0; i < children.size(); ++i) {
    if (!indegree[i]) ready.push_back(i);
  }
  while (!ready.empty()) {
    size_t i = ready.front();
    ready.pop_front();
    order->push_back(i);
    for (size_t d : dependents[i]) {
      if (--indegree[d] == 0) ready.push_back(d);
    }
  }
  if (order->size() != children.size()) {
    return Status::Invalid("children: _parent_ids form a cycle");
  }
  return Status::Ok();
}

}  // namespace

// Completes a task and unblocks its children (reference §4.3.2 step 3 and 6; D4 for merges).
Status Engine::MarkComplete(Txn& txn, Task* t, const std::string& output) {
  t->assigned_to.reset();
  t->assigned_at.reset();
  t->execute_message_id.reset();
  t->examine_message_id.reset();
  t->lease_expires_at = 0;
  t->output = output;
  t->is_complete = true;
  t->remaining_attempts = 0;
  t->run_after.reset();
  std::vector<Id> children;
  RETURN_IF_ERROR(txn.ChildrenOf(t->id, &children));
  for (const Id& cid : children) RETURN_IF_ERROR(txn.ParentDone(cid));
  return Status::Ok();
}

// Children become tasks of the releasing task's group (reference §4.3.2 step 1): without
// `_parent_ids` a child's parent is the releasing task, with them its siblings.
Status Engine::CreateChildren(Txn& txn, Task* parent, const ReleaseCommand& cmd) {
  std::vector<size_t> order;
  std::vector<std::vector<size_t>> sibling_parents;
  RETURN_IF_ERROR(OrderChildren(cmd.children, &order, &sibling_parents));
  std::vector<Id> made(cmd.children.size());
  const int64_t delay_ms = SecondsToMs(cmd.children_delay_s);
  KeyHolders holders;
  for (size_t i : order) {
    const ChildSpec& spec = cmd.children[i];
    NewTask nt = spec.task;
    nt.parent_ids.clear();
    if (spec.parent_refs) {
      for (size_t p : sibling_parents[i]) nt.parent_ids.push_back(made[p]);
    } else {
      nt.parent_ids.push_back(parent->id);
    }
    if (delay_ms > 0 && !nt.run_after) nt.run_after = txn.now() + delay_ms;
    Task* child;
    RETURN_IF_ERROR(DoCreateTask(txn, parent->group_id, nt, &child, &holders));
    made[i] = child->id;
  }
  if (delay_ms > 0) {
    // Step 2: every direct child, old or new, waits at least the delay.
    std::vector<Id> direct;
    RETURN_IF_ERROR(txn.ChildrenOf(parent->id, &direct));
    const int64_t at = txn.now() + delay_ms;
    for (const Id& cid : direct) {
      ASSIGN_OR_RETURN(Task * c, txn.Find(cid));
      if (c && (!c->run_after || *c->run_after < at)) c->run_after = at;
    }
  }
  return Status::Ok();
}

Status Engine::ReleaseSuccess(Txn& txn, Task* t, const ReleaseCommand& cmd) {
  RETURN_IF_ERROR(CreateChildren(txn, t, cmd));
  RETURN_IF_ERROR(MarkComplete(txn, t, cmd.output));
  if (!t->key) return Status::Ok();
  // Key merge (reference §4.5): the duplicates complete with the same output, and unblock
  // their own children at once (D4).
  std::vector<Id> dups;
  RETURN_IF_ERROR(txn.KeyedTasks(t->channel, *t->key, &dups));
  for (const Id& d : dups) {
    ASSIGN_OR_RETURN(Task * x, txn.Get(d));
    RETURN_IF_ERROR(MarkComplete(txn, x, cmd.output));
    txn.EmitTask("task:update", d);
  }
  Event e;
  e.room = t->group_id.Hex();
  e.name = "task:release:key";
  e.payload = "{\"channel\":" + JsonQuote(t->channel) + ",\"key\":" + JsonQuote(*t->key) +
              ",\"update\":{\"assignedTo\":null,\"assignedAt\":null,\"output\":" + cmd.output +
              ",\"isComplete\":true,\"runAfter\":null,\"remainingAttempts\":0}}";
  txn.Emit(std::move(e));
  return Status::Ok();
}

// Reference §4.3.1 with D3: the task and each incomplete duplicate lose exactly one attempt and
// record the error once; the error delay applies to all of them, but for those of the task's
// workgroup when the release delays it (§4.3.3: its runAfter overrides the error delay's).
Status Engine::ReleaseFailure(Txn& txn, Task* t, const std::string& error, int64_t delay_ms,
                              int64_t workgroup_delay_ms) {
  const std::optional<int64_t> run_after =
      delay_ms > 0 ? std::optional<int64_t>(txn.now() + delay_ms) : std::nullopt;
  const std::optional<std::string> workgroup = workgroup_delay_ms > 0 ? t->workgroup : std::nullopt;
  const int64_t attempts_before = t->remaining_attempts;
  std::vector<Id> targets;
  RETURN_IF_ERROR(txn.WithDuplicates(*t, &targets));
  for (const Id& id : targets) {
    ASSIGN_OR_RETURN(Task * x, txn.Get(id));
    x->assigned_to.reset();
    x->assigned_at.reset();
    x->execute_message_id.reset();
    x->examine_message_id.reset();
    x->lease_expires_at = 0;
    x->remaining_attempts -= 1;
    x->errors.push_back(error);
    if (workgroup && x->workgroup == workgroup) {
      x->run_after = txn.now() + workgroup_delay_ms;
    } else if (run_after) {
      x->run_after = run_after;
    }
  }
  if (t->key) {
    Event e;
    e.room = t->group_id.Hex();
    e.name = "task:release:key";
    std::string at = run_after ? JsonQuote(FormatIso(*run_after)) : JsonQuote(FormatIso(txn.now()));
    e.payload = "{\"channel\":" + JsonQuote(t->channel) + ",\"key\":" + JsonQuote(*t->key) +
                ",\"update\":{\"assignedTo\":null,\"assignedAt\":null,\"executeMessageId\":null,"
                "\"examineMessageId\":null,\"error\":" +
                error + ",\"isComplete\":false,\"runAfter\":" + at +
                ",\"remainingAttempts\":" + std::to_string(attempts_before - 1) + "}}";
    txn.Emit(std::move(e));
  }
  // (after the key's event: crew-ui pushes its error onto each duplicate it holds, and a
  // duplicate's own update, read after it, then leaves it with its error once)
  for (const Id& id : targets) {
    if (id != t->id) txn.EmitTask("task:update", id);
  }
  return Status::Ok();
}

// Reference §4.3.3: every incomplete task of the workgroup, in any channel and group, waits.
Status Engine::DelayWorkgroup(Txn& txn, const Task& t, double seconds) {
  // (the last delay wins, a shorter one too, as each task's runAfter in the original)
  const int64_t until = txn.now() + SecondsToMs(seconds);
  txn.SetWorkgroupUntil(*t.workgroup, until);
  Event e;
  e.room = t.group_id.Hex();
  e.name = "workgroup:delay";
  e.payload = "{\"workgroup\":" + JsonQuote(*t.workgroup) +
              ",\"update\":{\"runAfter\":" + JsonQuote(FormatIso(until)) + "}}";
  txn.Emit(std::move(e));
  return Status::Ok();
}

// REQUIRES: fails only before its first change, so a batch can skip a failed item (N8).
Status Engine::DoRelease(Txn& txn, const Id& id, const ReleaseCommand& cmd, Task** out) {
  ASSIGN_OR_RETURN(Task * t, txn.Get(id));
  *out = t;
  if (t->is_complete) return Status::Ok();  // a late release changes nothing (reference §4.3)
  if (t->assigned_to != cmd.worker_id) return Status::Conflict("Worker id did not match!");
  const bool delays_workgroup = cmd.workgroup_delay_s > 0 && t->workgroup;
  if (cmd.error) {
    RETURN_IF_ERROR(ReleaseFailure(txn, t, *cmd.error, SecondsToMs(t->error_delay_s),
                                   delays_workgroup ? SecondsToMs(cmd.workgroup_delay_s) : 0));
    ++txn.counts().released_error;
  } else {
    std::vector<size_t> order;
    std::vector<std::vector<size_t>> parents;
    RETURN_IF_ERROR(OrderChildren(cmd.children, &order, &parents));  // validate first
    RETURN_IF_ERROR(ReleaseSuccess(txn, t, cmd));
    ++txn.counts().released_ok;
  }
  if (delays_workgroup) {
    RETURN_IF_ERROR(DelayWorkgroup(txn, *t, cmd.workgroup_delay_s));
  }
  txn.EmitTask("task:update", id);
  return Status::Ok();
}

Result<Task> Engine::Release(const Id& id, const ReleaseCommand& cmd) {
  auto r = Write<Task>([&](Txn& txn) -> Result<Task> {
    Task* t;
    RETURN_IF_ERROR(DoRelease(txn, id, cmd, &t));
    return *t;
  });
  if (r.ok()) FillDerived(*r);
  return r;
}

Result<std::vector<Result<Task>>> Engine::ReleaseBatch(
    const std::vector<std::pair<Id, ReleaseCommand>>& items) {
  std::vector<Result<Task>> results;
  auto committed = Write<bool>([&](Txn& txn) -> Result<bool> {
    results.clear();
    for (const auto& [id, cmd] : items) {
      Task* t = nullptr;
      Status s = DoRelease(txn, id, cmd, &t);
      if (s.ok()) {
        results.emplace_back(*t);
      } else {
        if (s.code() != Code::kInvalidArgument && s.code() != Code::kNotFound &&
            s.code() != Code::kConflict) {
          return s;  // storage trouble: nothing is committed
        }
        results.emplace_back(s);
      }
    }
    // Items released twice in one batch: the answer shows each task as committed.
    for (size_t i = 0; i < items.size(); ++i) {
      if (results[i].ok()) {
        auto t = txn.Find(items[i].first);
        if (t.ok() && *t) results[i] = **t;
      }
    }
    return true;
  });
  RETURN_IF_ERROR(committed.status());
  for (auto& r : results) {
    if (r.ok()) FillDerived(*r);
  }
  return results;
}

}  // namespace crew::engine
