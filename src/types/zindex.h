#pragma once
// ZIndex: the order of a large sorted set — its elements (StrTable nodes whose payload is
// the score) sorted by (score, member), with ranks. Two levels: a vector of sorted blocks
// of at most kMaxBlock node pointers. Finding a position is a binary search over the
// blocks' last elements, then within one block; a rank adds the sizes of the blocks before
// it (a 1 M-member set has ~6 k blocks). 8 bytes per member plus block slack, against the
// ~40 bytes per member of a skiplist.

#include <cstring>
#include <string_view>
#include <vector>

#include "types/str_table.h"

namespace ferrite {

class ZIndex {
 public:
  using Node = StrTable::Node;
  static constexpr size_t kMaxBlock = 256;

  static double Score(const Node* n) {
    double d;
    memcpy(&d, n->payload(), sizeof(d));
    return d;
  }
  // (score, member) order.
  static bool Less(const Node* a, const Node* b) {
    double sa = Score(a), sb = Score(b);
    if (sa != sb) return sa < sb;
    return a->key() < b->key();
  }

  ZIndex() = default;
  ~ZIndex();
  ZIndex(const ZIndex&) = delete;
  ZIndex& operator=(const ZIndex&) = delete;

  size_t size() const { return size_; }
  void Insert(const Node* n);
  // Removes n (matched by pointer; its score must be the one it was inserted with).
  void Erase(const Node* n);
  // Removes the element at rank (0 or size()-1 without any search).
  void EraseAt(size_t rank);
  // 0-based rank of n, which must be present.
  size_t Rank(const Node* n) const;
  const Node* At(size_t rank) const;
  // Number of leading elements for which pred(node) holds; pred must be true on a prefix.
  template <typename P>
  size_t CountWhile(P&& pred) const {
    size_t lo = 0, hi = blocks_.size();  // first block whose last element fails pred
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (pred(blocks_[mid]->back()))
        lo = mid + 1;
      else
        hi = mid;
    }
    size_t before = 0;
    for (size_t i = 0; i < lo; ++i) before += blocks_[i]->size();
    if (lo == blocks_.size()) return before;
    const Block& b = *blocks_[lo];
    size_t l = 0, h = b.size();
    while (l < h) {
      size_t m = (l + h) / 2;
      if (pred(b[m]))
        l = m + 1;
      else
        h = m;
    }
    return before + l;
  }
  // Calls fn(node) for ranks [start, end) in order, or from end-1 down to start if reverse;
  // fn returns false to stop.
  template <typename F>
  void ForRange(size_t start, size_t end, bool reverse, F&& fn) const {
    if (start >= end) return;
    if (!reverse) {
      size_t bi, pos;
      Locate(start, &bi, &pos);
      for (size_t r = start; r < end; ++r) {
        if (!fn(static_cast<const Node*>((*blocks_[bi])[pos]))) return;
        if (++pos == blocks_[bi]->size()) {
          ++bi;
          pos = 0;
        }
      }
    } else {
      size_t bi, pos;
      Locate(end - 1, &bi, &pos);
      for (size_t r = end; r > start; --r) {
        if (!fn(static_cast<const Node*>((*blocks_[bi])[pos]))) return;
        if (pos == 0) {
          if (bi == 0) return;
          --bi;
          pos = blocks_[bi]->size() - 1;
        } else {
          --pos;
        }
      }
    }
  }
  // Calls fn(node) in order from the first element for which before(node) is false (before
  // must hold on a prefix of the order) until fn returns false. Unlike CountWhile + ForRange
  // it never sums block sizes, so a walk that stops early costs O(log n) plus its length.
  template <typename P, typename F>
  void ForEachFrom(P&& before, F&& fn) const {
    size_t lo = 0, hi = blocks_.size();  // first block whose last element is not before
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (before(blocks_[mid]->back()))
        lo = mid + 1;
      else
        hi = mid;
    }
    for (size_t bi = lo; bi < blocks_.size(); ++bi) {
      const Block& b = *blocks_[bi];
      size_t pos = 0;
      if (bi == lo) {
        size_t h = b.size();
        while (pos < h) {
          size_t m = (pos + h) / 2;
          if (before(b[m]))
            pos = m + 1;
          else
            h = m;
        }
      }
      for (; pos < b.size(); ++pos)
        if (!fn(static_cast<const Node*>(b[pos]))) return;
    }
  }
  size_t MemoryUsage() const;

 private:
  using Block = std::vector<const Node*>;
  size_t FindBlock(const Node* n) const;  // first block whose last element is >= n
  void Locate(size_t rank, size_t* block, size_t* pos) const;
  // After one element left block bi: counts it, drops the block if empty, else merges it
  // with a thin right neighbour.
  void AfterErase(size_t bi);

  std::vector<Block*> blocks_;
  size_t size_ = 0;
};

}  // namespace ferrite
