// TaskCache: the stored bytes of recently written tasks, so that reading a task written a moment
// ago costs no RocksDB Get (an acquire reads the task its create wrote, a release the one its
// acquire wrote; the Get was ~10% of the event loop's CPU).
//
// Only the writer fills it, after its batch is written or gathered (engine.h, DeferSync) and in
// commit order (Txn::Commit, under Engine::write_mu_). A reader that misses goes to RocksDB and
// puts nothing back, so it can never put back a value that a writer has replaced meanwhile. Bounded
// in bytes: past the budget the entries written longest ago go first; a record larger than
// kMaxRecord is not kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "util/id.h"

namespace crew::engine {

class TaskCache {
 public:
  static constexpr size_t kMaxRecord = 16 << 10;

  explicit TaskCache(size_t budget_bytes) : budget_(budget_bytes) {}

  std::optional<std::string> Get(const Id& id) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(id);
    if (it == map_.end()) return std::nullopt;
    return it->second.bytes;
  }

  // The task's stored bytes are now `bytes` (nullopt: it is deleted).
  void Set(const Id& id, std::optional<std::string> bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(id);
    if (!bytes || bytes->size() > kMaxRecord) {
      if (it != map_.end()) Erase(it);
      return;
    }
    used_ += Cost(*bytes);
    if (it != map_.end()) {  // (in place: no node freed and made again)
      used_ -= Cost(it->second.bytes);
      it->second.bytes = std::move(*bytes);
      order_.splice(order_.end(), order_, it->second.pos);  // now the latest written
    } else {
      order_.push_back(id);
      map_.emplace(id, Entry{std::move(*bytes), std::prev(order_.end())});
    }
    while (used_ > budget_ && !order_.empty()) Erase(map_.find(order_.front()));  // oldest first
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return map_.size();
  }

 private:
  struct Entry {
    std::string bytes;
    std::list<Id>::iterator pos;  // in order_
  };
  static size_t Cost(const std::string& bytes) { return bytes.size() + 96; }  // (+ node, order)
  using Map = std::unordered_map<Id, Entry, IdHash>;
  void Erase(Map::iterator it) {
    used_ -= Cost(it->second.bytes);
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
