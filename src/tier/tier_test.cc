// Tier segments and the tier manager against real files in a temporary directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "io/fault_injection_fs.h"
#include "tier/tier_manager.h"
#include "types/serialize.h"

namespace ferrite::tier {
namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/ferrite-tier-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string BigValue(int i, size_t n = 300) {
  std::string v = "value-" + std::to_string(i) + "-";
  while (v.size() < n) v += char('a' + (v.size() * 7 + size_t(i)) % 26);
  return v;
}

TEST(Segment, RecordRoundTripEveryCodec) {
  for (Codec c : {Codec::kNone, Codec::kLz4, Codec::kZstd}) {
    std::string buf;
    std::string value(5000, 'x');
    uint32_t len = EncodeRecord(&buf, 3, 1, "key", value, c);
    ASSERT_EQ(len, buf.size());
    if (c != Codec::kNone) {
      EXPECT_LT(buf.size(), 1000u);  // compressible
    }
    auto r = ParseRecord(buf.data(), buf.size(), "f", 100);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r.value().db, 3);
    EXPECT_EQ(r.value().key, "key");
    std::string scratch;
    auto v = RecordValue(r.value(), &scratch, "f", 100);
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(v.value(), value);
  }
}

TEST(Segment, CorruptAndTruncatedRecordsNameFileAndOffset) {
  std::string buf;
  EncodeRecord(&buf, 0, 1, "k", "some value bytes", Codec::kNone);
  std::string bad = buf;
  bad[bad.size() - 1] ^= 1;
  auto r = ParseRecord(bad.data(), bad.size(), "/x/seg-00000001.warm", 4096);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(
      r.status().message().find("/x/seg-00000001.warm: record at offset 4096: checksum mismatch"),
      std::string::npos)
      << r.status().message();
  auto t = ParseRecord(buf.data(), buf.size() - 3, "f", 7);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("truncated"), std::string::npos);
}

TEST(Segment, FileHeaderChecks) {
  uint64_t id;
  Codec c;
  std::string h = EncodeFileHeader(42, Codec::kLz4, 1000);
  ASSERT_TRUE(ParseFileHeader(h, "f", &id, &c).ok());
  EXPECT_EQ(id, 42u);
  EXPECT_EQ(c, Codec::kLz4);
  std::string bad = h;
  bad[0] = 'X';
  EXPECT_FALSE(ParseFileHeader(bad, "f", &id, &c).ok());
  std::string newer = h;
  newer[8] = 9;
  auto st = ParseFileHeader(newer, "f", &id, &c);
  EXPECT_NE(st.message().find("version 9"), std::string::npos);
}

struct Fixture {
  explicit Fixture(const std::string& dir, Codec cold = Codec::kLz4,
                   FileSystem* fs = FileSystem::Default()) {
    TierOptions o;
    o.enabled = true;
    o.dir = dir + "/tier";
    o.cold_dir = dir + "/cold";
    o.segment_size = 1 << 20;
    o.min_value_size = 16;
    o.cold_codec = cold;
    o.threads = 2;
    mgr = std::make_unique<TierManager>(o, fs, Clock::Real());
    for (int i = 0; i < 2; i++) dbs.push_back(std::make_unique<Database>(i, nullptr, &stats));
    std::vector<Database*> raw;
    for (auto& d : dbs) raw.push_back(d.get());
    EXPECT_TRUE(mgr->Open().ok());
    mgr->Attach(raw, CollectionLimits());
  }
  ~Fixture() {
    dbs.clear();  // values release their records before the manager goes
    mgr.reset();
  }
  // Runs posted results until cond holds (bounded: 10 s).
  template <typename F>
  bool WaitFor(F cond) {
    for (int i = 0; i < 2000; i++) {
      mgr->RunPosted();
      if (cond()) return true;
      usleep(5000);
    }
    return false;
  }
  KeyspaceStats stats;
  std::vector<std::unique_ptr<Database>> dbs;
  std::unique_ptr<TierManager> mgr;
};

TEST(TierManager, DemotedStringsReadZeroCopyFromTheMapping) {
  TempDir td;
  Fixture f(td.path());
  Database& db = *f.dbs[0];
  for (int i = 0; i < 200; i++) db.Insert("k" + std::to_string(i), Value::String(BigValue(i)));
  size_t n = f.mgr->DemoteNow(1000, 1000);
  EXPECT_GE(n, 150u);  // sampling finds most of them
  size_t tiered = 0;
  for (int i = 0; i < 200; i++) {
    Entry* e = db.table().Find("k" + std::to_string(i), Table::Hash("k" + std::to_string(i)));
    ASSERT_NE(e, nullptr);
    if (!e->value.tiered()) continue;
    tiered++;
    std::string scratch;
    std::string_view v = e->value.GetString(&scratch);
    EXPECT_EQ(v, BigValue(i));
    EXPECT_TRUE(scratch.empty()) << "warm reads are zero-copy";
  }
  EXPECT_EQ(tiered, n);
  EXPECT_EQ(f.mgr->GetUsage().warm_values, n);
}

TEST(TierManager, CollectionsRoundTripThroughSegments) {
  TempDir td;
  Fixture f(td.path());
  Database& db = *f.dbs[1];
  Value h = hashv::New();
  CollectionLimits lim;
  for (int i = 0; i < 100; i++) hashv::Set(h, "field" + std::to_string(i), BigValue(i, 40), lim);
  std::string before = CanonicalBytes(h);
  db.Insert("h", std::move(h));
  ASSERT_EQ(f.mgr->DemoteNow(10, 1000), 1u);
  Entry* e = db.table().Find("h", Table::Hash("h"));
  ASSERT_TRUE(e->value.tiered());
  EXPECT_EQ(CanonicalBytes(e->value), before);
  // A command reading it (Find) brings it back into RAM.
  Entry* found = db.Find("h", 1000);
  ASSERT_FALSE(found->value.tiered());
  EXPECT_EQ(CanonicalBytes(found->value), before);
  EXPECT_EQ(f.mgr->stats().promotions, 1u);
}

TEST(TierManager, OverwriteAndDeleteLeaveDeadSpaceThenCompaction) {
  TempDir td;
  Fixture f(td.path());
  Database& db = *f.dbs[0];
  for (int i = 0; i < 400; i++)
    db.Insert("k" + std::to_string(i), Value::String(BigValue(i, 1000)));
  f.mgr->DemoteNow(100000, 1000);
  f.mgr->ForceCold();  // seals the active segment
  uint64_t live_before = f.mgr->GetUsage().warm_bytes;
  ASSERT_GT(live_before, 0u);
  for (int i = 0; i < 400; i += 4) db.Delete("k" + std::to_string(i));
  for (int i = 1; i < 400; i += 4)
    db.Set("k" + std::to_string(i), Value::String("new"), false, 1000);
  EXPECT_GT(f.mgr->GetUsage().dead_bytes, 0u);
  EXPECT_LT(f.mgr->GetUsage().warm_bytes, live_before);
  // Recompress to cold, then everything left must still read back.
  ASSERT_TRUE(f.WaitFor([&] {
    f.mgr->Cron(1000);
    return f.mgr->GetUsage().warm_values == 0 && !f.mgr->Busy();
  }));
  EXPECT_GE(f.mgr->stats().recompressions, 1u);
  for (int i = 0; i < 400; i++) {
    std::string k = "k" + std::to_string(i);
    Entry* e = db.table().Find(k, Table::Hash(k));
    if (i % 4 == 0) {
      EXPECT_EQ(e, nullptr);
      continue;
    }
    ASSERT_NE(e, nullptr);
    std::string scratch;
    EXPECT_EQ(e->value.GetString(&scratch), i % 4 == 1 ? std::string("new") : BigValue(i, 1000))
        << k;
  }
}

TEST(TierManager, ColdValuesAreFetchedOffTheLoop) {
  TempDir td;
  Fixture f(td.path(), Codec::kZstd);
  Database& db = *f.dbs[0];
  for (int i = 0; i < 50; i++) db.Insert("k" + std::to_string(i), Value::String(BigValue(i, 2000)));
  f.mgr->DemoteNow(1000, 1000);
  f.mgr->ForceCold();
  ASSERT_TRUE(f.WaitFor([&] {
    f.mgr->Cron(1000);
    return f.mgr->GetUsage().cold_values > 0 && f.mgr->GetUsage().warm_values == 0 &&
           !f.mgr->Busy();
  }));
  std::vector<std::string> events;  // LATENCY events, as the engine receives them
  f.mgr->set_latency_hook([&](const char* ev, int64_t) { events.push_back(ev); });
  std::vector<TierManager::FetchKey> keys;
  for (int i = 0; i < 50; i++) keys.push_back({0, "k" + std::to_string(i)});
  bool done = false;
  Status result = Status::Ok();
  std::shared_ptr<TierManager::Fetched> got;
  f.mgr->Fetch(keys, [&](Status st, std::shared_ptr<TierManager::Fetched> g) {
    done = true;
    result = st;
    got = g;
  });
  ASSERT_TRUE(f.WaitFor([&] { return done; }));
  EXPECT_TRUE(result.ok()) << result.message();
  ASSERT_EQ(got->items.size(), 50u);
  EXPECT_EQ(std::count(events.begin(), events.end(), std::string("tier-cold-read")), 50);
  uint64_t cold_before = f.mgr->GetUsage().cold_bytes;
  // A read-only command borrows them: in RAM while it runs, back on their records after.
  f.mgr->Lend(*got, 1000);
  for (int i = 0; i < 50; i++) {
    std::string k = "k" + std::to_string(i);
    Entry* e = db.table().Find(k, Table::Hash(k));
    ASSERT_FALSE(e->value.tiered()) << k << " is in RAM for the command";
    std::string scratch;
    EXPECT_EQ(e->value.GetString(&scratch), BigValue(i, 2000));
  }
  f.mgr->Return(*got, /*command_wrote=*/false);
  for (int i = 0; i < 50; i++) {
    std::string k = "k" + std::to_string(i);
    EXPECT_TRUE(db.table().Find(k, Table::Hash(k))->value.tiered())
        << k << " is back on its record";
  }
  EXPECT_EQ(f.mgr->GetUsage().cold_bytes, cold_before) << "no dead space from reads";
  EXPECT_EQ(f.mgr->stats().lent_reads, 50u);
  // A writing command keeps them in RAM; their records become dead space.
  bool done2 = false;
  f.mgr->Fetch(keys, [&](Status, std::shared_ptr<TierManager::Fetched> g) {
    done2 = true;
    got = g;
  });
  ASSERT_TRUE(f.WaitFor([&] { return done2; }));
  f.mgr->Lend(*got, 1000);
  f.mgr->Return(*got, /*command_wrote=*/true);
  for (int i = 0; i < 50; i++) {
    std::string k = "k" + std::to_string(i), scratch;
    Entry* e = db.table().Find(k, Table::Hash(k));
    ASSERT_FALSE(e->value.tiered());
    EXPECT_EQ(e->value.GetString(&scratch), BigValue(i, 2000));
  }
  EXPECT_EQ(f.mgr->GetUsage().cold_values, 0u);
  // One cold read per key and fetch, each in the latency histogram behind INFO's p50/p99.
  EXPECT_EQ(f.mgr->stats().cold_read_count, 100u);
  EXPECT_EQ(f.mgr->stats().cold_read_latency.count(), 100u);
  std::string info = f.mgr->InfoSection();
  EXPECT_NE(info.find("tier_cold_read_count:100\r\n"), std::string::npos) << info;
}

TEST(TierManager, CorruptColdRecordIsAnErrorNamingKeyAndFile) {
  TempDir td;
  Fixture f(td.path());
  Database& db = *f.dbs[0];
  db.Insert("victim", Value::String(BigValue(1, 3000)));
  ASSERT_EQ(f.mgr->DemoteNow(10, 1000), 1u);
  f.mgr->ForceCold();
  ASSERT_TRUE(f.WaitFor([&] {
    f.mgr->Cron(1000);
    return f.mgr->GetUsage().cold_values == 1 && !f.mgr->Busy();
  }));
  Entry* e = db.table().Find("victim", Table::Hash("victim"));
  ASSERT_TRUE(e->value.tiered());
  std::string cold_file;
  for (auto& p : std::filesystem::directory_iterator(td.path() + "/cold"))
    cold_file = p.path().string();
  ASSERT_FALSE(cold_file.empty());
  {  // flip a byte inside the record's value
    std::fstream io(cold_file, std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(std::streamoff(e->value.tier_offset() + e->value.tier_length() - 5));
    io.put('\x7f');
  }
  bool done = false;
  Status result = Status::Ok();
  f.mgr->Fetch({{0, "victim"}}, [&](Status st, std::shared_ptr<TierManager::Fetched>) {
    done = true;
    result = st;
  });
  ASSERT_TRUE(f.WaitFor([&] { return done; }));
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.message().find("victim"), std::string::npos) << result.message();
  EXPECT_NE(result.message().find(cold_file), std::string::npos) << result.message();
  EXPECT_NE(result.message().find("checksum mismatch"), std::string::npos) << result.message();
  EXPECT_TRUE(db.table().Find("victim", Table::Hash("victim"))->value.tiered())
      << "nothing is replaced";
}

TEST(TierManager, ReopenedSegmentsServeAdoptedReferences) {
  TempDir td;
  std::vector<std::pair<std::string, std::string>> refs;  // key -> ref bytes
  {
    Fixture f(td.path());
    Database& db = *f.dbs[0];
    for (int i = 0; i < 30; i++)
      db.Insert("k" + std::to_string(i), Value::String(BigValue(i, 500)));
    f.mgr->DemoteNow(1000, 1000);
    std::set<uint32_t> ids;
    db.ForEach([&](Entry& e) {
      if (!e.value.tiered()) return;
      refs.emplace_back(std::string(e.key()), TierManager::EncodeRef(e.value));
      ids.insert(e.value.tier_segment());
    });
    f.mgr->BeginImage();
    ASSERT_TRUE(f.mgr->MakeImageDurable(ids).ok());
    f.mgr->EndImage(0, true, ids);
  }
  ASSERT_FALSE(refs.empty());
  Fixture g(td.path());
  Database& db = *g.dbs[0];
  for (auto& [k, ref] : refs) {
    auto v = g.mgr->AdoptRef(uint8_t(ValueType::kString), ref, k);
    ASSERT_TRUE(v.ok()) << v.status().message();
    db.Insert(k, std::move(v.value()));
  }
  for (auto& [k, ref] : refs) {
    Entry* e = db.table().Find(k, Table::Hash(k));
    std::string scratch;
    EXPECT_EQ(e->value.GetString(&scratch), BigValue(std::stoi(k.substr(1)), 500));
  }
  // A reference to a segment that is gone is an error naming it.
  std::string bad = refs[0].second;
  bad[0] = char(99);
  auto r = g.mgr->AdoptRef(uint8_t(ValueType::kString), bad, "lost");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("lost"), std::string::npos);
  EXPECT_NE(r.status().message().find("segment 99"), std::string::npos);
}

TEST(TierManager, DiskFullKeepsValuesInRamAndRecovers) {
  TempDir td;
  FaultInjectionFileSystem fs(FileSystem::Default());
  Fixture f(td.path(), Codec::kLz4, &fs);
  Database& db = *f.dbs[0];
  for (int i = 0; i < 100; i++)
    db.Insert("k" + std::to_string(i), Value::String(BigValue(i, 1000)));
  ASSERT_GT(f.mgr->DemoteNow(20, 1000), 0u);
  size_t tiered_before = f.mgr->GetUsage().warm_values;
  fs.FailAppends(Status::NoSpace("write /x: No space left on device"));
  EXPECT_EQ(f.mgr->DemoteNow(50, 1000), 0u);
  EXPECT_GE(f.mgr->stats().demote_failures, 1u);
  EXPECT_EQ(f.mgr->GetUsage().warm_values, tiered_before);
  for (int i = 0; i < 100; i++) {  // nothing lost: every value reads back, in RAM or warm
    std::string k = "k" + std::to_string(i), scratch;
    Entry* e = db.table().Find(k, Table::Hash(k));
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->value.GetString(&scratch), BigValue(i, 1000)) << k;
  }
  fs.ClearFaults();
  EXPECT_GT(f.mgr->DemoteNow(50, 1000), 0u);
  for (int i = 0; i < 100; i++) {
    std::string k = "k" + std::to_string(i), scratch;
    EXPECT_EQ(db.table().Find(k, Table::Hash(k))->value.GetString(&scratch), BigValue(i, 1000))
        << k;
  }
}

TEST(TierManager, SegmentsNoImageReferencesAreDeletedAndPinnedOnesKept) {
  TempDir td;
  Fixture f(td.path());
  f.mgr->ClearPins(0);
  f.mgr->ClearPins(1);
  Database& db = *f.dbs[0];
  for (int i = 0; i < 100; i++)
    db.Insert("k" + std::to_string(i), Value::String(BigValue(i, 1000)));
  f.mgr->DemoteNow(1000, 1000);
  f.mgr->ForceCold();  // seals the segment
  std::set<uint32_t> refs;
  db.ForEach([&](Entry& e) {
    if (e.value.tiered()) refs.insert(e.value.tier_segment());
  });
  ASSERT_EQ(refs.size(), 1u);
  f.mgr->BeginImage();
  f.mgr->EndImage(0, true, refs);  // a checkpoint on disk references the segment
  auto warm_files = [&] {
    size_t n = 0;
    for (auto& p : std::filesystem::directory_iterator(td.path() + "/tier"))
      n += p.path().extension() == ".warm";
    return n;
  };
  db.Clear();  // every record dead
  f.mgr->set_paused(false);
  for (int i = 0; i < 3; i++) f.mgr->Cron(1000);
  EXPECT_EQ(warm_files(), 1u) << "pinned by the checkpoint";
  f.mgr->BeginImage();
  f.mgr->EndImage(0, true, {});  // the next checkpoint references nothing
  f.mgr->Cron(1000);
  EXPECT_EQ(warm_files(), 0u);
  EXPECT_EQ(f.mgr->stats().segments_deleted, 1u);
}

// Directory entries are data: a warm segment created by demotion must still exist after
// a power loss once an image (a checkpoint) that references it was made durable. Before,
// neither the new segment nor the image's sync fsynced the tier directory, and the
// fault-injection file system's crash made the segment vanish.
TEST(TierManager, NewSegmentSurvivesAPowerLossOnceAnImageReferencesIt) {
  TempDir td;
  FaultInjectionFileSystem fs(FileSystem::Default());
  std::vector<std::pair<std::string, std::string>> refs;
  {
    Fixture f(td.path(), Codec::kLz4, &fs);
    Database& db = *f.dbs[0];
    for (int i = 0; i < 30; i++)
      db.Insert("k" + std::to_string(i), Value::String(BigValue(i, 500)));
    ASSERT_GT(f.mgr->DemoteNow(1000, 1000), 0u);
    std::set<uint32_t> ids;
    db.ForEach([&](Entry& e) {
      if (!e.value.tiered()) return;
      refs.emplace_back(std::string(e.key()), TierManager::EncodeRef(e.value));
      ids.insert(e.value.tier_segment());
    });
    f.mgr->BeginImage();
    ASSERT_TRUE(f.mgr->MakeImageDurable(ids).ok());  // what a checkpoint does before its rename
    f.mgr->EndImage(0, true, ids);
    fs.KillNow();
  }
  ASSERT_TRUE(fs.SimulateCrash().ok());
  ASSERT_FALSE(refs.empty());
  Fixture g(td.path());
  for (auto& [k, ref] : refs) {
    auto v = g.mgr->AdoptRef(uint8_t(ValueType::kString), ref, k);
    ASSERT_TRUE(v.ok()) << v.status().message();
    std::string scratch;
    EXPECT_EQ(v.value().GetString(&scratch), BigValue(std::stoi(k.substr(1)), 500)) << k;
    g.dbs[0]->Insert(k, std::move(v.value()));
  }
}

// fsyncgate for segments: an fsync of a segment fails; a retry would "succeed" over pages
// the kernel dropped. The segment is never fsynced again or referenced by an image: its
// values are copied to a new segment first, and the image references that one.
TEST(TierManager, SegmentWhoseFsyncFailedIsCopiedBeforeAnImageReferencesIt) {
  TempDir td;
  FaultInjectionFileSystem fs(FileSystem::Default());
  std::vector<std::pair<std::string, std::string>> refs;
  size_t demoted = 0;
  {
    Fixture f(td.path(), Codec::kLz4, &fs);
    f.mgr->set_paused(false);
    Database& db = *f.dbs[0];
    for (int i = 0; i < 30; i++)
      db.Insert("k" + std::to_string(i), Value::String(BigValue(i, 500)));
    demoted = f.mgr->DemoteNow(1000, 1000);
    ASSERT_GT(demoted, 0u);
    auto segments = [&] {
      std::set<uint32_t> ids;
      db.ForEach([&](Entry& e) {
        if (e.value.tiered()) ids.insert(e.value.tier_segment());
      });
      return ids;
    };
    std::set<uint32_t> first = segments();
    ASSERT_EQ(first.size(), 1u);
    fs.FailSyncs(1, "seg-");
    EXPECT_FALSE(f.mgr->MakeImageDurable(first).ok());
    EXPECT_FALSE(f.mgr->MakeImageDurable(first).ok()) << "a retried fsync must not count";
    ASSERT_TRUE(f.WaitFor([&] {
      f.mgr->Cron(1000);
      return segments() != first;
    })) << "the values were not copied to a new segment";
    std::set<uint32_t> second = segments();
    EXPECT_EQ(second.count(*first.begin()), 0u);
    f.mgr->BeginImage();
    ASSERT_TRUE(f.mgr->MakeImageDurable(second).ok());
    f.mgr->EndImage(0, true, second);
    db.ForEach([&](Entry& e) {
      if (e.value.tiered())
        refs.emplace_back(std::string(e.key()), TierManager::EncodeRef(e.value));
    });
    fs.KillNow();
  }
  ASSERT_TRUE(fs.SimulateCrash().ok());
  ASSERT_EQ(refs.size(), demoted);  // every value moved, none lost
  Fixture g(td.path());
  for (auto& [k, ref] : refs) {
    auto v = g.mgr->AdoptRef(uint8_t(ValueType::kString), ref, k);
    ASSERT_TRUE(v.ok()) << v.status().message();
    std::string scratch;
    EXPECT_EQ(v.value().GetString(&scratch), BigValue(std::stoi(k.substr(1)), 500)) << k;
    g.dbs[0]->Insert(k, std::move(v.value()));
  }
}

}  // namespace
}  // namespace ferrite::tier

namespace ferrite::tier {
namespace {

// A power loss after a segment's failed fsync can leave a file of full length whose header
// reads back as zeros (the pages the kernel dropped). Nothing references such a segment,
// so the tier opens without it: the file is set aside as .damaged (kept, never deleted),
// and its id is never given to a new segment.
// Before, start-up refused to open the tier ("bad magic") and the server could not start.
TEST(TierManager, SegmentWithAnUnreadableHeaderIsSetAsideAndItsIdNeverReused) {
  TempDir td;
  std::filesystem::create_directories(td.path() + "/tier");
  const std::string bad = td.path() + "/tier/seg-00000005.warm";
  std::ofstream(bad, std::ios::binary) << std::string(8192, '\0');
  Fixture f(td.path());
  EXPECT_FALSE(std::filesystem::exists(bad));
  EXPECT_TRUE(std::filesystem::exists(bad + ".damaged"));
  Database& db = *f.dbs[0];
  for (int i = 0; i < 10; i++) db.Insert("k" + std::to_string(i), Value::String(BigValue(i, 500)));
  ASSERT_GT(f.mgr->DemoteNow(1000, 1000), 0u);
  std::set<uint32_t> ids;
  db.ForEach([&](Entry& e) {
    if (e.value.tiered()) ids.insert(e.value.tier_segment());
  });
  ASSERT_FALSE(ids.empty());
  EXPECT_GT(*ids.begin(), 5u) << "a new segment took the id of the damaged one";
}

}  // namespace
}  // namespace ferrite::tier

namespace ferrite::tier {
namespace {

// Cron starts a move (of a segment whose fsync failed, or a compaction) while walking the
// segment table; the move takes a new segment id, which can grow the table. Before, the
// walk went on with iterators into the old, freed array (a crash in the power-loss
// simulation; ASan reports the use after free in the sanitizer build). Seven segments fill
// the table's capacity of eight exactly (ids from 1, grown 2, 4, 8), so the id the move
// takes (8) reallocates it in the middle of the walk.
TEST(TierManager, CronStartingAMoveWhileWalkingTheSegmentsSurvivesTheTableGrowing) {
  TempDir td;
  FaultInjectionFileSystem fs(FileSystem::Default());
  Fixture f(td.path(), Codec::kLz4, &fs);
  Database& db = *f.dbs[0];
  auto segments = [&] {
    std::set<uint32_t> ids;
    db.ForEach([&](Entry& e) {
      if (e.value.tiered()) ids.insert(e.value.tier_segment());
    });
    return ids;
  };
  for (int i = 0; i < 200 && segments().size() < 7; i++) {
    // Values of a quarter segment (the largest that moves): a few per 1 MB segment.
    db.Insert("k" + std::to_string(i), Value::String(BigValue(i, 250 << 10)));
    f.mgr->DemoteNow(1, 1000);
  }
  ASSERT_EQ(segments(), (std::set<uint32_t>{1, 2, 3, 4, 5, 6, 7}));
  fs.FailSyncs(1, "seg-00000002");
  EXPECT_FALSE(f.mgr->MakeImageDurable({2}).ok());  // segment 2 is untrusted: Cron moves it
  f.mgr->set_paused(false);
  ASSERT_TRUE(f.WaitFor([&] {
    f.mgr->Cron(1000);
    return segments().count(2) == 0;
  })) << "the values of the untrusted segment were not moved";
  EXPECT_EQ(segments().count(8), 1u);
}

}  // namespace
}  // namespace ferrite::tier
