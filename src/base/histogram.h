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

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>
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

  // Cumulative counts at power-of-two upper bounds 1, 2, 4, … (LATENCY HISTOGRAM, as
  // Redis's hdr log iteration from 1 µs doubling): (bound, samples <= bound), one pair per
  // bound where the cumulative count grew.
  std::vector<std::pair<uint64_t, uint64_t>> CumulativePowersOfTwo() const {
    std::vector<std::pair<uint64_t, uint64_t>> out;
    if (total_ == 0) return out;
    uint64_t seen = 0, last = 0;
    int i = 0;
    for (uint64_t bound = 1; bound <= kMaxValue; bound <<= 1) {
      while (i < kBuckets && HighestEquivalent(i) <= bound) seen += counts_[size_t(i++)];
      if (seen > last) out.emplace_back(bound, seen);
      last = seen;
      if (seen == total_) break;
    }
    return out;
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

// DurationHistogram: durations in Prometheus's histogram shape — fixed upper bounds in
// seconds, a +Inf bucket, a sum and a count — for /metrics (ferrite_aof_write_duration_
// seconds ...). Any thread records (relaxed atomics); a snapshot may be a few samples
// behind, never torn per field.
class DurationHistogram {
 public:
  static constexpr int kBounds = 12;
  static constexpr double kUpperSeconds[kBounds] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                    0.005,   0.01,   0.025,   0.05,   0.1,   1.0};
  struct Snapshot {
    uint64_t buckets[kBounds + 1] = {};  // per bucket (not cumulative); the last is +Inf
    uint64_t count = 0;
    double sum_seconds = 0;
  };
  void Record(int64_t us) {
    if (us < 0) us = 0;
    int i = 0;
    while (i<kBounds&& double(us)> kUpperSeconds[i] * 1e6) i++;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_us_.fetch_add(uint64_t(us), std::memory_order_relaxed);
  }
  Snapshot Get() const {
    Snapshot s;
    for (int i = 0; i <= kBounds; i++) {
      s.buckets[i] = counts_[i].load(std::memory_order_relaxed);
      s.count += s.buckets[i];
    }
    s.sum_seconds = double(sum_us_.load(std::memory_order_relaxed)) / 1e6;
    return s;
  }

 private:
  std::atomic<uint64_t> counts_[kBounds + 1] = {};
  std::atomic<uint64_t> sum_us_{0};
};

}  // namespace ferrite
