// HttpServer: the REST API, SSE and pages (SPEC §1, §3, §4 "Connections"), one route table
// (router.h) behind the event loops (loop_server.h), plain HTTP or HTTPS (N5): requests that
// never wait run on a loop, their answers held for a shared WAL sync, the others (long polls,
// streams, downloads) run on a pool thread. Open connections stay below the open-file limit's
// share for them (connection_cap.h). Keep-alive connections stay open until 75 s idle; TCP_NODELAY
// is on. Stop() stops accepting and lets in-flight requests finish; Run() then returns. Every
// answered request is counted for /metrics (api/http_metrics.h).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "api/event_hub.h"
#include "api/router.h"
#include "engine/engine.h"
#include "storage/store.h"
#include "util/status.h"

namespace crew::api {

class SocketIo;
class HttpMetrics;
class LoopServer;

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
  size_t max_threads = 4096;  // pool threads, for requests that may wait
  int loops = 4;              // event loops
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
  // Binds the listening socket; kUnavailable when the address is in use or unusable, kInvalid
  // when the TLS certificate or key cannot be used.
  Status Bind();
  // Serves until Stop(). REQUIRES: Bind() succeeded.
  void Run();
  void Stop();
  int port() const { return port_; }

 private:
  void StartLoops();
  bool Before(const httplib::Request& req, httplib::Response& res) const;
  void Finish(const httplib::Request& req, httplib::Response& res, const Router::Route* route,
              std::optional<double> seconds) const;
  void RunRoute(const Router::Route& route, const httplib::Request& req,
                httplib::Response& res) const;

  engine::Engine* engine_;
  storage::Store* store_;
  EventHub* hub_;
  ServerOptions options_;
  Router router_;
  std::unique_ptr<LoopServer> loops_;
  std::unique_ptr<SocketIo> socketio_;
  std::unique_ptr<HttpMetrics> metrics_;
  int port_ = 0;
};

}  // namespace crew::api
