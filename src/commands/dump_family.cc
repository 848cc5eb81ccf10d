// DUMP, RESTORE (and RESTORE-ASKING) and MIGRATE, as Redis 7.0's cluster.c has them.
//
// The payload format is persistence/rdb/dump_payload.h (Redis's RDB value encoding,
// version 10, CRC-64). MIGRATE is Redis's: it runs on the loop, synchronously, every
// socket operation bounded by the command's timeout; the connections it opens are cached
// per host:port (at most 64) and closed after 10 seconds unused by the cron.

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>

#include "base/strutil.h"
#include "commands/command_table.h"
#include "commands/family_util.h"
#include "persistence/rdb/dump_payload.h"

namespace ferrite {
namespace {

rdb::DumpOptions DumpOptionsFor(CommandContext& ctx) {
  rdb::DumpOptions o;
  o.list_max_listpack_size = ctx.engine.config().encoding.list_max_listpack_size;
  return o;
}

void Dump(CommandContext& ctx) {
  Entry* e = ctx.db().Find(ctx.args[1], ctx.now_ms);
  if (!e) return ctx.rb.Null();
  ctx.rb.Bulk(rdb::CreateDumpPayload(e->value, DumpOptionsFor(ctx)));
}

// The access time or frequency a restored key starts with: a new key's, then IDLETIME
// under an LRU policy (or none) or FREQ under an LFU policy; the other one is accepted
// and ignored, as Redis's objectSetLRUOrLFU does.
void SetAccessInfo(CommandContext& ctx, Entry* e, int64_t lru_idle, int64_t lfu_freq) {
  int64_t now_s = ctx.now_ms / 1000;
  e->lru = uint32_t(now_s);
  e->lfu_counter = 5;  // LFU_INIT_VAL
  e->lfu_minutes = uint16_t((ctx.now_ms / 60000) & 0xFFFF);
  bool lfu = IsLfu(ctx.engine.config().server.maxmemory_policy);
  if (lfu && lfu_freq >= 0) {
    e->lfu_counter = uint8_t(lfu_freq);
  } else if (!lfu && lru_idle >= 0) {
    // An idle time longer than the clock has run would put the access before the epoch:
    // clamp (Redis's 24-bit LRU clock wraps instead, giving a meaningless idle time).
    e->lru = uint32_t(now_s - std::min(lru_idle, now_s));
  }
}

// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
void Restore(CommandContext& ctx) {
  auto& a = ctx.args;
  bool replace = false, absttl = false;
  int64_t lru_idle = -1, lfu_freq = -1;
  for (size_t j = 4; j < a.size(); j++) {
    size_t more = a.size() - j - 1;
    if (ArgIs(a[j], "REPLACE")) {
      replace = true;
    } else if (ArgIs(a[j], "ABSTTL")) {
      absttl = true;
    } else if (ArgIs(a[j], "IDLETIME") && more >= 1 && lfu_freq == -1) {
      if (!ParseIntArg(ctx, a[j + 1], &lru_idle)) return;
      if (lru_idle < 0) return ctx.rb.Error(err::kRestoreIdletime);
      j++;
    } else if (ArgIs(a[j], "FREQ") && more >= 1 && lru_idle == -1) {
      if (!ParseIntArg(ctx, a[j + 1], &lfu_freq)) return;
      if (lfu_freq < 0 || lfu_freq > 255) return ctx.rb.Error(err::kRestoreFreq);
      j++;
    } else {
      return ctx.rb.Error(err::kSyntax);
    }
  }
  Database& db = ctx.db();
  std::string key(a[1]);
  if (!replace && db.FindForWrite(key, ctx.now_ms)) return ctx.rb.Error(err::kBusyKey);
  int64_t ttl;
  if (!ParseIntArg(ctx, a[2], &ttl)) return;
  if (ttl < 0) return ctx.rb.Error(err::kRestoreTtl);
  if (!rdb::VerifyDumpPayload(a[3])) return ctx.rb.Error(err::kDumpPayloadVersion);
  auto value = rdb::DecodeDumpPayload(a[3], Limits(ctx));
  if (!value.ok()) return ctx.rb.Error(err::kBadDataFormat);

  bool deleted = replace && db.Peek(key, ctx.now_ms) && db.Delete(key);
  // A relative TTL becomes absolute. Redis adds without an overflow check: a TTL near
  // INT64_MAX wraps to the past and the key counts as expired; the same here, without the
  // undefined behaviour.
  if (ttl && !absttl) ttl = int64_t(uint64_t(ttl) + uint64_t(ctx.now_ms));
  // Already expired: nothing is created (an old key REPLACE removed is a DEL). Not while
  // replaying the AOF, where the key must exist for the commands logged after it.
  if (ttl && ttl <= ctx.now_ms && !ctx.session.replaying) {
    if (deleted) {
      ctx.NotifyModified(key);
      ctx.Notify(notify::kGeneric, "del", key);
      ctx.PropagateAs({"DEL", key});
    }
    return ctx.rb.Ok();
  }
  Entry* e = db.Insert(key, std::move(value.value()));
  if (ttl) db.SetExpire(e, ttl);
  SetAccessInfo(ctx, e, lru_idle, lfu_freq);
  ctx.NotifyModified(key);
  ctx.Notify(notify::kGeneric, "restore", key);
  if (ttl && !absttl && ctx.propagating()) {
    // Logged with the absolute time, so a replay restores the same expiry.
    std::vector<std::string> argv(a.begin(), a.end());
    argv[2] = FormatInt64(ttl);
    argv.emplace_back("ABSTTL");
    ctx.PropagateAs(std::move(argv));
  }
  ctx.rb.Ok();
}

// ---------------------------------------------------------------- MIGRATE

constexpr size_t kMigrateCacheItems = 64;
constexpr int64_t kMigrateCacheTtlS = 10;

int64_t MonotonicMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Waits until fd is ready for `events` or timeout_ms passes; false with errno ETIMEDOUT
// on a timeout (or the poll error).
bool WaitFd(int fd, short events, int64_t timeout_ms) {
  struct pollfd p = {fd, events, 0};
  int64_t deadline = MonotonicMs() + timeout_ms;
  while (true) {
    int64_t left = deadline - MonotonicMs();
    if (left <= 0) {
      errno = ETIMEDOUT;
      return false;
    }
    int n = poll(&p, 1, int(std::min<int64_t>(left, 1000)));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

// A blocking-with-timeout connection to a MIGRATE target (Redis's connBlockingConnect,
// connSyncWrite, connSyncReadLine). The socket is non-blocking; every call waits at most
// its timeout.
struct MigrateConn {
  int fd = -1;
  int64_t last_dbid = -1;
  int64_t last_use_s = 0;
  std::string rbuf;  // bytes read past the last line

  ~MigrateConn() {
    if (fd >= 0) close(fd);
  }

  // As Redis: the connection fails only when no address takes a non-blocking connect; a
  // connect still in progress after the timeout (or refused later) shows up as a write
  // error.
  bool Connect(const std::string& host, const std::string& port, int64_t timeout_ms) {
    struct addrinfo hints = {}, *res = nullptr;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0) return false;
    for (struct addrinfo* ai = res; ai && fd < 0; ai = ai->ai_next) {
      int s =
          socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
      if (s < 0) continue;
      if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) {
        fd = s;
      } else {
        close(s);
      }
    }
    freeaddrinfo(res);
    if (fd < 0) return false;
    WaitFd(fd, POLLOUT, timeout_ms);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return true;
  }

  // Writes all of data within timeout_ms; false on an error or the timeout (errno says).
  bool Write(std::string_view data, int64_t timeout_ms) {
    int64_t deadline = MonotonicMs() + timeout_ms;
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n > 0) {
        done += size_t(n);
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
      if (!WaitFd(fd, POLLOUT, deadline - MonotonicMs())) return false;
    }
    return true;
  }

  // One reply line (without CRLF), at most 1023 bytes kept as Redis's buffer; every wait
  // for more bytes is bounded by timeout_ms.
  bool ReadLine(std::string* line, int64_t timeout_ms) {
    while (true) {
      size_t nl = rbuf.find('\n');
      if (nl != std::string::npos) {
        line->assign(rbuf, 0, std::min<size_t>(nl, 1023));
        if (!line->empty() && line->back() == '\r') line->pop_back();
        rbuf.erase(0, nl + 1);
        return true;
      }
      if (rbuf.size() > 64 * 1024) {  // not a reply line: a misbehaving peer
        errno = EPROTO;
        return false;
      }
      char buf[4096];
      ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n > 0) {
        rbuf.append(buf, size_t(n));
        continue;
      }
      if (n == 0) {
        errno = ECONNRESET;
        return false;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
      if (!WaitFd(fd, POLLIN, timeout_ms)) return false;
    }
  }
};

// host:port -> connection. Process-wide like Redis's server.migrate_cached_sockets; the
// loop thread only.
std::map<std::string, std::unique_ptr<MigrateConn>>& MigrateCache() {
  static std::map<std::string, std::unique_ptr<MigrateConn>> cache;
  return cache;
}

MigrateConn* MigrateGetConn(CommandContext& ctx, const std::string& host, const std::string& port,
                            int64_t timeout_ms) {
  auto& cache = MigrateCache();
  std::string name = host + ":" + port;
  int64_t now_s = ctx.now_ms / 1000;
  auto it = cache.find(name);
  if (it != cache.end()) {
    it->second->last_use_s = now_s;
    return it->second.get();
  }
  if (cache.size() >= kMigrateCacheItems) {  // full: drop one at random
    thread_local std::mt19937_64 rng(std::random_device{}());
    cache.erase(std::next(cache.begin(), long(rng() % cache.size())));
  }
  auto conn = std::make_unique<MigrateConn>();
  // Redis passes atoi(port) to its connect, which prints it back as a decimal: "abc" is
  // port 0 (refused, like any closed port), an overlong number wraps as a C int.
  int port_number = int(std::strtol(port.c_str(), nullptr, 10));
  if (!conn->Connect(host, std::to_string(port_number), timeout_ms)) {
    ctx.rb.Error(err::kMigrateConnect);
    return nullptr;
  }
  conn->last_use_s = now_s;
  return cache.emplace(name, std::move(conn)).first->second.get();
}

void MigrateCloseConn(const std::string& host, const std::string& port) {
  MigrateCache().erase(host + ":" + port);
}

void AppendBulk(std::string* out, std::string_view s) {
  out->push_back('$');
  out->append(FormatInt64(int64_t(s.size())));
  out->append("\r\n");
  out->append(s);
  out->append("\r\n");
}
void AppendCount(std::string* out, size_t n) {
  out->push_back('*');
  out->append(FormatInt64(int64_t(n)));
  out->append("\r\n");
}

// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password]
//         [AUTH2 username password] [KEYS key [key ...]]
void Migrate(CommandContext& ctx) {
  auto& a = ctx.args;
  bool copy = false, replace = false;
  std::string_view username, password;
  bool have_password = false, have_username = false;
  size_t first_key = 3, num_keys = 1;
  for (size_t j = 6; j < a.size(); j++) {
    size_t more = a.size() - 1 - j;
    if (ArgIs(a[j], "COPY")) {
      copy = true;
    } else if (ArgIs(a[j], "REPLACE")) {
      replace = true;
    } else if (ArgIs(a[j], "AUTH")) {
      if (!more) return ctx.rb.Error(err::kSyntax);
      password = a[++j];
      have_password = true;
    } else if (ArgIs(a[j], "AUTH2")) {
      if (more < 2) return ctx.rb.Error(err::kSyntax);
      username = a[++j];
      password = a[++j];
      have_username = have_password = true;
    } else if (ArgIs(a[j], "KEYS")) {
      if (!a[3].empty()) return ctx.rb.Error(err::kMigrateKeysNotEmpty);
      first_key = j + 1;
      num_keys = a.size() - j - 1;
      break;
    } else {
      return ctx.rb.Error(err::kSyntax);
    }
  }
  int64_t timeout, dbid;
  if (!ParseIntArg(ctx, a[5], &timeout) || !ParseIntArg(ctx, a[4], &dbid)) return;
  if (timeout <= 0) timeout = 1000;

  // Serialize what is here now. A key missing or expired is skipped; none at all: NOKEY
  // (often a key expired meanwhile, not an error).
  struct Item {
    std::string key;
    int64_t ttl;  // ms, 0 = none
    std::string payload;
  };
  std::vector<Item> items;
  Database& db = ctx.db();
  rdb::DumpOptions dump_options = DumpOptionsFor(ctx);
  for (size_t j = 0; j < num_keys; j++) {
    std::string_view k = a[first_key + j];
    Entry* e = db.Find(k, ctx.now_ms);
    if (!e) continue;
    int64_t ttl = 0;
    if (e->expire_ms) {
      ttl = e->expire_ms - ctx.now_ms;
      if (ttl < 0) continue;
      if (ttl < 1) ttl = 1;
    }
    items.push_back({std::string(k), ttl, rdb::CreateDumpPayload(e->value, dump_options)});
  }
  if (items.empty()) return ctx.rb.SimpleString("NOKEY");

  std::string host(a[1]), port(a[2]);
  bool may_retry = true;
  while (true) {
    MigrateConn* cs = MigrateGetConn(ctx, host, port, timeout);
    if (!cs) return;  // replied
    std::string cmd;
    if (have_password) {
      AppendCount(&cmd, have_username ? 3 : 2);
      AppendBulk(&cmd, "AUTH");
      if (have_username) AppendBulk(&cmd, username);
      AppendBulk(&cmd, password);
    }
    bool select = cs->last_dbid != dbid;
    if (select) {
      AppendCount(&cmd, 2);
      AppendBulk(&cmd, "SELECT");
      AppendBulk(&cmd, FormatInt64(dbid));
    }
    for (const auto& it : items) {
      AppendCount(&cmd, replace ? 5 : 4);
      AppendBulk(&cmd, "RESTORE");
      AppendBulk(&cmd, it.key);
      AppendBulk(&cmd, FormatInt64(it.ttl));
      AppendBulk(&cmd, it.payload);
      if (replace) AppendBulk(&cmd, "REPLACE");
    }
    // Redis's flow: a failed write or a failed AUTH/SELECT reply goes to "socket error"
    // (close, retry once unless it timed out, else IOERR); a failed RESTORE reply too when
    // nothing was acknowledged yet.
    bool write_error = false, to_socket_error = false;
    int saved_errno = 0;
    for (size_t pos = 0; pos < cmd.size();) {  // in 64 KB pieces
      size_t n = std::min<size_t>(64 * 1024, cmd.size() - pos);
      if (!cs->Write(std::string_view(cmd).substr(pos, n), timeout)) {
        write_error = to_socket_error = true;
        saved_errno = errno;
        break;
      }
      pos += n;
    }
    std::string auth_reply, select_reply, reply;
    if (!to_socket_error && ((have_password && !cs->ReadLine(&auth_reply, timeout)) ||
                             (select && !cs->ReadLine(&select_reply, timeout)))) {
      to_socket_error = true;
      saved_errno = errno;
    }
    if (!to_socket_error) {
      bool error_from_target = false, socket_error = false;
      std::vector<std::string> del_argv;
      size_t j = 0;
      for (; j < items.size(); j++) {
        if (!cs->ReadLine(&reply, timeout)) {
          socket_error = true;
          saved_errno = errno;
          break;
        }
        bool auth_err = have_password && auth_reply.starts_with('-');
        bool select_err = select && select_reply.starts_with('-');
        if (auth_err || select_err || reply.starts_with('-')) {
          if (!error_from_target) {
            cs->last_dbid = -1;
            const std::string& e = auth_err ? auth_reply : select_err ? select_reply : reply;
            error_from_target = true;
            ctx.rb.Error("ERR Target instance replied with error: " + e.substr(1));
          }
        } else if (!copy) {
          // The target has it: delete it here, and log the DEL.
          if (db.Peek(items[j].key, ctx.now_ms)) db.Delete(items[j].key);
          ctx.NotifyModified(items[j].key);
          ctx.Notify(notify::kGeneric, "del", items[j].key);
          if (del_argv.empty()) del_argv.emplace_back("DEL");
          del_argv.push_back(items[j].key);
        }
      }
      if (!error_from_target && socket_error && j == 0 && may_retry && saved_errno != ETIMEDOUT) {
        to_socket_error = true;  // nothing processed: retry with a new connection
      } else {
        if (socket_error) MigrateCloseConn(host, port);
        if (!del_argv.empty()) ctx.PropagateAs(std::move(del_argv));
        if (!error_from_target && socket_error) {
          may_retry = false;
          to_socket_error = true;
        } else {
          if (!error_from_target) {
            cs->last_dbid = dbid;
            ctx.rb.Ok();
          }
          return;
        }
      }
    }
    // Socket error: the cached connection is dropped (a stale one is common: a new one
    // often just works), then one retry unless the error was a timeout.
    MigrateCloseConn(host, port);
    if (saved_errno != ETIMEDOUT && may_retry) {
      may_retry = false;
      continue;
    }
    return ctx.rb.Error(write_error ? err::kMigrateWrite : err::kMigrateRead);
  }
}

}  // namespace

void MigrateCachedSocketsCron(int64_t now_ms) {
  auto& cache = MigrateCache();
  for (auto it = cache.begin(); it != cache.end();) {
    if (now_ms / 1000 - it->second->last_use_s > kMigrateCacheTtlS)
      it = cache.erase(it);
    else
      ++it;
  }
}

void RegisterDumpFamily(CommandTable& t) {
  using namespace cmd;
  const char* g = "generic";
  t.Add({
      .name = "dump",
      .arity = 2,
      .flags = kReadOnly,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = Dump,
      .group = g,
      .summary = "Returns a serialized representation of the value stored at a key.",
      .since = "2.6.0",
      .acl_categories = "@keyspace @read @slow",
  });
  t.Add({
      .name = "restore",
      .arity = -4,
      .flags = kWrite | kDenyOom,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = Restore,
      .group = g,
      .summary = "Creates a key from the serialized representation of a value.",
      .since = "2.6.0",
      .acl_categories = "@keyspace @write @slow @dangerous",
  });
  t.Add({
      .name = "restore-asking",
      .arity = -4,
      .flags = kWrite | kDenyOom,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = Restore,
      .group = "server",
      .summary = "An internal command for migrating keys in a cluster.",
      .since = "3.0.0",
      .acl_categories = "@keyspace @write @slow @dangerous",
  });
  t.Add({
      .name = "migrate",
      .arity = -6,
      .flags = kWrite,
      .first_key = 3,
      .last_key = 3,
      .key_step = 1,
      .handler = Migrate,
      .group = g,
      .summary = "Atomically transfers a key from one Redis instance to another.",
      .since = "2.6.0",
      .acl_categories = "@keyspace @write @slow @dangerous",
  });
}

}  // namespace ferrite
