#include "types/value.h"

#include <gtest/gtest.h>

#include "types/compact_key.h"

namespace ferrite {
namespace {

TEST(Value, EncodingsFollowContent) {
  std::string scratch;
  Value i = Value::String("12345");
  EXPECT_EQ(i.encoding(), Encoding::kInt);
  EXPECT_STREQ(i.EncodingName(), "int");
  EXPECT_EQ(i.GetString(&scratch), "12345");
  Value s = Value::String("hello");
  EXPECT_EQ(s.encoding(), Encoding::kInline);
  EXPECT_STREQ(s.EncodingName(), "embstr");
  EXPECT_EQ(s.GetString(&scratch), "hello");
  Value l = Value::String(std::string(100, 'x'));
  EXPECT_EQ(l.encoding(), Encoding::kHeap);
  EXPECT_STREQ(l.EncodingName(), "raw");
  EXPECT_EQ(l.StringLength(), 100u);
  Value notint = Value::String("0123");  // not canonical: stays a string
  EXPECT_NE(notint.encoding(), Encoding::kInt);
  EXPECT_EQ(notint.GetString(&scratch), "0123");
}

TEST(Value, MutableStringGrowsAndMarksRaw) {
  std::string scratch;
  Value v = Value::String("abc");
  char* p = v.MutableString(6);
  memcpy(p + 3, "def", 3);
  EXPECT_EQ(v.GetString(&scratch), "abcdef");
  EXPECT_STREQ(v.EncodingName(), "raw");
  v.MutableString(10);
  EXPECT_EQ(v.GetString(&scratch), std::string("abcdef\0\0\0\0", 10));
}

TEST(Value, MoveLeavesSourceEmpty) {
  std::string scratch;
  Value a = Value::String(std::string(50, 'y'));
  Value b = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): documented state
  EXPECT_EQ(b.GetString(&scratch), std::string(50, 'y'));
}

TEST(CompactKey, InlineAndHeap) {
  CompactKey a("key:000000123456");
  EXPECT_FALSE(a.is_heap());
  EXPECT_EQ(a.view(), "key:000000123456");
  std::string longkey(100, 'k');
  CompactKey b(longkey);
  EXPECT_TRUE(b.is_heap());
  EXPECT_EQ(b.view(), longkey);
  CompactKey c = std::move(b);
  EXPECT_EQ(c.view(), longkey);
}

}  // namespace
}  // namespace ferrite
