// EventHub: fans the engine's published events out to realtime subscribers (SSE now, socket.io
// rooms later) and wakes long-poll acquirers (N1) when their channel gets a ready task.
//
// The engine calls OnEvents/OnReady from writer threads, in commit order; they only append to
// bounded per-subscriber queues and bump counters, so a slow subscriber never slows a writer: a
// subscriber whose queue overflows is closed (its queue dropped) and must reconnect (and reload).
// An event's message is built once and shared, immutable, by every queue that holds it. A queue
// is bounded by the bytes it holds as well as by its length, both above what one write publishes
// at once (a batch create of 100,000 tasks: ~50 MB), so a reader that keeps reading gets every
// event of such a write, while one that stopped reading is closed. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "api/hangup_watch.h"
#include "engine/engine.h"

namespace crew::api {

class EventHub final : public engine::EngineListener {
 public:
  using Clock = std::chrono::steady_clock;
  struct Message {
    std::string name;  // event name, e.g. "task:update"
    std::string data;  // its payload as one line of JSON
  };
  using MessagePtr = std::shared_ptr<const Message>;  // shared by every queue that holds it
  // Per-subscriber queue bounds; a message counts its name and data (shared or not).
  static constexpr size_t kMaxQueue = 1'000'000;
  static constexpr size_t kMaxQueueBytes = size_t{128} << 20;

  // What a reader of a batch waits, once a message came, for more to come with it: a publisher
  // wakes a waiting reader only, so a reader that lingers is woken once per batch instead of once
  // per event (every subscriber's wake-up was ~23 µs of the publishing request's path: one SSE
  // subscriber halved a W1 drain). Events reach a subscriber at most this much later.
  static constexpr Clock::duration kLinger = std::chrono::milliseconds(5);

  class Subscription {
   public:
    // The next message; null when `until` passed first (then `closed()` tells why).
    MessagePtr Next(Clock::time_point until);
    // The messages queued, in order: waits until `until` for one, then `linger` more (unless
    // max_count are queued already), and takes up to max_count of them, and no more once they
    // hold max_bytes (at least one). Empty when `until` passed first or it was closed.
    std::vector<MessagePtr> NextBatch(Clock::time_point until, Clock::duration linger,
                                      size_t max_count, size_t max_bytes);
    bool closed() const;
    // True once it was closed because its queue passed a bound (its reader fell behind).
    bool overflowed() const;
    // Queues a message of the subscriber's own (e.g. a protocol reply), within the same bounds
    // as events; false when closed (or closed now: it would overflow).
    bool Push(Message m);
    // Rooms this subscription hears ("" = every room). Changeable while subscribed.
    void Join(const std::string& room);
    void Leave(const std::string& room);
    // Closes it (its queue dropped) when an event comes for it after `limit` without a reader
    // in Next: a reader gone without a word (a socket.io client's tab killed) then holds no
    // events. Unset: never.
    void CloseWhenUnread(Clock::duration limit);

   private:
    friend class EventHub;
    bool Wants(const std::string& room) const;  // REQUIRES: mu_ held
    bool Unread(Clock::time_point now) const;   // REQUIRES: mu_ held
    // Queues m, or closes it when m would pass a bound; false when closed. REQUIRES: mu_ held
    bool Enqueue(MessagePtr m);
    void CloseLocked();  // drops the queue and wakes the reader. REQUIRES: mu_ held
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::set<std::string> rooms_;
    bool all_rooms_ = false;
    size_t max_queue_ = kMaxQueue;             // (set by Subscribe)
    size_t max_queue_bytes_ = kMaxQueueBytes;  // (set by Subscribe)
    std::deque<MessagePtr> queue_;
    size_t queue_bytes_ = 0;
    bool closed_ = false;
    bool overflowed_ = false;
    std::optional<Clock::duration> unread_limit_;
    int reading_ = 0;  // readers waiting in Next or NextBatch (those a publisher wakes)
    Clock::time_point last_read_ = Clock::now();
  };

  explicit EventHub(size_t max_queue = kMaxQueue, size_t max_queue_bytes = kMaxQueueBytes)
      : max_queue_(max_queue), max_queue_bytes_(max_queue_bytes) {}

  std::shared_ptr<Subscription> Subscribe(const std::string& room);  // "" = every room
  // Called by Subscribe once the subscription hears events: the engine's Settle (engine.h,
  // EngineListener::WantsTaskEvents). Null: none.
  void SetSettle(std::function<void()> settle);
  void Unsubscribe(const std::shared_ptr<Subscription>& sub);

  // Long-poll: BeginWait before trying to acquire, then Wait until the channel may have a task,
  // and EndWait at the end. A ready task wakes one waiter, not all: a channel holds one wake-up
  // at most, which OnReady gives and the first Wait takes; the waiter it woke passes it on
  // (EndWait) once it got a task, or if it took none for its client had gone, so that the
  // tasks of a batch wake one waiter after another, and the wake-up that finds nothing left
  // ends there. (Every ready task woke every waiter of its channel: 64 idle long polls on a
  // channel cost ~10 µs of CPU each per task.)
  void BeginWait(const std::string& channel);
  // True when woken for a ready task (the channel's wake-up taken); false on deadline,
  // shutdown, or once the client on socket `client_fd` (-1: none) hung up and still_there()
  // agrees (or at once without a BeginWait). Nothing runs while it waits: the hang-up is told
  // by HangupWatch's thread (a socket it cannot watch is asked every 100 ms instead). The
  // channel's wake-up goes to the waiter asleep longest.
  bool Wait(const std::string& channel, Clock::time_point deadline, int client_fd,
            const std::function<bool()>& still_there);
  // pass_on: a task may be left for another waiter (this one got one, or took a wake-up it did
  // not use).
  void EndWait(const std::string& channel, bool pass_on);

  // Long-poll acquirers waiting now, and open subscriptions (SSE, socket.io; not those unread
  // past their limit, which the next publish drops): for /metrics.
  int64_t waiters() const;
  int64_t subscribers() const;

  // Wakes every waiter and closes every subscription; later waits return at once.
  void Shutdown();
  bool shutting_down() const;

  void OnEvents(const std::vector<engine::Event>& events) override;
  bool WantsTaskEvents() const override { return has_subs_.load(std::memory_order_relaxed); }
  void OnReady(const std::vector<std::string>& channels) override;

 private:
  // A waiter asleep in Wait, woken alone: by its channel's wake-up when it is the first asleep,
  // by its client's hang-up, or at shutdown. (One condition variable for all woke every waiter
  // of every channel at each task: 31 ms of CPU per task with 1,600 waiters on other channels;
  // one per channel woke all of a channel's waiters at each hang-up of one.)
  struct Sleeper {
    std::condition_variable cv;
    bool hung_up = false;  // told by HangupWatch. GUARDED_BY(mu_)
  };
  // A channel's waiters (N1).
  struct ChannelWait {
    int waiters = 0;             // between BeginWait and EndWait
    bool wake = false;           // the channel's wake-up, given and not yet taken
    std::list<Sleeper*> asleep;  // those in Wait, first come first
  };                             // (waits_ is a map: an entry stays where it is while waited on)
  // Gives the channel's wake-up to one of its waiters, unless one is under way. REQUIRES: mu_
  void Wake(ChannelWait& w);
  // Closes the subscriptions unread past their limit and lets go of every closed one.
  void DropClosed(Clock::time_point now);  // REQUIRES: mu_ held

  const size_t max_queue_;
  const size_t max_queue_bytes_;
  mutable std::mutex mu_;
  std::map<std::string, ChannelWait> waits_;         // GUARDED_BY(mu_)
  std::vector<std::shared_ptr<Subscription>> subs_;  // GUARDED_BY(mu_)
  bool shutdown_ = false;                            // GUARDED_BY(mu_)
  std::atomic<bool> has_subs_{false};                // !subs_.empty(), read without mu_
  std::function<void()> settle_;                     // GUARDED_BY(mu_)
  HangupWatch hangups_;  // (last: gone first, as what it calls uses the members above)
};

}  // namespace crew::api
