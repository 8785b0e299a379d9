#include "util/clock.h"

#include <chrono>

namespace crew {

int64_t SystemClock::NowMs() const { return NowUs() / 1000; }

int64_t SystemClock::NowUs() const {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

SystemClock* SystemClock::Default() {
  static SystemClock clock;
  return &clock;
}

}  // namespace crew
