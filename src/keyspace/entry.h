#pragma once
// Entry: one key in the keyspace, stored in place in a SegmentedTable slot (56 bytes).
//
//   [ CompactKey key : 24 ][ Value value : 16 ][ int64 expire_ms : 8 ][ lru : 4 ][ lfu : 4 ]
//
// expire_ms is absolute unix milliseconds, 0 = no expiry. lru is the access time in
// seconds (Redis's 1 s LRU clock); lfu_counter/lfu_minutes implement Redis's LFU
// (logarithmic counter with decay).

#include <cstdint>
#include <string_view>

#include "types/compact_key.h"
#include "types/value.h"

namespace ferrite {

struct Entry {
  Entry() = default;
  Entry(std::string_view k, Value v) : key_(k), value(std::move(v)) {}
  Entry(Entry&&) noexcept = default;
  Entry& operator=(Entry&&) noexcept = default;

  std::string_view key() const { return key_.view(); }
  bool has_expire() const { return expire_ms != 0; }

  CompactKey key_;
  Value value;
  int64_t expire_ms = 0;
  uint32_t lru = 0;          // seconds, wraps
  uint16_t lfu_minutes = 0;  // last LFU decrement time, minutes, wraps
  uint8_t lfu_counter = 5;   // LFU_INIT_VAL
  uint8_t flags = 0;
};
static_assert(sizeof(Entry) == 56);

}  // namespace ferrite
