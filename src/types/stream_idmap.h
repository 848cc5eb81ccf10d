#pragma once
// IdMap: an ordered map from stream ID to a small value, for the pending entries lists of
// consumer groups. A two-level sorted array (a B+tree of height two): chunks of at most
// kMaxChunk items in ID order, and a flat array of each chunk's first ID to find the chunk.
// A lookup is two binary searches over contiguous memory (a std::map's red-black tree took
// a cache miss per level: XACK on a 200 k-entry PEL spent 60 % of its time in it), an
// item costs its own 24 bytes plus a share of its chunk, and the usual pattern — IDs
// arriving in increasing order, leaving in any order — appends to the last chunk.
//
// Iterators are positions (chunk, index): any insertion or erasure invalidates them, except
// the one erase() returns. Items are {first, second} like std::map's, so structured
// bindings read the same.

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

namespace ferrite {

template <typename Key, typename V>
class IdMap {
 public:
  struct Item {
    Key first;
    V second;
  };
  static constexpr size_t kMaxChunk = 128;
  static constexpr size_t kMinChunk = 16;  // smaller chunks merge into a neighbour

  template <bool kConst>
  class Iter {
   public:
    using Map = std::conditional_t<kConst, const IdMap, IdMap>;
    using Ref = std::conditional_t<kConst, const Item&, Item&>;
    using Ptr = std::conditional_t<kConst, const Item*, Item*>;
    Iter() = default;
    Iter(Map* m, size_t c, size_t i) : m_(m), c_(c), i_(i) {}
    operator Iter<true>() const { return Iter<true>(m_, c_, i_); }  // NOLINT
    Ref operator*() const { return m_->chunks_[c_][i_]; }
    Ptr operator->() const { return &m_->chunks_[c_][i_]; }
    Iter& operator++() {
      if (++i_ == m_->chunks_[c_].size()) {
        c_++;
        i_ = 0;
      }
      return *this;
    }
    bool operator==(const Iter& o) const { return c_ == o.c_ && i_ == o.i_; }
    bool operator!=(const Iter& o) const { return !(*this == o); }
    size_t chunk() const { return c_; }
    size_t index() const { return i_; }

   private:
    Map* m_ = nullptr;
    size_t c_ = 0, i_ = 0;
  };
  using iterator = Iter<false>;
  using const_iterator = Iter<true>;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  iterator begin() { return {this, 0, 0}; }
  iterator end() { return {this, chunks_.size(), 0}; }
  const_iterator begin() const { return {this, 0, 0}; }
  const_iterator end() const { return {this, chunks_.size(), 0}; }
  // The first and last items; the map must not be empty.
  const Item& front() const { return chunks_.front().front(); }
  const Item& back() const { return chunks_.back().back(); }

  iterator lower_bound(const Key& k) {
    size_t c = ChunkFor(k);
    if (c == chunks_.size()) return end();
    auto& ch = chunks_[c];
    size_t i = size_t(std::lower_bound(ch.begin(), ch.end(), k,
                                       [](const Item& it, const Key& v) { return it.first < v; }) -
                      ch.begin());
    if (i == ch.size()) return {this, c + 1, 0};
    return {this, c, i};
  }
  const_iterator lower_bound(const Key& k) const {
    return const_cast<IdMap*>(this)->lower_bound(k);
  }
  iterator find(const Key& k) {
    iterator it = lower_bound(k);
    return it != end() && it->first == k ? it : end();
  }
  const_iterator find(const Key& k) const { return const_cast<IdMap*>(this)->find(k); }
  size_t count(const Key& k) const { return find(k) != end(); }

  // Inserts k with a default value if absent; returns the item and whether it was added.
  std::pair<iterator, bool> try_emplace(const Key& k) {
    if (chunks_.empty() || back().first < k) {  // the common case: a new largest ID
      if (chunks_.empty() || chunks_.back().size() >= kMaxChunk) {
        chunks_.emplace_back();
        chunks_.back().reserve(kMaxChunk);
        firsts_.push_back(k);
      }
      chunks_.back().push_back(Item{k, V()});
      size_++;
      return {{this, chunks_.size() - 1, chunks_.back().size() - 1}, true};
    }
    iterator at = lower_bound(k);
    if (at != end() && at->first == k) return {at, false};
    // Insert into the chunk that should hold k (the one before `at` when k is past the
    // end of its chunk), splitting a full chunk in halves.
    size_t c = ChunkFor(k);
    if (c == chunks_.size()) c = 0;  // k is before every item
    auto& ch = chunks_[c];
    size_t i = size_t(std::lower_bound(ch.begin(), ch.end(), k,
                                       [](const Item& it, const Key& v) { return it.first < v; }) -
                      ch.begin());
    ch.insert(ch.begin() + ptrdiff_t(i), Item{k, V()});
    firsts_[c] = ch.front().first;
    size_++;
    if (ch.size() > kMaxChunk) {
      std::vector<Item> right(std::make_move_iterator(ch.begin() + ptrdiff_t(ch.size() / 2)),
                              std::make_move_iterator(ch.end()));
      ch.resize(ch.size() / 2);
      Key rf = right.front().first;
      chunks_.insert(chunks_.begin() + ptrdiff_t(c + 1), std::move(right));
      firsts_.insert(firsts_.begin() + ptrdiff_t(c + 1), rf);
    }
    return {find(k), true};
  }
  V& operator[](const Key& k) { return try_emplace(k).first->second; }

  // Erases the item at it; returns the position of the item that followed it.
  iterator erase(iterator it) {
    size_t c = it.chunk(), i = it.index();
    bool has_next = (i + 1 < chunks_[c].size()) || (c + 1 < chunks_.size());
    Key next{};
    if (has_next)
      next = i + 1 < chunks_[c].size() ? chunks_[c][i + 1].first : chunks_[c + 1][0].first;
    auto& ch = chunks_[c];
    ch.erase(ch.begin() + ptrdiff_t(i));
    size_--;
    if (ch.empty()) {
      chunks_.erase(chunks_.begin() + ptrdiff_t(c));
      firsts_.erase(firsts_.begin() + ptrdiff_t(c));
    } else {
      firsts_[c] = ch.front().first;
      MaybeMerge(c);
    }
    return has_next ? lower_bound(next) : end();
  }
  size_t erase(const Key& k) {
    iterator it = find(k);
    if (it == end()) return 0;
    erase(it);
    return 1;
  }
  void clear() {
    chunks_.clear();
    firsts_.clear();
    size_ = 0;
  }
  // Heap bytes held (for MEMORY USAGE).
  size_t MemoryUsage() const {
    size_t n = firsts_.capacity() * sizeof(Key) + chunks_.capacity() * sizeof(std::vector<Item>);
    for (auto& ch : chunks_) n += ch.capacity() * sizeof(Item);
    return n;
  }

 private:
  // The chunk whose first key is the largest <= k; chunks_.size() if k precedes them all.
  size_t ChunkFor(const Key& k) const {
    auto it = std::upper_bound(firsts_.begin(), firsts_.end(), k);
    if (it == firsts_.begin()) return chunks_.empty() ? chunks_.size() : 0;
    return size_t(it - firsts_.begin()) - 1;
  }
  // A chunk that became small joins its right (or left) neighbour when they fit in one.
  void MaybeMerge(size_t c) {
    if (chunks_[c].size() >= kMinChunk) return;
    size_t into = c, from = c + 1;
    if (from >= chunks_.size() || chunks_[c].size() + chunks_[from].size() > kMaxChunk) {
      if (c == 0 || chunks_[c - 1].size() + chunks_[c].size() > kMaxChunk) return;
      into = c - 1;
      from = c;
    }
    auto& dst = chunks_[into];
    for (auto& it : chunks_[from]) dst.push_back(std::move(it));
    chunks_.erase(chunks_.begin() + ptrdiff_t(from));
    firsts_.erase(firsts_.begin() + ptrdiff_t(from));
  }

  std::vector<std::vector<Item>> chunks_;
  std::vector<Key> firsts_;
  size_t size_ = 0;
};

}  // namespace ferrite
