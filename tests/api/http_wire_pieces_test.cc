// api/http_wire: a request read in pieces is the request read at once. loop_server keeps the
// Request and the RequestHead between reads, so what the head said of the body must carry over
// from the read that completed the head to the one that completes the body, whatever the bytes.
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_wire_test_util.h"

namespace crew::api {
namespace {

struct Outcome {
  State state = State::kIncomplete;
  size_t consumed = 0;
  bool keep_alive = true;
  int status = 0;
  std::string method, path, body;
  httplib::Headers headers;
};

Outcome Of(const WireRequest& w, const httplib::Request& req) {
  Outcome o;
  o.state = w.state;
  o.consumed = w.consumed;
  o.keep_alive = w.keep_alive;
  o.status = w.status;
  if (w.state == State::kComplete) {
    o.method = req.method;
    o.path = req.path;
    o.body = req.body;
    o.headers = req.headers;
  }
  return o;
}

Outcome AtOnce(std::string_view buf) {
  httplib::Request req;
  return Of(Parse(buf, &req), req);
}

// Every prefix in turn, as the bytes would arrive one by one, up to the first answer.
Outcome OneByteAtATime(std::string_view buf) {
  httplib::Request req;
  RequestHead head;
  WireRequest w;
  for (size_t n = 1; n <= buf.size(); ++n) {
    w = ParseRequest(buf.substr(0, n), WireLimits{}, &req, &head);
    if (w.state != State::kIncomplete) break;
  }
  return Of(w, req);
}

void ExpectSame(const Outcome& a, const Outcome& b) {
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.consumed, b.consumed);
  EXPECT_EQ(a.status, b.status);
  if (a.state == State::kIncomplete) return;  // (keep_alive is not yet known)
  EXPECT_EQ(a.keep_alive, b.keep_alive);
  EXPECT_EQ(a.method, b.method);
  EXPECT_EQ(a.path, b.path);
  EXPECT_EQ(a.body, b.body);
  EXPECT_EQ(a.headers, b.headers);
}

TEST(HttpWire, ARequestReadInPiecesIsTheRequestReadAtOnce) {
  const std::vector<std::string> seeds = {
      "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\n\r\n",
      "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n",
      "PUT /c?x=1 HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
      "POST /d HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\nX-A: 1\r\n\r\nxyz",
      "GET /e%20f HTTP/1.1\r\nAccept: */*\r\ncontent-length: 0\r\n\r\n",
  };
  // Mutations that move through the framing's cases: digits, separators, line ends, names.
  const std::vector<std::string> pieces = {"0",
                                           "7",
                                           "a",
                                           ";",
                                           ":",
                                           " ",
                                           "\r\n",
                                           "\n",
                                           "\r\n\r\n",
                                           "Content-Length: 1\r\n",
                                           "Transfer-Encoding: chunked\r\n",
                                           "Connection: close\r\n",
                                           "Expect: 100-continue\r\n"};
  std::mt19937 rng(20261206);
  int complete = 0, refused = 0, incomplete = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string buf = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % (buf.size() + 1);
      switch (rng() % 3) {
        case 0:
          buf.insert(at, pieces[rng() % pieces.size()]);
          break;
        case 1:
          if (at < buf.size()) buf.erase(at, 1 + rng() % 4);
          break;
        default:
          if (at < buf.size()) buf[at] = static_cast<char>(rng() % 128);
      }
    }
    SCOPED_TRACE(buf);
    const Outcome once = AtOnce(buf);
    ExpectSame(once, OneByteAtATime(buf));
    if (::testing::Test::HasFailure()) return;  // (one input's trace is enough)
    (once.state == State::kComplete  ? complete
     : once.state == State::kRefused ? refused
                                     : incomplete)++;
  }
  // The mutations reach each outcome (else this test would say little).
  EXPECT_GT(complete, 300);
  EXPECT_GT(refused, 300);
  EXPECT_GT(incomplete, 50);
}

}  // namespace
}  // namespace crew::api
