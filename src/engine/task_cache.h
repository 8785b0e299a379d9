// TaskCache: the stored bytes of recently written tasks, so that reading a task written a moment
// ago costs no RocksDB Get (an acquire reads the task its create wrote, a release the one its
// acquire wrote; the Get was ~10% of the event loop's CPU).
//
// Only the writer fills it, after its batch is written and in commit order (Txn::Commit, under
// Engine::write_mu_). A reader that misses goes to RocksDB and puts nothing back, so it can never
// put back a value that a writer has replaced meanwhile. Bounded in bytes: past the budget the
// entries written longest ago go first; a record larger than kMaxRecord is not kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
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
      if (it != map_.end()) {
        used_ -= Cost(it->second.bytes);
        map_.erase(it);
      }
      return;
    }
    used_ += Cost(*bytes);
    if (it != map_.end()) {  // (in place: no node freed and made again)
      used_ -= Cost(it->second.bytes);
      it->second.bytes = std::move(*bytes);
      it->second.stamp = ++stamp_;
    } else {
      map_.emplace(id, Entry{std::move(*bytes), ++stamp_});
    }
    order_.emplace_back(id, stamp_);
    // The order keeps one entry per write; mostly stale (one task written over and over), it
    // keeps only the live ones (amortized: it at least doubled since).
    if (order_.size() > 2 * map_.size() + 64) {
      std::deque<std::pair<Id, uint64_t>> live;
      for (const auto& [old, stamp] : order_) {
        if (Live(old, stamp) != map_.end()) live.emplace_back(old, stamp);
      }
      order_.swap(live);
    }
    while (used_ > budget_ && !order_.empty()) {  // the oldest written go
      auto [old, stamp] = order_.front();
      order_.pop_front();
      if (auto o = Live(old, stamp); o != map_.end()) {
        used_ -= Cost(o->second.bytes);
        map_.erase(o);
      }
    }
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return map_.size();
  }

 private:
  struct Entry {
    std::string bytes;
    uint64_t stamp;
  };
  static size_t Cost(const std::string& bytes) { return bytes.size() + 96; }  // (+ node, order)
  using Map = std::unordered_map<Id, Entry, IdHash>;
  // The task's entry if this order entry is its latest write, else map_.end().
  Map::iterator Live(const Id& id, uint64_t stamp) {
    auto it = map_.find(id);
    return it != map_.end() && it->second.stamp == stamp ? it : map_.end();
  }

  const size_t budget_;
  mutable std::mutex mu_;
  Map map_;                                    // GUARDED_BY(mu_)
  std::deque<std::pair<Id, uint64_t>> order_;  // GUARDED_BY(mu_): (id, stamp), oldest first
  uint64_t stamp_ = 0;                         // GUARDED_BY(mu_)
  size_t used_ = 0;                            // GUARDED_BY(mu_)
};

}  // namespace crew::engine
