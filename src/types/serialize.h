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

#include <functional>
#include <string>
#include <string_view>
#include <vector>

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

// Bytes that are equal exactly when two values hold the same data, whatever their encoding
// and iteration order (sets and hashes: XOR of per-element hashes).
std::string CanonicalBytes(const Value& v);

// Visits a collection as the commands that rebuild it (RPUSH/SADD/ZADD/HSET), at most
// `batch` items per command; the AOF rewrite writes these.
void ForEachRebuildCommand(std::string_view key, const Value& v, size_t batch,
                           const std::function<void(const std::vector<std::string_view>&)>& fn);

}  // namespace ferrite
