// DEBUG: the test hooks Redis's own test suite and tools use, where they mean something in
// Ferrite (SLEEP, RELOAD, DIGEST, DIGEST-VALUE, POPULATE, OBJECT, SET-ACTIVE-EXPIRE,
// PROTOCOL, REPLYBUFFER, CHANGE-REPL-ID, PAUSE-CRON, LOG, ERROR,
// QUICKLIST-PACKED-THRESHOLD) and Ferrite's own (TIER). Others answer as Redis answers an
// unknown subcommand.

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <xxhash.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "base/strutil.h"
#include "commands/command_table.h"
#include "commands/family_util.h"
#include "tier/tier_manager.h"  // DEBUG OBJECT of a tiered value
#include "types/serialize.h"

namespace ferrite {
namespace {

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

// DEBUG PROTOCOL <type>: one reply of each RESP3 type, as Redis's, for client tests.
void Protocol(CommandContext& ctx, std::string_view name) {
  ReplyBuilder& rb = ctx.rb;
  bool resp3 = ctx.session.resp3;
  std::string* out = rb.buffer();
  if (ArgIs(name, "string")) return rb.Bulk("Hello World");
  if (ArgIs(name, "integer")) return rb.Integer(12345);
  if (ArgIs(name, "double")) return rb.Double(3.141);
  if (ArgIs(name, "bignum")) {
    const char* n = "1234567999999999999999999999999999999";
    if (!resp3) return rb.Bulk(n);
    out->append("(").append(n).append("\r\n");
    return;
  }
  if (ArgIs(name, "null")) return rb.Null();
  if (ArgIs(name, "array") || ArgIs(name, "set")) {
    ArgIs(name, "set") ? rb.SetHeader(3) : rb.ArrayHeader(3);
    for (int j = 0; j < 3; j++) rb.Integer(j);
    return;
  }
  if (ArgIs(name, "map")) {
    rb.MapHeader(3);
    for (int j = 0; j < 3; j++) {
      rb.Integer(j);
      rb.Bool(j == 1);
    }
    return;
  }
  if (ArgIs(name, "attrib")) {
    if (resp3) {
      out->append("|1\r\n");
      rb.Bulk("key-popularity");
      rb.ArrayHeader(2);
      rb.Bulk("key:123");
      rb.Integer(90);
    }
    return rb.Bulk("Some real reply following the attribute");
  }
  if (ArgIs(name, "push")) {
    if (!resp3) return rb.Error("ERR RESP2 is not supported by this command");
    rb.PushHeader(2);
    rb.Bulk("server-cpu-usage");
    rb.Integer(42);
    return rb.Bulk("Some real reply following the push reply");
  }
  if (ArgIs(name, "true")) return rb.Bool(true);
  if (ArgIs(name, "false")) return rb.Bool(false);
  if (ArgIs(name, "verbatim")) return rb.Verbatim("This is a verbatim\nstring");
  rb.Error(
      "ERR Wrong protocol type name. Please use one of the following: "
      "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false");
}

// Redis's memtoull for DEBUG arguments: digits with an optional b/k/kb/m/mb/g/gb unit.
bool ParseMemory(std::string_view s, uint64_t* out) {
  size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') i++;
  if (i == 0) return false;
  std::string_view unit = s.substr(i);
  uint64_t mul;
  if (unit.empty() || ArgIs(unit, "b"))
    mul = 1;
  else if (ArgIs(unit, "k"))
    mul = 1000;
  else if (ArgIs(unit, "kb"))
    mul = 1024;
  else if (ArgIs(unit, "m"))
    mul = 1000 * 1000;
  else if (ArgIs(unit, "mb"))
    mul = 1024 * 1024;
  else if (ArgIs(unit, "g"))
    mul = 1000ULL * 1000 * 1000;
  else if (ArgIs(unit, "gb"))
    mul = 1024ULL * 1024 * 1024;
  else
    return false;
  uint64_t v;
  if (!ParseUint64(s.substr(0, i), &v)) return false;
  *out = v * mul;
  return true;
}

const char* const kHelp[] = {
    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message.",
    "LOADAOF",
    "    Flush the AOF buffers on disk and reload the AOF in memory.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "PAUSE-CRON <0|1>",
    "    Stop periodic cron job processing.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Accepted for compatibility: Ferrite keeps every element of a full list in its",
    "    own allocation, so there are no packed nodes to split.",
    "RELOAD",
    "    Save a checkpoint and load it back into memory.",
    "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
    "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
    "    In case NEVER is provided the last observed peak will never be reset",
    "    In case RESET is provided the peak reset time will be restored to the default value",
    "REPLYBUFFER RESIZING <0|1>",
    "    Enable or disable the reply buffer resize cron job",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "SET-DISABLE-DENY-SCRIPTS <0|1>",
    "    Setting it to 1 allows commands flagged noscript inside scripts (for tests).",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "TIER PAUSE|RESUME",
    "    Tiered storage: stop or restart background moves.",
    "HELP",
    "    Prints this help.",
};

void Debug(CommandContext& ctx) {
  auto& a = ctx.args;
  Engine& e = ctx.engine;
  DebugCommandAccess access = e.config().server.enable_debug_command;
  if (access == DebugCommandAccess::kNo ||
      (access == DebugCommandAccess::kLocal && !ctx.session.conn.is_local() &&
       ctx.session.conn.fd >= 0)) {
    return ctx.rb.Error(err::kDebugDisabled);
  }
  std::string_view sub = a[1];
  if (ArgIs(sub, "HELP") && a.size() == 2) {
    ctx.rb.ArrayHeader(std::size(kHelp));
    for (const char* l : kHelp) ctx.rb.SimpleString(l);
    return;
  }
  if (ArgIs(sub, "SLEEP") && a.size() == 3) {
    // As Redis: strtod of whatever is given (garbage is 0), microseconds cast without a check
    // (out of range is negative on x86), and a negative time does not sleep.
    std::string arg(a[2]);
    int64_t us = DoubleToInt64Like86(strtod(arg.c_str(), nullptr) * 1000000.0);
    if (us > 0) std::this_thread::sleep_for(std::chrono::microseconds(us));
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "RELOAD")) {
    // Save a checkpoint, empty the dataset, load the checkpoint back: a round trip of
    // every key through the on-disk format. The options as Redis 7.0's (see ReloadOptions).
    PersistenceControl::ReloadOptions o;
    for (size_t j = 2; j < a.size(); j++) {
      if (ArgIs(a[j], "MERGE")) {
        o.merge = true;
      } else if (ArgIs(a[j], "NOFLUSH")) {
        o.flush = false;
      } else if (ArgIs(a[j], "NOSAVE")) {
        o.save = false;
      } else {
        return ctx.rb.Error(
            "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.");
      }
    }
    PersistenceControl* p = e.persistence();
    if (!p) return ctx.rb.Error("ERR DEBUG RELOAD needs the persistence layer");
    // The dataset is emptied and loaded again: as Redis's emptyData, watched keys change.
    if (o.flush) {
      for (int i = 0; i < e.db_count(); i++) e.TouchWatchedInDb(i, -1);
      e.SignalFlushed();  // tracking clients get the null invalidation, as on FLUSHALL
    }
    Status st = p->DebugReload(o);
    if (!st.ok()) {
      // Redis's reply (its reason goes to the log), and here the same.
      spdlog::warn("DEBUG RELOAD failed: {}", st.message());
      return ctx.rb.Error("ERR Error trying to load the RDB dump");
    }
    spdlog::warn("DB reloaded by DEBUG RELOAD");
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "LOADAOF") && a.size() == 2) {
    PersistenceControl* p = e.persistence();
    if (!p) return ctx.rb.Error("ERR DEBUG LOADAOF needs the persistence layer");
    e.SignalFlushed();  // the dataset is emptied and loaded again
    Status st = p->DebugLoadAof();
    if (!st.ok()) return ctx.rb.Error("ERR Error loading the AOF: " + st.message());
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
      Entry* en = ctx.db().Peek(a[i], ctx.now_ms);
      std::string bytes = en ? ValueDigestBytes(*en) : "";
      XXH128_hash_t h = XXH3_128bits(bytes.data(), bytes.size());
      ctx.rb.SimpleString(en ? fmt::format("{:016x}{:016x}00000000", h.high64, h.low64)
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
    Entry* en = ctx.db().Peek(a[2], -1);  // as Redis: no expiry check
    if (!en) return ctx.rb.Error(err::kNoSuchKey);
    std::string where;  // a value in a tier segment says which tier, file and offset
    if (en->value.tiered() && e.tier()) where = " " + e.tier()->Describe(en->value);
    return ctx.rb.SimpleString(fmt::format(
        "Value at:{} refcount:1 encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}{}",
        static_cast<const void*>(en), RedisEncodingName(en->value),
        en->value.tiered()      ? en->value.tier_length()
        : en->value.is_string() ? en->value.StringLength()
                                : en->value.MemoryUsage(),
        en->lru & 0xFFFFFF, std::max<int64_t>(0, ctx.now_ms / 1000 - int64_t(en->lru)), where));
  }
  if (ArgIs(sub, "TIER") && a.size() == 3 && e.tier()) {  // PAUSE | RESUME background moves
    if (!ArgIs(a[2], "PAUSE") && !ArgIs(a[2], "RESUME"))
      return ctx.rb.Error("ERR DEBUG TIER PAUSE|RESUME");
    e.tier()->set_paused(ArgIs(a[2], "PAUSE"));
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "SET-ACTIVE-EXPIRE") && a.size() == 3) {
    e.active_expire_enabled = atoi(std::string(a[2]).c_str()) != 0;  // Redis's atoi
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "SET-DISABLE-DENY-SCRIPTS") && a.size() == 3) {
    e.script_disable_deny_script = atoi(std::string(a[2]).c_str()) != 0;
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "PROTOCOL") && a.size() == 3) return Protocol(ctx, a[2]);
  if (ArgIs(sub, "QUICKLIST-PACKED-THRESHOLD") && a.size() == 3) {
    uint64_t sz;
    if (!ParseMemory(a[2], &sz) || sz > (1ULL << 32) - (1 << 20)) {
      return ctx.rb.Error("ERR argument must be a memory value bigger than 1 and smaller than 4gb");
    }
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "REPLYBUFFER") && a.size() == 4) {
    if (ArgIs(a[2], "PEAK-RESET-TIME")) {
      if (ArgIs(a[3], "NEVER")) {
        e.reply_buffer_peak_reset_ms = -1;
      } else if (ArgIs(a[3], "RESET")) {
        e.reply_buffer_peak_reset_ms = Engine::kReplyBufferPeakResetMs;
      } else {
        int64_t ms;
        if (!ParseIntArg(ctx, a[3], &ms)) return;
        e.reply_buffer_peak_reset_ms = ms;
      }
    } else if (ArgIs(a[2], "RESIZING")) {
      e.reply_buffer_resizing = a[3] != "0";
    } else {
      return ctx.rb.Error("ERR Syntax error");
    }
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "CHANGE-REPL-ID") && a.size() == 2) {
    spdlog::warn("Changing replication IDs after receiving DEBUG change-repl-id");
    e.ChangeReplicationId();
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "PAUSE-CRON") && a.size() == 3) {
    e.cron_paused = a[2] != "0";
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "LOG") && a.size() == 3) {
    spdlog::warn("DEBUG LOG: {}", a[2]);
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "ERROR") && a.size() == 3) {  // "-CODE text" as given, else "ERR text"
    std::string_view m = a[2];
    return ctx.rb.Error(!m.empty() && m[0] == '-' ? std::string(m.substr(1))
                                                  : "ERR " + std::string(m));
  }
  ctx.rb.Error(err::SubcommandSyntax(sub, ToUpper(a[0].substr(0, a[0].find('\0')))));
}

}  // namespace

void RegisterDebugFamily(CommandTable& t) {
  using namespace cmd;
  t.Add({
      .name = "debug",
      .arity = -2,
      .flags = kAdmin | kNoScript | kStale,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = Debug,
      .group = "server",
      .summary = "A container for debugging commands.",
      .since = "1.0.0",
      .acl_categories = "@admin @slow @dangerous",
  });
}

}  // namespace ferrite
