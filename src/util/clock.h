// Clock: the one source of time, in milliseconds since the Unix epoch (UTC).
// Injected everywhere so engine tests drive a ManualClock instead of sleeping (STYLE.md §8).
// SystemClock and ManualClock are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>

namespace crew {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMs() const = 0;
  // Microseconds; used for ids, which must be unique and increasing.
  virtual int64_t NowUs() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override;
  int64_t NowUs() const override;
  static SystemClock* Default();
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_ms) : now_us_(now_ms * 1000) {}
  int64_t NowMs() const override { return now_us_.load() / 1000; }
  int64_t NowUs() const override { return now_us_.load(); }
  void AdvanceMs(int64_t ms) { now_us_ += ms * 1000; }
  void SetMs(int64_t ms) { now_us_ = ms * 1000; }

 private:
  std::atomic<int64_t> now_us_;
};

}  // namespace crew
