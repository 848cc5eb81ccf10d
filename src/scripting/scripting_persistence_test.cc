// Function libraries through the persistence layer in-process: a checkpoint holds them as
// format-6 records beside the other values (streams with groups included) and a restart
// loads them; an AOF rewrite (preamble) carries them; a
// script's writes reach the AOF as one MULTI/EXEC unit.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "commands/test_util.h"
#include "persistence/checkpoint/checkpoint_format.h"
#include "persistence/manager.h"
#include "scripting/script_engine.h"

namespace ferrite::scripting {
namespace {

const char* kLib =
    "#!lua name=lib1\n"
    "redis.register_function('incr2', function(keys) redis.call('incr', keys[1]) "
    "return redis.call('incr', keys[1]) end)";

class ScriptingPersistenceTest : public ::testing::Test {
 protected:
  ScriptingPersistenceTest() {
    char tmpl[] = "/tmp/ferrite-scr-persist-XXXXXX";
    dir_ = mkdtemp(tmpl);
    config_ = DefaultConfig();
    config_.server.dir = dir_;
    config_.persistence.checkpoint_rules.clear();
    config_.persistence.checkpoint_interval = 0;
  }
  ~ScriptingPersistenceTest() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
  Config config_;
};

TEST_F(ScriptingPersistenceTest, CheckpointHoldsLibrariesAsRecords) {
  std::string digest, stream_full;
  {
    EngineHarness h(config_);
    auto se = ScriptingEngine::Install(h.engine());
    PersistenceManager pm(&h.engine(), FileSystem::Default(), &h.clock());
    ASSERT_TRUE(pm.Start().ok());
    ASSERT_EQ(h.Run({"function", "load", kLib}), "$4\r\nlib1\r\n");
    h.Run({"set", "k", "v"});
    // A stream with a consumer group and a pending entry (format 5's value type) in the
    // same file as the library records.
    ASSERT_EQ(h.Run({"xadd", "s", "1-1", "f", "v"}), "$3\r\n1-1\r\n");
    ASSERT_EQ(h.Run({"xadd", "s", "2-1", "f", "w"}), "$3\r\n2-1\r\n");
    ASSERT_EQ(h.Run({"xgroup", "create", "s", "g", "0"}), "+OK\r\n");
    h.Run({"xreadgroup", "group", "g", "c1", "count", "1", "streams", "s", ">"});
    digest = h.Run({"debug", "digest"});
    stream_full = h.Run({"xinfo", "stream", "s", "full"});
    std::string reply;
    ASSERT_TRUE(pm.BgSave(false, &reply).ok());
    // A library loaded after the freeze is not in this image.
    h.Run({"function", "load", "#!lua name=late\nredis.register_function('late', function() end)"});
    while (pm.saving()) pm.BeforeSleep();
  }
  std::vector<std::string> codes;
  int streams = 0;
  ckpt::ReadStats stats;
  ASSERT_TRUE(ckpt::Read(
                  FileSystem::Default(), dir_ + "/" + config_.persistence.checkpoint_file, true,
                  [&](const ckpt::Record& r) {
                    if (r.type == ckpt::kFunctionLibrary) {
                      codes.emplace_back(r.value);
                      EXPECT_EQ(r.key, "lib1");
                    }
                    if (r.type == uint8_t(ValueType::kStream)) streams++;
                    return Status::Ok();
                  },
                  &stats)
                  .ok());
  EXPECT_EQ(stats.version, 6u);
  EXPECT_EQ(stats.version, ckpt::kVersion);
  EXPECT_EQ(codes, std::vector<std::string>{kLib});
  EXPECT_EQ(streams, 1);
  EngineHarness h2(config_);
  auto se2 = ScriptingEngine::Install(h2.engine());
  PersistenceManager pm2(&h2.engine(), FileSystem::Default(), &h2.clock());
  ASSERT_TRUE(pm2.Start().ok());
  EXPECT_EQ(h2.Run({"fcall", "incr2", "1", "n"}), ":2\r\n");
  EXPECT_EQ(h2.Run({"fcall", "late", "0"}), "-ERR Function not found\r\n");
  EXPECT_EQ(h2.Run({"get", "k"}), "$1\r\nv\r\n");
  // The FCALL above changed n; without it the dataset is the one at the cut.
  h2.Run({"del", "n"});
  EXPECT_EQ(h2.Run({"debug", "digest"}), digest);
  EXPECT_EQ(h2.Run({"xinfo", "stream", "s", "full"}), stream_full);
}

TEST_F(ScriptingPersistenceTest, AofLogsUnitsAndRewriteKeepsLibraries) {
  config_.persistence.aof_enabled = true;
  config_.persistence.aof_sync_policy = AofSyncPolicy::kAlways;
  config_.persistence.aof_rewrite_percentage = 0;
  {
    EngineHarness h(config_);
    auto se = ScriptingEngine::Install(h.engine());
    PersistenceManager pm(&h.engine(), FileSystem::Default(), &h.clock());
    ASSERT_TRUE(pm.Start().ok());
    h.Run({"function", "load", kLib});
    h.Run({"fcall", "incr2", "1", "n"});
    pm.BeforeSleep();
    std::ifstream f(dir_ + "/" + config_.persistence.aof_file, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    std::string aof = ss.str();
    size_t multi = aof.find("MULTI"), exec = aof.find("EXEC");
    ASSERT_NE(multi, std::string::npos);
    ASSERT_NE(exec, std::string::npos);
    EXPECT_LT(aof.find("\r\nincr\r\n"), exec);
    EXPECT_GT(aof.find("\r\nincr\r\n"), multi);
    EXPECT_EQ(aof.find("\r\nfcall\r\n"), std::string::npos);  // the script itself is never logged
    ASSERT_EQ(h.Run({"bgrewriteaof"}).substr(0, 1), "+");
    while (pm.Busy()) pm.BeforeSleep();
    h.Run({"fcall", "incr2", "1", "n"});
    pm.BeforeSleep();
  }
  EngineHarness h2(config_);
  auto se2 = ScriptingEngine::Install(h2.engine());
  PersistenceManager pm2(&h2.engine(), FileSystem::Default(), &h2.clock());
  ASSERT_TRUE(pm2.Start().ok());
  EXPECT_EQ(h2.Run({"get", "n"}), "$1\r\n4\r\n");
  EXPECT_EQ(h2.Run({"fcall", "incr2", "1", "n"}), ":6\r\n");
}

}  // namespace
}  // namespace ferrite::scripting
