// The collection encodings against std containers: random operations, crossing the
// pack -> full-structure conversion, must give the same contents and order.
#include "types/collections.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <set>

#include "types/str_table.h"

namespace ferrite {
namespace {

CollectionLimits Small() {
  CollectionLimits l;
  l.hash_entries = 8;
  l.set_entries = 8;
  l.set_intset = 8;
  l.zset_entries = 8;
  l.list_size = 8;
  return l;
}

TEST(Pack, InsertEraseReplace) {
  PackBlock* b = pack::New();
  b = pack::Append(b, "a");
  b = pack::Append(b, std::string(200, 'x'));  // two-byte varint length
  b = pack::Insert(b, 0, "first");
  ASSERT_EQ(pack::Count(b), 3u);
  std::vector<std::string> got;
  pack::ForEach(b, [&](std::string_view e) {
    got.emplace_back(e);
    return true;
  });
  EXPECT_EQ(got, (std::vector<std::string>{"first", "a", std::string(200, 'x')}));
  b = pack::Replace(b, pack::OffsetOf(b, 1), "bbbb");
  b = pack::Erase(b, 0, 1);
  got.clear();
  pack::ForEach(b, [&](std::string_view e) {
    got.emplace_back(e);
    return true;
  });
  EXPECT_EQ(got, (std::vector<std::string>{"bbbb", std::string(200, 'x')}));
  pack::Free(b);
}

// Random() draws every element with the same chance, whatever the chain lengths: the
// chi-square statistic of 20000 draws over the elements stays under the 0.00001 bound of
// Redis's own HRANDFIELD/SRANDMEMBER tests (df = n - 1).
TEST(StrTableRandom, EveryElementEquallyLikely) {
  for (int n : {10, 30, 1000}) {
    StrTable t;
    for (int i = 0; i < n; i++) t.Insert("member:" + std::to_string(i), 0);
    std::map<std::string, int> counts;
    std::mt19937_64 rng(n);
    const int draws = 20000 * (n > 100 ? 10 : 1);
    for (int i = 0; i < draws; i++) counts[std::string(t.Random(rng(), rng())->key())]++;
    EXPECT_EQ(int(counts.size()), n);
    double expected = double(draws) / n, chi = 0;
    for (auto& [k, c] : counts) chi += (c - expected) * (c - expected) / expected;
    double bound = n == 10 ? 40 : n == 30 ? 73 : 1300;
    EXPECT_LT(chi, bound) << n;
  }
}

TEST(Hash, RandomOpsMatchStdMap) {
  std::mt19937_64 rng(1);
  CollectionLimits lim = Small();
  Value v = hashv::New();
  std::map<std::string, std::string> ref;
  for (int i = 0; i < 20000; ++i) {
    std::string f = "f" + std::to_string(rng() % 64);
    if (rng() % 3) {
      std::string val(rng() % 10, char('a' + rng() % 26));
      EXPECT_EQ(hashv::Set(v, f, val, lim), ref.count(f) == 0);
      ref[f] = val;
    } else {
      EXPECT_EQ(hashv::Del(v, f), ref.erase(f) == 1);
    }
    ASSERT_EQ(hashv::Len(v), ref.size());
  }
  EXPECT_EQ(v.encoding(), Encoding::kObject);
  std::map<std::string, std::string> got;
  hashv::ForEach(v, [&](std::string_view f, std::string_view val) {
    got.emplace(f, val);
    return true;
  });
  EXPECT_EQ(got, ref);
  Value c = v.Clone();
  std::string_view out;
  for (auto& [f, val] : ref) {
    ASSERT_TRUE(hashv::Get(c, f, &out));
    EXPECT_EQ(out, val);
  }
}

TEST(Hash, ConvertsOnLongValue) {
  CollectionLimits lim;
  Value v = hashv::New();
  hashv::Set(v, "a", "1", lim);
  EXPECT_STREQ(v.EncodingName(), "listpack");
  hashv::Set(v, "b", std::string(65, 'x'), lim);
  EXPECT_STREQ(v.EncodingName(), "hashtable");
  EXPECT_EQ(hashv::Len(v), 2u);
}

TEST(Set, IntsetPackTableTransitions) {
  CollectionLimits lim = Small();
  Value v = setv::NewFor("1", lim);
  for (int i = 5; i >= 1; --i) setv::Add(v, std::to_string(i), lim);
  EXPECT_STREQ(v.EncodingName(), "intset");
  EXPECT_FALSE(setv::Add(v, "3", lim));
  EXPECT_TRUE(setv::Contains(v, "4"));
  EXPECT_FALSE(setv::Contains(v, "04"));
  setv::Add(v, "x", lim);
  EXPECT_STREQ(v.EncodingName(), "listpack");
  for (int i = 0; i < 10; ++i) setv::Add(v, "m" + std::to_string(i), lim);
  EXPECT_STREQ(v.EncodingName(), "hashtable");
  EXPECT_EQ(setv::Card(v), 16u);
  EXPECT_TRUE(setv::Remove(v, "x"));
  EXPECT_EQ(setv::Card(v), 15u);
}

TEST(Set, ScanReturnsEveryMemberWhileTheTableResizes) {
  CollectionLimits lim = Small();
  Value v = setv::NewFor("a", lim);
  std::set<std::string> present;
  for (int i = 0; i < 1000; ++i) {
    setv::Add(v, "s" + std::to_string(i), lim);
    present.insert("s" + std::to_string(i));
  }
  std::set<std::string> seen;
  uint64_t cursor = 0;
  int step = 0;
  do {
    cursor = setv::Scan(v, cursor, 10, [&](std::string_view m) {
      seen.emplace(m);
      return true;
    });
    // Grow and shrink the table between calls; the first 1000 members stay throughout.
    if (++step % 3 == 0)
      for (int j = 0; j < 200; ++j) setv::Add(v, "t" + std::to_string(step * 1000 + j), lim);
    if (step % 7 == 0)
      for (int j = 0; j < 600; ++j) setv::Remove(v, "t" + std::to_string((step - 4) * 1000 + j));
  } while (cursor != 0 && step < 100000);
  for (auto& m : present) EXPECT_TRUE(seen.count(m)) << m;
}

TEST(ZSet, RandomOpsMatchOrderedReference) {
  std::mt19937_64 rng(2);
  CollectionLimits lim = Small();
  Value v = zsetv::New(0, 0, lim);
  std::map<std::string, double> scores;
  for (int i = 0; i < 30000; ++i) {
    std::string m = "m" + std::to_string(rng() % 3000);
    if (rng() % 4) {
      double s = double(rng() % 50);
      zsetv::Set(v, m, s, lim);
      scores[m] = s;
    } else {
      EXPECT_EQ(zsetv::Remove(v, m), scores.erase(m) == 1);
    }
  }
  std::set<std::pair<double, std::string>> order;
  for (auto& [m, s] : scores) order.emplace(s, m);
  ASSERT_EQ(zsetv::Card(v), order.size());
  size_t i = 0;
  for (auto& [s, m] : order) {
    size_t r;
    ASSERT_TRUE(zsetv::Rank(v, m, &r));
    EXPECT_EQ(r, i++);
  }
  std::vector<std::pair<double, std::string>> got;
  zsetv::ForRange(v, 0, order.size(), true, [&](std::string_view m, double s) {
    got.emplace_back(s, std::string(m));
    return true;
  });
  std::vector<std::pair<double, std::string>> want(order.rbegin(), order.rend());
  EXPECT_EQ(got, want);
  size_t below10 = zsetv::CountWhile(v, [](std::string_view, double s) { return s < 10; });
  size_t expect = 0;
  for (auto& [s, m] : order) expect += s < 10;
  EXPECT_EQ(below10, expect);
  // Popping from both ends follows the same order (and shrinks the table too).
  std::vector<std::pair<std::string, double>> popped;
  zsetv::PopEnd(v, false, 10, &popped);
  zsetv::PopEnd(v, true, 10, &popped);
  auto it = order.begin();
  for (int k = 0; k < 10; k++, ++it)
    EXPECT_EQ(popped[size_t(k)], std::make_pair(it->second, it->first));
  auto rit = order.rbegin();
  for (int k = 10; k < 20; k++, ++rit)
    EXPECT_EQ(popped[size_t(k)], std::make_pair(rit->second, rit->first));
  EXPECT_EQ(zsetv::Card(v), order.size() - 20);
  double s;
  EXPECT_FALSE(zsetv::Score(v, popped[0].first, &s));
  Value small = zsetv::New(0, 0, CollectionLimits{});
  zsetv::Set(small, "b", 2, CollectionLimits{});
  zsetv::Set(small, "a", 1, CollectionLimits{});
  popped.clear();
  zsetv::PopEnd(small, true, 5, &popped);
  ASSERT_EQ(popped.size(), 2u);
  EXPECT_EQ(popped[0].first, "b");
  EXPECT_EQ(zsetv::Card(small), 0u);
}

// ForScoreRange (the geo commands' box scan) against the reference order, packed and full,
// including a walk that stops early and empty ranges.
TEST(ZSet, ForScoreRangeMatchesReference) {
  for (size_t entries : {size_t(1000), size_t(0)}) {  // 1000: stays packed; 0: full
    std::mt19937_64 rng(7);
    CollectionLimits lim;
    lim.zset_entries = entries;
    Value v = zsetv::New(0, 0, lim);
    std::set<std::pair<double, std::string>> order;
    for (int i = 0; i < (entries ? 120 : 5000); ++i) {
      std::string m = "m" + std::to_string(i);
      double s = double(rng() % 400);
      zsetv::Set(v, m, s, lim);
      order.emplace(s, m);
    }
    ASSERT_EQ(v.encoding() == Encoding::kPack, entries != 0);
    for (int q = 0; q < 200; ++q) {
      double lo = double(rng() % 420) - 10, hi = lo + double(rng() % 60);
      size_t stop_after = q % 3 == 0 ? 5 : SIZE_MAX;
      std::vector<std::pair<double, std::string>> got, want;
      zsetv::ForScoreRange(v, lo, hi, [&](std::string_view m, double s) {
        got.emplace_back(s, std::string(m));
        return got.size() < stop_after;
      });
      for (auto& p : order)
        if (p.first >= lo && p.first < hi && want.size() < stop_after) want.push_back(p);
      ASSERT_EQ(got, want) << "range [" << lo << ", " << hi << ")";
    }
  }
}

TEST(List, RandomOpsMatchDeque) {
  std::mt19937_64 rng(3);
  CollectionLimits lim = Small();
  Value v = listv::New();
  std::deque<std::string> ref;
  std::string out, scratch;
  for (int i = 0; i < 20000; ++i) {
    int op = int(rng() % 6);
    std::string e = std::to_string(rng() % 20);
    if (op <= 1) {
      listv::Push(v, e, op == 0, lim);
      if (op == 0)
        ref.push_front(e);
      else
        ref.push_back(e);
    } else if (op == 2 && !ref.empty()) {
      ASSERT_TRUE(listv::Pop(v, true, &out));
      EXPECT_EQ(out, ref.front());
      ref.pop_front();
    } else if (op == 3 && !ref.empty()) {
      ASSERT_TRUE(listv::Pop(v, false, &out));
      EXPECT_EQ(out, ref.back());
      ref.pop_back();
    } else if (op == 4) {
      size_t n = listv::Remove(v, 2, e);
      size_t m = 0;
      for (auto it = ref.begin(); it != ref.end() && m < 2;) {
        if (*it == e) {
          it = ref.erase(it);
          ++m;
        } else {
          ++it;
        }
      }
      EXPECT_EQ(n, m);
    } else if (op == 5 && !ref.empty()) {
      size_t idx = rng() % ref.size();
      EXPECT_EQ(listv::At(v, idx, &scratch), ref[idx]);
    }
    ASSERT_EQ(listv::Len(v), ref.size());
  }
}

}  // namespace
}  // namespace ferrite
