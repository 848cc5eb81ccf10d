#pragma once
// Session: a client's command-level state (database, protocol, auth, MULTI, WATCH).
// The net layer owns one per connection and fills in ConnInfo for CLIENT LIST.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace ferrite {

namespace acl {
struct User;
}

// Output bytes as Redis counts them against client-output-buffer-limit: the first 16 KB of a
// client's pending output sit in Redis's per-client static reply buffer, which its limit
// check does not count (only the reply list is). The limits trip at >= as in Redis.
inline constexpr size_t kUncountedReplyBytes = 16 * 1024;
inline size_t CountedOutputBytes(size_t pending) {
  return pending > kUncountedReplyBytes ? pending - kUncountedReplyBytes : 0;
}

struct ConnInfo {
  int fd = -1;
  // Filled in on demand by the net layer (Engine::RefreshConnInfo) for CLIENT LIST/INFO:
  std::string addr;  // "ip:port"
  std::string laddr;
  int64_t created_ms = 0;
  int64_t last_interaction_ms = 0;
  size_t qbuf = 0;  // unparsed query bytes (the running command's own included)
  size_t qbuf_free = 0;
  size_t obl = 0;       // pending output bytes
  size_t omem = 0;      // output buffer memory
  size_t out_sent = 0;  // bytes at the front of the output buffer already written
  size_t rbs = 16384;   // reply buffer size (Redis's static buffer), and its recent peak
  size_t rbp = 0;
  bool write_pending = false;  // events=rw: waiting for the socket to drain
  uint64_t tot_net_in = 0;
  uint64_t tot_net_out = 0;
  uint64_t tot_cmds = 0;
  bool is_unix = false;
  // Redis's islocalClient: a unix socket, or exactly 127.0.0.1 or ::1 (not the rest of
  // 127.0.0.0/8). Protected mode, enable-debug-command and enable-protected-configs ask it.
  bool is_local() const {
    return addr.rfind("127.0.0.1:", 0) == 0 || addr.rfind("[::1]:", 0) == 0 || is_unix;
  }
};

struct Session {
  uint64_t id = 0;
  int db = 0;
  bool resp3 = false;
  bool authenticated = false;
  // The ACL user the session runs as (Engine::NewSession sets the default user); nullptr:
  // the server's own sessions (AOF replay, a master's link), which may run anything.
  acl::User* user = nullptr;
  std::string name;
  ConnInfo conn;
  std::string last_cmd = "NULL";  // full name of the last command ("client|list")
  size_t argv_mem = 0;            // argument bytes of the command being run (CLIENT LIST)

  // CLIENT REPLY: OFF drops every reply; SKIP drops the next command's (skip_next is set by
  // CLIENT REPLY SKIP itself and becomes skip after it).
  bool reply_off = false;
  bool reply_skip = false;
  bool reply_skip_next = false;
  bool no_evict = false;  // CLIENT NO-EVICT
  // CLIENT PAUSE held this command (blocked is set too): it runs when the pause ends.
  bool paused = false;
  std::vector<std::string> paused_argv;

  // MULTI/EXEC
  bool in_multi = false;
  bool multi_error = false;  // a queued command was rejected: EXEC aborts
  std::vector<std::vector<std::string>> queued;
  size_t multi_mem = 0;           // bytes of the queued commands (CLIENT LIST multi-mem)
  uint32_t queued_flags = 0;      // cmd:: flags of every queued command OR-ed (EXEC's LOADING,
                                  // PAUSE rules)
  uint32_t queued_inv_flags = 0;  // the flags some queued command lacks
  // WATCH: the watched keys; dirty is set by the engine when one of them changes. A key
  // that had already expired (but was not yet deleted) when watched is flagged: its
  // deletion is no change, as in Redis.
  struct WatchedKey {
    int db;
    std::string key;
    bool expired;
  };
  std::vector<WatchedKey> watched;
  bool watch_dirty = false;

  // Set by QUIT or CLIENT KILL; the net layer closes after flushing replies.
  bool close_after_reply = false;
  // A reply passed the client's output-buffer hard limit while it was being built: the
  // net layer closes the connection at once, without sending what is pending.
  bool close_asap = false;
  // The AOF loader's session: bypasses auth, LOADING, OOM and write refusal.
  bool replaying = false;
  bool kill_now = false;

  // Output outside the session's own command (pub/sub messages, a blocked command served
  // later): the connection's output buffer, set by the net layer (nullptr in unit tests).
  std::string* out = nullptr;
  void* net_conn = nullptr;
  bool in_exec = false;  // running EXEC's queued commands: blocking commands never block

  // Blocking commands (BLPOP & co.): the command is re-run when one of its keys changes.
  bool blocked = false;
  bool reexec = false;         // being re-run by the engine
  bool still_blocked = false;  // the re-run found nothing and asked to keep waiting
  int block_db = 0;
  int64_t block_deadline_ms = 0;  // 0 = forever
  bool block_null_array = true;   // timeout reply: *-1 (BLPOP) or $-1 (BLMOVE)
  std::vector<std::string> block_keys;
  std::vector<std::string> block_argv;
  // A blocking command's own state (stream reads: resolved IDs, group, what was seen),
  // dropped when the session unblocks.
  std::shared_ptr<void> block_state;
  // During a re-run: the key whose change caused it.
  std::string ready_key;

  // Tiered storage: the command waits for values read from cold/archived segments
  // (blocked is set too, so no further input is processed meanwhile).
  bool tier_wait = false;
  bool tier_resume = false;  // re-running it: no second fetch

  // Replication: this connection is a replica of ours (CLIENT LIST flag S, type replica)
  // or the link to our master (M, type master); repl_woff: master_repl_offset after the
  // session's last command (WAIT).
  enum class ReplRole : uint8_t { kNone, kReplica, kMaster };
  ReplRole repl_role = ReplRole::kNone;
  uint64_t repl_woff = 0;

  bool monitor = false;  // MONITOR: receives every command the server executes
  bool script = false;   // the client Lua scripts run their commands as

  // Client-side caching (CLIENT TRACKING; commands/tracking.h). broken_redir: the redirect
  // target was gone when an invalidation was due (CLIENT LIST's R flag). caching: CLIENT
  // CACHING yes/no was given for the next command or transaction. prefixes: the BCAST
  // prefixes, in byte order as Redis lists them. pending: invalidations of keys this
  // client's running command changed, sent after its reply (nullopt: a flush's null).
  struct TrackingState {
    bool on = false;
    bool bcast = false;
    bool optin = false;
    bool optout = false;
    bool caching = false;
    bool noloop = false;
    bool broken_redir = false;
    uint64_t redirect = 0;
    std::set<std::string> prefixes;
    std::vector<std::optional<std::string>> pending;
  };
  TrackingState tracking;

  // Pub/sub subscriptions.
  std::vector<std::string> channels;
  std::vector<std::string> patterns;
  size_t subscriptions() const { return channels.size() + patterns.size(); }
};

}  // namespace ferrite
