#include "types/str_table.h"

#include <xxhash.h>

#include <algorithm>
#include <new>

#include "base/coding.h"

namespace ferrite {
namespace {

uint64_t ReverseBits(uint64_t v) {
  v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
  v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
  v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((v & 0x0F0F0F0F0F0F0F0FULL) << 4);
  v = ((v >> 8) & 0x00FF00FF00FF00FFULL) | ((v & 0x00FF00FF00FF00FFULL) << 8);
  v = ((v >> 16) & 0x0000FFFF0000FFFFULL) | ((v & 0x0000FFFF0000FFFFULL) << 16);
  return (v >> 32) | (v << 32);
}

}  // namespace

StrTable::~StrTable() {
  Clear();
  ::operator delete(buckets_);
}

size_t StrTable::NodeSize(size_t key_len, size_t payload_len) {
  return sizeof(Node) + VarintLength(key_len) + key_len + payload_len;
}

uint64_t StrTable::Hash(std::string_view key) {
  return XXH3_64bits_withSeed(key.data(), key.size(), 0x6a09e667f3bcc909ULL);
}

StrTable::Node* StrTable::Find(std::string_view key) const {
  if (!size_) return nullptr;
  for (Node* n = buckets_[Hash(key) & (nbuckets_ - 1)]; n; n = n->next)
    if (n->key() == key) return n;
  return nullptr;
}

StrTable::Node* StrTable::FindOrInsert(std::string_view key, size_t payload_len, bool* inserted) {
  uint64_t h = Hash(key);
  if (size_) {
    for (Node* n = buckets_[h & (nbuckets_ - 1)]; n; n = n->next) {
      if (n->key() == key) {
        *inserted = false;
        return n;
      }
    }
  }
  *inserted = true;
  return InsertHashed(key, payload_len, h);
}

StrTable::Node* StrTable::Insert(std::string_view key, size_t payload_len) {
  return InsertHashed(key, payload_len, Hash(key));
}

StrTable::Node* StrTable::InsertHashed(std::string_view key, size_t payload_len, uint64_t h) {
  if (size_ + 1 > nbuckets_) Rehash(nbuckets_ ? nbuckets_ * 2 : 4);
  size_t sz = NodeSize(key.size(), payload_len);
  auto* n = static_cast<Node*>(::operator new(sz));
  char* p = EncodeVarint64(reinterpret_cast<char*>(n + 1), key.size());
  memcpy(p, key.data(), key.size());
  Node** head = &buckets_[h & (nbuckets_ - 1)];
  n->next = *head;
  *head = n;
  ++size_;
  return n;
}

StrTable::Node* StrTable::Resize(Node* node, size_t payload_len) {
  std::string_view key = node->key();
  size_t old_sz = size_t(node->payload() - reinterpret_cast<char*>(node));
  size_t sz = old_sz + payload_len;
  auto* n = static_cast<Node*>(::operator new(sz));
  memcpy(static_cast<void*>(n), node, old_sz);
  Node** link = &buckets_[Hash(key) & (nbuckets_ - 1)];
  while (*link != node) link = &(*link)->next;
  *link = n;
  ::operator delete(node);
  return n;
}

bool StrTable::Erase(std::string_view key) {
  if (!size_) return false;
  Node** link = &buckets_[Hash(key) & (nbuckets_ - 1)];
  for (; *link; link = &(*link)->next) {
    Node* n = *link;
    if (n->key() != key) continue;
    *link = n->next;
    ::operator delete(n);
    --size_;
    if (nbuckets_ > 4 && size_ < nbuckets_ / 8) Rehash(nbuckets_ / 2);
    return true;
  }
  return false;
}

void StrTable::Clear() {
  for (size_t i = 0; i < nbuckets_; ++i) {
    for (Node* n = buckets_[i]; n;) {
      Node* next = n->next;
      ::operator delete(n);
      n = next;
    }
    buckets_[i] = nullptr;
  }
  size_ = 0;
}

void StrTable::Rehash(size_t nb) {
  auto** fresh = static_cast<Node**>(::operator new(nb * sizeof(Node*)));
  std::fill(fresh, fresh + nb, nullptr);
  for (size_t i = 0; i < nbuckets_; ++i) {
    for (Node* n = buckets_[i]; n;) {
      Node* next = n->next;
      Node** head = &fresh[Hash(n->key()) & (nb - 1)];
      n->next = *head;
      *head = n;
      n = next;
    }
  }
  ::operator delete(buckets_);
  buckets_ = fresh;
  nbuckets_ = nb;
}

uint64_t StrTable::Scan(uint64_t cursor, size_t count, void (*fn)(Node*, void*), void* arg) const {
  if (!size_) return 0;
  uint64_t mask = nbuckets_ - 1;
  size_t visited = 0;
  do {
    for (Node* n = buckets_[cursor & mask]; n; n = n->next) {
      fn(n, arg);
      ++visited;
    }
    // Increment the reversed cursor: covers the same hash-space prefix at any table size.
    cursor |= ~mask;
    cursor = ReverseBits(cursor);
    ++cursor;
    cursor = ReverseBits(cursor);
  } while (cursor != 0 && visited < count);
  return cursor;
}

// Picking a random non-empty bucket and then a random member of its chain favours the
// members of short chains. Instead: a random bucket (empty ones included) and a random
// position below the longest chain length; a position past the chain's end draws again.
// Every element then has the same chance as long as no chain is longer than the bound,
// and a longer chain met on the way raises the bound (the draw starts over, so the result
// stays fair). At a low load factor this takes more draws; after a bounded number the
// simple biased pick answers, so a call never runs long.
StrTable::Node* StrTable::Random(uint64_t r1, uint64_t r2) const {
  if (!size_) return nullptr;
  uint64_t x = r1 ^ (r2 << 1) ^ 0x9e3779b97f4a7c15ULL;
  auto next = [&]() {
    x += 0x9e3779b97f4a7c15ULL;  // splitmix64
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  for (int attempt = 0; attempt < 4096; attempt++) {
    size_t i = next() & (nbuckets_ - 1);
    size_t pos = next() % longest_chain_;
    size_t len = 0;
    Node* hit = nullptr;
    for (Node* n = buckets_[i]; n; n = n->next, ++len) {
      if (len == pos) hit = n;
    }
    if (len > longest_chain_) {
      longest_chain_ = len;
      continue;  // the bound was too low for this chain: draw again with the new one
    }
    if (hit) return hit;
  }
  size_t i = r1 & (nbuckets_ - 1);
  while (!buckets_[i]) i = (i + 1) & (nbuckets_ - 1);
  size_t len = 0;
  for (Node* n = buckets_[i]; n; n = n->next) ++len;
  Node* n = buckets_[i];
  for (size_t k = r2 % len; k; --k) n = n->next;
  return n;
}

size_t StrTable::MemoryUsage(size_t samples) const {
  if (!size_) return nbuckets_ * sizeof(Node*);
  // Estimated from a few random elements, as Redis's MEMORY USAGE samples.
  size_t total = 0;
  uint64_t r = 0x9e3779b97f4a7c15ULL;
  for (size_t i = 0; i < samples; ++i) {
    r = r * 6364136223846793005ULL + 1442695040888963407ULL;
    const Node* n = Random(r >> 11, r >> 29);
    total += sizeof(Node) + size_t(n->payload() - reinterpret_cast<const char*>(n + 1)) + 8;
  }
  return nbuckets_ * sizeof(Node*) + total / samples * size_;
}

}  // namespace ferrite
