// List commands, including the blocking ones (BLPOP & co.; the engine side of blocking is
// in blocking.cc). Lists live packed until list_max_listpack_size, then as a deque.

#include <cmath>

#include "commands/command_table.h"
#include "commands/family_util.h"

namespace ferrite {
namespace {

constexpr const char* kIndexRange = "ERR index out of range";
constexpr const char* kCountPositive = "ERR value is out of range, must be positive";

// Normalizes a Redis [start, stop] range (negative from the end) to [b, e); false if empty.
bool NormalizeRange(int64_t start, int64_t stop, size_t len, size_t* b, size_t* e) {
  int64_t n = int64_t(len);
  if (start < 0) start += n;
  if (stop < 0) stop += n;
  if (start < 0) start = 0;
  if (start > stop || start >= n) return false;
  if (stop >= n) stop = n - 1;
  *b = size_t(start);
  *e = size_t(stop) + 1;
  return true;
}

void Push(CommandContext& ctx, bool front, bool only_existing) {
  auto& a = ctx.args;
  bool wrong;
  Entry* e = FindTyped(ctx, a[1], ValueType::kList, &wrong, true);
  if (wrong) return;
  if (!e) {
    if (only_existing) return ctx.rb.Integer(0);
    e = ctx.db().Insert(a[1], listv::New());
  }
  CollectionLimits lim = Limits(ctx);
  for (size_t i = 2; i < a.size(); i++) listv::Push(e->value, a[i], front, lim);
  int64_t len = int64_t(listv::Len(e->value));
  ctx.NotifyModified(a[1]);
  ctx.Notify(notify::kList, front ? "lpush" : "rpush", a[1]);
  ctx.rb.Integer(len);
}
void LPush(CommandContext& ctx) { Push(ctx, true, false); }
void RPush(CommandContext& ctx) { Push(ctx, false, false); }
void LPushX(CommandContext& ctx) { Push(ctx, true, true); }
void RPushX(CommandContext& ctx) { Push(ctx, false, true); }

// Pops up to n elements from an existing list entry; deletes the key when emptied.
std::vector<std::string> PopN(CommandContext& ctx, Entry* e, std::string_view key, bool front,
                              size_t n) {
  std::vector<std::string> out;
  std::string s;
  while (out.size() < n && listv::Pop(e->value, front, &s)) out.push_back(s);
  std::string k(key);
  ctx.Notify(notify::kList, front ? "lpop" : "rpop", k);
  DeleteIfEmpty(ctx, e, listv::Len(e->value), k);
  ctx.NotifyModified(k);
  return out;
}

void Pop(CommandContext& ctx, bool front) {
  auto& a = ctx.args;
  if (a.size() > 3) return ctx.rb.Error(err::WrongArity(front ? "lpop" : "rpop"));
  int64_t count = -1;
  if (a.size() == 3 && !ParsePositive(ctx, a[2], &count, kCountPositive)) return;
  bool wrong;
  Entry* e = FindTyped(ctx, a[1], ValueType::kList, &wrong, true);
  if (wrong) return;
  if (!e) {
    if (count >= 0)
      ctx.rb.NullArray();
    else
      ctx.rb.Null();
    return;
  }
  if (count == 0) return ctx.rb.EmptyArray();
  auto out = PopN(ctx, e, a[1], front, count < 0 ? 1 : size_t(count));
  if (count < 0) return ctx.rb.Bulk(out[0]);
  ctx.rb.ArrayHeader(out.size());
  for (auto& s : out) ctx.rb.Bulk(s);
}
void LPop(CommandContext& ctx) { Pop(ctx, true); }
void RPop(CommandContext& ctx) { Pop(ctx, false); }

void LLen(CommandContext& ctx) {
  bool wrong;
  Entry* e = FindTyped(ctx, ctx.args[1], ValueType::kList, &wrong);
  if (wrong) return;
  ctx.rb.Integer(e ? int64_t(listv::Len(e->value)) : 0);
}

// LINDEX / LSET look the key up before they parse the index (as Redis).
void LIndex(CommandContext& ctx) {
  bool wrong;
  Entry* e = FindTyped(ctx, ctx.args[1], ValueType::kList, &wrong);
  if (wrong) return;
  if (!e) return ctx.rb.Null();
  int64_t idx;
  if (!GetLongOrReply(ctx, ctx.args[2], &idx)) return;
  int64_t len = int64_t(listv::Len(e->value));
  if (idx < 0) idx += len;
  if (idx < 0 || idx >= len) return ctx.rb.Null();
  std::string scratch;
  ctx.rb.Bulk(listv::At(e->value, size_t(idx), &scratch));
}

void LSet(CommandContext& ctx) {
  auto& a = ctx.args;
  bool wrong;
  Entry* e = FindTyped(ctx, a[1], ValueType::kList, &wrong, true);
  if (wrong) return;
  if (!e) return ctx.rb.Error(err::kNoSuchKey);
  int64_t idx;
  if (!GetLongOrReply(ctx, a[2], &idx)) return;
  int64_t len = int64_t(listv::Len(e->value));
  if (idx < 0) idx += len;
  if (idx < 0 || idx >= len) return ctx.rb.Error(kIndexRange);
  listv::SetAt(e->value, size_t(idx), a[3], Limits(ctx));
  ctx.NotifyModified(a[1]);
  ctx.Notify(notify::kList, "lset", a[1]);
  ctx.rb.Ok();
}

void LRange(CommandContext& ctx) {
  int64_t start, stop;
  if (!ParseIntArg(ctx, ctx.args[2], &start) || !ParseIntArg(ctx, ctx.args[3], &stop)) return;
  bool wrong;
  Entry* e = FindTyped(ctx, ctx.args[1], ValueType::kList, &wrong);
  if (wrong) return;
  size_t b, en;
  if (!e || !NormalizeRange(start, stop, listv::Len(e->value), &b, &en)) return ctx.rb.EmptyArray();
  ctx.rb.ArrayHeader(en - b);
  listv::ForRange(e->value, b, en, [&](std::string_view s) {
    ctx.rb.Bulk(s);
    return true;
  });
}

void LTrim(CommandContext& ctx) {
  int64_t start, stop;
  if (!ParseIntArg(ctx, ctx.args[2], &start) || !ParseIntArg(ctx, ctx.args[3], &stop)) return;
  bool wrong;
  Entry* e = FindTyped(ctx, ctx.args[1], ValueType::kList, &wrong, true);
  if (wrong) return;
  if (!e) return ctx.rb.Ok();
  size_t b = 0, en = 0;
  if (!NormalizeRange(start, stop, listv::Len(e->value), &b, &en)) b = en = 0;
  listv::Trim(e->value, b, en);
  ctx.Notify(notify::kList, "ltrim", ctx.args[1]);
  DeleteIfEmpty(ctx, e, listv::Len(e->value), ctx.args[1]);
  ctx.NotifyModified(ctx.args[1]);
  ctx.rb.Ok();
}

void LRem(CommandContext& ctx) {
  int64_t count;
  if (!ParseIntArg(ctx, ctx.args[2], &count)) return;
  bool wrong;
  Entry* e = FindTyped(ctx, ctx.args[1], ValueType::kList, &wrong, true);
  if (wrong) return;
  if (!e) return ctx.rb.Integer(0);
  size_t n = listv::Remove(e->value, count, ctx.args[3]);
  if (n) {
    ctx.Notify(notify::kList, "lrem", ctx.args[1]);
    DeleteIfEmpty(ctx, e, listv::Len(e->value), ctx.args[1]);
    ctx.NotifyModified(ctx.args[1]);
  }
  ctx.rb.Integer(int64_t(n));
}

void LInsert(CommandContext& ctx) {
  auto& a = ctx.args;
  bool after;
  if (ArgIs(a[2], "AFTER"))
    after = true;
  else if (ArgIs(a[2], "BEFORE"))
    after = false;
  else
    return ctx.rb.Error(err::kSyntax);
  bool wrong;
  Entry* e = FindTyped(ctx, a[1], ValueType::kList, &wrong, true);
  if (wrong) return;
  if (!e) return ctx.rb.Integer(0);
  if (!listv::InsertAt(e->value, a[3], a[4], after, Limits(ctx))) return ctx.rb.Integer(-1);
  ctx.NotifyModified(a[1]);
  ctx.Notify(notify::kList, "linsert", a[1]);
  ctx.rb.Integer(int64_t(listv::Len(e->value)));
}

// LPOS key element [RANK r] [COUNT c] [MAXLEN m], as Redis 7.0's lposCommand, including what
// it does with RANK -9223372036854775808 (its negation wraps to itself there: the search runs
// from the tail, every match counts and COUNT never stops it) — reproduced here without the
// overflow.
void LPos(CommandContext& ctx) {
  auto& a = ctx.args;
  int64_t rank = 1, count = -1, maxlen = 0;
  for (size_t i = 3; i < a.size(); i++) {
    bool more = i + 1 < a.size();
    if (ArgIs(a[i], "RANK") && more) {
      if (!GetLongOrReply(ctx, a[++i], &rank)) return;
      if (rank == 0)
        return ctx.rb.Error(
            "ERR RANK can't be zero: use 1 to start from the first match, 2 from "
            "the second ... or use negative to start from the end of the list");
    } else if (ArgIs(a[i], "COUNT") && more) {
      if (!GetPositiveLongOrReply(ctx, a[++i], &count, "ERR COUNT can't be negative")) return;
    } else if (ArgIs(a[i], "MAXLEN") && more) {
      if (!GetPositiveLongOrReply(ctx, a[++i], &maxlen, "ERR MAXLEN can't be negative")) return;
    } else {
      return ctx.rb.Error(err::kSyntax);
    }
  }
  bool from_tail = rank < 0;
  bool any_rank = rank == INT64_MIN;
  uint64_t want_rank = any_rank ? 0 : uint64_t(rank < 0 ? -rank : rank);
  Entry* e = ctx.db().Find(a[1], ctx.now_ms);
  if (!e) {
    if (count != -1)
      ctx.rb.EmptyArray();
    else
      ctx.rb.Null();
    return;
  }
  if (e->value.type() != ValueType::kList) return ctx.rb.Error(err::kWrongType);
  std::vector<int64_t> found;
  size_t len = listv::Len(e->value);
  size_t limit = maxlen == 0 ? len : std::min(len, size_t(maxlen));
  uint64_t matches = 0;
  std::string scratch;
  for (size_t step = 0; step < limit; step++) {
    size_t idx = from_tail ? len - 1 - step : step;
    if (listv::At(e->value, idx, &scratch) != a[2]) continue;
    matches++;
    if (!any_rank && matches < want_rank) continue;
    found.push_back(int64_t(idx));
    if (count == -1) break;
    // matches - rank + 1 >= count; with the wrapped rank it is never true.
    if (count && !any_rank && matches - want_rank + 1 >= uint64_t(count)) break;
  }
  if (count == -1) {
    if (found.empty())
      ctx.rb.Null();
    else
      ctx.rb.Integer(found[0]);
    return;
  }
  ctx.rb.ArrayHeader(found.size());
  for (int64_t i : found) ctx.rb.Integer(i);
}

bool ParseSide(std::string_view s, bool* left) {
  if (ArgIs(s, "LEFT"))
    *left = true;
  else if (ArgIs(s, "RIGHT"))
    *left = false;
  else
    return false;
  return true;
}

// LMOVE core: false if src has no element (nothing replied). Replies on WRONGTYPE.
bool Move(CommandContext& ctx, std::string_view src, std::string_view dst, bool from_left,
          bool to_left, bool* replied) {
  *replied = false;
  bool wrong;
  Entry* s = FindTyped(ctx, src, ValueType::kList, &wrong, true);
  if (wrong) return *replied = true;
  if (!s) return false;
  Entry* d = FindTyped(ctx, dst, ValueType::kList, &wrong, true);
  if (wrong) return *replied = true;
  std::string elem;
  listv::Pop(s->value, from_left, &elem);
  bool same = src == dst;
  bool src_emptied = !same && listv::Len(s->value) == 0;
  if (src_emptied) ctx.db().Delete(s);
  // Entries may have moved after the delete: look the destination up again.
  Database& db = ctx.db();
  d = db.FindForWrite(dst, ctx.now_ms);
  if (!d) d = db.Insert(dst, listv::New());
  listv::Push(d->value, elem, to_left, Limits(ctx));
  // Redis's order: the push on dst, then the pop on src, then src's deletion.
  ctx.Notify(notify::kList, to_left ? "lpush" : "rpush", dst);
  ctx.Notify(notify::kList, from_left ? "lpop" : "rpop", src);
  if (src_emptied) ctx.Notify(notify::kGeneric, "del", src);
  ctx.NotifyModified(src);
  if (!same) ctx.NotifyModified(dst);
  ctx.rb.Bulk(elem);
  *replied = true;
  return true;
}

void LMove(CommandContext& ctx) {
  auto& a = ctx.args;
  bool from_left, to_left;
  if (!ParseSide(a[3], &from_left) || !ParseSide(a[4], &to_left)) return ctx.rb.Error(err::kSyntax);
  bool replied;
  if (!Move(ctx, a[1], a[2], from_left, to_left, &replied)) ctx.rb.Null();
}

void RPopLPush(CommandContext& ctx) {
  bool replied;
  if (!Move(ctx, ctx.args[1], ctx.args[2], false, true, &replied)) ctx.rb.Null();
}

// LMPOP / BLMPOP argument tail: numkeys key... LEFT|RIGHT [COUNT n].
bool ParseMpop(CommandContext& ctx, size_t at, std::vector<std::string>* keys, bool* left,
               int64_t* count) {
  bool right;
  if (!ParseMpopArgs(ctx, at, "LEFT", "RIGHT", keys, &right, count)) return false;
  *left = !right;
  return true;
}

// Pops from the first non-empty list among keys: [key, [elems]]. False if all empty.
bool MpopFirst(CommandContext& ctx, const std::vector<std::string>& keys, bool left, int64_t count,
               bool* replied) {
  *replied = false;
  for (const auto& k : keys) {
    if (SkipForeignType(ctx, k, ValueType::kList)) continue;
    bool wrong;
    Entry* e = FindTyped(ctx, k, ValueType::kList, &wrong, true);
    if (wrong) return *replied = true;
    if (!e) continue;
    auto out = PopN(ctx, e, k, left, size_t(count));
    if (ctx.propagating()) {
      ctx.PropagateAs({left ? "LPOP" : "RPOP", k, FormatInt64(int64_t(out.size()))});
    }
    ctx.rb.ArrayHeader(2);
    ctx.rb.Bulk(k);
    ctx.rb.ArrayHeader(out.size());
    for (auto& s : out) ctx.rb.Bulk(s);
    return *replied = true;
  }
  return false;
}

void LMPop(CommandContext& ctx) {
  std::vector<std::string> keys;
  bool left, replied;
  int64_t count;
  if (!ParseMpop(ctx, 1, &keys, &left, &count)) return;
  if (!MpopFirst(ctx, keys, left, count, &replied)) ctx.rb.NullArray();
}

// ---- blocking ------------------------------------------------------------------------

// Blocks the session unless inside EXEC or a replay, where the null reply comes at once.
// Timeouts answer *-1 for every blocking list command (BLMOVE too, as Redis 7.0); inside
// EXEC the moves answer $-1 and the pops *-1.
void BlockOrNull(CommandContext& ctx, const std::vector<std::string>& keys, int64_t deadline,
                 bool null_array) {
  if (ctx.session.in_exec || ctx.session.replaying) {
    if (null_array)
      ctx.rb.NullArray();
    else
      ctx.rb.Null();
    return;
  }
  ctx.engine.BlockSession(ctx.session, ctx.args, keys, deadline, true);
}

void BPop(CommandContext& ctx, bool left) {
  auto& a = ctx.args;
  int64_t deadline;
  if (!ParseBlockTimeout(ctx, a.back(), &deadline)) return;
  std::vector<std::string> keys(a.begin() + 1, a.end() - 1);
  for (const auto& k : keys) {
    if (SkipForeignType(ctx, k, ValueType::kList)) continue;
    bool wrong;
    Entry* e = FindTyped(ctx, k, ValueType::kList, &wrong, true);
    if (wrong) return;
    if (!e) continue;
    auto out = PopN(ctx, e, k, left, 1);
    if (ctx.propagating()) ctx.PropagateAs({left ? "LPOP" : "RPOP", k});
    ctx.rb.ArrayHeader(2);
    ctx.rb.Bulk(k);
    ctx.rb.Bulk(out[0]);
    return;
  }
  BlockOrNull(ctx, keys, deadline, true);
}
void BLPop(CommandContext& ctx) { BPop(ctx, true); }
void BRPop(CommandContext& ctx) { BPop(ctx, false); }

void BMoveImpl(CommandContext& ctx, std::string_view src, std::string_view dst, bool from_left,
               bool to_left, std::string_view timeout) {
  int64_t deadline;
  if (!ParseBlockTimeout(ctx, timeout, &deadline)) return;
  if (SkipForeignType(ctx, src, ValueType::kList))
    return BlockOrNull(ctx, {std::string(src)}, deadline, false);
  bool replied;
  if (Move(ctx, src, dst, from_left, to_left, &replied)) {
    if (ctx.propagating() && ctx.dirty)
      ctx.PropagateAs({"LMOVE", std::string(src), std::string(dst), from_left ? "LEFT" : "RIGHT",
                       to_left ? "LEFT" : "RIGHT"});
    return;
  }
  if (replied) return;
  BlockOrNull(ctx, {std::string(src)}, deadline, false);
}

void BLMove(CommandContext& ctx) {
  auto& a = ctx.args;
  bool from_left, to_left;
  if (!ParseSide(a[3], &from_left) || !ParseSide(a[4], &to_left)) return ctx.rb.Error(err::kSyntax);
  BMoveImpl(ctx, a[1], a[2], from_left, to_left, a[5]);
}

void BRPopLPush(CommandContext& ctx) {
  BMoveImpl(ctx, ctx.args[1], ctx.args[2], false, true, ctx.args[3]);
}

void BLMPop(CommandContext& ctx) {
  std::vector<std::string> keys;
  bool left, replied;
  int64_t count;
  if (!ParseMpop(ctx, 2, &keys, &left, &count)) return;
  int64_t deadline;  // parsed after the keys and options, as Redis does
  if (!ParseBlockTimeout(ctx, ctx.args[1], &deadline)) return;
  if (MpopFirst(ctx, keys, left, count, &replied) || replied) return;
  BlockOrNull(ctx, keys, deadline, true);
}

}  // namespace

void RegisterListFamily(CommandTable& t) {
  using namespace cmd;
  const char* g = "list";
  t.Add({
      .name = "lpush",
      .arity = -3,
      .flags = kWrite | kDenyOom | kFast,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = LPush,
      .group = g,
      .summary = "Prepends one or more elements to a list.",
      .since = "1.0.0",
      .acl_categories = "@write @list @fast",
  });
  t.Add({
      .name = "rpush",
      .arity = -3,
      .flags = kWrite | kDenyOom | kFast,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = RPush,
      .group = g,
      .summary = "Appends one or more elements to a list.",
      .since = "1.0.0",
      .acl_categories = "@write @list @fast",
  });
  t.Add({
      .name = "lpushx",
      .arity = -3,
      .flags = kWrite | kDenyOom | kFast,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = LPushX,
      .group = g,
      .summary = "Prepends one or more elements to a list only when the list exists.",
      .since = "2.2.0",
      .acl_categories = "@write @list @fast",
  });
  t.Add({
      .name = "rpushx",
      .arity = -3,
      .flags = kWrite | kDenyOom | kFast,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = RPushX,
      .group = g,
      .summary = "Appends an element to a list only when the list exists.",
      .since = "2.2.0",
      .acl_categories = "@write @list @fast",
  });
  t.Add({
      .name = "lpop",
      .arity = -2,
      .flags = kWrite | kFast,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = LPop,
      .group = g,
      .summary = "Returns the first elements in a list after removing it.",
      .since = "1.0.0",
      .acl_categories = "@write @list @fast",
  });
  t.Add({
      .name = "rpop",
      .arity = -2,
      .flags = kWrite | kFast,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = RPop,
      .group = g,
      .summary = "Returns and removes the last elements of a list.",
      .since = "1.0.0",
      .acl_categories = "@write @list @fast",
  });
  t.Add({
      .name = "llen",
      .arity = 2,
      .flags = kReadOnly | kFast,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = LLen,
      .group = g,
      .summary = "Returns the length of a list.",
      .since = "1.0.0",
      .acl_categories = "@read @list @fast",
  });
  t.Add({
      .name = "lindex",
      .arity = 3,
      .flags = kReadOnly,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = LIndex,
      .group = g,
      .summary = "Returns an element from a list by its index.",
      .since = "1.0.0",
      .acl_categories = "@read @list @slow",
  });
  t.Add({
      .name = "lset",
      .arity = 4,
      .flags = kWrite | kDenyOom,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = LSet,
      .group = g,
      .summary = "Sets the value of an element in a list by its index.",
      .since = "1.0.0",
      .acl_categories = "@write @list @slow",
  });
  t.Add({
      .name = "lrange",
      .arity = 4,
      .flags = kReadOnly,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = LRange,
      .group = g,
      .summary = "Returns a range of elements from a list.",
      .since = "1.0.0",
      .acl_categories = "@read @list @slow",
  });
  t.Add({
      .name = "ltrim",
      .arity = 4,
      .flags = kWrite,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = LTrim,
      .group = g,
      .summary = "Removes elements from both ends a list.",
      .since = "1.0.0",
      .acl_categories = "@write @list @slow",
  });
  t.Add({
      .name = "lrem",
      .arity = 4,
      .flags = kWrite,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = LRem,
      .group = g,
      .summary = "Removes elements from a list.",
      .since = "1.0.0",
      .acl_categories = "@write @list @slow",
  });
  t.Add({
      .name = "linsert",
      .arity = 5,
      .flags = kWrite | kDenyOom,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = LInsert,
      .group = g,
      .summary = "Inserts an element before or after another element in a list.",
      .since = "2.2.0",
      .acl_categories = "@write @list @slow",
  });
  t.Add({
      .name = "lpos",
      .arity = -3,
      .flags = kReadOnly,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = LPos,
      .group = g,
      .summary = "Returns the index of matching elements in a list.",
      .since = "6.0.6",
      .acl_categories = "@read @list @slow",
  });
  t.Add({
      .name = "lmove",
      .arity = 5,
      .flags = kWrite | kDenyOom,
      .first_key = 1,
      .last_key = 2,
      .key_step = 1,
      .handler = LMove,
      .group = g,
      .summary = "Returns an element after popping it from one list and pushing it to another.",
      .since = "6.2.0",
      .acl_categories = "@write @list @slow",
  });
  t.Add({
      .name = "rpoplpush",
      .arity = 3,
      .flags = kWrite | kDenyOom,
      .first_key = 1,
      .last_key = 2,
      .key_step = 1,
      .handler = RPopLPush,
      .group = g,
      .summary =
          "Returns the last element of a list after removing and pushing it to another list.",
      .since = "1.2.0",
      .acl_categories = "@write @list @slow",
  });
  t.Add({
      .name = "lmpop",
      .arity = -4,
      .flags = kWrite,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = LMPop,
      .group = g,
      .summary = "Returns multiple elements from a list after removing them.",
      .since = "7.0.0",
      .acl_categories = "@write @list @slow",
  });
  t.Add({
      .name = "blpop",
      .arity = -3,
      .flags = kWrite | kBlocking,
      .first_key = 1,
      .last_key = -2,
      .key_step = 1,
      .handler = BLPop,
      .group = g,
      .summary =
          "Removes and returns the first element in a list. Blocks until an element is available "
          "otherwise.",
      .since = "2.0.0",
      .acl_categories = "@write @list @slow @blocking",
  });
  t.Add({
      .name = "brpop",
      .arity = -3,
      .flags = kWrite | kBlocking,
      .first_key = 1,
      .last_key = -2,
      .key_step = 1,
      .handler = BRPop,
      .group = g,
      .summary =
          "Removes and returns the last element in a list. Blocks until an element is available "
          "otherwise.",
      .since = "2.0.0",
      .acl_categories = "@write @list @slow @blocking",
  });
  t.Add({
      .name = "brpoplpush",
      .arity = 4,
      .flags = kWrite | kDenyOom | kBlocking,
      .first_key = 1,
      .last_key = 2,
      .key_step = 1,
      .handler = BRPopLPush,
      .group = g,
      .summary =
          "Pops an element from a list, pushes it to another list and returns it. Block until an "
          "element is available otherwise.",
      .since = "2.2.0",
      .acl_categories = "@write @list @slow @blocking",
  });
  t.Add({
      .name = "blmove",
      .arity = 6,
      .flags = kWrite | kDenyOom | kBlocking,
      .first_key = 1,
      .last_key = 2,
      .key_step = 1,
      .handler = BLMove,
      .group = g,
      .summary =
          "Pops an element from a list, pushes it to another list and returns it. Blocks until an "
          "element is available otherwise.",
      .since = "6.2.0",
      .acl_categories = "@write @list @slow @blocking",
  });
  t.Add({
      .name = "blmpop",
      .arity = -5,
      .flags = kWrite | kBlocking,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = BLMPop,
      .group = g,
      .summary =
          "Pops the first element from one of multiple lists. Blocks until an element is available "
          "otherwise.",
      .since = "7.0.0",
      .acl_categories = "@write @list @slow @blocking",
  });
}

}  // namespace ferrite
