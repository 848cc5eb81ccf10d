// Checkpoints: the format (round trip; each corruption shape refused with its offset), and
// the fork-less BGSAVE: the file holds exactly the dataset at the cut, whatever is written
// during the save.

#include <gtest/gtest.h>
#include <unistd.h>
#include <xxhash.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "commands/test_util.h"
#include "persistence/apply_record.h"
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
    return ckpt::Read(
        FileSystem::Default(), path(), true,
        [&](const ckpt::Record&) {
          (*keys)++;
          return Status::Ok();
        },
        stats);
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
  Status st = ckpt::Read(
      FileSystem::Default(), path(), false, [](const ckpt::Record&) { return Status::Ok(); },
      nullptr);
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

TEST_F(CheckpointTest, HeaderCarriesTheReplicationPosition) {
  // Without a position no block 0x81 is written (the reader reports none).
  WriteSample(3);
  ckpt::Header none;
  ASSERT_TRUE(ckpt::ReadHeader(FileSystem::Default(), path(), &none).ok());
  EXPECT_TRUE(none.repl_id.empty());
  EXPECT_EQ(Bytes().find(std::string(40, 'a')), std::string::npos);
  auto f = FileSystem::Default()->NewWritableFile(path(), false);
  ASSERT_TRUE(f.ok());
  ckpt::Writer w(std::move(f.value()));
  ckpt::Header h;
  h.aof_id = 7;
  h.repl_id = std::string(40, 'a');
  h.repl_offset = 123456789012ULL;
  h.repl_db = 9;
  ASSERT_TRUE(w.Begin(h).ok());
  ASSERT_TRUE(w.Add({0, 1, 0, "k", "v"}).ok());
  ASSERT_TRUE(w.Finish().ok());
  ckpt::Header got;
  ASSERT_TRUE(ckpt::ReadHeader(FileSystem::Default(), path(), &got).ok());
  EXPECT_EQ(got.repl_id, std::string(40, 'a'));
  EXPECT_EQ(got.repl_offset, 123456789012ULL);
  EXPECT_EQ(got.repl_db, 9u);
  EXPECT_EQ(got.aof_id, 7u);
  uint64_t keys;
  ckpt::ReadStats stats;
  ASSERT_TRUE(ReadAll(&keys, &stats).ok());
  EXPECT_EQ(stats.version, ckpt::kVersion);  // an optional block: the version stays
  EXPECT_EQ(stats.header.repl_id, std::string(40, 'a'));
  EXPECT_EQ(keys, 1u);
  // A block cut short is damage, not a silently absent position.
  std::string data = Bytes();
  size_t at = data.find(std::string(40, 'a'));
  ASSERT_NE(at, std::string::npos);
  ASSERT_EQ(uint8_t(data[at - 1]), 40u);
  data[at - 1] = char(100);  // claims more than the block holds
  Put(data);
  EXPECT_FALSE(ckpt::Read(
                   FileSystem::Default(), path(), false,
                   [](const ckpt::Record&) { return Status::Ok(); }, nullptr)
                   .ok());
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
  ASSERT_TRUE(ckpt::Read(
                  FileSystem::Default(), path(), true,
                  [&](const ckpt::Record& r) {
                    auto v = DecodeCollection(ValueType(r.type), r.value, CollectionLimits{});
                    if (!v.ok()) return v.status();
                    b.engine().db(0).Insert(r.key, std::move(v.value()));
                    keys++;
                    return Status::Ok();
                  },
                  nullptr)
                  .ok());
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

// Every older format version is still read: the file's version field only gates what a
// reader refuses (newer versions), never what it accepts of the older ones. The sample
// holds nothing a version-1 reader would not know, so each version must load it whole.
TEST_F(CheckpointTest, EveryVersionFromOneToCurrentIsRead) {
  WriteSample(300);
  const std::string good = Bytes();
  const size_t footer_at = good.size() - (5 + 16 + 8);
  ASSERT_EQ(uint8_t(good[footer_at]), ckpt::kFooter);
  for (uint32_t v = 1; v <= ckpt::kVersion; v++) {
    std::string data = good;
    memcpy(data.data() + 8, &v, 4);
    // The footer's whole-file checksum covers the version field: recompute it, and the
    // footer block's own checksum over it.
    uint64_t file_sum = XXH3_64bits(data.data(), footer_at);
    memcpy(data.data() + footer_at + 5 + 8, &file_sum, 8);
    uint64_t block_sum = XXH3_64bits(data.data() + footer_at, 5 + 16);
    memcpy(data.data() + footer_at + 5 + 16, &block_sum, 8);
    Put(data);
    uint64_t keys;
    ckpt::ReadStats st;
    Status s = ReadAll(&keys, &st);
    ASSERT_TRUE(s.ok()) << "version " << v << ": " << s.message();
    EXPECT_EQ(st.version, v);
    EXPECT_EQ(keys, 300u);
  }
  EXPECT_EQ(ckpt::kVersion, 6u);  // streams took 5, function libraries 6 (docs/formats.md)
}

// A WritableFile that remembers the largest single Append: the writer appends a block's
// head, payload and checksum separately, so this is the largest payload it ever built.
class MaxAppendFile final : public WritableFile {
 public:
  explicit MaxAppendFile(std::unique_ptr<WritableFile> t, size_t* max)
      : t_(std::move(t)), max_(max) {}
  Status Append(std::string_view d) override {
    *max_ = std::max(*max_, d.size());
    return t_->Append(d);
  }
  Status Flush() override { return t_->Flush(); }
  Status Sync() override { return t_->Sync(); }
  Status SyncData() override { return t_->SyncData(); }
  Status Close() override { return t_->Close(); }
  uint64_t Size() const override { return t_->Size(); }
  Status Truncate(uint64_t size) override { return t_->Truncate(size); }
  const std::string& path() const override { return t_->path(); }

 private:
  std::unique_ptr<WritableFile> t_;
  size_t* max_;
};

struct BlockPos {
  size_t off;
  uint8_t type;
  size_t size;  // whole block: head, payload, checksum
};
std::vector<BlockPos> Blocks(const std::string& data) {
  std::vector<BlockPos> out;
  for (size_t off = 12; off + 5 <= data.size();) {
    uint32_t len;
    memcpy(&len, data.data() + off + 1, 4);
    out.push_back({off, uint8_t(data[off]), 5 + size_t(len) + 8});
    off += 5 + size_t(len) + 8;
  }
  return out;
}

// Large values (a 3 MB string, a 200 000-field hash, a hash with a 1 MB field, big lists,
// sets and sorted sets) are written as value chunks: no block, and no piece the encoder
// hands over, is larger than about one block, and the file loads back to the same digest.
TEST_F(CheckpointTest, LargeValuesAreStreamedInChunks) {
  EngineHarness a;
  std::string big(3 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = char('a' + (i / 4096) % 26);
  a.Run({"set", "bigstring", big});
  a.Run({"set", "small", "v"});
  for (int i = 0; i < 200000; i += 1000) {
    std::vector<std::string> cmd = {"hset", "bighash"};
    for (int j = i; j < i + 1000; j++) {
      cmd.push_back("field:" + std::to_string(j));
      cmd.push_back("value:" + std::to_string(j * 7));
    }
    a.Run(cmd);
    cmd = {"rpush", "biglist"};
    for (int j = i; j < i + 1000; j++) cmd.push_back("element-" + std::to_string(j));
    a.Run(cmd);
    cmd = {"sadd", "bigset"};
    for (int j = i; j < i + 1000; j++) cmd.push_back("member-" + std::to_string(j));
    a.Run(cmd);
    cmd = {"zadd", "bigzset"};
    for (int j = i; j < i + 1000; j++) {
      cmd.push_back(std::to_string(j * 0.5));
      cmd.push_back("m" + std::to_string(j));
    }
    a.Run(cmd);
  }
  a.Run({"hset", "widefield", "small", "1", "huge", std::string(1 << 20, 'w')});
  a.Run({"pexpire", "bighash", "999999999999"});
  std::string digest = a.Run({"debug", "digest"});

  // The encoder alone: the pieces add up to EncodeCollection's blob, each about one block;
  // the 1 MB field is handed over by reference.
  for (const char* key : {"bighash", "widefield", "bigzset"}) {
    const Entry* e = a.engine().db(0).Peek(key, 0);
    ASSERT_NE(e, nullptr);
    std::string whole, joined;
    EncodeCollection(e->value, &whole);
    size_t max_piece = 0, pieces = 0;
    EncodeCollectionStream(e->value, ckpt::kBlockTarget, [&](std::string_view p, bool) {
      joined.append(p);
      pieces++;
      if (p.size() != (1u << 20)) max_piece = std::max(max_piece, p.size());
    });
    EXPECT_EQ(joined, whole) << key;
    EXPECT_GT(pieces, 1u) << key;
    EXPECT_LE(max_piece, ckpt::kBlockTarget + 64) << key;
  }

  for (bool threaded : {false, true}) {
    size_t max_append = 0;
    auto f = FileSystem::Default()->NewWritableFile(path(), false);
    ASSERT_TRUE(f.ok());
    ckpt::WriterOptions o;
    o.lz4 = true;
    o.threaded = threaded;
    o.queue_blocks = 2;
    ckpt::Writer w(std::make_unique<MaxAppendFile>(std::move(f.value()), &max_append), o);
    ASSERT_TRUE(w.Begin(ckpt::Header{}).ok());
    std::string scratch;
    a.engine().db(0).ForEach(
        [&](const Entry& e) { ASSERT_TRUE(WriteRecord(&w, 0, e, &scratch).ok()); });
    ASSERT_TRUE(w.Finish().ok());
    EXPECT_LE(max_append, ckpt::kBlockTarget + 1024) << "a block held more than one chunk";
    std::string data = Bytes();
    size_t chunks = 0, lz4_chunks = 0;
    for (const BlockPos& b : Blocks(data)) {
      chunks += b.type == ckpt::kValueChunk || b.type == ckpt::kValueChunkLz4;
      lz4_chunks += b.type == ckpt::kValueChunkLz4;
    }
    EXPECT_GT(chunks, 3u * 48);  // the string alone is 48 chunks
    EXPECT_GT(lz4_chunks, 0u);

    EngineHarness b;
    uint64_t expired = 0;
    ckpt::ReadStats rs;
    ASSERT_TRUE(ckpt::Read(
                    FileSystem::Default(), path(), true,
                    [&](const ckpt::Record& r) {
                      return ApplyRecord(&b.engine(), path(), r, CollectionLimits{}, 0, &expired);
                    },
                    &rs)
                    .ok());
    EXPECT_EQ(rs.keys, 7u);
    EXPECT_EQ(b.Run({"debug", "digest"}), digest);
    EXPECT_EQ(b.Run({"strlen", "bigstring"}), ":3145728\r\n");
    EXPECT_EQ(b.Run({"hlen", "bighash"}), ":200000\r\n");
    EXPECT_EQ(b.Run({"hstrlen", "widefield", "huge"}), ":1048576\r\n");
  }
}

// A streamed value whose chunks are damaged, missing or stray is refused with the offset.
TEST_F(CheckpointTest, DamagedValueChunksAreRefusedWithTheirOffset) {
  {
    auto f = FileSystem::Default()->NewWritableFile(path(), false);
    ASSERT_TRUE(f.ok());
    ckpt::Writer w(std::move(f.value()));
    ASSERT_TRUE(w.Begin(ckpt::Header{}).ok());
    ASSERT_TRUE(w.Add({0, 1, 0, "before", "1"}).ok());
    ASSERT_TRUE(w.BeginValue({0, 1, 0, "big", {}}).ok());
    ASSERT_TRUE(w.AppendValue(std::string(300000, 'b')).ok());
    EXPECT_FALSE(w.Add({0, 1, 0, "x", "y"}).ok());  // not inside a streamed value
    ASSERT_TRUE(w.EndValue().ok());
    ASSERT_TRUE(w.Finish().ok());
  }
  std::string good = Bytes();
  uint64_t keys;
  ASSERT_TRUE(ReadAll(&keys).ok());
  EXPECT_EQ(keys, 2u);
  std::vector<BlockPos> blocks = Blocks(good);
  std::vector<size_t> chunk_idx;
  for (size_t i = 0; i < blocks.size(); i++) {
    if (blocks[i].type == ckpt::kValueChunk) chunk_idx.push_back(i);
  }
  ASSERT_EQ(chunk_idx.size(), 5u);  // 300 000 bytes: four full chunks and the last one
  auto without = [&](size_t i) {
    return good.substr(0, blocks[i].off) + good.substr(blocks[i].off + blocks[i].size);
  };
  // The last chunk is missing: the next block is not a chunk.
  Put(without(chunk_idx.back()));
  Status st = ReadAll(&keys);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("streamed value of key 'big'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("offset " + std::to_string(blocks[chunk_idx.back()].off)),
            std::string::npos)
      << st.message();
  // The record is missing: its chunks follow nothing.
  Put(without(chunk_idx[0] - 1));
  st = ReadAll(&keys);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(
      st.message().find("value chunk at offset " + std::to_string(blocks[chunk_idx[0] - 1].off)),
      std::string::npos)
      << st.message();
  // A flipped byte in a chunk: its checksum.
  std::string bad = good;
  bad[blocks[chunk_idx[2]].off + 100] ^= 1;
  Put(bad);
  st = ReadAll(&keys);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("bad block at offset " + std::to_string(blocks[chunk_idx[2]].off)),
            std::string::npos)
      << st.message();
  // Cut in the middle of the chunks.
  Put(good.substr(0, blocks[chunk_idx[3]].off + 1000));
  st = ReadAll(&keys);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("offset " + std::to_string(blocks[chunk_idx[3]].off)),
            std::string::npos)
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
    for (int i = 0; i < 60000; i++)
      h.Run({"set", "k" + std::to_string(i), "v" + std::to_string(i)});
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
