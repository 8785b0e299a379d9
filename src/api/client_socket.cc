#include "api/client_socket.h"

#include <dirent.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <string>

namespace crew::api {

namespace {

bool Serves(int fd, const httplib::Request& req) {
  std::string ip;
  int port;
  if (!Endpoint(fd, true, &ip, &port) || port != req.remote_port || ip != req.remote_addr) {
    return false;
  }
  return !Endpoint(fd, false, &ip, &port) || req.local_port < 0 || port == req.local_port;
}

// Calls fn(fd) for every socket of this process.
template <typename Fn>
void ForEachSocket(Fn&& fn) {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return;
  while (dirent* entry = readdir(dir)) {
    char* end;
    long fd = std::strtol(entry->d_name, &end, 10);
    if (*end != '\0' || entry->d_name[0] == '\0' || fd == dirfd(dir)) continue;
    struct stat st;
    if (fstat(static_cast<int>(fd), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    if (!fn(static_cast<int>(fd))) break;
  }
  closedir(dir);
}

}  // namespace

bool Endpoint(int fd, bool peer, std::string* ip, int* port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  int rc = peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len)
                : getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  if (rc != 0 || (addr.ss_family != AF_INET && addr.ss_family != AF_INET6)) return false;
  char host[NI_MAXHOST], serv[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof host, serv, sizeof serv,
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return false;
  }
  *ip = host;
  *port = std::atoi(serv);
  return true;
}

void ShutdownReads(int local_port) {
  ForEachSocket([local_port](int fd) {
    std::string ip;
    int port;
    if (Endpoint(fd, false, &ip, &port) && port == local_port && Endpoint(fd, true, &ip, &port)) {
      shutdown(fd, SHUT_RD);
    }
    return true;
  });
}

void RaiseListenBacklog(int port) {
  ForEachSocket([port](int fd) {
    std::string ip;
    int p;
    if (Endpoint(fd, false, &ip, &p) && p == port && !Endpoint(fd, true, &ip, &p)) {
      listen(fd, SOMAXCONN);
    }
    return true;
  });
}

static thread_local int known_client = -1;

void SetClientSocket(int fd) { known_client = fd; }

int ClientSocket(const httplib::Request& req) {
  if (known_client >= 0) return known_client;
  thread_local int cached = -1;
  if (cached >= 0 && Serves(cached, req)) return cached;
  cached = -1;
  ForEachSocket([&](int fd) {
    if (!Serves(fd, req)) return true;
    cached = fd;
    return false;
  });
  return cached;
}

bool ClientGone(int fd) {
  if (fd < 0) return false;
  char byte;
  ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return false;  // more data (a pipelined request): still there
  if (n == 0) return true;  // orderly close
  return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

}  // namespace crew::api
