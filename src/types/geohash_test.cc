// The geohash arithmetic against values Redis 7.0.15 returns (GEOADD scores, GEOPOS and
// GEODIST texts, GEOHASH strings) and against its own invariants (neighbours, round trips,
// the search cells covering the shape).
#include "types/geohash.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace ferrite::geo {
namespace {

// Positions with the score, GEOPOS texts and GEOHASH string redis-server 7.0.15 gives them.
struct Known {
  double lon, lat;
  uint64_t score;
  const char* lon_text;
  const char* lat_text;
  const char* geohash;
};
constexpr Known kKnown[] = {
    {13.361389, 38.115556, 3479099956230698ULL, "13.36138933897018433", "38.11555639549629859",
     "sqc8b49rny0"},
    {15.087269, 37.502669, 3479447370796909ULL, "15.08726745843887329", "37.50266842333162032",
     "sqdtr74hyu0"},
    // The upper corner: both offsets reach 2^26, so the score has bits above the 52nd.
    {180, 85.05112878, 13510798882111488ULL, "180", "85.0511287799999991", "bp05b5048p0"},
};

TEST(Geohash, ScoresAndDecodedTextsMatchRedis) {
  for (const Known& k : kKnown) {
    SCOPED_TRACE(k.geohash);
    EXPECT_EQ(ScoreOf(k.lon, k.lat), k.score);
    double lon, lat;
    PositionOfScore(double(k.score), &lon, &lat);
    EXPECT_EQ(FormatCoordinate(lon), k.lon_text);
    EXPECT_EQ(FormatCoordinate(lat), k.lat_text);
    EXPECT_EQ(StandardGeohash(lon, lat), k.geohash);
  }
}

TEST(Geohash, EncodeRejectsOutsideLimits) {
  HashBits h;
  EXPECT_FALSE(Encode(kLonRange, kLatRange, 180.0001, 0, 26, &h));
  EXPECT_FALSE(Encode(kLonRange, kLatRange, 0, 85.06, 26, &h));
  EXPECT_FALSE(Encode(kLonRange, kLatRange, 0, 0, 0, &h));
  EXPECT_FALSE(Encode(kLonRange, kLatRange, 0, 0, 33, &h));
  EXPECT_TRUE(Encode(kLonRange, kLatRange, -180, kLatMin, 26, &h));
  EXPECT_EQ(h.bits, 0u);
}

// Any score decodes, as Redis's cast makes it: these are GEOPOS answers of redis-server for
// members added with ZADD at these scores.
TEST(Geohash, ForeignScoresDecodeAsRedisCastsThem) {
  EXPECT_EQ(X86DoubleToU64(-1), ~0ULL);
  EXPECT_EQ(X86DoubleToU64(-1.5), ~0ULL);
  EXPECT_EQ(X86DoubleToU64(1e19), 10000000000000000000ULL);
  EXPECT_EQ(X86DoubleToU64(2e19), 0u);
  EXPECT_EQ(X86DoubleToU64(INFINITY), 0u);
  EXPECT_EQ(X86DoubleToU64(-INFINITY), 1ULL << 63);
  EXPECT_EQ(X86DoubleToU64(NAN), 1ULL << 63);
  EXPECT_EQ(X86DoubleToU64(3.9), 3u);
  struct Case {
    double score;
    const char* lon;
    const char* lat;
  } cases[] = {{-1, "180", "85.0511287799999991"},
               {1e19, "180", "85.0511287799999991"},
               {INFINITY, "-179.99999731779098511", "-85.05112751263942528"},
               {-INFINITY, "180", "-85.05112751263942528"},
               {1e300, "-179.99999731779098511", "-85.05112751263942528"}};
  for (const Case& c : cases) {
    double lon, lat;
    PositionOfScore(c.score, &lon, &lat);
    EXPECT_EQ(FormatCoordinate(lon), c.lon) << c.score;
    EXPECT_EQ(FormatCoordinate(lat), c.lat) << c.score;
  }
}

TEST(Geohash, RoundTripStaysInTheCell) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> lon_d(-180, 180), lat_d(kLatMin, kLatMax);
  const double cell_lon = 360.0 / (1 << 26), cell_lat = (kLatMax - kLatMin) / (1 << 26);
  for (int i = 0; i < 100000; i++) {
    double lon = lon_d(rng), lat = lat_d(rng);
    uint64_t score = ScoreOf(lon, lat);
    ASSERT_LT(score, 1ULL << 52);
    double dlon, dlat;
    PositionOfScore(double(score), &dlon, &dlat);
    ASSERT_LE(std::fabs(dlon - lon), cell_lon / 2 + 1e-12);
    ASSERT_LE(std::fabs(dlat - lat), cell_lat / 2 + 1e-12);
    ASSERT_EQ(ScoreOf(dlon, dlat), score);  // the centre hashes to its own cell
  }
}

TEST(Geohash, NeighboursAreAdjacentCellsAndWrap) {
  std::mt19937_64 rng(5);
  for (int i = 0; i < 20000; i++) {
    int step = 1 + int(rng() % 26);
    HashBits h{rng() & ((1ULL << (2 * step)) - 1), uint8_t(step)};
    Neighbors n = NeighborsOf(h);
    Area self, east, west, north, south, ne, sw;
    ASSERT_TRUE(Decode(kLonRange, kLatRange, h, &self));
    Decode(kLonRange, kLatRange, n.east, &east);
    Decode(kLonRange, kLatRange, n.west, &west);
    Decode(kLonRange, kLatRange, n.north, &north);
    Decode(kLonRange, kLatRange, n.south, &south);
    Decode(kLonRange, kLatRange, n.north_east, &ne);
    Decode(kLonRange, kLatRange, n.south_west, &sw);
    // Same latitude band east/west, same column north/south.
    EXPECT_EQ(east.lat.min, self.lat.min);
    EXPECT_EQ(west.lat.max, self.lat.max);
    EXPECT_EQ(north.lon.min, self.lon.min);
    EXPECT_EQ(south.lon.max, self.lon.max);
    if (self.lon.max < kLonMax) {
      EXPECT_DOUBLE_EQ(east.lon.min, self.lon.max);
    }
    if (self.lon.max >= kLonMax) {
      EXPECT_EQ(east.lon.min, kLonMin);  // wraps
    }
    if (self.lon.min > kLonMin) {
      EXPECT_DOUBLE_EQ(west.lon.max, self.lon.min);
    }
    if (self.lat.max < kLatMax) {
      EXPECT_DOUBLE_EQ(north.lat.min, self.lat.max);
    }
    if (self.lat.min > kLatMin) {
      EXPECT_DOUBLE_EQ(south.lat.max, self.lat.min);
    }
    EXPECT_EQ(ne.lon.min, east.lon.min);
    EXPECT_EQ(ne.lat.min, north.lat.min);
    EXPECT_EQ(sw.lon.min, west.lon.min);
    EXPECT_EQ(sw.lat.min, south.lat.min);
    // There and back.
    EXPECT_EQ(NeighborsOf(n.east).west, h);
    EXPECT_EQ(NeighborsOf(n.north).south, h);
    EXPECT_EQ(NeighborsOf(n.north_east).south_west, h);
  }
}

TEST(Geohash, DistancesMatchRedis) {
  double plon, plat, clon, clat;
  PositionOfScore(3479099956230698.0, &plon, &plat);  // Palermo
  PositionOfScore(3479447370796909.0, &clon, &clat);  // Catania
  // GEODIST Sicily Palermo Catania [km]; GEORADIUS Sicily 15 37 200 km WITHDIST.
  EXPECT_EQ(FormatDistance(Distance(plon, plat, clon, clat)), "166274.1516");
  EXPECT_EQ(FormatDistance(Distance(plon, plat, clon, clat) / 1000), "166.2742");
  EXPECT_EQ(FormatDistance(Distance(15, 37, plon, plat) / 1000), "190.4424");
  EXPECT_EQ(FormatDistance(Distance(15, 37, clon, clat) / 1000), "56.4413");
  // Same longitude: the meridian formula.
  EXPECT_EQ(Distance(10, 20, 10, 21), LatDistance(20, 21));
  EXPECT_EQ(Distance(3, 4, 3, 4), 0);
}

TEST(Geohash, ReplyTexts) {
  EXPECT_EQ(FormatDistance(0), "0.0000");
  EXPECT_EQ(FormatDistance(-0.0), "0.0000");
  EXPECT_EQ(FormatDistance(0.5), "0.5000");
  EXPECT_EQ(FormatDistance(12.25), "12.2500");
  EXPECT_EQ(FormatDistance(0.00004), "0.0000");
  EXPECT_EQ(FormatDistance(1234567.00006), "1234567.0001");
  EXPECT_EQ(FormatDistance(NAN), "-922337203685477.5808");  // llrint's answer, kept
  EXPECT_EQ(FormatCoordinate(180), "180");
  EXPECT_EQ(FormatCoordinate(-0.0), "0");
  EXPECT_EQ(FormatCoordinate(-1e-30), "0");
  EXPECT_EQ(FormatCoordinate(0.5), "0.5");
}

TEST(Geohash, StepsByRadius) {
  EXPECT_EQ(EstimateStepsByRadius(0, 0), 26);
  EXPECT_EQ(EstimateStepsByRadius(1000, 0), 14);
  EXPECT_EQ(EstimateStepsByRadius(1000, 70), 13);
  EXPECT_EQ(EstimateStepsByRadius(1000, -85), 12);
  EXPECT_EQ(EstimateStepsByRadius(5e6, 0), 2);
  EXPECT_EQ(EstimateStepsByRadius(1e7, 0), 1);
  EXPECT_EQ(EstimateStepsByRadius(1e9, 89), 1);
  EXPECT_EQ(EstimateStepsByRadius(0.001, 0), 26);
  EXPECT_EQ(EstimateStepsByRadius(INFINITY, 0), 1);
}

// The cells a search scans cover its shape: every point inside the shape (by the shape's own
// distance test) lies in one of the nine cells. Points within a metre of the edge are left
// out: there the bounding box's spherical approximation is Redis's too.
TEST(Geohash, SearchCellsCoverTheShape) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> lon_d(-180, 180), lat_d(-80, 80);
  std::uniform_real_distribution<double> unit(0, 1);
  size_t checked = 0;
  for (int q = 0; q < 300; q++) {
    Shape s;
    s.lon = lon_d(rng);
    s.lat = lat_d(rng);
    s.conversion = q % 2 ? 1000 : 1;
    double size_m = std::pow(10, 1 + 5 * unit(rng));  // 10 m .. 1000 km
    if (q % 3 == 0) {
      s.type = Shape::kBox;
      s.width = size_m * (0.2 + unit(rng)) / s.conversion;
      s.height = size_m * (0.2 + unit(rng)) / s.conversion;
    } else {
      s.radius = size_m / s.conversion;
    }
    SearchAreas areas = AreasForShape(s);
    HashBits cells[9];
    ScanOrder(areas, cells);
    std::vector<std::pair<uint64_t, uint64_t>> spans;
    for (const HashBits& c : cells) {
      if (c.IsZero()) continue;
      HashBits next = c;
      next.bits++;
      spans.emplace_back(Align52(c), Align52(next));
    }
    double reach_deg = size_m * 1.5 / 111000.0;
    for (int i = 0; i < 300; i++) {
      double lon = s.lon + (unit(rng) * 2 - 1) * reach_deg / std::cos(s.lat * M_PI / 180);
      double lat = s.lat + (unit(rng) * 2 - 1) * reach_deg;
      if (lon < kLonMin || lon > kLonMax || lat < kLatMin || lat > kLatMax) continue;
      uint64_t score = ScoreOf(lon, lat);
      double plon, plat, dist;
      PositionOfScore(double(score), &plon, &plat);
      if (!InShape(s, plon, plat, &dist)) continue;
      Shape inner = s;  // one metre inside the edge
      if (s.type == Shape::kRadius) {
        inner.radius -= 1 / s.conversion;
      } else {
        inner.width -= 2 / s.conversion;
        inner.height -= 2 / s.conversion;
      }
      if (!InShape(inner, plon, plat, &dist)) continue;
      bool covered = false;
      for (auto& [lo, hi] : spans) covered |= score >= lo && score < hi;
      ASSERT_TRUE(covered) << "query " << q << " point " << plon << "," << plat;
      checked++;
    }
  }
  EXPECT_GT(checked, 10000u);  // the test saw points inside the shapes
}

}  // namespace
}  // namespace ferrite::geo
