#include "dispatch/dispatcher.h"

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <system_error>

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "api/json_in.h"
#include "util/http_url.h"
#include "util/json_text.h"
#include "util/thread_name.h"

namespace crew::dispatch {

namespace {

using Json = nlohmann::ordered_json;  // (requestConfig.params go in the order given)

void AppendPercent(std::string* out, unsigned char c) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  *out += '%';
  *out += kHex[c >> 4];
  *out += kHex[c & 15];
}

// A query's key or value as axios 0.24 encodes it: encodeURIComponent, then `:`, `$`, `,`, `[`
// and `]` left as they are and a space as `+`.
std::string AxiosEncode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || (c && std::strchr("-_.!~*'():$,[]", c))) {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      AppendPercent(&out, c);
    }
  }
  return out;
}

// A value as JavaScript's String() spells it for a query (axios: an object as JSON).
std::string QueryText(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::trunc(d) == d && std::fabs(d) < 1e15) return std::to_string(static_cast<int64_t>(d));
  }
  return v.dump();
}

// requestConfig.params as axios 0.24 sends them: appended to the URL's query; null left out,
// an array as one `key[]=` per element. What the URL itself holds that may not stand in a request
// line (a space, a control character, a byte past ASCII) is percent-encoded, as Node's URL does.
std::string WithParams(const std::string& url_path, const Json& params) {
  std::string path;
  for (unsigned char c : url_path) {
    if (c <= 0x20 || c >= 0x7F || std::strchr("\"<>`", c)) {
      AppendPercent(&path, c);
    } else {
      path += static_cast<char>(c);
    }
  }
  if (!params.is_object()) return path;
  auto add = [&](const std::string& key, const Json& v) {
    path += path.find('?') == std::string::npos ? '?' : '&';
    path += AxiosEncode(key) + "=" + AxiosEncode(QueryText(v));
  };
  for (auto& [k, v] : params.items()) {
    if (v.is_null()) continue;
    if (!v.is_array()) {
      add(k, v);
      continue;
    }
    for (const Json& element : v) add(k + "[]", element);
  }
  return path;
}

// An answer's body as axios reads it: JSON, with what JSON.parse takes and nlohmann does not
// (a lone surrogate, bytes that are no UTF-8) mended as the original would store them; discarded
// (is_discarded()) when it is no JSON.
Json ParseAnswer(const std::string& body) {
  Json answer = Json::parse(body, nullptr, false);
  if (!answer.is_discarded()) return answer;
  auto mended = JavaScriptJson(body, /*fix_utf8=*/true);
  return mended ? Json::parse(*mended, nullptr, false) : answer;
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
  Json body = ParseAnswer(res->body);
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

// The push itself (reference §7.2 steps 4-6), its answer made into the release's fields: a 2xx
// answer's own fields (an answer that is no JSON object has none: a success without output, as
// axios reads it), or the error of a failed one. requestConfig's headers, params, auth
// ({username, password}) and timeout are honoured as axios does, the timeout no longer than the
// lease's (a longer push would be handed out again meanwhile); redirects are followed. Answers
// whether the operator answered with a 2xx.
bool PostToOperator(const std::string& request_config, const HttpUrl& url, const Json& body,
                    int64_t timeout_ms, Json* release) {
  const Json config = Json::parse(request_config, nullptr, false);
  const Json none;
  auto setting = [&](const char* name) -> const Json& {
    return config.is_object() && config.contains(name) ? config[name] : none;
  };
  if (const Json& timeout = setting("timeout"); timeout.is_number()) {
    const double ms = timeout.get<double>();  // (compared as a double: any number may come)
    if (ms > 0 && ms < static_cast<double>(timeout_ms)) {
      timeout_ms = std::max<int64_t>(1, static_cast<int64_t>(ms));
    }
  }
  httplib::Client client(url.origin);
  auto timeout = std::chrono::milliseconds(timeout_ms);
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  client.set_follow_location(true);
  client.set_url_encode(false);  // (WithParams encodes the path and the query as axios does)
  if (const Json& auth = setting("auth"); auth.is_object()) {
    auto text = [&](const char* k) {
      return auth.contains(k) && auth[k].is_string() ? auth[k].get<std::string>() : std::string();
    };
    client.set_basic_auth(text("username"), text("password"));
  }
  httplib::Headers headers;
  if (const Json& h = setting("headers"); h.is_object()) {
    for (auto& [k, v] : h.items())
      headers.emplace(k, v.is_string() ? v.get<std::string>() : v.dump());
  }
  auto res = client.Post(WithParams(url.path, setting("params")), headers, body.dump(),
                         "application/json");
  if (!res || res->status < 200 || res->status >= 300) {
    (*release)["error"] = ErrorFromAnswer(res, timeout_ms);
    return false;
  }
  Json answer = ParseAnswer(res->body);
  if (answer.is_object()) {
    for (auto& [k, v] : answer.items()) {
      if (k != "workerId") (*release)[k] = v;
    }
  }
  return true;
}

// The push of a task to its operator (operator id, URL, requestConfig), without the dispatcher:
// its thread may outlive it. Answers the release body its answer makes (reference §7.2), and
// whether the operator answered with a 2xx.
std::string Deliver(const std::string& operator_id, const std::string& operator_url,
                    const std::string& request_config, const engine::Acquired& a,
                    int64_t timeout_ms, bool* answered) {
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

  Json release = {{"workerId", "operator_" + operator_id}};
  *answered = false;
  const std::optional<HttpUrl> url = SplitHttpUrl(operator_url);
  if (!url) {  // (refused when the operator is made; an older data dir may hold one)
    release["error"] = "operator url '" + operator_url + "' is not an http(s) URL";
    return release.dump();
  }
  try {
    *answered = PostToOperator(request_config, *url, body, timeout_ms, &release);
  } catch (const std::exception& e) {  // (cpp-httplib throws for what it cannot serve)
    release["error"] = "request to the operator failed: " + std::string(e.what());
  }
  return release.dump();
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
  {
    std::unique_lock<std::mutex> lock(mu_);
    auto limit = std::chrono::milliseconds(engine_->options().lease_ms + 5000);
    cv_.wait_for(lock, limit, [this] {
      for (auto& [id, n] : inflight_) {
        if (n > 0) return false;
      }
      return true;
    });
  }
  // (waits for a release under way; after it no push reaches this dispatcher or the engine)
  std::unique_lock<std::shared_mutex> closing(gate_->mu);
  gate_->closed = true;
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
  // Reference §7.2: the first (oldest) operator of a channel serves it; paused, none does.
  std::set<std::string> seen;
  for (auto o = ops->rbegin(); o != ops->rend(); ++o) {  // (listed newest first)
    if (!seen.insert(o->channel).second || (o->is_paused && *o->is_paused)) continue;
    out.push_back({o->id.Hex(), o->channel, o->url, o->request_config});
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
        auto a = std::make_shared<engine::Acquired>(std::move(got->front()));
        const int64_t timeout_ms = std::max<int64_t>(1, engine_->options().lease_ms * 9 / 10);
        auto push = [this, gate = gate_, t, a, slot, timeout_ms] {
          bool answered = false;
          const std::string release =
              Deliver(t.id, t.url, t.request_config, *a, timeout_ms, &answered);
          std::shared_lock<std::shared_mutex> open(gate->mu);
          if (gate->closed) return;  // (this dispatcher may be gone)
          (answered ? pushed_ : push_failed_).fetch_add(1, std::memory_order_relaxed);
          Release(t, *a, release);
          std::lock_guard<std::mutex> done(mu_);
          --inflight_[slot];
          poked_ = true;
          cv_.notify_all();
        };
        try {
          std::thread([push] {
            SetThreadName("crew-operator");
            push();
          }).detach();
        } catch (const std::system_error& e) {  // out of threads: push from here, one at a time
          spdlog::warn("dispatch: cannot start a thread ({}); pushing in turn", e.what());
          lock.unlock();
          push();
          lock.lock();
        }
      }
    }
    cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_ || poked_ || dirty_; });
  }
}

void Dispatcher::Release(const Target& t, const engine::Acquired& a, const std::string& release) {
  const std::string worker = "operator_" + t.id;
  // An answer that is no valid release (a 400 no one would see) is the push's error: the task
  // must not stay held for its lease, and the reason is kept.
  auto refused = [&](const Status& why) {
    Json fallback = {{"workerId", worker}, {"error", "operator answer refused: " + why.message()}};
    return *api::ParseRelease(fallback.dump());
  };
  // (its output as it answered, falsy too: the original's operator passes it on as it is)
  auto cmd = api::ParseRelease(release, api::Verbatim::kOutput);
  if (!cmd.ok()) cmd = refused(cmd.status());
  auto done = engine_->Release(a.task.id, *cmd);
  if (!done.ok() && done.status().code() == Code::kInvalidArgument) {  // (children: SPEC D6)
    done = engine_->Release(a.task.id, refused(done.status()));
  }
  if (!done.ok()) {
    spdlog::warn("dispatch: release of {} by {} failed: {}", a.task.id.Hex(), worker,
                 done.status().ToString());
  }
}

}  // namespace crew::dispatch
