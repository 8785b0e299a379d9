// TaskCache: recently written tasks, decoded, so that reading a task written a moment ago costs
// neither a RocksDB Get nor a decode (an acquire reads the task its create wrote, a release the
// one its acquire wrote; the Get was ~10% of the event loop's CPU, the decode and the copy of
// the record ~4% of an acquire and release).
//
// Only the writer fills it, after its batch is written or gathered (engine.h, DeferSync) and in
// commit order (Txn::Commit, under Engine::write_mu_). A reader that misses goes to RocksDB and
// puts nothing back, so it can never put back a value that a writer has replaced meanwhile. The
// read-ahead of a deep queue (Engine::ReadAhead, also the writer) puts bytes alone: the task is
// decoded when read. Bounded in bytes: past the budget the entries written longest ago go
// first; an entry that holds more than kMaxRecord is not kept. An entry is immutable and shared:
// a reader keeps the one it got while a writer replaces it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "engine/model.h"
#include "util/id.h"

namespace crew::engine {

// A task as stored: the task its record decodes to, with its parent ids (its derived fields
// unset, as a decode leaves them); or, read ahead, the record's bytes alone.
struct StoredTask {
  std::string bytes;  // (empty once decoded)
  std::optional<Task> task;
};

class TaskCache {
 public:
  static constexpr size_t kMaxRecord = 16 << 10;

  explicit TaskCache(size_t budget_bytes) : budget_(budget_bytes) {}

  std::shared_ptr<const StoredTask> Get(const Id& id) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(id);
    if (it == map_.end()) return nullptr;
    return it->second.stored;
  }

  // The task is now `stored` (nullptr: it is deleted).
  void Set(const Id& id, std::shared_ptr<const StoredTask> stored) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(id);
    const size_t held = stored ? Held(*stored) : 0;
    if (!stored || held > kMaxRecord) {
      if (it != map_.end()) Erase(it);
      return;
    }
    const size_t cost = held + kNodes;  // (CostOf)
    used_ += cost;
    if (it != map_.end()) {  // (in place: no node freed and made again)
      used_ -= it->second.cost;
      it->second.stored = std::move(stored);
      it->second.cost = cost;
      order_.splice(order_.end(), order_, it->second.pos);  // now the latest written
    } else {
      order_.push_back(id);
      map_.emplace(id, Entry{std::move(stored), std::prev(order_.end()), cost});
    }
    while (used_ > budget_ && !order_.empty()) Erase(map_.find(order_.front()));  // oldest first
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return map_.size();
  }

  // What an entry counts against the budget: what it holds, and its nodes.
  static size_t CostOf(const StoredTask& s) { return Held(s) + kNodes; }

 private:
  struct Entry {
    std::shared_ptr<const StoredTask> stored;
    std::list<Id>::iterator pos;  // in order_
    size_t cost;
  };
  // An entry's nodes: the map's, the order's, the shared block's count (and the allocator's
  // rounding).
  static constexpr size_t kNodes = 160;
  // The heap a string takes past its own room (a short string takes none).
  static size_t Heap(const std::string& s) { return s.size() > 15 ? s.size() + 1 : 0; }
  static size_t Heap(const std::optional<std::string>& s) { return s ? Heap(*s) : 0; }
  // What the entry holds: the bytes, or the task and what its strings and lists took.
  static size_t Held(const StoredTask& s) {
    size_t n = sizeof(StoredTask) + Heap(s.bytes);
    if (const std::optional<Task>& t = s.task) {
      n += Heap(t->name) + Heap(t->channel) + Heap(t->workgroup) + Heap(t->key) + Heap(t->input) +
           Heap(t->output) + Heap(t->assigned_to) + Heap(t->execute_message_id) +
           Heap(t->examine_message_id) + t->parent_ids.size() * sizeof(Id);
      for (const std::string& e : t->errors) n += sizeof(std::string) + Heap(e);
    }
    return n;
  }
  using Map = std::unordered_map<Id, Entry, IdHash>;
  void Erase(Map::iterator it) {
    used_ -= it->second.cost;
    order_.erase(it->second.pos);
    map_.erase(it);
  }

  const size_t budget_;
  mutable std::mutex mu_;
  Map map_;  // GUARDED_BY(mu_)
  // GUARDED_BY(mu_): each entry's id once, the one written longest ago first. (A list, so that
  // a write moves its entry to the back in place: a queue of every write, dropping the stale
  // entries now and then, cost two hash lookups per write.)
  std::list<Id> order_;
  size_t used_ = 0;  // GUARDED_BY(mu_)
};

}  // namespace crew::engine
