#pragma once
// StrTable: the hash table of large hashes, sets and sorted sets. Chained buckets over a
// power-of-two array; each element is one allocation holding the chain link, the key and a
// payload (a hash's value, a sorted set's score, nothing for a set):
//
//   Node = [ Node* next | varint key length | key bytes | payload bytes ]
//
// One allocation per element and 8 bytes per bucket keep a 1 M-field hash near 40 bytes
// per field of overhead. The table doubles when it holds more elements than buckets and
// halves below 1/8 full; the rehash is whole (a 1 M-element table rehashes in ~10 ms).
// SCAN uses Redis's reverse-binary cursor, so a cursor stays valid across resizes: every
// element present for a whole scan is returned at least once.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "base/coding.h"

namespace ferrite {

class StrTable {
 public:
  struct Node {
    Node* next;
    // followed by varint key length, key, payload
    std::string_view key() const {
      return DecodeLengthPrefixedUnchecked(reinterpret_cast<const char*>(this + 1));
    }
    char* payload() {
      std::string_view k = key();
      return const_cast<char*>(k.data() + k.size());
    }
    const char* payload() const {
      std::string_view k = key();
      return k.data() + k.size();
    }
  };

  StrTable() = default;
  ~StrTable();
  StrTable(const StrTable&) = delete;
  StrTable& operator=(const StrTable&) = delete;

  size_t size() const { return size_; }
  Node* Find(std::string_view key) const;
  // Inserts an absent key with payload_len bytes of payload (uninitialized; fill it).
  Node* Insert(std::string_view key, size_t payload_len);
  // Find, or insert with payload_len bytes of uninitialized payload: one hash computation.
  Node* FindOrInsert(std::string_view key, size_t payload_len, bool* inserted);
  // Re-allocates node with a different payload size, keeping its key and chain position.
  // The returned node's payload is uninitialized.
  Node* Resize(Node* node, size_t payload_len);
  bool Erase(std::string_view key);
  // Removes and frees every element.
  void Clear();

  template <typename F>
  void ForEach(F&& fn) const {
    for (size_t i = 0; i < nbuckets_; ++i)
      for (Node* n = buckets_[i]; n;) {
        Node* next = n->next;
        fn(n);
        n = next;
      }
  }
  // Visits one bucket's elements per step from cursor; returns the next cursor (0 = done).
  uint64_t Scan(uint64_t cursor, size_t count, void (*fn)(Node*, void*), void* arg) const;
  template <typename F>
  uint64_t Scan(uint64_t cursor, size_t count, F&& fn) const {
    return Scan(
        cursor, count, [](Node* n, void* a) { (*static_cast<F*>(a))(n); }, &fn);
  }
  // A random element, every element equally likely (HRANDFIELD, SRANDMEMBER and SPOP rely
  // on it: Redis's test suite checks the distribution); nullptr if empty. r1 and r2 seed
  // the draws.
  Node* Random(uint64_t r1, uint64_t r2) const;

  // Estimate from `samples` random elements (payload bytes counted as 8).
  size_t MemoryUsage(size_t samples = 16) const;
  static size_t NodeSize(size_t key_len, size_t payload_len);

 private:
  static uint64_t Hash(std::string_view key);
  Node* InsertHashed(std::string_view key, size_t payload_len, uint64_t hash);
  void Rehash(size_t nbuckets);

  Node** buckets_ = nullptr;
  size_t nbuckets_ = 0;  // power of two, or 0
  size_t size_ = 0;
  mutable size_t longest_chain_ = 4;  // at least the longest chain Random has met
};

}  // namespace ferrite
