#include "commands/engine.h"

#include <fmt/format.h>
#include <strings.h>

#include <random>

#include "base/memory.h"
#include "base/strutil.h"
#include "commands/errors.h"
#include "tier/tier_manager.h"
#include "types/stream.h"

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

void CommandContext::Notify(uint32_t type, std::string_view event, std::string_view key) {
  engine.NotifyKeyspaceEvent(type, event, key, session.db);
}

void CommandContext::Notify(uint32_t type, std::string_view event, std::string_view key, int db) {
  engine.NotifyKeyspaceEvent(type, event, key, db);
}

// (UN)SUBSCRIBE's confirmations are pub/sub messages: they reach the client even under
// CLIENT REPLY OFF / SKIP, as Redis's CLIENT_PUSHING.
static bool IsSubscribeCommand(std::string_view name) {
  static const char* const kNames[] = {"subscribe",   "psubscribe",   "ssubscribe",
                                       "unsubscribe", "punsubscribe", "sunsubscribe"};
  for (const char* n : kNames) {
    if (EqualsIgnoreCase(name, n)) return true;
  }
  return false;
}

// A RESP2 client in subscribed mode may only run these.
bool AllowedWhileSubscribed(std::string_view name) {
  return name == "subscribe" || name == "unsubscribe" || name == "psubscribe" ||
         name == "punsubscribe" || name == "ssubscribe" || name == "sunsubscribe" ||
         name == "ping" || name == "quit" || name == "reset";
}

// Commands Redis runs while a script is busy (CMD_ALLOW_BUSY): connection and transaction
// bookkeeping, and the ways to end the script. SHUTDOWN only with NOSAVE.
bool AllowedWhileBusy(const CommandSpec& spec, ArgList args) {
  // A subcommand's spec ("script|kill") is judged by its container's name and the line.
  std::string_view n = spec.parent ? spec.parent->name : spec.name;
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
    : config_(std::move(config)),
      clock_(clock),
      start_ms_(clock->NowMs()),
      run_id_(RandomHex(40)),
      replid_(RandomHex(40)) {
  registry_ = std::make_unique<ConfigRegistry>(config_);
  for (int i = 0; i < config_.server.databases; i++) {
    dbs_.push_back(std::make_unique<Database>(i, this, &ks_stats_));
  }
  exec_spec_ = table_.Find("exec");
  acl_ = std::make_unique<acl::Acl>(table_);
  acl_->pubsub_default_allchannels = config_.acl.pubsub_default == AclPubsubDefault::kAllChannels;
  ApplyConfig();
}

Engine::~Engine() = default;

Session* Engine::NewSession() {
  auto* s = new Session();
  s->id = next_session_id_++;
  s->user = acl_->default_user();
  s->authenticated = s->user->nopass && s->user->enabled;
  s->conn.created_ms = clock_->NowMs();
  s->conn.last_interaction_ms = s->conn.created_ms;
  sessions_[s->id] = s;
  stats_.total_connections++;
  return s;
}

void Engine::DropSession(Session* s) {
  if (replication_) replication_->SessionClosed(*s);
  UnwatchAll(*s);
  if (s->tracking.on) tracking_.Disable(*s);
  if (current_ == s) current_ = nullptr;
  if (s->monitor)
    monitors_.erase(std::remove(monitors_.begin(), monitors_.end(), s), monitors_.end());
  if (s->paused) std::erase(paused_, s);
  if (s->blocked && !s->paused) UnblockSession(*s);
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
  // CLIENT REPLY OFF / SKIP: the command runs, its reply is dropped. Decided after the
  // command, so CLIENT REPLY ON's own +OK goes out; SKIP silences the command after it.
  rb.set_limit(OutputLimit(s));
  std::string* out = rb.buffer();
  size_t mark = out->size();
  Session* outer = current_;
  current_ = &s;
  ExecuteCommand(s, args, rb);
  s.repl_woff = repl_offset;
  current_ = outer;
  if ((s.reply_off || s.reply_skip) && rb.buffer() == out && out->size() > mark &&
      !IsSubscribeCommand(args[0])) {
    out->resize(mark);
  }
  if (!s.reexec && !s.paused) {
    s.reply_skip = s.reply_skip_next;
    s.reply_skip_next = false;
  }
  // Invalidations of keys this command changed follow its reply, even under CLIENT REPLY
  // OFF (they are pushes, not replies). CLIENT CACHING covers one command or transaction:
  // it is forgotten after anything but a CLIENT command, outside MULTI.
  if (!s.tracking.pending.empty()) tracking_.FlushPending(s);
  if (s.tracking.caching && !s.in_multi && !s.blocked && !EqualsIgnoreCase(args[0], "client"))
    s.tracking.caching = false;
}

void Engine::ExecuteCommand(Session& s, ArgList args, ReplyBuilder& rb) {
  const CommandSpec* spec = table_.Find(args[0]);
  uint64_t errors_before = rb.errors_written();
  bool is_exec_cmd = false;
  auto reject = [&](std::string_view msg) {
    if (spec) cmd_stats_[spec].rejected_calls++;
    if (is_exec_cmd) {
      // A refused EXEC ends the transaction, saying why (Redis's execCommandAbort).
      s.queued.clear();
      s.in_multi = false;
      s.multi_error = false;
      s.multi_mem = 0;
      s.queued_flags = s.queued_inv_flags = 0;
      UnwatchAll(s);
      if (msg.rfind("ERR ", 0) == 0) msg.remove_prefix(4);  // Redis passes the text alone
      rb.Error("EXECABORT Transaction discarded because of: " + std::string(msg));
      return;
    }
    rb.Error(msg);
    if (s.in_multi) s.multi_error = true;
  };
  s.conn.tot_cmds++;
  // Keep the tracking table within tracking-table-max-keys before a command runs (Redis's
  // processCommand does it after the OOM check; the order does not show).
  if (tracking_.active() && spec) tracking_.LimitUsedSlots();
  std::string refusal;
  bool unknown_sub = false;
  if (spec && !spec->subcommands.empty() && args.size() >= 2) {
    // Names compared as C strings, as Redis does.
    const CommandSpec* sub = spec->FindSubcommand(args[1].substr(0, args[1].find('\0')));
    if (sub) {
      spec = sub;
    } else {
      unknown_sub = true;
    }
  }
  bool is_exec = spec && spec == exec_spec_;
  is_exec_cmd = is_exec;
  // Script commands take the flags their script declares (write, deny-oom).
  uint32_t flags = spec ? spec->flags : 0;
  if (spec && scripting_ && (spec->flags & cmd::kScriptFlags) && !s.replaying)
    flags = scripting_->CommandFlags(*spec, args);
  if (!spec) {
    reject(err::UnknownCommand(args[0], args));
  } else if (unknown_sub) {
    std::string sub(args[1].substr(0, args[1].find('\0')));
    spec = nullptr;  // no statistics for a subcommand that does not exist, as Redis
    reject(err::UnknownSubcommand(sub, ToUpper(args[0].substr(0, args[0].find('\0')))));
  } else if ((spec->arity > 0 && int(args.size()) != spec->arity) ||
             (spec->arity < 0 && int(args.size()) < -spec->arity)) {
    reject(err::WrongArity(spec->name));
  } else if (!s.authenticated && !(spec->flags & cmd::kNoAuth)) {
    reject(err::kNoAuth);
  } else if (s.in_multi && (spec->flags & cmd::kDenyInMulti)) {
    reject(err::kNotInMulti);
  } else if (!acl::Acl::Unrestricted(s.user) && !s.replaying && !s.reexec &&
             !(refusal =
                   AclDenial(s, *spec, args,
                             s.in_multi ? acl::LogContext::kMulti : acl::LogContext::kToplevel))
                  .empty()) {
    reject(refusal);
  } else if (!s.resp3 && s.subscriptions() > 0 && !AllowedWhileSubscribed(spec->name)) {
    reject("ERR Can't execute '" + std::string(spec->name) +
           "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this "
           "context");
  } else if (replication_ && !s.replaying && replication_->RefuseStale() &&
             (!(spec->flags & cmd::kStale) || (is_exec && (s.queued_inv_flags & cmd::kStale)))) {
    reject(err::kMasterDown);
  } else if (loading_ && !s.replaying &&
             (!(spec->flags & cmd::kLoading) ||
              (is_exec && (s.queued_inv_flags & cmd::kLoading)))) {
    reject(err::kLoading);
  } else if (!busy_error_.empty() && !AllowedWhileBusy(*spec, args)) {
    reject(busy_error_);
  } else if (pause_type_ != PauseType::kNone && !s.replaying && HeldByPause(s, *spec, flags)) {
    // Held until the pause ends (UnpauseClients runs it); no reply now.
    s.paused = true;
    s.blocked = true;
    s.paused_argv.assign(args.begin(), args.end());
    paused_.push_back(&s);
    return;
  } else if (config_.server.maxmemory > 0 && !s.replaying && DeniedByOom(s, *spec, flags)) {
    reject(err::kOom);
  } else if (replication_ && (flags & cmd::kWrite) && !s.replaying &&
             !(refusal = std::string(replication_->WriteRefusal(s))).empty()) {
    reject(refusal);  // a read-only replica
  } else if (s.in_multi && !(spec->flags & cmd::kNoMulti)) {
    s.queued.emplace_back(args.begin(), args.end());
    size_t bytes = 0;
    for (auto a : args) bytes += a.size();
    s.multi_mem += bytes + sizeof(void*) * args.size();
    // The flags the command runs with (a script's declared ones), as Redis's
    // queueMultiCommand: EXEC of read-only scripts is not held by CLIENT PAUSE WRITE.
    s.queued_flags |= flags;
    s.queued_inv_flags |= ~flags;
    rb.SimpleString("QUEUED");
  } else if ((flags & cmd::kWrite) && persistence_ && !s.replaying &&
             !(refusal = persistence_->WriteRefusal()).empty()) {
    reject(refusal);
  } else if (tier_ && tier_->has_tiered() && !s.replaying && !s.tier_resume && !s.reexec &&
             PrepareTiered(s, *spec, args, rb)) {
    // parked until its values are read in, or answered with an error
  } else {
    if (tier_ && tier_->OverHot()) tier_->MaybeDemote(clock_->NowMs(), 1000);
    s.last_cmd = spec->name;
    size_t argv_mem = 0;
    for (auto a : args) argv_mem += a.size();
    s.argv_mem = argv_mem;
    Call(s, *spec, args, rb);
    s.argv_mem = 0;
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

// Redis's OOM rule: over maxmemory (after trying to evict), commands that may grow memory
// are refused, and inside MULTI every command but EXEC, DISCARD, QUIT and RESET is (a
// queue can grow without bound).
bool Engine::DeniedByOom(const Session& s, const CommandSpec& spec, uint32_t flags) {
  bool deny = (flags & cmd::kDenyOom) != 0;
  if (s.in_multi) {
    std::string_view n = spec.name;
    if (n != "exec" && n != "discard" && n != "quit" && n != "reset") deny = true;
  }
  if (std::string_view(spec.name) == "exec") deny |= (s.queued_flags & cmd::kDenyOom) != 0;
  // Redis evicts before every command, not only before those that may grow memory: a read
  // after a big write finds the keys already evicted (and their tracking clients told).
  // Never while a busy script yields to other clients: it would delete keys under it.
  bool fits = (script_running_ && !deny) || PerformEviction();
  return deny && !fits;
}

// Redis's rule: PAUSE ALL holds everything; PAUSE WRITE holds commands that write or may
// replicate (PUBLISH, PFCOUNT, EVAL …), and an EXEC whose transaction holds one.
bool Engine::HeldByPause(const Session& s, const CommandSpec& spec, uint32_t flags) const {
  if (pause_type_ == PauseType::kAll) return true;
  uint32_t f = flags;
  if (std::string_view(spec.name) == "exec") f |= s.queued_flags;
  return (f & (cmd::kWrite | cmd::kMayReplicate)) != 0;
}

void Engine::PauseClients(PauseType type, int64_t end_ms) {
  // As Redis: a new pause never shortens the current one nor weakens ALL to WRITE.
  if (pause_type_ == PauseType::kAll && type == PauseType::kWrite) type = PauseType::kAll;
  if (pause_type_ != PauseType::kNone && end_ms < pause_end_ms_) end_ms = pause_end_ms_;
  pause_type_ = type;
  pause_end_ms_ = end_ms;
}

void Engine::UnpauseClients() {
  if (pause_type_ == PauseType::kNone) return;
  pause_type_ = PauseType::kNone;
  pause_end_ms_ = 0;
  std::vector<Session*> held = std::exchange(paused_, {});
  for (size_t i = 0; i < held.size(); i++) {
    Session* s = held[i];
    s->paused = false;
    s->blocked = false;
    std::vector<std::string> argv = std::move(s->paused_argv);
    s->paused_argv.clear();
    std::vector<std::string_view> views(argv.begin(), argv.end());
    ReplyBuilder rb(OutputOf(*s));
    rb.set_resp3(s->resp3);
    Execute(*s, views, rb);
    Wake(s);
    if (pause_type_ != PauseType::kNone) {  // a held command paused again: keep the rest
      for (size_t j = i + 1; j < held.size(); j++) paused_.push_back(held[j]);
      break;
    }
  }
}

bool Engine::UnblockClient(Session& s, bool with_error) {
  if (!s.blocked || s.paused || s.tier_wait) return false;
  ReplyBuilder rb(OutputOf(s));
  rb.set_resp3(s.resp3);
  if (with_error) {
    rb.Error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
    RecordError(rb.last_error());
  } else if (s.block_null_array) {
    rb.NullArray();
  } else {
    rb.Null();
  }
  UnblockSession(s);
  Wake(&s);
  return true;
}

void Engine::SignalReadyKeysOf(int db) {
  // The sessions blocked on keys of db look again, as Redis's scanDatabaseForReadyKeys and
  // scanDatabaseForDeletedStreams make them: a key that now holds data serves its waiters,
  // an XREADGROUP whose stream is gone ends with -UNBLOCKED, the others block on.
  if (blocked_by_key_.empty()) return;
  std::vector<std::string> keys;
  for (auto& [k, sessions] : blocked_by_key_) {
    if (k.first == db && !sessions.empty()) keys.push_back(k.second);
  }
  for (auto& k : keys) SignalKeyReady(db, k);
}

void Engine::NotifyKeyspaceEvent(uint32_t type, std::string_view event, std::string_view key,
                                 int db) {
  int64_t flags = config_.server.notify_keyspace_events;
  if (!(flags & type) || !(flags & (notify::kKeyspace | notify::kKeyevent))) return;
  std::string dbs = std::to_string(db);
  if (flags & notify::kKeyspace) {
    std::string ch = "__keyspace@" + dbs + "__:";
    ch.append(key);
    Publish(ch, event);
  }
  if (flags & notify::kKeyevent) {
    std::string ch = "__keyevent@" + dbs + "__:";
    ch.append(event);
    Publish(ch, key);
  }
}

void Engine::OnKeyAdded(int db, std::string_view key) {
  if (config_.server.notify_keyspace_events & notify::kNew)
    NotifyKeyspaceEvent(notify::kNew, "new", key, db);
}

void Engine::OnKeyMiss(int db, std::string_view key) {
  if (config_.server.notify_keyspace_events & notify::kKeyMiss)
    NotifyKeyspaceEvent(notify::kKeyMiss, "keymiss", key, db);
}

void Engine::ChangeReplicationId() { replid_ = RandomHex(40); }

void Engine::ApplyConfig() {
  Database::SetLfuParams(config_.server.lfu_log_factor, config_.server.lfu_decay_time);
  acl_->pubsub_default_allchannels = config_.acl.pubsub_default == AclPubsubDefault::kAllChannels;
  SyncRequirepass();
}

// ---------------------------------------------------------------- ACL

void Engine::SyncRequirepass() {
  // Only a change of requirepass touches the default user: ACL SETUSER default >x stays
  // until requirepass itself is set again (Redis's updateRequirePass).
  if (config_.server.requirepass == acl_requirepass_) return;
  acl_requirepass_ = config_.server.requirepass;
  acl_->SetDefaultPassword(acl_requirepass_);
}

Status Engine::LoadAclAtStartup() {
  acl_->SetDefaultPassword(config_.server.requirepass);
  acl_requirepass_ = config_.server.requirepass;
  if (!config_.acl.aclfile.empty() && !config_.acl.users.empty()) {
    return Status::InvalidArgument(
        "Configuring Redis with users defined in redis.conf and at the same setting an ACL "
        "file path is invalid. This setup is very likely to lead to configuration errors and "
        "security holes, please define either an ACL file or declare users directly in your "
        "redis.conf, but not both.");
  }
  if (Status st = acl_->LoadConfigUsers(config_.acl.users); !st.ok()) return st;
  if (!config_.acl.aclfile.empty()) {
    std::vector<std::unique_ptr<acl::User>> dropped;
    if (auto e = acl_->LoadFile(config_.acl.aclfile, &dropped))
      return Status::InvalidArgument("Aborting Redis startup because of ACL errors: " + *e);
  }
  // Sessions opened before (none in the server; tests) follow the default user's password.
  for (auto& [id, s] : sessions_) {
    if (s->user == acl_->default_user())
      s->authenticated = s->authenticated || (s->user->nopass && s->user->enabled);
  }
  return Status::Ok();
}

void Engine::AclLog(Session& s, acl::Result reason, acl::LogContext ctx, std::string object,
                    const std::string* username) {
  // A script's own session logs as its caller (Redis's script_caller).
  Session& real = s.script && current_ ? *current_ : s;
  std::string user = username ? *username : (s.user ? s.user->name : "default");
  acl_->AddLog(reason, ctx, std::move(object), std::move(user), ClientLine(*this, real),
               clock_->NowMs(), size_t(config_.acl.log_max_len));
}

std::string Engine::AclDenial(Session& s, const CommandSpec& spec, ArgList args,
                              acl::LogContext ctx) {
  int pos = 0;
  acl::Result r = acl_->Check(s.user, spec, args, &pos);
  if (r == acl::kOk) return {};
  std::string object =
      r == acl::kDeniedCmd ? std::string(spec.name) : std::string(args[size_t(pos)]);
  AclLog(s, r, ctx, std::move(object));
  if (ctx == acl::LogContext::kMulti && s.in_exec) {
    const char* reason = r == acl::kDeniedCmd ? "no permission to execute the command or subcommand"
                         : r == acl::kDeniedKey ? "no permission to touch the specified keys"
                                                : "no permission to access one of the channels "
                                                  "used as arguments";
    return std::string(
               "NOPERM ACLs rules changed between the moment the transaction was accumulated "
               "and the EXEC call. This command is no longer allowed for the following reason: ") +
           reason;
  }
  switch (r) {
    case acl::kDeniedCmd:
      return "NOPERM this user has no permissions to run the '" + std::string(spec.name) +
             "' command";
    case acl::kDeniedKey:
      return "NOPERM this user has no permissions to access one of the keys used as arguments";
    default:
      return "NOPERM this user has no permissions to access one of the channels used as "
             "arguments";
  }
}

void Engine::DisconnectUser(const acl::User* u) {
  for (auto& [id, s] : sessions_) {
    if (s->user != u) continue;
    s->user = acl_->default_user();
    s->authenticated = false;
    if (s == current_) {
      s->close_after_reply = true;
    } else {
      s->kill_now = true;
      pending_kills = true;
    }
  }
}

void Engine::DisconnectPubsubOf(const acl::User* u) {
  for (auto& [id, s] : sessions_) {
    if (s->user != u || s->subscriptions() == 0) continue;
    bool kill = false;
    for (const std::string& p : s->patterns) kill |= !acl_->ChannelAllowed(u, p, true);
    for (const std::string& c : s->channels) kill |= !acl_->ChannelAllowed(u, c, false);
    if (!kill) continue;
    if (s == current_) {
      s->close_after_reply = true;
    } else {
      s->kill_now = true;
      pending_kills = true;
    }
  }
}

// Redis's lazyfreeGetFreeEffort, so lazyfreed_objects counts what Redis's does: a packed
// value is one allocation; a hash table its entries; a large list its quicklist nodes (one
// per 8 KB, Redis's default node size); a stream its radix tree nodes plus, per group, one
// allocation and the first group's PEL size.
static size_t FreeEffort(const Value& v) {
  const Object* o = v.object();
  if (v.tiered() || !o) return 1;
  switch (o->type()) {
    case ValueType::kHash:
      return hashv::Len(v);
    case ValueType::kSet:
      return setv::Card(v);
    case ValueType::kZSet:
      return zsetv::Card(v);
    case ValueType::kList:
      return o->MemoryUsage() / 8192 + 1;
    case ValueType::kStream: {
      const auto* st = static_cast<const StreamObject*>(o);
      size_t effort = st->RadixTreeNodes();
      if (st->group_count() > 0)
        effort += st->group_count() * (1 + st->groups().begin()->second->pel.size());
      return effort;
    }
    default:
      return 1;
  }
}

void Engine::FreeValue(Value v, bool lazy) {
  if (lazy && !v.tiered() && FreeEffort(v) > LazyFree::kThreshold) {
    lazyfree_.FreeValue(std::move(v));
  }
  // else: destroyed here
}

void Engine::FlushDb(int i, bool lazy) {
  Database& d = *dbs_[size_t(i)];
  if (lazy && !(tier_ && tier_->has_tiered()) && d.size() > 0) {
    lazyfree_.FreeTable(d.Detach());
  } else {
    d.Clear();
  }
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

void Engine::RemoveMonitor(Session& s) {
  if (!s.monitor) return;
  s.monitor = false;
  std::erase(monitors_, &s);
}

// One MONITOR line, as Redis: +<unix time with µs> [<db> <addr>] "arg" "arg"…, each argument
// quoted with C-style escapes.
void Engine::FeedMonitors(const Session& s, const CommandSpec& spec, ArgList args) {
  if ((spec.flags & cmd::kAdmin) || s.replaying) return;  // as Redis: admin commands are not shown
  int64_t us = clock_->NowUs();
  std::string line = fmt::format("+{}.{:06d} [{} {}]", us / 1000000, us % 1000000, s.db,
                                 s.conn.addr.empty() ? "127.0.0.1:0" : s.conn.addr);
  for (size_t j = 0; j < args.size(); j++) {
    std::string_view a = RedactedArgument(spec, args, j) ? "(redacted)" : args[j];
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
  // Scripts (skip_monitor in Redis) show before the commands they run, as Redis's EVAL and
  // FCALL feed MONITOR themselves; every other command once it ran.
  bool monitor_first = (spec.flags & cmd::kSkipMonitor) != 0;
  if (monitor_first && !monitors_.empty() && !s.reexec) FeedMonitors(s, spec, args);
  CommandContext ctx{*this, s, rb, args, frozen_now_ms_ ? frozen_now_ms_ : clock_->NowMs()};
  uint64_t errors_before = rb.errors_written();
  Session* outer_exec = exec_session_;
  const CommandSpec* outer_spec = caller_spec_;
  ArgList outer_args = caller_args_;
  exec_session_ = &s;
  if (!s.script) {
    caller_spec_ = &spec;
    caller_args_ = args;
  }
  call_depth_++;
  int64_t t0 = clock_->MonotonicUs();
  spec.handler(ctx);
  int64_t t1 = clock_->MonotonicUs();
  call_depth_--;
  // Client-side caching: a read-only command's keys are remembered for its client. A
  // script's read-only command makes its caller track the script's declared keys; the
  // read-only script commands themselves track nothing (Redis's call()).
  if ((spec.flags & cmd::kReadOnly) && tracking_.active() && !s.reexec) {
    std::string_view n = spec.name;
    if (n != "eval_ro" && n != "evalsha_ro" && n != "fcall_ro") {
      Session* caller = s.script && current_ ? current_ : &s;
      if (caller->tracking.on && !caller->tracking.bcast) {
        if (caller == &s)
          tracking_.RememberKeys(s, spec, args);
        else if (outer_spec)
          tracking_.RememberKeys(*caller, *outer_spec, outer_args);
      }
    }
  }
  exec_session_ = outer_exec;
  caller_spec_ = outer_spec;
  caller_args_ = outer_args;
  // MONITOR sees a command once it ran (as Redis's call()): inside EXEC the queued commands
  // come before the EXEC line; a blocked command served later is not shown again.
  if (!monitor_first && !monitors_.empty() && !s.reexec) FeedMonitors(s, spec, args);
  CommandStats& st = cmd_stats_[&spec];
  // A blocked command re-run when its key changed is the same call, counted once (when it
  // was issued), as Redis counts it.
  if (!s.reexec) st.calls++;
  st.usec += uint64_t(t1 - t0);
  st.latency.Record(uint64_t(t1 - t0));  // INFO latencystats
  if (rb.errors_written() != errors_before) st.failed_calls++;
  // SLOWLOG and LATENCY. A blocking command that parked is logged when it is served;
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
  s.multi_mem = 0;
  s.queued_flags = 0;
  s.queued_inv_flags = 0;
  bool aborted = s.multi_error;
  s.multi_error = false;
  if (aborted) {
    UnwatchAll(s);
    rb.Error(err::kExecAbort);
    return;
  }
  if (s.watch_dirty || WatchedKeyExpired(s)) {
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
    const CommandSpec* spec = table_.Lookup(argv);
    if (!spec) spec = table_.Find(argv[0]);
    uint64_t errors_before = rb.errors_written();
    std::string denied;
    if (!acl::Acl::Unrestricted(s.user) && !s.replaying &&
        !(denied = AclDenial(s, *spec, argv, acl::LogContext::kMulti)).empty()) {
      // The rules changed since the command was queued (Redis checks again at EXEC).
      rb.Error(denied);
    } else if (config_.server.maxmemory > 0 && (spec->flags & cmd::kDenyOom) &&
               !PerformEviction()) {
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
// Redis 7.0's rules (multi.c): a key watched while already expired-but-present counts as
// unchanged when it is deleted or replaced by another stale key; any other change, or
// the key expiring after WATCH, makes EXEC fail.
namespace {
Session::WatchedKey* FindWatched(Session& s, int db, std::string_view key) {
  for (auto& wk : s.watched) {
    if (wk.db == db && wk.key == key) return &wk;
  }
  return nullptr;
}
}  // namespace

bool Engine::KeyIsExpired(int db, std::string_view key) {
  Entry* e = dbs_[size_t(db)]->table().Find(key, Table::Hash(key));
  return e && dbs_[size_t(db)]->IsExpired(*e, clock_->NowMs());
}

bool Engine::KeyPresent(int db, std::string_view key) {
  return dbs_[size_t(db)]->table().Find(key, Table::Hash(key)) != nullptr;
}

void Engine::Watch(Session& s, int db, std::string_view key) {
  if (FindWatched(s, db, key)) return;
  s.watched.push_back({db, std::string(key), KeyIsExpired(db, key)});
  watched_keys_[WatchKey(db, key)].push_back(&s);
  watched_count_++;
}

void Engine::UnwatchAll(Session& s) {
  for (auto& wk : s.watched) {
    auto it = watched_keys_.find(WatchKey(wk.db, wk.key));
    if (it == watched_keys_.end()) continue;
    auto& v = it->second;
    std::erase(v, &s);
    watched_count_--;
    if (v.empty()) watched_keys_.erase(it);
  }
  s.watched.clear();
  s.watch_dirty = false;
}

bool Engine::WatchedKeyExpired(Session& s) {
  for (auto& wk : s.watched) {
    if (!wk.expired && KeyIsExpired(wk.db, wk.key)) return true;
  }
  return false;
}

void Engine::OnKeyModified(int db, std::string_view key) {
  if (!blocked_by_key_.empty()) SignalKeyReady(db, key);
  // Client-side caching: an expiry or an eviction was made by no client (NOLOOP's "who").
  bool by_server = std::exchange(server_change_, false);
  tracking_.InvalidateKey(key, by_server || !exec_session_ ? 0 : exec_session_->id, true);
  if (watched_count_ == 0) return;
  auto it = watched_keys_.find(WatchKey(db, key));
  if (it == watched_keys_.end()) return;
  for (Session* s : it->second) {
    Session::WatchedKey* wk = FindWatched(*s, db, key);
    if (wk && wk->expired) {
      // Stale when watched: its deletion is no logical change (the flag goes, a deleted
      // key is not stale); being set again is not counted either, as Redis.
      if (!KeyPresent(db, key)) wk->expired = false;
      continue;
    }
    s->watch_dirty = true;
  }
}

// FLUSHDB / FLUSHALL (replaced_with < 0) and SWAPDB: what each watched key of `emptied`
// becomes, as Redis's touchAllWatchedKeysInDb.
void Engine::TouchWatchedInDb(int emptied, int replaced_with) {
  if (watched_count_ == 0) return;
  for (auto& [id, s] : sessions_) {
    for (auto& wk : s->watched) {
      if (wk.db != emptied) continue;
      bool in_emptied = KeyPresent(emptied, wk.key);
      bool in_replacement = replaced_with >= 0 && KeyPresent(replaced_with, wk.key);
      if (!in_emptied && !in_replacement) continue;
      if (wk.expired) {
        if (!in_replacement) {
          wk.expired = false;  // the stale key is deleted: no change
          continue;
        }
        if (KeyIsExpired(replaced_with, wk.key)) continue;  // stale stays stale
      } else if (!in_emptied && KeyIsExpired(replaced_with, wk.key)) {
        wk.expired = true;  // nothing replaced by a stale key: no change
        continue;
      }
      s->watch_dirty = true;
    }
  }
}

void Engine::OnKeyExpired(int db, std::string_view key) {
  NotifyKeyspaceEvent(notify::kExpired, "expired", key, db);
  Propagate(db, {"DEL", std::string(key)});
  server_change_ = true;  // the OnKeyModified that follows (Database::ExpireNow)
}

// ---------------------------------------------------------------- eviction & cron
bool Engine::PerformEviction() {
  const auto& sc = config_.server;
  if (sc.maxmemory <= 0) return true;
  if (UsedMemory() <= size_t(sc.maxmemory)) return true;
  if (pause_type_ != PauseType::kNone) return true;  // CLIENT PAUSE: no evictions, as Redis
  const MaxmemoryPolicy policy = sc.maxmemory_policy;
  if (policy == MaxmemoryPolicy::kNoEviction) return false;
  bool volatile_only = IsVolatile(policy);
  bool lru = IsLru(policy), lfu = IsLfu(policy), ttl = policy == MaxmemoryPolicy::kVolatileTtl;
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
    NotifyKeyspaceEvent(notify::kEvicted, "evicted", best_key, best_db->index());
    server_change_ = true;
    OnKeyModified(best_db->index(), best_key);
    Propagate(best_db->index(), {"DEL", best_key});
  }
  return UsedMemory() <= size_t(sc.maxmemory);
}

void Engine::Cron() {
  int64_t now = clock_->NowMs();
  if (pause_type_ != PauseType::kNone && now >= pause_end_ms_) UnpauseClients();
  int effort = int(std::clamp<int64_t>(config_.server.active_expire_effort, 1, 10));
  int64_t t0 = clock_->MonotonicUs();
  int64_t deadline = t0 + 1000 * (1 + effort);  // ~2-11 ms per cycle at hz 10
  for (auto& d : dbs_) {
    if (d->expires() == 0 || !active_expire_enabled || loading_ ||
        pause_type_ != PauseType::kNone)  // not mid-load, not while clients are paused
      continue;
    d->ActiveExpire(now, size_t(256 * effort), deadline, clock_);
    if (clock_->MonotonicUs() > deadline) break;
  }
  int64_t expire_us = clock_->MonotonicUs() - t0;
  ks_stats_.expire_cycle_cpu_us += uint64_t(expire_us);
  RecordLatency("expire-cycle", expire_us / 1000);  // LATENCY, as Redis's activeExpireCycle
  if (config_.server.maxmemory > 0 && !loading_) PerformEviction();
  if (tracking_.active()) tracking_.LimitUsedSlots();
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
  stats_.ops_sample_in[i] = stats_.net_input_bytes;
  stats_.ops_sample_out[i] = stats_.net_output_bytes;
  int oldest = (i + 1) % 16;
  stats_.ops_sample_idx = oldest;
  if (stats_.ops_sample_time[oldest] > 0 && mono > stats_.ops_sample_time[oldest]) {
    uint64_t span = uint64_t(mono - stats_.ops_sample_time[oldest]);
    stats_.instantaneous_ops =
        (stats_.total_commands - stats_.ops_sample_cmds[oldest]) * 1000000 / span;
    // KB per second, as Redis's instantaneous_*_kbps.
    stats_.instantaneous_input_kbps =
        double(stats_.net_input_bytes - stats_.ops_sample_in[oldest]) * 1e6 / double(span) / 1024;
    stats_.instantaneous_output_kbps =
        double(stats_.net_output_bytes - stats_.ops_sample_out[oldest]) * 1e6 / double(span) / 1024;
  }
}

size_t Engine::UsedMemory() { return memory::Used(); }

size_t Engine::PeakMemory() { return memory::Peak(); }

}  // namespace ferrite
