#include "api/loop_server.h"

#include <netdb.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "api/client_socket.h"
#include "api/connection_cap.h"
#include "api/elastic_pool.h"
#include "api/json_out.h"
#include "api/loop_conn.h"
#include "util/thread_name.h"

namespace crew::api {

namespace {

using loop::Clock;
using loop::kContinue;
using loop::Refusal;

constexpr auto kStopGrace = std::chrono::seconds(60);  // requests in hand at Stop()
// Answers a client has not taken yet, past which its connection is read no further (a client
// that pipelines requests and never reads would otherwise grow them without bound).
constexpr size_t kMaxQueuedOut = 1 << 20;
// Bytes read from a connection before its requests are served: the rest waits in the kernel.
// A request whose head is in and whose body is not is read on past it (its body may be up to
// WireLimits::max_body, and its parse refuses more), kReadAhead per turn.
constexpr size_t kReadAhead = 1 << 20;
// Requests of one connection served in one turn; the rest wait for the next turn, so that a
// connection with many pipelined requests neither holds up the others nor piles up answers.
constexpr int kMaxAnswersPerTurn = 32;
char listen_tag;  // epoll data of the listening socket

}  // namespace

LoopServer::LoopServer(const Router* router, LoopHooks hooks, LoopServerOptions options)
    : router_(router), hooks_(std::move(hooks)), options_(std::move(options)) {
  options_.loops = std::max(1, options_.loops);
  if (options_.max_connections == 0) options_.max_connections = ConnectionLimit();
}

LoopServer::~LoopServer() {
  for (auto& loop : loops_) {
    for (auto [c, kind] : loop->inbox) {  // dealt out as its loop ended
      if (kind == Loop::Kind::kNew) loop->conns.insert(c);
    }
    for (Conn* c : loop->conns) {
      FreeSession(c->ssl);
      close(c->fd);
      delete c;
    }
    if (loop->epfd >= 0) close(loop->epfd);
    if (loop->wake_fd >= 0) close(loop->wake_fd);
  }
  if (listen_fd_ >= 0) close(listen_fd_);
}

Status LoopServer::Bind() {
  if (!options_.tls_cert.empty() || !options_.tls_key.empty()) {
    ASSIGN_OR_RETURN(tls_, TlsContext::Load(options_.tls_cert, options_.tls_key));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(options_.port);
  const std::string where = options_.host + ":" + port;
  if (getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &found) != 0 || !found) {
    return Status::Unavailable("cannot listen on " + where + " (unknown host)");
  }
  std::string why = "no address";
  for (addrinfo* ai = found; ai; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0) {
      listen_fd_ = fd;
      break;
    }
    why = std::strerror(errno);
    close(fd);
  }
  freeaddrinfo(found);
  if (listen_fd_ < 0) {
    return Status::Unavailable("cannot listen on " + where + " (" + why + ")");
  }
  std::string ip;
  Endpoint(listen_fd_, false, &ip, &port_);

  for (int i = 0; i < options_.loops; ++i) {
    auto loop = std::make_unique<Loop>();
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    loop->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop->epfd < 0 || loop->wake_fd < 0) {
      return Status::Unavailable(std::string("cannot start an event loop: ") +
                                 std::strerror(errno));
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &loop->wake_fd;
    epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wake_fd, &ev);
    loops_.push_back(std::move(loop));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &listen_tag;
  epoll_ctl(loops_[0]->epfd, EPOLL_CTL_ADD, listen_fd_, &ev);
  pool_ = std::make_unique<ElasticPool>(options_.max_pool_threads, options_.after_pool_job);
  return Status::Ok();
}

void LoopServer::Run() {
  auto serve = [this](Loop* loop) {
    bool done = false;
    while (!done) Turn(*loop, &done);
  };
  if (!options_.await_on_loop) {
    sync_thread_ = std::thread([this] {
      SetThreadName("crew-sync");
      SyncLoop();
    });
  }
  for (size_t i = 1; i < loops_.size(); ++i) {
    loops_[i]->thread = std::thread([serve, i, loop = loops_[i].get()] {
      SetThreadName("crew-loop" + std::to_string(i));
      serve(loop);
    });
  }
  serve(loops_[0].get());
  for (size_t i = 1; i < loops_.size(); ++i) loops_[i]->thread.join();
  if (sync_thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(sync_mu_);
      sync_stop_ = true;
    }
    sync_cv_.notify_one();
    sync_thread_.join();
  }
  pool_->shutdown();
}

void LoopServer::Stop() {
  stop_deadline_ = (Clock::now() + kStopGrace).time_since_epoch().count();
  stopping_ = true;
  for (auto& loop : loops_) {
    uint64_t one = 1;
    (void)!write(loop->wake_fd, &one, sizeof one);
  }
}

void LoopServer::Turn(Loop& loop, bool* done) {
  epoll_event events[128];
  std::vector<Conn*> resume;
  resume.swap(loop.resume);
  int n = epoll_wait(loop.epfd, events, 128, !resume.empty() ? 0 : stopping_ ? 50 : 1000);
  loop.now = Clock::now();
  std::vector<Answer>& answers = loop.answers;  // (empty; its capacity kept from turn to turn)
  for (Conn* c : resume) {
    if (loop.conns.count(c) && !c->on_pool) Serve(loop, c, &answers);
  }
  for (int i = 0; i < n; ++i) {
    void* tag = events[i].data.ptr;
    if (tag == &listen_tag) {
      Accept(loop);
    } else if (tag == &loop.wake_fd) {
      uint64_t count;
      (void)!read(loop.wake_fd, &count, sizeof count);
      std::vector<std::pair<Conn*, Loop::Kind>> inbox;
      bool synced = false;
      uint64_t synced_seq = 0;
      Status synced_status;
      {
        std::lock_guard<std::mutex> lock(loop.mu);
        inbox.swap(loop.inbox);
        std::swap(synced, loop.synced);
        synced_seq = loop.synced_seq;
        synced_status = loop.synced_status;
      }
      if (synced) Release(loop, synced_seq, synced_status);
      for (auto [c, kind] : inbox) {
        if (kind == Loop::Kind::kNew) {
          Adopt(loop, c);
        } else if (kind == Loop::Kind::kClose) {
          Close(loop, c);
        } else {  // back from the pool: serve what was sent meanwhile
          c->on_pool = false;
          c->pool_route = nullptr;
          Watch(loop, c);
          Serve(loop, c, &answers);
          loop.touched.push_back(c);  // (a last answer: close it, lingering)
        }
      }
    } else {
      Conn* c = static_cast<Conn*>(tag);
      if (events[i].events & EPOLLOUT) Flush(loop, c);
      if (!loop.conns.count(c)) continue;
      if ((events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) ||
          ((events[i].events & EPOLLOUT) && c->read_wants_out)) {
        ReadFrom(loop, c, &answers);
      } else if (!c->in.empty()) {
        Serve(loop, c, &answers);  // requests held back while its answers queued up
      }
    }
  }
  Finish(loop, &answers);
  size_t waiting = 0;  // for held answers to leave first
  for (Conn* c : loop.to_pool) {
    if (!loop.conns.count(c)) continue;
    if (c->held > 0) {
      loop.to_pool[waiting++] = c;
      continue;
    }
    epoll_ctl(loop.epfd, EPOLL_CTL_DEL, c->fd, nullptr);
    c->watching_out = false;
    c->on_pool = true;
    ++loop.on_pool;
    pool_->enqueue([this, c] { OnPool(c, c->pool_route, std::move(c->pool_request)); });
  }
  loop.to_pool.resize(waiting);

  const auto now = Clock::now();
  if (loop.listen_paused && now >= loop.listen_paused_until && !stopping_) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &listen_tag;
    epoll_ctl(loop.epfd, EPOLL_CTL_ADD, listen_fd_, &ev);
    loop.listen_paused = false;
  }
  if (stopping_ && &loop == loops_[0].get() && listen_fd_ >= 0) {
    close(listen_fd_);  // leaves the epoll set with it
    listen_fd_ = -1;
  }
  if (now >= loop.next_sweep || stopping_) {
    Sweep(loop, stopping_);
    loop.next_sweep = now + std::chrono::seconds(1);
  }
  if (stopping_ && loop.on_pool == 0 && loop.conns.empty()) *done = true;
}

void LoopServer::PauseAccepting(Loop& loop) {
  epoll_ctl(loop.epfd, EPOLL_CTL_DEL, listen_fd_, nullptr);
  loop.listen_paused = true;
  loop.listen_paused_until = Clock::now() + std::chrono::milliseconds(100);
}

void LoopServer::Accept(Loop& loop) {
  while (true) {
    if (open_conns_.load(std::memory_order_relaxed) >= options_.max_connections) {
      // (new clients wait in the listen backlog until connections close)
      LogConnectionsFull(options_.max_connections, &full_logged_at_);
      PauseAccepting(loop);
      return;
    }
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        spdlog::warn("accept: {}; not accepting for 100 ms", std::strerror(errno));
        PauseAccepting(loop);
      }
      return;
    }
    open_conns_.fetch_add(1, std::memory_order_relaxed);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto* c = new Conn;
    c->fd = fd;
    if (tls_) {
      c->ssl = tls_->Accept(fd);
      if (!c->ssl) {
        delete c;
        close(fd);
        open_conns_.fetch_sub(1, std::memory_order_relaxed);
        continue;
      }
      c->request_started = Clock::now();  // (its handshake is due within the request's time)
    }
    Endpoint(fd, true, &c->remote_addr, &c->remote_port);
    Endpoint(fd, false, &c->local_addr, &c->local_port);
    Loop* to = loops_[next_loop_++ % loops_.size()].get();
    if (to == &loop) {
      Adopt(loop, c);
    } else {
      to->Post(c, Loop::Kind::kNew);
    }
  }
}

void LoopServer::Adopt(Loop& loop, Conn* c) {
  c->loop = &loop;
  c->last_active = Clock::now();
  loop.conns.insert(c);
  Watch(loop, c);
}

bool LoopServer::Backlogged(const Conn* c) { return c->out.size() - c->out_sent > kMaxQueuedOut; }

void LoopServer::Watch(Loop& loop, Conn* c) {
  epoll_event ev{};
  ev.events = c->peer_closed || Backlogged(c) ? 0 : EPOLLIN | EPOLLRDHUP;
  ev.data.ptr = c;
  c->watching_out = c->out_sent < c->out.size();
  if (c->watching_out || c->read_wants_out) ev.events |= EPOLLOUT;
  if (epoll_ctl(loop.epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
    epoll_ctl(loop.epfd, EPOLL_CTL_ADD, c->fd, &ev);
  }
}

void LoopServer::Close(Loop& loop, Conn* c) {
  loop.conns.erase(c);
  FreeSession(c->ssl);
  close(c->fd);  // leaves the epoll set with it
  delete c;
  open_conns_.fetch_sub(1, std::memory_order_relaxed);
}

void LoopServer::ReadFrom(Loop& loop, Conn* c, std::vector<Answer>* answers) {
  if (Backlogged(c) && !c->lingering) return Watch(loop, c);  // on once the client reads
  size_t got = 0;
  const bool wanted_out = c->read_wants_out;
  c->read_wants_out = false;
  while ((c->in.size() < kReadAhead || c->head.len > 0) && got < kReadAhead) {
    ssize_t n = ConnRecv(c->fd, c->ssl, loop.buf.data(), loop.buf.size(), &c->read_wants_out);
    if (n > 0) {
      got += static_cast<size_t>(n);
      if (!c->lingering && !c->last_request && !c->close_after) {
        c->in.append(loop.buf.data(), static_cast<size_t>(n));
      }
      // (a short read emptied the socket; a TLS read is a record at most: read on)
      if (static_cast<size_t>(n) < loop.buf.size() && !c->ssl) break;
    } else if (n == 0) {
      c->peer_closed = true;
      break;
    } else if (errno == EINTR) {
      continue;
    } else {
      if (errno != EAGAIN && errno != EWOULDBLOCK) c->peer_closed = true;
      break;
    }
  }
  c->last_active = loop.now;
  if (!c->lingering) Serve(loop, c, answers);
  if (Served(c)) {
    if (c->out_sent < c->out.size() && !c->lingering) return Watch(loop, c);  // still reading?
    Close(loop, c);
  } else if (c->peer_closed || c->read_wants_out != wanted_out) {
    Watch(loop, c);  // not readable any more (closed once its answers are out), or writable
  }
}

// A connection whose client closed its side is done once it has answered all it was sent (all
// it serves: nothing after a last request).
bool LoopServer::Served(const Conn* c) {
  return c->peer_closed && c->answering == 0 && !c->pool_route &&
         (c->in.empty() || c->last_request || c->close_after);
}

void LoopServer::Serve(Loop& loop, Conn* c, std::vector<Answer>* answers) {
  while (!c->pool_route && !c->last_request && !c->close_after && !c->in.empty() &&
         !Backlogged(c)) {
    if (c->answering >= kMaxAnswersPerTurn) {
      if (c->held == 0) loop.resume.push_back(c);  // (else once a sync releases them)
      return;
    }
    if (!c->next) {
      // Empty lines before a request line are skipped (RFC 9112 §2.2: some clients send a
      // CRLF after a body).
      size_t blank = 0;
      while (blank < c->in.size() && (c->in[blank] == '\r' || c->in[blank] == '\n')) ++blank;
      if (blank > 0) {
        c->in.erase(0, blank);
        if (c->in.empty()) break;
      }
      if (loop.spare_requests.empty()) {
        c->next = std::make_unique<httplib::Request>();
      } else {
        c->next = std::move(loop.spare_requests.back());
        loop.spare_requests.pop_back();
      }
      c->request_started = loop.now;
    }
    WireRequest w = ParseRequest(c->in, options_.limits, c->next.get(), &c->head);
    if (w.state == WireRequest::State::kIncomplete) {
      if (c->peer_closed) {  // the rest of this request can never come
        c->in.clear();
        loop.touched.push_back(c);  // (closed there once its answers are out)
      } else if (w.need_continue && !c->continue_sent) {
        // In order: after the answers to the requests before it (RFC 9112 §9.3.2).
        c->continue_sent = true;
        if (c->answering > 0) {
          c->continue_due = true;
        } else {
          c->out += kContinue;
          loop.touched.push_back(c);
        }
      }
      return;
    }
    std::unique_ptr<httplib::Request> req =
        std::move(c->next);  // (moved as a pointer from here on)
    c->head = RequestHead();
    c->continue_sent = c->continue_due = false;  // (a body already here needs none)
    if (w.state == WireRequest::State::kRefused) {
      c->in.clear();
      c->last_request = true;
      Refuse(loop, c, std::move(req), w, answers);
      return;
    }
    c->in.erase(0, w.consumed);
    req->remote_addr = c->remote_addr;
    req->remote_port = c->remote_port;
    req->local_addr = c->local_addr;
    req->local_port = c->local_port;
    Handle(loop, c, std::move(req), w.keep_alive, answers);
  }
}

// A request refused while it was read: answered, then its connection closed. One whose request
// line was read is counted as a routed one, by its method and route, with its duration
// (/metrics); one refused before is not in flight, and its labels say "other".
void LoopServer::Refuse(Loop& loop, Conn* c, std::unique_ptr<httplib::Request> req,
                        const WireRequest& w, std::vector<Answer>* answers) {
  Answer& a = answers->emplace_back();
  a.conn = c;
  a.req = std::move(req);
  a.res = Refusal(w.status, w.message);
  a.close = true;
  a.timed = !a.req->method.empty();
  if (a.timed) {
    ++in_flight_;
    a.started = loop.now;
    a.route = router_->Match(*a.req);
  }
  ++c->answering;
}

void LoopServer::Handle(Loop& loop, Conn* c, std::unique_ptr<httplib::Request> req, bool keep_alive,
                        std::vector<Answer>* answers) {
  ++in_flight_;
  Answer& a = answers->emplace_back();  // (built in place; nothing else adds to answers meanwhile)
  a.conn = c;
  a.req = std::move(req);
  a.started = loop.now;
  a.close = !keep_alive || stopping_;
  if (a.close) {  // nothing sent after it is served (RFC 9112 §9.6)
    c->last_request = true;
    c->in.clear();
  }
  if (!hooks_.before(*a.req, a.res)) {
    const Router::Route* route = router_->Match(*a.req);
    if (!route) {
      a.res.status = 404;
    } else if (!RunOnLoop(*route, a)) {
      c->pool_route = route;
      // (the same request: its matches still point into its path, where Match left them)
      c->pool_request = std::shared_ptr<httplib::Request>(std::move(a.req));
      c->pool_close = a.close;
      loop.to_pool.push_back(c);
      answers->pop_back();
      return;
    }
  }
  ++c->answering;
}

bool LoopServer::RunOnLoop(const Router::Route& route, Answer& a) {
  if (!route.on_loop || a.req->body.size() > options_.max_loop_body || !route.on_loop(*a.req)) {
    return false;
  }
  a.route = &route;
  a.seq = hooks_.run(route, *a.req, a.res, true);
  return a.res.status != Router::kRunOnPool;  // (it changed nothing: it runs again there)
}

void LoopServer::Sweep(Loop& loop, bool stopping) {
  const auto now = Clock::now();
  const bool overdue = stopping && now.time_since_epoch().count() >= stop_deadline_;
  std::vector<Conn*> ending;
  for (Conn* c : loop.conns) {
    if (c->answering > 0) continue;  // held for a sync, which ends (or fails) soon
    if (c->on_pool) {
      if (overdue) shutdown(c->fd, SHUT_RDWR);  // its request ends; the pool gives it back
      continue;
    }
    const bool writing = c->out_sent < c->out.size();
    // Stopping: a request not yet received is not in hand; only answers being written stay.
    const bool reading = c->next != nullptr || !c->in.empty() || Handshaking(c->ssl);
    if (overdue ||
        (c->lingering ? now >= c->linger_until
         : writing    ? now - c->out_since > std::chrono::seconds(options_.write_seconds)
         : stopping   ? true
         : reading    ? now - c->request_started > std::chrono::seconds(options_.read_seconds)
                      : now - c->last_active > std::chrono::seconds(options_.keep_alive_seconds))) {
      ending.push_back(c);
    }
  }
  for (Conn* c : ending) Close(loop, c);
}

}  // namespace crew::api
