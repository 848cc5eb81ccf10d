// SegmentedTable: correctness against a model, growth, SCAN during growth, and the
// checkpoint-version property (every entry present at the cut seen exactly once).

#include "keyspace/segmented_table.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <unordered_map>

namespace ferrite {
namespace {

// An entry with a heap-allocated member, so ASan catches bad moves and double frees.
struct TestEntry {
  TestEntry(std::string k, std::string v) : k_(std::move(k)), v_(std::move(v)) {}
  TestEntry(TestEntry&&) noexcept = default;
  std::string_view key() const { return k_; }
  std::string k_;
  std::string v_;
};

using Table = SegmentedTable<TestEntry>;

std::string Key(int i) { return "key:" + std::to_string(i) + std::string(i % 3 ? 0 : 30, 'x'); }

void Put(Table& t, const std::string& k, const std::string& v) {
  uint64_t h = Table::Hash(k);
  if (TestEntry* e = t.FindForWrite(k, h))
    e->v_ = v;
  else
    t.Insert(h, TestEntry(k, v));
}

TEST(SegmentedTable, MillionKeysInsertFindErase) {
  Table t;
  const int n = 1'000'000;
  for (int i = 0; i < n; i++) t.Insert(Table::Hash(Key(i)), TestEntry(Key(i), std::to_string(i)));
  EXPECT_EQ(t.size(), size_t(n));
  for (int i = 0; i < n; i++) {
    const TestEntry* e = t.Find(Key(i), Table::Hash(Key(i)));
    ASSERT_NE(e, nullptr) << i;
    ASSERT_EQ(e->v_, std::to_string(i));
  }
  double load = double(t.size()) / double(t.bucket_capacity());
  printf("segments=%zu depth=%u load=%.3f bytes/entry=%.1f\n", t.segment_count(), t.global_depth(),
         load, double(t.MemoryUsage()) / double(t.size()));
  EXPECT_GE(load, 0.6);
  EXPECT_GT(t.global_depth(), 8u);
  for (int i = 0; i < n; i += 2) ASSERT_TRUE(t.Erase(Key(i), Table::Hash(Key(i))));
  EXPECT_EQ(t.size(), size_t(n / 2));
  for (int i = 0; i < n; i++) {
    bool present = t.Find(Key(i), Table::Hash(Key(i))) != nullptr;
    ASSERT_EQ(present, i % 2 == 1) << i;
  }
}

TEST(SegmentedTable, RandomOpsMatchModel) {
  Table t;
  std::unordered_map<std::string, std::string> model;
  std::mt19937 rng(1234);
  for (int step = 0; step < 400'000; step++) {
    std::string k = "k" + std::to_string(rng() % 50'000);
    uint64_t h = Table::Hash(k);
    switch (rng() % 4) {
      case 0:
      case 1:
        Put(t, k, std::to_string(step));
        model[k] = std::to_string(step);
        break;
      case 2: {
        bool erased = t.Erase(k, h);
        ASSERT_EQ(erased, model.erase(k) == 1);
        break;
      }
      case 3: {
        TestEntry* e = t.Find(k, h);
        auto it = model.find(k);
        ASSERT_EQ(e != nullptr, it != model.end());
        if (e) {
          ASSERT_EQ(e->v_, it->second);
          if (step % 7 == 0) {  // erase through the pointer
            t.Erase(e);
            model.erase(it);
          }
        }
        break;
      }
    }
  }
  ASSERT_EQ(t.size(), model.size());
  size_t seen = 0;
  t.ForEach([&](TestEntry& e) {
    seen++;
    ASSERT_EQ(model.at(std::string(e.key())), e.v_);
  });
  EXPECT_EQ(seen, model.size());
}

TEST(SegmentedTable, FullScanOfStaticTableVisitsEachOnce) {
  Table t;
  for (int i = 0; i < 100'000; i++) Put(t, Key(i), "v");
  std::map<std::string, int> count;
  uint64_t c = 0;
  size_t calls = 0;
  do {
    c = t.Scan(c, [&](TestEntry& e) { count[std::string(e.key())]++; });
    ASSERT_LT(c, uint64_t(1) << 63);
    calls++;
  } while (c != 0);
  EXPECT_EQ(count.size(), 100'000u);
  for (auto& [k, n] : count) ASSERT_EQ(n, 1) << k;
}

TEST(SegmentedTable, ScanWhileGrowingAndShrinkingReturnsStableKeys) {
  Table t;
  for (int i = 0; i < 20'000; i++) Put(t, "stable:" + std::to_string(i), "v");
  for (int i = 0; i < 20'000; i++) Put(t, "doomed:" + std::to_string(i), "v");
  std::set<std::string> seen;
  uint64_t c = 0;
  int step = 0, grow = 0, doomed = 0;
  do {
    c = t.Scan(c, [&](TestEntry& e) { seen.insert(std::string(e.key())); });
    // Between calls: 200 k new keys over the traversal (many splits, directory doubling)
    // and the doomed keys erased.
    for (int j = 0; j < 60 && grow < 200'000; j++, grow++)
      Put(t, "new:" + std::to_string(grow), "v");
    if (step++ % 2 == 0 && doomed < 20'000) {
      std::string k = "doomed:" + std::to_string(doomed++);
      t.Erase(k, Table::Hash(k));
    }
  } while (c != 0);
  EXPECT_GT(grow, 100'000);
  for (int i = 0; i < 20'000; i++) {
    ASSERT_TRUE(seen.count("stable:" + std::to_string(i))) << i;
  }
}

// The checkpoint property: hook + background pass see each entry present at the cut
// exactly once, with its value at the cut; later inserts are never seen.
TEST(SegmentedTable, EpochCutSeesExactlyTheFrozenImage) {
  Table t;
  std::map<std::string, std::string> at_cut;
  for (int i = 0; i < 50'000; i++) {
    Put(t, Key(i), "v0-" + std::to_string(i));
    at_cut[Key(i)] = "v0-" + std::to_string(i);
  }
  std::map<std::string, std::string> seen;
  int dup = 0;
  auto take = [&](Table::BucketView v) {
    v.for_each([&](const TestEntry& e) {
      if (!seen.emplace(std::string(e.key()), e.v_).second) dup++;
    });
  };
  size_t hook_calls = 0;
  t.SetPreMutationHook([&](Table::BucketView v) {
    hook_calls++;
    take(v);
  });
  t.set_epoch(1);
  std::mt19937 rng(99);
  uint64_t c = 0;
  int added = 0;
  do {
    c = t.TraverseBuckets(c, take);
    for (int j = 0; j < 20; j++) {
      int op = int(rng() % 3);
      int i = int(rng() % 50'000);
      if (op == 0)
        Put(t, Key(i), "changed");
      else if (op == 1)
        t.Erase(Key(i), Table::Hash(Key(i)));
      else
        Put(t, "after:" + std::to_string(added++), "new");  // forces splits
    }
  } while (c != 0);
  EXPECT_GT(hook_calls, 0u);
  EXPECT_EQ(dup, 0);
  EXPECT_EQ(seen, at_cut);
}

TEST(SegmentedTable, RandomEntryAndClear) {
  Table t;
  EXPECT_EQ(t.RandomEntry(1), nullptr);
  for (int i = 0; i < 1000; i++) Put(t, Key(i), "v");
  std::mt19937_64 rng(5);
  std::set<std::string> picked;
  for (int i = 0; i < 2000; i++) {
    TestEntry* e = t.RandomEntry(rng());
    ASSERT_NE(e, nullptr);
    picked.insert(std::string(e->key()));
  }
  EXPECT_GT(picked.size(), 500u);
  t.Clear();
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.RandomEntry(1), nullptr);
  Put(t, "again", "v");
  EXPECT_NE(t.Find("again", Table::Hash("again")), nullptr);
}

}  // namespace
}  // namespace ferrite
