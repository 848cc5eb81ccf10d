// Checkpoints: the format (round trip; each corruption shape refused with its offset), and
// the fork-less BGSAVE: the file holds exactly the dataset at the cut, whatever is written
// during the save.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "commands/test_util.h"
#include "persistence/checkpoint/checkpoint_format.h"
#include "persistence/manager.h"
#include "types/serialize.h"

namespace ferrite {
namespace {

class CheckpointTest : public ::testing::Test {
 protected:
  CheckpointTest() {
    char tmpl[] = "/tmp/ferrite-ckpt-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~CheckpointTest() override { std::filesystem::remove_all(dir_); }
  std::string path() const { return dir_ + "/ferrite.rdb"; }

  void WriteSample(int n, ckpt::WriterOptions options = {}) {
    auto f = FileSystem::Default()->NewWritableFile(path(), false);
    ASSERT_TRUE(f.ok());
    ckpt::Writer w(std::move(f.value()), options);
    ckpt::Header h;
    h.created_ms = 1'700'000'000'000;
    h.aof_offset = 42;
    h.aof_id = 0xfeedface12345678ULL;
    ASSERT_TRUE(w.Begin(h).ok());
    for (int i = 0; i < n; i++) {
      std::string k = "key:" + std::to_string(i), v(size_t(i % 100), 'v');
      ASSERT_TRUE(w.Add({uint32_t(i % 3), 1, i % 5 ? 0 : 1'800'000'000'000, k, v}).ok());
    }
    ASSERT_TRUE(w.Finish().ok());
  }
  Status ReadAll(uint64_t* keys, ckpt::ReadStats* stats = nullptr) {
    *keys = 0;
    return ckpt::Read(FileSystem::Default(), path(), true, [&](const ckpt::Record&) {
      (*keys)++;
      return Status::Ok();
    }, stats);
  }
  std::string Bytes() {
    std::ifstream f(path(), std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  void Put(const std::string& data) {
    std::ofstream f(path(), std::ios::binary | std::ios::trunc);
    f << data;
  }
  std::string dir_;
};

TEST_F(CheckpointTest, Lz4ThreadedWriterRoundTripAndDamage) {
  ckpt::WriterOptions o;
  o.lz4 = true;
  o.threaded = true;
  o.queue_blocks = 2;  // the encoder waits on the writer thread often
  WriteSample(50000, o);
  std::string data = Bytes();
  uint32_t version;
  memcpy(&version, data.data() + 8, 4);
  EXPECT_EQ(version, ckpt::kVersion);
  EXPECT_NE(data.find(char(ckpt::kEntriesLz4)), std::string::npos);
  uint64_t keys;
  ASSERT_TRUE(ReadAll(&keys).ok());
  EXPECT_EQ(keys, 50000u);
  // Uncompressed, the same records take more room: lz4 is doing something.
  auto plain_size = data.size();
  WriteSample(50000);
  EXPECT_LT(plain_size, Bytes().size());
  // A damaged compressed block is refused (checksum), and without checksums the lz4
  // decoder refuses it instead of reading garbage.
  Put(data);
  data[data.size() / 2] ^= 0x55;
  Put(data);
  ASSERT_FALSE(ReadAll(&keys).ok());
  Status st = ckpt::Read(FileSystem::Default(), path(), false,
                         [](const ckpt::Record&) { return Status::Ok(); }, nullptr);
  EXPECT_FALSE(st.ok());
}

TEST_F(CheckpointTest, HeaderCarriesTheAofLink) {
  WriteSample(10);
  ckpt::Header h;
  ASSERT_TRUE(ckpt::ReadHeader(FileSystem::Default(), path(), &h).ok());
  EXPECT_EQ(h.aof_offset, 42u);
  EXPECT_EQ(h.aof_id, 0xfeedface12345678ULL);
  uint64_t keys;
  ckpt::ReadStats stats;
  ASSERT_TRUE(ReadAll(&keys, &stats).ok());
  EXPECT_EQ(stats.header.aof_id, 0xfeedface12345678ULL);
  EXPECT_EQ(keys, 10u);
}

TEST_F(CheckpointTest, CollectionsRoundTrip) {
  EngineHarness a;
  a.Run({"rpush", "l", "x", "y"});
  a.Run({"hset", "h", "f", "v", "g", "w"});
  a.Run({"sadd", "s", "1", "2", "three"});
  a.Run({"zadd", "z", "1.5", "m", "-inf", "n"});
  std::string digest = a.Run({"debug", "digest"});
  auto f = FileSystem::Default()->NewWritableFile(path(), false);
  ASSERT_TRUE(f.ok());
  ckpt::Writer w(std::move(f.value()));
  ASSERT_TRUE(w.Begin(ckpt::Header{}).ok());
  Database& db = a.engine().db(0);
  db.ForEach([&](const Entry& e) {
    std::string blob;
    EncodeCollection(e.value, &blob);
    ASSERT_TRUE(w.Add({0, uint8_t(e.value.type()), 0, e.key(), blob}).ok());
  });
  ASSERT_TRUE(w.Finish().ok());
  EngineHarness b;
  uint64_t keys = 0;
  ASSERT_TRUE(ckpt::Read(FileSystem::Default(), path(), true, [&](const ckpt::Record& r) {
    auto v = DecodeCollection(ValueType(r.type), r.value, CollectionLimits{});
    if (!v.ok()) return v.status();
    b.engine().db(0).Insert(r.key, std::move(v.value()));
    keys++;
    return Status::Ok();
  }, nullptr).ok());
  EXPECT_EQ(keys, 4u);
  EXPECT_EQ(b.Run({"debug", "digest"}), digest);
  // A damaged blob is refused with its offset, not half-loaded.
  auto bad = DecodeCollection(ValueType::kList, std::string("\x02\x01x", 3), CollectionLimits{});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("at byte"), std::string::npos);
}

TEST_F(CheckpointTest, RoundTrip) {
  WriteSample(20000);
  uint64_t keys;
  ckpt::ReadStats st;
  ASSERT_TRUE(ReadAll(&keys, &st).ok());
  EXPECT_EQ(keys, 20000u);
  EXPECT_EQ(st.header.aof_offset, 42u);
  EXPECT_GT(st.blocks, 2u);
}

TEST_F(CheckpointTest, FlippedByteInEachRegionIsRefusedWithItsOffset) {
  WriteSample(5000);
  std::string good = Bytes();
  size_t header_at = 12, block_at = 12 + 5 + 24 + 8, footer_at = good.size() - (5 + 16 + 8);
  for (size_t pos : {size_t(3), header_at + 7, block_at + 100, footer_at + 9}) {
    std::string bad = good;
    bad[pos] ^= 0x40;
    Put(bad);
    uint64_t keys;
    Status st = ReadAll(&keys);
    ASSERT_FALSE(st.ok()) << "flip at " << pos;
    EXPECT_NE(st.message().find(path()), std::string::npos);
    if (pos != 3) {
      EXPECT_NE(st.message().find("offset"), std::string::npos) << st.message();
    }
  }
}

TEST_F(CheckpointTest, TruncatedFileIsRefused) {
  WriteSample(5000);
  std::string good = Bytes();
  for (size_t cut : {size_t(5), size_t(20), good.size() / 2, good.size() - 1}) {
    Put(good.substr(0, cut));
    uint64_t keys;
    Status st = ReadAll(&keys);
    ASSERT_FALSE(st.ok()) << cut;
    EXPECT_NE(st.message().find("offset"), std::string::npos) << st.message();
  }
}

TEST_F(CheckpointTest, FutureVersionIsRefused) {
  WriteSample(10);
  std::string data = Bytes();
  uint32_t v = ckpt::kVersion + 1;
  memcpy(data.data() + 8, &v, 4);
  Put(data);
  uint64_t keys;
  Status st = ReadAll(&keys);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("format version " + std::to_string(v)), std::string::npos)
      << st.message();
}

// BGSAVE under writes: the loaded file equals the dataset at the cut; nothing written
// during the save leaks in; inserts that split segments are handled.
TEST_F(CheckpointTest, BgsaveHoldsExactlyTheDatasetAtTheCut) {
  Config c = DefaultConfig();
  c.server.dir = dir_;
  c.persistence.checkpoint_rules.clear();
  c.persistence.checkpoint_interval = 0;
  std::string at_cut;
  {
    EngineHarness h(c);
    PersistenceManager pm(&h.engine(), FileSystem::Default(), &h.clock());
    ASSERT_TRUE(pm.Start().ok());
    pm.TEST_set_step_buckets(4);
    for (int i = 0; i < 60000; i++) h.Run({"set", "k" + std::to_string(i), "v" + std::to_string(i)});
    h.Run({"set", "gone", "x", "PX", "10"});
    // Collections change in place during the save: the file holds each as it was at the cut.
    for (int k = 0; k < 300; k++) h.Run({"rpush", "list", "e" + std::to_string(k)});
    h.Run({"hset", "hash", "f", "before"});
    h.Run({"zadd", "zs", "1", "a"});
    std::string reply;
    ASSERT_TRUE(pm.BgSave(false, &reply).ok());
    EXPECT_EQ(reply, "Background saving started");
    at_cut = h.Run({"debug", "digest"});
    int i = 0;
    while (pm.saving()) {
      for (int j = 0; j < 50; j++, i++) {
        h.Run({"set", "new" + std::to_string(i), "v"});       // 1000s of inserts: absent
        h.Run({"del", "k" + std::to_string(i * 7 % 60000)});  // deletes: still present
        h.Run({"append", "k" + std::to_string(i * 13 % 60000), "+"});
        h.Run({"rpush", "list", "late" + std::to_string(i)});  // appended throughout
        h.Run({"hset", "hash", "f", "after", "g" + std::to_string(i), "x"});
        h.Run({"zadd", "zs", std::to_string(i), "m" + std::to_string(i)});
      }
      pm.BeforeSleep();
    }
    EXPECT_GT(i, 1000);
    EXPECT_EQ(h.Run({"lastsave"}).substr(0, 1), ":");
  }
  EngineHarness h2(c);
  PersistenceManager pm2(&h2.engine(), FileSystem::Default(), &h2.clock());
  ASSERT_TRUE(pm2.Start().ok());
  EXPECT_EQ(h2.Run({"debug", "digest"}), at_cut);
  EXPECT_EQ(h2.Run({"exists", "new5"}), ":0\r\n");
  EXPECT_EQ(h2.Run({"llen", "list"}), ":300\r\n");  // exactly its length at the cut
  EXPECT_EQ(h2.Run({"hget", "hash", "f"}), "$6\r\nbefore\r\n");
  EXPECT_EQ(h2.Run({"zcard", "zs"}), ":1\r\n");
}

TEST_F(CheckpointTest, FlushallDuringSaveRestartsItCleanly) {
  Config c = DefaultConfig();
  c.server.dir = dir_;
  c.persistence.checkpoint_rules.clear();
  EngineHarness h(c);
  PersistenceManager pm(&h.engine(), FileSystem::Default(), &h.clock());
  ASSERT_TRUE(pm.Start().ok());
  for (int i = 0; i < 20000; i++) h.Run({"set", "k" + std::to_string(i), "v"});
  std::string reply;
  ASSERT_TRUE(pm.BgSave(false, &reply).ok());
  h.Run({"flushall"});
  h.Run({"set", "after", "1"});
  // The flush aborts the first image; the next loop iteration starts a new one.
  for (int i = 0; i < 10; i++) pm.BeforeSleep();
  while (pm.saving()) pm.BeforeSleep();
  EXPECT_NE(h.Run({"info", "persistence"}).find("rdb_saves:1"), std::string::npos);
  EngineHarness h2(c);
  PersistenceManager pm2(&h2.engine(), FileSystem::Default(), &h2.clock());
  ASSERT_TRUE(pm2.Start().ok());
  EXPECT_EQ(h2.Run({"dbsize"}), ":1\r\n");  // the restarted save saw the flushed dataset
}

}  // namespace
}  // namespace ferrite
