#include "types/zindex.h"

#include <algorithm>
#include <cassert>

namespace ferrite {

ZIndex::~ZIndex() {
  for (Block* b : blocks_) delete b;
}

size_t ZIndex::FindBlock(const Node* n) const {
  size_t lo = 0, hi = blocks_.size();
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (Less(blocks_[mid]->back(), n))
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

void ZIndex::Insert(const Node* n) {
  if (blocks_.empty()) {
    blocks_.push_back(new Block{n});
    ++size_;
    return;
  }
  size_t bi = std::min(FindBlock(n), blocks_.size() - 1);
  Block& b = *blocks_[bi];
  b.insert(std::upper_bound(b.begin(), b.end(), n, Less), n);
  ++size_;
  if (b.size() > kMaxBlock) {
    auto* tail = new Block(b.begin() + long(b.size() / 2), b.end());
    b.resize(b.size() / 2);
    b.shrink_to_fit();
    blocks_.insert(blocks_.begin() + long(bi) + 1, tail);
  }
}

void ZIndex::Erase(const Node* n) {
  size_t bi = FindBlock(n);
  assert(bi < blocks_.size());
  Block& b = *blocks_[bi];
  auto it = std::lower_bound(b.begin(), b.end(), n, Less);
  assert(it != b.end() && *it == n);
  b.erase(it);
  AfterErase(bi);
}

void ZIndex::EraseAt(size_t rank) {
  size_t bi, pos;
  Locate(rank, &bi, &pos);
  Block& b = *blocks_[bi];
  b.erase(b.begin() + long(pos));
  AfterErase(bi);
}

void ZIndex::AfterErase(size_t bi) {
  --size_;
  Block& b = *blocks_[bi];
  if (b.empty()) {
    delete blocks_[bi];
    blocks_.erase(blocks_.begin() + long(bi));
  } else if (bi + 1 < blocks_.size() && b.size() + blocks_[bi + 1]->size() <= kMaxBlock / 2) {
    // Merge thin neighbours so pops from one end do not leave a trail of tiny blocks.
    Block* next = blocks_[bi + 1];
    b.insert(b.end(), next->begin(), next->end());
    delete next;
    blocks_.erase(blocks_.begin() + long(bi) + 1);
  }
}

size_t ZIndex::Rank(const Node* n) const {
  size_t bi = FindBlock(n);
  size_t before = 0;
  for (size_t i = 0; i < bi; ++i) before += blocks_[i]->size();
  const Block& b = *blocks_[bi];
  return before + size_t(std::lower_bound(b.begin(), b.end(), n, Less) - b.begin());
}

void ZIndex::Locate(size_t rank, size_t* block, size_t* pos) const {
  if (rank >= size_ / 2) {  // nearer the end: walk from the last block
    size_t from_end = size_ - 1 - rank;
    size_t bi = blocks_.size() - 1;
    while (from_end >= blocks_[bi]->size()) from_end -= blocks_[bi--]->size();
    *block = bi;
    *pos = blocks_[bi]->size() - 1 - from_end;
    return;
  }
  size_t bi = 0;
  while (rank >= blocks_[bi]->size()) rank -= blocks_[bi++]->size();
  *block = bi;
  *pos = rank;
}

const ZIndex::Node* ZIndex::At(size_t rank) const {
  size_t bi, pos;
  Locate(rank, &bi, &pos);
  return (*blocks_[bi])[pos];
}

size_t ZIndex::MemoryUsage() const {
  size_t total = blocks_.capacity() * sizeof(Block*);
  for (const Block* b : blocks_) total += sizeof(Block) + b->capacity() * sizeof(Node*);
  return total;
}

}  // namespace ferrite
