// Golden checkpoint files: one file per accepted format version (1 to 6), each written by
// the writer of the commit that introduced that version (tests/data/checkpoint/
// make_golden.sh says which), loaded with today's reader into an engine and checked key by
// key and value by value. A change to the reader that stops it reading what an older
// release wrote fails here, even when today's writer and reader still agree with each other.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "base/coding.h"
#include "commands/test_util.h"
#include "persistence/apply_record.h"
#include "persistence/checkpoint/checkpoint_format.h"

namespace ferrite {
namespace {

std::string GoldenPath(int version) {
  return std::string(FERRITE_SOURCE_DIR) + "/tests/data/checkpoint/v" + std::to_string(version) +
         ".ckpt";
}

std::string Bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}

// The block types in the file, in order (the frame: type, u32 length, payload, u64 sum).
std::vector<uint8_t> BlockTypes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string b = ss.str();
  std::vector<uint8_t> types;
  for (size_t off = 12; off + 5 <= b.size();) {
    types.push_back(uint8_t(b[off]));
    off += 5 + DecodeFixed32(b.data() + off + 1) + 8;
  }
  return types;
}

bool Has(const std::vector<uint8_t>& v, uint8_t t) {
  return std::find(v.begin(), v.end(), t) != v.end();
}

class CheckpointGolden : public ::testing::TestWithParam<int> {};

TEST_P(CheckpointGolden, LoadsEveryKeyAndValue) {
  const int version = GetParam();
  const std::string path = GoldenPath(version);
  EngineHarness h;
  ckpt::ReadStats rs;
  uint64_t expired = 0;
  std::map<std::string, std::string> tier_refs, libraries;
  Status st = ckpt::Read(
      FileSystem::Default(), path, /*verify_checksums=*/true,
      [&](const ckpt::Record& r) {
        // A tier reference names a segment this test does not have; a library needs a
        // scripting engine (scripting_persistence_test loads those): both are checked as
        // records.
        if (r.type & ckpt::kTierRefFlag) {
          tier_refs[std::string(r.key)] = std::string(r.value);
          EXPECT_EQ(r.type, 1 | ckpt::kTierRefFlag);
          return Status::Ok();
        }
        if (r.type == ckpt::kFunctionLibrary) {
          EXPECT_EQ(r.db, 0u);
          EXPECT_EQ(r.expire_ms, 0);
          libraries[std::string(r.key)] = std::string(r.value);
          return Status::Ok();
        }
        return ApplyRecord(&h.engine(), path, r, CollectionLimits{}, 0, &expired);
      },
      &rs);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(rs.version, uint32_t(version));
  EXPECT_EQ(rs.header.created_ms, 1700000000000);
  EXPECT_EQ(rs.header.databases, 16u);
  EXPECT_EQ(rs.header.aof_id, version >= 2 ? 0x1122334455667788ULL : 0u);

  // db 0: strings, the expiry, and every collection type of format 1.
  int db0 = 8 + (version >= 2) + (version >= 4) + (version >= 5);
  EXPECT_EQ(rs.keys, uint64_t(db0 + 1 + (version >= 3) + (version >= 6)));
  EXPECT_EQ(h.Run({"dbsize"}), ":" + std::to_string(db0) + "\r\n");
  EXPECT_EQ(h.Run({"get", "str"}), Bulk("hello"));
  EXPECT_EQ(h.Run({"get", "int"}), Bulk("12345"));
  EXPECT_EQ(h.Run({"get", "bin"}), Bulk(std::string_view("\0\xff\r\n binary", 11)));
  EXPECT_EQ(h.Run({"pttl", "str"}), ":-1\r\n");
  EXPECT_EQ(h.Run({"get", "ttl"}), Bulk("expiring"));
  EXPECT_EQ(h.Run({"pexpiretime", "ttl"}), ":4102444800000\r\n");
  EXPECT_EQ(h.Run({"type", "list"}), "+list\r\n");
  EXPECT_EQ(h.Run({"lrange", "list", "0", "-1"}),
            "*6\r\n" + Bulk("a") + Bulk("b") + Bulk("c") + Bulk("") + Bulk("dup") + Bulk("dup"));
  EXPECT_EQ(h.Run({"type", "set"}), "+set\r\n");
  EXPECT_EQ(h.Run({"sort", "set", "alpha"}), "*3\r\n" + Bulk("x") + Bulk("y") + Bulk("z"));
  EXPECT_EQ(h.Run({"type", "zset"}), "+zset\r\n");
  EXPECT_EQ(
      h.Run({"zrange", "zset", "0", "-1", "withscores"}),
      "*6\r\n" + Bulk("m2") + Bulk("-2") + Bulk("m1") + Bulk("1.5") + Bulk("m3") + Bulk("inf"));
  EXPECT_EQ(h.Run({"type", "hash"}), "+hash\r\n");
  EXPECT_EQ(h.Run({"hlen", "hash"}), ":2\r\n");
  EXPECT_EQ(h.Run({"hget", "hash", "f1"}), Bulk("v1"));
  EXPECT_EQ(h.Run({"hget", "hash", "f2"}), Bulk(""));

  std::vector<uint8_t> blocks = BlockTypes(path);
  EXPECT_EQ(blocks.front(), ckpt::kHeader);
  EXPECT_EQ(blocks.back(), ckpt::kFooter);
  // Format 2: lz4 entries blocks (the repetitive value makes the block shrink) and the
  // AOF link block.
  EXPECT_EQ(Has(blocks, ckpt::kEntriesLz4), version >= 2);
  EXPECT_EQ(Has(blocks, ckpt::kAofLink), version >= 2);
  if (version >= 2) {
    std::string rep;
    for (int i = 0; i < 2000; i++) rep += "abcd";
    EXPECT_EQ(h.Run({"get", "rep"}), Bulk(rep));
  }
  // Format 3: a tier reference (u32 segment, offset, length).
  if (version >= 3) {
    ASSERT_EQ(tier_refs.count("tiered"), 1u);
    const std::string& ref = tier_refs["tiered"];
    ASSERT_EQ(ref.size(), 12u);
    EXPECT_EQ(DecodeFixed32(ref.data()), 7u);
    EXPECT_EQ(DecodeFixed32(ref.data() + 4), 40u);
    EXPECT_EQ(DecodeFixed32(ref.data() + 8), 100u);
  } else {
    EXPECT_TRUE(tier_refs.empty());
  }
  // Format 4: a value streamed in lz4 value chunks.
  EXPECT_EQ(rs.streamed, version >= 4 ? 1u : 0u);
  EXPECT_EQ(Has(blocks, ckpt::kValueChunkLz4), version >= 4);
  if (version >= 4) {
    std::string large;
    while (large.size() < 70000) large += "0123456789";
    EXPECT_EQ(h.Run({"get", "large"}), Bulk(large));
  }
  // Format 5: a stream with a consumer group, its pending entries and consumer.
  if (version >= 5) {
    EXPECT_EQ(h.Run({"type", "stream"}), "+stream\r\n");
    EXPECT_EQ(h.Run({"xrange", "stream", "-", "+"}),
              "*3\r\n*2\r\n" + Bulk("1-1") + "*2\r\n" + Bulk("a") + Bulk("1") + "*2\r\n" +
                  Bulk("1-2") + "*4\r\n" + Bulk("a") + Bulk("2") + Bulk("b") + Bulk("x") +
                  "*2\r\n" + Bulk("2-0") + "*2\r\n" + Bulk("c") + Bulk("3"));
    // The harness's clock stands at 1700000000000 ms, the delivery time: idle 0.
    EXPECT_EQ(h.Run({"xpending", "stream", "g", "-", "+", "10"}),
              "*2\r\n*4\r\n" + Bulk("1-1") + Bulk("alice") + ":0\r\n:1\r\n*4\r\n" + Bulk("1-2") +
                  Bulk("alice") + ":0\r\n:2\r\n");
    EXPECT_EQ(h.Run({"xinfo", "groups", "stream"}),
              "*1\r\n*12\r\n" + Bulk("name") + Bulk("g") + Bulk("consumers") + ":1\r\n" +
                  Bulk("pending") + ":2\r\n" + Bulk("last-delivered-id") + Bulk("1-2") +
                  Bulk("entries-read") + ":2\r\n" + Bulk("lag") + ":1\r\n");
  }
  // Format 6: a function library record.
  if (version >= 6) {
    ASSERT_EQ(libraries.size(), 1u);
    EXPECT_EQ(libraries["mylib"],
              "#!lua name=mylib\nredis.register_function('f', function() return 1 end)");
  } else {
    EXPECT_TRUE(libraries.empty());
  }

  // db 3.
  ASSERT_EQ(h.Run({"select", "3"}), "+OK\r\n");
  EXPECT_EQ(h.Run({"dbsize"}), ":1\r\n");
  EXPECT_EQ(h.Run({"get", "other"}), Bulk("db3 value"));
  EXPECT_EQ(expired, 0u);
}

INSTANTIATE_TEST_SUITE_P(Versions, CheckpointGolden, ::testing::Range(1, int(ckpt::kVersion) + 1),
                         [](const ::testing::TestParamInfo<int>& i) {
                           return "v" + std::to_string(i.param);
                         });

}  // namespace
}  // namespace ferrite
