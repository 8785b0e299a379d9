// Event streams kept open and read by a load generator (bench/load/load.cc --sse), as open
// dashboards would: read and thrown away on one thread from construction to destruction, the
// bytes read told on stderr at the end. Exits the process when a stream cannot be opened: a
// benchmark must not go on then.
#pragma once

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "common/tcp.h"

namespace crew_bench {

class SseReaders {
 public:
  // n streams of GET `target` (e.g. /api/v1/events) on host:port; none when n <= 0.
  SseReaders(const std::string& host, int port, const std::string& target, int n) {
    if (n <= 0) return;
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < n; ++i) {
      const int fd = ConnectTcp(host, port);
      if (fd < 0 || !SendAll(fd, "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n")) {
        Fail(target);
      }
      char head[4096];  // (the answer's head and ": connected": subscribed before the workloads)
      const ssize_t got = recv(fd, head, sizeof head, 0);
      if (got <= 0) Fail(target);
      bytes_ += static_cast<double>(got);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = fd;
      epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
      fds_.push_back(fd);
    }
    thread_ = std::thread([this] { Read(); });
  }
  ~SseReaders() {
    if (fds_.empty()) return;
    stop_ = true;
    thread_.join();
    for (int fd : fds_) close(fd);
    close(ep_);
    std::fprintf(stderr, "sse: %zu streams read %.1f MB\n", fds_.size(), bytes_ / 1e6);
  }

 private:
  [[noreturn]] static void Fail(const std::string& target) {
    std::fprintf(stderr, "GET %s failed: no stream\n", target.c_str());
    std::exit(2);
  }
  void Read() {
    std::vector<char> chunk(1 << 16);
    epoll_event events[64];
    while (!stop_) {
      const int n = epoll_wait(ep_, events, 64, 100);
      for (int e = 0; e < n; ++e) {
        const ssize_t got = recv(events[e].data.fd, chunk.data(), chunk.size(), 0);
        if (got > 0) bytes_ += static_cast<double>(got);
        if (got == 0) epoll_ctl(ep_, EPOLL_CTL_DEL, events[e].data.fd, nullptr);  // (closed)
      }
    }
  }
  int ep_ = -1;
  std::vector<int> fds_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  double bytes_ = 0;
};

}  // namespace crew_bench
