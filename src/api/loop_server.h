// LoopServer: the HTTP front end, a few epoll event loops (README "HTTP"), plain or TLS. The loops
// are in loop_server.cc, their answers leaving in loop_answer.cc, the WAL syncs in loop_sync.cc, a
// request on the pool in loop_pool.cc, their shared state in loop_conn.h.
//
// Each loop owns a share of the connections (the first loop accepts them and deals them out in
// turn). A turn of a loop reads every connection that has bytes, and runs each complete request
// whose route may run on a loop (Router::OnLoop: no waiting) right there, its writes gathered
// and written at the turn's end (the hooks' `end_turn`; engine's DeferSync), not synced. Answers
// that need no sync (leases, reads) are written at once; the others are held, and the loop goes on
// serving. One sync thread syncs the WAL (the hooks' `await`) for every loop's held answers at
// once, and as soon as one sync ends it starts the next for what came in meanwhile (group commit);
// each loop then writes what it held. Answers leave a connection in the order of its requests. A
// request that may wait (long poll, event stream, download), or with a large body, takes its
// connection to a pool thread, which grows on demand, and gives it back when answered.
//
// With TLS, each connection's session is read and written on its loop (or its pool thread) as
// the plain socket would be (tls.h): the same parser and answers serve both.
//
// Keep-alive connections stay open until 75 s idle; a request must arrive within 30 s of its
// first byte and an answer be taken within 30 s. Stop() stops accepting, lets requests in hand
// finish (up to 60 s), closes the idle connections, and Run() returns.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "api/http_wire.h"
#include "api/router.h"
#include "util/status.h"

namespace crew::api {

struct LoopServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port
  int loops = 4;
  size_t max_pool_threads = 4096;
  std::function<void()> after_pool_job;  // on the pool thread, after each request it served
  // Open connections at most; 0: the open-file limit less what the store may need
  // (ConnectionLimit), so that clients cannot take the descriptors RocksDB opens files with.
  size_t max_connections = 0;
  WireLimits limits;
  int keep_alive_seconds = 75;
  int read_seconds = 30;
  int write_seconds = 30;
  httplib::Headers default_headers;  // on every answer that does not set them itself
  // `await` never waits (relaxed durability): call it on the loop, sparing the hand-off.
  bool await_on_loop = false;
  // A bigger request (a batch of thousands of tasks) runs on the pool even if its route may run
  // on a loop: its work would hold up the loop's other connections.
  size_t max_loop_body = 64 << 10;
  // Both set: HTTPS with this PEM certificate chain and key (SPEC N5).
  std::string tls_cert, tls_key;
};

struct LoopHooks {
  // Before routing (authentication, CORS preflight): true when it answered *res itself.
  std::function<bool(const httplib::Request&, httplib::Response&)> before;
  // Runs a routed request's handler. `on_loop`: on an event loop, where it must not wait for
  // durability; it returns the sequence number its answer waits for (0: none), or kTurnSeq:
  // the one `end_turn` answers, or kTurnOnly: none, but it is refused if `end_turn` fails (a
  // lease, which leaves before its sync but not before it is written).
  std::function<uint64_t(const Router::Route&, const httplib::Request&, httplib::Response&,
                         bool on_loop)>
      run;
  static constexpr uint64_t kTurnSeq = UINT64_MAX;
  static constexpr uint64_t kTurnOnly = UINT64_MAX - 1;
  // Returns once every write up to seq is durable (or the store failed). Called by the sync
  // thread only (or on a loop, with await_on_loop).
  std::function<Status(uint64_t seq)> await;
  // Called once per turn, before its first answer leaves: writes what the turn's requests left
  // to it (engine's gathered writes; with relaxed durability it also hands them to the OS) and
  // answers the sequence number that answers of kTurnSeq wait for. A failure refuses those
  // answers and those of kTurnOnly (503). Optional (unset: no `run` answers either).
  std::function<Result<uint64_t>()> end_turn;
  // Every answer, just before it is written: fills in what the handler left (an error's JSON
  // body) and counts it. `route`: the route that answered (null: none did). seconds: since the
  // request was complete (none: refused while read).
  std::function<void(const httplib::Request&, httplib::Response&, const Router::Route* route,
                     std::optional<double> seconds)>
      finish;
};

class TlsContext;

class LoopServer {
 public:
  LoopServer(const Router* router, LoopHooks hooks, LoopServerOptions options);
  ~LoopServer();
  Status Bind();
  void Run();   // serves until Stop(); REQUIRES: Bind() succeeded
  void Stop();  // returns at once; Run() returns once drained
  int port() const { return port_; }
  const std::atomic<int>* in_flight() const { return &in_flight_; }

 private:
  struct Conn;
  struct Loop;
  struct Answer;
  friend struct Loop;

  void Turn(Loop& loop, bool* done);
  void Accept(Loop& loop);
  void PauseAccepting(Loop& loop);  // for 100 ms
  void Adopt(Loop& loop, Conn* c);
  void ReadFrom(Loop& loop, Conn* c, std::vector<Answer>* answers);
  void Serve(Loop& loop, Conn* c, std::vector<Answer>* answers);
  void Handle(Loop& loop, Conn* c, std::unique_ptr<httplib::Request> req, bool keep_alive,
              std::vector<Answer>* answers);
  // Runs a.req on the loop if its route may run there: false when it is to run on the pool (the
  // route says so, its body is large, or its handler found it must wait: Router::kRunOnPool).
  bool RunOnLoop(const Router::Route& route, Answer& a);
  void Refuse(Loop& loop, Conn* c, std::unique_ptr<httplib::Request> req, const WireRequest& w,
              std::vector<Answer>* answers);
  void Finish(Loop& loop, std::vector<Answer>* answers);
  void Release(Loop& loop, uint64_t synced, const Status& status);
  std::optional<Status> Ask(Loop& loop, uint64_t seq);
  void SyncLoop();
  // `now`: when the answer leaves (one clock read for all the answers leaving together).
  void Emit(Answer& a, const Status& durable, std::chrono::steady_clock::time_point now);
  void FlushTouched(Loop& loop);
  void Flush(Loop& loop, Conn* c);
  void Watch(Loop& loop, Conn* c);
  static bool Backlogged(const Conn* c);
  static bool Served(const Conn* c);
  void Close(Loop& loop, Conn* c);
  void Sweep(Loop& loop, bool stopping);
  void OnPool(Conn* c, const Router::Route* route, std::shared_ptr<httplib::Request> req);
  void GiveBack(Conn* c, bool close);

  const Router* router_;
  LoopHooks hooks_;
  LoopServerOptions options_;
  std::unique_ptr<TlsContext> tls_;  // HTTPS (null: plain)
  int listen_fd_ = -1;
  int port_ = 0;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::unique_ptr<httplib::TaskQueue> pool_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> stop_deadline_{0};  // steady clock ticks: then close what is left
  std::atomic<int> in_flight_{0};
  std::atomic<size_t> open_conns_{0};
  std::chrono::steady_clock::time_point
      full_logged_at_{};  // (the accepting loop's: a full house said once a minute)
  std::atomic<int> on_pool_{0};
  size_t next_loop_ = 0;  // the accepting loop deals connections out in turn

  std::thread sync_thread_;
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  uint64_t sync_wanted_ = 0;  // GUARDED_BY(sync_mu_): the loops want the WAL synced to here
  uint64_t synced_ = 0;       // GUARDED_BY(sync_mu_): the last sync reached here
  Status synced_status_;      // GUARDED_BY(sync_mu_): and ended so
  bool sync_stop_ = false;    // GUARDED_BY(sync_mu_)
};

}  // namespace crew::api
