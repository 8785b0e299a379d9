#include "api/http_server.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <sys/socket.h>

#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include "api/api_docs.h"
#include "api/client_socket.h"
#include "api/connection_cap.h"
#include "api/elastic_pool.h"
#include "api/http_metrics.h"
#include "api/http_wire.h"
#include "api/json_out.h"
#include "api/loop_server.h"
#include "api/route_util.h"
#include "api/routes.h"
#include "api/socketio.h"
#include "util/ascii.h"

namespace crew::api {

thread_local bool HttpServer::counted_here = false;
thread_local std::chrono::steady_clock::time_point HttpServer::started_here;
thread_local const Router::Route* HttpServer::routed_here = nullptr;

bool SecretEquals(const std::string& given, const std::string& expected) {
  if (given.size() != expected.size()) return false;
  return CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

namespace {

bool TokenMatches(const std::string& header, const std::string& token) {
  return SecretEquals(header, "Bearer " + token);
}

const char* DefaultMessage(int status) {
  switch (status) {
    case 400:
      return "Bad request";
    case 404:
      return "Not found";
    case 413:
      return "Request body is over the size limit";
    case 414:
      return "Request URI is too long";
    case 431:
      return "Request headers are too large";
    default:
      return status >= 500 ? "Internal server error" : "Request refused";
  }
}

// The TLS connection this thread serves (httplib serves each on one thread, a CappedPool task):
// its SSL, noted once its handshake is done, and whether it is ending. A request whose head
// httplib refuses (a request line or header that does not parse) carries neither its SSL nor
// its address, and httplib would read the bytes after it as further requests: the plain front
// end closes the connection then (RFC 9112 §2.2), and so does this one (the logger below).
struct TlsConnection {
  SSL* ssl = nullptr;
  bool ending = false;
};
thread_local TlsConnection tls_here;

void NoteHandshake(const SSL* ssl, int where, int /*ret*/) {
  if (where & SSL_CB_HANDSHAKE_DONE) tls_here.ssl = const_cast<SSL*>(ssl);
}

// httplib's task queue over TLS, a task per connection (which it closes at its end): runs them
// on an ElasticPool and holds them to `cap`. enqueue runs on httplib's accept thread and returns
// once there is room for another connection, so that further clients wait in the listen backlog.
class CappedPool final : public httplib::TaskQueue {
 public:
  CappedPool(size_t max_threads, ConnectionCap* cap) : pool_(max_threads), cap_(cap) {}

  void enqueue(std::function<void()> serve) override {
    cap_->Opened();
    pool_.enqueue([serve = std::move(serve), cap = cap_] {
      tls_here = {};
      serve();
      tls_here = {};
      cap->Closed();
    });
    cap_->AwaitRoom();
  }
  void shutdown() override { pool_.shutdown(); }

 private:
  ElasticPool pool_;
  ConnectionCap* const cap_;
};

// A stream without a length (a long task list, an event stream) to an HTTP/1.0 client: httplib
// framed it chunked, which such a client does not read (RFC 9112 §6.1). It goes unframed
// instead, ended by closing the connection, as the event loops send it (loop_pool.cc).
void SendUntilClose(const httplib::Request& req, httplib::Response& res) {
  if (req.version != "HTTP/1.0" || !res.is_chunked_content_provider_) return;
  res.is_chunked_content_provider_ = false;  // httplib writes it bare until the provider is done
  res.headers.erase("Transfer-Encoding");
  res.headers.erase("Content-Encoding");  // (httplib compresses chunked streams only)
  res.headers.erase("Keep-Alive");
  res.set_header("Connection", "close");
}

// True for an answer that SendUntilClose made end with its connection, on a connection that
// httplib keeps open nevertheless (the HTTP/1.0 client asked so: Connection: Keep-Alive).
bool KeptOpenAfterUnframed(const httplib::Request& req, const httplib::Response& res) {
  return res.content_provider_ && res.content_length_ == 0 && !res.is_chunked_content_provider_ &&
         req.version == "HTTP/1.0" && req.get_header_value("Connection") == "Keep-Alive";
}

// Ends such a connection once its answer is written: a close_notify is the stream's end (a bare
// close reads as a cut: OpenSSL 3 answered the EOF with an alert), and with the socket shut
// down, httplib's wait for the next request ends and it closes the connection.
void EndUnframed(const httplib::Request& req) {
  if (req.ssl) SSL_shutdown(const_cast<SSL*>(req.ssl));  // (the connection's, on its thread)
  if (int fd = ClientSocket(req); fd >= 0) shutdown(fd, SHUT_RDWR);
}

}  // namespace

HttpServer::HttpServer(engine::Engine* engine, storage::Store* store, EventHub* hub,
                       ServerOptions options)
    : engine_(engine),
      store_(store),
      hub_(hub),
      options_(std::move(options)),
      metrics_(std::make_unique<HttpMetrics>(OpenApiPaths())) {
  hub_->SetSettle([engine] { engine->Settle(); });  // (the loops gather writes)
  const bool tls = !options_.tls_cert.empty() && !options_.tls_key.empty();
  if (!tls) StartLoops();  // (it reads the routes once it runs)
  RouteContext ctx{engine_, store_, hub_, options_.examine_token, options_.on_examine};
  RegisterRoutes(router_, ctx);  // the API first: it is most of the traffic (routes.cc)
  socketio_ = std::make_unique<SocketIo>(hub_, options_.auth_token);
  socketio_->Register(router_);
  RegisterMetrics(router_, ctx,
                  MetricsSources{metrics_.get(), tls ? &in_flight_ : loops_->in_flight(),
                                 options_.version, options_.dispatch_counts});
  RegisterPages(router_);  // last: its GET (/.*) serves the dashboard for every other path
  router_.Label(
      [this](std::string_view path_template) { return metrics_->RouteIndex(path_template); });
  if (tls) StartHttplib();
}

HttpServer::~HttpServer() { hub_->SetSettle(nullptr); }

// Authentication and the CORS preflight, before routing: true when it answered.
bool HttpServer::Before(const httplib::Request& req, httplib::Response& res) const {
  if (req.method == "OPTIONS") {  // CORS preflight, as the original's cors()
    res.status = 204;
    res.set_header("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE");
    std::string asked = req.get_header_value("Access-Control-Request-Headers");
    if (!asked.empty()) res.set_header("Access-Control-Allow-Headers", asked);
    return true;
  }
  // socket.io carries its token in the CONNECT packet instead (socketio.h).
  const std::string& token = options_.auth_token;
  // (the path as sent: routes match its literal parts without regard to case, router.h)
  bool guarded = StartsWithNoCase(req.path, "/api/");
  if (!token.empty() && guarded && !TokenMatches(req.get_header_value("Authorization"), token)) {
    res.status = 401;
    res.set_content(MessageJson("Authorization: Bearer <token> is missing or wrong"),
                    "application/json; charset=utf-8");
    return true;
  }
  return false;
}

// Every answer, before it goes out: an error without a body gets a JSON message, and /metrics
// counts it (so a client that has its answer and scrapes next finds it counted).
void HttpServer::Finish(const httplib::Request& req, httplib::Response& res,
                        const Router::Route* route, std::optional<double> seconds) const {
  if (res.status >= 400 && res.body.empty() && !res.content_provider_) {
    res.set_content(MessageJson(DefaultMessage(res.status)), "application/json; charset=utf-8");
  }
  if (route && route->label >= 0) {
    metrics_->Observe(req.method, route->label, res.status, seconds);
  } else {
    metrics_->Observe(req.method, req.path, res.status, seconds);
  }
}

// A handler, with what httplib's exception handler did: a 500 with the exception's message.
void HttpServer::RunRoute(const Router::Route& route, const httplib::Request& req,
                          httplib::Response& res) const {
  try {
    route.handler(req, res);
  } catch (const std::exception& e) {
    LogServerError(req.method, req.path, e.what());
    res = httplib::Response();
    res.status = 500;
    res.set_content(MessageJson(std::string("internal error: ") + e.what()),
                    "application/json; charset=utf-8");
  }
}

void HttpServer::StartLoops() {
  LoopServerOptions o;
  o.host = options_.host;
  o.port = options_.port;
  o.loops = options_.loops;
  o.max_pool_threads = options_.max_threads;
  o.limits.max_body = options_.max_body_bytes;
  o.default_headers = {{"Access-Control-Allow-Origin", "*"}};
  o.await_on_loop = store_->relaxed();  // nothing to wait for: no hand-off
  LoopHooks hooks;
  hooks.before = [this](const httplib::Request& req, httplib::Response& res) {
    return Before(req, res);
  };
  hooks.run = [this](const Router::Route& route, const httplib::Request& req,
                     httplib::Response& res, bool on_loop) -> uint64_t {
    if (!on_loop) {
      RunRoute(route, req, res);
      return 0;
    }
    // The turn's writes are gathered into one RocksDB write at its end, synced once for the
    // whole turn (with the other loops' turns).
    engine::DeferSync defer(/*gather=*/true);
    RunRoute(route, req, res);
    return defer.seq();
  };
  static_assert(engine::DeferSync::kGathered == LoopHooks::kTurnSeq);
  static_assert(engine::DeferSync::kGatheredLease == LoopHooks::kTurnOnly);
  hooks.await = [this](uint64_t seq) { return engine_->AwaitDurable(seq); };
  // The turn's gathered writes go to the store before any of its answers leave. Relaxed: they go
  // to the OS too (a crash of crew then loses none). Full: a held answer waits for a sync, which
  // flushes first; a lease answered while still in RocksDB's buffer and lost to a crash is as one
  // lost to a power cut (its task is handed out again, README "Durability").
  hooks.end_turn = [this] { return engine_->EndTurn(); };
  hooks.finish = [this](const httplib::Request& req, httplib::Response& res,
                        const Router::Route* route,
                        std::optional<double> seconds) { Finish(req, res, route, seconds); };
  loops_ = std::make_unique<LoopServer>(&router_, std::move(hooks), std::move(o));
}

// TLS: cpp-httplib's server, a thread per connection, with the same routes and hooks.
void HttpServer::StartHttplib() {
  auto tls =
      std::make_unique<httplib::SSLServer>(options_.tls_cert.c_str(), options_.tls_key.c_str());
  if (tls->is_valid()) SSL_CTX_set_info_callback(tls->ssl_context(), NoteHandshake);
  server_ = std::move(tls);
  auto& s = *server_;
  size_t max_threads = options_.max_threads;
  cap_ = std::make_unique<ConnectionCap>(ConnectionLimit());
  s.new_task_queue = [max_threads, cap = cap_.get()] { return new CappedPool(max_threads, cap); };
  s.set_tcp_nodelay(true);
  s.set_keep_alive_max_count(100000);
  s.set_keep_alive_timeout(75);
  s.set_read_timeout(30);
  s.set_write_timeout(30);
  s.set_payload_max_length(options_.max_body_bytes);
  s.set_default_headers({{"Access-Control-Allow-Origin", "*"}});
  // (httplib's default adds SO_REUSEPORT: a second crew on the same port then started too,
  // and the kernel split the connections between the two data dirs)
  s.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  // An error httplib answers itself (no route, a body over the limit) gets its JSON message
  // here: this runs before httplib sets the length of a bodyless answer, which Finish below
  // runs after.
  s.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty() || res.content_provider_) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        res.set_content(MessageJson(DefaultMessage(res.status)), "application/json; charset=utf-8");
        return httplib::Server::HandlerResponse::Handled;
      }));

  // Requests being handled: counted from routing until their answer was written (httplib
  // calls the logger then), so Stop() can let them finish before closing idle connections.
  // The post-routing handler runs for every answer just before its headers are written.
  s.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (tls_here.ending) return;  // (read from the ended connection's buffer: never sent)
    if (!counted_here) {          // its head refused: the connection ends with it (the logger)
      res.headers.erase("Keep-Alive");
      res.set_header("Connection", "close");
    }
    std::optional<double> seconds;
    if (counted_here) {
      seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started_here).count();
    }
    SendUntilClose(req, res);
    res.set_header("Date", std::string(HttpDate()));  // (as the event loop's every answer)
    Finish(req, res, routed_here, seconds);
  });
  s.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    routed_here = nullptr;  // (an answer httplib gives before routing has no route)
    if (counted_here) {
      counted_here = false;
      --in_flight_;
    } else if (tls_here.ssl && !tls_here.ending) {
      // Its head refused, and answered: a close_notify, and the socket shut down so that
      // httplib's wait for the next request ends (EndUnframed).
      tls_here.ending = true;
      SSL_shutdown(tls_here.ssl);
      shutdown(SSL_get_fd(tls_here.ssl), SHUT_RDWR);
    }
    if (KeptOpenAfterUnframed(req, res)) EndUnframed(req);
  });
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    // A request httplib still read from the connection's buffer after it ended is not run.
    if (tls_here.ending) {
      res.status = 400;
      return httplib::Server::HandlerResponse::Handled;
    }
    // A request with neither Content-Length nor Transfer-Encoding has no body (RFC 9112 §6.3);
    // httplib would read one until the connection closed (30 s, then 400). Said so here, before
    // it reads. (The request is httplib's own, not const: only this hook sees it so.)
    if ((req.method == "POST" || req.method == "PUT" || req.method == "PATCH" ||
         req.method == "DELETE") &&
        !req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) {
      const_cast<httplib::Request&>(req).set_header("Content-Length", "0");
    }
    // The path as sent, which the router matches (httplib decoded it), and the query as Express
    // reads it (httplib's parser cut values that hold '=').
    routed_here = nullptr;
    SetPathAndQuery(req.target, &const_cast<httplib::Request&>(req));
    if (!counted_here) {
      counted_here = true;
      started_here = std::chrono::steady_clock::now();
      ++in_flight_;
    }
    return Before(req, res) ? httplib::Server::HandlerResponse::Handled
                            : httplib::Server::HandlerResponse::Unhandled;
  });
  s.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        LogServerError(req.method, req.path, what);
        res.status = 500;
        res.set_content(MessageJson("internal error: " + what), "application/json; charset=utf-8");
      });
  router_.InstallInto(s, [](const Router::Route* route) { routed_here = route; });
}

Status HttpServer::Bind() {
  if (loops_) {
    RETURN_IF_ERROR(loops_->Bind());
    port_ = loops_->port();
    return Status::Ok();
  }
  if (!server_->is_valid()) return Status::Unavailable("cannot start the HTTP server (TLS files?)");
  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.host);
    if (port_ < 0) return Status::Unavailable("cannot listen on " + options_.host);
  } else {
    if (!server_->bind_to_port(options_.host, options_.port)) {
      return Status::Unavailable("cannot listen on " + options_.host + ":" +
                                 std::to_string(options_.port) + " (in use, or not allowed)");
    }
    port_ = options_.port;
  }
  RaiseListenBacklog(port_);
  return Status::Ok();
}

void HttpServer::Run() {
  if (loops_) return loops_->Run();
  server_->listen_after_bind();
}

void HttpServer::Stop() {
  if (loops_) return loops_->Stop();
  server_->stop();
  cap_->Stop();  // (httplib's accept thread may be waiting for room: it must see the stop)
  // httplib would wait out each idle keep-alive connection (75 s): once the requests in hand
  // are answered, end the idle ones. (Shutting a connection down earlier would also drop the
  // answer in progress: httplib checks that the peer is readable before it writes.)
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (in_flight_ > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ShutdownReads(port_);
}

}  // namespace crew::api
