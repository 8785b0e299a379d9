// HangupWatch: tells when the client of a connection closes its end, for threads that wait on
// something else meanwhile (a long poll on its channel, EventHub::Wait). One thread sleeps in
// epoll_wait for all of them, so a waiting long poll costs nothing until its task, its deadline
// or its client's hang-up. (Each asked its client every 100 ms: 1,000 idle long polls took 20% of
// a CPU, 100 took 5%.) Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace crew::api {

class HangupWatch {
 public:
  HangupWatch();   // starts its thread, crew-hangup
  ~HangupWatch();  // stops it; nothing is called after
  HangupWatch(const HangupWatch&) = delete;
  HangupWatch& operator=(const HangupWatch&) = delete;

  // Calls on_hangup, once, on the watch's thread, when the peer of socket `fd` closes its end or
  // the connection fails (EPOLLRDHUP, EPOLLHUP, EPOLLERR). Answers the handle to Unwatch; 0 when
  // fd cannot be watched (nothing is called then).
  uint64_t Watch(int fd, std::function<void()> on_hangup);
  // Ends a watch before fd is closed or used elsewhere: once it returns, on_hangup is not
  // running and will not be called. It waits for an on_hangup under way: a caller must hold no
  // lock that on_hangup takes (nor call Watch or Unwatch from on_hangup).
  void Unwatch(uint64_t handle);

 private:
  struct Entry {
    int fd;
    std::function<void()> on_hangup;  // empty once called
  };
  void Run();

  int epfd_ = -1;
  int stop_fd_ = -1;                   // an eventfd: written to stop the thread
  std::mutex mu_;                      // held while an on_hangup runs
  std::map<uint64_t, Entry> entries_;  // GUARDED_BY(mu_)
  uint64_t next_ = 1;                  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace crew::api
