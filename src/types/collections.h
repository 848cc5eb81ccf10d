#pragma once
// The collection types over their two encodings each:
//
//   hash:  Pack of field, value, …          -> HashObject  (StrTable, payload = value)
//   set:   IntSet (sorted int64s) or Pack   -> SetObject   (StrTable, no payload)
//   zset:  Pack of member, score(8 bytes) … -> ZSetObject  (StrTable, payload = score,
//          sorted by (score, member)            + ZIndex for order and ranks)
//   list:  Pack of elements                 -> ListObject  (deque of 16-byte Values)
//
// A small collection lives packed in one allocation; it converts to the full structure
// once it passes the limits (Redis's *-max-listpack-* / set-max-intset-entries) and never
// converts back, as Redis. Views returned by these functions stay valid until the next
// mutation of the same value.

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "types/pack.h"
#include "types/str_table.h"
#include "types/value.h"
#include "types/zindex.h"

namespace ferrite {

struct CollectionLimits {
  size_t hash_entries = 128;
  size_t hash_value = 64;
  size_t set_intset = 512;
  size_t set_entries = 128;
  size_t set_value = 64;
  size_t zset_entries = 128;
  size_t zset_value = 64;
  int64_t list_size = -2;  // > 0: entries; -1..-5: 4 KB..64 KB of packed bytes
};

class HashObject final : public Object {
 public:
  ValueType type() const override { return ValueType::kHash; }
  const char* encoding_name() const override { return "hashtable"; }
  size_t MemoryUsage() const override { return sizeof(*this) + table.MemoryUsage(); }
  Object* Clone() const override;
  StrTable table;
};

class SetObject final : public Object {
 public:
  ValueType type() const override { return ValueType::kSet; }
  const char* encoding_name() const override { return "hashtable"; }
  size_t MemoryUsage() const override { return sizeof(*this) + table.MemoryUsage(); }
  Object* Clone() const override;
  StrTable table;
};

class ZSetObject final : public Object {
 public:
  ValueType type() const override { return ValueType::kZSet; }
  // Redis's name for the large sorted-set encoding; the structure here is a hash table
  // plus a block index (types/zindex.h), not a skiplist.
  const char* encoding_name() const override { return "skiplist"; }
  size_t MemoryUsage() const override {
    return sizeof(*this) + table.MemoryUsage() + index.MemoryUsage();
  }
  Object* Clone() const override;
  StrTable table;
  ZIndex index;
};

class ListObject final : public Object {
 public:
  ValueType type() const override { return ValueType::kList; }
  // Redis's name for the large list encoding (a chunked sequence of elements).
  const char* encoding_name() const override { return "quicklist"; }
  size_t MemoryUsage() const override;
  Object* Clone() const override;
  std::deque<Value> items;
};

using StrFn = std::function<bool(std::string_view)>;  // return false to stop
using PairFn = std::function<bool(std::string_view, std::string_view)>;
using ScoreFn = std::function<bool(std::string_view, double)>;

// ---- hashes --------------------------------------------------------------------------
namespace hashv {
Value New();
size_t Len(const Value& v);
bool Get(const Value& v, std::string_view field, std::string_view* out);
// Returns true if the field was created, false if it was overwritten.
bool Set(Value& v, std::string_view field, std::string_view value, const CollectionLimits& lim);
bool Del(Value& v, std::string_view field);
void ForEach(const Value& v, const PairFn& fn);
uint64_t Scan(const Value& v, uint64_t cursor, size_t count, const PairFn& fn);
// The field/value at a random position (r picks it); v must not be empty.
void Random(const Value& v, uint64_t r, std::string_view* field, std::string_view* value);
}  // namespace hashv

// ---- sets ----------------------------------------------------------------------------
namespace setv {
// An empty set in the encoding its first member calls for.
Value NewFor(std::string_view first, const CollectionLimits& lim);
size_t Card(const Value& v);
bool Contains(const Value& v, std::string_view m);
bool Add(Value& v, std::string_view m, const CollectionLimits& lim);
bool Remove(Value& v, std::string_view m);
void ForEach(const Value& v, const StrFn& fn);
uint64_t Scan(const Value& v, uint64_t cursor, size_t count, const StrFn& fn);
// A random member (r picks it) copied into *out; v must not be empty.
void Random(const Value& v, uint64_t r, std::string* out);
}  // namespace setv

// ---- sorted sets ---------------------------------------------------------------------
namespace zsetv {
Value New(size_t expected, size_t max_member_len, const CollectionLimits& lim);
size_t Card(const Value& v);
bool Score(const Value& v, std::string_view m, double* score);
// Adds an absent member, or moves a present one to a new score.
void Set(Value& v, std::string_view m, double score, const CollectionLimits& lim);
bool Remove(Value& v, std::string_view m);
// Removes up to n members from the low (or high, if max) end, appending them in pop order.
void PopEnd(Value& v, bool max, size_t n, std::vector<std::pair<std::string, double>>* out);
// 0-based rank in ascending order; false if absent.
bool Rank(const Value& v, std::string_view m, size_t* rank);
// Ranks [start, end) ascending (or descending from end-1 when reverse).
void ForRange(const Value& v, size_t start, size_t end, bool reverse, const ScoreFn& fn);
// Count of leading members (ascending) for which pred holds (a prefix of the order).
size_t CountWhile(const Value& v, const std::function<bool(std::string_view, double)>& pred);
void ForEach(const Value& v, const ScoreFn& fn);
// Members with min <= score < max in (score, member) order, until fn returns false. Finds
// the start by search, not by rank (the geo commands scan up to nine such ranges per query).
void ForScoreRange(const Value& v, double min, double max, const ScoreFn& fn);
uint64_t Scan(const Value& v, uint64_t cursor, size_t count, const ScoreFn& fn);
}  // namespace zsetv

// ---- lists ---------------------------------------------------------------------------
namespace listv {
Value New();
size_t Len(const Value& v);
void Push(Value& v, std::string_view elem, bool front, const CollectionLimits& lim);
bool Pop(Value& v, bool front, std::string* out);
// Index already normalized to [0, len).
std::string_view At(const Value& v, size_t index, std::string* scratch);
void SetAt(Value& v, size_t index, std::string_view elem, const CollectionLimits& lim);
// Elements [start, end) in order.
void ForRange(const Value& v, size_t start, size_t end, const StrFn& fn);
// Inserts before/after the first element equal to pivot; false if there is none.
bool InsertAt(Value& v, std::string_view pivot, std::string_view elem, bool after,
              const CollectionLimits& lim);
// LREM semantics: count > 0 from the head, < 0 from the tail, 0 all. Returns removed.
size_t Remove(Value& v, int64_t count, std::string_view elem);
// Keeps [start, end) only.
void Trim(Value& v, size_t start, size_t end);
}  // namespace listv

}  // namespace ferrite
