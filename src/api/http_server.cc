#include "api/http_server.h"

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include <httplib.h>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include "api/api_docs.h"
#include "api/http_metrics.h"
#include "api/json_in.h"
#include "api/json_out.h"
#include "api/loop_server.h"
#include "api/route_util.h"
#include "api/routes.h"
#include "api/socketio.h"
#include "util/ascii.h"

namespace crew::api {

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

}  // namespace

HttpServer::HttpServer(engine::Engine* engine, storage::Store* store, EventHub* hub,
                       ServerOptions options)
    : engine_(engine),
      store_(store),
      hub_(hub),
      options_(std::move(options)),
      metrics_(std::make_unique<HttpMetrics>(OpenApiPaths())) {
  hub_->SetSettle([engine] { engine->Settle(); });  // (the loops gather writes)
  StartLoops();                                     // (it reads the routes once it runs)
  RouteContext ctx{engine_, store_, hub_, options_.examine_token, options_.on_examine};
  RegisterRoutes(router_, ctx);  // the API first: it is most of the traffic (routes.cc)
  socketio_ = std::make_unique<SocketIo>(hub_, options_.auth_token);
  socketio_->Register(router_);
  RegisterMetrics(router_, ctx,
                  MetricsSources{metrics_.get(), loops_->in_flight(), options_.version,
                                 options_.dispatch_counts});
  RegisterPages(router_);  // last: its GET (/.*) serves the dashboard for every other path
  router_.Label(
      [this](std::string_view path_template) { return metrics_->RouteIndex(path_template); });
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
  o.after_pool_job = ReleaseLargeParser;  // (the bodies over 64 KB are parsed there)
  o.limits.max_body = options_.max_body_bytes;
  o.default_headers = {{"Access-Control-Allow-Origin", "*"}};
  o.tls_cert = options_.tls_cert;
  o.tls_key = options_.tls_key;
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

Status HttpServer::Bind() {
  RETURN_IF_ERROR(loops_->Bind());
  port_ = loops_->port();
  return Status::Ok();
}

void HttpServer::Run() { loops_->Run(); }

void HttpServer::Stop() { loops_->Stop(); }

}  // namespace crew::api
