#pragma once
// A minimal HTTP/1.1 server for the Prometheus endpoint, on its own thread.
//
// GET (or HEAD) /metrics answers 200 with the latest published Snapshot as
// "text/plain; version=0.0.4"; any other path is 404 and any other method 405. One
// request per connection (Connection: close); connections are served one at a time, each
// bounded by a 2 s deadline, so a stuck client delays a scrape by at most that. The thread
// never touches the engine: it only reads the Snapshot the loop thread publishes.

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "base/status.h"
#include "config/config.h"

namespace ferrite {
class TlsContext;
}

namespace ferrite::metrics {

class Snapshot;

class HttpServer {
 public:
  explicit HttpServer(const Snapshot* snapshot);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds bind:port (one address, IPv4 or IPv6; port 0 = any free port) and starts the
  // thread. With `tls`, it serves HTTPS (client certificates as `auth` asks); the handshake
  // is inside the same 2 s deadline.
  Status Start(const std::string& bind, int port, std::shared_ptr<TlsContext> tls = nullptr,
               TlsAuthClients auth = TlsAuthClients::kNo);
  int port() const { return port_; }
  // Stops and joins the thread; idempotent.
  void Stop();
  uint64_t requests_served() const { return served_.load(std::memory_order_relaxed); }

 private:
  void Loop();
  void Serve(int fd);

  const Snapshot* snapshot_;
  std::shared_ptr<TlsContext> tls_;
  TlsAuthClients auth_ = TlsAuthClients::kNo;
  int listen_fd_ = -1;
  int stop_fd_ = -1;  // eventfd: Stop() wakes the thread's poll()
  int port_ = 0;
  std::thread thread_;
  std::atomic<uint64_t> served_{0};
};

}  // namespace ferrite::metrics
