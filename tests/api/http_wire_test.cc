// api/http_wire: the request line, headers and limits of HTTP/1.1 requests, and framing answers
// (loop_server's parser). Bodies: http_wire_body_test.cc.
#include "api/http_wire_test_util.h"

#include <string>
#include <string_view>

namespace crew::api {
namespace {

TEST(HttpWire, SimpleGetWithQueryKeepsThePathAsSentAndDecodesParams) {
  const std::string buf =
      "GET /api/v1/a%20b/c%2Fd+e?name=J%C3%B6rg+Smith&x=1%262&empty= HTTP/1.1\r\n"
      "Host: example.com\r\n"
      "Accept:  */*  \r\n"
      "\r\n";
  httplib::Request req;
  RequestHead parsed;
  WireRequest w = ParseRequest(buf, WireLimits{}, &req, &parsed);
  ASSERT_EQ(w.state, State::kComplete);
  EXPECT_EQ(w.consumed, buf.size());
  EXPECT_EQ(parsed.len, buf.size());
  EXPECT_TRUE(w.keep_alive);
  EXPECT_FALSE(w.need_continue);
  EXPECT_EQ(w.status, 0);
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.version, "HTTP/1.1");
  EXPECT_EQ(req.target, "/api/v1/a%20b/c%2Fd+e?name=J%C3%B6rg+Smith&x=1%262&empty=");
  // As sent: the router matches it so, and decodes the parameter it matched (router.h).
  EXPECT_EQ(req.path, "/api/v1/a%20b/c%2Fd+e");
  ASSERT_EQ(req.params.size(), 3u);
  EXPECT_EQ(req.get_param_value("name"), "J\xC3\xB6rg Smith");  // '+' is a space in a query
  EXPECT_EQ(req.get_param_value("x"), "1&2");
  EXPECT_TRUE(req.has_param("empty"));
  EXPECT_EQ(req.get_param_value("empty"), "");
  EXPECT_EQ(req.get_header_value("Host"), "example.com");
  EXPECT_EQ(req.get_header_value("host"), "example.com");
  EXPECT_EQ(req.get_header_value("Accept"), "*/*");  // value trimmed both sides
  EXPECT_EQ(req.headers.size(), 2u);
  EXPECT_EQ(req.body, "");
}

TEST(HttpWire, GetWithoutQueryHasNoParams) {
  const std::string buf = "DELETE /x HTTP/1.1\r\n\r\n";
  httplib::Request req;
  req.params.emplace("stale", "1");  // left over from a previous request on the same object
  WireRequest w = Parse(buf, &req);
  ASSERT_EQ(w.state, State::kComplete);
  EXPECT_EQ(w.consumed, buf.size());
  EXPECT_EQ(req.method, "DELETE");
  EXPECT_EQ(req.path, "/x");
  EXPECT_EQ(req.target, "/x");
  EXPECT_TRUE(req.params.empty());
}

TEST(HttpWire, IncompleteHeadIsIncomplete) {
  const std::string full = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";
  for (size_t n = 0; n < full.size(); ++n) {
    httplib::Request req;
    RequestHead parsed;
    WireRequest w = ParseRequest(std::string_view(full).substr(0, n), WireLimits{}, &req, &parsed);
    EXPECT_EQ(w.state, State::kIncomplete) << "prefix of " << n << " bytes";
    EXPECT_EQ(w.consumed, 0u);
    EXPECT_EQ(parsed.len, 0u) << "prefix of " << n << " bytes";
  }
}

TEST(HttpWire, MalformedRequestLineIs400) {
  for (const char* line : {
           "GET\r\n\r\n",               // method only
           "GET /\r\n\r\n",             // no version
           "GET  / HTTP/1.1\r\n\r\n",   // two spaces after the method
           "GET /  HTTP/1.1\r\n\r\n",   // two spaces before the version
           "GET / HTTP/1.1 \r\n\r\n",   // trailing space
           " GET / HTTP/1.1\r\n\r\n",   // leading space
           "GET  HTTP/1.1\r\n\r\n",     // empty target
           "GET / x HTTP/1.1\r\n\r\n",  // four parts
           "\r\n\r\n",                  // empty request line
       }) {
    SCOPED_TRACE(line);
    EXPECT_REFUSED(RefusedFor(line), 400);
  }
}

TEST(HttpWire, UnknownMethodIs400) {
  for (const char* line :
       {"BREW /pot HTTP/1.1\r\n\r\n", "get / HTTP/1.1\r\n\r\n",
        "CONNECT example.com:443 HTTP/1.1\r\n\r\n", "TRACE / HTTP/1.1\r\n\r\n"}) {
    SCOPED_TRACE(line);
    EXPECT_REFUSED(RefusedFor(line), 400);
  }
  // Every supported method is accepted.
  for (const char* method : {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"}) {
    httplib::Request req;
    const std::string buf = std::string(method) + " / HTTP/1.1\r\n\r\n";
    WireRequest w = Parse(buf, &req);
    EXPECT_EQ(w.state, State::kComplete) << method;
    EXPECT_EQ(req.method, method);
  }
}

TEST(HttpWire, UnsupportedVersionIs400) {
  for (const char* line :
       {"GET / HTTP/2.0\r\n\r\n", "GET / HTTP/0.9\r\n\r\n", "GET / http/1.1\r\n\r\n",
        "GET / HTTP/1.10\r\n\r\n", "GET / HTTP/1\r\n\r\n"}) {
    SCOPED_TRACE(line);
    EXPECT_REFUSED(RefusedFor(line), 400);
  }
}

TEST(HttpWire, TargetOverMaxUriIs414) {
  WireLimits limits;
  limits.max_uri = 64;
  const std::string at_limit = "/" + std::string(63, 'a');
  const std::string over = "/" + std::string(64, 'a');
  httplib::Request req;
  WireRequest w = Parse("GET " + at_limit + " HTTP/1.1\r\n\r\n", &req, limits);
  ASSERT_EQ(w.state, State::kComplete);
  EXPECT_EQ(req.path, at_limit);
  EXPECT_REFUSED(RefusedFor("GET " + over + " HTTP/1.1\r\n\r\n", limits), 414);
  // The complete request line is enough; the rest of the head need not have arrived.
  EXPECT_REFUSED(RefusedFor("GET " + over + " HTTP/1.1\r\nHost: a\r\n", limits), 414);
}

TEST(HttpWire, IncompleteRequestLineAlreadyTooLongIs414) {
  WireLimits limits;
  limits.max_uri = 64;
  // No line end yet, but far more bytes than any valid request line could have.
  EXPECT_REFUSED(RefusedFor("GET /" + std::string(200, 'a'), limits), 414);
  EXPECT_REFUSED(RefusedFor("GET /" + std::string(10000, 'a'), WireLimits{}), 414);
  // A line that may still turn out valid (a target at the limit, version still coming) waits.
  httplib::Request req;
  WireRequest w = Parse("OPTIONS /" + std::string(63, 'a') + " HTTP/1.", &req, limits);
  EXPECT_EQ(w.state, State::kIncomplete);
}

TEST(HttpWire, HeadOverMaxHeadIs431) {
  WireLimits limits;
  limits.max_head = 256;
  const std::string line = "GET / HTTP/1.1\r\n";
  const std::string big = "X-Big: " + std::string(300, 'b') + "\r\n";
  // The whole head has arrived.
  EXPECT_REFUSED(RefusedFor(line + big + "\r\n", limits), 431);
  // The head is still coming, and already too long.
  EXPECT_REFUSED(RefusedFor(line + big, limits), 431);
  EXPECT_REFUSED(RefusedFor(line + "X-Big: " + std::string(300, 'b'), limits), 431);
  // Just under the limit is fine.
  std::string ok = line + "X-Fill: ";
  ok += std::string(256 - ok.size() - 4, 'f') + "\r\n\r\n";
  ASSERT_EQ(ok.size(), 256u);
  httplib::Request req;
  WireRequest w = Parse(ok, &req, limits);
  ASSERT_EQ(w.state, State::kComplete);
  EXPECT_EQ(w.consumed, ok.size());
}

TEST(HttpWire, MoreThanMaxHeadersIs431) {
  WireLimits limits;
  limits.max_headers = 3;
  std::string head = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 3; ++i) head += "X-H" + std::to_string(i) + ": v\r\n";
  httplib::Request req;
  WireRequest w = Parse(head + "\r\n", &req, limits);
  ASSERT_EQ(w.state, State::kComplete);
  EXPECT_EQ(req.headers.size(), 3u);

  EXPECT_REFUSED(RefusedFor(head + "X-H3: v\r\n\r\n", limits), 431);
  // The body's framing counts too, though it is not among the request's headers.
  EXPECT_REFUSED(
      RefusedFor("POST / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nContent-Length: 0\r\n\r\n", limits),
      431);
  // Repeats of one name count too.
  EXPECT_REFUSED(RefusedFor("GET / HTTP/1.1\r\nA: 1\r\nA: 2\r\nA: 3\r\nA: 4\r\n\r\n", limits), 431);
}

TEST(HttpWire, HeaderWithoutColonIs400) {
  EXPECT_REFUSED(RefusedFor("GET / HTTP/1.1\r\nHost example.com\r\n\r\n"), 400);
  EXPECT_REFUSED(RefusedFor("GET / HTTP/1.1\r\nNoColon\r\n\r\n"), 400);
  EXPECT_REFUSED(RefusedFor("GET / HTTP/1.1\r\n: no name\r\n\r\n"), 400);
}

TEST(HttpWire, HeaderWithSpaceBeforeColonIs400) {
  EXPECT_REFUSED(RefusedFor("GET / HTTP/1.1\r\nHost : example.com\r\n\r\n"), 400);
  EXPECT_REFUSED(RefusedFor("GET / HTTP/1.1\r\nHost\t: example.com\r\n\r\n"), 400);
  EXPECT_REFUSED(RefusedFor("POST / HTTP/1.1\r\nContent-Length : 3\r\n\r\nabc"), 400);
}

TEST(HttpWire, ObsFoldLineIs400) {
  EXPECT_REFUSED(RefusedFor("GET / HTTP/1.1\r\nX-Long: first\r\n second\r\n\r\n"), 400);
  EXPECT_REFUSED(RefusedFor("GET / HTTP/1.1\r\nX-Long: first\r\n\tsecond\r\n\r\n"), 400);
  EXPECT_REFUSED(RefusedFor("GET / HTTP/1.1\r\n Host: a\r\n\r\n"), 400);
}

TEST(HttpWire, HeaderValueWithNulOrBareCarriageReturnIs400) {
  using namespace std::string_literals;
  EXPECT_REFUSED(RefusedFor("GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n"s), 400);
  EXPECT_REFUSED(RefusedFor("GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n"), 400);
}

// Names and values are scanned eight bytes at a time: a bad byte is found at every position of
// a word and of the shorter tail, and a long clean header keeps its name and value.
TEST(HttpWire, HeaderBytesAreCheckedAtEveryPosition) {
  for (size_t len = 1; len <= 24; ++len) {
    const std::string name(len, 'n'), value(len, 'v');
    httplib::Request req;
    ASSERT_EQ(Parse("GET / HTTP/1.1\r\n" + name + ": " + value + "\r\n\r\n", &req).state,
              State::kComplete)
        << len;
    EXPECT_EQ(req.get_header_value(name), value);
    for (size_t at = 0; at < len; ++at) {
      for (char bad : {'\0', '\r'}) {
        std::string v = value;
        v[at] = bad;
        EXPECT_REFUSED(RefusedFor("GET / HTTP/1.1\r\nX: " + v + "\r\n\r\n"), 400);
      }
      for (char blank : {' ', '\t'}) {
        std::string n = name;
        n[at] = blank;
        EXPECT_REFUSED(RefusedFor("GET / HTTP/1.1\r\n" + n + ": v\r\n\r\n"), 400);
      }
    }
  }
}

// The absolute form names the resource its path names (RFC 9112 §3.2.2).
TEST(HttpWire, AbsoluteFormTargetIsRoutedByItsPath) {
  httplib::Request req;
  ASSERT_EQ(Parse("GET http://example.com:3000/api/v1/x?limit=2 HTTP/1.1\r\n\r\n", &req).state,
            State::kComplete);
  EXPECT_EQ(req.path, "/api/v1/x");
  EXPECT_EQ(req.get_param_value("limit"), "2");
  httplib::Request bare;
  ASSERT_EQ(Parse("GET HTTPS://example.com HTTP/1.1\r\n\r\n", &bare).state, State::kComplete);
  EXPECT_EQ(bare.path, "/");
}

TEST(HttpWire, KeepAliveRules) {
  struct Case {
    const char* head;
    bool keep_alive;
  } cases[] = {
      {"GET / HTTP/1.1\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nConnection: Close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nconnection: Upgrade, close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", true},
      {"GET / HTTP/1.0\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive, Upgrade\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: Upgrade ,  Keep-Alive \r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: Upgrade\r\n\r\n", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.head);
    httplib::Request req;
    WireRequest w = Parse(c.head, &req);
    ASSERT_EQ(w.state, State::kComplete);
    EXPECT_EQ(w.keep_alive, c.keep_alive);
  }
}

TEST(HttpWire, BareNewlineLineEndingsAccepted) {
  const std::string buf = "POST /p?q=a+b HTTP/1.1\nHost: h\nContent-Length: 3\r\nX-Mixed: m\n\nabc";
  httplib::Request req;
  RequestHead parsed;
  WireRequest w = ParseRequest(buf, WireLimits{}, &req, &parsed);
  ASSERT_EQ(w.state, State::kComplete);
  EXPECT_EQ(w.consumed, buf.size());
  EXPECT_EQ(parsed.len, buf.size() - 3);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.version, "HTTP/1.1");
  EXPECT_EQ(req.target, "/p?q=a+b");
  EXPECT_EQ(req.path, "/p");
  EXPECT_EQ(req.get_param_value("q"), "a b");
  EXPECT_EQ(req.get_header_value("Host"), "h");
  EXPECT_EQ(req.get_header_value("X-Mixed"), "m");
  EXPECT_EQ(req.body, "abc");
}

// AnswerHead's text without its Date line, which must follow the status line (RFC 9110
// §6.6.1: "Date: Mon, 07 Dec 2026 04:20:00 GMT").
std::string Head(const httplib::Response& res, size_t content_length, bool chunked, bool close,
                 const httplib::Headers& defaults = {}) {
  std::string head = AnswerHead(res, content_length, chunked, close, defaults);
  const size_t start = head.find("\r\n") + 2, end = head.find("\r\n", start) + 2;
  const std::string date = head.substr(start, end - start);
  EXPECT_TRUE(date.starts_with("Date: ") && date.ends_with(" GMT\r\n") && date.size() == 37)
      << date;
  return head.erase(start, end - start);
}

TEST(HttpWire, AnswerHeadWithHeaderAndContentLength) {
  httplib::Response res;
  res.status = 200;
  res.set_header("Content-Type", "application/json");
  EXPECT_EQ(Head(res, 42, /*chunked=*/false, /*close=*/false),
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 42\r\n"
            "\r\n");
}

TEST(HttpWire, AnswerHeadChunked) {
  httplib::Response res;
  res.status = 200;
  res.set_header("Content-Type", "text/event-stream");
  EXPECT_EQ(Head(res, 0, /*chunked=*/true, /*close=*/false),
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/event-stream\r\n"
            "Transfer-Encoding: chunked\r\n"
            "\r\n");
}

TEST(HttpWire, AnswerHeadAddsTheDefaultsTheAnswerLacks) {
  httplib::Response res;
  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  const httplib::Headers defaults = {{"Access-Control-Allow-Origin", "*"},
                                     {"Cache-Control", "no-store"}};
  EXPECT_EQ(Head(res, 0, false, false, defaults),
            "HTTP/1.1 200 OK\r\nCache-Control: no-cache\r\nAccess-Control-Allow-Origin: *\r\n"
            "Content-Length: 0\r\n\r\n");
  // A header name's case does not matter: the answer's own "cache-control" stands.
  httplib::Response lower;
  lower.status = 200;
  lower.set_header("cache-control", "no-cache");
  EXPECT_EQ(Head(lower, 0, false, false, defaults),
            "HTTP/1.1 200 OK\r\ncache-control: no-cache\r\nAccess-Control-Allow-Origin: *\r\n"
            "Content-Length: 0\r\n\r\n");
}

TEST(HttpWire, AnswerHeadWithClose) {
  httplib::Response res;
  res.status = 413;
  EXPECT_EQ(Head(res, 0, /*chunked=*/false, /*close=*/true),
            "HTTP/1.1 413 Payload Too Large\r\n"
            "Content-Length: 0\r\n"
            "Connection: close\r\n"
            "\r\n");
  res.status = 200;
  res.set_header("X-A", "1");
  EXPECT_EQ(Head(res, 0, /*chunked=*/true, /*close=*/true),
            "HTTP/1.1 200 OK\r\n"
            "X-A: 1\r\n"
            "Transfer-Encoding: chunked\r\n"
            "Connection: close\r\n"
            "\r\n");
  // A stream to an HTTP/1.0 client: no framing, the connection's end is the body's.
  EXPECT_EQ(Head(res, kUntilClose, /*chunked=*/false, /*close=*/true),
            "HTTP/1.1 200 OK\r\n"
            "X-A: 1\r\n"
            "Connection: close\r\n"
            "\r\n");
}

TEST(HttpWire, ReasonPhrase) {
  EXPECT_STREQ(ReasonPhrase(200), "OK");
  EXPECT_STREQ(ReasonPhrase(404), "Not Found");
  EXPECT_STREQ(ReasonPhrase(413), "Payload Too Large");
  EXPECT_STREQ(ReasonPhrase(431), "Request Header Fields Too Large");
  EXPECT_STREQ(ReasonPhrase(414), "URI Too Long");
  EXPECT_STREQ(ReasonPhrase(400), "Bad Request");
  EXPECT_STREQ(ReasonPhrase(418), "Client Error");
  EXPECT_STREQ(ReasonPhrase(499), "Client Error");
  EXPECT_STREQ(ReasonPhrase(502), "Server Error");
  EXPECT_STREQ(ReasonPhrase(599), "Server Error");
}

}  // namespace
}  // namespace crew::api
