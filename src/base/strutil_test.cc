#include "base/strutil.h"

#include <gtest/gtest.h>

namespace ferrite {
namespace {

TEST(StrUtil, ParseInt64Strict) {
  int64_t v;
  EXPECT_TRUE(ParseInt64("0", &v));
  EXPECT_EQ(v, 0);
  EXPECT_TRUE(ParseInt64("-9223372036854775808", &v));
  EXPECT_EQ(v, INT64_MIN);
  EXPECT_TRUE(ParseInt64("9223372036854775807", &v));
  EXPECT_EQ(v, INT64_MAX);
  EXPECT_FALSE(ParseInt64("9223372036854775808", &v));
  EXPECT_FALSE(ParseInt64("-0", &v));
  EXPECT_FALSE(ParseInt64("01", &v));
  EXPECT_FALSE(ParseInt64("+1", &v));
  EXPECT_FALSE(ParseInt64(" 1", &v));
  EXPECT_FALSE(ParseInt64("1 ", &v));
  EXPECT_FALSE(ParseInt64("", &v));
  EXPECT_FALSE(ParseInt64("-", &v));
}

TEST(StrUtil, FormatLongDoubleHumanMatchesRedis) {
  EXPECT_EQ(FormatLongDoubleHuman(10.6L), "10.6");
  EXPECT_EQ(FormatLongDoubleHuman(5000.0L), "5000");
  EXPECT_EQ(FormatLongDoubleHuman(-0.0L), "0");
  EXPECT_EQ(FormatLongDoubleHuman(3.0e-5L), "0.00003");
}

TEST(StrUtil, ParseDouble) {
  double d;
  EXPECT_TRUE(ParseDouble("1.5", &d));
  EXPECT_EQ(d, 1.5);
  EXPECT_TRUE(ParseDouble("-inf", &d));
  EXPECT_FALSE(ParseDouble("inf", &d, false));
  EXPECT_FALSE(ParseDouble("nan", &d));
  EXPECT_FALSE(ParseDouble(" 1", &d));
  EXPECT_FALSE(ParseDouble("1x", &d));
  // As Redis's string2d: a subnormal parses, an overflow or an underflow to zero does not.
  EXPECT_TRUE(ParseDouble("9.8813129168249309e-323", &d));
  EXPECT_GT(d, 0);
  EXPECT_FALSE(ParseDouble("1e400", &d));
  EXPECT_FALSE(ParseDouble("1e-400", &d));
  long double ld;
  EXPECT_TRUE(ParseLongDouble("1e-4940", &ld));
  EXPECT_FALSE(ParseLongDouble("1e5000", &ld));
  EXPECT_FALSE(ParseLongDouble("1e-5000", &ld));
}

TEST(StrUtil, GlobMatchLikeRedis) {
  EXPECT_TRUE(GlobMatch("*", "anything"));
  EXPECT_TRUE(GlobMatch("h?llo", "hello"));
  EXPECT_TRUE(GlobMatch("h*llo", "heeeello"));
  EXPECT_TRUE(GlobMatch("h[ae]llo", "hallo"));
  EXPECT_FALSE(GlobMatch("h[ae]llo", "hillo"));
  EXPECT_TRUE(GlobMatch("h[^e]llo", "hallo"));
  EXPECT_FALSE(GlobMatch("h[^e]llo", "hello"));
  EXPECT_TRUE(GlobMatch("h[a-b]llo", "hbllo"));
  EXPECT_TRUE(GlobMatch("h\\*llo", "h*llo"));
  EXPECT_FALSE(GlobMatch("h\\*llo", "hello"));
  EXPECT_TRUE(GlobMatch("MAXMEM*", "maxmemory", true));
  EXPECT_FALSE(GlobMatch("a*", ""));
  EXPECT_TRUE(GlobMatch("", ""));
}

TEST(StrUtil, GlobPathologicalPatternTerminates) {
  std::string pat(200, '*');
  pat += "b";
  EXPECT_FALSE(GlobMatch(pat, std::string(60, 'a')));
}

// "a*a*…a*b" against a long run of 'a': without giving up on a failed '*' tail the matcher
// tries every way of splitting the string among the stars (exponential in their number).
// With Redis's rule it is one pass per star; this test would not finish otherwise.
TEST(StrUtil, GlobManyStarsIsPolynomial) {
  std::string pat;
  for (int i = 0; i < 40; i++) pat += "a*";
  pat += "b";
  std::string s(10000, 'a');
  EXPECT_FALSE(GlobMatch(pat, s));
  EXPECT_FALSE(GlobMatch(pat, s, true));
  EXPECT_TRUE(GlobMatch(pat, s + "b"));
  std::string nested;  // star-separated classes and escapes, still one pass per star
  for (int i = 0; i < 40; i++) nested += "[a-c]*\\a?*";
  nested += "b";
  EXPECT_FALSE(GlobMatch(nested, s));
}

// A pattern of more stars than the nesting cap (each '*' followed by a character is one
// level of recursion) fails instead of exhausting the stack.
TEST(StrUtil, GlobNestingIsCapped) {
  std::string pat;
  for (int i = 0; i < 100000; i++) pat += "*a";
  EXPECT_FALSE(GlobMatch(pat, std::string(100000, 'a')));
  EXPECT_TRUE(GlobMatch("*a*a", "xaxa"));
}

// Bytes compare as signed chars, as in Redis: [a-\xff] is the range [-1..'a'] there.
// Expectations taken from redis-server 7.0.15 (KEYS with one key).
TEST(StrUtil, GlobRangesCompareSignedBytesLikeRedis) {
  EXPECT_FALSE(GlobMatch("[a-\xff]", "z"));
  EXPECT_TRUE(GlobMatch("[a-\xff]", "A"));
  EXPECT_FALSE(GlobMatch("[a-\xff]", "\x80"));
  EXPECT_TRUE(GlobMatch("[A-Z]", "q", true));
  EXPECT_TRUE(GlobMatch("[\\]]", "]"));  // an escaped ']' inside a class
  EXPECT_FALSE(GlobMatch("[\\]]", "]]"));
  EXPECT_FALSE(GlobMatch("a[", "a"));
  EXPECT_TRUE(GlobMatch("[^]", "x"));
}

}  // namespace
}  // namespace ferrite
