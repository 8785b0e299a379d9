#include "api/http_server.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <httplib.h>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include "api/api_docs.h"
#include "api/client_socket.h"
#include "api/http_metrics.h"
#include "api/json_out.h"
#include "api/route_util.h"
#include "api/routes.h"
#include "api/socketio.h"

namespace crew::api {

thread_local bool HttpServer::counted_here = false;
thread_local std::chrono::steady_clock::time_point HttpServer::started_here;

bool SecretEquals(const std::string& given, const std::string& expected) {
  if (given.size() != expected.size()) return false;
  return CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

namespace {

// A TaskQueue that starts a thread whenever every thread is busy (up to `max`), so a held
// connection never makes a new one wait. Threads stay for later connections.
class ElasticPool final : public httplib::TaskQueue {
 public:
  explicit ElasticPool(size_t max) : max_(max) {}
  ~ElasticPool() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    std::unique_lock<std::mutex> lock(mu_);
    jobs_.push_back(std::move(fn));
    if (idle_ < jobs_.size() && threads_.size() < max_) {
      threads_.emplace_back([this] { Work(); });
    }
    cv_.notify_one();
  }

  void shutdown() override {
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      stop_ = true;
      threads.swap(threads_);
    }
    cv_.notify_all();
    for (auto& t : threads) t.join();
  }

 private:
  void Work() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      ++idle_;
      cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
      --idle_;
      if (jobs_.empty()) return;  // stopping and drained
      auto fn = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      fn();
      lock.lock();
    }
  }

  const size_t max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  size_t idle_ = 0;
  bool stop_ = false;
};

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
  if (!options_.tls_cert.empty() && !options_.tls_key.empty()) {
    server_ =
        std::make_unique<httplib::SSLServer>(options_.tls_cert.c_str(), options_.tls_key.c_str());
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  auto& s = *server_;
  size_t max_threads = options_.max_threads;
  s.new_task_queue = [max_threads] { return new ElasticPool(max_threads); };
  s.set_tcp_nodelay(true);
  s.set_keep_alive_max_count(100000);
  s.set_keep_alive_timeout(75);
  s.set_read_timeout(30);
  s.set_write_timeout(30);
  s.set_payload_max_length(options_.max_body_bytes);
  s.set_default_headers({{"Access-Control-Allow-Origin", "*"}});

  // Requests being handled: counted from routing until their answer was written (httplib
  // calls the logger then), so Stop() can let them finish before closing idle connections.
  // /metrics records a request just before its answer goes out (httplib's post-routing
  // handler runs for every answer, errors included), so a client that has its answer and
  // scrapes next sees it counted. A request refused before routing (malformed) is counted
  // without a duration.
  s.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    std::optional<double> seconds;
    if (counted_here) {
      seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started_here).count();
    }
    metrics_->Observe(req.method, req.path, res.status, seconds);
  });
  s.set_logger([this](const httplib::Request&, const httplib::Response&) {
    if (counted_here) {
      counted_here = false;
      --in_flight_;
    }
  });
  const std::string token = options_.auth_token;
  s.set_pre_routing_handler([this, token](const httplib::Request& req, httplib::Response& res) {
    if (!counted_here) {
      counted_here = true;
      started_here = std::chrono::steady_clock::now();
      ++in_flight_;
    }
    if (req.method == "OPTIONS") {  // CORS preflight, as the original's cors()
      res.status = 204;
      res.set_header("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE");
      std::string asked = req.get_header_value("Access-Control-Request-Headers");
      if (!asked.empty()) res.set_header("Access-Control-Allow-Headers", asked);
      return httplib::Server::HandlerResponse::Handled;
    }
    // socket.io carries its token in the CONNECT packet instead (socketio.h).
    bool guarded = req.path.rfind("/api/", 0) == 0;
    if (!token.empty() && guarded && !TokenMatches(req.get_header_value("Authorization"), token)) {
      res.status = 401;
      res.set_content(MessageJson("Authorization: Bearer <token> is missing or wrong"),
                      "application/json; charset=utf-8");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        std::string msg = DefaultMessage(res.status);
        if (res.status == 404) msg = "Not found: " + req.method + " " + req.path;
        res.set_content(MessageJson(msg), "application/json; charset=utf-8");
        return httplib::Server::HandlerResponse::Handled;
      }));
  s.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::error("{} {}: {}", req.method, req.path, what);
        res.status = 500;
        res.set_content(MessageJson("internal error: " + what), "application/json; charset=utf-8");
      });
  RouteContext ctx{engine_, store_, hub_, options_.examine_token, options_.on_examine};
  RegisterRoutes(s, ctx);  // the API first: it is most of the traffic (routes.cc)
  socketio_ = std::make_unique<SocketIo>(hub_, options_.auth_token);
  socketio_->Register(s);
  RegisterMetrics(
      s, ctx,
      MetricsSources{metrics_.get(), &in_flight_, options_.version, options_.dispatch_counts});
  RegisterPages(s);  // last: its GET (/.*) serves the dashboard for every other path
}

HttpServer::~HttpServer() = default;

Status HttpServer::Bind() {
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

void HttpServer::Run() { server_->listen_after_bind(); }

void HttpServer::Stop() {
  server_->stop();
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
