// Sorted-set commands. Ranges by index, score and lex all become a rank interval
// [lo, hi) over the (score, member) order (zsetv::CountWhile), then one walk.

#include <cmath>
#include <map>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "commands/command_table.h"
#include "commands/family_util.h"

namespace ferrite {
namespace {

constexpr const char* kMinMaxNotFloat = "ERR min or max is not a float";
constexpr const char* kLexRange = "ERR min or max not valid string range item";
constexpr const char* kNaN = "ERR resulting score is not a number (NaN)";
constexpr const char* kCountPositive = "ERR value is out of range, must be positive";

// A score argument (string2d). -0 stays -0: a small (packed) sorted set stores it as 0, a
// large one keeps it, and ZINCRBY's reply says -0, all as in Redis.
bool ParseScore(CommandContext& ctx, std::string_view s, double* out) {
  return GetDoubleOrReply(ctx, s, out);
}

struct ScoreRange {
  double min, max;
  bool minex = false, maxex = false;
};
// One bound of a score range, as Redis's zslParseRange reads it: a leading '(' makes it
// exclusive, the rest goes to strtod, which may skip leading spaces and read nothing ("" is
// 0); only a NaN or bytes strtod did not take (up to the first NUL) refuse it. 1e309 is inf.
bool ParseScoreBound(std::string_view s, double* v, bool* ex) {
  *ex = !s.empty() && s[0] == '(';
  if (*ex) s.remove_prefix(1);
  std::string c(s);
  char* end;
  *v = strtod(c.c_str(), &end);
  return *end == '\0' && !std::isnan(*v);
}
bool ParseScoreRange(std::string_view min, std::string_view max, ScoreRange* r) {
  return ParseScoreBound(min, &r->min, &r->minex) && ParseScoreBound(max, &r->max, &r->maxex);
}

struct LexBound {
  enum Kind { kMinusInf, kPlusInf, kIncl, kExcl } kind;
  std::string s;
};
// One bound of a lex range, as zslParseLexRangeItem: "-" / "+" (as C strings: a NUL may
// follow), or '[' / '(' and the rest of the argument.
bool ParseLexBound(std::string_view s, LexBound* b) {
  char c0 = s.empty() ? '\0' : s[0];
  char c1 = s.size() < 2 ? '\0' : s[1];
  switch (c0) {
    case '+':
      if (c1 != '\0') return false;
      b->kind = LexBound::kPlusInf;
      return true;
    case '-':
      if (c1 != '\0') return false;
      b->kind = LexBound::kMinusInf;
      return true;
    case '(':
      b->kind = LexBound::kExcl;
      b->s.assign(s.substr(1));
      return true;
    case '[':
      b->kind = LexBound::kIncl;
      b->s.assign(s.substr(1));
      return true;
    default:
      return false;
  }
}
// member < bound (for the low end: members strictly before the range)
bool BeforeLow(std::string_view m, const LexBound& b) {
  switch (b.kind) {
    case LexBound::kMinusInf:
      return false;
    case LexBound::kPlusInf:
      return true;
    case LexBound::kIncl:
      return m < b.s;
    case LexBound::kExcl:
      return m <= b.s;
  }
  return false;
}
// member within the high end
bool UpToHigh(std::string_view m, const LexBound& b) {
  switch (b.kind) {
    case LexBound::kMinusInf:
      return false;
    case LexBound::kPlusInf:
      return true;
    case LexBound::kIncl:
      return m <= b.s;
    case LexBound::kExcl:
      return m < b.s;
  }
  return false;
}

void ScoreInterval(const Value& z, const ScoreRange& r, size_t* lo, size_t* hi) {
  *lo = zsetv::CountWhile(
      z, [&](std::string_view, double s) { return r.minex ? s <= r.min : s < r.min; });
  *hi = zsetv::CountWhile(
      z, [&](std::string_view, double s) { return r.maxex ? s < r.max : s <= r.max; });
  if (*hi < *lo) *hi = *lo;
}
void LexInterval(const Value& z, const LexBound& min, const LexBound& max, size_t* lo, size_t* hi) {
  *lo = zsetv::CountWhile(z, [&](std::string_view m, double) { return BeforeLow(m, min); });
  *hi = zsetv::CountWhile(z, [&](std::string_view m, double) { return UpToHigh(m, max); });
  if (*hi < *lo) *hi = *lo;
}

void ReplyScore(CommandContext& ctx, double d) { ctx.rb.Double(d); }

// [member, score] pairs: flat in RESP2, nested pairs in RESP3.
void ReplyPairs(CommandContext& ctx, const std::vector<std::pair<std::string, double>>& v,
                bool withscores) {
  bool nested = withscores && ctx.rb.resp3();
  ctx.rb.ArrayHeader(withscores && !nested ? v.size() * 2 : v.size());
  for (auto& [m, s] : v) {
    if (nested) ctx.rb.ArrayHeader(2);
    ctx.rb.Bulk(m);
    if (withscores) ReplyScore(ctx, s);
  }
}

Entry* ZSetForRead(CommandContext& ctx, std::string_view key, bool* wrong, bool for_write = false) {
  return FindTyped(ctx, key, ValueType::kZSet, wrong, for_write);
}

// ---- ZADD / ZINCRBY ------------------------------------------------------------------

void ZAddGeneric(CommandContext& ctx, bool incr_cmd) {
  auto& a = ctx.args;
  bool nx = false, xx = false, gt = false, lt = false, ch = false, incr = incr_cmd;
  size_t i = 2;
  if (!incr_cmd) {
    for (; i < a.size(); i++) {
      if (ArgIs(a[i], "NX"))
        nx = true;
      else if (ArgIs(a[i], "XX"))
        xx = true;
      else if (ArgIs(a[i], "GT"))
        gt = true;
      else if (ArgIs(a[i], "LT"))
        lt = true;
      else if (ArgIs(a[i], "CH"))
        ch = true;
      else if (ArgIs(a[i], "INCR"))
        incr = true;
      else
        break;
    }
  }
  size_t pairs_at = i;
  size_t nargs = a.size() - pairs_at;
  if (nargs == 0 || nargs % 2) return ctx.rb.Error(err::kSyntax);
  if (nx && xx) return ctx.rb.Error("ERR XX and NX options at the same time are not compatible");
  if ((gt && nx) || (lt && nx) || (gt && lt))
    return ctx.rb.Error("ERR GT, LT, and/or NX options at the same time are not compatible");
  if (incr && nargs > 2)
    return ctx.rb.Error("ERR INCR option supports a single increment-element pair");
  std::vector<double> scores(nargs / 2);
  for (size_t k = 0; k < nargs / 2; k++) {
    if (!ParseScore(ctx, a[pairs_at + 2 * k], &scores[k])) return;
  }
  bool wrong;
  Entry* e = ZSetForRead(ctx, a[1], &wrong, true);
  if (wrong) return;
  CollectionLimits lim = Limits(ctx);
  if (!e) {
    if (xx) {  // nothing to update: no key is created
      if (incr)
        ctx.rb.Null();
      else
        ctx.rb.Integer(0);
      return;
    }
    // As Redis: packed unless packing is off or the first member is too long; the members
    // that follow convert it as they are added.
    e = ctx.db().Insert(a[1], zsetv::New(1, a[pairs_at + 1].size(), lim));
  }
  int64_t added = 0, changed = 0;
  double result = 0;
  bool aborted = false;
  for (size_t k = 0; k < nargs / 2; k++) {
    std::string_view m = a[pairs_at + 2 * k + 1];
    double score = scores[k], cur;
    bool exists = zsetv::Score(e->value, m, &cur);
    if (exists) {
      if (nx) {
        aborted = true;
        continue;
      }
      if (incr) {
        score += cur;
        if (std::isnan(score)) {
          DeleteIfEmpty(ctx, e, zsetv::Card(e->value));
          return ctx.rb.Error(kNaN);
        }
      }
      if ((gt && score <= cur) || (lt && score >= cur)) {
        aborted = true;
        continue;
      }
      result = score;
      if (score != cur) {
        zsetv::Set(e->value, m, score, lim);
        ++changed;
      }
    } else {
      if (xx) {
        aborted = true;
        continue;
      }
      zsetv::Set(e->value, m, score, lim);
      result = score;
      ++added;
    }
  }
  size_t card = zsetv::Card(e->value);
  DeleteIfEmpty(ctx, e, card);
  if (added || changed) {
    ctx.NotifyModified(a[1]);
    ctx.Notify(notify::kZset, incr ? "zincr" : "zadd", a[1]);
  }
  if (incr) {
    if (aborted) return ctx.rb.Null();
    if (added || changed) {
      // Log the resulting score, not the increment (replay must not depend on rounding).
      if (ctx.propagating())
        ctx.PropagateAs(
            {"ZADD", std::string(a[1]), FormatDouble(result), std::string(a[pairs_at + 1])});
    }
    return ReplyScore(ctx, result);
  }
  ctx.rb.Integer(ch ? added + changed : added);
}
void ZAdd(CommandContext& ctx) { ZAddGeneric(ctx, false); }

void ZIncrBy(CommandContext& ctx) {
  // ZINCRBY key increment member == ZADD key INCR increment member
  ZAddGeneric(ctx, true);
}

// ---- reads ---------------------------------------------------------------------------

void ZScore(CommandContext& ctx) {
  bool wrong;
  Entry* e = ZSetForRead(ctx, ctx.args[1], &wrong);
  if (wrong) return;
  double s;
  if (e && zsetv::Score(e->value, ctx.args[2], &s))
    ReplyScore(ctx, s);
  else
    ctx.rb.Null();
}

void ZMScore(CommandContext& ctx) {
  bool wrong;
  Entry* e = ZSetForRead(ctx, ctx.args[1], &wrong);
  if (wrong) return;
  ctx.rb.ArrayHeader(ctx.args.size() - 2);
  double s;
  for (size_t i = 2; i < ctx.args.size(); i++) {
    if (e && zsetv::Score(e->value, ctx.args[i], &s))
      ReplyScore(ctx, s);
    else
      ctx.rb.Null();
  }
}

void ZCard(CommandContext& ctx) {
  bool wrong;
  Entry* e = ZSetForRead(ctx, ctx.args[1], &wrong);
  if (wrong) return;
  ctx.rb.Integer(e ? int64_t(zsetv::Card(e->value)) : 0);
}

void ZCount(CommandContext& ctx) {
  ScoreRange r;
  if (!ParseScoreRange(ctx.args[2], ctx.args[3], &r)) return ctx.rb.Error(kMinMaxNotFloat);
  bool wrong;
  Entry* e = ZSetForRead(ctx, ctx.args[1], &wrong);
  if (wrong) return;
  if (!e) return ctx.rb.Integer(0);
  size_t lo, hi;
  ScoreInterval(e->value, r, &lo, &hi);
  ctx.rb.Integer(int64_t(hi - lo));
}

void ZLexCount(CommandContext& ctx) {
  LexBound min, max;
  if (!ParseLexBound(ctx.args[2], &min) || !ParseLexBound(ctx.args[3], &max))
    return ctx.rb.Error(kLexRange);
  bool wrong;
  Entry* e = ZSetForRead(ctx, ctx.args[1], &wrong);
  if (wrong) return;
  if (!e) return ctx.rb.Integer(0);
  size_t lo, hi;
  LexInterval(e->value, min, max, &lo, &hi);
  ctx.rb.Integer(int64_t(hi - lo));
}

enum class RangeBy { kAuto, kIndex, kScore, kLex };
enum class Direction { kAuto, kForward, kReverse };

// A parsed range: Redis's zrangeGenericCommand steps 1 and 2 (options, then the bounds).
struct RangeSpec {
  RangeBy by = RangeBy::kIndex;
  bool rev = false;
  bool withscores = false;
  int64_t offset = 0, limit = -1;  // LIMIT: a negative offset selects nothing, a negative
                                   // count everything
  int64_t start = 0, stop = 0;     // by index
  ScoreRange score;                // by score
  LexBound lexmin, lexmax;         // by lex
};

// Parses the bounds at args[minidx] / args[maxidx] for rs.by. Replies on error.
bool ParseRangeBounds(CommandContext& ctx, RangeSpec* rs, size_t minidx, size_t maxidx) {
  auto& a = ctx.args;
  if (rs->by == RangeBy::kIndex) {
    return GetLongOrReply(ctx, a[minidx], &rs->start) && GetLongOrReply(ctx, a[maxidx], &rs->stop);
  }
  if (rs->by == RangeBy::kScore) {
    if (!ParseScoreRange(a[minidx], a[maxidx], &rs->score)) {
      ctx.rb.Error(kMinMaxNotFloat);
      return false;
    }
    return true;
  }
  if (!ParseLexBound(a[minidx], &rs->lexmin) || !ParseLexBound(a[maxidx], &rs->lexmax)) {
    ctx.rb.Error(kLexRange);
    return false;
  }
  return true;
}

// The members a parsed range selects from z, in reply order.
void CollectRange(const Value& z, const RangeSpec& rs,
                  std::vector<std::pair<std::string, double>>* out) {
  size_t lo = 0, hi = 0;
  if (rs.by == RangeBy::kIndex) {
    int64_t n = int64_t(zsetv::Card(z));
    int64_t start = rs.start, stop = rs.stop;
    if (start < 0) start = SaturatingAdd(start, n);
    if (stop < 0) stop = SaturatingAdd(stop, n);
    if (start < 0) start = 0;
    if (start > stop || start >= n) return;
    if (stop >= n) stop = n - 1;
    if (rs.rev) {
      lo = size_t(n - 1 - stop);
      hi = size_t(n - start);
    } else {
      lo = size_t(start);
      hi = size_t(stop + 1);
    }
  } else if (rs.by == RangeBy::kScore) {
    ScoreInterval(z, rs.score, &lo, &hi);
  } else {
    LexInterval(z, rs.lexmin, rs.lexmax, &lo, &hi);
  }
  if (rs.by != RangeBy::kIndex) {
    if (rs.offset < 0) return;
    size_t off = size_t(rs.offset);
    if (off >= hi - lo) return;
    if (rs.rev)
      hi -= off;
    else
      lo += off;
    if (rs.limit >= 0 && uint64_t(rs.limit) < hi - lo) {
      if (rs.rev)
        lo = hi - size_t(rs.limit);
      else
        hi = lo + size_t(rs.limit);
    }
  }
  zsetv::ForRange(z, lo, hi, rs.rev, [&](std::string_view m, double s) {
    out->emplace_back(m, s);
    return true;
  });
}

Value BuildZSet(const std::vector<std::pair<std::string, double>>& items,
                const CollectionLimits& lim) {
  size_t maxlen = 0;
  for (auto& [m, s] : items) maxlen = std::max(maxlen, m.size());
  Value v = zsetv::New(items.size(), maxlen, lim);
  for (auto& [m, s] : items) zsetv::Set(v, m, s, lim);
  return v;
}

void StoreResult(CommandContext& ctx, std::string_view dst,
                 const std::vector<std::pair<std::string, double>>& items, const char* event) {
  Database& db = ctx.db();
  if (items.empty()) {
    if (db.Delete(dst)) {
      ctx.NotifyModified(dst);
      ctx.Notify(notify::kGeneric, "del", dst);
    }
  } else {
    db.Set(dst, BuildZSet(items, Limits(ctx)), false, ctx.now_ms);
    ctx.NotifyModified(dst);
    ctx.Notify(notify::kZset, event, dst);
  }
  ctx.rb.Integer(int64_t(items.size()));
}

// ZRANGE, ZRANGESTORE and the older forms (ZRANGEBYSCORE, ZREVRANGE …), as Redis's
// zrangeGenericCommand: the options after <key> <min> <max>, then the bounds (swapped for a
// reversed score or lex range), then the key.
void ZRangeGeneric(CommandContext& ctx, size_t argc_start, bool store, RangeBy by, Direction dir) {
  auto& a = ctx.args;
  RangeSpec rs;
  size_t minidx = argc_start + 1, maxidx = argc_start + 2;
  bool has_limit = false;
  for (size_t j = argc_start + 3; j < a.size(); j++) {
    size_t left = a.size() - j - 1;
    if (!store && ArgIs(a[j], "WITHSCORES")) {
      rs.withscores = true;
    } else if (ArgIs(a[j], "LIMIT") && left >= 2) {
      if (!GetLongOrReply(ctx, a[j + 1], &rs.offset) || !GetLongOrReply(ctx, a[j + 2], &rs.limit))
        return;
      has_limit = true;
      j += 2;
    } else if (dir == Direction::kAuto && ArgIs(a[j], "REV")) {
      dir = Direction::kReverse;
    } else if (by == RangeBy::kAuto && ArgIs(a[j], "BYLEX")) {
      by = RangeBy::kLex;
    } else if (by == RangeBy::kAuto && ArgIs(a[j], "BYSCORE")) {
      by = RangeBy::kScore;
    } else {
      return ctx.rb.Error(err::kSyntax);
    }
  }
  if (dir == Direction::kAuto) dir = Direction::kForward;
  if (by == RangeBy::kAuto) by = RangeBy::kIndex;
  rs.by = by;
  rs.rev = dir == Direction::kReverse;
  // Redis tests "opt_limit != -1": LIMIT o -1 passes with a by-index range.
  if (has_limit && rs.limit != -1 && by == RangeBy::kIndex) {
    return ctx.rb.Error(
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
  }
  if (rs.withscores && by == RangeBy::kLex) {
    return ctx.rb.Error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
  }
  if (rs.rev && by != RangeBy::kIndex) std::swap(minidx, maxidx);
  if (!ParseRangeBounds(ctx, &rs, minidx, maxidx)) return;
  Entry* e = ctx.db().Find(a[argc_start], ctx.now_ms);
  std::vector<std::pair<std::string, double>> out;
  if (e) {
    if (e->value.type() != ValueType::kZSet) return ctx.rb.Error(err::kWrongType);
    CollectRange(e->value, rs, &out);
  }
  if (store) return StoreResult(ctx, a[1], out, "zrangestore");
  ReplyPairs(ctx, out, rs.withscores);
}

void ZRange(CommandContext& ctx) { ZRangeGeneric(ctx, 1, false, RangeBy::kAuto, Direction::kAuto); }
void ZRangeStore(CommandContext& ctx) {
  ZRangeGeneric(ctx, 2, true, RangeBy::kAuto, Direction::kAuto);
}
void ZRangeByScore(CommandContext& ctx) {
  ZRangeGeneric(ctx, 1, false, RangeBy::kScore, Direction::kForward);
}
void ZRevRangeByScore(CommandContext& ctx) {
  ZRangeGeneric(ctx, 1, false, RangeBy::kScore, Direction::kReverse);
}
void ZRangeByLex(CommandContext& ctx) {
  ZRangeGeneric(ctx, 1, false, RangeBy::kLex, Direction::kForward);
}
void ZRevRangeByLex(CommandContext& ctx) {
  ZRangeGeneric(ctx, 1, false, RangeBy::kLex, Direction::kReverse);
}
void ZRevRange(CommandContext& ctx) {
  ZRangeGeneric(ctx, 1, false, RangeBy::kIndex, Direction::kReverse);
}

// ZRANK / ZREVRANK key member (Redis 7.0 has no WITHSCORE).
void RankGeneric(CommandContext& ctx, bool rev) {
  auto& a = ctx.args;
  bool wrong;
  Entry* e = ZSetForRead(ctx, a[1], &wrong);
  if (wrong) return;
  size_t rank;
  if (!e || !zsetv::Rank(e->value, a[2], &rank)) return ctx.rb.Null();
  if (rev) rank = zsetv::Card(e->value) - 1 - rank;
  ctx.rb.Integer(int64_t(rank));
}
void ZRank(CommandContext& ctx) { RankGeneric(ctx, false); }
void ZRevRank(CommandContext& ctx) { RankGeneric(ctx, true); }

// ---- removal -------------------------------------------------------------------------

void ZRem(CommandContext& ctx) {
  RemoveMembersCommand(ctx, ValueType::kZSet, zsetv::Remove, zsetv::Card, notify::kZset, "zrem");
}

// ZREMRANGEBYRANK / BYSCORE / BYLEX: the range is parsed before the key is looked up.
void ZRemRange(CommandContext& ctx, RangeBy by) {
  RangeSpec rs;
  rs.by = by;
  if (!ParseRangeBounds(ctx, &rs, 2, 3)) return;
  bool wrong;
  Entry* e = ZSetForRead(ctx, ctx.args[1], &wrong, true);
  if (wrong) return;
  if (!e) return ctx.rb.Integer(0);
  std::vector<std::pair<std::string, double>> out;
  CollectRange(e->value, rs, &out);
  if (out.empty()) return ctx.rb.Integer(0);
  for (auto& [m, s] : out) zsetv::Remove(e->value, m);
  ctx.Notify(notify::kZset,
             by == RangeBy::kIndex   ? "zremrangebyrank"
             : by == RangeBy::kScore ? "zremrangebyscore"
                                     : "zremrangebylex",
             ctx.args[1]);
  DeleteIfEmpty(ctx, e, zsetv::Card(e->value), ctx.args[1]);
  ctx.NotifyModified(ctx.args[1]);
  ctx.rb.Integer(int64_t(out.size()));
}
void ZRemRangeByRank(CommandContext& ctx) { ZRemRange(ctx, RangeBy::kIndex); }
void ZRemRangeByScore(CommandContext& ctx) { ZRemRange(ctx, RangeBy::kScore); }
void ZRemRangeByLex(CommandContext& ctx) { ZRemRange(ctx, RangeBy::kLex); }

// Pops up to n from the min or max end of an existing zset entry; deletes it when empty.
std::vector<std::pair<std::string, double>> PopN(CommandContext& ctx, Entry* e,
                                                 std::string_view key, bool max, size_t n) {
  std::vector<std::pair<std::string, double>> out;
  out.reserve(std::min<size_t>(n, 1024));
  zsetv::PopEnd(e->value, max, n, &out);
  std::string k(key);
  if (!out.empty()) ctx.Notify(notify::kZset, max ? "zpopmax" : "zpopmin", k);
  DeleteIfEmpty(ctx, e, zsetv::Card(e->value), k);
  if (!out.empty()) ctx.NotifyModified(k);
  return out;
}

void ZPop(CommandContext& ctx, bool max) {
  auto& a = ctx.args;
  if (a.size() > 3) return ctx.rb.Error(err::kSyntax);
  int64_t count = 1;
  bool has_count = a.size() == 3;
  if (has_count && !ParsePositive(ctx, a[2], &count, kCountPositive)) return;
  bool wrong;
  Entry* e = ZSetForRead(ctx, a[1], &wrong, true);
  if (wrong) return;
  if (!e || count == 0) return ctx.rb.EmptyArray();
  auto out = PopN(ctx, e, a[1], max, size_t(count));
  if (!has_count) {  // a flat [member, score] in both protocols
    ctx.rb.ArrayHeader(2);
    ctx.rb.Bulk(out[0].first);
    return ReplyScore(ctx, out[0].second);
  }
  ReplyPairs(ctx, out, true);
}
void ZPopMin(CommandContext& ctx) { ZPop(ctx, false); }
void ZPopMax(CommandContext& ctx) { ZPop(ctx, true); }

void BlockOrNull(CommandContext& ctx, const std::vector<std::string>& keys, int64_t deadline) {
  if (ctx.session.in_exec || ctx.session.replaying) return ctx.rb.NullArray();
  ctx.engine.BlockSession(ctx.session, ctx.args, keys, deadline, true);
}

void BZPop(CommandContext& ctx, bool max) {
  auto& a = ctx.args;
  int64_t deadline;
  if (!ParseBlockTimeout(ctx, a.back(), &deadline)) return;
  std::vector<std::string> keys(a.begin() + 1, a.end() - 1);
  for (const auto& k : keys) {
    if (SkipForeignType(ctx, k, ValueType::kZSet)) continue;
    bool wrong;
    Entry* e = ZSetForRead(ctx, k, &wrong, true);
    if (wrong) return;
    if (!e) continue;
    auto out = PopN(ctx, e, k, max, 1);
    if (ctx.propagating()) ctx.PropagateAs({max ? "ZPOPMAX" : "ZPOPMIN", k});
    ctx.rb.ArrayHeader(3);
    ctx.rb.Bulk(k);
    ctx.rb.Bulk(out[0].first);
    ReplyScore(ctx, out[0].second);
    return;
  }
  BlockOrNull(ctx, keys, deadline);
}
void BZPopMin(CommandContext& ctx) { BZPop(ctx, false); }
void BZPopMax(CommandContext& ctx) { BZPop(ctx, true); }

bool ParseZMpop(CommandContext& ctx, size_t at, std::vector<std::string>* keys, bool* max,
                int64_t* count) {
  return ParseMpopArgs(ctx, at, "MIN", "MAX", keys, max, count);
}

bool ZMpopFirst(CommandContext& ctx, const std::vector<std::string>& keys, bool max, int64_t count,
                bool* replied) {
  *replied = false;
  for (const auto& k : keys) {
    if (SkipForeignType(ctx, k, ValueType::kZSet)) continue;
    bool wrong;
    Entry* e = ZSetForRead(ctx, k, &wrong, true);
    if (wrong) return *replied = true;
    if (!e) continue;
    auto out = PopN(ctx, e, k, max, size_t(count));
    if (ctx.propagating())
      ctx.PropagateAs({max ? "ZPOPMAX" : "ZPOPMIN", k, FormatInt64(int64_t(out.size()))});
    ctx.rb.ArrayHeader(2);
    ctx.rb.Bulk(k);
    ctx.rb.ArrayHeader(out.size());
    for (auto& [m, s] : out) {
      ctx.rb.ArrayHeader(2);
      ctx.rb.Bulk(m);
      ReplyScore(ctx, s);
    }
    return *replied = true;
  }
  return false;
}

void ZMPop(CommandContext& ctx) {
  std::vector<std::string> keys;
  bool max, replied;
  int64_t count;
  if (!ParseZMpop(ctx, 1, &keys, &max, &count)) return;
  if (!ZMpopFirst(ctx, keys, max, count, &replied)) ctx.rb.NullArray();
}

void BZMPop(CommandContext& ctx) {
  std::vector<std::string> keys;
  bool max, replied;
  int64_t count;
  if (!ParseZMpop(ctx, 2, &keys, &max, &count)) return;
  int64_t deadline;  // parsed after the keys and options, as Redis does
  if (!ParseBlockTimeout(ctx, ctx.args[1], &deadline)) return;
  if (ZMpopFirst(ctx, keys, max, count, &replied) || replied) return;
  BlockOrNull(ctx, keys, deadline);
}

// ZRANDMEMBER key [count [WITHSCORES]]: the count is parsed first (a range check that refuses
// INT64_MIN, whose negation overflows), then the syntax, then WITHSCORES's tighter bound (the
// reply has twice as many entries). A negative count repeats members: the reply is built in
// a loop that stops when the client's output limit closes it, as Redis's does.
void ZRandMember(CommandContext& ctx) {
  auto& a = ctx.args;
  bool with_count = a.size() >= 3;
  int64_t count = 0;
  bool withscores = false;
  if (with_count) {
    if (!GetRangeLongOrReply(ctx, a[2], -INT64_MAX, INT64_MAX, &count)) return;
    if (a.size() > 4 || (a.size() == 4 && !ArgIs(a[3], "WITHSCORES")))
      return ctx.rb.Error(err::kSyntax);
    withscores = a.size() == 4;
    if (withscores && (count < -INT64_MAX / 2 || count > INT64_MAX / 2))
      return ctx.rb.Error("ERR value is out of range");
  }
  bool wrong;
  Entry* e = ZSetForRead(ctx, a[1], &wrong);
  if (wrong) return;
  if (!e) return RandomOnMissingKey(ctx, with_count);
  const Value& z = e->value;
  size_t card = zsetv::Card(z);
  auto at = [&](size_t rank) {
    std::pair<std::string, double> p;
    zsetv::ForRange(z, rank, rank + 1, false, [&](std::string_view m, double s) {
      p = {std::string(m), s};
      return false;
    });
    return p;
  };
  if (!with_count) return ctx.rb.Bulk(at(CommandRandom() % card).first);
  if (count == 0) return ctx.rb.EmptyArray();
  bool nested = withscores && ctx.rb.resp3();
  if (count < 0) {
    uint64_t n = uint64_t(-count);
    std::vector<std::pair<std::string, double>> all;
    all.reserve(card);
    zsetv::ForEach(z, [&](std::string_view m, double sc) {
      all.emplace_back(m, sc);
      return true;
    });
    ctx.rb.ArrayHeader(withscores && !nested ? n * 2 : n);
    for (uint64_t i = 0; i < n && !ctx.rb.aborted(); i++) {
      const auto& [m, sc] = all[CommandRandom() % card];
      if (nested) ctx.rb.ArrayHeader(2);
      ctx.rb.Bulk(m);
      if (withscores) ReplyScore(ctx, sc);
    }
    return;
  }
  std::vector<std::pair<std::string, double>> out;
  if (uint64_t(count) >= card) {
    zsetv::ForEach(z, [&](std::string_view m, double s) {
      out.emplace_back(m, s);
      return true;
    });
  } else {
    std::vector<size_t> ranks(card);
    for (size_t i = 0; i < card; i++) ranks[i] = i;
    std::mt19937_64 rng(CommandRandom());
    std::shuffle(ranks.begin(), ranks.end(), rng);
    for (size_t i = 0; i < size_t(count); i++) out.push_back(at(ranks[i]));
  }
  ReplyPairs(ctx, out, withscores);
}

// ---- ZUNION / ZINTER / ZDIFF ---------------------------------------------------------

enum class ZOp { kUnion, kInter, kDiff };

// Parses numkeys, looks the keys up (WRONGTYPE before any option is read, as Redis), then
// WEIGHTS, AGGREGATE, WITHSCORES (LIMIT for ZINTERCARD), and computes the result sorted by
// (score, member). As Redis's zunionInterDiffGenericCommand, the inputs of a union or an
// intersection are taken smallest first (a stable sort by cardinality), and every score is
// aggregated in that order, so float sums round the same way. Replies and returns false on
// error.
bool ZSetOp(CommandContext& ctx, size_t at, ZOp op, bool allow_withscores, bool* withscores,
            std::vector<std::pair<std::string, double>>* result, bool card_only = false,
            size_t* cardinality = nullptr) {
  auto& a = ctx.args;
  int64_t numkeys;
  if (!GetLongOrReply(ctx, a[at], &numkeys)) return false;
  if (numkeys < 1) {
    ctx.rb.Error("ERR at least 1 input key is needed for '" + ToLower(a[0]) + "' command");
    return false;
  }
  if (numkeys > int64_t(a.size() - at - 1)) {
    ctx.rb.Error(err::kSyntax);
    return false;
  }
  struct Src {
    const Value* v = nullptr;
    double weight = 1.0;
  };
  std::vector<Src> src(static_cast<size_t>(numkeys));
  Database& db = ctx.db();
  size_t j = at + 1;
  for (size_t i = 0; i < src.size(); i++, j++) {
    Entry* e = db.Find(a[j], ctx.now_ms);
    if (e && e->value.type() != ValueType::kZSet && e->value.type() != ValueType::kSet) {
      ctx.rb.Error(err::kWrongType);
      return false;
    }
    src[i].v = e ? &e->value : nullptr;
  }
  enum { kSum, kMin, kMax } agg = kSum;
  *withscores = false;
  int64_t limit = 0;
  while (j < a.size()) {
    size_t remaining = a.size() - j;
    if (op != ZOp::kDiff && !card_only && remaining >= src.size() + 1 && ArgIs(a[j], "WEIGHTS")) {
      j++;
      for (auto& s : src) {
        if (!GetDoubleOrReply(ctx, a[j++], &s.weight, "ERR weight value is not a float"))
          return false;
      }
    } else if (op != ZOp::kDiff && !card_only && remaining >= 2 && ArgIs(a[j], "AGGREGATE")) {
      j++;
      if (ArgIs(a[j], "SUM"))
        agg = kSum;
      else if (ArgIs(a[j], "MIN"))
        agg = kMin;
      else if (ArgIs(a[j], "MAX"))
        agg = kMax;
      else {
        ctx.rb.Error(err::kSyntax);
        return false;
      }
      j++;
    } else if (allow_withscores && !card_only && ArgIs(a[j], "WITHSCORES")) {
      j++;
      *withscores = true;
    } else if (card_only && remaining >= 2 && ArgIs(a[j], "LIMIT")) {
      if (!GetPositiveLongOrReply(ctx, a[j + 1], &limit, "ERR LIMIT can't be negative"))
        return false;
      j += 2;
    } else {
      ctx.rb.Error(err::kSyntax);
      return false;
    }
  }
  auto card = [](const Value* v) -> size_t {
    if (!v) return 0;
    return v->type() == ValueType::kSet ? setv::Card(*v) : zsetv::Card(*v);
  };
  auto for_each = [](const Value* v, const std::function<bool(std::string_view, double)>& fn) {
    if (!v) return;
    if (v->type() == ValueType::kSet) {
      setv::ForEach(*v, [&](std::string_view m) { return fn(m, 1.0); });
    } else {
      zsetv::ForEach(*v, [&](std::string_view m, double s) { return fn(m, s); });
    }
  };
  auto lookup = [](const Value* v, std::string_view m, double* s) {
    if (!v) return false;
    if (v->type() == ValueType::kSet) {
      *s = 1.0;
      return setv::Contains(*v, m);
    }
    return zsetv::Score(*v, m, s);
  };
  // zunionInterAggregate
  auto combine = [&](double* target, double val) {
    if (agg == kSum) {
      *target = *target + val;
      if (std::isnan(*target)) *target = 0.0;  // inf + -inf
    } else if (agg == kMin) {
      *target = val < *target ? val : *target;
    } else {
      *target = val > *target ? val : *target;
    }
  };
  auto weighted = [](double s, double w) {
    double r = w * s;
    return std::isnan(r) ? 0.0 : r;  // 0 * inf
  };
  if (op != ZOp::kDiff) {
    std::stable_sort(src.begin(), src.end(),
                     [&](const Src& x, const Src& y) { return card(x.v) < card(y.v); });
  }
  std::unordered_map<std::string, double> acc;
  std::vector<std::string> order;  // union: first-seen order is irrelevant, the sort decides
  if (op == ZOp::kUnion) {
    for (auto& s : src) {
      for_each(s.v, [&](std::string_view m, double sc) {
        double w = weighted(sc, s.weight);
        auto [it, fresh] = acc.try_emplace(std::string(m), w);
        if (!fresh) combine(&it->second, w);
        return true;
      });
    }
  } else if (op == ZOp::kInter) {
    if (card(src[0].v) > 0) {
      size_t n = 0;
      for_each(src[0].v, [&](std::string_view m, double sc) {
        double score = weighted(sc, src[0].weight);
        for (size_t k = 1; k < src.size(); k++) {
          double x;
          if (src[k].v == src[0].v) {
            x = sc;
          } else if (!lookup(src[k].v, m, &x)) {
            return true;
          }
          combine(&score, x * src[k].weight);
        }
        n++;
        if (!card_only) acc.emplace(std::string(m), score);
        return !(card_only && limit && n >= uint64_t(limit));
      });
      if (cardinality) *cardinality = n;
    } else if (cardinality) {
      *cardinality = 0;
    }
  } else {
    for_each(src[0].v, [&](std::string_view m, double sc) {
      double x;
      for (size_t k = 1; k < src.size(); k++)
        if (lookup(src[k].v, m, &x)) return true;
      acc.emplace(std::string(m), sc);
      return true;
    });
  }
  result->reserve(acc.size());
  for (auto& [m, s] : acc) result->emplace_back(m, s);
  std::sort(result->begin(), result->end(), [](const auto& x, const auto& y) {
    return x.second != y.second ? x.second < y.second : x.first < y.first;
  });
  return true;
}

void ZOpReply(CommandContext& ctx, ZOp op) {
  bool withscores;
  std::vector<std::pair<std::string, double>> out;
  if (!ZSetOp(ctx, 1, op, true, &withscores, &out)) return;
  ReplyPairs(ctx, out, withscores);
}
void ZUnion(CommandContext& ctx) { ZOpReply(ctx, ZOp::kUnion); }
void ZInter(CommandContext& ctx) { ZOpReply(ctx, ZOp::kInter); }
void ZDiff(CommandContext& ctx) { ZOpReply(ctx, ZOp::kDiff); }

void ZOpStore(CommandContext& ctx, ZOp op) {
  bool withscores;
  std::vector<std::pair<std::string, double>> out;
  if (!ZSetOp(ctx, 2, op, false, &withscores, &out)) return;
  StoreResult(ctx, ctx.args[1], out,
              op == ZOp::kUnion   ? "zunionstore"
              : op == ZOp::kInter ? "zinterstore"
                                  : "zdiffstore");
}
void ZUnionStore(CommandContext& ctx) { ZOpStore(ctx, ZOp::kUnion); }
void ZInterStore(CommandContext& ctx) { ZOpStore(ctx, ZOp::kInter); }
void ZDiffStore(CommandContext& ctx) { ZOpStore(ctx, ZOp::kDiff); }

void ZInterCard(CommandContext& ctx) {
  bool withscores;
  std::vector<std::pair<std::string, double>> out;
  size_t n = 0;
  if (!ZSetOp(ctx, 1, ZOp::kInter, false, &withscores, &out, true, &n)) return;
  ctx.rb.Integer(int64_t(n));
}

void ZScan(CommandContext& ctx) {
  auto& a = ctx.args;
  uint64_t cursor;
  ScanOpts o;
  Entry* e = StartCollectionScan(
      ctx, [&](bool* w) { return ZSetForRead(ctx, a[1], w); }, &cursor, &o);
  if (!e) return;
  std::vector<std::pair<std::string, double>> out;
  cursor = zsetv::Scan(e->value, cursor, size_t(o.count), [&](std::string_view m, double s) {
    if (ScanMatch(o, m)) out.emplace_back(m, s);
    return true;
  });
  ctx.rb.ArrayHeader(2);
  ctx.rb.Bulk(FormatInt64(int64_t(cursor)));
  ctx.rb.ArrayHeader(out.size() * 2);
  for (auto& [m, s] : out) {
    ctx.rb.Bulk(m);
    ctx.rb.Bulk(FormatDouble(s));
  }
}

}  // namespace

void RegisterZSetFamily(CommandTable& t) {
  using namespace cmd;
  const char* g = "sorted-set";
  t.Add({"zadd", -4, kWrite | kDenyOom | kFast, 1, 1, 1, ZAdd, g,
         "Adds one or more members to a sorted set, or updates their scores.", "1.2.0",
         "@write @sortedset @fast"});
  t.Add({"zincrby", 4, kWrite | kDenyOom | kFast, 1, 1, 1, ZIncrBy, g,
         "Increments the score of a member in a sorted set.", "1.2.0", "@write @sortedset @fast"});
  t.Add({"zscore", 3, kReadOnly | kFast, 1, 1, 1, ZScore, g,
         "Returns the score of a member in a sorted set.", "1.2.0", "@read @sortedset @fast"});
  t.Add({"zmscore", -3, kReadOnly | kFast, 1, 1, 1, ZMScore, g,
         "Returns the score of one or more members in a sorted set.", "6.2.0",
         "@read @sortedset @fast"});
  t.Add({"zcard", 2, kReadOnly | kFast, 1, 1, 1, ZCard, g,
         "Returns the number of members in a sorted set.", "1.2.0", "@read @sortedset @fast"});
  t.Add({"zcount", 4, kReadOnly | kFast, 1, 1, 1, ZCount, g,
         "Returns the count of members in a sorted set that have scores within a range.", "2.0.0",
         "@read @sortedset @fast"});
  t.Add({"zlexcount", 4, kReadOnly | kFast, 1, 1, 1, ZLexCount, g,
         "Returns the number of members in a sorted set within a lexicographical range.", "2.8.9",
         "@read @sortedset @fast"});
  t.Add({"zrange", -4, kReadOnly, 1, 1, 1, ZRange, g,
         "Returns members in a sorted set within a range of indexes.", "1.2.0",
         "@read @sortedset @slow"});
  t.Add({"zrangestore", -5, kWrite | kDenyOom, 1, 2, 1, ZRangeStore, g,
         "Stores a range of members from sorted set in a key.", "6.2.0",
         "@write @sortedset @slow"});
  t.Add({"zrangebyscore", -4, kReadOnly, 1, 1, 1, ZRangeByScore, g,
         "Returns members in a sorted set within a range of scores.", "1.0.5",
         "@read @sortedset @slow"});
  t.Add({"zrevrangebyscore", -4, kReadOnly, 1, 1, 1, ZRevRangeByScore, g,
         "Returns members in a sorted set within a range of scores in reverse order.", "2.2.0",
         "@read @sortedset @slow"});
  t.Add({"zrangebylex", -4, kReadOnly, 1, 1, 1, ZRangeByLex, g,
         "Returns members in a sorted set within a lexicographical range.", "2.8.9",
         "@read @sortedset @slow"});
  t.Add({"zrevrangebylex", -4, kReadOnly, 1, 1, 1, ZRevRangeByLex, g,
         "Returns members in a sorted set within a lexicographical range in reverse order.",
         "2.8.9", "@read @sortedset @slow"});
  t.Add({"zrevrange", -4, kReadOnly, 1, 1, 1, ZRevRange, g,
         "Returns members in a sorted set within a range of indexes in reverse order.", "1.2.0",
         "@read @sortedset @slow"});
  t.Add({"zrank", 3, kReadOnly | kFast, 1, 1, 1, ZRank, g,
         "Returns the index of a member in a sorted set ordered by ascending scores.", "2.0.0",
         "@read @sortedset @fast"});
  t.Add({"zrevrank", 3, kReadOnly | kFast, 1, 1, 1, ZRevRank, g,
         "Returns the index of a member in a sorted set ordered by descending scores.", "2.0.0",
         "@read @sortedset @fast"});
  t.Add({"zrem", -3, kWrite | kFast, 1, 1, 1, ZRem, g,
         "Removes one or more members from a sorted set.", "1.2.0", "@write @sortedset @fast"});
  t.Add({"zremrangebyrank", 4, kWrite, 1, 1, 1, ZRemRangeByRank, g,
         "Removes members in a sorted set within a range of indexes.", "2.0.0",
         "@write @sortedset @slow"});
  t.Add({"zremrangebyscore", 4, kWrite, 1, 1, 1, ZRemRangeByScore, g,
         "Removes members in a sorted set within a range of scores.", "1.2.0",
         "@write @sortedset @slow"});
  t.Add({"zremrangebylex", 4, kWrite, 1, 1, 1, ZRemRangeByLex, g,
         "Removes members in a sorted set within a lexicographical range.", "2.8.9",
         "@write @sortedset @slow"});
  t.Add({"zpopmin", -2, kWrite | kFast, 1, 1, 1, ZPopMin, g,
         "Returns the lowest-scoring members from a sorted set after removing them.", "5.0.0",
         "@write @sortedset @fast"});
  t.Add({"zpopmax", -2, kWrite | kFast, 1, 1, 1, ZPopMax, g,
         "Returns the highest-scoring members from a sorted set after removing them.", "5.0.0",
         "@write @sortedset @fast"});
  t.Add({"bzpopmin", -3, kWrite | kFast | kBlocking, 1, -2, 1, BZPopMin, g,
         "Removes and returns the member with the lowest score from one or more sorted sets. "
         "Blocks until a member is available otherwise.",
         "5.0.0", "@write @sortedset @fast @blocking"});
  t.Add({"bzpopmax", -3, kWrite | kFast | kBlocking, 1, -2, 1, BZPopMax, g,
         "Removes and returns the member with the highest score from one or more sorted sets. "
         "Blocks until a member available otherwise.",
         "5.0.0", "@write @sortedset @fast @blocking"});
  t.Add({"zmpop", -4, kWrite, 0, 0, 0, ZMPop, g,
         "Returns the highest- or lowest-scoring members from one or more sorted sets after "
         "removing them.",
         "7.0.0", "@write @sortedset @slow"});
  t.Add({"bzmpop", -5, kWrite | kBlocking, 0, 0, 0, BZMPop, g,
         "Removes and returns a member by score from one or more sorted sets. Blocks until a "
         "member is available otherwise.",
         "7.0.0", "@write @sortedset @slow @blocking"});
  t.Add({"zrandmember", -2, kReadOnly, 1, 1, 1, ZRandMember, g,
         "Returns one or more random members from a sorted set.", "6.2.0",
         "@read @sortedset @slow"});
  t.Add({"zunion", -3, kReadOnly, 0, 0, 0, ZUnion, g, "Returns the union of multiple sorted sets.",
         "6.2.0", "@read @sortedset @slow"});
  t.Add({"zinter", -3, kReadOnly, 0, 0, 0, ZInter, g,
         "Returns the intersect of multiple sorted sets.", "6.2.0", "@read @sortedset @slow"});
  t.Add({"zdiff", -3, kReadOnly, 0, 0, 0, ZDiff, g,
         "Returns the difference between multiple sorted sets.", "6.2.0",
         "@read @sortedset @slow"});
  t.Add({"zunionstore", -4, kWrite | kDenyOom, 1, 1, 1, ZUnionStore, g,
         "Stores the union of multiple sorted sets in a key.", "2.0.0", "@write @sortedset @slow"});
  t.Add({"zinterstore", -4, kWrite | kDenyOom, 1, 1, 1, ZInterStore, g,
         "Stores the intersect of multiple sorted sets in a key.", "2.0.0",
         "@write @sortedset @slow"});
  t.Add({"zdiffstore", -4, kWrite | kDenyOom, 1, 1, 1, ZDiffStore, g,
         "Stores the difference of multiple sorted sets in a key.", "6.2.0",
         "@write @sortedset @slow"});
  t.Add({"zintercard", -3, kReadOnly, 0, 0, 0, ZInterCard, g,
         "Returns the number of members of the intersect of multiple sorted sets.", "7.0.0",
         "@read @sortedset @slow"});
  t.Add({"zscan", -3, kReadOnly, 1, 1, 1, ZScan, g,
         "Iterates over members and scores of a sorted set.", "2.8.0", "@read @sortedset @slow"});
}

}  // namespace ferrite
