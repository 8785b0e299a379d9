// api/event_hub: subscriptions that nobody reads any more stop holding events; a reader that
// keeps reading gets every event; long-poll waiters notice a client gone.
#include "api/event_hub.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace crew::api {
namespace {

using std::chrono::milliseconds;

std::vector<engine::Event> One(const std::string& room) {
  engine::Event e;
  e.room = room;
  e.name = "group:syncPause";
  e.payload = std::string(R"({"isPaused":true})");
  return {e};
}

// A socket.io client gone without a word (its tab killed) polls no more: its subscription is
// closed, its queue dropped, by the first event past the limit, instead of holding up to
// max_queue events until a new session happens to sweep it.
TEST(EventHub, ASubscriptionUnreadPastItsLimitIsClosedByTheNextEvent) {
  EventHub hub;
  auto sub = hub.Subscribe("g");
  sub->CloseWhenUnread(milliseconds(50));
  hub.OnEvents(One("g"));
  ASSERT_TRUE(sub->Next(EventHub::Clock::now()));  // read: its limit starts again
  std::this_thread::sleep_for(milliseconds(80));
  hub.OnEvents(One("g"));
  EXPECT_TRUE(sub->closed());
  EXPECT_FALSE(sub->Next(EventHub::Clock::now())) << "its queue was dropped";
  EXPECT_EQ(hub.subscribers(), 0);
  EXPECT_FALSE(hub.WantsTaskEvents());
}

// A reader waiting in Next is reading, however long it has waited; and a subscription without a
// limit (SSE) is never closed for going unread.
TEST(EventHub, AWaitingReaderAndASubscriptionWithoutLimitStayOpen) {
  EventHub hub;
  auto polled = hub.Subscribe("g");
  polled->CloseWhenUnread(milliseconds(30));
  auto sse = hub.Subscribe("g");
  std::thread reader(
      [&] { ASSERT_TRUE(polled->Next(EventHub::Clock::now() + std::chrono::seconds(5))); });
  std::this_thread::sleep_for(milliseconds(100));
  hub.OnEvents(One("g"));
  reader.join();
  EXPECT_FALSE(polled->closed());
  EXPECT_FALSE(sse->closed());
  EXPECT_TRUE(sse->Next(EventHub::Clock::now()));
  EXPECT_EQ(hub.subscribers(), 2);
}

// Event number n of room g: its payload is n.
std::vector<engine::Event> Numbered(int n) {
  std::vector<engine::Event> events = One("g");
  events[0].payload = std::to_string(n);
  return events;
}

std::vector<std::string> Payloads(const std::vector<EventHub::MessagePtr>& batch) {
  std::vector<std::string> got;
  for (const auto& m : batch) got.push_back(m->data);
  return got;
}

TEST(EventHub, ABatchTakesTheQueuedMessagesInOrderWithinItsBounds) {
  EventHub hub;
  auto sub = hub.Subscribe("g");
  for (int n = 1; n <= 6; ++n) hub.OnEvents(Numbered(n));
  const auto now = EventHub::Clock::now;
  const auto none = EventHub::Clock::duration::zero();
  EXPECT_EQ(Payloads(sub->NextBatch(now(), none, 2, 1 << 20)),
            (std::vector<std::string>{"1", "2"}));
  // (each message holds its name, "group:syncPause", and one digit: 16 bytes)
  EXPECT_EQ(Payloads(sub->NextBatch(now(), none, 10, 20)), (std::vector<std::string>{"3", "4"}))
      << "no more once they hold max_bytes";
  EXPECT_EQ(Payloads(sub->NextBatch(now(), none, 10, 1)), (std::vector<std::string>{"5"}))
      << "at least one";
  EXPECT_EQ(Payloads(sub->NextBatch(now(), none, 10, 1 << 20)), (std::vector<std::string>{"6"}));
  EXPECT_TRUE(sub->NextBatch(now(), none, 10, 1 << 20).empty());
  EXPECT_FALSE(sub->closed());
}

// A publisher wakes a reader waiting on an empty queue (it need not wake one that is not
// waiting): the reader has its message long before its deadline.
TEST(EventHub, AReaderWaitingOnAnEmptyQueueIsWokenByTheFirstMessage) {
  EventHub hub;
  auto sub = hub.Subscribe("g");
  const auto deadline = EventHub::Clock::now() + std::chrono::seconds(20);
  EventHub::Clock::time_point got_at;
  std::thread reader([&] {
    EXPECT_TRUE(sub->Next(deadline));
    got_at = EventHub::Clock::now();
  });
  std::this_thread::sleep_for(milliseconds(50));
  hub.OnEvents(Numbered(1));
  reader.join();
  EXPECT_LT(got_at, deadline - std::chrono::seconds(10)) << "woken, not timed out";
}

// A reader lingers after the first message (EventHub::kLinger): what is published meanwhile
// comes in the same batch, and the publisher woke it once.
TEST(EventHub, AReaderThatLingersTakesWhatCameMeanwhileInOneBatch) {
  EventHub hub;
  auto sub = hub.Subscribe("g");
  std::vector<EventHub::MessagePtr> batch;
  std::thread reader([&] {
    batch = sub->NextBatch(EventHub::Clock::now() + std::chrono::seconds(10),
                           std::chrono::seconds(1), 100, 1 << 20);
  });
  std::this_thread::sleep_for(milliseconds(50));
  hub.OnEvents(Numbered(1));
  std::this_thread::sleep_for(milliseconds(100));  // (the reader is lingering now)
  hub.OnEvents(Numbered(2));
  hub.OnEvents(Numbered(3));
  reader.join();
  EXPECT_EQ(Payloads(batch), (std::vector<std::string>{"1", "2", "3"}));
}

TEST(EventHub, ASubscriberTooSlowForItsQueueIsClosed) {
  EventHub hub(/*max_queue=*/3);
  auto sub = hub.Subscribe("");
  for (int i = 0; i < 3; ++i) hub.OnEvents(One("g"));
  EXPECT_FALSE(sub->closed());
  hub.OnEvents(One("g"));
  EXPECT_TRUE(sub->closed());
  EXPECT_EQ(hub.subscribers(), 0);
}

// One write may publish a whole batch create's events (SPEC N2: ~100,000 tasks in 10 MB) before
// its reader wakes. A limit of 10,000 messages cut every watcher of such a write, fast or not.
TEST(EventHub, AWriteOfManyEventsReachesItsReaderWhole) {
  EventHub hub;
  auto sub = hub.Subscribe("g");
  std::vector<engine::Event> batch;
  for (int i = 0; i < 15000; ++i) batch.push_back(One("g").front());
  hub.OnEvents(batch);
  int read = 0;
  while (sub->Next(EventHub::Clock::now())) ++read;
  EXPECT_EQ(read, 15000);
  EXPECT_FALSE(sub->closed());
}

// A client's own messages (socket.io acks and CONNECT refusals) are bounded like events: a
// client that posts packets and never polls had every reply queued without limit.
TEST(EventHub, PushesPastTheQueueLimitCloseTheSubscription) {
  EventHub hub(/*max_queue=*/3);
  auto sub = hub.Subscribe("");
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(sub->Push({"", "43" + std::to_string(i) + "[]"}));
  EXPECT_FALSE(sub->Push({"", "431[]"}));
  EXPECT_TRUE(sub->closed());
  EXPECT_FALSE(sub->Next(EventHub::Clock::now())) << "its queue was dropped";
}

// A subscription that hears no event (a socket.io session that never joined a room) and whose
// reader is gone was counted, and walked by every publish, until a new session's handshake.
TEST(EventHub, AnAbandonedSubscriptionIsDroppedWithoutAnEventForIt) {
  EventHub hub;
  auto quiet = hub.Subscribe("g");
  quiet->CloseWhenUnread(milliseconds(30));
  auto other = hub.Subscribe("h");
  std::this_thread::sleep_for(milliseconds(60));
  EXPECT_EQ(hub.subscribers(), 1) << "only the subscription without a limit";
  hub.OnEvents(One("h"));
  EXPECT_TRUE(quiet->closed());
  EXPECT_EQ(hub.subscribers(), 1);
  EXPECT_TRUE(other->Next(EventHub::Clock::now()));
}

// A waiter asks nothing while it waits (each asked its client every 100 ms: 1,000 idle long
// polls took 20% of a CPU); its client's hang-up, told by the hub's HangupWatch, ends the wait at
// once, under a trickle of wake-ups of another channel too.
TEST(EventHub, AWaiterSleepsUntilItsClientHangsUp) {
  EventHub hub;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    hub.BeginWait("busy");
    while (!stop) {
      hub.OnReady({"busy"});
      std::this_thread::sleep_for(milliseconds(20));
    }
    hub.EndWait("busy", false);
  });
  std::atomic<int> asked{0};
  std::atomic<bool> there{true};
  std::optional<bool> woke;
  hub.BeginWait("idle");
  const auto started = EventHub::Clock::now();
  std::thread waiter([&] {
    woke = hub.Wait("idle", started + std::chrono::seconds(5), sv[0], [&] {
      ++asked;
      return there.load();
    });
  });
  std::this_thread::sleep_for(milliseconds(600));
  EXPECT_EQ(asked, 0) << "asked while its client was there";
  there = false;
  close(sv[1]);
  waiter.join();
  const auto waited = EventHub::Clock::now() - started;
  hub.EndWait("idle", false);
  stop = true;
  trickle.join();
  close(sv[0]);
  EXPECT_EQ(woke, false);
  EXPECT_EQ(asked, 1);
  EXPECT_LT(waited, milliseconds(2000));
}

// A client that shut its side after sending another request is still there (it reads the
// answers): the waiter, told of the hang-up and answered so, waits on for its task.
TEST(EventHub, AHangUpTheClientDeniesLeavesTheWaiterWaiting) {
  EventHub hub;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  std::atomic<int> asked{0};
  std::optional<bool> woke;
  hub.BeginWait("c");
  std::thread waiter([&] {
    woke = hub.Wait("c", EventHub::Clock::now() + std::chrono::seconds(10), sv[0], [&] {
      ++asked;
      return true;
    });
  });
  shutdown(sv[1], SHUT_WR);
  for (int i = 0; i < 200 && asked == 0; ++i) std::this_thread::sleep_for(milliseconds(10));
  EXPECT_EQ(asked, 1);
  hub.OnReady({"c"});
  waiter.join();
  hub.EndWait("c", true);
  EXPECT_EQ(woke, true);
  close(sv[0]);
  close(sv[1]);
}

// A socket the hang-up watch cannot take (a regular file here: epoll refuses it) is asked about
// every 100 ms, as every waiter's was before the watch, and its answer ends the wait.
TEST(EventHub, AWaiterWhoseSocketCannotBeWatchedAsksItsClient) {
  EventHub hub;
  FILE* file = tmpfile();
  ASSERT_NE(file, nullptr);
  std::atomic<int> asked{0};
  hub.BeginWait("c");
  const auto started = EventHub::Clock::now();
  const bool woke = hub.Wait("c", started + std::chrono::seconds(5), fileno(file), [&] {
    return ++asked < 3;  // (there twice, then gone)
  });
  const auto waited = EventHub::Clock::now() - started;
  hub.EndWait("c", false);
  fclose(file);
  EXPECT_FALSE(woke);
  EXPECT_EQ(asked, 3);
  EXPECT_GE(waited, milliseconds(250));
  EXPECT_LT(waited, milliseconds(2000));
}

// The channel's wake-up goes to the waiter asleep longest, and to it alone.
TEST(EventHub, TheWaiterAsleepLongestIsWokenFirst) {
  EventHub hub;
  std::mutex mu;
  std::vector<int> woken;
  std::vector<std::thread> waiters;
  for (int i = 0; i < 3; ++i) {
    hub.BeginWait("c");
    waiters.emplace_back([&, i] {
      if (hub.Wait("c", EventHub::Clock::now() + std::chrono::seconds(20), -1,
                   [] { return true; })) {
        std::lock_guard<std::mutex> lock(mu);
        woken.push_back(i);
      }
    });
    std::this_thread::sleep_for(milliseconds(200));  // (asleep in turn)
  }
  for (int round = 0; round < 3; ++round) {
    hub.OnReady({"c"});
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (woken.size() > static_cast<size_t>(round)) break;
      }
      std::this_thread::sleep_for(milliseconds(10));
    }
    std::this_thread::sleep_for(milliseconds(50));  // (time for a second one to wake: none may)
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(woken.size(), static_cast<size_t>(round + 1));
  }
  for (auto& t : waiters) t.join();
  for (int i = 0; i < 3; ++i) hub.EndWait("c", false);
  EXPECT_EQ(woken, (std::vector<int>{0, 1, 2}));
}

// A ready task wakes one waiter of its channel, not all (N1); the waiter passes the wake-up on
// once it got its task, so that a batch's tasks wake one waiter after another.
TEST(EventHub, AReadyTaskWakesOneWaiterWhichPassesTheWakeUpOn) {
  EventHub hub;
  std::atomic<int> woken{0};
  std::atomic<bool> got_task{false};
  std::vector<std::thread> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.emplace_back([&] {
      hub.BeginWait("c");
      if (!hub.Wait("c", EventHub::Clock::now() + std::chrono::seconds(20), -1,
                    [] { return true; })) {
        hub.EndWait("c", false);
        return;
      }
      ++woken;
      while (!got_task) std::this_thread::sleep_for(milliseconds(1));
      hub.EndWait("c", true);  // (as a waiter that got its task)
    });
  }
  for (int i = 0; i < 500 && hub.waiters() < 3; ++i) std::this_thread::sleep_for(milliseconds(10));
  hub.OnReady({"c"});
  for (int i = 0; i < 500 && woken < 1; ++i) std::this_thread::sleep_for(milliseconds(10));
  std::this_thread::sleep_for(milliseconds(200));  // (time for any other to wake: none may)
  EXPECT_EQ(woken, 1);
  got_task = true;
  for (int i = 0; i < 100 && woken < 3; ++i) std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(woken, 3) << "each passed it on";
  hub.Shutdown();
  for (auto& t : waiters) t.join();
}

TEST(EventHub, AWaitWithoutBeginWaitReturnsAtOnceAndLeavesNoEntry) {
  EventHub hub;
  const auto started = EventHub::Clock::now();
  EXPECT_FALSE(hub.Wait("c", started + std::chrono::seconds(5), -1, [] { return true; }));
  EXPECT_LT(EventHub::Clock::now() - started, std::chrono::seconds(1));
  EXPECT_EQ(hub.waiters(), 0);
  hub.BeginWait("c");
  EXPECT_EQ(hub.waiters(), 1);
  hub.EndWait("c", false);
  EXPECT_EQ(hub.waiters(), 0);
}

// Every subscriber kept its own copy of each payload: five SSE readers that never read held
// five copies of every task. One message is shared; a queue is bounded by the bytes it holds.
TEST(EventHub, SubscribersShareOneMessageAndAreBoundedByItsBytes) {
  EventHub hub(/*max_queue=*/1000, /*max_queue_bytes=*/2500);
  auto reader = hub.Subscribe("g");
  auto stuck = hub.Subscribe("g");
  auto big = One("g");
  big.front().payload = std::string(1000, 'x');
  hub.OnEvents(big);
  auto m = reader->Next(EventHub::Clock::now());
  ASSERT_TRUE(m);
  EXPECT_EQ(m.use_count(), 2) << "the stuck queue holds the same message";
  hub.OnEvents(big);
  EXPECT_FALSE(stuck->closed());
  hub.OnEvents(big);  // its third would pass 2,500 bytes
  EXPECT_TRUE(stuck->closed());
  EXPECT_TRUE(stuck->overflowed());
  EXPECT_FALSE(reader->closed());
  // A subscription closed for overflow held its whole queue until it was swept.
  EXPECT_EQ(m.use_count(), 1) << "its queue was let go at once";
}

}  // namespace
}  // namespace crew::api
