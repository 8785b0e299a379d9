// The client connection of the request a thread runs (SPEC N1: a waiter whose client has gone
// away takes no task; an event stream ends with its reader).
#pragma once

#include <string>

namespace crew::api {

// The numeric address and port of a socket's peer (peer) or of its own end; false when it has
// none (not an IP socket, or not connected).
bool Endpoint(int fd, bool peer, std::string* ip, int* port);
// The pool thread that runs a request that may wait sets its connection for the handler (fd -1:
// none); `tls`: the connection speaks TLS.
void SetClientConnection(int fd, bool tls);
// True when the client of this thread's request closed its connection (or it failed); false when
// none is set.
bool ClientGone();
// The socket of this thread's request's client connection; -1 when none is set.
int ClientFd();
// Whether this thread's request may wait: true on a pool thread (its connection set); false on
// an event loop, where a handler that finds it must wait answers Router::kRunOnPool instead.
bool MayWait();
// The same for the connection on `fd`. A plain client that sent more (a pipelined request) is
// still there; a TLS client's close_notify is data, so its FIN is what tells.
bool ClientGone(int fd, bool tls);

}  // namespace crew::api
