// HTTP/1.1 on the wire for the event-loop front end (loop_server.h): reading a request out of
// a connection's bytes, and framing an answer. Pure functions of their arguments; no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <httplib.h>

namespace crew::api {

struct WireLimits {
  size_t max_uri = 8192;       // longer: 414
  size_t max_head = 64 << 10;  // request line and headers; longer: 431
  size_t max_headers = 100;    // more: 431
  size_t max_body = 10 << 20;  // longer: 413
};

// How far a connection's buffered bytes go toward its next request.
struct WireRequest {
  enum class State {
    kIncomplete,  // need more bytes (see need_continue)
    kComplete,    // *req is filled; `consumed` bytes of the buffer are its own
    kRefused,     // answer `status` with `message`, then close the connection
  };
  State state = State::kIncomplete;
  size_t consumed = 0;
  bool keep_alive = true;      // kComplete: the client keeps the connection open
  bool need_continue = false;  // kIncomplete: the head asked for "100 Continue" before its body
  int status = 0;
  std::string message;
};

// What a request's head says of its body, kept by the caller between the calls that parse one
// request (a long body takes many reads; its head is parsed once). Reset it for the next request.
struct RequestHead {
  size_t len = 0;  // the head's bytes; 0 until it is complete
  size_t content_length = 0;
  bool chunked = false;
  bool keep_alive = true;
  bool expects_continue = false;
  // A chunked body is scanned as it arrives, each read from where the last one stopped: the
  // end of its last complete chunk, and the data bytes up to there.
  size_t chunks_scanned = 0;
  size_t chunk_data = 0;
};

// req->path and req->params from a request target (origin or absolute form): the path as sent,
// %-encoded ("/" when the target has none; the router matches it so and decodes the parameter it
// matched, router.h), and the query's pairs as Express's parser (qs) reads them (split at '&' only,
// each at its first '=', '+' and %XX decoded in both).
void SetPathAndQuery(std::string_view target, httplib::Request* req);

// Parses the request at the start of `buf` into *req (method, target, path as sent, params decoded,
// version, headers, body; matches and addresses untouched) and, once its head is complete,
// *head. Content-Length and Transfer-Encoding frame the body and are not among req->headers.
WireRequest ParseRequest(std::string_view buf, const WireLimits& limits, httplib::Request* req,
                         RequestHead* head);

// A content_length for a body that ends with the connection: no framing header at all (a stream
// to an HTTP/1.0 client, which reads no chunked framing: RFC 9112 §6.1).
inline constexpr size_t kUntilClose = static_cast<size_t>(-1);

// Now, as a Date header's value ("Mon, 07 Dec 2026 04:20:00 GMT"), made once a second per
// thread; and the header's whole line, "Date: <now>\r\n".
std::string_view HttpDate();
std::string_view DateHeaderLine();

// The status line and headers of an answer: res.headers, each of `defaults` that res lacks,
// then Content-Length (or Transfer-Encoding: chunked when `chunked`, or neither for
// kUntilClose), then Connection: close when `close`.
std::string AnswerHead(const httplib::Response& res, size_t content_length, bool chunked,
                       bool close, const httplib::Headers& defaults = {});
// The same, appended to *out (a connection's output, without a string of its own).
void AppendAnswerHead(const httplib::Response& res, size_t content_length, bool chunked, bool close,
                      const httplib::Headers& defaults, std::string* out);

const char* ReasonPhrase(int status);

// An HTTP/1.0 client keeps its connection only when the answer says so (RFC 9112 §9.3): adds
// "Connection: keep-alive" to an answer to such a request that does not close the connection.
void MarkKeepAlive(const httplib::Request& req, bool close, httplib::Response* res);

}  // namespace crew::api
