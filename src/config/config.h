#pragma once
// The typed configuration: one struct per TOML section, fields named as the TOML keys.
// Sizes are bytes, durations milliseconds (both int64_t). The schema (names, types,
// defaults, Redis names, runtime mutability) lives in schema.cc; every key is documented
// in docs/configuration.md.

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ferrite {

struct SaveRule {
  int64_t seconds = 0;
  int64_t changes = 0;
  bool operator==(const SaveRule&) const = default;
};

// ---- Policies chosen by name. Each is parsed once (the TOML file, CONFIG SET, the command
// line) and compared as an enum at run time; CONFIG GET and CONFIG REWRITE show the same names.
// ConfigNames(E{}) lists the names in enumerator order, ConfigName(e) gives one.

// server.maxmemory_policy
enum class MaxmemoryPolicy {
  kNoEviction,
  kAllkeysLru,
  kAllkeysLfu,
  kAllkeysRandom,
  kVolatileLru,
  kVolatileLfu,
  kVolatileRandom,
  kVolatileTtl,
};
inline bool IsVolatile(MaxmemoryPolicy p) { return p >= MaxmemoryPolicy::kVolatileLru; }
inline bool IsLru(MaxmemoryPolicy p) {
  return p == MaxmemoryPolicy::kAllkeysLru || p == MaxmemoryPolicy::kVolatileLru;
}
inline bool IsLfu(MaxmemoryPolicy p) {
  return p == MaxmemoryPolicy::kAllkeysLfu || p == MaxmemoryPolicy::kVolatileLfu;
}
enum class LogLevel { kDebug, kVerbose, kNotice, kWarning };  // server.loglevel
// server.enable_debug_command: DEBUG for everyone, for nobody, or for local connections.
enum class DebugCommandAccess { kYes, kNo, kLocal };
enum class AofSyncPolicy { kNo, kEverySec, kAlways };  // persistence.aof_sync_policy
// persistence.aof_on_fsync_error: after a failed AOF write or fsync, refuse writes until a
// new generation is written from memory, or exit (PostgreSQL's PANIC).
enum class AofFsyncErrorAction { kRewrite, kExit };
enum class CheckpointCompression { kLz4, kNone };  // persistence.checkpoint_compression
// persistence.recovery_priority: with both present, load the checkpoint and replay the AOF
// after it, or replay the AOF alone.
enum class RecoveryPriority { kCheckpoint, kAof };
enum class ColdTierCompression { kLz4, kZstd, kNone };  // storage.cold_tier_compression
enum class ArchiveProvider { kS3 };                     // storage.archive.provider
// recovery.max_recovery_time_action: a recovery past max_recovery_time stops the start-up,
// or goes on with a warning.
enum class RecoveryTimeAction { kAbort, kContinue };
// recovery.on_corruption: a torn AOF tail is cut back to the last whole command, or the
// start-up refuses. (Damage in the middle of the file always refuses.)
enum class CorruptionAction { kTruncate, kAbort };
// acl.pubsub_default: the channels a new user (or `reset`) starts with: none or all.
enum class AclPubsubDefault { kResetChannels, kAllChannels };
// tls.auth_clients (tls-auth-clients): client certificates not asked for, required, or
// verified when a client sends one.
enum class TlsAuthClients { kNo, kYes, kOptional };

using ConfigNameList = std::span<const std::string_view>;
ConfigNameList ConfigNames(MaxmemoryPolicy);
ConfigNameList ConfigNames(LogLevel);
ConfigNameList ConfigNames(DebugCommandAccess);
ConfigNameList ConfigNames(AofSyncPolicy);
ConfigNameList ConfigNames(AofFsyncErrorAction);
ConfigNameList ConfigNames(CheckpointCompression);
ConfigNameList ConfigNames(RecoveryPriority);
ConfigNameList ConfigNames(ColdTierCompression);
ConfigNameList ConfigNames(ArchiveProvider);
ConfigNameList ConfigNames(RecoveryTimeAction);
ConfigNameList ConfigNames(CorruptionAction);
ConfigNameList ConfigNames(AclPubsubDefault);
ConfigNameList ConfigNames(TlsAuthClients);
template <typename E>
std::string_view ConfigName(E e) {
  return ConfigNames(e)[size_t(e)];
}

struct Config {
  struct Server {
    std::string bind = "127.0.0.1";
    int64_t port = 6379;
    std::string dir = "./data";
    int64_t databases = 16;
    std::string requirepass;
    // Redis's protected-mode: while the default user has no password, only loopback
    // clients (127.0.0.1, ::1) are served; others get -DENIED and are closed.
    bool protected_mode = true;
    int64_t maxclients = 10000;
    int64_t maxmemory = 0;
    MaxmemoryPolicy maxmemory_policy = MaxmemoryPolicy::kNoEviction;
    int64_t maxmemory_samples = 5;
    int64_t timeout = 0;              // ms; 0 = never
    int64_t tcp_keepalive = 300'000;  // ms
    int64_t hz = 10;
    int64_t busy_poll_us = 100;  // spin this long after the last event before sleeping
    LogLevel loglevel = LogLevel::kNotice;
    std::string logfile;
    std::string pidfile;
    DebugCommandAccess enable_debug_command = DebugCommandAccess::kLocal;
    int64_t proto_max_bulk_len = 512LL << 20;
    int64_t client_query_buffer_limit = 1LL << 30;
    int64_t output_buffer_hard_limit = 256LL << 20;
    int64_t output_buffer_soft_limit = 64LL << 20;
    int64_t output_buffer_soft_seconds = 60;
    int64_t pubsub_output_buffer_hard_limit = 32LL << 20;
    int64_t pubsub_output_buffer_soft_limit = 8LL << 20;
    int64_t pubsub_output_buffer_soft_seconds = 60;
    int64_t slowlog_log_slower_than = 10000;  // microseconds
    int64_t slowlog_max_len = 128;
    int64_t latency_monitor_threshold = 0;  // ms
    int64_t busy_reply_threshold = 5000;    // ms: a script running longer lets others get -BUSY
    int64_t active_expire_effort = 1;
    bool stop_writes_on_bgsave_error = true;
    int64_t lfu_log_factor = 10;
    int64_t lfu_decay_time = 1;  // minutes per LFU counter decrement; 0 = never decays
    int64_t tracking_table_max_keys =
        1000000;                            // client-side caching: keys remembered; 0 = no limit
    int64_t notify_keyspace_events = 0;     // notify:: bits (config/redis_config.h)
    bool lazyfree_lazy_user_del = false;    // DEL frees like UNLINK
    bool lazyfree_lazy_user_flush = false;  // FLUSHALL/FLUSHDB without a mode free like ASYNC
    bool lazyfree_lazy_server_del = false;  // values the server deletes (overwrites, RENAME)
    bool lazyfree_lazy_expire = false;
    bool lazyfree_lazy_eviction = false;
  } server;
  struct Encoding {
    int64_t hash_max_listpack_entries = 512;
    int64_t hash_max_listpack_value = 64;
    int64_t set_max_intset_entries = 512;
    int64_t set_max_listpack_entries = 128;
    int64_t set_max_listpack_value = 64;
    int64_t zset_max_listpack_entries = 128;
    int64_t zset_max_listpack_value = 64;
    int64_t list_max_listpack_size = -2;
    int64_t stream_node_max_bytes = 4096;   // bytes of one stream node; 0 = no limit
    int64_t stream_node_max_entries = 100;  // entries of one stream node; 0 = no limit
    int64_t list_compress_depth = 0;
    int64_t hll_sparse_max_bytes = 3000;
  } encoding;
  struct Persistence {
    bool aof_enabled = false;
    std::string aof_file = "ferrite.aof";
    AofSyncPolicy aof_sync_policy = AofSyncPolicy::kEverySec;
    int64_t aof_rewrite_percentage = 100;
    int64_t aof_rewrite_min_size = 64LL << 20;
    bool aof_use_checkpoint_preamble = true;
    bool aof_timestamp_enabled = true;        // #TS lines: point-in-time recovery to a second
    int64_t aof_group_commit_wait_us = 1000;  // `always`: max gathering before an fsync
    // After a failed write or fsync of the AOF: "rewrite" (refuse writes, hold replies,
    // write the dataset to a new AOF generation from memory) or "exit" (PostgreSQL's PANIC).
    AofFsyncErrorAction aof_on_fsync_error = AofFsyncErrorAction::kRewrite;
    bool checkpoint_enabled = true;
    std::string checkpoint_file = "ferrite.rdb";
    // Point-in-time recovery: replaced AOF generations and checkpoints are kept in
    // <dir>/history for this long (0 = not kept), at most this many bytes (0 = no cap).
    int64_t history_retention = 24LL * 3'600'000;  // ms
    int64_t history_max_size = 4LL << 30;
    int64_t checkpoint_interval = 300'000;  // ms; 0 = off
    int64_t checkpoint_changes = 0;
    std::vector<SaveRule> checkpoint_rules = {{3600, 1}, {300, 100}, {60, 10000}};
    CheckpointCompression checkpoint_compression = CheckpointCompression::kLz4;
    RecoveryPriority recovery_priority = RecoveryPriority::kCheckpoint;
  } persistence;
  struct Storage {
    bool enabled = false;  // tiering on: values move out of RAM past hot_tier_size
    int64_t hot_tier_size = 512LL << 20;
    int64_t warm_tier_size = 2LL << 30;
    std::string cold_tier_path;
    ColdTierCompression cold_tier_compression = ColdTierCompression::kLz4;
    int64_t segment_size = 64LL << 20;
    int64_t min_value_size = 64;
    int64_t compaction_threshold = 50;     // percent live below which a segment is compacted
    int64_t compaction_rate = 64LL << 20;  // bytes per second
    int64_t promote_lfu = 7;               // LFU counter at which a warm value moves back to RAM
    int64_t io_threads = 2;
    struct Archive {
      bool enabled = false;
      ArchiveProvider provider = ArchiveProvider::kS3;
      std::string bucket;
      int64_t archive_after = 30LL * 86'400'000;  // ms
      std::string endpoint;
      std::string region = "us-east-1";
      std::string access_key_id;
      std::string secret_access_key;
      bool path_style = false;
      std::string prefix = "ferrite/";
    } archive;
  } storage;
  struct Recovery {
    bool verify_checksum = true;
    int64_t max_recovery_time = 300'000;  // ms; 0 = unlimited
    RecoveryTimeAction max_recovery_time_action = RecoveryTimeAction::kAbort;
    CorruptionAction on_corruption = CorruptionAction::kTruncate;
    // Test knob (Redis's key-load-delay): the loader waits this many microseconds after each
    // key; negative -N waits 1 us once every N keys. 0 = off.
    int64_t key_load_delay = 0;
  } recovery;
  // [replication]: Redis's replication settings under their CONFIG names (replicaof,
  // masterauth, replica-read-only …), seconds where Redis counts seconds.
  struct Replication {
    std::string replicaof;  // "host port" at start-up; empty: a primary
    std::string masterauth;
    std::string masteruser;
    bool replica_read_only = true;
    bool replica_serve_stale_data = true;
    int64_t repl_backlog_size = 1 << 20;  // bytes
    int64_t repl_ping_replica_period = 10;
    int64_t repl_timeout = 60;
    // client-output-buffer-limit's replica class.
    int64_t output_buffer_hard_limit = 256 << 20;
    int64_t output_buffer_soft_limit = 64 << 20;
    int64_t output_buffer_soft_seconds = 60;
  } replication;
  // ACL users (commands/acl.h). users: each "name rule rule ..." as redis.conf's `user`
  // lines without the keyword; aclfile: Redis's ACL file (not both, as Redis).
  struct Acl {
    std::string aclfile;
    std::vector<std::string> users;
    int64_t log_max_len = 128;  // ACL LOG entries kept
    AclPubsubDefault pubsub_default = AclPubsubDefault::kResetChannels;
  } acl;
  struct Metrics {
    bool enabled = false;
    std::string bind = "127.0.0.1";
    int64_t port = 9379;
    bool tls = false;  // HTTPS with the [tls] certificate, key, CA and auth_clients
  } metrics;
  // [tls]: Redis's tls-* parameters (docs/operations.md, "TLS"). The certificate files are
  // read when the TLS listener starts and again on every CONFIG SET of a tls-* key (new
  // connections use the new context, open ones keep theirs).
  struct Tls {
    int64_t port = 0;  // 0: no TLS listener
    std::string cert_file;
    std::string key_file;
    std::string key_file_pass;
    std::string client_cert_file;  // outgoing links (tls-replication): accepted, not used yet
    std::string client_key_file;
    std::string client_key_file_pass;
    std::string dh_params_file;  // OpenSSL 3 picks DH parameters itself: accepted only
    std::string ca_cert_file;
    std::string ca_cert_dir;
    TlsAuthClients auth_clients = TlsAuthClients::kYes;
    std::string protocols;  // "TLSv1.2 TLSv1.3" when empty
    std::string ciphers;
    std::string ciphersuites;
    bool prefer_server_ciphers = false;
    bool session_caching = true;
    int64_t session_cache_size = 20480;   // sessions
    int64_t session_cache_timeout = 300;  // seconds
    bool replication = false;             // accepted; the replication link is plain TCP for now
    bool cluster = false;                 // accepted; no cluster bus yet
  } tls;
  // Redis 7.0 parameters Ferrite accepts, validates and shows back but whose feature is not
  // built (replication, cluster, TLS …): Redis name -> value as CONFIG GET shows it. Set by
  // CONFIG SET, the `--name value` command line and the [redis] TOML section
  // (config/redis_config.h; docs/configuration.md lists them).
  std::map<std::string, std::string> redis_stored;
};

Config DefaultConfig();
// Parses TOML text; errors name source, line, full key and what was expected.
Result<Config> ParseConfig(std::string_view toml_text, std::string_view source_name);
Result<Config> LoadConfigFile(const std::string& path);
Status ValidateConfig(const Config& c);

}  // namespace ferrite
