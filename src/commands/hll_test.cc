// HyperLogLog commands. The literal bytes and counts below are what redis-server 7.0
// answers for the same commands: the format, the hash and the estimator must all match.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "commands/test_util.h"

namespace ferrite {
namespace {

class RecordingSink : public PropagationSink {
 public:
  void Propagate(int, const std::vector<std::string>& argv) override {
    std::string line;
    for (auto& a : argv) line += (line.empty() ? "" : " ") + a;
    lines.push_back(line);
  }
  std::vector<std::string> lines;
};

std::string Hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

std::string Unhex(std::string_view h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) {
    out += char(std::stoi(std::string(h.substr(i, 2)), nullptr, 16));
  }
  return out;
}

std::string Int(int64_t v) { return ":" + std::to_string(v) + "\r\n"; }
std::string Err(const std::string& e) { return "-" + e + "\r\n"; }

const std::string kNotHll = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const std::string kCorrupt = "INVALIDOBJ Corrupted HLL object detected";
const std::string kSparseHdr = Unhex("48594c4c010000000000000000000080");  // stale cache

class HllTest : public ::testing::Test {
 protected:
  HllTest() { h.engine().set_propagation_sink(&sink); }
  std::string Run(std::vector<std::string> a) { return h.Run(std::move(a)); }
  // The value of a key as raw bytes (GET's bulk payload).
  std::string Get(const std::string& key) {
    std::string r = Run({"get", key});
    if (r.rfind("$", 0) != 0 || r == "$-1\r\n") return "";
    size_t nl = r.find("\r\n");
    size_t n = std::stoul(r.substr(1, nl - 1));
    return r.substr(nl + 2, n);
  }
  // PFADD of prefix0..prefix(n-1), 1000 per command.
  void AddRange(const std::string& key, const std::string& prefix, int n) {
    for (int i = 0; i < n; i += 1000) {
      std::vector<std::string> cmd{"pfadd", key};
      for (int j = i; j < std::min(n, i + 1000); j++) cmd.push_back(prefix + std::to_string(j));
      Run(cmd);
    }
  }
  EngineHarness h;
  RecordingSink sink;
};

TEST_F(HllTest, NewKeyIsAnEmptySparseHll) {
  EXPECT_EQ(Run({"pfadd", "o"}), Int(1));
  EXPECT_EQ(Hex(Get("o")), "48594c4c0100000000000000000000807fff");
  EXPECT_EQ(Run({"pfadd", "o"}), Int(0));
  EXPECT_EQ(Run({"pfcount", "o"}), Int(0));
  EXPECT_EQ(Hex(Get("o")), "48594c4c0100000000000000000000007fff");
  EXPECT_EQ(Run({"pfcount", "missing"}), Int(0));
  EXPECT_EQ(Run({"exists", "missing"}), Int(0));
}

TEST_F(HllTest, BytesMatchRedis) {
  EXPECT_EQ(Run({"pfadd", "h", "a", "b", "c"}), Int(1));
  EXPECT_EQ(Hex(Get("h")), "48594c4c01000000000000000000008060f38050b1844bfb80425a");
  EXPECT_EQ(Run({"pfadd", "h", "a", "b", "c"}), Int(0));
  EXPECT_EQ(Run({"pfadd", "h", "b", "d"}), Int(1));

  EXPECT_EQ(Run({"pfadd", "one", "hello"}), Int(1));
  EXPECT_EQ(Hex(Get("one")), "48594c4c01000000000000000000008063ff805bfe");

  std::vector<std::string> cmd{"pfadd", "t"};
  for (int i = 0; i < 20; i++) cmd.push_back("e" + std::to_string(i));
  Run(cmd);
  EXPECT_EQ(Hex(Get("t")),
            "48594c4c01000000000000000000008042358842ee8044528042da844bd08c406f8043868042ac8041"
            "648441b884453d90435884430d8441038446d18047e684408880406a8440488013804152");
  EXPECT_EQ(Run({"pfdebug", "decode", "t"}),
            "$248\r\nZ:566 v:3,1 Z:751 v:1,1 Z:1107 v:1,1 Z:731 v:2,1 Z:3025 v:4,1 Z:112 v:1,1 "
            "Z:903 v:1,1 Z:685 v:1,1 Z:357 v:2,1 Z:441 v:2,1 Z:1342 v:5,1 Z:857 v:2,1 Z:782 "
            "v:2,1 Z:260 v:2,1 Z:1746 v:1,1 Z:2023 v:2,1 Z:137 v:1,1 Z:107 v:2,1 Z:73 v:1,1 "
            "z:20 v:1,1 Z:339\r\n");
  EXPECT_EQ(Run({"pfcount", "t"}), Int(20));
  EXPECT_EQ(Hex(Get("t").substr(0, 16)), "48594c4c010000001400000000000000");
}

TEST_F(HllTest, OneAtATimeSparseUpdatesMatchRedis) {
  // Exercises opcode splits and the VAL merges after each update.
  for (int i = 0; i < 300; i++) Run({"pfadd", "s", "x" + std::to_string(i)});
  std::string v = Get("s");
  EXPECT_EQ(v.size(), 688u);
  EXPECT_EQ(Hex(v.substr(0, 32)),
            "48594c4c010000000000000000000080278c0f8001804061802784404d8040de");
  EXPECT_EQ(Hex(v.substr(v.size() - 20)), "80158404803c8120800d800b8c404388048c405b");
  EXPECT_EQ(Run({"pfcount", "s"}), Int(299));

  std::vector<std::string> replies;
  for (int i = 0; i < 40; i++) replies.push_back(Run({"pfadd", "y", "y" + std::to_string(i % 30)}));
  for (int i = 0; i < 40; i++) EXPECT_EQ(replies[size_t(i)], Int(i < 30 ? 1 : 0)) << i;
}

TEST_F(HllTest, CountsMatchRedis) {
  struct Case {
    int n;
    int64_t count;
    const char* encoding;
    size_t size;
  };
  const Case cases[] = {{1, 1, "sparse", 21},
                        {10, 10, "sparse", 48},
                        {100, 100, "sparse", 285},
                        {200, 200, "sparse", 513},
                        {500, 506, "sparse", 1068},
                        {1000, 1008, "sparse", 1906},
                        {3000, 2979, "dense", 12304},
                        {10000, 9973, "dense", 12304},
                        {100000, 100853, "dense", 12304}};
  for (const Case& c : cases) {
    Run({"del", "h"});
    AddRange("h", "e", c.n);
    EXPECT_EQ(Get("h").size(), c.size) << c.n;
    EXPECT_EQ(Run({"pfdebug", "encoding", "h"}), "+" + std::string(c.encoding) + "\r\n") << c.n;
    EXPECT_EQ(Run({"pfcount", "h"}), Int(c.count)) << c.n;
    EXPECT_EQ(Run({"pfcount", "h"}), Int(c.count)) << c.n;  // from the cache
  }
}

// hll_sparse_max_bytes (Redis's hll-sparse-max-bytes) moves the sparse -> dense switch; the
// sizes are redis-server 7.0's for the same settings.
TEST_F(HllTest, SparseMaxBytesIsAConfigKey) {
  EXPECT_EQ(Run({"config", "set", "hll-sparse-max-bytes", "500"}), "+OK\r\n");
  EXPECT_EQ(Run({"config", "get", "hll-sparse-max-bytes"}),
            "*2\r\n$20\r\nhll-sparse-max-bytes\r\n$3\r\n500\r\n");
  AddRange("small", "e", 200);  // 513 bytes sparse: past 500, so dense
  EXPECT_EQ(Run({"pfdebug", "encoding", "small"}), "+dense\r\n");
  EXPECT_EQ(Get("small").size(), 12304u);
  EXPECT_EQ(Run({"pfcount", "small"}), Int(200));
  EXPECT_EQ(Run({"config", "set", "hll-sparse-max-bytes", "16000"}), "+OK\r\n");
  AddRange("big", "e", 3000);  // dense at the default 3000, sparse under 16000
  EXPECT_EQ(Run({"pfdebug", "encoding", "big"}), "+sparse\r\n");
  EXPECT_EQ(Run({"pfcount", "big"}), Int(2979));
  EXPECT_EQ(Run({"config", "set", "hll-sparse-max-bytes", "-1"}).rfind("-ERR", 0), 0u);
}

TEST_F(HllTest, CacheIsWrittenAndTrusted) {
  Run({"pfadd", "h", "a", "b", "c"});
  EXPECT_EQ(Run({"pfcount", "h"}), Int(3));
  std::string v = Get("h");
  EXPECT_EQ(Hex(v.substr(8, 8)), "0300000000000000");
  // A valid cache is returned as is (Redis does not recount).
  v[8] = char(0xd2);
  v[9] = char(0x04);
  Run({"set", "h", v});
  EXPECT_EQ(Run({"pfcount", "h"}), Int(1234));
  EXPECT_EQ(Run({"pfcount", "h", "h"}), Int(3));  // the union is always counted
  // An update marks it stale, keeping the old bytes under the flag.
  EXPECT_EQ(Run({"pfadd", "h", "zz"}), Int(1));
  EXPECT_EQ(Hex(Get("h").substr(8, 8)), "d204000000000080");
  EXPECT_EQ(Run({"pfcount", "h"}), Int(4));
}

TEST_F(HllTest, MergeAndUnion) {
  AddRange("a", "a", 100);
  AddRange("b", "b", 5000);
  std::string a = Get("a"), b = Get("b");
  EXPECT_EQ(Run({"pfcount", "a", "b"}), Int(5162));
  EXPECT_EQ(Run({"pfcount", "a", "b", "missing"}), Int(5162));
  EXPECT_EQ(Get("a"), a);  // the union does not touch the keys
  EXPECT_EQ(Get("b"), b);
  EXPECT_EQ(Run({"pfmerge", "c", "a"}), "+OK\r\n");
  EXPECT_EQ(Run({"pfdebug", "encoding", "c"}), "+sparse\r\n");
  EXPECT_EQ(Run({"pfcount", "c"}), Int(99));
  EXPECT_EQ(Run({"pfmerge", "c", "b"}), "+OK\r\n");  // the destination is a source too
  EXPECT_EQ(Run({"pfdebug", "encoding", "c"}), "+dense\r\n");
  EXPECT_EQ(Run({"pfcount", "c"}), Int(5162));
  EXPECT_EQ(Run({"pfmerge", "empty"}), "+OK\r\n");
  EXPECT_EQ(Hex(Get("empty")), "48594c4c0100000000000000000000807fff");
  EXPECT_EQ(Run({"pfmerge", "d", "missing1", "missing2"}), "+OK\r\n");
  EXPECT_EQ(Run({"pfcount", "d"}), Int(0));
  // Sparse sources only: the result stays sparse and equals adding the same elements.
  AddRange("x", "a", 100);
  Run({"pfmerge", "m", "a", "x"});
  EXPECT_EQ(Get("m").substr(16), Get("a").substr(16));
}

TEST_F(HllTest, Errors) {
  EXPECT_EQ(Run({"set", "s", "bar"}), "+OK\r\n");
  EXPECT_EQ(Run({"pfadd", "s", "a"}), Err(kNotHll));
  EXPECT_EQ(Run({"pfcount", "s"}), Err(kNotHll));
  EXPECT_EQ(Run({"pfcount", "missing", "s"}), Err(kNotHll));
  EXPECT_EQ(Run({"pfmerge", "d", "s"}), Err(kNotHll));
  EXPECT_EQ(Run({"exists", "d"}), Int(0));
  EXPECT_EQ(Run({"pfmerge", "s", "missing"}), Err(kNotHll));
  Run({"set", "i", "12345"});
  EXPECT_EQ(Run({"pfadd", "i", "a"}), Err(kNotHll));
  Run({"set", "d", "HYLL" + std::string(12, '\0') + std::string(100, '\0')});  // dense, short
  EXPECT_EQ(Run({"pfcount", "d"}), Err(kNotHll));
  Run({"set", "e", "HYLL\x02" + std::string(11, '\0') + "\x7f\xff"});  // unknown encoding
  EXPECT_EQ(Run({"pfcount", "e"}), Err(kNotHll));
  Run({"set", "t", "HYLL\x01" + std::string(10, '\0')});  // shorter than a header
  EXPECT_EQ(Run({"pfcount", "t"}), Err(kNotHll));
  EXPECT_EQ(Run({"pfadd"}), Err("ERR wrong number of arguments for 'pfadd' command"));
  EXPECT_EQ(Run({"pfcount"}), Err("ERR wrong number of arguments for 'pfcount' command"));
  EXPECT_EQ(Run({"pfmerge"}), Err("ERR wrong number of arguments for 'pfmerge' command"));
}

TEST_F(HllTest, CorruptedSparse) {
  // 16383 registers covered instead of 16384.
  Run({"set", "c", kSparseHdr + Unhex("7ffe")});
  EXPECT_EQ(Run({"pfcount", "c"}), Err(kCorrupt));
  EXPECT_EQ(Run({"pfcount", "c", "missing"}), Err(kCorrupt));
  EXPECT_EQ(Run({"pfmerge", "m", "c"}), Err(kCorrupt));
  EXPECT_EQ(Run({"pfdebug", "todense", "c"}), Err(kCorrupt));
  // Registers inside the covered part still update, as in Redis.
  EXPECT_EQ(Run({"pfadd", "c", "a", "b", "c"}), Int(1));
  EXPECT_EQ(Hex(Get("c")), "48594c4c01000000000000000000008060f38050b1844bfb804259");
  // One register too many, a truncated opcode, an empty body.
  Run({"set", "c", kSparseHdr + Unhex("7fff00")});
  EXPECT_EQ(Run({"pfcount", "c"}), Err(kCorrupt));
  Run({"set", "c", kSparseHdr + Unhex("7f")});
  EXPECT_EQ(Run({"pfcount", "c"}), Err(kCorrupt));
  Run({"set", "c", kSparseHdr});
  EXPECT_EQ(Run({"pfcount", "c"}), Err(kCorrupt));
  EXPECT_EQ(Run({"pfadd", "c", "a"}), Err(kCorrupt));
  // VAL runs past the last register.
  Run({"set", "c", kSparseHdr + std::string(5000, char(0xff))});
  EXPECT_EQ(Run({"pfcount", "c"}), Err(kCorrupt));
  EXPECT_EQ(Run({"pfmerge", "m", "c"}), Err(kCorrupt));
}

TEST_F(HllTest, DenseEdgeValues) {
  std::string dense = "HYLL" + std::string(12, '\0') + std::string(12288, '\0');
  Run({"set", "z", dense});
  EXPECT_EQ(Run({"pfcount", "z"}), Int(0));
  EXPECT_EQ(Run({"pfdebug", "encoding", "z"}), "+dense\r\n");
  EXPECT_EQ(Run({"pfdebug", "todense", "z"}), Int(0));
  EXPECT_EQ(Run({"pfdebug", "decode", "z"}), Err("ERR HLL encoding is not sparse"));
  // Every register at 63 (beyond what a hash can produce): Redis answers INT64_MIN.
  std::string full = "HYLL" + std::string(11, '\0') + "\x80" + std::string(12288, char(0xff));
  Run({"set", "f", full});
  EXPECT_EQ(Run({"pfcount", "f"}), Int(INT64_MIN));
  // The last register sits in the low bits of the last byte.
  dense.back() = char(0x0c);  // register 16383 = 3
  Run({"set", "z", dense});
  std::string regs = Run({"pfdebug", "getreg", "z"});
  EXPECT_EQ(regs.substr(regs.size() - 8), ":0\r\n:3\r\n");
}

TEST_F(HllTest, PfDebug) {
  EXPECT_EQ(Run({"pfdebug", "getreg", "missing"}), Err("ERR The specified key does not exist"));
  Run({"pfadd", "h", "a", "b", "c"});
  EXPECT_EQ(Run({"pfdebug", "foo", "h"}), Err("ERR Unknown PFDEBUG subcommand 'foo'"));
  EXPECT_EQ(Run({"pfdebug", "encoding"}),
            Err("ERR wrong number of arguments for 'pfdebug' command"));
  EXPECT_EQ(Run({"pfdebug", "ENCODING", "h"}), "+sparse\r\n");
  EXPECT_EQ(Run({"pfdebug", "decode", "h"}),
            "$44\r\nZ:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603\r\n");
  std::string regs = Run({"pfdebug", "getreg", "h"});  // converts to dense
  EXPECT_EQ(regs.rfind("*16384\r\n", 0), 0u);
  EXPECT_EQ(Run({"pfdebug", "encoding", "h"}), "+dense\r\n");
  EXPECT_EQ(Get("h").size(), 12304u);
  EXPECT_EQ(Run({"pfcount", "h"}), Int(3));
  Run({"pfadd", "g", "a", "b", "c"});
  EXPECT_EQ(Run({"pfdebug", "todense", "g"}), Int(1));
  EXPECT_EQ(Run({"pfdebug", "todense", "g"}), Int(0));
  EXPECT_EQ(Get("g").substr(16), Get("h").substr(16));
  Run({"set", "s", "x"});
  EXPECT_EQ(Run({"pfdebug", "encoding", "s"}), Err(kNotHll));
}

TEST_F(HllTest, SelfTest) { EXPECT_EQ(Run({"pfselftest"}), "+OK\r\n"); }

TEST_F(HllTest, Propagation) {
  Run({"pfadd", "h", "a"});
  Run({"pfadd", "h", "a"});  // unchanged: not propagated
  Run({"pfcount", "h"});     // cache write: not propagated
  Run({"pfcount", "h", "x"});
  Run({"pfmerge", "m", "h"});
  Run({"pfdebug", "encoding", "m"});
  Run({"pfdebug", "todense", "m"});
  Run({"pfdebug", "todense", "m"});
  EXPECT_EQ(sink.lines,
            (std::vector<std::string>{"pfadd h a", "pfmerge m h", "pfdebug todense m"}));
}

TEST_F(HllTest, WatchSeesUpdatesAndCacheWrites) {
  Run({"pfadd", "h", "a"});
  Run({"watch", "h"});
  Run({"pfcount", "h"});  // writes the cache: Redis signals the key as modified
  Run({"multi"});
  Run({"ping"});
  EXPECT_EQ(Run({"exec"}), "*-1\r\n");
  Run({"watch", "h"});
  Run({"pfcount", "h"});     // cache valid: nothing written
  Run({"pfadd", "h", "a"});  // no register changed
  Run({"multi"});
  Run({"ping"});
  EXPECT_EQ(Run({"exec"}), "*1\r\n+PONG\r\n");
}

}  // namespace
}  // namespace ferrite
