#pragma once
// LatencyHistogram: a compact log-linear histogram of non-negative integers (microseconds
// for command latencies), HdrHistogram's layout with two significant binary digits less:
// values below 128 are counted exactly, larger ones in buckets 1/64 of their power of two
// wide (at most 1.6 % apart), up to kMaxValue (larger values count as kMaxValue - 1).
//
// Used by INFO latencystats (Redis 7's latency_percentiles_usec_<cmd>). Redis keeps an
// hdr_histogram per command with 2 significant decimal digits (about 1 %); this one is
// 12.8 KB, allocated on the first Record, and a Record is a shift and an increment.
//
// Not thread-safe: each histogram belongs to one thread (the loop).

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ferrite {

class LatencyHistogram {
 public:
  static constexpr int kSubBits = 6;                   // 64 sub-buckets per half range
  static constexpr uint64_t kHalf = 1ULL << kSubBits;  // 64
  static constexpr uint64_t kMaxValue = 1ULL << 30;    // ~18 minutes in microseconds
  static constexpr int kBuckets = int((30 - kSubBits - 1) * kHalf + 2 * kHalf);  // 1600

  void Record(uint64_t v) {
    if (counts_.empty()) counts_.resize(size_t(kBuckets));
    counts_[size_t(Index(v))]++;
    total_++;
  }
  uint64_t count() const { return total_; }
  void Reset() {
    counts_.clear();
    total_ = 0;
  }

  // The value at percentile p (0 < p <= 100): the highest value in the bucket holding the
  // n-th smallest sample, n = p% of the count rounded to nearest and at least 1 (as
  // hdr_value_at_percentile). 0 when empty.
  uint64_t ValueAtPercentile(double p) const {
    if (total_ == 0) return 0;
    uint64_t want = uint64_t(p / 100.0 * double(total_) + 0.5);
    if (want < 1) want = 1;
    if (want > total_) want = total_;
    uint64_t seen = 0;
    for (int i = 0; i < kBuckets; i++) {
      seen += counts_[size_t(i)];
      if (seen >= want) return HighestEquivalent(i);
    }
    return HighestEquivalent(kBuckets - 1);
  }

  // Bucket layout, public for the tests.
  static int Index(uint64_t v) {
    if (v >= kMaxValue) v = kMaxValue - 1;
    if (v < 2 * kHalf) return int(v);
    int bits = 64 - __builtin_clzll(v);  // >= kSubBits + 2
    int shift = bits - (kSubBits + 1);   // v >> shift is in [kHalf, 2 * kHalf)
    return shift * int(kHalf) + int(v >> shift);
  }
  static uint64_t LowestEquivalent(int idx) {
    if (idx < int(2 * kHalf)) return uint64_t(idx);
    int shift = (idx - int(kHalf)) / int(kHalf);
    return uint64_t(idx - shift * int(kHalf)) << shift;
  }
  static uint64_t HighestEquivalent(int idx) {
    if (idx < int(2 * kHalf)) return uint64_t(idx);
    int shift = (idx - int(kHalf)) / int(kHalf);
    return (uint64_t(idx - shift * int(kHalf) + 1) << shift) - 1;
  }

 private:
  std::vector<uint64_t> counts_;  // empty until the first Record
  uint64_t total_ = 0;
};

}  // namespace ferrite
