// How many connections a front end keeps open. The event loops count theirs (loop_server.cc
// Accept); the HTTPS front end, whose accept thread is cpp-httplib's, counts them in a
// ConnectionCap. Either way, past the cap new clients wait in the listen backlog.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace crew::api {

// The connections open at most by default: the open-file limit less the descriptors kept for
// the store (RocksDB opens a WAL, tables, its manifest and logs as it goes; a failed open makes
// it refuse writes until a restart), backups and pipes: an eighth of the limit, at least 128.
size_t ConnectionLimit();

// Logs, at most once a minute, that `open` connections are open and no more are accepted.
// `*logged_at`: when it last said so (the caller's, one per accepting thread).
void LogConnectionsFull(size_t open, std::chrono::steady_clock::time_point* logged_at);

// Counts open connections against a cap, for an accept loop that cannot pause itself (the
// caller blocks in AwaitRoom instead). Thread-safe.
class ConnectionCap {
 public:
  explicit ConnectionCap(size_t max) : max_(max) {}

  void Opened();
  void Closed();
  // Returns once fewer than the cap are open, or at once after Stop().
  void AwaitRoom();
  // AwaitRoom waits no more: the server is stopping, and its accept thread must see so.
  void Stop();

 private:
  const size_t max_;
  std::mutex mu_;
  std::condition_variable room_;
  size_t open_ = 0;                                         // GUARDED_BY(mu_)
  bool stopped_ = false;                                    // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point full_logged_at_{};  // GUARDED_BY(mu_)
};

}  // namespace crew::api
