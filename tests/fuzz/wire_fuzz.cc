// Fuzz target: the HTTP/1.1 request parser (src/api/http_wire.h) on any bytes.
//
// The first byte of the input picks where the bytes are cut; the rest is a connection's input.
// Parsed once whole and once fed piece by piece, as the event loop feeds it (one request
// object and one RequestHead kept across the calls, the buffer growing), every request must
// come out the same both ways: state, status, bytes consumed and every field (but a refusal
// for size may meet a different refusal). Memory errors and undefined behaviour are the
// sanitizers' to find.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_wire.h"

namespace {

using crew::api::ParseRequest;
using crew::api::RequestHead;
using crew::api::WireLimits;
using crew::api::WireRequest;

// What one request came to: its wire result and the fields a handler reads.
struct Parsed {
  WireRequest w;
  httplib::Request req;
};

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "wire_fuzz: %s\n", what);
    std::abort();
  }
}

// A refusal for size (414, 431) can come before the head's end has arrived, where the whole
// head would have been refused for something else.
bool RefusedForSize(const Parsed& p) {
  return p.w.state == WireRequest::State::kRefused && (p.w.status == 414 || p.w.status == 431);
}

void ExpectSame(const Parsed& a, const Parsed& b) {
  if (a.w.state == WireRequest::State::kRefused && (RefusedForSize(a) || RefusedForSize(b)) &&
      b.w.state == WireRequest::State::kRefused) {
    return;
  }
  if (a.w.state != b.w.state || a.w.status != b.w.status || a.w.message != b.w.message) {
    std::fprintf(stderr, "whole: state %d status %d '%s'; in pieces: state %d status %d '%s'\n",
                 static_cast<int>(a.w.state), a.w.status, a.w.message.c_str(),
                 static_cast<int>(b.w.state), b.w.status, b.w.message.c_str());
  }
  Check(a.w.state == b.w.state, "state differs");
  Check(a.w.status == b.w.status, "status differs");
  Check(a.w.message == b.w.message, "message differs");
  if (a.w.state != WireRequest::State::kComplete) return;
  Check(a.w.consumed == b.w.consumed, "consumed differs");
  Check(a.w.keep_alive == b.w.keep_alive, "keep_alive differs");
  Check(a.req.method == b.req.method, "method differs");
  Check(a.req.target == b.req.target, "target differs");
  Check(a.req.path == b.req.path, "path differs");
  Check(a.req.version == b.req.version, "version differs");
  Check(a.req.params == b.req.params, "params differ");
  Check(a.req.headers == b.req.headers, "headers differ");
  Check(a.req.body == b.req.body, "body differs");
}

// Requests out of `input`, the buffer growing by `step` bytes at a time (all at once when 0),
// until one is refused, the input ends, or a request is still incomplete.
std::vector<Parsed> ParseAll(std::string_view input, size_t step, const WireLimits& limits) {
  std::vector<Parsed> out;
  size_t start = 0;  // the first byte of the current request
  size_t have = step == 0 ? input.size() : 0;
  Parsed cur;
  RequestHead head;
  while (true) {
    if (step != 0) have = std::min(input.size(), have + step);
    const std::string_view buf = input.substr(start, have - start);
    WireRequest w = ParseRequest(buf, limits, &cur.req, &head);
    Check(w.state != WireRequest::State::kComplete || w.consumed <= buf.size(),
          "consumed more than it was given");
    if (w.state == WireRequest::State::kIncomplete) {
      if (have < input.size()) continue;
      break;
    }
    cur.w = w;
    out.push_back(std::move(cur));
    cur = Parsed();
    head = RequestHead();
    if (w.state == WireRequest::State::kRefused || w.consumed == 0) break;
    start += w.consumed;
    if (start >= input.size()) break;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t step = 1 + data[0] % 64;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  WireLimits limits;  // small limits, so that the fuzzer reaches them
  limits.max_uri = 256;
  limits.max_head = 1024;
  limits.max_headers = 8;
  limits.max_body = 4096;
  const std::vector<Parsed> whole = ParseAll(input, 0, limits);
  const std::vector<Parsed> pieces = ParseAll(input, step, limits);
  Check(whole.size() == pieces.size(), "a different number of requests");
  for (size_t i = 0; i < whole.size(); ++i) ExpectSame(whole[i], pieces[i]);
  return 0;
}
