// Kill points: the process "dies" at each named step of the AOF write, the rewrite's
// switch-over and the checkpoint's rename (FaultInjectionFileSystem::ArmKillPoint), the
// machine loses power (SimulateCrash), and recovery must bring back every write that was
// acknowledged under appendfsync always — and nothing twice.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "commands/test_util.h"
#include "io/fault_injection_fs.h"
#include "persistence/manager.h"

namespace ferrite {
namespace {

struct Point {
  const char* name;
  const char* trigger;  // "write", "rewrite" or "save"
};

class KillPointTest : public ::testing::TestWithParam<Point> {
 protected:
  KillPointTest() {
    char tmpl[] = "/tmp/ferrite-kill-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~KillPointTest() override { std::filesystem::remove_all(dir_); }
  Config MakeConfig() const { return AofTestConfig(dir_); }
  std::string dir_;
};

TEST_P(KillPointTest, AcknowledgedWritesSurvive) {
  const Point p = GetParam();
  FaultInjectionFileSystem fs(FileSystem::Default());
  int64_t acked = 0;
  {
    EngineHarness h(MakeConfig());
    PersistenceManager pm(&h.engine(), &fs, &h.clock());
    ASSERT_TRUE(pm.Start().ok());
    h.engine().set_persistence(&pm);
    for (int i = 0; i < 3000; i++) h.Run({"set", "bulk:" + std::to_string(i), "v"});
    h.Run({"rpush", "list", "a", "b"});
    ASSERT_TRUE(pm.BeforeSleep());
    for (int i = 0; i < 100; i++) {  // acknowledged before anything goes wrong
      h.Run({"incr", "counter"});
      ASSERT_TRUE(pm.BeforeSleep());
      acked = i + 1;
    }
    // Arm after the set-up, so the point is reached by the operation under test (the
    // write points after 50 more acknowledged writes).
    fs.ArmKillPoint(p.name, std::string(p.trigger) == "write" ? 50 : 0);
    std::string reply;
    if (std::string(p.trigger) == "rewrite") {
      ASSERT_TRUE(pm.RewriteAof().ok());
    } else if (std::string(p.trigger) == "save") {
      ASSERT_TRUE(pm.BgSave(false, &reply).ok());
    }
    // Writers keep going; each INCR counts as acknowledged only if the loop released its
    // reply (BeforeSleep true: written and fsynced).
    // (By the clock: the checkpoint's rename happens on another thread.)
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!fs.killed() && std::chrono::steady_clock::now() < deadline) {
      h.Run({"incr", "counter"});
      if (pm.BeforeSleep() && !fs.killed()) acked++;
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    // Writes after the "death" are never acknowledged (the replies stay held).
    for (int i = 0; i < 5; i++) {
      h.Run({"incr", "counter"});
      EXPECT_FALSE(pm.BeforeSleep()) << p.name;
    }
    ASSERT_TRUE(fs.killed()) << p.name << " was never reached";
    h.engine().set_persistence(nullptr);
    h.engine().set_propagation_sink(nullptr);
    ASSERT_TRUE(fs.SimulateCrash().ok());
    h.engine().RequestShutdown(-1);
  }
  EngineHarness h2(MakeConfig());
  PersistenceManager pm2(&h2.engine(), FileSystem::Default(), &h2.clock());
  Status st = pm2.Start();
  ASSERT_TRUE(st.ok()) << st.message();
  std::string got = h2.Run({"get", "counter"});
  int64_t n = got == "$-1\r\n" ? 0 : std::stoll(got.substr(got.find("\r\n") + 2));
  EXPECT_GE(n, acked) << p.name;               // nothing acknowledged is lost
  EXPECT_LE(n, acked + 1) << p.name;           // at most the write in flight, and nothing twice
  EXPECT_EQ(h2.Run({"dbsize"}), ":3002\r\n");  // the bulk keys, the list, the counter
  EXPECT_EQ(h2.Run({"lrange", "list", "0", "-1"}), "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
  h2.engine().set_propagation_sink(nullptr);
}

INSTANTIATE_TEST_SUITE_P(Points, KillPointTest,
                         ::testing::Values(Point{"aof.write", "write"}, Point{"aof.fsync", "write"},
                                           Point{"rewrite.before_rename", "rewrite"},
                                           Point{"rewrite.after_rename", "rewrite"},
                                           Point{"checkpoint.before_rename", "save"},
                                           Point{"checkpoint.after_rename", "save"}),
                         [](const ::testing::TestParamInfo<Point>& i) {
                           std::string n = i.param.name;
                           for (char& c : n)
                             if (c == '.') c = '_';
                           return n;
                         });

}  // namespace
}  // namespace ferrite

namespace ferrite {
namespace {

// Disk full during a checkpoint and during an AOF rewrite: the operation fails with a
// clear status, its temp files go, writes are refused (MISCONF) while the disk is full, and
// everything works again once space returns — with nothing acknowledged lost.
TEST(DiskFaults, NoSpaceDuringCheckpointAndRewriteThenRecovery) {
  char tmpl[] = "/tmp/ferrite-enospc-test-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  Config c = AofTestConfig(dir);
  c.persistence.checkpoint_compression = CheckpointCompression::kNone;  // sizes predictable
  FaultInjectionFileSystem fs(FileSystem::Default());
  std::string want;
  {
    EngineHarness h(c);
    PersistenceManager pm(&h.engine(), &fs, &h.clock());
    ASSERT_TRUE(pm.Start().ok());
    h.engine().set_persistence(&pm);
    for (int i = 0; i < 20000; i++)
      h.Run({"set", "key:" + std::to_string(i), std::string(20, 'v')});
    ASSERT_TRUE(pm.BeforeSleep());
    // Background work ends on other threads too (the checkpoint's fsync and rename): wait by
    // the clock, not by a number of loop iterations.
    auto run_until_idle = [&] {
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (pm.Busy() || pm.saving()) {
        pm.BeforeSleep();
        if (std::chrono::steady_clock::now() > deadline) break;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    };
    auto files = [&] {
      std::vector<std::string> out;
      for (auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename());
      return out;
    };
    auto has_tmp = [&] {
      for (auto& f : files())
        if (f.size() > 4 && f.substr(f.size() - 4) == ".tmp") return true;
      return false;
    };

    // 1. Checkpoint into a full disk.
    fs.SetSpaceLimit(64 * 1024);
    std::string reply;
    ASSERT_TRUE(pm.BgSave(false, &reply).ok());
    run_until_idle();
    EXPECT_NE(h.Run({"info", "persistence"}).find("rdb_last_bgsave_status:err"), std::string::npos);
    EXPECT_FALSE(has_tmp());
    EXPECT_EQ(h.Run({"set", "refused", "1"}).substr(0, 8), "-MISCONF");
    // 2. Space returns: the next save works and writes are accepted again.
    fs.ClearFaults();
    ASSERT_TRUE(pm.BgSave(false, &reply).ok());
    run_until_idle();
    EXPECT_NE(h.Run({"info", "persistence"}).find("rdb_last_bgsave_status:ok"), std::string::npos);
    ASSERT_TRUE(pm.BeforeSleep());
    EXPECT_EQ(h.Run({"set", "after-save", "1"}), "+OK\r\n");
    ASSERT_TRUE(pm.BeforeSleep());

    // 3. AOF rewrite into a full disk: aborted, temp files removed.
    fs.SetSpaceLimit(64 * 1024);
    ASSERT_TRUE(pm.RewriteAof().ok());
    run_until_idle();
    EXPECT_NE(h.Run({"info", "persistence"}).find("aof_last_bgrewrite_status:err"),
              std::string::npos);
    EXPECT_FALSE(has_tmp());
    // 4. Space returns: the AOF, untrusted since its failed write, is replaced by a new
    // generation written from memory (the manager retries with backoff); then writes go
    // through again and the next rewrite succeeds.
    fs.ClearFaults();
    {
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
      while (pm.aof()->untrusted() && std::chrono::steady_clock::now() < deadline) {
        pm.BeforeSleep();
        h.clock().AdvanceMs(100);  // the retry backoff runs on the engine's clock
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    }
    ASSERT_FALSE(pm.aof()->untrusted());
    ASSERT_TRUE(pm.BeforeSleep());
    EXPECT_EQ(h.Run({"set", "after-rewrite", "1"}), "+OK\r\n");
    ASSERT_TRUE(pm.BeforeSleep());
    ASSERT_TRUE(pm.RewriteAof().ok());
    run_until_idle();
    EXPECT_NE(h.Run({"info", "persistence"}).find("aof_last_bgrewrite_status:ok"),
              std::string::npos);
    want = h.Run({"debug", "digest"});
    h.engine().set_persistence(nullptr);
    pm.Shutdown();
  }
  EngineHarness h2(c);
  PersistenceManager pm2(&h2.engine(), FileSystem::Default(), &h2.clock());
  ASSERT_TRUE(pm2.Start().ok());
  EXPECT_EQ(h2.Run({"debug", "digest"}), want);
  EXPECT_EQ(h2.Run({"get", "after-rewrite"}), "$1\r\n1\r\n");
  h2.engine().set_propagation_sink(nullptr);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ferrite

namespace ferrite {
namespace {

class FsyncgateTest : public ::testing::Test {
 protected:
  FsyncgateTest() {
    char tmpl[] = "/tmp/ferrite-fsyncgate-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~FsyncgateTest() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

// The persistence manager's side of the rule: after a failed fsync writes are refused
// (MISCONF) and `always` replies held, the disk coming back changes nothing by itself; a
// new generation is written from memory (retried with backoff while it fails), and only
// then are the held replies released and writes accepted. Power loss afterwards keeps
// every acknowledged write.
TEST_F(FsyncgateTest, ManagerWritesANewGenerationBeforeReleasingAnything) {
  FaultInjectionFileSystem fs(FileSystem::Default());
  int acked = 0;
  {
    EngineHarness h(AofTestConfig(dir_));
    PersistenceManager pm(&h.engine(), &fs, &h.clock());
    ASSERT_TRUE(pm.Start().ok());
    h.engine().set_persistence(&pm);
    for (int i = 0; i < 20; i++) {
      EXPECT_EQ(h.Run({"incr", "n"}), ":" + std::to_string(i + 1) + "\r\n");
      ASSERT_TRUE(pm.BeforeSleep());
      acked++;
    }
    uint64_t id_before = pm.aof()->id();
    fs.FailSyncs(-1);  // the disk fails for a while: every fsync, also the rewrite's
    h.Run({"incr", "n"});
    EXPECT_FALSE(pm.BeforeSleep());
    EXPECT_EQ(h.Run({"incr", "n"}).substr(0, 8), "-MISCONF");
    for (int i = 0; i < 50; i++) {
      EXPECT_FALSE(pm.BeforeSleep());
      h.clock().AdvanceMs(100);
    }
    EXPECT_NE(h.Run({"info", "persistence"}).find("aof_last_write_status:err"), std::string::npos);
    fs.ClearFaults();  // the disk is back; a retried fsync would now "succeed"
    int held = 0;
    while (!pm.BeforeSleep() && held < 100000) {
      held++;
      h.clock().AdvanceMs(100);
    }
    EXPECT_GT(held, 0);  // not released by the disk coming back, only by the new generation
    EXPECT_NE(pm.aof()->id(), id_before);
    acked++;  // the held INCR
    EXPECT_EQ(h.Run({"incr", "n"}), ":22\r\n");
    ASSERT_TRUE(pm.BeforeSleep());
    acked++;
    fs.KillNow();
    h.engine().set_persistence(nullptr);
    h.engine().set_propagation_sink(nullptr);
    h.engine().RequestShutdown(-1);
  }
  ASSERT_TRUE(fs.SimulateCrash().ok());
  EngineHarness h2(AofTestConfig(dir_));
  PersistenceManager pm2(&h2.engine(), FileSystem::Default(), &h2.clock());
  ASSERT_TRUE(pm2.Start().ok());
  EXPECT_EQ(h2.Run({"get", "n"}), "$2\r\n" + std::to_string(acked) + "\r\n");
  h2.engine().set_propagation_sink(nullptr);
}

// The same rule for a checkpoint file: a checkpoint whose fsync failed is never renamed
// into place (a retried fsync would "succeed" over pages the kernel dropped); it is
// deleted, the save reports the error, and the next save writes a new file. After a power
// loss, the checkpoint found is whole.
TEST_F(FsyncgateTest, CheckpointWhoseFsyncFailedIsNeverRenamedIntoPlace) {
  FaultInjectionFileSystem fs(FileSystem::Default());
  Config c = AofTestConfig(dir_);
  c.persistence.aof_enabled = false;  // recovery can only come from the checkpoint
  std::string want;
  {
    EngineHarness h(c);
    PersistenceManager pm(&h.engine(), &fs, &h.clock());
    ASSERT_TRUE(pm.Start().ok());
    h.engine().set_persistence(&pm);
    for (int i = 0; i < 500; i++)
      h.Run({"set", "k" + std::to_string(i), std::string(100, char('a' + i % 26))});
    fs.FailSyncs(1, ".rdb.tmp");
    EXPECT_FALSE(pm.Save().ok());
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/ferrite.rdb"));
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/ferrite.rdb.tmp"));
    EXPECT_NE(h.Run({"info", "persistence"}).find("rdb_last_bgsave_status:err"), std::string::npos);
    ASSERT_TRUE(pm.Save().ok());  // a new file, written and fsynced whole
    want = h.Run({"debug", "digest"});
    fs.KillNow();
    h.engine().set_persistence(nullptr);
    h.engine().set_propagation_sink(nullptr);
    h.engine().RequestShutdown(-1);
  }
  ASSERT_TRUE(fs.SimulateCrash().ok());
  EngineHarness h2(c);
  PersistenceManager pm2(&h2.engine(), FileSystem::Default(), &h2.clock());
  Status st = pm2.Start();
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(h2.Run({"dbsize"}), ":500\r\n");
  EXPECT_EQ(h2.Run({"debug", "digest"}), want);
  h2.engine().set_propagation_sink(nullptr);
}

// And for the incremental file of a rewrite: its failed fsync fails the rewrite (never
// retried, never appended to the new base); the current AOF stays in place and trusted,
// writes go on being acknowledged, and the next rewrite succeeds. A power loss keeps
// every acknowledged write, once.
TEST_F(FsyncgateTest, RewriteWhoseIncrementalFsyncFailedIsAbandoned) {
  FaultInjectionFileSystem fs(FileSystem::Default());
  int acked = 0;
  {
    EngineHarness h(AofTestConfig(dir_));
    PersistenceManager pm(&h.engine(), &fs, &h.clock());
    ASSERT_TRUE(pm.Start().ok());
    h.engine().set_persistence(&pm);
    for (int i = 0; i < 2000; i++) h.Run({"set", "bulk:" + std::to_string(i), "v"});
    ASSERT_TRUE(pm.BeforeSleep());
    uint64_t id_before = pm.aof()->id();
    fs.FailSyncs(1, ".incr.tmp");
    ASSERT_TRUE(pm.RewriteAof().ok());
    for (int i = 0; i < 100000 && pm.aof()->rewriting(); i++) {
      EXPECT_EQ(h.Run({"incr", "n"}), ":" + std::to_string(acked + 1) + "\r\n");
      ASSERT_TRUE(pm.BeforeSleep());  // the AOF itself is fine: acknowledged
      acked++;
    }
    EXPECT_GT(acked, 0);
    EXPECT_NE(h.Run({"info", "persistence"}).find("aof_last_bgrewrite_status:err"),
              std::string::npos);
    EXPECT_EQ(pm.aof()->id(), id_before) << "a rewrite with a failed incremental fsync switched";
    EXPECT_FALSE(pm.aof()->untrusted());
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/ferrite.aof.incr.tmp"));
    ASSERT_TRUE(pm.RewriteAof().ok());
    for (int i = 0; i < 100000 && pm.aof()->rewriting(); i++) {
      h.Run({"incr", "n"});
      ASSERT_TRUE(pm.BeforeSleep());
      acked++;
    }
    EXPECT_NE(pm.aof()->id(), id_before);
    EXPECT_NE(h.Run({"info", "persistence"}).find("aof_last_bgrewrite_status:ok"),
              std::string::npos);
    fs.KillNow();
    h.engine().set_persistence(nullptr);
    h.engine().set_propagation_sink(nullptr);
    h.engine().RequestShutdown(-1);
  }
  ASSERT_TRUE(fs.SimulateCrash().ok());
  EngineHarness h2(AofTestConfig(dir_));
  PersistenceManager pm2(&h2.engine(), FileSystem::Default(), &h2.clock());
  Status st = pm2.Start();
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(h2.Run({"get", "n"}), "$" + std::to_string(std::to_string(acked).size()) + "\r\n" +
                                      std::to_string(acked) + "\r\n");
  EXPECT_EQ(h2.Run({"dbsize"}), ":2001\r\n");
  h2.engine().set_propagation_sink(nullptr);
}

// aof_on_fsync_error = "exit": PostgreSQL's choice. The first failure ends the process
// (exit status 1) without releasing the held reply or writing anything more.
TEST_F(FsyncgateTest, ExitPolicyStopsAtTheFirstFailure) {
  FaultInjectionFileSystem fs(FileSystem::Default());
  Config c = AofTestConfig(dir_);
  c.persistence.aof_on_fsync_error = AofFsyncErrorAction::kExit;
  EngineHarness h(c);
  PersistenceManager pm(&h.engine(), &fs, &h.clock());
  ASSERT_TRUE(pm.Start().ok());
  h.engine().set_persistence(&pm);
  h.Run({"set", "a", "1"});
  ASSERT_TRUE(pm.BeforeSleep());
  fs.FailSyncs(1);
  h.Run({"set", "b", "2"});
  EXPECT_FALSE(pm.BeforeSleep());
  EXPECT_TRUE(h.engine().shutdown_requested());
  EXPECT_EQ(h.engine().exit_code, 1);
  uint64_t size = std::filesystem::file_size(dir_ + "/ferrite.aof");
  pm.Shutdown();  // the exit path: nothing more is written, no rewrite, no save
  EXPECT_EQ(std::filesystem::file_size(dir_ + "/ferrite.aof"), size);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/ferrite.rdb"));
  h.engine().set_persistence(nullptr);
}

}  // namespace
}  // namespace ferrite

namespace ferrite {
namespace {

class LoadingExpiryTest : public ::testing::Test {
 protected:
  LoadingExpiryTest() {
    char tmpl[] = "/tmp/ferrite-load-expiry-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~LoadingExpiryTest() override { std::filesystem::remove_all(dir_); }
  std::string ReadAof() const {
    std::ifstream f(dir_ + "/ferrite.aof", std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  // A rate-limit counter: SET k 0 EX 60, INCR k (optionally a checkpoint in between), then
  // a power loss; the restart happens `later_ms` after.
  void WriteCounterAndCrash(bool checkpoint_between) {
    FaultInjectionFileSystem fs(FileSystem::Default());
    {
      EngineHarness h(AofTestConfig(dir_));
      PersistenceManager pm(&h.engine(), &fs, &h.clock());
      ASSERT_TRUE(pm.Start().ok());
      h.engine().set_persistence(&pm);
      EXPECT_EQ(h.Run({"set", "k", "0", "ex", "60"}), "+OK\r\n");
      ASSERT_TRUE(pm.BeforeSleep());
      if (checkpoint_between) {
        ASSERT_TRUE(pm.Save().ok());  // k, with its TTL, in the image
      }
      EXPECT_EQ(h.Run({"incr", "k"}), ":1\r\n");  // in the AOF tail
      ASSERT_TRUE(pm.BeforeSleep());
      fs.KillNow();
      h.engine().set_persistence(nullptr);
      h.engine().set_propagation_sink(nullptr);
      h.engine().RequestShutdown(-1);
    }
    ASSERT_TRUE(fs.SimulateCrash().ok());
  }
  std::string dir_;
};

// Redis's rule: nothing expires while loading. Before, replaying `SET k 0 PXAT <past>`
// dropped k, then `INCR k` created it again as 1 with no TTL: a rate-limit counter that
// never expires.
TEST_F(LoadingExpiryTest, AofReplayAppliesNoExpiryAndDeletesExpiredKeysAfterwards) {
  WriteCounterAndCrash(false);
  EngineHarness h2(AofTestConfig(dir_));
  h2.clock().AdvanceMs(61'000);  // the restart comes after the key's time
  PersistenceManager pm2(&h2.engine(), FileSystem::Default(), &h2.clock());
  ASSERT_TRUE(pm2.Start().ok());
  EXPECT_EQ(h2.Run({"get", "k"}), "$-1\r\n");
  EXPECT_EQ(h2.Run({"ttl", "k"}), ":-2\r\n");
  ASSERT_TRUE(pm2.BeforeSleep());
  std::string aof = ReadAof();  // the deletion is logged
  EXPECT_NE(aof.rfind("$3\r\nDEL\r\n$1\r\nk\r\n"), std::string::npos) << aof;
  h2.engine().set_propagation_sink(nullptr);
}

// The same through hybrid recovery: the checkpoint holds k with its TTL, the AOF tail the
// INCR. Before, the checkpoint loader skipped the expired k and the tail recreated it.
TEST_F(LoadingExpiryTest, CheckpointLoadKeepsExpiredKeysForTheAofTail) {
  WriteCounterAndCrash(true);
  EngineHarness h2(AofTestConfig(dir_));
  h2.clock().AdvanceMs(61'000);
  PersistenceManager pm2(&h2.engine(), FileSystem::Default(), &h2.clock());
  ASSERT_TRUE(pm2.Start().ok());
  EXPECT_EQ(h2.Run({"get", "k"}), "$-1\r\n");
  EXPECT_EQ(h2.Run({"ttl", "k"}), ":-2\r\n");
  h2.engine().set_propagation_sink(nullptr);
}

// Restarted before the key's time: the counter keeps its value and its TTL.
TEST_F(LoadingExpiryTest, UnexpiredCounterKeepsItsTtl) {
  WriteCounterAndCrash(true);
  EngineHarness h2(AofTestConfig(dir_));
  h2.clock().AdvanceMs(30'000);
  PersistenceManager pm2(&h2.engine(), FileSystem::Default(), &h2.clock());
  ASSERT_TRUE(pm2.Start().ok());
  EXPECT_EQ(h2.Run({"get", "k"}), "$1\r\n1\r\n");
  EXPECT_EQ(h2.Run({"ttl", "k"}), ":30\r\n");
  h2.engine().set_propagation_sink(nullptr);
}

}  // namespace
}  // namespace ferrite

#include "server/wiring.h"
#include "tier/tier_manager.h"

namespace ferrite {
namespace {

class SwitchFaultTest : public ::testing::Test {
 protected:
  SwitchFaultTest() {
    char tmpl[] = "/tmp/ferrite-switch-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~SwitchFaultTest() override { std::filesystem::remove_all(dir_); }
  // Runs the loop's before-sleep step until it releases replies (or gives up).
  static bool RunUntilReleased(PersistenceManager& pm, EngineHarness& h) {
    for (int i = 0; i < 20000; i++) {
      if (pm.BeforeSleep()) return true;
      h.clock().AdvanceMs(50);
    }
    return false;
  }
  // Restarts from the directory (a process crash: the kernel keeps every written byte)
  // and returns the counter.
  std::string CounterAfterRestart() {
    EngineHarness h2(AofTestConfig(dir_));
    PersistenceManager pm2(&h2.engine(), FileSystem::Default(), &h2.clock());
    Status st = pm2.Start();
    EXPECT_TRUE(st.ok()) << st.message();
    std::string n = h2.Run({"get", "n"});
    h2.engine().set_propagation_sink(nullptr);
    return n;
  }
  // The rewrite's switch fails after the rename (how: arm); writes go on; the AOF must
  // never be detached: every reply released is durable in the file named ferrite.aof.
  void SwitchFailsThenWritesGoOn(const std::function<void(FaultInjectionFileSystem&)>& arm) {
    FaultInjectionFileSystem fs(FileSystem::Default());
    EngineHarness h(AofTestConfig(dir_));
    PersistenceManager pm(&h.engine(), &fs, &h.clock());
    ASSERT_TRUE(pm.Start().ok());
    h.engine().set_persistence(&pm);
    for (int i = 0; i < 2000; i++) h.Run({"set", "bulk:" + std::to_string(i), "v"});
    int acked = 0;
    for (; acked < 10; acked++) {
      h.Run({"incr", "n"});
      ASSERT_TRUE(pm.BeforeSleep());
    }
    ASSERT_TRUE(pm.RewriteAof().ok());
    arm(fs);
    while (pm.aof()->rewriting()) pm.BeforeSleep();
    EXPECT_TRUE(pm.aof()->untrusted()) << "the failed switch must leave the AOF untrusted";
    EXPECT_EQ(h.Run({"incr", "n"}).substr(0, 8), "-MISCONF");
    fs.ClearFaults();
    ASSERT_TRUE(RunUntilReleased(pm, h));  // a new generation, then writes again
    for (int i = 0; i < 10; i++, acked++) {
      EXPECT_EQ(h.Run({"incr", "n"}), ":" + std::to_string(acked + 1) + "\r\n");
      ASSERT_TRUE(pm.BeforeSleep());
    }
    h.engine().set_persistence(nullptr);
    h.engine().set_propagation_sink(nullptr);
    pm.Shutdown();
    EXPECT_EQ(CounterAfterRestart(), "$2\r\n" + std::to_string(acked) + "\r\n");
  }
  std::string dir_;
};

// Before: a failed directory fsync after the rename aborted the rewrite, and the old
// descriptor kept receiving (and acknowledging) writes into the inode that no longer had
// a name — lost at the next start.
TEST_F(SwitchFaultTest, DirectoryFsyncFailureAfterTheRewriteRenameNeverDetachesTheAof) {
  SwitchFailsThenWritesGoOn([this](FaultInjectionFileSystem& fs) { fs.FailDirSyncs(1, dir_); });
}

// The new file cannot be opened (EMFILE): nothing is written anywhere, replies are held,
// and a later attempt writes and opens a new generation.
TEST_F(SwitchFaultTest, ReopenFailureAfterTheRewriteRenameRefusesWritesAndRetries) {
  SwitchFailsThenWritesGoOn([](FaultInjectionFileSystem& fs) {
    fs.FailOpens(ErrnoStatus("open", "ferrite.aof", EMFILE), 1, "ferrite.aof");
  });
}

// A checkpoint renamed into place whose directory fsync fails: the save counts as failed
// (MISCONF), and the tier segments of both the old and the new checkpoint stay — either
// could be the one found after a crash. Before, only the old pins were kept: the new
// checkpoint's segments were deleted once their values were overwritten, and the restart
// failed on a missing segment.
TEST_F(SwitchFaultTest, CheckpointDirectoryFsyncFailureKeepsTheSegmentsItReferences) {
  Config c = AofTestConfig(dir_);
  c.storage.enabled = true;
  c.storage.min_value_size = 16;
  c.storage.segment_size = 1 << 20;
  FaultInjectionFileSystem fs(FileSystem::Default());
  {
    EngineHarness h(c);
    tier::TierManager tiers(TierOptionsFromConfig(c), &fs, &h.clock());
    ASSERT_TRUE(tiers.Open().ok());
    std::vector<Database*> dbs;
    for (int i = 0; i < h.engine().db_count(); i++) dbs.push_back(&h.engine().db(i));
    tiers.Attach(dbs, LimitsFromConfig(c));
    h.engine().set_tier(&tiers);
    PersistenceManager pm(&h.engine(), &fs, &h.clock());
    ASSERT_TRUE(pm.Start().ok());
    h.engine().set_persistence(&pm);
    for (int i = 0; i < 50; i++) h.Run({"set", "v" + std::to_string(i), std::string(200, 'x')});
    ASSERT_TRUE(pm.BeforeSleep());
    ASSERT_GT(tiers.DemoteNow(1000, h.clock().NowMs()), 0u);
    tiers.ForceCold();         // seal the segment; the pass below must not recompress it
    fs.FailDirSyncs(1, dir_);  // the checkpoint's rename, not the segments' directory
    ASSERT_FALSE(pm.Save().ok());
    EXPECT_EQ(h.Run({"set", "x", "1"}).substr(0, 8), "-MISCONF");
    // The values in the segment are overwritten: only the checkpoint still references it.
    h.engine().config().server.stop_writes_on_bgsave_error = false;
    for (int i = 0; i < 50; i++) h.Run({"set", "v" + std::to_string(i), "small"});
    ASSERT_TRUE(pm.BeforeSleep());
    tiers.set_paused(false);
    for (int i = 0; i < 5; i++) tiers.Cron(h.clock().NowMs());
    h.engine().set_persistence(nullptr);
    h.engine().set_propagation_sink(nullptr);
    h.engine().RequestShutdown(-1);
    pm.Shutdown();
    h.engine().set_tier(nullptr);
  }
  // A process crash: the new checkpoint is ferrite.rdb; its segment must still be there.
  EngineHarness h2(c);
  tier::TierManager tiers2(TierOptionsFromConfig(c), FileSystem::Default(), &h2.clock());
  ASSERT_TRUE(tiers2.Open().ok());
  std::vector<Database*> dbs;
  for (int i = 0; i < h2.engine().db_count(); i++) dbs.push_back(&h2.engine().db(i));
  tiers2.Attach(dbs, LimitsFromConfig(c));
  h2.engine().set_tier(&tiers2);
  PersistenceManager pm2(&h2.engine(), FileSystem::Default(), &h2.clock());
  Status st = pm2.Start();
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(h2.Run({"get", "v7"}), "$5\r\nsmall\r\n");
  h2.engine().set_propagation_sink(nullptr);
  h2.engine().set_tier(nullptr);
}

}  // namespace
}  // namespace ferrite

namespace ferrite {
namespace {

// A value that cannot be read back from its tier segment (damaged record) fails the AOF
// rewrite that needs its bytes (aof_use_checkpoint_preamble = false: a RESP base). Before,
// the read failure gave an empty value: the new AOF said SET key "" and dropped the hash,
// and replaced the good one.
TEST(TierImage, ReadFailureFailsTheRewriteInsteadOfWritingEmptyValues) {
  char tmpl[] = "/tmp/ferrite-tier-image-test-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  Config c = AofTestConfig(dir);
  c.persistence.aof_use_checkpoint_preamble = false;
  c.storage.enabled = true;
  c.storage.min_value_size = 16;
  c.storage.segment_size = 1 << 20;
  {
    EngineHarness h(c);
    tier::TierManager tiers(TierOptionsFromConfig(c), FileSystem::Default(), &h.clock());
    ASSERT_TRUE(tiers.Open().ok());
    std::vector<Database*> dbs;
    for (int i = 0; i < h.engine().db_count(); i++) dbs.push_back(&h.engine().db(i));
    tiers.Attach(dbs, LimitsFromConfig(c));
    h.engine().set_tier(&tiers);
    PersistenceManager pm(&h.engine(), FileSystem::Default(), &h.clock());
    ASSERT_TRUE(pm.Start().ok());
    h.engine().set_persistence(&pm);
    h.Run({"set", "s", std::string(300, 's')});
    h.Run({"hset", "h", "f1", std::string(100, 'a'), "f2", std::string(100, 'b')});
    ASSERT_TRUE(pm.BeforeSleep());
    ASSERT_EQ(tiers.DemoteNow(100, h.clock().NowMs()), 2u);
    uint64_t id = pm.aof()->id();
    // Damage every record of the warm segment (the mapping sees the file's bytes).
    for (auto& p : std::filesystem::directory_iterator(dir + "/tier")) {
      if (p.path().extension() != ".warm") continue;
      std::fstream f(p.path(), std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(40);
      std::string junk(std::filesystem::file_size(p.path()) - 40, 'X');
      f.write(junk.data(), std::streamsize(junk.size()));
    }
    ASSERT_TRUE(pm.RewriteAof().ok());
    for (int i = 0; i < 1000 && pm.aof()->rewriting(); i++) pm.BeforeSleep();
    EXPECT_NE(h.Run({"info", "persistence"}).find("aof_last_bgrewrite_status:err"),
              std::string::npos);
    EXPECT_EQ(pm.aof()->id(), id) << "the damaged image replaced the AOF";
    h.engine().set_persistence(nullptr);
    h.engine().set_propagation_sink(nullptr);
    pm.Shutdown();
    h.engine().set_tier(nullptr);
  }
  // The AOF kept its full values: a restart without the tier has everything.
  Config c2 = AofTestConfig(dir);
  EngineHarness h2(c2);
  PersistenceManager pm2(&h2.engine(), FileSystem::Default(), &h2.clock());
  ASSERT_TRUE(pm2.Start().ok());
  EXPECT_EQ(h2.Run({"strlen", "s"}), ":300\r\n");
  EXPECT_EQ(h2.Run({"hlen", "h"}), ":2\r\n");
  h2.engine().set_propagation_sink(nullptr);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ferrite

#include <cstdlib>
#include <map>
#include <random>
#include <set>

namespace ferrite {
namespace {

// Parses an array of bulk strings (LRANGE's reply) from the raw RESP of EngineHarness.
std::vector<std::string> BulkArray(const std::string& resp) {
  std::vector<std::string> out;
  size_t p = resp.find("\r\n");
  if (resp.empty() || resp[0] != '*' || p == std::string::npos) return out;
  size_t n = std::stoul(resp.substr(1, p - 1));
  p += 2;
  for (size_t i = 0; i < n; i++) {
    size_t e = resp.find("\r\n", p);
    size_t len = std::stoul(resp.substr(p + 1, e - p - 1));
    out.push_back(resp.substr(e + 2, len));
    p = e + 2 + len + 2;
  }
  return out;
}

std::string Bulk(const std::string& resp) {
  if (resp.rfind("$-1", 0) == 0) return "(nil)";
  size_t e = resp.find("\r\n");
  return resp.substr(e + 2, std::stoul(resp.substr(1, e - 1)));
}

// Power-loss simulation: randomized cycles of writes (unique ids with LPUSH, a ledger
// with INCR, overwritten values big enough to move to tier segments), background rewrites
// and checkpoints, tier moves (demotion, recompression to cold), occasional failed fsyncs;
// then the power goes at a random moment (FaultInjectionFileSystem drops every unsynced
// byte and every directory entry not synced), and the next cycle's start-up recovers.
// Checked at every recovery: every acknowledged write is there, none is there twice, and
// only writes that were in flight (executed, reply not yet released) may be there too.
//   POWERLOSS_CYCLES (default 25; docs/testing.md has the long run), POWERLOSS_SEED.
TEST(PowerLossSimulation, RandomizedCyclesLoseNoAcknowledgedWriteAndApplyNoneTwice) {
  const char* env_cycles = getenv("POWERLOSS_CYCLES");
  const char* env_seed = getenv("POWERLOSS_SEED");
  int cycles = env_cycles ? atoi(env_cycles) : 25;
  uint64_t seed = env_seed ? std::strtoull(env_seed, nullptr, 10) : std::random_device{}();
  std::mt19937_64 rng(seed);
  std::cout << "POWERLOSS_SEED=" << seed << " POWERLOSS_CYCLES=" << cycles << "\n";
  char tmpl[] = "/tmp/ferrite-powerloss-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  Config c = AofTestConfig(dir);
  c.storage.enabled = true;
  c.storage.min_value_size = 16;
  c.storage.segment_size = 64 << 10;
  c.storage.warm_tier_size = 128 << 10;
  c.persistence.history_retention = 60'000;
  FaultInjectionFileSystem fs(FileSystem::Default());
  // The model.
  std::set<std::string> acked_ids, inflight_ids;
  int64_t ledger = 0, ledger_inflight = 0;
  std::map<std::string, std::string> acked_val;
  std::map<std::string, std::vector<std::string>> inflight_val;
  uint64_t next_id = 0, total_acked = 0;
  int64_t clock_ms = 1'700'000'000'000;
  for (int cycle = 0; cycle < cycles; cycle++) {
    SCOPED_TRACE("cycle " + std::to_string(cycle) + " seed " + std::to_string(seed));
    {
      EngineHarness h(c);
      h.clock().SetMs(clock_ms);
      tier::TierManager tiers(TierOptionsFromConfig(c), &fs, &h.clock());
      Status ts = tiers.Open();
      ASSERT_TRUE(ts.ok()) << ts.message();
      std::vector<Database*> dbs;
      for (int i = 0; i < h.engine().db_count(); i++) dbs.push_back(&h.engine().db(i));
      tiers.Attach(dbs, LimitsFromConfig(c));
      h.engine().set_tier(&tiers);
      PersistenceManager pm(&h.engine(), &fs, &h.clock());
      Status st = pm.Start();
      ASSERT_TRUE(st.ok()) << st.message();
      h.engine().set_persistence(&pm);
      tiers.set_paused(false);
      // A command on a cold value waits for a helper thread's read (the session is parked):
      // its reply then arrives in the session's output.
      std::string parked;
      h.session().out = &parked;
      auto run = [&](std::vector<std::string> args) {
        parked.clear();
        std::string r = h.Run(std::move(args));
        for (int i = 0; r.empty() && i < 20000; i++) {
          tiers.RunPosted();
          if (!parked.empty()) r = parked;
          if (r.empty()) std::this_thread::sleep_for(std::chrono::microseconds(100));
        }
        EXPECT_FALSE(r.empty()) << "a parked command never completed";
        return r;
      };
      // ---- check the recovered state against the model, then adopt it
      std::vector<std::string> ids = BulkArray(run({"lrange", "ids", "0", "-1"}));
      std::set<std::string> got(ids.begin(), ids.end());
      ASSERT_EQ(got.size(), ids.size()) << "an id applied twice";
      for (const auto& id : acked_ids)
        ASSERT_TRUE(got.count(id)) << "acknowledged " << id << " lost";
      for (const auto& id : got)
        ASSERT_TRUE(acked_ids.count(id) || inflight_ids.count(id)) << id << " never written";
      std::string l = Bulk(run({"get", "ledger"}));
      int64_t lv = l == "(nil)" ? 0 : std::stoll(l);
      ASSERT_GE(lv, ledger) << "acknowledged INCRs lost";
      ASSERT_LE(lv, ledger + ledger_inflight) << "an INCR applied twice";
      for (auto& [k, v] : acked_val) {
        std::string now = Bulk(run({"get", k}));
        bool ok = now == v;
        for (auto& f : inflight_val[k]) ok |= now == f;
        ASSERT_TRUE(ok) << k << ": acknowledged value lost (" << now.size() << " bytes)";
      }
      acked_ids = got;
      inflight_ids.clear();
      ledger = lv;
      ledger_inflight = 0;
      for (auto& [k, vs] : inflight_val) {
        std::string now = Bulk(run({"get", k}));
        if (now != "(nil)") acked_val[k] = now;
      }
      inflight_val.clear();
      // ---- a random stretch of work, then the power goes
      struct Op {
        int kind;  // 0 id, 1 incr, 2 value
        std::string a, b;
      };
      std::vector<Op> held;  // executed, reply not released yet
      int steps = 5 + int(rng() % 60);
      for (int step = 0; step < steps; step++) {
        int n = 1 + int(rng() % 4);
        for (int i = 0; i < n; i++) {
          int kind = int(rng() % 3);
          std::string reply;
          Op op{kind, "", ""};
          if (kind == 0) {
            op.a = "id" + std::to_string(next_id++);
            reply = run({"lpush", "ids", op.a});
          } else if (kind == 1) {
            reply = run({"incr", "ledger"});
          } else {
            op.a = "v" + std::to_string(rng() % 8);
            op.b = std::string(200 + rng() % 800, char('a' + rng() % 26)) + std::to_string(rng());
            reply = run({"set", op.a, op.b});
          }
          if (reply[0] == '-') continue;  // refused (MISCONF): not applied
          held.push_back(op);
          if (kind == 0) inflight_ids.insert(op.a);
          if (kind == 1) ledger_inflight++;
          if (kind == 2) inflight_val[op.a].push_back(op.b);
        }
        switch (rng() % 12) {
          case 0:
            (void)pm.RewriteAof();
            break;
          case 1: {
            std::string r;
            (void)pm.BgSave(false, &r);
            break;
          }
          case 2:
            tiers.DemoteNow(1 + rng() % 8, h.clock().NowMs());
            break;
          case 3:
            tiers.ForceCold();
            break;
          case 4:
            if (rng() % 4 == 0) fs.FailSyncs(1);  // fsyncgate: the next fsync fails
            break;
          default:
            break;
        }
        tiers.Cron(h.clock().NowMs());
        tiers.RunPosted();
        if (pm.BeforeSleep()) {  // the iteration's replies leave: acknowledged
          for (const Op& op : held) {
            total_acked++;
            if (op.kind == 0) {
              acked_ids.insert(op.a);
              inflight_ids.erase(op.a);
            } else if (op.kind == 1) {
              ledger++;
              ledger_inflight--;
            } else {
              acked_val[op.a] = op.b;
              auto& f = inflight_val[op.a];
              f.erase(std::find(f.begin(), f.end(), op.b));
            }
          }
          held.clear();
        }
        h.clock().AdvanceMs(int64_t(rng() % 400));
        if (rng() % 3 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 2000));
      }
      fs.KillNow();  // the power goes: nothing more reaches the disk
      clock_ms = h.clock().NowMs() + 1000;
      h.engine().set_persistence(nullptr);
      h.engine().set_propagation_sink(nullptr);
      h.engine().RequestShutdown(-1);
      pm.Shutdown();
      tiers.StopWorkers();
      h.engine().set_tier(nullptr);
      h.session().out = nullptr;
    }
    ASSERT_TRUE(fs.SimulateCrash().ok());
    fs.Restart();
  }
  std::cout << "power-loss cycles: " << cycles << ", acknowledged writes checked: " << total_acked
            << ", ids kept: " << acked_ids.size() << "\n";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ferrite

namespace ferrite {
namespace {

// The history behind point-in-time recovery: replaced files are kept (hard links, listed
// in the manifest) for the retention window, older ones and those past the size cap go,
// and a file the manifest does not name (a crash between the link and the manifest
// update) is removed at the next start.
TEST(HistoryTest, KeepsReplacedFilesForTheWindowPrunesOlderAndReconciles) {
  char tmpl[] = "/tmp/ferrite-history-test-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  ManualClock clock;
  auto write = [&](const std::string& name, const std::string& data) {
    std::ofstream(dir + "/" + name, std::ios::binary) << data;
  };
  {
    History h(FileSystem::Default(), dir, /*retention_ms=*/10'000, /*max_bytes=*/0, &clock);
    ASSERT_TRUE(h.Open().ok());
    write("ferrite.aof", "#ID:0000000000000001\r\n");
    ASSERT_TRUE(h.RetireAof(dir + "/ferrite.aof", 1).ok());
    clock.AdvanceMs(11'000);
    write("ferrite.aof", "#ID:0000000000000002\r\n");
    ASSERT_TRUE(h.RetireAof(dir + "/ferrite.aof", 2).ok());
    auto e = h.entries();
    ASSERT_EQ(e.size(), 1u);  // the first was replaced longer ago than the window
    EXPECT_EQ(e[0].id, 2u);
    EXPECT_TRUE(std::filesystem::exists(dir + "/history/" + e[0].file));
  }
  auto manifest = History::ReadManifest(FileSystem::Default(), dir + "/history");
  ASSERT_TRUE(manifest.ok());
  ASSERT_EQ(manifest.value().size(), 1u);
  std::ofstream(dir + "/history/aof-000099.aof") << "stray";  // linked, never listed
  {
    History h(FileSystem::Default(), dir, 10'000, /*max_bytes=*/1, &clock);
    ASSERT_TRUE(h.Open().ok());
    EXPECT_FALSE(std::filesystem::exists(dir + "/history/aof-000099.aof"));
    EXPECT_TRUE(h.entries().empty());  // over the 1-byte cap
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ferrite
