// Txn: the groups, operators and workgroup delays a mutation loads and changes (Commit, in
// txn.cc, writes their records and updates the engine's caches).
#include <mutex>
#include <shared_mutex>

#include "engine/txn.h"

namespace crew::engine {

Result<Group*> Txn::FindGroup(const Id& id) {
  auto it = groups_.find(id);
  if (it != groups_.end()) return it->second.cur ? &*it->second.cur : nullptr;
  GroupEntry entry;
  {
    std::shared_lock lock(e_->cache_mu_);
    auto c = e_->groups_.find(id);
    if (c != e_->groups_.end()) {
      entry.existed = true;
      entry.cur = c->second;
    }
  }
  auto& slot = groups_[id] = std::move(entry);
  return slot.cur ? &*slot.cur : nullptr;
}

Result<Group*> Txn::GetGroup(const Id& id) {
  ASSIGN_OR_RETURN(Group * g, FindGroup(id));
  if (!g) return Status::NotFound("TaskGroup with id " + id.Hex() + " not found!");
  return g;
}

Group* Txn::InsertGroup(Group g) {
  NoteIdMade(g.id);
  GroupEntry& entry = groups_[g.id];
  entry.cur = std::move(g);
  return &*entry.cur;
}

void Txn::EraseGroup(const Id& id) { groups_[id].cur.reset(); }

bool Txn::GroupPaused(const Id& id) {
  auto it = groups_.find(id);
  if (it != groups_.end()) return it->second.cur && it->second.cur->is_paused;
  return e_->GroupPausedCached(id);
}

void Txn::PutOperator(const Operator& o, bool is_new) {
  NoteIdMade(o.id);
  operators_[o.id] = {is_new, o};
}

void Txn::EraseOperator(const Id& id) { operators_[id] = {false, std::nullopt}; }

std::optional<int64_t> Txn::WorkgroupUntil(const std::string& wg) {
  auto it = workgroups_.find(wg);
  if (it != workgroups_.end()) return it->second;
  return e_->WorkgroupUntil(wg);
}

void Txn::SetWorkgroupUntil(const std::string& wg, int64_t until) { workgroups_[wg] = until; }

}  // namespace crew::engine
