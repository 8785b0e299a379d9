#include "work/demo_workers.h"

#include <chrono>
#include <cmath>
#include <functional>
#include <random>
#include <thread>
#include <vector>

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "util/clock.h"
#include "util/http_url.h"
#include "util/iso_time.h"

namespace crew::work {

namespace {

using Json = nlohmann::json;

struct Outcome {
  Json release;  // the release body without workerId
};

struct Spec {
  const char* name;
  const char* channel;
  double wait_seconds;
  std::function<Json(const Json& input, double speed)> run;  // answers the release body
};

Json Done(const char* message, bool with_time) {
  Json out = {{"message", message}};
  if (with_time) out["at"] = FormatIso(SystemClock::Default()->NowMs());
  return {{"output", out}};
}

// Worker C's continuation DAG (reference §11.2): A and B share a key, so B is merged with A;
// D waits for B and C; everything waits childrenDelayInSeconds first.
Json WorkerC(double speed) {
  int64_t child_b_at = SystemClock::Default()->NowMs() + static_cast<int64_t>(15000 / speed);
  Json children = Json::array({
      {{"_child_id", 1},
       {"name", "Child A"},
       {"channel", "worker_a"},
       {"input", {{"child", "A"}}},
       {"key", "same_key"}},
      {{"_child_id", 2},
       {"_parent_ids", {1}},
       {"name", "Child B"},
       {"channel", "worker_a"},
       {"input", {{"child", "B"}}},
       {"key", "same_key"},
       {"runAfter", FormatIso(child_b_at)}},
      {{"_child_id", 3},
       {"_parent_ids", {1}},
       {"name", "Child C"},
       {"channel", "worker_b"},
       {"input", {{"child", "C"}}}},
      {{"_child_id", 4},
       {"_parent_ids", {2, 3}},
       {"name", "Child D with 'single' and \"double\" quotes"},
       {"channel", "worker_a"},
       {"input", "An input with 'single' and \"double\" quotes"}},
  });
  return {{"output", {{"message", "Worker C ' did it!"}}},
          {"children", children},
          {"childrenDelayInSeconds", 60 / speed}};
}

bool Truthy(const Json& v) {
  if (v.is_null()) return false;
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number()) return v.get<double>() != 0;
  if (v.is_string()) return !v.get_ref<const std::string&>().empty();
  return true;
}

// String(v) in JavaScript: an object is "[object Object]", an array its elements' texts joined
// by commas (null as nothing).
std::string JsString(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object()) return "[object Object]";
  if (v.is_array()) {
    std::string text;
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) text += ',';
      if (!v[i].is_null()) text += JsString(v[i]);
    }
    return text;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::trunc(d) == d && std::fabs(d) < 1e15) return std::to_string(static_cast<int64_t>(d));
  }
  return v.dump();
}

class DemoWorker {
 public:
  DemoWorker(Spec spec, const DemoOptions& options, const std::atomic<bool>& stop)
      : spec_(std::move(spec)), options_(options), stop_(stop) {
    std::random_device rd;
    id_ = std::string("crew-work-") + spec_.channel + "-" + std::to_string(rd() % 1000000);
  }

  void Run(httplib::Client& client) {
    httplib::Headers headers;
    if (!options_.auth_token.empty())
      headers.emplace("Authorization", "Bearer " + options_.auth_token);
    const std::string prefix = Prefix();
    while (!stop_) {
      Json ask = {{"workerId", id_}, {"waitSeconds", 2}};
      auto res = client.Post((prefix + "api/v1/channel/" + spec_.channel + "/acquire").c_str(),
                             headers, ask.dump(), "application/json");
      if (!res || res->status != 200) {
        spdlog::warn("{}: acquire failed ({}), retrying", spec_.name,
                     res ? std::to_string(res->status) : httplib::to_string(res.error()));
        Sleep(1.0);
        continue;
      }
      Json answer = Json::parse(res->body, nullptr, false);
      if (!answer.is_object() || !answer["task"].is_object()) continue;
      const Json& task = answer["task"];
      Json body = Execute(task.value("input", Json()));
      body["workerId"] = id_;
      Release(client, headers, prefix, task["_id"].get<std::string>(), body);
    }
  }

 private:
  std::string Prefix() const {
    // The path part of the base URL (e.g. "/crew/"), always ending in "/".
    std::string url = options_.base_url;
    auto scheme = url.find("://");
    auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    std::string path = slash == std::string::npos ? "/" : url.substr(slash);
    if (path.back() != '/') path.push_back('/');
    return path;
  }

  // The original's `if (data && data.throw) throw new Error(data.throw)`: a truthy `throw` fails
  // the task with its text as JavaScript's String() spells it.
  Json Execute(const Json& input) {
    if (input.is_object() && input.contains("throw") && Truthy(input["throw"])) {
      return {{"error", JsString(input["throw"])}};
    }
    Sleep(spec_.wait_seconds / options_.speed);
    return spec_.run(input, options_.speed);
  }

  void Release(httplib::Client& client, const httplib::Headers& headers, const std::string& prefix,
               const std::string& task_id, const Json& body) {
    double backoff = 1;
    for (int attempt = 0; attempt < 5; ++attempt) {
      auto res = client.Post((prefix + "api/v1/task/" + task_id + "/release").c_str(), headers,
                             body.dump(), "application/json");
      if (res && res->status < 500) {
        if (res->status == 200) {
          spdlog::info("{} released {}{}", spec_.name, task_id,
                       body.contains("error") ? " with an error" : "");
        } else {
          spdlog::warn("{}: release of {} refused: {} {}", spec_.name, task_id, res->status,
                       res->body);
        }
        return;
      }
      Sleep(backoff);
      backoff *= 3;
    }
    spdlog::error("{}: could not release {}; its lease will free it", spec_.name, task_id);
  }

  void Sleep(double seconds) {
    auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    // The task being worked on is finished even after Ctrl-C; only idle waits are cut short.
    while (std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  Spec spec_;
  const DemoOptions& options_;
  const std::atomic<bool>& stop_;
  std::string id_;
};

}  // namespace

int RunDemoWorkers(const DemoOptions& options, const std::atomic<bool>& stop) {
  // (an ftp:// URL threw from httplib's Client: crew aborted)
  const std::optional<HttpUrl> url = SplitHttpUrl(options.base_url);
  if (!url) {
    spdlog::error("the API URL must look like http://host:port/ (got '{}')", options.base_url);
    return 1;
  }
  const std::string origin = url->origin;
  std::vector<Spec> specs = {
      {"Worker A", "worker_a", 10,
       [](const Json&, double) { return Done("Worker A did it!", true); }},
      {"Worker B", "worker_b", 2,
       [](const Json&, double) { return Done("Worker B did it!", true); }},
      {"Worker C", "worker_c", 2, [](const Json&, double speed) { return WorkerC(speed); }},
  };
  std::vector<std::thread> threads;
  for (auto& spec : specs) {
    threads.emplace_back([spec, &options, &stop, origin] {
      httplib::Client client(origin);
      if (!client.is_valid()) {
        spdlog::error("cannot use {}", origin);
        return;
      }
      client.set_read_timeout(30);
      client.set_keep_alive(true);
      DemoWorker worker(spec, options, stop);
      spdlog::info("{} polls channel {}", spec.name, spec.channel);
      worker.Run(client);
    });
  }
  for (auto& t : threads) t.join();
  return 0;
}

}  // namespace crew::work
