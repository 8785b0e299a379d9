// LoopServer's held answers: a write's answer waits for the sync thread, the loop serves on
// meanwhile, answers leave each connection in request order, and a sync that fails answers 503.
// A real LoopServer over loopback sockets, with fake hooks: `run` numbers each write as the
// engine would, `await` is a sync the test can hold.
#include "api/loop_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "api/client_socket.h"

namespace crew::api {
namespace {

// A door the test opens: hooks wait at it while it is shut.
class Door {
 public:
  void Shut() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = false;
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void Pass() {
    std::unique_lock<std::mutex> lock(mu_);
    ++waiting_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
    --waiting_;
  }
  void AwaitSomeoneWaiting() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return waiting_ > 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  int waiting_ = 0;
};

// One raw keep-alive connection; reads answers one at a time (they carry Content-Length).
class Client {
 public:
  explicit Client(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval five{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &five, sizeof five);
    ok_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Client() { close(fd_); }
  bool ok() const { return ok_; }

  void Send(const std::string& method, const std::string& path) {
    SendRaw(method + " " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  }
  void SendRaw(const std::string& r) {
    ASSERT_EQ(send(fd_, r.data(), r.size(), MSG_NOSIGNAL), static_cast<ssize_t>(r.size()));
  }
  void HalfClose() { shutdown(fd_, SHUT_WR); }
  // "<status> <body>" of the next answer, or "" when none came within 5 s.
  std::string Answer() {
    while (true) {
      size_t head_end = buf_.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        size_t cl = buf_.find("Content-Length: ");
        size_t len = cl < head_end ? std::stoul(buf_.substr(cl + 16)) : 0;
        if (buf_.size() >= head_end + 4 + len) {
          std::string out = buf_.substr(9, 3) + " " + buf_.substr(head_end + 4, len);
          last_head_ = buf_.substr(0, head_end);
          buf_.erase(0, head_end + 4 + len);
          return out;
        }
      }
      char chunk[4096];
      ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return "";
      buf_.append(chunk, static_cast<size_t>(n));
    }
  }
  const std::string& last_head() const { return last_head_; }

 private:
  int fd_ = -1;
  bool ok_ = false;
  std::string buf_;
  std::string last_head_;  // of the last answer read
};

class LoopServerTest : public ::testing::Test {
 protected:
  // Routes: POST /write/<name> (a write: waits for a sync), POST /slow/<name> (a write whose
  // handler waits at slow_door), GET /read/<name> (no sync), GET /pool/<name> (on a pool thread),
  // GET /wait/<name> (on the loop, but on a pool thread if <name> begins with "wait": it answers
  // where it ran).
  // `relaxed`: as with relaxed durability, `await` is called on the loop. `gather`: as the
  // engine's gathered writes, a write answers kTurnSeq and `end_turn` numbers the turn (failing
  // while turn_fails_).
  void Start(int loops, bool relaxed = false, bool gather = false) {
    auto echo = [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.matches[1].str(), "text/plain");
    };
    router_.Post("/write/(.+)", echo, Router::Always);
    router_.Post(
        "/slow/(.+)",
        [this, echo](const httplib::Request& req, httplib::Response& res) {
          slow_door_.Pass();
          echo(req, res);
        },
        Router::Always);
    router_.Get("/read/(.+)", echo, Router::Always);
    router_.Get("/pool/(.+)", echo);
    router_.Get(
        "/wait/(.+)",
        [](const httplib::Request& req, httplib::Response& res) {
          const std::string name = req.matches[1].str();
          if (!MayWait() && name.rfind("wait", 0) == 0) {
            res.status = Router::kRunOnPool;
            return;
          }
          res.set_content(name + (MayWait() ? " on the pool" : " on the loop"), "text/plain");
        },
        Router::Always);
    // What a handler sees of the request: its parameters, headers but Host, and body.
    auto seen = [](const httplib::Request& req, httplib::Response& res) {
      std::string out = req.method + " " + req.path + " " + req.matches[1].str() + " params:";
      for (const auto& [k, v] : req.params) out += " " + k + "=" + v;
      out += " headers:";
      for (const auto& [k, v] : req.headers) {
        if (k != "Host" && k != "Content-Length") out += " " + k + "=" + v;
      }
      res.set_content(out + " body:" + req.body, "text/plain");
    };
    router_.Post("/seen/(.+)", seen, Router::Always);
    router_.Get("/seen/(.+)", seen, Router::Always);
    LoopHooks hooks;
    hooks.before = [](const httplib::Request&, httplib::Response&) { return false; };
    hooks.run = [this, gather](const Router::Route& route, const httplib::Request& req,
                               httplib::Response& res, bool) -> uint64_t {
      const bool write = req.method == "POST";
      route.handler(req, res);
      if (write && gather) {
        turn_writes_ = true;
        return LoopHooks::kTurnSeq;
      }
      return write ? ++last_seq_ : 0;  // numbered when written, as the engine does
    };
    hooks.await = [this](uint64_t seq) {
      {
        std::lock_guard<std::mutex> lock(awaited_mu_);
        awaited_.push_back(seq);
      }
      sync_door_.Pass();
      return sync_fails_ ? Status::Unavailable("WAL sync failed") : Status::Ok();
    };
    hooks.finish = [](const httplib::Request&, httplib::Response&, const Router::Route*,
                      std::optional<double>) {};
    if (gather) {
      hooks.end_turn = [this]() -> Result<uint64_t> {
        ++turns_;
        if (turn_fails_) return Status::IoError("storage write failed");
        if (std::exchange(turn_writes_, false)) ++last_seq_;  // one write for the turn's
        return last_seq_.load();
      };
    }
    LoopServerOptions o;
    o.loops = loops;
    o.await_on_loop = relaxed;
    server_ = std::make_unique<LoopServer>(&router_, std::move(hooks), o);
    ASSERT_TRUE(server_->Bind().ok());
    runner_ = std::thread([this] { server_->Run(); });
  }
  void TearDown() override {
    slow_door_.Open();
    sync_door_.Open();
    if (server_) server_->Stop();
    if (runner_.joinable()) runner_.join();
  }

  Router router_;
  std::unique_ptr<LoopServer> server_;
  std::thread runner_;
  std::atomic<uint64_t> last_seq_{0};
  Door slow_door_, sync_door_;
  std::atomic<bool> sync_fails_{false}, turn_fails_{false};
  bool turn_writes_ = false;  // (the loop's thread only)
  std::atomic<int> turns_{0};
  std::mutex awaited_mu_;
  std::vector<uint64_t> awaited_;  // GUARDED_BY(awaited_mu_)
  std::vector<uint64_t> Awaited() {
    std::lock_guard<std::mutex> lock(awaited_mu_);
    return awaited_;
  }
};

// Relaxed durability: a turn's answers leave at its end, in request order, once its writes were
// handed to the OS and `await` was asked (on the loop) for the last of them; a turn's end that
// fails refuses the turn's writes, not its reads.
TEST_F(LoopServerTest, RelaxedAnswersLeaveInOrderAfterTheTurnsHandOff) {
  Start(1, /*relaxed=*/true, /*gather=*/true);
  Client c(server_->port());
  ASSERT_TRUE(c.ok());
  c.Send("POST", "/write/a");
  EXPECT_EQ(c.Answer(), "200 a");
  EXPECT_EQ(Awaited(), std::vector<uint64_t>{1});
  c.Send("GET", "/read/b");
  EXPECT_EQ(c.Answer(), "200 b");
  EXPECT_EQ(Awaited().size(), 1u) << "a turn of reads awaits nothing";
  turn_fails_ = true;
  c.Send("POST", "/write/c");
  std::string refused = c.Answer();
  EXPECT_EQ(refused.substr(0, 3), "503") << refused;
  c.Send("GET", "/read/d");
  EXPECT_EQ(c.Answer(), "200 d");
  EXPECT_EQ(Awaited().size(), 1u) << "a failed turn is not awaited";
  turn_fails_ = false;
  c.Send("POST", "/write/e");
  c.Send("GET", "/read/f");
  c.Send("POST", "/write/g");
  EXPECT_EQ(c.Answer(), "200 e");
  EXPECT_EQ(c.Answer(), "200 f");
  EXPECT_EQ(c.Answer(), "200 g");
  EXPECT_EQ(Awaited().back(), last_seq_.load()) << "the turn's number is awaited";
}

// Full durability with gathered writes: a write's answer waits for the sync of the number its
// turn's end gave; a turn's end that fails refuses its writes at once, yet after the answers its
// connection was still waiting for.
TEST_F(LoopServerTest, GatheredWritesWaitForTheirTurnsNumberAndAFailedTurnRefusesThemInOrder) {
  Start(1, /*relaxed=*/false, /*gather=*/true);
  Client c(server_->port());
  ASSERT_TRUE(c.ok());
  c.Send("POST", "/write/a");
  EXPECT_EQ(c.Answer(), "200 a");
  EXPECT_EQ(Awaited(), std::vector<uint64_t>{1}) << "the turn's number, from end_turn";
  sync_door_.Shut();
  c.Send("POST", "/write/b");
  sync_door_.AwaitSomeoneWaiting();  // b is held for its sync
  turn_fails_ = true;
  c.Send("POST", "/write/c");
  c.Send("GET", "/read/d");
  while (turns_.load() < 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  sync_door_.Open();
  EXPECT_EQ(c.Answer(), "200 b");
  std::string refused = c.Answer();
  EXPECT_EQ(refused.substr(0, 3), "503") << refused;
  EXPECT_EQ(c.Answer(), "200 d");
  EXPECT_EQ(Awaited(), (std::vector<uint64_t>{1, 2}));
}

TEST_F(LoopServerTest, AnswersInRequestOrderWhateverEachWaitsFor) {
  Start(1);
  Client c(server_->port());
  ASSERT_TRUE(c.ok());
  sync_door_.Shut();
  c.Send("POST", "/write/a");
  c.Send("GET", "/read/b");
  c.Send("GET", "/pool/c");
  c.Send("POST", "/write/d");
  sync_door_.AwaitSomeoneWaiting();
  Client other(server_->port());  // the loop serves others while a sync is held
  other.Send("GET", "/read/x");
  EXPECT_EQ(other.Answer(), "200 x");
  sync_door_.Open();
  EXPECT_EQ(c.Answer(), "200 a");
  EXPECT_EQ(c.Answer(), "200 b");
  EXPECT_EQ(c.Answer(), "200 c");
  EXPECT_EQ(c.Answer(), "200 d");
}

// Loop 0 is still in the turn of a write numbered 1 when loop 1's write (2) is synced; loop 0
// then asks for 1, which that sync covered: its answer must go out now, with no further sync.
TEST_F(LoopServerTest, AWriteAnEarlierSyncCoveredIsAnsweredWithoutAnother) {
  Start(2);
  Client first(server_->port());  // dealt to loop 0
  ASSERT_TRUE(first.ok());
  first.Send("GET", "/read/hello");
  ASSERT_EQ(first.Answer(), "200 hello");
  Client second(server_->port());  // dealt to loop 1
  ASSERT_TRUE(second.ok());
  // Answered, so accepted: loop 0 accepts, and would not while its handler waits at the door.
  second.Send("GET", "/read/there");
  ASSERT_EQ(second.Answer(), "200 there");

  slow_door_.Shut();
  first.Send("POST", "/slow/one");
  slow_door_.AwaitSomeoneWaiting();  // write 1 done, its loop still in the turn
  second.Send("POST", "/write/two");
  EXPECT_EQ(second.Answer(), "200 two");
  slow_door_.Open();
  EXPECT_EQ(first.Answer(), "200 one");
}

TEST_F(LoopServerTest, AFailedSyncAnswers503ToItsWritesOnly) {
  Start(1);
  Client c(server_->port());
  ASSERT_TRUE(c.ok());
  sync_fails_ = true;
  c.Send("POST", "/write/a");
  c.Send("GET", "/read/b");
  std::string refused = c.Answer();
  EXPECT_EQ(refused.substr(0, 4), "503 ");
  EXPECT_NE(refused.find("WAL sync failed"), std::string::npos) << refused;
  EXPECT_EQ(c.Answer(), "200 b");
}

// A loop reuses the requests it answered for the next ones it reads: nothing of a request
// (its parameters, headers, body, matched path) is seen by a later one, on its connection or
// another.
TEST_F(LoopServerTest, ARequestSeesNothingOfTheOnesBeforeIt) {
  Start(1);
  Client c(server_->port()), d(server_->port());
  ASSERT_TRUE(c.ok() && d.ok());
  c.SendRaw(
      "POST /seen/first?limit=1&skip=2 HTTP/1.1\r\nHost: x\r\nX-One: a\r\n"
      "Content-Length: 5\r\n\r\nhello");
  EXPECT_EQ(c.Answer(),
            "200 POST /seen/first first params: limit=1 skip=2 headers: X-One=a body:hello");
  c.Send("GET", "/seen/second");
  EXPECT_EQ(c.Answer(), "200 GET /seen/second second params: headers: body:");
  d.SendRaw("GET /seen/third?x=y HTTP/1.1\r\nHost: x\r\nX-Two: b\r\n\r\n");
  EXPECT_EQ(d.Answer(), "200 GET /seen/third third params: x=y headers: X-Two=b body:");
  c.Send("GET", "/seen/4");
  EXPECT_EQ(c.Answer(), "200 GET /seen/4 4 params: headers: body:");
}

// A request that closes the connection is its last: what the client pipelined after it is
// neither run nor answered (RFC 9112 §9.6), so a client that retries it makes no duplicate.
TEST_F(LoopServerTest, NothingAfterAClosingRequestIsServed) {
  Start(1);
  for (const std::string closing :
       {"POST /write/a HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        "POST /write/a HTTP/1.0\r\nContent-Length: 0\r\n\r\n"}) {
    SCOPED_TRACE(closing);
    const uint64_t before = last_seq_.load();
    Client c(server_->port());
    ASSERT_TRUE(c.ok());
    c.SendRaw(closing + "POST /write/b HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    EXPECT_EQ(c.Answer(), "200 a");
    EXPECT_EQ(c.Answer(), "") << "closed, and b not answered";
    EXPECT_EQ(last_seq_.load(), before + 1) << "b was not run";
  }
}

// Empty lines before a request line are skipped (RFC 9112 §2.2), e.g. a CRLF some clients
// send after a body.
TEST_F(LoopServerTest, EmptyLinesBeforeARequestAreSkipped) {
  Start(1);
  Client c(server_->port());
  ASSERT_TRUE(c.ok());
  c.SendRaw("POST /write/a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx\r\n");
  EXPECT_EQ(c.Answer(), "200 a");
  c.SendRaw("\r\n\nGET /read/b HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(c.Answer(), "200 b");
}

// An HTTP/1.0 client that asks to keep its connection is told it is kept (else it closes it).
TEST_F(LoopServerTest, AnHttp10KeepAliveIsAnsweredSo) {
  Start(1);
  Client c(server_->port());
  ASSERT_TRUE(c.ok());
  c.SendRaw("GET /read/a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(c.Answer(), "200 a");
  EXPECT_NE(c.last_head().find("Connection: keep-alive"), std::string::npos) << c.last_head();
  c.SendRaw("GET /pool/b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(c.Answer(), "200 b");
  EXPECT_NE(c.last_head().find("Connection: keep-alive"), std::string::npos) << c.last_head();
  c.Send("GET", "/read/c");  // (HTTP/1.1: kept without a word)
  EXPECT_EQ(c.Answer(), "200 c");
  EXPECT_EQ(c.last_head().find("Connection:"), std::string::npos) << c.last_head();
}

// A client that sends many pipelined requests and closes its side gets every answer: more than
// one turn's worth of them (kMaxAnswersPerTurn), for reads and for writes held for a sync.
TEST_F(LoopServerTest, AHalfClosedClientGetsEveryAnswer) {
  Start(1);
  for (const std::string method : {"GET", "POST"}) {
    SCOPED_TRACE(method);
    Client c(server_->port());
    ASSERT_TRUE(c.ok());
    std::string all;
    for (int i = 0; i < 100; ++i) {
      all += method + (method == "GET" ? " /read/" : " /write/") + std::to_string(i) +
             " HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
    }
    c.SendRaw(all);
    c.HalfClose();
    for (int i = 0; i < 100; ++i) ASSERT_EQ(c.Answer(), "200 " + std::to_string(i));
    EXPECT_EQ(c.Answer(), "");
  }
}

// "100 Continue" for a request whose answer must wait behind an earlier one's goes out after
// that answer, not before it (RFC 9112 §9.3.2: answers in request order).
TEST_F(LoopServerTest, AContinueLeavesAfterTheAnswersBeforeIt) {
  Start(1);
  Client c(server_->port()), other(server_->port());
  ASSERT_TRUE(c.ok() && other.ok());
  sync_door_.Shut();
  c.Send("POST", "/write/a");
  sync_door_.AwaitSomeoneWaiting();  // a is held for its sync
  c.SendRaw(
      "POST /write/b HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  // Sent after b's head, and answered on the same loop: b's head was read by then.
  other.Send("GET", "/read/x");
  ASSERT_EQ(other.Answer(), "200 x");
  sync_door_.Open();
  EXPECT_EQ(c.Answer(), "200 a");
  EXPECT_EQ(c.Answer(), "100 ");
  c.SendRaw("ok");
  EXPECT_EQ(c.Answer(), "200 b");
}

// A handler on the loop that finds it must wait (Router::kRunOnPool) runs again on a pool thread,
// and its answer keeps its place among the connection's answers.
TEST_F(LoopServerTest, AHandlerThatMustWaitAfterAllRunsAgainOnThePool) {
  Start(1);
  Client c(server_->port());
  ASSERT_TRUE(c.ok());
  c.Send("GET", "/wait/now");
  EXPECT_EQ(c.Answer(), "200 now on the loop");
  c.Send("GET", "/wait/waits");
  EXPECT_EQ(c.Answer(), "200 waits on the pool");
  c.SendRaw(
      "GET /wait/a HTTP/1.1\r\nHost: x\r\n\r\nGET /wait/waits-too HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /wait/b HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(c.Answer(), "200 a on the loop");
  EXPECT_EQ(c.Answer(), "200 waits-too on the pool");
  EXPECT_EQ(c.Answer(), "200 b on the loop");
}

TEST_F(LoopServerTest, StopWaitsForHeldAnswers) {
  Start(1);
  Client c(server_->port());
  ASSERT_TRUE(c.ok());
  sync_door_.Shut();
  c.Send("POST", "/write/held");
  sync_door_.AwaitSomeoneWaiting();
  server_->Stop();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  sync_door_.Open();
  EXPECT_EQ(c.Answer(), "200 held");
  runner_.join();
}

}  // namespace
}  // namespace crew::api
