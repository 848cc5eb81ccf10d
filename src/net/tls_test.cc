// TlsContext's refusals (Redis's texts) and a non-blocking handshake and exchange between a
// TlsConn and an OpenSSL client over a socketpair, driven the way the event loop drives it.
#include "net/tls.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

namespace ferrite {
namespace {

// A self-signed certificate and its key in a temporary directory.
struct Certs {
  std::string dir, cert, key;
  Certs() {
    dir = std::filesystem::temp_directory_path() / ("ferrite-tls-test-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    cert = dir + "/c.crt";
    key = dir + "/c.key";
    EVP_PKEY* pkey = EVP_RSA_gen(2048);
    X509* x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pkey);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("ferrite-test"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_sign(x, pkey, EVP_sha256());
    FILE* f = fopen(cert.c_str(), "w");
    PEM_write_X509(f, x);
    fclose(f);
    f = fopen(key.c_str(), "w");
    PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(pkey);
  }
  ~Certs() { std::filesystem::remove_all(dir); }
};

Config::Tls Basic(const Certs& c) {
  Config::Tls t;
  t.cert_file = c.cert;
  t.key_file = c.key;
  t.auth_clients = TlsAuthClients::kNo;
  return t;
}

TEST(TlsContext, RefusesAsRedis) {
  Certs c;
  Config::Tls t;
  EXPECT_EQ(TlsContext::Create(t).status().message(), "No tls-cert-file configured!");
  t.cert_file = c.cert;
  EXPECT_EQ(TlsContext::Create(t).status().message(), "No tls-key-file configured!");
  t.key_file = c.key;
  // tls-auth-clients yes (the default) needs a CA to verify clients with
  EXPECT_EQ(TlsContext::Create(t).status().message(),
            "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, "
            "tls-replication or tls-auth-clients are enabled!");
  t.ca_cert_file = c.cert;
  EXPECT_TRUE(TlsContext::Create(t).ok());
  t.protocols = "TLSv1.2 SSLv3";
  EXPECT_NE(TlsContext::Create(t).status().message().find("Invalid tls-protocols"),
            std::string::npos);
  t.protocols = "tlsv1.3";
  EXPECT_TRUE(TlsContext::Create(t).ok());
  t.cert_file = c.dir + "/missing.crt";
  EXPECT_EQ(TlsContext::Create(t).status().message().rfind("Failed to load certificate: ", 0), 0u);
  t.cert_file = c.cert;
  t.ciphers = "NO-SUCH-CIPHER";
  EXPECT_EQ(TlsContext::Create(t).status().message(),
            "Failed to configure ciphers: NO-SUCH-CIPHER");
}

// Drives both ends, non-blocking, until the server has read `want` bytes.
TEST(TlsConn, NonBlockingHandshakeAndExchange) {
  Certs c;
  auto ctx = TlsContext::Create(Basic(c));
  ASSERT_TRUE(ctx.ok()) << ctx.status().message();
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  TlsConn server(*ctx.value(), sv[0], TlsAuthClients::kNo);
  SSL_CTX* cctx = SSL_CTX_new(TLS_client_method());
  SSL* client = SSL_new(cctx);
  SSL_set_fd(client, sv[1]);
  SSL_set_connect_state(client);
  std::string sent(100000, 'x');
  for (size_t i = 0; i < sent.size(); i++) sent[i] = char('a' + i % 26);
  size_t client_put = 0;
  std::string got;
  bool saw_want_read = false;
  for (int round = 0; round < 10000 && got.size() < sent.size(); round++) {
    if (client_put < sent.size()) {
      size_t n = 0;
      if (SSL_write_ex(client, sent.data() + client_put, sent.size() - client_put, &n) == 1)
        client_put += n;
    }
    char buf[4096];
    size_t n = 0;
    TlsConn::Io io = server.Read(buf, sizeof(buf), &n);
    if (io == TlsConn::Io::kOk) got.append(buf, n);
    if (io == TlsConn::Io::kWantRead) saw_want_read = true;
    ASSERT_NE(io, TlsConn::Io::kError) << server.error();
    ASSERT_NE(io, TlsConn::Io::kClosed);
  }
  EXPECT_TRUE(saw_want_read);  // the handshake waited for the client without blocking
  EXPECT_EQ(got, sent);
  // and back: the server's reply reaches the client
  size_t put = 0;
  ASSERT_EQ(server.Write("+PONG\r\n", 7, &put), TlsConn::Io::kOk);
  EXPECT_EQ(put, 7u);
  char reply[16];
  size_t rn = 0;
  for (int i = 0; i < 1000 && rn == 0; i++) SSL_read_ex(client, reply, sizeof(reply), &rn);
  EXPECT_EQ(std::string(reply, rn), "+PONG\r\n");
  SSL_free(client);
  SSL_CTX_free(cctx);
  close(sv[0]);
  close(sv[1]);
}

TEST(TlsConn, ClientWithoutCertificateIsRefusedWhenRequired) {
  Certs c;
  Config::Tls t = Basic(c);
  t.ca_cert_file = c.cert;
  t.auth_clients = TlsAuthClients::kYes;
  auto ctx = TlsContext::Create(t);
  ASSERT_TRUE(ctx.ok());
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  TlsConn server(*ctx.value(), sv[0], TlsAuthClients::kYes);
  SSL_CTX* cctx = SSL_CTX_new(TLS_client_method());
  SSL* client = SSL_new(cctx);
  SSL_set_fd(client, sv[1]);
  SSL_set_connect_state(client);
  TlsConn::Io io = TlsConn::Io::kWantRead;
  for (int round = 0; round < 1000 && io != TlsConn::Io::kError; round++) {
    size_t n = 0;
    SSL_write_ex(client, "PING\r\n", 6, &n);
    char buf[64];
    io = server.Read(buf, sizeof(buf), &n);
    ASSERT_NE(io, TlsConn::Io::kOk);
  }
  EXPECT_EQ(io, TlsConn::Io::kError);
  EXPECT_FALSE(server.error().empty());
  SSL_free(client);
  SSL_CTX_free(cctx);
  close(sv[0]);
  close(sv[1]);
}

}  // namespace
}  // namespace ferrite
