// HttpMetrics: counts of the requests served, by method, route and status, and a histogram of
// their durations by route (SPEC N6, /metrics). The route label is the path template of the
// OpenAPI document that matches the path, written as the README writes routes
// ("/api/v1/task/:id/release"), "other" for any other /api/ path (and an empty one: a request
// refused before its request line was read) and "/*" for the rest (the
// dashboard's files), so ids, channel names and unknown paths never become label values: the
// number of series is bounded. A `{channel}` parameter
// matches one or more path segments (channel names may hold a slash), any other one segment.
// A request the Router routed is labelled by its route, matched once against the templates
// (Router::Label): the same label, without matching each path against every template.
// Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "api/prometheus.h"

namespace crew::api {

class HttpMetrics {
 public:
  // Upper bounds (seconds) of the duration buckets; long polls wait up to 60 s.
  static constexpr std::array<double, 8> kBuckets = {0.001, 0.005, 0.025, 0.1, 0.5, 2.5, 10, 60};

  // `templates`: OpenAPI path templates ("/api/v1/task/{id}").
  explicit HttpMetrics(const std::vector<std::string>& templates);

  // The route label of a request path, and its index (for Observe).
  const std::string& RouteOf(std::string_view path) const;
  int RouteIndex(std::string_view path) const;
  // One answered request; `seconds` unset when its start is unknown (a malformed request).
  void Observe(std::string_view method, std::string_view path, int status,
               std::optional<double> seconds) {
    Observe(method, RouteIndex(path), status, seconds);
  }
  // The same, with the route's index known (a route of the Router labelled once: Router::Label).
  void Observe(std::string_view method, int route, int status, std::optional<double> seconds);
  // crew_http_requests_total and crew_http_request_duration_seconds.
  void Render(PromText& out) const;

 private:
  struct Route {
    std::string label;
    std::vector<std::string> parts;  // path segments; "{name}" for a parameter
    int multi = -1;                  // index of the {channel} part, if any
  };
  struct Histogram {
    std::array<int64_t, kBuckets.size()> buckets{};  // not cumulative
    int64_t count = 0;
    double sum = 0;
  };

  std::vector<Route> routes_;  // immutable after construction; then "other", "/*"
  mutable std::mutex mu_;
  // (route index, method index, status) -> count
  std::map<std::tuple<int, int, int>, int64_t> requests_;  // GUARDED_BY(mu_)
  std::map<int, Histogram> durations_;                     // GUARDED_BY(mu_)
};

}  // namespace crew::api
