// LoopServer's pool side: a request that may wait runs on a pool thread, which owns its
// connection until the answer (a stream, maybe) is written, then gives it back to its loop.
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>

#include "api/client_socket.h"
#include "api/loop_conn.h"

namespace crew::api {

namespace {

using loop::Clock;

// Writes all of data on a non-blocking socket (through its TLS session, if any), waiting up to
// `seconds` each time it is full.
bool WriteAll(int fd, SSL* ssl, const char* data, size_t n, int seconds) {
  while (n > 0) {
    ssize_t w = ConnSend(fd, ssl, data, n);
    if (w > 0) {
      data += w;
      n -= static_cast<size_t>(w);
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      if (poll(&p, 1, seconds * 1000) <= 0) return false;
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

void LoopServer::OnPool(Conn* c, const Router::Route* route,
                        std::shared_ptr<httplib::Request> req) {
  const int wait = options_.write_seconds;
  bool ok = c->out_sent >= c->out.size() ||
            WriteAll(c->fd, c->ssl, c->out.data() + c->out_sent, c->out.size() - c->out_sent, wait);
  c->out.clear();
  c->out_sent = 0;
  const auto started = Clock::now();
  httplib::Response res;
  SetClientConnection(c->fd, c->ssl != nullptr);  // for a long poll's ClientGone()
  hooks_.run(*route, *req, res, false);
  SetClientConnection(-1, false);
  if (res.status == -1) res.status = 200;
  hooks_.finish(*req, res, route, std::chrono::duration<double>(Clock::now() - started).count());
  const bool head_only = req->method == "HEAD";
  bool close = c->pool_close || stopping_;
  // A stream: with a length (a download) in order, else chunked until the provider is done; to
  // an HTTP/1.0 client, which reads no chunked framing, unframed until the connection closes.
  const bool open_ended =
      res.content_provider_ && (res.is_chunked_content_provider_ || res.content_length_ == 0);
  const bool until_close = open_ended && req->version == "HTTP/1.0";
  const bool chunked = open_ended && !until_close;
  if (until_close) close = true;
  MarkKeepAlive(*req, close, &res);
  const size_t length = until_close             ? kUntilClose
                        : res.content_provider_ ? res.content_length_
                                                : res.body.size();
  if (!res.content_provider_ || head_only) {  // (HEAD: the head GET's answer would have)
    std::string answer = AnswerHead(res, length, chunked, close, options_.default_headers);
    if (!head_only) answer += res.body;
    ok = ok && WriteAll(c->fd, c->ssl, answer.data(), answer.size(), wait);
  } else {
    std::string head = AnswerHead(res, length, chunked, close, options_.default_headers);
    ok = ok && WriteAll(c->fd, c->ssl, head.data(), head.size(), wait);
    size_t offset = 0;
    bool done = false;
    httplib::DataSink sink;
    std::string chunk;
    sink.write = [&](const char* data, size_t n) {
      if (!ok) return false;
      if (chunked) {
        if (n == 0) return true;
        // (one send per chunk: its size line, data and CRLF sent apart went out as three
        // segments, the first two small, which a reader's delayed ACKs held back)
        char size[24];
        int len = snprintf(size, sizeof size, "%zx\r\n", n);
        chunk.assign(size, static_cast<size_t>(len));
        chunk.append(data, n);
        chunk.append("\r\n", 2);
        ok = WriteAll(c->fd, c->ssl, chunk.data(), chunk.size(), wait);
      } else {
        ok = WriteAll(c->fd, c->ssl, data, n, wait);
      }
      offset += n;
      return ok;
    };
    sink.done = [&] { done = true; };
    sink.is_writable = [&] { return ok && !ClientGone(c->fd, c->ssl != nullptr); };
    while (ok && !done && (open_ended || offset < length)) {
      if (!res.content_provider_(offset, open_ended ? 0 : length - offset, sink)) ok = false;
    }
    if (ok && chunked) ok = WriteAll(c->fd, c->ssl, "0\r\n\r\n", 5, wait);
    res.content_provider_success_ = ok;
  }
  --in_flight_;
  c->last_active = Clock::now();
  c->close_after = close;
  Loop* loop = c->loop;
  --loop->on_pool;
  loop->Post(c, ok ? Loop::Kind::kBack : Loop::Kind::kClose);
}

}  // namespace crew::api
