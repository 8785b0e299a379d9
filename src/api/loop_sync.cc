// LoopServer's sync side: answers held for a WAL sync, the loops' asks for one, and the sync
// thread that makes them and tells each loop how far the WAL is synced.
#include <algorithm>
#include <mutex>

#include "api/loop_conn.h"

namespace crew::api {

using loop::Clock;

// The WAL is synced up to `synced` (or failed): the held answers it covers leave, in order.
void LoopServer::Release(Loop& loop, uint64_t synced, const Status& status) {
  const auto now = Clock::now();
  size_t kept = 0;
  for (size_t i = 0; i < loop.held.size(); ++i) {
    Answer& a = loop.held[i];
    if (a.wait > synced) {
      if (kept != i) loop.held[kept] = std::move(a);
      ++kept;
      continue;
    }
    Conn* c = a.conn;
    if (--c->held == 0) c->held_seq = 0;
    Emit(a, a.seq ? status : Status::Ok(), now);
    if (!c->in.empty()) loop.resume.push_back(c);  // requests it may now send more of
  }
  loop.held.resize(kept);
}

// Asks the sync thread to sync up to seq, unless a sync for another loop covered it already
// (then returns how that ended).
std::optional<Status> LoopServer::Ask(Loop& loop, uint64_t seq) {
  {
    std::lock_guard<std::mutex> lock(sync_mu_);
    if (seq <= synced_) return synced_status_;
    loop.asked = std::max(loop.asked, seq);
    sync_wanted_ = std::max(sync_wanted_, seq);
  }
  sync_cv_.notify_one();
  return std::nullopt;
}

// The sync thread: syncs the WAL as far as the loops asked, tells each loop that asked, and
// starts again at once for what they asked meanwhile (its writes are already in the WAL).
void LoopServer::SyncLoop() {
  std::unique_lock<std::mutex> lock(sync_mu_);
  while (true) {
    sync_cv_.wait(lock, [&] { return sync_stop_ || sync_wanted_ > synced_; });
    if (sync_wanted_ <= synced_) break;  // stopping, and nothing is held
    const uint64_t target = sync_wanted_;
    lock.unlock();
    const Status status = hooks_.await(target);
    lock.lock();
    synced_ = target;
    synced_status_ = status;
    for (auto& loop : loops_) {
      if (loop->asked == 0) continue;  // (what it asks from now on up to target, Ask answers)
      loop->PostSynced(target, status);
      if (loop->asked <= target) loop->asked = 0;
    }
  }
}

}  // namespace crew::api
