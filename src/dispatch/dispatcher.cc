#include "dispatch/dispatcher.h"

#include <chrono>

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "api/json_in.h"
#include "util/thread_name.h"

namespace crew::dispatch {

namespace {

using Json = nlohmann::json;

// "http://host:port/some/path?q" -> ("http://host:port", "/some/path?q").
bool SplitUrl(const std::string& url, std::string* origin, std::string* path) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return false;
  auto slash = url.find('/', scheme + 3);
  *origin = url.substr(0, slash);
  *path = slash == std::string::npos ? "/" : url.substr(slash);
  return true;
}

// The error a failed push releases its task with: the answer's `error`, else its `message`, as
// the value they are (an object stays an object: reference §2.2 keeps the error verbatim), else
// what failed, as a string.
Json ErrorFromAnswer(const httplib::Result& res, int64_t timeout_ms) {
  if (!res) {
    if (res.error() == httplib::Error::Read || res.error() == httplib::Error::ConnectionTimeout) {
      return "timeout of " + std::to_string(timeout_ms) + "ms exceeded";
    }
    return "request to the operator failed: " + httplib::to_string(res.error());
  }
  Json body = Json::parse(res->body, nullptr, false);
  if (body.is_object()) {  // reference §7.2: response.data.error || .message (JavaScript's ||)
    auto truthy = [](const Json& v) {
      return !(v.is_null() || (v.is_boolean() && !v.get<bool>()) ||
               (v.is_number() && v.get<double>() == 0) || (v.is_string() && v.empty()));
    };
    for (const char* field : {"error", "message"}) {
      if (body.contains(field) && truthy(body[field])) return body[field];
    }
  }
  return "Request failed with status code " + std::to_string(res->status);
}

}  // namespace

Dispatcher::Dispatcher(engine::Engine* engine, DispatchOptions options)
    : engine_(engine), options_(std::move(options)) {
  if (options_.concurrency < 1) options_.concurrency = 1;
}

Dispatcher::~Dispatcher() { Stop(); }

void Dispatcher::Start() {
  thread_ = std::thread([this] {
    SetThreadName("crew-dispatch");
    Loop();
  });
}

void Dispatcher::Stop() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::unique_lock<std::mutex> lock(mu_);
  auto limit = std::chrono::milliseconds(engine_->options().lease_ms + 5000);
  cv_.wait_for(lock, limit, [this] {
    for (auto& [id, n] : inflight_) {
      if (n > 0) return false;
    }
    return true;
  });
}

void Dispatcher::Poke() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    poked_ = true;
  }
  cv_.notify_all();
}

void Dispatcher::OnEvents(const std::vector<engine::Event>& events) {
  for (const auto& e : events) {
    if (e.room == "operators") {
      std::lock_guard<std::mutex> lock(mu_);
      dirty_ = true;
      poked_ = true;
      cv_.notify_all();
      return;
    }
  }
}

void Dispatcher::OnReady(const std::vector<std::string>&) {
  std::lock_guard<std::mutex> lock(mu_);
  if (targets_.empty() && options_.virtual_base_url.empty()) return;
  poked_ = true;
  cv_.notify_all();
}

std::vector<Dispatcher::Target> Dispatcher::Targets() {
  std::vector<Target> out;
  if (!options_.virtual_base_url.empty()) {
    std::string config = "null";
    if (!options_.virtual_token.empty()) {
      config = Json{{"headers", {{"Authorization", "Bearer " + options_.virtual_token}}}}.dump();
    }
    for (const auto& c : engine_->ListChannels()) {
      out.push_back({"virtual", c.name, options_.virtual_base_url + c.name, config});
    }
    return out;
  }
  auto ops = engine_->ListOperators(0, 0);
  if (!ops.ok()) {
    spdlog::error("dispatch: cannot list operators: {}", ops.status().ToString());
    return out;
  }
  std::set<std::string> seen;  // the first (newest) operator of a channel serves it
  for (const auto& o : *ops) {
    if ((o.is_paused && *o.is_paused) || !seen.insert(o.channel).second) continue;
    out.push_back({o.id.Hex(), o.channel, o.url, o.request_config});
  }
  return out;
}

void Dispatcher::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    if (dirty_ || !options_.virtual_base_url.empty()) {
      dirty_ = false;
      lock.unlock();
      auto targets = Targets();
      lock.lock();
      targets_ = std::move(targets);
    }
    poked_ = false;
    auto targets = targets_;
    for (const Target& t : targets) {
      const std::string slot = t.id + "/" + t.channel;
      while (!stop_ && inflight_[slot] < options_.concurrency) {
        lock.unlock();
        auto got = engine_->Acquire(t.channel, "operator_" + t.id, 1);
        lock.lock();
        if (!got.ok() || got->empty()) break;
        ++inflight_[slot];
        std::thread([this, t, a = std::move(got->front()), slot]() mutable {
          SetThreadName("crew-operator");
          Push(t, std::move(a));
          std::lock_guard<std::mutex> done(mu_);
          --inflight_[slot];
          poked_ = true;
          cv_.notify_all();
        }).detach();
      }
    }
    cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_ || poked_ || dirty_; });
  }
}

void Dispatcher::Push(Target t, engine::Acquired a) {
  const std::string worker = "operator_" + t.id;
  const int64_t timeout_ms = std::max<int64_t>(1000, engine_->options().lease_ms * 9 / 10);
  Json body;
  body["input"] = Json::parse(a.task.input, nullptr, false);
  body["parents"] = Json::array();
  for (const auto& p : a.parents) {
    body["parents"].push_back({{"_id", p.id.Hex()},
                               {"channel", p.channel},
                               {"input", Json::parse(p.input, nullptr, false)},
                               {"output", Json::parse(p.output, nullptr, false)}});
  }
  body["taskId"] = a.task.id.Hex();

  Json release = {{"workerId", worker}};
  std::string origin, path;
  if (!SplitUrl(t.url, &origin, &path)) {
    push_failed_.fetch_add(1, std::memory_order_relaxed);
    release["error"] = "operator url '" + t.url + "' is not an http(s) URL";
  } else {
    httplib::Client client(origin);
    auto timeout = std::chrono::milliseconds(timeout_ms);
    client.set_connection_timeout(timeout);
    client.set_read_timeout(timeout);
    client.set_write_timeout(timeout);
    httplib::Headers headers;
    Json config = Json::parse(t.request_config, nullptr, false);
    if (config.is_object() && config["headers"].is_object()) {
      for (auto& [k, v] : config["headers"].items()) {
        headers.emplace(k, v.is_string() ? v.get<std::string>() : v.dump());
      }
    }
    auto res = client.Post(path, headers, body.dump(), "application/json");
    Json answer = res ? Json::parse(res->body, nullptr, false) : Json();
    const bool answered = res && res->status >= 200 && res->status < 300;
    (answered ? pushed_ : push_failed_).fetch_add(1, std::memory_order_relaxed);
    if (res && res->status >= 200 && res->status < 300 && answer.is_object()) {
      for (auto& [k, v] : answer.items()) {
        if (k != "workerId") release[k] = v;
      }
    } else if (res && res->status >= 200 && res->status < 300) {
      release["output"] = res->body.empty() ? Json() : answer;  // a non-object answer: output
    } else {
      release["error"] = ErrorFromAnswer(res, timeout_ms);
    }
  }
  auto cmd = api::ParseRelease(release.dump());
  if (!cmd.ok()) {  // the operator's answer is not a valid release: that is its error
    Json fallback = {{"workerId", worker},
                     {"error", "operator answer refused: " + cmd.status().message()}};
    cmd = api::ParseRelease(fallback.dump());
  }
  auto done = engine_->Release(a.task.id, *cmd);
  if (!done.ok()) {
    spdlog::warn("dispatch: release of {} by {} failed: {}", a.task.id.Hex(), worker,
                 done.status().ToString());
  }
}

}  // namespace crew::dispatch
