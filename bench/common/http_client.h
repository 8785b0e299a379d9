// A keep-alive HTTP/1.1 client on one blocking socket, for the load generator: one send() per
// request, the answer read by its Content-Length. The load generator shares the machine's cores
// with the server it measures, so its client should cost little (a general-purpose client polls
// before each read and write and sends headers and body apart).
#pragma once

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace crew_bench {

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
    req.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ");
    req.append(host_).append("\r\nContent-Type: application/json\r\nContent-Length: ");
    req.append(std::to_string(body.size())).append("\r\n\r\n").append(body);
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (fd_ < 0 && !Connect()) return -1;
      if (SendAll(req)) {
        int status = ReadAnswer(answer);
        if (status > 0) return status;
      }
      Disconnect();
    }
    return -1;
  }

 private:
  bool Connect() {
    addrinfo hints{}, *found = nullptr;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host_.c_str(), std::to_string(port_).c_str(), &hints, &found) != 0) {
      return false;
    }
    for (addrinfo* ai = found; ai && fd_ < 0; ai = ai->ai_next) {
      fd_ = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
      if (fd_ < 0) continue;
      if (connect(fd_, ai->ai_addr, ai->ai_addrlen) != 0) Disconnect();
    }
    freeaddrinfo(found);
    if (fd_ < 0) return false;
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
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

  bool SendAll(const std::string& s) {
    size_t sent = 0;
    while (sent < s.size()) {
      ssize_t n = send(fd_, s.data() + sent, s.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
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
    size_t head_end;
    while ((head_end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return 0;
    }
    std::string_view head(buf_.data(), head_end);
    if (head.size() < 12 || head.substr(0, 5) != "HTTP/") return 0;
    int status = std::atoi(buf_.c_str() + 9);
    size_t length = 0;
    bool close_after = false;
    size_t pos = head.find("\r\n");
    while (pos != std::string_view::npos && pos < head.size()) {
      size_t next = head.find("\r\n", pos + 2);
      std::string_view line = head.substr(
          pos + 2, next == std::string_view::npos ? std::string_view::npos : next - pos - 2);
      if (HasName(line, "content-length")) length = std::strtoull(line.data() + 15, nullptr, 10);
      if (HasName(line, "transfer-encoding")) {
        std::fprintf(stderr, "crew_load: chunked answers are not read\n");
        std::exit(2);
      }
      if (HasName(line, "connection") && line.find("close") != std::string_view::npos) {
        close_after = true;
      }
      pos = next;
    }
    const size_t total = head_end + 4 + length;
    while (buf_.size() < total) {
      if (!Fill()) return 0;
    }
    answer->assign(buf_, head_end + 4, length);
    buf_.erase(0, total);
    if (close_after) Disconnect();
    return status;
  }

  static bool HasName(std::string_view line, std::string_view lower_name) {
    if (line.size() <= lower_name.size() || line[lower_name.size()] != ':') return false;
    for (size_t i = 0; i < lower_name.size(); ++i) {
      char c = line[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != lower_name[i]) return false;
    }
    return true;
  }

  std::string host_;
  int port_;
  int fd_ = -1;
  std::string buf_;
};

}  // namespace crew_bench
