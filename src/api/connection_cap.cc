#include "api/connection_cap.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdint>

#include <spdlog/spdlog.h>

namespace crew::api {

size_t ConnectionLimit() {
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return SIZE_MAX;
  const size_t files = limit.rlim_cur;
  const size_t reserve = std::max<size_t>(128, files / 8);
  return files > reserve ? files - reserve : 1;
}

void LogConnectionsFull(size_t open, std::chrono::steady_clock::time_point* logged_at) {
  const auto now = std::chrono::steady_clock::now();
  if (now - *logged_at < std::chrono::minutes(1)) return;
  spdlog::warn(
      "{} connections open, the most the open-file limit allows; not accepting until some close",
      open);
  *logged_at = now;
}

}  // namespace crew::api
