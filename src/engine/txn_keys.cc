// Txn: the tasks of a channel and key (duplicates, SPEC D5; reference §4.5), read through the
// key index in kKeys and its index of the held ones.
#include <algorithm>

#include "engine/txn.h"

namespace crew::engine {

using storage::Cf;

Status Txn::KeyedTasks(const std::string& channel, const std::string& key, std::vector<Id>* out) {
  std::vector<Id> candidates;
  RETURN_IF_ERROR(e_->store_->Scan(Cf::kKeys, storage::KeyPrefix(channel, key), false,
                                   [&](std::string_view k, std::string_view) {
                                     candidates.push_back(storage::TrailingId(k));
                                     return true;
                                   }));
  if (auto here = keyed_here_.find({channel, key}); here != keyed_here_.end()) {
    candidates.insert(candidates.end(), here->second.begin(), here->second.end());
  }
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  out->clear();
  for (const Id& id : candidates) {
    ASSIGN_OR_RETURN(Task * t, Find(id));
    if (t && !t->is_complete && t->channel == channel && t->key == key) out->push_back(id);
  }
  return Status::Ok();
}

Result<Task*> Txn::FindKeyHolder(const std::string& channel, const std::string& key,
                                 const Id& except) {
  Task* holder = nullptr;
  Status read;
  // Whether `id` holds the key now (in this Txn): then it is the holder.
  auto holds = [&](const Id& id) {
    if (id == except) return false;
    auto t = Find(id);
    if (!t.ok()) {
      read = t.status();
      return true;
    }
    if (*t && (*t)->assigned() && !(*t)->is_complete && (*t)->channel == channel &&
        (*t)->key == key) {
      holder = *t;
    }
    return holder != nullptr;
  };
  // Those held when this Txn began (kKeys' index of them: one held in this Txn's own writes
  // is among those it made or re-keyed), then the key's first task: held, it holds them all (an
  // acquire locks every one), even where the index missed it (changed by an older version).
  RETURN_IF_ERROR(e_->store_->Scan(
      Cf::kKeys, storage::HeldPrefix(channel, key), false,
      [&](std::string_view k, std::string_view) { return !holds(storage::TrailingId(k)); }));
  RETURN_IF_ERROR(read);
  if (holder) return holder;
  RETURN_IF_ERROR(e_->store_->Scan(Cf::kKeys, storage::KeyPrefix(channel, key), false,
                                   [&](std::string_view k, std::string_view) {
                                     const Id id = storage::TrailingId(k);
                                     if (id == except) return true;  // (the next is the first)
                                     holds(id);
                                     return false;
                                   }));
  RETURN_IF_ERROR(read);
  if (holder) return holder;
  if (auto here = keyed_here_.find({channel, key}); here != keyed_here_.end()) {
    for (const Id& id : here->second) {
      if (holds(id)) break;
    }
    RETURN_IF_ERROR(read);
  }
  return holder;
}

Status Txn::WithDuplicates(const Task& t, std::vector<Id>* out) {
  out->assign(1, t.id);
  if (!t.key) return Status::Ok();
  std::vector<Id> dups;
  RETURN_IF_ERROR(KeyedTasks(t.channel, *t.key, &dups));
  for (const Id& d : dups) {
    if (d != t.id) out->push_back(d);
  }
  return Status::Ok();
}

}  // namespace crew::engine
