// api/hangup_watch: a peer's hang-up is told once; a watch ended before it tells nothing.
#include "api/hangup_watch.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace crew::api {
namespace {

using std::chrono::milliseconds;

struct Pair {
  Pair() { EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0); }
  ~Pair() {
    for (int f : fd)
      if (f >= 0) close(f);
  }
  void ClosePeer() {
    close(fd[1]);
    fd[1] = -1;
  }
  int fd[2] = {-1, -1};
};

void WaitFor(const std::atomic<int>& n, int at_least) {
  for (int i = 0; i < 300 && n < at_least; ++i) std::this_thread::sleep_for(milliseconds(10));
}

TEST(HangupWatch, APeersHangUpIsToldOnce) {
  HangupWatch watch;
  Pair p;
  std::atomic<int> told{0};
  const uint64_t h = watch.Watch(p.fd[0], [&] { ++told; });
  ASSERT_NE(h, 0u);
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(told, 0);
  p.ClosePeer();
  WaitFor(told, 1);
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(told, 1);
  watch.Unwatch(h);
}

TEST(HangupWatch, DataFromThePeerIsNoHangUp) {
  HangupWatch watch;
  Pair p;
  std::atomic<int> told{0};
  const uint64_t h = watch.Watch(p.fd[0], [&] { ++told; });
  ASSERT_EQ(write(p.fd[1], "GET / HTTP/1.1\r\n\r\n", 18), 18);
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(told, 0);
  watch.Unwatch(h);
}

TEST(HangupWatch, APeerGoneBeforeTheWatchIsToldAtOnce) {
  HangupWatch watch;
  Pair p;
  p.ClosePeer();
  std::atomic<int> told{0};
  const uint64_t h = watch.Watch(p.fd[0], [&] { ++told; });
  WaitFor(told, 1);
  EXPECT_EQ(told, 1);
  watch.Unwatch(h);
}

TEST(HangupWatch, AnEndedWatchTellsNothingAndTheSocketCanBeWatchedAgain) {
  HangupWatch watch;
  Pair p;
  std::atomic<int> first{0}, second{0};
  watch.Unwatch(watch.Watch(p.fd[0], [&] { ++first; }));
  const uint64_t h = watch.Watch(p.fd[0], [&] { ++second; });
  ASSERT_NE(h, 0u);
  p.ClosePeer();
  WaitFor(second, 1);
  EXPECT_EQ(first, 0);
  EXPECT_EQ(second, 1);
  watch.Unwatch(h);
  watch.Unwatch(0);  // (a watch that could not be made)
}

}  // namespace
}  // namespace crew::api
