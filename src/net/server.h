#pragma once
// NetServer: the single execution thread. An epoll loop accepts connections, reads and
// parses requests, runs them through the Engine, and writes replies in one batch per loop
// iteration (so pipelined replies leave in as few write() calls as possible).
//
// Other threads talk to the loop only through Post(), which wakes it with an eventfd.

#include <sys/epoll.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/thread_annotations.h"
#include "commands/engine.h"
#include "net/buffer.h"
#include "protocol/resp_parser.h"

namespace ferrite {

class TlsContext;

class NetServer {
 public:
  explicit NetServer(Engine* engine);
  ~NetServer();

  // Binds the listening socket (bind address list separated by spaces, port).
  Status Listen(const std::string& bind, int port);
  int port() const { return port_; }
  // CONFIG SET port: listens on `port` (same addresses) and then closes the old sockets;
  // on failure the old ones stay.
  Status ChangePort(int port);
  // The TLS listener (tls-port) on the same addresses: reads the certificates now (an
  // error names the file or setting at fault). CONFIG SET of a tls-* key rebuilds the
  // context for new connections (net/tls.h); CONFIG SET tls-port moves the listener.
  Status ListenTls(const std::string& bind, int port);
  int tls_port() const { return tls_port_; }
  // Runs until shutdown is requested (SHUTDOWN, SIGTERM, SIGINT). Returns the exit code.
  int Run();
  // Thread-safe: runs fn on the loop thread soon.
  void Post(std::function<void()> fn);
  // Hooks run by the loop: before it sleeps (AOF write + fsync go here, before replies
  // are sent; a hook returning false holds every reply this iteration, e.g. when an
  // `always` fsync failed) and at shutdown.
  std::vector<std::function<bool()>> before_sleep_hooks;
  std::vector<std::function<void()>> shutdown_hooks;
  // While any probe says true (a background rewrite is running), the loop polls instead
  // of sleeping, so the paced background work keeps moving when clients are idle.
  std::vector<std::function<bool()>> busy_probes;
  // While a script is busy (ProcessEventsWhileBusy): make the replies produced so far safe
  // to send — the AOF's write and fsync only, never a persistence cut. false holds them.
  std::vector<std::function<bool()>> busy_flush_hooks;
  // Under `always`: how long (µs) the loop may keep taking requests before this
  // iteration's fsync so that it covers more of them (0: none; see GatherGroupCommit).
  std::function<int64_t()> group_commit_window;
  // ---- replication (src/replication) ----
  // A socket the loop watches for another layer (the link to our master while it connects
  // and receives the initial sync): cb(epoll events) runs on the loop. Unwatch before
  // closing the fd.
  void WatchFd(int fd, uint32_t events, std::function<void(uint32_t)> cb);
  void UnwatchFd(int fd);
  // Takes over a connected socket as a client connection (the link to our master once
  // synchronised): init sets its session up, then `input` (bytes already read from the
  // socket) is processed as if just read. Returns the session.
  Session* AdoptConnection(int fd, const std::string& addr, std::string_view input,
                           const std::function<void(Session&)>& init);
  // ---- end replication ----
  // Run on the loop when SIGHUP arrives (main: reopen the log file for logrotate).
  std::vector<std::function<void()>> sighup_hooks;

 private:
  struct Conn;
  void Accept(int lfd, bool tls);
  // Sockets bound to every address of `bind` on `port`, registered with `tag`; *bound is the
  // port (learnt when 0). On failure none stays open.
  Status BindAll(const std::string& bind, int port, uint64_t tag, std::vector<int>* fds,
                 int* bound);
  // ---- TLS (net/tls.h): a connection's transport is its socket or its TLS session.
  ssize_t TransportRead(Conn* c, char* buf, size_t len, bool drain);
  ssize_t TransportWrite(Conn* c, const char* buf, size_t len);
  Status ChangeTlsPort(int port);
  Status ReloadTls();
  void InstallTlsHooks();
  void ProcessTlsPending();
  // Protected mode: a non-local client while the default user has no password.
  bool RefuseProtected(Conn* c);
  void HandleRead(Conn* c);
  void ProcessInput(Conn* c);
  void Dispatch(epoll_event* events, int n);
  void GatherGroupCommit(epoll_event* events);
  void ProcessInputLoop(Conn* c);
  struct KeyPrefetcher;
  void FlushWrites();
  bool WriteConn(Conn* c);
  void Close(Conn* c);
  void CheckOutputLimits(Conn* c);
  void DrainWoken(Conn* current);
  void Cron();
  void ResizeQueryBuffer(Conn* c, int64_t now_ms);
  void ResizeReplyBuffer(Conn* c, int64_t now_ms);
  void UpdateEvents(Conn* c, bool want_write);
  // Engine::ProcessEventsWhileBusy: a slow script lets other clients in (see server.cc).
  void ProcessEventsWhileBusy();

  Engine* engine_;
  int epfd_ = -1;
  int wakefd_ = -1;
  int sigfd_ = -1;
  std::vector<int> listen_fds_;
  int port_ = 0;
  std::string bind_;
  int port_hook_ = 0;
  std::vector<int> tls_listen_fds_;
  int tls_port_ = 0;
  std::shared_ptr<TlsContext> tls_ctx_;  // new connections' context; null: no TLS
  std::vector<int> tls_hooks_;
  std::vector<Conn*> tls_pending_;  // decrypted input OpenSSL holds (see ProcessTlsPending)
  std::vector<Conn*> pending_writes_;
  std::vector<Conn*> to_close_;
  Mutex post_mu_;
  std::vector<std::function<void()>> posted_ GUARDED_BY(post_mu_);
  int64_t last_active_us_ = 0;  // when epoll_wait last returned events (busy polling)
  int64_t next_cron_us_ = 0;
  bool stop_ = false;
  bool held_replies_ = false;
  size_t conn_count_ = 0;
  std::vector<Conn*> conns_;                                  // by fd
  std::map<int, std::function<void(uint32_t)>> watched_fds_;  // WatchFd
};

}  // namespace ferrite
