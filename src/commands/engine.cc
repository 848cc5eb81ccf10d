#include "commands/engine.h"

#include <fmt/format.h>
#include <strings.h>

#include <random>

#include "base/memory.h"
#include "base/strutil.h"
#include "commands/errors.h"
#include "commands/tier_config.h"

namespace ferrite {
namespace {

std::string RandomHex(size_t n) {
  std::random_device rd;
  std::mt19937_64 rng(rd());
  static const char* kHex = "0123456789abcdef";
  std::string s(n, '0');
  for (auto& c : s) c = kHex[rng() & 15];
  return s;
}

std::string WatchKey(int db, std::string_view key) {
  std::string k = std::to_string(db);
  k.push_back(':');
  k.append(key);
  return k;
}

}  // namespace

Database& CommandContext::db() { return engine.db(session.db); }

void CommandContext::PropagateAs(std::vector<std::string> argv) {
  custom_propagation = true;
  propagated.push_back(std::move(argv));
}

bool CommandContext::propagating() const { return engine.propagating(); }

void CommandContext::NotifyModified(std::string_view key) {
  dirty++;
  engine.OnKeyModified(session.db, key);
}

// A RESP2 client in subscribed mode may only run these.
bool AllowedWhileSubscribed(std::string_view name) {
  return name == "subscribe" || name == "unsubscribe" || name == "psubscribe" ||
         name == "punsubscribe" || name == "ssubscribe" || name == "sunsubscribe" ||
         name == "ping" || name == "quit" || name == "reset";
}

namespace {

// Redis 7.0's container commands (those with subcommands in its command table) that Ferrite
// has, each subcommand with its arity: Redis checks that the subcommand exists and its arity
// before anything else, and names it "parent|sub" in its errors.
struct SubcommandSpec {
  const char* name;
  int arity;
};
const std::vector<SubcommandSpec>* Subcommands(std::string_view parent) {
  static const std::unordered_map<std::string_view, std::vector<SubcommandSpec>> kTable = {
      {"client",
       {{"tracking", -3},
        {"info", 2},
        {"help", 2},
        {"unblock", -3},
        {"setname", 3},
        {"caching", 3},
        {"kill", -3},
        {"id", 2},
        {"getredir", 2},
        {"getname", 2},
        {"unpause", 2},
        {"list", -2},
        {"trackinginfo", 2},
        {"reply", 3},
        {"pause", -3},
        {"no-evict", 3}}},
      {"command",
       {{"getkeys", -4},
        {"list", -2},
        {"getkeysandflags", -4},
        {"info", -2},
        {"help", 2},
        {"docs", -2},
        {"count", 2}}},
      {"config", {{"rewrite", 2}, {"get", -3}, {"resetstat", 2}, {"help", 2}, {"set", -4}}},
      {"latency",
       {{"doctor", 2},
        {"history", 3},
        {"help", 2},
        {"graph", 3},
        {"reset", -2},
        {"histogram", -2},
        {"latest", 2}}},
      {"memory",
       {{"purge", 2},
        {"help", 2},
        {"doctor", 2},
        {"stats", 2},
        {"usage", -3},
        {"malloc-stats", 2}}},
      {"object", {{"freq", 3}, {"encoding", 3}, {"help", 2}, {"idletime", 3}, {"refcount", 3}}},
      {"pubsub",
       {{"numsub", -2},
        {"help", 2},
        {"numpat", 2},
        {"channels", -2},
        {"shardnumsub", -2},
        {"shardchannels", -2}}},
      {"slowlog", {{"get", -2}, {"reset", 2}, {"len", 2}, {"help", 2}}},
      {"xgroup",
       {{"create", -5},
        {"createconsumer", 5},
        {"delconsumer", 5},
        {"destroy", 4},
        {"help", 2},
        {"setid", -5}}},
      {"xinfo", {{"consumers", 4}, {"groups", 3}, {"help", 2}, {"stream", -3}}},
  };
  auto it = kTable.find(parent);
  return it == kTable.end() ? nullptr : &it->second;
}

// Redis compares command and subcommand names as C strings, ignoring case.
bool NameIs(std::string_view arg, std::string_view name) {
  size_t nul = arg.find('\0');
  if (nul != std::string_view::npos) arg = arg.substr(0, nul);
  return EqualsIgnoreCase(arg, name);
}

bool ArityOk(int arity, size_t argc) {
  return arity > 0 ? int(argc) == arity : int(argc) >= -arity;
}

// The checks Redis's processCommand makes before anything else (commandCheckExistence,
// commandCheckArity), with its error texts. On success *fullname is the command's name as
// Redis's errors give it ("get", "config|get").
bool CheckCommandShape(const CommandSpec* spec, ArgList args, std::string* fullname,
                       std::string* error) {
  if (!spec) {
    *error = err::UnknownCommand(args[0], args);
    return false;
  }
  *fullname = spec->name;
  const std::vector<SubcommandSpec>* subs = args.size() >= 2 ? Subcommands(spec->name) : nullptr;
  if (subs) {
    const SubcommandSpec* found = nullptr;
    for (const auto& sub : *subs) {
      if (NameIs(args[1], sub.name)) found = &sub;
    }
    if (!found) {
      std::string_view sub = args[1].substr(0, args[1].find('\0'));
      *error = "ERR unknown subcommand '" + std::string(sub.substr(0, 128)) + "'. Try " +
               ToUpper(args[0].substr(0, args[0].find('\0'))) + " HELP.";
      return false;
    }
    *fullname += "|";
    *fullname += found->name;
    if (!ArityOk(found->arity, args.size())) {
      *error = err::WrongArity(*fullname);
      return false;
    }
    return true;
  }
  if (!ArityOk(spec->arity, args.size())) {
    *error = err::WrongArity(spec->name);
    return false;
  }
  return true;
}

}  // namespace

// Commands Redis runs while a script is busy (CMD_ALLOW_BUSY): connection and transaction
// bookkeeping, and the ways to end the script. SHUTDOWN only with NOSAVE.
bool AllowedWhileBusy(const CommandSpec& spec, ArgList args) {
  std::string_view n = spec.name;
  if (n == "auth" || n == "hello" || n == "multi" || n == "discard" || n == "watch" ||
      n == "unwatch" || n == "quit" || n == "reset")
    return true;
  if (n == "shutdown") {
    for (size_t i = 1; i < args.size(); i++) {
      if (EqualsIgnoreCase(args[i], "NOSAVE")) return true;
    }
    return false;
  }
  if (args.size() < 2) return false;
  if (n == "script") return EqualsIgnoreCase(args[1], "KILL");
  if (n == "function")
    return EqualsIgnoreCase(args[1], "KILL") || EqualsIgnoreCase(args[1], "STATS");
  return false;
}

uint64_t CommandRandom() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return rng();
}

bool ParseIntArg(CommandContext& ctx, std::string_view s, int64_t* out, const char* err) {
  if (ParseInt64(s, out)) return true;
  ctx.rb.Error(err ? err : err::kNotInt);
  return false;
}

Engine::Engine(Config config, Clock* clock)
    : config_(std::move(config)), clock_(clock), start_ms_(clock->NowMs()), run_id_(RandomHex(40)) {
  registry_ = std::make_unique<ConfigRegistry>(config_);
  for (int i = 0; i < config_.server.databases; i++) {
    dbs_.push_back(std::make_unique<Database>(i, this, &ks_stats_));
  }
}

Engine::~Engine() = default;

Session* Engine::NewSession() {
  auto* s = new Session();
  s->id = next_session_id_++;
  s->authenticated = config_.server.requirepass.empty();
  s->conn.created_ms = clock_->NowMs();
  s->conn.last_interaction_ms = s->conn.created_ms;
  sessions_[s->id] = s;
  stats_.total_connections++;
  return s;
}

void Engine::DropSession(Session* s) {
  UnwatchAll(*s);
  if (s->monitor)
    monitors_.erase(std::remove(monitors_.begin(), monitors_.end(), s), monitors_.end());
  if (s->blocked) UnblockSession(*s);
  while (!s->channels.empty()) Unsubscribe(*s, std::string(s->channels.back()), false);
  while (!s->patterns.empty()) Unsubscribe(*s, std::string(s->patterns.back()), true);
  woken_.erase(std::remove(woken_.begin(), woken_.end(), s), woken_.end());
  sessions_.erase(s->id);
  delete s;
}

Session* Engine::FindSession(uint64_t id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second;
}

void Engine::RecordError(std::string_view text) {
  stats_.total_error_replies++;
  size_t sp = text.find(' ');
  stats_.error_counts[std::string(text.substr(0, sp))]++;
}

size_t Engine::OutputLimit(const Session& s) const {
  const auto& sc = config_.server;
  int64_t hard =
      s.subscriptions() > 0 ? sc.pubsub_output_buffer_hard_limit : sc.output_buffer_hard_limit;
  if (hard <= 0 || !s.out) return SIZE_MAX;
  // The builder stops once the buffer is larger than this: the counted bytes reach the limit.
  return s.conn.out_sent + kUncountedReplyBytes + size_t(hard) - 1;
}

void Engine::Execute(Session& s, ArgList args, ReplyBuilder& rb) {
  if (args.empty()) return;
  rb.set_limit(OutputLimit(s));
  const CommandSpec* spec = table_.Find(args[0]);
  uint64_t errors_before = rb.errors_written();
  auto reject = [&](std::string_view msg) {
    if (s.in_multi) s.multi_error = true;
    if (spec) cmd_stats_[spec].rejected_calls++;
    if (spec && spec->name == std::string_view("exec")) {
      // Redis's execCommandAbort: a refused EXEC discards the transaction and says why.
      s.queued.clear();
      s.in_multi = false;
      s.multi_error = false;
      UnwatchAll(s);
      if (msg.rfind("ERR ", 0) == 0) msg.remove_prefix(4);
      rb.Error("EXECABORT Transaction discarded because of: " + std::string(msg));
      return;
    }
    rb.Error(msg);
  };
  s.conn.tot_cmds++;
  std::string refusal, fullname, shape_error;
  // Script commands take the flags their script declares (write, deny-oom).
  uint32_t flags = spec ? spec->flags : 0;
  if (spec && scripting_ && (spec->flags & cmd::kScriptFlags) && !s.replaying)
    flags = scripting_->CommandFlags(*spec, args);
  if (!CheckCommandShape(spec, args, &fullname, &shape_error)) {
    reject(shape_error);
  } else if (!s.authenticated && !(spec->flags & cmd::kNoAuth)) {
    reject(err::kNoAuth);
  } else if (s.in_multi && (spec->flags & cmd::kDenyInMulti)) {
    reject(err::kNotInMulti);
  } else if (!s.resp3 && s.subscriptions() > 0 && !AllowedWhileSubscribed(spec->name)) {
    reject("ERR Can't execute '" + fullname +
           "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this "
           "context");
  } else if (loading_ && !s.replaying && !(spec->flags & cmd::kLoading)) {
    reject(err::kLoading);
  } else if (!busy_error_.empty() && !AllowedWhileBusy(*spec, args)) {
    reject(busy_error_);
  } else if (s.in_multi && !(spec->flags & cmd::kNoMulti)) {
    s.queued.emplace_back(args.begin(), args.end());
    rb.SimpleString("QUEUED");
  } else if (config_.server.maxmemory > 0 && (flags & cmd::kDenyOom) && !s.replaying &&
             !PerformEviction()) {
    reject(err::kOom);
  } else if ((flags & cmd::kWrite) && persistence_ && !s.replaying &&
             !(refusal = persistence_->WriteRefusal()).empty()) {
    reject(refusal);
  } else if (tier_ && tier_->has_tiered() && !s.replaying && !s.tier_resume && !s.reexec &&
             PrepareTiered(s, *spec, args, rb)) {
    // parked until its values are read in, or answered with an error
  } else {
    if (tier_ && tier_->OverHot()) tier_->MaybeDemote(clock_->NowMs(), 1000);
    s.last_cmd = spec->name;
    Call(s, *spec, args, rb);
  }
  if (rb.errors_written() != errors_before && rb.last_error_counted()) RecordError(rb.last_error());
  if (rb.aborted()) s.close_asap = true;
  // Blocked clients are served after a whole command, never inside a running script
  // (a command another client runs while the script is busy must not let them in).
  if (!ready_keys_.empty() && !script_running_) ServeReadyKeys();
}

void Engine::CallFromScript(Session& s, const CommandSpec& spec, ArgList args, ReplyBuilder& rb,
                            int64_t now_ms) {
  uint64_t errors_before = rb.errors_written();
  s.last_cmd = spec.name;
  int64_t saved = frozen_now_ms_;
  frozen_now_ms_ = now_ms;
  Call(s, spec, args, rb);
  frozen_now_ms_ = saved;
  if (rb.errors_written() != errors_before) RecordError(rb.last_error());
}

bool Engine::BeginEffectsUnit() {
  if (collecting_multi_) return false;
  collecting_multi_ = true;
  multi_effects_.clear();
  return true;
}

void Engine::EndEffectsUnit(bool began, bool propagate) {
  if (!began) return;
  collecting_multi_ = false;
  if (propagate && !multi_effects_.empty() && sink_) {
    // One effect is atomic by itself; several are wrapped (Redis's propagatePendingCommands).
    bool wrap = multi_effects_.size() > 1;
    if (wrap) sink_->Propagate(multi_effects_.front().first, {"MULTI"});
    for (auto& [db, eff] : multi_effects_) sink_->Propagate(db, eff);
    if (wrap) sink_->Propagate(multi_effects_.back().first, {"EXEC"});
  }
  multi_effects_.clear();
}

void Engine::set_tier(tier::TierManager* t) {
  tier_ = t;
  if (t) t->set_latency_hook([this](const char* event, int64_t ms) { RecordLatency(event, ms); });
}

bool Engine::PrepareTiered(Session& s, const CommandSpec& spec, ArgList args, ReplyBuilder& rb) {
  std::vector<tier::TierManager::FetchKey> fetch;
  bool is_exec = spec.name == std::string_view("exec");
  auto scan = [&](const CommandSpec& sp, ArgList a) -> bool {
    for (int pos : CommandTable::KeyPositions(sp, a)) {
      std::string_view key = a[size_t(pos)];
      Entry* e = dbs_[size_t(s.db)]->table().Find(key, Table::Hash(key));
      if (!e || !e->value.tiered()) continue;
      if (tier_->NeedsFetch(e->value)) {
        fetch.push_back({s.db, std::string(key)});
      } else if (!is_exec) {
        if (Status st = tier_->CheckWarm(e->value, key); !st.ok()) {
          rb.Error("ERR " + st.message());
          return false;
        }
      }
    }
    return true;
  };
  if (is_exec) {
    for (auto& line : s.queued) {
      std::vector<std::string_view> a(line.begin(), line.end());
      if (const CommandSpec* q = table_.Find(a[0])) scan(*q, a);
    }
  } else if (!scan(spec, args)) {
    return true;
  }
  if (fetch.empty()) return false;
  s.blocked = true;
  s.tier_wait = true;
  auto argv = std::make_shared<std::vector<std::string>>(args.begin(), args.end());
  uint64_t id = s.id;
  tier_->Fetch(std::move(fetch),
               [this, id, argv](Status st, std::shared_ptr<tier::TierManager::Fetched> got) {
                 Session* ss = FindSession(id);
                 if (!ss || !ss->tier_wait) return;
                 ss->blocked = false;
                 ss->tier_wait = false;
                 ReplyBuilder out(OutputOf(*ss));
                 out.set_resp3(ss->resp3);
                 bool exec = (*argv)[0].size() == 4 && strcasecmp((*argv)[0].c_str(), "exec") == 0;
                 if (!st.ok()) {
                   if (exec) {
                     ss->queued.clear();
                     ss->in_multi = false;
                     ss->multi_error = false;
                     UnwatchAll(*ss);
                   }
                   out.Error("ERR " + st.message());
                   RecordError(out.last_error());
                 } else {
                   // The values are in RAM for this command; read-only commands leave rarely used
                   // ones where they were (tier::TierManager::Lend).
                   const CommandSpec* sp = table_.Find((*argv)[0]);
                   bool writes = exec || !sp || (sp->flags & cmd::kWrite);
                   tier_->Lend(*got, clock_->NowMs());
                   std::vector<std::string_view> views(argv->begin(), argv->end());
                   ss->tier_resume = true;
                   Execute(*ss, views, out);
                   ss->tier_resume = false;
                   tier_->Return(*got, writes);
                 }
                 Wake(ss);
               });
  return true;
}

void Engine::AddMonitor(Session& s) {
  if (s.monitor) return;
  s.monitor = true;
  monitors_.push_back(&s);
}

// One MONITOR line, as Redis: +<unix time with µs> [<db> <addr>] "arg" "arg"…, each argument
// quoted with C-style escapes.
void Engine::FeedMonitors(const Session& s, const CommandSpec& spec, ArgList args) {
  if ((spec.flags & cmd::kAdmin) || s.replaying) return;  // as Redis: admin commands are not shown
  int64_t us = clock_->NowUs();
  std::string line = fmt::format("+{}.{:06d} [{} {}]", us / 1000000, us % 1000000, s.db,
                                 s.conn.addr.empty() ? "127.0.0.1:0" : s.conn.addr);
  for (std::string_view a : args) {
    line += " \"";
    for (unsigned char ch : a) {
      switch (ch) {
        case '\\':
          line += "\\\\";
          break;
        case '"':
          line += "\\\"";
          break;
        case '\n':
          line += "\\n";
          break;
        case '\r':
          line += "\\r";
          break;
        case '\t':
          line += "\\t";
          break;
        case '\a':
          line += "\\a";
          break;
        case '\b':
          line += "\\b";
          break;
        default:
          if (ch >= 32 && ch < 127)
            line += char(ch);
          else
            line += fmt::format("\\x{:02x}", ch);
      }
    }
    line += '"';
  }
  line += "\r\n";
  for (Session* m : monitors_) {
    if (m == &s) continue;
    OutputOf(*m)->append(line);
    Wake(m);
  }
}

void Engine::Call(Session& s, const CommandSpec& spec, ArgList args, ReplyBuilder& rb) {
  if (!monitors_.empty()) FeedMonitors(s, spec, args);
  CommandContext ctx{*this, s, rb, args, frozen_now_ms_ ? frozen_now_ms_ : clock_->NowMs()};
  uint64_t errors_before = rb.errors_written();
  int64_t t0 = clock_->MonotonicUs();
  spec.handler(ctx);
  int64_t t1 = clock_->MonotonicUs();
  CommandStats& st = cmd_stats_[&spec];
  // A blocked command re-run when its key changed is the same call, counted once (when it
  // was issued), as Redis counts it.
  if (!s.reexec) st.calls++;
  st.usec += uint64_t(t1 - t0);
  st.latency.Record(uint64_t(t1 - t0));  // #8: INFO latencystats
  if (rb.errors_written() != errors_before) st.failed_calls++;
  // ---- #8: SLOWLOG + LATENCY. A blocking command that parked is logged when it is served;
  // commands replayed from the AOF at start-up are not logged (Redis's loader skips call()).
  if (!s.replaying && !(s.reexec ? s.still_blocked : s.blocked)) {
    int64_t us = t1 - t0;
    int64_t slower_than = config_.server.slowlog_log_slower_than;
    if (slower_than >= 0 && us >= slower_than) SlowlogPush(s, spec, args, us);
    int64_t threshold = config_.server.latency_monitor_threshold;
    if (threshold > 0 && us / 1000 >= threshold) {
      RecordLatency((spec.flags & cmd::kFast) ? "fast-command" : "command", us / 1000);
    }
  }
  // ---- end #8
  if (!s.reexec) stats_.total_commands++;
  dirty_ += ctx.dirty;
  if ((ctx.dirty > 0 || ctx.custom_propagation) && (sink_ || collecting_multi_) &&
      propagation_enabled_) {
    if (ctx.custom_propagation) {
      for (auto& argv : ctx.propagated) Propagate(s.db, argv);
    } else if (spec.flags & cmd::kWrite) {
      if (collecting_multi_)
        Propagate(s.db, std::vector<std::string>(args.begin(), args.end()));
      else
        sink_->PropagateArgs(s.db, args);
    }
  }
}

void Engine::Propagate(int db, const std::vector<std::string>& argv) {
  if (collecting_multi_) {
    multi_effects_.emplace_back(db, argv);
    return;
  }
  if (sink_) sink_->Propagate(db, argv);
}

void Engine::ExecMulti(Session& s, ReplyBuilder& rb) {
  auto queued = std::move(s.queued);
  s.queued.clear();
  s.in_multi = false;
  bool aborted = s.multi_error;
  s.multi_error = false;
  if (aborted) {
    UnwatchAll(s);
    rb.Error(err::kExecAbort);
    return;
  }
  if (s.watch_dirty) {
    UnwatchAll(s);
    rb.NullArray();
    return;
  }
  UnwatchAll(s);
  rb.ArrayHeader(queued.size());
  s.in_exec = true;
  collecting_multi_ = true;
  multi_effects_.clear();
  std::vector<std::string_view> argv;
  for (auto& cmdline : queued) {
    argv.assign(cmdline.begin(), cmdline.end());
    const CommandSpec* spec = table_.Find(argv[0]);
    uint64_t errors_before = rb.errors_written();
    if (config_.server.maxmemory > 0 && (spec->flags & cmd::kDenyOom) && !PerformEviction()) {
      rb.Error(err::kOom);
    } else {
      s.last_cmd = spec->name;
      Call(s, *spec, argv, rb);
    }
    if (rb.errors_written() != errors_before && rb.last_error_counted())
      RecordError(rb.last_error());
  }
  collecting_multi_ = false;
  s.in_exec = false;
  if (!multi_effects_.empty() && sink_) {
    sink_->Propagate(multi_effects_.front().first, {"MULTI"});
    for (auto& [db, eff] : multi_effects_) sink_->Propagate(db, eff);
    sink_->Propagate(multi_effects_.back().first, {"EXEC"});
  }
  multi_effects_.clear();
}

// ---------------------------------------------------------------- WATCH
void Engine::Watch(Session& s, int db, std::string_view key) {
  for (auto& [d, k] : s.watched) {
    if (d == db && k == key) return;
  }
  s.watched.emplace_back(db, std::string(key));
  watched_keys_[WatchKey(db, key)].push_back(&s);
  watched_count_++;
}

void Engine::UnwatchAll(Session& s) {
  for (auto& [d, k] : s.watched) {
    auto it = watched_keys_.find(WatchKey(d, k));
    if (it == watched_keys_.end()) continue;
    auto& v = it->second;
    std::erase(v, &s);
    watched_count_--;
    if (v.empty()) watched_keys_.erase(it);
  }
  s.watched.clear();
  s.watch_dirty = false;
}

void Engine::OnKeyModified(int db, std::string_view key) {
  if (!blocked_by_key_.empty()) SignalKeyReady(db, key);
  if (watched_count_ == 0) return;
  auto it = watched_keys_.find(WatchKey(db, key));
  if (it == watched_keys_.end()) return;
  for (Session* s : it->second) s->watch_dirty = true;
}

void Engine::TouchAllWatched(int db, int replaced_with) {
  // The whole database changes (FLUSHDB, FLUSHALL, SWAPDB): the sessions blocked on its keys
  // look again once the command is done, as Redis's scanDatabaseForReadyKeys /
  // scanDatabaseForDeletedStreams make them (an XREADGROUP whose stream is gone ends with
  // -UNBLOCKED). SignalKeyReady only queues, so calling this before the change is right.
  if (!blocked_by_key_.empty()) {
    std::vector<std::string> keys;
    for (auto& [k, sessions] : blocked_by_key_)
      if (k.first == db) keys.push_back(k.second);
    for (auto& k : keys) SignalKeyReady(db, k);
  }
  if (watched_count_ == 0) return;
  // As Redis's touchAllWatchedKeysInDb: only watched keys the database holds (expired or not),
  // or the one replacing it holds, are touched; FLUSHDB of a database without the watched key
  // leaves the transaction alone.
  Table& table = dbs_[size_t(db)]->table();
  Table* other = replaced_with >= 0 ? &dbs_[size_t(replaced_with)]->table() : nullptr;
  for (auto& [id, s] : sessions_) {
    for (auto& [d, k] : s->watched) {
      if (d != db) continue;
      uint64_t h = Table::Hash(k);
      if (table.Find(k, h) || (other && other->Find(k, h))) s->watch_dirty = true;
    }
  }
}

void Engine::OnKeyExpired(int db, std::string_view key) {
  Propagate(db, {"DEL", std::string(key)});
}

// ---------------------------------------------------------------- eviction & cron
bool Engine::PerformEviction() {
  const auto& sc = config_.server;
  if (sc.maxmemory <= 0) return true;
  if (UsedMemory() <= size_t(sc.maxmemory)) return true;
  const std::string& policy = sc.maxmemory_policy;
  if (policy == "noeviction") return false;
  bool volatile_only = policy.rfind("volatile-", 0) == 0;
  bool lru = policy.ends_with("-lru"), lfu = policy.ends_with("-lfu"),
       ttl = policy == "volatile-ttl";
  thread_local std::mt19937_64 rng(0xfe771e);
  int64_t now = clock_->NowMs();
  for (int round = 0; round < 100000 && UsedMemory() > size_t(sc.maxmemory); round++) {
    // Candidates from every database, best by the policy's score (lower = evict first).
    Database* best_db = nullptr;
    std::string best_key;
    double best_score = 0;
    for (auto& d : dbs_) {
      if (d->size() == 0 || (volatile_only && d->expires() == 0)) continue;
      for (int i = 0; i < sc.maxmemory_samples * (volatile_only ? 4 : 1); i++) {
        Entry* e = d->RandomEntry(rng());
        if (!e || (volatile_only && !e->has_expire())) continue;
        double score = 0;
        if (lru)
          score = double(e->lru);
        else if (lfu)
          score = double(Database::LfuDecayed(*e, now));
        else if (ttl)
          score = double(e->expire_ms);
        else
          score = double(rng() & 0xFFFF);
        if (!best_db || score < best_score) {
          best_db = d.get();
          best_key.assign(e->key());
          best_score = score;
        }
      }
    }
    if (!best_db) return false;
    best_db->Delete(best_key);
    ks_stats_.evicted_keys++;
    OnKeyModified(best_db->index(), best_key);
    Propagate(best_db->index(), {"DEL", best_key});
  }
  return UsedMemory() <= size_t(sc.maxmemory);
}

void Engine::Cron() {
  int64_t now = clock_->NowMs();
  int effort = int(std::clamp<int64_t>(config_.server.active_expire_effort, 1, 10));
  int64_t t0 = clock_->MonotonicUs();
  int64_t deadline = t0 + 1000 * (1 + effort);  // ~2-11 ms per cycle at hz 10
  for (auto& d : dbs_) {
    if (d->expires() == 0 || !active_expire_enabled || loading_) continue;  // not mid-load
    d->ActiveExpire(now, size_t(256 * effort), deadline, clock_);
    if (clock_->MonotonicUs() > deadline) break;
  }
  ks_stats_.expire_cycle_cpu_us += uint64_t(clock_->MonotonicUs() - t0);
  if (config_.server.maxmemory > 0 && !loading_) PerformEviction();
  if (tier_) {
    // While loading, references are still being adopted: segments look unused, so only
    // demotion runs (a big AOF replay must not fill RAM past the hot budget).
    if (loading_)
      tier_->MaybeDemote(now, 2000);
    else
      tier_->Cron(now);
  }
  MigrateCachedSocketsCron(now);
  memory::UpdatePeak();
  // instantaneous_ops_per_sec: average rate over the last 16 samples (one per cron tick).
  int64_t mono = clock_->MonotonicUs();
  int i = stats_.ops_sample_idx;
  stats_.ops_sample_time[i] = mono;
  stats_.ops_sample_cmds[i] = stats_.total_commands;
  int oldest = (i + 1) % 16;
  stats_.ops_sample_idx = oldest;
  if (stats_.ops_sample_time[oldest] > 0 && mono > stats_.ops_sample_time[oldest]) {
    stats_.instantaneous_ops = (stats_.total_commands - stats_.ops_sample_cmds[oldest]) * 1000000 /
                               uint64_t(mono - stats_.ops_sample_time[oldest]);
  }
}

size_t Engine::UsedMemory() { return memory::Used(); }

tier::TierOptions TierOptionsFromConfig(const Config& c) {
  tier::TierOptions o;
  const auto& st = c.storage;
  o.enabled = st.enabled;
  o.dir = c.server.dir + "/tier";
  o.cold_dir = st.cold_tier_path.empty() ? c.server.dir + "/tier/cold" : st.cold_tier_path;
  o.hot_size = uint64_t(st.hot_tier_size);
  o.warm_size = uint64_t(st.warm_tier_size);
  o.segment_size = uint64_t(st.segment_size);
  o.cold_codec = tier::CodecFromName(st.cold_tier_compression);
  o.min_value_size = size_t(st.min_value_size);
  o.compact_live_ratio = double(st.compaction_threshold) / 100.0;
  o.compact_rate = uint64_t(st.compaction_rate);
  o.promote_lfu = int(st.promote_lfu);
  o.threads = int(st.io_threads);
  const auto& a = st.archive;
  o.archive_enabled = st.enabled && a.enabled;
  o.archive_after_ms = a.archive_after;
  o.archive_prefix = a.prefix;
  o.s3.endpoint = a.endpoint;
  o.s3.region = a.region;
  o.s3.bucket = a.bucket;
  o.s3.access_key_id = a.access_key_id;
  o.s3.secret_access_key = a.secret_access_key;
  o.s3.path_style = a.path_style;
  return o;
}
size_t Engine::PeakMemory() { return memory::Peak(); }

}  // namespace ferrite
