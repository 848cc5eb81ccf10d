#include "config/schema.h"

#include <fmt/format.h>

#include <utility>

#include "base/strutil.h"
#include "config/redis_config.h"
#include "config/units.h"

namespace ferrite {
namespace {

#define FIELD(expr) [](Config& c) -> void* { return &c.expr; }
// An enum field: its getter and setter (the enumerator as an index of its ConfigNames) and the
// names.
#define ENUM_FIELD(expr)                                                   \
  [](Config& c) { return int(c.expr); },                                   \
      [](Config& c, int v) { c.expr = static_cast<decltype(c.expr)>(v); }, \
      ConfigNames(decltype(std::declval<Config&>().expr){})

Param P(std::string section, std::string key, ParamKind kind, void* (*field)(Config&),
        std::vector<std::string> redis = {}, bool runtime = true) {
  Param p;
  p.section = std::move(section);
  p.key = std::move(key);
  p.kind = kind;
  p.field = field;
  p.redis_names = std::move(redis);
  p.runtime = runtime;
  return p;
}

Param Enum(std::string section, std::string key, int (*get)(Config&), void (*set)(Config&, int),
           ConfigNameList names, std::vector<std::string> redis = {}, bool runtime = true) {
  Param p =
      P(std::move(section), std::move(key), ParamKind::kEnum, nullptr, std::move(redis), runtime);
  p.get_enum = get;
  p.set_enum = set;
  p.choices.assign(names.begin(), names.end());
  return p;
}

Param Int(std::string section, std::string key, void* (*field)(Config&), int64_t min, int64_t max,
          std::vector<std::string> redis = {}, bool runtime = true) {
  Param p =
      P(std::move(section), std::move(key), ParamKind::kInt, field, std::move(redis), runtime);
  p.min = min;
  p.max = max;
  return p;
}

constexpr std::string_view kMaxmemoryPolicyNames[] = {
    "noeviction",   "allkeys-lru",  "allkeys-lfu",     "allkeys-random",
    "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"};
constexpr std::string_view kLogLevelNames[] = {"debug", "verbose", "notice", "warning"};
constexpr std::string_view kDebugCommandAccessNames[] = {"yes", "no", "local"};
constexpr std::string_view kAofSyncPolicyNames[] = {"no", "everysec", "always"};
constexpr std::string_view kAofFsyncErrorActionNames[] = {"rewrite", "exit"};
constexpr std::string_view kCheckpointCompressionNames[] = {"lz4", "none"};
constexpr std::string_view kRecoveryPriorityNames[] = {"checkpoint", "aof"};
constexpr std::string_view kColdTierCompressionNames[] = {"lz4", "zstd", "none"};
constexpr std::string_view kArchiveProviderNames[] = {"s3"};
constexpr std::string_view kRecoveryTimeActionNames[] = {"abort", "continue"};
constexpr std::string_view kCorruptionActionNames[] = {"truncate", "abort"};
constexpr std::string_view kAclPubsubDefaultNames[] = {"resetchannels", "allchannels"};
constexpr std::string_view kTlsAuthClientsNames[] = {"no", "yes", "optional"};

std::vector<Param> BuildSchema() {
  using K = ParamKind;
  std::vector<Param> s = {
      // [server]
      P("server", "bind", K::kString, FIELD(server.bind), {"bind"}, false),
      Int("server", "port", FIELD(server.port), 0, 65535, {"port"}),
      P("server", "dir", K::kString, FIELD(server.dir), {"dir"}, false),
      Int("server", "databases", FIELD(server.databases), 1, 1'000'000, {"databases"}, false),
      P("server", "requirepass", K::kString, FIELD(server.requirepass), {"requirepass"}),
      P("server", "protected_mode", K::kBool, FIELD(server.protected_mode), {"protected-mode"}),
      Int("server", "maxclients", FIELD(server.maxclients), 1, 1'000'000, {"maxclients"}),
      P("server", "maxmemory", K::kSize, FIELD(server.maxmemory), {"maxmemory"}),
      Enum("server", "maxmemory_policy", ENUM_FIELD(server.maxmemory_policy), {"maxmemory-policy"}),
      Int("server", "maxmemory_samples", FIELD(server.maxmemory_samples), 1, 64,
          {"maxmemory-samples"}),
      P("server", "timeout", K::kDuration, FIELD(server.timeout), {"timeout"}),
      P("server", "tcp_keepalive", K::kDuration, FIELD(server.tcp_keepalive), {"tcp-keepalive"}),
      Int("server", "hz", FIELD(server.hz), 1, 500, {"hz"}),
      Int("server", "busy_poll_us", FIELD(server.busy_poll_us), 0, 1'000'000),
      Enum("server", "loglevel", ENUM_FIELD(server.loglevel), {"loglevel"}),
      P("server", "logfile", K::kString, FIELD(server.logfile), {"logfile"}, false),
      P("server", "pidfile", K::kString, FIELD(server.pidfile), {"pidfile"}, false),
      Enum("server", "enable_debug_command", ENUM_FIELD(server.enable_debug_command),
           {"enable-debug-command"}, false),
      P("server", "proto_max_bulk_len", K::kSize, FIELD(server.proto_max_bulk_len),
        {"proto-max-bulk-len"}),
      P("server", "client_query_buffer_limit", K::kSize, FIELD(server.client_query_buffer_limit),
        {"client-query-buffer-limit"}),
      P("server", "output_buffer_hard_limit", K::kSize, FIELD(server.output_buffer_hard_limit)),
      P("server", "output_buffer_soft_limit", K::kSize, FIELD(server.output_buffer_soft_limit)),
      Int("server", "output_buffer_soft_seconds", FIELD(server.output_buffer_soft_seconds), 0,
          INT32_MAX),
      P("server", "pubsub_output_buffer_hard_limit", K::kSize,
        FIELD(server.pubsub_output_buffer_hard_limit)),
      P("server", "pubsub_output_buffer_soft_limit", K::kSize,
        FIELD(server.pubsub_output_buffer_soft_limit)),
      Int("server", "pubsub_output_buffer_soft_seconds",
          FIELD(server.pubsub_output_buffer_soft_seconds), 0, INT32_MAX),
      Int("server", "slowlog_log_slower_than", FIELD(server.slowlog_log_slower_than), -1, INT64_MAX,
          {"slowlog-log-slower-than"}),
      Int("server", "slowlog_max_len", FIELD(server.slowlog_max_len), 0, INT32_MAX,
          {"slowlog-max-len"}),
      Int("server", "latency_monitor_threshold", FIELD(server.latency_monitor_threshold), 0,
          INT64_MAX, {"latency-monitor-threshold"}),
      Int("server", "busy_reply_threshold", FIELD(server.busy_reply_threshold), 0, INT64_MAX,
          {"busy-reply-threshold", "lua-time-limit"}),
      Int("server", "active_expire_effort", FIELD(server.active_expire_effort), 1, 10,
          {"active-expire-effort"}),
      P("server", "stop_writes_on_bgsave_error", K::kBool,
        FIELD(server.stop_writes_on_bgsave_error), {"stop-writes-on-bgsave-error"}),
      Int("server", "lfu_log_factor", FIELD(server.lfu_log_factor), 0, INT32_MAX,
          {"lfu-log-factor"}),
      Int("server", "lfu_decay_time", FIELD(server.lfu_decay_time), 0, INT32_MAX,
          {"lfu-decay-time"}),
      Int("server", "tracking_table_max_keys", FIELD(server.tracking_table_max_keys), 0, INT64_MAX,
          {"tracking-table-max-keys"}),
      P("server", "notify_keyspace_events", K::kNotify, FIELD(server.notify_keyspace_events),
        {"notify-keyspace-events"}),
      P("server", "lazyfree_lazy_user_del", K::kBool, FIELD(server.lazyfree_lazy_user_del),
        {"lazyfree-lazy-user-del"}),
      P("server", "lazyfree_lazy_user_flush", K::kBool, FIELD(server.lazyfree_lazy_user_flush),
        {"lazyfree-lazy-user-flush"}),
      P("server", "lazyfree_lazy_server_del", K::kBool, FIELD(server.lazyfree_lazy_server_del),
        {"lazyfree-lazy-server-del"}),
      P("server", "lazyfree_lazy_expire", K::kBool, FIELD(server.lazyfree_lazy_expire),
        {"lazyfree-lazy-expire"}),
      P("server", "lazyfree_lazy_eviction", K::kBool, FIELD(server.lazyfree_lazy_eviction),
        {"lazyfree-lazy-eviction"}),
      // [encoding]
      Int("encoding", "hash_max_listpack_entries", FIELD(encoding.hash_max_listpack_entries), 0,
          INT32_MAX, {"hash-max-listpack-entries", "hash-max-ziplist-entries"}),
      Int("encoding", "hash_max_listpack_value", FIELD(encoding.hash_max_listpack_value), 0,
          INT32_MAX, {"hash-max-listpack-value", "hash-max-ziplist-value"}),
      Int("encoding", "set_max_intset_entries", FIELD(encoding.set_max_intset_entries), 0,
          INT32_MAX, {"set-max-intset-entries"}),
      Int("encoding", "set_max_listpack_entries", FIELD(encoding.set_max_listpack_entries), 0,
          INT32_MAX),  // Redis 7.2's name; 7.0 has no packed sets
      Int("encoding", "set_max_listpack_value", FIELD(encoding.set_max_listpack_value), 0,
          INT32_MAX),
      Int("encoding", "zset_max_listpack_entries", FIELD(encoding.zset_max_listpack_entries), 0,
          INT32_MAX, {"zset-max-listpack-entries", "zset-max-ziplist-entries"}),
      Int("encoding", "zset_max_listpack_value", FIELD(encoding.zset_max_listpack_value), 0,
          INT32_MAX, {"zset-max-listpack-value", "zset-max-ziplist-value"}),
      // Redis accepts any int; below -5 its quicklist uses -5 (64 KB nodes), as here.
      Int("encoding", "list_max_listpack_size", FIELD(encoding.list_max_listpack_size), INT32_MIN,
          INT32_MAX, {"list-max-listpack-size", "list-max-ziplist-size"}),
      P("encoding", "stream_node_max_bytes", K::kSize, FIELD(encoding.stream_node_max_bytes),
        {"stream-node-max-bytes"}),
      Int("encoding", "stream_node_max_entries", FIELD(encoding.stream_node_max_entries), 0,
          INT64_MAX, {"stream-node-max-entries"}),
      Int("encoding", "list_compress_depth", FIELD(encoding.list_compress_depth), 0, INT32_MAX,
          {"list-compress-depth"}),
      Int("encoding", "hll_sparse_max_bytes", FIELD(encoding.hll_sparse_max_bytes), 0, INT32_MAX,
          {"hll-sparse-max-bytes"}),
      // [persistence]
      P("persistence", "aof_enabled", K::kBool, FIELD(persistence.aof_enabled), {"appendonly"}),
      P("persistence", "aof_file", K::kString, FIELD(persistence.aof_file), {"appendfilename"},
        false),
      Enum("persistence", "aof_sync_policy", ENUM_FIELD(persistence.aof_sync_policy),
           {"appendfsync"}),
      Int("persistence", "aof_rewrite_percentage", FIELD(persistence.aof_rewrite_percentage), 0,
          INT32_MAX, {"auto-aof-rewrite-percentage"}),
      P("persistence", "aof_rewrite_min_size", K::kSize, FIELD(persistence.aof_rewrite_min_size),
        {"auto-aof-rewrite-min-size"}),
      P("persistence", "aof_use_checkpoint_preamble", K::kBool,
        FIELD(persistence.aof_use_checkpoint_preamble), {"aof-use-rdb-preamble"}),
      P("persistence", "aof_timestamp_enabled", K::kBool, FIELD(persistence.aof_timestamp_enabled),
        {"aof-timestamp-enabled"}),
      Int("persistence", "aof_group_commit_wait_us", FIELD(persistence.aof_group_commit_wait_us), 0,
          1'000'000),
      Enum("persistence", "aof_on_fsync_error", ENUM_FIELD(persistence.aof_on_fsync_error)),
      P("persistence", "checkpoint_enabled", K::kBool, FIELD(persistence.checkpoint_enabled)),
      P("persistence", "history_retention", K::kDuration, FIELD(persistence.history_retention), {},
        false),
      P("persistence", "history_max_size", K::kSize, FIELD(persistence.history_max_size), {},
        false),
      P("persistence", "checkpoint_file", K::kString, FIELD(persistence.checkpoint_file),
        {"dbfilename"}),
      P("persistence", "checkpoint_interval", K::kDuration, FIELD(persistence.checkpoint_interval)),
      Int("persistence", "checkpoint_changes", FIELD(persistence.checkpoint_changes), 0, INT64_MAX),
      P("persistence", "checkpoint_rules", K::kRules, FIELD(persistence.checkpoint_rules),
        {"save"}),
      Enum("persistence", "checkpoint_compression", ENUM_FIELD(persistence.checkpoint_compression)),
      Enum("persistence", "recovery_priority", ENUM_FIELD(persistence.recovery_priority), {},
           false),
      // [storage]
      P("storage", "enabled", K::kBool, FIELD(storage.enabled), {}, false),
      P("storage", "hot_tier_size", K::kSize, FIELD(storage.hot_tier_size), {}, false),
      P("storage", "warm_tier_size", K::kSize, FIELD(storage.warm_tier_size), {}, false),
      P("storage", "cold_tier_path", K::kString, FIELD(storage.cold_tier_path), {}, false),
      Enum("storage", "cold_tier_compression", ENUM_FIELD(storage.cold_tier_compression), {},
           false),
      P("storage", "segment_size", K::kSize, FIELD(storage.segment_size), {}, false),
      P("storage", "min_value_size", K::kSize, FIELD(storage.min_value_size), {}, false),
      Int("storage", "compaction_threshold", FIELD(storage.compaction_threshold), 1, 99, {}, false),
      P("storage", "compaction_rate", K::kSize, FIELD(storage.compaction_rate), {}, false),
      Int("storage", "promote_lfu", FIELD(storage.promote_lfu), 0, 255, {}, false),
      Int("storage", "io_threads", FIELD(storage.io_threads), 1, 64, {}, false),
      P("storage.archive", "enabled", K::kBool, FIELD(storage.archive.enabled), {}, false),
      Enum("storage.archive", "provider", ENUM_FIELD(storage.archive.provider), {}, false),
      P("storage.archive", "bucket", K::kString, FIELD(storage.archive.bucket), {}, false),
      P("storage.archive", "archive_after", K::kDuration, FIELD(storage.archive.archive_after), {},
        false),
      P("storage.archive", "endpoint", K::kString, FIELD(storage.archive.endpoint), {}, false),
      P("storage.archive", "region", K::kString, FIELD(storage.archive.region), {}, false),
      P("storage.archive", "access_key_id", K::kString, FIELD(storage.archive.access_key_id), {},
        false),
      P("storage.archive", "secret_access_key", K::kString,
        FIELD(storage.archive.secret_access_key), {}, false),
      P("storage.archive", "path_style", K::kBool, FIELD(storage.archive.path_style), {}, false),
      P("storage.archive", "prefix", K::kString, FIELD(storage.archive.prefix), {}, false),
      // [recovery]
      P("recovery", "verify_checksum", K::kBool, FIELD(recovery.verify_checksum), {}, false),
      P("recovery", "max_recovery_time", K::kDuration, FIELD(recovery.max_recovery_time), {},
        false),
      Enum("recovery", "max_recovery_time_action", ENUM_FIELD(recovery.max_recovery_time_action),
           {}, false),
      Enum("recovery", "on_corruption", ENUM_FIELD(recovery.on_corruption), {}, false),
      Int("recovery", "key_load_delay", FIELD(recovery.key_load_delay), INT32_MIN, INT32_MAX),
      // [replication]
      P("replication", "replicaof", K::kString, FIELD(replication.replicaof), {"replicaof"}, false),
      P("replication", "masterauth", K::kString, FIELD(replication.masterauth), {"masterauth"}),
      P("replication", "masteruser", K::kString, FIELD(replication.masteruser), {"masteruser"}),
      P("replication", "replica_read_only", K::kBool, FIELD(replication.replica_read_only),
        {"replica-read-only"}),
      P("replication", "replica_serve_stale_data", K::kBool,
        FIELD(replication.replica_serve_stale_data), {"replica-serve-stale-data"}),
      P("replication", "repl_backlog_size", K::kSize, FIELD(replication.repl_backlog_size),
        {"repl-backlog-size"}),
      Int("replication", "repl_ping_replica_period", FIELD(replication.repl_ping_replica_period), 1,
          INT32_MAX, {"repl-ping-replica-period"}),
      Int("replication", "repl_timeout", FIELD(replication.repl_timeout), 1, INT32_MAX,
          {"repl-timeout"}),
      P("replication", "output_buffer_hard_limit", K::kSize,
        FIELD(replication.output_buffer_hard_limit)),
      P("replication", "output_buffer_soft_limit", K::kSize,
        FIELD(replication.output_buffer_soft_limit)),
      Int("replication", "output_buffer_soft_seconds",
          FIELD(replication.output_buffer_soft_seconds), 0, INT32_MAX),
      // [acl] (acl.users is read by the parser itself: a list of strings)
      P("acl", "aclfile", K::kString, FIELD(acl.aclfile), {"aclfile"}, false),
      Int("acl", "log_max_len", FIELD(acl.log_max_len), 0, INT64_MAX, {"acllog-max-len"}),
      Enum("acl", "pubsub_default", ENUM_FIELD(acl.pubsub_default), {"acl-pubsub-default"}),
      // [metrics]
      P("metrics", "enabled", K::kBool, FIELD(metrics.enabled), {}, false),
      P("metrics", "bind", K::kString, FIELD(metrics.bind), {}, false),
      Int("metrics", "port", FIELD(metrics.port), 0, 65535, {}, false),
      P("metrics", "tls", K::kBool, FIELD(metrics.tls), {}, false),
      // [tls]
      Int("tls", "port", FIELD(tls.port), 0, 65535, {"tls-port"}),
      P("tls", "cert_file", K::kString, FIELD(tls.cert_file), {"tls-cert-file"}),
      P("tls", "key_file", K::kString, FIELD(tls.key_file), {"tls-key-file"}),
      P("tls", "key_file_pass", K::kString, FIELD(tls.key_file_pass), {"tls-key-file-pass"}),
      P("tls", "client_cert_file", K::kString, FIELD(tls.client_cert_file),
        {"tls-client-cert-file"}),
      P("tls", "client_key_file", K::kString, FIELD(tls.client_key_file), {"tls-client-key-file"}),
      P("tls", "client_key_file_pass", K::kString, FIELD(tls.client_key_file_pass),
        {"tls-client-key-file-pass"}),
      P("tls", "dh_params_file", K::kString, FIELD(tls.dh_params_file), {"tls-dh-params-file"}),
      P("tls", "ca_cert_file", K::kString, FIELD(tls.ca_cert_file), {"tls-ca-cert-file"}),
      P("tls", "ca_cert_dir", K::kString, FIELD(tls.ca_cert_dir), {"tls-ca-cert-dir"}),
      Enum("tls", "auth_clients", ENUM_FIELD(tls.auth_clients), {"tls-auth-clients"}),
      P("tls", "protocols", K::kString, FIELD(tls.protocols), {"tls-protocols"}),
      P("tls", "ciphers", K::kString, FIELD(tls.ciphers), {"tls-ciphers"}),
      P("tls", "ciphersuites", K::kString, FIELD(tls.ciphersuites), {"tls-ciphersuites"}),
      P("tls", "prefer_server_ciphers", K::kBool, FIELD(tls.prefer_server_ciphers),
        {"tls-prefer-server-ciphers"}),
      P("tls", "session_caching", K::kBool, FIELD(tls.session_caching), {"tls-session-caching"}),
      Int("tls", "session_cache_size", FIELD(tls.session_cache_size), 0, INT32_MAX,
          {"tls-session-cache-size"}),
      Int("tls", "session_cache_timeout", FIELD(tls.session_cache_timeout), 0, INT32_MAX,
          {"tls-session-cache-timeout"}),
      P("tls", "replication", K::kBool, FIELD(tls.replication), {"tls-replication"}),
      P("tls", "cluster", K::kBool, FIELD(tls.cluster), {"tls-cluster"}),
  };
  return s;
}

#undef FIELD

std::string JoinChoices(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); i++) out += (i ? ", " : "") + v[i];
  return out;
}

}  // namespace

ConfigNameList ConfigNames(MaxmemoryPolicy) { return kMaxmemoryPolicyNames; }
ConfigNameList ConfigNames(LogLevel) { return kLogLevelNames; }
ConfigNameList ConfigNames(DebugCommandAccess) { return kDebugCommandAccessNames; }
ConfigNameList ConfigNames(AofSyncPolicy) { return kAofSyncPolicyNames; }
ConfigNameList ConfigNames(AofFsyncErrorAction) { return kAofFsyncErrorActionNames; }
ConfigNameList ConfigNames(CheckpointCompression) { return kCheckpointCompressionNames; }
ConfigNameList ConfigNames(RecoveryPriority) { return kRecoveryPriorityNames; }
ConfigNameList ConfigNames(ColdTierCompression) { return kColdTierCompressionNames; }
ConfigNameList ConfigNames(ArchiveProvider) { return kArchiveProviderNames; }
ConfigNameList ConfigNames(RecoveryTimeAction) { return kRecoveryTimeActionNames; }
ConfigNameList ConfigNames(CorruptionAction) { return kCorruptionActionNames; }
ConfigNameList ConfigNames(AclPubsubDefault) { return kAclPubsubDefaultNames; }
ConfigNameList ConfigNames(TlsAuthClients) { return kTlsAuthClientsNames; }

const std::vector<Param>& ConfigSchema() {
  static const std::vector<Param> schema = BuildSchema();
  return schema;
}

const Param* FindParam(std::string_view canonical) {
  for (const Param& p : ConfigSchema()) {
    if (p.canonical() == canonical) return &p;
  }
  return nullptr;
}

std::string FormatRules(const std::vector<SaveRule>& rules) {
  std::string out;
  for (auto& r : rules) {
    if (!out.empty()) out += " ";
    out += std::to_string(r.seconds) + " " + std::to_string(r.changes);
  }
  return out;
}

Result<std::vector<SaveRule>> ParseRules(std::string_view s) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') i++;
    size_t j = i;
    while (j < s.size() && s[j] != ' ') j++;
    if (j > i) parts.emplace_back(s.substr(i, j - i));
    i = j;
  }
  if (parts.size() % 2 != 0) return Status::InvalidArgument("Invalid save parameters");
  std::vector<SaveRule> rules;
  for (size_t k = 0; k < parts.size(); k += 2) {
    int64_t secs, changes;
    if (!ParseInt64(parts[k], &secs) || !ParseInt64(parts[k + 1], &changes) || secs < 1 ||
        changes < 0) {
      return Status::InvalidArgument("Invalid save parameters");
    }
    rules.push_back({secs, changes});
  }
  return rules;
}

std::string FormatParam(const Param& p, Config& c, bool redis) {
  void* f = p.field ? p.field(c) : nullptr;
  switch (p.kind) {
    case ParamKind::kBool: {
      bool v = *static_cast<bool*>(f);
      return redis ? (v ? "yes" : "no") : (v ? "true" : "false");
    }
    case ParamKind::kInt:
      return std::to_string(*static_cast<int64_t*>(f));
    case ParamKind::kString:
      return *static_cast<std::string*>(f);
    case ParamKind::kEnum:
      return p.choices[size_t(p.get_enum(c))];
    case ParamKind::kSize: {
      int64_t v = *static_cast<int64_t*>(f);
      return redis ? std::to_string(v) : FormatSize(v);
    }
    case ParamKind::kDuration: {
      int64_t v = *static_cast<int64_t*>(f);
      return redis ? std::to_string(v / p.redis_unit_ms) : FormatDuration(v);
    }
    case ParamKind::kRules:
      return FormatRules(*static_cast<std::vector<SaveRule>*>(f));
    case ParamKind::kNotify:
      return FormatNotifyFlags(*static_cast<int64_t*>(f));
  }
  return "";
}

Status ParseParamString(const Param& p, Config& c, std::string_view v, bool redis) {
  void* f = p.field ? p.field(c) : nullptr;
  switch (p.kind) {
    case ParamKind::kBool:
      if (EqualsIgnoreCase(v, "yes") || EqualsIgnoreCase(v, "true"))
        *static_cast<bool*>(f) = true;
      else if (EqualsIgnoreCase(v, "no") || EqualsIgnoreCase(v, "false"))
        *static_cast<bool*>(f) = false;
      else
        return Status::InvalidArgument("argument must be 'yes' or 'no'");
      return Status::Ok();
    case ParamKind::kInt: {
      int64_t n;
      if (!ParseInt64(v, &n))
        return Status::InvalidArgument("argument couldn't be parsed into an integer");
      if (n < p.min || n > p.max) {
        return Status::InvalidArgument(
            fmt::format("argument must be between {} and {} inclusive", p.min, p.max));
      }
      *static_cast<int64_t*>(f) = n;
      return Status::Ok();
    }
    case ParamKind::kString:
      *static_cast<std::string*>(f) = std::string(v);
      return Status::Ok();
    case ParamKind::kEnum:
      for (size_t i = 0; i < p.choices.size(); i++) {
        if (EqualsIgnoreCase(v, p.choices[i])) {
          p.set_enum(c, int(i));
          return Status::Ok();
        }
      }
      return Status::InvalidArgument("argument(s) must be one of the following: " +
                                     JoinChoices(p.choices));
    case ParamKind::kSize: {
      auto r = ParseSize(v);
      if (!r.ok()) return Status::InvalidArgument("argument must be a memory value");
      *static_cast<int64_t*>(f) = r.value();
      return Status::Ok();
    }
    case ParamKind::kDuration: {
      int64_t n;
      if (redis && ParseInt64(v, &n)) {
        if (n < 0)
          return Status::InvalidArgument(
              "argument must be between 0 and 9223372036854775807 inclusive");
        *static_cast<int64_t*>(f) = n * p.redis_unit_ms;
        return Status::Ok();
      }
      auto r = ParseDurationMs(v);
      if (!r.ok()) return Status::InvalidArgument(r.status().message());
      *static_cast<int64_t*>(f) = r.value();
      return Status::Ok();
    }
    case ParamKind::kRules: {
      auto r = ParseRules(v);
      if (!r.ok()) return r.status();
      *static_cast<std::vector<SaveRule>*>(f) = std::move(r.value());
      return Status::Ok();
    }
    case ParamKind::kNotify: {
      int64_t flags = ParseNotifyFlags(v);
      if (flags < 0)
        return Status::InvalidArgument("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
      *static_cast<int64_t*>(f) = flags;
      return Status::Ok();
    }
  }
  return Status::Ok();
}

}  // namespace ferrite
