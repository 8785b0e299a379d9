#include "api/event_hub.h"

#include <algorithm>

#include "api/json_out.h"

namespace crew::api {

std::optional<EventHub::Message> EventHub::Subscription::Next(Clock::time_point until) {
  std::unique_lock<std::mutex> lock(mu_);
  ++reading_;
  cv_.wait_until(lock, until, [this] { return closed_ || !queue_.empty(); });
  --reading_;
  last_read_ = Clock::now();
  if (queue_.empty() || closed_) return std::nullopt;
  Message m = std::move(queue_.front());
  queue_.pop_front();
  return m;
}

bool EventHub::Subscription::closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

bool EventHub::Subscription::Push(Message m) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return false;
  queue_.push_back(std::move(m));
  cv_.notify_all();
  return true;
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

void EventHub::OnEvents(const std::vector<engine::Event>& events) {
  std::lock_guard<std::mutex> lock(mu_);
  if (subs_.empty()) return;
  const auto now = Clock::now();
  bool gone = false;  // subscriptions closed here leave subs_
  for (const auto& e : events) {
    std::string data;  // serialized once, and only if someone listens
    for (const auto& sub : subs_) {
      std::lock_guard<std::mutex> sub_lock(sub->mu_);
      if (sub->closed_ || !sub->Wants(e.room)) continue;
      if (sub->Unread(now)) {
        sub->closed_ = gone = true;  // its reader is gone
        sub->queue_.clear();
      } else if (sub->queue_.size() >= max_queue_) {
        sub->closed_ = gone = true;  // too slow: it must reconnect and reload
      } else {
        if (data.empty()) data = EventPayloadJson(e);
        sub->queue_.push_back({e.name, data});
      }
      sub->cv_.notify_all();
    }
  }
  if (gone) {
    std::erase_if(subs_, [](const std::shared_ptr<Subscription>& sub) {
      std::lock_guard<std::mutex> sub_lock(sub->mu_);
      return sub->closed_;
    });
    has_subs_.store(!subs_.empty(), std::memory_order_relaxed);
  }
}

void EventHub::OnReady(const std::vector<std::string>& channels) {
  bool woke = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& c : channels) {
      auto it = waits_.find(c);
      if (it != waits_.end()) {
        ++it->second.gen;
        woke = true;
      }
    }
  }
  if (woke) wait_cv_.notify_all();
}

uint64_t EventHub::BeginWait(const std::string& channel) {
  std::lock_guard<std::mutex> lock(mu_);
  ChannelWait& w = waits_[channel];
  ++w.waiters;
  return w.gen;
}

bool EventHub::Wait(const std::string& channel, uint64_t& gen, Clock::time_point deadline,
                    const std::function<bool()>& still_wanted) {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (shutdown_) return false;
    if (waits_[channel].gen != gen) {
      gen = waits_[channel].gen;
      return true;
    }
    auto now = Clock::now();
    if (now >= deadline) return false;
    auto slice = std::min(deadline, now + std::chrono::milliseconds(100));
    wait_cv_.wait_until(lock, slice);
    if (Clock::now() >= slice && slice < deadline) {
      lock.unlock();
      bool wanted = still_wanted();
      lock.lock();
      if (!wanted) return false;
    }
  }
}

void EventHub::EndWait(const std::string& channel) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = waits_.find(channel);
  if (it != waits_.end() && --it->second.waiters <= 0) waits_.erase(it);
}

void EventHub::Shutdown() {
  std::vector<std::shared_ptr<Subscription>> subs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = true;
    subs = subs_;
  }
  wait_cv_.notify_all();
  for (const auto& sub : subs) {
    std::lock_guard<std::mutex> lock(sub->mu_);
    sub->closed_ = true;
    sub->cv_.notify_all();
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
  return static_cast<int64_t>(subs_.size());
}

}  // namespace crew::api
