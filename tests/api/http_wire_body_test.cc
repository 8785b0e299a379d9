// api/http_wire: request bodies (Content-Length, chunked, Expect: 100-continue) and pipelining.
#include "api/http_wire_test_util.h"

namespace crew::api {
namespace {

TEST(HttpWire, PostWithContentLengthCompleteInOneBuffer) {
  const std::string head =
      "POST /api/v1/tasks HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n";
  const std::string buf = head + R"({"a":"hello"})";
  httplib::Request req;
  RequestHead parsed;
  WireRequest w = ParseRequest(buf, WireLimits{}, &req, &parsed);
  ASSERT_EQ(w.state, State::kComplete);
  EXPECT_EQ(w.consumed, buf.size());
  EXPECT_EQ(parsed.len, head.size());
  EXPECT_TRUE(w.keep_alive);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.path, "/api/v1/tasks");
  EXPECT_EQ(req.body, R"({"a":"hello"})");
  EXPECT_EQ(req.get_header_value("Content-Type"), "application/json");
  // The body's framing is the wire's: a handler sees the body, not how it came.
  EXPECT_FALSE(req.has_header("Content-Length"));
  EXPECT_EQ(req.headers.size(), 1u);
  EXPECT_EQ(parsed.content_length, 13u);
  EXPECT_FALSE(parsed.chunked);
}

TEST(HttpWire, PostBodyIncompleteThenCompleteReusingTheParsedHead) {
  const std::string head = "POST /upload HTTP/1.1\r\nContent-Length: 10\r\n\r\n";
  std::string buf = head + "01234";
  httplib::Request req;
  RequestHead parsed;
  WireRequest w = ParseRequest(buf, WireLimits{}, &req, &parsed);
  EXPECT_EQ(w.state, State::kIncomplete);
  EXPECT_EQ(w.consumed, 0u);
  EXPECT_FALSE(w.need_continue);
  EXPECT_EQ(parsed.len, head.size());  // known from now on

  buf += "5678";  // still one short
  w = ParseRequest(buf, WireLimits{}, &req, &parsed);
  EXPECT_EQ(w.state, State::kIncomplete);
  EXPECT_EQ(parsed.len, head.size());

  buf += "9";
  w = ParseRequest(buf, WireLimits{}, &req, &parsed);
  ASSERT_EQ(w.state, State::kComplete);
  EXPECT_EQ(w.consumed, buf.size());
  EXPECT_TRUE(w.keep_alive);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.path, "/upload");
  EXPECT_EQ(req.body, "0123456789");
  EXPECT_EQ(parsed.len, head.size());
}

TEST(HttpWire, BodyWithExtraBytesConsumesOnlyItsLength) {
  const std::string first = "PUT /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
  const std::string buf = first + "GET /b HTTP/1.1\r\n";  // the start of the next request
  httplib::Request req;
  WireRequest w = Parse(buf, &req);
  ASSERT_EQ(w.state, State::kComplete);
  EXPECT_EQ(w.consumed, first.size());
  EXPECT_EQ(req.body, "abc");
}

TEST(HttpWire, TwoPipelinedRequestsInOneBuffer) {
  const std::string first = "POST /first?a=1 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
  const std::string second = "GET /second?b=2 HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string buf = first + second;

  httplib::Request req;
  RequestHead parsed;
  WireRequest w = ParseRequest(buf, WireLimits{}, &req, &parsed);
  ASSERT_EQ(w.state, State::kComplete);
  EXPECT_EQ(w.consumed, first.size());
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.path, "/first");
  EXPECT_EQ(req.get_param_value("a"), "1");
  EXPECT_EQ(req.body, "hello");

  // The caller drops the consumed bytes and starts a new request on the same object.
  std::string_view rest = std::string_view(buf).substr(w.consumed);
  parsed = RequestHead();
  w = ParseRequest(rest, WireLimits{}, &req, &parsed);
  ASSERT_EQ(w.state, State::kComplete);
  EXPECT_EQ(w.consumed, second.size());
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.path, "/second");
  EXPECT_EQ(req.target, "/second?b=2");
  EXPECT_EQ(req.params.size(), 1u);
  EXPECT_EQ(req.get_param_value("b"), "2");
  EXPECT_FALSE(req.has_param("a"));
  EXPECT_FALSE(req.has_header("Content-Length"));
  EXPECT_FALSE(req.has_header("Transfer-Encoding"));
  EXPECT_EQ(req.get_header_value("Host"), "h");
  EXPECT_EQ(req.body, "");
}

TEST(HttpWire, ExpectContinueWithIncompleteBodySetsNeedContinue) {
  const std::string head = "POST /x HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 4\r\n\r\n";
  httplib::Request req;
  RequestHead parsed;
  WireRequest w = ParseRequest(head, WireLimits{}, &req, &parsed);
  EXPECT_EQ(w.state, State::kIncomplete);
  EXPECT_TRUE(w.need_continue);
  EXPECT_EQ(parsed.len, head.size());

  const std::string buf = head + "body";
  w = ParseRequest(buf, WireLimits{}, &req, &parsed);
  ASSERT_EQ(w.state, State::kComplete);
  EXPECT_FALSE(w.need_continue);
  EXPECT_EQ(w.consumed, buf.size());
  EXPECT_EQ(req.body, "body");
}

TEST(HttpWire, NeedContinueOnlyForAnHttp11ExpectWhoseBodyIsToCome) {
  struct Case {
    const char* head;
    bool need_continue;
  };
  const Case cases[] = {
      {"POST /x HTTP/1.1\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n", true},
      {"POST /x HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n", false},
      {"POST /x HTTP/1.1\r\nContent-Length: 4\r\n\r\n", false},
  };
  for (const Case& c : cases) {
    httplib::Request req;
    WireRequest w = Parse(c.head, &req);
    EXPECT_EQ(w.state, State::kIncomplete) << c.head;
    EXPECT_EQ(w.need_continue, c.need_continue) << c.head;
  }
}

TEST(HttpWire, ChunkedBodyInPiecesWithExtensionsTrailersAndUppercaseHex) {
  const std::string head = "POST /c HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n";
  const std::string body_wire =
      "5;name=value\r\n"
      "hello\r\n"
      "1A\r\n"
      "abcdefghijklmnopqrstuvwxyz\r\n"
      "0B ; ext\r\n"
      "ABCDEFGHIJK\r\n"
      "0\r\n"
      "X-Checksum: 123\r\n"
      "X-Other: 4\r\n"
      "\r\n";
  const std::string full = head + body_wire;
  const std::string expected_body = "helloabcdefghijklmnopqrstuvwxyzABCDEFGHIJK";

  httplib::Request req;
  RequestHead parsed;
  // Every prefix that ends inside the body is incomplete; the same Request and RequestHead are
  // kept across calls, as loop_server does.
  for (size_t n = head.size(); n < full.size(); ++n) {
    WireRequest w = ParseRequest(std::string_view(full).substr(0, n), WireLimits{}, &req, &parsed);
    ASSERT_EQ(w.state, State::kIncomplete) << "prefix of " << n << " bytes";
    EXPECT_FALSE(w.need_continue);
    EXPECT_EQ(parsed.len, head.size());
  }
  WireRequest w = ParseRequest(full, WireLimits{}, &req, &parsed);
  ASSERT_EQ(w.state, State::kComplete);
  EXPECT_EQ(w.consumed, full.size());
  EXPECT_TRUE(w.keep_alive);
  EXPECT_EQ(req.body, expected_body);
  EXPECT_FALSE(req.has_header("X-Checksum"));  // trailers are not headers

  // The same bytes parsed in one go, followed by a pipelined request.
  httplib::Request again;
  const std::string next = "GET /n HTTP/1.1\r\n\r\n";
  w = Parse(full + next, &again);
  ASSERT_EQ(w.state, State::kComplete);
  EXPECT_EQ(w.consumed, full.size());
  EXPECT_EQ(again.body, expected_body);
}

TEST(HttpWire, ChunkedBodyWithBareNewlines) {
  const std::string buf = "POST /c HTTP/1.1\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n";
  httplib::Request req;
  WireRequest w = Parse(buf, &req);
  ASSERT_EQ(w.state, State::kComplete);
  EXPECT_EQ(w.consumed, buf.size());
  EXPECT_EQ(req.body, "abc");
}

TEST(HttpWire, ChunkedEmptyBody) {
  const std::string buf = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
  httplib::Request req;
  req.body = "stale";
  WireRequest w = Parse(buf, &req);
  ASSERT_EQ(w.state, State::kComplete);
  EXPECT_EQ(w.consumed, buf.size());
  EXPECT_EQ(req.body, "");
}

TEST(HttpWire, ChunkedBadChunkSizeIs400) {
  EXPECT_REFUSED(RefusedFor("POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n"), 400);
  EXPECT_REFUSED(RefusedFor("POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\r\n"), 400);
  // Data longer than its chunk size says: no line end where one must be.
  EXPECT_REFUSED(
      RefusedFor("POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n"),
      400);
}

TEST(HttpWire, ChunkedBodyOverMaxBodyIs413) {
  WireLimits limits;
  limits.max_body = 8;
  const std::string head = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  // 5 + 5 > 8: refused once the second chunk's size is known, before its data arrives.
  EXPECT_REFUSED(RefusedFor(head + "5\r\nhello\r\n5\r\n", limits), 413);
  // A single chunk over the limit.
  EXPECT_REFUSED(RefusedFor(head + "9\r\n", limits), 413);
  // Exactly at the limit is fine.
  httplib::Request req;
  const std::string ok = head + "5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n";
  WireRequest w = Parse(ok, &req, limits);
  ASSERT_EQ(w.state, State::kComplete);
  EXPECT_EQ(w.consumed, ok.size());
  EXPECT_EQ(req.body, "helloabc");
}

// The framing (size lines, extensions, line ends) counts too: a body of one-byte chunks with
// long extensions is refused once its framing passes max_body (64 KB at least), though its data
// is small.
TEST(HttpWire, ChunkedFramingOverMaxBodyIs413) {
  WireLimits limits;
  limits.max_body = 1000;
  const std::string head = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string chunk = "1;" + std::string(1000, 'e') + "\r\nx\r\n";  // 1,007 bytes
  std::string wire = head;
  for (int i = 0; i < 60; ++i) wire += chunk;  // ~60 KB of framing
  httplib::Request req;
  WireRequest w = Parse(wire + "0\r\n\r\n", &req, limits);
  ASSERT_EQ(w.state, State::kComplete);
  EXPECT_EQ(req.body, std::string(60, 'x'));
  for (int i = 0; i < 10; ++i) wire += chunk;  // past 64 KB
  EXPECT_REFUSED(RefusedFor(wire, limits), 413);
}

TEST(HttpWire, ChunkSizeLineOver1024BytesIs400) {
  const std::string head = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  EXPECT_REFUSED(RefusedFor(head + "1;" + std::string(1100, 'a') + "\r\nx\r\n0\r\n\r\n"), 400);
  EXPECT_REFUSED(RefusedFor(head + "1;" + std::string(1100, 'a')), 400);  // (still incomplete)
}

// A chunked body arriving in many reads, each parsed with the same RequestHead as loop_server
// does, gives the body it gives in one read (the scan resumes at the last complete chunk).
TEST(HttpWire, ChunkedBodyReadInManyPiecesIsTheBodyReadAtOnce) {
  const std::string head = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  std::string wire, expected;
  for (int i = 1; i <= 200; ++i) {
    std::string data(static_cast<size_t>(i % 17 + 1), static_cast<char>('a' + i % 26));
    char size[16];
    snprintf(size, sizeof size, "%zx", data.size());
    wire += std::string(size) + "\r\n" + data + "\r\n";
    expected += data;
  }
  wire += "0\r\n\r\n";
  const std::string full = head + wire;
  httplib::Request req;
  RequestHead parsed;
  WireRequest w;
  for (size_t n = head.size(); n < full.size(); n += 7) {
    w = ParseRequest(std::string_view(full).substr(0, n), WireLimits{}, &req, &parsed);
    ASSERT_EQ(w.state, State::kIncomplete) << "prefix of " << n << " bytes";
  }
  w = ParseRequest(full, WireLimits{}, &req, &parsed);
  ASSERT_EQ(w.state, State::kComplete);
  EXPECT_EQ(w.consumed, full.size());
  EXPECT_EQ(req.body, expected);
}

TEST(HttpWire, ContentLengthOverMaxBodyIs413RightAfterHead) {
  WireLimits limits;
  limits.max_body = 100;
  // Only the head has arrived: refused at once, without waiting for 101 bytes.
  EXPECT_REFUSED(RefusedFor("POST /x HTTP/1.1\r\nContent-Length: 101\r\n\r\n", limits), 413);
  EXPECT_REFUSED(
      RefusedFor("POST /x HTTP/1.1\r\nContent-Length: 999999999999999999\r\n\r\n", limits), 413);
  // At the limit: waits for the body.
  httplib::Request req;
  WireRequest w = Parse("POST /x HTTP/1.1\r\nContent-Length: 100\r\n\r\n", &req, limits);
  EXPECT_EQ(w.state, State::kIncomplete);
}

TEST(HttpWire, ContentLengthAndTransferEncodingIs400) {
  EXPECT_REFUSED(RefusedFor("POST /x HTTP/1.1\r\nContent-Length: 5\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
                 400);
  EXPECT_REFUSED(RefusedFor("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                            "Content-Length: 5\r\n\r\n"),
                 400);
}

TEST(HttpWire, TwoContentLengthHeadersIs400) {
  EXPECT_REFUSED(
      RefusedFor("POST /x HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"), 400);
  EXPECT_REFUSED(
      RefusedFor("POST /x HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 4\r\n\r\nabcd"), 400);
}

TEST(HttpWire, NonNumericContentLengthIs400) {
  for (const char* value : {"abc", "-1", "+5", "5 5", "0x10", "1.5", "12a", ""}) {
    const std::string buf =
        std::string("POST /x HTTP/1.1\r\nContent-Length: ") + value + "\r\n\r\n";
    SCOPED_TRACE(std::string("Content-Length: '") + value + "'");
    EXPECT_REFUSED(RefusedFor(buf), 400);
  }
}

TEST(HttpWire, UnsupportedTransferEncodingIs400) {
  for (const char* value : {"gzip", "gzip, chunked", "identity", "chunked, gzip"}) {
    const std::string buf =
        std::string("POST /x HTTP/1.1\r\nTransfer-Encoding: ") + value + "\r\n\r\n";
    SCOPED_TRACE(value);
    EXPECT_REFUSED(RefusedFor(buf), 400);
  }
}

// Several Transfer-Encoding field lines form one list (RFC 9110 5.3): "chunked" then "gzip" is
// "chunked, gzip", refused like the single-line form above; "chunked" twice is invalid too.
TEST(HttpWire, RepeatedTransferEncodingHeadersAre400) {
  const std::string body = "5\r\nhello\r\n0\r\n\r\n";
  EXPECT_REFUSED(RefusedFor("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                            "Transfer-Encoding: gzip\r\n\r\n" +
                            body),
                 400);
  EXPECT_REFUSED(RefusedFor("POST /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n" +
                            body),
                 400);
  EXPECT_REFUSED(RefusedFor("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n" +
                            body),
                 400);
}

// Trailer fields are header fields: an unending trailer section must be refused like an
// unending head (431), not buffered without bound (loop_server has no cap of its own).
TEST(HttpWire, ChunkedTrailersOverMaxHeadAre431) {
  WireLimits limits;
  limits.max_head = 1024;
  std::string buf = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n";
  while (buf.size() < (1u << 20)) buf += "X-Trailer: " + std::string(50, 't') + "\r\n";
  EXPECT_REFUSED(RefusedFor(buf, limits), 431);
  // One unterminated trailer line, too.
  EXPECT_REFUSED(RefusedFor("POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: " +
                                std::string(1 << 20, 't'),
                            limits),
                 431);
}

}  // namespace
}  // namespace crew::api
