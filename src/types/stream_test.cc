// Streams: the listpack codec against bytes redis-server 7.0.15 produced, and the stream
// operations against a simple reference model under random operations.

#include "types/stream.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "types/serialize.h"

namespace ferrite {
namespace {

std::string Hex(const uint8_t* p, size_t n) {
  static const char* k = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; i++) {
    s.push_back(k[p[i] >> 4]);
    s.push_back(k[p[i] & 15]);
  }
  return s;
}

std::string NodeHex(const StreamObject& s, size_t i) {
  const uint8_t* lp = s.node(i).lp.lp;
  return Hex(lp, slp::TotalBytes(lp));
}

StreamID Id(uint64_t ms, uint64_t seq) { return {ms, seq}; }

bool Add(StreamObject& s, StreamID id, std::vector<std::string> fv, const StreamLimits& lim = {}) {
  std::vector<std::string_view> v(fv.begin(), fv.end());
  StreamID got;
  return s.Append(v.data(), v.size() / 2, &id, true, 0, lim, &got) ==
         StreamObject::AppendResult::kOk;
}

// ---------------------------------------------------------------- golden bytes
// Node bytes taken from DUMP payloads of redis-server 7.0.15 (rdbcompression no) after the
// same commands.
TEST(StreamGolden, NodeBytesAsRedis) {
  StreamObject s2;
  std::string v20;
  for (int i = 0; i < 20; i++) v20 += "value";
  ASSERT_TRUE(Add(s2, Id(1, 1), {"field", "value"}));
  ASSERT_TRUE(Add(s2, Id(1, 2), {"field", "value2"}));
  ASSERT_TRUE(Add(s2, Id(5, 0), {"other", "123", "x", "-5000"}));
  ASSERT_TRUE(Add(s2, Id(1000000, 7), {"field", v20}));
  ASSERT_TRUE(s2.Delete(Id(1, 2)));
  ASSERT_EQ(s2.node_count(), 1u);
  EXPECT_EQ(NodeHex(s2, 0),
            "c20000001d00030101010101856669656c640600010201000100018576616c7565060401030100010101"
            "8676616c75653207040100010401dfff020201856f74686572067b01817802f178ec0308010201f23f42"
            "0f040601e06476616c756576616c756576616c756576616c756576616c756576616c756576616c7565"
            "76616c756576616c756576616c756576616c756576616c756576616c756576616c756576616c756576"
            "616c756576616c756576616c756576616c756576616c7565660401ff");
  EXPECT_EQ(s2.length, 3u);
}

TEST(StreamGolden, NodesAndApproxTrimAsRedis) {
  StreamLimits lim;
  lim.node_max_entries = 3;
  StreamObject s;
  for (int i = 1; i <= 7; i++)
    ASSERT_TRUE(Add(s, Id(uint64_t(i), uint64_t(i)),
                    {"a", std::to_string(i), "b", std::string(size_t(i), 'x')}, lim));
  StreamTrimArgs t;
  t.strategy = StreamTrimArgs::kMaxLen;
  t.approx = true;
  t.maxlen = 3;
  t.limit = 300;
  EXPECT_EQ(s.Trim(t), 3);
  EXPECT_EQ(s.length, 4u);
  ASSERT_EQ(s.node_count(), 2u);
  EXPECT_EQ(s.node(0).master, Id(4, 4));
  EXPECT_EQ(NodeHex(s, 0),
            "4800000018000301000102018161028162020001020100010001040184787878780505010201010101"
            "010501857878787878060501020102010201060186787878787878070501ff");
  EXPECT_EQ(NodeHex(s, 1),
            "280000000c00010100010201816102816202000102010001000107018778787878787878080501ff");
  EXPECT_EQ(s.first_id, Id(4, 4));
  EXPECT_EQ(s.RadixTreeNodes(), 6u);  // XINFO STREAM said radix-tree-nodes 6
}

// ---------------------------------------------------------------- listpack
TEST(Listpack, RandomElementsReadBackBothWays) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; round++) {
    slp::Buf b = slp::New(size_t(rng() % 64));
    std::vector<std::string> want;
    int n = int(rng() % 60);
    for (int i = 0; i < n; i++) {
      std::string e;
      switch (rng() % 6) {
        case 0:
          e = std::to_string(int64_t(rng() % 256) - 128);
          break;
        case 1:
          e = std::to_string(int64_t(rng()));  // any int64
          break;
        case 2:
          e = std::string(size_t(rng() % 70), char('a' + rng() % 26));
          break;
        case 3: {
          static const size_t kLens[] = {63, 64, 4095, 4096, 5000};
          e = std::string(kLens[rng() % 5], 'z');
          break;
        }
        case 4:
          e = "0" + std::to_string(rng() % 100);  // leading zero: stays a string
          break;
        default:
          e = std::to_string(int64_t(rng() % 70000) - 35000);
      }
      slp::AppendStr(&b, e);
      want.push_back(e);
    }
    ASSERT_TRUE(slp::Validate(b.lp, slp::TotalBytes(b.lp)));
    EXPECT_EQ(slp::NumElements(b.lp), want.size());
    char buf[24];
    uint32_t p = slp::First(b.lp);
    for (auto& w : want) {
      ASSERT_NE(p, 0u);
      EXPECT_EQ(slp::GetStr(b.lp, p, buf), w);
      p = slp::Next(b.lp, p);
    }
    EXPECT_EQ(p, 0u);
    p = slp::Last(b.lp);
    for (size_t i = want.size(); i-- > 0;) {
      ASSERT_NE(p, 0u);
      EXPECT_EQ(slp::GetStr(b.lp, p, buf), want[i]);
      p = slp::Prev(b.lp, p);
    }
    EXPECT_EQ(p, 0u);
    // Replace integers in place, growing and shrinking the element.
    if (!want.empty()) {
      for (int k = 0; k < 20; k++) {
        size_t idx = rng() % want.size();
        int64_t v = k % 2 ? int64_t(rng()) : int64_t(rng() % 300);
        uint32_t q = slp::First(b.lp);
        for (size_t i = 0; i < idx; i++) q = slp::Next(b.lp, q);
        slp::ReplaceInt(&b, q, v);
        want[idx] = std::to_string(v);
      }
      ASSERT_TRUE(slp::Validate(b.lp, slp::TotalBytes(b.lp)));
      uint32_t q = slp::First(b.lp);
      for (auto& w : want) {
        EXPECT_EQ(slp::GetStr(b.lp, q, buf), w);
        q = slp::Next(b.lp, q);
      }
    }
    slp::Free(&b);
  }
}

TEST(Listpack, IntegerEncodingsAreRedis) {
  struct Case {
    const char* text;
    const char* hex;  // element + backlen
  };
  // As Redis's lpEncodeIntegerGetType: 7-bit, 13-bit, 16, 24, 32, 64-bit; strings otherwise.
  const Case cases[] = {{"5", "0501"},
                        {"127", "7f01"},
                        {"128", "c08002"},
                        {"-1", "dfff02"},
                        {"-4096", "d00002"},
                        {"4096", "f1001003"},
                        {"-32768", "f1008003"},
                        {"32768", "f200800004"},
                        {"8388608", "f30000800005"},
                        {"2147483648", "f4000000800000000009"},
                        {"007", "8330303704"},
                        {"-0", "822d3003"},
                        {"", "8001"}};
  for (auto& c : cases) {
    slp::Buf b = slp::New(0);
    slp::AppendStr(&b, c.text);
    EXPECT_EQ(Hex(b.lp + slp::kHeaderSize, slp::TotalBytes(b.lp) - slp::kHeaderSize - 1), c.hex)
        << c.text;
    slp::Free(&b);
  }
}

TEST(Listpack, DamagedBytesAreRefusedNotRead) {
  std::mt19937_64 rng(11);
  slp::Buf b = slp::New(0);
  for (int i = 0; i < 40; i++) slp::AppendStr(&b, std::string(size_t(i * 7 % 90), 'q'));
  std::string good(reinterpret_cast<char*>(b.lp), slp::TotalBytes(b.lp));
  slp::Free(&b);
  int refused = 0, truncated = 0;
  for (int round = 0; round < 3000; round++) {
    std::string bad = good;
    int flips = 1 + int(rng() % 3);
    for (int f = 0; f < flips; f++) bad[rng() % bad.size()] = char(rng());
    bool cut = rng() % 4 == 0;
    if (cut) {
      bad.resize(rng() % bad.size());
      truncated++;
    }
    // Validate never reads outside the bytes (ASan in CI), and what it accepts can be walked.
    std::vector<uint8_t> copy(bad.begin(), bad.end());
    if (!slp::Validate(copy.data(), copy.size())) {
      refused++;
      continue;
    }
    EXPECT_FALSE(cut) << "a truncated listpack was accepted";
    char buf[24];
    for (uint32_t p = slp::First(copy.data()); p; p = slp::Next(copy.data(), p))
      (void)slp::GetStr(copy.data(), p, buf);
  }
  EXPECT_GE(refused, truncated);
}

// ---------------------------------------------------------------- IdMap
TEST(IdMap, RandomOperationsAgainstStdMap) {
  for (uint64_t seed = 1; seed <= 6; seed++) {
    std::mt19937_64 rng(seed);
    IdMap<StreamID, int> m;
    std::map<StreamID, int> ref;
    uint64_t next = 1;
    for (int op = 0; op < 20000; op++) {
      int what = int(rng() % 10);
      if (what < 4) {  // mostly increasing IDs, as deliveries arrive
        StreamID id{next, 0};
        next += 1 + rng() % 3;
        auto [it, ins] = m.try_emplace(id);
        it->second = op;
        ASSERT_EQ(ins, ref.emplace(id, op).second);
        ref[id] = op;
      } else if (what < 5) {  // anywhere (XCLAIM FORCE of an old entry)
        StreamID id{rng() % (next + 5), rng() % 2};
        m[id] = op;
        ref[id] = op;
      } else if (what < 8 && !ref.empty()) {  // erase by key, present or not
        StreamID id{rng() % (next + 2), 0};
        ASSERT_EQ(m.erase(id), ref.erase(id));
      } else if (!ref.empty()) {  // erase a run from a lower bound, as XAUTOCLAIM does
        StreamID from{rng() % (next + 2), 0};
        auto it = m.lower_bound(from);
        auto rit = ref.lower_bound(from);
        for (int k = 0; k < 5 && it != m.end(); k++) {
          ASSERT_NE(rit, ref.end());
          ASSERT_EQ(it->first, rit->first);
          if (rng() % 2) {
            it = m.erase(it);
            rit = ref.erase(rit);
          } else {
            ++it;
            ++rit;
          }
        }
        ASSERT_EQ(it == m.end(), rit == ref.end());
      }
      if (op % 500 == 0) {
        ASSERT_EQ(m.size(), ref.size());
        auto rit = ref.begin();
        for (auto& [k, v] : m) {
          ASSERT_EQ(k, rit->first);
          ASSERT_EQ(v, rit->second);
          ++rit;
        }
        ASSERT_EQ(rit, ref.end());
        if (!ref.empty()) {
          EXPECT_EQ(m.front().first, ref.begin()->first);
          EXPECT_EQ(m.back().first, ref.rbegin()->first);
        }
        StreamID probe{rng() % (next + 2), 0};
        auto a = m.find(probe);
        ASSERT_EQ(a == m.end(), ref.find(probe) == ref.end());
      }
    }
  }
}

// ---------------------------------------------------------------- parsing IDs
TEST(StreamIdParse, RedisForms) {
  StreamID id;
  bool given;
  EXPECT_TRUE(ParseStreamID("5", &id, 0, false));
  EXPECT_EQ(id, Id(5, 0));
  EXPECT_TRUE(ParseStreamID("5", &id, UINT64_MAX, false));
  EXPECT_EQ(id, Id(5, UINT64_MAX));
  EXPECT_TRUE(ParseStreamID("5-7", &id, 0, false));
  EXPECT_EQ(id, Id(5, 7));
  EXPECT_TRUE(ParseStreamID("-", &id, 0, false));
  EXPECT_EQ(id, Id(0, 0));
  EXPECT_TRUE(ParseStreamID("+", &id, 0, false));
  EXPECT_EQ(id, StreamID::Max());
  EXPECT_FALSE(ParseStreamID("-", &id, 0, true));
  EXPECT_FALSE(ParseStreamID("+", &id, 0, true));
  EXPECT_TRUE(ParseStreamID("5-*", &id, 0, true, &given));
  EXPECT_FALSE(given);
  EXPECT_EQ(id, Id(5, 0));
  EXPECT_FALSE(ParseStreamID("5-*", &id, 0, true));  // only XADD takes <ms>-*
  // string2ull: leading zeros, '+' and blanks pass through strtoull; negatives do not.
  EXPECT_TRUE(ParseStreamID("0005-00012", &id, 0, true));
  EXPECT_EQ(id, Id(5, 12));
  EXPECT_TRUE(ParseStreamID("+5", &id, 0, true));
  EXPECT_EQ(id, Id(5, 0));
  EXPECT_FALSE(ParseStreamID("5--1", &id, 0, true));
  EXPECT_FALSE(ParseStreamID("", &id, 0, true));
  EXPECT_FALSE(ParseStreamID("5-", &id, 0, true));
  EXPECT_FALSE(ParseStreamID("a-1", &id, 0, true));
  EXPECT_FALSE(ParseStreamID("18446744073709551616", &id, 0, true));
  EXPECT_TRUE(ParseStreamID("18446744073709551615-18446744073709551615", &id, 0, true));
  EXPECT_EQ(id, StreamID::Max());
  EXPECT_FALSE(ParseStreamID(std::string(128, '1'), &id, 0, true));
  EXPECT_EQ(Id(1, 2).ToString(), "1-2");
}

// ---------------------------------------------------------------- random vs model
struct Model {
  std::map<StreamID, std::vector<std::pair<std::string, std::string>>> entries;
  StreamID last_id;
  uint64_t added = 0;
};

void ExpectSame(const StreamObject& s, const Model& m, std::mt19937_64& rng) {
  ASSERT_EQ(s.length, m.entries.size());
  // A few random ranges, both directions.
  for (int k = 0; k < 4; k++) {
    StreamID a{rng() % 60, rng() % 4}, b{rng() % 60, rng() % 4};
    if (k == 0) a = {0, 0}, b = StreamID::Max();
    if (b < a) std::swap(a, b);
    for (bool rev : {false, true}) {
      std::vector<StreamID> want;
      for (auto it = m.entries.lower_bound(a); it != m.entries.end() && it->first <= b; ++it)
        want.push_back(it->first);
      if (rev) std::reverse(want.begin(), want.end());
      StreamIterator it(s, a, b, rev);
      StreamID id;
      int64_t nf;
      size_t i = 0;
      while (it.Next(&id, &nf)) {
        ASSERT_LT(i, want.size());
        ASSERT_EQ(id, want[i]);
        auto& fv = m.entries.at(id);
        ASSERT_EQ(size_t(nf), fv.size());
        size_t j = 0;
        it.ForEachField([&](std::string_view f, std::string_view v) {
          EXPECT_EQ(f, fv[j].first);
          EXPECT_EQ(v, fv[j].second);
          j++;
        });
        i++;
      }
      ASSERT_EQ(i, want.size());
    }
  }
  // Node invariants, as a file reader would check them.
  uint64_t live = 0;
  for (size_t i = 0; i < s.node_count(); i++) {
    NodeCheck nc;
    const uint8_t* lp = s.node(i).lp.lp;
    Status st = CheckStreamNode(s.node(i).master, lp, slp::TotalBytes(lp), &nc);
    ASSERT_TRUE(st.ok()) << st.message();
    live += nc.live;
  }
  EXPECT_EQ(live, s.length);
  EXPECT_EQ(s.last_id, m.last_id);
  EXPECT_EQ(s.entries_added, m.added);
  if (!m.entries.empty()) {
    EXPECT_EQ(s.first_id, m.entries.begin()->first);
    EXPECT_EQ(s.LastValidID(), m.entries.rbegin()->first);
  }
}

TEST(StreamModel, RandomOperations) {
  for (uint64_t seed = 1; seed <= 12; seed++) {
    std::mt19937_64 rng(seed);
    StreamLimits lim;
    lim.node_max_entries = int64_t(rng() % 6);  // 0 = no entry limit
    lim.node_max_bytes = seed % 3 == 0 ? 0 : 40 + rng() % 400;
    StreamObject s;
    Model m;
    int64_t clock = 1;
    for (int op = 0; op < 1500; op++) {
      int what = int(rng() % 10);
      if (what < 6) {  // XADD
        std::vector<std::string> fv;
        size_t nf = 1 + rng() % 3;
        for (size_t i = 0; i < nf; i++) {
          fv.push_back(rng() % 3 ? "f" + std::to_string(i) : std::to_string(rng() % 200));
          fv.push_back(std::string(rng() % 20, char('a' + rng() % 26)));
        }
        std::vector<std::string_view> v(fv.begin(), fv.end());
        StreamID got, want;
        StreamObject::AppendResult res;
        int form = int(rng() % 3);
        if (form == 0) {  // "*"
          clock += int64_t(rng() % 3);
          res = s.Append(v.data(), nf, nullptr, false, clock, lim, &got);
          want = uint64_t(clock) > m.last_id.ms ? StreamID{uint64_t(clock), 0}
                                                : StreamID{m.last_id.ms, m.last_id.seq + 1};
        } else if (form == 1) {  // explicit, sometimes too small
          StreamID use{m.last_id.ms + rng() % 3, rng() % 3};
          res = s.Append(v.data(), nf, &use, true, clock, lim, &got);
          want = use;
          if (use <= m.last_id) {
            ASSERT_EQ(res, StreamObject::AppendResult::kIdTooSmall);
            continue;
          }
        } else {  // "<ms>-*"
          StreamID use{m.last_id.ms + rng() % 2, 0};
          res = s.Append(v.data(), nf, &use, false, clock, lim, &got);
          want = use.ms == m.last_id.ms ? StreamID{use.ms, m.last_id.seq + 1} : use;
          if (want <= m.last_id) {
            ASSERT_EQ(res, StreamObject::AppendResult::kIdTooSmall);
            continue;
          }
        }
        ASSERT_EQ(res, StreamObject::AppendResult::kOk);
        ASSERT_EQ(got, want);
        auto& e = m.entries[got];
        for (size_t i = 0; i < nf; i++) e.emplace_back(fv[2 * i], fv[2 * i + 1]);
        m.last_id = got;
        m.added++;
      } else if (what < 8) {  // XDEL: existing or not
        StreamID id{rng() % (m.last_id.ms + 2), rng() % 3};
        if (!m.entries.empty() && rng() % 2) {
          auto it = m.entries.begin();
          std::advance(it, ptrdiff_t(rng() % m.entries.size()));
          id = it->first;
        }
        bool had = m.entries.erase(id);
        ASSERT_EQ(s.Delete(id), had);
        // XDEL's bookkeeping lives in the command; keep first_id the same way here.
        if (had) {
          if (s.length == 0)
            s.first_id = {0, 0};
          else
            s.first_id = s.EdgeID(true, true);
        }
      } else {  // XTRIM
        StreamTrimArgs t;
        t.approx = rng() % 2;
        t.limit = t.approx && rng() % 2 ? int64_t(1 + rng() % 10) : 0;
        if (rng() % 2) {
          t.strategy = StreamTrimArgs::kMaxLen;
          t.maxlen = int64_t(rng() % (m.entries.size() + 3));
        } else {
          t.strategy = StreamTrimArgs::kMinId;
          t.minid = {rng() % (m.last_id.ms + 2), rng() % 3};
        }
        int64_t n = s.Trim(t);
        ASSERT_GE(n, 0);
        ASSERT_LE(size_t(n), m.entries.size());
        // Trimming removes from the head; an exact one removes exactly what it must.
        std::vector<StreamID> gone;
        for (auto it = m.entries.begin(); gone.size() < size_t(n); ++it) gone.push_back(it->first);
        for (auto& g : gone) m.entries.erase(g);
        if (!t.approx && !t.limit) {
          if (t.strategy == StreamTrimArgs::kMaxLen) {
            EXPECT_LE(m.entries.size(), size_t(t.maxlen));
          } else if (!m.entries.empty()) {
            EXPECT_GE(m.entries.begin()->first, t.minid);
          }
        }
        if (t.strategy == StreamTrimArgs::kMaxLen && n > 0) {
          EXPECT_GE(m.entries.size(), size_t(t.maxlen));  // never below the cap
        }
        if (t.strategy == StreamTrimArgs::kMinId) {
          for (auto& g : gone) {
            EXPECT_LT(g, t.minid);
          }
        }
      }
      if (op % 50 == 0) {
        ASSERT_NO_FATAL_FAILURE(ExpectSame(s, m, rng));
      }
      if (op % 300 == 0) {  // round trips: checkpoint form, COPY
        std::string blob;
        EncodeStream(s, &blob);
        auto d = DecodeStream(blob);
        ASSERT_TRUE(d.ok()) << d.status().message();
        std::string a, b;
        StreamCanonicalBytes(s, &a);
        StreamCanonicalBytes(*d.value().As<StreamObject>(), &b);
        ASSERT_EQ(a, b);
        std::unique_ptr<Object> c(s.Clone());
        std::string cb;
        StreamCanonicalBytes(*static_cast<StreamObject*>(c.get()), &cb);
        ASSERT_EQ(a, cb);
      }
    }
    ASSERT_NO_FATAL_FAILURE(ExpectSame(s, m, rng));
  }
}

// ---------------------------------------------------------------- groups and persistence
StreamObject* MakeGroupedStream(Value* holder) {
  auto* s = new StreamObject();
  *holder = Value::FromObject(s);
  for (int i = 1; i <= 30; i++) Add(*s, Id(uint64_t(i), 0), {"k", std::to_string(i)});
  StreamGroup* g = s->CreateGroup("g1", Id(20, 0), 20);
  StreamConsumer* a = g->CreateConsumer("alice", 1000);
  StreamConsumer* b = g->CreateConsumer("bob", 2000);
  g->CreateConsumer("carol", 3000);  // no pending entries
  for (int i = 1; i <= 20; i++) {
    auto& slot = g->pel[Id(uint64_t(i), 0)];
    slot = std::make_unique<StreamNack>();
    StreamNack& n = *slot;
    n.delivery_time = 5000 + i;
    n.delivery_count = uint64_t(i % 4 + 1);
    n.consumer = i % 2 ? a : b;
    n.consumer->pel[Id(uint64_t(i), 0)] = &n;
  }
  s->CreateGroup("g0", Id(0, 0), -1);
  return s;
}

TEST(StreamPersist, RoundTripWithGroups) {
  Value v;
  StreamObject* s = MakeGroupedStream(&v);
  std::string blob;
  EncodeCollection(v, &blob);
  auto d = DecodeCollection(ValueType::kStream, blob, {});
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(CanonicalBytes(v), CanonicalBytes(d.value()));
  auto* t = d.value().As<StreamObject>();
  ASSERT_EQ(t->group_count(), 2u);
  StreamGroup* g = t->FindGroup("g1");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->pel.size(), 20u);
  EXPECT_EQ(g->FindConsumer("alice")->pel.size(), 10u);
  EXPECT_EQ(g->FindConsumer("carol")->seen_time, 3000);
  EXPECT_EQ(g->pel.find(Id(7, 0))->second->consumer->name, "alice");
  EXPECT_EQ(t->FindGroup("g0")->entries_read, -1);
  // Streamed in small pieces: the same bytes.
  std::string pieces;
  EncodeCollectionStream(v, 100, [&](std::string_view p, bool) { pieces.append(p); });
  EXPECT_EQ(pieces, blob);
  (void)s;
}

TEST(StreamPersist, DamagedBlobsAreRefused) {
  Value v;
  MakeGroupedStream(&v);
  std::string blob;
  EncodeCollection(v, &blob);
  std::mt19937_64 rng(3);
  int refused = 0, rounds = 4000;
  for (int i = 0; i < rounds; i++) {
    std::string bad = blob;
    if (i % 3 == 0) {
      bad.resize(rng() % bad.size());
    } else {
      for (int f = 0; f < 1 + int(rng() % 3); f++) bad[rng() % bad.size()] = char(rng());
    }
    auto d = DecodeCollection(ValueType::kStream, bad, {});
    if (!d.ok()) {
      refused++;
      continue;
    }
    // Accepted: it must be a self-consistent stream (walkable, re-encodable).
    std::string again;
    EncodeCollection(d.value(), &again);
    ASSERT_TRUE(DecodeCollection(ValueType::kStream, again, {}).ok());
    (void)CanonicalBytes(d.value());
  }
  EXPECT_GT(refused, rounds / 2);
}

TEST(StreamPersist, RebuildCommandsAsRedis) {
  Value v;
  StreamObject* s = MakeGroupedStream(&v);
  s->Delete(Id(30, 0));
  s->max_deleted_id = Id(30, 0);
  std::vector<std::string> lines;
  ForEachRebuildCommand("k", v, 64, [&](const std::vector<std::string_view>& argv) {
    std::string l;
    for (auto a : argv) l += std::string(a) + " ";
    lines.push_back(l);
  });
  ASSERT_GE(lines.size(), 29u + 1 + 2 + 20 + 1);
  EXPECT_EQ(lines[0], "XADD k 1-0 k 1 ");
  EXPECT_EQ(lines[28], "XADD k 29-0 k 29 ");
  EXPECT_EQ(lines[29], "XSETID k 30-0 ENTRIESADDED 30 MAXDELETEDID 30-0 ");
  EXPECT_EQ(lines[30], "XGROUP CREATE k g0 0-0 ENTRIESREAD -1 ");
  EXPECT_EQ(lines[31], "XGROUP CREATE k g1 20-0 ENTRIESREAD 20 ");
  EXPECT_EQ(lines[32], "XCLAIM k g1 alice 0 1-0 TIME 5001 RETRYCOUNT 2 JUSTID FORCE ");
  EXPECT_EQ(lines.back(), "XGROUP CREATECONSUMER k g1 carol ");
  StreamObject empty;
  Value ev = Value::FromObject(empty.Clone());
  lines.clear();
  ForEachRebuildCommand("e", ev, 64, [&](const std::vector<std::string_view>& argv) {
    std::string l;
    for (auto a : argv) l += std::string(a) + " ";
    lines.push_back(l);
  });
  EXPECT_EQ(lines[0], "XADD e MAXLEN 0 0-1 x y ");
}

TEST(StreamEstimates, LagAsRedis) {
  StreamObject s;
  StreamGroup* g = s.CreateGroup("g", Id(0, 0), 0);
  int64_t lag;
  ASSERT_TRUE(s.GroupLag(*g, &lag));
  EXPECT_EQ(lag, 0);
  for (int i = 1; i <= 5; i++) Add(s, Id(uint64_t(i), 0), {"a", "b"});
  ASSERT_TRUE(s.GroupLag(*g, &lag));
  EXPECT_EQ(lag, 5);
  // A tombstone ahead of the group makes its counter unusable; the estimate cannot help
  // for an ID in the middle.
  s.Delete(Id(3, 0));
  s.max_deleted_id = Id(3, 0);
  g->last_id = Id(2, 0);
  g->entries_read = 2;
  EXPECT_FALSE(s.GroupLag(*g, &lag));
  g->last_id = Id(5, 0);  // past the tombstone: the counter is used as it is
  ASSERT_TRUE(s.GroupLag(*g, &lag));
  EXPECT_EQ(lag, 3);
  g->entries_read = -1;  // unknown, but at the last ID the estimate is exact
  ASSERT_TRUE(s.GroupLag(*g, &lag));
  EXPECT_EQ(lag, 0);
}

}  // namespace
}  // namespace ferrite
