// A keep-alive HTTP/1.1 client on one blocking socket, for the load generator: one send() per
// request, the answer read by its Content-Length. The load generator shares the machine's cores
// with the server it measures, so its client should cost little (a general-purpose client polls
// before each read and write and sends headers and body apart).
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "common/tcp.h"

namespace crew_bench {

inline bool HasHeaderName(std::string_view line, std::string_view lower_name) {
  if (line.size() <= lower_name.size() || line[lower_name.size()] != ':') return false;
  for (size_t i = 0; i < lower_name.size(); ++i) {
    char c = line[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower_name[i]) return false;
  }
  return true;
}

// The answer at the start of a buffer of received bytes.
struct AnswerFrame {
  size_t length = 0;  // the whole answer's; 0 while incomplete (or not HTTP: then status is -1)
  int status = 0;
  size_t body_at = 0, body_length = 0;
  bool close = false;  // "Connection: close"
};

inline AnswerFrame FrameAnswer(std::string_view buf) {
  AnswerFrame f;
  const size_t head_end = buf.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return f;
  std::string_view head = buf.substr(0, head_end);
  if (head.size() < 12 || head.substr(0, 5) != "HTTP/") {
    f.status = -1;
    return f;
  }
  f.status = std::atoi(head.data() + 9);
  size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos < head.size()) {
    size_t next = head.find("\r\n", pos + 2);
    std::string_view line = head.substr(
        pos + 2, next == std::string_view::npos ? std::string_view::npos : next - pos - 2);
    if (HasHeaderName(line, "content-length")) {
      f.body_length = std::strtoull(line.data() + 15, nullptr, 10);
    }
    if (HasHeaderName(line, "transfer-encoding")) {
      std::fprintf(stderr, "crew_load: chunked answers are not read\n");
      std::exit(2);
    }
    if (HasHeaderName(line, "connection") && line.find("close") != std::string_view::npos) {
      f.close = true;
    }
    pos = next;
  }
  f.body_at = head_end + 4;
  if (buf.size() >= f.body_at + f.body_length) f.length = f.body_at + f.body_length;
  return f;
}

// A request with a JSON body (maybe empty), appended to *out.
inline void AppendRequest(std::string_view method, std::string_view target, std::string_view host,
                          std::string_view body, std::string* out) {
  out->append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ");
  out->append(host).append("\r\nContent-Type: application/json\r\nContent-Length: ");
  out->append(std::to_string(body.size())).append("\r\n\r\n").append(body);
}

class HttpClient {
 public:
  HttpClient(std::string host, int port) : host_(std::move(host)), port_(port) {}
  ~HttpClient() { Disconnect(); }
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends the request and reads its answer into *body; returns the status, or -1 when the
  // server could not be reached (a connection it closed while idle is opened again once).
  int Request(std::string_view method, std::string_view target, std::string_view body,
              std::string* answer) {
    std::string req;
    req.reserve(128 + target.size() + body.size());
    AppendRequest(method, target, host_, body, &req);
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (fd_ < 0 && !Connect()) return -1;
      if (SendAll(fd_, req)) {
        int status = ReadAnswer(answer);
        if (status > 0) return status;
      }
      Disconnect();
    }
    return -1;
  }

 private:
  bool Connect() {
    fd_ = ConnectTcp(host_, port_);
    if (fd_ < 0) return false;
    timeval tv{120, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    buf_.clear();
    return true;
  }

  void Disconnect() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    buf_.clear();
  }

  bool Fill() {
    char chunk[16384];
    ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buf_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  // The status, with the body in *answer; 0 when the connection ended first.
  int ReadAnswer(std::string* answer) {
    AnswerFrame f;
    while ((f = FrameAnswer(buf_)).length == 0) {
      if (f.status < 0 || !Fill()) return 0;
    }
    answer->assign(buf_, f.body_at, f.body_length);
    buf_.erase(0, f.length);
    if (f.close) Disconnect();
    return f.status;
  }

  std::string host_;
  int port_;
  int fd_ = -1;
  std::string buf_;
};

}  // namespace crew_bench
