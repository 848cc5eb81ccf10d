#pragma once
// Collections as bytes: the value payload of a checkpoint record (docs/formats.md) and the
// canonical form DEBUG DIGEST hashes.
//
//   blob = varint count, then count items
//   hash: field, value   set: member   list: element     (each: varint length, bytes)
//   zset: member, then the score as 8 bytes (IEEE-754 double, little endian)
//   stream: its own form, nodes kept as they are (types/stream.h, EncodeStream)
//
// Items are written in the collection's iteration order; a reader rebuilds the value with
// the ordinary operations, so it picks the encoding the limits ask for.

#include <cmath>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/coding.h"
#include "base/status.h"
#include "types/collections.h"

namespace ferrite {

void EncodeCollection(const Value& v, std::string* out);
// The same bytes as EncodeCollection, handed over in pieces: sink(piece, last) gets about
// piece_size bytes at a time (an item longer than piece_size is handed over by reference
// after its length, not copied), and last = true on the final call. Only one piece is
// buffered, never the whole blob: this is how the checkpoint streams a large value.
void EncodeCollectionStream(const Value& v, size_t piece_size,
                            const std::function<void(std::string_view piece, bool last)>& sink);
// Rebuilds a collection of type t; an error names what is wrong and the byte offset.
Result<Value> DecodeCollection(ValueType t, std::string_view blob, const CollectionLimits& lim);

// Reads a blob of type t (hash, set, sorted set, list) in stored order without building a
// value: begin(count) once, then item(a, b, score) per item (a = the member, field or
// element; b = a hash's value; score = a sorted set's score). A callback refuses with a
// reason (nullptr: go on). Any problem is Corruption "<what> at byte <n> of the value"; a
// count of 0 reaches begin (a writer that skips empty collections decides), trailing bytes,
// a truncated item, a NaN score are refused here. DecodeCollection is built on it, and so
// is every other reader of the blob (the Redis RDB writer): there is one parser.
template <typename Begin, typename Item>
Status WalkCollectionBlob(ValueType t, std::string_view blob, Begin&& begin, Item&& item);

// The blob of a collection held as items outside a Value (the inverse of the walk above):
// Start with the count, then Item per string and Score after each sorted-set member.
class CollectionBlobBuilder {
 public:
  CollectionBlobBuilder(std::string* out, uint64_t count) : out_(out) { PutVarint64(out, count); }
  void Item(std::string_view s) { PutLengthPrefixed(out_, s); }
  void Score(double d) { PutDouble(out_, d); }

 private:
  std::string* out_;
};

// Bytes that are equal exactly when two values hold the same data, whatever their encoding
// and iteration order (sets and hashes: XOR of per-element hashes).
std::string CanonicalBytes(const Value& v);

// Visits a collection as the commands that rebuild it (RPUSH/SADD/ZADD/HSET), at most
// `batch` items per command; the AOF rewrite writes these.
void ForEachRebuildCommand(std::string_view key, const Value& v, size_t batch,
                           const std::function<void(const std::vector<std::string_view>&)>& fn);

template <typename Begin, typename Item>
Status WalkCollectionBlob(ValueType t, std::string_view blob, Begin&& begin, Item&& item) {
  Cursor r(blob);
  auto bad = [&](const char* what) {
    return Status::Corruption(std::string(what) + " at byte " + std::to_string(r.pos()) +
                              " of the value");
  };
  const char* truncated;
  switch (t) {
    case ValueType::kHash:
      truncated = "truncated hash field";
      break;
    case ValueType::kSet:
      truncated = "truncated set member";
      break;
    case ValueType::kZSet:
      truncated = "truncated sorted-set member";
      break;
    case ValueType::kList:
      truncated = "truncated list element";
      break;
    default:
      return Status::Corruption("unknown value type " + std::to_string(int(t)));
  }
  uint64_t n;
  if (!r.Varint(&n)) return bad("truncated item count");
  if (n > blob.size()) return bad("item count larger than the value");
  if (const char* why = begin(n)) return bad(why);
  std::string_view a, b;
  for (uint64_t i = 0; i < n; i++) {
    double score = 0;
    if (!r.LengthPrefixed(&a)) return bad(truncated);
    if (t == ValueType::kHash && !r.LengthPrefixed(&b)) return bad(truncated);
    if (t == ValueType::kZSet) {
      if (!r.Double(&score)) return bad(truncated);
      if (std::isnan(score)) return bad("NaN score");
    }
    if (const char* why = item(a, b, score)) return bad(why);
  }
  if (!r.done()) return bad("trailing bytes");
  return Status::Ok();
}

}  // namespace ferrite
