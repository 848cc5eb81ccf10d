#pragma once
// Geohash arithmetic of the geo commands, bit for bit as Redis 7.0 computes it, because the
// results are visible: a member's sorted-set score is its 52-bit hash, GEOPOS prints the
// decoded centre of the hash cell with 17 decimals, and a search returns exactly the
// members Redis returns, in Redis's order.
//
// A position is hashed by scaling longitude [-180, 180] and latitude [-85.05112878,
// 85.05112878] (the Web Mercator limits) to 26-bit fixed point each and interleaving them:
// latitude in the even bits, longitude in the odd bits. The score is that 52-bit integer.
//
// A search (radius or box) picks a precision ("step", 1..26 bits per axis) from its size,
// takes the cell of that precision holding the centre and its eight neighbours, and scans
// each cell's score range [cell << (52 - 2*step), (cell + 1) << (52 - 2*step)) of the sorted
// set, keeping members whose haversine distance passes the shape's test. Every floating
// operation below keeps Redis's order of operations (same constants, same libm calls), so
// the doubles are identical, not merely close.

#include <cstdint>
#include <string>

namespace ferrite::geo {

inline constexpr double kLonMin = -180;
inline constexpr double kLonMax = 180;
inline constexpr double kLatMin = -85.05112878;
inline constexpr double kLatMax = 85.05112878;
inline constexpr int kStepMax = 26;  // bits per axis in a stored score

// A hash of `step` bits per axis (2*step bits, interleaved). step 0 with no bits is the
// "zero" hash: a neighbour excluded from a search.
struct HashBits {
  uint64_t bits = 0;
  uint8_t step = 0;
  bool IsZero() const { return bits == 0 && step == 0; }
  bool operator==(const HashBits& o) const { return bits == o.bits && step == o.step; }
};

struct Range {
  double min = 0, max = 0;
};

// The cell a hash names.
struct Area {
  HashBits hash;
  Range lon, lat;
};

struct Neighbors {
  HashBits north, east, west, south, north_east, south_east, north_west, south_west;
};

// Redis's ranges for stored positions.
inline constexpr Range kLonRange{kLonMin, kLonMax};
inline constexpr Range kLatRange{kLatMin, kLatMax};

// Hashes (lon, lat) within the given ranges at `step` (1..32) bits per axis. False (and
// nothing hashed) outside the ranges or Redis's limits.
bool Encode(const Range& lon_range, const Range& lat_range, double lon, double lat, int step,
            HashBits* out);
// The cell of a hash; false for the zero hash.
bool Decode(const Range& lon_range, const Range& lat_range, HashBits hash, Area* out);
// The centre of a 26-step hash's cell in Redis's ranges, clamped to the limits.
void DecodeCenter(HashBits hash, double* lon, double* lat);
// The eight cells around a hash, at the same step (wrapping around at the edges).
Neighbors NeighborsOf(HashBits hash);
// The hash shifted to the top of 52 bits: the lowest score of the cell.
inline uint64_t Align52(HashBits hash) { return hash.bits << (52 - hash.step * 2); }

// The score GEOADD stores for a position within the limits.
uint64_t ScoreOf(double lon, double lat);
// The position a score decodes to. Any score decodes: a score that is no geohash (set with
// ZADD) turns into bits exactly as Redis's (uint64_t) cast does on x86-64, and the result is
// clamped to the limits.
void PositionOfScore(double score, double* lon, double* lat);
// The (uint64_t) conversion of a double as gcc compiles it on x86-64: truncation in range,
// two's complement for negatives, 2^63 for NaN and values below -2^63, 0 from 2^64 up.
uint64_t X86DoubleToU64(double d);
// GEOHASH's 11-character standard geohash (latitude range -90..90) of a position.
std::string StandardGeohash(double lon, double lat);

// Great-circle distance in metres (haversine on Redis's Earth radius).
double Distance(double lon1, double lat1, double lon2, double lat2);
// Distance in metres along a meridian.
double LatDistance(double lat1, double lat2);

// A search area: a circle of `radius` or a `width` x `height` box (both in the unit whose
// size in metres is `conversion`) centred on (lon, lat).
struct Shape {
  enum Type { kRadius, kBox } type = kRadius;
  double lon = 0, lat = 0;
  double conversion = 1;
  double radius = 0;
  double width = 0, height = 0;
};

// The precision of the search cells for a search of `meters` around latitude `lat`.
int EstimateStepsByRadius(double meters, double lat);
// The shape's bounding box: [0] min lon, [1] min lat, [2] max lon, [3] max lat.
void BoundingBox(const Shape& shape, double bounds[4]);

// The cells a search scans: the centre's cell and its neighbours, the useless ones zeroed.
struct SearchAreas {
  HashBits hash;
  Area area;
  Neighbors neighbors;
};
SearchAreas AreasForShape(const Shape& shape);
// The nine cells in Redis's scan order: centre, N, S, E, W, NE, NW, SE, SW.
void ScanOrder(const SearchAreas& a, HashBits out[9]);

// Whether the point (lon, lat) is inside the shape; *dist is then its distance in metres
// from the centre.
bool InShape(const Shape& shape, double lon, double lat, double* dist);

// Reply texts. A distance: 4 decimals, rounded as Redis's fixed-point formatter does
// (llrint of d * 10^4). A coordinate: %.17Lf without trailing zeros ("-0" is "0").
std::string FormatDistance(double d);
std::string FormatCoordinate(double d);

}  // namespace ferrite::geo
