#include "replication/backlog.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace ferrite::repl {
namespace {

std::string From(const Backlog& b, uint64_t from) {
  std::string out;
  EXPECT_TRUE(b.CopyFrom(from, &out));
  return out;
}

TEST(BacklogTest, EmptyBacklogContinuesAtTheNextByteOnly) {
  Backlog b(16, 100);
  EXPECT_EQ(b.master_repl_offset(), 100u);
  EXPECT_EQ(b.histlen(), 0u);
  EXPECT_EQ(b.first_byte_offset(), 101u);
  EXPECT_TRUE(b.Has(101));
  EXPECT_FALSE(b.Has(100));
  EXPECT_FALSE(b.Has(102));
  EXPECT_EQ(From(b, 101), "");
}

TEST(BacklogTest, OffsetsNumberBytesFromOne) {
  Backlog b(16, 0);
  b.Feed("hello");
  EXPECT_EQ(b.master_repl_offset(), 5u);
  EXPECT_EQ(b.first_byte_offset(), 1u);
  EXPECT_EQ(From(b, 1), "hello");
  EXPECT_EQ(From(b, 3), "llo");
  EXPECT_EQ(From(b, 6), "");
  std::string out;
  EXPECT_FALSE(b.CopyFrom(0, &out));
  EXPECT_FALSE(b.CopyFrom(7, &out));
  EXPECT_EQ(out, "");
}

TEST(BacklogTest, WrapsAndForgetsTheOldest) {
  Backlog b(8, 0);
  b.Feed("abcdef");
  b.Feed("ghij");  // wraps: holds "cdefghij"
  EXPECT_EQ(b.histlen(), 8u);
  EXPECT_EQ(b.master_repl_offset(), 10u);
  EXPECT_EQ(b.first_byte_offset(), 3u);
  EXPECT_FALSE(b.Has(2));
  EXPECT_EQ(From(b, 3), "cdefghij");
  EXPECT_EQ(From(b, 9), "ij");
}

TEST(BacklogTest, AFeedLargerThanTheRingKeepsItsTail) {
  Backlog b(4, 10);
  b.Feed("xy");
  b.Feed("0123456789");
  EXPECT_EQ(b.master_repl_offset(), 22u);
  EXPECT_EQ(b.histlen(), 4u);
  EXPECT_EQ(From(b, 19), "6789");
  EXPECT_FALSE(b.Has(18));
}

TEST(BacklogTest, ResizeKeepsTheNewestBytes) {
  Backlog b(8, 0);
  b.Feed("abcdefghij");
  b.Resize(4);
  EXPECT_EQ(b.size(), 4u);
  EXPECT_EQ(b.first_byte_offset(), 7u);
  EXPECT_EQ(From(b, 7), "ghij");
  b.Resize(16);
  EXPECT_EQ(From(b, 7), "ghij");
  b.Feed("klmnopqrstuv");
  EXPECT_EQ(b.histlen(), 16u);
  EXPECT_EQ(From(b, 7), "ghijklmnopqrstuv");
}

// Against a plain string holding the whole stream: every continuation point the ring
// claims to hold returns exactly the stream's suffix, and points it forgot are refused.
TEST(BacklogTest, MatchesTheWholeStreamUnderRandomFeeds) {
  std::mt19937 rng(7);
  Backlog b(1000, 42);
  std::string all;
  for (int i = 0; i < 2000; i++) {
    size_t n = rng() % 300;
    std::string chunk(n, '\0');
    for (auto& c : chunk) c = char('a' + rng() % 26);
    b.Feed(chunk);
    all += chunk;
    if (i % 97 == 0) b.Resize(500 + rng() % 1000);
    ASSERT_EQ(b.master_repl_offset(), 42 + all.size());
    uint64_t from = 43 + rng() % (all.size() + 1);
    std::string got;
    if (b.Has(from)) {
      ASSERT_TRUE(b.CopyFrom(from, &got));
      ASSERT_EQ(got, all.substr(from - 43));
    } else {
      ASSERT_LT(from, b.first_byte_offset());
      ASSERT_FALSE(b.CopyFrom(from, &got));
    }
  }
}

}  // namespace
}  // namespace ferrite::repl
