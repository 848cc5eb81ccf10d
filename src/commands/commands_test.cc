// In-process command tests: replies, expiry with a manual clock, transactions, WATCH, and
// the effects propagated to the AOF sink.

#include <gtest/gtest.h>

#include <set>

#include "commands/test_util.h"

namespace ferrite {
namespace {

class RecordingSink : public PropagationSink {
 public:
  void Propagate(int db, const std::vector<std::string>& argv) override {
    std::string line = std::to_string(db);
    for (auto& a : argv) line += " " + a;
    lines.push_back(line);
  }
  std::vector<std::string> lines;
};

class CommandsTest : public ::testing::Test {
 protected:
  CommandsTest() { h.engine().set_propagation_sink(&sink); }
  std::string Run(std::vector<std::string> a) { return h.Run(std::move(a)); }
  EngineHarness h;
  RecordingSink sink;
};

TEST_F(CommandsTest, SetGetAndOptions) {
  EXPECT_EQ(Run({"set", "k", "v"}), "+OK\r\n");
  EXPECT_EQ(Run({"get", "k"}), "$1\r\nv\r\n");
  EXPECT_EQ(Run({"set", "k", "w", "NX"}), "$-1\r\n");
  EXPECT_EQ(Run({"set", "k", "w", "XX", "GET"}), "$1\r\nv\r\n");
  EXPECT_EQ(Run({"set", "n", "w", "XX"}), "$-1\r\n");
  EXPECT_EQ(Run({"set", "k", "v", "EX", "0"}), "-ERR invalid expire time in 'set' command\r\n");
  EXPECT_EQ(Run({"set", "k", "v", "EX", "abc"}),
            "-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(Run({"set", "k", "v", "NX", "XX"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"set", "k", "v", "EX", "10", "KEEPTTL"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"get"}), "-ERR wrong number of arguments for 'get' command\r\n");
}

TEST_F(CommandsTest, ExpiryFollowsTheClockAndPropagatesAbsoluteTimes) {
  int64_t now = h.clock().NowMs();
  EXPECT_EQ(Run({"set", "k", "v", "EX", "10"}), "+OK\r\n");
  EXPECT_EQ(sink.lines.back(), "0 SET k v PXAT " + std::to_string(now + 10000));
  EXPECT_EQ(Run({"ttl", "k"}), ":10\r\n");
  h.clock().AdvanceMs(9999);
  EXPECT_EQ(Run({"get", "k"}), "$1\r\nv\r\n");
  h.clock().AdvanceMs(1);
  EXPECT_EQ(Run({"get", "k"}), "$-1\r\n");
  EXPECT_EQ(sink.lines.back(), "0 DEL k");  // lazy expiry reaches the AOF
  EXPECT_EQ(Run({"ttl", "k"}), ":-2\r\n");
  Run({"set", "p", "v"});
  EXPECT_EQ(Run({"expire", "p", "100"}), ":1\r\n");
  EXPECT_EQ(sink.lines.back(), "0 PEXPIREAT p " + std::to_string(h.clock().NowMs() + 100000));
  EXPECT_EQ(Run({"expire", "p", "50", "GT"}), ":0\r\n");
  EXPECT_EQ(Run({"expire", "p", "50", "LT"}), ":1\r\n");
  EXPECT_EQ(Run({"expire", "p", "50", "NX", "XX"}),
            "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n");
  EXPECT_EQ(Run({"persist", "p"}), ":1\r\n");
  EXPECT_EQ(Run({"ttl", "p"}), ":-1\r\n");
  EXPECT_EQ(Run({"expire", "p", "-1"}), ":1\r\n");
  EXPECT_EQ(Run({"exists", "p"}), ":0\r\n");
}

TEST_F(CommandsTest, ActiveExpiryRemovesUntouchedKeys) {
  for (int i = 0; i < 1000; i++) Run({"set", "k" + std::to_string(i), "v", "PX", "100"});
  Run({"set", "stay", "v"});
  EXPECT_EQ(Run({"dbsize"}), ":1001\r\n");
  h.clock().AdvanceMs(200);
  for (int i = 0; i < 100 && h.engine().db(0).size() > 1; i++) h.engine().Cron();
  EXPECT_EQ(Run({"dbsize"}), ":1\r\n");
  EXPECT_EQ(h.engine().ks_stats().expired_keys, 1000u);
}

TEST_F(CommandsTest, Counters) {
  EXPECT_EQ(Run({"incr", "c"}), ":1\r\n");
  EXPECT_EQ(Run({"incrby", "c", "41"}), ":42\r\n");
  EXPECT_EQ(Run({"decrby", "c", "2"}), ":40\r\n");
  Run({"set", "big", "9223372036854775807"});
  EXPECT_EQ(Run({"incr", "big"}), "-ERR increment or decrement would overflow\r\n");
  Run({"set", "s", "abc"});
  EXPECT_EQ(Run({"incr", "s"}), "-ERR value is not an integer or out of range\r\n");
  Run({"set", "f", "10.5"});
  EXPECT_EQ(Run({"incrbyfloat", "f", "0.1"}), "$4\r\n10.6\r\n");
  EXPECT_EQ(sink.lines.back(), "0 SET f 10.6 KEEPTTL");
  // Redis 7.0 answers exactly this (long double, %.17Lf): checked against redis-server.
  EXPECT_EQ(Run({"incrbyfloat", "f", "5.0e3"}), "$22\r\n5010.60000000000000009\r\n");
}

TEST_F(CommandsTest, RangesAndAppend) {
  EXPECT_EQ(Run({"append", "s", "Hello"}), ":5\r\n");
  EXPECT_EQ(Run({"append", "s", " World"}), ":11\r\n");
  EXPECT_EQ(Run({"getrange", "s", "0", "4"}), "$5\r\nHello\r\n");
  EXPECT_EQ(Run({"getrange", "s", "-5", "-1"}), "$5\r\nWorld\r\n");
  EXPECT_EQ(Run({"getrange", "s", "5", "3"}), "$0\r\n\r\n");
  EXPECT_EQ(Run({"setrange", "s", "6", "Redis"}), ":11\r\n");
  EXPECT_EQ(Run({"get", "s"}), "$11\r\nHello Redis\r\n");
  EXPECT_EQ(Run({"setrange", "z", "3", "x"}), ":4\r\n");
  EXPECT_EQ(Run({"get", "z"}), std::string("$4\r\n\0\0\0x\r\n", 10));
  EXPECT_EQ(Run({"object", "encoding", "s"}), "$3\r\nraw\r\n");
  EXPECT_EQ(Run({"strlen", "s"}), ":11\r\n");
}

TEST_F(CommandsTest, MultiExecPropagatesAsOneTransaction) {
  EXPECT_EQ(Run({"multi"}), "+OK\r\n");
  EXPECT_EQ(Run({"set", "a", "1"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"incr", "a"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"multi"}), "-ERR MULTI calls can not be nested\r\n");
  EXPECT_EQ(Run({"exec"}), "*2\r\n+OK\r\n:2\r\n");
  ASSERT_GE(sink.lines.size(), 4u);
  EXPECT_EQ(sink.lines[sink.lines.size() - 4], "0 MULTI");
  EXPECT_EQ(sink.lines[sink.lines.size() - 1], "0 EXEC");
  EXPECT_EQ(Run({"exec"}), "-ERR EXEC without MULTI\r\n");
  Run({"multi"});
  Run({"nosuchcommand"});
  EXPECT_EQ(Run({"exec"}), "-EXECABORT Transaction discarded because of previous errors.\r\n");
}

TEST_F(CommandsTest, WatchAbortsOnChange) {
  Run({"set", "w", "1"});
  EXPECT_EQ(Run({"watch", "w"}), "+OK\r\n");
  // Another client's write: modify through the engine from a second session.
  Session* other = h.engine().NewSession();
  other->authenticated = true;
  std::string out;
  ReplyBuilder rb(&out);
  std::vector<std::string_view> args = {"set", "w", "2"};
  h.engine().Execute(*other, args, rb);
  h.engine().DropSession(other);
  Run({"multi"});
  Run({"set", "w", "3"});
  EXPECT_EQ(Run({"exec"}), "*-1\r\n");
  EXPECT_EQ(Run({"get", "w"}), "$1\r\n2\r\n");
}

TEST_F(CommandsTest, KeysCommands) {
  Run({"mset", "a", "1", "b", "2", "c", "3"});
  EXPECT_EQ(Run({"exists", "a", "a", "z"}), ":2\r\n");
  EXPECT_EQ(Run({"rename", "a", "d"}), "+OK\r\n");
  EXPECT_EQ(Run({"rename", "a", "d"}), "-ERR no such key\r\n");
  EXPECT_EQ(Run({"renamenx", "b", "c"}), ":0\r\n");
  EXPECT_EQ(Run({"move", "d", "1"}), ":1\r\n");
  EXPECT_EQ(Run({"select", "1"}), "+OK\r\n");
  EXPECT_EQ(Run({"get", "d"}), "$1\r\n1\r\n");
  EXPECT_EQ(Run({"select", "16"}), "-ERR DB index is out of range\r\n");
  EXPECT_EQ(Run({"copy", "d", "e", "DB", "0"}), ":1\r\n");
  Run({"select", "0"});
  EXPECT_EQ(Run({"type", "e"}), "+string\r\n");
  EXPECT_EQ(Run({"type", "nope"}), "+none\r\n");
  EXPECT_EQ(Run({"del", "b", "c", "e", "zz"}), ":3\r\n");
  EXPECT_EQ(Run({"dbsize"}), ":0\r\n");
  EXPECT_EQ(Run({"swapdb", "0", "1"}), "+OK\r\n");
  EXPECT_EQ(Run({"dbsize"}), ":1\r\n");
}

TEST_F(CommandsTest, ScanReturnsEveryKey) {
  for (int i = 0; i < 5000; i++) Run({"set", "key:" + std::to_string(i), "v"});
  std::set<std::string> seen;
  std::string cursor = "0";
  int guard = 0;
  do {
    std::vector<std::string_view> args;
    std::string out = Run({"scan", cursor, "COUNT", "100"});
    // Parse "*2\r\n$<n>\r\n<cursor>\r\n*<m>\r\n($<k>\r\n<key>\r\n)*"
    size_t p = out.find("\r\n", 4);
    size_t q = out.find("\r\n", p + 2);
    cursor = out.substr(p + 2, q - p - 2);
    size_t pos = out.find("\r\n", q + 2) + 2;
    while (pos < out.size()) {
      size_t e = out.find("\r\n", pos);
      size_t len = std::stoul(out.substr(pos + 1, e - pos - 1));
      seen.insert(out.substr(e + 2, len));
      pos = e + 2 + len + 2;
    }
  } while (cursor != "0" && ++guard < 100000);
  EXPECT_EQ(seen.size(), 5000u);
  EXPECT_EQ(Run({"scan", "abc"}), "-ERR invalid cursor\r\n");
}

TEST_F(CommandsTest, UnknownCommandText) {
  EXPECT_EQ(Run({"foo", "a", "b"}),
            "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n");
}

TEST_F(CommandsTest, HelloSwitchesProtocol) {
  std::string r = Run({"hello", "3"});
  EXPECT_EQ(r.substr(0, 4), "%7\r\n");
  EXPECT_TRUE(h.session().resp3);
  EXPECT_EQ(Run({"get", "missing"}), "_\r\n");
  EXPECT_EQ(Run({"hello", "4"}), "-NOPROTO unsupported protocol version\r\n");
}

TEST_F(CommandsTest, DigestChangesWithDataAndIsOrderIndependent) {
  EXPECT_EQ(Run({"debug", "digest"}), "+" + std::string(40, '0') + "\r\n");
  Run({"set", "a", "1"});
  Run({"set", "b", "2"});
  std::string d1 = Run({"debug", "digest"});
  Run({"flushall"});
  Run({"set", "b", "2"});
  Run({"set", "a", "1"});
  EXPECT_EQ(Run({"debug", "digest"}), d1);
  Run({"set", "a", "3"});
  EXPECT_NE(Run({"debug", "digest"}), d1);
}

}  // namespace
}  // namespace ferrite
