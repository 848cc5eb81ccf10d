#pragma once
// Small helpers shared by the *_family.cc handlers.

#include <algorithm>
#include <cmath>
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

inline bool ArgIs(std::string_view arg, std::string_view upper) {
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

// Parses a COUNT-style non-negative integer; replies and returns false on error.
inline bool ParsePositive(CommandContext& ctx, std::string_view s, int64_t* out, const char* err) {
  if (!ParseInt64(s, out) || *out < 0) {
    ctx.rb.Error(err);
    return false;
  }
  return true;
}

// SCAN-family options after the cursor: MATCH pattern, COUNT n. Replies on error.
struct ScanOpts {
  std::string_view pattern;
  int64_t count = 10;
  bool novalues = false;
};
inline bool ParseScanOpts(CommandContext& ctx, size_t from, ScanOpts* o) {
  auto& a = ctx.args;
  for (size_t i = from; i < a.size(); i++) {
    if (ArgIs(a[i], "MATCH") && i + 1 < a.size()) {
      o->pattern = a[++i];
    } else if (ArgIs(a[i], "COUNT") && i + 1 < a.size()) {
      if (!ParseInt64(a[++i], &o->count)) {
        ctx.rb.Error(err::kNotInt);
        return false;
      }
      if (o->count < 1) {
        ctx.rb.Error(err::kSyntax);
        return false;
      }
    } else {
      ctx.rb.Error(err::kSyntax);
      return false;
    }
  }
  return true;
}
inline bool ScanMatch(const ScanOpts& o, std::string_view s) {
  return o.pattern.empty() || o.pattern == "*" || GlobMatch(o.pattern, s);
}

// Blocking commands: the timeout argument (seconds, fractional; 0 = forever) as an
// absolute deadline in unix ms. Replies Redis's error and returns false when invalid.
inline bool ParseBlockTimeout(CommandContext& ctx, std::string_view s, int64_t* deadline_ms) {
  long double t;
  if (!ParseLongDouble(s, &t) || std::isinf(t) || t * 1000.0L > 1e15L) {
    ctx.rb.Error("ERR timeout is not a float or out of range");
    return false;
  }
  if (t < 0) {
    ctx.rb.Error("ERR timeout is negative");
    return false;
  }
  long double ms = t * 1000.0L;
  *deadline_ms = ms == 0 ? 0 : ctx.now_ms + std::max<int64_t>(1, int64_t(std::ceil(ms)));
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
