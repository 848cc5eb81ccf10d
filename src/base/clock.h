#pragma once
// Clock: every time read in the server goes through here, so tests can move time.

#include <cstdint>

namespace ferrite {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMs() const = 0;  // unix time, milliseconds
  virtual int64_t NowUs() const = 0;  // unix time, microseconds
  virtual int64_t MonotonicUs() const = 0;
  static Clock* Real();
};

// A clock tests set by hand.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_us = 1'700'000'000'000'000) : now_us_(now_us) {}
  int64_t NowMs() const override { return now_us_ / 1000; }
  int64_t NowUs() const override { return now_us_; }
  int64_t MonotonicUs() const override { return now_us_; }
  void AdvanceMs(int64_t ms) { now_us_ += ms * 1000; }
  void SetMs(int64_t ms) { now_us_ = ms * 1000; }

 private:
  int64_t now_us_;
};

}  // namespace ferrite
