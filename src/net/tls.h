#pragma once
// TLS for client connections (OpenSSL): the server context built from the [tls] settings,
// and one non-blocking server-side session per connection.
//
// A TlsContext is immutable once built. CONFIG SET of a tls-* key builds a new one and the
// listener uses it for new connections; a session keeps the SSL_CTX it was accepted with
// (OpenSSL reference-counts it), so open connections go on with the old certificate.

#include <memory>
#include <string>

#include "base/status.h"
#include "config/config.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace ferrite {

class TlsContext {
 public:
  // Reads the certificate, key and CA files now. The error names what failed (the
  // OpenSSL reason included), as Redis logs it.
  static Result<std::shared_ptr<TlsContext>> Create(const Config::Tls& cfg);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  SSL_CTX* ctx() const { return ctx_; }

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

// One accepted connection's TLS session over a non-blocking socket. The handshake happens
// inside the first Read/Write calls (server side: SSL_accept implicitly).
class TlsConn {
 public:
  enum class Io {
    kOk,         // *n bytes moved (> 0)
    kWantRead,   // retry when the socket is readable
    kWantWrite,  // retry when the socket is writable
    kClosed,     // the peer closed (close_notify or EOF)
    kError,      // handshake or protocol failure: close the connection
  };
  TlsConn(const TlsContext& ctx, int fd, TlsAuthClients auth);
  ~TlsConn();
  TlsConn(const TlsConn&) = delete;
  TlsConn& operator=(const TlsConn&) = delete;

  Io Read(char* buf, size_t len, size_t* n);
  // The same bytes (or more) must be offered again after kWantRead/kWantWrite; the buffer
  // may move in between (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).
  Io Write(const char* buf, size_t len, size_t* n);
  // Bytes OpenSSL holds (decrypted, or read ahead from the socket and not yet decrypted)
  // that the socket will not announce again.
  bool Pending() const;
  // The last failure, for the log.
  const std::string& error() const { return error_; }

 private:
  Io Fail(int ret);
  SSL* ssl_ = nullptr;
  std::string error_;
};

}  // namespace ferrite
