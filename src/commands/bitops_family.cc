// Bit commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO.
// Bit 0 is the most significant bit of byte 0, as Redis. Ranges, negative indexes and
// overflow rules follow Redis 7.0's bitops.c exactly.

#include <bit>
#include <cstring>

#include "base/strutil.h"
#include "commands/command_table.h"
#include "commands/family_util.h"

namespace ferrite {
namespace {

// A bit offset, as Redis's getBitOffsetFromArgument: "#n" (BITFIELD) means n * bits — a
// product Redis lets wrap on overflow, reproduced here with unsigned arithmetic — and the
// result must lie within proto_max_bulk_len bytes.
bool ParseBitOffset(CommandContext& ctx, std::string_view s, bool hash_allowed, int bits,
                    uint64_t* out) {
  bool usehash = hash_allowed && bits > 0 && !s.empty() && s[0] == '#';
  if (usehash) s.remove_prefix(1);
  int64_t v;
  if (!ParseInt64(s, &v)) {
    ctx.rb.Error(err::kBitOffset);
    return false;
  }
  if (usehash) v = int64_t(uint64_t(v) * uint64_t(bits));
  if (v < 0 || uint64_t(v >> 3) >= uint64_t(ctx.engine.config().server.proto_max_bulk_len)) {
    ctx.rb.Error(err::kBitOffset);
    return false;
  }
  *out = uint64_t(v);
  return true;
}

// Returns the writable string of a key, created or zero-extended to hold `bytes`.
// nullptr (after replying WRONGTYPE) on a wrong type. *changed is set when created/grown.
char* StringForBits(CommandContext& ctx, std::string_view key, uint64_t bytes, bool* changed,
                    size_t* len) {
  bool wrong;
  Entry* e = FindTyped(ctx, key, ValueType::kString, &wrong, true);
  if (wrong) return nullptr;
  *changed = false;
  if (!e) {
    e = ctx.db().Insert(key, Value::String(""));
    *changed = true;
  }
  size_t cur = e->value.StringLength();
  size_t want = std::max<size_t>(cur, size_t(bytes));
  if (want > cur) *changed = true;
  char* p = e->value.MutableString(want);
  *len = want;
  return p;
}

int GetBitAt(const unsigned char* p, size_t len, uint64_t bit) {
  uint64_t byte = bit >> 3;
  if (byte >= len) return 0;
  return (p[byte] >> (7 - (bit & 7))) & 1;
}

void SetBit(CommandContext& ctx) {
  uint64_t off;
  if (!ParseBitOffset(ctx, ctx.args[2], false, 1, &off)) return;
  int64_t on;
  if (!GetLongOrReply(ctx, ctx.args[3], &on, err::kBitValue)) return;
  if (on & ~int64_t(1)) return ctx.rb.Error(err::kBitValue);
  bool changed;
  size_t len;
  char* p = StringForBits(ctx, ctx.args[1], (off >> 3) + 1, &changed, &len);
  if (!p) return;
  auto* byte = reinterpret_cast<unsigned char*>(p) + (off >> 3);
  int shift = 7 - int(off & 7);
  int old = (*byte >> shift) & 1;
  // A change (dirty, WATCH, the "setbit" event, propagation) only when the key was created
  // or grown or the bit flipped, as Redis 7.0.
  if (changed || old != on) {
    *byte = static_cast<unsigned char>((*byte & ~(1 << shift)) | (int(on) << shift));
    ctx.NotifyModified(ctx.args[1]);
    ctx.Notify(notify::kString, "setbit", ctx.args[1]);
  }
  ctx.rb.Integer(old);
}

void GetBit(CommandContext& ctx) {
  uint64_t off;
  if (!ParseBitOffset(ctx, ctx.args[2], false, 1, &off)) return;
  bool wrong;
  Entry* e = FindTyped(ctx, ctx.args[1], ValueType::kString, &wrong);
  if (wrong) return;
  if (!e) return ctx.rb.Integer(0);
  std::string scratch;
  std::string_view s = e->value.GetString(&scratch);
  ctx.rb.Integer(GetBitAt(reinterpret_cast<const unsigned char*>(s.data()), s.size(), off));
}

uint64_t Popcount(const unsigned char* p, size_t n) {
  uint64_t c = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    c += uint64_t(std::popcount(w));
  }
  for (; i < n; i++) c += uint64_t(std::popcount(unsigned(p[i])));
  return c;
}

// Normalizes a Redis [start, end] range against total; returns false if empty.
bool NormalizeRange(int64_t* start, int64_t* end, int64_t total) {
  if (*start < 0 && *end < 0 && *start > *end) return false;
  if (*start < 0) *start += total;
  if (*end < 0) *end += total;
  if (*start < 0) *start = 0;
  if (*end < 0) *end = 0;
  if (*end >= total) *end = total - 1;
  return *start <= *end;
}

bool ParseBitUnit(CommandContext& ctx, std::string_view s, bool* isbit) {
  if (ArgIs(s, "BIT"))
    *isbit = true;
  else if (ArgIs(s, "BYTE"))
    *isbit = false;
  else {
    ctx.rb.Error(err::kSyntax);
    return false;
  }
  return true;
}

// BITCOUNT key [start end [BYTE|BIT]], as Redis's bitcountCommand: a missing key answers 0
// before the arguments are looked at; a range of two negative indexes in the wrong order
// answers 0 before the unit is read.
void BitCount(CommandContext& ctx) {
  auto& a = ctx.args;
  bool wrong;
  Entry* e = FindTyped(ctx, a[1], ValueType::kString, &wrong);
  if (wrong) return;
  if (!e) return ctx.rb.Integer(0);
  std::string scratch;
  std::string_view s = e->value.GetString(&scratch);
  auto* p = reinterpret_cast<const unsigned char*>(s.data());
  int64_t len = int64_t(s.size());
  if (a.size() == 2) return ctx.rb.Integer(int64_t(Popcount(p, size_t(len))));
  if (a.size() != 4 && a.size() != 5) return ctx.rb.Error(err::kSyntax);
  int64_t start, end;
  if (!GetLongOrReply(ctx, a[2], &start) || !GetLongOrReply(ctx, a[3], &end)) return;
  if (start < 0 && end < 0 && start > end) return ctx.rb.Integer(0);
  bool isbit = false;
  if (a.size() == 5 && !ParseBitUnit(ctx, a[4], &isbit)) return;
  int64_t total = isbit ? len * 8 : len;
  if (!NormalizeRange(&start, &end, total)) return ctx.rb.Integer(0);
  if (!isbit) return ctx.rb.Integer(int64_t(Popcount(p + start, size_t(end - start + 1))));
  int64_t sb = start >> 3, eb = end >> 3;
  int64_t count = int64_t(Popcount(p + sb, size_t(eb - sb + 1)));
  unsigned first_mask = ~((1u << (8 - (start & 7))) - 1) & 0xFF;  // bits before start
  unsigned last_mask = (1u << (7 - (end & 7))) - 1;               // bits after end
  count -= std::popcount(unsigned(p[sb] & first_mask));
  count -= std::popcount(unsigned(p[eb] & last_mask));
  ctx.rb.Integer(count);
}

void BitPos(CommandContext& ctx) {
  auto& a = ctx.args;
  int64_t bit;
  if (!ParseIntArg(ctx, a[2], &bit)) return;
  if (bit != 0 && bit != 1) return ctx.rb.Error(err::kBitArg);
  bool wrong;
  Entry* e = FindTyped(ctx, a[1], ValueType::kString, &wrong);
  if (wrong) return;
  if (!e) return ctx.rb.Integer(bit ? -1 : 0);
  if (a.size() > 6) return ctx.rb.Error(err::kSyntax);
  std::string scratch;
  std::string_view s = e->value.GetString(&scratch);
  auto* p = reinterpret_cast<const unsigned char*>(s.data());
  int64_t len = int64_t(s.size());
  int64_t start = 0, end = len - 1;
  bool isbit = false, end_given = false;
  if (a.size() >= 4) {
    if (!ParseIntArg(ctx, a[3], &start)) return;
    if (a.size() == 6 && !ParseBitUnit(ctx, a[5], &isbit)) return;
    if (a.size() >= 5) {
      if (!ParseIntArg(ctx, a[4], &end)) return;
      end_given = true;
    } else {
      end = len - 1;
    }
    int64_t total = isbit ? len * 8 : len;
    if (start < 0) start += total;
    if (end < 0) end += total;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= total) end = total - 1;
  }
  if (start > end) return ctx.rb.Integer(-1);
  int64_t sbit = isbit ? start : start * 8;
  int64_t ebit = isbit ? end : end * 8 + 7;
  for (int64_t i = sbit; i <= ebit;) {
    // Skip whole bytes that cannot match.
    if ((i & 7) == 0 && i + 7 <= ebit) {
      unsigned char b = p[i >> 3];
      if ((bit && b == 0) || (!bit && b == 0xFF)) {
        i += 8;
        continue;
      }
    }
    if (GetBitAt(p, size_t(len), uint64_t(i)) == bit) return ctx.rb.Integer(i);
    i++;
  }
  // No match: looking for a clear bit without an explicit end, the string continues
  // with zeros right after the range, as Redis answers.
  if (bit == 0 && !end_given) return ctx.rb.Integer(ebit + 1);
  ctx.rb.Integer(-1);
}

void BitOp(CommandContext& ctx) {
  auto& a = ctx.args;
  std::string_view op = a[1];
  enum { kAnd, kOr, kXor, kNot } kind;
  if (ArgIs(op, "AND"))
    kind = kAnd;
  else if (ArgIs(op, "OR"))
    kind = kOr;
  else if (ArgIs(op, "XOR"))
    kind = kXor;
  else if (ArgIs(op, "NOT"))
    kind = kNot;
  else
    return ctx.rb.Error(err::kSyntax);
  if (kind == kNot && a.size() != 4) {
    return ctx.rb.Error(err::kBitopNot);
  }
  std::vector<std::string> srcs;
  size_t maxlen = 0;
  for (size_t i = 3; i < a.size(); i++) {
    bool wrong;
    Entry* e = FindTyped(ctx, a[i], ValueType::kString, &wrong);
    if (wrong) return;
    std::string scratch;
    srcs.emplace_back(e ? std::string(e->value.GetString(&scratch)) : std::string());
    maxlen = std::max(maxlen, srcs.back().size());
  }
  std::string res(maxlen, '\0');
  for (size_t j = 0; j < maxlen; j++) {
    auto at = [&](size_t k) -> unsigned char {
      return j < srcs[k].size() ? static_cast<unsigned char>(srcs[k][j]) : 0;
    };
    unsigned char out = at(0);
    if (kind == kNot) out = static_cast<unsigned char>(~out);
    for (size_t k = 1; k < srcs.size(); k++) {
      if (kind == kAnd)
        out &= at(k);
      else if (kind == kOr)
        out |= at(k);
      else
        out ^= at(k);
    }
    res[j] = static_cast<char>(out);
  }
  Database& db = ctx.db();
  if (res.empty()) {
    if (db.Delete(a[2])) {
      ctx.NotifyModified(a[2]);
      ctx.Notify(notify::kGeneric, "del", a[2]);
    }
  } else {
    // Redis stores the result as a raw string (createObject of the sds), never embstr or
    // int: OBJECT ENCODING says "raw" whatever its length.
    Value v = Value::String("");
    memcpy(v.MutableString(res.size()), res.data(), res.size());
    db.Set(a[2], std::move(v), false, ctx.now_ms);
    ctx.NotifyModified(a[2]);
    ctx.Notify(notify::kString, "set", a[2]);
  }
  ctx.rb.Integer(int64_t(res.size()));
}

// ---------------------------------------------------------------- BITFIELD
enum class Overflow { kWrap, kSat, kFail };

struct FieldOp {
  enum Kind { kGet, kSet, kIncrBy } kind;
  bool sign;
  int bits;
  uint64_t offset;
  int64_t value;
  Overflow ow;
};

// A BITFIELD type, as getBitfieldTypeFromArgument: a lowercase 'i' (1..64 bits) or 'u' (1..63),
// the width read as a C string (up to a NUL).
bool ParseFieldType(CommandContext& ctx, std::string_view t, bool* sign, int* bits) {
  int64_t n;
  std::string_view width = t.size() > 1 ? t.substr(1, t.find('\0', 1) - 1) : std::string_view();
  if (t.empty() || (t[0] != 'i' && t[0] != 'u') || !ParseInt64(width, &n) || n < 1 ||
      (t[0] == 'i' && n > 64) || (t[0] == 'u' && n > 63)) {
    ctx.rb.Error(err::kBitfieldType);
    return false;
  }
  *sign = t[0] == 'i';
  *bits = int(n);
  return true;
}

uint64_t ReadField(const unsigned char* p, size_t len, uint64_t off, int bits) {
  uint64_t v = 0;
  for (int j = 0; j < bits; j++) v = (v << 1) | uint64_t(GetBitAt(p, len, off + uint64_t(j)));
  return v;
}

void WriteField(unsigned char* p, uint64_t off, int bits, uint64_t v) {
  for (int j = 0; j < bits; j++) {
    uint64_t bit = (v >> (bits - 1 - j)) & 1;
    uint64_t pos = off + uint64_t(j);
    int shift = 7 - int(pos & 7);
    p[pos >> 3] = static_cast<unsigned char>((p[pos >> 3] & ~(1 << shift)) | (bit << shift));
  }
}

int64_t SignExtend(uint64_t v, int bits) {
  if (bits == 64) return int64_t(v);
  uint64_t msb = uint64_t(1) << (bits - 1);
  if (v & msb) v |= ~uint64_t(0) << bits;
  return int64_t(v);
}

// Redis's checkUnsignedBitfieldOverflow: returns nonzero on overflow and sets *limit to
// the wrapped or saturated result.
int UnsignedOverflow(uint64_t value, int64_t incr, int bits, Overflow ow, uint64_t* limit) {
  uint64_t max = bits == 64 ? UINT64_MAX : ((uint64_t(1) << bits) - 1);
  int64_t maxincr = int64_t(max - value);
  int64_t minincr = -int64_t(value);
  auto wrap = [&] {
    uint64_t mask = ~uint64_t(0) << bits;
    *limit = (value + uint64_t(incr)) & ~mask;
  };
  if (value > max || (incr > 0 && incr > maxincr)) {
    if (ow == Overflow::kWrap)
      wrap();
    else if (ow == Overflow::kSat)
      *limit = max;
    return 1;
  }
  if (incr < 0 && incr < minincr) {
    if (ow == Overflow::kWrap)
      wrap();
    else if (ow == Overflow::kSat)
      *limit = 0;
    return -1;
  }
  return 0;
}

int SignedOverflow(int64_t value, int64_t incr, int bits, Overflow ow, int64_t* limit) {
  int64_t max = bits == 64 ? INT64_MAX : ((int64_t(1) << (bits - 1)) - 1);
  int64_t min = -max - 1;
  // Computed in unsigned arithmetic: Redis relies on wrap-around here.
  int64_t maxincr = int64_t(uint64_t(max) - uint64_t(value));
  int64_t minincr = int64_t(uint64_t(min) - uint64_t(value));
  auto wrap = [&] {
    uint64_t c = uint64_t(value) + uint64_t(incr);
    if (bits < 64) {
      uint64_t mask = ~uint64_t(0) << bits;
      uint64_t msb = uint64_t(1) << (bits - 1);
      c = (c & msb) ? (c | mask) : (c & ~mask);
    }
    *limit = int64_t(c);
  };
  if (value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr)) {
    if (ow == Overflow::kWrap)
      wrap();
    else if (ow == Overflow::kSat)
      *limit = max;
    return 1;
  }
  if (value < min || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr)) {
    if (ow == Overflow::kWrap)
      wrap();
    else if (ow == Overflow::kSat)
      *limit = min;
    return -1;
  }
  return 0;
}

// BITFIELD / BITFIELD_RO, as Redis's bitfieldGeneric: every operation is parsed first (type,
// then offset, then value), and only then does BITFIELD_RO refuse a write.
void BitFieldGeneric(CommandContext& ctx, bool readonly) {
  auto& a = ctx.args;
  std::vector<FieldOp> ops;
  Overflow ow = Overflow::kWrap;
  bool writes = false;
  uint64_t highest = 0;
  for (size_t i = 2; i < a.size(); i++) {
    std::string_view sub = a[i];
    size_t left = a.size() - i - 1;
    FieldOp::Kind kind;
    if (ArgIs(sub, "GET") && left >= 2) {
      kind = FieldOp::kGet;
    } else if (ArgIs(sub, "SET") && left >= 3) {
      kind = FieldOp::kSet;
    } else if (ArgIs(sub, "INCRBY") && left >= 3) {
      kind = FieldOp::kIncrBy;
    } else if (ArgIs(sub, "OVERFLOW") && left >= 1) {
      std::string_view t = a[++i];
      if (ArgIs(t, "WRAP"))
        ow = Overflow::kWrap;
      else if (ArgIs(t, "SAT"))
        ow = Overflow::kSat;
      else if (ArgIs(t, "FAIL"))
        ow = Overflow::kFail;
      else
        return ctx.rb.Error(err::kBitfieldOverflow);
      continue;
    } else {
      return ctx.rb.Error(err::kSyntax);
    }
    FieldOp op{kind, false, 0, 0, 0, ow};
    if (!ParseFieldType(ctx, a[i + 1], &op.sign, &op.bits)) return;
    if (!ParseBitOffset(ctx, a[i + 2], true, op.bits, &op.offset)) return;
    if (kind != FieldOp::kGet) {
      if (!GetLongOrReply(ctx, a[i + 3], &op.value)) return;
      writes = true;
      highest = std::max(highest, op.offset + uint64_t(op.bits) - 1);
    }
    ops.push_back(op);
    i += kind == FieldOp::kGet ? 2 : 3;
  }
  if (writes && readonly) return ctx.rb.Error(err::kBitfieldRo);
  unsigned char* p = nullptr;
  size_t len = 0;
  std::string scratch;
  bool changed = false;
  if (writes) {
    char* w = StringForBits(ctx, a[1], (highest >> 3) + 1, &changed, &len);
    if (!w) return;
    p = reinterpret_cast<unsigned char*>(w);
  } else {
    bool wrong;
    Entry* e = FindTyped(ctx, a[1], ValueType::kString, &wrong);
    if (wrong) return;
    if (e) {
      std::string_view s = e->value.GetString(&scratch);
      p = reinterpret_cast<unsigned char*>(const_cast<char*>(s.data()));
      len = s.size();
    }
  }
  ctx.rb.ArrayHeader(ops.size());
  // Each SET/INCRBY that changes the field (or runs on a created or grown string) is one
  // change, as Redis 7.0 counts them; none: no dirty, no event, nothing propagated.
  int64_t changes = 0;
  for (const FieldOp& op : ops) {
    uint64_t raw = p ? ReadField(p, len, op.offset, op.bits) : 0;
    if (op.kind == FieldOp::kGet) {
      ctx.rb.Integer(op.sign ? SignExtend(raw, op.bits) : int64_t(raw));
      continue;
    }
    if (op.sign) {
      int64_t old = SignExtend(raw, op.bits);
      int64_t nv =
          op.kind == FieldOp::kIncrBy ? int64_t(uint64_t(old) + uint64_t(op.value)) : op.value;
      int64_t limit = 0;
      int over = op.kind == FieldOp::kIncrBy ? SignedOverflow(old, op.value, op.bits, op.ow, &limit)
                                             : SignedOverflow(op.value, 0, op.bits, op.ow, &limit);
      if (over) nv = limit;
      if (over && op.ow == Overflow::kFail) {
        ctx.rb.Null();
        continue;
      }
      WriteField(p, op.offset, op.bits, uint64_t(nv));
      if (changed || nv != old) changes++;
      ctx.rb.Integer(op.kind == FieldOp::kIncrBy ? nv : old);
    } else {
      uint64_t old = raw;
      uint64_t nv = op.kind == FieldOp::kIncrBy ? old + uint64_t(op.value) : uint64_t(op.value);
      uint64_t limit = 0;
      int over = op.kind == FieldOp::kIncrBy
                     ? UnsignedOverflow(old, op.value, op.bits, op.ow, &limit)
                     : UnsignedOverflow(uint64_t(op.value), 0, op.bits, op.ow, &limit);
      if (over) nv = limit;
      if (over && op.ow == Overflow::kFail) {
        ctx.rb.Null();
        continue;
      }
      WriteField(p, op.offset, op.bits, nv);
      if (changed || nv != old) changes++;
      ctx.rb.Integer(op.kind == FieldOp::kIncrBy ? int64_t(nv) : int64_t(old));
    }
  }
  if (changes) {
    ctx.NotifyModified(a[1]);
    ctx.dirty += uint64_t(changes - 1);
    ctx.Notify(notify::kString, "setbit", a[1]);
  }
}

void BitField(CommandContext& ctx) { BitFieldGeneric(ctx, false); }
void BitFieldRo(CommandContext& ctx) { BitFieldGeneric(ctx, true); }

}  // namespace

void RegisterBitopsFamily(CommandTable& t) {
  using namespace cmd;
  const char* g = "bitmap";
  t.Add({
      .name = "setbit",
      .arity = 4,
      .flags = kWrite | kDenyOom,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = SetBit,
      .group = g,
      .summary = "Sets or clears the bit at offset of the string value. Creates the key if it "
                 "doesn't exist.",
      .since = "2.2.0",
      .acl_categories = "@write @bitmap @slow",
  });
  t.Add({
      .name = "getbit",
      .arity = 3,
      .flags = kReadOnly | kFast,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = GetBit,
      .group = g,
      .summary = "Returns a bit value by offset.",
      .since = "2.2.0",
      .acl_categories = "@read @bitmap @fast",
  });
  t.Add({
      .name = "bitcount",
      .arity = -2,
      .flags = kReadOnly,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = BitCount,
      .group = g,
      .summary = "Counts the number of set bits (population counting) in a string.",
      .since = "2.6.0",
      .acl_categories = "@read @bitmap @slow",
  });
  t.Add({
      .name = "bitpos",
      .arity = -3,
      .flags = kReadOnly,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = BitPos,
      .group = g,
      .summary = "Finds the first set (1) or clear (0) bit in a string.",
      .since = "2.8.7",
      .acl_categories = "@read @bitmap @slow",
  });
  t.Add({
      .name = "bitop",
      .arity = -4,
      .flags = kWrite | kDenyOom,
      .first_key = 2,
      .last_key = -1,
      .key_step = 1,
      .handler = BitOp,
      .group = g,
      .summary = "Performs bitwise operations on multiple strings, and stores the result.",
      .since = "2.6.0",
      .acl_categories = "@write @bitmap @slow",
  });
  t.Add({
      .name = "bitfield",
      .arity = -2,
      .flags = kWrite | kDenyOom,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = BitField,
      .group = g,
      .summary = "Performs arbitrary bitfield integer operations on strings.",
      .since = "3.2.0",
      .acl_categories = "@write @bitmap @slow",
  });
  t.Add({
      .name = "bitfield_ro",
      .arity = -2,
      .flags = kReadOnly | kFast,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = BitFieldRo,
      .group = g,
      .summary = "Performs arbitrary read-only bitfield integer operations on strings.",
      .since = "6.0.0",
      .acl_categories = "@read @bitmap @fast",
  });
}

}  // namespace ferrite
