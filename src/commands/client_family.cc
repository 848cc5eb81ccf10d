// CLIENT and its subcommands: ID, INFO, LIST, KILL, GETNAME, SETNAME, PAUSE, UNPAUSE,
// REPLY, UNBLOCK, NO-EVICT, HELP, and client-side caching's TRACKING, CACHING, GETREDIR,
// TRACKINGINFO (the tracking itself is commands/tracking.cc).

#include <fmt/format.h>

#include "base/strutil.h"
#include "commands/acl.h"
#include "commands/command_table.h"
#include "commands/family_util.h"

namespace ferrite {
namespace {

// Redis's client types: a subscribed client is "pubsub", every other one (MONITOR included)
// "normal"; a replica's connection is "replica" (slave), the link to our master "master".
enum class ClientType { kNormal, kReplica, kPubSub, kMaster, kUnknown };

ClientType ClientTypeByName(std::string_view n) {
  if (EqualsIgnoreCase(n, "normal")) return ClientType::kNormal;
  if (EqualsIgnoreCase(n, "slave") || EqualsIgnoreCase(n, "replica")) return ClientType::kReplica;
  if (EqualsIgnoreCase(n, "pubsub")) return ClientType::kPubSub;
  if (EqualsIgnoreCase(n, "master")) return ClientType::kMaster;
  return ClientType::kUnknown;
}

ClientType TypeOf(const Session& s) {
  if (s.repl_role == Session::ReplRole::kMaster) return ClientType::kMaster;
  if (s.repl_role == Session::ReplRole::kReplica) return ClientType::kReplica;
  return s.subscriptions() > 0 ? ClientType::kPubSub : ClientType::kNormal;
}

}  // namespace

// One line of CLIENT LIST / CLIENT INFO: Redis 7.0's fields in its order.
std::string ClientLine(Engine& e, Session& s) {
  if (e.refresh_conn_info) e.refresh_conn_info(s);
  int64_t now_s = e.clock()->NowMs() / 1000;
  std::string flags;
  if (s.monitor) flags += 'O';
  if (s.repl_role == Session::ReplRole::kReplica) flags += 'S';
  if (s.repl_role == Session::ReplRole::kMaster) flags += 'M';
  if (s.subscriptions() > 0) flags += 'P';
  if (s.in_multi) flags += 'x';
  if (s.blocked) flags += 'b';
  if (s.tracking.on) flags += 't';
  if (s.tracking.broken_redir) flags += 'R';
  if (s.tracking.bcast) flags += 'B';
  if (s.watch_dirty) flags += 'd';
  if (s.close_after_reply) flags += 'c';
  if (s.kill_now) flags += 'A';
  if (s.conn.is_unix) flags += 'U';
  if (s.no_evict) flags += 'e';
  if (flags.empty()) flags = "N";
  const ConnInfo& c = s.conn;
  size_t tot_mem = c.qbuf + c.qbuf_free + c.rbs + c.omem + s.argv_mem + s.multi_mem;
  size_t oll = c.obl > c.rbs ? (c.obl - c.rbs + 16383) / 16384 : 0;
  size_t omem = c.obl > c.rbs ? c.omem : 0;
  return fmt::format(
      "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub=0 "
      "multi={} qbuf={} qbuf-free={} argv-mem={} multi-mem={} rbs={} rbp={} obl={} oll={} "
      "omem={} tot-mem={} events={} cmd={} user={} redir={} resp={}",
      s.id, c.addr, c.laddr, c.fd, s.name, now_s - c.created_ms / 1000,
      now_s - c.last_interaction_ms / 1000, flags, s.db, s.channels.size(), s.patterns.size(),
      s.in_multi ? int64_t(s.queued.size()) : -1, c.qbuf, c.qbuf_free, s.argv_mem, s.multi_mem,
      c.rbs, c.rbp, std::min(c.obl, c.rbs), oll, omem, tot_mem, c.write_pending ? "rw" : "r",
      s.last_cmd, s.user ? std::string_view(s.user->name) : std::string_view("default"),
      s.tracking.on ? int64_t(s.tracking.redirect) : -1, s.resp3 ? 3 : 2);
}

namespace {

void List(CommandContext& ctx) {
  auto& a = ctx.args;
  Engine& e = ctx.engine;
  std::string out;
  if (a.size() == 4 && ArgIs(a[2], "TYPE")) {
    ClientType t = ClientTypeByName(a[3]);
    if (t == ClientType::kUnknown) return ctx.rb.Error(err::UnknownClientType(a[3]));
    for (auto& [id, s] : e.sessions()) {
      if (TypeOf(*s) == t) out += ClientLine(e, *s) + "\n";
    }
  } else if (a.size() > 3 && ArgIs(a[2], "ID")) {
    for (size_t i = 3; i < a.size(); i++) {
      int64_t id;
      if (!ParseInt64(a[i], &id)) return ctx.rb.Error(err::kInvalidClientId);
      if (Session* s = id > 0 ? e.FindSession(uint64_t(id)) : nullptr) {
        out += ClientLine(e, *s) + "\n";
      }
    }
  } else if (a.size() != 2) {
    return ctx.rb.Error(err::kSyntax);
  } else {
    for (auto& [id, s] : e.sessions()) out += ClientLine(e, *s) + "\n";
  }
  ctx.rb.Verbatim(out);
}

void Kill(CommandContext& ctx) {
  auto& a = ctx.args;
  Engine& e = ctx.engine;
  std::string_view addr, laddr;
  bool filter_addr = false, filter_laddr = false;
  ClientType type = ClientType::kUnknown;
  bool filter_type = false;
  uint64_t id = 0;
  bool skipme = true;
  bool filter_user = false;
  const acl::User* user = nullptr;
  if (a.size() == 3) {  // the old form: CLIENT KILL addr:port (may kill the caller)
    addr = a[2];
    filter_addr = true;
    skipme = false;
  } else {
    for (size_t i = 2; i < a.size(); i += 2) {
      bool more = i + 1 < a.size();
      std::string_view k = a[i];
      if (ArgIs(k, "ID") && more) {
        int64_t v;
        if (!ParseInt64(a[i + 1], &v) || v < 1)
          return ctx.rb.Error("ERR client-id should be greater than 0");
        id = uint64_t(v);
      } else if (ArgIs(k, "TYPE") && more) {
        type = ClientTypeByName(a[i + 1]);
        if (type == ClientType::kUnknown) return ctx.rb.Error(err::UnknownClientType(a[i + 1]));
        filter_type = true;
      } else if (ArgIs(k, "ADDR") && more) {
        addr = a[i + 1];
        filter_addr = true;
      } else if (ArgIs(k, "LADDR") && more) {
        laddr = a[i + 1];
        filter_laddr = true;
      } else if (ArgIs(k, "USER") && more) {
        user = e.acl().Find(a[i + 1]);
        if (!user) return ctx.rb.Error(err::NoSuchUser(a[i + 1]));
        filter_user = true;
      } else if (ArgIs(k, "SKIPME") && more) {
        if (ArgIs(a[i + 1], "yes"))
          skipme = true;
        else if (ArgIs(a[i + 1], "no"))
          skipme = false;
        else
          return ctx.rb.Error(err::kSyntax);
      } else {
        return ctx.rb.Error(err::kSyntax);
      }
    }
  }
  int64_t killed = 0;
  for (auto& [sid, other] : e.sessions()) {
    if (filter_addr && other->conn.addr != addr) continue;
    if (filter_laddr && other->conn.laddr != laddr) continue;
    if (filter_type && TypeOf(*other) != type) continue;
    if (id && sid != id) continue;
    if (filter_user && other->user != user) continue;
    if (other == &ctx.session && skipme) continue;
    if (other == &ctx.session) {
      ctx.session.close_after_reply = true;  // after this reply, as Redis
    } else {
      other->kill_now = true;
      e.pending_kills = true;
    }
    killed++;
  }
  if (a.size() == 3) {
    if (killed == 0) return ctx.rb.Error(err::kNoSuchClient);
    return ctx.rb.Ok();
  }
  ctx.rb.Integer(killed);
}

void Pause(CommandContext& ctx) {
  auto& a = ctx.args;
  Engine::PauseType type = Engine::PauseType::kAll;
  if (a.size() == 4) {
    if (ArgIs(a[3], "WRITE"))
      type = Engine::PauseType::kWrite;
    else if (ArgIs(a[3], "ALL"))
      type = Engine::PauseType::kAll;
    else
      return ctx.rb.Error("ERR CLIENT PAUSE mode must be WRITE or ALL");
  }
  int64_t ms;
  if (!ParseInt64(a[2], &ms)) return ctx.rb.Error("ERR timeout is not an integer or out of range");
  if (ms < 0) return ctx.rb.Error("ERR timeout is negative");
  if (ms > 0 && ms > INT64_MAX - ctx.now_ms) return ctx.rb.Error("ERR timeout is out of range");
  ctx.engine.PauseClients(type, ms > 0 ? ctx.now_ms + ms : 0);
  ctx.rb.Ok();
}

void Unblock(CommandContext& ctx) {
  auto& a = ctx.args;
  bool with_error = false;
  if (a.size() == 4) {
    if (ArgIs(a[3], "TIMEOUT"))
      with_error = false;
    else if (ArgIs(a[3], "ERROR"))
      with_error = true;
    else
      return ctx.rb.Error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
  }
  int64_t id;
  if (!ParseIntArg(ctx, a[2], &id)) return;
  Session* target = id > 0 ? ctx.engine.FindSession(uint64_t(id)) : nullptr;
  ctx.rb.Integer(target && ctx.engine.UnblockClient(*target, with_error) ? 1 : 0);
}

// CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST] [PREFIX p]... [OPTIN] [OPTOUT] [NOLOOP]:
// Redis 7.0's parsing, checks and error texts, in its order.
void TrackingCmd(CommandContext& ctx) {
  auto& a = ctx.args;
  Session& s = ctx.session;
  int64_t redir = 0;
  uint32_t options = 0;
  std::vector<std::string_view> prefixes;
  for (size_t j = 3; j < a.size(); j++) {
    bool more = j + 1 < a.size();
    if (ArgIs(a[j], "redirect") && more) {
      j++;
      if (redir != 0)
        return ctx.rb.Error("ERR A client can only redirect to a single other client");
      if (!ParseIntArg(ctx, a[j], &redir)) return;
      // The target must exist now; it may leave later (then the redirect is broken).
      if (redir <= 0 || !ctx.engine.FindSession(uint64_t(redir)))
        return ctx.rb.Error("ERR The client ID you want redirect to does not exist");
    } else if (ArgIs(a[j], "bcast")) {
      options |= Tracking::kBcast;
    } else if (ArgIs(a[j], "optin")) {
      options |= Tracking::kOptIn;
    } else if (ArgIs(a[j], "optout")) {
      options |= Tracking::kOptOut;
    } else if (ArgIs(a[j], "noloop")) {
      options |= Tracking::kNoLoop;
    } else if (ArgIs(a[j], "prefix") && more) {
      prefixes.push_back(a[++j]);
    } else {
      return ctx.rb.Error(err::kSyntax);
    }
  }
  auto& t = s.tracking;
  if (ArgIs(a[2], "on")) {
    if (!(options & Tracking::kBcast) && !prefixes.empty())
      return ctx.rb.Error("ERR PREFIX option requires BCAST mode to be enabled");
    if (t.on && t.bcast != ((options & Tracking::kBcast) != 0)) {
      return ctx.rb.Error(
          "ERR You can't switch BCAST mode on/off before disabling tracking for this client, "
          "and then re-enabling it with a different mode.");
    }
    if ((options & Tracking::kBcast) && (options & (Tracking::kOptIn | Tracking::kOptOut)))
      return ctx.rb.Error("ERR OPTIN and OPTOUT are not compatible with BCAST");
    if ((options & Tracking::kOptIn) && (options & Tracking::kOptOut))
      return ctx.rb.Error("ERR You can't specify both OPTIN mode and OPTOUT mode");
    if (((options & Tracking::kOptIn) && t.optout) || ((options & Tracking::kOptOut) && t.optin)) {
      return ctx.rb.Error(
          "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, "
          "and then re-enabling it with a different mode.");
    }
    if (options & Tracking::kBcast) {
      std::string collision = Tracking::PrefixCollision(s, prefixes);
      if (!collision.empty()) return ctx.rb.Error(collision);
    }
    ctx.engine.tracking().Enable(s, uint64_t(redir), options, prefixes);
  } else if (ArgIs(a[2], "off")) {
    ctx.engine.tracking().Disable(s);
  } else {
    return ctx.rb.Error(err::kSyntax);
  }
  ctx.rb.Ok();
}

void Caching(CommandContext& ctx) {
  auto& t = ctx.session.tracking;
  if (!t.on) {
    return ctx.rb.Error(
        "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN "
        "or OPTOUT mode enabled");
  }
  std::string_view opt = ctx.args[2];
  if (ArgIs(opt, "yes")) {
    if (!t.optin) {
      return ctx.rb.Error(
          "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
    }
  } else if (ArgIs(opt, "no")) {
    if (!t.optout) {
      return ctx.rb.Error(
          "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
    }
  } else {
    return ctx.rb.Error(err::kSyntax);
  }
  t.caching = true;  // for the next command or transaction (Engine::Execute forgets it)
  ctx.rb.Ok();
}

void TrackingInfo(CommandContext& ctx) {
  const auto& t = ctx.session.tracking;
  std::vector<const char*> flags;
  flags.push_back(t.on ? "on" : "off");
  if (t.bcast) flags.push_back("bcast");
  if (t.optin) {
    flags.push_back("optin");
    if (t.caching) flags.push_back("caching-yes");
  }
  if (t.optout) {
    flags.push_back("optout");
    if (t.caching) flags.push_back("caching-no");
  }
  if (t.noloop) flags.push_back("noloop");
  if (t.broken_redir) flags.push_back("broken_redirect");
  ctx.rb.MapHeader(3);
  ctx.rb.Bulk("flags");
  ctx.rb.SetHeader(flags.size());
  for (const char* f : flags) ctx.rb.Bulk(f);
  ctx.rb.Bulk("redirect");
  ctx.rb.Integer(t.on ? int64_t(t.redirect) : -1);
  ctx.rb.Bulk("prefixes");
  ctx.rb.ArrayHeader(t.prefixes.size());
  for (auto& p : t.prefixes) ctx.rb.Bulk(p);
}

const char* const kHelp[] = {
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "HELP",
    "    Prints this help.",
};

void Client(CommandContext& ctx) {
  auto& a = ctx.args;
  std::string_view sub = a[1];
  Session& s = ctx.session;
  if (ArgIs(sub, "HELP") && a.size() == 2) {
    ctx.rb.ArrayHeader(std::size(kHelp));
    for (const char* l : kHelp) ctx.rb.SimpleString(l);
    return;
  }
  if (ArgIs(sub, "ID") && a.size() == 2) return ctx.rb.Integer(int64_t(s.id));
  if (ArgIs(sub, "INFO") && a.size() == 2) {
    return ctx.rb.Verbatim(ClientLine(ctx.engine, s) + "\n");
  }
  if (ArgIs(sub, "LIST")) return List(ctx);
  if (ArgIs(sub, "REPLY") && a.size() == 3) {
    if (ArgIs(a[2], "ON")) {
      s.reply_off = false;
      s.reply_skip = false;
      s.reply_skip_next = false;
      return ctx.rb.Ok();
    }
    if (ArgIs(a[2], "OFF")) {
      s.reply_off = true;
      return;
    }
    if (ArgIs(a[2], "SKIP")) {
      if (!s.reply_off) s.reply_skip_next = true;
      return;
    }
    return ctx.rb.Error(err::kSyntax);
  }
  if (ArgIs(sub, "NO-EVICT") && a.size() == 3) {
    if (ArgIs(a[2], "ON"))
      s.no_evict = true;
    else if (ArgIs(a[2], "OFF"))
      s.no_evict = false;
    else
      return ctx.rb.Error(err::kSyntax);
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "KILL")) return Kill(ctx);
  if (ArgIs(sub, "UNBLOCK") && (a.size() == 3 || a.size() == 4)) return Unblock(ctx);
  if (ArgIs(sub, "SETNAME") && a.size() == 3) {
    if (!ValidClientName(a[2])) return ctx.rb.Error(err::kClientName);
    s.name.assign(a[2]);
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "GETNAME") && a.size() == 2) {
    return s.name.empty() ? ctx.rb.Null() : ctx.rb.Bulk(s.name);
  }
  if (ArgIs(sub, "UNPAUSE") && a.size() == 2) {
    ctx.engine.UnpauseClients();
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "PAUSE") && (a.size() == 3 || a.size() == 4)) return Pause(ctx);
  if (ArgIs(sub, "TRACKING") && a.size() >= 3) return TrackingCmd(ctx);
  if (ArgIs(sub, "CACHING") && a.size() >= 3) return Caching(ctx);
  if (ArgIs(sub, "GETREDIR") && a.size() == 2) {
    return ctx.rb.Integer(s.tracking.on ? int64_t(s.tracking.redirect) : -1);
  }
  if (ArgIs(sub, "TRACKINGINFO") && a.size() == 2) return TrackingInfo(ctx);
  // A subcommand the table knows (the engine refused the others) with arguments its arity
  // allows but the subcommand does not: Redis's addReplySubcommandSyntaxError.
  ctx.rb.Error(err::SubcommandSyntax(sub, "CLIENT"));
}

}  // namespace

void RegisterClientFamily(CommandTable& t) {
  using namespace cmd;
  t.Add({
      .name = "client",
      .arity = -2,
      .flags = kAdmin | kNoScript | kLoading | kStale,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = Client,
      .group = "connection",
      .summary = "A container for client connection commands.",
      .since = "2.4.0",
      .acl_categories = "@slow @connection",
  });
}

}  // namespace ferrite
