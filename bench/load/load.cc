// bench/load: an HTTP load generator for a running crew (README "Benchmarks").
//
//   build/bench/crew_load --url http://127.0.0.1:3000/ [--workload W1,W2,...] [--tasks N]
//                         [--producers 8] [--workers 8] [--backlog N] [--sse N]
//                         [--wait-seconds N] [--smoke]
//
// Workloads (issue "Speed you can show"): W1 flat drain (one task per request; again with each
// worker's release and next acquire pipelined; then batches of 100), W2 idle latency of a
// long-poll worker, W3 = W1 behind a backlog of waiting tasks, W4 a fan-out/fan-in DAG, W5 a
// long drain (last 10% vs first 10%), W6 a rate-limit storm.
// Every connection is keep-alive; every figure is printed as one table row. --sse N keeps N
// event streams (GET /api/v1/events, every group's events) open and read throughout, as open
// dashboards would. --wait-seconds N has the drains' workers long-poll (N1) as workers that wait
// for their tasks do.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <simdjson.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/event_clients.h"
#include "common/http_client.h"
#include "common/latencies.h"
#include "common/sse_readers.h"

namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string url = "http://127.0.0.1:3000/";
  std::string workloads = "W1,W2,W3,W4,W5,W6";
  int tasks = 20000;
  int producers = 8;
  int workers = 8;
  int backlog = 1000000;
  int long_drain = 1000000;
  int dag_children = 10000;
  int storm_tasks = 100000;
  int sse = 0;
  int wait_seconds = 0;
  bool smoke = false;
};

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

using Stats = crew_bench::Latencies;

struct Row {
  std::string workload, what;
  double per_second = 0;
  double p50 = 0, p99 = 0, p999 = 0;
  std::string note;
};
std::vector<Row> g_rows;
std::mutex g_rows_mu;

void Report(Row r) {
  std::printf("%-4s %-58s %9.0f %9.2f %9.2f %9.2f  %s\n", r.workload.c_str(), r.what.c_str(),
              r.per_second, r.p50, r.p99, r.p999, r.note.c_str());
  std::fflush(stdout);
  std::lock_guard<std::mutex> lock(g_rows_mu);
  g_rows.push_back(std::move(r));
}

// Where the server is: host, port and the path prefix of its API.
struct Endpoint {
  explicit Endpoint(const std::string& url) {
    auto scheme = url.find("://");
    auto slash = url.find('/', scheme + 3);
    std::string authority = url.substr(scheme + 3, slash - scheme - 3);
    api = slash == std::string::npos ? "/" : url.substr(slash);
    if (api.back() != '/') api += "/";
    api += "api/v1/";
    auto colon = authority.rfind(':');
    port = colon == std::string::npos ? 80 : std::atoi(authority.c_str() + colon + 1);
    host = authority.substr(0, colon);
  }
  std::string host, api;
  int port;
};

// Exits unless `status` is 200: a benchmark must not go on after an error.
void Require200(int status, const char* method, const std::string& target, std::string_view body) {
  if (status == 200) return;
  std::fprintf(
      stderr, "%s %s failed: %s\n", method, target.c_str(),
      status < 0 ? "no connection" : (std::to_string(status) + " " + std::string(body)).c_str());
  std::exit(2);
}

class Api {
 public:
  explicit Api(const std::string& url) : at_(url) {
    client_ = std::make_unique<crew_bench::HttpClient>(at_.host, at_.port);
  }
  // The answer's body; exits on anything but 200 (a benchmark must not go on after an error).
  const std::string& Call(const char* method, const std::string& path, const Json& body) {
    std::string full = at_.api + path;
    int status = client_->Request(method, full, body.is_null() ? "" : body.dump(), &answer_);
    Require200(status, method, full, answer_);
    return answer_;
  }
  Json Post(const std::string& path, const Json& body) {
    return Json::parse(Call("POST", path, body));
  }
  // A POST whose answer is not needed: not parsed.
  void Send(const std::string& path, const Json& body) { Call("POST", path, body); }
  Json Get(const std::string& path) { return Json::parse(Call("GET", path, Json())); }

 private:
  Endpoint at_;
  std::unique_ptr<crew_bench::HttpClient> client_;
  std::string answer_;
};

std::string Unique(const std::string& base) {
  static std::atomic<int> n{0};
  return base + "_" +
         std::to_string(std::chrono::system_clock::now().time_since_epoch().count() % 1000000000) +
         "_" + std::to_string(n++);
}

Json TaskBody(const std::string& channel, int i) {
  return {{"name", "t" + std::to_string(i)},
          {"channel", channel},
          {"input", {{"i", i}, {"payload", std::string(80, 'x')}}}};
}

// Runs fn(thread index) on n threads and returns the wall time.
template <typename Fn>
Clock::duration Parallel(int n, Fn fn) {
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) threads.emplace_back([&, i] { fn(i); });
  for (auto& t : threads) t.join();
  return Clock::now() - start;
}

// `n` clients (keep-alive connections) on this one thread, as the Node.js peers' clients run
// (bench/common/event_clients.h). step(i, status, body, &request): client i's next request
// after an answer (status 0 before its first); false when it is done. Returns the wall time.
template <typename Fn>
Clock::duration RunClients(const Endpoint& at, int n, Fn step) {
  std::vector<int> fds;
  for (int i = 0; i < n; ++i) {
    fds.push_back(crew_bench::ConnectTcp(at.host, at.port));
    if (fds.back() < 0) Require200(-1, "connect", at.host, "");
  }
  auto frame = [](std::string_view buf) {
    crew_bench::AnswerFrame f = crew_bench::FrameAnswer(buf);
    if (f.status < 0) Require200(f.status, "read", "an answer that is not HTTP", buf);
    return f.length;
  };
  auto start = Clock::now();
  crew_bench::RunClients(fds, frame, [&](size_t i, std::string_view answer, std::string* request) {
    crew_bench::AnswerFrame f;
    if (!answer.empty()) f = crew_bench::FrameAnswer(answer);
    return step(static_cast<int>(i), f.status, answer.substr(f.body_at, f.body_length), request);
  });
  auto took = Clock::now() - start;
  for (int fd : fds) close(fd);
  return took;
}

// Creates `n` tasks in `channel` with `producers` clients, `batch` tasks per request.
void Produce(const Options& o, const std::string& wl, const std::string& group,
             const std::string& channel, int n, int batch, bool report) {
  const Endpoint at(o.url);
  const std::string target = at.api + "task_group/" + group + "/tasks";
  Stats all;
  std::vector<Clock::time_point> sent(o.producers);
  int next = 0;
  auto took = RunClients(at, o.producers,
                         [&](int p, int status, std::string_view answer, std::string* request) {
                           if (status) {
                             Require200(status, "POST", target, answer);
                             all.Add(Ms(Clock::now() - sent[p]));
                           }
                           if (next >= n) return false;
                           int count = std::min(batch, n - next);
                           Json body;
                           if (batch == 1) {
                             body = TaskBody(channel, next);
                           } else {
                             body = Json::array();
                             for (int i = 0; i < count; ++i)
                               body.push_back(TaskBody(channel, next + i));
                           }
                           next += count;
                           crew_bench::AppendRequest("POST", target, at.host, body.dump(), request);
                           sent[p] = Clock::now();
                           return true;
                         });
  if (!report) return;
  Report({wl,
          "create, " + std::to_string(batch) + " per request (" + std::to_string(o.producers) +
              " producers)",
          n / (Ms(took) / 1000), all.Pct(0.5), all.Pct(0.99), all.Pct(0.999),
          "latency per request"});
}

// The ids of the tasks an acquire answer holds: {"task": {...} | null} or, for a batch,
// {"tasks": [{"task": {...}, ...}]}. Read with simdjson's On-Demand API, which walks to the ids
// and skips the rest. Parsing every field into a DOM (nlohmann) doubled this client's user CPU
// over W1 (0.47 s vs 0.21 s), CPU the server on the same two cores could have had. Exits on a
// malformed answer.
std::vector<std::string> AcquiredIds(simdjson::ondemand::parser& json, std::string_view answer,
                                     bool batch) {
  std::vector<std::string> ids;
  simdjson::padded_string padded(answer);
  auto fail = [&](simdjson::error_code e) {
    std::fprintf(stderr, "acquire answered malformed JSON (%s): %.*s\n", simdjson::error_message(e),
                 static_cast<int>(answer.size()), answer.data());
    std::exit(2);
  };
  simdjson::ondemand::document doc;
  if (auto e = json.iterate(padded).get(doc)) fail(e);
  if (!batch) {
    simdjson::ondemand::value task;
    if (auto e = doc["task"].get(task)) fail(e);
    if (task.is_null()) return ids;
    std::string_view id;
    if (auto e = task["_id"].get_string().get(id)) fail(e);
    ids.emplace_back(id);
    return ids;
  }
  simdjson::ondemand::array tasks;
  if (auto e = doc["tasks"].get_array().get(tasks)) fail(e);
  for (auto item : tasks) {
    std::string_view id;
    if (auto e = item["task"]["_id"].get_string().get(id)) fail(e);
    ids.emplace_back(id);
  }
  return ids;
}

// Drains `n` tasks with `workers` clients: acquire then release, `batch` per request.
// Pipelined (batch 1): a worker sends its release and its next acquire together, on its one
// keep-alive connection (HTTP/1.1 pipelining), and waits for both answers, which come in order:
// one round trip per task, as a BullMQ worker's moveToCompleted also fetches its next job. The
// latency is then per cycle: between two acquire answers of one worker that hold a task.
// Returns throughput; `completions` collects completion times for W5.
double Drain(const Options& o, const std::string& wl, const std::string& channel, int n, int batch,
             bool report, std::vector<Clock::time_point>* completions = nullptr,
             bool pipelined = false) {
  const Endpoint at(o.url);
  const std::string acquire = at.api + "channel/" + channel + "/acquire";
  struct Worker {
    std::string id;
    int releasing = 0;       // tasks in the release under way
    bool acquiring = false;  // pipelined: an acquire follows that release
    Clock::time_point started;
  };
  std::vector<Worker> workers(o.workers);
  for (int w = 0; w < o.workers; ++w) workers[w].id = "w" + std::to_string(w);
  simdjson::ondemand::parser json;
  Stats all;
  int done = 0;
  int releasing = 0;  // tasks in releases under way, of every worker
  auto acquire_request = [&](const Worker& w, std::string* request) {
    Json body = {{"workerId", w.id}};
    if (o.wait_seconds > 0) body["waitSeconds"] = o.wait_seconds;
    if (batch > 1) body["limit"] = batch;
    crew_bench::AppendRequest("POST", acquire, at.host, body.dump(), request);
  };
  // The drain ends with the last release's answer (with --wait-seconds, the acquires still out
  // then wait out their time for nothing); it starts with the first request (RunClients' time).
  Clock::time_point drained;
  const auto took = RunClients(
      at, o.workers, [&](int i, int status, std::string_view answer, std::string* request) {
        Worker& w = workers[i];
        if (status && w.releasing) {
          Require200(status, "POST", "release", answer);
          if (!pipelined) all.Add(Ms(Clock::now() - w.started));
          done += w.releasing;
          if (done >= n && drained == Clock::time_point()) drained = Clock::now();
          releasing -= w.releasing;
          w.releasing = 0;
          if (completions) completions->push_back(Clock::now());
          if (w.acquiring) return true;  // its answer comes next
        } else if (status) {
          Require200(status, "POST", acquire, answer);
          w.acquiring = false;
          std::vector<std::string> ids = AcquiredIds(json, answer, batch > 1);
          const std::string fields = "\"workerId\":\"" + w.id + "\",\"output\":{\"ok\":true}";
          if (batch == 1 && !ids.empty()) {
            crew_bench::AppendRequest("POST", at.api + "task/" + ids[0] + "/release", at.host,
                                      "{" + fields + "}", request);
            w.releasing = 1;
            ++releasing;
            if (pipelined) {
              const auto now = Clock::now();
              if (w.started != Clock::time_point()) all.Add(Ms(now - w.started));
              w.started = now;
              // (not once the tasks left are all being released: an acquire would find none)
              if (done + releasing < n) {
                acquire_request(w, request);
                w.acquiring = true;
              }
            }
            return true;
          }
          if (batch > 1 && !ids.empty()) {
            std::string items = "[";
            for (const std::string& id : ids) {
              if (items.size() > 1) items += ',';
              items += "{\"taskId\":\"" + id + "\"," + fields + "}";
            }
            items += ']';
            crew_bench::AppendRequest("POST", at.api + "tasks/release", at.host, items, request);
            w.releasing = static_cast<int>(ids.size());
            releasing += w.releasing;
            return true;
          }
        }
        if (done >= n) return false;
        acquire_request(w, request);
        if (!pipelined) w.started = Clock::now();
        return true;
      });
  const auto started = Clock::now() - took;
  double rate = n / (Ms(drained - started) / 1000);
  if (report) {
    Report({wl,
            (pipelined ? "drain: release+acquire pipelined, 1 per request ("
                       : "drain: acquire+release, " + std::to_string(batch) + " per request (") +
                std::to_string(o.workers) + " workers)",
            rate, all.Pct(0.5), all.Pct(0.99), all.Pct(0.999),
            pipelined ? "latency per cycle (acquire answer to the next)"
                      : "latency per acquire+release"});
  }
  return rate;
}

std::string NewGroup(Api& api, bool paused = false) {
  return api.Post("task_groups", {{"name", Unique("bench")}, {"isPaused", paused}})["_id"];
}

double W1(const Options& o, const std::string& wl = "W1") {
  Api api(o.url);
  std::string g = NewGroup(api), ch = Unique("w1");
  Produce(o, wl, g, ch, o.tasks, 1, true);
  double single = Drain(o, wl, ch, o.tasks, 1, true);
  std::string ch1 = Unique("w1p");
  Produce(o, wl, g, ch1, o.tasks, 1, false);
  Drain(o, wl, ch1, o.tasks, 1, true, nullptr, true);
  std::string ch2 = Unique("w1b");
  Produce(o, wl, g, ch2, o.tasks, 100, true);
  Drain(o, wl, ch2, o.tasks, 100, true);
  return single;
}

void W2(const Options& o) {
  Api producer(o.url);
  std::string g = NewGroup(producer), ch = Unique("w2");
  int samples = o.smoke ? 50 : 1000;
  Stats lag;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> got_at{0};
  std::atomic<int> received{0};
  std::thread worker([&] {
    Api api(o.url);
    while (!stop) {
      Json r = api.Post("channel/" + ch + "/acquire", {{"workerId", "w2"}, {"waitSeconds", 5}});
      if (r["task"].is_null()) continue;
      got_at = Clock::now().time_since_epoch().count();
      ++received;
      api.Send("task/" + r["task"]["_id"].get<std::string>() + "/release", {{"workerId", "w2"}});
    }
  });
  for (int i = 0; i < samples; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    int before = received;
    producer.Send("task_group/" + g + "/tasks", TaskBody(ch, i));
    auto answered = Clock::now();
    while (received == before) std::this_thread::sleep_for(std::chrono::microseconds(50));
    lag.Add(Ms(Clock::time_point(Clock::duration(got_at.load())) - answered));
  }
  stop = true;
  producer.Send("task_group/" + g + "/tasks", TaskBody(ch, -1));  // wakes the worker
  worker.join();
  Report({"W2", "idle latency: create answered -> worker holds it", 0, lag.Pct(0.5), lag.Pct(0.99),
          lag.Pct(0.999), std::to_string(samples) + " samples (ms)"});
}

void W3(const Options& o, double w1_rate) {
  Api api(o.url);
  int backlog = o.smoke ? 3000 : o.backlog;
  std::string open = NewGroup(api), paused = NewGroup(api, true), ch = Unique("w3");
  std::string parent =
      api.Post("task_group/" + open + "/tasks", TaskBody(Unique("never"), 0))["_id"];
  std::atomic<int> next{0}, created{0};
  auto setup = Parallel(o.producers, [&](int) {
    Api a(o.url);
    auto later = std::chrono::system_clock::now() + std::chrono::hours(1);
    int64_t run_after =
        std::chrono::duration_cast<std::chrono::milliseconds>(later.time_since_epoch()).count();
    while (true) {
      int start = next.fetch_add(300);
      if (start >= backlog) break;
      Json delayed = Json::array(), held = Json::array(), blocked = Json::array();
      for (int i = 0; i < 100; ++i) {
        Json t = TaskBody(ch, start + i);
        Json d = t;
        d["runAfter"] = run_after;
        delayed.push_back(d);
        held.push_back(t);
        Json b = t;
        b["parentIds"] = {parent};
        blocked.push_back(b);
      }
      a.Send("task_group/" + open + "/tasks", delayed);
      a.Send("task_group/" + paused + "/tasks", held);
      a.Send("task_group/" + open + "/tasks", blocked);
      created += 300;
    }
  });
  Report({"W3", "backlog setup: " + std::to_string(created.load()) + " waiting tasks", 0, 0, 0, 0,
          "took " + std::to_string(static_cast<int>(Ms(setup) / 1000)) + " s"});
  std::string g = NewGroup(api);
  Produce(o, "W3", g, ch, o.tasks, 1, false);
  double rate = Drain(o, "W3", ch, o.tasks, 1, true);
  char note[64];
  std::snprintf(note, sizeof note, "W3/W1 = %.2f", w1_rate > 0 ? rate / w1_rate : 0);
  Report({"W3", "W1 drain behind the backlog", rate, 0, 0, 0, note});
}

void W4(const Options& o) {
  Api api(o.url);
  std::string g = NewGroup(api), ch = Unique("w4"), fin = Unique("w4final");
  int n = o.smoke ? 200 : o.dag_children;
  api.Send("task_group/" + g + "/tasks", TaskBody(ch + "_seed", 0));
  auto start = Clock::now();
  Json seed = api.Post("channel/" + ch + "_seed/acquire", {{"workerId", "s"}});
  Json children = Json::array();
  Json all = Json::array();
  for (int i = 0; i < n; ++i) {
    children.push_back({{"_child_id", i}, {"name", "c"}, {"channel", ch}, {"input", {{"i", i}}}});
    all.push_back(i);
  }
  children.push_back(
      {{"_child_id", "final"}, {"_parent_ids", all}, {"name", "final"}, {"channel", fin}});
  api.Send("task/" + seed["task"]["_id"].get<std::string>() + "/release",
           {{"workerId", "s"}, {"children", children}});
  auto released = Clock::now();
  Drain(o, "W4", ch, n, 1, false);
  Json last = api.Post("channel/" + fin + "/acquire", {{"workerId", "f"}});
  if (last["task"].is_null()) {
    std::fprintf(stderr, "W4: the final task is not acquirable after its parents completed\n");
    std::exit(3);
  }
  api.Send("task/" + last["task"]["_id"].get<std::string>() + "/release", {{"workerId", "f"}});
  double total = Ms(Clock::now() - start);
  char note[96];
  std::snprintf(note, sizeof note, "release with %d children: %.0f ms; whole DAG: %.0f ms", n,
                Ms(released - start), total);
  Report({"W4", "DAG: seed -> " + std::to_string(n) + " children -> 1 final",
          (n + 2) / (total / 1000), 0, 0, 0, note});
}

void W5(const Options& o) {
  Api api(o.url);
  int n = o.smoke ? 5000 : o.long_drain;
  std::string g = NewGroup(api), ch = Unique("w5");
  Produce(o, "W5", g, ch, n, 100, false);
  std::vector<Clock::time_point> completions;
  auto start = Clock::now();
  double rate = Drain(o, "W5", ch, n, 1, false, &completions);
  std::sort(completions.begin(), completions.end());
  size_t tenth = completions.size() / 10;
  double first = tenth / (Ms(completions[tenth] - start) / 1000);
  double last =
      tenth / (Ms(completions.back() - completions[completions.size() - tenth - 1]) / 1000);
  char note[64];
  std::snprintf(note, sizeof note, "last10%%/first10%% = %.2f", last / first);
  Report({"W5", "long drain of " + std::to_string(n) + " tasks", rate, 0, 0, 0, note});
}

// 10% of releases delay their workgroup by 1 s. An early hand-out is a task of a workgroup
// acquired by a request sent after a delaying release was answered, and answered before that
// release was sent + 1 s: the server decided inside that window, while its delay (which starts
// no earlier than the release was sent) was still running.
void W6(const Options& o) {
  Api api(o.url);
  int n = o.smoke ? 2000 : o.storm_tasks;
  std::string g = NewGroup(api), ch = Unique("w6");
  std::atomic<int> next{0};
  Parallel(o.producers, [&](int) {
    Api a(o.url);
    while (true) {
      int start = next.fetch_add(100);
      if (start >= n) break;
      Json batch = Json::array();
      for (int i = start; i < std::min(n, start + 100); ++i) {
        Json t = TaskBody(ch, i);
        t["workgroup"] = "wg" + std::to_string(i % 100);
        batch.push_back(t);
      }
      a.Send("task_group/" + g + "/tasks", batch);
    }
  });
  std::mutex mu;
  struct Delay {
    Clock::time_point answered, until;
  };
  std::map<std::string, std::vector<Delay>> delays;  // by the generator's clock
  std::atomic<int> done{0}, early{0};
  double worst_ms = 0;  // GUARDED_BY(mu): how far before the delay's end the worst one came
  auto took = Parallel(o.workers, [&](int w) {
    Api a(o.url);
    std::string worker = "s" + std::to_string(w);
    std::mt19937 rng(w);
    while (done < n) {
      auto asked = Clock::now();
      Json got = a.Post("channel/" + ch + "/acquire", {{"workerId", worker}});
      if (got["task"].is_null()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      std::string wg = got["task"]["workgroup"];
      auto received = Clock::now();
      {
        std::lock_guard<std::mutex> lock(mu);
        for (const Delay& d : delays[wg]) {
          if (asked > d.answered && received < d.until) {
            ++early;
            worst_ms = std::max(worst_ms, Ms(d.until - received));
          }
        }
      }
      Json release = {{"workerId", worker}};
      bool delay = rng() % 10 == 0;
      if (delay) release["workgroupDelayInSeconds"] = 1;
      auto sent = Clock::now();
      a.Send("task/" + got["task"]["_id"].get<std::string>() + "/release", release);
      if (delay) {
        std::lock_guard<std::mutex> lock(mu);
        delays[wg].push_back({Clock::now(), sent + std::chrono::milliseconds(1000)});
      }
      ++done;
    }
  });
  Report({"W6", "rate-limit storm: " + std::to_string(n) + " tasks, 100 workgroups",
          n / (Ms(took) / 1000), 0, 0, 0,
          "early hand-outs: " + std::to_string(early.load()) +
              (early ? " (worst " + std::to_string(worst_ms) + " ms early)" : "")});
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"crew load generator"};
  app.add_option("--url", o.url, "crew base URL");
  app.add_option("--workload", o.workloads, "comma-separated: W1..W6");
  app.add_option("--tasks", o.tasks, "tasks of W1/W3");
  app.add_option("--producers", o.producers);
  app.add_option("--workers", o.workers);
  app.add_option("--backlog", o.backlog, "waiting tasks of W3");
  app.add_option("--long-drain", o.long_drain, "tasks of W5");
  app.add_option("--dag-children", o.dag_children, "children of W4");
  app.add_option("--storm-tasks", o.storm_tasks, "tasks of W6");
  app.add_option("--sse", o.sse, "event streams kept open and read throughout (0)");
  app.add_option("--wait-seconds", o.wait_seconds,
                 "the drains' acquires long-poll (waitSeconds, N1) this long (0: they do not)");
  app.add_flag("--smoke", o.smoke, "tiny sizes, for CI");
  CLI11_PARSE(app, argc, argv);
  if (o.smoke) o.tasks = std::min(o.tasks, 500);
  std::printf("%-4s %-58s %9s %9s %9s %9s  %s\n", "wl", "what", "tasks/s", "p50 ms", "p99 ms",
              "p99.9 ms", "note");
  const Endpoint at(o.url);
  crew_bench::SseReaders sse(at.host, at.port, at.api + "events", o.sse);
  double w1 = 0;
  auto has = [&](const char* w) { return o.workloads.find(w) != std::string::npos; };
  if (has("W1")) w1 = W1(o);
  if (has("W2")) W2(o);
  if (has("W3")) W3(o, w1);
  if (has("W4")) W4(o);
  if (has("W5")) W5(o);
  if (has("W6")) W6(o);
  return 0;
}
