// Redis RDB: CRC-64 and LZF, every value encoding the reader knows (built byte by byte
// here from the format's description), writer -> reader round trips, and damage refused
// with the file and offset (every truncation, every single-byte flip, random garbage).

#include "persistence/rdb/redis_rdb.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "base/crc64.h"
#include "types/serialize.h"
#include "types/value.h"

namespace ferrite {
namespace {

using ::ferrite::Crc64;

// ---- byte builders for the format (test side, independent of the writer) ----

void Len(std::string* s, uint64_t n) {
  if (n < 64) {
    s->push_back(char(n));
  } else if (n < 16384) {
    s->push_back(char(0x40 | (n >> 8)));
    s->push_back(char(n & 0xff));
  } else if (n <= UINT32_MAX) {
    s->push_back(char(0x80));
    for (int i = 3; i >= 0; i--) s->push_back(char(n >> (8 * i)));
  } else {
    s->push_back(char(0x81));
    for (int i = 7; i >= 0; i--) s->push_back(char(n >> (8 * i)));
  }
}
void Str(std::string* s, std::string_view v) {
  Len(s, v.size());
  s->append(v);
}
template <typename T>
void Le(std::string* s, T v) {
  s->append(reinterpret_cast<const char*>(&v), sizeof(T));
}

struct Rdb {
  explicit Rdb(int v = 10) : version(v) { s = fmt::format("REDIS{:04d}", v); }
  Rdb& Op(uint8_t b) {
    s.push_back(char(b));
    return *this;
  }
  Rdb& L(uint64_t n) {
    Len(&s, n);
    return *this;
  }
  Rdb& S(std::string_view v) {
    Str(&s, v);
    return *this;
  }
  Rdb& Raw(std::string_view v) {
    s.append(v);
    return *this;
  }
  std::string Done(bool checksum = true) {
    std::string out = s;
    out.push_back(char(0xFF));
    if (version >= 5) {
      uint64_t c = checksum ? Crc64(0, out.data(), out.size()) : 0;
      Le(&out, c);
    }
    return out;
  }
  int version;
  std::string s;
};

// A listpack entry in every encoding the format has.
enum class LpEnc { kAuto, kUint7, kInt13, kInt16, kInt24, kInt32, kInt64, kStr6, kStr12, kStr32 };

void LpEntry(std::string* lp, std::string_view v, LpEnc enc) {
  std::string e;
  int64_t iv = 0;
  bool is_int = enc >= LpEnc::kUint7 && enc <= LpEnc::kInt64;
  if (is_int) iv = std::stoll(std::string(v));
  switch (enc) {
    case LpEnc::kUint7:
      e.push_back(char(iv));
      break;
    case LpEnc::kInt13: {
      uint32_t u = uint32_t(iv) & 0x1fff;
      e.push_back(char(0xC0 | (u >> 8)));
      e.push_back(char(u & 0xff));
      break;
    }
    case LpEnc::kInt16:
      e.push_back(char(0xF1));
      Le(&e, int16_t(iv));
      break;
    case LpEnc::kInt24: {
      e.push_back(char(0xF2));
      uint32_t u = uint32_t(iv);
      for (int i = 0; i < 3; i++) e.push_back(char(u >> (8 * i)));
      break;
    }
    case LpEnc::kInt32:
      e.push_back(char(0xF3));
      Le(&e, int32_t(iv));
      break;
    case LpEnc::kInt64:
      e.push_back(char(0xF4));
      Le(&e, int64_t(iv));
      break;
    case LpEnc::kStr6:
      e.push_back(char(0x80 | v.size()));
      e.append(v);
      break;
    case LpEnc::kStr12:
      e.push_back(char(0xE0 | (v.size() >> 8)));
      e.push_back(char(v.size() & 0xff));
      e.append(v);
      break;
    default:
      e.push_back(char(0xF0));
      Le(&e, uint32_t(v.size()));
      e.append(v);
  }
  uint64_t l = e.size();
  std::string back;
  if (l <= 127) {
    back.push_back(char(l));
  } else {
    // Most significant group first; every byte after the first has its top bit set.
    std::vector<uint8_t> groups;
    while (l) {
      groups.insert(groups.begin(), uint8_t(l & 127));
      l >>= 7;
    }
    for (size_t i = 0; i < groups.size(); i++) back.push_back(char(groups[i] | (i ? 0x80 : 0)));
  }
  lp->append(e);
  lp->append(back);
}

LpEnc AutoLp(std::string_view v) {
  int64_t iv;
  try {
    size_t used;
    iv = std::stoll(std::string(v), &used);
    if (used != v.size() || std::to_string(iv) != v) throw 1;
  } catch (...) {
    return v.size() < 64 ? LpEnc::kStr6 : v.size() < 4096 ? LpEnc::kStr12 : LpEnc::kStr32;
  }
  if (iv >= 0 && iv <= 127) return LpEnc::kUint7;
  if (iv >= -4096 && iv <= 4095) return LpEnc::kInt13;
  if (iv >= INT16_MIN && iv <= INT16_MAX) return LpEnc::kInt16;
  if (iv >= -(1 << 23) && iv < (1 << 23)) return LpEnc::kInt24;
  if (iv >= INT32_MIN && iv <= INT32_MAX) return LpEnc::kInt32;
  return LpEnc::kInt64;
}

std::string Listpack(const std::vector<std::string>& items, std::vector<LpEnc> encs = {}) {
  std::string body;
  for (size_t i = 0; i < items.size(); i++) {
    LpEntry(&body, items[i], i < encs.size() ? encs[i] : AutoLp(items[i]));
  }
  std::string lp;
  Le(&lp, uint32_t(6 + body.size() + 1));
  Le(&lp, uint16_t(items.size() < 65535 ? items.size() : 65535));
  lp += body;
  lp.push_back(char(0xFF));
  return lp;
}

// A ziplist; ints picks the integer encodings where the text is a canonical integer.
std::string Ziplist(const std::vector<std::string>& items, bool big_prevlen = false) {
  std::string body;
  size_t prev = 0, tail = 10;
  for (const auto& v : items) {
    std::string e;
    if (prev < 254 && !big_prevlen) {
      e.push_back(char(prev));
    } else {
      e.push_back(char(254));
      Le(&e, uint32_t(prev));
    }
    int64_t iv = 0;
    bool is_int = false;
    try {
      size_t used;
      iv = std::stoll(v, &used);
      is_int = used == v.size() && std::to_string(iv) == v;
    } catch (...) {
    }
    if (is_int && iv >= 0 && iv <= 12) {
      e.push_back(char(0xF1 + iv));
    } else if (is_int && iv >= INT8_MIN && iv <= INT8_MAX) {
      e.push_back(char(0xFE));
      e.push_back(char(int8_t(iv)));
    } else if (is_int && iv >= INT16_MIN && iv <= INT16_MAX) {
      e.push_back(char(0xC0));
      Le(&e, int16_t(iv));
    } else if (is_int && iv >= -(1 << 23) && iv < (1 << 23)) {
      e.push_back(char(0xF0));
      uint32_t u = uint32_t(iv);
      for (int i = 0; i < 3; i++) e.push_back(char(u >> (8 * i)));
    } else if (is_int && iv >= INT32_MIN && iv <= INT32_MAX) {
      e.push_back(char(0xD0));
      Le(&e, int32_t(iv));
    } else if (is_int) {
      e.push_back(char(0xE0));
      Le(&e, int64_t(iv));
    } else if (v.size() < 64) {
      e.push_back(char(v.size()));
      e += v;
    } else if (v.size() < 16384) {
      e.push_back(char(0x40 | (v.size() >> 8)));
      e.push_back(char(v.size() & 0xff));
      e += v;
    } else {
      e.push_back(char(0x80));
      for (int i = 3; i >= 0; i--) e.push_back(char(v.size() >> (8 * i)));
      e += v;
    }
    tail = 10 + body.size();
    body += e;
    prev = e.size();
  }
  std::string z;
  Le(&z, uint32_t(10 + body.size() + 1));
  Le(&z, uint32_t(tail));
  Le(&z, uint16_t(items.size() < 65535 ? items.size() : 65535));
  z += body;
  z.push_back(char(0xFF));
  return z;
}

std::string Intset(const std::vector<int64_t>& v, uint32_t width) {
  std::string s;
  Le(&s, width);
  Le(&s, uint32_t(v.size()));
  for (int64_t x : v) {
    if (width == 2)
      Le(&s, int16_t(x));
    else if (width == 4)
      Le(&s, int32_t(x));
    else
      Le(&s, x);
  }
  return s;
}

// The collection blob of types/serialize.h, built independently of the reader.
std::string Blob(ValueType t, const std::vector<std::string>& items,
                 const std::vector<double>& scores = {}) {
  std::string b;
  auto varint = [&](uint64_t v) {
    while (v >= 0x80) {
      b.push_back(char(v | 0x80));
      v >>= 7;
    }
    b.push_back(char(v));
  };
  varint(t == ValueType::kHash ? items.size() / 2 : items.size());
  for (size_t i = 0; i < items.size(); i++) {
    varint(items[i].size());
    b += items[i];
    if (t == ValueType::kZSet) Le(&b, scores[i]);
  }
  return b;
}

struct Rec {
  uint32_t db;
  uint8_t type;
  int64_t expire_ms;
  std::string key, value;
  bool operator==(const Rec&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Rec& r) {
  return os << "{db " << r.db << " type " << int(r.type) << " exp " << r.expire_ms << " key "
            << r.key << " value " << r.value.size() << " bytes}";
}

class RedisRdbTest : public ::testing::Test {
 protected:
  RedisRdbTest() {
    char tmpl[] = "/tmp/ferrite-redis-rdb-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~RedisRdbTest() override { std::filesystem::remove_all(dir_); }
  std::string path() const { return dir_ + "/dump.rdb"; }
  void Put(const std::string& data) {
    std::ofstream f(path(), std::ios::binary | std::ios::trunc);
    f << data;
  }
  std::string Bytes() {
    std::ifstream f(path(), std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  Status Read(std::vector<Rec>* out, rdb::RdbStats* stats = nullptr) {
    out->clear();
    return rdb::ReadRedisRdb(
        FileSystem::Default(), path(),
        [&](const ckpt::Record& r) {
          out->push_back({r.db, r.type, r.expire_ms, std::string(r.key), std::string(r.value)});
          return Status::Ok();
        },
        stats);
  }
  std::vector<Rec> ReadOk(const std::string& data, rdb::RdbStats* stats = nullptr) {
    Put(data);
    std::vector<Rec> recs;
    Status st = Read(&recs, stats);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return recs;
  }
  Status ReadBytes(const std::string& data) {
    Put(data);
    std::vector<Rec> recs;
    return Read(&recs);
  }
  void Write(const std::vector<Rec>& recs, rdb::RdbWriterOptions opts = {}) {
    auto f = FileSystem::Default()->NewWritableFile(path(), false);
    ASSERT_TRUE(f.ok());
    rdb::RedisRdbWriter w(std::move(f.value()), opts);
    ASSERT_TRUE(w.Begin().ok());
    for (const auto& r : recs) {
      Status st = w.Add({r.db, r.type, r.expire_ms, r.key, r.value});
      ASSERT_TRUE(st.ok()) << st.ToString();
    }
    ASSERT_TRUE(w.Finish().ok());
  }
  std::string dir_;
};

// ---- CRC-64 and LZF ----

TEST(Crc64, KnownVectorAndIncremental) {
  EXPECT_EQ(Crc64(0, "123456789", 9), 0xe9c6d914c4b8d9caULL);
  EXPECT_EQ(Crc64(0, "", 0), 0u);
  std::string data;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 1000; i++) data.push_back(char(rng()));
  uint64_t whole = Crc64(0, data.data(), data.size());
  for (size_t cut : {0, 1, 7, 8, 9, 500, 999, 1000}) {
    EXPECT_EQ(Crc64(Crc64(0, data.data(), cut), data.data() + cut, data.size() - cut), whole)
        << cut;
  }
}

TEST(Lzf, HandBuiltStreams) {
  // A literal run, a short back reference (distance 3, length 3), a long one (distance 1).
  std::string in = std::string(
                       "\x02"
                       "abc",
                       4) +
                   std::string("\x20\x02", 2);
  char out[100];
  ASSERT_TRUE(rdb::LzfDecompress(in, out, 6));
  EXPECT_EQ(std::string(out, 6), "abcabc");
  std::string run = std::string(
                        "\x00"
                        "a",
                        2) +
                    std::string("\xE0\x5A\x00", 3);  // 1 + (90+9) bytes
  ASSERT_TRUE(rdb::LzfDecompress(run, out, 100));
  EXPECT_EQ(std::string(out, 100), std::string(100, 'a'));
  // Wrong lengths, references before the start, runs past either end: refused.
  EXPECT_FALSE(rdb::LzfDecompress(in, out, 5));
  EXPECT_FALSE(rdb::LzfDecompress(in, out, 7));
  EXPECT_FALSE(rdb::LzfDecompress(std::string("\x20\x00", 2), out, 3));
  EXPECT_FALSE(rdb::LzfDecompress(std::string("\x02"
                                              "ab",
                                              3),
                                  out, 3));
  EXPECT_FALSE(rdb::LzfDecompress(std::string("\x02"
                                              "abc\x20",
                                              5),
                                  out, 6));
  EXPECT_FALSE(rdb::LzfDecompress(std::string("\x02"
                                              "abc\xE0",
                                              5),
                                  out, 20));
  EXPECT_FALSE(rdb::LzfDecompress(std::string("\x02"
                                              "abc\x20\x03",
                                              6),
                                  out, 6));  // distance 4 > 3
  EXPECT_FALSE(rdb::LzfDecompress(run, out, 99));
}

TEST(Lzf, RoundTripsAndNeverOverruns) {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 300; round++) {
    size_t n = rng() % 20000;
    int alphabet = 1 + int(rng() % 256);
    std::string s;
    while (s.size() < n) {
      if (rng() % 4 == 0 && s.size() > 10) {  // repeat an earlier piece: matches near and far
        size_t from = rng() % s.size(), len = 1 + rng() % 300;
        for (size_t i = 0; i < len && s.size() < n; i++) s.push_back(s[from + i]);
      } else {
        s.push_back(char(rng() % alphabet));
      }
    }
    std::string c;
    ASSERT_TRUE(rdb::LzfCompress(s, s.size() * 2 + 64, &c));
    std::string back(s.size(), '\0');
    ASSERT_TRUE(rdb::LzfDecompress(c, back.data(), back.size())) << round;
    ASSERT_EQ(back, s) << round;
    // Damaged streams: refused or decoded, never out of bounds (ASan builds check).
    for (int k = 0; k < 20 && !c.empty(); k++) {
      std::string bad = c;
      bad[rng() % bad.size()] ^= char(1 + rng() % 255);
      (void)rdb::LzfDecompress(bad, back.data(), back.size());
      (void)rdb::LzfDecompress(std::string_view(c).substr(0, rng() % c.size()), back.data(),
                               back.size());
    }
  }
  std::string z(100000, 'z'), c;
  ASSERT_TRUE(rdb::LzfCompress(z, z.size(), &c));
  EXPECT_LT(c.size(), 1500u);
  EXPECT_FALSE(rdb::LzfCompress(z, 10, &c));  // does not fit
}

// ---- reading every encoding ----

TEST_F(RedisRdbTest, PlainTypesOpcodesAndExpiries) {
  Rdb f(10);
  f.Op(0xFA).S("redis-ver").S("7.0.15");
  f.Op(0xFA).S("redis-bits").Raw("\xC0\x40");  // int8 64
  f.Op(0xF5).S("#!lua name=lib\nredis.register_function('f', function() return 1 end)");
  f.Op(0xF7).Raw(std::string("\x81\x01\x02\x03\x04\x05\x06\x07\x08", 9)).L(2).L(2);  // MODULE_AUX
  f.L(2).L(123).L(5).S("payload").L(4).Raw(std::string(8, '\0')).L(3).Raw("abcd").L(0);
  f.Op(0xFE).L(0).Op(0xFB).L(7).L(2);
  f.Op(0x00).S("str").S("hello");
  f.Op(0x00).S("i8").Raw("\xC0\x85");                                  // -123
  f.Op(0x00).S("i16").Raw("\xC1\x39\x30");                             // 12345
  f.Op(0x00).S("i32").Raw(std::string("\xC2\x00\x00\x00\x80", 5));     // INT32_MIN
  f.Op(0xFC).Raw(std::string("\x00\x10\xA5\xD4\xE8\x00\x00\x00", 8));  // 1e12 ms
  f.Op(0xF8).L(1000).Op(0x01).S("list").L(3).S("a").S("b").Raw("\xC0\x07");
  f.Op(0xFD).Raw(std::string("\x00\x94\x35\x77", 4));  // 2e9 s
  f.Op(0xF9).Op(5).Op(0x02).S("set").L(2).S("x").S("y");
  f.Op(0xFE).L(3);
  f.Op(0x03)
      .S("zs")
      .L(4)
      .S("m1")
      .Raw(
          "\x03"
          "1.5")
      .S("m2")
      .Raw("\xFE")
      .S("m3")
      .Raw("\xFF")
      .S("m4")
      .Raw(
          "\x04"
          "-2e3");
  f.Op(0x05).S("zs2").L(1).S("m");
  Le(&f.s, 0.25);
  f.Op(0x04).S("h").L(2).S("f1").S("v1").S("f2").S("");
  f.Op(0xFE).L(70000);  // a 5-byte length
  f.Op(0x00).S(std::string(20000, 'k')).S(std::string(70000, 'v'));
  rdb::RdbStats stats;
  auto recs = ReadOk(f.Done(), &stats);
  // The function library comes first, as a kFunctionLibrary record.
  ASSERT_EQ(recs.size(), 11u);
  EXPECT_EQ(recs[0].type, ckpt::kFunctionLibrary);
  recs.erase(recs.begin());
  EXPECT_EQ(recs[0], (Rec{0, 1, 0, "str", "hello"}));
  EXPECT_EQ(recs[1], (Rec{0, 1, 0, "i8", "-123"}));
  EXPECT_EQ(recs[2], (Rec{0, 1, 0, "i16", "12345"}));
  EXPECT_EQ(recs[3], (Rec{0, 1, 0, "i32", "-2147483648"}));
  EXPECT_EQ(recs[4],
            (Rec{0, 2, 1'000'000'000'000, "list", Blob(ValueType::kList, {"a", "b", "7"})}));
  EXPECT_EQ(recs[5], (Rec{0, 3, 2'000'000'000'000, "set", Blob(ValueType::kSet, {"x", "y"})}));
  EXPECT_EQ(
      recs[6],
      (Rec{3, 4, 0, "zs",
           Blob(ValueType::kZSet, {"m1", "m2", "m3", "m4"}, {1.5, INFINITY, -INFINITY, -2000})}));
  EXPECT_EQ(recs[7], (Rec{3, 4, 0, "zs2", Blob(ValueType::kZSet, {"m"}, {0.25})}));
  EXPECT_EQ(recs[8], (Rec{3, 5, 0, "h", Blob(ValueType::kHash, {"f1", "v1", "f2", ""})}));
  EXPECT_EQ(recs[9].db, 70000u);
  EXPECT_EQ(recs[9].key, std::string(20000, 'k'));
  EXPECT_EQ(recs[9].value, std::string(70000, 'v'));
  EXPECT_EQ(stats.functions, 1u);
  EXPECT_EQ(stats.module_aux_skipped, 1u);
  EXPECT_EQ(stats.with_expire, 2u);
  ASSERT_EQ(stats.aux.size(), 2u);
  EXPECT_EQ(stats.aux[1], std::make_pair(std::string("redis-bits"), std::string("64")));
}

TEST_F(RedisRdbTest, CompactEncodings) {
  std::vector<std::string> mixed = {"hello",
                                    "0",
                                    "12",
                                    "13",
                                    "-1",
                                    "127",
                                    "128",
                                    "-4096",
                                    "4095",
                                    "4096",
                                    "32767",
                                    "-32768",
                                    "40000",
                                    "-8388608",
                                    "8388607",
                                    "8388608",
                                    "2147483647",
                                    "-2147483648",
                                    "2147483648",
                                    "-9223372036854775808",
                                    "9223372036854775807",
                                    "007",
                                    "-0",
                                    "1.5",
                                    "",
                                    std::string(63, 'a'),
                                    std::string(64, 'b'),
                                    std::string(4095, 'c'),
                                    std::string(4096, 'd'),
                                    std::string(16383, 'e'),
                                    std::string(20000, 'f')};
  std::vector<std::string> pairs = {"f1", "v1", "5", "-7", "long", std::string(300, 'L')};
  std::vector<std::string> zpairs = {"a", "1",   "b", "-2.5", "c", "1e300",
                                     "d", "inf", "e", "-inf", "f", "100000"};
  Rdb f(10);
  f.Op(0xFE).L(0);
  f.Op(10).S("l_zl").S(Ziplist(mixed));
  f.Op(10).S("l_zl_big_prevlen").S(Ziplist({"x", "1"}, true));
  f.Op(11).S("is16").S(Intset({-5, 3, 1000}, 2));
  f.Op(11).S("is32").S(Intset({-70000, 70000}, 4));
  f.Op(11).S("is64").S(Intset({INT64_MIN, 0, INT64_MAX}, 8));
  f.Op(12).S("z_zl").S(Ziplist(zpairs));
  f.Op(13).S("h_zl").S(Ziplist(pairs));
  f.Op(14).S("l_ql").L(2).S(Ziplist({"a", "b"})).S(Ziplist({"c", "1"}));
  f.Op(16).S("h_lp").S(Listpack(pairs));
  f.Op(17).S("z_lp").S(Listpack(zpairs));
  f.Op(18)
      .S("l_ql2")
      .L(3)
      .L(2)
      .S(Listpack(mixed))
      .L(1)
      .S(std::string(5000, 'P'))
      .L(2)
      .S(Listpack({"end"}));
  f.Op(20).S("s_lp").S(Listpack({"m1", "m2", "33"}));
  // Every listpack encoding forced, including non-minimal ones a writer may choose.
  f.Op(18)
      .S("l_forced")
      .L(1)
      .L(2)
      .S(Listpack({"5", "-5", "5", "5", "5", "5", "x", "y", "z"},
                  {LpEnc::kUint7, LpEnc::kInt13, LpEnc::kInt16, LpEnc::kInt24, LpEnc::kInt32,
                   LpEnc::kInt64, LpEnc::kStr6, LpEnc::kStr12, LpEnc::kStr32}));
  // Hash zipmap (Redis 2.x): "foo"="bar" with two free bytes after the value, "a"="" .
  static const char kZm[] =
      "\x02\x03"
      "foo"
      "\x03\x02"
      "barXX"
      "\x01"
      "a"
      "\x00\x00"
      "\xFF";
  std::string zm(kZm, sizeof(kZm) - 1);
  f.Op(9).S("h_zm").S(zm);
  // A value string compressed with LZF (Redis compresses ziplists like any string).
  std::string zl = Ziplist(std::vector<std::string>(50, "repeat"));
  std::string c;
  ASSERT_TRUE(rdb::LzfCompress(zl, zl.size(), &c));
  f.Op(10).S("l_lzf").Raw("\xC3");
  Len(&f.s, c.size());
  Len(&f.s, zl.size());
  f.Raw(c);
  auto recs = ReadOk(f.Done());
  ASSERT_EQ(recs.size(), 15u);
  std::vector<std::string> mixed_read = mixed;  // integers come back in canonical text
  EXPECT_EQ(recs[0].value, Blob(ValueType::kList, mixed_read));
  EXPECT_EQ(recs[1].value, Blob(ValueType::kList, {"x", "1"}));
  EXPECT_EQ(recs[2], (Rec{0, 3, 0, "is16", Blob(ValueType::kSet, {"-5", "3", "1000"})}));
  EXPECT_EQ(recs[3].value, Blob(ValueType::kSet, {"-70000", "70000"}));
  EXPECT_EQ(recs[4].value,
            Blob(ValueType::kSet, {"-9223372036854775808", "0", "9223372036854775807"}));
  std::vector<double> zs = {1, -2.5, 1e300, INFINITY, -INFINITY, 100000};
  EXPECT_EQ(recs[5],
            (Rec{0, 4, 0, "z_zl", Blob(ValueType::kZSet, {"a", "b", "c", "d", "e", "f"}, zs)}));
  EXPECT_EQ(recs[6], (Rec{0, 5, 0, "h_zl", Blob(ValueType::kHash, pairs)}));
  EXPECT_EQ(recs[7].value, Blob(ValueType::kList, {"a", "b", "c", "1"}));
  EXPECT_EQ(recs[8].value, Blob(ValueType::kHash, pairs));
  EXPECT_EQ(recs[9].value, recs[5].value);
  std::vector<std::string> ql2 = mixed;
  ql2.push_back(std::string(5000, 'P'));
  ql2.push_back("end");
  EXPECT_EQ(recs[10].value, Blob(ValueType::kList, ql2));
  EXPECT_EQ(recs[11], (Rec{0, 3, 0, "s_lp", Blob(ValueType::kSet, {"m1", "m2", "33"})}));
  EXPECT_EQ(recs[12].value, Blob(ValueType::kList, {"5", "-5", "5", "5", "5", "5", "x", "y", "z"}));
  EXPECT_EQ(recs[13], (Rec{0, 5, 0, "h_zm", Blob(ValueType::kHash, {"foo", "bar", "a", ""})}));
  EXPECT_EQ(recs[14].value, Blob(ValueType::kList, std::vector<std::string>(50, "repeat")));
  // Every collection is one the server can rebuild.
  for (const auto& r : recs) {
    if (r.type == 1) continue;
    auto v = DecodeCollection(ValueType(r.type), r.value, CollectionLimits{});
    EXPECT_TRUE(v.ok()) << r.key << ": " << v.status().ToString();
  }
}

TEST_F(RedisRdbTest, HandWrittenBytesFromTheSpecs) {
  // listpack: "hello" (6-bit string), 5 (7-bit uint), -1 (13-bit int), end.
  std::string lp = std::string(
      "\x13\x00\x00\x00\x03\x00"
      "\x85hello\x06"
      "\x05\x01"
      "\xDF\xFF\x02"
      "\xFF",
      19);
  // ziplist: "hello", 2 (immediate), end; zltail = 17.
  std::string zl = std::string(
      "\x14\x00\x00\x00\x11\x00\x00\x00\x02\x00"
      "\x00\x05hello"
      "\x07\xF3"
      "\xFF",
      20);
  EXPECT_EQ(lp, Listpack({"hello", "5", "-1"}));
  EXPECT_EQ(zl, Ziplist({"hello", "2"}));
  Rdb f(9);
  f.Op(0xFE).L(1).Op(18).S("lp").L(1).L(2).S(lp).Op(10).S("zl").S(zl);
  auto recs = ReadOk(f.Done());
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0], (Rec{1, 2, 0, "lp", Blob(ValueType::kList, {"hello", "5", "-1"})}));
  EXPECT_EQ(recs[1], (Rec{1, 2, 0, "zl", Blob(ValueType::kList, {"hello", "2"})}));
}

TEST_F(RedisRdbTest, VersionsChecksumsAndNewerOpcodes) {
  // Version 3: no checksum trailer; expiry in seconds.
  Rdb v3(3);
  v3.Op(0xFE).L(0).Op(0xFD).Raw(std::string("\x10\x00\x00\x00", 4)).Op(0).S("k").S("v");
  rdb::RdbStats stats;
  auto recs = ReadOk(v3.Done(), &stats);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].expire_ms, 16000);
  EXPECT_EQ(stats.version, 3u);
  EXPECT_FALSE(stats.checksum_verified);
  // Version 10 with a zero checksum ("not computed").
  Rdb v10(10);
  v10.Op(0).S("k").S("v");
  ReadOk(v10.Done(false), &stats);
  EXPECT_FALSE(stats.checksum_verified);
  ReadOk(v10.Done(true), &stats);
  EXPECT_TRUE(stats.checksum_verified);
  // Version 12: SLOT_INFO; expiries before the epoch mean "long expired", not "none".
  Rdb v12(12);
  v12.Op(0xF4).L(100).L(1).L(0).Op(0xFC).Raw(std::string(8, '\0')).Op(20).S("s").S(Listpack({"a"}));
  recs = ReadOk(v12.Done(), &stats);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].expire_ms, 1);
  // Newer versions and unknown magic are refused up front.
  Status st = ReadBytes(Rdb(13).Done());
  EXPECT_EQ(st.code(), Status::Code::kNotSupported) << st.ToString();
  EXPECT_NE(st.message().find("RDB version 13 at offset 5"), std::string::npos) << st.message();
  st = ReadBytes("REDIX0010\xFF");
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_NE(st.message().find(path() + ": not a Redis RDB file"), std::string::npos)
      << st.message();
  st = ReadBytes("RED");
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
}

TEST_F(RedisRdbTest, UnsupportedContentNamesTheKey) {
  // Streams of all three RDB types load (an empty one here; rdb_stream_test has the rest).
  for (int type : {15, 19, 21}) {
    Rdb f(11);
    f.Op(0xFE).L(2).Op(0).S("ok").S("1").Op(uint8_t(type)).S("events").L(0).L(0).L(5).L(1);
    if (type != 15) f.L(0).L(0).L(0).L(0).L(3);
    f.L(0);
    Put(f.Done());
    std::vector<Rec> recs;
    Status st = Read(&recs);
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_EQ(recs.size(), 2u);
    EXPECT_EQ(recs[1].type, uint8_t(ValueType::kStream));
    EXPECT_EQ(recs[1].key, "events");
  }
  Rdb m(10);
  m.Op(7).S("bloom").L(1);
  Status st = ReadBytes(m.Done());
  EXPECT_EQ(st.code(), Status::Code::kNotSupported);
  EXPECT_NE(st.message().find("'bloom'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("module"), std::string::npos) << st.message();
  Rdb h(12);
  h.Op(24).S("hfe").L(1);
  EXPECT_EQ(ReadBytes(h.Done()).code(), Status::Code::kNotSupported);
}

// A library in the format of Redis 7.0's release candidates (opcode 246: name, engine,
// description flag, code) is converted as Redis converts it.
TEST_F(RedisRdbTest, PreGaFunctionLibraryIsConverted) {
  Rdb fn(10);
  fn.Op(0xF6)
      .S("mylib")
      .S("LUA")
      .L(1)
      .S("a description")
      .S("\nredis.register_function('f', function() return 1 end)");
  rdb::RdbStats stats;
  auto recs = ReadOk(fn.Done(), &stats);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].type, ckpt::kFunctionLibrary);
  EXPECT_EQ(recs[0].key, "mylib");
  EXPECT_EQ(recs[0].value,
            "#!LUA name=mylib\n\nredis.register_function('f', function() return 1 end)");
  EXPECT_EQ(stats.functions, 1u);
  Rdb trunc(10);
  trunc.Op(0xF6).S("lib");
  EXPECT_EQ(ReadBytes(trunc.Done()).code(), Status::Code::kCorruption);
}

TEST_F(RedisRdbTest, BadCollectionsAreRefusedWithTheKeyAndOffset) {
  struct Case {
    std::string name;
    Rdb file;
    std::string want;
  };
  std::vector<Case> cases;
  {
    Rdb f;
    f.Op(2).S("dup").L(2).S("a").S("a");
    cases.push_back({"duplicate set member", f, "duplicate member 'a' at offset 9"});
  }
  {
    Rdb f;
    f.Op(16).S("odd").S(Listpack({"f1", "v1", "f2"}));
    cases.push_back({"odd hash listpack", f, "odd number of entries"});
  }
  {
    Rdb f;
    std::string lp = Listpack({"a", "b"});
    lp[lp.size() - 2] = 5;  // the last entry's length trailer
    f.Op(20).S("badlp").S(lp);
    cases.push_back({"listpack trailer", f, "malformed listpack"});
  }
  {
    Rdb f;
    f.Op(17).S("nan").S(Listpack({"m", "nan"}));
    cases.push_back({"text NaN score", f, "is not a number"});
  }
  {
    Rdb f;
    f.Op(5).S("nan2").L(1).S("m");
    Le(&f.s, std::nan(""));
    cases.push_back({"binary NaN score", f, "NaN score"});
  }
  {
    Rdb f;
    f.Op(11).S("unsorted").S(Intset({3, 1}, 2));
    cases.push_back({"intset order", f, "ascending"});
  }
  {
    Rdb f;
    f.Op(1).S("huge").L(1ULL << 40);
    cases.push_back({"count beyond the file", f,
                     "list length 1099511627776 is larger than the rest of the file"});
  }
  {
    Rdb f;
    f.Op(0).S("lzf").Raw("\xC3").L(3).L(1000000).Raw("abc");
    cases.push_back({"LZF ratio", f, "implausible LZF lengths"});
  }
  {
    Rdb f;
    f.Op(0).S("lzf2").Raw("\xC3").L(2).L(3).Raw("\x20\x00");
    cases.push_back({"LZF reference", f, "does not decompress"});
  }
  {
    Rdb f;
    f.Op(0).S("enc").Raw("\xC7");
    cases.push_back({"string encoding", f, "unknown string encoding 7"});
  }
  {
    Rdb f;
    f.Op(8).S("eight");
    cases.push_back({"type 8", f, "unknown value type or opcode 8 at offset 9"});
  }
  {
    Rdb f;
    f.Op(18).S("ql").L(1).L(3).S("x");
    cases.push_back({"quicklist container", f, "unknown quicklist node container 3"});
  }
  for (auto& c : cases) {
    Status st = ReadBytes(c.file.Done());
    EXPECT_EQ(st.code(), Status::Code::kCorruption) << c.name << ": " << st.ToString();
    EXPECT_NE(st.message().find(c.want), std::string::npos) << c.name << ": " << st.message();
    EXPECT_NE(st.message().find(path() + ": "), std::string::npos)
        << c.name << ": " << st.message();
    EXPECT_NE(st.message().find(" at offset "), std::string::npos)
        << c.name << ": " << st.message();
  }
}

TEST_F(RedisRdbTest, EmptyCollectionsAreSkippedAndVisitorErrorsStopTheRead) {
  Rdb f;
  f.Op(2).S("empty").L(0).Op(13).S("empty2").S(Ziplist({})).Op(0).S("a").S("1").Op(0).S("b").S("2");
  rdb::RdbStats stats;
  auto recs = ReadOk(f.Done(), &stats);
  EXPECT_EQ(recs.size(), 2u);
  EXPECT_EQ(stats.empty_skipped, 2u);
  int calls = 0;
  Status st = rdb::ReadRedisRdb(
      FileSystem::Default(), path(),
      [&](const ckpt::Record&) {
        calls++;
        return Status::IOError("disk full");
      },
      nullptr);
  EXPECT_EQ(st.code(), Status::Code::kIOError);
  EXPECT_EQ(calls, 1);
}

// ---- writer -> reader ----

std::vector<Rec> Sample() {
  std::vector<Rec> recs;
  recs.push_back({0, 1, 0, "plain", "value"});
  recs.push_back({0, 1, 0, "int", "12345"});
  recs.push_back({0, 1, 0, "bigint", "12345678901234"});
  recs.push_back({0, 1, 0, "notint", "007"});
  recs.push_back({0, 1, 0, "minus0", "-0"});
  recs.push_back({0, 1, 0, "empty", ""});
  recs.push_back({0, 1, 1'900'000'000'000, "ttl", "x"});
  recs.push_back({0, 1, 0, "compressible", std::string(100000, 'a') + "tail"});
  std::string bin;
  for (int i = 0; i < 300; i++) bin.push_back(char(i * 37));
  recs.push_back({0, 1, 0, std::string("bin\0key", 7), bin});
  std::vector<std::string> list;
  for (int i = 0; i < 5000; i++)
    list.push_back(i % 3 ? std::to_string(i) : "elem" + std::to_string(i));
  recs.push_back({1, 2, 0, "list", Blob(ValueType::kList, list)});
  std::vector<std::string> set;
  for (int i = 0; i < 1000; i++) set.push_back("member:" + std::to_string(i));
  recs.push_back({1, 3, 1'900'000'000'001, "set", Blob(ValueType::kSet, set)});
  recs.push_back({1, 3, 0, "intset", Blob(ValueType::kSet, {"1", "-2", "300000"})});
  std::vector<std::string> zm;
  std::vector<double> zsc;
  for (int i = 0; i < 1000; i++) {
    zm.push_back("z" + std::to_string(i));
    zsc.push_back(i * 0.1 - 50);
  }
  zm.push_back("inf");
  zsc.push_back(INFINITY);
  recs.push_back({15, 4, 0, "zset", Blob(ValueType::kZSet, zm, zsc)});
  std::vector<std::string> h;
  for (int i = 0; i < 1000; i++) {
    h.push_back("field" + std::to_string(i));
    h.push_back(std::string(size_t(i % 70), 'v'));
  }
  recs.push_back({15, 5, 0, "hash", Blob(ValueType::kHash, h)});
  recs.push_back({0, 1, 0, "back-to-db0", "yes"});
  return recs;
}

TEST_F(RedisRdbTest, WriterRoundTripsThroughTheReader) {
  for (bool compress : {true, false}) {
    auto recs = Sample();
    rdb::RdbWriterOptions opts;
    opts.compress = compress;
    opts.ctime_s = 1'700'000'000;
    Write(recs, opts);
    std::string bytes = Bytes();
    EXPECT_EQ(bytes.substr(0, 9), "REDIS0010");
    if (compress) {
      EXPECT_LT(bytes.size(), 100000u);
    }
    std::vector<Rec> back;
    rdb::RdbStats stats;
    Status st = Read(&back, &stats);
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_TRUE(stats.checksum_verified);
    EXPECT_EQ(stats.keys, recs.size());
    EXPECT_EQ(stats.with_expire, 2u);
    ASSERT_EQ(back.size(), recs.size());
    for (size_t i = 0; i < recs.size(); i++) EXPECT_EQ(back[i], recs[i]) << i;
    bool has_ver = false;
    for (auto& [k, v] : stats.aux) has_ver |= k == "redis-ver" && v == "7.0.0";
    EXPECT_TRUE(has_ver);
  }
}

TEST_F(RedisRdbTest, WriterRefusesMalformedBlobsAndSkipsEmptyOnes) {
  auto f = FileSystem::Default()->NewWritableFile(path(), false);
  ASSERT_TRUE(f.ok());
  rdb::RedisRdbWriter w(std::move(f.value()));
  ASSERT_TRUE(w.Begin().ok());
  std::string good = Blob(ValueType::kSet, {"a", "b"});
  Status st = w.Add({0, 3, 0, "cut", std::string_view(good).substr(0, good.size() - 1)});
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_NE(st.message().find("key 'cut'"), std::string::npos) << st.message();
  // The blob is read by types/serialize's walker, with its words and offsets.
  EXPECT_NE(st.message().find("malformed value: truncated set member at byte 4 of the value"),
            std::string::npos)
      << st.message();
  st = w.Add({0, 3, 0, "trailing", good + "x"});
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_NE(st.message().find("trailing bytes at byte 5 of the value"), std::string::npos)
      << st.message();
  st = w.Add({0, 4, 0, "nan", Blob(ValueType::kZSet, {"m"}, {std::nan("")})});
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_NE(st.message().find("NaN score"), std::string::npos) << st.message();
  EXPECT_EQ(w.Add({0, 9, 0, "weird", "x"}).code(), Status::Code::kNotSupported);
  ASSERT_TRUE(w.Add({0, 3, 0, "empty", std::string(1, '\0')}).ok());
  ASSERT_TRUE(w.Add({0, 3, 0, "good", good}).ok());
  ASSERT_TRUE(w.Finish().ok());
  EXPECT_EQ(w.keys(), 1u);
  EXPECT_EQ(w.empty_skipped(), 1u);
  std::vector<Rec> back;  // the refused records left nothing behind
  ASSERT_TRUE(Read(&back).ok());
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0], (Rec{0, 3, 0, "good", good}));
}

TEST_F(RedisRdbTest, FilesLargerThanTheReadBuffer) {
  // Several MB of incompressible values and one string larger than the buffer: the reader
  // drops consumed bytes as it goes, and the checksum still covers every byte.
  std::vector<Rec> recs;
  std::mt19937_64 rng(5);
  for (int i = 0; i < 40000; i++) {
    std::string v(size_t(100 + rng() % 100), '\0');
    for (auto& ch : v) ch = char(rng());
    recs.push_back(
        {uint32_t(i % 4), 1, i % 7 ? 0 : 1'900'000'000'000 + i, "key:" + std::to_string(i), v});
  }
  std::string big(3 << 20, '\0');
  for (auto& ch : big) ch = char(rng());
  recs.insert(recs.begin() + 20000, Rec{2, 1, 0, "big", big});
  Write(recs);
  std::vector<Rec> back;
  rdb::RdbStats stats;
  Status st = Read(&back, &stats);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(stats.checksum_verified);
  ASSERT_EQ(back.size(), recs.size());
  for (size_t i = 0; i < recs.size(); i++) ASSERT_EQ(back[i], recs[i]) << i;
  // Damage deep in the file is reported at its true offset.
  std::string bytes = Bytes();
  size_t at = bytes.find("key:39000");
  ASSERT_NE(at, std::string::npos);
  std::string cut = bytes.substr(0, at + 3);
  st = ReadBytes(cut);
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_NE(st.message().find("at offset " + std::to_string(at - 1)), std::string::npos)
      << st.message();
}

// ---- damage ----

std::string SmallDump() {
  Rdb f(10);
  f.Op(0xFA).S("redis-ver").S("7.0.15");
  f.Op(0xFE).L(0).Op(0xFB).L(8).L(1);
  f.Op(0).S("s").S("hello world");
  f.Op(0xFC)
      .Raw(std::string("\x00\x10\xA5\xD4\xE8\x00\x00\x00", 8))
      .Op(0)
      .S("i")
      .Raw("\xC1\x39\x30");
  f.Op(2).S("set").L(2).S("a").S("b");
  f.Op(5).S("z").L(1).S("m");
  Le(&f.s, 1.0);
  f.Op(18)
      .S("ql2")
      .L(2)
      .L(2)
      .S(Listpack({"x", "17", "-300", std::string(100, 'q')}))
      .L(1)
      .S("plain");
  f.Op(16).S("hlp").S(Listpack({"f", "v", "n", "12"}));
  f.Op(11).S("is").S(Intset({1, 2, 3}, 2));
  f.Op(12).S("zzl").S(Ziplist({"a", "1", "b", "2.5"}));
  std::string zl = Ziplist(std::vector<std::string>(40, "lzfdata"));
  std::string c;
  rdb::LzfCompress(zl, zl.size(), &c);
  f.Op(10).S("lzf").Raw("\xC3");
  Len(&f.s, c.size());
  Len(&f.s, zl.size());
  f.Raw(c);
  return f.Done();
}

TEST_F(RedisRdbTest, EveryTruncationIsRefusedWithAnOffset) {
  std::string full = SmallDump();
  ASSERT_TRUE(ReadBytes(full).ok());
  for (size_t n = 0; n < full.size(); n++) {
    Status st = ReadBytes(full.substr(0, n));
    ASSERT_FALSE(st.ok()) << n;
    EXPECT_EQ(st.code(), Status::Code::kCorruption) << n << ": " << st.ToString();
    EXPECT_NE(st.message().find("offset"), std::string::npos) << n << ": " << st.message();
    EXPECT_EQ(st.message().rfind(path() + ": ", 0), 0u) << n << ": " << st.message();
  }
  Status st = ReadBytes(full + "x");
  EXPECT_NE(st.message().find("1 unexpected bytes after the end of the dump"), std::string::npos)
      << st.message();
}

TEST_F(RedisRdbTest, EverySingleByteFlipIsRefused) {
  std::string full = SmallDump();
  std::mt19937 rng(1);
  for (size_t i = 0; i < full.size(); i++) {
    std::string bad = full;
    bad[i] = char(bad[i] ^ (1 + rng() % 255));
    Status st = ReadBytes(bad);
    ASSERT_FALSE(st.ok()) << "flip at " << i;
    EXPECT_NE(st.message().find("offset"), std::string::npos) << i << ": " << st.message();
  }
  // The checksum is the last line of defence: a flip inside a string value.
  std::string bad = full;
  size_t at = bad.find("hello world");
  bad[at] = 'j';
  Status st = ReadBytes(bad);
  EXPECT_NE(st.message().find("checksum mismatch"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("at offset " + std::to_string(full.size() - 8)), std::string::npos)
      << st.message();
}

TEST_F(RedisRdbTest, RandomDamageWithoutAChecksumNeverCrashes) {
  std::string full = SmallDump();
  std::memset(full.data() + full.size() - 8, 0, 8);  // "not computed"
  ASSERT_TRUE(ReadBytes(full).ok());
  std::mt19937_64 rng(99);
  int refused = 0;
  for (int round = 0; round < 3000; round++) {
    std::string bad = full;
    int flips = 1 + int(rng() % 4);
    for (int k = 0; k < flips; k++) bad[9 + rng() % (bad.size() - 9)] = char(rng());
    if (rng() % 4 == 0) bad.resize(9 + rng() % (bad.size() - 9));
    if (rng() % 8 == 0) {
      for (size_t k = 9; k < bad.size(); k++) bad[k] = char(rng());
    }
    Status st = ReadBytes(bad);
    if (!st.ok()) {
      refused++;
      EXPECT_TRUE(st.code() == Status::Code::kCorruption ||
                  st.code() == Status::Code::kNotSupported)
          << st.ToString();
      EXPECT_NE(st.message().find("offset"), std::string::npos) << st.message();
    }
  }
  EXPECT_GT(refused, 1000);
}

}  // namespace
}  // namespace ferrite
