// Set commands. Small integer sets are intsets, small sets packed, larger ones StrTables.

#include <algorithm>
#include <random>
#include <unordered_set>

#include "commands/command_table.h"
#include "commands/family_util.h"

namespace ferrite {
namespace {

constexpr const char* kCountPositive = "ERR value is out of range, must be positive";

Value BuildSet(const std::vector<std::string>& members, const CollectionLimits& lim) {
  Value v = setv::NewFor(members.empty() ? "" : members[0], lim);
  for (const auto& m : members) setv::Add(v, m, lim);
  return v;
}

void SAdd(CommandContext& ctx) {
  auto& a = ctx.args;
  bool wrong;
  Entry* e = FindTyped(ctx, a[1], ValueType::kSet, &wrong, true);
  if (wrong) return;
  CollectionLimits lim = Limits(ctx);
  if (!e) e = ctx.db().Insert(a[1], setv::NewFor(a[2], lim));
  int64_t added = 0;
  for (size_t i = 2; i < a.size(); i++) added += setv::Add(e->value, a[i], lim);
  if (added) {
    ctx.NotifyModified(a[1]);
    ctx.Notify(notify::kSet, "sadd", a[1]);
  }
  ctx.rb.Integer(added);
}

void SRem(CommandContext& ctx) {
  RemoveMembersCommand(ctx, ValueType::kSet, setv::Remove, setv::Card, notify::kSet, "srem");
}

void SMembers(CommandContext& ctx) {
  bool wrong;
  Entry* e = FindTyped(ctx, ctx.args[1], ValueType::kSet, &wrong);
  if (wrong) return;
  ctx.rb.SetHeader(e ? setv::Card(e->value) : 0);
  if (!e) return;
  setv::ForEach(e->value, [&](std::string_view m) {
    ctx.rb.Bulk(m);
    return true;
  });
}

void SIsMember(CommandContext& ctx) {
  bool wrong;
  Entry* e = FindTyped(ctx, ctx.args[1], ValueType::kSet, &wrong);
  if (wrong) return;
  ctx.rb.Integer(e && setv::Contains(e->value, ctx.args[2]) ? 1 : 0);
}

void SMIsMember(CommandContext& ctx) {
  bool wrong;
  Entry* e = FindTyped(ctx, ctx.args[1], ValueType::kSet, &wrong);
  if (wrong) return;
  ctx.rb.ArrayHeader(ctx.args.size() - 2);
  for (size_t i = 2; i < ctx.args.size(); i++)
    ctx.rb.Integer(e && setv::Contains(e->value, ctx.args[i]) ? 1 : 0);
}

void SCard(CommandContext& ctx) {
  bool wrong;
  Entry* e = FindTyped(ctx, ctx.args[1], ValueType::kSet, &wrong);
  if (wrong) return;
  ctx.rb.Integer(e ? int64_t(setv::Card(e->value)) : 0);
}

// Distinct random members: the whole set when n reaches its size, all of them shuffled when
// asking for much of it, else drawn one by one (n is a client's number: no arithmetic on it
// that could wrap).
std::vector<std::string> DistinctRandom(const Value& v, size_t n) {
  size_t card = setv::Card(v);
  std::vector<std::string> out;
  if (n >= card || n > card / 3) {
    setv::ForEach(v, [&](std::string_view m) {
      out.emplace_back(m);
      return true;
    });
    if (n >= card) return out;
    std::mt19937_64 rng(CommandRandom());
    std::shuffle(out.begin(), out.end(), rng);
    out.resize(n);
    return out;
  }
  std::unordered_set<std::string> seen;
  std::string m;
  while (out.size() < n) {
    setv::Random(v, CommandRandom(), &m);
    if (seen.insert(m).second) out.push_back(m);
  }
  return out;
}

void SPop(CommandContext& ctx) {
  auto& a = ctx.args;
  if (a.size() > 3) return ctx.rb.Error(err::kSyntax);
  int64_t count = -1;
  if (a.size() == 3 && !ParsePositive(ctx, a[2], &count, kCountPositive)) return;
  bool wrong;
  Entry* e = FindTyped(ctx, a[1], ValueType::kSet, &wrong, true);
  if (wrong) return;
  if (!e) {
    if (count >= 0)
      ctx.rb.SetHeader(0);
    else
      ctx.rb.Null();
    return;
  }
  if (count == 0) return ctx.rb.SetHeader(0);
  std::vector<std::string> popped;
  if (count < 0) {  // the common single pop: one random draw, no bookkeeping
    popped.emplace_back();
    setv::Random(e->value, CommandRandom(), &popped[0]);
  } else {
    popped = DistinctRandom(e->value, size_t(count));
  }
  size_t size = setv::Card(e->value);
  for (const auto& m : popped) setv::Remove(e->value, m);
  size_t remaining = setv::Card(e->value);
  if (count >= 0 && remaining > 0 && remaining * 5 <= size - remaining) {
    // Redis pops most of a set by moving the few members that stay into a new set (its
    // SPOP_MOVE_STRATEGY_MUL case), created as a new set is: an intset when they are all
    // integers within set-max-intset-entries, whatever the old set's encoding.
    std::vector<std::string> stay;
    stay.reserve(remaining);
    setv::ForEach(e->value, [&](std::string_view m) {
      stay.emplace_back(m);
      return true;
    });
    CollectionLimits lim = Limits(ctx);
    Value fresh = setv::NewFor(stay[0], lim);
    for (const auto& m : stay) setv::Add(fresh, m, lim);
    e->value = std::move(fresh);
  }
  ctx.Notify(notify::kSet, "spop", a[1]);
  DeleteIfEmpty(ctx, e, remaining, a[1]);
  ctx.NotifyModified(a[1]);
  // The effect is which members went: log SREM of them, not the random SPOP.
  if (ctx.propagating()) {
    for (size_t i = 0; i < popped.size(); i += 1024) {
      std::vector<std::string> argv{"SREM", std::string(a[1])};
      for (size_t j = i; j < popped.size() && j < i + 1024; j++) argv.push_back(popped[j]);
      ctx.PropagateAs(std::move(argv));
    }
  }
  if (count < 0) return ctx.rb.Bulk(popped[0]);
  ctx.rb.SetHeader(popped.size());
  for (auto& m : popped) ctx.rb.Bulk(m);
}

// SRANDMEMBER key [count]: the count is range-checked before the key is looked up (INT64_MIN
// has no positive counterpart: Redis refuses it), and a negative count's reply, whose length
// the client chooses, stops when the client's output limit is crossed.
void SRandMember(CommandContext& ctx) {
  auto& a = ctx.args;
  if (a.size() > 3) return ctx.rb.Error(err::kSyntax);
  int64_t count = 0;
  bool with_count = a.size() == 3;
  if (with_count && !GetRangeLongOrReply(ctx, a[2], -INT64_MAX, INT64_MAX, &count)) return;
  bool wrong;
  Entry* e = FindTyped(ctx, a[1], ValueType::kSet, &wrong);
  if (wrong) return;
  if (!e) return RandomOnMissingKey(ctx, with_count);
  std::string m;
  if (!with_count) {
    setv::Random(e->value, CommandRandom(), &m);
    return ctx.rb.Bulk(m);
  }
  if (count == 0) return ctx.rb.EmptyArray();
  if (count < 0) {
    uint64_t n = uint64_t(-count);
    ctx.rb.ArrayHeader(n);
    for (uint64_t i = 0; i < n && !ctx.rb.aborted(); i++) {
      setv::Random(e->value, CommandRandom(), &m);
      ctx.rb.Bulk(m);
    }
    return;
  }
  auto out = DistinctRandom(e->value, size_t(count));
  ctx.rb.ArrayHeader(out.size());
  for (auto& s : out) ctx.rb.Bulk(s);
}

// SMOVE: a missing source answers 0 before either type is checked; the destination counts as
// modified only when the member was added to it (Redis's signalModifiedKey).
void SMove(CommandContext& ctx) {
  auto& a = ctx.args;
  Database& db = ctx.db();
  Entry* s = db.FindForWrite(a[1], ctx.now_ms);
  if (!s) return ctx.rb.Integer(0);
  Entry* d = db.Find(a[2], ctx.now_ms);
  if (s->value.type() != ValueType::kSet || (d && d->value.type() != ValueType::kSet))
    return ctx.rb.Error(err::kWrongType);
  if (a[1] == a[2]) return ctx.rb.Integer(setv::Contains(s->value, a[3]) ? 1 : 0);
  if (!setv::Remove(s->value, a[3])) return ctx.rb.Integer(0);
  ctx.Notify(notify::kSet, "srem", a[1]);
  DeleteIfEmpty(ctx, s, setv::Card(s->value), a[1]);
  CollectionLimits lim = Limits(ctx);
  d = db.FindForWrite(a[2], ctx.now_ms);
  if (!d) d = db.Insert(a[2], setv::NewFor(a[3], lim));
  ctx.NotifyModified(a[1]);
  if (setv::Add(d->value, a[3], lim)) {
    ctx.NotifyModified(a[2]);
    ctx.Notify(notify::kSet, "sadd", a[2]);
  }
  ctx.rb.Integer(1);
}

enum class SetOp { kInter, kUnion, kDiff };

// Computes the operation over keys. Returns false after replying WRONGTYPE.
bool Compute(CommandContext& ctx, ArgList keys, SetOp op, size_t limit,
             std::vector<std::string>* out) {
  Database& db = ctx.db();
  std::vector<const Value*> sets;
  for (auto k : keys) {
    Entry* e = db.Find(k, ctx.now_ms);
    if (e && e->value.type() != ValueType::kSet) {
      ctx.rb.Error(err::kWrongType);
      return false;
    }
    sets.push_back(e ? &e->value : nullptr);
  }
  if (op == SetOp::kInter) {
    for (const Value* v : sets)
      if (!v) return true;
    std::vector<const Value*> order = sets;
    std::sort(order.begin(), order.end(),
              [](const Value* a, const Value* b) { return setv::Card(*a) < setv::Card(*b); });
    setv::ForEach(*order[0], [&](std::string_view m) {
      for (size_t i = 1; i < order.size(); i++)
        if (!setv::Contains(*order[i], m)) return true;
      out->emplace_back(m);
      return limit == 0 || out->size() < limit;
    });
    return true;
  }
  if (op == SetOp::kUnion) {
    std::unordered_set<std::string> seen;
    for (const Value* v : sets) {
      if (!v) continue;
      setv::ForEach(*v, [&](std::string_view m) {
        if (seen.emplace(m).second) out->emplace_back(m);
        return true;
      });
    }
    return true;
  }
  if (!sets[0]) return true;
  setv::ForEach(*sets[0], [&](std::string_view m) {
    for (size_t i = 1; i < sets.size(); i++)
      if (sets[i] && setv::Contains(*sets[i], m)) return true;
    out->emplace_back(m);
    return true;
  });
  return true;
}

void SetOpReply(CommandContext& ctx, SetOp op) {
  std::vector<std::string> out;
  if (!Compute(ctx, ctx.args.subspan(1), op, 0, &out)) return;
  ctx.rb.SetHeader(out.size());
  for (auto& m : out) ctx.rb.Bulk(m);
}
void SInter(CommandContext& ctx) { SetOpReply(ctx, SetOp::kInter); }
void SUnion(CommandContext& ctx) { SetOpReply(ctx, SetOp::kUnion); }
void SDiff(CommandContext& ctx) { SetOpReply(ctx, SetOp::kDiff); }

void SetOpStore(CommandContext& ctx, SetOp op) {
  std::vector<std::string> out;
  if (!Compute(ctx, ctx.args.subspan(2), op, 0, &out)) return;
  Database& db = ctx.db();
  std::string_view dst = ctx.args[1];
  if (out.empty()) {
    if (db.Delete(dst)) {
      ctx.NotifyModified(dst);
      ctx.Notify(notify::kGeneric, "del", dst);
    }
  } else {
    db.Set(dst, BuildSet(out, Limits(ctx)), false, ctx.now_ms);
    ctx.NotifyModified(dst);
    ctx.Notify(notify::kSet,
               op == SetOp::kInter   ? "sinterstore"
               : op == SetOp::kUnion ? "sunionstore"
                                     : "sdiffstore",
               dst);
  }
  ctx.rb.Integer(int64_t(out.size()));
}
void SInterStore(CommandContext& ctx) { SetOpStore(ctx, SetOp::kInter); }
void SUnionStore(CommandContext& ctx) { SetOpStore(ctx, SetOp::kUnion); }
void SDiffStore(CommandContext& ctx) { SetOpStore(ctx, SetOp::kDiff); }

void SInterCard(CommandContext& ctx) {
  auto& a = ctx.args;
  int64_t numkeys;
  if (!GetRangeLongOrReply(ctx, a[1], 1, INT64_MAX, &numkeys,
                           "ERR numkeys should be greater than 0"))
    return;
  if (numkeys > int64_t(a.size()) - 2)
    return ctx.rb.Error("ERR Number of keys can't be greater than number of args");
  int64_t limit = 0;
  for (size_t i = 2 + size_t(numkeys); i < a.size(); i++) {
    if (ArgIs(a[i], "LIMIT") && i + 1 < a.size()) {
      if (!GetPositiveLongOrReply(ctx, a[++i], &limit, "ERR LIMIT can't be negative")) return;
    } else {
      return ctx.rb.Error(err::kSyntax);
    }
  }
  std::vector<std::string> out;
  if (!Compute(ctx, a.subspan(2, size_t(numkeys)), SetOp::kInter, size_t(limit), &out)) return;
  ctx.rb.Integer(int64_t(out.size()));
}

// SSCAN: cursor, then the key (a missing key answers an empty scan whatever the options), then
// the options, as Redis.
void SScan(CommandContext& ctx) {
  auto& a = ctx.args;
  uint64_t cursor;
  ScanOpts o;
  Entry* e = StartCollectionScan(
      ctx, [&](bool* w) { return FindTyped(ctx, a[1], ValueType::kSet, w); }, &cursor, &o);
  if (!e) return;
  std::vector<std::string> out;
  cursor = setv::Scan(e->value, cursor, size_t(o.count), [&](std::string_view m) {
    if (ScanMatch(o, m)) out.emplace_back(m);
    return true;
  });
  ctx.rb.ArrayHeader(2);
  ctx.rb.Bulk(FormatInt64(int64_t(cursor)));
  ctx.rb.ArrayHeader(out.size());
  for (auto& m : out) ctx.rb.Bulk(m);
}

}  // namespace

void RegisterSetFamily(CommandTable& t) {
  using namespace cmd;
  const char* g = "set";
  t.Add({"sadd", -3, kWrite | kDenyOom | kFast, 1, 1, 1, SAdd, g,
         "Adds one or more members to a set.", "1.0.0", "@write @set @fast"});
  t.Add({"srem", -3, kWrite | kFast, 1, 1, 1, SRem, g, "Removes one or more members from a set.",
         "1.0.0", "@write @set @fast"});
  t.Add({"smembers", 2, kReadOnly, 1, 1, 1, SMembers, g, "Returns all members of a set.", "1.0.0",
         "@read @set @slow"});
  t.Add({"sismember", 3, kReadOnly | kFast, 1, 1, 1, SIsMember, g,
         "Determines whether a member belongs to a set.", "1.0.0", "@read @set @fast"});
  t.Add({"smismember", -3, kReadOnly | kFast, 1, 1, 1, SMIsMember, g,
         "Determines whether multiple members belong to a set.", "6.2.0", "@read @set @fast"});
  t.Add({"scard", 2, kReadOnly | kFast, 1, 1, 1, SCard, g,
         "Returns the number of members in a set.", "1.0.0", "@read @set @fast"});
  t.Add({"spop", -2, kWrite | kFast, 1, 1, 1, SPop, g,
         "Returns one or more random members from a set after removing them.", "1.0.0",
         "@write @set @fast"});
  t.Add({"srandmember", -2, kReadOnly, 1, 1, 1, SRandMember, g,
         "Get one or multiple random members from a set.", "1.0.0", "@read @set @slow"});
  t.Add({"smove", 4, kWrite | kFast, 1, 2, 1, SMove, g, "Moves a member from one set to another.",
         "1.0.0", "@write @set @fast"});
  t.Add({"sinter", -2, kReadOnly, 1, -1, 1, SInter, g, "Returns the intersect of multiple sets.",
         "1.0.0", "@read @set @slow"});
  t.Add({"sunion", -2, kReadOnly, 1, -1, 1, SUnion, g, "Returns the union of multiple sets.",
         "1.0.0", "@read @set @slow"});
  t.Add({"sdiff", -2, kReadOnly, 1, -1, 1, SDiff, g, "Returns the difference of multiple sets.",
         "1.0.0", "@read @set @slow"});
  t.Add({"sinterstore", -3, kWrite | kDenyOom, 1, -1, 1, SInterStore, g,
         "Stores the intersect of multiple sets in a key.", "1.0.0", "@write @set @slow"});
  t.Add({"sunionstore", -3, kWrite | kDenyOom, 1, -1, 1, SUnionStore, g,
         "Stores the union of multiple sets in a key.", "1.0.0", "@write @set @slow"});
  t.Add({"sdiffstore", -3, kWrite | kDenyOom, 1, -1, 1, SDiffStore, g,
         "Stores the difference of multiple sets in a key.", "1.0.0", "@write @set @slow"});
  t.Add({"sintercard", -3, kReadOnly, 0, 0, 0, SInterCard, g,
         "Returns the number of members of the intersect of multiple sets.", "7.0.0",
         "@read @set @slow"});
  t.Add({"sscan", -3, kReadOnly, 1, 1, 1, SScan, g, "Iterates over members of a set.", "2.8.0",
         "@read @set @slow"});
}

}  // namespace ferrite
