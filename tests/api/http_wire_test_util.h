// Helpers of the http_wire tests: one parse as loop_server calls it, and what every refusal is.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "api/http_wire.h"

namespace crew::api {

using State = WireRequest::State;

// One call the way loop_server makes it: a fresh RequestHead unless the caller passes its own.
inline WireRequest Parse(std::string_view buf, httplib::Request* req,
                         const WireLimits& limits = {}) {
  RequestHead parsed;
  return ParseRequest(buf, limits, req, &parsed);
}

// Every refusal: the status, the state, and a connection that is closed afterwards.
inline void ExpectRefused(const WireRequest& w, int status) {
  EXPECT_EQ(w.state, State::kRefused);
  EXPECT_EQ(w.status, status);
  EXPECT_FALSE(w.keep_alive);
  EXPECT_FALSE(w.message.empty());
}

// As ExpectRefused, with the caller's line in any failure message.
#define EXPECT_REFUSED(w, status)   \
  do {                              \
    SCOPED_TRACE("EXPECT_REFUSED"); \
    ExpectRefused((w), (status));   \
  } while (0)

inline WireRequest RefusedFor(std::string_view buf, const WireLimits& limits = {}) {
  httplib::Request req;
  return Parse(buf, &req, limits);
}

}  // namespace crew::api
