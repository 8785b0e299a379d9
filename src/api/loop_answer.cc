// LoopServer's answers leaving: a turn's answers held for a sync or written at once, in each
// connection's order, and each connection's output written out (a closing one lingers).
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include <spdlog/spdlog.h>

#include "api/json_out.h"
#include "api/loop_conn.h"

namespace crew::api {

using loop::Clock;
using loop::kContinue;
using loop::Refusal;

namespace loop {

httplib::Response Refusal(int status, const std::string& message) {
  httplib::Response res;
  res.status = status;
  res.set_content(MessageJson(message), "application/json; charset=utf-8");
  return res;
}

}  // namespace loop

namespace {

constexpr auto kLinger = std::chrono::seconds(2);  // reading what follows a last answer
// Spare requests a loop keeps (LoopServer::Loop::spare_requests): enough for a turn's answers
// on many connections.
constexpr size_t kMaxSpareRequests = 64;
// A spare request's body keeps its room up to this size (a large upload's is given back).
constexpr size_t kMaxSpareBody = 16 << 10;

// A request as new, but for the room its strings and its list of matches keep. What the wire
// (ParseRequest) and Serve set is set again for each request; the rest httplib's server would
// fill (files, ranges) this server never does, and a handler only reads the request.
void Empty(httplib::Request* req) {
  req->method.clear();
  req->path.clear();
  req->headers.clear();
  if (req->body.capacity() > kMaxSpareBody) {
    std::string().swap(req->body);
  } else {
    req->body.clear();
  }
  req->version.clear();
  req->target.clear();
  req->params.clear();
  req->files.clear();
  req->ranges.clear();
  // (matches: set by the router for the route it returns, before any handler reads them)
}

}  // namespace

// Answers that wait for no sync (a lease, a read, a refusal) leave at once, unless an earlier
// answer on their connection is held (answers leave in request order). The others are held
// until a sync covers them; the loop asks the sync thread for one and goes on serving.
void LoopServer::Finish(Loop& loop, std::vector<Answer>* answers) {
  if (answers->empty()) return FlushTouched(loop);
  if (hooks_.end_turn) {
    const Result<uint64_t> turn = hooks_.end_turn();
    for (Answer& a : *answers) {
      if (a.seq != LoopHooks::kTurnSeq && a.seq != LoopHooks::kTurnOnly) continue;
      if (turn.ok()) {
        a.seq = a.seq == LoopHooks::kTurnSeq ? *turn : 0;
      } else {  // (refused now; it still leaves after its connection's earlier answers)
        a.res = Refusal(503, turn.status().message());
        a.seq = 0;
      }
    }
  }
  if (options_.await_on_loop) {
    // Nothing is waited for past the turn's end above (so no answer is ever held here): every
    // answer leaves now, in order, the writes' events published first by `await`.
    uint64_t last = 0;
    for (const Answer& a : *answers) last = std::max(last, a.seq);
    const Status written = last ? hooks_.await(last) : Status::Ok();
    const auto now = Clock::now();
    for (Answer& a : *answers) Emit(a, a.seq ? written : Status::Ok(), now);
    answers->clear();
    return FlushTouched(loop);
  }
  uint64_t seq = 0;
  const auto now = Clock::now();
  for (Answer& a : *answers) {
    Conn* c = a.conn;
    if (a.seq == 0 && c->held == 0) {
      Emit(a, Status::Ok(), now);
      continue;
    }
    a.wait = std::max(a.seq, c->held_seq);
    c->held_seq = a.wait;
    ++c->held;
    seq = std::max(seq, a.wait);
    loop.held.push_back(std::move(a));
  }
  answers->clear();
  if (seq) {
    if (std::optional<Status> synced = Ask(loop, seq)) Release(loop, seq, *synced);
  }
  FlushTouched(loop);
}

void LoopServer::Emit(Answer& a, const Status& durable, Clock::time_point now) {
  Conn* c = a.conn;
  if (a.seq && !durable.ok()) {
    a.res = Refusal(503, durable.message());
  }
  if (a.res.status == -1) a.res.status = 200;
  if (a.res.content_provider_) {  // a route on a loop must answer at once
    spdlog::error("{} {}: a streamed answer from a route on the event loop", a.req->method,
                  a.req->path);
    a.res = Refusal(500, "internal error: streamed answer on the event loop");
  }
  std::optional<double> seconds;
  if (a.timed) seconds = std::chrono::duration<double>(now - a.started).count();
  hooks_.finish(*a.req, a.res, a.route, seconds);
  MarkKeepAlive(*a.req, a.close, &a.res);
  AppendAnswerHead(a.res, a.res.body.size(), false, a.close, options_.default_headers, &c->out);
  if (a.req->method != "HEAD") c->out += a.res.body;
  if (a.close) c->close_after = true;
  if (--c->answering == 0 && c->continue_due) {
    c->continue_due = false;
    c->out += kContinue;
  }
  if (a.timed) --in_flight_;
  Loop* loop = c->loop;
  loop->touched.push_back(c);
  if (loop->spare_requests.size() < kMaxSpareRequests) {
    Empty(a.req.get());
    loop->spare_requests.push_back(std::move(a.req));
  }
}

void LoopServer::FlushTouched(Loop& loop) {
  for (Conn* c : loop.touched) {
    if (loop.conns.count(c)) Flush(loop, c);
  }
  loop.touched.clear();
}

void LoopServer::Flush(Loop& loop, Conn* c) {
  while (c->out_sent < c->out.size()) {
    ssize_t n = ConnSend(c->fd, c->ssl, c->out.data() + c->out_sent, c->out.size() - c->out_sent);
    if (n > 0) {
      c->out_sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!c->watching_out) {
        c->out_since = Clock::now();
        Watch(loop, c);
      }
      return;
    } else {
      if (c->answering == 0 && !c->pool_route) Close(loop, c);
      return;
    }
  }
  c->out.clear();
  c->out_sent = 0;
  if (c->pool_route) return;  // the pool takes it from here
  if (c->close_after && !c->lingering) {
    // Read (and drop) what the client still sends, so that closing does not reset the
    // connection under the answer it has yet to read.
    ConnEndWrites(c->fd, c->ssl);
    c->lingering = true;
    c->linger_until = Clock::now() + kLinger;
  }
  if (Served(c)) return Close(loop, c);
  if (c->watching_out) Watch(loop, c);
}

}  // namespace crew::api
