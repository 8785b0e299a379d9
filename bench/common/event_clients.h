// Many clients of a benchmark on one thread: each sends a request, waits for its answer, sends
// the next; epoll says whose answers came. The Node.js peers' clients (BullMQ, graphile-worker)
// run their workers on one event loop the same way. Blocking clients, a thread each, would
// instead pay a thread wake-up per answer, on the cores the measured server needs too.
#pragma once

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/tcp.h"

namespace crew_bench {

// The length of the first complete answer at the start of `buf`, 0 while it is incomplete.
using Framer = std::function<size_t(std::string_view buf)>;
// Client i's next request, given the answer to its last one (empty before its first): false
// when client i is done.
using Step = std::function<bool(size_t i, std::string_view answer, std::string* request)>;

// Runs one client on each of `fds` (connected, blocking) until every one is done; the caller
// closes them. Exits the process when a connection fails: a benchmark must not go on then.
inline void RunClients(const std::vector<int>& fds, const Framer& frame, const Step& step) {
  struct Client {
    std::string in;
    bool done = false;
  };
  std::vector<Client> clients(fds.size());
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  auto fail = [](const char* what) {
    std::fprintf(stderr, "benchmark client: %s\n", what);
    std::exit(2);
  };
  if (ep < 0) fail("epoll_create1 failed");
  size_t running = 0;
  std::string request;
  // Sends client i's next request, or ends it.
  auto next = [&](size_t i, std::string_view answer) {
    request.clear();
    if (!step(i, answer, &request)) {
      clients[i].done = true;
      --running;
      epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], nullptr);
    } else if (!SendAll(fds[i], request)) {
      fail("send failed");
    }
  };
  for (size_t i = 0; i < fds.size(); ++i) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) != 0) fail("epoll_ctl failed");
    ++running;
  }
  for (size_t i = 0; i < fds.size(); ++i) next(i, {});
  std::vector<char> chunk(1 << 16);
  epoll_event events[64];
  while (running > 0) {
    int n = epoll_wait(ep, events, 64, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("epoll_wait failed");
    for (int e = 0; e < n; ++e) {
      const size_t i = events[e].data.u64;
      Client& c = clients[i];
      if (c.done) continue;
      ssize_t got = recv(fds[i], chunk.data(), chunk.size(), 0);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) fail("the server closed a connection");
      c.in.append(chunk.data(), static_cast<size_t>(got));
      size_t len;
      while (!c.done && (len = frame(c.in)) > 0) {
        next(i, std::string_view(c.in).substr(0, len));  // (sends; c.in is left alone)
        c.in.erase(0, len);
      }
    }
  }
  close(ep);
}

}  // namespace crew_bench
