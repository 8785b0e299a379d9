// TLS for the event loops' connections (SPEC N5: --tls-cert and --tls-key): the server's OpenSSL
// context, and a connection's reads and writes through its session on the non-blocking socket.
// The reads and writes keep recv's and send's contract, so that the loops and the pool serve
// both kinds of connection with the same code: one request parser, one answer writer.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <memory>
#include <string>

#include "util/status.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace crew::api {

class TlsContext {
 public:
  // The certificate chain and private key, PEM; an error names the file and OpenSSL's reason.
  static Result<std::unique_ptr<TlsContext>> Load(const std::string& cert_file,
                                                  const std::string& key_file);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // A session for a newly accepted connection, its handshake still to come (the first reads
  // make it). Null when OpenSSL has no memory for one.
  SSL* Accept(int fd) const;

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

// recv(fd, buf, n, 0) through `ssl` (null: plain): > 0 bytes read, 0 the peer closed, -1 with
// errno (EAGAIN: nothing to read yet; ECONNRESET: the session failed). *wants_write: the session
// must write before it can read on (its handshake, or an answer to a key update) and the socket
// is full: read again once it is writable.
// (The plain path inline: it is every plain request's.)
ssize_t TlsRecv(SSL* ssl, char* buf, size_t n, bool* wants_write);
inline ssize_t ConnRecv(int fd, SSL* ssl, char* buf, size_t n, bool* wants_write) {
  return ssl ? TlsRecv(ssl, buf, n, wants_write) : recv(fd, buf, n, 0);
}
// send(fd, data, n, MSG_NOSIGNAL) through `ssl`, as recv above. After -1 with EAGAIN, the next
// call must offer the same bytes again (more may follow them; they may have moved).
ssize_t TlsSend(SSL* ssl, const char* data, size_t n);
inline ssize_t ConnSend(int fd, SSL* ssl, const char* data, size_t n) {
  return ssl ? TlsSend(ssl, data, n) : send(fd, data, n, MSG_NOSIGNAL);
}
// Ends the writing side: a close_notify through `ssl` (a TLS client reads a bare close as a
// cut), then the socket's FIN.
void ConnEndWrites(int fd, SSL* ssl);
// True while the session's handshake is not done (null: false).
bool Handshaking(const SSL* ssl);
// Frees the session (null: nothing); the socket stays open.
void FreeSession(SSL* ssl);

}  // namespace crew::api
