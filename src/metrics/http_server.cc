#include "metrics/http_server.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "metrics/exporter.h"
#include "net/tls.h"

namespace ferrite::metrics {
namespace {

constexpr size_t kMaxRequest = 8192;
constexpr int kDeadlineMs = 2000;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Waits for `events` on fd until the deadline; false on timeout or error.
bool WaitFd(int fd, short events, int64_t deadline) {
  for (;;) {
    int64_t left = deadline - NowMs();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int n = poll(&p, 1, int(left));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

// Over TLS: waits (until the deadline) for whatever OpenSSL needs. false on failure.
bool TlsWait(TlsConn::Io io, int fd, int64_t deadline) {
  if (io == TlsConn::Io::kWantRead) return WaitFd(fd, POLLIN, deadline);
  if (io == TlsConn::Io::kWantWrite) return WaitFd(fd, POLLOUT, deadline);
  return false;
}

bool SendAll(int fd, std::string_view data, int64_t deadline, TlsConn* tls = nullptr) {
  while (tls && !data.empty()) {
    size_t put = 0;
    TlsConn::Io io = tls->Write(data.data(), data.size(), &put);
    if (io == TlsConn::Io::kOk) {
      data.remove_prefix(put);
      continue;
    }
    if (!TlsWait(io, fd, deadline)) return false;
  }
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(size_t(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && WaitFd(fd, POLLOUT, deadline))
      continue;
    return false;
  }
  return true;
}

std::string Response(std::string_view status, std::string_view content_type, std::string_view body,
                     bool head, std::string_view extra_headers = {}) {
  std::string r = fmt::format(
      "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n{}\r\n",
      status, content_type, body.size(), extra_headers);
  if (!head) r.append(body);
  return r;
}

}  // namespace

HttpServer::HttpServer(const Snapshot* snapshot) : snapshot_(snapshot) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start(const std::string& bind, int port, std::shared_ptr<TlsContext> tls,
                         TlsAuthClients auth) {
  tls_ = std::move(tls);
  auth_ = auth;
  std::string addr = bind.empty() ? "127.0.0.1" : bind;
  sockaddr_storage ss{};
  socklen_t len;
  bool v6 = addr.find(':') != std::string::npos;
  if (v6) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(uint16_t(port));
    if (inet_pton(AF_INET6, addr.c_str(), &s6->sin6_addr) != 1) {
      return Status::InvalidArgument("[metrics] bind: invalid address '" + addr + "'");
    }
    len = sizeof(sockaddr_in6);
  } else {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(uint16_t(port));
    if (inet_pton(AF_INET, addr.c_str(), &s4->sin_addr) != 1) {
      return Status::InvalidArgument("[metrics] bind: invalid address '" + addr + "'");
    }
    len = sizeof(sockaddr_in);
  }
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IOError(std::string("metrics endpoint: socket: ") + strerror(errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (v6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, 64) != 0) {
    std::string e = strerror(errno);
    close(fd);
    return Status::IOError(
        fmt::format("metrics endpoint: could not listen on {}:{}: {}", addr, port, e));
  }
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                   : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  stop_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (stop_fd_ < 0) {
    close(fd);
    return Status::IOError(std::string("metrics endpoint: eventfd: ") + strerror(errno));
  }
  listen_fd_ = fd;
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void HttpServer::Stop() {
  if (!thread_.joinable()) return;
  uint64_t one = 1;
  ssize_t r = write(stop_fd_, &one, sizeof(one));
  (void)r;
  thread_.join();
  close(listen_fd_);
  close(stop_fd_);
  listen_fd_ = stop_fd_ = -1;
}

void HttpServer::Loop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    int n = poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      spdlog::error("metrics endpoint: poll: {}", strerror(errno));
      return;
    }
    if (fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    for (;;) {
      int c = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (c < 0) break;  // EAGAIN: drained (other errors: retry on the next poll)
      Serve(c);
      close(c);
    }
  }
}

void HttpServer::Serve(int fd) {
  int64_t deadline = NowMs() + kDeadlineMs;
  std::unique_ptr<TlsConn> tls;
  if (tls_) tls = std::make_unique<TlsConn>(*tls_, fd, auth_);
  // recv(2), or over TLS a read that waits (within the deadline) for the handshake and a
  // record: -1 with errno ETIMEDOUT when it cannot.
  auto receive = [&](char* b, size_t n) -> ssize_t {
    if (!tls) return recv(fd, b, n, 0);
    for (;;) {
      size_t got = 0;
      TlsConn::Io io = tls->Read(b, n, &got);
      if (io == TlsConn::Io::kOk) return ssize_t(got);
      if (io == TlsConn::Io::kClosed) return 0;
      if (!TlsWait(io, fd, deadline)) {
        errno = ETIMEDOUT;
        return -1;
      }
    }
  };
  std::string req;
  char buf[2048];
  while (req.find("\r\n\r\n") == std::string::npos && req.find("\n\n") == std::string::npos) {
    if (req.size() > kMaxRequest) {
      SendAll(fd,
              Response("431 Request Header Fields Too Large", "text/plain", "request too large\n",
                       false),
              deadline, tls.get());
      return;
    }
    ssize_t r = receive(buf, sizeof(buf));
    if (r > 0) {
      req.append(buf, size_t(r));
      continue;
    }
    if (r == 0) break;  // peer closed: answer what we have if it is a request line
    if (errno == EINTR) continue;
    if ((errno == EAGAIN || errno == EWOULDBLOCK) && WaitFd(fd, POLLIN, deadline)) continue;
    return;  // timeout or error: drop the connection
  }
  std::string_view line(req);
  line = line.substr(0, line.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || !line.substr(sp2 + 1).starts_with("HTTP/1.")) {
    SendAll(fd, Response("400 Bad Request", "text/plain", "bad request\n", false), deadline,
            tls.get());
    return;
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view path = target.substr(0, target.find('?'));
  bool head = method == "HEAD";
  std::string out;
  if (method != "GET" && !head) {
    out = Response("405 Method Not Allowed", "text/plain", "method not allowed\n", false,
                   "Allow: GET, HEAD\r\n");
  } else if (path != "/metrics") {
    out = Response("404 Not Found", "text/plain", "not found: this server serves /metrics\n", head);
  } else {
    auto text = snapshot_->Get();
    static const std::string kEmpty;
    out =
        Response("200 OK", "text/plain; version=0.0.4; charset=utf-8", text ? *text : kEmpty, head);
  }
  SendAll(fd, out, deadline, tls.get());
  served_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace ferrite::metrics
