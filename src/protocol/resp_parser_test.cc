// RESP parser: whole, split, pipelined, random, truncated and malformed input.

#include "protocol/resp_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace ferrite {
namespace {

std::string Encode(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (auto& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

// 1..20 commands of 1..5 binary arguments of 0..39 bytes, encoded; *cmds gets them.
std::string RandomPipeline(std::mt19937& rng, std::vector<std::vector<std::string>>* cmds) {
  std::string stream;
  int n = 1 + int(rng() % 20);
  for (int i = 0; i < n; i++) {
    std::vector<std::string> cmd;
    int argc = 1 + int(rng() % 5);
    for (int j = 0; j < argc; j++) {
      std::string a(rng() % 40, '\0');
      for (auto& c : a) c = char(rng() % 256);
      cmd.push_back(a);
    }
    stream += Encode(cmd);
    cmds->push_back(cmd);
  }
  return stream;
}

// Feeds the stream in pieces of the given sizes, as a socket would deliver it, keeping
// unconsumed bytes like the connection buffer does. Returns every parsed command.
std::vector<std::vector<std::string>> FeedSplit(RespParser& p, const std::string& stream,
                                                const std::vector<size_t>& pieces,
                                                std::string* error = nullptr) {
  std::vector<std::vector<std::string>> cmds;
  std::string buf;
  size_t off = 0, pi = 0;
  while (off < stream.size()) {
    size_t n = std::min(pieces[pi++ % pieces.size()], stream.size() - off);
    buf.append(stream, off, n);
    off += n;
    while (!buf.empty()) {
      auto r = p.Parse(buf.data(), buf.size());
      if (r == RespParser::Result::kIncomplete) break;
      if (r == RespParser::Result::kError) {
        if (error) *error = p.error();
        return cmds;
      }
      cmds.emplace_back(p.args().begin(), p.args().end());
      buf.erase(0, p.consumed());
    }
  }
  return cmds;
}

TEST(RespParser, WholeCommand) {
  RespParser p;
  std::string s = Encode({"SET", "key", "value"});
  ASSERT_EQ(p.Parse(s.data(), s.size()), RespParser::Result::kCommand);
  ASSERT_EQ(p.args().size(), 3u);
  EXPECT_EQ(p.args()[0], "SET");
  EXPECT_EQ(p.args()[2], "value");
  EXPECT_EQ(p.consumed(), s.size());
}

TEST(RespParser, BinarySafeAndEmptyArgs) {
  RespParser p;
  std::string bin("a\r\nb\0c", 6);
  std::string s = Encode({"SET", "", bin});
  ASSERT_EQ(p.Parse(s.data(), s.size()), RespParser::Result::kCommand);
  EXPECT_EQ(p.args()[1], "");
  EXPECT_EQ(p.args()[2], bin);
}

TEST(RespParser, ByteByByteSplit) {
  RespParser p;
  std::string stream = Encode({"SET", "k", std::string(1000, 'x')}) + Encode({"GET", "k"});
  auto cmds = FeedSplit(p, stream, {1});
  ASSERT_EQ(cmds.size(), 2u);
  EXPECT_EQ(cmds[0][2], std::string(1000, 'x'));
  EXPECT_EQ(cmds[1][0], "GET");
}

TEST(RespParser, RandomSplitsOfRandomPipelines) {
  std::mt19937 rng(42);
  for (int round = 0; round < 200; round++) {
    std::vector<std::vector<std::string>> want;
    std::string stream = RandomPipeline(rng, &want);
    std::vector<size_t> pieces;
    for (int i = 0; i < 8; i++) pieces.push_back(1 + rng() % 64);
    RespParser p;
    auto got = FeedSplit(p, stream, pieces);
    ASSERT_EQ(got, want) << "round " << round;
  }
}

// The look-ahead used to prefetch a pipeline's keys: the same command boundaries and
// second argument as the parser, and false (never a wrong answer) for anything partial.
TEST(PeekCommand, AgreesWithTheParserOnRandomPipelines) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; round++) {
    std::vector<std::vector<std::string>> cmds;
    std::string stream = RandomPipeline(rng, &cmds);
    size_t off = 0;
    RespParser p;
    while (off < stream.size()) {
      std::string_view second;
      size_t size = 0;
      ASSERT_TRUE(PeekCommand(stream.data() + off, stream.size() - off, &second, &size));
      ASSERT_EQ(p.Parse(stream.data() + off, stream.size() - off), RespParser::Result::kCommand);
      ASSERT_EQ(size, p.consumed());
      EXPECT_EQ(second, p.args().size() >= 2 ? p.args()[1] : std::string_view());
      // Every strict prefix of the command is "don't know".
      for (size_t cut = 0; cut < size; cut++) {
        size_t sz = 0;
        ASSERT_FALSE(PeekCommand(stream.data() + off, cut, &second, &sz)) << cut;
      }
      off += size;
    }
  }
}

TEST(PeekCommand, DeclinesWhatItDoesNotHandle) {
  std::string_view second;
  size_t size = 0;
  for (std::string s :
       {std::string("PING\r\n"), std::string("*-1\r\n"), std::string("*1\r\n$-1\r\n"),
        std::string("*1\r\n$3\r\nGETxx"), std::string("*1\r\n:3\r\nGET\r\n"),
        std::string("*2\r\n$3\r\nGET\r\n$99999999999999999999999\r\n"),
        Encode(std::vector<std::string>(17, "a"))}) {
    EXPECT_FALSE(PeekCommand(s.data(), s.size(), &second, &size)) << s;
  }
  std::string get = Encode({"GET", "key"});
  ASSERT_TRUE(PeekCommand(get.data(), get.size(), &second, &size));
  EXPECT_EQ(second, "key");
  EXPECT_EQ(size, get.size());
}

TEST(RespParser, TruncatedIsIncompleteNeverError) {
  std::string s = Encode({"SET", "key", "some value"});
  for (size_t cut = 1; cut < s.size(); cut++) {
    RespParser p;
    EXPECT_EQ(p.Parse(s.data(), cut), RespParser::Result::kIncomplete) << "cut at " << cut;
  }
}

TEST(RespParser, InlineCommands) {
  RespParser p;
  std::string s = "SET k \"a b\\n\" 'c d'\r\nPING\n";
  ASSERT_EQ(p.Parse(s.data(), s.size()), RespParser::Result::kCommand);
  ASSERT_EQ(p.args().size(), 4u);
  EXPECT_EQ(p.args()[2], "a b\n");
  EXPECT_EQ(p.args()[3], "c d");
  size_t used = p.consumed();
  ASSERT_EQ(p.Parse(s.data() + used, s.size() - used), RespParser::Result::kCommand);
  ASSERT_EQ(p.args().size(), 1u);
  EXPECT_EQ(p.args()[0], "PING");
}

TEST(RespParser, EmptyInlineLineYieldsNoArgs) {
  RespParser p;
  std::string s = "\r\n";
  ASSERT_EQ(p.Parse(s.data(), s.size()), RespParser::Result::kCommand);
  EXPECT_TRUE(p.args().empty());
  EXPECT_EQ(p.consumed(), 2u);
}

struct BadCase {
  const char* input;
  const char* error;
};

TEST(RespParser, MalformedInputsGiveRedisErrors) {
  const BadCase cases[] = {
      {"*abc\r\n", "Protocol error: invalid multibulk length"},
      {"*1\r\n+foo\r\n", "Protocol error: expected '$', got '+'"},
      {"*1\r\n$abc\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n$-5\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n$3\r\nfooXX", "Protocol error: invalid bulk length"},
      {"*99999999999\r\n", "Protocol error: invalid multibulk length"},
      {"SET k \"unbalanced\r\n", "Protocol error: unbalanced quotes in request"},
  };
  for (const auto& c : cases) {
    RespParser p;
    std::string s = c.input;
    EXPECT_EQ(p.Parse(s.data(), s.size()), RespParser::Result::kError) << c.input;
    EXPECT_EQ(p.error(), c.error) << c.input;
  }
}

TEST(RespParser, BulkOverLimitRejected) {
  RespParser p(RespLimits{1024, 64 * 1024, 1024 * 1024});
  std::string s = "*1\r\n$1025\r\n";
  EXPECT_EQ(p.Parse(s.data(), s.size()), RespParser::Result::kError);
  EXPECT_EQ(p.error(), "Protocol error: invalid bulk length");
}

TEST(RespParser, InlineTooBig) {
  RespParser p;
  std::string s(70 * 1024, 'a');
  EXPECT_EQ(p.Parse(s.data(), s.size()), RespParser::Result::kError);
  EXPECT_EQ(p.error(), "Protocol error: too big inline request");
}

TEST(RespParser, RandomGarbageNeverCrashes) {
  std::mt19937 rng(7);
  for (int round = 0; round < 5000; round++) {
    std::string s(rng() % 64, '\0');
    const char alphabet[] = "*$\r\n0123456789-+:abc \"'\\x";
    for (auto& c : s) c = alphabet[rng() % (sizeof(alphabet) - 1)];
    RespParser p;
    size_t off = 0;
    for (int steps = 0; steps < 100 && off < s.size(); steps++) {
      auto r = p.Parse(s.data() + off, s.size() - off);
      if (r != RespParser::Result::kCommand) break;
      ASSERT_LE(p.consumed(), s.size() - off);
      ASSERT_GT(p.consumed(), 0u);
      off += p.consumed();
    }
  }
}

}  // namespace
}  // namespace ferrite
