#include "net/tls.h"

#include <errno.h>
#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <strings.h>

#include <cstring>
#include <vector>

namespace ferrite {
namespace {

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  std::string out;
  while (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
    e = ERR_get_error();
  }
  return out.empty() ? "unknown error" : out;
}

// tls-protocols: a space-separated set of TLSv1, TLSv1.1, TLSv1.2, TLSv1.3 (any case);
// empty means TLSv1.2 and TLSv1.3, as Redis.
enum : int { kV1 = 1, kV11 = 2, kV12 = 4, kV13 = 8 };
int ParseProtocols(const std::string& s) {
  if (s.empty()) return kV12 | kV13;
  int out = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(' ', i);
    if (j == std::string::npos) j = s.size();
    std::string w = s.substr(i, j - i);
    i = j + 1;
    if (w.empty()) continue;
    if (strcasecmp(w.c_str(), "tlsv1") == 0)
      out |= kV1;
    else if (strcasecmp(w.c_str(), "tlsv1.1") == 0)
      out |= kV11;
    else if (strcasecmp(w.c_str(), "tlsv1.2") == 0)
      out |= kV12;
    else if (strcasecmp(w.c_str(), "tlsv1.3") == 0)
      out |= kV13;
    else
      return -1;
  }
  return out;
}

int PasswordCallback(char* buf, int size, int, void* u) {
  const auto* pass = static_cast<const std::string*>(u);
  if (!pass || pass->empty() || size <= 0) return 0;
  int n = std::min<int>(size - 1, int(pass->size()));
  memcpy(buf, pass->data(), size_t(n));
  buf[n] = '\0';
  return n;
}

struct CtxDeleter {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};

}  // namespace

Result<std::shared_ptr<TlsContext>> TlsContext::Create(const Config::Tls& cfg) {
  if (cfg.cert_file.empty()) return Status::InvalidArgument("No tls-cert-file configured!");
  if (cfg.key_file.empty()) return Status::InvalidArgument("No tls-key-file configured!");
  if ((cfg.auth_clients != TlsAuthClients::kNo || cfg.cluster || cfg.replication) &&
      cfg.ca_cert_file.empty() && cfg.ca_cert_dir.empty()) {
    return Status::InvalidArgument(
        "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, "
        "tls-replication or tls-auth-clients are enabled!");
  }
  int protocols = ParseProtocols(cfg.protocols);
  if (protocols <= 0) {
    return Status::InvalidArgument(
        "Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' "
        "and 'TLSv1.3'.");
  }
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, CtxDeleter> ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return Status::IOError("SSL_CTX_new: " + OpenSslError());
  SSL_CTX* c = ctx.get();
  // Client-initiated renegotiation stays off (OpenSSL 3's default for servers; the option
  // to refuse it explicitly exists in some versions only).
  uint64_t opts = SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_COMPRESSION | SSL_OP_SINGLE_DH_USE |
                  SSL_OP_SINGLE_ECDH_USE;
#ifdef SSL_OP_NO_CLIENT_RENEGOTIATION
  opts |= SSL_OP_NO_CLIENT_RENEGOTIATION;
#endif
  if (!(protocols & kV1)) opts |= SSL_OP_NO_TLSv1;
  if (!(protocols & kV11)) opts |= SSL_OP_NO_TLSv1_1;
  if (!(protocols & kV12)) opts |= SSL_OP_NO_TLSv1_2;
  if (!(protocols & kV13)) opts |= SSL_OP_NO_TLSv1_3;
  if (cfg.prefer_server_ciphers) opts |= SSL_OP_CIPHER_SERVER_PREFERENCE;
  SSL_CTX_set_options(c, opts);
  // TLSv1 and TLSv1.1 asked for explicitly: OpenSSL 3's default security level refuses them.
  if (protocols & (kV1 | kV11)) SSL_CTX_set_security_level(c, 0);
  // Partial writes: a reply leaves as the socket takes it. The output buffer may grow (and
  // move) between a write that wanted to be retried and its retry.
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_dh_auto(c, 1);
  // Read ahead: one read(2) takes every record the socket holds (without it each record
  // costs two, header and body). What is read but not yet decrypted is Pending().
  SSL_CTX_set_read_ahead(c, 1);
  if (cfg.session_caching) {
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(c, long(cfg.session_cache_size));
    SSL_CTX_set_timeout(c, long(cfg.session_cache_timeout));
    static const unsigned char kSidCtx[] = "ferrite";
    SSL_CTX_set_session_id_context(c, kSidCtx, sizeof(kSidCtx) - 1);
  } else {
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(c, 0);
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
  }
  std::string pass = cfg.key_file_pass;
  SSL_CTX_set_default_passwd_cb(c, PasswordCallback);
  SSL_CTX_set_default_passwd_cb_userdata(c, &pass);
  if (SSL_CTX_use_certificate_chain_file(c, cfg.cert_file.c_str()) <= 0) {
    return Status::InvalidArgument(
        fmt::format("Failed to load certificate: {}: {}", cfg.cert_file, OpenSslError()));
  }
  if (SSL_CTX_use_PrivateKey_file(c, cfg.key_file.c_str(), SSL_FILETYPE_PEM) <= 0) {
    return Status::InvalidArgument(
        fmt::format("Failed to load private key: {}: {}", cfg.key_file, OpenSslError()));
  }
  SSL_CTX_set_default_passwd_cb_userdata(c, nullptr);  // `pass` goes out of scope
  if (SSL_CTX_check_private_key(c) != 1) {
    return Status::InvalidArgument(fmt::format("Private key does not match the certificate: {}: {}",
                                               cfg.key_file, OpenSslError()));
  }
  if (!cfg.ca_cert_file.empty() || !cfg.ca_cert_dir.empty()) {
    if (SSL_CTX_load_verify_locations(
            c, cfg.ca_cert_file.empty() ? nullptr : cfg.ca_cert_file.c_str(),
            cfg.ca_cert_dir.empty() ? nullptr : cfg.ca_cert_dir.c_str()) != 1) {
      return Status::InvalidArgument("Failed to configure CA certificate(s) file/directory: " +
                                     OpenSslError());
    }
    // The CA names a client may choose its certificate by (CertificateRequest).
    if (!cfg.ca_cert_file.empty()) {
      if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(cfg.ca_cert_file.c_str()))
        SSL_CTX_set_client_CA_list(c, names);
    }
  }
  if (!cfg.ciphers.empty() && SSL_CTX_set_cipher_list(c, cfg.ciphers.c_str()) != 1) {
    return Status::InvalidArgument("Failed to configure ciphers: " + cfg.ciphers);
  }
  if (!cfg.ciphersuites.empty() && SSL_CTX_set_ciphersuites(c, cfg.ciphersuites.c_str()) != 1) {
    return Status::InvalidArgument("Failed to configure ciphersuites: " + cfg.ciphersuites);
  }
  ERR_clear_error();
  return std::shared_ptr<TlsContext>(new TlsContext(ctx.release()));
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

TlsConn::TlsConn(const TlsContext& ctx, int fd, TlsAuthClients auth) {
  ssl_ = SSL_new(ctx.ctx());  // holds a reference on the context
  if (!ssl_) return;
  int mode = SSL_VERIFY_NONE;
  if (auth == TlsAuthClients::kYes) mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  if (auth == TlsAuthClients::kOptional) mode = SSL_VERIFY_PEER;
  SSL_set_verify(ssl_, mode, nullptr);
  SSL_set_fd(ssl_, fd);
  SSL_set_accept_state(ssl_);
}

TlsConn::~TlsConn() {
  if (ssl_) SSL_free(ssl_);  // no close_notify: the socket is closed without waiting
}

TlsConn::Io TlsConn::Fail(int ret) {
  int e = SSL_get_error(ssl_, ret);
  switch (e) {
    case SSL_ERROR_WANT_READ:
      return Io::kWantRead;
    case SSL_ERROR_WANT_WRITE:
      return Io::kWantWrite;
    case SSL_ERROR_ZERO_RETURN:
      return Io::kClosed;
    case SSL_ERROR_SYSCALL:
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return Io::kWantRead;
      if (ERR_peek_error() == 0) {
        error_ = errno ? strerror(errno) : "connection closed";
        return errno ? Io::kError : Io::kClosed;
      }
      error_ = OpenSslError();
      return Io::kError;
    default:
      error_ = OpenSslError();
      return Io::kError;
  }
}

TlsConn::Io TlsConn::Read(char* buf, size_t len, size_t* n) {
  if (!ssl_) return Io::kError;
  ERR_clear_error();
  errno = 0;
  size_t got = 0;
  int r = SSL_read_ex(ssl_, buf, len, &got);
  if (r == 1) {
    *n = got;
    return Io::kOk;
  }
  return Fail(r);
}

TlsConn::Io TlsConn::Write(const char* buf, size_t len, size_t* n) {
  if (!ssl_) return Io::kError;
  ERR_clear_error();
  errno = 0;
  size_t put = 0;
  int r = SSL_write_ex(ssl_, buf, len, &put);
  if (r == 1) {
    *n = put;
    return Io::kOk;
  }
  return Fail(r);
}

bool TlsConn::Pending() const { return ssl_ && SSL_has_pending(ssl_) == 1; }

}  // namespace ferrite
