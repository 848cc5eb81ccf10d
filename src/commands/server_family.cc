// Connection, server and transaction commands: PING, ECHO, QUIT, RESET, AUTH, HELLO,
// SELECT, SWAPDB, DBSIZE, FLUSHDB, FLUSHALL, TIME, INFO, MEMORY, MULTI, EXEC, DISCARD,
// WATCH, UNWATCH, SHUTDOWN, and the persistence commands (SAVE, BGSAVE, BGREWRITEAOF,
// LASTSAVE). CLIENT, CONFIG, DEBUG and COMMAND have their own files.

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cmath>

#include "base/memory.h"
#include "base/strutil.h"
#include "commands/command_table.h"
#include "commands/family_util.h"
#include "commands/info.h"

namespace ferrite {
namespace {

// ---------------------------------------------------------------- connection
void Ping(CommandContext& ctx) {
  if (ctx.args.size() > 2) return ctx.rb.Error(err::kPingArity);
  if (!ctx.session.resp3 && ctx.session.subscriptions() > 0) {  // RESP2 subscriber
    ctx.rb.ArrayHeader(2);
    ctx.rb.Bulk("pong");
    ctx.rb.Bulk(ctx.args.size() == 2 ? ctx.args[1] : "");
    return;
  }
  if (ctx.args.size() == 2) return ctx.rb.Bulk(ctx.args[1]);
  ctx.rb.SimpleString("PONG");
}

void Echo(CommandContext& ctx) { ctx.rb.Bulk(ctx.args[1]); }

void Monitor(CommandContext& ctx) {
  ctx.engine.AddMonitor(ctx.session);
  ctx.rb.Ok();
}

void Quit(CommandContext& ctx) {
  ctx.session.close_after_reply = true;
  ctx.rb.Ok();
}

// RESET: the connection as it was when it connected (Redis's clearClientConnectionState):
// no MONITOR, database 0, RESP2, no name, no transaction or watched keys, no
// subscriptions, no client tracking, replies on, no-evict off, and authenticated only if
// no password is set.
void Reset(CommandContext& ctx) {
  Session& s = ctx.session;
  ctx.engine.RemoveMonitor(s);
  if (s.tracking.on) ctx.engine.tracking().Disable(s);
  s.db = 0;
  s.resp3 = false;
  ctx.rb.set_resp3(false);
  s.name.clear();
  s.in_multi = false;
  s.multi_error = false;
  s.queued.clear();
  s.multi_mem = 0;
  s.queued_flags = s.queued_inv_flags = 0;
  ctx.engine.UnwatchAll(s);
  while (!s.channels.empty()) ctx.engine.Unsubscribe(s, std::string(s.channels.back()), false);
  while (!s.patterns.empty()) ctx.engine.Unsubscribe(s, std::string(s.patterns.back()), true);
  s.no_evict = false;
  s.reply_off = false;
  s.reply_skip_next = false;
  // Back to the default user, authenticated only if it needs no password.
  s.user = ctx.engine.acl().default_user();
  s.authenticated = s.user->nopass && s.user->enabled;
  ctx.rb.SimpleString("RESET");
}

// Authenticates the session as user with pass (Redis's ACLAuthenticateUser); a failure is
// logged in ACL LOG with the user name as its object.
bool CheckPassword(CommandContext& ctx, std::string_view user, std::string_view pass) {
  if (acl::User* u = ctx.engine.acl().CheckCredentials(user, pass)) {
    ctx.session.authenticated = true;
    ctx.session.user = u;
    return true;
  }
  std::string name(user);
  ctx.engine.AclLog(ctx.session, acl::kDeniedAuth,
                    ctx.session.in_multi ? acl::LogContext::kMulti : acl::LogContext::kToplevel,
                    std::string(ctx.args[0]), &name);
  return false;
}

void Auth(CommandContext& ctx) {
  auto& a = ctx.args;
  if (a.size() > 3) return ctx.rb.Error(err::kSyntax);
  if (a.size() == 2 && ctx.engine.acl().default_user()->nopass)
    return ctx.rb.Error(err::kAuthNoPass);
  std::string_view user = a.size() == 3 ? a[1] : "default";
  std::string_view pass = a.back();
  if (!CheckPassword(ctx, user, pass)) {
    return ctx.rb.Error(err::kWrongPass);
  }
  ctx.rb.Ok();
}

void Hello(CommandContext& ctx) {
  auto& a = ctx.args;
  Session& s = ctx.session;
  int64_t ver = s.resp3 ? 3 : 2;
  size_t i = 1;
  if (a.size() >= 2) {
    if (!ParseInt64(a[1], &ver)) {
      return ctx.rb.Error(err::kProtoVersion);
    }
    if (ver < 2 || ver > 3) return ctx.rb.Error(err::kNoProto);
    i = 2;
  }
  std::string_view setname;
  bool has_setname = false;
  for (; i < a.size(); i++) {
    if (ArgIs(a[i], "AUTH") && i + 2 < a.size()) {
      if (!CheckPassword(ctx, a[i + 1], a[i + 2])) return ctx.rb.Error(err::kWrongPass);
      i += 2;
    } else if (ArgIs(a[i], "SETNAME") && i + 1 < a.size()) {
      setname = a[++i];
      has_setname = true;
      if (!ValidClientName(setname)) {
        return ctx.rb.Error(err::kClientName);
      }
    } else {
      return ctx.rb.Error(err::HelloSyntax(a[i]));
    }
  }
  if (!s.authenticated) {
    return ctx.rb.Error(err::kHelloNoAuth);
  }
  if (has_setname) s.name.assign(setname);
  s.resp3 = ver == 3;
  ctx.rb.set_resp3(s.resp3);
  ReplyBuilder& rb = ctx.rb;
  rb.MapHeader(7);
  rb.Bulk("server");
  rb.Bulk("redis");
  rb.Bulk("version");
  rb.Bulk("7.0.15");
  rb.Bulk("proto");
  rb.Integer(ver);
  rb.Bulk("id");
  rb.Integer(int64_t(s.id));
  rb.Bulk("mode");
  rb.Bulk("standalone");
  rb.Bulk("role");
  rb.Bulk(ctx.engine.replication() && ctx.engine.replication()->IsReplica() ? "replica" : "master");
  rb.Bulk("modules");
  rb.ArrayHeader(0);
}

void Select(CommandContext& ctx) {
  int64_t idx;  // getIntFromObjectOrReply: an int, then the database range
  if (!GetRangeLongOrReply(ctx, ctx.args[1], INT32_MIN, INT32_MAX, &idx)) return;
  if (idx < 0 || idx >= ctx.engine.db_count()) return ctx.rb.Error(err::kDbIndex);
  ctx.session.db = int(idx);
  ctx.rb.Ok();
}

// ---------------------------------------------------------------- databases
void SwapDb(CommandContext& ctx) {
  int64_t a, b;
  // Redis's getIntFromObjectOrReply with its message: not a number or not an int.
  if (!GetRangeLongOrReply(ctx, ctx.args[1], INT32_MIN, INT32_MAX, &a, err::kInvalidFirstDb))
    return;
  if (!GetRangeLongOrReply(ctx, ctx.args[2], INT32_MIN, INT32_MAX, &b, err::kInvalidSecondDb))
    return;
  int n = ctx.engine.db_count();
  if (a < 0 || a >= n || b < 0 || b >= n) return ctx.rb.Error(err::kDbIndex);
  if (a != b) {
    // WATCH first (what each watched key becomes), then the swap; clients blocked on keys
    // of either database that now hold data are served, as Redis's dbSwapDatabases.
    ctx.engine.TouchWatchedInDb(int(a), int(b));
    ctx.engine.TouchWatchedInDb(int(b), int(a));
    ctx.engine.db(int(a)).SwapWith(ctx.engine.db(int(b)));
    ctx.engine.SignalReadyKeysOf(int(a));
    ctx.engine.SignalReadyKeysOf(int(b));
  }
  ctx.dirty++;
  ctx.rb.Ok();
}

void DbSize(CommandContext& ctx) { ctx.rb.Integer(int64_t(ctx.db().size())); }

// FLUSHDB / FLUSHALL [ASYNC|SYNC]: without a mode, lazyfree-lazy-user-flush decides. ASYNC
// hands the emptied databases to the lazy-free thread (Engine::FlushDb).
bool ParseFlushMode(CommandContext& ctx, bool* lazy) {
  *lazy = ctx.engine.config().server.lazyfree_lazy_user_flush;
  if (ctx.args.size() > 2) {
    ctx.rb.Error(err::kSyntax);
    return false;
  }
  if (ctx.args.size() == 2) {
    if (ArgIs(ctx.args[1], "ASYNC")) {
      *lazy = true;
    } else if (ArgIs(ctx.args[1], "SYNC")) {
      *lazy = false;
    } else {
      ctx.rb.Error(err::kSyntax);
      return false;
    }
  }
  return true;
}

void FlushDb(CommandContext& ctx) {
  bool lazy;
  if (!ParseFlushMode(ctx, &lazy)) return;
  int i = ctx.session.db;
  ctx.dirty += ctx.db().size() + 1;
  ctx.engine.TouchWatchedInDb(i, -1);
  ctx.engine.FlushDb(i, lazy);
  ctx.engine.SignalReadyKeysOf(i);
  ctx.engine.SignalFlushed();
  ctx.rb.Ok();
}

void FlushAll(CommandContext& ctx) {
  bool lazy;
  if (!ParseFlushMode(ctx, &lazy)) return;
  for (int i = 0; i < ctx.engine.db_count(); i++) {
    ctx.dirty += ctx.engine.db(i).size();
    ctx.engine.TouchWatchedInDb(i, -1);
    ctx.engine.FlushDb(i, lazy);
    ctx.engine.SignalReadyKeysOf(i);
  }
  ctx.engine.SignalFlushed();
  ctx.dirty++;
  ctx.rb.Ok();
}

// ---------------------------------------------------------------- server
void Time(CommandContext& ctx) {
  int64_t us = ctx.engine.clock()->NowUs();
  ctx.rb.ArrayHeader(2);
  ctx.rb.Bulk(FormatInt64(us / 1000000));
  ctx.rb.Bulk(FormatInt64(us % 1000000));
}

void Info(CommandContext& ctx) {
  std::vector<std::string> sections;
  for (size_t i = 1; i < ctx.args.size(); i++) sections.push_back(ToLower(ctx.args[i]));
  ctx.rb.Verbatim(BuildInfo(ctx.engine, sections));
}

void MemoryStats(CommandContext& ctx) {
  MemoryReport m = ComputeMemoryReport(ctx.engine);
  ReplyBuilder& rb = ctx.rb;
  // A map of Redis 7.0's keys, in its order (a flat array in RESP2). The allocator keys
  // mimalloc has no figure for (allocator.resident, allocator-rss.*) are left out.
  size_t n = 18 + m.dbs.size() + (m.has_allocator ? 6 : 0);
  rb.MapHeader(n);
  auto num = [&](const char* k, int64_t v) {
    rb.Bulk(k);
    rb.Integer(v);
  };
  auto dbl = [&](const char* k, double v) {
    rb.Bulk(k);
    rb.Double(v);
  };
  num("peak.allocated", int64_t(m.peak));
  num("total.allocated", int64_t(m.used));
  num("startup.allocated", int64_t(m.startup));
  num("replication.backlog", 0);
  num("clients.slaves", 0);
  num("clients.normal", int64_t(m.clients_normal));
  num("cluster.links", 0);
  num("aof.buffer", int64_t(m.aof_buffer));
  num("lua.caches", 0);
  num("functions.caches", 0);
  for (auto& d : m.dbs) {
    rb.Bulk(fmt::format("db.{}", d.index));
    rb.MapHeader(2);
    num("overhead.hashtable.main", int64_t(d.overhead_main));
    num("overhead.hashtable.expires", int64_t(d.overhead_expires));
  }
  num("overhead.total", int64_t(m.overhead_total));
  num("keys.count", int64_t(m.keys));
  num("keys.bytes-per-key", int64_t(m.bytes_per_key));
  num("dataset.bytes", int64_t(m.dataset));
  dbl("dataset.percentage", m.dataset_perc);
  dbl("peak.percentage", m.peak_perc);
  if (m.has_allocator) {
    num("allocator.allocated", int64_t(m.allocator_allocated));
    num("allocator.active", int64_t(m.allocator_active));
    dbl("allocator-fragmentation.ratio", m.allocator_frag);
    num("allocator-fragmentation.bytes", m.allocator_frag_bytes);
    dbl("rss-overhead.ratio", m.rss_extra);
    num("rss-overhead.bytes", m.rss_extra_bytes);
  }
  dbl("fragmentation", m.total_frag);
  num("fragmentation.bytes", m.total_frag_bytes);
}

void Memory(CommandContext& ctx) {
  auto& a = ctx.args;
  std::string_view sub = a[1];
  if (ArgIs(sub, "USAGE") && a.size() >= 3) {
    for (size_t j = 3; j < a.size(); j++) {  // [SAMPLES count]: every value is measured whole
      int64_t samples;
      if (!ArgIs(a[j], "SAMPLES") || j + 1 >= a.size()) return ctx.rb.Error(err::kSyntax);
      if (!ParseIntArg(ctx, a[++j], &samples)) return;
      if (samples < 0) return ctx.rb.Error(err::kSyntax);
    }
    Entry* e = ctx.db().Peek(a[2], ctx.now_ms);
    if (!e) return ctx.rb.Null();
    return ctx.rb.Integer(int64_t(sizeof(Entry) + e->key_.heap_bytes() + e->value.MemoryUsage()));
  }
  if (ArgIs(sub, "STATS") && a.size() == 2) return MemoryStats(ctx);
  if (ArgIs(sub, "DOCTOR") && a.size() == 2) return ctx.rb.Verbatim(MemoryDoctorReport(ctx.engine));
  if (ArgIs(sub, "MALLOC-STATS") && a.size() == 2) {
    if (!memory::g_allocator.report) {
      return ctx.rb.Verbatim("Stats not supported for the current allocator");
    }
    return ctx.rb.Verbatim(memory::g_allocator.report());
  }
  if (ArgIs(sub, "PURGE") && a.size() == 2) {
    if (memory::g_allocator.purge) memory::g_allocator.purge();  // mimalloc: mi_collect(true)
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "HELP") && a.size() == 2) {
    const char* help[] = {
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
        "HELP",
        "    Prints this help.",
    };
    ctx.rb.ArrayHeader(std::size(help));
    for (const char* l : help) ctx.rb.SimpleString(l);
    return;
  }
  ctx.rb.Error(err::UnknownSubcommand(sub, "MEMORY"));
}

// ---------------------------------------------------------------- transactions
void Multi(CommandContext& ctx) {
  if (ctx.session.in_multi) return ctx.rb.Error(err::kMultiNested);
  ctx.session.in_multi = true;
  ctx.session.multi_error = false;
  ctx.session.queued.clear();
  ctx.session.multi_mem = 0;
  ctx.session.queued_flags = ctx.session.queued_inv_flags = 0;
  ctx.rb.Ok();
}

void Exec(CommandContext& ctx) {
  if (!ctx.session.in_multi) return ctx.rb.Error(err::kExecWithoutMulti);
  ctx.engine.ExecMulti(ctx.session, ctx.rb);
}

void Discard(CommandContext& ctx) {
  if (!ctx.session.in_multi) return ctx.rb.Error(err::kDiscardWithoutMulti);
  ctx.session.in_multi = false;
  ctx.session.multi_error = false;
  ctx.session.queued.clear();
  ctx.session.multi_mem = 0;
  ctx.session.queued_flags = ctx.session.queued_inv_flags = 0;
  ctx.engine.UnwatchAll(ctx.session);
  ctx.rb.Ok();
}

void Watch(CommandContext& ctx) {
  if (ctx.session.in_multi) return ctx.rb.Error(err::kWatchInMulti);
  for (size_t i = 1; i < ctx.args.size(); i++) {
    // A key that has already expired counts as changed if it reappears.
    ctx.engine.Watch(ctx.session, ctx.session.db, ctx.args[i]);
  }
  ctx.rb.Ok();
}

void Unwatch(CommandContext& ctx) {
  ctx.engine.UnwatchAll(ctx.session);
  ctx.rb.Ok();
}

void Shutdown(CommandContext& ctx) {
  int save_mode = 0;
  for (size_t i = 1; i < ctx.args.size(); i++) {
    if (ArgIs(ctx.args[i], "NOSAVE")) save_mode = -1;
    if (ArgIs(ctx.args[i], "SAVE")) save_mode = 1;
    std::string_view o = ctx.args[i];
    if (!(ArgIs(o, "NOSAVE") || ArgIs(o, "SAVE") || ArgIs(o, "NOW") || ArgIs(o, "FORCE") ||
          ArgIs(o, "ABORT"))) {
      return ctx.rb.Error(err::kSyntax);
    }
    if (ArgIs(o, "ABORT")) return ctx.rb.Error(err::kNoShutdown);
  }
  ctx.engine.RequestShutdown(save_mode);
  ctx.session.close_after_reply = true;  // no reply: the connection closes, as Redis
}

void BgRewriteAof(CommandContext& ctx) {
  PersistenceControl* p = ctx.engine.persistence();
  if (!p) return ctx.rb.Error(err::kNoPersistence);
  bool scheduled = false;
  Status st = p->RewriteAof(&scheduled);
  if (st.code() == Status::Code::kBusy) return ctx.rb.Error("ERR " + st.message());
  if (!st.ok()) return ctx.rb.Error(std::string(err::kRewriteFailed) + st.message());
  ctx.rb.SimpleString(scheduled ? "Background append only file rewriting scheduled"
                                : "Background append only file rewriting started");
}

void Save(CommandContext& ctx) {
  PersistenceControl* p = ctx.engine.persistence();
  if (!p) return ctx.rb.Error(err::kNoPersistence);
  Status st = p->Save();
  if (!st.ok()) return ctx.rb.Error("ERR " + st.message());
  ctx.rb.Ok();
}

void BgSave(CommandContext& ctx) {
  PersistenceControl* p = ctx.engine.persistence();
  if (!p) return ctx.rb.Error(err::kNoPersistence);
  bool schedule = ctx.args.size() == 2 && ArgIs(ctx.args[1], "SCHEDULE");
  if (ctx.args.size() == 2 && !schedule) return ctx.rb.Error(err::kSyntax);
  std::string reply;
  Status st = p->BgSave(schedule, &reply);
  if (!st.ok()) return ctx.rb.Error("ERR " + st.message());
  ctx.rb.SimpleString(reply);
}

void LastSave(CommandContext& ctx) {
  PersistenceControl* p = ctx.engine.persistence();
  ctx.rb.Integer(p ? p->LastSave() : ctx.engine.start_time_ms() / 1000);
}

}  // namespace

void RegisterServerFamily(CommandTable& t) {
  using namespace cmd;
  const char* c = "connection";
  const char* s = "server";
  const char* tx = "transactions";
  t.Add({
      .name = "monitor",
      .arity = 1,
      .flags = kAdmin | kNoScript | kLoading | kStale,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = Monitor,
      .group = s,
      .summary = "Listens for all requests received by the server in real-time.",
      .since = "1.0.0",
      .acl_categories = "@admin @slow @dangerous",
  });
  t.Add({
      .name = "ping",
      .arity = -1,
      .flags = kFast | kStale | kLoading,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = Ping,
      .group = c,
      .summary = "Returns the server's liveliness response.",
      .since = "1.0.0",
      .acl_categories = "@fast @connection",
  });
  t.Add({
      .name = "echo",
      .arity = 2,
      .flags = kFast | kLoading | kStale,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = Echo,
      .group = c,
      .summary = "Returns the given string.",
      .since = "1.0.0",
      .acl_categories = "@fast @connection",
  });
  t.Add({
      .name = "quit",
      .arity = -1,
      .flags = kNoAuth | kNoMulti | kLoading | kStale | kFast,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = Quit,
      .group = c,
      .summary = "Closes the connection.",
      .since = "1.0.0",
      .acl_categories = "@fast @connection",
  });
  t.Add({
      .name = "reset",
      .arity = 1,
      .flags = kNoAuth | kNoMulti | kLoading | kStale | kFast,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = Reset,
      .group = c,
      .summary = "Resets the connection.",
      .since = "6.2.0",
      .acl_categories = "@fast @connection",
  });
  t.Add({
      .name = "auth",
      .arity = -2,
      .flags = kNoAuth | kNoScript | kLoading | kStale | kFast,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = Auth,
      .group = c,
      .summary = "Authenticates the connection.",
      .since = "1.0.0",
      .acl_categories = "@fast @connection",
  });
  t.Add({
      .name = "hello",
      .arity = -1,
      .flags = kNoAuth | kNoScript | kLoading | kStale | kFast,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = Hello,
      .group = c,
      .summary = "Handshakes with the Redis server.",
      .since = "6.0.0",
      .acl_categories = "@fast @connection",
  });
  t.Add({
      .name = "select",
      .arity = 2,
      .flags = kLoading | kStale | kFast,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = Select,
      .group = c,
      .summary = "Changes the selected database.",
      .since = "1.0.0",
      .acl_categories = "@fast @connection",
  });
  t.Add({
      .name = "swapdb",
      .arity = 3,
      .flags = kWrite | kFast,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = SwapDb,
      .group = s,
      .summary = "Swaps two Redis databases.",
      .since = "4.0.0",
      .acl_categories = "@keyspace @write @fast @dangerous",
  });
  t.Add({
      .name = "dbsize",
      .arity = 1,
      .flags = kReadOnly | kFast,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = DbSize,
      .group = s,
      .summary = "Returns the number of keys in the database.",
      .since = "1.0.0",
      .acl_categories = "@keyspace @read @fast",
  });
  t.Add({
      .name = "flushdb",
      .arity = -1,
      .flags = kWrite,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = FlushDb,
      .group = s,
      .summary = "Remove all keys from the current database.",
      .since = "1.0.0",
      .acl_categories = "@keyspace @write @slow @dangerous",
  });
  t.Add({
      .name = "flushall",
      .arity = -1,
      .flags = kWrite,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = FlushAll,
      .group = s,
      .summary = "Removes all keys from all databases.",
      .since = "1.0.0",
      .acl_categories = "@keyspace @write @slow @dangerous",
  });
  t.Add({
      .name = "time",
      .arity = 1,
      .flags = kLoading | kStale | kFast,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = Time,
      .group = s,
      .summary = "Returns the server time.",
      .since = "2.6.0",
      .acl_categories = "@fast",
  });
  t.Add({
      .name = "info",
      .arity = -1,
      .flags = kLoading | kStale,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = Info,
      .group = s,
      .summary = "Returns information and statistics about the server.",
      .since = "1.0.0",
      .acl_categories = "@slow @dangerous",
  });
  t.Add({
      .name = "memory",
      .arity = -2,
      .flags = kReadOnly,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = Memory,
      .group = s,
      .summary = "A container for memory diagnostics commands.",
      .since = "4.0.0",
      .acl_categories = "@read @slow",
  });
  t.Add({
      .name = "shutdown",
      .arity = -1,
      .flags = kAdmin | kNoScript | kLoading | kStale | kDenyInMulti,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = Shutdown,
      .group = s,
      .summary = "Synchronously saves the database(s) to disk and shuts down the Redis server.",
      .since = "1.0.0",
      .acl_categories = "@admin @slow @dangerous",
  });
  t.Add({
      .name = "multi",
      .arity = 1,
      .flags = kNoScript | kLoading | kStale | kFast | kNoMulti,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = Multi,
      .group = tx,
      .summary = "Starts a transaction.",
      .since = "1.2.0",
      .acl_categories = "@fast @transaction",
  });
  t.Add({
      .name = "exec",
      .arity = 1,
      .flags = kNoScript | kLoading | kStale | kNoMulti,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = Exec,
      .group = tx,
      .summary = "Executes all commands in a transaction.",
      .since = "1.2.0",
      .acl_categories = "@slow @transaction",
  });
  t.Add({
      .name = "discard",
      .arity = 1,
      .flags = kNoScript | kLoading | kStale | kFast | kNoMulti,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = Discard,
      .group = tx,
      .summary = "Discards a transaction.",
      .since = "2.0.0",
      .acl_categories = "@fast @transaction",
  });
  t.Add({
      .name = "watch",
      .arity = -2,
      .flags = kNoScript | kLoading | kStale | kFast | kNoMulti,
      .first_key = 1,
      .last_key = -1,
      .key_step = 1,
      .handler = Watch,
      .group = tx,
      .summary = "Monitors changes to keys to determine the execution of a transaction.",
      .since = "2.2.0",
      .acl_categories = "@fast @transaction",
  });
  t.Add({
      .name = "unwatch",
      .arity = 1,
      .flags = kNoScript | kLoading | kStale | kFast,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = Unwatch,
      .group = tx,
      .summary = "Forgets about watched keys of a transaction.",
      .since = "2.2.0",
      .acl_categories = "@fast @transaction",
  });
  t.Add({
      .name = "bgrewriteaof",
      .arity = 1,
      .flags = kAdmin | kNoScript,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = BgRewriteAof,
      .group = s,
      .summary = "Asynchronously rewrites the append-only file to disk.",
      .since = "1.0.0",
      .acl_categories = "@admin @slow @dangerous",
  });
  t.Add({
      .name = "save",
      .arity = 1,
      .flags = kAdmin | kNoScript | kDenyInMulti,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = Save,
      .group = s,
      .summary = "Synchronously saves the database(s) to disk.",
      .since = "1.0.0",
      .acl_categories = "@admin @slow @dangerous",
  });
  t.Add({
      .name = "bgsave",
      .arity = -1,
      .flags = kAdmin | kNoScript,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = BgSave,
      .group = s,
      .summary = "Asynchronously saves the database(s) to disk.",
      .since = "1.0.0",
      .acl_categories = "@admin @slow @dangerous",
  });
  t.Add({
      .name = "lastsave",
      .arity = 1,
      .flags = kLoading | kStale | kFast,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = LastSave,
      .group = s,
      .summary = "Returns the Unix timestamp of the last successful save to disk.",
      .since = "1.0.0",
      .acl_categories = "@admin @fast @dangerous",
  });
}

}  // namespace ferrite
