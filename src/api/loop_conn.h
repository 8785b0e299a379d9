// The state of LoopServer's connections and loops, shared by its files: loop_server.cc (the
// loops, reading and serving requests), loop_answer.cc (answers leaving), loop_sync.cc (answers
// held for a WAL sync, and the sync thread) and loop_pool.cc (a connection's request on a pool
// thread). Internal to api/.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include <httplib.h>

#include "api/loop_server.h"
#include "api/tls.h"

namespace crew::api {

namespace loop {
using Clock = std::chrono::steady_clock;
constexpr size_t kReadChunk = 64 << 10;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// An answer refusing a request: `status` with {"message"} (loop_answer.cc).
httplib::Response Refusal(int status, const std::string& message);
}  // namespace loop

struct LoopServer::Conn {
  int fd = -1;
  SSL* ssl = nullptr;  // its TLS session (null: plain HTTP), read and written through (tls.h)
  Loop* loop = nullptr;
  std::string remote_addr, local_addr;
  int remote_port = -1, local_port = -1;

  std::string in;                          // received, not yet consumed
  std::unique_ptr<httplib::Request> next;  // the request being received
  RequestHead head;                        // what its head says, once complete
  bool continue_sent = false;              // (or due, below)
  bool continue_due = false;  // its "100 Continue" leaves once the earlier answers are written
  // A request that closes the connection was read: nothing it sent after that is served.
  bool last_request = false;
  loop::Clock::time_point request_started;

  std::string out;  // answers to write
  size_t out_sent = 0;
  loop::Clock::time_point out_since, last_active;

  int answering = 0;         // answers not yet written to `out` (this turn's, or held)
  int held = 0;              // of them, held in Loop::held until a sync
  uint64_t held_seq = 0;     // the sync the last of them waits for
  bool close_after = false;  // close once `out` is written
  bool peer_closed = false;
  bool lingering = false;  // written its last answer; reading what follows until EOF
  loop::Clock::time_point linger_until;
  bool watching_out = false;
  // TLS: its session must write before it reads on (a handshake's flight, a key update's
  // answer) and the socket is full: read again once it is writable.
  bool read_wants_out = false;

  // A request that may wait: run on the pool once this turn's answers are out. While on_pool,
  // the pool thread owns every field but these two, which only the loop touches.
  bool on_pool = false;
  const Router::Route* pool_route = nullptr;
  std::shared_ptr<httplib::Request> pool_request;
  bool pool_close = false;
};

struct LoopServer::Answer {
  Conn* conn = nullptr;
  std::unique_ptr<httplib::Request> req;  // (once emitted, to Loop::spare_requests if it has room)
  httplib::Response res;
  // The route that answered, or would have (refused while read); its /metrics label. Null: none.
  const Router::Route* route = nullptr;
  uint64_t seq = 0;   // the sync its own write needs (0: none)
  uint64_t wait = 0;  // held: the sync it leaves after (its own, or an earlier answer's)
  // In flight and timed from `started`: a request whose request line was read (else refused
  // before).
  bool timed = true;
  loop::Clock::time_point started;
  bool close = false;
};

struct LoopServer::Loop {
  int epfd = -1;
  int wake_fd = -1;
  std::thread thread;
  std::unordered_set<Conn*> conns;  // every connection of this loop, also those on the pool
  std::vector<Conn*> touched;       // this turn: connections with output to flush
  std::vector<Conn*> to_pool;       // this turn: connections going to the pool
  std::vector<Conn*> resume;        // connections with requests left for the next turn
  std::vector<Answer> answers;      // this turn's (kept: its capacity serves the next turn)
  // Requests whose answers went out, emptied, for the next requests read: a request's strings
  // keep their room, and none is allocated, built and destroyed per request.
  std::vector<std::unique_ptr<httplib::Request>> spare_requests;
  std::vector<char> buf = std::vector<char>(loop::kReadChunk);
  loop::Clock::time_point next_sweep;
  // When this turn's events came (one clock read per turn: the requests' start and a
  // connection's last activity are taken from it).
  loop::Clock::time_point now;
  loop::Clock::time_point listen_paused_until;  // out of descriptors: accept again after this
  bool listen_paused = false;
  std::atomic<int> on_pool{0};
  // Answers waiting for a sync, in the order they were made; the sync thread says when.
  std::vector<Answer> held;
  // GUARDED_BY(LoopServer::sync_mu_): the highest seq it asked a sync for that no sync has
  // reached yet (0: none).
  uint64_t asked = 0;

  enum class Kind { kNew, kBack, kClose };
  std::mutex mu;
  std::vector<std::pair<Conn*, Kind>> inbox;  // GUARDED_BY(mu)
  bool synced = false;                        // GUARDED_BY(mu): news from the sync thread:
  uint64_t synced_seq = 0;                    // GUARDED_BY(mu)  the WAL is synced to here
  Status synced_status;                       // GUARDED_BY(mu)  (or failed)

  void Post(Conn* c, Kind kind) {
    {
      std::lock_guard<std::mutex> lock(mu);
      inbox.emplace_back(c, kind);
    }
    Wake();
  }
  void PostSynced(uint64_t seq, const Status& status) {
    {
      std::lock_guard<std::mutex> lock(mu);
      synced = true;
      synced_seq = seq;
      synced_status = status;
    }
    Wake();
  }
  void Wake() {
    uint64_t one = 1;
    (void)!write(wake_fd, &one, sizeof one);
  }
};

}  // namespace crew::api
