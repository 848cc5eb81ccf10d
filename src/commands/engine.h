#pragma once
// Engine: everything a command can reach — databases, configuration, statistics,
// sessions, WATCH bookkeeping and the propagation sink (the AOF). One per process, owned
// by the server and used by the loop thread only.

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/histogram.h"
#include "base/status.h"
#include "commands/acl.h"
#include "commands/command.h"
#include "commands/command_table.h"
#include "commands/session.h"
#include "commands/tracking.h"
#include "config/config.h"
#include "config/redis_config.h"
#include "config/registry.h"
#include "keyspace/db.h"
#include "keyspace/lazyfree.h"
#include "types/collections.h"

namespace ferrite {

namespace tier {
class TierManager;
}

// Receives the effect of every write, in execution order (AOF; replicas later).
class PropagationSink {
 public:
  virtual ~PropagationSink() = default;
  virtual void Propagate(int db, const std::vector<std::string>& argv) = 0;
  // A plain write's own arguments, valid during the call only: a sink that encodes them at
  // once (the AOF) skips the copy into strings.
  virtual void PropagateArgs(int db, ArgList argv) {
    Propagate(db, std::vector<std::string>(argv.begin(), argv.end()));
  }
};

// INFO persistence's loading_* fields, while the start-up load runs. (At namespace scope:
// clang cannot default-construct a nested struct with member initializers inside
// std::optional while the enclosing struct is still being defined.)
struct LoadingInfo {
  int64_t start_time = 0;  // unix seconds
  uint64_t total_bytes = 0;
  uint64_t loaded_bytes = 0;
  double loaded_perc = 0;
  int64_t eta_seconds = 0;
};

// The open AOF's figures in INFO persistence (only while the AOF is on).
struct AofFileInfo {
  uint64_t current_size = 0;
  uint64_t base_size = 0;
  uint64_t buffer_length = 0;
  bool pending_fsync = false;  // aof_pending_bio_fsync and aof_pending_fsync
  uint64_t delayed_fsync = 0;
  // Ferrite's: the worst write() / fsync latency of the last 10-20 s (metrics gauges).
  int64_t write_latency_max_us = 0;
  int64_t fsync_latency_max_us = 0;
};

// INFO persistence's values (Redis 7.0's field names; the fields of fork-based saving are
// written as 0 by the renderer). Times are seconds; -1: none yet / none running.
struct PersistenceInfo {
  using Loading = LoadingInfo;
  using Aof = AofFileInfo;
  bool loading = false;
  std::optional<Loading> loading_progress;
  std::optional<uint64_t> current_save_keys_processed;  // set by the persistence manager
  uint64_t rdb_changes_since_last_save = 0;
  bool rdb_bgsave_in_progress = false;
  int64_t rdb_last_save_time = 0;
  bool rdb_last_bgsave_ok = true;  // rdb_last_bgsave_status: ok / err
  int64_t rdb_last_bgsave_time_sec = -1;
  int64_t rdb_current_bgsave_time_sec = -1;
  uint64_t rdb_saves = 0;
  std::optional<uint64_t> rdb_last_load_keys_loaded;  // set by the persistence manager
  bool aof_enabled = false;
  bool aof_rewrite_in_progress = false;
  bool aof_rewrite_scheduled = false;
  int64_t aof_last_rewrite_time_sec = -1;
  int64_t aof_current_rewrite_time_sec = -1;
  bool aof_last_bgrewrite_ok = true;  // aof_last_bgrewrite_status
  uint64_t aof_rewrites = 0;
  bool aof_last_write_ok = true;  // aof_last_write_status
  std::optional<Aof> aof;
};

// What the engine calls of the replication layer (src/replication).
// The replication layer receives the write stream like the AOF (a second sink: the engine
// fans every effect out to both) and answers the few questions commands and the net layer
// ask about roles. Loop thread only.
class ReplicationHooks : public PropagationSink {
 public:
  // A session is going away (a replica's connection, the link to our master).
  virtual void SessionClosed(Session& s) = 0;
  // Non-empty: writes are refused on this server now (-READONLY on a read-only replica).
  virtual std::string_view WriteRefusal(const Session& s) = 0;
  // A command read from our master has run; raw: its bytes in the replication stream.
  virtual void MasterApplied(Session& s, std::string_view raw) = 0;
  virtual std::string InfoSection() = 0;
  virtual bool IsReplica() const = 0;  // REPLICAOF <host> <port> in effect
  // A replica whose link to its master is not up with replica-serve-stale-data off: commands
  // without the stale flag get -MASTERDOWN.
  virtual bool RefuseStale() const = 0;
};

// Implemented by the persistence layer (server wiring); commands reach it through the
// engine: BGREWRITEAOF, the -MISCONF write refusal, INFO persistence.
class PersistenceControl {
 public:
  virtual ~PersistenceControl() = default;
  // BGREWRITEAOF; *scheduled: it will start later (after the running transaction, or
  // after a running save) rather than now.
  virtual Status RewriteAof(bool* scheduled = nullptr) = 0;
  // Non-empty: writes are refused with this error text (e.g. after an AOF write error).
  virtual std::string WriteRefusal() = 0;
  virtual PersistenceInfo Info() = 0;
  // Checkpoints: SAVE (blocking), BGSAVE (fork-less, background), LASTSAVE.
  virtual Status Save() = 0;
  // DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save a checkpoint (unless NOSAVE), empty the
  // dataset and the function libraries (unless NOFLUSH), load the checkpoint. Without
  // MERGE a key or library already present fails the load; with it the loaded one wins.
  struct ReloadOptions {
    bool save = true;
    bool flush = true;
    bool merge = false;
  };
  virtual Status DebugReload(const ReloadOptions& o) = 0;
  // DEBUG LOADAOF: flush and fsync the AOF, empty the databases, replay the AOF.
  virtual Status DebugLoadAof() { return Status::NotSupported("no AOF in this process"); }
  virtual Status BgSave(bool schedule, std::string* reply) = 0;
  virtual int64_t LastSave() = 0;
  // The AOF's write() and fsync durations since start (/metrics histograms); false when
  // the AOF is off.
  virtual bool AofHistograms(DurationHistogram::Snapshot* write,
                             DurationHistogram::Snapshot* fsync) {
    (void)write;
    (void)fsync;
    return false;
  }
};

// What the engine and the layers below the scripting library (src/scripting) know of it:
// set by the server wiring when scripting is built in, nullptr otherwise.
class ScriptingHooks {
 public:
  virtual ~ScriptingHooks() = default;
  // The flags EVAL*/FCALL* run with for this call: the script's declared flags (a `#!lua
  // flags=` line, or a function's flags) turned into command flags (write, deny-oom), as
  // Redis's getCommandFlags; spec.flags for scripts without flags.
  virtual uint32_t CommandFlags(const CommandSpec& spec, ArgList args) = 0;
  // Every function library's source (its `#!lua name=...` line included), in a stable
  // order: the checkpoint, the AOF rewrite and the RDB export save these.
  virtual std::vector<std::string> LibraryCodes() const = 0;
  // Loads a library saved by LibraryCodes (a checkpoint or RDB record), replacing one of
  // the same name. Errors as FUNCTION LOAD's.
  virtual Status LoadLibrary(std::string_view code) = 0;
  // INFO memory's scripting fields (Redis 7.0's names).
  struct Memory {
    size_t vm_eval = 0;          // used_memory_vm_eval (used_memory_lua)
    size_t scripts_eval = 0;     // used_memory_scripts_eval
    size_t cached_scripts = 0;   // number_of_cached_scripts
    size_t functions = 0;        // number_of_functions
    size_t libraries = 0;        // number_of_libraries
    size_t vm_functions = 0;     // used_memory_vm_functions
    size_t functions_bytes = 0;  // used_memory_functions
  };
  virtual Memory MemoryInfo() const = 0;
};

struct CommandStats {
  uint64_t calls = 0;
  uint64_t usec = 0;
  uint64_t rejected_calls = 0;
  uint64_t failed_calls = 0;
  LatencyHistogram latency;  // microseconds per call, for INFO latencystats
};

struct ServerStats {
  uint64_t total_commands = 0;
  uint64_t total_connections = 0;
  uint64_t rejected_connections = 0;
  uint64_t net_input_bytes = 0;
  uint64_t net_output_bytes = 0;
  uint64_t total_error_replies = 0;
  uint64_t client_qbuf_limit_disconnections = 0;
  uint64_t client_outbuf_limit_disconnections = 0;
  uint64_t unexpected_error_replies = 0;
  uint64_t reads_processed = 0;
  uint64_t writes_processed = 0;
  uint64_t instantaneous_ops = 0;
  double instantaneous_input_kbps = 0, instantaneous_output_kbps = 0;
  uint64_t reply_buffer_shrinks = 0, reply_buffer_expands = 0;
  uint64_t sync_full = 0, sync_partial_ok = 0, sync_partial_err = 0;  // replication
  // Samples for the instantaneous_* rates: (monotonic us, total_commands, net bytes in and
  // out), ring of 16, one per cron tick.
  int64_t ops_sample_time[16] = {};
  uint64_t ops_sample_cmds[16] = {};
  uint64_t ops_sample_in[16] = {};
  uint64_t ops_sample_out[16] = {};
  int ops_sample_idx = 0;
  std::map<std::string, uint64_t> error_counts;  // by error code ("ERR", "WRONGTYPE")
};

// ---- Observability: SLOWLOG and LATENCY records (commands in slowlog_family.cc) ----
// One SLOWLOG entry, as Redis 7 keeps it: at most 32 arguments (the last one then says how
// many more there were), each cut at 128 bytes with "... (N more bytes)".
struct SlowlogEntry {
  int64_t id = 0;
  int64_t time = 0;  // unix seconds
  int64_t duration_us = 0;
  std::vector<std::string> argv;
  std::string addr;  // "ip:port" of the client
  std::string name;  // CLIENT SETNAME, or empty
};
// A LATENCY event's time series: the worst latency per second, last 160 seconds with a
// spike (Redis's LATENCY_TS_LEN), and the all-time maximum.
struct LatencySeries {
  static constexpr int kLen = 160;
  struct Sample {
    int64_t time = 0;     // unix seconds; 0 = unused slot
    int64_t latency = 0;  // milliseconds
  };
  Sample samples[kLen];
  int idx = 0;  // next slot to write
  int64_t max = 0;
};

class Engine : public KeyspaceListener {
 public:
  Engine(Config config, Clock* clock);
  ~Engine() override;

  // Runs one command line for a session and writes its reply. Handles AUTH gating,
  // MULTI queueing, arity, OOM, loading, stats and propagation.
  void Execute(Session& s, ArgList args, ReplyBuilder& rb);
  // A command called by a script (redis.call): no gates (the scripting library applies a
  // script's own, as Redis's scriptCall), runs the handler with stats, slowlog, MONITOR and
  // propagation. now_ms is the script's frozen time (keys do not expire mid-script).
  void CallFromScript(Session& s, const CommandSpec& spec, ArgList args, ReplyBuilder& rb,
                      int64_t now_ms);
  // EXEC: runs the session's queued commands; their effects are propagated wrapped in
  // MULTI/EXEC so a transaction replays whole or not at all.
  void ExecMulti(Session& s, ReplyBuilder& rb);

  // Sessions (registered by the net layer).
  Session* NewSession();
  void DropSession(Session* s);
  const std::map<uint64_t, Session*>& sessions() const { return sessions_; }
  Session* FindSession(uint64_t id);

  Database& db(int i) { return *dbs_[size_t(i)]; }
  int db_count() const { return int(dbs_.size()); }
  Config& config() { return config_; }
  ConfigRegistry& registry() { return *registry_; }
  const CommandTable& commands() const { return table_; }
  Clock* clock() const { return clock_; }
  KeyspaceStats& ks_stats() { return ks_stats_; }
  ServerStats& stats() { return stats_; }
  std::unordered_map<const CommandSpec*, CommandStats>& command_stats() { return cmd_stats_; }

  // The AOF's sink (persistence) and the replication stream's: the engine fans each
  // effect out to both when both are set.
  void set_propagation_sink(PropagationSink* sink) {
    aof_sink_ = sink;
    UpdateSink();
  }
  void set_replication_sink(PropagationSink* sink) {
    repl_sink_ = sink;
    UpdateSink();
  }
  void set_replication(ReplicationHooks* r) { replication_ = r; }
  ReplicationHooks* replication() const { return replication_; }
  // master_repl_offset, kept by the replication layer: after each command a session
  // remembers it (WAIT waits for the replicas to reach the offset of its last write).
  uint64_t repl_offset = 0;
  void set_persistence(PersistenceControl* p) { persistence_ = p; }
  // Tiered storage: values that moved out of RAM are fetched before a command runs.
  void set_tier(tier::TierManager* t);
  tier::TierManager* tier() const { return tier_; }
  PersistenceControl* persistence() const { return persistence_; }
  PropagationSink* propagation_sink() const { return sink_; }
  // True when effects are recorded (an AOF is on, or a transaction is collecting them);
  // handlers skip building PropagateAs() arguments otherwise.
  bool propagating() const { return sink_ != nullptr || collecting_multi_; }
  // True while a propagated unit executes (EXEC's commands; later a script): a persistence
  // cut (checkpoint freeze, rewrite freeze, full sync) must not be taken now but after it,
  // or the image would hold part of the unit while replay applies all of it again.
  bool in_atomic_unit() const { return collecting_multi_; }
  void Propagate(int db, const std::vector<std::string>& argv);
  // A unit of effects (a script): effects are collected from BeginEffectsUnit until
  // EndEffectsUnit, then propagated together — wrapped in MULTI/EXEC when there are
  // several, as Redis 7 — so a replay applies them whole and never re-runs the script.
  // Nested in a transaction (EVAL inside MULTI) it joins the transaction's unit: Begin
  // returns false and the matching End(false, ...) propagates nothing. End with
  // propagate = false drops the unit (a script stopped by SHUTDOWN NOSAVE).
  bool BeginEffectsUnit();
  void EndEffectsUnit(bool began, bool propagate = true);
  // redis.set_repl(): while false, commands' effects are not propagated.
  void set_propagation_enabled(bool v) { propagation_enabled_ = v; }

  void set_scripting(ScriptingHooks* h) { scripting_ = h; }
  ScriptingHooks* scripting() const { return scripting_; }
  // Adds a command after construction (the scripting library registers its commands).
  void AddCommand(const CommandSpec& spec) { table_.AddLate(spec); }

  // A long-running script (past busy-reply-threshold) lets the loop serve other clients:
  // while busy_error() is non-empty, every command but the few Redis allows while busy
  // (AUTH, HELLO, MULTI, DISCARD, WATCH, UNWATCH, QUIT, RESET, SHUTDOWN NOSAVE, SCRIPT
  // KILL, FUNCTION KILL / STATS) is refused with it. The script's interrupt hook calls
  // ProcessEventsWhileBusy(), which the net layer implements (set_event_pump): read other
  // clients, execute, write their replies — never the caller's input, never persistence.
  void set_busy_error(std::string e) { busy_error_ = std::move(e); }
  const std::string& busy_error() const { return busy_error_; }
  void set_event_pump(std::function<void()> pump) { event_pump_ = std::move(pump); }
  void ProcessEventsWhileBusy() {
    if (event_pump_) event_pump_();
  }
  // A script is executing (redis.call may run): blocked clients are not served and no
  // persistence cut is taken until it ends.
  bool script_running() const { return script_running_; }
  void set_script_running(bool v) { script_running_ = v; }

  // WATCH
  void Watch(Session& s, int db, std::string_view key);
  void UnwatchAll(Session& s);
  // FLUSHDB/FLUSHALL (replaced_with -1) or SWAPDB, before the change: marks the sessions
  // whose watched keys of db `emptied` change, as Redis's touchAllWatchedKeysInDb.
  void TouchWatchedInDb(int emptied, int replaced_with);
  // A key watched while live has expired since: EXEC fails (Redis's isWatchedKeyExpired).
  bool WatchedKeyExpired(Session& s);
  void OnKeyModified(int db, std::string_view key) override;
  void OnKeyExpired(int db, std::string_view key) override;
  void OnKeyAdded(int db, std::string_view key) override;
  void OnKeyMiss(int db, std::string_view key) override;
  bool ExpiryPaused() const override { return pause_type_ != PauseType::kNone; }

  // Keyspace notifications (notify-keyspace-events): publishes `event` on
  // __keyspace@<db>__:<key> and `key` on __keyevent@<db>__:<event> when the class of type
  // (notify::*) and the channel kind are enabled.
  void NotifyKeyspaceEvent(uint32_t type, std::string_view event, std::string_view key, int db);
  // Re-reads settings the engine caches from the configuration (after CONFIG SET).
  void ApplyConfig();

  // CLIENT PAUSE: until end_ms (unix ms), clients' commands are held — every command
  // (kAll), or those that write or may replicate (kWrite, PUBLISH and PFCOUNT included) —
  // and keys neither expire nor get evicted. A held command runs when the pause ends, in
  // arrival order. A second PAUSE extends the deadline and never weakens the type.
  enum class PauseType { kNone, kWrite, kAll };
  void PauseClients(PauseType type, int64_t end_ms);
  void UnpauseClients();
  PauseType pause_type() const { return pause_type_; }
  size_t paused_clients() const { return paused_.size(); }

  // CLIENT UNBLOCK: a session blocked on keys is answered as if its timeout passed, or with
  // an -UNBLOCKED error. False if it was not blocked on keys.
  bool UnblockClient(Session& s, bool with_error);
  // The sessions blocked on keys of db look again (SWAPDB, MOVE, FLUSHDB/FLUSHALL): served
  // when their key holds data, -UNBLOCKED when a stream group they read is gone.
  void SignalReadyKeysOf(int db);

  // Filled in by the net layer: refreshes s.conn's buffer figures for CLIENT LIST/INFO.
  std::function<void(Session&)> refresh_conn_info;
  // Lazy free (UNLINK, FLUSHALL ASYNC): main wires its Post to the loop's.
  LazyFree& lazyfree() { return lazyfree_; }
  // Frees a value removed from the keyspace: on the helper thread when it is large and
  // holds no tier reference (or `force_sync`), else here.
  void FreeValue(Value v, bool lazy);
  // Empties database i, freeing its contents on the helper thread when `lazy` (and no tier
  // reference can be in it).
  void FlushDb(int i, bool lazy);

  // Blocking commands (blocking.cc). A handler that finds no data calls BlockSession; any
  // later change to one of the keys re-runs the command for the sessions waiting on it,
  // first come first served, after the command that made the change.
  void BlockSession(Session& s, ArgList args, const std::vector<std::string>& keys,
                    int64_t deadline_ms, bool null_array_on_timeout);
  void ServeReadyKeys();
  // Wakes the sessions blocked on a key without touching WATCH (Redis's signalKeyAsReady:
  // XGROUP DESTROY wakes XREADGROUP readers so they learn their group is gone).
  void SignalKeyAsReady(int db, std::string_view key);
  // Answers sessions whose timeout passed with the null reply.
  void ExpireBlocked(int64_t now_ms);
  int64_t NextBlockDeadline() const;  // earliest deadline (unix ms), 0 = none
  // Sessions waiting on keys, and those held by CLIENT PAUSE (Redis counts both).
  size_t blocked_clients() const { return blocked_.size() + paused_.size(); }
  // Sessions given output outside their own command; the net layer flushes them and
  // resumes their input.
  void Wake(Session* s) { woken_.push_back(s); }
  bool has_woken() const { return !woken_.empty(); }
  std::vector<Session*> TakeWoken() { return std::exchange(woken_, {}); }
  // Writes into another session's output buffer (or a sink when it has none).
  std::string* OutputOf(Session& s) { return s.out ? s.out : &discard_; }
  // The size the session's output buffer may reach before the client has passed its hard
  // output-buffer limit (client_output_buffer_limit, normal or pubsub class): a reply builder
  // stops there. SIZE_MAX when the limit is off.
  size_t OutputLimit(const Session& s) const;

  // ACL (commands/acl.h): the users, the permission check every command passes, the log.
  acl::Acl& acl() { return *acl_; }
  // Records a denial in ACL LOG (object: the command, key, channel or AUTH's user name).
  void AclLog(Session& s, acl::Result reason, acl::LogContext ctx, std::string object,
              const std::string* username = nullptr);
  // The check of a command line against s's user; on denial logs it and returns Redis's
  // -NOPERM text for the context (top level, MULTI's EXEC), else "".
  std::string AclDenial(Session& s, const CommandSpec& spec, ArgList args, acl::LogContext ctx);
  // Disconnects the sessions authenticated as u (ACL DELUSER, ACL LOAD): the caller after
  // its reply, others at once; they fall back to the default user, unauthenticated.
  void DisconnectUser(const acl::User* u);
  // A changed user's pub/sub clients whose subscriptions its new rules no longer allow are
  // disconnected (Redis's ACLKillPubsubClientsIfNeeded).
  void DisconnectPubsubOf(const acl::User* u);
  // Brings the default user's password in line with requirepass after a change of it.
  void SyncRequirepass();
  // Loads the configured users and the ACL file at start-up (error: the server must stop).
  Status LoadAclAtStartup();

  // MONITOR: s receives a line per executed command from now on.
  void AddMonitor(Session& s);
  void RemoveMonitor(Session& s);

  // Pub/sub (pubsub_family.cc).
  size_t Publish(std::string_view channel, std::string_view message);
  void Subscribe(Session& s, std::string_view channel, bool pattern);
  bool Unsubscribe(Session& s, std::string_view channel, bool pattern);
  const std::map<std::string, std::vector<Session*>>& pubsub_channels() const { return channels_; }
  const std::map<std::string, std::vector<Session*>>& pubsub_patterns() const { return patterns_; }

  // Client-side caching (CLIENT TRACKING; commands/tracking.h).
  Tracking& tracking() { return tracking_; }
  // FLUSHDB, FLUSHALL, DEBUG RELOAD/LOADAOF emptied data: tracking clients are told that
  // every key is invalid (Redis's signalFlushedDb).
  void SignalFlushed() { tracking_.InvalidateOnFlush(); }
  // The session whose command line is being executed (Redis's current_client): a script's
  // caller, not the script's own client; nullptr between commands (cron, before sleep).
  Session* current_session() const { return current_; }
  // A command's handler is running (Redis's fixed_time_expire > 0).
  bool in_call() const { return call_depth_ > 0; }
  // Before the loop sleeps: the BCAST invalidations collected during the iteration.
  void BeforeSleep() { tracking_.BroadcastInvalidations(); }

  // Periodic work (called by the loop at hz): active expiry, eviction, stats.
  void Cron();
  // Evicts keys until used memory is under maxmemory; false if it could not.
  bool PerformEviction();

  uint64_t dirty() const { return dirty_; }  // changes since last save
  void ConsumeDirty(uint64_t n) { dirty_ -= std::min(n, dirty_); }
  int64_t start_time_ms() const { return start_ms_; }
  const std::string& run_id() const { return run_id_; }
  const std::string& replication_id() const { return replid_; }
  bool loading() const { return loading_; }
  // Loading pauses expiry in every database (see Database::ExpiredAt).
  void set_loading(bool v) {
    loading_ = v;
    for (auto& d : dbs_) d->set_expiry_paused(v);
  }

  // Lifecycle requests from commands, read by the loop.
  bool shutdown_requested() const { return shutdown_requested_; }
  void RequestShutdown(int save_mode = 0) {
    shutdown_requested_ = true;
    shutdown_save_mode = save_mode;
  }
  int shutdown_save_mode = 0;  // SHUTDOWN: 1 SAVE, -1 NOSAVE, 0 by the save rules
  int exit_code = 0;           // non-zero: the process exits with it (a failed start-up load)
  int tcp_port = 0;            // the bound port, for INFO
  bool active_expire_enabled = true;        // DEBUG SET-ACTIVE-EXPIRE
  bool cron_paused = false;                 // DEBUG PAUSE-CRON: the periodic work stops
  bool script_disable_deny_script = false;  // DEBUG SET-DISABLE-DENY-SCRIPTS: noscript allowed
  // Each connection's reply buffer (the output capacity kept between replies) follows
  // Redis's policy: it shrinks to its recent peak and grows when full (net/server.cc).
  // DEBUG REPLYBUFFER changes how often the peak is forgotten and can stop resizing.
  static constexpr int64_t kReplyBufferPeakResetMs = 5000;
  int64_t reply_buffer_peak_reset_ms = kReplyBufferPeakResetMs;  // -1: never
  bool reply_buffer_resizing = true;
  // DEBUG CHANGE-REPL-ID: a new replication ID (INFO replication master_replid).
  void ChangeReplicationId();
  void set_replication_id(std::string id) { replid_ = std::move(id); }
  bool pending_kills = false;  // CLIENT KILL marked sessions; the loop closes them
  std::string executable_path;
  std::string config_file;

  // ---- Observability: SLOWLOG and LATENCY (slowlog_family.cc) ----
  // Adds a LATENCY sample for `event` when latency-monitor-threshold is on (> 0) and
  // ms >= threshold, as Redis's latencyAddSampleIfNeeded. Loop thread only: a helper thread
  // Post()s it. Event names as Redis's ("command", "fast-command", "aof-fsync-always",
  // "aof-write", "expire-cycle", ...).
  void RecordLatency(const char* event, int64_t ms);
  // Logs a command that ran for duration_us to the SLOWLOG if slowlog-log-slower-than says
  // so (called by Call; EXEC itself is not logged, the commands it ran are).
  void SlowlogPush(const Session& s, const CommandSpec& spec, ArgList args, int64_t duration_us);
  std::deque<SlowlogEntry>& slowlog() { return slowlog_; }  // newest first
  int64_t slowlog_next_id() const { return slowlog_next_id_; }
  std::map<std::string, LatencySeries>& latency_events() { return latency_events_; }

  // Process memory as counted by the allocator hooks (server/alloc.cc); 0 if not linked.
  static size_t UsedMemory();
  static size_t PeakMemory();

 private:
  void Call(Session& s, const CommandSpec& spec, ArgList args, ReplyBuilder& rb);
  bool KeyIsExpired(int db, std::string_view key);  // present but past its TTL
  bool KeyPresent(int db, std::string_view key);    // present, expired or not
  void ExecuteCommand(Session& s, ArgList args, ReplyBuilder& rb);
  // flags: the command's, or what its script declares (EVAL, FCALL).
  bool HeldByPause(const Session& s, const CommandSpec& spec, uint32_t flags) const;
  bool DeniedByOom(const Session& s, const CommandSpec& spec, uint32_t flags);
  const CommandSpec* exec_spec_ = nullptr;
  PauseType pause_type_ = PauseType::kNone;
  int64_t pause_end_ms_ = 0;
  std::vector<Session*> paused_;
  LazyFree lazyfree_;
  void RecordError(std::string_view text);
  // True if the command was parked (its keys' values are being read from cold or archived
  // segments; it runs when they are in RAM) or answered with an error (a damaged record).
  bool PrepareTiered(Session& s, const CommandSpec& spec, ArgList args, ReplyBuilder& rb);
  tier::TierManager* tier_ = nullptr;

  Config config_;
  std::unique_ptr<ConfigRegistry> registry_;
  Clock* clock_;
  CommandTable table_;
  std::vector<std::unique_ptr<Database>> dbs_;
  KeyspaceStats ks_stats_;
  ServerStats stats_;
  std::unordered_map<const CommandSpec*, CommandStats> cmd_stats_;
  std::map<uint64_t, Session*> sessions_;
  uint64_t next_session_id_ = 1;
  // (db, key) -> watching sessions
  std::unordered_map<std::string, std::vector<Session*>> watched_keys_;
  size_t watched_count_ = 0;
  PropagationSink* sink_ = nullptr;  // aof_sink_, repl_sink_, or fanout_ for both
  PropagationSink* aof_sink_ = nullptr;
  PropagationSink* repl_sink_ = nullptr;
  ReplicationHooks* replication_ = nullptr;
  struct Fanout : PropagationSink {
    PropagationSink* a = nullptr;
    PropagationSink* b = nullptr;
    void Propagate(int db, const std::vector<std::string>& argv) override {
      a->Propagate(db, argv);
      b->Propagate(db, argv);
    }
    void PropagateArgs(int db, ArgList argv) override {
      a->PropagateArgs(db, argv);
      b->PropagateArgs(db, argv);
    }
  } fanout_;
  void UpdateSink() {
    fanout_.a = aof_sink_;
    fanout_.b = repl_sink_;
    sink_ = aof_sink_ && repl_sink_ ? &fanout_ : aof_sink_ ? aof_sink_ : repl_sink_;
  }
  PersistenceControl* persistence_ = nullptr;
  ScriptingHooks* scripting_ = nullptr;
  bool propagation_enabled_ = true;
  std::string busy_error_;
  std::function<void()> event_pump_;
  bool script_running_ = false;
  int64_t frozen_now_ms_ = 0;  // a script's time while it runs commands (0 = the clock's)
  uint64_t dirty_ = 0;
  int64_t start_ms_;
  std::string run_id_;
  std::string replid_;
  bool loading_ = false;
  // Client-side caching. exec_session_: the session a running handler belongs to (a
  // script's own client inside a script), the "who changed it" of BCAST's NOLOOP.
  // caller_spec_/caller_args_: the command line of the last non-script session's call,
  // whose keys a script's read-only command makes its caller track (Redis's caller->argv).
  // server_change_: the next OnKeyModified is an expiry or an eviction (no client did it).
  Tracking tracking_{*this};
  Session* current_ = nullptr;
  int call_depth_ = 0;
  Session* exec_session_ = nullptr;
  const CommandSpec* caller_spec_ = nullptr;
  ArgList caller_args_;
  bool server_change_ = false;
  bool shutdown_requested_ = false;
  bool collecting_multi_ = false;
  std::vector<std::pair<int, std::vector<std::string>>> multi_effects_;
  // Blocking: waiting sessions per (db, key), keys changed while sessions wait on them.
  std::map<std::pair<int, std::string>, std::vector<Session*>> blocked_by_key_;
  std::vector<std::pair<int, std::string>> ready_keys_;
  std::vector<Session*> blocked_;
  std::vector<Session*> woken_;
  bool serving_ready_ = false;
  std::string discard_;
  std::map<std::string, std::vector<Session*>> channels_;
  std::map<std::string, std::vector<Session*>> patterns_;
  void UnblockSession(Session& s);
  void SignalKeyReady(int db, std::string_view key);
  void FeedMonitors(const Session& s, const CommandSpec& spec, ArgList args);
  std::vector<Session*> monitors_;
  std::unique_ptr<acl::Acl> acl_;
  std::string acl_requirepass_;  // the requirepass value the default user last got
  // ---- Observability ----
  std::deque<SlowlogEntry> slowlog_;
  int64_t slowlog_next_id_ = 0;
  std::map<std::string, LatencySeries> latency_events_;
};

// The packed-encoding limits from the [encoding] config section.
inline CollectionLimits LimitsFromConfig(const Config& c) {
  const auto& e = c.encoding;
  CollectionLimits l;
  l.hash_entries = size_t(e.hash_max_listpack_entries);
  l.hash_value = size_t(e.hash_max_listpack_value);
  l.set_intset = size_t(e.set_max_intset_entries);
  l.set_entries = size_t(e.set_max_listpack_entries);
  l.set_value = size_t(e.set_max_listpack_value);
  l.zset_entries = size_t(e.zset_max_listpack_entries);
  l.zset_value = size_t(e.zset_max_listpack_value);
  l.list_size = e.list_max_listpack_size;
  return l;
}

// Whether argument j of a command line is a secret SLOWLOG and MONITOR show as
// "(redacted)" (slowlog_family.cc).
bool RedactedArgument(const CommandSpec& spec, ArgList args, size_t j);

// One line of CLIENT LIST / CLIENT INFO for s (client_family.cc); ACL LOG's client-info.
std::string ClientLine(Engine& e, Session& s);

// Common argument helpers for handlers.
bool ParseIntArg(CommandContext& ctx, std::string_view s, int64_t* out, const char* err = nullptr);

}  // namespace ferrite
