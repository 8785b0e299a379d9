// Latency samples of the load generators (bench/load/load.cc, bench/peers/beanstalk_load.cc):
// one definition of a percentile, so that Crew's and the peers' figures compare.
#pragma once

#include <algorithm>
#include <vector>

namespace crew_bench {

struct Latencies {
  std::vector<double> samples_ms;

  void Add(double ms) { samples_ms.push_back(ms); }
  void Merge(const Latencies& o) {
    samples_ms.insert(samples_ms.end(), o.samples_ms.begin(), o.samples_ms.end());
  }
  // The sample at rank floor(p * n) of the sorted samples (0 when there are none).
  double Pct(double p) {
    if (samples_ms.empty()) return 0;
    std::sort(samples_ms.begin(), samples_ms.end());
    size_t i = std::min(samples_ms.size() - 1, static_cast<size_t>(p * samples_ms.size()));
    return samples_ms[i];
  }
};

}  // namespace crew_bench
