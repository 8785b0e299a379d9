#include "api/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace crew::api {

namespace {

// OpenSSL's reasons for the last failure, oldest first (the cause, then what it failed), and
// the thread's error queue emptied. A system error is said as strerror says it; the reasons that
// only name the library that failed ("system lib", "PEM lib") are left out.
std::string Reasons() {
  std::string why;
  while (unsigned long e = ERR_get_error()) {
    std::string one;
    if (ERR_SYSTEM_ERROR(e)) {
      one = std::strerror(ERR_GET_REASON(e));
    } else if (const char* reason = ERR_reason_error_string(e)) {
      one = reason;
    }
    if (one.empty() || one.ends_with(" lib") || why.find(one) != std::string::npos) continue;
    if (!why.empty()) why += ": ";
    why += one;
  }
  return why.empty() ? "unknown reason" : why;
}

}  // namespace

Result<std::unique_ptr<TlsContext>> TlsContext::Load(const std::string& cert_file,
                                                     const std::string& key_file) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return Status::Unavailable("cannot set up TLS: " + Reasons());
  std::unique_ptr<TlsContext> tls(new TlsContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // No renegotiation: a write then never waits for a read. An EOF without close_notify ends a
  // connection as a close does (a client that closes after its last answer is no error).
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF);
  // Writes as send's: partial, from a buffer that may have grown and moved since a write that
  // had to wait; an idle connection gives its buffers back.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    return Status::Invalid("cannot use the TLS certificate " + cert_file + ": " + Reasons());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Status::Invalid("cannot use the TLS key " + key_file + ": " + Reasons());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return Status::Invalid("the TLS key " + key_file + " does not match the certificate " +
                           cert_file + ": " + Reasons());
  }
  return tls;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

SSL* TlsContext::Accept(int fd) const {
  SSL* ssl = SSL_new(ctx_);
  if (!ssl) {
    ERR_clear_error();
    return nullptr;
  }
  SSL_set_fd(ssl, fd);
  SSL_set_accept_state(ssl);
  return ssl;
}

ssize_t TlsRecv(SSL* ssl, char* buf, size_t n, bool* wants_write) {
  ERR_clear_error();  // (SSL_get_error reads the thread's queue: it must hold this call's only)
  size_t got = 0;
  if (SSL_read_ex(ssl, buf, n, &got) == 1) return static_cast<ssize_t>(got);
  switch (SSL_get_error(ssl, 0)) {
    case SSL_ERROR_WANT_READ:
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_WANT_WRITE:
      *wants_write = true;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:  // close_notify, or the EOF after the last record
      return 0;
    case SSL_ERROR_SYSCALL:  // (errno is the system call's)
      ERR_clear_error();
      if (errno == 0 || errno == EAGAIN || errno == EWOULDBLOCK) errno = ECONNRESET;
      return -1;
    default:  // a handshake that failed (not TLS, no shared cipher), a record that does not decrypt
      ERR_clear_error();
      errno = ECONNRESET;
      return -1;
  }
}

ssize_t TlsSend(SSL* ssl, const char* data, size_t n) {
  ERR_clear_error();
  size_t put = 0;
  if (SSL_write_ex(ssl, data, n, &put) == 1) return static_cast<ssize_t>(put);
  const int error = SSL_get_error(ssl, 0);
  ERR_clear_error();
  if (error == SSL_ERROR_WANT_WRITE) {
    errno = EAGAIN;
  } else if (error != SSL_ERROR_SYSCALL || errno == 0 || errno == EAGAIN || errno == EINTR) {
    errno = ECONNRESET;  // (a write that must read first is a renegotiation's, which is off)
  }
  return -1;
}

void ConnEndWrites(int fd, SSL* ssl) {
  if (ssl) {
    ERR_clear_error();
    SSL_shutdown(ssl);  // (its output is written: the socket has room for the alert)
    ERR_clear_error();
  }
  shutdown(fd, SHUT_WR);
}

bool Handshaking(const SSL* ssl) { return ssl && !SSL_is_init_finished(ssl); }

void FreeSession(SSL* ssl) { SSL_free(ssl); }

}  // namespace crew::api
