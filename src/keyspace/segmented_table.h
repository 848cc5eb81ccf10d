#pragma once
// SegmentedTable<Entry>: the keyspace hash table. Extendible hashing: a directory of
// 2^global_depth pointers to fixed-size segments; a full segment splits alone (no
// whole-table rehash, so no pause at 10 M keys) and the directory doubles by copying
// pointers only.
//
//   directory [2^G]          segment (local depth d, covers hash prefix p of d bits)
//   +---+---+---+---+        +------------------------------------------------------+
//   | * | * | * | * |  --->  | bucket 0 | bucket 1 | ... | bucket 47 | stash 0..15  |
//   +---+---+---+---+        +------------------------------------------------------+
//   index = top G bits        bucket = [fp x8][used mask][overflow][version][8 slots]
//
// An entry lives in its home bucket h (from hash bits independent of the directory bits),
// or the neighbour h+1, or a stash bucket (the home bucket then counts it in `overflow`
// so lookups probe the stash only when needed).
//
// Split rule: when a segment splits, every entry keeps the same bucket (or stash) index in
// whichever half its next hash bit selects. Each new bucket receives a subset of one old
// bucket, so it always fits, and entries never move relative to a scan position. Hence:
//  * SCAN: the cursor is a position in hash space (32-bit prefix, bucket index), valid
//    across splits; every entry present for a whole traversal is visited at least once.
//  * Checkpoints: each bucket carries the epoch of its last change. Before any change to a
//    bucket (insert, erase, FindForWrite, or a split of its segment) whose version is older
//    than the table's epoch, the pre-mutation hook sees the bucket as it was; the background
//    pass (TraverseBuckets) sees the rest. Every entry present at set_epoch(e) is seen
//    exactly once with its value at that moment; entries inserted later are never seen.
//
// Contracts: loop thread only. An Entry* stays valid until the next Insert, Erase or Clear
// on the table (FindForWrite does not move entries). Entry must be nothrow-movable and
// expose `std::string_view key() const`.

#include <xxhash.h>

#include <bit>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <string_view>
#include <utility>
#include <vector>

namespace ferrite {

template <typename Entry>
class SegmentedTable {
 public:
  static constexpr int kSlots = 8;
  static constexpr int kBuckets = 48;
  static constexpr int kStash = 16;
  static constexpr int kAllBuckets = kBuckets + kStash;
  static constexpr int kMaxDepth = 32;

  struct Bucket {
    uint8_t fp[kSlots];
    uint8_t used = 0;         // occupancy bitmask
    uint8_t overflow = 0;     // entries whose home is this bucket, stored in the stash
    uint8_t home = 0;         // slots whose entry is in its home bucket (may move forward)
    uint16_t stash_mask = 0;  // stash buckets that may hold this bucket's overflow
    uint64_t version = 0;     // epoch of the last change
    alignas(Entry) unsigned char storage[kSlots][sizeof(Entry)];

    Entry* slot(int i) { return std::launder(reinterpret_cast<Entry*>(storage[i])); }
    const Entry* slot(int i) const {
      return std::launder(reinterpret_cast<const Entry*>(storage[i]));
    }
    int count() const { return std::popcount(unsigned(used)); }
    bool full() const { return used == 0xFF; }
  };

  // Read access to one bucket for the checkpoint hook and pass.
  class BucketView {
   public:
    explicit BucketView(const Bucket* b) : b_(b) {}
    template <typename F>
    void for_each(F&& fn) const {
      for (unsigned m = b_->used; m; m &= m - 1) fn(*b_->slot(std::countr_zero(m)));
    }
    uint64_t version() const { return b_->version; }
    int size() const { return b_->count(); }

   private:
    const Bucket* b_;
  };

  using Hook = std::function<void(BucketView)>;

  SegmentedTable() { Reset(); }
  ~SegmentedTable() { DestroyAll(); }
  SegmentedTable(const SegmentedTable&) = delete;
  SegmentedTable& operator=(const SegmentedTable&) = delete;

  static uint64_t Hash(std::string_view key) { return XXH3_64bits(key.data(), key.size()); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  uint32_t global_depth() const { return depth_; }
  size_t segment_count() const { return segments_; }
  size_t bucket_capacity() const { return segments_ * size_t(kAllBuckets) * kSlots; }
  size_t MemoryUsage() const {
    return segments_ * sizeof(Segment) + dir_.capacity() * sizeof(Segment*);
  }

  uint64_t epoch() const { return epoch_; }
  void set_epoch(uint64_t e) { epoch_ = e; }
  void SetPreMutationHook(Hook h) { hook_ = std::move(h); }

  Entry* Find(std::string_view key, uint64_t hash) {
    Segment* s = SegmentFor(hash);
    Slot loc;
    return Locate(s, key, hash, &loc) ? loc.bucket->slot(loc.index) : nullptr;
  }
  const Entry* Find(std::string_view key, uint64_t hash) const {
    return const_cast<SegmentedTable*>(this)->Find(key, hash);
  }

  // A hint: starts loading the buckets a lookup of hash will read (its home bucket and
  // neighbour), so several lookups' cache misses can overlap. Changes nothing.
  void Prefetch(uint64_t hash) const {
    const Segment* s = SegmentFor(hash);
    int home = HomeBucket(hash);
    __builtin_prefetch(&s->buckets[home]);
    __builtin_prefetch(&s->buckets[Neighbor(home)]);
  }

  Entry* FindForWrite(std::string_view key, uint64_t hash) {
    Segment* s = SegmentFor(hash);
    Slot loc;
    if (!Locate(s, key, hash, &loc)) return nullptr;
    Prepare(loc.bucket);
    return loc.bucket->slot(loc.index);
  }

  // Precondition: the key is absent.
  Entry* Insert(uint64_t hash, Entry&& e) {
    for (;;) {
      Segment* s = SegmentFor(hash);
      if (Entry* placed = TryPlace(s, hash, std::move(e))) {
        size_++;
        return placed;
      }
      Split(s, hash);
    }
  }

  bool Erase(std::string_view key, uint64_t hash) {
    Segment* s = SegmentFor(hash);
    Slot loc;
    if (!Locate(s, key, hash, &loc)) return false;
    EraseAt(s, hash, loc);
    return true;
  }

  void Erase(Entry* e) {
    uint64_t hash = Hash(e->key());
    Segment* s = SegmentFor(hash);
    auto* base = reinterpret_cast<unsigned char*>(&s->buckets[0]);
    auto* p = reinterpret_cast<unsigned char*>(e);
    size_t off = size_t(p - base);
    Slot loc;
    loc.bucket_index = int(off / sizeof(Bucket));
    loc.bucket = &s->buckets[loc.bucket_index];
    loc.index = int((p - loc.bucket->storage[0]) / ptrdiff_t(sizeof(Entry)));
    assert(loc.bucket->slot(loc.index) == e);
    EraseAt(s, hash, loc);
  }

  void Clear() {
    DestroyAll();
    Reset();
    clears_++;
  }
  // Hands every entry over to a new table (destroyed elsewhere: a lazy free on a helper
  // thread) and leaves this one empty as Clear() does; the epoch and hook stay here.
  std::unique_ptr<SegmentedTable> TakeAll() {
    auto out = std::make_unique<SegmentedTable>();
    out->DestroyAll();
    out->dir_.swap(dir_);
    std::swap(out->depth_, depth_);
    std::swap(out->segments_, segments_);
    std::swap(out->size_, size_);
    Reset();
    clears_++;
    return out;
  }
  // How many times Clear() or TakeAll() ran: a snapshot in progress notices a FLUSHALL.
  uint64_t clears() const { return clears_; }

  // Visits the bucket at the cursor; returns the next cursor (0 = traversal complete).
  template <typename F>
  uint64_t Scan(uint64_t cursor, F&& fn) {
    uint32_t pos = uint32_t(cursor >> 8);
    int bi = int(cursor & 0xFF);
    if (bi >= kAllBuckets) bi = 0;
    Segment* s = dir_[DirIndex(pos)];
    Bucket& b = s->buckets[bi];
    for (unsigned m = b.used; m; m &= m - 1) fn(*b.slot(std::countr_zero(m)));
    return Advance(s, pos, bi);
  }

  // The checkpoint's background pass: at the cursor's bucket, if its version is older
  // than epoch, calls fn(view) and stamps it. Same cursor order as Scan.
  template <typename F>
  uint64_t TraverseBuckets(uint64_t cursor, F&& fn) {
    uint32_t pos = uint32_t(cursor >> 8);
    int bi = int(cursor & 0xFF);
    if (bi >= kAllBuckets) bi = 0;
    Segment* s = dir_[DirIndex(pos)];
    Bucket& b = s->buckets[bi];
    if (b.version < epoch_) {
      fn(BucketView(&b));
      b.version = epoch_;
    }
    return Advance(s, pos, bi);
  }

  Entry* RandomEntry(uint64_t r) {
    if (size_ == 0) return nullptr;
    size_t di = size_t(r % dir_.size());
    int bi = int((r >> 24) % kAllBuckets);
    for (size_t step = 0; step < dir_.size() * kAllBuckets + kAllBuckets; step++) {
      Bucket& b = dir_[di]->buckets[bi];
      if (b.used) {
        int n = b.count();
        int pick = int((r >> 40) % unsigned(n));
        for (unsigned m = b.used; m; m &= m - 1) {
          if (pick-- == 0) return b.slot(std::countr_zero(m));
        }
      }
      if (++bi == kAllBuckets) {
        bi = 0;
        di = (di + 1) % dir_.size();
      }
    }
    return nullptr;
  }

  template <typename F>
  void ForEach(F&& fn) {
    for (size_t i = 0; i < dir_.size(); i++) {
      Segment* s = dir_[i];
      if (FirstIndex(s) != i) continue;  // each segment once
      for (auto& b : s->buckets) {
        for (unsigned m = b.used; m; m &= m - 1) fn(*b.slot(std::countr_zero(m)));
      }
    }
  }

 private:
  struct Segment {
    uint32_t depth;   // local depth
    uint32_t prefix;  // the top `depth` bits this segment covers
    Bucket buckets[kAllBuckets];
  };
  struct Slot {
    Bucket* bucket = nullptr;
    int bucket_index = 0;
    int index = 0;
  };

  static uint8_t Fp(uint64_t h) { return uint8_t(h); }
  static int HomeBucket(uint64_t h) { return int(((h >> 8) & 0xFFFFFF) % kBuckets); }
  static int Neighbor(int b) { return b + 1 == kBuckets ? 0 : b + 1; }
  size_t DirIndex(uint32_t pos32) const { return depth_ == 0 ? 0 : size_t(pos32 >> (32 - depth_)); }
  Segment* SegmentFor(uint64_t h) const { return dir_[DirIndex(uint32_t(h >> 32))]; }
  size_t FirstIndex(const Segment* s) const {
    return depth_ == 0 ? 0 : size_t(s->prefix) << (depth_ - s->depth);
  }

  void Reset() {
    dir_.assign(1, NewSegment(0, 0));
    depth_ = 0;
    segments_ = 1;
    size_ = 0;
  }
  Segment* NewSegment(uint32_t depth, uint32_t prefix) {
    auto* s = static_cast<Segment*>(::operator new(sizeof(Segment)));
    s->depth = depth;
    s->prefix = prefix;
    for (auto& b : s->buckets) {
      b.used = 0;
      b.overflow = 0;
      b.home = 0;
      b.stash_mask = 0;
      b.version = epoch_;
    }
    return s;
  }
  void FreeSegment(Segment* s) {
    for (auto& b : s->buckets) {
      for (unsigned m = b.used; m; m &= m - 1) b.slot(std::countr_zero(m))->~Entry();
    }
    ::operator delete(s);
  }
  void DestroyAll() {
    // Collect first: several directory slots point at one segment, so freeing while
    // walking would read freed segments.
    std::vector<Segment*> unique;
    for (size_t i = 0; i < dir_.size(); i++) {
      if (FirstIndex(dir_[i]) == i) unique.push_back(dir_[i]);
    }
    for (Segment* s : unique) FreeSegment(s);
    dir_.clear();
    segments_ = 0;
  }

  void Prepare(Bucket* b) {
    if (b->version < epoch_) {
      if (hook_) hook_(BucketView(b));
      b->version = epoch_;
    }
  }

  bool MatchIn(Bucket* b, std::string_view key, uint8_t fp, int* idx) {
    for (unsigned m = b->used; m; m &= m - 1) {
      int i = std::countr_zero(m);
      if (b->fp[i] == fp && b->slot(i)->key() == key) {
        *idx = i;
        return true;
      }
    }
    return false;
  }

  bool Locate(Segment* s, std::string_view key, uint64_t h, Slot* loc) {
    uint8_t fp = Fp(h);
    int home = HomeBucket(h);
    int nb = Neighbor(home);
    int idx;
    if (MatchIn(&s->buckets[home], key, fp, &idx)) {
      *loc = {&s->buckets[home], home, idx};
      return true;
    }
    if (MatchIn(&s->buckets[nb], key, fp, &idx)) {
      *loc = {&s->buckets[nb], nb, idx};
      return true;
    }
    if (s->buckets[home].overflow) {
      for (unsigned m = s->buckets[home].stash_mask; m; m &= m - 1) {
        int i = kBuckets + std::countr_zero(m);
        if (MatchIn(&s->buckets[i], key, fp, &idx)) {
          *loc = {&s->buckets[i], i, idx};
          return true;
        }
      }
    }
    return false;
  }

  Entry* PlaceIn(Bucket* b, uint8_t fp, Entry&& e, bool at_home) {
    Prepare(b);
    int i = std::countr_zero(unsigned(uint8_t(~b->used)));
    Entry* p = new (b->storage[i]) Entry(std::move(e));
    b->fp[i] = fp;
    b->used = uint8_t(b->used | (1u << i));
    if (at_home)
      b->home = uint8_t(b->home | (1u << i));
    else
      b->home = uint8_t(b->home & ~(1u << i));
    return p;
  }

  Entry* TryPlace(Segment* s, uint64_t h, Entry&& e) {
    uint8_t fp = Fp(h);
    int home = HomeBucket(h);
    Bucket* a = &s->buckets[home];
    Bucket* b = &s->buckets[Neighbor(home)];
    if (!a->full() || !b->full()) {
      Bucket* target = a->full() ? b : (b->full() ? a : (b->count() < a->count() ? b : a));
      return PlaceIn(target, fp, std::move(e), target == a);
    }
    // Both full: move one of the neighbour's own entries one bucket forward (h+1 -> h+2)
    // to make room. Forward only: an entry never moves behind a scan cursor.
    int ci = Neighbor(Neighbor(home));
    Bucket* c = &s->buckets[ci];
    if (ci > Neighbor(home) && !c->full() && b->home) {  // never wrap: that moves backwards
      int i = std::countr_zero(unsigned(b->home));
      Prepare(b);
      Prepare(c);
      int j = std::countr_zero(unsigned(uint8_t(~c->used)));
      new (c->storage[j]) Entry(std::move(*b->slot(i)));
      b->slot(i)->~Entry();
      c->fp[j] = b->fp[i];
      c->used = uint8_t(c->used | (1u << j));
      c->home = uint8_t(c->home & ~(1u << j));
      b->used = uint8_t(b->used & ~(1u << i));
      b->home = uint8_t(b->home & ~(1u << i));
      return PlaceIn(b, fp, std::move(e), false);
    }
    for (int i = kBuckets; i < kAllBuckets; i++) {
      Bucket* st = &s->buckets[i];
      if (!st->full()) {
        a->overflow++;
        a->stash_mask = uint16_t(a->stash_mask | (1u << (i - kBuckets)));
        return PlaceIn(st, fp, std::move(e), false);
      }
    }
    return nullptr;
  }

  static void Unstash(Bucket* home) {
    if (--home->overflow == 0) home->stash_mask = 0;
  }

  void EraseAt(Segment* s, uint64_t h, const Slot& loc) {
    Prepare(loc.bucket);
    loc.bucket->slot(loc.index)->~Entry();
    loc.bucket->used = uint8_t(loc.bucket->used & ~(1u << loc.index));
    loc.bucket->home = uint8_t(loc.bucket->home & ~(1u << loc.index));
    if (loc.bucket_index >= kBuckets) Unstash(&s->buckets[HomeBucket(h)]);
    size_--;
  }

  void Split(Segment* s, uint64_t /*hash*/) {
    if (s->depth >= kMaxDepth) abort();  // 2^32 segments: unreachable in practice
    if (s->depth == depth_) {
      // Double the directory: pointer copies only.
      std::vector<Segment*> nd(dir_.size() * 2);
      for (size_t i = 0; i < nd.size(); i++) nd[i] = dir_[i >> 1];
      dir_.swap(nd);
      depth_++;
    }
    // Frozen data in the splitting segment is handed to the checkpoint first.
    for (auto& b : s->buckets) Prepare(&b);
    uint32_t d = s->depth + 1;
    Segment* hi = NewSegment(d, (s->prefix << 1) | 1);
    s->depth = d;
    s->prefix <<= 1;
    for (int bi = 0; bi < kAllBuckets; bi++) {
      Bucket& b = s->buckets[bi];
      for (unsigned m = b.used; m; m &= m - 1) {
        int i = std::countr_zero(m);
        Entry* e = b.slot(i);
        uint64_t h = Hash(e->key());
        if (((h >> (64 - d)) & 1) == 0) continue;
        Bucket& nb = hi->buckets[bi];
        int j = std::countr_zero(unsigned(uint8_t(~nb.used)));
        new (nb.storage[j]) Entry(std::move(*e));
        e->~Entry();
        nb.fp[j] = b.fp[i];
        nb.used = uint8_t(nb.used | (1u << j));
        if (b.home & (1u << i))
          nb.home = uint8_t(nb.home | (1u << j));
        else
          nb.home = uint8_t(nb.home & ~(1u << j));
        b.used = uint8_t(b.used & ~(1u << i));
        b.home = uint8_t(b.home & ~(1u << i));
        if (bi >= kBuckets) {
          int home = HomeBucket(h);
          Unstash(&s->buckets[home]);
          hi->buckets[home].overflow++;
          hi->buckets[home].stash_mask =
              uint16_t(hi->buckets[home].stash_mask | (1u << (bi - kBuckets)));
        }
      }
    }
    size_t first = size_t(hi->prefix) << (depth_ - d);
    size_t span = size_t(1) << (depth_ - d);
    for (size_t i = first; i < first + span; i++) dir_[i] = hi;
    segments_++;
  }

  uint64_t Advance(Segment* s, uint32_t pos, int bi) {
    if (bi + 1 < kAllBuckets) return (uint64_t(pos) << 8) | uint64_t(bi + 1);
    uint64_t span = uint64_t(1) << (32 - s->depth);
    uint64_t start = uint64_t(pos) & ~(span - 1);
    uint64_t next = start + span;
    if (next >= (uint64_t(1) << 32)) return 0;
    return next << 8;
  }

  std::vector<Segment*> dir_;
  uint32_t depth_ = 0;
  size_t segments_ = 0;
  size_t size_ = 0;
  uint64_t epoch_ = 0;
  uint64_t clears_ = 0;
  Hook hook_;
};

}  // namespace ferrite
