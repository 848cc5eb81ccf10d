// base/coding.h: the exact bytes of each encoding (the formats on disk depend on them), round
// trips at every varint length boundary, and the cursor refusing every truncation without
// reading past its end.

#include "base/coding.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace ferrite {
namespace {

std::string Hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(d[c >> 4]);
    out.push_back(d[c & 15]);
  }
  return out;
}

TEST(Coding, VarintBytes) {
  auto enc = [](uint64_t v) {
    std::string s;
    PutVarint64(&s, v);
    return Hex(s);
  };
  EXPECT_EQ(enc(0), "00");
  EXPECT_EQ(enc(1), "01");
  EXPECT_EQ(enc(127), "7f");
  EXPECT_EQ(enc(128), "8001");
  EXPECT_EQ(enc(300), "ac02");
  EXPECT_EQ(enc(16383), "ff7f");
  EXPECT_EQ(enc(16384), "808001");
  EXPECT_EQ(enc(UINT64_MAX), "ffffffffffffffffff01");
}

TEST(Coding, VarintRoundTripAtEveryLengthBoundary) {
  std::vector<uint64_t> vals = {0, UINT64_MAX};
  for (int bits = 1; bits < 64; bits++) {
    uint64_t p = uint64_t(1) << bits;
    vals.insert(vals.end(), {p - 1, p, p + 1});
  }
  std::string all;
  for (uint64_t v : vals) {
    std::string one;
    PutVarint64(&one, v);
    ASSERT_EQ(one.size(), VarintLength(v)) << v;
    char raw[kMaxVarint64Length];
    ASSERT_EQ(std::string_view(raw, size_t(EncodeVarint64(raw, v) - raw)), one) << v;
    uint64_t back = 0;
    ASSERT_EQ(DecodeVarintUnchecked(one.data(), &back), one.data() + one.size()) << v;
    ASSERT_EQ(back, v);
    all += one;
  }
  Cursor c(all);
  for (uint64_t v : vals) {
    uint64_t got = 0;
    ASSERT_TRUE(c.Varint(&got));
    ASSERT_EQ(got, v);
  }
  EXPECT_TRUE(c.done());
}

TEST(Coding, FixedLittleAndBigEndianBytes) {
  std::string s;
  PutFixed32(&s, 0x01020304);
  PutFixed64(&s, 0x0102030405060708ULL);
  PutFixed32BE(&s, 0x01020304);
  PutFixed64BE(&s, 0x0102030405060708ULL);
  EXPECT_EQ(Hex(s),
            "04030201"
            "0807060504030201"
            "01020304"
            "0102030405060708");
  EXPECT_EQ(DecodeFixed32(s.data()), 0x01020304u);
  EXPECT_EQ(DecodeFixed64(s.data() + 4), 0x0102030405060708ULL);
  EXPECT_EQ(DecodeFixed32BE(s.data() + 12), 0x01020304u);
  EXPECT_EQ(DecodeFixed64BE(s.data() + 16), 0x0102030405060708ULL);
  char b[2];
  EncodeFixed16(b, 0xBEEF);
  EXPECT_EQ(Hex(std::string_view(b, 2)), "efbe");
  EXPECT_EQ(DecodeFixed16(b), 0xBEEF);
}

TEST(Coding, DoubleIsItsBitPatternLittleEndian) {
  std::string s;
  PutDouble(&s, 1.0);  // 0x3ff0000000000000
  EXPECT_EQ(Hex(s), "000000000000f03f");
  for (double d : {0.0, -0.0, 3.5, -1e300, 4.9e-324, std::numeric_limits<double>::infinity()}) {
    std::string e;
    PutDouble(&e, d);
    double back = DecodeDouble(e.data());
    EXPECT_EQ(std::signbit(back), std::signbit(d));
    EXPECT_EQ(back, d);
  }
}

TEST(Coding, LengthPrefixed) {
  std::string s;
  PutLengthPrefixed(&s, "abc");
  PutLengthPrefixed(&s, "");
  PutLengthPrefixed(&s, std::string(200, 'x'));
  EXPECT_EQ(Hex(s.substr(0, 5)), "0361626300");
  EXPECT_EQ(DecodeLengthPrefixedUnchecked(s.data()), "abc");
  Cursor c(s);
  std::string_view a, b, x;
  ASSERT_TRUE(c.LengthPrefixed(&a) && c.LengthPrefixed(&b) && c.LengthPrefixed(&x));
  EXPECT_EQ(a, "abc");
  EXPECT_EQ(b, "");
  EXPECT_EQ(x, std::string(200, 'x'));
  EXPECT_TRUE(c.done());
}

// Every prefix of a valid record is refused by the read that needs the missing bytes, and a
// refused read never moves the cursor past the end.
TEST(Coding, CursorRefusesEveryTruncation) {
  std::string s;
  s.push_back(char(7));
  PutFixed32(&s, 0xAABBCCDD);
  PutFixed64(&s, 42);
  PutVarint64(&s, UINT64_MAX);
  PutLengthPrefixed(&s, "hello");
  PutDouble(&s, 2.5);
  PutFixed64BE(&s, 9);
  auto read_all = [](std::string_view in, bool* ok) {
    Cursor c(in);
    uint8_t u8 = 0;
    uint32_t u32 = 0;
    uint64_t u64 = 0, var = 0, be = 0;
    std::string_view str;
    double d = 0;
    *ok = c.U8(&u8) && c.Fixed32(&u32) && c.Fixed64(&u64) && c.Varint(&var) &&
          c.LengthPrefixed(&str) && c.Double(&d) && c.Fixed64BE(&be);
    EXPECT_LE(c.pos(), in.size());
    if (*ok) {
      EXPECT_EQ(u8, 7);
      EXPECT_EQ(u32, 0xAABBCCDDu);
      EXPECT_EQ(u64, 42u);
      EXPECT_EQ(var, UINT64_MAX);
      EXPECT_EQ(str, "hello");
      EXPECT_EQ(d, 2.5);
      EXPECT_EQ(be, 9u);
      EXPECT_TRUE(c.done());
    }
  };
  bool ok = false;
  read_all(s, &ok);
  EXPECT_TRUE(ok);
  for (size_t n = 0; n < s.size(); n++) {
    read_all(std::string_view(s.data(), n), &ok);
    EXPECT_FALSE(ok) << "a prefix of " << n << " bytes was read whole";
  }
}

TEST(Coding, CursorRefusesAnOverlongVarintAndHugeLengths) {
  std::string eleven(11, char(0x80));
  Cursor c(eleven);
  uint64_t v;
  EXPECT_FALSE(c.Varint(&v));
  EXPECT_EQ(c.pos(), 10u);  // stopped after the tenth byte, where the varint went wrong

  std::string huge;
  PutVarint64(&huge, UINT64_MAX);  // a length no buffer holds
  huge += "abc";
  Cursor h(huge);
  std::string_view out;
  EXPECT_FALSE(h.LengthPrefixed(&out));
  Cursor k("abc");
  EXPECT_FALSE(k.Skip(4));
  EXPECT_TRUE(k.Skip(3));
  EXPECT_TRUE(k.done());
  EXPECT_EQ(k.rest(), "");
}

}  // namespace
}  // namespace ferrite
