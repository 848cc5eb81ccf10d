#include "scripting/script_engine.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <strings.h>

#include <cstdio>
#include <lua.hpp>

#include "base/strutil.h"
#include "commands/errors.h"
#include "commands/family_util.h"
#include "scripting/script_commands.h"

namespace ferrite::scripting {
namespace {

constexpr const char* kNoScript = "NOSCRIPT No matching script. Please use EVAL.";
constexpr const char* kBusyEval =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
constexpr const char* kBusyFunction =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";

}  // namespace

// Redis's sdssplitargs for a shebang line: words separated by spaces, with "..." and '...'
// quoting (escapes in double quotes). false on unbalanced quotes.
bool SplitArgs(std::string_view line, std::vector<std::string>* out) {
  size_t i = 0;
  while (true) {
    while (i < line.size() && isspace(static_cast<unsigned char>(line[i]))) i++;
    if (i >= line.size()) return true;
    std::string cur;
    bool inq = false, insq = false, done = false;
    while (!done) {
      if (inq) {
        if (i >= line.size()) return false;
        char c = line[i];
        if (c == '\\' && i + 3 < line.size() && line[i + 1] == 'x' &&
            isxdigit(static_cast<unsigned char>(line[i + 2])) &&
            isxdigit(static_cast<unsigned char>(line[i + 3]))) {
          cur.push_back(char(std::stoi(std::string(line.substr(i + 2, 2)), nullptr, 16)));
          i += 3;
        } else if (c == '\\' && i + 1 < line.size()) {
          i++;
          char e = line[i];
          cur.push_back(e == 'n'   ? '\n'
                        : e == 'r' ? '\r'
                        : e == 't' ? '\t'
                        : e == 'b' ? '\b'
                        : e == 'a' ? '\a'
                                   : e);
        } else if (c == '"') {
          if (i + 1 < line.size() && !isspace(static_cast<unsigned char>(line[i + 1])))
            return false;
          done = true;
        } else {
          cur.push_back(c);
        }
      } else if (insq) {
        if (i >= line.size()) return false;
        char c = line[i];
        if (c == '\\' && i + 1 < line.size() && line[i + 1] == '\'') {
          i++;
          cur.push_back('\'');
        } else if (c == '\'') {
          if (i + 1 < line.size() && !isspace(static_cast<unsigned char>(line[i + 1])))
            return false;
          done = true;
        } else {
          cur.push_back(c);
        }
      } else {
        if (i >= line.size()) {
          done = true;
          break;
        }
        char c = line[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\0') {
          done = true;
        } else if (c == '"') {
          inq = true;
        } else if (c == '\'') {
          insq = true;
        } else {
          cur.push_back(c);
        }
      }
      if (i < line.size()) i++;
    }
    out->push_back(std::move(cur));
  }
}

// Commands Redis 7.0 flags noscript that the other families' table entries do not (yet):
// the blocking commands whose blocking form a script could never use, and connection /
// replication commands.
bool DeniedInScripts(std::string_view name) {
  static constexpr const char* kDenied[] = {
      "blpop", "brpop", "blmove",    "brpoplpush", "bzpopmin", "bzpopmax",   "quit",
      "reset", "role",  "replicaof", "slaveof",    "sync",     "psync",      "failover",
      "wait",  "acl",   "cluster",   "module",     "replconf", "ssubscribe", "sunsubscribe"};
  for (const char* d : kDenied) {
    if (name == d) return true;
  }
  return false;
}

namespace {

// A SHA1 argument in lower case, in buf (no allocation: EVALSHA's hot path).
std::string_view Lower40(std::string_view s, char (&buf)[40]) {
  size_t n = std::min<size_t>(s.size(), 40);
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    buf[i] = c >= 'A' && c <= 'Z' ? char(c + ('a' - 'A')) : c;
  }
  return std::string_view(buf, n);
}

}  // namespace

ScriptingEngine::ScriptingEngine(Engine* engine) : engine_(engine) {
  eval_vm_ = std::make_unique<LuaVm>(LuaVm::Kind::kEval, this);
  fn_vm_ = std::make_unique<LuaVm>(LuaVm::Kind::kFunctions, this);
  script_session_.authenticated = true;
  script_session_.in_exec = true;  // never blocks (Redis's CLIENT_DENY_BLOCKING)
  script_session_.conn.addr = "lua";
  script_session_.script = true;
  script_session_.name = "";
}

ScriptingEngine::~ScriptingEngine() {
  if (engine_->scripting() == this) engine_->set_scripting(nullptr);
}

std::unique_ptr<ScriptingEngine> ScriptingEngine::Install(Engine& engine) {
  auto se = std::make_unique<ScriptingEngine>(&engine);
  engine.set_scripting(se.get());
  RegisterScriptingCommands(engine);
  return se;
}

int64_t ScriptingEngine::busy_threshold_ms() const {
  return engine_->config().server.busy_reply_threshold;
}

ScriptingHooks::Memory ScriptingEngine::MemoryInfo() const {
  Memory m;
  m.vm_eval = eval_vm_->MemoryBytes();
  m.scripts_eval = scripts_bytes_ + scripts_.size() * (sizeof(Script) + 64);
  m.cached_scripts = scripts_.size();
  m.functions = libs_.functions.size();
  m.libraries = libs_.libs.size();
  m.vm_functions = fn_vm_->MemoryBytes();
  for (const auto& [name, lib] : libs_.libs)
    m.functions_bytes += lib->code.size() + lib->functions.size() * sizeof(Function);
  return m;
}

size_t ScriptingEngine::eval_memory() const { return eval_vm_->MemoryBytes(); }
size_t ScriptingEngine::functions_memory() const { return fn_vm_->MemoryBytes(); }

// ---------------------------------------------------------------- flags

bool ScriptingEngine::ParseShebang(std::string_view body, uint32_t* out_flags, size_t* shebang_len,
                                   std::string* err) {
  *shebang_len = 0;
  uint32_t flags = kFlagEvalCompat;
  if (body.substr(0, 2) == "#!") {
    size_t nl = body.find('\n');
    if (nl == std::string_view::npos) {
      if (err) *err = "Invalid script shebang";
      return false;
    }
    *shebang_len = nl;
    std::vector<std::string> parts;
    if (!SplitArgs(body.substr(0, nl), &parts) || parts.empty()) {
      if (err) *err = "Invalid engine in script shebang";
      return false;
    }
    if (parts[0] != "#!lua") {
      if (err) *err = "Unexpected engine in script shebang: " + parts[0];
      return false;
    }
    flags &= ~uint32_t(kFlagEvalCompat);
    for (size_t j = 1; j < parts.size(); j++) {
      if (parts[j].rfind("flags=", 0) != 0) {
        if (err) *err = "Unknown lua shebang option: " + parts[j];
        return false;
      }
      std::string_view list = std::string_view(parts[j]).substr(6);
      // Redis splits on ','; an empty list (flags=) has one empty flag... and accepts it.
      size_t start = 0;
      while (true) {
        size_t comma = list.find(',', start);
        std::string_view f =
            list.substr(start, comma == std::string_view::npos ? list.npos : comma - start);
        if (!(f.empty() && list.empty())) {
          bool found = false;
          for (const auto& fn : kFlagNames) {
            if (f == fn.name) {
              flags |= fn.flag;
              found = true;
              break;
            }
          }
          if (!found) {
            if (err) *err = "Unexpected flag in script shebang: " + std::string(f);
            return false;
          }
        }
        if (comma == std::string_view::npos) break;
        start = comma + 1;
      }
    }
  }
  *out_flags = flags;
  return true;
}

// scriptFlagsToCmdFlags: declared flags replace the command's write/deny-oom/stale.
static uint32_t ScriptFlagsToCmdFlags(uint32_t cmd_flags, uint32_t script_flags) {
  cmd_flags &= ~uint32_t(cmd::kStale | cmd::kDenyOom | cmd::kWrite);
  if (!(script_flags & (kFlagAllowOom | kFlagNoWrites))) cmd_flags |= cmd::kDenyOom;
  if (!(script_flags & kFlagNoWrites)) cmd_flags |= cmd::kWrite;
  if (script_flags & kFlagAllowStale) cmd_flags |= cmd::kStale;
  cmd_flags &= ~uint32_t(cmd::kMayReplicate);
  return cmd_flags;
}

uint32_t ScriptingEngine::CommandFlags(const CommandSpec& spec, ArgList args) {
  std::string_view name = spec.name;
  if (name == "function") {
    if (args.size() < 2) return spec.flags;
    if (EqualsIgnoreCase(args[1], "LOAD") || EqualsIgnoreCase(args[1], "RESTORE"))
      return spec.flags | cmd::kWrite | cmd::kDenyOom;
    if (EqualsIgnoreCase(args[1], "DELETE") || EqualsIgnoreCase(args[1], "FLUSH"))
      return spec.flags | cmd::kWrite;
    return spec.flags;
  }
  if (args.size() < 2) return spec.flags;
  if (name == "fcall" || name == "fcall_ro") {
    std::string key(args[1]);
    for (char& c : key) c = char(tolower(static_cast<unsigned char>(c)));
    auto it = libs_.functions.find(key);
    if (it == libs_.functions.end()) return spec.flags;
    return ScriptFlagsToCmdFlags(spec.flags, it->second->flags);
  }
  bool evalsha = name == "evalsha" || name == "evalsha_ro";
  uint32_t flags;
  if (evalsha) {
    if (args[1].size() != 40) return spec.flags;
    char buf[40];
    const Script* s = FindScript(Lower40(args[1], buf));
    if (!s) return spec.flags;
    flags = s->flags;
  } else {
    const Script* s = FindScript(Sha1Hex(args[1]));
    if (s) {
      flags = s->flags;
    } else {
      size_t len;
      if (!ParseShebang(args[1], &flags, &len, nullptr)) return spec.flags;
    }
  }
  if (flags & kFlagEvalCompat) return spec.flags;
  return ScriptFlagsToCmdFlags(spec.flags, flags);
}

// ---------------------------------------------------------------- running

bool ScriptingEngine::PrepareRun(RunCtx& rc, CommandContext& ctx, uint32_t script_flags, bool ro) {
  Engine& e = *engine_;
  const auto& sc = e.config().server;
  bool compat = script_flags & kFlagEvalCompat;
  // Evictions happen before every command in Redis; here before a script, which must know
  // whether memory is over the limit when it starts.
  rc.pre_oom = sc.maxmemory > 0 && !e.PerformEviction();
  if (!compat) {
    if (!(script_flags & kFlagNoWrites)) {
      std::string refusal = e.persistence() ? e.persistence()->WriteRefusal() : std::string();
      if (!refusal.empty() && !ctx.session.replaying) {
        if (refusal.rfind(err::kMisconfAof, 0) == 0) {
          ctx.rb.Error(
              "MISCONF Redis is configured to persist data to AOF, but it's currently unable "
              "to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read "
              "only scripts. AOF error: " +
              refusal.substr(strlen(err::kMisconfAof)));
        } else {
          ctx.rb.Error(
              "MISCONF Ferrite is configured to save checkpoints, but it's currently unable to "
              "persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only "
              "scripts.");
        }
        return false;
      }
      std::string_view repl_refusal = e.replication() && !ctx.session.replaying
                                          ? e.replication()->WriteRefusal(ctx.session)
                                          : std::string_view();
      if (repl_refusal.starts_with("READONLY")) {  // a read-only replica
        ctx.rb.Error("READONLY Can not run script with write flag on readonly replica");
        return false;
      }
      if (ro) {
        ctx.rb.Error("ERR Can not execute a script with write flag using *_ro command.");
        return false;
      }
      if (!repl_refusal.empty()) {  // -NOREPLICAS: too few good replicas
        ctx.rb.Error(std::string(repl_refusal));
        return false;
      }
    }
    if (rc.pre_oom && !(script_flags & (kFlagAllowOom | kFlagNoWrites)) && !ctx.session.replaying) {
      ctx.rb.Error(
          "OOM allow-oom flag is not set on the script, can not run it when used memory > "
          "'maxmemory'");
      return false;
    }
  }
  rc.caller = &ctx.session;
  rc.out = &ctx.rb;
  rc.caller_args = ctx.args;
  rc.read_only = ro || (!compat && (script_flags & kFlagNoWrites));
  rc.allow_oom = !compat && (script_flags & kFlagAllowOom);
  return true;
}

bool ScriptingEngine::BeginRun(RunCtx& rc) {
  Clock* clock = engine_->clock();
  script_session_.db = rc.caller->db;
  script_session_.replaying = rc.caller->replaying;
  rc.start_us = clock->MonotonicUs();
  rc.snapshot_ms = clock->NowMs();
  bool began = engine_->BeginEffectsUnit();
  engine_->set_script_running(true);
  current_ = &rc;
  return began;
}

void ScriptingEngine::EndRun(RunCtx& rc, bool began) {
  current_ = nullptr;
  engine_->set_script_running(false);
  if (rc.timed_out) engine_->set_busy_error("");
  // A script stopped by SHUTDOWN NOSAVE is dropped whole: Redis exits inside it.
  engine_->EndEffectsUnit(began, !rc.shutdown);
}

bool ScriptingEngine::Interrupt(RunCtx& rc) {
  if (!rc.timed_out) {
    int64_t elapsed_ms = (engine_->clock()->MonotonicUs() - rc.start_us) / 1000;
    if (elapsed_ms < busy_threshold_ms()) return false;
    spdlog::warn(
        "Slow script detected: still in execution after {} milliseconds. You can try killing "
        "the script using the {} command. Script name is: {}.",
        elapsed_ms, rc.eval_mode ? "SCRIPT KILL" : "FUNCTION KILL", std::string(rc.funcname));
    rc.timed_out = true;
    engine_->set_busy_error(rc.eval_mode ? kBusyEval : kBusyFunction);
  }
  engine_->ProcessEventsWhileBusy();
  if (engine_->shutdown_requested() && !rc.killed) {
    rc.killed = true;
    rc.shutdown = true;
  }
  return rc.killed;
}

void ScriptingEngine::Kill(ReplyBuilder& rb, bool is_eval) {
  RunCtx* rc = current_;
  if (!rc) return rb.Error("NOTBUSY No scripts in execution right now.");
  if (rc->write_dirty) {
    return rb.Error(
        "UNKILLABLE Sorry the script already executed write commands against the dataset. You "
        "can either wait the script termination or kill the server in a hard way using the "
        "SHUTDOWN NOSAVE command.");
  }
  if (is_eval && !rc->eval_mode) return rb.Error(kBusyFunction);
  if (!is_eval && rc->eval_mode) return rb.Error(kBusyEval);
  rc->killed = true;
  rb.Ok();
}

int ScriptingEngine::LuaRedisCall(lua_State* L, bool raise) {
  RunCtx* rc = current_;
  if (!rc) {
    PushErrorTable(L, "redis.call/pcall can only be called inside a script invocation");
    return lua_error(L);
  }
  int argc = lua_gettop(L);
  auto fail = [&](std::string_view err, bool count) -> int {
    PushErrorTable(L, err);
    // Counted here (a rejected call), never again when the script returns it.
    lua_pushstring(L, "ignore_error_stats_update");
    lua_pushboolean(L, 1);
    lua_settable(L, -3);
    if (count) {
      auto& st = engine_->stats();
      st.total_error_replies++;
      std::string_view text = err[0] == '-' ? err.substr(1) : err;
      size_t sp = text.find(' ');
      st.error_counts[err[0] == '-' ? std::string(text.substr(0, sp)) : std::string("ERR")]++;
    }
    return raise ? lua_error(L) : 1;
  };
  if (argc == 0) {
    PushErrorTable(L, "Please specify at least one argument for this redis lib call");
    return raise ? lua_error(L) : 1;
  }
  argv_.clear();
  if (numbufs_.size() < size_t(argc)) numbufs_.resize(size_t(argc));
  for (int j = 1; j <= argc; j++) {
    if (lua_type(L, j) == LUA_TNUMBER) {
      // Not lua_tolstring: Lua's "%.14g" loses precision.
      char buf[64];
      int n = snprintf(buf, sizeof(buf), "%.17g", double(lua_tonumber(L, j)));
      numbufs_[size_t(j - 1)].assign(buf, size_t(n));
      argv_.emplace_back(numbufs_[size_t(j - 1)]);
    } else {
      size_t len;
      const char* s = lua_tolstring(L, j, &len);
      if (!s) {
        PushErrorTable(L, "Lua redis lib command arguments must be strings or integers");
        return raise ? lua_error(L) : 1;
      }
      argv_.emplace_back(s, len);
    }
  }
  const CommandSpec* spec = engine_->commands().Find(argv_[0]);
  int n = int(argv_.size());
  // As Redis's lookupCommand: a container with arguments means its subcommand, whose flags
  // (CONFIG SET's noscript) and arity apply; an unknown subcommand is an unknown command.
  if (spec && !spec->subcommands.empty() && n >= 2) spec = spec->FindSubcommand(argv_[1]);
  if (!spec && argv_[0].size() < 32) {  // a noscript command Ferrite lacks (CLUSTER, ACL...)
    std::string lower(argv_[0]);
    for (char& c : lower) c = char(tolower(static_cast<unsigned char>(c)));
    if (DeniedInScripts(lower)) return fail("This Redis command is not allowed from script", true);
  }
  if (!spec || (spec->arity > 0 && spec->arity != n) || (n < -spec->arity)) {
    if (spec) engine_->command_stats()[spec].rejected_calls++;
    return fail(spec ? "Wrong number of args calling Redis command from script"
                     : "Unknown Redis command called from script",
                true);
  }
  auto reject = [&](std::string_view err) {
    engine_->command_stats()[spec].rejected_calls++;
    return fail(err, true);
  };
  if (((spec->flags & cmd::kNoScript) || DeniedInScripts(spec->name)) &&
      !engine_->script_disable_deny_script)
    return reject("This Redis command is not allowed from script");
  if (rc->read_only && (spec->flags & (cmd::kWrite | cmd::kMayReplicate)))
    return reject("Write commands are not allowed from read-only scripts.");
  if ((spec->flags & cmd::kWrite) && !rc->write_dirty && engine_->persistence() &&
      !rc->caller->replaying) {
    std::string refusal = engine_->persistence()->WriteRefusal();
    if (!refusal.empty()) return reject("-" + refusal);
  }
  if ((spec->flags & cmd::kWrite) && engine_->replication() && !rc->caller->replaying) {
    std::string_view ro = engine_->replication()->WriteRefusal(*rc->caller);  // a replica
    if (!ro.empty()) return reject("-" + std::string(ro));
  }
  const auto& sc = engine_->config().server;
  if (!rc->allow_oom && sc.maxmemory > 0 && !rc->write_dirty && rc->pre_oom &&
      (spec->flags & cmd::kDenyOom) && !rc->caller->replaying) {
    return reject(std::string("-") + err::kOom);
  }
  if (spec->flags & cmd::kWrite) rc->write_dirty = true;

  reply_.clear();
  ReplyBuilder rb(&reply_);
  rb.set_resp3(rc->resp == 3);
  script_session_.resp3 = rc->resp == 3;
  engine_->set_propagation_enabled(rc->repl_aof);
  engine_->CallFromScript(script_session_, *spec, argv_, rb, rc->snapshot_ms);
  engine_->set_propagation_enabled(true);
  bool is_error = !reply_.empty() && reply_[0] == '-';
  // The arguments are no longer needed (Redis pops them first): room for a deep reply.
  lua_settop(L, 0);
  PushReply(L, reply_);
  if (raise && is_error) return lua_error(L);
  return 1;
}

// ---------------------------------------------------------------- EVAL

const ScriptingEngine::Script* ScriptingEngine::FindScript(std::string_view sha) const {
  auto it = scripts_.find(sha);
  return it == scripts_.end() ? nullptr : &it->second;
}

bool ScriptingEngine::CreateScript(std::string_view body, std::string* sha, std::string* err) {
  *sha = Sha1Hex(body);
  if (scripts_.count(*sha)) return true;
  uint32_t flags;
  size_t shebang_len;
  if (!ParseShebang(body, &flags, &shebang_len, err)) return false;
  // The shebang line is skipped but its line feed kept, so line numbers stay right.
  int ref;
  if (!eval_vm_->CompileScript(body.substr(shebang_len), &ref, err)) return false;
  scripts_.emplace(*sha, Script{std::string(body), flags, ref, *sha});
  scripts_bytes_ += body.size() + 40;
  return true;
}

void ScriptingEngine::Eval(CommandContext& ctx, bool evalsha, bool ro) {
  ArgList a = ctx.args;
  if (evalsha && a[1].size() != 40) return ctx.rb.Error(kNoScript);
  int64_t numkeys;
  if (!ParseInt64(a[2], &numkeys)) return ctx.rb.Error(err::kNotInt);
  if (numkeys > int64_t(a.size()) - 3)
    return ctx.rb.Error("ERR Number of keys can't be greater than number of args");
  if (numkeys < 0) return ctx.rb.Error("ERR Number of keys can't be negative");
  const Script* script;
  if (evalsha) {
    char buf[40];
    script = FindScript(Lower40(a[1], buf));
    if (!script) return ctx.rb.Error(kNoScript);
  } else {
    std::string sha, err;
    if (!CreateScript(a[1], &sha, &err)) return ctx.rb.Error("ERR " + err);
    script = FindScript(sha);
  }
  RunCtx rc;
  rc.funcname = script->sha;  // stable while it runs: SCRIPT FLUSH cannot run meanwhile
  rc.eval_mode = true;
  if (!PrepareRun(rc, ctx, script->flags, ro)) return;
  std::vector<std::string_view> keys(a.begin() + 3, a.begin() + 3 + numkeys);
  std::vector<std::string_view> args(a.begin() + 3 + numkeys, a.end());
  bool began = BeginRun(rc);
  eval_vm_->CallScript(rc, script->ref, keys, args);
  EndRun(rc, began);
}

void ScriptingEngine::ResetEval(bool async) {
  std::unique_ptr<LuaVm> old = std::move(eval_vm_);
  eval_vm_ = std::make_unique<LuaVm>(LuaVm::Kind::kEval, this);
  scripts_.clear();
  scripts_bytes_ = 0;
  if (async) {
    // Closing an interpreter with many scripts takes a while: off the loop (Redis's
    // freeLuaScriptsAsync). The old state shares nothing with the new one.
    // Not counted in lazyfreed_objects (Redis counts the scripts; Ferrite never has).
    engine_->lazyfree().FreeObject(
        std::shared_ptr<void>(old.release(), [](void* vm) { delete static_cast<LuaVm*>(vm); }));
  }
}

namespace {

void ReplyHelp(ReplyBuilder& rb, std::string_view cmd, const std::vector<const char*>& lines) {
  rb.ArrayHeader(lines.size() + 3);
  std::string head(cmd);
  for (char& c : head) c = char(toupper(static_cast<unsigned char>(c)));
  rb.SimpleString(head + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
  for (const char* l : lines) rb.SimpleString(l);
  rb.SimpleString("HELP");
  rb.SimpleString("    Prints this help.");
}

}  // namespace

void ScriptingEngine::ScriptCommand(CommandContext& ctx) {
  ArgList a = ctx.args;
  std::string_view sub = a[1];
  struct Sub {
    const char* name;
    int arity;
  };
  static constexpr Sub kSubs[] = {{"LOAD", 3}, {"EXISTS", -3}, {"FLUSH", -2},
                                  {"KILL", 2}, {"HELP", 2},    {"DEBUG", 3}};
  const Sub* found = nullptr;
  for (const auto& s : kSubs) {
    if (EqualsIgnoreCase(sub, s.name)) found = &s;
  }
  if (!found) return ctx.rb.Error(err::UnknownSubcommand(sub, "SCRIPT"));
  int n = int(a.size());
  if ((found->arity > 0 && n != found->arity) || (found->arity < 0 && n < -found->arity)) {
    std::string lower(found->name);
    for (char& c : lower) c = char(tolower(static_cast<unsigned char>(c)));
    return ctx.rb.Error("ERR wrong number of arguments for 'script|" + lower + "' command");
  }
  if (ArgIs(sub, "HELP")) {
    return ReplyHelp(
        ctx.rb, "SCRIPT",
        {"DEBUG (YES|SYNC|NO)", "    Set the debug mode for subsequent scripts executed.",
         "EXISTS <sha1> [<sha1> ...]",
         "    Return information about the existence of the scripts in the script "
         "cache.",
         "FLUSH [ASYNC|SYNC]", "    Flush the Lua scripts cache. Very dangerous on replicas.",
         "    When called without the optional mode argument, the behavior is "
         "determined by the",
         "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
         "    * ASYNC: Asynchronously flush the scripts cache.",
         "    * SYNC: Synchronously flush the scripts cache.", "KILL",
         "    Kill the currently executing Lua script.", "LOAD <script>",
         "    Load a script into the scripts cache without executing it."});
  }
  if (ArgIs(sub, "FLUSH")) {
    bool async = false;
    if (n == 3 && ArgIs(a[2], "SYNC")) {
      async = false;
    } else if (n == 3 && ArgIs(a[2], "ASYNC")) {
      async = true;
    } else if (n != 2) {
      return ctx.rb.Error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
    }
    ResetEval(async);
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "EXISTS")) {
    ctx.rb.ArrayHeader(a.size() - 2);
    for (size_t j = 2; j < a.size(); j++) {
      // Redis's script dictionary compares SHA1s case-insensitively.
      char buf[40];
      ctx.rb.Integer(a[j].size() == 40 && FindScript(Lower40(a[j], buf)) ? 1 : 0);
    }
    return;
  }
  if (ArgIs(sub, "LOAD")) {
    std::string sha, err;
    if (!CreateScript(a[2], &sha, &err)) return ctx.rb.Error("ERR " + err);
    return ctx.rb.Bulk(sha);
  }
  if (ArgIs(sub, "KILL")) return Kill(ctx.rb, true);
  // SCRIPT DEBUG: Ferrite has no Lua debugger.
  if (ArgIs(a[2], "NO")) return ctx.rb.Ok();
  if (ArgIs(a[2], "YES") || ArgIs(a[2], "SYNC"))
    return ctx.rb.Error("ERR SCRIPT DEBUG is not supported by Ferrite (no Lua debugger)");
  return ctx.rb.Error("ERR Use SCRIPT DEBUG YES/SYNC/NO");
}

}  // namespace ferrite::scripting
