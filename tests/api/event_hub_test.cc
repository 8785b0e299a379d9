// api/event_hub: subscriptions that nobody reads any more stop holding events.
#include "api/event_hub.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

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

TEST(EventHub, ASubscriberTooSlowForItsQueueIsClosed) {
  EventHub hub(/*max_queue=*/3);
  auto sub = hub.Subscribe("");
  for (int i = 0; i < 3; ++i) hub.OnEvents(One("g"));
  EXPECT_FALSE(sub->closed());
  hub.OnEvents(One("g"));
  EXPECT_TRUE(sub->closed());
  EXPECT_EQ(hub.subscribers(), 0);
}

}  // namespace
}  // namespace crew::api
