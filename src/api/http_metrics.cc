#include "api/http_metrics.h"

#include <iterator>

namespace crew::api {

namespace {

constexpr size_t kMaxSegments = 64;

// The segments of a path ("/a/b/" -> a, b, ""), at most kMaxSegments + 1 of them.
size_t Split(std::string_view path, std::array<std::string_view, kMaxSegments + 1>& out) {
  size_t n = 0;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (n <= kMaxSegments) {
    size_t slash = path.find('/');
    out[n++] = path.substr(0, slash);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return n;
}

bool IsParam(const std::string& part) { return part.size() > 2 && part.front() == '{'; }

bool PartMatches(const std::string& part, std::string_view segment) {
  return IsParam(part) ? !segment.empty() : part == segment;
}

constexpr std::string_view kMethods[] = {"GET",  "POST",    "PUT",   "DELETE",
                                         "HEAD", "OPTIONS", "PATCH", "other"};

int MethodIndex(std::string_view method) {
  constexpr int kOther = std::size(kMethods) - 1;
  for (int i = 0; i < kOther; ++i) {
    if (method == kMethods[i]) return i;
  }
  return kOther;
}

}  // namespace

HttpMetrics::HttpMetrics(const std::vector<std::string>& templates) {
  for (const std::string& t : templates) {
    Route r;
    std::array<std::string_view, kMaxSegments + 1> parts;
    size_t n = Split(t, parts);
    for (size_t i = 0; i < n; ++i) {
      r.parts.emplace_back(parts[i]);
      if (r.parts.back() == "{channel}") r.multi = static_cast<int>(i);
      // The README's notation: {id} -> :id.
      r.label += "/";
      r.label += IsParam(r.parts.back()) ? ":" + r.parts.back().substr(1, r.parts.back().size() - 2)
                                         : r.parts.back();
    }
    routes_.push_back(std::move(r));
  }
  routes_.push_back(Route{"other", {}, -1});  // unknown /api/ paths
  routes_.push_back(Route{"/*", {}, -1});     // the dashboard's files, unknown pages
}

int HttpMetrics::RouteIndex(std::string_view path) const {
  const int templates = static_cast<int>(routes_.size()) - 2;
  if (path.empty()) return templates;  // refused before its request line was read: "other"
  std::array<std::string_view, kMaxSegments + 1> seg;
  size_t n = Split(path, seg);
  for (int i = 0; i < templates && n <= kMaxSegments; ++i) {
    const Route& r = routes_[i];
    const size_t parts = r.parts.size();
    if (r.multi < 0 ? n != parts : n < parts) continue;
    bool match = true;
    // Parts before the multi-segment parameter match from the front, the rest from the back.
    for (size_t k = 0; k < parts && match; ++k) {
      bool from_back = r.multi >= 0 && static_cast<int>(k) > r.multi;
      size_t at = from_back ? n - (parts - k) : k;
      match = PartMatches(r.parts[k], seg[at]);
    }
    if (match) return i;
  }
  return path.rfind("/api/", 0) == 0 ? templates : templates + 1;
}

const std::string& HttpMetrics::RouteOf(std::string_view path) const {
  return routes_[RouteIndex(path)].label;
}

void HttpMetrics::Observe(std::string_view method, int route, int status,
                          std::optional<double> seconds) {
  const int m = MethodIndex(method);
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{route, m, status}];
  if (!seconds) return;
  Histogram& h = durations_[route];
  for (size_t b = 0; b < kBuckets.size(); ++b) {
    if (*seconds <= kBuckets[b]) {
      ++h.buckets[b];
      break;
    }
  }
  ++h.count;
  h.sum += *seconds;
}

void HttpMetrics::Render(PromText& out) const {
  std::lock_guard<std::mutex> lock(mu_);
  out.Family("crew_http_requests_total", "counter",
             "HTTP requests answered, by method, route template and status code.");
  for (const auto& [key, count] : requests_) {
    const auto& [route, method, status] = key;
    std::string code = std::to_string(status);
    out.Sample("crew_http_requests_total",
               {{"method", kMethods[method]}, {"route", routes_[route].label}, {"code", code}},
               count);
  }
  out.Family("crew_http_request_duration_seconds", "histogram",
             "Time from a request's start (the event loop woke to its bytes; routing, for a "
             "request run on a pool thread) until its answer's headers, by route template.");
  for (const auto& [route, h] : durations_) {
    const std::string& label = routes_[route].label;
    int64_t cumulative = 0;
    for (size_t b = 0; b < kBuckets.size(); ++b) {
      cumulative += h.buckets[b];
      std::string le = PromText::Number(kBuckets[b]);
      out.Sample("crew_http_request_duration_seconds_bucket", {{"route", label}, {"le", le}},
                 cumulative);
    }
    out.Sample("crew_http_request_duration_seconds_bucket", {{"route", label}, {"le", "+Inf"}},
               h.count);
    out.Sample("crew_http_request_duration_seconds_sum", {{"route", label}}, h.sum);
    out.Sample("crew_http_request_duration_seconds_count", {{"route", label}}, h.count);
  }
}

}  // namespace crew::api
