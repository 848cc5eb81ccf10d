// Streams in Redis's RDB encoding: DUMP payloads redis-server 7.0.15 produced are read and
// written back byte for byte, a Redis 5 payload (type 15) loads as Redis 7.0 loads it, and
// damaged payloads are refused, never crash.

#include "persistence/rdb/rdb_stream.h"

#include <gtest/gtest.h>

#include <random>

#include "base/crc64.h"
#include "persistence/rdb/dump_payload.h"
#include "types/serialize.h"

namespace ferrite::rdb {
namespace {

std::string Unhex(std::string_view h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(char(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}

// XADD s 1-1..7-7 (a, i, b, "x" * 9i) with stream-node-max-entries 3, XDEL s 2-2, XGROUP
// CREATE s g1 0, XGROUP CREATE s g0 $, XREADGROUP g1 alice COUNT 3, bob COUNT 1, XGROUP
// CREATECONSUMER s g1 carol; DUMP s with rdbcompression no.
const char* kFull =
    "13031000000000000000010000000000000001406f6f00000018000201010102018161028162020001020100010001"
    "01"
    "01897878787878787878780a0501030101010101020192787878787878787878787878787878787878130501020102"
    "01"
    "020103019b7878787878787878787878787878787878787878787878787878781c0501ff1000000000000000040000"
    "00"
    "000000000440c0c0000000180003010001020181610281620200010201000100010401a47878787878787878787878"
    "78"
    "7878787878787878787878787878787878787878787878782505010201010101010501ad7878787878787878787878"
    "78"
    "7878787878787878787878787878787878787878787878787878787878787878782e05010201020102010601b67878"
    "78"
    "7878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878"
    "78"
    "787878370501ff10000000000000000700000000000000074060600000000c00010100010201816102816202000102"
    "01"
    "000100010701bf78787878787878787878787878787878787878787878787878787878787878787878787878787878"
    "78"
    "78787878787878787878787878787878787878787878400501ff060707010102020702026730070781ffffffffffff"
    "ff"
    "ff0000026731050581ffffffffffffffff04000000000000000100000000000000010613b63ba20100000100000000"
    "00"
    "00000300000000000000030613b63ba201000001000000000000000400000000000000040613b63ba2010000010000"
    "00"
    "000000000500000000000000050613b63ba2010000010305616c6963650613b63ba201000003000000000000000100"
    "00"
    "000000000001000000000000000300000000000000030000000000000004000000000000000403626f620613b63ba2"
    "01"
    "00000100000000000000050000000000000005056361726f6c0613b63ba2010000000a00874656c1c5b1d25a";
// XADD e 1-1 a 1, XDEL e 1-1, XGROUP CREATE e g $: an empty stream with a group.
const char* kEmpty = "13000001010000010101010167010181ffffffffffffffff00000a0066d59d99ad2a1738";
// The payload of stream-cgroups.tcl's "Loading from legacy (Redis <= v6.2.x, rdb_ver < 10)
// persistence": type 15, LZF-compressed node.
const char* kLegacy =
    "0f011000000000000000010000000000000000c3404a40571657000000230002010401010184646174610500010301"
    "00"
    "20010381610204200a0001400a0062600a0002400a0063600a4022018164200a4039200a0065600a0005400a006620"
    "0a"
    "00ff02060002026731050004000000000000000100000000000000003ef783437a0100000100000000000000020000"
    "00"
    "00000000003ef783437a01000001000000000000000400000000000000003ef783437a010000010000000000000005"
    "00"
    "000000000000003ef783437a0100000101036331313ef783437a010000040000000000000001000000000000000000"
    "00"
    "0000000000020000000000000000000000000000000400000000000000000000000000000005000000000000000002"
    "67"
    "320000000009003d52ef6867521dfa";

StreamObject* S(Value& v) { return v.As<StreamObject>(); }

TEST(RdbStream, RedisPayloadsRoundTripByteForByte) {
  for (const char* hex : {kFull, kEmpty}) {
    std::string p = Unhex(hex);
    ASSERT_TRUE(VerifyDumpPayload(p));
    auto v = DecodeDumpPayload(p, {});
    ASSERT_TRUE(v.ok()) << v.status().message();
    DumpOptions o;
    o.compress = false;
    EXPECT_EQ(CreateDumpPayload(v.value(), o), p);
  }
  auto v = DecodeDumpPayload(Unhex(kFull), {});
  StreamObject* s = S(v.value());
  EXPECT_EQ(s->length, 6u);
  EXPECT_EQ(s->node_count(), 3u);
  EXPECT_EQ(s->RadixTreeNodes(), 8u);  // XINFO said 8
  EXPECT_EQ(s->max_deleted_id, (StreamID{2, 2}));
  EXPECT_EQ(s->entries_added, 7u);
  StreamGroup* g1 = s->FindGroup("g1");
  ASSERT_NE(g1, nullptr);
  EXPECT_EQ(g1->pel.size(), 4u);
  EXPECT_EQ(g1->FindConsumer("alice")->pel.size(), 3u);
  EXPECT_EQ(g1->FindConsumer("carol")->pel.size(), 0u);
  EXPECT_EQ(g1->pel.find(StreamID{5, 5})->second->consumer->name, "bob");
  EXPECT_EQ(g1->entries_read, -1);
  // Written compressed, it reads back the same.
  std::string again = CreateDumpPayload(v.value());
  auto w = DecodeDumpPayload(again, {});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(CanonicalBytes(v.value()), CanonicalBytes(w.value()));
}

TEST(RdbStream, LegacyType15LoadsAsRedis70) {
  auto v = DecodeDumpPayload(Unhex(kLegacy), {});
  ASSERT_TRUE(v.ok()) << v.status().message();
  StreamObject* s = S(v.value());
  // What the TCL test checks after RESTORE on Redis 7.0.
  EXPECT_EQ(s->max_deleted_id, (StreamID{0, 0}));
  EXPECT_EQ(s->entries_added, 2u);
  int64_t lag;
  StreamGroup* g1 = s->FindGroup("g1");
  StreamGroup* g2 = s->FindGroup("g2");
  ASSERT_TRUE(g1 && g2);
  EXPECT_EQ(g1->entries_read, 1);
  ASSERT_TRUE(s->GroupLag(*g1, &lag));
  EXPECT_EQ(lag, 1);
  EXPECT_EQ(g2->entries_read, 0);
  ASSERT_TRUE(s->GroupLag(*g2, &lag));
  EXPECT_EQ(lag, 2);
}

std::string Rewrap(std::string p) {  // a fresh checksum for a changed body
  p.resize(p.size() - 8);
  uint64_t crc = Crc64(0, p.data(), p.size());
  p.append(reinterpret_cast<const char*>(&crc), 8);
  return p;
}

TEST(RdbStream, EveryTruncationAndFlipIsAnErrorOrAValue) {
  for (const char* hex : {kFull, kEmpty, kLegacy}) {
    std::string p = Unhex(hex);
    std::string body = p.substr(0, p.size() - 10), footer = p.substr(p.size() - 10);
    for (size_t n = 1; n < body.size(); n++) {
      auto v = DecodeDumpPayload(Rewrap(body.substr(0, n) + footer), {});
      if (v.ok()) (void)CanonicalBytes(v.value());  // a shorter valid value: fine
    }
    int refused = 0;
    for (size_t i = 1; i < body.size(); i++) {
      for (int bit = 0; bit < 8; bit += 3) {
        std::string b = body;
        b[i] = char(b[i] ^ (1 << bit));
        auto v = DecodeDumpPayload(Rewrap(b + footer), {});
        if (!v.ok()) {
          refused++;
          continue;
        }
        // Accepted: usable, and it writes and reads back.
        std::string again = CreateDumpPayload(v.value());
        ASSERT_TRUE(DecodeDumpPayload(again, {}).ok());
      }
    }
    EXPECT_GT(refused, 0);
  }
}

}  // namespace
}  // namespace ferrite::rdb
