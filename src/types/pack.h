#pragma once
// Pack: the compact encoding of small collections (Redis's "listpack" role). One heap
// block holds every element back to back:
//
//   [ uint32 bytes | uint32 count | entry... ]      entry = varint length, then the bytes
//
// A hash stores field, value, field, value…; a sorted set member, score-text, … in score
// order; a list or set its elements. Every operation is a linear walk, so callers keep packs
// small (the *_max_listpack_* limits) and convert to the full structures past them.
// Block pointers change on growth: every mutator returns the (possibly new) block.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "base/coding.h"

namespace ferrite {

struct PackBlock {
  uint32_t bytes;  // payload bytes after the header
  uint32_t count;  // entries
  char* data() { return reinterpret_cast<char*>(this + 1); }
  const char* data() const { return reinterpret_cast<const char*>(this + 1); }
};

namespace pack {

PackBlock* New(size_t reserve_bytes = 0);
void Free(PackBlock* b);
PackBlock* Clone(const PackBlock* b);
size_t AllocSize(const PackBlock* b);  // bytes allocated for the block

inline uint32_t Count(const PackBlock* b) { return b->count; }
inline uint32_t End(const PackBlock* b) { return b->bytes; }

// Reads the entry at byte offset off; returns the offset of the next entry.
inline uint32_t Read(const PackBlock* b, uint32_t off, std::string_view* out) {
  const char* start = b->data() + off;
  *out = DecodeLengthPrefixedUnchecked(start);
  return uint32_t(out->data() + out->size() - b->data());
}

// Calls fn(view) for each entry in order; stops early when fn returns false.
template <typename F>
void ForEach(const PackBlock* b, F&& fn) {
  std::string_view v;
  for (uint32_t off = 0; off < b->bytes;) {
    off = Read(b, off, &v);
    if (!fn(v)) return;
  }
}

// In a block of pairs (a hash's field, value; a sorted set's member, score): the byte offset
// of the pair whose first entry is key, or -1; *second_off (if given) the offset of the
// pair's second entry.
inline int64_t FindPair(const PackBlock* b, std::string_view key, uint32_t* second_off) {
  std::string_view k, v;
  for (uint32_t off = 0; off < b->bytes;) {
    uint32_t soff = Read(b, off, &k);
    uint32_t next = Read(b, soff, &v);
    if (k == key) {
      if (second_off) *second_off = soff;
      return off;
    }
    off = next;
  }
  return -1;
}

// Byte offset of entry index i (0-based; i == count gives End).
uint32_t OffsetOf(const PackBlock* b, uint32_t index);

// Inserts elems at byte offset off (an entry boundary or End).
PackBlock* Insert(PackBlock* b, uint32_t off, const std::string_view* elems, size_t n);
inline PackBlock* Insert(PackBlock* b, uint32_t off, std::string_view elem) {
  return Insert(b, off, &elem, 1);
}
inline PackBlock* Append(PackBlock* b, std::string_view elem) { return Insert(b, b->bytes, elem); }
// Removes n entries starting at byte offset off.
PackBlock* Erase(PackBlock* b, uint32_t off, uint32_t n);
// Replaces the entry at off with elem.
PackBlock* Replace(PackBlock* b, uint32_t off, std::string_view elem);

// Encoded size of one entry.
inline size_t EntrySize(size_t len) { return VarintLength(len) + len; }

}  // namespace pack
}  // namespace ferrite
