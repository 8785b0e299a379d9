// bench/peers: a server that does no work, for the ceiling of crew_load's W1 on this machine.
// It speaks HTTP/1.1 keep-alive on one epoll thread, as crew's event loop does, and answers
// every request of W1 at once with a body of crew's shape and size (a 577-byte task; an acquire
// holds a fresh id each time), storing nothing. What crew_load reaches against it is what the
// client, the loopback and the two CPUs allow when the server's own work costs nothing: how
// far crew's figures are from it is crew's work per task.
//
//   build/bench/null_http --port 4790 &   then   build/bench/crew_load --url
//   http://127.0.0.1:4790/ --workload W1
//
// Routes (by the request line only): POST .../task_groups answers a group, POST .../acquire a
// task ({"limit": n} in the body: {"tasks": [n of them]}), anything else a task. Not a crew:
// W2-W6 need a real one.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/tcp.h"

namespace {

constexpr std::string_view kTaskHead = R"({"_id":")";
constexpr std::string_view kTaskTail =
    R"(","taskGroupId":"6b1318c2000661d4248de1bc","name":"t1","channel":"c","workgroup":null,)"
    R"("key":null,"remainingAttempts":5,"isPaused":false,"parentsComplete":true,)"
    R"("isComplete":false,"priority":0,"runAfter":null,"progressWeight":1,"isSeed":false,)"
    R"("errorDelayInSeconds":30,"input":{"i":1,"payload":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx)"
    R"(xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},"errors":[],"output":null,)"
    R"("createdAt":"2026-12-04T19:47:14.832Z","parentIds":[],"assignedTo":"w0",)"
    R"("assignedAt":"2026-12-04T19:47:14.853Z","executeMessageId":null,"examineMessageId":null})";

unsigned long long g_next_id = 0;

void AppendTask(std::string* out) {
  char id[25];
  std::snprintf(id, sizeof id, "%024llx", ++g_next_id);
  out->append(kTaskHead).append(id, 24).append(kTaskTail);
}

// The body answering one request of W1.
std::string Answer(std::string_view line, std::string_view body) {
  std::string out;
  if (line.find("/task_groups ") != std::string_view::npos) {
    out.append(R"({"_id":"6b1318c2000661d4248de1bc","name":"bench","isPaused":false})");
  } else if (line.find("/acquire ") != std::string_view::npos) {
    size_t at = body.find("\"limit\":");
    if (at == std::string_view::npos) {
      out.append(R"({"task":)");
      AppendTask(&out);
      out.append(R"(,"parents":[]})");
    } else {
      long n = std::strtol(body.data() + at + 8, nullptr, 10);
      out.append(R"({"tasks":[)");
      for (long i = 0; i < n; ++i) {
        out.append(i ? R"(,{"task":)" : R"({"task":)");
        AppendTask(&out);
        out.append(R"(,"parents":[]})");
      }
      out.append("]}");
    }
  } else {
    AppendTask(&out);
  }
  return out;
}

// The Content-Length of a request head (0 without one).
size_t ContentLength(std::string_view head) {
  size_t pos = 0;
  while ((pos = head.find("\r\n", pos)) != std::string_view::npos) {
    pos += 2;
    if (head.size() - pos > 15 && strncasecmp(head.data() + pos, "content-length:", 15) == 0) {
      return std::strtoul(head.data() + pos + 15, nullptr, 10);
    }
  }
  return 0;
}

// Answers every complete request at the front of *in (removing it); false on a malformed one.
bool AnswerAll(std::string* in, std::string* out) {
  while (true) {
    size_t head_end = in->find("\r\n\r\n");
    if (head_end == std::string::npos) return in->size() < (64 << 10);
    std::string_view head(in->data(), head_end);
    size_t length = ContentLength(head);
    if (length > (16 << 20)) return false;
    if (in->size() < head_end + 4 + length) return true;
    std::string body = Answer(head.substr(0, head.find("\r\n")),
                              std::string_view(*in).substr(head_end + 4, length));
    out->append("HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n");
    out->append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
    out->append(body);
    in->erase(0, head_end + 4 + length);
  }
}

int Listen(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 128) != 0) {
    std::fprintf(stderr, "null_http: cannot listen on 127.0.0.1:%d: %s\n", port,
                 std::strerror(errno));
    std::exit(1);
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || std::strcmp(argv[1], "--port") != 0) {
    std::fprintf(stderr, "usage: null_http --port N\n");
    return 2;
  }
  const int listen_fd = Listen(std::atoi(argv[2]));
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_fd;
  epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev);
  std::unordered_map<int, std::string> pending;  // per connection: received, not yet answered
  static char buf[64 << 10];
  epoll_event events[128];
  while (true) {
    int n = epoll_wait(ep, events, 128, -1);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == listen_fd) {
        int c;
        // Blocking connections: epoll says when a receive has bytes, and a send of a big answer
        // (a batch of 100 tasks) waits for room instead of being cut short.
        while ((c = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC)) >= 0) {
          int one = 1;
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      ssize_t got = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      std::string out;
      std::string& in = pending[fd];
      if (got > 0) in.append(buf, static_cast<size_t>(got));
      if (got <= 0 || !AnswerAll(&in, &out) || !crew_bench::SendAll(fd, out)) {
        pending.erase(fd);
        close(fd);
      }
    }
  }
}
