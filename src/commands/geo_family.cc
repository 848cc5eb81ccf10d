// Geo commands: GEOADD, GEODIST, GEOHASH, GEOPOS, GEOSEARCH, GEOSEARCHSTORE, GEORADIUS,
// GEORADIUS_RO, GEORADIUSBYMEMBER, GEORADIUSBYMEMBER_RO.
//
// A geo set is a sorted set whose scores are 52-bit geohashes (types/geohash.h), so every
// sorted-set command works on it and these commands work on any sorted set. Replies match
// Redis 7.0 byte for byte, including the order of unsorted search results (cell scan order,
// then score order within a cell) and of ties after sorting: a full sort is the stable
// merge sort glibc's qsort performs, a COUNT-limited sort is Redis's partial quicksort.
//
// Propagation: GEOADD is logged as the ZADD it amounts to (what Redis writes to its AOF);
// GEORADIUS … STORE and GEOSEARCHSTORE are logged as received (their replay reads the same
// source set and computes the same result).

#include <cctype>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "commands/command_table.h"
#include "commands/family_util.h"
#include "types/geohash.h"

namespace ferrite {
namespace {

constexpr const char* kMemberNotFound = "ERR could not decode requested zset member";
constexpr const char* kBadUnit = "ERR unsupported unit provided. please use M, KM, FT, MI";
constexpr const char* kCountPositive = "ERR COUNT must be > 0";
constexpr const char* kAnyWithoutCount = "ERR the ANY argument requires COUNT argument";

// Redis's string2d: strtod over the whole argument, no leading space, no NaN; overflow to
// ±inf and underflow to zero are errors, a denormal result is not.
bool ParseRedisDouble(std::string_view s, double* out) {
  if (s.empty() || isspace(static_cast<unsigned char>(s[0]))) return false;
  std::string buf(s);  // NUL-terminated; an embedded NUL ends strtod early and fails below
  char* end;
  errno = 0;
  double v = strtod(buf.c_str(), &end);
  if (size_t(end - buf.c_str()) != buf.size()) return false;
  if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || std::fpclassify(v) == FP_ZERO))
    return false;
  if (std::isnan(v)) return false;
  *out = v;
  return true;
}

bool ParseDoubleOrReply(CommandContext& ctx, std::string_view s, double* out,
                        const char* err = err::kNotFloat) {
  if (ParseRedisDouble(s, out)) return true;
  ctx.rb.Error(err);
  return false;
}

// Longitude and latitude from two arguments, within Redis's limits.
bool ExtractLonLat(CommandContext& ctx, std::string_view lon_s, std::string_view lat_s, double* lon,
                   double* lat) {
  if (!ParseDoubleOrReply(ctx, lon_s, lon) || !ParseDoubleOrReply(ctx, lat_s, lat)) return false;
  if (*lon < geo::kLonMin || *lon > geo::kLonMax || *lat < geo::kLatMin || *lat > geo::kLatMax) {
    char buf[2200];  // %f of ±1.8e308 is 310 digits each
    snprintf(buf, sizeof(buf), "ERR invalid longitude,latitude pair %f,%f", *lon, *lat);
    ctx.rb.Error(buf);
    return false;
  }
  return true;
}

// Metres per unit, or a negative value (and the error replied) for an unknown unit.
double ExtractUnit(CommandContext& ctx, std::string_view u) {
  if (ArgIs(u, "M")) return 1;
  if (ArgIs(u, "KM")) return 1000;
  if (ArgIs(u, "FT")) return 0.3048;
  if (ArgIs(u, "MI")) return 1609.34;
  ctx.rb.Error(kBadUnit);
  return -1;
}

// `<radius> <unit>` into the shape.
bool ExtractRadius(CommandContext& ctx, std::string_view r, std::string_view unit,
                   geo::Shape* shape) {
  double d;
  if (!ParseDoubleOrReply(ctx, r, &d, "ERR need numeric radius")) return false;
  if (d < 0) {
    ctx.rb.Error("ERR radius cannot be negative");
    return false;
  }
  shape->radius = d;
  double conv = ExtractUnit(ctx, unit);
  if (conv < 0) return false;
  shape->conversion = conv;
  return true;
}

// `<width> <height> <unit>` into the shape.
bool ExtractBox(CommandContext& ctx, ArgList a, size_t at, geo::Shape* shape) {
  double w, h;
  if (!ParseDoubleOrReply(ctx, a[at], &w, "ERR need numeric width") ||
      !ParseDoubleOrReply(ctx, a[at + 1], &h, "ERR need numeric height"))
    return false;
  if (h < 0 || w < 0) {
    ctx.rb.Error("ERR height or width cannot be negative");
    return false;
  }
  shape->height = h;
  shape->width = w;
  double conv = ExtractUnit(ctx, a[at + 2]);
  if (conv < 0) return false;
  shape->conversion = conv;
  return true;
}

// The position of a member, false if it is not in the set.
bool MemberPosition(const Value& z, std::string_view member, double* lon, double* lat) {
  double score;
  if (!zsetv::Score(z, member, &score)) return false;
  geo::PositionOfScore(score, lon, lat);
  return true;
}

// A coordinate: a bulk string in RESP2, a RESP3 double carrying the same text (Redis
// prints its human long-double form in both).
void ReplyCoordinate(CommandContext& ctx, double v) {
  std::string s = geo::FormatCoordinate(v);
  if (!ctx.rb.resp3()) return ctx.rb.Bulk(s);
  std::string* out = ctx.rb.buffer();
  out->push_back(',');
  out->append(s);
  out->append("\r\n", 2);
}

// ---- GEOADD ----------------------------------------------------------------------------

void GeoAdd(CommandContext& ctx) {
  auto& a = ctx.args;
  bool nx = false, xx = false, ch = false;
  size_t first = 2;  // the first longitude
  for (; first < a.size(); first++) {
    if (ArgIs(a[first], "NX"))
      nx = true;
    else if (ArgIs(a[first], "XX"))
      xx = true;
    else if (ArgIs(a[first], "CH"))
      ch = true;
    else
      break;
  }
  size_t nargs = a.size() - first;
  if (nargs % 3 || (xx && nx) || nargs == 0) return ctx.rb.Error(err::kSyntax);
  size_t n = nargs / 3;
  std::vector<uint64_t> scores(n);
  size_t maxlen = 0;
  for (size_t k = 0; k < n; k++) {
    double lon, lat;
    if (!ExtractLonLat(ctx, a[first + 3 * k], a[first + 3 * k + 1], &lon, &lat)) return;
    scores[k] = geo::ScoreOf(lon, lat);
    maxlen = std::max(maxlen, a[first + 3 * k + 2].size());
  }
  bool wrong;
  Entry* e = FindTyped(ctx, a[1], ValueType::kZSet, &wrong, true);
  if (wrong) return;
  CollectionLimits lim = Limits(ctx);
  if (!e) {
    if (xx) return ctx.rb.Integer(0);  // nothing to update, and no key is created
    e = ctx.db().Insert(a[1], zsetv::New(n, maxlen, lim));
  }
  int64_t added = 0, updated = 0;
  for (size_t k = 0; k < n; k++) {
    std::string_view member = a[first + 3 * k + 2];
    double score = double(scores[k]), cur;
    if (zsetv::Score(e->value, member, &cur)) {
      if (nx || cur == score) continue;
      zsetv::Set(e->value, member, score, lim);
      updated++;
    } else {
      if (xx) continue;
      zsetv::Set(e->value, member, score, lim);
      added++;
    }
  }
  if (added || updated) {
    ctx.NotifyModified(a[1]);
    ctx.Notify(notify::kZset, "zadd", a[1]);  // GEOADD runs as ZADD in Redis
    if (ctx.propagating()) {
      // Redis rewrites GEOADD into this ZADD before running it, and logs the ZADD.
      std::vector<std::string> argv;
      argv.reserve(first + 2 * n);
      argv.emplace_back("zadd");
      for (size_t i = 1; i < first; i++) argv.emplace_back(a[i]);
      for (size_t k = 0; k < n; k++) {
        argv.push_back(FormatInt64(int64_t(scores[k])));
        argv.emplace_back(a[first + 3 * k + 2]);
      }
      ctx.PropagateAs(std::move(argv));
    }
  }
  ctx.rb.Integer(ch ? added + updated : added);
}

// ---- GEODIST / GEOHASH / GEOPOS ----------------------------------------------------------

void GeoDist(CommandContext& ctx) {
  auto& a = ctx.args;
  double to_meter = 1;
  if (a.size() == 5) {
    to_meter = ExtractUnit(ctx, a[4]);
    if (to_meter < 0) return;
  } else if (a.size() > 5) {
    return ctx.rb.Error(err::kSyntax);
  }
  bool wrong;
  Entry* e = FindTyped(ctx, a[1], ValueType::kZSet, &wrong);
  if (wrong) return;
  double lon1, lat1, lon2, lat2;
  if (!e || !MemberPosition(e->value, a[2], &lon1, &lat1) ||
      !MemberPosition(e->value, a[3], &lon2, &lat2))
    return ctx.rb.Null();
  ctx.rb.Bulk(geo::FormatDistance(geo::Distance(lon1, lat1, lon2, lat2) / to_meter));
}

// GEOHASH and GEOPOS: one reply per member named after the key; a missing key or member
// gets missing(), a present one found(lon, lat).
template <typename Missing, typename Found>
void ReplyPerMember(CommandContext& ctx, Missing&& missing, Found&& found) {
  bool wrong;
  Entry* e = FindTyped(ctx, ctx.args[1], ValueType::kZSet, &wrong);
  if (wrong) return;
  ctx.rb.ArrayHeader(ctx.args.size() - 2);
  for (size_t i = 2; i < ctx.args.size(); i++) {
    double lon, lat;
    if (!e || !MemberPosition(e->value, ctx.args[i], &lon, &lat))
      missing();
    else
      found(lon, lat);
  }
}

void GeoHash(CommandContext& ctx) {
  ReplyPerMember(
      ctx, [&] { ctx.rb.Null(); },
      // Stored hashes use latitude ±85.05; the standard string is re-encoded over ±90.
      [&](double lon, double lat) { ctx.rb.Bulk(geo::StandardGeohash(lon, lat)); });
}

void GeoPos(CommandContext& ctx) {
  ReplyPerMember(
      ctx, [&] { ctx.rb.NullArray(); },
      [&](double lon, double lat) {
        ctx.rb.ArrayHeader(2);
        ReplyCoordinate(ctx, lon);
        ReplyCoordinate(ctx, lat);
      });
}

// ---- searches ----------------------------------------------------------------------------

struct GeoPoint {
  double lon, lat;
  double dist;  // metres, then in the request's unit once replied
  double score;
  std::string_view member;  // into the source set: valid until it is modified
};

// Redis's comparator for distances: 1, 0 or -1 (a NaN distance compares "less" both ways,
// which only the exact sort algorithms below order as Redis does).
int CompareAsc(const GeoPoint& a, const GeoPoint& b) {
  if (a.dist > b.dist) return 1;
  if (a.dist == b.dist) return 0;
  return -1;
}

// The merge sort glibc's qsort runs (halves of n/2 and n - n/2, merged taking the left
// element unless it compares greater): stable, and for any comparator the same order.
template <typename Cmp>
void MergeSort(GeoPoint* a, size_t n, GeoPoint* tmp, Cmp cmp) {
  if (n <= 1) return;
  size_t n1 = n / 2, n2 = n - n1;
  GeoPoint* b1 = a;
  GeoPoint* b2 = a + n1;
  MergeSort(b1, n1, tmp, cmp);
  MergeSort(b2, n2, tmp, cmp);
  GeoPoint* t = tmp;
  while (n1 > 0 && n2 > 0) {
    if (cmp(*b1, *b2) <= 0) {
      *t++ = *b1++;
      n1--;
    } else {
      *t++ = *b2++;
      n2--;
    }
  }
  // What is left of the right half is already in place.
  for (; n1 > 0; n1--) *t++ = *b1++;
  std::copy(tmp, t, a);
}

// Redis's partial quicksort (Bentley & McIlroy's three-way partitioning, pruned to the
// sub-arrays that overlap the wanted ranks [want_lo, want_hi]): when COUNT limits the
// reply only those ranks are sorted, and which of several equally distant points land in
// them is decided by this exact sequence of comparisons and swaps.
template <typename Cmp>
class PartialSorter {
 public:
  PartialSorter(GeoPoint* base, size_t want_lo, size_t want_hi, Cmp cmp)
      : base_(base), lo_(want_lo), hi_(want_hi), cmp_(cmp) {}

  void Sort(size_t first, size_t n) {
    for (;;) {
      GeoPoint* a = base_ + first;
      if (n < 7) {  // insertion sort
        for (size_t m = 1; m < n; m++)
          for (size_t l = m; l > 0 && cmp_(a[l - 1], a[l]) > 0; l--) std::swap(a[l], a[l - 1]);
        return;
      }
      size_t pm = n / 2;
      if (n > 7) {
        size_t pl = 0, pn = n - 1;
        if (n > 40) {
          size_t d = n / 8;
          pl = Median3(a, pl, pl + d, pl + 2 * d);
          pm = Median3(a, pm - d, pm, pm + d);
          pn = Median3(a, pn - 2 * d, pn - d, pn);
        }
        pm = Median3(a, pl, pm, pn);
      }
      std::swap(a[0], a[pm]);  // the pivot
      // [1, pa): equal to the pivot; [pa, pb): less; (pc, pd]: greater; (pd, n): equal.
      size_t pa = 1, pb = 1;
      ptrdiff_t pc = ptrdiff_t(n) - 1, pd = ptrdiff_t(n) - 1;
      for (;;) {
        int r;
        while (ptrdiff_t(pb) <= pc && (r = cmp_(a[pb], a[0])) <= 0) {
          if (r == 0) std::swap(a[pa++], a[pb]);
          pb++;
        }
        while (ptrdiff_t(pb) <= pc && (r = cmp_(a[pc], a[0])) >= 0) {
          if (r == 0) std::swap(a[pc], a[pd--]);
          pc--;
        }
        if (ptrdiff_t(pb) > pc) break;
        std::swap(a[pb++], a[pc--]);
      }
      // Move the equal runs to the middle.
      size_t r = std::min(pa, pb - pa);
      SwapRuns(a, 0, pb - r, r);
      r = std::min(size_t(pd - pc), n - size_t(pd) - 1);
      SwapRuns(a, pb, n - r, r);
      // The two unsorted parts are disjoint and each is sorted the same way whichever comes
      // first, so the smaller one is recursed into and the larger one looped on: the stack
      // stays O(log n) whatever the distances (Redis recurses into the "less" part).
      size_t less = pb - pa, greater = size_t(pd - pc);
      size_t parts[2][2] = {{first, less}, {first + n - greater, greater}};
      if (less > greater) std::swap(parts[0], parts[1]);
      if (parts[0][1] > 1 && Overlaps(parts[0][0], parts[0][1])) Sort(parts[0][0], parts[0][1]);
      first = parts[1][0];
      n = parts[1][1];
      if (n <= 1 || !Overlaps(first, n)) return;
    }
  }

 private:
  size_t Median3(GeoPoint* a, size_t x, size_t y, size_t z) {
    return cmp_(a[x], a[y]) < 0 ? (cmp_(a[y], a[z]) < 0 ? y : (cmp_(a[x], a[z]) < 0 ? z : x))
                                : (cmp_(a[y], a[z]) > 0 ? y : (cmp_(a[x], a[z]) < 0 ? x : z));
  }
  static void SwapRuns(GeoPoint* a, size_t x, size_t y, size_t n) {
    for (size_t i = 0; i < n; i++) std::swap(a[x + i], a[y + i]);
  }
  // Whether ranks [first, first + n) hold any wanted rank.
  bool Overlaps(size_t first, size_t n) const {
    return !((lo_ < first && hi_ < first) || (lo_ >= first + n && hi_ >= first + n));
  }

  GeoPoint* base_;
  size_t lo_, hi_;
  Cmp cmp_;
};

// Scans the search cells in Redis's order and collects the members inside the shape;
// stops once `limit` (> 0: COUNT … ANY) members are found.
void MembersOfAllNeighbors(const Value& z, const geo::SearchAreas& areas, const geo::Shape& shape,
                           size_t limit, std::vector<GeoPoint>* out) {
  geo::HashBits cells[9];
  geo::ScanOrder(areas, cells);
  auto full = [&] { return !out->empty() && limit && out->size() >= limit; };
  size_t last = 0;  // the last cell scanned (the centre, 0, is never compared against)
  for (size_t i = 0; i < 9; i++) {
    if (cells[i].IsZero()) continue;
    // Very large searches make neighbouring cells coincide: scan each run once.
    if (last && cells[i] == cells[last]) continue;
    if (full()) break;
    geo::HashBits next = cells[i];
    next.bits++;
    double min = double(geo::Align52(cells[i])), max = double(geo::Align52(next));
    zsetv::ForScoreRange(z, min, max, [&](std::string_view m, double score) {
      GeoPoint p{0, 0, 0, score, m};
      geo::PositionOfScore(score, &p.lon, &p.lat);
      if (geo::InShape(shape, p.lon, p.lat, &p.dist)) out->push_back(p);
      return !full();
    });
    last = i;
  }
}

enum SearchFlags : int {
  kFromCoords = 1 << 0,   // GEORADIUS: center from arguments
  kFromMember = 1 << 1,   // GEORADIUSBYMEMBER: center from a member
  kNoStore = 1 << 2,      // the _RO forms: no STORE/STOREDIST
  kSearch = 1 << 3,       // GEOSEARCH syntax
  kSearchStore = 1 << 4,  // GEOSEARCHSTORE: destination first, STOREDIST a flag
};
enum class Sort { kNone, kAsc, kDesc };

void GeoSearchGeneric(CommandContext& ctx, size_t src, int flags) {
  auto& a = ctx.args;
  std::string_view storekey;
  bool store = false, storedist = false;

  // The source is looked up first: WRONGTYPE wins over argument errors, as in Redis.
  bool wrong;
  Entry* e = FindTyped(ctx, a[src], ValueType::kZSet, &wrong);
  if (wrong) return;
  const Value* z = e ? &e->value : nullptr;

  geo::Shape shape;
  size_t base;
  if (flags & kFromCoords) {
    base = 6;
    shape.type = geo::Shape::kRadius;
    if (!ExtractLonLat(ctx, a[2], a[3], &shape.lon, &shape.lat)) return;
    if (!ExtractRadius(ctx, a[4], a[5], &shape)) return;
  } else if (flags & kFromMember) {
    base = 5;
    // Without a source set nothing is checked but the options (the reply only depends on
    // whether a store was asked for).
    if (z) {
      shape.type = geo::Shape::kRadius;
      if (!MemberPosition(*z, a[2], &shape.lon, &shape.lat)) return ctx.rb.Error(kMemberNotFound);
      if (!ExtractRadius(ctx, a[3], a[4], &shape)) return;
    }
  } else {
    base = 2;
    if (flags & kSearchStore) {
      base = 3;
      storekey = a[1];
      store = true;
    }
  }

  bool withdist = false, withhash = false, withcoord = false;
  bool frommember = false, fromloc = false, byradius = false, bybox = false;
  Sort sort = Sort::kNone;
  bool any = false;
  int64_t count = 0;  // 0: unlimited
  const bool search = flags & kSearch;
  const bool can_store = !(flags & kNoStore) && !search;
  size_t remaining = a.size() - base;
  for (size_t i = 0; i < remaining; i++) {
    std::string_view arg = a[base + i];
    if (ArgIs(arg, "WITHDIST")) {
      withdist = true;
    } else if (ArgIs(arg, "WITHHASH")) {
      withhash = true;
    } else if (ArgIs(arg, "WITHCOORD")) {
      withcoord = true;
    } else if (ArgIs(arg, "ANY")) {
      any = true;
    } else if (ArgIs(arg, "ASC")) {
      sort = Sort::kAsc;
    } else if (ArgIs(arg, "DESC")) {
      sort = Sort::kDesc;
    } else if (ArgIs(arg, "COUNT") && i + 1 < remaining) {
      if (!ParseIntArg(ctx, a[base + i + 1], &count)) return;
      if (count <= 0) return ctx.rb.Error(kCountPositive);
      i++;
    } else if (ArgIs(arg, "STORE") && i + 1 < remaining && can_store) {
      storekey = a[base + i + 1];
      store = true;
      storedist = false;
      i++;
    } else if (ArgIs(arg, "STOREDIST") && i + 1 < remaining && can_store) {
      storekey = a[base + i + 1];
      store = true;
      storedist = true;
      i++;
    } else if (ArgIs(arg, "STOREDIST") && search && (flags & kSearchStore)) {
      storedist = true;
    } else if (ArgIs(arg, "FROMMEMBER") && i + 1 < remaining && search && !fromloc) {
      // Without a source set the member is not looked up: the missing key answers later.
      if (z && !MemberPosition(*z, a[base + i + 1], &shape.lon, &shape.lat))
        return ctx.rb.Error(kMemberNotFound);
      frommember = true;
      i++;
    } else if (ArgIs(arg, "FROMLONLAT") && i + 2 < remaining && search && !frommember) {
      if (!ExtractLonLat(ctx, a[base + i + 1], a[base + i + 2], &shape.lon, &shape.lat)) return;
      fromloc = true;
      i += 2;
    } else if (ArgIs(arg, "BYRADIUS") && i + 2 < remaining && search && !bybox) {
      if (!ExtractRadius(ctx, a[base + i + 1], a[base + i + 2], &shape)) return;
      shape.type = geo::Shape::kRadius;
      byradius = true;
      i += 2;
    } else if (ArgIs(arg, "BYBOX") && i + 3 < remaining && search && !byradius) {
      if (!ExtractBox(ctx, a, base + i + 1, &shape)) return;
      shape.type = geo::Shape::kBox;
      bybox = true;
      i += 3;
    } else {
      return ctx.rb.Error(err::kSyntax);
    }
  }

  if (store && (withdist || withhash || withcoord)) {
    return ctx.rb.Error(std::string("ERR ") +
                        ((flags & kSearchStore) ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS") +
                        " is not compatible with WITHDIST, WITHHASH and WITHCOORD options");
  }
  if (search && !(frommember || fromloc)) {
    return ctx.rb.Error("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for " +
                        std::string(a[0]));
  }
  if (search && !(byradius || bybox)) {
    return ctx.rb.Error("ERR exactly one of BYRADIUS and BYBOX can be specified for " +
                        std::string(a[0]));
  }
  if (any && !count) return ctx.rb.Error(kAnyWithoutCount);

  if (!z) {
    if (!store) return ctx.rb.EmptyArray();
    if (ctx.db().Delete(storekey)) {
      ctx.NotifyModified(storekey);
      ctx.Notify(notify::kGeneric, "del", storekey);
    }
    return ctx.rb.Integer(0);
  }

  // COUNT means "the nearest N": sorted ascending unless told otherwise (ANY takes the
  // first N found, unsorted).
  if (count != 0 && sort == Sort::kNone && !any) sort = Sort::kAsc;

  geo::SearchAreas areas = geo::AreasForShape(shape);
  std::vector<GeoPoint> points;
  MembersOfAllNeighbors(*z, areas, shape, any ? size_t(count) : 0, &points);
  if (points.empty() && !store) return ctx.rb.EmptyArray();

  size_t found = points.size();
  size_t returned = (count == 0 || int64_t(found) < count) ? found : size_t(count);
  if (sort != Sort::kNone) {
    auto sort_with = [&](auto cmp) {
      if (returned == found) {
        std::vector<GeoPoint> tmp(found);
        MergeSort(points.data(), found, tmp.data(), cmp);
      } else {
        PartialSorter<decltype(cmp)>(points.data(), 0, returned - 1, cmp).Sort(0, found);
      }
    };
    if (sort == Sort::kAsc)
      sort_with([](const GeoPoint& x, const GeoPoint& y) { return CompareAsc(x, y); });
    else
      sort_with([](const GeoPoint& x, const GeoPoint& y) { return -CompareAsc(x, y); });
  }

  if (!store) {
    size_t options = size_t(withdist) + size_t(withcoord) + size_t(withhash);
    ctx.rb.ArrayHeader(returned);
    for (size_t i = 0; i < returned; i++) {
      GeoPoint& p = points[i];
      p.dist /= shape.conversion;
      if (options) ctx.rb.ArrayHeader(options + 1);
      ctx.rb.Bulk(p.member);
      if (withdist) ctx.rb.Bulk(geo::FormatDistance(p.dist));
      if (withhash) ctx.rb.Integer(int64_t(p.score));
      if (withcoord) {
        ctx.rb.ArrayHeader(2);
        ReplyCoordinate(ctx, p.lon);
        ReplyCoordinate(ctx, p.lat);
      }
    }
    return;
  }

  if (returned == 0) {
    if (ctx.db().Delete(storekey)) {
      ctx.NotifyModified(storekey);
      ctx.Notify(notify::kGeneric, "del", storekey);
    }
    return ctx.rb.Integer(0);
  }
  // The new set is built (copying the members) before the destination is replaced: the
  // destination may be the source.
  size_t maxlen = 0;
  for (size_t i = 0; i < returned; i++) maxlen = std::max(maxlen, points[i].member.size());
  CollectionLimits lim = Limits(ctx);
  Value result = zsetv::New(returned, maxlen, lim);
  for (size_t i = 0; i < returned; i++) {
    GeoPoint& p = points[i];
    p.dist /= shape.conversion;
    zsetv::Set(result, p.member, storedist ? p.dist : p.score, lim);
  }
  ctx.db().Set(storekey, std::move(result), false, ctx.now_ms);
  ctx.NotifyModified(storekey);
  ctx.Notify(notify::kZset, (flags & kSearch) ? "geosearchstore" : "georadiusstore", storekey);
  ctx.rb.Integer(int64_t(returned));
}

void GeoRadius(CommandContext& ctx) { GeoSearchGeneric(ctx, 1, kFromCoords); }
void GeoRadiusRo(CommandContext& ctx) { GeoSearchGeneric(ctx, 1, kFromCoords | kNoStore); }
void GeoRadiusByMember(CommandContext& ctx) { GeoSearchGeneric(ctx, 1, kFromMember); }
void GeoRadiusByMemberRo(CommandContext& ctx) { GeoSearchGeneric(ctx, 1, kFromMember | kNoStore); }
void GeoSearch(CommandContext& ctx) { GeoSearchGeneric(ctx, 1, kSearch); }
void GeoSearchStore(CommandContext& ctx) { GeoSearchGeneric(ctx, 2, kSearch | kSearchStore); }

}  // namespace

void RegisterGeoFamily(CommandTable& t) {
  using namespace cmd;
  const char* g = "geo";
  t.Add({"geoadd", -5, kWrite | kDenyOom, 1, 1, 1, GeoAdd, g,
         "Add one or more geospatial items in the geospatial index represented using a sorted set",
         "3.2.0", "@write @geo @slow"});
  t.Add({"geodist", -4, kReadOnly, 1, 1, 1, GeoDist, g,
         "Returns the distance between two members of a geospatial index", "3.2.0",
         "@read @geo @slow"});
  t.Add({"geohash", -2, kReadOnly, 1, 1, 1, GeoHash, g,
         "Returns members of a geospatial index as standard geohash strings", "3.2.0",
         "@read @geo @slow"});
  t.Add({"geopos", -2, kReadOnly, 1, 1, 1, GeoPos, g,
         "Returns longitude and latitude of members of a geospatial index", "3.2.0",
         "@read @geo @slow"});
  t.Add({"georadius", -6, kWrite | kDenyOom, 1, 1, 1, GeoRadius, g,
         "Query a sorted set representing a geospatial index to fetch members matching a given "
         "maximum distance from a point",
         "3.2.0", "@write @geo @slow"});
  t.Add({"georadius_ro", -6, kReadOnly, 1, 1, 1, GeoRadiusRo, g,
         "A read-only variant for GEORADIUS", "3.2.10", "@read @geo @slow"});
  t.Add({"georadiusbymember", -5, kWrite | kDenyOom, 1, 1, 1, GeoRadiusByMember, g,
         "Query a sorted set representing a geospatial index to fetch members matching a given "
         "maximum distance from a member",
         "3.2.0", "@write @geo @slow"});
  t.Add({"georadiusbymember_ro", -5, kReadOnly, 1, 1, 1, GeoRadiusByMemberRo, g,
         "A read-only variant for GEORADIUSBYMEMBER", "3.2.10", "@read @geo @slow"});
  t.Add({"geosearch", -7, kReadOnly, 1, 1, 1, GeoSearch, g,
         "Query a sorted set representing a geospatial index to fetch members inside an area of "
         "a box or a circle.",
         "6.2.0", "@read @geo @slow"});
  t.Add({"geosearchstore", -8, kWrite | kDenyOom, 1, 2, 1, GeoSearchStore, g,
         "Query a sorted set representing a geospatial index to fetch members inside an area of "
         "a box or a circle, and store the result in another key.",
         "6.2.0", "@write @geo @slow"});
}

}  // namespace ferrite
