#include "config/redis_config.h"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "base/strutil.h"
#include "config/schema.h"

namespace ferrite {
namespace {

using F = RedisParam;
constexpr uint32_t kImmutable = F::kImmutable, kProtected = F::kProtected, kHidden = F::kHidden,
                   kSensitive = F::kSensitive, kDenyLoading = F::kDenyLoading,
                   kMultiArg = F::kMultiArg, kVolatile = F::kVolatile;
constexpr uint32_t kMem = F::kMem, kPct = F::kPct, kOct = F::kOct, kUnsigned = F::kUnsigned;

RedisParam B(const char* n, const char* a, uint32_t f, const char* d, const char* fer) {
  return {n, a, f, F::Kind::kBool, 0, 0, 0, "", d, fer};
}
RedisParam S(const char* n, const char* a, uint32_t f, const char* d, const char* fer) {
  return {n, a, f, F::Kind::kString, 0, 0, 0, "", d, fer};
}
RedisParam E(const char* n, const char* a, uint32_t f, const char* ch, const char* d,
             const char* fer) {
  return {n, a, f, F::Kind::kEnum, 0, 0, 0, ch, d, fer};
}
RedisParam EF(const char* n, const char* a, uint32_t f, const char* ch, const char* d,
              const char* fer) {
  return {n, a, f, F::Kind::kEnumFlags, 0, 0, 0, ch, d, fer};
}
RedisParam N(const char* n, const char* a, uint32_t f, int64_t mn, int64_t mx, const char* d,
             uint32_t num, const char* fer) {
  return {n, a, f, F::Kind::kNumber, mn, mx, num, "", d, fer};
}
RedisParam X(const char* n, const char* a, uint32_t f, const char* fer, const char* def = "") {
  return {n, a, f, F::Kind::kSpecial, 0, 0, 0, "", def, fer};
}

// The table, in the order of Redis 7.0's config.c. Defaults are Redis's: a mapped name
// shows Ferrite's value instead (its default is in the schema).
std::vector<RedisParam> BuildTable() {
  (void)kVolatile;
  return {
      B("rdbchecksum", "", kImmutable, "yes", ""),
      B("daemonize", "", kImmutable, "no", ""),
      B("io-threads-do-reads", "", kImmutable, "no", ""),
      B("always-show-logo", "", kImmutable, "no", ""),
      B("protected-mode", "", 0, "yes", "server.protected_mode"),
      B("rdbcompression", "", 0, "yes", ""),
      B("rdb-del-sync-files", "", 0, "no", ""),
      B("activerehashing", "", 0, "yes", ""),
      B("stop-writes-on-bgsave-error", "", 0, "yes", "server.stop_writes_on_bgsave_error"),
      B("set-proc-title", "", kImmutable, "yes", ""),
      B("dynamic-hz", "", 0, "yes", ""),
      B("lazyfree-lazy-eviction", "", 0, "no", "server.lazyfree_lazy_eviction"),
      B("lazyfree-lazy-expire", "", 0, "no", "server.lazyfree_lazy_expire"),
      B("lazyfree-lazy-server-del", "", 0, "no", "server.lazyfree_lazy_server_del"),
      B("lazyfree-lazy-user-del", "", 0, "no", "server.lazyfree_lazy_user_del"),
      B("lazyfree-lazy-user-flush", "", 0, "no", "server.lazyfree_lazy_user_flush"),
      B("repl-disable-tcp-nodelay", "", 0, "no", ""),
      B("repl-diskless-sync", "", 0, "yes", ""),
      B("aof-rewrite-incremental-fsync", "", 0, "yes", ""),
      B("no-appendfsync-on-rewrite", "", 0, "no", ""),
      B("cluster-require-full-coverage", "", 0, "yes", ""),
      B("rdb-save-incremental-fsync", "", 0, "yes", ""),
      B("aof-load-truncated", "", 0, "yes", ""),
      B("aof-use-rdb-preamble", "", 0, "yes", "persistence.aof_use_checkpoint_preamble"),
      B("aof-timestamp-enabled", "", 0, "no", "persistence.aof_timestamp_enabled"),
      B("cluster-replica-no-failover", "cluster-slave-no-failover", 0, "no", ""),
      B("replica-lazy-flush", "slave-lazy-flush", 0, "no", ""),
      B("replica-serve-stale-data", "slave-serve-stale-data", 0, "yes",
        "replication.replica_serve_stale_data"),
      B("replica-read-only", "slave-read-only", 0, "yes", "replication.replica_read_only"),
      B("replica-ignore-maxmemory", "slave-ignore-maxmemory", 0, "yes", ""),
      B("jemalloc-bg-thread", "", 0, "yes", ""),
      B("activedefrag", "", 0, "no", ""),
      B("syslog-enabled", "", kImmutable, "no", ""),
      B("cluster-enabled", "", kImmutable, "no", ""),
      B("appendonly", "", kDenyLoading, "no", "persistence.aof_enabled"),
      B("cluster-allow-reads-when-down", "", 0, "no", ""),
      B("cluster-allow-pubsubshard-when-down", "", 0, "yes", ""),
      B("crash-log-enabled", "", 0, "yes", ""),
      B("crash-memcheck-enabled", "", 0, "yes", ""),
      B("use-exit-on-panic", "", kHidden, "no", ""),
      B("disable-thp", "", kImmutable, "yes", ""),
      B("cluster-allow-replica-migration", "", 0, "yes", ""),
      B("replica-announced", "", 0, "yes", ""),
      B("latency-tracking", "", 0, "yes", ""),
      B("aof-disable-auto-gc", "", 0, "no", ""),
      B("replica-ignore-disk-write-errors", "", 0, "no", ""),
      S("aclfile", "", kImmutable, "", "acl.aclfile"),
      S("unixsocket", "", kImmutable, "", ""),
      S("pidfile", "", kImmutable, "", "server.pidfile"),
      S("replica-announce-ip", "slave-announce-ip", 0, "", ""),
      S("masteruser", "", kSensitive, "", "replication.masteruser"),
      S("cluster-announce-ip", "", 0, "", ""),
      S("cluster-config-file", "", kImmutable, "nodes.conf", ""),
      S("cluster-announce-hostname", "", 0, "", ""),
      S("syslog-ident", "", kImmutable, "redis", ""),
      S("dbfilename", "", kProtected, "dump.rdb", "persistence.checkpoint_file"),
      S("appendfilename", "", kImmutable, "appendonly.aof", "persistence.aof_file"),
      S("appenddirname", "", kImmutable, "appendonlydir", ""),
      S("server_cpulist", "", kImmutable, "", ""),
      S("bio_cpulist", "", kImmutable, "", ""),
      S("aof_rewrite_cpulist", "", kImmutable, "", ""),
      S("bgsave_cpulist", "", kImmutable, "", ""),
      S("ignore-warnings", "", 0, "", ""),
      S("proc-title-template", "", 0, "{title} {listen-addr} {server-mode}", ""),
      S("bind-source-addr", "", 0, "", ""),
      S("logfile", "", kImmutable, "", "server.logfile"),
      S("masterauth", "", kSensitive, "", "replication.masterauth"),
      S("requirepass", "", kSensitive, "", "server.requirepass"),
      E("supervised", "", kImmutable, "upstart systemd auto no", "no", ""),
      E("syslog-facility", "", kImmutable,
        "user local0 local1 local2 local3 local4 local5 local6 local7", "local0", ""),
      E("repl-diskless-load", "", kDenyLoading, "disabled on-empty-db swapdb", "disabled", ""),
      E("loglevel", "", 0, "debug verbose notice warning", "notice", "server.loglevel"),
      E("maxmemory-policy", "", 0,
        "volatile-lru volatile-lfu volatile-random volatile-ttl allkeys-lru allkeys-lfu "
        "allkeys-random noeviction",
        "noeviction", "server.maxmemory_policy"),
      E("appendfsync", "", 0, "everysec always no", "everysec", "persistence.aof_sync_policy"),
      E("oom-score-adj", "", 0, "no yes relative absolute", "no", ""),
      E("acl-pubsub-default", "", 0, "allchannels resetchannels", "resetchannels",
        "acl.pubsub_default"),
      E("sanitize-dump-payload", "", 0, "no yes clients", "no", ""),
      E("enable-protected-configs", "", kImmutable, "no yes local", "no", ""),
      E("enable-debug-command", "", kImmutable, "no yes local", "no",
        "server.enable_debug_command"),
      E("enable-module-command", "", kImmutable, "no yes local", "no", ""),
      E("cluster-preferred-endpoint-type", "", 0, "ip hostname unknown-endpoint", "ip", ""),
      E("propagation-error-behavior", "", 0, "ignore panic panic-on-replicas", "ignore", ""),
      EF("shutdown-on-sigint", "", kMultiArg, "default save nosave now force", "default", ""),
      EF("shutdown-on-sigterm", "", kMultiArg, "default save nosave now force", "default", ""),
      N("databases", "", kImmutable, 1, INT32_MAX, "16", 0, "server.databases"),
      N("port", "", 0, 0, 65535, "6379", 0, "server.port"),
      N("io-threads", "", kImmutable, 1, 128, "1", 0, ""),
      N("auto-aof-rewrite-percentage", "", 0, 0, INT32_MAX, "100", 0,
        "persistence.aof_rewrite_percentage"),
      N("cluster-replica-validity-factor", "cluster-slave-validity-factor", 0, 0, INT32_MAX, "10",
        0, ""),
      N("list-max-listpack-size", "list-max-ziplist-size", 0, INT32_MIN, INT32_MAX, "-2", 0,
        "encoding.list_max_listpack_size"),
      N("tcp-keepalive", "", 0, 0, INT32_MAX, "300", 0, "server.tcp_keepalive"),
      N("cluster-migration-barrier", "", 0, 0, INT32_MAX, "1", 0, ""),
      N("active-defrag-cycle-min", "", 0, 1, 99, "1", 0, ""),
      N("active-defrag-cycle-max", "", 0, 1, 99, "25", 0, ""),
      N("active-defrag-threshold-lower", "", 0, 0, 1000, "10", 0, ""),
      N("active-defrag-threshold-upper", "", 0, 0, 1000, "100", 0, ""),
      N("lfu-log-factor", "", 0, 0, INT32_MAX, "10", 0, "server.lfu_log_factor"),
      N("lfu-decay-time", "", 0, 0, INT32_MAX, "1", 0, "server.lfu_decay_time"),
      N("replica-priority", "slave-priority", 0, 0, INT32_MAX, "100", 0, ""),
      N("repl-diskless-sync-delay", "", 0, 0, INT32_MAX, "5", 0, ""),
      N("maxmemory-samples", "", 0, 1, INT32_MAX, "5", 0, "server.maxmemory_samples"),
      N("maxmemory-eviction-tenacity", "", 0, 0, 100, "10", 0, ""),
      N("timeout", "", 0, 0, INT32_MAX, "0", 0, "server.timeout"),
      N("replica-announce-port", "slave-announce-port", 0, 0, 65535, "0", 0, ""),
      N("tcp-backlog", "", kImmutable, 0, INT32_MAX, "511", 0, ""),
      N("cluster-port", "", kImmutable, 0, 65535, "0", 0, ""),
      N("cluster-announce-bus-port", "", 0, 0, 65535, "0", 0, ""),
      N("cluster-announce-port", "", 0, 0, 65535, "0", 0, ""),
      N("cluster-announce-tls-port", "", 0, 0, 65535, "0", 0, ""),
      N("repl-timeout", "", 0, 1, INT32_MAX, "60", 0, "replication.repl_timeout"),
      N("repl-ping-replica-period", "repl-ping-slave-period", 0, 1, INT32_MAX, "10", 0,
        "replication.repl_ping_replica_period"),
      N("list-compress-depth", "", 0, 0, INT32_MAX, "0", 0, "encoding.list_compress_depth"),
      N("rdb-key-save-delay", "", kHidden, INT32_MIN, INT32_MAX, "0", 0, ""),
      N("key-load-delay", "", kHidden, INT32_MIN, INT32_MAX, "0", 0, "recovery.key_load_delay"),
      N("active-expire-effort", "", 0, 1, 10, "1", 0, "server.active_expire_effort"),
      N("hz", "", 0, 0, INT32_MAX, "10", 0, "server.hz"),
      N("min-replicas-to-write", "min-slaves-to-write", 0, 0, INT32_MAX, "0", 0, ""),
      N("min-replicas-max-lag", "min-slaves-max-lag", 0, 0, INT32_MAX, "10", 0, ""),
      N("watchdog-period", "", kHidden, 0, INT32_MAX, "0", 0, ""),
      N("shutdown-timeout", "", 0, 0, INT32_MAX, "10", 0, ""),
      N("repl-diskless-sync-max-replicas", "", 0, 0, INT32_MAX, "0", 0, ""),
      N("maxclients", "", 0, 1, UINT32_MAX, "10000", kUnsigned, "server.maxclients"),
      N("unixsocketperm", "", kImmutable, 0, 0777, "0", kOct | kUnsigned, ""),
      N("socket-mark-id", "", kImmutable, 0, UINT32_MAX, "0", kUnsigned, ""),
      N("active-defrag-max-scan-fields", "", 0, 1, INT64_MAX, "1000", kUnsigned, ""),
      N("slowlog-max-len", "", 0, 0, INT64_MAX, "128", kUnsigned, "server.slowlog_max_len"),
      N("acllog-max-len", "", 0, 0, INT64_MAX, "128", kUnsigned, "acl.log_max_len"),
      N("busy-reply-threshold", "lua-time-limit", 0, 0, INT64_MAX, "5000", 0,
        "server.busy_reply_threshold"),
      N("cluster-node-timeout", "", 0, 0, INT64_MAX, "15000", 0, ""),
      N("slowlog-log-slower-than", "", 0, -1, INT64_MAX, "10000", 0,
        "server.slowlog_log_slower_than"),
      N("latency-monitor-threshold", "", 0, 0, INT64_MAX, "0", 0,
        "server.latency_monitor_threshold"),
      N("proto-max-bulk-len", "", 0, 1 << 20, INT64_MAX, "536870912", kMem,
        "server.proto_max_bulk_len"),
      N("stream-node-max-entries", "", 0, 0, INT64_MAX, "100", 0,
        "encoding.stream_node_max_entries"),
      N("repl-backlog-size", "", 0, 1, INT64_MAX, "1048576", kMem, "replication.repl_backlog_size"),
      N("maxmemory", "", 0, 0, -1, "0", kMem | kUnsigned, "server.maxmemory"),
      N("cluster-link-sendbuf-limit", "", 0, 0, -1, "0", kMem | kUnsigned, ""),
      N("hash-max-listpack-entries", "hash-max-ziplist-entries", 0, 0, INT64_MAX, "512", kUnsigned,
        "encoding.hash_max_listpack_entries"),
      N("set-max-intset-entries", "", 0, 0, INT64_MAX, "512", kUnsigned,
        "encoding.set_max_intset_entries"),
      N("zset-max-listpack-entries", "zset-max-ziplist-entries", 0, 0, INT64_MAX, "128", kUnsigned,
        "encoding.zset_max_listpack_entries"),
      N("active-defrag-ignore-bytes", "", 0, 1, INT64_MAX, "104857600", kMem | kUnsigned, ""),
      N("hash-max-listpack-value", "hash-max-ziplist-value", 0, 0, INT64_MAX, "64",
        kMem | kUnsigned, "encoding.hash_max_listpack_value"),
      N("stream-node-max-bytes", "", 0, 0, INT64_MAX, "4096", kMem | kUnsigned,
        "encoding.stream_node_max_bytes"),
      N("zset-max-listpack-value", "zset-max-ziplist-value", 0, 0, INT64_MAX, "64",
        kMem | kUnsigned, "encoding.zset_max_listpack_value"),
      N("hll-sparse-max-bytes", "", 0, 0, INT64_MAX, "3000", kMem | kUnsigned,
        "encoding.hll_sparse_max_bytes"),
      N("tracking-table-max-keys", "", 0, 0, INT64_MAX, "1000000", kUnsigned,
        "server.tracking_table_max_keys"),
      N("client-query-buffer-limit", "", 0, 1 << 20, INT64_MAX, "1073741824", kMem | kUnsigned,
        "server.client_query_buffer_limit"),
      N("maxmemory-clients", "", 0, -100, INT64_MAX, "0", kMem | kPct, ""),
      N("repl-backlog-ttl", "", 0, 0, INT64_MAX, "3600", 0, ""),
      N("auto-aof-rewrite-min-size", "", 0, 0, INT64_MAX, "67108864", kMem,
        "persistence.aof_rewrite_min_size"),
      N("loading-process-events-interval-bytes", "", kHidden, 1024, INT32_MAX, "2097152", 0, ""),
      N("tls-port", "", 0, 0, 65535, "0", 0, "tls.port"),
      N("tls-session-cache-size", "", 0, 0, INT32_MAX, "20480", 0, "tls.session_cache_size"),
      N("tls-session-cache-timeout", "", 0, 0, INT32_MAX, "300", 0, "tls.session_cache_timeout"),
      B("tls-cluster", "", 0, "no", "tls.cluster"),
      B("tls-replication", "", 0, "no", "tls.replication"),
      E("tls-auth-clients", "", 0, "no yes optional", "yes", "tls.auth_clients"),
      B("tls-prefer-server-ciphers", "", 0, "no", "tls.prefer_server_ciphers"),
      B("tls-session-caching", "", 0, "yes", "tls.session_caching"),
      S("tls-cert-file", "", kVolatile, "", "tls.cert_file"),
      S("tls-key-file", "", kVolatile, "", "tls.key_file"),
      S("tls-key-file-pass", "", 0, "", "tls.key_file_pass"),
      S("tls-client-cert-file", "", kVolatile, "", "tls.client_cert_file"),
      S("tls-client-key-file", "", kVolatile, "", "tls.client_key_file"),
      S("tls-client-key-file-pass", "", 0, "", "tls.client_key_file_pass"),
      S("tls-dh-params-file", "", kVolatile, "", "tls.dh_params_file"),
      S("tls-ca-cert-file", "", kVolatile, "", "tls.ca_cert_file"),
      S("tls-ca-cert-dir", "", kVolatile, "", "tls.ca_cert_dir"),
      S("tls-protocols", "", 0, "", "tls.protocols"),
      S("tls-ciphers", "", 0, "", "tls.ciphers"),
      S("tls-ciphersuites", "", 0, "", "tls.ciphersuites"),
      X("dir", "", kProtected | kDenyLoading, "server.dir"),
      X("save", "", kMultiArg, "persistence.checkpoint_rules"),
      X("client-output-buffer-limit", "", kMultiArg, ""),
      X("oom-score-adj-values", "", kMultiArg, "", "0 200 800"),
      X("notify-keyspace-events", "", 0, "server.notify_keyspace_events"),
      X("bind", "", kMultiArg, "server.bind"),
      X("replicaof", "slaveof", kImmutable | kMultiArg, "replication.replicaof"),
      X("latency-tracking-info-percentiles", "", kMultiArg, "", "50 99 99.9"),
  };
}

std::vector<std::string> Words(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') i++;
    size_t j = i;
    while (j < s.size() && s[j] != ' ') j++;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// Redis's memtoull: digits with an optional unit b, k, kb, m, mb, g, gb; no sign.
bool ParseRedisMemory(std::string_view s, uint64_t* out) {
  size_t i = 0;
  if (!s.empty() && s[0] == '-') return false;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') i++;
  std::string_view unit = s.substr(i);
  uint64_t mul;
  if (unit.empty() || EqualsIgnoreCase(unit, "b"))
    mul = 1;
  else if (EqualsIgnoreCase(unit, "k"))
    mul = 1000;
  else if (EqualsIgnoreCase(unit, "kb"))
    mul = 1024;
  else if (EqualsIgnoreCase(unit, "m"))
    mul = 1000 * 1000;
  else if (EqualsIgnoreCase(unit, "mb"))
    mul = 1024 * 1024;
  else if (EqualsIgnoreCase(unit, "g"))
    mul = 1000ULL * 1000 * 1000;
  else if (EqualsIgnoreCase(unit, "gb"))
    mul = 1024ULL * 1024 * 1024;
  else
    return false;
  if (i == 0 && !unit.empty()) return false;  // a unit without digits
  std::string digits(s.substr(0, i));
  errno = 0;
  char* end = nullptr;
  uint64_t v = digits.empty() ? 0 : strtoull(digits.c_str(), &end, 10);
  if (!digits.empty() && (errno == ERANGE || *end != '\0')) return false;
  *out = v * mul;  // wraps as Redis's does on overflow
  return true;
}

// Redis's numeric CONFIG SET parsing and bounds (numericParseString, numericBoundaryCheck).
Status ParseRedisNumber(const RedisParam& p, std::string_view v, int64_t* out) {
  bool parsed = false;
  if (p.num & kMem) {
    uint64_t u;
    if (ParseRedisMemory(v, &u)) {
      *out = int64_t(u);
      parsed = true;
    }
  }
  if (!parsed && (p.num & kPct) && v.size() > 1 && v.back() == '%') {
    int64_t pct;
    if (ParseInt64(v.substr(0, v.size() - 1), &pct) && pct >= 0) {
      *out = -pct;  // percentages are stored negative, as Redis
      parsed = true;
    }
  }
  if (!parsed && (p.num & kOct)) {
    std::string s(v);
    char* end = nullptr;
    errno = 0;
    long long o = strtoll(s.c_str(), &end, 8);
    if (errno == 0 && *end == '\0' && !s.empty()) {
      *out = o;
      parsed = true;
    }
  }
  if (!parsed && !(p.num & (kMem | kPct | kOct)) && ParseInt64(v, out)) parsed = true;
  if (!parsed) {
    if ((p.num & kMem) && (p.num & kPct))
      return Status::InvalidArgument("argument must be a memory or percent value");
    if (p.num & kMem) return Status::InvalidArgument("argument must be a memory value");
    if (p.num & kOct)
      return Status::InvalidArgument("argument couldn't be parsed as an octal number");
    return Status::InvalidArgument("argument couldn't be parsed into an integer");
  }
  int64_t ll = *out;
  if (p.num & kUnsigned) {
    uint64_t u = uint64_t(ll), lo = uint64_t(p.min), hi = uint64_t(p.max);
    if (u > hi || u < lo) {
      if (p.num & kOct)
        return Status::InvalidArgument(
            fmt::format("argument must be between {:o} and {:o} inclusive", lo, hi));
      return Status::InvalidArgument(
          fmt::format("argument must be between {} and {} inclusive", lo, hi));
    }
  } else if ((p.num & kPct) && ll < 0) {
    if (ll < p.min)
      return Status::InvalidArgument(
          fmt::format("percentage argument must be less or equal to {}", -p.min));
  } else if (ll > p.max || ll < p.min) {
    return Status::InvalidArgument(
        fmt::format("argument must be between {} and {} inclusive", p.min, p.max));
  }
  return Status::Ok();
}

std::string FormatRedisNumber(const RedisParam& p, int64_t v) {
  if ((p.num & kPct) && v < 0) return std::to_string(-v) + "%";
  if (p.num & kMem) return std::to_string(uint64_t(v));
  if (p.num & kOct) return fmt::format("{:o}", v);
  return std::to_string(v);
}

Status EnumError(const RedisParam& p) {
  std::string msg = "argument(s) must be one of the following: ";
  auto words = Words(p.choices);
  for (size_t i = 0; i < words.size(); i++) msg += (i ? ", " : "") + words[i];
  return Status::InvalidArgument(msg);
}

// An enum value in Redis's canonical spelling (the first name with that meaning: "yes" and
// "relative" are one value of oom-score-adj).
bool CanonicalEnum(const RedisParam& p, std::string_view v, std::string* out) {
  for (auto& w : Words(p.choices)) {
    if (EqualsIgnoreCase(w, v)) {
      *out = w;
      if (std::string_view(p.name) == "oom-score-adj" && w == "relative") *out = "yes";
      return true;
    }
  }
  return false;
}

// shutdown-on-sig*: a set of flags; "default" alone means none.
Status ParseShutdownFlags(const RedisParam& p, std::string_view v, std::string* out) {
  auto words = Words(v);
  if (words.empty()) return EnumError(p);
  bool save = false, nosave = false, now = false, force = false, dflt = false;
  for (auto& w : words) {
    if (EqualsIgnoreCase(w, "default"))
      dflt = true;
    else if (EqualsIgnoreCase(w, "save"))
      save = true;
    else if (EqualsIgnoreCase(w, "nosave"))
      nosave = true;
    else if (EqualsIgnoreCase(w, "now"))
      now = true;
    else if (EqualsIgnoreCase(w, "force"))
      force = true;
    else
      return EnumError(p);
  }
  if (save && nosave)
    return Status::InvalidArgument("shutdown can't have both 'save' and 'nosave' flags");
  (void)dflt;
  std::string s;
  auto add = [&](bool on, const char* w) {
    if (on) s += (s.empty() ? "" : " ") + std::string(w);
  };
  add(save, "save");
  add(nosave, "nosave");
  add(now, "now");
  add(force, "force");
  *out = s.empty() ? "default" : s;
  return Status::Ok();
}

std::string FormatPercentile(double d) {
  std::string s = fmt::format("{:f}", d);
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  return s;
}

// client-output-buffer-limit: "<class> <hard> <soft> <soft seconds>" groups. Ferrite keeps
// the normal, replica and pubsub classes.
Status SetOutputLimit(Config& c, std::string_view v) {
  auto parts = Words(v);
  if (parts.empty() || parts.size() % 4 != 0) {
    return Status::InvalidArgument("Wrong number of arguments in buffer limit configuration.");
  }
  Config next = c;
  for (size_t k = 0; k < parts.size(); k += 4) {
    std::string cls = ToLower(parts[k]);
    if (cls != "normal" && cls != "pubsub" && cls != "replica" && cls != "slave") {
      return Status::InvalidArgument(
          "Invalid client class specified in buffer limit configuration.");
    }
    uint64_t hard, soft;
    int64_t secs;
    if (!ParseRedisMemory(parts[k + 1], &hard) || !ParseRedisMemory(parts[k + 2], &soft) ||
        !ParseInt64(parts[k + 3], &secs) || secs < 0) {
      return Status::InvalidArgument(
          "Error in hard, soft or soft_seconds setting in buffer limit configuration.");
    }
    if (cls == "normal") {
      next.server.output_buffer_hard_limit = int64_t(hard);
      next.server.output_buffer_soft_limit = int64_t(soft);
      next.server.output_buffer_soft_seconds = secs;
    } else if (cls == "replica" || cls == "slave") {
      next.replication.output_buffer_hard_limit = int64_t(hard);
      next.replication.output_buffer_soft_limit = int64_t(soft);
      next.replication.output_buffer_soft_seconds = secs;
    } else if (cls == "pubsub") {
      next.server.pubsub_output_buffer_hard_limit = int64_t(hard);
      next.server.pubsub_output_buffer_soft_limit = int64_t(soft);
      next.server.pubsub_output_buffer_soft_seconds = secs;
    }
  }
  c = std::move(next);
  return Status::Ok();
}

std::string Stored(const RedisParam& p, const Config& c) {
  auto it = c.redis_stored.find(p.name);
  return it == c.redis_stored.end() ? std::string(p.def) : it->second;
}

}  // namespace

int64_t ParseNotifyFlags(std::string_view classes) {
  int64_t flags = 0;
  for (char ch : classes) {
    switch (ch) {
      case 'A':
        flags |= notify::kAll;
        break;
      case 'g':
        flags |= notify::kGeneric;
        break;
      case '$':
        flags |= notify::kString;
        break;
      case 'l':
        flags |= notify::kList;
        break;
      case 's':
        flags |= notify::kSet;
        break;
      case 'h':
        flags |= notify::kHash;
        break;
      case 'z':
        flags |= notify::kZset;
        break;
      case 'x':
        flags |= notify::kExpired;
        break;
      case 'e':
        flags |= notify::kEvicted;
        break;
      case 'K':
        flags |= notify::kKeyspace;
        break;
      case 'E':
        flags |= notify::kKeyevent;
        break;
      case 't':
        flags |= notify::kStream;
        break;
      case 'm':
        flags |= notify::kKeyMiss;
        break;
      case 'd':
        flags |= notify::kModule;
        break;
      case 'n':
        flags |= notify::kNew;
        break;
      default:
        return -1;
    }
  }
  return flags;
}

std::string FormatNotifyFlags(int64_t flags) {
  std::string s;
  if ((flags & notify::kAll) == notify::kAll) {
    s += 'A';
  } else {
    static const std::pair<uint32_t, char> kOrder[] = {
        {notify::kGeneric, 'g'}, {notify::kString, '$'},  {notify::kList, 'l'},
        {notify::kSet, 's'},     {notify::kHash, 'h'},    {notify::kZset, 'z'},
        {notify::kExpired, 'x'}, {notify::kEvicted, 'e'}, {notify::kStream, 't'},
        {notify::kModule, 'd'},  {notify::kNew, 'n'},
    };
    for (auto& [bit, ch] : kOrder) {
      if (flags & bit) s += ch;
    }
  }
  if (flags & notify::kKeyspace) s += 'K';
  if (flags & notify::kKeyevent) s += 'E';
  if (flags & notify::kKeyMiss) s += 'm';
  return s;
}

const std::vector<RedisParam>& RedisParams() {
  static const std::vector<RedisParam> table = BuildTable();
  return table;
}

const RedisParam* FindRedisParam(std::string_view name, bool* is_alias) {
  for (const RedisParam& p : RedisParams()) {
    if (EqualsIgnoreCase(p.name, name)) {
      if (is_alias) *is_alias = false;
      return &p;
    }
    if (p.alias[0] && EqualsIgnoreCase(p.alias, name)) {
      if (is_alias) *is_alias = true;
      return &p;
    }
  }
  return nullptr;
}

std::string GetRedisParam(const RedisParam& p, Config& c) {
  std::string_view name = p.name;
  if (name == "client-output-buffer-limit") {
    const auto& s = c.server;
    const auto& r = c.replication;
    return fmt::format("normal {} {} {} slave {} {} {} pubsub {} {} {}", s.output_buffer_hard_limit,
                       s.output_buffer_soft_limit, s.output_buffer_soft_seconds,
                       r.output_buffer_hard_limit, r.output_buffer_soft_limit,
                       r.output_buffer_soft_seconds, s.pubsub_output_buffer_hard_limit,
                       s.pubsub_output_buffer_soft_limit, s.pubsub_output_buffer_soft_seconds);
  }
  if (p.ferrite[0]) {
    const Param* fp = FindParam(p.ferrite);
    if (fp) return FormatParam(*fp, c, true);
  }
  return Stored(p, c);
}

Status SetRedisParam(const RedisParam& p, Config& c, std::string_view value) {
  std::string_view name = p.name;
  std::string normalized(value);
  switch (p.kind) {
    case F::Kind::kBool:
      if (EqualsIgnoreCase(value, "yes"))
        normalized = "yes";
      else if (EqualsIgnoreCase(value, "no"))
        normalized = "no";
      else
        return Status::InvalidArgument("argument must be 'yes' or 'no'");
      break;
    case F::Kind::kString:
      if (name == "dbfilename" || name == "appendfilename" || name == "appenddirname") {
        if (value.find('/') != std::string_view::npos) {
          return Status::InvalidArgument(name == "dbfilename"
                                             ? "dbfilename can't be a path, just a filename"
                                             : "appendfilename can't be a path, just a filename");
        }
      }
      break;
    case F::Kind::kEnum:
      if (!CanonicalEnum(p, value, &normalized)) return EnumError(p);
      break;
    case F::Kind::kEnumFlags:
      if (Status st = ParseShutdownFlags(p, value, &normalized); !st.ok()) return st;
      break;
    case F::Kind::kNumber: {
      int64_t n;
      if (Status st = ParseRedisNumber(p, value, &n); !st.ok()) return st;
      normalized = FormatRedisNumber(p, n);
      break;
    }
    case F::Kind::kSpecial:
      if (name == "notify-keyspace-events") {
        if (ParseNotifyFlags(value) < 0)
          return Status::InvalidArgument("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
      } else if (name == "oom-score-adj-values") {
        auto w = Words(value);
        if (w.size() != 3) return Status::InvalidArgument("wrong number of arguments");
        normalized.clear();
        for (auto& x : w) {
          int64_t n;
          if (!ParseInt64(x, &n) || n < -2000 || n > 2000)
            return Status::InvalidArgument(
                "Invalid oom-score-adj-values, elements must be between -2000 and 2000.");
          normalized += (normalized.empty() ? "" : " ") + std::to_string(n);
        }
      } else if (name == "latency-tracking-info-percentiles") {
        normalized.clear();
        for (auto& x : Words(value)) {
          double d;
          if (!ParseDouble(x, &d, false))
            return Status::InvalidArgument("Invalid latency-tracking-info-percentiles parameters");
          if (d > 100.0 || d < 0.0)
            return Status::InvalidArgument(
                "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]");
          normalized += (normalized.empty() ? "" : " ") + FormatPercentile(d);
        }
      } else if (name == "replicaof") {
        auto w = Words(value);
        if (w.size() != 2) return Status::InvalidArgument("wrong number of arguments");
        if (EqualsIgnoreCase(w[0], "no") && EqualsIgnoreCase(w[1], "one")) {
          normalized.clear();
        } else {
          int64_t port;
          if (!ParseInt64(w[1], &port) || port < 0 || port > 65535)
            return Status::InvalidArgument("Invalid master port");
          normalized = w[0] + " " + w[1];
        }
      } else if (name == "save") {
        std::string rules = value.empty() ? "" : std::string(value);
        if (Words(rules).size() % 2 != 0) return Status::InvalidArgument("Invalid save parameters");
      } else if (name == "bind") {
        if (Words(value).size() > 16)
          return Status::InvalidArgument("Too many bind addresses specified.");
        normalized.clear();
        for (auto& w : Words(value)) normalized += (normalized.empty() ? "" : " ") + w;
      } else if (name == "dir") {
        if (value.empty()) return Status::InvalidArgument("No such file or directory");
      }
      break;
  }
  if (name == "client-output-buffer-limit") return SetOutputLimit(c, value);
  if (p.ferrite[0]) {
    const Param* fp = FindParam(p.ferrite);
    if (!fp) return Status::InvalidArgument("unknown mapped parameter");
    return ParseParamString(*fp, c, normalized, true);
  }
  c.redis_stored[p.name] = normalized;
  return Status::Ok();
}

Status ApplyRedisArgument(Config& c, std::string_view name, std::span<const std::string> values,
                          bool* save_seen) {
  bool alias = false;
  const RedisParam* p = FindRedisParam(name, &alias);
  if (!p) return Status::InvalidArgument("Bad directive or wrong number of arguments");
  std::string joined;
  for (size_t i = 0; i < values.size(); i++) joined += (i ? " " : "") + values[i];
  if (!(p->flags & F::kMultiArg) && values.size() != 1 && p->kind != F::Kind::kEnumFlags) {
    return Status::InvalidArgument("wrong number of arguments");
  }
  if (std::string_view(p->name) == "save") {
    // redis.conf: the first `save` line replaces the defaults, later ones add rules;
    // `save ""` clears them.
    if (joined.empty()) {
      c.persistence.checkpoint_rules.clear();
      *save_seen = true;
      return Status::Ok();
    }
    auto rules = ParseRules(joined);
    if (!rules.ok()) return rules.status();
    if (!*save_seen) c.persistence.checkpoint_rules.clear();
    *save_seen = true;
    for (auto& r : rules.value()) c.persistence.checkpoint_rules.push_back(r);
    return Status::Ok();
  }
  return SetRedisParam(*p, c, joined);
}

}  // namespace ferrite
