// String commands: GET/SET and friends, counters, ranges. Bit commands live in
// bitops_family.cc.

#include <cmath>
#include <memory>
#include <new>

#include "base/strutil.h"
#include "commands/command_table.h"
#include "commands/family_util.h"

namespace ferrite {
namespace {

// Reads a string key. Replies WRONGTYPE on other types. Returns false if it replied.
bool GetStringValue(CommandContext& ctx, std::string_view key, std::string* scratch,
                    std::string_view* out, bool* found) {
  bool wrong;
  Entry* e = FindTyped(ctx, key, ValueType::kString, &wrong);
  if (wrong) return false;
  *found = e != nullptr;
  if (e) *out = e->value.GetString(scratch);
  return true;
}

// SET / GETEX options, as Redis's parseExtendedStringArgumentsOrReply: NX and XX exclude
// each other, the four expiry forms, KEEPTTL (SET) and PERSIST (GETEX) exclude each other, but
// an option may repeat (SET k v EX 1 EX 2: the last amount counts).
enum SetFlag : uint32_t {
  kSetNx = 1,
  kSetXx = 2,
  kSetGet = 4,
  kKeepTtl = 8,
  kPersist = 16,
  kEx = 32,
  kPx = 64,
  kExAt = 128,
  kPxAt = 256,
};
constexpr uint32_t kAnyExpire = kEx | kPx | kExAt | kPxAt;

bool ParseStringOptions(CommandContext& ctx, bool is_get, uint32_t* flags,
                        std::string_view* expire) {
  auto& a = ctx.args;
  for (size_t j = is_get ? 2 : 3; j < a.size(); j++) {
    std::string_view o = a[j];
    bool next = j + 1 < a.size();
    uint32_t f = *flags;
    if (!is_get && ArgIs(o, "NX") && !(f & kSetXx)) {
      *flags |= kSetNx;
    } else if (!is_get && ArgIs(o, "XX") && !(f & kSetNx)) {
      *flags |= kSetXx;
    } else if (!is_get && ArgIs(o, "GET")) {
      *flags |= kSetGet;
    } else if (!is_get && ArgIs(o, "KEEPTTL") && !(f & (kPersist | kAnyExpire))) {
      *flags |= kKeepTtl;
    } else if (is_get && ArgIs(o, "PERSIST") && !(f & (kAnyExpire | kKeepTtl))) {
      *flags |= kPersist;
    } else if (ArgIs(o, "EX") && !(f & (kKeepTtl | kPersist | kExAt | kPx | kPxAt)) && next) {
      *flags |= kEx;
      *expire = a[++j];
    } else if (ArgIs(o, "PX") && !(f & (kKeepTtl | kPersist | kEx | kExAt | kPxAt)) && next) {
      *flags |= kPx;
      *expire = a[++j];
    } else if (ArgIs(o, "EXAT") && !(f & (kKeepTtl | kPersist | kEx | kPx | kPxAt)) && next) {
      *flags |= kExAt;
      *expire = a[++j];
    } else if (ArgIs(o, "PXAT") && !(f & (kKeepTtl | kPersist | kEx | kExAt | kPx)) && next) {
      *flags |= kPxAt;
      *expire = a[++j];
    } else {
      ctx.rb.Error(err::kSyntax);
      return false;
    }
  }
  return true;
}

// An EX/PX/EXAT/PXAT amount as an absolute unix ms time, as Redis's
// getExpireMillisecondsOrReply: not positive, seconds that overflow when made milliseconds, or
// a relative time that overflows when the current time is added, are "invalid expire time".
bool ParseExpireArg(CommandContext& ctx, uint32_t flags, std::string_view amount, const char* cmd,
                    int64_t* when_ms) {
  int64_t v;
  if (!GetLongOrReply(ctx, amount, &v)) return false;
  bool secs = flags & (kEx | kExAt);
  if (v <= 0 || (secs && v > INT64_MAX / 1000)) {
    ctx.rb.Error(err::InvalidExpireTime(cmd));
    return false;
  }
  if (secs) v *= 1000;
  if ((flags & (kEx | kPx)) && __builtin_add_overflow(v, ctx.now_ms, &v)) {
    ctx.rb.Error(err::InvalidExpireTime(cmd));
    return false;
  }
  *when_ms = v;
  return true;
}

void Get(CommandContext& ctx) {
  std::string scratch;
  std::string_view v;
  bool found;
  if (!GetStringValue(ctx, ctx.args[1], &scratch, &v, &found)) return;
  if (found)
    ctx.rb.Bulk(v);
  else
    ctx.rb.Null();
}

// Sets key to value with an optional absolute expiry (0 = none), propagating the effect
// with an absolute PXAT so replay does not extend TTLs.
void DoSet(CommandContext& ctx, std::string_view key, std::string_view value, int64_t when_ms,
           bool keep_ttl) {
  Database& db = ctx.db();
  Entry* e = db.Set(key, Value::String(value), keep_ttl, ctx.now_ms);
  ctx.NotifyModified(key);
  ctx.Notify(notify::kString, "set", key);
  if (when_ms > 0) ctx.Notify(notify::kGeneric, "expire", key);
  if (when_ms > 0 && ExpireAtOrDelete(ctx, e, key, when_ms)) return;
  if (!ctx.propagating()) {
    ctx.custom_propagation = true;
    return;
  }
  if (when_ms > 0) {
    ctx.PropagateAs({"SET", std::string(key), std::string(value), "PXAT", FormatInt64(when_ms)});
  } else if (keep_ttl) {
    ctx.PropagateAs({"SET", std::string(key), std::string(value), "KEEPTTL"});
  } else {
    ctx.PropagateAs({"SET", std::string(key), std::string(value)});
  }
}

void Set(CommandContext& ctx) {
  auto& a = ctx.args;
  uint32_t flags = 0;
  std::string_view expire;
  if (!ParseStringOptions(ctx, false, &flags, &expire)) return;
  int64_t when = 0;
  if ((flags & kAnyExpire) && !ParseExpireArg(ctx, flags, expire, "set", &when)) return;
  bool get = flags & kSetGet;
  std::string old;
  bool had_old = false;
  Database& db = ctx.db();
  // A read (hit/miss, keymiss) only with GET, as Redis; otherwise a write lookup.
  Entry* e = get ? db.Find(a[1], ctx.now_ms) : db.Peek(a[1], ctx.now_ms);
  if (get && e) {
    if (!e->value.is_string()) return ctx.rb.Error(err::kWrongType);
    std::string scratch;
    old.assign(e->value.GetString(&scratch));
    had_old = true;
  }
  bool ok = !(((flags & kSetNx) && e) || ((flags & kSetXx) && !e));
  if (ok) DoSet(ctx, a[1], a[2], when, flags & kKeepTtl);
  if (get) {
    if (had_old)
      ctx.rb.Bulk(old);
    else
      ctx.rb.Null();
  } else if (ok) {
    ctx.rb.Ok();
  } else {
    ctx.rb.Null();
  }
}

void SetNx(CommandContext& ctx) {
  if (ctx.db().Peek(ctx.args[1], ctx.now_ms)) return ctx.rb.Integer(0);
  DoSet(ctx, ctx.args[1], ctx.args[2], 0, false);
  ctx.rb.Integer(1);
}

void SetExGeneric(CommandContext& ctx, uint32_t unit, const char* name) {
  int64_t when;
  if (!ParseExpireArg(ctx, unit, ctx.args[2], name, &when)) return;
  DoSet(ctx, ctx.args[1], ctx.args[3], when, false);
  ctx.rb.Ok();
}
void SetEx(CommandContext& ctx) { SetExGeneric(ctx, kEx, "setex"); }
void PSetEx(CommandContext& ctx) { SetExGeneric(ctx, kPx, "psetex"); }

void GetSet(CommandContext& ctx) {
  std::string scratch, old;
  std::string_view v;
  bool found;
  if (!GetStringValue(ctx, ctx.args[1], &scratch, &v, &found)) return;
  if (found) old.assign(v);
  DoSet(ctx, ctx.args[1], ctx.args[2], 0, false);
  if (found)
    ctx.rb.Bulk(old);
  else
    ctx.rb.Null();
}

void GetDel(CommandContext& ctx) {
  std::string scratch;
  std::string_view v;
  bool found;
  if (!GetStringValue(ctx, ctx.args[1], &scratch, &v, &found)) return;
  if (!found) return ctx.rb.Null();
  std::string old(v);
  ctx.db().Delete(ctx.args[1]);
  ctx.NotifyModified(ctx.args[1]);
  ctx.Notify(notify::kGeneric, "del", ctx.args[1]);
  ctx.PropagateAs({"DEL", std::string(ctx.args[1])});
  ctx.rb.Bulk(old);
}

// GETEX: options, then the key (missing: nil, before the expiry amount is even checked), its
// type, then the amount, as Redis.
void GetEx(CommandContext& ctx) {
  auto& a = ctx.args;
  uint32_t flags = 0;
  std::string_view expire;
  if (!ParseStringOptions(ctx, true, &flags, &expire)) return;
  bool set_ttl = flags & kAnyExpire;
  bool persist = flags & kPersist;
  bool wrong;
  Entry* e = FindTyped(ctx, a[1], ValueType::kString, &wrong, set_ttl || persist);
  if (wrong) return;
  if (!e) return ctx.rb.Null();
  int64_t when = 0;
  if (set_ttl && !ParseExpireArg(ctx, flags, expire, "getex", &when)) return;
  std::string scratch;
  std::string val(e->value.GetString(&scratch));
  Database& db = ctx.db();
  std::string key(a[1]);
  if (set_ttl) {
    SetExpireCommandEffect(ctx, e, key, when);
  } else if (persist && e->has_expire()) {
    db.ClearExpire(e);
    ctx.PropagateAs({"PERSIST", key});
    ctx.NotifyModified(key);
    ctx.Notify(notify::kGeneric, "persist", key);
  }
  ctx.rb.Bulk(val);
}

void MGet(CommandContext& ctx) {
  ctx.rb.ArrayHeader(ctx.args.size() - 1);
  std::string scratch;
  for (size_t i = 1; i < ctx.args.size(); i++) {
    Entry* e = ctx.db().Find(ctx.args[i], ctx.now_ms);
    if (e && e->value.is_string())
      ctx.rb.Bulk(e->value.GetString(&scratch));
    else
      ctx.rb.Null();
  }
}

void MSetGeneric(CommandContext& ctx, bool nx) {
  if (ctx.args.size() % 2 == 0) {
    return ctx.rb.Error(err::WrongArity(nx ? "msetnx" : "mset"));
  }
  if (nx) {
    for (size_t i = 1; i < ctx.args.size(); i += 2) {
      if (ctx.db().Peek(ctx.args[i], ctx.now_ms)) return ctx.rb.Integer(0);
    }
  }
  for (size_t i = 1; i < ctx.args.size(); i += 2) {
    ctx.db().Set(ctx.args[i], Value::String(ctx.args[i + 1]), false, ctx.now_ms);
    ctx.NotifyModified(ctx.args[i]);
    ctx.Notify(notify::kString, "set", ctx.args[i]);
  }
  if (nx)
    ctx.rb.Integer(1);
  else
    ctx.rb.Ok();
}
void MSet(CommandContext& ctx) { MSetGeneric(ctx, false); }
void MSetNx(CommandContext& ctx) { MSetGeneric(ctx, true); }

void IncrByGeneric(CommandContext& ctx, int64_t by) {
  bool wrong;
  Entry* e = FindTyped(ctx, ctx.args[1], ValueType::kString, &wrong, true);
  if (wrong) return;
  int64_t cur = 0;
  if (e && !e->value.GetInt(&cur)) return ctx.rb.Error(err::kNotInt);
  if ((by < 0 && cur < 0 && by < INT64_MIN - cur) || (by > 0 && cur > 0 && by > INT64_MAX - cur)) {
    return ctx.rb.Error(err::kOverflow);
  }
  int64_t nv = cur + by;
  if (e)
    e->value = Value::Int(nv);  // keeps the TTL, as Redis does
  else
    ctx.db().Insert(ctx.args[1], Value::Int(nv));
  ctx.NotifyModified(ctx.args[1]);
  ctx.Notify(notify::kString, "incrby", ctx.args[1]);
  ctx.rb.Integer(nv);
}

void Incr(CommandContext& ctx) { IncrByGeneric(ctx, 1); }
void Decr(CommandContext& ctx) { IncrByGeneric(ctx, -1); }
void IncrBy(CommandContext& ctx) {
  int64_t by;
  if (ParseIntArg(ctx, ctx.args[2], &by)) IncrByGeneric(ctx, by);
}
void DecrBy(CommandContext& ctx) {
  int64_t by;
  if (!ParseIntArg(ctx, ctx.args[2], &by)) return;
  if (by == INT64_MIN) return ctx.rb.Error(err::kDecrOverflow);
  IncrByGeneric(ctx, -by);
}

// INCRBYFLOAT: the key's type and value are checked before the increment (as Redis); an
// infinite increment parses ("inf") and is refused as a result that is not finite.
void IncrByFloat(CommandContext& ctx) {
  bool wrong;
  Entry* e = FindTyped(ctx, ctx.args[1], ValueType::kString, &wrong, true);
  if (wrong) return;
  long double cur = 0, by;
  if (e) {
    std::string scratch;
    if (!GetLongDoubleOrReply(ctx, e->value.GetString(&scratch), &cur)) return;
  }
  if (!GetLongDoubleOrReply(ctx, ctx.args[2], &by)) return;
  long double nv = cur + by;
  if (std::isnan(nv) || std::isinf(nv)) return ctx.rb.Error(err::kNanOrInf);
  std::string s = FormatLongDoubleHuman(nv);
  if (e)
    e->value = Value::String(s);
  else
    ctx.db().Insert(ctx.args[1], Value::String(s));
  ctx.NotifyModified(ctx.args[1]);
  ctx.Notify(notify::kString, "incrbyfloat", ctx.args[1]);
  // The effect, not the increment: replay must not depend on float rounding.
  ctx.PropagateAs({"SET", std::string(ctx.args[1]), s, "KEEPTTL"});
  ctx.rb.Bulk(s);
}

void Append(CommandContext& ctx) {
  bool wrong;
  Entry* e = FindTyped(ctx, ctx.args[1], ValueType::kString, &wrong, true);
  if (wrong) return;
  std::string_view add = ctx.args[2];
  if (!e) {
    ctx.db().Insert(ctx.args[1], Value::String(add));
    ctx.NotifyModified(ctx.args[1]);
    ctx.Notify(notify::kString, "append", ctx.args[1]);
    return ctx.rb.Integer(int64_t(add.size()));
  }
  size_t old = e->value.StringLength();
  if (!CheckStringSize(ctx, old + add.size())) return;
  char* p = e->value.MutableString(old + add.size());
  memcpy(p + old, add.data(), add.size());
  ctx.NotifyModified(ctx.args[1]);
  ctx.Notify(notify::kString, "append", ctx.args[1]);
  ctx.rb.Integer(int64_t(old + add.size()));
}

void StrLen(CommandContext& ctx) {
  bool wrong;
  Entry* e = FindTyped(ctx, ctx.args[1], ValueType::kString, &wrong);
  if (wrong) return;
  ctx.rb.Integer(e ? int64_t(e->value.StringLength()) : 0);
}

void GetRange(CommandContext& ctx) {
  int64_t start, end;
  if (!ParseIntArg(ctx, ctx.args[2], &start) || !ParseIntArg(ctx, ctx.args[3], &end)) return;
  std::string scratch;
  std::string_view v;
  bool found;
  if (!GetStringValue(ctx, ctx.args[1], &scratch, &v, &found)) return;
  int64_t len = int64_t(v.size());
  if (!found || len == 0 || (start < 0 && end < 0 && start > end)) return ctx.rb.Bulk("");
  if (start < 0) start += len;
  if (end < 0) end += len;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end) return ctx.rb.Bulk("");
  ctx.rb.Bulk(v.substr(size_t(start), size_t(end - start + 1)));
}

void SetRange(CommandContext& ctx) {
  int64_t off;
  if (!ParseIntArg(ctx, ctx.args[2], &off)) return;
  if (off < 0) return ctx.rb.Error(err::kOffsetRange);
  std::string_view val = ctx.args[3];
  bool wrong;
  Entry* e = FindTyped(ctx, ctx.args[1], ValueType::kString, &wrong, true);
  if (wrong) return;
  if (!e) {
    if (val.empty()) return ctx.rb.Integer(0);
    if (!CheckStringSize(ctx, uint64_t(off) + val.size())) return;
    e = ctx.db().Insert(ctx.args[1], Value::String(""));
  } else if (val.empty()) {
    return ctx.rb.Integer(int64_t(e->value.StringLength()));
  } else if (!CheckStringSize(ctx, uint64_t(off) + val.size())) {
    return;
  }
  size_t old = e->value.StringLength();
  size_t need = std::max(old, size_t(off) + val.size());
  char* p = e->value.MutableString(need);
  memcpy(p + off, val.data(), val.size());
  ctx.NotifyModified(ctx.args[1]);
  ctx.Notify(notify::kString, "setrange", ctx.args[1]);
  ctx.rb.Integer(int64_t(need));
}

// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]: the longest common subsequence
// by the classic dynamic-programming table (Redis's algorithm, so ties resolve the same
// way). The table is (len1+1)*(len2+1) 32-bit cells; more than proto-max-bulk-len bytes of
// it is refused, as Redis refuses it.
void Lcs(CommandContext& ctx) {
  auto& a = ctx.args;
  Database& db = ctx.db();
  Entry* ea = db.Find(a[1], ctx.now_ms);
  Entry* eb = db.Find(a[2], ctx.now_ms);
  if ((ea && !ea->value.is_string()) || (eb && !eb->value.is_string())) {
    return ctx.rb.Error("ERR The specified keys must contain string values");
  }
  std::string sa_buf, sb_buf;
  std::string sa(ea ? ea->value.GetString(&sa_buf) : std::string_view());
  std::string sb(eb ? eb->value.GetString(&sb_buf) : std::string_view());
  bool getlen = false, getidx = false, withmatchlen = false;
  int64_t minmatchlen = 0;
  for (size_t j = 3; j < a.size(); j++) {
    bool more = j + 1 < a.size();
    if (ArgIs(a[j], "IDX")) {
      getidx = true;
    } else if (ArgIs(a[j], "LEN")) {
      getlen = true;
    } else if (ArgIs(a[j], "WITHMATCHLEN")) {
      withmatchlen = true;
    } else if (ArgIs(a[j], "MINMATCHLEN") && more) {
      if (!ParseIntArg(ctx, a[j + 1], &minmatchlen)) return;
      if (minmatchlen < 0) minmatchlen = 0;
      j++;
    } else {
      return ctx.rb.Error(err::kSyntax);
    }
  }
  if (getlen && getidx) {
    return ctx.rb.Error("ERR If you want both the length and indexes, please just use IDX.");
  }
  if (sa.size() >= UINT32_MAX - 1 || sb.size() >= UINT32_MAX - 1) {
    return ctx.rb.Error("ERR String too long for LCS");
  }
  uint64_t alen = sa.size(), blen = sb.size();
  uint64_t cells = (alen + 1) * (blen + 1);
  uint64_t bytes = cells * sizeof(uint32_t);
  if (bytes > uint64_t(ctx.engine.config().server.proto_max_bulk_len)) {
    return ctx.rb.Error(
        "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
  }
  std::unique_ptr<uint32_t[]> table(new (std::nothrow) uint32_t[cells]);
  if (!table) {
    return ctx.rb.Error("ERR Insufficient memory, failed allocating transient memory for LCS");
  }
  auto at = [&](uint64_t i, uint64_t j) -> uint32_t& { return table[j + i * (blen + 1)]; };
  for (uint64_t i = 0; i <= alen; i++) {
    for (uint64_t j = 0; j <= blen; j++) {
      if (i == 0 || j == 0)
        at(i, j) = 0;
      else if (sa[i - 1] == sb[j - 1])
        at(i, j) = at(i - 1, j - 1) + 1;
      else
        at(i, j) = std::max(at(i - 1, j), at(i, j - 1));
    }
  }
  uint32_t total = at(alen, blen);
  if (getlen) return ctx.rb.Integer(total);
  // Walk back from the end, collecting the subsequence and the matching ranges.
  std::string result(total, '\0');
  struct Range {
    uint64_t a0, a1, b0, b1;
  };
  std::vector<Range> ranges;
  uint64_t idx = total;
  uint64_t i = alen, j = blen;
  bool in_range = false;
  Range cur{};
  while (i > 0 && j > 0) {
    bool emit = false;
    if (sa[i - 1] == sb[j - 1]) {
      result[idx - 1] = sa[i - 1];
      if (!in_range) {
        cur = {i - 1, i - 1, j - 1, j - 1};
        in_range = true;
      } else if (cur.a0 == i && cur.b0 == j) {
        cur.a0--;
        cur.b0--;
      } else {
        emit = true;
      }
      if (cur.a0 == 0 || cur.b0 == 0) emit = true;
      idx--;
      i--;
      j--;
    } else {
      if (at(i - 1, j) > at(i, j - 1))
        i--;
      else
        j--;
      if (in_range) emit = true;
    }
    if (emit) {
      uint64_t len = cur.a1 - cur.a0 + 1;
      if (minmatchlen == 0 || int64_t(len) >= minmatchlen) ranges.push_back(cur);
      in_range = false;
    }
  }
  if (!getidx) return ctx.rb.Bulk(result);
  ctx.rb.MapHeader(2);
  ctx.rb.Bulk("matches");
  ctx.rb.ArrayHeader(ranges.size());
  for (const Range& r : ranges) {
    ctx.rb.ArrayHeader(withmatchlen ? 3 : 2);
    ctx.rb.ArrayHeader(2);
    ctx.rb.Integer(int64_t(r.a0));
    ctx.rb.Integer(int64_t(r.a1));
    ctx.rb.ArrayHeader(2);
    ctx.rb.Integer(int64_t(r.b0));
    ctx.rb.Integer(int64_t(r.b1));
    if (withmatchlen) ctx.rb.Integer(int64_t(r.a1 - r.a0 + 1));
  }
  ctx.rb.Bulk("len");
  ctx.rb.Integer(total);
}

}  // namespace

void RegisterStringFamily(CommandTable& t) {
  using namespace cmd;
  const char* g = "string";
  t.Add({"get", 2, kReadOnly | kFast, 1, 1, 1, Get, g, "Returns the string value of a key.",
         "1.0.0", "@read @string @fast"});
  t.Add(
      {"set", -3, kWrite | kDenyOom, 1, 1, 1, Set, g,
       "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
       "1.0.0", "@write @string @slow"});
  t.Add({"setnx", 3, kWrite | kDenyOom | kFast, 1, 1, 1, SetNx, g,
         "Set the string value of a key only when the key doesn't exist.", "1.0.0",
         "@write @string @fast"});
  t.Add({"setex", 4, kWrite | kDenyOom, 1, 1, 1, SetEx, g,
         "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.",
         "2.0.0", "@write @string @slow"});
  t.Add({"psetex", 4, kWrite | kDenyOom, 1, 1, 1, PSetEx, g,
         "Sets both string value and expiration time in milliseconds of a key. The key is created "
         "if it doesn't exist.",
         "2.6.0", "@write @string @slow"});
  t.Add({"getset", 3, kWrite | kDenyOom | kFast, 1, 1, 1, GetSet, g,
         "Returns the previous string value of a key after setting it to a new value.", "1.0.0",
         "@write @string @fast"});
  t.Add({"getdel", 2, kWrite | kFast, 1, 1, 1, GetDel, g,
         "Returns the string value of a key after deleting the key.", "6.2.0",
         "@write @string @fast"});
  t.Add({"getex", -2, kWrite | kFast, 1, 1, 1, GetEx, g,
         "Returns the string value of a key after setting its expiration time.", "6.2.0",
         "@write @string @fast"});
  t.Add({"mget", -2, kReadOnly | kFast, 1, -1, 1, MGet, g,
         "Atomically returns the string values of one or more keys.", "1.0.0",
         "@read @string @fast"});
  t.Add({"mset", -3, kWrite | kDenyOom, 1, -1, 2, MSet, g,
         "Atomically creates or modifies the string values of one or more keys.", "1.0.1",
         "@write @string @slow"});
  t.Add(
      {"msetnx", -3, kWrite | kDenyOom, 1, -1, 2, MSetNx, g,
       "Atomically modifies the string values of one or more keys only when all keys don't exist.",
       "1.0.1", "@write @string @slow"});
  t.Add({"incr", 2, kWrite | kDenyOom | kFast, 1, 1, 1, Incr, g,
         "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't "
         "exist.",
         "1.0.0", "@write @string @fast"});
  t.Add({"decr", 2, kWrite | kDenyOom | kFast, 1, 1, 1, Decr, g,
         "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't "
         "exist.",
         "1.0.0", "@write @string @fast"});
  t.Add({"incrby", 3, kWrite | kDenyOom | kFast, 1, 1, 1, IncrBy, g,
         "Increments the integer value of a key by a number. Uses 0 as initial value if the key "
         "doesn't exist.",
         "1.0.0", "@write @string @fast"});
  t.Add({"decrby", 3, kWrite | kDenyOom | kFast, 1, 1, 1, DecrBy, g,
         "Decrements a number from the integer value of a key. Uses 0 as initial value if the key "
         "doesn't exist.",
         "1.0.0", "@write @string @fast"});
  t.Add({"incrbyfloat", 3, kWrite | kDenyOom | kFast, 1, 1, 1, IncrByFloat, g,
         "Increment the floating point value of a key by a number. Uses 0 as initial value if the "
         "key doesn't exist.",
         "2.6.0", "@write @string @fast"});
  t.Add({"append", 3, kWrite | kDenyOom | kFast, 1, 1, 1, Append, g,
         "Appends a string to the value of a key. Creates the key if it doesn't exist.", "2.0.0",
         "@write @string @fast"});
  t.Add({"strlen", 2, kReadOnly | kFast, 1, 1, 1, StrLen, g,
         "Returns the length of a string value.", "2.2.0", "@read @string @fast"});
  t.Add({"getrange", 4, kReadOnly, 1, 1, 1, GetRange, g,
         "Returns a substring of the string stored at a key.", "2.4.0", "@read @string @slow"});
  t.Add({"substr", 4, kReadOnly, 1, 1, 1, GetRange, g, "Returns a substring from a string value.",
         "1.0.0", "@read @string @slow"});
  t.Add({"lcs", -3, kReadOnly, 1, 2, 1, Lcs, g, "Finds the longest common substring.", "7.0.0",
         "@read @string @slow"});
  t.Add({"setrange", 4, kWrite | kDenyOom, 1, 1, 1, SetRange, g,
         "Overwrites a part of a string value with another by an offset. Creates the key if it "
         "doesn't exist.",
         "2.2.0", "@write @string @slow"});
}

}  // namespace ferrite
