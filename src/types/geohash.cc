#include "types/geohash.h"

#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace ferrite::geo {
namespace {

// Degrees to radians as Redis computes it (pi / 180 folded at compile time).
constexpr double kDegToRad = M_PI / 180.0;
constexpr double kEarthRadiusMeters = 6372797.560856;
constexpr double kMercatorMax = 20037726.37;

double DegRad(double deg) { return deg * kDegToRad; }
double RadDeg(double rad) { return rad / kDegToRad; }

// Spreads the 32 bits of v to the even bit positions of a 64-bit word.
uint64_t Spread(uint32_t v) {
  uint64_t x = v;
  x = (x | (x << 16)) & 0x0000FFFF0000FFFFULL;
  x = (x | (x << 8)) & 0x00FF00FF00FF00FFULL;
  x = (x | (x << 4)) & 0x0F0F0F0F0F0F0F0FULL;
  x = (x | (x << 2)) & 0x3333333333333333ULL;
  x = (x | (x << 1)) & 0x5555555555555555ULL;
  return x;
}

// Gathers the even bit positions of x into 32 bits (the inverse of Spread).
uint32_t Gather(uint64_t x) {
  x &= 0x5555555555555555ULL;
  x = (x | (x >> 1)) & 0x3333333333333333ULL;
  x = (x | (x >> 2)) & 0x0F0F0F0F0F0F0F0FULL;
  x = (x | (x >> 4)) & 0x00FF00FF00FF00FFULL;
  x = (x | (x >> 8)) & 0x0000FFFF0000FFFFULL;
  x = (x | (x >> 16)) & 0x00000000FFFFFFFFULL;
  return uint32_t(x);
}

// Latitude in the even bits, longitude in the odd ones.
uint64_t Interleave(uint32_t lat, uint32_t lon) { return Spread(lat) | (Spread(lon) << 1); }

bool RangeIsZero(const Range& r) { return r.min == 0 && r.max == 0; }

// Moves a hash one cell east (d > 0) or west (d < 0): adds or subtracts one in the odd
// (longitude) bits only, carrying through the even bits, wrapping at the step's width.
void MoveLon(HashBits* h, int d) {
  if (d == 0) return;
  uint64_t lon = h->bits & 0xaaaaaaaaaaaaaaaaULL;
  uint64_t lat = h->bits & 0x5555555555555555ULL;
  uint64_t fill = 0x5555555555555555ULL >> (64 - h->step * 2);  // the other axis' bits set
  if (d > 0) {
    lon = lon + (fill + 1);
  } else {
    lon = lon | fill;
    lon = lon - (fill + 1);
  }
  lon &= 0xaaaaaaaaaaaaaaaaULL >> (64 - h->step * 2);
  h->bits = lon | lat;
}

// Moves a hash one cell north (d > 0) or south (d < 0), in the even (latitude) bits.
void MoveLat(HashBits* h, int d) {
  if (d == 0) return;
  uint64_t lon = h->bits & 0xaaaaaaaaaaaaaaaaULL;
  uint64_t lat = h->bits & 0x5555555555555555ULL;
  uint64_t fill = 0xaaaaaaaaaaaaaaaaULL >> (64 - h->step * 2);
  if (d > 0) {
    lat = lat + (fill + 1);
  } else {
    lat = lat | fill;
    lat = lat - (fill + 1);
  }
  lat &= 0x5555555555555555ULL >> (64 - h->step * 2);
  h->bits = lon | lat;
}

HashBits Moved(HashBits h, int dlon, int dlat) {
  MoveLon(&h, dlon);
  MoveLat(&h, dlat);
  return h;
}

}  // namespace

bool Encode(const Range& lon_range, const Range& lat_range, double lon, double lat, int step,
            HashBits* out) {
  if (step > 32 || step <= 0 || RangeIsZero(lat_range) || RangeIsZero(lon_range)) return false;
  if (lon > kLonMax || lon < kLonMin || lat > kLatMax || lat < kLatMin) return false;
  out->bits = 0;
  out->step = uint8_t(step);
  if (lat < lat_range.min || lat > lat_range.max || lon < lon_range.min || lon > lon_range.max)
    return false;
  double lat_offset = (lat - lat_range.min) / (lat_range.max - lat_range.min);
  double lon_offset = (lon - lon_range.min) / (lon_range.max - lon_range.min);
  // Fixed point at the step: at most 2^step (the upper limit itself), which fits 32 bits.
  lat_offset *= double(1ULL << step);
  lon_offset *= double(1ULL << step);
  out->bits = Interleave(uint32_t(lat_offset), uint32_t(lon_offset));
  return true;
}

bool Decode(const Range& lon_range, const Range& lat_range, HashBits hash, Area* out) {
  if (hash.IsZero() || RangeIsZero(lat_range) || RangeIsZero(lon_range)) return false;
  out->hash = hash;
  uint32_t ilat = Gather(hash.bits);
  uint32_t ilon = Gather(hash.bits >> 1);
  double lat_scale = lat_range.max - lat_range.min;
  double lon_scale = lon_range.max - lon_range.min;
  double cells = double(1ULL << hash.step);
  // uint32 arithmetic for the upper edge: Redis's (ilat + 1) wraps at 2^32 too.
  out->lat.min = lat_range.min + (ilat * 1.0 / cells) * lat_scale;
  out->lat.max = lat_range.min + (uint32_t(ilat + 1) * 1.0 / cells) * lat_scale;
  out->lon.min = lon_range.min + (ilon * 1.0 / cells) * lon_scale;
  out->lon.max = lon_range.min + (uint32_t(ilon + 1) * 1.0 / cells) * lon_scale;
  return true;
}

void DecodeCenter(HashBits hash, double* lon, double* lat) {
  Area a;
  if (!Decode(kLonRange, kLatRange, hash, &a)) {  // only the zero hash, never a score's
    *lon = *lat = 0;
    return;
  }
  double x = (a.lon.min + a.lon.max) / 2;
  if (x > kLonMax) x = kLonMax;
  if (x < kLonMin) x = kLonMin;
  double y = (a.lat.min + a.lat.max) / 2;
  if (y > kLatMax) y = kLatMax;
  if (y < kLatMin) y = kLatMin;
  *lon = x;
  *lat = y;
}

Neighbors NeighborsOf(HashBits h) {
  Neighbors n;
  n.east = Moved(h, 1, 0);
  n.west = Moved(h, -1, 0);
  n.south = Moved(h, 0, -1);
  n.north = Moved(h, 0, 1);
  n.north_west = Moved(h, -1, 1);
  n.north_east = Moved(h, 1, 1);
  n.south_east = Moved(h, 1, -1);
  n.south_west = Moved(h, -1, -1);
  return n;
}

uint64_t ScoreOf(double lon, double lat) {
  HashBits h;
  if (!Encode(kLonRange, kLatRange, lon, lat, kStepMax, &h)) return 0;
  return Align52(h);
}

uint64_t X86DoubleToU64(double d) {
  constexpr double k2p63 = 9223372036854775808.0;
  constexpr uint64_t kIndefinite = 1ULL << 63;  // cvttsd2si's answer out of range
  if (d >= k2p63) {
    double t = d - k2p63;
    uint64_t low = t < k2p63 ? uint64_t(int64_t(t)) : kIndefinite;
    return low ^ kIndefinite;
  }
  if (d >= -k2p63) return uint64_t(int64_t(d));  // NaN fails this comparison too
  return kIndefinite;
}

void PositionOfScore(double score, double* lon, double* lat) {
  DecodeCenter(HashBits{X86DoubleToU64(score), uint8_t(kStepMax)}, lon, lat);
}

std::string StandardGeohash(double lon, double lat) {
  static const char kAlphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";
  HashBits h;
  if (!Encode(Range{-180, 180}, Range{-90, 90}, lon, lat, 26, &h)) h.bits = 0;
  std::string out(11, '0');
  // 52 bits make ten 5-bit characters; the eleventh is always '0' (Redis pads with zero).
  for (int i = 0; i < 10; i++) out[size_t(i)] = kAlphabet[(h.bits >> (52 - (i + 1) * 5)) & 0x1f];
  return out;
}

double LatDistance(double lat1, double lat2) {
  return kEarthRadiusMeters * std::fabs(DegRad(lat2) - DegRad(lat1));
}

double Distance(double lon1, double lat1, double lon2, double lat2) {
  double lon1r = DegRad(lon1);
  double lon2r = DegRad(lon2);
  double v = std::sin((lon2r - lon1r) / 2);
  // Same longitude: the haversine reduces to the latitude difference (and skips the trig).
  if (v == 0.0) return LatDistance(lat1, lat2);
  double lat1r = DegRad(lat1);
  double lat2r = DegRad(lat2);
  double u = std::sin((lat2r - lat1r) / 2);
  double a = u * u + std::cos(lat1r) * std::cos(lat2r) * v * v;
  return 2.0 * kEarthRadiusMeters * std::asin(std::sqrt(a));
}

int EstimateStepsByRadius(double meters, double lat) {
  if (meters == 0) return 26;
  int step = 1;
  while (meters < kMercatorMax) {
    meters *= 2;
    step++;
  }
  step -= 2;  // a cell at least twice the range, so the range fits most configurations
  // Meridians converge towards the poles: coarser cells there.
  if (lat > 66 || lat < -66) {
    step--;
    if (lat > 80 || lat < -80) step--;
  }
  if (step < 1) step = 1;
  if (step > 26) step = 26;
  return step;
}

void BoundingBox(const Shape& s, double bounds[4]) {
  double height = s.conversion * (s.type == Shape::kRadius ? s.radius : s.height / 2);
  double width = s.conversion * (s.type == Shape::kRadius ? s.radius : s.width / 2);
  const double lat_delta = RadDeg(height / kEarthRadiusMeters);
  const double lon_delta_top =
      RadDeg(width / kEarthRadiusMeters / std::cos(DegRad(s.lat + lat_delta)));
  const double lon_delta_bottom =
      RadDeg(width / kEarthRadiusMeters / std::cos(DegRad(s.lat - lat_delta)));
  // The box is widest on the edge nearer the equator: the bottom edge in the northern
  // hemisphere's sense of "top" flips south of it.
  bool southern = s.lat < 0;
  bounds[0] = southern ? s.lon - lon_delta_bottom : s.lon - lon_delta_top;
  bounds[2] = southern ? s.lon + lon_delta_bottom : s.lon + lon_delta_top;
  bounds[1] = s.lat - lat_delta;
  bounds[3] = s.lat + lat_delta;
}

SearchAreas AreasForShape(const Shape& s) {
  double bounds[4];
  BoundingBox(s, bounds);
  double min_lon = bounds[0], min_lat = bounds[1], max_lon = bounds[2], max_lat = bounds[3];
  // A box is covered by the circle through its corners.
  double radius_meters =
      s.type == Shape::kRadius
          ? s.radius
          : std::sqrt((s.width / 2) * (s.width / 2) + (s.height / 2) * (s.height / 2));
  radius_meters *= s.conversion;

  int steps = EstimateStepsByRadius(radius_meters, s.lat);
  SearchAreas out;
  Encode(kLonRange, kLatRange, s.lon, s.lat, steps, &out.hash);
  out.neighbors = NeighborsOf(out.hash);
  Decode(kLonRange, kLatRange, out.hash, &out.area);

  // Near a cell's edge the estimated step can leave a neighbour too small to reach the
  // bounding box: then one step coarser.
  bool decrease = false;
  {
    Area north, south, east, west;
    Decode(kLonRange, kLatRange, out.neighbors.north, &north);
    Decode(kLonRange, kLatRange, out.neighbors.south, &south);
    Decode(kLonRange, kLatRange, out.neighbors.east, &east);
    Decode(kLonRange, kLatRange, out.neighbors.west, &west);
    if (north.lat.max < max_lat) decrease = true;
    if (south.lat.min > min_lat) decrease = true;
    if (east.lon.max < max_lon) decrease = true;
    if (west.lon.min > min_lon) decrease = true;
  }
  if (steps > 1 && decrease) {
    steps--;
    Encode(kLonRange, kLatRange, s.lon, s.lat, steps, &out.hash);
    out.neighbors = NeighborsOf(out.hash);
    Decode(kLonRange, kLatRange, out.hash, &out.area);
  }

  // Neighbours on a side the centre cell already covers past the bounding box are useless.
  if (steps >= 2) {
    Neighbors& n = out.neighbors;
    const Area& a = out.area;
    if (a.lat.min < min_lat) n.south = n.south_west = n.south_east = HashBits{};
    if (a.lat.max > max_lat) n.north = n.north_east = n.north_west = HashBits{};
    if (a.lon.min < min_lon) n.west = n.south_west = n.north_west = HashBits{};
    if (a.lon.max > max_lon) n.east = n.south_east = n.north_east = HashBits{};
  }
  return out;
}

void ScanOrder(const SearchAreas& a, HashBits out[9]) {
  const Neighbors& n = a.neighbors;
  out[0] = a.hash;
  out[1] = n.north;
  out[2] = n.south;
  out[3] = n.east;
  out[4] = n.west;
  out[5] = n.north_east;
  out[6] = n.north_west;
  out[7] = n.south_east;
  out[8] = n.south_west;
}

bool InShape(const Shape& s, double lon, double lat, double* dist) {
  if (s.type == Shape::kRadius) {
    *dist = Distance(s.lon, s.lat, lon, lat);
    return !(*dist > s.radius * s.conversion);
  }
  double width_m = s.width * s.conversion, height_m = s.height * s.conversion;
  // The latitude test is the cheaper one: first.
  if (LatDistance(lat, s.lat) > height_m / 2) return false;
  if (Distance(lon, lat, s.lon, lat) > width_m / 2) return false;
  *dist = Distance(s.lon, s.lat, lon, lat);
  return true;
}

std::string FormatDistance(double d) {
  if (d == 0) return "0.0000";
  long long scaled = llrint(d * 10000.0);
  bool negative = scaled < 0;
  unsigned long long v =
      negative ? (scaled == LLONG_MIN ? 9223372036854775808ULL : 0ULL - (unsigned long long)scaled)
               : (unsigned long long)scaled;
  char buf[48];
  int n = snprintf(buf, sizeof(buf), "%s%llu.%04llu", negative ? "-" : "", v / 10000, v % 10000);
  return std::string(buf, size_t(n));
}

std::string FormatCoordinate(double d) {
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[5120];
  int n = snprintf(buf, sizeof(buf), "%.17Lf", static_cast<long double>(d));
  if (n < 0 || size_t(n) >= sizeof(buf)) return "0";
  size_t len = size_t(n);
  if (memchr(buf, '.', len)) {
    while (len > 0 && buf[len - 1] == '0') len--;
    if (len > 0 && buf[len - 1] == '.') len--;
  }
  if (len == 2 && buf[0] == '-' && buf[1] == '0') return "0";
  return std::string(buf, len);
}

}  // namespace ferrite::geo
