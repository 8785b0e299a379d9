// Finds out whether the client of the current request is still connected (SPEC N1: a waiter
// whose client has gone away takes no task). cpp-httplib does not hand the socket to handlers,
// but it serves each connection on one thread, so the socket is found once per connection by
// its addresses and remembered in a thread_local.
#pragma once

#include <string>

#include <httplib.h>

namespace crew::api {

// The numeric address and port of a socket's peer (peer) or of its own end; false when it has
// none (not an IP socket, or not connected).
bool Endpoint(int fd, bool peer, std::string* ip, int* port);
// The connected socket serving `req`, or -1 if it cannot be found.
int ClientSocket(const httplib::Request& req);
// The event-loop front end knows the socket: it sets it for the handler it runs on this thread
// (-1: none), and ClientSocket() answers it.
void SetClientSocket(int fd);
// True when the peer closed the connection (or it failed). An unknown socket counts as open.
bool ClientGone(int fd);
// Shuts down the reading side of every connection accepted on `local_port`, so idle keep-alive
// connections close at once while answers in progress are still written (graceful stop).
void ShutdownReads(int local_port);
// Raises the accept backlog of the socket listening on `port` (httplib 0.11 listens with 5,
// so a burst of connects loses SYNs and waits a second for the retransmit).
void RaiseListenBacklog(int port);

}  // namespace crew::api
