// WorkCounters: running totals of the engine's work since the process started (SPEC N6, for
// /metrics). A Txn collects its counts in a WorkCounts and the engine adds them once the Txn
// committed, so a mutation that failed counts nothing. Thread-safe: relaxed atomic increments,
// read at any time (a scrape may see one mutation's counts half added; totals stay monotonic).
#pragma once

#include <atomic>
#include <cstdint>

namespace crew::engine {

struct WorkCounts {
  int64_t tasks_created = 0;   // by create, batch create, release children and pluck
  int64_t tasks_acquired = 0;  // handed to a worker (duplicates locked with one not counted)
  int64_t released_ok = 0;     // released with output (a late release of a done task not counted)
  int64_t released_error = 0;  // released with an error
  int64_t leases_expired = 0;  // abandoned tasks freed (D2)
};

class WorkCounters {
 public:
  void Add(const WorkCounts& c) {
    Bump(tasks_created_, c.tasks_created);
    Bump(tasks_acquired_, c.tasks_acquired);
    Bump(released_ok_, c.released_ok);
    Bump(released_error_, c.released_error);
    Bump(leases_expired_, c.leases_expired);
  }
  WorkCounts Snapshot() const {
    WorkCounts c;
    c.tasks_created = tasks_created_.load(std::memory_order_relaxed);
    c.tasks_acquired = tasks_acquired_.load(std::memory_order_relaxed);
    c.released_ok = released_ok_.load(std::memory_order_relaxed);
    c.released_error = released_error_.load(std::memory_order_relaxed);
    c.leases_expired = leases_expired_.load(std::memory_order_relaxed);
    return c;
  }

 private:
  static void Bump(std::atomic<int64_t>& a, int64_t n) {
    if (n) a.fetch_add(n, std::memory_order_relaxed);
  }
  std::atomic<int64_t> tasks_created_{0}, tasks_acquired_{0}, released_ok_{0}, released_error_{0},
      leases_expired_{0};
};

}  // namespace crew::engine
