// CRC-64/Jones: Redis's check value, incremental use at every split, and agreement with a
// bit-at-a-time reference on random inputs of every length up to 300 bytes and every
// alignment (the eight-byte loop and the byte tail must give the same result).

#include "base/crc64.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace ferrite {
namespace {

uint64_t BitwiseCrc64(uint64_t crc, const std::string& s) {
  const uint64_t poly = 0x95ac9329ac4bc9b5ULL;  // 0xad93d23594c935a9 reflected
  for (unsigned char c : s) {
    crc ^= c;
    for (int k = 0; k < 8; k++) crc = (crc & 1) ? (crc >> 1) ^ poly : crc >> 1;
  }
  return crc;
}

TEST(Crc64, RedisCheckValue) {
  // redis/src/crc64.c's test: crc64(0, "123456789", 9) == 0xe9c6d914c4b8d9ca.
  EXPECT_EQ(Crc64(0, "123456789", 9), 0xe9c6d914c4b8d9caULL);
  EXPECT_EQ(Crc64(0, "", 0), 0u);
  // crc64.c's second vector: the lorem ipsum text with its terminating NUL (sizeof(li)).
  std::string li =
      "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
      "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud "
      "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure "
      "dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. "
      "Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt "
      "mollit anim id est laborum.";
  li.push_back('\0');
  EXPECT_EQ(Crc64(0, li.data(), li.size()), 0xc7794709e69683b3ULL);
}

TEST(Crc64, MatchesTheBitwiseDefinitionAtEveryLengthAndSplit) {
  std::mt19937_64 rng(7);
  for (size_t len = 0; len <= 300; len++) {
    std::string s(len + 7, '\0');
    for (auto& c : s) c = char(rng());
    for (size_t align = 0; align < 8; align += 3) {
      std::string part = s.substr(align, len);
      uint64_t want = BitwiseCrc64(0, part);
      ASSERT_EQ(Crc64(0, part.data(), part.size()), want) << len << " " << align;
      size_t cut = len ? rng() % len : 0;
      uint64_t a = Crc64(0, part.data(), cut);
      ASSERT_EQ(Crc64(a, part.data() + cut, len - cut), want) << len << " cut " << cut;
    }
  }
}

}  // namespace
}  // namespace ferrite
