// Hash commands. Values live packed until hash_max_listpack_entries/value, then in a
// StrTable (types/collections.h).

#include <algorithm>
#include <cmath>
#include <random>

#include "commands/command_table.h"
#include "commands/family_util.h"

namespace ferrite {
namespace {

constexpr const char* kHashNotInt = "ERR hash value is not an integer";
constexpr const char* kHashNotFloat = "ERR hash value is not a float";

// The hash at key for writing, created empty if absent. nullptr after a WRONGTYPE reply.
Entry* HashForWrite(CommandContext& ctx, std::string_view key) {
  bool wrong;
  Entry* e = FindTyped(ctx, key, ValueType::kHash, &wrong, true);
  if (wrong) return nullptr;
  if (!e) e = ctx.db().Insert(key, hashv::New());
  return e;
}

void HSet(CommandContext& ctx) {
  auto& a = ctx.args;
  if (a.size() % 2 != 0) return ctx.rb.Error(err::WrongArity(ToLower(ctx.args[0])));
  Entry* e = HashForWrite(ctx, a[1]);
  if (!e) return;
  CollectionLimits lim = Limits(ctx);
  int64_t added = 0;
  for (size_t i = 2; i < a.size(); i += 2) added += hashv::Set(e->value, a[i], a[i + 1], lim);
  ctx.NotifyModified(a[1]);
  ctx.Notify(notify::kHash, "hset", a[1]);
  if (ArgIs(a[0], "HMSET"))
    ctx.rb.Ok();
  else
    ctx.rb.Integer(added);
}

void HSetNx(CommandContext& ctx) {
  auto& a = ctx.args;
  bool wrong;
  Entry* e = FindTyped(ctx, a[1], ValueType::kHash, &wrong, true);
  if (wrong) return;
  std::string_view cur;
  if (e && hashv::Get(e->value, a[2], &cur)) return ctx.rb.Integer(0);
  if (!e) e = ctx.db().Insert(a[1], hashv::New());
  hashv::Set(e->value, a[2], a[3], Limits(ctx));
  ctx.NotifyModified(a[1]);
  ctx.Notify(notify::kHash, "hset", a[1]);
  ctx.rb.Integer(1);
}

void HGet(CommandContext& ctx) {
  bool wrong;
  Entry* e = FindTyped(ctx, ctx.args[1], ValueType::kHash, &wrong);
  if (wrong) return;
  std::string_view v;
  if (e && hashv::Get(e->value, ctx.args[2], &v))
    ctx.rb.Bulk(v);
  else
    ctx.rb.Null();
}

void HMGet(CommandContext& ctx) {
  bool wrong;
  Entry* e = FindTyped(ctx, ctx.args[1], ValueType::kHash, &wrong);
  if (wrong) return;
  ctx.rb.ArrayHeader(ctx.args.size() - 2);
  std::string_view v;
  for (size_t i = 2; i < ctx.args.size(); i++) {
    if (e && hashv::Get(e->value, ctx.args[i], &v))
      ctx.rb.Bulk(v);
    else
      ctx.rb.Null();
  }
}

void HDel(CommandContext& ctx) {
  RemoveMembersCommand(ctx, ValueType::kHash, hashv::Del, hashv::Len, notify::kHash, "hdel");
}

void HExists(CommandContext& ctx) {
  bool wrong;
  Entry* e = FindTyped(ctx, ctx.args[1], ValueType::kHash, &wrong);
  if (wrong) return;
  std::string_view v;
  ctx.rb.Integer(e && hashv::Get(e->value, ctx.args[2], &v) ? 1 : 0);
}

void HLen(CommandContext& ctx) {
  bool wrong;
  Entry* e = FindTyped(ctx, ctx.args[1], ValueType::kHash, &wrong);
  if (wrong) return;
  ctx.rb.Integer(e ? int64_t(hashv::Len(e->value)) : 0);
}

void HStrLen(CommandContext& ctx) {
  bool wrong;
  Entry* e = FindTyped(ctx, ctx.args[1], ValueType::kHash, &wrong);
  if (wrong) return;
  std::string_view v;
  ctx.rb.Integer(e && hashv::Get(e->value, ctx.args[2], &v) ? int64_t(v.size()) : 0);
}

// HKEYS / HVALS / HGETALL
void HGetAllLike(CommandContext& ctx, bool keys, bool vals) {
  bool wrong;
  Entry* e = FindTyped(ctx, ctx.args[1], ValueType::kHash, &wrong);
  if (wrong) return;
  size_t n = e ? hashv::Len(e->value) : 0;
  if (keys && vals)
    ctx.rb.MapHeader(n);
  else
    ctx.rb.ArrayHeader(n);
  if (!e) return;
  hashv::ForEach(e->value, [&](std::string_view f, std::string_view v) {
    if (keys) ctx.rb.Bulk(f);
    if (vals) ctx.rb.Bulk(v);
    return true;
  });
}
void HKeys(CommandContext& ctx) { HGetAllLike(ctx, true, false); }
void HVals(CommandContext& ctx) { HGetAllLike(ctx, false, true); }
void HGetAll(CommandContext& ctx) { HGetAllLike(ctx, true, true); }

void HIncrBy(CommandContext& ctx) {
  auto& a = ctx.args;
  int64_t incr;
  if (!ParseIntArg(ctx, a[3], &incr)) return;
  Entry* e = HashForWrite(ctx, a[1]);
  if (!e) return;
  int64_t cur = 0;
  std::string_view v;
  if (hashv::Get(e->value, a[2], &v) && !ParseInt64(v, &cur)) {
    DeleteIfEmpty(ctx, e, hashv::Len(e->value));
    return ctx.rb.Error(kHashNotInt);
  }
  if ((incr < 0 && cur < 0 && incr < INT64_MIN - cur) ||
      (incr > 0 && cur > 0 && incr > INT64_MAX - cur)) {
    DeleteIfEmpty(ctx, e, hashv::Len(e->value));
    return ctx.rb.Error(err::kOverflow);
  }
  cur += incr;
  hashv::Set(e->value, a[2], FormatInt64(cur), Limits(ctx));
  ctx.NotifyModified(a[1]);
  ctx.Notify(notify::kHash, "hincrby", a[1]);
  ctx.rb.Integer(cur);
}

void HIncrByFloat(CommandContext& ctx) {
  auto& a = ctx.args;
  long double incr;
  if (!ParseLongDouble(a[3], &incr)) return ctx.rb.Error(err::kNotFloat);
  if (std::isnan(incr) || std::isinf(incr)) return ctx.rb.Error("ERR value is NaN or Infinity");
  Entry* e = HashForWrite(ctx, a[1]);
  if (!e) return;
  long double cur = 0;
  std::string_view v;
  if (hashv::Get(e->value, a[2], &v) && !ParseLongDouble(v, &cur)) {
    DeleteIfEmpty(ctx, e, hashv::Len(e->value));
    return ctx.rb.Error(kHashNotFloat);
  }
  cur += incr;
  if (std::isnan(cur) || std::isinf(cur)) {
    DeleteIfEmpty(ctx, e, hashv::Len(e->value));
    return ctx.rb.Error(err::kNanOrInf);
  }
  std::string out = FormatLongDoubleHuman(cur);
  hashv::Set(e->value, a[2], out, Limits(ctx));
  ctx.NotifyModified(a[1]);
  ctx.Notify(notify::kHash, "hincrbyfloat", a[1]);
  // Replay must not depend on float formatting: log the result.
  if (ctx.propagating()) ctx.PropagateAs({"HSET", std::string(a[1]), std::string(a[2]), out});
  ctx.rb.Bulk(out);
}

// HRANDFIELD key [count [WITHVALUES]]: the count is range-checked first (INT64_MIN has no
// positive counterpart), then the syntax, then WITHVALUES's tighter bound, as Redis. A
// negative count repeats fields; that reply stops when the client's output limit is crossed.
void HRandField(CommandContext& ctx) {
  auto& a = ctx.args;
  bool wrong;
  int64_t count = 0;
  bool with_count = a.size() >= 3;
  bool withvalues = false;
  if (with_count) {
    if (!GetRangeLongOrReply(ctx, a[2], -INT64_MAX, INT64_MAX, &count)) return;
    if (a.size() > 4 || (a.size() == 4 && !ArgIs(a[3], "WITHVALUES")))
      return ctx.rb.Error(err::kSyntax);
    withvalues = a.size() == 4;
    if (withvalues && (count < -INT64_MAX / 2 || count > INT64_MAX / 2))
      return ctx.rb.Error("ERR value is out of range");
  }
  Entry* e = FindTyped(ctx, a[1], ValueType::kHash, &wrong);
  if (wrong) return;
  if (!e) return RandomOnMissingKey(ctx, with_count);
  const Value& h = e->value;
  std::string_view f, v;
  if (!with_count) {
    hashv::Random(h, CommandRandom(), &f, &v);
    return ctx.rb.Bulk(f);
  }
  auto emit = [&](std::string_view fld, std::string_view val) {
    if (withvalues && ctx.rb.resp3()) {
      ctx.rb.ArrayHeader(2);
      ctx.rb.Bulk(fld);
      ctx.rb.Bulk(val);
    } else {
      ctx.rb.Bulk(fld);
      if (withvalues) ctx.rb.Bulk(val);
    }
  };
  size_t len = hashv::Len(h);
  size_t mult = withvalues && !ctx.rb.resp3() ? 2 : 1;
  if (count == 0) return ctx.rb.EmptyArray();
  if (count < 0) {  // repetitions allowed
    size_t n = size_t(-count);
    ctx.rb.ArrayHeader(n * mult);
    for (size_t i = 0; i < n && !ctx.rb.aborted(); i++) {
      hashv::Random(h, CommandRandom(), &f, &v);
      emit(f, v);
    }
    return;
  }
  size_t n = std::min(size_t(count), len);
  ctx.rb.ArrayHeader(n * mult);
  if (n == len) {
    hashv::ForEach(h, [&](std::string_view fld, std::string_view val) {
      emit(fld, val);
      return true;
    });
    return;
  }
  // Distinct fields: take every field and shuffle when asking for much of the hash,
  // otherwise draw until n distinct ones are found.
  std::vector<std::pair<std::string, std::string>> picked;
  if (n * 3 > len) {
    hashv::ForEach(h, [&](std::string_view fld, std::string_view val) {
      picked.emplace_back(fld, val);
      return true;
    });
    std::mt19937_64 rng(CommandRandom());
    std::shuffle(picked.begin(), picked.end(), rng);
    picked.resize(n);
  } else {
    std::unordered_set<std::string> seen;
    while (picked.size() < n) {
      hashv::Random(h, CommandRandom(), &f, &v);
      if (seen.emplace(f).second) picked.emplace_back(f, v);
    }
  }
  for (auto& [fld, val] : picked) emit(fld, val);
}

// HSCAN: cursor, then the key (a missing key answers an empty scan whatever the options), then
// the options, as Redis.
void HScan(CommandContext& ctx) {
  auto& a = ctx.args;
  uint64_t cursor;
  ScanOpts o;
  Entry* e = StartCollectionScan(
      ctx, [&](bool* w) { return FindTyped(ctx, a[1], ValueType::kHash, w); }, &cursor, &o);
  if (!e) return;
  std::vector<std::pair<std::string, std::string>> out;
  cursor =
      hashv::Scan(e->value, cursor, size_t(o.count), [&](std::string_view f, std::string_view v) {
        if (ScanMatch(o, f)) out.emplace_back(f, v);
        return true;
      });
  ctx.rb.ArrayHeader(2);
  ctx.rb.Bulk(FormatInt64(int64_t(cursor)));
  ctx.rb.ArrayHeader(out.size() * 2);
  for (auto& [f, v] : out) {
    ctx.rb.Bulk(f);
    ctx.rb.Bulk(v);
  }
}

}  // namespace

void RegisterHashFamily(CommandTable& t) {
  using namespace cmd;
  const char* g = "hash";
  t.Add({"hset", -4, kWrite | kDenyOom | kFast, 1, 1, 1, HSet, g,
         "Creates or modifies the value of a field in a hash.", "2.0.0", "@write @hash @fast"});
  t.Add({"hmset", -4, kWrite | kDenyOom | kFast, 1, 1, 1, HSet, g,
         "Sets the values of multiple fields.", "2.0.0", "@write @hash @fast"});
  t.Add({"hsetnx", 4, kWrite | kDenyOom | kFast, 1, 1, 1, HSetNx, g,
         "Sets the value of a field in a hash only when the field doesn't exist.", "2.0.0",
         "@write @hash @fast"});
  t.Add({"hget", 3, kReadOnly | kFast, 1, 1, 1, HGet, g, "Returns the value of a field in a hash.",
         "2.0.0", "@read @hash @fast"});
  t.Add({"hmget", -3, kReadOnly | kFast, 1, 1, 1, HMGet, g,
         "Returns the values of all fields in a hash.", "2.0.0", "@read @hash @fast"});
  t.Add({"hdel", -3, kWrite | kFast, 1, 1, 1, HDel, g,
         "Deletes one or more fields and their values from a hash.", "2.0.0",
         "@write @hash @fast"});
  t.Add({"hexists", 3, kReadOnly | kFast, 1, 1, 1, HExists, g,
         "Determines whether a field exists in a hash.", "2.0.0", "@read @hash @fast"});
  t.Add({"hlen", 2, kReadOnly | kFast, 1, 1, 1, HLen, g, "Returns the number of fields in a hash.",
         "2.0.0", "@read @hash @fast"});
  t.Add({"hstrlen", 3, kReadOnly | kFast, 1, 1, 1, HStrLen, g,
         "Returns the length of the value of a field.", "3.2.0", "@read @hash @fast"});
  t.Add({"hkeys", 2, kReadOnly, 1, 1, 1, HKeys, g, "Returns all fields in a hash.", "2.0.0",
         "@read @hash @slow"});
  t.Add({"hvals", 2, kReadOnly, 1, 1, 1, HVals, g, "Returns all values in a hash.", "2.0.0",
         "@read @hash @slow"});
  t.Add({"hgetall", 2, kReadOnly, 1, 1, 1, HGetAll, g, "Returns all fields and values in a hash.",
         "2.0.0", "@read @hash @slow"});
  t.Add({"hincrby", 4, kWrite | kDenyOom | kFast, 1, 1, 1, HIncrBy, g,
         "Increments the integer value of a field in a hash by a number.", "2.0.0",
         "@write @hash @fast"});
  t.Add({"hincrbyfloat", 4, kWrite | kDenyOom | kFast, 1, 1, 1, HIncrByFloat, g,
         "Increments the floating point value of a field by a number.", "2.6.0",
         "@write @hash @fast"});
  t.Add({"hrandfield", -2, kReadOnly, 1, 1, 1, HRandField, g,
         "Returns one or more random fields from a hash.", "6.2.0", "@read @hash @slow"});
  t.Add({"hscan", -3, kReadOnly, 1, 1, 1, HScan, g, "Iterates over fields and values of a hash.",
         "2.8.0", "@read @hash @slow"});
}

}  // namespace ferrite
