#include "base/histogram.h"

#include <gtest/gtest.h>

namespace ferrite {
namespace {

TEST(LatencyHistogram, BucketsAreContiguousAndTight) {
  // Every value maps into a bucket whose range holds it; consecutive buckets touch.
  for (uint64_t v = 0; v < 1 << 20; v += (v < 4096 ? 1 : 97)) {
    int i = LatencyHistogram::Index(v);
    ASSERT_LE(LatencyHistogram::LowestEquivalent(i), v) << v;
    ASSERT_GE(LatencyHistogram::HighestEquivalent(i), v) << v;
    uint64_t width =
        LatencyHistogram::HighestEquivalent(i) - LatencyHistogram::LowestEquivalent(i) + 1;
    ASSERT_LE(double(width), 1.0 + double(v) / 64.0) << v;  // within 1/64 of the value
  }
  for (int i = 1; i < LatencyHistogram::kBuckets; i++) {
    ASSERT_EQ(LatencyHistogram::HighestEquivalent(i - 1) + 1, LatencyHistogram::LowestEquivalent(i))
        << i;
  }
  EXPECT_EQ(LatencyHistogram::Index(LatencyHistogram::kMaxValue - 1),
            LatencyHistogram::kBuckets - 1);
  EXPECT_EQ(LatencyHistogram::Index(UINT64_MAX), LatencyHistogram::kBuckets - 1);
}

TEST(LatencyHistogram, ExactBelow128) {
  LatencyHistogram h;
  EXPECT_EQ(h.ValueAtPercentile(50), 0u);
  for (uint64_t v = 1; v <= 100; v++) h.Record(v);
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(h.ValueAtPercentile(50), 50u);
  EXPECT_EQ(h.ValueAtPercentile(99), 99u);
  EXPECT_EQ(h.ValueAtPercentile(99.9), 100u);
  EXPECT_EQ(h.ValueAtPercentile(100), 100u);
  EXPECT_EQ(h.ValueAtPercentile(0.001), 1u);
}

TEST(LatencyHistogram, PercentilesOfASkewedLoad) {
  LatencyHistogram h;
  for (int i = 0; i < 990; i++) h.Record(10);
  for (int i = 0; i < 10; i++) h.Record(50'000);  // 1 % slow calls of 50 ms
  EXPECT_EQ(h.ValueAtPercentile(50), 10u);
  EXPECT_EQ(h.ValueAtPercentile(99), 10u);
  uint64_t p999 = h.ValueAtPercentile(99.9);
  EXPECT_GE(p999, 50'000u);
  EXPECT_LE(p999, 50'000u + 50'000u / 64);
  h.Reset();
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.ValueAtPercentile(99), 0u);
}

}  // namespace
}  // namespace ferrite
