// Connection, server and transaction commands: PING, ECHO, QUIT, RESET, AUTH, HELLO,
// SELECT, SWAPDB, DBSIZE, FLUSHDB, FLUSHALL, TIME, INFO, CONFIG, CLIENT, COMMAND, DEBUG,
// MEMORY, MULTI, EXEC, DISCARD, WATCH, UNWATCH, SHUTDOWN.

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <xxhash.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <thread>

#include "base/memory.h"
#include "base/strutil.h"
#include "commands/command_table.h"
#include "commands/family_util.h"
#include "commands/info.h"
#include "config/rewrite.h"
#include "io/file_system.h"
#include "tier/tier_manager.h"  // #7: DEBUG OBJECT of a tiered value
#include "types/serialize.h"

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

void Reset(CommandContext& ctx) {
  Session& s = ctx.session;
  ctx.engine.UnwatchAll(s);
  while (!s.channels.empty()) ctx.engine.Unsubscribe(s, std::string(s.channels.back()), false);
  while (!s.patterns.empty()) ctx.engine.Unsubscribe(s, std::string(s.patterns.back()), true);
  s.in_multi = false;
  s.multi_error = false;
  s.queued.clear();
  s.db = 0;
  s.resp3 = false;
  ctx.rb.set_resp3(false);
  s.name.clear();
  s.authenticated = ctx.engine.config().server.requirepass.empty();
  ctx.rb.SimpleString("RESET");
}

// Checks a user/password pair against requirepass (the only user is "default").
bool CheckPassword(CommandContext& ctx, std::string_view user, std::string_view pass) {
  const std::string& req = ctx.engine.config().server.requirepass;
  if (user != "default") return false;
  return req.empty() || pass == req;
}

void Auth(CommandContext& ctx) {
  auto& a = ctx.args;
  if (a.size() > 3) return ctx.rb.Error(err::kSyntax);
  const std::string& req = ctx.engine.config().server.requirepass;
  if (a.size() == 2 && req.empty()) return ctx.rb.Error(err::kAuthNoPass);
  std::string_view user = a.size() == 3 ? a[1] : "default";
  std::string_view pass = a.back();
  if (!CheckPassword(ctx, user, pass)) {
    return ctx.rb.Error(err::kWrongPass);
  }
  ctx.session.authenticated = true;
  ctx.rb.Ok();
}

bool ValidClientName(std::string_view n) {
  for (char c : n) {
    if (c < '!' || c > '~') return false;
  }
  return true;
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
      s.authenticated = true;
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
  rb.Bulk("master");
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
  if (!ParseInt64(ctx.args[1], &a)) return ctx.rb.Error(err::kInvalidFirstDb);
  if (!ParseInt64(ctx.args[2], &b)) return ctx.rb.Error(err::kInvalidSecondDb);
  int n = ctx.engine.db_count();
  if (a < 0 || a >= n || b < 0 || b >= n) return ctx.rb.Error(err::kDbIndex);
  if (a != b) {
    ctx.engine.TouchAllWatched(int(a), int(b));  // before the swap, as Redis
    ctx.engine.TouchAllWatched(int(b), int(a));
    ctx.engine.db(int(a)).SwapWith(ctx.engine.db(int(b)));
    ctx.dirty++;
  }
  ctx.rb.Ok();
}

void DbSize(CommandContext& ctx) { ctx.rb.Integer(int64_t(ctx.db().size())); }

bool ParseFlushMode(CommandContext& ctx) {
  if (ctx.args.size() > 2) {
    ctx.rb.Error(err::kSyntax);
    return false;
  }
  if (ctx.args.size() == 2 && !ArgIs(ctx.args[1], "ASYNC") && !ArgIs(ctx.args[1], "SYNC")) {
    ctx.rb.Error(err::kSyntax);
    return false;
  }
  return true;
}

void FlushDb(CommandContext& ctx) {
  if (!ParseFlushMode(ctx)) return;
  Database& db = ctx.db();
  ctx.dirty += db.size() + 1;
  ctx.engine.TouchAllWatched(db.index());
  db.Clear();
  ctx.rb.Ok();
}

void FlushAll(CommandContext& ctx) {
  if (!ParseFlushMode(ctx)) return;
  for (int i = 0; i < ctx.engine.db_count(); i++) {
    Database& db = ctx.engine.db(i);
    ctx.dirty += db.size();
    ctx.engine.TouchAllWatched(i);
    db.Clear();
  }
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

// CONFIG REWRITE (#8): the running configuration into the --config file, as an edit of it
// (config/rewrite.h). The file's relative `dir` is compared the way main() resolved it, so
// it stays relative unless it changed.
void ConfigRewrite(CommandContext& ctx) {
  const std::string& path = ctx.engine.config_file;
  if (path.empty()) return ctx.rb.Error("ERR The server is running without a config file");
  RewriteOptions opts;
  opts.normalize = [](Config& c) {
    std::error_code ec;
    std::string abs = std::filesystem::absolute(c.server.dir, ec).lexically_normal().string();
    if (ec) return;
    if (abs.size() > 1 && abs.back() == '/') abs.pop_back();
    c.server.dir = abs;
  };
  Status st = RewriteConfigFile(FileSystem::Default(), path, ctx.engine.config(), opts);
  if (!st.ok()) {
    spdlog::warn("CONFIG REWRITE failed: {}", st.message());
    return ctx.rb.Error("ERR Rewriting config file: " + st.message());
  }
  spdlog::info("CONFIG REWRITE executed with success.");
  ctx.rb.Ok();
}

void ConfigCmd(CommandContext& ctx) {
  auto& a = ctx.args;
  std::string_view sub = a[1];
  if (ArgIs(sub, "GET") && a.size() >= 3) {
    std::vector<std::pair<std::string, std::string>> all;
    for (size_t i = 2; i < a.size(); i++) {
      for (auto& kv : ctx.engine.registry().Get(a[i])) {
        bool dup = false;
        for (auto& seen : all) dup |= seen.first == kv.first;
        if (!dup) all.push_back(std::move(kv));
      }
    }
    ctx.rb.MapHeader(all.size());
    for (auto& [k, v] : all) {
      ctx.rb.Bulk(k);
      ctx.rb.Bulk(v);
    }
    return;
  }
  if (ArgIs(sub, "SET") && a.size() >= 4 && a.size() % 2 == 0) {
    std::vector<std::pair<std::string_view, std::string_view>> pairs;
    for (size_t i = 2; i + 1 < a.size(); i += 2) pairs.emplace_back(a[i], a[i + 1]);
    Status st = ctx.engine.registry().Set(pairs);
    if (!st.ok()) return ctx.rb.Error("ERR " + st.message());
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "SET") && a.size() >= 3) {
    return ctx.rb.Error(err::UnknownConfigOption(a[2]));
  }
  if (ArgIs(sub, "RESETSTAT") && a.size() == 2) {
    ctx.engine.stats() = ServerStats();
    ctx.engine.command_stats().clear();
    auto& ks = ctx.engine.ks_stats();
    ks.hits = ks.misses = ks.expired_keys = ks.evicted_keys = 0;
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "REWRITE") && a.size() == 2) return ConfigRewrite(ctx);
  if (ArgIs(sub, "HELP")) {
    const char* help[] = {
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        "HELP",
        "    Prints this help.",
    };
    ctx.rb.ArrayHeader(std::size(help));
    for (const char* l : help) ctx.rb.SimpleString(l);
    return;
  }
  ctx.rb.Error(err::UnknownSubcommand(sub, "CONFIG"));
}

std::string ClientLine(Engine& e, const Session& s) {
  int64_t now = e.clock()->NowMs();
  std::string flags = s.in_multi ? "x" : "N";
  return fmt::format(
      "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub=0 psub=0 ssub=0 "
      "multi={} qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl={} oll=0 "
      "omem={} tot-mem={} events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
      s.id, s.conn.addr, s.conn.laddr, s.conn.fd, s.name, (now - s.conn.created_ms) / 1000,
      (now - s.conn.last_interaction_ms) / 1000, flags, s.db,
      s.in_multi ? int64_t(s.queued.size()) : -1, s.conn.qbuf, s.conn.qbuf_free, s.conn.obl,
      s.conn.omem, s.conn.qbuf + s.conn.omem + 16384, s.last_cmd, s.resp3 ? 3 : 2, s.lib_name,
      s.lib_ver);
}

void Client(CommandContext& ctx) {
  auto& a = ctx.args;
  std::string_view sub = a[1];
  Session& s = ctx.session;
  if (ArgIs(sub, "ID") && a.size() == 2) return ctx.rb.Integer(int64_t(s.id));
  if (ArgIs(sub, "GETNAME") && a.size() == 2) {
    return s.name.empty() ? ctx.rb.Null() : ctx.rb.Bulk(s.name);
  }
  if (ArgIs(sub, "SETNAME") && a.size() == 3) {
    if (!ValidClientName(a[2])) {
      return ctx.rb.Error(err::kClientName);
    }
    s.name.assign(a[2]);
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "SETINFO") && a.size() == 4) {
    if (ArgIs(a[2], "LIB-NAME"))
      s.lib_name.assign(a[3]);
    else if (ArgIs(a[2], "LIB-VER"))
      s.lib_ver.assign(a[3]);
    else
      return ctx.rb.Error(err::UnrecognizedOption(a[2]));
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "INFO") && a.size() == 2) {
    return ctx.rb.Verbatim(ClientLine(ctx.engine, s) + "\n");
  }
  if (ArgIs(sub, "LIST")) {
    std::vector<uint64_t> ids;
    bool filter_ids = false;
    for (size_t i = 2; i < a.size(); i++) {
      if (ArgIs(a[i], "TYPE") && i + 1 < a.size()) {
        i++;
        if (!ArgIs(a[i], "normal") && !ArgIs(a[i], "master") && !ArgIs(a[i], "replica") &&
            !ArgIs(a[i], "pubsub")) {
          return ctx.rb.Error(err::UnknownClientType(a[i]));
        }
        if (!ArgIs(a[i], "normal")) return ctx.rb.Verbatim("");
      } else if (ArgIs(a[i], "ID")) {
        filter_ids = true;
        for (i++; i < a.size(); i++) {
          uint64_t id;
          if (!ParseUint64(a[i], &id) || id == 0) return ctx.rb.Error(err::kInvalidClientId);
          ids.push_back(id);
        }
      } else {
        return ctx.rb.Error(err::kSyntax);
      }
    }
    std::string out;
    for (auto& [id, other] : ctx.engine.sessions()) {
      if (filter_ids && std::find(ids.begin(), ids.end(), id) == ids.end()) continue;
      out += ClientLine(ctx.engine, *other) + "\n";
    }
    return ctx.rb.Verbatim(out);
  }
  if (ArgIs(sub, "KILL") && a.size() >= 3) {
    if (a.size() == 3) {  // old form: CLIENT KILL addr:port
      for (auto& [id, other] : ctx.engine.sessions()) {
        if (other->conn.addr == a[2]) {
          other->kill_now = true;
          ctx.engine.pending_kills = true;
          return ctx.rb.Ok();
        }
      }
      return ctx.rb.Error(err::kNoSuchClient);
    }
    if (a.size() % 2 != 0) return ctx.rb.Error(err::kSyntax);
    uint64_t want_id = 0;
    std::string_view want_addr, want_laddr;
    bool skipme = true;
    int64_t maxage = 0;
    for (size_t i = 2; i + 1 < a.size(); i += 2) {
      std::string_view k = a[i], v = a[i + 1];
      if (ArgIs(k, "ID")) {
        if (!ParseUint64(v, &want_id) || want_id == 0) {
          return ctx.rb.Error(err::kClientIdZero);
        }
      } else if (ArgIs(k, "ADDR")) {
        want_addr = v;
      } else if (ArgIs(k, "LADDR")) {
        want_laddr = v;
      } else if (ArgIs(k, "TYPE")) {
        if (!ArgIs(v, "normal") && !ArgIs(v, "master") && !ArgIs(v, "replica") &&
            !ArgIs(v, "slave") && !ArgIs(v, "pubsub")) {
          return ctx.rb.Error(err::UnknownClientType(v));
        }
      } else if (ArgIs(k, "USER")) {
        if (v != "default") return ctx.rb.Error(err::NoSuchUser(v));
      } else if (ArgIs(k, "SKIPME")) {
        if (ArgIs(v, "yes"))
          skipme = true;
        else if (ArgIs(v, "no"))
          skipme = false;
        else
          return ctx.rb.Error(err::kSyntax);
      } else if (ArgIs(k, "MAXAGE")) {
        if (!ParseInt64(v, &maxage)) return ctx.rb.Error(err::kSyntax);
      } else {
        return ctx.rb.Error(err::kSyntax);
      }
    }
    int64_t killed = 0;
    int64_t now = ctx.engine.clock()->NowMs();
    for (auto& [id, other] : ctx.engine.sessions()) {
      if (want_id && id != want_id) continue;
      if (!want_addr.empty() && other->conn.addr != want_addr) continue;
      if (!want_laddr.empty() && other->conn.laddr != want_laddr) continue;
      if (maxage && (now - other->conn.created_ms) / 1000 < maxage) continue;
      if (skipme && other == &s) continue;
      other->kill_now = other != &s;
      ctx.engine.pending_kills = true;
      if (other == &s) s.close_after_reply = true;
      killed++;
    }
    return ctx.rb.Integer(killed);
  }
  if (ArgIs(sub, "NO-EVICT") && a.size() == 3) return ctx.rb.Ok();
  if (ArgIs(sub, "NO-TOUCH") && a.size() == 3) return ctx.rb.Ok();
  if (ArgIs(sub, "HELP")) {
    ctx.rb.ArrayHeader(1);
    ctx.rb.SimpleString(
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are: ID, "
        "GETNAME, SETNAME, SETINFO, INFO, LIST, KILL");
    return;
  }
  ctx.rb.Error(err::UnknownSubcommand(sub, "CLIENT"));
}

// ---------------------------------------------------------------- COMMAND
void CommandFlags(ReplyBuilder& rb, const CommandSpec& c) {
  std::vector<const char*> f;
  if (c.flags & cmd::kWrite) f.push_back("write");
  if (c.flags & cmd::kReadOnly) f.push_back("readonly");
  if (c.flags & cmd::kDenyOom) f.push_back("denyoom");
  if (c.flags & cmd::kAdmin) f.push_back("admin");
  if (c.flags & cmd::kPubSub) f.push_back("pubsub");
  if (c.flags & cmd::kNoScript) f.push_back("noscript");
  if (c.flags & cmd::kLoading) f.push_back("loading");
  if (c.flags & cmd::kStale) f.push_back("stale");
  if (c.flags & cmd::kFast) f.push_back("fast");
  if (c.flags & cmd::kNoAuth) f.push_back("no_auth");
  if (c.flags & cmd::kBlocking) f.push_back("blocking");
  if (c.flags & cmd::kSkipMonitor) f.push_back("skip_monitor");
  if (c.flags & cmd::kNoMandatoryKeys) f.push_back("no_mandatory_keys");
  if (c.flags & cmd::kDenyInMulti) f.push_back("no_multi");  // Redis's order: before movablekeys
  if (c.flags & cmd::kMovableKeys) f.push_back("movablekeys");
  rb.SetHeader(f.size());
  for (auto* x : f) rb.SimpleString(x);
}

void CommandInfoReply(ReplyBuilder& rb, const CommandSpec& c) {
  rb.ArrayHeader(10);
  rb.Bulk(c.name);
  rb.Integer(c.arity);
  CommandFlags(rb, c);
  rb.Integer(c.first_key);
  rb.Integer(c.last_key);
  rb.Integer(c.key_step);
  std::vector<std::string> cats;
  std::string_view acl = c.acl_categories;
  while (!acl.empty()) {
    size_t sp = acl.find(' ');
    cats.emplace_back(acl.substr(0, sp));
    if (sp == std::string_view::npos) break;
    acl.remove_prefix(sp + 1);
  }
  rb.SetHeader(cats.size());
  for (auto& x : cats) rb.SimpleString(x);
  rb.SetHeader(0);    // tips
  rb.ArrayHeader(0);  // key specs
  rb.ArrayHeader(0);  // subcommands
}

void CommandDocsReply(ReplyBuilder& rb, const CommandSpec& c) {
  rb.Bulk(c.name);
  rb.MapHeader(3);
  rb.Bulk("summary");
  rb.Bulk(c.summary);
  rb.Bulk("since");
  rb.Bulk(c.since);
  rb.Bulk("group");
  rb.Bulk(c.group);
}

void Command(CommandContext& ctx) {
  auto& a = ctx.args;
  const CommandTable& t = ctx.engine.commands();
  if (a.size() == 1) {
    ctx.rb.ArrayHeader(t.All().size());
    for (auto* c : t.All()) CommandInfoReply(ctx.rb, *c);
    return;
  }
  std::string_view sub = a[1];
  if (ArgIs(sub, "COUNT") && a.size() == 2) return ctx.rb.Integer(int64_t(t.All().size()));
  if (ArgIs(sub, "LIST")) {
    ctx.rb.ArrayHeader(t.All().size());
    for (auto* c : t.All()) ctx.rb.Bulk(c->name);
    return;
  }
  if (ArgIs(sub, "INFO")) {
    if (a.size() == 2) {
      ctx.rb.ArrayHeader(t.All().size());
      for (auto* c : t.All()) CommandInfoReply(ctx.rb, *c);
      return;
    }
    ctx.rb.ArrayHeader(a.size() - 2);
    for (size_t i = 2; i < a.size(); i++) {
      const CommandSpec* c = t.Find(a[i]);
      if (c)
        CommandInfoReply(ctx.rb, *c);
      else
        ctx.rb.NullArray();
    }
    return;
  }
  if (ArgIs(sub, "DOCS")) {
    std::vector<const CommandSpec*> list;
    if (a.size() == 2) {
      list = t.All();
    } else {
      for (size_t i = 2; i < a.size(); i++) {
        if (const CommandSpec* c = t.Find(a[i])) list.push_back(c);
      }
    }
    ctx.rb.MapHeader(list.size());
    for (auto* c : list) CommandDocsReply(ctx.rb, *c);
    return;
  }
  if (ArgIs(sub, "GETKEYS") && a.size() < 4) {
    return ctx.rb.Error(err::kGetkeysArity);
  }
  if (ArgIs(sub, "GETKEYS")) {
    const CommandSpec* c = t.Find(a[2]);
    if (!c) return ctx.rb.Error(err::kInvalidCommand);
    ArgList line = a.subspan(2);
    if ((c->arity > 0 && int(line.size()) != c->arity) ||
        (c->arity < 0 && int(line.size()) < -c->arity)) {
      return ctx.rb.Error(err::kInvalidCommandArgs);
    }
    auto pos = CommandTable::KeyPositions(*c, line);
    if (pos.empty() && !(c->flags & cmd::kNoMandatoryKeys)) return ctx.rb.Error(err::kNoKeyArgs);
    ctx.rb.ArrayHeader(pos.size());
    for (int p : pos) ctx.rb.Bulk(line[size_t(p)]);
    return;
  }
  ctx.rb.Error(err::UnknownSubcommand(sub, "COMMAND"));
}

// ---------------------------------------------------------------- DEBUG
// Order-independent digest of the whole dataset: the XOR of a 128-bit hash per key (key,
// type, value, expiry), mixed with the database number. 40 hex digits, all zeros when
// empty, as Redis's DEBUG DIGEST.
std::string ValueDigestBytes(const Entry& e) {
  std::string buf;
  buf.push_back(char(e.value.type()));
  buf.append(CanonicalBytes(e.value));
  return buf;
}

void Digest(CommandContext& ctx, std::string* out) {
  uint8_t acc[20] = {};
  bool any = false;
  for (int i = 0; i < ctx.engine.db_count(); i++) {
    Database& db = ctx.engine.db(i);
    if (db.size() == 0) continue;
    any = true;
    db.ForEach([&](const Entry& e) {
      std::string buf = std::to_string(i);
      buf.push_back(':');
      buf.append(e.key());
      buf.push_back('\0');
      buf.append(ValueDigestBytes(e));
      if (e.expire_ms) buf += "\x01" + std::to_string(e.expire_ms);
      XXH128_hash_t h = XXH3_128bits(buf.data(), buf.size());
      uint64_t h3 = XXH3_64bits_withSeed(buf.data(), buf.size(), 0x5eed);
      uint8_t bytes[24];
      memcpy(bytes, &h.low64, 8);
      memcpy(bytes + 8, &h.high64, 8);
      memcpy(bytes + 16, &h3, 8);
      for (int k = 0; k < 20; k++) acc[k] ^= bytes[k];
    });
  }
  out->clear();
  for (int k = 0; k < 20; k++) *out += fmt::format("{:02x}", any ? acc[k] : 0);
}

void Debug(CommandContext& ctx) {
  auto& a = ctx.args;
  const std::string& mode = ctx.engine.config().server.enable_debug_command;
  if (mode == "no" ||
      (mode == "local" && !ctx.session.conn.is_local() && ctx.session.conn.fd >= 0)) {
    return ctx.rb.Error(err::kDebugDisabled);
  }
  std::string_view sub = a[1];
  if (ArgIs(sub, "SLEEP") && a.size() == 3) {
    // As Redis: strtod of whatever is given (garbage is 0), microseconds cast without a check
    // (out of range is negative on x86), and a negative time does not sleep.
    std::string arg(a[2]);
    int64_t us = DoubleToInt64Like86(strtod(arg.c_str(), nullptr) * 1000000.0);
    if (us > 0) std::this_thread::sleep_for(std::chrono::microseconds(us));
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "RELOAD") && a.size() > 2) {
    for (size_t j = 2; j < a.size(); j++) {
      if (!ArgIs(a[j], "MERGE") && !ArgIs(a[j], "NOFLUSH") && !ArgIs(a[j], "NOSAVE"))
        return ctx.rb.Error(
            "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.");
    }
    return ctx.rb.Error("ERR DEBUG RELOAD MERGE, NOFLUSH and NOSAVE are not supported by Ferrite");
  }
  if (ArgIs(sub, "RELOAD") && a.size() == 2) {
    // Save a checkpoint, empty the dataset, load the checkpoint back: a round trip of
    // every key through the on-disk format.
    PersistenceControl* p = ctx.engine.persistence();
    if (!p) return ctx.rb.Error("ERR DEBUG RELOAD needs the persistence layer");
    // The dataset is emptied and loaded again: as Redis's emptyData, every watched key that
    // exists counts as modified.
    for (int i = 0; i < ctx.engine.db_count(); i++) ctx.engine.TouchAllWatched(i);
    Status st = p->DebugReload();
    if (!st.ok()) return ctx.rb.Error("ERR Error trying to load the checkpoint: " + st.message());
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "SET-DISABLE-DENY-SCRIPTS") && a.size() == 3) {
    ctx.engine.script_disable_deny_script = std::atoi(std::string(a[2]).c_str()) != 0;
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "PROTOCOL") && a.size() == 3) {  // every reply type, for client tests
    ReplyBuilder& rb = ctx.rb;
    std::string_view t = a[2];
    if (ArgIs(t, "STRING")) return rb.Bulk("Hello World");
    if (ArgIs(t, "INTEGER")) return rb.Integer(12345);
    if (ArgIs(t, "DOUBLE")) return rb.Double(3.141);
    if (ArgIs(t, "BIGNUM")) return rb.BigNumber("1234567999999999999999999999999999999");
    if (ArgIs(t, "NULL")) return rb.Null();
    if (ArgIs(t, "ARRAY") || ArgIs(t, "SET")) {
      ArgIs(t, "SET") ? rb.SetHeader(3) : rb.ArrayHeader(3);
      for (int j = 0; j < 3; j++) rb.Integer(j);
      return;
    }
    if (ArgIs(t, "MAP")) {
      rb.MapHeader(3);
      for (int j = 0; j < 3; j++) {
        rb.Integer(j);
        rb.Bool(j == 1);
      }
      return;
    }
    if (ArgIs(t, "ATTRIB")) {
      if (rb.resp3()) {
        rb.buffer()->append("|1\r\n");
        rb.Bulk("key-popularity");
        rb.ArrayHeader(2);
        rb.Bulk("key:123");
        rb.Integer(90);
      }
      return rb.Bulk("Some real reply following the attribute");
    }
    if (ArgIs(t, "PUSH")) {
      if (!rb.resp3()) return rb.Error("ERR RESP2 is not supported by this command");
      rb.PushHeader(2);
      rb.Bulk("server-cpu-usage");
      rb.Integer(42);
      return rb.Bulk("Some real reply following the push reply");
    }
    if (ArgIs(t, "TRUE")) return rb.Bool(true);
    if (ArgIs(t, "FALSE")) return rb.Bool(false);
    if (ArgIs(t, "VERBATIM")) return rb.Verbatim("This is a verbatim\nstring", "txt");
    return rb.Error(
        "ERR Wrong protocol type name. Please use one of the following: "
        "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false");
  }
  if (ArgIs(sub, "LOADAOF") && a.size() == 2) {
    PersistenceControl* p = ctx.engine.persistence();
    if (!p) return ctx.rb.Error("ERR DEBUG LOADAOF needs the persistence layer");
    Status st = p->DebugLoadAof();
    if (!st.ok()) return ctx.rb.Error("ERR Error trying to load the AOF: " + st.message());
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "DIGEST") && a.size() == 2) {
    std::string d;
    Digest(ctx, &d);
    return ctx.rb.SimpleString(d);
  }
  if (ArgIs(sub, "DIGEST-VALUE")) {
    ctx.rb.ArrayHeader(a.size() - 2);
    for (size_t i = 2; i < a.size(); i++) {
      Entry* e = ctx.db().Peek(a[i], ctx.now_ms);
      std::string bytes = e ? ValueDigestBytes(*e) : "";
      XXH128_hash_t h = XXH3_128bits(bytes.data(), bytes.size());
      ctx.rb.SimpleString(e ? fmt::format("{:016x}{:016x}00000000", h.high64, h.low64)
                            : std::string(40, '0'));
    }
    return;
  }
  if (ArgIs(sub, "POPULATE") && a.size() >= 3 && a.size() <= 5) {
    int64_t count, size = 0;
    if (!GetPositiveLongOrReply(ctx, a[2], &count)) return;
    if (a.size() == 5 && !GetPositiveLongOrReply(ctx, a[4], &size)) return;
    // Redis formats "<prefix>:<n>" into 128 bytes: the prefix is a C string, cut to fit.
    std::string prefix = a.size() >= 4 ? std::string(a[3].substr(0, a[3].find('\0'))) : "key";
    if (size == 0) size = -1;  // 0: the plain "value:<n>"
    Database& db = ctx.db();
    for (int64_t i = 0; i < count; i++) {
      std::string key = (prefix + ":" + std::to_string(i)).substr(0, 127);
      if (db.Peek(key, ctx.now_ms)) continue;
      std::string val = "value:" + std::to_string(i);
      if (size >= 0) val.resize(size_t(size), '\0');
      db.Insert(key, Value::String(val));
      // Propagated as the SETs it performed, so the AOF replays the same data.
      ctx.PropagateAs({"SET", key, val});
      ctx.dirty++;
    }
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "OBJECT") && a.size() == 3) {
    Entry* e = ctx.db().Peek(a[2], -1);  // as Redis: no expiry check
    if (!e) return ctx.rb.Error(err::kNoSuchKey);
    std::string where;  // #7: a value in a tier segment says which tier, file and offset
    if (e->value.tiered() && ctx.engine.tier()) where = " " + ctx.engine.tier()->Describe(e->value);
    return ctx.rb.SimpleString(fmt::format(
        "Value at:{} refcount:1 encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}{}",
        static_cast<const void*>(e), e->value.EncodingName(),
        e->value.tiered()      ? e->value.tier_length()
        : e->value.is_string() ? e->value.StringLength()
                               : e->value.MemoryUsage(),
        e->lru & 0xFFFFFF, std::max<int64_t>(0, ctx.now_ms / 1000 - int64_t(e->lru)), where));
  }
  if (ArgIs(sub, "TIER") && a.size() == 3 &&
      ctx.engine.tier()) {  // #7: PAUSE | RESUME background moves
    if (!ArgIs(a[2], "PAUSE") && !ArgIs(a[2], "RESUME"))
      return ctx.rb.Error("ERR DEBUG TIER PAUSE|RESUME");
    ctx.engine.tier()->set_paused(ArgIs(a[2], "PAUSE"));
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "SET-ACTIVE-EXPIRE") && a.size() == 3) {
    ctx.engine.active_expire_enabled = atoi(std::string(a[2]).c_str()) != 0;  // Redis's atoi
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "HELP")) {
    ctx.rb.ArrayHeader(8);
    ctx.rb.SimpleString("DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    ctx.rb.SimpleString("SLEEP <seconds>");
    ctx.rb.SimpleString("DIGEST");
    ctx.rb.SimpleString("DIGEST-VALUE <key> [<key> ...]");
    ctx.rb.SimpleString("RELOAD");
    ctx.rb.SimpleString("POPULATE <count> [<prefix>] [<size>]");
    ctx.rb.SimpleString("OBJECT <key> | SET-ACTIVE-EXPIRE <0|1>");
    ctx.rb.SimpleString("PROTOCOL <type> | SET-DISABLE-DENY-SCRIPTS <0|1>");
    ctx.rb.SimpleString("TIER PAUSE|RESUME (tiered storage: stop or restart background moves)");
    return;
  }
  ctx.rb.Error(err::SubcommandSyntax(sub, ToUpper(a[0])));
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
  t.Add({"monitor", 1, kAdmin | kNoScript | kLoading | kStale, 0, 0, 0, Monitor, s,
         "Listens for all requests received by the server in real-time.", "1.0.0",
         "@admin @slow @dangerous"});
  t.Add({"ping", -1, kFast | kStale | kLoading, 0, 0, 0, Ping, c,
         "Returns the server's liveliness response.", "1.0.0", "@fast @connection"});
  t.Add({"echo", 2, kFast | kLoading | kStale, 0, 0, 0, Echo, c, "Returns the given string.",
         "1.0.0", "@fast @connection"});
  t.Add({"quit", -1, kNoAuth | kNoMulti | kLoading | kStale | kFast, 0, 0, 0, Quit, c,
         "Closes the connection.", "1.0.0", "@fast @connection"});
  t.Add({"reset", 1, kNoAuth | kNoMulti | kLoading | kStale | kFast, 0, 0, 0, Reset, c,
         "Resets the connection.", "6.2.0", "@fast @connection"});
  t.Add({"auth", -2, kNoAuth | kNoScript | kLoading | kStale | kFast, 0, 0, 0, Auth, c,
         "Authenticates the connection.", "1.0.0", "@fast @connection"});
  t.Add({"hello", -1, kNoAuth | kNoScript | kLoading | kStale | kFast, 0, 0, 0, Hello, c,
         "Handshakes with the Redis server.", "6.0.0", "@fast @connection"});
  t.Add({"select", 2, kLoading | kStale | kFast, 0, 0, 0, Select, c,
         "Changes the selected database.", "1.0.0", "@fast @connection"});
  t.Add({"client", -2, kAdmin | kNoScript | kLoading | kStale, 0, 0, 0, Client, c,
         "A container for client connection commands.", "2.4.0", "@slow @connection"});
  t.Add({"swapdb", 3, kWrite | kFast, 0, 0, 0, SwapDb, s, "Swaps two Redis databases.", "4.0.0",
         "@keyspace @write @fast @dangerous"});
  t.Add({"dbsize", 1, kReadOnly | kFast, 0, 0, 0, DbSize, s,
         "Returns the number of keys in the database.", "1.0.0", "@keyspace @read @fast"});
  t.Add({"flushdb", -1, kWrite, 0, 0, 0, FlushDb, s, "Remove all keys from the current database.",
         "1.0.0", "@keyspace @write @slow @dangerous"});
  t.Add({"flushall", -1, kWrite, 0, 0, 0, FlushAll, s, "Removes all keys from all databases.",
         "1.0.0", "@keyspace @write @slow @dangerous"});
  t.Add({"time", 1, kLoading | kStale | kFast, 0, 0, 0, Time, s, "Returns the server time.",
         "2.6.0", "@fast"});
  t.Add({"info", -1, kLoading | kStale, 0, 0, 0, Info, s,
         "Returns information and statistics about the server.", "1.0.0", "@slow @dangerous"});
  t.Add({"config", -2, kAdmin | kNoScript | kLoading | kStale, 0, 0, 0, ConfigCmd, s,
         "A container for server configuration commands.", "2.0.0", "@admin @slow @dangerous"});
  t.Add({"command", -1, kLoading | kStale, 0, 0, 0, Command, s,
         "Returns detailed information about all commands.", "2.8.13", "@slow @connection"});
  t.Add({"debug", -2, kAdmin | kNoScript | kStale, 0, 0, 0, Debug, s,
         "A container for debugging commands.", "1.0.0", "@admin @slow @dangerous"});
  t.Add({"memory", -2, kReadOnly, 0, 0, 0, Memory, s,
         "A container for memory diagnostics commands.", "4.0.0", "@read @slow"});
  t.Add({"shutdown", -1, kAdmin | kNoScript | kLoading | kStale | kDenyInMulti, 0, 0, 0, Shutdown,
         s, "Synchronously saves the database(s) to disk and shuts down the Redis server.", "1.0.0",
         "@admin @slow @dangerous"});
  t.Add({"multi", 1, kNoScript | kLoading | kStale | kFast | kNoMulti, 0, 0, 0, Multi, tx,
         "Starts a transaction.", "1.2.0", "@fast @transaction"});
  t.Add({"exec", 1, kNoScript | kLoading | kStale | kNoMulti, 0, 0, 0, Exec, tx,
         "Executes all commands in a transaction.", "1.2.0", "@slow @transaction"});
  t.Add({"discard", 1, kNoScript | kLoading | kStale | kFast | kNoMulti, 0, 0, 0, Discard, tx,
         "Discards a transaction.", "2.0.0", "@fast @transaction"});
  t.Add({"watch", -2, kNoScript | kLoading | kStale | kFast | kNoMulti, 1, -1, 1, Watch, tx,
         "Monitors changes to keys to determine the execution of a transaction.", "2.2.0",
         "@fast @transaction"});
  t.Add({"unwatch", 1, kNoScript | kLoading | kStale | kFast, 0, 0, 0, Unwatch, tx,
         "Forgets about watched keys of a transaction.", "2.2.0", "@fast @transaction"});
  t.Add({"bgrewriteaof", 1, kAdmin | kNoScript, 0, 0, 0, BgRewriteAof, s,
         "Asynchronously rewrites the append-only file to disk.", "1.0.0",
         "@admin @slow @dangerous"});
  t.Add({"save", 1, kAdmin | kNoScript | kDenyInMulti, 0, 0, 0, Save, s,
         "Synchronously saves the database(s) to disk.", "1.0.0", "@admin @slow @dangerous"});
  t.Add({"bgsave", -1, kAdmin | kNoScript, 0, 0, 0, BgSave, s,
         "Asynchronously saves the database(s) to disk.", "1.0.0", "@admin @slow @dangerous"});
  t.Add({"lastsave", 1, kLoading | kStale | kFast, 0, 0, 0, LastSave, s,
         "Returns the Unix timestamp of the last successful save to disk.", "1.0.0",
         "@admin @fast @dangerous"});
}

}  // namespace ferrite
