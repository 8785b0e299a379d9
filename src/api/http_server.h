// HttpServer: the REST API, SSE and pages over cpp-httplib (SPEC §1, §3, §4 "Connections").
//
// Every connection gets a thread from an elastic pool that grows on demand (up to
// max_threads), so idle keep-alive connections, long-poll waiters and SSE streams never starve
// ordinary requests. Keep-alive connections stay open for 100,000 requests and 75 s idle;
// TCP_NODELAY is on. Stop() stops accepting, lets in-flight requests finish, and returns.
// Every answered request is counted for /metrics (api/http_metrics.h).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "api/event_hub.h"
#include "engine/engine.h"
#include "storage/store.h"
#include "util/status.h"

namespace httplib {
class Server;
}

namespace crew::api {

class SocketIo;
class HttpMetrics;

// Operator pushes (dispatch/dispatcher.h), shown by /metrics.
struct DispatchCounts {
  int64_t pushed = 0, failed = 0;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 3000;                // 0: any free port (see port())
  std::string auth_token;         // N5: empty = no authentication
  std::string tls_cert, tls_key;  // N5: both set = HTTPS
  size_t max_body_bytes = 10 << 20;
  size_t max_threads = 4096;
  // examine/execute (reference §5.8): the ?accessToken= they need (empty: always refused), and
  // what they trigger (a dispatch pass).
  std::string examine_token;
  std::function<void()> on_examine;
  std::string version;                              // crew_build_info in /metrics
  std::function<DispatchCounts()> dispatch_counts;  // unset: not in /metrics
};

class HttpServer {
 public:
  // The store serves /metrics and backups (GET /api/v1/backup); none is owned.
  HttpServer(engine::Engine* engine, storage::Store* store, EventHub* hub, ServerOptions options);
  ~HttpServer();
  // Binds the listening socket; kUnavailable when the address is in use or unusable.
  Status Bind();
  // Serves until Stop(). REQUIRES: Bind() succeeded.
  void Run();
  void Stop();
  int port() const { return port_; }

 private:
  engine::Engine* engine_;
  storage::Store* store_;
  EventHub* hub_;
  ServerOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<SocketIo> socketio_;
  std::unique_ptr<HttpMetrics> metrics_;
  int port_ = 0;
  std::atomic<int> in_flight_{0};
  static thread_local bool counted_here;  // this thread's request is counted in in_flight_
  static thread_local std::chrono::steady_clock::time_point started_here;  // when it was routed
};

}  // namespace crew::api
