// AOF: the format reader (torn tails, damage, timestamps), replay to the same digest,
// Redis's AOF scenarios, and fault injection (EIO, ENOSPC, torn writes, fsync errors,
// power loss) through the FileSystem interface.

#include "persistence/aof/aof.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "commands/test_util.h"
#include "io/fault_injection_fs.h"
#include "persistence/aof/aof_format.h"
#include "persistence/aof/aof_integrity.h"

namespace ferrite {
namespace {

std::string ReadFile(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& p, const std::string& data) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << data;
}

std::string Cmd(std::initializer_list<std::string_view> args) {
  std::string out;
  aof::AppendCommand(&out, args);
  return out;
}

TEST(AofFormat, RoundTripWithTimestampsAndLines) {
  std::string data;
  aof::AppendTimestamp(&data, 1705312800);
  aof::AppendCommand(&data, {"SET", "k", "a\r\nb"});
  aof::AppendCommand(&data, {"DEL", "k"});
  aof::AofReader r;
  r.Feed(data);
  aof::AofRecord rec;
  ASSERT_EQ(r.Next(&rec), aof::AofReader::Result::kRecord);
  EXPECT_EQ(rec.kind, aof::AofRecord::kAnnotation);
  EXPECT_EQ(rec.timestamp, 1705312800);
  ASSERT_EQ(r.Next(&rec), aof::AofReader::Result::kRecord);
  EXPECT_EQ(rec.line, 2u);
  EXPECT_EQ(rec.args[2], "a\r\nb");
  ASSERT_EQ(r.Next(&rec), aof::AofReader::Result::kRecord);
  EXPECT_EQ(rec.args[0], "DEL");
  EXPECT_EQ(rec.line, 10u);  // the value's own CRLF counts, as `grep -n` counts lines
  EXPECT_EQ(r.Next(&rec), aof::AofReader::Result::kNeedMore);
  EXPECT_TRUE(r.AtCleanEnd());
}

TEST(AofFormat, TornTailIsIncompleteAtTheLastWholeCommand) {
  std::string whole = Cmd({"SET", "a", "1"});
  std::string next = Cmd({"SET", "b", "2"});
  for (size_t cut = 1; cut < next.size(); cut++) {
    aof::AofReader r;
    r.Feed(whole + next.substr(0, cut));
    aof::AofRecord rec;
    ASSERT_EQ(r.Next(&rec), aof::AofReader::Result::kRecord);
    ASSERT_EQ(r.Next(&rec), aof::AofReader::Result::kNeedMore);
    EXPECT_FALSE(r.AtCleanEnd());
    EXPECT_EQ(r.offset(), whole.size());
  }
}

TEST(AofFormat, GarbageInTheMiddleIsAnErrorWithOffsetAndLine) {
  std::string data = Cmd({"SET", "a", "1"}) + "garbage\r\n" + Cmd({"SET", "b", "2"});
  aof::AofReader r;
  r.Feed(data);
  aof::AofRecord rec;
  ASSERT_EQ(r.Next(&rec), aof::AofReader::Result::kRecord);
  ASSERT_EQ(r.Next(&rec), aof::AofReader::Result::kError);
  EXPECT_EQ(r.error_offset(), Cmd({"SET", "a", "1"}).size());
  EXPECT_EQ(r.error_line(), 8u);
  EXPECT_NE(r.error().find("expected '*'"), std::string::npos);
}

// An engine whose writes go to an open AOF: the common set-up of the tests below.
struct LiveAof {
  LiveAof(FileSystem* fs, const std::string& dir, FsyncPolicy policy, Clock* clock = nullptr)
      : aof(&h.engine(), fs, dir, "ferrite.aof", policy, false, clock ? clock : &h.clock()) {
    EXPECT_TRUE(aof.Open().ok());
    h.engine().set_propagation_sink(&aof);
  }
  ~LiveAof() { h.engine().set_propagation_sink(nullptr); }
  EngineHarness h;
  Aof aof;
};

class AofTest : public ::testing::Test {
 protected:
  AofTest() {
    char tmpl[] = "/tmp/ferrite-aof-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~AofTest() override { std::filesystem::remove_all(dir_); }
  std::string path() const { return dir_ + "/ferrite.aof"; }

  // Runs commands on a fresh engine with an AOF under policy, then returns the digest.
  std::string WriteWith(FileSystem* fs, FsyncPolicy policy,
                        const std::vector<std::vector<std::string>>& cmds) {
    LiveAof live(fs, dir_, policy);
    for (auto& c : cmds) live.h.Run(c);
    EXPECT_TRUE(live.aof.BeforeSleep());
    return live.h.Run({"debug", "digest"});
  }

  // Loads the file into a fresh engine; returns the load status and fills digest.
  Status LoadInto(EngineHarness& h, CorruptionAction on_corruption) {
    Aof aof(&h.engine(), FileSystem::Default(), dir_, "ferrite.aof", FsyncPolicy::kNo, false,
            &h.clock());
    return aof.Load(on_corruption);
  }

  std::string dir_;
};

TEST_F(AofTest, ReplayRebuildsTheSameDigest) {
  std::vector<std::vector<std::string>> cmds = {{"set", "a", "1"},
                                                {"incr", "a"},
                                                {"set", "b", "x", "EX", "1000"},
                                                {"select", "3"},
                                                {"set", "c", "3"},
                                                {"append", "c", "more"},
                                                {"incrbyfloat", "f", "1.5"},
                                                {"select", "0"},
                                                {"expire", "a", "5000"},
                                                {"del", "nothing"},
                                                {"setbit", "bits", "100", "1"},
                                                {"multi"},
                                                {"set", "t1", "1"},
                                                {"set", "t2", "2"},
                                                {"exec"},
                                                {"rename", "b", "b2"},
                                                {"debug", "populate", "100"}};
  std::string want = WriteWith(FileSystem::Default(), FsyncPolicy::kAlways, cmds);
  EngineHarness h;
  ASSERT_TRUE(LoadInto(h, CorruptionAction::kTruncate).ok());
  EXPECT_EQ(h.Run({"debug", "digest"}), want);
  EXPECT_NE(want, "+" + std::string(40, '0') + "\r\n");
  std::string file = ReadFile(path());
  EXPECT_NE(file.find("PEXPIREAT"), std::string::npos);    // EXPIRE logged as its effect
  EXPECT_EQ(file.find("INCRBYFLOAT"), std::string::npos);  // logged as SET
  EXPECT_NE(file.find("MULTI"), std::string::npos);
}

// Redis's aof.tcl scenario: five INCRs, a torn sixth; the value is 5 and the next INCR 6.
TEST_F(AofTest, TornSixthIncrIsTruncated) {
  std::string data = Cmd({"SELECT", "0"});
  for (int i = 0; i < 5; i++) data += Cmd({"INCR", "foo"});
  std::string sixth = Cmd({"INCR", "foo"});
  size_t good = data.size();
  WriteFile(path(), data + sixth.substr(0, sixth.size() - 3));
  {
    EngineHarness h;
    Status st = LoadInto(h, CorruptionAction::kAbort);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("offset " + std::to_string(good)), std::string::npos)
        << st.message();
    EXPECT_NE(st.message().find("ferrite-check-aof --fix " + path()), std::string::npos);
  }
  EngineHarness h;
  ASSERT_TRUE(LoadInto(h, CorruptionAction::kTruncate).ok());
  EXPECT_EQ(h.Run({"get", "foo"}), "$1\r\n5\r\n");
  EXPECT_EQ(std::filesystem::file_size(path()), good);
  Aof aof(&h.engine(), FileSystem::Default(), dir_, "ferrite.aof", FsyncPolicy::kAlways, false,
          &h.clock());
  ASSERT_TRUE(aof.Open().ok());
  h.engine().set_propagation_sink(&aof);
  EXPECT_EQ(h.Run({"incr", "foo"}), ":6\r\n");
  ASSERT_TRUE(aof.BeforeSleep());
  h.engine().set_propagation_sink(nullptr);
  EngineHarness again;
  ASSERT_TRUE(LoadInto(again, CorruptionAction::kAbort).ok());
  EXPECT_EQ(again.Run({"get", "foo"}), "$1\r\n6\r\n");
}

TEST_F(AofTest, UnfinishedMultiIsCutBackToTheMulti) {
  std::string head = Cmd({"SET", "a", "1"});
  WriteFile(path(), head + Cmd({"MULTI"}) + Cmd({"SET", "b", "2"}));
  EngineHarness h1;
  EXPECT_FALSE(LoadInto(h1, CorruptionAction::kAbort).ok());
  EngineHarness h;
  ASSERT_TRUE(LoadInto(h, CorruptionAction::kTruncate).ok());
  EXPECT_EQ(h.Run({"get", "a"}), "$1\r\n1\r\n");
  EXPECT_EQ(h.Run({"get", "b"}), "$-1\r\n");
  EXPECT_EQ(std::filesystem::file_size(path()), head.size());
}

TEST_F(AofTest, GarbageInTheMiddleRefusesEvenUnderTruncate) {
  std::string data = Cmd({"SET", "a", "1"}) + "!!garbage\r\n" + Cmd({"SET", "b", "2"});
  WriteFile(path(), data);
  EngineHarness h;
  Status st = LoadInto(h, CorruptionAction::kTruncate);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("offset " + std::to_string(Cmd({"SET", "a", "1"}).size())),
            std::string::npos)
      << st.message();
  EXPECT_EQ(std::filesystem::file_size(path()), data.size());  // nothing cut
}

TEST_F(AofTest, UnknownCommandRefused) {
  WriteFile(path(), Cmd({"FROBNICATE", "x"}));
  EngineHarness h;
  Status st = LoadInto(h, CorruptionAction::kTruncate);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("Unknown command 'FROBNICATE'"), std::string::npos);
}

// Runs a rewrite of live's AOF to its end (what the persistence manager does after a
// failure, one slice per loop iteration).
void RewriteToTheEnd(Aof& aof) {
  ASSERT_TRUE(aof.StartRewrite(1).ok());
  for (int i = 0; i < 100000 && aof.rewriting(); i++) aof.RewriteStep(1000);
  ASSERT_FALSE(aof.rewriting());
}

// A failed write is never retried into the same file: the file is untrusted, writes are
// refused and the reply held even once the disk works again, until a new generation
// written from memory replaces it.
TEST_F(AofTest, WriteErrorMakesTheFileUntrustedUntilANewGenerationReplacesIt) {
  FaultInjectionFileSystem fs(FileSystem::Default());
  LiveAof live(&fs, dir_, FsyncPolicy::kAlways);
  EngineHarness& h = live.h;
  Aof& aof = live.aof;
  h.Run({"set", "a", "1"});
  ASSERT_TRUE(aof.BeforeSleep());
  fs.FailAppends(ErrnoStatus("write", aof.path(), EIO));
  h.Run({"set", "b", "2"});
  EXPECT_FALSE(aof.BeforeSleep());  // `always`: the reply for b must not leave
  EXPECT_TRUE(aof.write_error());
  fs.ClearFaults();
  EXPECT_FALSE(aof.BeforeSleep());  // not retried into the untrusted file
  EXPECT_TRUE(aof.untrusted());
  RewriteToTheEnd(aof);
  EXPECT_FALSE(aof.untrusted());
  EXPECT_TRUE(aof.BeforeSleep());  // b is in the new generation: released
  EXPECT_EQ(aof.stats().recoveries, 1u);
  h.engine().set_propagation_sink(nullptr);
  EngineHarness h2;
  ASSERT_TRUE(LoadInto(h2, CorruptionAction::kAbort).ok());
  EXPECT_EQ(h2.Run({"get", "b"}), "$1\r\n2\r\n");
}

TEST_F(AofTest, NoSpaceIsReportedAndNothingAcknowledgedIsLost) {
  FaultInjectionFileSystem fs(FileSystem::Default());
  LiveAof live(&fs, dir_, FsyncPolicy::kAlways);
  EngineHarness& h = live.h;
  Aof& aof = live.aof;
  fs.SetSpaceLimit(200);
  int acknowledged = 0;
  for (int i = 0; i < 20; i++) {
    h.Run({"set", "k" + std::to_string(i), std::string(30, 'v')});
    if (aof.BeforeSleep())
      acknowledged = i + 1;
    else
      break;
  }
  EXPECT_TRUE(aof.write_error());
  EXPECT_NE(aof.stats().last_write_error.find("No space left on device"), std::string::npos);
  EXPECT_GT(acknowledged, 0);
  EXPECT_LT(acknowledged, 20);
  h.engine().set_propagation_sink(nullptr);
  EngineHarness h2;
  ASSERT_TRUE(LoadInto(h2, CorruptionAction::kAbort).ok());  // no torn command was left behind
  for (int i = 0; i < acknowledged; i++) {
    EXPECT_EQ(h2.Run({"exists", "k" + std::to_string(i)}), ":1\r\n") << i;
  }
}

TEST_F(AofTest, TornWriteIsCutBackAndTheFileReplaced) {
  FaultInjectionFileSystem fs(FileSystem::Default());
  LiveAof live(&fs, dir_, FsyncPolicy::kAlways);
  EngineHarness& h = live.h;
  Aof& aof = live.aof;
  h.Run({"set", "a", "1"});
  ASSERT_TRUE(aof.BeforeSleep());
  uint64_t good = std::filesystem::file_size(path());
  fs.TornNextAppend(7);
  h.Run({"set", "b", "2"});
  EXPECT_FALSE(aof.BeforeSleep());
  EXPECT_EQ(std::filesystem::file_size(path()), good);  // the 7 torn bytes were removed
  EXPECT_FALSE(aof.BeforeSleep());
  RewriteToTheEnd(aof);
  EXPECT_TRUE(aof.BeforeSleep());
  h.engine().set_propagation_sink(nullptr);
  EngineHarness h2;
  ASSERT_TRUE(LoadInto(h2, CorruptionAction::kAbort).ok());
  EXPECT_EQ(h2.Run({"get", "b"}), "$1\r\n2\r\n");
}

// fsyncgate: after an fsync fails the kernel may have dropped the pages and the next
// fsync reports success. The old rule (hold, retry the fsync, release on success) gave a
// +OK for a write that is gone after a power loss: here the retried fsync succeeds, the
// crash zeroes the discarded bytes, and the acknowledged write is lost. Now the reply
// stays held until a new generation holds the data.
TEST_F(AofTest, FailedFsyncIsNeverRetriedIntoSuccess) {
  FaultInjectionFileSystem fs(FileSystem::Default());
  int acked = 0;
  {
    LiveAof live(&fs, dir_, FsyncPolicy::kAlways);
    EngineHarness& h = live.h;
    Aof& aof = live.aof;
    for (int i = 0; i < 10; i++) {
      h.Run({"rpush", "ids", "id" + std::to_string(i)});
      ASSERT_TRUE(aof.BeforeSleep());
      acked++;
    }
    fs.FailSyncs(1);
    h.Run({"rpush", "ids", "id10"});
    EXPECT_FALSE(aof.BeforeSleep());
    // The disk "works" again: a retried fsync would succeed. Nothing may be released.
    for (int i = 0; i < 5; i++) EXPECT_FALSE(aof.BeforeSleep()) << i;
    RewriteToTheEnd(aof);
    ASSERT_TRUE(aof.BeforeSleep());  // released only now
    acked++;
    h.Run({"rpush", "ids", "id11"});
    ASSERT_TRUE(aof.BeforeSleep());
    acked++;
    fs.KillNow();
    h.engine().set_propagation_sink(nullptr);
  }
  ASSERT_TRUE(fs.SimulateCrash().ok());
  EngineHarness h2;
  ASSERT_TRUE(LoadInto(h2, CorruptionAction::kAbort).ok());
  std::string want = "*" + std::to_string(acked) + "\r\n";
  for (int i = 0; i < acked; i++) {
    std::string id = "id" + std::to_string(i);
    want += "$" + std::to_string(id.size()) + "\r\n" + id + "\r\n";
  }
  EXPECT_EQ(h2.Run({"lrange", "ids", "0", "-1"}), want);
}

// everysec: the helper's failed fsync makes the file untrusted too (the helper never
// fsyncs it again) until a new generation; replies are not held under everysec.
TEST_F(AofTest, EverysecFsyncFailureRefusesWritesUntilANewGeneration) {
  FaultInjectionFileSystem fs(FileSystem::Default());
  LiveAof live(&fs, dir_, FsyncPolicy::kEverySec);
  EngineHarness& h = live.h;
  Aof& aof = live.aof;
  fs.FailSyncs(1);
  h.Run({"set", "a", "1"});
  ASSERT_TRUE(aof.BeforeSleep());
  for (int i = 0; i < 300 && !aof.untrusted(); i++) {  // the helper fsyncs once a second
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_TRUE(aof.BeforeSleep());
  }
  ASSERT_TRUE(aof.untrusted());
  EXPECT_TRUE(aof.write_error());  // the engine's MISCONF refusal (crash_test checks it)
  int syncs = fs.syncs();
  std::this_thread::sleep_for(std::chrono::milliseconds(2200));
  EXPECT_EQ(fs.syncs(), syncs);  // never fsynced again
  RewriteToTheEnd(aof);
  EXPECT_FALSE(aof.untrusted());
  h.Run({"set", "b", "2"});
  EXPECT_TRUE(aof.BeforeSleep());
  h.engine().set_propagation_sink(nullptr);
}

TEST_F(AofTest, PowerLossKeepsWhatAlwaysAcknowledged) {
  FaultInjectionFileSystem fs(FileSystem::Default());
  {
    LiveAof live(&fs, dir_, FsyncPolicy::kAlways);
    EngineHarness& h = live.h;
    Aof& aof = live.aof;
    for (int i = 0; i < 100; i++) {
      h.Run({"incr", "counter"});
      ASSERT_TRUE(aof.BeforeSleep());
    }
    ASSERT_TRUE(fs.SimulateCrash().ok());
    h.engine().set_propagation_sink(nullptr);
  }
  EngineHarness h2;
  ASSERT_TRUE(LoadInto(h2, CorruptionAction::kAbort).ok());
  EXPECT_EQ(h2.Run({"get", "counter"}), "$3\r\n100\r\n");
}

TEST_F(AofTest, PowerLossUnderNoDropsTheUnsyncedTail) {
  FaultInjectionFileSystem fs(FileSystem::Default());
  LiveAof live(&fs, dir_, FsyncPolicy::kNo);
  EngineHarness& h = live.h;
  Aof& aof = live.aof;
  h.Run({"set", "a", "1"});
  ASSERT_TRUE(aof.FlushAndSync().ok());
  h.Run({"set", "b", "2"});
  ASSERT_TRUE(aof.BeforeSleep());
  ASSERT_TRUE(fs.SimulateCrash().ok());
  h.engine().set_propagation_sink(nullptr);
  EngineHarness h2;
  ASSERT_TRUE(LoadInto(h2, CorruptionAction::kAbort).ok());
  EXPECT_EQ(h2.Run({"get", "a"}), "$1\r\n1\r\n");
  EXPECT_EQ(h2.Run({"get", "b"}), "$-1\r\n");
}

TEST_F(AofTest, RewriteKeepsTheDataInFewerBytes) {
  LiveAof live(FileSystem::Default(), dir_, FsyncPolicy::kEverySec);
  EngineHarness& h = live.h;
  Aof& aof = live.aof;
  h.Run({"set", "counter", "0"});
  for (int i = 0; i < 1000; i++) h.Run({"incr", "counter"});
  h.Run({"set", "t", "v", "EX", "1000"});
  h.Run({"del", "oldkey"});
  ASSERT_TRUE(aof.BeforeSleep());
  uint64_t before = std::filesystem::file_size(path());
  std::string want = h.Run({"debug", "digest"});
  ASSERT_TRUE(aof.Rewrite().ok());
  uint64_t after = std::filesystem::file_size(path());
  EXPECT_LT(after * 10, before);
  EXPECT_NE(ReadFile(path()).find("1000"), std::string::npos);  // SET counter 1000
  h.Run({"incr", "counter"});
  ASSERT_TRUE(aof.BeforeSleep());
  ASSERT_TRUE(aof.FlushAndSync().ok());
  want = h.Run({"debug", "digest"});
  h.engine().set_propagation_sink(nullptr);
  EngineHarness h2;
  ASSERT_TRUE(LoadInto(h2, CorruptionAction::kAbort).ok());
  EXPECT_EQ(h2.Run({"debug", "digest"}), want);
  EXPECT_EQ(h2.Run({"get", "counter"}), "$4\r\n1001\r\n");
  EXPECT_FALSE(std::filesystem::exists(path() + ".rewrite.tmp"));
}

// everysec on power loss: what survives is what the helper thread fsynced, so the loss
// window is about one second. Measured here with the fault-injection file system.
TEST_F(AofTest, PowerLossUnderEverysecLosesAboutOneSecond) {
  FaultInjectionFileSystem fs(FileSystem::Default());
  std::vector<int64_t> ack_time_us;  // ack_time_us[v-1]: when INCR returned v
  int64_t crash_us;
  {
    LiveAof live(&fs, dir_, FsyncPolicy::kEverySec, Clock::Real());
    EngineHarness& h = live.h;
    Aof& aof = live.aof;
    int64_t start = Clock::Real()->MonotonicUs();
    while (Clock::Real()->MonotonicUs() - start < 2'500'000) {
      h.Run({"incr", "counter"});
      ASSERT_TRUE(aof.BeforeSleep());
      ack_time_us.push_back(Clock::Real()->MonotonicUs());
      usleep(200);
    }
    crash_us = Clock::Real()->MonotonicUs();
    ASSERT_TRUE(fs.SimulateCrash().ok());
    h.engine().set_propagation_sink(nullptr);
  }
  EngineHarness h2;
  ASSERT_TRUE(LoadInto(h2, CorruptionAction::kTruncate).ok());
  std::string reply = h2.Run({"get", "counter"});
  int64_t survived = reply == "$-1\r\n" ? 0 : std::stoll(reply.substr(reply.find("\r\n") + 2));
  ASSERT_GT(survived, 0);
  int64_t lost = int64_t(ack_time_us.size()) - survived;
  double window_s = double(crash_us - ack_time_us[size_t(survived - 1)]) / 1e6;
  printf("everysec power loss: %lld of %zu acknowledged writes lost, window %.3f s\n",
         static_cast<long long>(lost), ack_time_us.size(), window_s);
  EXPECT_LE(window_s, 1.6);
}

// everysec on a slow disk: while the helper's fsync runs, the loop does not write (a write
// could block behind the fsync) and keeps the bytes in memory, but never for more than 2 s
// (then it writes anyway and counts aof_delayed_fsync), as Redis does. Nothing is lost on
// a clean close.
TEST_F(AofTest, EverysecPostponesWritesDuringASlowFsyncAtMostTwoSeconds) {
  FaultInjectionFileSystem fs(FileSystem::Default());
  int64_t n = 0;
  int64_t held_since = 0, longest_held_us = 0;
  bool postponed = false;
  uint64_t delayed = 0;
  {
    LiveAof live(&fs, dir_, FsyncPolicy::kEverySec, Clock::Real());
    fs.DelaySyncs(2'400'000);  // from now on every fsync takes 2.4 s
    Clock* clock = Clock::Real();
    int64_t start = clock->MonotonicUs();
    // The helper starts its first fsync about 1 s in; it ends about 3.4 s in.
    while (clock->MonotonicUs() - start < 3'800'000) {
      live.h.Run({"incr", "counter"});
      n++;
      ASSERT_TRUE(live.aof.BeforeSleep());
      int64_t now = clock->MonotonicUs();
      if (live.aof.buffer_length() > 0) {
        postponed = true;
        if (held_since == 0) held_since = now;
        longest_held_us = std::max(longest_held_us, now - held_since);
      } else {
        held_since = 0;
      }
      usleep(1000);
    }
    delayed = live.aof.stats().delayed_fsync;
    fs.ClearFaults();  // the close's own fsync is fast
  }
  EXPECT_TRUE(postponed) << "no write was held while the fsync ran";
  EXPECT_LE(longest_held_us, 2'300'000) << "writes held longer than the 2 s cap";
  EXPECT_GE(longest_held_us, 1'500'000) << "the cap, not the fsync's end, should release them";
  EXPECT_GE(delayed, 1u);
  EngineHarness h2;
  ASSERT_TRUE(LoadInto(h2, CorruptionAction::kAbort).ok());
  EXPECT_EQ(h2.Run({"get", "counter"}),
            "$" + std::to_string(std::to_string(n).size()) + "\r\n" + std::to_string(n) + "\r\n");
}

// The fork-less background rewrite: writes of every kind interleaved with the paced pass;
// the rewritten file replays to exactly the live dataset.
TEST_F(AofTest, BackgroundRewriteUnderWritesReplaysToTheLiveDigest) {
  LiveAof live(FileSystem::Default(), dir_, FsyncPolicy::kEverySec);
  EngineHarness& h = live.h;
  Aof& aof = live.aof;
  for (int i = 0; i < 30000; i++) h.Run({"set", "k" + std::to_string(i), "v" + std::to_string(i)});
  h.Run({"select", "2"});
  for (int i = 0; i < 2000; i++) h.Run({"set", "d2:" + std::to_string(i), "x", "EX", "1000"});
  h.Run({"select", "0"});
  h.Run({"set", "counter", "0"});
  ASSERT_TRUE(aof.BeforeSleep());
  uint64_t before = std::filesystem::file_size(path());
  ASSERT_TRUE(aof.StartRewrite(1).ok());
  EXPECT_FALSE(aof.StartRewrite(2).ok());  // one at a time
  int round = 0;
  while (aof.rewriting()) {
    aof.RewriteStep(1000, 3);  // tiny slices: many interleavings
    for (int j = 0; j < 20; j++, round++) {
      std::string k = "k" + std::to_string((round * 7919) % 40000);
      switch (round % 6) {
        case 0:
          h.Run({"set", k, "new" + std::to_string(round)});
          break;  // also new keys (splits)
        case 1:
          h.Run({"del", k});
          break;
        case 2:
          h.Run({"incr", "counter"});
          break;
        case 3:
          h.Run({"append", k, "+"});
          break;
        case 4:
          h.Run({"expire", k, "500"});
          break;
        case 5:
          h.Run({"swapdb", "2", "3"});
          break;
      }
    }
    ASSERT_TRUE(aof.BeforeSleep());
    ASSERT_LT(round, 10'000'000);
  }
  EXPECT_TRUE(aof.stats().last_rewrite_ok);
  EXPECT_EQ(aof.stats().rewrites, 1u);
  h.Run({"incr", "counter"});  // a write after the switch lands in the new file
  ASSERT_TRUE(aof.BeforeSleep());
  ASSERT_TRUE(aof.FlushAndSync().ok());
  std::string want = h.Run({"debug", "digest"});
  h.engine().set_propagation_sink(nullptr);
  EXPECT_FALSE(std::filesystem::exists(path() + ".rewrite.tmp"));
  EXPECT_FALSE(std::filesystem::exists(path() + ".incr.tmp"));
  EngineHarness h2;
  ASSERT_TRUE(LoadInto(h2, CorruptionAction::kAbort).ok());
  EXPECT_EQ(h2.Run({"debug", "digest"}), want);
  EXPECT_GT(round, 100);
  (void)before;
}

// A crash in the middle of a rewrite leaves the old AOF complete; the temp files are
// removed at the next start.
TEST_F(AofTest, CrashDuringRewriteKeepsTheOldFile) {
  std::string want;
  {
    LiveAof live(FileSystem::Default(), dir_, FsyncPolicy::kAlways);
    EngineHarness& h = live.h;
    Aof& aof = live.aof;
    for (int i = 0; i < 5000; i++) h.Run({"set", "k" + std::to_string(i), "v"});
    ASSERT_TRUE(aof.BeforeSleep());
    ASSERT_TRUE(aof.StartRewrite(1).ok());
    aof.RewriteStep(1000, 10);
    h.Run({"set", "during", "1"});
    ASSERT_TRUE(aof.BeforeSleep());
    want = h.Run({"debug", "digest"});
    h.engine().set_propagation_sink(nullptr);
    // "Crash": copy the files as they are now, before any orderly close.
    std::filesystem::copy_file(path(), path() + ".crash");
    EXPECT_TRUE(std::filesystem::exists(path() + ".rewrite.tmp"));
    std::filesystem::copy_file(path() + ".rewrite.tmp", dir_ + "/saved.rewrite.tmp");
  }
  std::filesystem::rename(path() + ".crash", path());
  std::filesystem::rename(dir_ + "/saved.rewrite.tmp", path() + ".rewrite.tmp");
  Aof::RemoveStrayFiles(FileSystem::Default(), dir_, "ferrite.aof");
  EXPECT_FALSE(std::filesystem::exists(path() + ".rewrite.tmp"));
  EngineHarness h2;
  ASSERT_TRUE(LoadInto(h2, CorruptionAction::kAbort).ok());
  EXPECT_EQ(h2.Run({"debug", "digest"}), want);
}

}  // namespace
}  // namespace ferrite

namespace ferrite {
namespace {

// aof_use_checkpoint_preamble: the rewritten base is a checkpoint, then RESP follows; a
// replay gives back the same data (background rewrite under writes, every type).
TEST_F(AofTest, CheckpointPreambleRewriteReplaysToTheLiveDigest) {
  LiveAof live(FileSystem::Default(), dir_, FsyncPolicy::kEverySec);
  EngineHarness& h = live.h;
  Aof& aof = live.aof;
  aof.set_preamble(true);
  for (int i = 0; i < 5000; i++) h.Run({"set", "k" + std::to_string(i), "v" + std::to_string(i)});
  h.Run({"rpush", "list", "a", "b", "c"});
  h.Run({"hset", "hash", "f", "v"});
  h.Run({"zadd", "zs", "2.5", "m"});
  h.Run({"sadd", "set", "1", "2"});
  h.Run({"select", "4"});
  h.Run({"set", "in4", "x", "EX", "1000"});
  ASSERT_TRUE(aof.BeforeSleep());
  uint64_t old_id = aof.id();
  ASSERT_TRUE(aof.StartRewrite(1).ok());
  int round = 0;
  while (aof.rewriting()) {
    aof.RewriteStep(1000, 3);
    h.Run({"rpush", "list", std::to_string(round)});
    h.Run({"incr", "counter"});
    h.Run({"del", "k" + std::to_string(round % 5000)});
    ASSERT_TRUE(aof.BeforeSleep());
    ASSERT_LT(++round, 1'000'000);
  }
  EXPECT_TRUE(aof.stats().last_rewrite_ok);
  h.Run({"incr", "counter"});
  ASSERT_TRUE(aof.BeforeSleep());
  ASSERT_TRUE(aof.FlushAndSync().ok());
  EXPECT_NE(aof.id(), old_id);  // a new generation, identified by the preamble's header
  EXPECT_EQ(Aof::ReadId(FileSystem::Default(), path()), aof.id());
  std::string want = h.Run({"debug", "digest"});
  h.engine().set_propagation_sink(nullptr);
  std::ifstream f(path(), std::ios::binary);
  char magic[8];
  f.read(magic, 8);
  EXPECT_EQ(std::string(magic, 8), "FERRCKPT");
  EngineHarness h2;
  ASSERT_TRUE(LoadInto(h2, CorruptionAction::kAbort).ok());
  EXPECT_EQ(h2.Run({"debug", "digest"}), want);
}

TEST_F(AofTest, CheckpointPreambleSyncRewriteAndDamage) {
  std::string want;
  {
    LiveAof live(FileSystem::Default(), dir_, FsyncPolicy::kAlways);
    live.aof.set_preamble(true);
    live.h.Run({"set", "a", "1"});
    live.h.Run({"lpush", "l", "x"});
    ASSERT_TRUE(live.aof.BeforeSleep());
    ASSERT_TRUE(live.aof.Rewrite().ok());
    live.h.Run({"set", "b", "2"});
    ASSERT_TRUE(live.aof.BeforeSleep());
    want = live.h.Run({"debug", "digest"});
  }
  EngineHarness h2;
  ASSERT_TRUE(LoadInto(h2, CorruptionAction::kAbort).ok());
  EXPECT_EQ(h2.Run({"debug", "digest"}), want);
  // A flipped byte inside the preamble is refused with the file and offset.
  std::fstream f(path(), std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(30);
  f.put('\xff');
  f.close();
  EngineHarness h3;
  Status st = LoadInto(h3, CorruptionAction::kTruncate);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("preamble"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("offset"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace ferrite

namespace ferrite {
namespace {

// ---- Integrity annotations (#CRC lines, AOF format version 2) ------------------------

class AofIntegrityTest : public ::testing::Test {
 protected:
  AofIntegrityTest() {
    char tmpl[] = "/tmp/ferrite-aof-crc-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~AofIntegrityTest() override { std::filesystem::remove_all(dir_); }
  std::string path() const { return dir_ + "/ferrite.aof"; }
  // Three batches (three loop iterations under `always`): SET a, SET b, SET c.
  void WriteThreeBatches() {
    LiveAof live(FileSystem::Default(), dir_, FsyncPolicy::kAlways);
    for (const char* k : {"a", "b", "c"}) {
      live.h.Run({"set", k, std::string(10, k[0])});
      ASSERT_TRUE(live.aof.BeforeSleep());
    }
  }
  Status Load(EngineHarness& h, CorruptionAction on_corruption) {
    Aof aof(&h.engine(), FileSystem::Default(), dir_, "ferrite.aof", FsyncPolicy::kNo, false,
            &h.clock());
    return aof.Load(on_corruption);
  }
  std::string dir_;
};

TEST_F(AofIntegrityTest, EveryBatchEndsWithAChecksumLineThatVerifies) {
  WriteThreeBatches();
  std::string data = ReadFile(path());
  aof::AofReader r;
  r.Feed(data);
  aof::BatchVerifier v(0);
  aof::AofRecord rec;
  int verified = 0;
  while (r.Next(&rec) == aof::AofReader::Result::kRecord) {
    auto verdict = v.OnRecord(rec);
    ASSERT_NE(verdict, aof::BatchVerifier::Verdict::kMismatch) << v.error();
    verified += verdict == aof::BatchVerifier::Verdict::kVerified;
  }
  EXPECT_EQ(verified, 4);  // the #ID line, then one per batch
  EXPECT_EQ(v.batch_start(), data.size());
  EngineHarness h;
  ASSERT_TRUE(Load(h, CorruptionAction::kAbort).ok());
  EXPECT_EQ(h.Run({"get", "c"}), "$10\r\ncccccccccc\r\n");
}

// A corrupted length in the middle that claims more bytes than remain looked like a torn
// tail: the default (truncate) cut the file there and dropped the acknowledged SET c after
// it. The batch after it verifies: this is damage in the middle, refused, nothing cut.
TEST_F(AofIntegrityTest, CorruptedLengthInTheMiddleIsDamageNotATornTail) {
  WriteThreeBatches();
  std::string data = ReadFile(path());
  size_t at = data.find("$10\r\nbbbbbbbbbb");
  ASSERT_NE(at, std::string::npos);
  data.replace(at, 3, "$99");  // "$99\r\nbbb…": runs past the end of the file
  WriteFile(path(), data);
  EngineHarness h;
  Status st = Load(h, CorruptionAction::kTruncate);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("damage in the middle"), std::string::npos) << st.message();
  EXPECT_EQ(std::filesystem::file_size(path()), data.size());  // nothing cut
}

// Same length, one flipped byte inside a value: every record parses, only the checksum
// sees it. The batch after it verifies: damage in the middle, at the batch's offset.
TEST_F(AofIntegrityTest, FlippedByteInTheMiddleIsFoundByItsBatchChecksum) {
  WriteThreeBatches();
  std::string data = ReadFile(path());
  size_t at = data.find("bbbbbbbbbb");
  ASSERT_NE(at, std::string::npos);
  data[at + 3] = 'X';
  WriteFile(path(), data);
  EngineHarness h;
  Status st = Load(h, CorruptionAction::kTruncate);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("does not match its checksum"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("damage in the middle"), std::string::npos) << st.message();
  EXPECT_EQ(h.Run({"get", "b"}), "$-1\r\n");  // the damaged batch was not applied
}

// A torn last batch (power loss mid-write: part of it, no checksum line) is cut back to
// the last good batch; its records are not applied. Damage in the last batch with nothing
// verified after it is a torn tail too (garbage after a power loss).
TEST_F(AofIntegrityTest, TornLastBatchIsCutBackToTheLastGoodBatch) {
  WriteThreeBatches();
  std::string whole = ReadFile(path());
  size_t last_batch = whole.rfind("*3\r\n$3\r\nSET\r\n$1\r\nc");
  ASSERT_NE(last_batch, std::string::npos);
  for (size_t keep : {last_batch + 5, whole.size() - 3}) {  // mid-record; only the CRC torn
    WriteFile(path(), whole.substr(0, keep));
    EngineHarness h;
    ASSERT_TRUE(Load(h, CorruptionAction::kTruncate).ok());
    EXPECT_EQ(h.Run({"get", "b"}), "$10\r\nbbbbbbbbbb\r\n");
    EXPECT_EQ(h.Run({"get", "c"}), "$-1\r\n");
    EXPECT_EQ(std::filesystem::file_size(path()), last_batch);
  }
  std::string garbled = whole;
  garbled[last_batch + 20] ^= 0x20;  // inside the last batch's value
  WriteFile(path(), garbled);
  EngineHarness h;
  EXPECT_FALSE(Load(h, CorruptionAction::kAbort).ok());
  EngineHarness h2;
  ASSERT_TRUE(Load(h2, CorruptionAction::kTruncate).ok());
  EXPECT_EQ(h2.Run({"get", "c"}), "$-1\r\n");
  EXPECT_EQ(std::filesystem::file_size(path()), last_batch);
}

// Appending to a file written without checksums (Redis's, or an older Ferrite's): the
// old part loads as before, the appended batches are checksummed after a reset line.
TEST_F(AofIntegrityTest, FileWithoutChecksumsLoadsAndIsAppendedToWithAReset) {
  WriteFile(path(), Cmd({"SET", "old", "1"}) + Cmd({"SET", "old2", "2"}));
  {
    EngineHarness h;
    Aof aof(&h.engine(), FileSystem::Default(), dir_, "ferrite.aof", FsyncPolicy::kAlways, false,
            &h.clock());
    ASSERT_TRUE(aof.Load(CorruptionAction::kAbort).ok());
    ASSERT_TRUE(aof.Open().ok());
    h.engine().set_propagation_sink(&aof);
    h.Run({"set", "new", "3"});
    ASSERT_TRUE(aof.BeforeSleep());
    h.engine().set_propagation_sink(nullptr);
  }
  EXPECT_NE(ReadFile(path()).find("#CRC:0 00000000\r\n"), std::string::npos);
  EngineHarness h;
  ASSERT_TRUE(Load(h, CorruptionAction::kAbort).ok());
  EXPECT_EQ(h.Run({"mget", "old", "old2", "new"}), "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
}

}  // namespace
}  // namespace ferrite
