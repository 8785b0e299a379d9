#include "api/hangup_watch.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "util/thread_name.h"

namespace crew::api {

HangupWatch::HangupWatch()
    : epfd_(epoll_create1(EPOLL_CLOEXEC)), stop_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (epfd_ < 0 || stop_fd_ < 0) {
    spdlog::error(
        "hangup watch: cannot make its epoll set; a waiting long poll asks its client every "
        "100 ms instead");
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;  // (no handle is 0)
  epoll_ctl(epfd_, EPOLL_CTL_ADD, stop_fd_, &ev);
  thread_ = std::thread([this] {
    SetThreadName("crew-hangup");
    Run();
  });
}

HangupWatch::~HangupWatch() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)!write(stop_fd_, &one, sizeof one);
    thread_.join();
  }
  if (epfd_ >= 0) close(epfd_);
  if (stop_fd_ >= 0) close(stop_fd_);
}

uint64_t HangupWatch::Watch(int fd, std::function<void()> on_hangup) {
  if (!thread_.joinable()) return 0;
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t handle = next_++;
  epoll_event ev{};
  // (no EPOLLIN: a request the client sent after this one is no hang-up; one-shot: a hang-up
  // stays, and is told once)
  ev.events = EPOLLRDHUP | EPOLLONESHOT;
  ev.data.u64 = handle;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) return 0;
  entries_.emplace(handle, Entry{fd, std::move(on_hangup)});
  return handle;
}

void HangupWatch::Unwatch(uint64_t handle) {
  if (handle == 0) return;
  std::lock_guard<std::mutex> lock(mu_);  // (waits for a running on_hangup)
  auto it = entries_.find(handle);
  if (it == entries_.end()) return;
  epoll_ctl(epfd_, EPOLL_CTL_DEL, it->second.fd, nullptr);
  entries_.erase(it);
}

void HangupWatch::Run() {
  epoll_event events[64];
  while (true) {
    const int n = epoll_wait(epfd_, events, 64, -1);
    for (int i = 0; i < n; ++i) {
      const uint64_t handle = events[i].data.u64;
      if (handle == 0) return;  // stopped
      std::lock_guard<std::mutex> lock(mu_);
      auto it = entries_.find(handle);
      if (it == entries_.end() || !it->second.on_hangup) continue;  // (unwatched meanwhile)
      std::function<void()> on_hangup = std::move(it->second.on_hangup);
      it->second.on_hangup = nullptr;
      on_hangup();
    }
  }
}

}  // namespace crew::api
