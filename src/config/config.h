#pragma once
// The typed configuration: one struct per TOML section, fields named as the TOML keys.
// Sizes are bytes, durations milliseconds (both int64_t). The schema (names, types,
// defaults, Redis names, runtime mutability) lives in schema.cc; every key is documented
// in docs/configuration.md.

#include <cstdint>
#include <map>
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

struct Config {
  struct Server {
    std::string bind = "127.0.0.1";
    int64_t port = 6379;
    std::string dir = "./data";
    int64_t databases = 16;
    std::string requirepass;
    int64_t maxclients = 10000;
    int64_t maxmemory = 0;
    std::string maxmemory_policy = "noeviction";
    int64_t maxmemory_samples = 5;
    int64_t timeout = 0;              // ms; 0 = never
    int64_t tcp_keepalive = 300'000;  // ms
    int64_t hz = 10;
    int64_t busy_poll_us = 100;  // spin this long after the last event before sleeping
    std::string loglevel = "notice";
    std::string logfile;
    std::string pidfile;
    std::string enable_debug_command = "local";
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
    int64_t lfu_decay_time = 1;             // minutes per LFU counter decrement; 0 = never decays
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
    std::string aof_sync_policy = "everysec";
    int64_t aof_rewrite_percentage = 100;
    int64_t aof_rewrite_min_size = 64LL << 20;
    bool aof_use_checkpoint_preamble = true;
    bool aof_timestamp_enabled = true;        // #TS lines: point-in-time recovery to a second
    int64_t aof_group_commit_wait_us = 1000;  // `always`: max gathering before an fsync
    // After a failed write or fsync of the AOF: "rewrite" (refuse writes, hold replies,
    // write the dataset to a new AOF generation from memory) or "exit" (PostgreSQL's PANIC).
    std::string aof_on_fsync_error = "rewrite";
    bool checkpoint_enabled = true;
    std::string checkpoint_file = "ferrite.rdb";
    // Point-in-time recovery: replaced AOF generations and checkpoints are kept in
    // <dir>/history for this long (0 = not kept), at most this many bytes (0 = no cap).
    int64_t history_retention = 24LL * 3'600'000;  // ms
    int64_t history_max_size = 4LL << 30;
    int64_t checkpoint_interval = 300'000;  // ms; 0 = off
    int64_t checkpoint_changes = 0;
    std::vector<SaveRule> checkpoint_rules = {{3600, 1}, {300, 100}, {60, 10000}};
    std::string checkpoint_compression = "lz4";
    std::string recovery_priority = "checkpoint";
  } persistence;
  struct Storage {
    bool enabled = false;  // tiering on: values move out of RAM past hot_tier_size
    int64_t hot_tier_size = 512LL << 20;
    int64_t warm_tier_size = 2LL << 30;
    std::string cold_tier_path;
    std::string cold_tier_compression = "lz4";
    int64_t segment_size = 64LL << 20;
    int64_t min_value_size = 64;
    int64_t compaction_threshold = 50;     // percent live below which a segment is compacted
    int64_t compaction_rate = 64LL << 20;  // bytes per second
    int64_t promote_lfu = 7;               // LFU counter at which a warm value moves back to RAM
    int64_t io_threads = 2;
    struct Archive {
      bool enabled = false;
      std::string provider = "s3";
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
    std::string max_recovery_time_action = "abort";
    std::string on_corruption = "truncate";
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
  struct Metrics {
    bool enabled = false;
    std::string bind = "127.0.0.1";
    int64_t port = 9379;
  } metrics;
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
