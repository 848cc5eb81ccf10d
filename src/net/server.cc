#include "net/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "commands/errors.h"
#include "net/tls.h"

namespace ferrite {

namespace {
constexpr size_t kReadChunk = 16 * 1024;  // as Redis's PROTO_IOBUF_LEN
constexpr int kMaxEvents = 1024;
enum : uint64_t {
  kTagListen = 1,
  kTagWake = 2,
  kTagSignal = 3,
  kTagWatched = 4,
  kTagListenTls = 5
};

std::string AddrString(const sockaddr_storage& ss) {
  char ip[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
    port = ntohs(a->sin_port);
    return std::string(ip) + ":" + std::to_string(port);
  }
  if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
    port = ntohs(a->sin6_port);
    std::string out = "[";  // appended, not "[" + ...: GCC 12 -O3 warns (-Wrestrict) on that
    out.append(ip).append("]:").append(std::to_string(port));
    return out;
  }
  return "?:0";
}

// Redis 7.0's protected-mode refusal, byte for byte (clients parse the -DENIED prefix).
constexpr std::string_view kProtectedModeDenied =
    "-DENIED Redis is running in protected mode because protected "
    "mode is enabled and no password is set for the default user. "
    "In this mode connections are only accepted from the loopback interface. "
    "If you want to connect from external computers to Redis you "
    "may adopt one of the following solutions: "
    "1) Just disable protected mode sending the command "
    "'CONFIG SET protected-mode no' from the loopback interface "
    "by connecting to Redis from the same host the server is "
    "running, however MAKE SURE Redis is not publicly accessible "
    "from internet if you do so. Use CONFIG REWRITE to make this "
    "change permanent. "
    "2) Alternatively you can just disable the protected mode by "
    "editing the Redis configuration file, and setting the protected "
    "mode option to 'no', and then restarting the server. "
    "3) If you started the server manually just for testing, restart "
    "it with the '--protected-mode no' option. "
    "4) Setup a an authentication password for the default user. "
    "NOTE: You only need to do one of the above things in order for "
    "the server to start accepting connections from the outside.\r\n";

// The one question protected mode asks of authentication: does the default user have a
// password? (requirepass is that password.)
// Redis's protected-mode test: the default user is not `nopass` (requirepass or ACL
// SETUSER default >... / resetpass cleared the flag).
bool DefaultUserHasPassword(Engine& e) {
  const acl::User* u = e.acl().default_user();
  return u != nullptr && !u->nopass;
}

// Every tls-* key whose change rebuilds the context (Redis's applyTlsCfg); tls-port moves
// the listener, tls-auth-clients is read at each accept.
constexpr const char* kTlsContextKeys[] = {"tls.cert_file",
                                           "tls.key_file",
                                           "tls.key_file_pass",
                                           "tls.client_cert_file",
                                           "tls.client_key_file",
                                           "tls.client_key_file_pass",
                                           "tls.dh_params_file",
                                           "tls.ca_cert_file",
                                           "tls.ca_cert_dir",
                                           "tls.protocols",
                                           "tls.ciphers",
                                           "tls.ciphersuites",
                                           "tls.prefer_server_ciphers",
                                           "tls.session_caching",
                                           "tls.session_cache_size",
                                           "tls.session_cache_timeout",
                                           "tls.replication",
                                           "tls.cluster"};
}  // namespace

struct NetServer::Conn {
  int fd = -1;
  Session* session = nullptr;
  IoBuffer in;
  RespParser parser;
  std::string out;
  size_t out_pos = 0;
  bool pending_write = false;
  bool epollout = false;
  bool closed = false;
  bool processing = false;  // inside ProcessInput (guards re-entry from DrainWoken)
  // TLS transport (null: plain socket). OpenSSL may need the other direction to go on: a
  // read that must write first waits for EPOLLOUT, a write that must read for EPOLLIN.
  std::unique_ptr<TlsConn> tls;
  bool tls_read_wants_write = false;
  bool tls_write_wants_read = false;
  bool tls_pending = false;  // queued in tls_pending_
  bool ev_out = false;       // EPOLLOUT registered
  int64_t soft_since_ms = 0;
  // Query buffer: the largest amount held since the last cron pass (Redis's querybuf_peak).
  size_t qb_peak = 0;
  // Reply buffer (Redis's per-client static buffer): the output capacity kept between
  // replies, `rbs` bytes, resized by the cron from `rbp`, the most this buffer held (capped
  // at rbs) since the peak was last reset.
  size_t rbs = 16 * 1024;
  size_t rbp = 0;
  int64_t rbp_reset_ms = 0;
  // Output positions as stream offsets (bytes since the connection opened): out[0] is at
  // out_base; bytes before `released` may be sent. The rest were produced in this loop
  // iteration (or in one whose replies are held): they wait for its end, after the AOF
  // hook — so an EPOLLOUT write never sends a reply before the fsync that covers it.
  uint64_t out_base = 0;
  uint64_t released = 0;
  size_t pending() const { return out.size() - out_pos; }
  size_t sendable_end() const {
    return size_t(std::min<uint64_t>(released - out_base, out.size()));
  }
  uint64_t out_end() const { return out_base + out.size(); }
};

NetServer::NetServer(Engine* engine) : engine_(engine) {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  wakefd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kTagWake;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, wakefd_, &ev);
  // SIGTERM/SIGINT arrive as readable events on the loop: shutdown is an ordinary,
  // orderly step of the loop, never work inside a signal handler.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  sigfd_ = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  ev.data.u64 = kTagSignal;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, sigfd_, &ev);
  signal(SIGPIPE, SIG_IGN);
  engine_->refresh_conn_info = [](Session& s) {
    auto* c = static_cast<Conn*>(s.net_conn);
    if (!c) return;
    s.conn.qbuf = c->in.readable();
    s.conn.qbuf_free = c->in.writable();
    s.conn.obl = c->pending();
    s.conn.omem = c->pending() > c->rbs ? c->out.capacity() : 0;
    s.conn.rbs = c->rbs;
    s.conn.rbp = c->rbp;
    s.conn.write_pending = c->epollout;
  };
  engine_->lazyfree().set_post([this](std::function<void()> fn) { Post(std::move(fn)); });
  port_hook_ = engine_->registry().AddKeyHook(
      "server.port", [this](const std::vector<std::string>&, const Config&) -> Status {
        int want = int(engine_->config().server.port);
        if (listen_fds_.empty() || want == port_) return Status::Ok();  // not listening yet
        return ChangePort(want);
      });
  engine_->set_event_pump([this] { ProcessEventsWhileBusy(); });
  InstallTlsHooks();
}

Status NetServer::ChangePort(int port) {
  std::vector<int> old = std::move(listen_fds_);
  listen_fds_.clear();
  int old_port = port_;
  Status st = Listen(bind_, port);
  if (!st.ok()) {
    for (int fd : listen_fds_) {
      epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
      close(fd);
    }
    listen_fds_ = std::move(old);
    port_ = old_port;
    engine_->tcp_port = old_port;
    return Status::IOError("Unable to listen on this port: " + st.message());
  }
  for (int fd : old) {
    epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
  }
  spdlog::info("Now listening on port {}", port_);
  return Status::Ok();
}

NetServer::~NetServer() {
  engine_->set_event_pump(nullptr);
  engine_->lazyfree().set_post(nullptr);  // the helper thread no longer posts here
  engine_->registry().RemoveKeyHook(port_hook_);
  for (int id : tls_hooks_) engine_->registry().RemoveKeyHook(id);
  engine_->refresh_conn_info = nullptr;
  for (Conn* c : conns_) {
    if (c) {
      if (!c->closed) {
        close(c->fd);
        engine_->DropSession(c->session);
      }
      delete c;
    }
  }
  for (int fd : listen_fds_) close(fd);
  for (int fd : tls_listen_fds_) close(fd);
  close(epfd_);
  close(wakefd_);
  close(sigfd_);
}

Status NetServer::BindAll(const std::string& bind, int port, uint64_t tag, std::vector<int>* fds,
                          int* bound) {
  auto fail = [&](Status st) {
    for (int fd : *fds) {
      epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
      close(fd);
    }
    fds->clear();
    return st;
  };
  std::vector<std::string> addrs;
  size_t i = 0;
  while (i < bind.size()) {
    size_t j = bind.find(' ', i);
    if (j == std::string::npos) j = bind.size();
    if (j > i) addrs.push_back(bind.substr(i, j - i));
    i = j + 1;
  }
  if (addrs.empty()) addrs.push_back("127.0.0.1");
  for (auto& a : addrs) {
    bool v6 = a.find(':') != std::string::npos;
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail(Status::IOError(std::string("socket: ") + strerror(errno)));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_storage ss{};
    socklen_t len;
    if (v6) {
      auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
      s6->sin6_family = AF_INET6;
      s6->sin6_port = htons(uint16_t(port));
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
      if (inet_pton(AF_INET6, a.c_str(), &s6->sin6_addr) != 1) {
        close(fd);
        return fail(Status::InvalidArgument("invalid bind address '" + a + "'"));
      }
      len = sizeof(sockaddr_in6);
    } else {
      auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
      s4->sin_family = AF_INET;
      s4->sin_port = htons(uint16_t(port));
      if (inet_pton(AF_INET, a.c_str(), &s4->sin_addr) != 1) {
        close(fd);
        return fail(Status::InvalidArgument("invalid bind address '" + a + "'"));
      }
      len = sizeof(sockaddr_in);
    }
    if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, 511) != 0) {
      std::string e = strerror(errno);
      close(fd);
      return fail(
          Status::IOError("could not listen on " + a + ":" + std::to_string(port) + ": " + e));
    }
    if (port == 0) {  // ephemeral port: learn it (tests)
      getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
      port = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                      : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag | (uint64_t(fd) << 8);
    epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
    fds->push_back(fd);
  }
  *bound = port;
  return Status::Ok();
}

Status NetServer::Listen(const std::string& bind, int port) {
  bind_ = bind;
  int bound = 0;
  std::vector<int> fds;
  Status st = BindAll(bind, port, kTagListen, &fds, &bound);
  listen_fds_.insert(listen_fds_.end(), fds.begin(), fds.end());
  if (!st.ok()) return st;
  port_ = bound;
  engine_->tcp_port = bound;
  return Status::Ok();
}

void NetServer::Post(std::function<void()> fn) {
  {
    MutexLock lk(&post_mu_);
    posted_.push_back(std::move(fn));
  }
  uint64_t one = 1;
  ssize_t r = write(wakefd_, &one, sizeof(one));
  (void)r;
}

void NetServer::Accept(int lfd, bool tls) {
  const auto& sc = engine_->config().server;
  for (int n = 0; n < 1000; n++) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    int fd = accept4(lfd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    if (conn_count_ >= size_t(sc.maxclients)) {
      std::string msg = std::string("-") + err::kMaxClients + "\r\n";
      ssize_t r = write(fd, msg.data(), msg.size());
      (void)r;
      close(fd);
      engine_->stats().rejected_connections++;
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (sc.tcp_keepalive > 0) setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    auto* c = new Conn();
    c->fd = fd;
    if (tls) {
      if (!tls_ctx_) {  // the listener outlived its context: cannot happen, refuse anyway
        close(fd);
        delete c;
        continue;
      }
      c->tls = std::make_unique<TlsConn>(*tls_ctx_, fd, engine_->config().tls.auth_clients);
    }
    c->parser = RespParser(RespLimits{size_t(sc.proto_max_bulk_len), 64 * 1024, 1024 * 1024});
    c->session = engine_->NewSession();
    c->session->conn.fd = fd;
    c->session->out = &c->out;
    c->session->net_conn = c;
    c->session->conn.addr = AddrString(ss);
    sockaddr_storage ls{};
    socklen_t llen = sizeof(ls);
    getsockname(fd, reinterpret_cast<sockaddr*>(&ls), &llen);
    c->session->conn.laddr = AddrString(ls);
    if (size_t(fd) >= conns_.size()) conns_.resize(size_t(fd) * 2 + 1, nullptr);
    conns_[size_t(fd)] = c;
    conn_count_++;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = c;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
    RefuseProtected(c);
  }
}

// Redis's clientAcceptHandler: protected mode on, no password for the default user, and a
// client that is not local (127.0.0.1, ::1): it gets the -DENIED text and is closed once
// that is written (over TLS, after the handshake the write drives). Its input is ignored.
bool NetServer::RefuseProtected(Conn* c) {
  if (!engine_->config().server.protected_mode || DefaultUserHasPassword(*engine_) ||
      c->session->conn.is_local()) {
    return false;
  }
  c->out.append(kProtectedModeDenied);
  c->session->close_after_reply = true;
  engine_->stats().rejected_connections++;
  c->pending_write = true;
  pending_writes_.push_back(c);
  return true;
}

void NetServer::UpdateEvents(Conn* c, bool want_write) {
  c->epollout = want_write;
  // TLS: a write waiting for the peer's bytes waits for EPOLLIN, not for a writable socket
  // (that would spin); a read that must send first needs EPOLLOUT.
  bool out = (want_write && !c->tls_write_wants_read) || c->tls_read_wants_write;
  if (c->ev_out == out) return;
  epoll_event ev{};
  ev.events = out ? uint32_t(EPOLLIN | EPOLLOUT) : uint32_t(EPOLLIN);
  ev.data.ptr = c;
  epoll_ctl(epfd_, EPOLL_CTL_MOD, c->fd, &ev);
  c->ev_out = out;
}

void NetServer::HandleRead(Conn* c) {
  const auto& sc = engine_->config().server;
  size_t want = kReadChunk;
  // A big bulk argument in flight: read it in large pieces, not 16 KB at a time.
  size_t bulk = c->parser.pending_bulk_len();
  if (bulk > 32 * 1024) want = std::min<size_t>(bulk + 2, size_t(sc.client_query_buffer_limit));
  c->in.Reserve(want);
  ssize_t n = c->tls ? TransportRead(c, c->in.write_ptr(), c->in.writable(), bulk > 32 * 1024)
                     : read(c->fd, c->in.write_ptr(), c->in.writable());
  if (n == 0) return Close(c);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    return Close(c);
  }
  c->in.Produced(size_t(n));
  c->qb_peak = std::max({c->qb_peak, c->in.readable(), c->parser.pending_bulk_len()});
  engine_->stats().net_input_bytes += uint64_t(n);
  engine_->stats().reads_processed++;
  c->session->conn.tot_net_in += uint64_t(n);
  c->session->conn.last_interaction_ms = engine_->clock()->NowMs();
  if (c->in.readable() > size_t(sc.client_query_buffer_limit)) {
    spdlog::warn("Closing client {} that reached max query buffer length ({} bytes)",
                 c->session->conn.addr, c->in.readable());
    engine_->stats().client_qbuf_limit_disconnections++;
    return Close(c);
  }
  ProcessInput(c);
  if (c->tls && !c->closed && !c->tls_pending && c->tls->Pending()) {
    c->tls_pending = true;
    tls_pending_.push_back(c);
  }
}

void NetServer::ProcessInput(Conn* c) {
  c->processing = true;
  ProcessInputLoop(c);
  c->processing = false;
}

// A pipelined batch: while executing command i, the keyspace buckets of the next few
// commands' first keys (for most commands their second argument; a wrong guess only
// wastes a prefetch) are already loading, so the lookups' cache misses overlap instead of
// adding up one by one. `ahead` bytes from the read position have been looked at,
// `window` commands of them not yet executed. Nothing is done for a lone command.
struct NetServer::KeyPrefetcher {
  static constexpr int kWindow = 12;
  size_t ahead = 0;
  int window = 0;
  bool off = false;
  void TopUp(Conn* c, Database& db) {
    const char* p = c->in.read_ptr();
    size_t len = c->in.readable();
    std::string_view key;
    size_t size = 0;
    while (!off && window < kWindow) {
      if (!PeekCommand(p + ahead, len - ahead, &key, &size)) {
        off = true;  // incomplete, malformed or long: the rest of this read goes unhinted
        break;
      }
      if (ahead == 0 && size == len) {
        off = true;  // a single command: nothing to overlap
        break;
      }
      if (!key.empty()) db.Prefetch(key);
      ahead += size;
      window++;
    }
  }
  void Executed(size_t consumed) {
    if (window > 0 && ahead >= consumed) {
      ahead -= consumed;
      window--;
    } else {
      ahead = 0;
      window = 0;
    }
  }
};

void NetServer::ProcessInputLoop(Conn* c) {
  Session* s = c->session;
  KeyPrefetcher prefetch;
  ReplyBuilder rb(&c->out);
  rb.set_resp3(s->resp3);
  while (c->in.readable() > 0 && !s->close_after_reply && !c->closed && !s->blocked) {
    if (!prefetch.off) prefetch.TopUp(c, engine_->db(s->db));
    RespParser::Result r = c->parser.Parse(c->in.read_ptr(), c->in.readable());
    if (r == RespParser::Result::kIncomplete) break;
    if (r == RespParser::Result::kError) {
      rb.Error("ERR " + c->parser.error().substr(0, std::string::npos));
      spdlog::info("Protocol error ({}) from client: {}", c->parser.error(), s->conn.addr);
      s->close_after_reply = true;
      c->in.Consumed(c->in.readable());
      break;
    }
    const auto& args = c->parser.args();
    if (!args.empty()) engine_->Execute(*s, args, rb);
    if (s->repl_role == Session::ReplRole::kMaster && engine_->replication()) {
      // replication: the command from our master has run; its bytes go on to our backlog
      engine_->replication()->MasterApplied(*s, {c->in.read_ptr(), c->parser.consumed()});
    }
    prefetch.Executed(c->parser.consumed());
    c->in.Consumed(c->parser.consumed());
    if (engine_->has_woken()) DrainWoken(c);
    if (c->pending() > 0 || s->close_asap) {
      CheckOutputLimits(c);
      if (c->closed) return;
    }
  }
  if ((c->pending() > 0 || s->close_after_reply) && !c->pending_write) {
    c->pending_write = true;
    pending_writes_.push_back(c);
  }
}

// Sessions that got output outside their own command (a published message, a blocked
// command served or timed out): schedule their writes, and resume the input of those no
// longer blocked. `current` is the connection being processed (its input loop goes on).
void NetServer::DrainWoken(Conn* current) {
  while (engine_->has_woken()) {
    for (Session* s : engine_->TakeWoken()) {
      auto* c = static_cast<Conn*>(s->net_conn);
      if (!c || c->closed) continue;
      if (c->pending() > 0 || s->close_asap) {
        CheckOutputLimits(c);
        if (c->closed) continue;
      }
      if (!c->pending_write && (c->pending() > 0 || s->close_after_reply)) {
        c->pending_write = true;
        pending_writes_.push_back(c);
      }
      if (c != current && !c->processing && !s->blocked && c->in.readable() > 0) ProcessInput(c);
    }
  }
}

void NetServer::CheckOutputLimits(Conn* c) {
  const auto& sc = engine_->config().server;
  size_t pending = c->pending();
  c->session->conn.obl = pending;
  c->session->conn.omem = c->out.capacity();
  bool pubsub = c->session->subscriptions() > 0;
  int64_t hard = pubsub ? sc.pubsub_output_buffer_hard_limit : sc.output_buffer_hard_limit;
  int64_t soft = pubsub ? sc.pubsub_output_buffer_soft_limit : sc.output_buffer_soft_limit;
  int64_t soft_secs = pubsub ? sc.pubsub_output_buffer_soft_seconds : sc.output_buffer_soft_seconds;
  if (c->session->repl_role == Session::ReplRole::kReplica) {  // the replica class
    const auto& rc = engine_->config().replication;
    hard = rc.output_buffer_hard_limit;
    soft = rc.output_buffer_soft_limit;
    soft_secs = rc.output_buffer_soft_seconds;
  } else if (c->session->repl_role == Session::ReplRole::kMaster) {
    hard = soft = 0;  // ACKs only
  }
  // close_asap: a reply crossed the hard limit while it was being built (ReplyBuilder).
  size_t counted = CountedOutputBytes(pending);
  bool close_now = (hard > 0 && counted >= size_t(hard)) || c->session->close_asap;
  if (!close_now && soft > 0 && counted >= size_t(soft)) {
    int64_t now = engine_->clock()->NowMs();
    if (c->soft_since_ms == 0)
      c->soft_since_ms = now;
    else if (now - c->soft_since_ms > soft_secs * 1000)
      close_now = true;
  } else if (counted < size_t(soft)) {
    c->soft_since_ms = 0;
  }
  if (close_now) {
    spdlog::warn("Client {} closed for overcoming of output buffer limits ({} bytes pending)",
                 c->session->conn.addr, pending);
    engine_->stats().client_outbuf_limit_disconnections++;
    Close(c);
  }
}

bool NetServer::WriteConn(Conn* c) {
  size_t end = c->sendable_end();
  c->rbp = std::max(c->rbp, std::min(end - c->out_pos, c->rbs));
  while (c->out_pos < end) {
    ssize_t n = c->tls ? TransportWrite(c, c->out.data() + c->out_pos, end - c->out_pos)
                       : write(c->fd, c->out.data() + c->out_pos, end - c->out_pos);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
      Close(c);
      return false;
    }
    c->out_pos += size_t(n);
    c->session->conn.out_sent = c->out_pos;
    engine_->stats().net_output_bytes += uint64_t(n);
    c->session->conn.tot_net_out += uint64_t(n);
  }
  engine_->stats().writes_processed++;
  if (c->pending() == 0) {
    c->out_base += c->out.size();
    c->out.clear();
    if (c->out.capacity() > c->rbs) {  // keep only the reply buffer's size
      std::string fresh;
      fresh.reserve(c->rbs);
      c->out.swap(fresh);
    }
    c->out_pos = 0;
    c->session->conn.out_sent = 0;
    c->session->conn.obl = 0;
    c->session->conn.omem = c->out.capacity();
    UpdateEvents(c, false);
    if (c->session->close_after_reply) {
      Close(c);
      return false;
    }
    return true;
  }
  if (c->out_pos == end) {
    // All that may go has gone; the rest waits for the end of its iteration (or for the
    // disk, while replies are held). Drop a large sent prefix meanwhile.
    if (c->out_pos >= 64 * 1024) {
      c->out.erase(0, c->out_pos);
      c->out_base += c->out_pos;
      c->out_pos = 0;
      c->session->conn.out_sent = 0;
    }
    c->session->conn.obl = c->pending();
    c->session->conn.omem = c->out.capacity();
    UpdateEvents(c, false);
    return true;
  }
  UpdateEvents(c, true);
  return true;
}

// The end of an iteration whose before-sleep hooks allowed it: everything produced so far
// may go. (Only here: an EPOLLOUT write in the middle of an iteration sends no more than
// was released, never a reply the AOF has not yet covered.)
void NetServer::FlushWrites() {
  for (size_t i = 0; i < pending_writes_.size(); i++) {
    Conn* c = pending_writes_[i];
    c->pending_write = false;
    if (c->closed) continue;
    c->released = c->out_end();
    WriteConn(c);
  }
  pending_writes_.clear();
}

// ---- replication (src/replication) ----
void NetServer::WatchFd(int fd, uint32_t events, std::function<void(uint32_t)> cb) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = kTagWatched | (uint64_t(fd) << 8);
  bool known = watched_fds_.count(fd) > 0;
  watched_fds_[fd] = std::move(cb);
  epoll_ctl(epfd_, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
}

void NetServer::UnwatchFd(int fd) {
  if (watched_fds_.erase(fd)) epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
}

Session* NetServer::AdoptConnection(int fd, const std::string& addr, std::string_view input,
                                    const std::function<void(Session&)>& init) {
  const auto& sc = engine_->config().server;
  auto* c = new Conn();
  c->fd = fd;
  c->parser = RespParser(RespLimits{size_t(sc.proto_max_bulk_len), 64 * 1024, 1024 * 1024});
  c->session = engine_->NewSession();
  c->session->conn.fd = fd;
  c->session->out = &c->out;
  c->session->net_conn = c;
  c->session->conn.addr = addr;
  sockaddr_storage ls{};
  socklen_t llen = sizeof(ls);
  getsockname(fd, reinterpret_cast<sockaddr*>(&ls), &llen);
  c->session->conn.laddr = AddrString(ls);
  if (size_t(fd) >= conns_.size()) conns_.resize(size_t(fd) * 2 + 1, nullptr);
  conns_[size_t(fd)] = c;
  conn_count_++;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = c;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  Session* s = c->session;
  init(*s);
  if (!input.empty()) {
    c->in.Reserve(input.size());
    memcpy(c->in.write_ptr(), input.data(), input.size());
    c->in.Produced(input.size());
    ProcessInput(c);
  }
  return c->closed ? nullptr : s;
}
// ---- end replication ----

void NetServer::Close(Conn* c) {
  if (c->closed) return;
  c->closed = true;
  epoll_ctl(epfd_, EPOLL_CTL_DEL, c->fd, nullptr);
  close(c->fd);
  conns_[size_t(c->fd)] = nullptr;
  engine_->DropSession(c->session);
  c->session = nullptr;
  conn_count_--;
  to_close_.push_back(c);
}

// Redis's clientsCronResizeQueryBuffer: a query buffer wasting more than 4 KB is trimmed
// when the client has been idle for over 2 s (to nothing when empty), or when it is over
// 32 KB and more than twice its recent peak (to the peak, or the bulk being read).
void NetServer::ResizeQueryBuffer(Conn* c, int64_t now_ms) {
  size_t cap = c->in.capacity();
  size_t avail = cap - c->in.readable();
  int64_t idle_s = now_ms / 1000 - c->session->conn.last_interaction_ms / 1000;
  if (avail > 4 * 1024) {
    if (idle_s > 2) {
      c->in.ShrinkTo(0);
    } else if (cap > 32 * 1024 && cap / 2 > c->qb_peak) {
      size_t target = std::max({c->in.readable(), c->qb_peak, c->parser.pending_bulk_len()});
      c->in.ShrinkTo(target);
    }
  }
  c->qb_peak = std::max(c->in.readable(), c->parser.pending_bulk_len());
}

// Redis's clientsCronResizeOutputBuffer: the reply buffer halves towards its recent peak
// (not below 1 KB) and doubles (up to 16 KB) while it is filled; the peak is forgotten
// every reply_buffer_peak_reset_ms.
void NetServer::ResizeReplyBuffer(Conn* c, int64_t now_ms) {
  constexpr size_t kMin = 1024, kChunk = 16 * 1024;
  if (engine_->reply_buffer_resizing) {
    size_t shrink = c->rbs / 2, expand = c->rbs * 2;
    if (shrink >= kMin && c->rbp < shrink) {
      c->rbs = std::max(kMin, c->rbp + 1);
      engine_->stats().reply_buffer_shrinks++;
    } else if (expand < kChunk * 2 && c->rbp == c->rbs) {
      c->rbs = std::min(kChunk, expand);
      engine_->stats().reply_buffer_expands++;
    }
  }
  int64_t reset = engine_->reply_buffer_peak_reset_ms;
  if (reset >= 0 && now_ms - c->rbp_reset_ms >= reset) {
    c->rbp = std::min(c->pending(), c->rbs);
    c->rbp_reset_ms = now_ms;
  }
  if (c->pending() == 0 && c->out.capacity() != c->rbs) {
    std::string fresh;
    fresh.reserve(c->rbs);
    c->out.swap(fresh);
  }
}

void NetServer::Cron() {
  if (engine_->cron_paused) return;  // DEBUG PAUSE-CRON
  engine_->Cron();
  const auto& sc = engine_->config().server;
  int64_t now = engine_->clock()->NowMs();
  for (Conn* c : conns_) {
    if (!c || c->closed) continue;
    ResizeQueryBuffer(c, now);
    ResizeReplyBuffer(c, now);
  }
  if (sc.timeout > 0) {
    for (Conn* c : conns_) {
      if (c && !c->closed && now - c->session->conn.last_interaction_ms > sc.timeout &&
          !c->session->in_multi && !c->session->blocked && c->session->subscriptions() == 0 &&
          c->session->repl_role == Session::ReplRole::kNone) {
        Close(c);
      }
    }
  }
}

void NetServer::Dispatch(epoll_event* events, int n) {
  for (int i = 0; i < n; i++) {
    uint64_t tag = events[i].data.u64;
    // Connection pointers are at least 8-aligned, so a low byte of 1..3 is a tag.
    if ((tag & 0xFF) == kTagListen || (tag & 0xFF) == kTagListenTls) {
      Accept(int(tag >> 8), (tag & 0xFF) == kTagListenTls);
      continue;
    }
    if ((tag & 0xFF) == kTagWatched) {
      auto it = watched_fds_.find(int(tag >> 8));
      if (it != watched_fds_.end()) {
        auto cb = it->second;  // the callback may unwatch itself
        cb(events[i].events);
      }
      continue;
    }
    if (tag == kTagWake) {
      uint64_t v;
      ssize_t r = read(wakefd_, &v, sizeof(v));
      (void)r;
      std::vector<std::function<void()>> fns;
      {
        MutexLock lk(&post_mu_);
        fns.swap(posted_);
      }
      for (auto& fn : fns) fn();
      continue;
    }
    if (tag == kTagSignal) {
      signalfd_siginfo si;
      while (read(sigfd_, &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
          spdlog::warn("Received {}, scheduling shutdown...",
                       si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
          stop_ = true;
        } else if (si.ssi_signo == SIGHUP) {
          for (auto& hook : sighup_hooks) hook();
        }
      }
      continue;
    }
    Conn* c = static_cast<Conn*>(events[i].data.ptr);
    if (c->closed) continue;
    uint32_t ev = events[i].events;
    if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) HandleRead(c);
    if (!c->closed && c->tls_write_wants_read && (ev & EPOLLIN)) WriteConn(c);
    if (!c->closed && c->tls_read_wants_write && (ev & EPOLLOUT)) HandleRead(c);
    if (!c->closed && (ev & EPOLLOUT)) WriteConn(c);
  }
}

// A script running past busy-reply-threshold calls this from its interrupt hook (Redis's
// processEventsWhileBlocked): accept, read and execute other clients' commands — the engine
// answers nearly all with -BUSY — and write their replies. Never:
//  - the input of a connection being processed (the script's caller, or one whose input
//    loop is on the stack): its parser is in use; level-triggered epoll reports it again;
//  - posted work from helper threads (a tier fetch would run a command mid-script) and
//    signals: they wait for the loop;
//  - the before-sleep hooks (persistence): no checkpoint or rewrite step, so no cut inside
//    a script. Only busy_flush_hooks (the AOF's write and fsync) run, before replies go.
void NetServer::ProcessEventsWhileBusy() {
  epoll_event events[64];
  int n = epoll_wait(epfd_, events, 64, 0);
  for (int i = 0; i < n; i++) {
    uint64_t tag = events[i].data.u64;
    if ((tag & 0xFF) == kTagListen || (tag & 0xFF) == kTagListenTls) {
      Accept(int(tag >> 8), (tag & 0xFF) == kTagListenTls);
      continue;
    }
    if (tag == kTagWake || (tag & 0xFF) == kTagWatched) continue;
    if (tag == kTagSignal) {
      // SIGTERM/SIGINT while a script is busy: the dataset holds part of the script, so
      // the shutdown must not save it (Redis exits from inside the script too). The script
      // is stopped (Engine::shutdown_requested) and its effects dropped.
      signalfd_siginfo si;
      while (read(sigfd_, &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
          spdlog::warn("Received {} during a busy script: shutting down without saving",
                       si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
          engine_->RequestShutdown(-1);
          stop_ = true;
        } else if (si.ssi_signo == SIGHUP) {
          for (auto& hook : sighup_hooks) hook();
        }
      }
      continue;
    }
    Conn* c = static_cast<Conn*>(events[i].data.ptr);
    if (c->closed || c->processing) continue;
    uint32_t ev = events[i].events;
    if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) HandleRead(c);
    if (!c->closed && c->tls_write_wants_read && (ev & EPOLLIN)) WriteConn(c);
    if (!c->closed && c->tls_read_wants_write && (ev & EPOLLOUT)) HandleRead(c);
    if (!c->closed && (ev & EPOLLOUT)) WriteConn(c);
  }
  // Replies waiting for this iteration's end (also ones produced before the script, e.g.
  // a PING answered just before it started): the AOF's pending bytes hold only whole units
  // (the script's effects are still collected in the engine), so flushing them (and
  // fsyncing under `always`) makes every reply so far safe to send.
  bool waiting = false;
  for (Conn* c : pending_writes_) {
    if (!c->closed && c->released < c->out_end()) waiting = true;
  }
  if (!waiting) return;
  bool ok = true;
  for (auto& hook : busy_flush_hooks) ok &= hook();
  if (!ok) return;
  for (Conn* c : pending_writes_) {
    if (c->closed || c->released >= c->out_end()) continue;
    c->released = c->out_end();
    WriteConn(c);
  }
}

// Group commit under `always`: every write of an iteration shares one fsync, and a client
// waiting for its reply sends nothing more, so with many unpipelined clients the batches
// alternate between two halves of them (those answered by the last fsync come back while
// the next one runs). Before that fsync, keep taking requests for a moment — until every
// connection is waiting for a reply, or nothing arrived for a quarter of the window, or the
// window (the recent fsync time, at most aof_group_commit_wait_us) is over — so one fsync
// covers nearly all of them: here 27 → 47 SETs per fsync from 50 clients at pipeline 1,
// and a fifth more SETs/s at pipeline 32 (docs/benchmarks.md). No reply leaves earlier:
// all are released after the fsync, at the end of the iteration.
void NetServer::GatherGroupCommit(epoll_event* events) {
  if (!group_commit_window || stop_) return;
  int64_t window = group_commit_window();
  if (window <= 0) return;
  Clock* clock = engine_->clock();
  int64_t start = clock->MonotonicUs();
  int64_t last_event = start;
  int64_t idle_gap = std::max<int64_t>(1, window / 4);
  while (!stop_ && !engine_->shutdown_requested() && pending_writes_.size() < conn_count_) {
    int n = epoll_wait(epfd_, events, kMaxEvents, 0);
    int64_t now = clock->MonotonicUs();
    if (n > 0) {
      last_event = now;
      Dispatch(events, n);
    } else if (now - last_event >= idle_gap) {
      break;
    }
    if (now - start >= window) break;
  }
  last_active_us_ = clock->MonotonicUs();
}

int NetServer::Run() {
  epoll_event events[kMaxEvents];
  Clock* clock = engine_->clock();
  int hz = std::max<int>(1, std::min<int>(500, int(engine_->config().server.hz)));
  next_cron_us_ = clock->MonotonicUs() + 1000000 / hz;
  while (!stop_) {
    int64_t now = clock->MonotonicUs();
    int timeout_ms = int(std::max<int64_t>(0, (next_cron_us_ - now + 999) / 1000));
    if (held_replies_) timeout_ms = std::min(timeout_ms, 10);  // retry the held flush soon
    if (int64_t deadline = engine_->NextBlockDeadline()) {     // a blocked client's timeout
      int64_t left = deadline - clock->NowMs();
      timeout_ms = std::min<int>(timeout_ms, int(std::clamp<int64_t>(left, 0, 1000)));
    }
    for (auto& busy : busy_probes) {
      if (busy()) timeout_ms = 0;
    }
    if (!tls_pending_.empty()) timeout_ms = 0;
    // Busy polling: right after traffic, poll instead of sleeping. A client's write to a
    // loop that sleeps in epoll_wait must wake it (scheduler, IPI; on a VM an exit), and
    // that cost lands on the client's CPU; a loop that is still polling is only handed the
    // data. Under load the clients spend ~10 % less CPU per request (docs/benchmarks.md).
    // An idle loop sleeps as before once busy_poll_us has passed without an event.
    if (timeout_ms > 0 && now - last_active_us_ < engine_->config().server.busy_poll_us)
      timeout_ms = 0;
    int n = epoll_wait(epfd_, events, kMaxEvents, timeout_ms);
    if (n > 0) last_active_us_ = clock->MonotonicUs();
    Dispatch(events, n);
    ProcessTlsPending();
    GatherGroupCommit(events);
    if (clock->MonotonicUs() >= next_cron_us_) {
      Cron();
      next_cron_us_ = clock->MonotonicUs() + 1000000 / hz;
    }
    if (engine_->blocked_clients() > 0) engine_->ExpireBlocked(clock->NowMs());
    engine_->BeforeSleep();  // client-side caching's BCAST invalidations
    if (engine_->has_woken()) DrainWoken(nullptr);
    if (engine_->shutdown_requested()) stop_ = true;
    bool release = true;
    for (auto& hook : before_sleep_hooks) release &= hook();
    if (engine_->has_woken()) DrainWoken(nullptr);  // output a hook produced (replication)
    held_replies_ = !release;
    if (release) FlushWrites();
    if (engine_->pending_kills) {
      engine_->pending_kills = false;
      for (Conn* c : conns_) {
        if (c && !c->closed && c->session->kill_now) Close(c);
      }
    }
    // Replies held (a failed `always` write) keep pending_writes_ across iterations: it
    // must not keep a connection that is about to be deleted.
    if (!to_close_.empty() && !pending_writes_.empty()) {
      std::erase_if(pending_writes_, [](Conn* c) { return c->closed; });
    }
    if (!to_close_.empty() && !tls_pending_.empty()) {
      std::erase_if(tls_pending_, [](Conn* c) { return c->closed; });
    }
    for (Conn* c : to_close_) delete c;
    to_close_.clear();
  }
  spdlog::warn("User requested shutdown...");
  // Replies still held (an `always` write that never became durable) are not sent: the
  // shutdown acknowledges nothing the disk does not have.
  bool release = true;
  for (auto& hook : before_sleep_hooks) release &= hook();
  if (release)
    FlushWrites();
  else
    spdlog::warn("Replies of writes that are not durable are not sent");
  for (auto& hook : shutdown_hooks) hook();
  return 0;
}

}  // namespace ferrite

namespace ferrite {

// ---- TLS transport ----

// Reads up to `len` decrypted bytes: as read(2) (> 0 bytes, 0 at the peer's close, -1 with
// errno EAGAIN when nothing is there yet — the handshake included — or EIO on failure).
// Takes every record OpenSSL already holds; with `drain` (a large argument in flight) also
// reads the socket until it is empty, so the argument does not cost a loop iteration per
// 16 KB record. Without it, no read(2) that would only say EAGAIN: the next epoll event
// brings the rest.
ssize_t NetServer::TransportRead(Conn* c, char* buf, size_t len, bool drain) {
  size_t total = 0;
  bool was_wanting = c->tls_read_wants_write;
  c->tls_read_wants_write = false;
  bool done = false;
  while (!done && total < len) {
    size_t got = 0;
    switch (c->tls->Read(buf + total, len - total, &got)) {
      case TlsConn::Io::kOk:
        total += got;
        if (!drain && !c->tls->Pending()) done = true;
        break;
      case TlsConn::Io::kWantWrite:
        c->tls_read_wants_write = true;
        done = true;
        break;
      case TlsConn::Io::kWantRead:
        done = true;
        break;
      case TlsConn::Io::kClosed:
        if (total == 0) return 0;
        done = true;  // the bytes before the close first; the next read sees it
        break;
      case TlsConn::Io::kError:
        spdlog::info("Error accepting a client connection: {} (conn: {})", c->tls->error(),
                     c->session->conn.addr);
        errno = EIO;
        return -1;
    }
  }
  if (was_wanting != c->tls_read_wants_write) UpdateEvents(c, c->epollout);
  if (total == 0) {
    errno = EAGAIN;
    return -1;
  }
  return ssize_t(total);
}

// As write(2): bytes written, or -1 with errno EAGAIN (retry on the event OpenSSL waits for)
// or EIO.
ssize_t NetServer::TransportWrite(Conn* c, const char* buf, size_t len) {
  c->tls_write_wants_read = false;
  size_t put = 0;
  switch (c->tls->Write(buf, len, &put)) {
    case TlsConn::Io::kOk:
      return ssize_t(put);
    case TlsConn::Io::kWantRead:
      c->tls_write_wants_read = true;
      errno = EAGAIN;
      return -1;
    case TlsConn::Io::kWantWrite:
      errno = EAGAIN;
      return -1;
    case TlsConn::Io::kClosed:
    case TlsConn::Io::kError:
      break;
  }
  errno = EIO;
  return -1;
}

// Bytes OpenSSL holds but the read buffer had no room for: epoll will not announce them
// (they left the socket), so the loop reads them on its own, without sleeping (Redis's
// tlsProcessPendingData).
void NetServer::ProcessTlsPending() {
  if (tls_pending_.empty()) return;
  std::vector<Conn*> todo;
  todo.swap(tls_pending_);
  for (Conn* c : todo) {
    c->tls_pending = false;
    if (!c->closed && !c->processing) HandleRead(c);
  }
}

Status NetServer::ReloadTls() {
  auto ctx = TlsContext::Create(engine_->config().tls);
  if (!ctx.ok()) {
    spdlog::warn("{}", ctx.status().message());
    return Status::InvalidArgument("Unable to update TLS configuration. Check server logs.");
  }
  tls_ctx_ = std::move(ctx).value();
  return Status::Ok();
}

Status NetServer::ListenTls(const std::string& bind, int port) {
  bind_ = bind;
  auto ctx = TlsContext::Create(engine_->config().tls);
  if (!ctx.ok()) return ctx.status();
  tls_ctx_ = std::move(ctx).value();
  std::vector<int> fds;
  int bound = 0;
  if (Status st = BindAll(bind, port, kTagListenTls, &fds, &bound); !st.ok()) return st;
  tls_listen_fds_.insert(tls_listen_fds_.end(), fds.begin(), fds.end());
  tls_port_ = bound;
  return Status::Ok();
}

// CONFIG SET tls-port: the new listener first, then the old one closes (0 closes it).
Status NetServer::ChangeTlsPort(int port) {
  std::vector<int> fds;
  int bound = 0;
  if (port != 0) {
    if (!tls_ctx_) {
      if (Status st = ReloadTls(); !st.ok()) return st;
    }
    if (Status st = BindAll(bind_, port, kTagListenTls, &fds, &bound); !st.ok()) {
      spdlog::warn("{}", st.message());
      return Status::IOError("Unable to listen on this port. Check server logs.");
    }
  }
  for (int fd : tls_listen_fds_) {
    epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
  }
  tls_listen_fds_ = std::move(fds);
  tls_port_ = bound;
  if (port != 0) spdlog::info("Now listening on TLS port {}", tls_port_);
  return Status::Ok();
}

void NetServer::InstallTlsHooks() {
  auto& reg = engine_->registry();
  tls_hooks_.push_back(
      reg.AddKeyHook("tls.port", [this](const std::vector<std::string>&, const Config&) -> Status {
        int want = int(engine_->config().tls.port);
        if (want == tls_port_) return Status::Ok();
        return ChangeTlsPort(want);
      }));
  for (const char* key : kTlsContextKeys) {
    tls_hooks_.push_back(
        reg.AddKeyHook(key, [this](const std::vector<std::string>&, const Config&) -> Status {
          // As Redis: only while TLS is in use (a listener, or TLS links configured).
          const auto& t = engine_->config().tls;
          if (!tls_ctx_ && t.port == 0 && !t.replication && !t.cluster) return Status::Ok();
          return ReloadTls();
        }));
  }
}

}  // namespace ferrite
