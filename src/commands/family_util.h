#pragma once
// Small helpers shared by the *_family.cc handlers.

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "base/strutil.h"
#include "commands/command.h"
#include "commands/engine.h"
#include "commands/errors.h"
#include "keyspace/db.h"
#include "types/collections.h"

namespace ferrite {

// Looks a key up for reading. Returns nullptr if absent. If present with another type,
// replies WRONGTYPE, sets *wrongtype and returns nullptr.
inline Entry* FindTyped(CommandContext& ctx, std::string_view key, ValueType t, bool* wrongtype,
                        bool for_write = false) {
  *wrongtype = false;
  Database& db = ctx.db();
  Entry* e = for_write ? db.FindForWrite(key, ctx.now_ms) : db.Find(key, ctx.now_ms);
  if (e && e->value.type() != t) {
    ctx.rb.Error(err::kWrongType);
    *wrongtype = true;
    return nullptr;
  }
  return e;
}

// An option keyword, compared as Redis compares it (strcasecmp on a C string): the argument up
// to its first NUL byte, ignoring case. "nx\0junk" is NX there, and here.
// The one rule for a command that gives a key an absolute expiry `when_ms` (Redis's
// expireGenericCommand, setGenericCommand, getexCommand): a time already past deletes the
// key and the command is propagated as DEL (a replay or replica must not resurrect it);
// any other time is set, and the caller propagates its own absolute form (PEXPIREAT,
// SET ... PXAT) so a later replay gives the same expiry, never a relative TTL counted
// again from the replay's clock. Returns true when the key was deleted.
inline bool ExpireAtOrDelete(CommandContext& ctx, Entry* e, std::string_view key, int64_t when_ms) {
  Database& db = ctx.db();
  if (db.ExpiredAt(when_ms, ctx.now_ms)) {
    db.Delete(e);
    ctx.PropagateAs({"DEL", std::string(key)});
    return true;
  }
  db.SetExpire(e, when_ms);
  return false;
}

// ExpireAtOrDelete for the commands whose only effect is the expiry (EXPIRE and its
// forms, GETEX): PEXPIREAT propagated and the "expire" event, or DEL and "del".
inline void SetExpireCommandEffect(CommandContext& ctx, Entry* e, std::string_view key,
                                   int64_t when_ms) {
  if (ExpireAtOrDelete(ctx, e, key, when_ms)) {
    ctx.NotifyModified(key);
    ctx.Notify(notify::kGeneric, "del", key);
    return;
  }
  ctx.PropagateAs({"PEXPIREAT", std::string(key), FormatInt64(when_ms)});
  ctx.NotifyModified(key);
  ctx.Notify(notify::kGeneric, "expire", key);
}

inline bool ArgIs(std::string_view arg, std::string_view upper) {
  size_t nul = arg.find('\0');
  if (nul != std::string_view::npos) arg = arg.substr(0, nul);
  return EqualsIgnoreCase(arg, upper);
}

// CLIENT SETNAME / HELLO SETNAME: printable ASCII without spaces.
inline bool ValidClientName(std::string_view n) {
  for (char c : n) {
    if (c < '!' || c > '~') return false;
  }
  return true;
}

// Max string size (proto-max-bulk-len) for SETRANGE/APPEND/SETBIT growth checks.
inline bool CheckStringSize(CommandContext& ctx, uint64_t size) {
  if (size > uint64_t(ctx.engine.config().server.proto_max_bulk_len)) {
    ctx.rb.Error(err::kStringTooBig);
    return false;
  }
  return true;
}

inline CollectionLimits Limits(CommandContext& ctx) {
  return LimitsFromConfig(ctx.engine.config());
}

// Deletes the key if its collection became empty (Redis never keeps empty collections).
inline void DeleteIfEmpty(CommandContext& ctx, Entry* e, size_t len) {
  if (len == 0) ctx.db().Delete(e);
}
// The same, with the "del" keyspace event Redis sends for it. True if deleted.
inline bool DeleteIfEmpty(CommandContext& ctx, Entry* e, size_t len, std::string_view key) {
  if (len != 0) return false;
  std::string k(key);  // key may live in the entry being deleted
  ctx.db().Delete(e);
  ctx.Notify(notify::kGeneric, "del", k);
  return true;
}

// HDEL / SREM / ZREM: removes args[2..] from the collection of type t at args[1] and replies
// how many were there; an emptied collection is deleted.
template <typename Remove, typename Len>
void RemoveMembersCommand(CommandContext& ctx, ValueType t, Remove remove, Len len,
                          uint32_t notify_type, const char* event) {
  bool wrong;
  Entry* e = FindTyped(ctx, ctx.args[1], t, &wrong, true);
  if (wrong) return;
  if (!e) return ctx.rb.Integer(0);
  int64_t n = 0;
  for (size_t i = 2; i < ctx.args.size(); i++) n += remove(e->value, ctx.args[i]);
  if (n) {
    ctx.Notify(notify_type, event, ctx.args[1]);
    DeleteIfEmpty(ctx, e, len(e->value), ctx.args[1]);
    ctx.NotifyModified(ctx.args[1]);
  }
  ctx.rb.Integer(n);
}

// ---- Argument parsing with Redis 7.0's exact rules and error texts (object.c). Each
// replies the error and returns false when the argument is refused.

// getLongFromObjectOrReply: a strict int64 (string2ll); msg replaces the default error.
inline bool GetLongOrReply(CommandContext& ctx, std::string_view s, int64_t* out,
                           const char* msg = nullptr) {
  if (ParseInt64(s, out)) return true;
  ctx.rb.Error(msg ? msg : err::kNotInt);
  return false;
}

// getRangeLongFromObjectOrReply: an int64 within [min, max]. msg (when given) is the error
// for both a bad number and one out of range, as in Redis.
inline bool GetRangeLongOrReply(CommandContext& ctx, std::string_view s, int64_t min, int64_t max,
                                int64_t* out, const char* msg = nullptr) {
  if (!GetLongOrReply(ctx, s, out, msg)) return false;
  if (*out < min || *out > max) {
    if (msg)
      ctx.rb.Error(msg);
    else
      ctx.rb.Error("ERR value is out of range, value must between " + FormatInt64(min) + " and " +
                   FormatInt64(max));
    return false;
  }
  return true;
}

// getPositiveLongFromObjectOrReply: 0..INT64_MAX; without msg both errors read "value is out
// of range, must be positive" (Redis passes that text down for the parse error too).
inline bool GetPositiveLongOrReply(CommandContext& ctx, std::string_view s, int64_t* out,
                                   const char* msg = nullptr) {
  return GetRangeLongOrReply(ctx, s, 0, INT64_MAX, out,
                             msg ? msg : "ERR value is out of range, must be positive");
}

// The former name, kept for the handlers that use it: a non-negative integer, one error text.
inline bool ParsePositive(CommandContext& ctx, std::string_view s, int64_t* out, const char* err) {
  return GetPositiveLongOrReply(ctx, s, out, err);
}

// getDoubleFromObjectOrReply (string2d).
inline bool GetDoubleOrReply(CommandContext& ctx, std::string_view s, double* out,
                             const char* msg = nullptr) {
  if (ParseDouble(s, out)) return true;
  ctx.rb.Error(msg ? msg : err::kNotFloat);
  return false;
}

// getLongDoubleFromObjectOrReply (string2ld).
inline bool GetLongDoubleOrReply(CommandContext& ctx, std::string_view s, long double* out,
                                 const char* msg = nullptr) {
  if (ParseLongDouble(s, out)) return true;
  ctx.rb.Error(msg ? msg : err::kNotFloat);
  return false;
}

// A long double to int64 as x86's conversion does it (Redis casts without a check): a value
// outside the int64 range (or not a number) becomes INT64_MIN. Never undefined behaviour.
inline int64_t LongDoubleToInt64Like86(long double v) {
  if (!(v >= -9223372036854775808.0L && v < 9223372036854775808.0L)) return INT64_MIN;
  return int64_t(v);
}
inline int64_t DoubleToInt64Like86(double v) {
  if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0)) return INT64_MIN;
  return int64_t(v);
}

// a + b, saturating at the int64 limits (deadlines built from client numbers).
inline int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}

// SCAN cursors: Redis parses them with strtoul, so "-1" is 18446744073709551615, "" and "+5"
// are accepted, a leading space or any trailing byte is not (parseScanCursorOrReply).
inline bool ParseScanCursor(CommandContext& ctx, std::string_view s, uint64_t* cursor) {
  std::string c(s);
  char* end;
  errno = 0;
  unsigned long long v = strtoull(c.c_str(), &end, 10);
  if ((!c.empty() && isspace(static_cast<unsigned char>(c[0]))) || *end != '\0' ||
      errno == ERANGE) {
    ctx.rb.Error(err::kInvalidCursor);
    return false;
  }
  *cursor = uint64_t(v);
  return true;
}

// SCAN-family options after the cursor: MATCH pattern, COUNT n (>= 1), and for the keyspace
// SCAN only, TYPE name. Parsed as Redis's scanGenericCommand does, after the key lookup.
struct ScanOpts {
  std::string_view pattern;
  bool use_pattern = false;
  int64_t count = 10;
  bool has_type = false;
  std::string_view type;
};
inline bool ParseScanOpts(CommandContext& ctx, size_t from, ScanOpts* o, bool allow_type = false) {
  auto& a = ctx.args;
  for (size_t i = from; i < a.size();) {
    size_t left = a.size() - i;
    if (ArgIs(a[i], "COUNT") && left >= 2) {
      if (!GetLongOrReply(ctx, a[i + 1], &o->count)) return false;
      if (o->count < 1) {
        ctx.rb.Error(err::kSyntax);
        return false;
      }
      i += 2;
    } else if (ArgIs(a[i], "MATCH") && left >= 2) {
      o->pattern = a[i + 1];
      o->use_pattern = !(o->pattern.size() == 1 && o->pattern[0] == '*');
      i += 2;
    } else if (allow_type && ArgIs(a[i], "TYPE") && left >= 2) {
      o->has_type = true;
      o->type = a[i + 1];
      i += 2;
    } else {
      ctx.rb.Error(err::kSyntax);
      return false;
    }
  }
  return true;
}
// The reply to a SCAN-family command on a missing key (shared.emptyscan).
inline void ScanEmptyReply(CommandContext& ctx) {
  ctx.rb.ArrayHeader(2);
  ctx.rb.Bulk("0");
  ctx.rb.EmptyArray();
}
// HSCAN, SSCAN, ZSCAN: the cursor, then the key (find(&wrongtype); a missing key answers an
// empty scan whatever the options), then the options, as Redis. The entry, or nullptr when
// a reply (an error or the empty scan) went out.
template <typename Find>
Entry* StartCollectionScan(CommandContext& ctx, Find&& find, uint64_t* cursor, ScanOpts* o) {
  if (!ParseScanCursor(ctx, ctx.args[2], cursor)) return nullptr;
  bool wrong;
  Entry* e = find(&wrong);
  if (wrong) return nullptr;
  if (!e) {
    ScanEmptyReply(ctx);
    return nullptr;
  }
  return ParseScanOpts(ctx, 3, o) ? e : nullptr;
}

// HRANDFIELD, SRANDMEMBER, ZRANDMEMBER on a missing key: an empty array with a count, else
// a null.
inline void RandomOnMissingKey(CommandContext& ctx, bool with_count) {
  if (with_count)
    ctx.rb.EmptyArray();
  else
    ctx.rb.Null();
}

inline bool ScanMatch(const ScanOpts& o, std::string_view s) {
  return !o.use_pattern || GlobMatch(o.pattern, s);
}

// Blocking commands: the timeout argument (seconds, fractional; 0 = forever) as an absolute
// deadline in unix ms, as Redis's getTimeoutFromObjectOrReply: ceil(seconds * 1000) cast to
// an integer the x86 way, so a huge or infinite value becomes negative ("timeout is
// negative").
inline bool ParseBlockTimeout(CommandContext& ctx, std::string_view s, int64_t* deadline_ms) {
  long double t;
  if (!GetLongDoubleOrReply(ctx, s, &t, "ERR timeout is not a float or out of range")) {
    return false;
  }
  int64_t ms = LongDoubleToInt64Like86(std::ceil(t * 1000.0L));
  if (ms < 0) {
    ctx.rb.Error("ERR timeout is negative");
    return false;
  }
  *deadline_ms = ms == 0 ? 0 : SaturatingAdd(ctx.now_ms, ms);
  return true;
}

// A blocked command being re-run (a key it waits on changed) skips keys that now hold
// another type, so a waiter is neither answered WRONGTYPE nor woken by them.
inline bool SkipForeignType(CommandContext& ctx, std::string_view key, ValueType t) {
  if (!ctx.session.reexec) return false;
  Entry* e = ctx.db().Peek(key, ctx.now_ms);
  return e && e->value.type() != t;
}

// LMPOP / ZMPOP and their blocking forms: `numkeys key… <side> [COUNT n]` from args[at].
// side_a / side_b name the two accepted sides (LEFT/RIGHT, MIN/MAX); *second is true for
// side_b. Replies Redis's error and returns false when the arguments are wrong.
inline bool ParseMpopArgs(CommandContext& ctx, size_t at, const char* side_a, const char* side_b,
                          std::vector<std::string>* keys, bool* second, int64_t* count) {
  auto& a = ctx.args;
  int64_t numkeys;
  if (!ParseInt64(a[at], &numkeys)) numkeys = 0;
  if (numkeys <= 0) {
    ctx.rb.Error("ERR numkeys should be greater than 0");
    return false;
  }
  size_t i = at + 1;
  if (numkeys > int64_t(a.size()) || i + size_t(numkeys) >= a.size()) {
    ctx.rb.Error(err::kSyntax);
    return false;
  }
  for (int64_t k = 0; k < numkeys; k++) keys->emplace_back(a[i++]);
  if (ArgIs(a[i], side_a))
    *second = false;
  else if (ArgIs(a[i], side_b))
    *second = true;
  else {
    ctx.rb.Error(err::kSyntax);
    return false;
  }
  ++i;
  *count = 1;
  bool seen = false;
  while (i < a.size()) {
    if (ArgIs(a[i], "COUNT") && i + 1 < a.size() && !seen) {
      seen = true;
      if (!ParseInt64(a[i + 1], count) || *count <= 0) {
        ctx.rb.Error("ERR count should be greater than 0");
        return false;
      }
      i += 2;
    } else {
      ctx.rb.Error(err::kSyntax);
      return false;
    }
  }
  return true;
}

// The encoding name Redis 7.0 reports (OBJECT ENCODING, DEBUG OBJECT) for a value: 7.0 has
// no packed lists (always "quicklist") and no packed sets (an intset, else "hashtable");
// where Ferrite's storage differs, Redis's name for the same size is reported.
inline const char* RedisEncodingName(const Value& v) {
  const char* name = v.EncodingName();
  if (std::string_view(name) == "listpack") {
    if (v.type() == ValueType::kList) return "quicklist";
    if (v.type() == ValueType::kSet) return "hashtable";
  }
  return name;
}

// Random numbers for SPOP / SRANDMEMBER / HRANDFIELD / ZRANDMEMBER.
uint64_t CommandRandom();

}  // namespace ferrite
