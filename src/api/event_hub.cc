#include "api/event_hub.h"

#include <algorithm>
#include <thread>

#include "api/json_out.h"

namespace crew::api {

namespace {

// What a queued message counts against its queue's byte bound: what it references, shared or not.
size_t Bytes(const EventHub::Message& m) { return m.name.size() + m.data.size(); }

}  // namespace

EventHub::MessagePtr EventHub::Subscription::Next(Clock::time_point until) {
  std::vector<MessagePtr> one = NextBatch(until, Clock::duration::zero(), 1, 0);
  return one.empty() ? nullptr : std::move(one.front());
}

std::vector<EventHub::MessagePtr> EventHub::Subscription::NextBatch(Clock::time_point until,
                                                                    Clock::duration linger,
                                                                    size_t max_count,
                                                                    size_t max_bytes) {
  std::vector<MessagePtr> batch;
  std::unique_lock<std::mutex> lock(mu_);
  ++reading_;
  cv_.wait_until(lock, until, [this] { return closed_ || !queue_.empty(); });
  --reading_;
  last_read_ = Clock::now();
  if (queue_.empty() || closed_) return batch;
  if (linger > Clock::duration::zero() && queue_.size() < max_count) {
    lock.unlock();  // (publishers meanwhile queue without waking anyone)
    std::this_thread::sleep_for(linger);
    lock.lock();
    if (closed_) return batch;
  }
  size_t bytes = 0;
  while (!queue_.empty() && batch.size() < max_count && (batch.empty() || bytes < max_bytes)) {
    bytes += Bytes(*queue_.front());
    queue_bytes_ -= Bytes(*queue_.front());
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return batch;
}

bool EventHub::Subscription::closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

bool EventHub::Subscription::overflowed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return overflowed_;
}

bool EventHub::Subscription::Push(Message m) {
  auto shared = std::make_shared<const Message>(std::move(m));
  std::lock_guard<std::mutex> lock(mu_);
  return Enqueue(std::move(shared));
}

bool EventHub::Subscription::Enqueue(MessagePtr m) {
  if (closed_) return false;
  const size_t bytes = Bytes(*m);
  if (queue_.size() >= max_queue_ || queue_bytes_ + bytes > max_queue_bytes_) {
    overflowed_ = true;  // too slow: it must reconnect and reload
    CloseLocked();
    return false;
  }
  // A reader waits only on an empty queue; one woken for an earlier message and not yet run
  // still counts in reading_, and finds this one too.
  const bool wake = reading_ > 0 && queue_.empty();
  queue_bytes_ += bytes;
  queue_.push_back(std::move(m));
  if (wake) cv_.notify_all();
  return true;
}

void EventHub::Subscription::CloseLocked() {
  closed_ = true;
  std::deque<MessagePtr>().swap(queue_);  // (clear() may keep the deque's blocks)
  queue_bytes_ = 0;
  cv_.notify_all();
}

void EventHub::Subscription::Join(const std::string& room) {
  std::lock_guard<std::mutex> lock(mu_);
  if (room.empty()) {
    all_rooms_ = true;
  } else {
    rooms_.insert(room);
  }
}

void EventHub::Subscription::Leave(const std::string& room) {
  std::lock_guard<std::mutex> lock(mu_);
  rooms_.erase(room);
}

bool EventHub::Subscription::Wants(const std::string& room) const {
  return all_rooms_ || rooms_.count(room);
}

void EventHub::Subscription::CloseWhenUnread(Clock::duration limit) {
  std::lock_guard<std::mutex> lock(mu_);
  unread_limit_ = limit;
}

bool EventHub::Subscription::Unread(Clock::time_point now) const {
  return unread_limit_ && reading_ == 0 && now - last_read_ > *unread_limit_;
}

std::shared_ptr<EventHub::Subscription> EventHub::Subscribe(const std::string& room) {
  auto sub = std::make_shared<Subscription>();
  sub->max_queue_ = max_queue_;
  sub->max_queue_bytes_ = max_queue_bytes_;
  sub->Join(room);
  std::function<void()> settle;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shutdown_) sub->closed_ = true;
    subs_.push_back(sub);
    has_subs_.store(true, std::memory_order_relaxed);
    settle = settle_;
  }
  // Pairs with the engine's fence before it asks WantsTaskEvents after a write: either that
  // commit sees this subscription, or what the subscriber reads next includes its write (once
  // settled: written, if it was gathered).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (settle) settle();
  return sub;
}

void EventHub::SetSettle(std::function<void()> settle) {
  std::lock_guard<std::mutex> lock(mu_);
  settle_ = std::move(settle);
}

void EventHub::Unsubscribe(const std::shared_ptr<Subscription>& sub) {
  std::lock_guard<std::mutex> lock(mu_);
  subs_.erase(std::remove(subs_.begin(), subs_.end(), sub), subs_.end());
  has_subs_.store(!subs_.empty(), std::memory_order_relaxed);
}

// Every publish first drops the subscriptions whose reader is gone, whatever rooms they hear: a
// socket.io session abandoned before it joined a room would else be walked by every publish.
void EventHub::OnEvents(const std::vector<engine::Event>& events) {
  std::lock_guard<std::mutex> lock(mu_);
  if (subs_.empty()) return;
  DropClosed(Clock::now());
  bool gone = false;  // subscriptions that overflowed here
  for (const auto& e : events) {
    MessagePtr m;  // built once, and only if someone listens
    for (const auto& sub : subs_) {
      std::lock_guard<std::mutex> sub_lock(sub->mu_);
      if (sub->closed_ || !sub->Wants(e.room)) continue;
      if (!m) m = std::make_shared<const Message>(Message{e.name, EventPayloadJson(e)});
      if (!sub->Enqueue(m)) gone = true;
    }
  }
  if (gone) DropClosed(Clock::now());
}

void EventHub::DropClosed(Clock::time_point now) {
  std::erase_if(subs_, [now](const std::shared_ptr<Subscription>& sub) {
    std::lock_guard<std::mutex> sub_lock(sub->mu_);
    if (!sub->closed_ && sub->Unread(now)) sub->CloseLocked();  // its reader is gone
    return sub->closed_;
  });
  has_subs_.store(!subs_.empty(), std::memory_order_relaxed);
}

void EventHub::OnReady(const std::vector<std::string>& channels) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& c : channels) {
    auto it = waits_.find(c);
    if (it != waits_.end()) Wake(it->second);
  }
}

void EventHub::Wake(ChannelWait& w) {
  if (w.wake) return;  // (its waiter passes it on if there is more)
  w.wake = true;
  if (!w.asleep.empty()) w.asleep.front()->cv.notify_one();
}

void EventHub::BeginWait(const std::string& channel) {
  std::lock_guard<std::mutex> lock(mu_);
  ++waits_[channel].waiters;
}

bool EventHub::Wait(const std::string& channel, Clock::time_point deadline, int client_fd,
                    const std::function<bool()>& still_there) {
  Sleeper me;
  ChannelWait* w = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = waits_.find(channel);        // (BeginWait made it; EndWait erases it after the last)
    if (it == waits_.end()) return false;  // (no BeginWait: an entry made here would stay)
    w = &it->second;
  }
  // (watched without mu_ held: the watch calls this under a lock of its own, which Unwatch
  // takes)
  const uint64_t watch = client_fd < 0 ? 0 : hangups_.Watch(client_fd, [this, &me] {
    std::lock_guard<std::mutex> lock(mu_);
    me.hung_up = true;
    me.cv.notify_one();
  });
  // A socket the watch could not take (its epoll set refused it) is asked every 100 ms instead.
  const bool ask = client_fd >= 0 && watch == 0;
  constexpr auto kAskEvery = std::chrono::milliseconds(100);
  bool woken = false;
  {
    std::unique_lock<std::mutex> lock(mu_);
    const auto in_line = w->asleep.insert(w->asleep.end(), &me);
    auto ask_at = Clock::now() + kAskEvery;
    while (!shutdown_ && !w->wake) {
      const auto now = Clock::now();
      if (now >= deadline) break;
      if (me.hung_up || (ask && now >= ask_at)) {
        me.hung_up = false;
        ask_at = now + kAskEvery;
        lock.unlock();
        const bool there = still_there();  // (a client that half-closed, a request pending)
        lock.lock();
        if (!there) break;
        continue;
      }
      me.cv.wait_until(lock, ask ? std::min(deadline, ask_at) : deadline);
    }
    w->asleep.erase(in_line);
    if (!shutdown_ && w->wake) {  // (taken on the way out too: the route passes it on)
      w->wake = false;
      woken = true;
    }
  }
  hangups_.Unwatch(watch);
  return woken;
}

void EventHub::EndWait(const std::string& channel, bool pass_on) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = waits_.find(channel);
  if (it == waits_.end()) return;
  if (--it->second.waiters <= 0) {
    waits_.erase(it);
  } else if (pass_on) {
    Wake(it->second);
  }
}

void EventHub::Shutdown() {
  std::vector<std::shared_ptr<Subscription>> subs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = true;
    subs = subs_;
    for (auto& [channel, w] : waits_) {
      for (Sleeper* sleeper : w.asleep) sleeper->cv.notify_one();
    }
  }
  for (const auto& sub : subs) {
    std::lock_guard<std::mutex> lock(sub->mu_);
    sub->CloseLocked();
  }
}

bool EventHub::shutting_down() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shutdown_;
}

int64_t EventHub::waiters() const {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t n = 0;
  for (const auto& [channel, w] : waits_) n += w.waiters;
  return n;
}

int64_t EventHub::subscribers() const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = Clock::now();
  return std::count_if(subs_.begin(), subs_.end(), [now](const std::shared_ptr<Subscription>& sub) {
    std::lock_guard<std::mutex> sub_lock(sub->mu_);
    return !sub->closed_ && !sub->Unread(now);
  });
}

}  // namespace crew::api
