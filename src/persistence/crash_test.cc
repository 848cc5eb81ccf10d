// Kill points: the process "dies" at each named step of the AOF write, the rewrite's
// switch-over and the checkpoint's rename (FaultInjectionFileSystem::ArmKillPoint), the
// machine loses power (SimulateCrash), and recovery must bring back every write that was
// acknowledged under appendfsync always — and nothing twice.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

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
  Config MakeConfig() const {
    Config c = DefaultConfig();
    c.server.dir = dir_;
    c.persistence.aof_enabled = true;
    c.persistence.aof_sync_policy = "always";
    c.persistence.aof_rewrite_percentage = 0;
    c.persistence.checkpoint_rules.clear();
    return c;
  }
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
    for (int i = 0; i < 2000 && !fs.killed(); i++) {
      h.Run({"incr", "counter"});
      if (pm.BeforeSleep() && !fs.killed()) acked++;
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
  EXPECT_GE(n, acked) << p.name;          // nothing acknowledged is lost
  EXPECT_LE(n, acked + 1) << p.name;      // at most the write in flight, and nothing twice
  EXPECT_EQ(h2.Run({"dbsize"}), ":3002\r\n");  // the bulk keys, the list, the counter
  EXPECT_EQ(h2.Run({"lrange", "list", "0", "-1"}), "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
  h2.engine().set_propagation_sink(nullptr);
}

INSTANTIATE_TEST_SUITE_P(
    Points, KillPointTest,
    ::testing::Values(Point{"aof.write", "write"}, Point{"aof.fsync", "write"},
                      Point{"rewrite.before_rename", "rewrite"},
                      Point{"rewrite.after_rename", "rewrite"},
                      Point{"checkpoint.before_rename", "save"},
                      Point{"checkpoint.after_rename", "save"}),
    [](const ::testing::TestParamInfo<Point>& i) {
      std::string n = i.param.name;
      for (char& c : n) if (c == '.') c = '_';
      return n;
    });

}  // namespace
}  // namespace ferrite
