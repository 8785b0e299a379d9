// bench/peers: the W1, W2 and W3 shapes of bench/load/load.cc against beanstalkd, over its text
// protocol (put, reserve-with-timeout, delete, use, watch), one connection per client; the
// producers and workers of W1 and W3 run on one thread, as those of bench/load/load.cc do.
//
//   build/bench/beanstalk_load --port 11300 [--mode fsync] [--workload W1,W2,W3] [--tasks N]
//                              [--producers 8] [--workers 8] [--backlog N] [--samples N] [--smoke]
//
// Each workload prints one JSON line per phase: {"system","mode","workload","phase","tasks",
// "seconds","tasks_per_s","p50_ms","p99_ms","p999_ms"} (W3's drain line adds "w3_over_w1").
// Latencies are measured as in load.cc: per request for creates, per reserve+delete for drains,
// create answered -> worker holds the job for W2.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/event_clients.h"
#include "common/latencies.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 11300;
  std::string mode = "default";
  std::string workloads = "W1,W2,W3";
  int tasks = 20000;
  int producers = 8;
  int workers = 8;
  int backlog = 1000000;
  int samples = 1000;
  bool smoke = false;
};

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "beanstalk_load: %s\n", what.c_str());
  std::exit(2);
}

using Stats = crew_bench::Latencies;

const Options* g_opts = nullptr;

void Report(const std::string& workload, const std::string& phase, int tasks, double seconds,
            Stats& s, const std::string& extra = "") {
  double rate = seconds > 0 ? tasks / seconds : 0;
  std::printf(
      "{\"system\":\"beanstalkd\",\"mode\":\"%s\",\"workload\":\"%s\",\"phase\":\"%s\","
      "\"tasks\":%d,\"seconds\":%.3f,\"tasks_per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
      "\"p999_ms\":%.3f%s}\n",
      g_opts->mode.c_str(), workload.c_str(), phase.c_str(), tasks, seconds, rate, s.Pct(0.5),
      s.Pct(0.99), s.Pct(0.999), extra.c_str());
  std::fflush(stdout);
}

// One connection to beanstalkd; replies are read line by line from a buffer.
class Conn {
 public:
  explicit Conn(const Options& o) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) Die("socket failed");
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(o.port));
    if (inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr) != 1) Die("bad host " + o.host);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      Die("cannot connect to " + o.host + ":" + std::to_string(o.port));
  }
  ~Conn() { close(fd_); }
  int fd() const { return fd_; }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  void Send(const std::string& data) {
    size_t sent = 0;
    while (sent < data.size()) {
      ssize_t n = write(fd_, data.data() + sent, data.size() - sent);
      if (n <= 0) Die("write failed");
      sent += static_cast<size_t>(n);
    }
  }
  std::string Line() {  // one reply line without its \r\n
    while (true) {
      size_t eol = buf_.find("\r\n", pos_);
      if (eol != std::string::npos) {
        std::string line = buf_.substr(pos_, eol - pos_);
        pos_ = eol + 2;
        return line;
      }
      Fill();
    }
  }
  std::string Bytes(size_t n) {  // a job body and its \r\n
    while (buf_.size() - pos_ < n + 2) Fill();
    std::string body = buf_.substr(pos_, n);
    pos_ += n + 2;
    return body;
  }
  std::string Command(const std::string& cmd) {
    Send(cmd + "\r\n");
    return Line();
  }
  void Expect(const std::string& cmd, const std::string& prefix) {
    std::string reply = Command(cmd);
    if (reply.rfind(prefix, 0) != 0) Die(cmd + " answered " + reply);
  }
  void Use(const std::string& tube) { Expect("use " + tube, "USING"); }
  void Watch(const std::string& tube) {
    Expect("watch " + tube, "WATCHING");
    Expect("ignore default", "WATCHING");
  }
  static std::string PutCommand(const std::string& body, int delay) {
    return "put 1024 " + std::to_string(delay) + " 60 " + std::to_string(body.size()) + "\r\n" +
           body + "\r\n";
  }
  void Put(const std::string& body, int delay = 0) {
    Send(PutCommand(body, delay));
    std::string reply = Line();
    if (reply.rfind("INSERTED", 0) != 0) Die("put answered " + reply);
  }
  // Returns the job id, or 0 when none came within `timeout` seconds.
  uint64_t Reserve(int timeout) {
    std::string reply = Command("reserve-with-timeout " + std::to_string(timeout));
    if (reply == "TIMED_OUT" || reply == "DEADLINE_SOON") return 0;
    unsigned long long id = 0, bytes = 0;
    if (std::sscanf(reply.c_str(), "RESERVED %llu %llu", &id, &bytes) != 2)
      Die("reserve answered " + reply);
    Bytes(bytes);
    return id;
  }
  void Delete(uint64_t id) { Expect("delete " + std::to_string(id), "DELETED"); }

 private:
  void Fill() {
    if (pos_ > 0 && pos_ == buf_.size()) buf_.clear(), pos_ = 0;
    char chunk[65536];
    ssize_t n = read(fd_, chunk, sizeof chunk);
    if (n <= 0) Die("connection closed");
    buf_.append(chunk, static_cast<size_t>(n));
  }
  int fd_ = -1;
  std::string buf_;
  size_t pos_ = 0;
};

std::string Tube(const std::string& base) {
  return base + "_" + std::to_string(getpid()) + "_" +
         std::to_string(std::chrono::system_clock::now().time_since_epoch().count() % 1000000000);
}

// A ~100-byte payload, like load.cc's TaskBody.
std::string Body(int i) {
  return "{\"name\":\"t" + std::to_string(i) + "\",\"input\":{\"i\":" + std::to_string(i) +
         ",\"payload\":\"" + std::string(80, 'x') + "\"}}";
}

template <typename Fn>
Clock::duration Parallel(int n, Fn fn) {
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) threads.emplace_back([&, i] { fn(i); });
  for (auto& t : threads) t.join();
  return Clock::now() - start;
}

// The length of the first complete reply in buf (a line, and a job's body after RESERVED), 0
// while it is incomplete.
size_t FrameReply(std::string_view buf) {
  size_t eol = buf.find("\r\n");
  if (eol == std::string_view::npos) return 0;
  if (buf.substr(0, 9) != "RESERVED ") return eol + 2;
  unsigned long long id = 0, bytes = 0;
  if (std::sscanf(std::string(buf.substr(0, eol)).c_str(), "RESERVED %llu %llu", &id, &bytes) != 2)
    Die("reserve answered " + std::string(buf.substr(0, eol)));
  size_t total = eol + 2 + bytes + 2;
  return buf.size() >= total ? total : 0;
}

// `n` clients on this one thread, as the Node.js peers' clients run (common/event_clients.h);
// `setup` readies each connection first (use or watch a tube). step(i, reply, &command):
// client i's next command after a reply (empty before its first); false when it is done.
template <typename Setup, typename Fn>
Clock::duration RunClients(const Options& o, int n, Setup setup, Fn step) {
  std::vector<std::unique_ptr<Conn>> conns;
  std::vector<int> fds;
  for (int i = 0; i < n; ++i) {
    conns.push_back(std::make_unique<Conn>(o));
    setup(*conns.back());
    fds.push_back(conns.back()->fd());
  }
  auto start = Clock::now();
  crew_bench::RunClients(fds, FrameReply, step);
  return Clock::now() - start;
}

// Puts `n` jobs into `tube`, one put per request, and reports create/s.
void Produce(const Options& o, const std::string& wl, const std::string& tube, int n,
             bool report = true) {
  Stats all;
  std::vector<Clock::time_point> sent(o.producers);
  int next = 0;
  auto took = RunClients(
      o, o.producers, [&](Conn& c) { c.Use(tube); },
      [&](size_t p, std::string_view reply, std::string* command) {
        if (!reply.empty()) {
          if (reply.substr(0, 8) != "INSERTED") Die("put answered " + std::string(reply));
          all.Add(Ms(Clock::now() - sent[p]));
        }
        if (next >= n) return false;
        *command = Conn::PutCommand(Body(next++), 0);
        sent[p] = Clock::now();
        return true;
      });
  if (report) Report(wl, "create", n, Ms(took) / 1000, all);
}

// Drains `n` jobs from `tube`: reserve (not waiting) then delete. Returns jobs/s. Pipelined: a
// worker sends its delete and its next reserve together and reads both replies (one round trip
// per job, as crew_load's pipelined drain); the latency is then per cycle, between two RESERVED
// replies of one worker.
double Drain(const Options& o, const std::string& wl, const std::string& tube, int n,
             double w1_rate, bool pipelined = false) {
  Stats all;
  std::vector<Clock::time_point> started(o.workers);
  std::vector<bool> deleting(o.workers), reserving(o.workers);
  int done = 0, deletes = 0;  // deletes: under way, of every worker
  auto took = RunClients(
      o, o.workers, [&](Conn& c) { c.Watch(tube); },
      [&](size_t w, std::string_view reply, std::string* command) {
        if (deleting[w]) {
          if (reply.substr(0, 7) != "DELETED") Die("delete answered " + std::string(reply));
          if (!pipelined) all.Add(Ms(Clock::now() - started[w]));
          ++done;
          --deletes;
          deleting[w] = false;
          if (reserving[w]) return true;  // its reply comes next
        } else if (reply.substr(0, 9) == "RESERVED ") {
          reserving[w] = false;
          *command = "delete " + std::string(reply.substr(9, reply.find(' ', 9) - 9)) + "\r\n";
          deleting[w] = true;
          ++deletes;
          if (pipelined) {
            const auto now = Clock::now();
            if (started[w] != Clock::time_point()) all.Add(Ms(now - started[w]));
            started[w] = now;
            if (done + deletes < n) {  // (else every job left is being deleted)
              *command += "reserve-with-timeout 0\r\n";
              reserving[w] = true;
            }
          }
          return true;
        } else if (!reply.empty() && reply.substr(0, 9) != "TIMED_OUT" &&
                   reply.substr(0, 13) != "DEADLINE_SOON") {
          Die("reserve answered " + std::string(reply));
        } else {
          reserving[w] = false;
        }
        if (done >= n) return false;
        *command = "reserve-with-timeout 0\r\n";
        if (!pipelined) started[w] = Clock::now();
        return true;
      });
  double seconds = Ms(took) / 1000;
  std::string extra;
  if (w1_rate > 0) {
    char buf[64];
    std::snprintf(buf, sizeof buf, ",\"w3_over_w1\":%.3f", n / seconds / w1_rate);
    extra = buf;
  }
  Report(wl, pipelined ? "drain-pipelined" : "drain", n, seconds, all, extra);
  return n / seconds;
}

double W1(const Options& o) {
  std::string tube = Tube("w1");
  Produce(o, "W1", tube, o.tasks);
  const double rate = Drain(o, "W1", tube, o.tasks, 0);
  std::string again = Tube("w1p");
  Produce(o, "W1", again, o.tasks, false);
  Drain(o, "W1", again, o.tasks, 0, true);
  return rate;
}

void W2(const Options& o) {
  std::string tube = Tube("w2");
  std::atomic<bool> stop{false};
  std::atomic<int64_t> got_at{0};
  std::atomic<int> received{0};
  std::thread worker([&] {
    Conn c(o);
    c.Watch(tube);
    while (!stop) {
      uint64_t id = c.Reserve(5);
      if (id == 0) continue;
      got_at = Clock::now().time_since_epoch().count();
      ++received;
      c.Delete(id);
    }
  });
  Conn producer(o);
  producer.Use(tube);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the worker is waiting
  Stats lag;
  auto start = Clock::now();
  for (int i = 0; i < o.samples; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    int before = received;
    producer.Put(Body(i));
    auto answered = Clock::now();
    while (received == before) std::this_thread::sleep_for(std::chrono::microseconds(50));
    lag.Add(Ms(Clock::time_point(Clock::duration(got_at.load())) - answered));
  }
  double seconds = Ms(Clock::now() - start) / 1000;
  stop = true;
  producer.Put(Body(-1));  // wakes the worker
  worker.join();
  Report("W2", "idle", o.samples, seconds, lag);
}

void W3(const Options& o, double w1_rate) {
  std::string tube = Tube("w3");
  std::atomic<int> next{0};
  const int chunk = 100;  // puts pipelined per round trip while building the backlog
  auto setup = Parallel(o.producers, [&](int) {
    Conn c(o);
    c.Use(tube);
    for (int start = next.fetch_add(chunk); start < o.backlog; start = next.fetch_add(chunk)) {
      int count = std::min(chunk, o.backlog - start);
      std::string batch;
      for (int i = 0; i < count; ++i) batch += Conn::PutCommand(Body(start + i), 3600);
      c.Send(batch);
      for (int i = 0; i < count; ++i) {
        std::string reply = c.Line();
        if (reply.rfind("INSERTED", 0) != 0) Die("backlog put answered " + reply);
      }
    }
  });
  Stats none;
  Report("W3", "backlog", o.backlog, Ms(setup) / 1000, none);
  Produce(o, "W3", tube, o.tasks);
  Drain(o, "W3", tube, o.tasks, w1_rate);
}

bool Parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(a + " needs a value");
      return argv[++i];
    };
    // clang-format off
    if (a == "--host") o.host = value();
    else if (a == "--port") o.port = std::atoi(value().c_str());
    else if (a == "--mode") o.mode = value();
    else if (a == "--workload") o.workloads = value();
    else if (a == "--tasks") o.tasks = std::atoi(value().c_str());
    else if (a == "--producers") o.producers = std::atoi(value().c_str());
    else if (a == "--workers") o.workers = std::atoi(value().c_str());
    else if (a == "--backlog") o.backlog = std::atoi(value().c_str());
    else if (a == "--samples") o.samples = std::atoi(value().c_str());
    else if (a == "--smoke") o.smoke = true;
    else return false;
    // clang-format on
  }
  return o.tasks > 0 && o.producers > 0 && o.workers > 0 && o.backlog >= 0 && o.samples > 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!Parse(argc, argv, o)) {
    std::fprintf(stderr,
                 "usage: beanstalk_load --port N [--host H] [--mode M] [--workload W1,W2,W3]\n"
                 "       [--tasks N] [--producers N] [--workers N] [--backlog N] [--samples N]"
                 " [--smoke]\n");
    return 1;
  }
  if (o.smoke) {
    o.tasks = std::min(o.tasks, 500);
    o.backlog = std::min(o.backlog, 3000);
    o.samples = std::min(o.samples, 50);
  }
  g_opts = &o;
  auto has = [&](const char* w) { return o.workloads.find(w) != std::string::npos; };
  double w1 = 0;
  if (has("W1")) w1 = W1(o);
  if (has("W2")) W2(o);
  if (has("W3")) W3(o, w1);
  return 0;
}
