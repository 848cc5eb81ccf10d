// SORT and SORT_RO over lists, sets and sorted sets, as Redis 7 (sort.c):
//
//   SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
//            [STORE destination]
//
// Numeric by default (strtod of each element or BY weight; equal scores fall back to
// comparing the elements bytewise), ALPHA compares bytes (strcoll in the C locale; with
// STORE Redis compares binary-safe, without it as C strings). A BY pattern without '*'
// skips sorting: lists and sorted sets keep their order (reversed by DESC), sets too
// unless STORE forces an ALPHA sort so the stored result is deterministic. Patterns
// substitute the first '*' with the element; "key_*->field" reads a hash field; "#" is
// the element itself. STORE replaces the destination with a list (or deletes it when the
// result is empty) and is propagated as DEL + RPUSH, never as the SORT itself.

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "commands/command_table.h"
#include "commands/engine.h"
#include "commands/family_util.h"

namespace ferrite {
namespace {

constexpr const char* kScoreNotDouble = "ERR One or more scores can't be converted into double";
constexpr size_t kPropagateChunk = 1024;

// Redis's lookupKeyByPattern(): the value a GET/BY pattern names for one element. False
// when the pattern has no '*', the key is absent, of another type, or the field is absent.
// Redis scans the pattern with strchr/strstr, so a NUL byte ends the part it searches.
bool LookupByPattern(CommandContext& ctx, std::string_view pat, std::string_view elem,
                     std::string* out) {
  std::string_view c = pat.substr(0, pat.find('\0'));
  if (c == "#") {
    out->assign(elem);
    return true;
  }
  size_t star = c.find('*');
  if (star == std::string_view::npos) return false;
  std::string_view field;
  size_t arrow = c.find("->", star + 1);
  bool is_hash = arrow != std::string_view::npos && arrow + 2 < c.size();
  if (is_hash) field = pat.substr(arrow + 2);
  size_t postfix = pat.size() - (star + 1) - (is_hash ? field.size() + 2 : 0);
  std::string key;
  key.reserve(star + elem.size() + postfix);
  key.append(pat.substr(0, star)).append(elem).append(pat.substr(star + 1, postfix));

  Entry* e = ctx.db().Find(key, ctx.now_ms);
  if (!e) return false;
  if (!is_hash) {
    if (e->value.type() != ValueType::kString) return false;
    std::string scratch;
    out->assign(e->value.GetString(&scratch));
    return true;
  }
  if (e->value.type() != ValueType::kHash) return false;
  std::string_view v;
  if (!hashv::Get(e->value, field, &v)) return false;
  out->assign(v);
  return true;
}

// strtod() over the C string, as Redis: trailing bytes, overflow/underflow or NaN fail.
bool ScoreOf(const std::string& s, double* out) {
  char* end;
  errno = 0;
  *out = std::strtod(s.c_str(), &end);
  return *end == '\0' && errno != ERANGE && !std::isnan(*out);
}

// strcoll() in the C locale: strcmp, which stops at the first NUL.
int CStrCompare(std::string_view a, std::string_view b) {
  return a.substr(0, a.find('\0')).compare(b.substr(0, b.find('\0')));
}

struct Item {
  std::string elem;
  double score = 0;
  bool has_cmp = false;  // ALPHA with BY: the weight exists
  std::string cmp;
};

void SortGeneric(CommandContext& ctx, bool readonly) {
  auto& a = ctx.args;
  bool desc = false, alpha = false, dontsort = false;
  int64_t limit_start = 0, limit_count = -1;
  std::string_view sortby;
  bool has_sortby = false;
  std::string_view storekey;
  bool store = false;
  std::vector<std::string_view> gets;
  // BY with a pattern and GET read keys the key specs do not name: Redis allows them only
  // to a user with read access to every key (for a script, its caller's user).
  int full_access = -1;  // unknown yet
  auto full_key_access = [&] {
    if (full_access < 0) {
      Session* who = ctx.session.script && ctx.engine.current_session()
                         ? ctx.engine.current_session()
                         : &ctx.session;
      const CommandSpec* spec = ctx.engine.commands().Find(a[0]);
      full_access = !spec || ctx.engine.acl().HasUnrestrictedRead(who->user, *spec, a);
    }
    return full_access == 1;
  };

  for (size_t j = 2; j < a.size(); j++) {
    size_t left = a.size() - j - 1;
    if (ArgIs(a[j], "ASC")) {
      desc = false;
    } else if (ArgIs(a[j], "DESC")) {
      desc = true;
    } else if (ArgIs(a[j], "ALPHA")) {
      alpha = true;
    } else if (ArgIs(a[j], "LIMIT") && left >= 2) {
      if (!ParseIntArg(ctx, a[j + 1], &limit_start) || !ParseIntArg(ctx, a[j + 2], &limit_count))
        return;
      j += 2;
    } else if (!readonly && ArgIs(a[j], "STORE") && left >= 1) {
      storekey = a[++j];
      store = true;
    } else if (ArgIs(a[j], "BY") && left >= 1) {
      sortby = a[++j];
      has_sortby = true;
      // Only a pattern that can name a key per element sorts; the flag sticks.
      if (sortby.substr(0, sortby.find('\0')).find('*') == std::string_view::npos) {
        dontsort = true;
      } else if (!full_key_access()) {
        return ctx.rb.Error("ERR BY option of SORT denied due to insufficient ACL permissions.");
      }
    } else if (ArgIs(a[j], "GET") && left >= 1) {
      if (!full_key_access())
        return ctx.rb.Error("ERR GET option of SORT denied due to insufficient ACL permissions.");
      gets.push_back(a[++j]);
    } else {
      return ctx.rb.Error(err::kSyntax);
    }
  }

  Database& db = ctx.db();
  Entry* e = db.Find(a[1], ctx.now_ms);
  ValueType type = ValueType::kList;  // a missing key sorts as an empty list
  if (e) {
    type = e->value.type();
    if (type != ValueType::kList && type != ValueType::kSet && type != ValueType::kZSet)
      return ctx.rb.Error(err::kWrongType);
    // Redis's SORT (and SORT_RO) converts a small sorted set to its full encoding for good;
    // what a sorted set shows afterwards (OBJECT ENCODING, a -0 score kept) follows from it.
    if (type == ValueType::kZSet && e->value.encoding() == Encoding::kPack) {
      e = db.FindForWrite(a[1], ctx.now_ms);
      zsetv::Unpack(e->value);
    }
  }

  // An unsorted set comes out in hash order; a stored result (or a script's, which must be
  // deterministic) must not depend on it.
  if (dontsort && type == ValueType::kSet && (store || ctx.session.script)) {
    dontsort = false;
    alpha = true;
    has_sortby = false;
  }

  int64_t len = 0;
  if (e) {
    if (type == ValueType::kList)
      len = int64_t(listv::Len(e->value));
    else if (type == ValueType::kSet)
      len = int64_t(setv::Card(e->value));
    else
      len = int64_t(zsetv::Card(e->value));
  }

  // LIMIT, clamped exactly as Redis does; [start, end] inclusive, empty when end < start.
  int64_t start = std::min(std::max<int64_t>(limit_start, 0), len);
  int64_t count = std::min(std::max<int64_t>(limit_count, -1), len);
  int64_t end = count < 0 ? len : start + count - 1;
  if (start >= len) {
    start = len - 1;
    end = len - 2;
  }
  if (end >= len) end = len - 1;

  // Copy the elements out first: pattern lookups may expire (delete) keys and move entries.
  std::vector<Item> items;
  auto add = [&](std::string_view s) {
    items.emplace_back();
    items.back().elem.assign(s);
  };
  if (e && dontsort && type == ValueType::kList) {
    // Native order (reversed by DESC), only the LIMIT range.
    if (end >= start) {
      size_t b = desc ? size_t(len - 1 - end) : size_t(start);
      size_t en = desc ? size_t(len - start) : size_t(end + 1);
      items.reserve(en - b);
      listv::ForRange(e->value, b, en, [&](std::string_view s) {
        add(s);
        return true;
      });
      if (desc) std::reverse(items.begin(), items.end());
      end -= start;
      start = 0;
    }
  } else if (e && dontsort && type == ValueType::kZSet) {
    if (end >= start) {
      size_t b = desc ? size_t(len - 1 - end) : size_t(start);
      size_t en = desc ? size_t(len - start) : size_t(end + 1);
      items.reserve(en - b);
      zsetv::ForRange(e->value, b, en, desc, [&](std::string_view m, double) {
        add(m);
        return true;
      });
    }
    end -= start;
    start = 0;
  } else if (e) {
    items.reserve(size_t(len));
    if (type == ValueType::kList) {
      listv::ForRange(e->value, 0, size_t(len), [&](std::string_view s) {
        add(s);
        return true;
      });
    } else if (type == ValueType::kSet) {
      setv::ForEach(e->value, [&](std::string_view s) {
        add(s);
        return true;
      });
    } else {
      zsetv::ForEach(e->value, [&](std::string_view m, double) {
        add(m);
        return true;
      });
    }
  }
  e = nullptr;  // not valid past the lookups below

  bool conversion_error = false;
  if (!dontsort) {
    std::string byval;
    for (Item& it : items) {
      const std::string* val = &it.elem;
      if (has_sortby) {
        if (!LookupByPattern(ctx, sortby, it.elem, &byval)) continue;  // score 0 / no weight
        val = &byval;
      }
      if (alpha) {
        if (has_sortby) {
          it.has_cmp = true;
          it.cmp = byval;
        }
      } else if (!ScoreOf(*val, &it.score)) {
        conversion_error = true;
      }
    }
    if (!conversion_error) {
      auto compare = [&](const Item& x, const Item& y) -> int {
        if (!alpha) {
          if (x.score > y.score) return 1;
          if (x.score < y.score) return -1;
          return x.elem.compare(y.elem);  // deterministic tie-break, binary
        }
        if (has_sortby) {
          if (!x.has_cmp || !y.has_cmp) {
            if (x.has_cmp == y.has_cmp) return 0;
            return x.has_cmp ? 1 : -1;  // missing weights first
          }
          return store ? x.cmp.compare(y.cmp) : CStrCompare(x.cmp, y.cmp);
        }
        return store ? x.elem.compare(y.elem) : CStrCompare(x.elem, y.elem);
      };
      std::stable_sort(items.begin(), items.end(), [&](const Item& x, const Item& y) {
        int c = compare(x, y);
        return desc ? c > 0 : c < 0;
      });
    }
  }

  if (conversion_error) return ctx.rb.Error(kScoreNotDouble);

  size_t n = end >= start ? size_t(end - start + 1) : 0;
  size_t outputlen = gets.empty() ? n : gets.size() * n;

  if (!store) {
    ctx.rb.ArrayHeader(outputlen);
    std::string val;
    for (size_t j = 0; j < n; j++) {
      const std::string& elem = items[size_t(start) + j].elem;
      if (gets.empty()) ctx.rb.Bulk(elem);
      for (std::string_view pat : gets) {
        if (LookupByPattern(ctx, pat, elem, &val))
          ctx.rb.Bulk(val);
        else
          ctx.rb.Null();
      }
    }
    return;
  }

  std::vector<std::string> out;
  out.reserve(outputlen);
  for (size_t j = 0; j < n; j++) {
    std::string& elem = items[size_t(start) + j].elem;
    if (gets.empty()) {
      out.push_back(std::move(elem));
      continue;
    }
    for (std::string_view pat : gets) {
      std::string val;
      if (!LookupByPattern(ctx, pat, elem, &val)) val.clear();  // missing: empty string
      out.push_back(std::move(val));
    }
  }

  if (!out.empty()) {
    CollectionLimits lim = Limits(ctx);
    Value list = listv::New();
    for (const auto& s : out) listv::Push(list, s, false, lim);
    db.Set(storekey, std::move(list), false, ctx.now_ms);
    ctx.NotifyModified(storekey);
    ctx.Notify(notify::kList, "sortstore", storekey);
    if (ctx.propagating()) {
      ctx.PropagateAs({"DEL", std::string(storekey)});
      for (size_t i = 0; i < out.size(); i += kPropagateChunk) {
        std::vector<std::string> argv{"RPUSH", std::string(storekey)};
        for (size_t k = i; k < out.size() && k < i + kPropagateChunk; k++) argv.push_back(out[k]);
        ctx.PropagateAs(std::move(argv));
      }
    }
  } else if (db.Delete(storekey)) {
    ctx.NotifyModified(storekey);
    ctx.Notify(notify::kGeneric, "del", storekey);
    if (ctx.propagating()) ctx.PropagateAs({"DEL", std::string(storekey)});
  }
  ctx.rb.Integer(int64_t(outputlen));
}

void Sort(CommandContext& ctx) { SortGeneric(ctx, false); }
void SortRo(CommandContext& ctx) { SortGeneric(ctx, true); }

}  // namespace

void RegisterSortFamily(CommandTable& t) {
  using namespace cmd;
  const char* g = "generic";
  t.Add({
      .name = "sort",
      .arity = -2,
      .flags = kWrite | kDenyOom,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = Sort,
      .group = g,
      .summary =
          "Sorts the elements in a list, a set, or a sorted set, optionally storing the result.",
      .since = "1.0.0",
      .acl_categories = "@write @set @sortedset @list @slow @dangerous",
  });
  t.Add({
      .name = "sort_ro",
      .arity = -2,
      .flags = kReadOnly,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = SortRo,
      .group = g,
      .summary = "Returns the sorted elements of a list, a set, or a sorted set.",
      .since = "7.0.0",
      .acl_categories = "@read @set @sortedset @list @slow @dangerous",
  });
}

}  // namespace ferrite
