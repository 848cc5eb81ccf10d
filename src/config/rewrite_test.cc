// CONFIG REWRITE: the running configuration written back into its TOML file as an
// edit — untouched lines stay byte for byte, changed values change in place, missing keys
// land in their section — and the file replaced atomically.

#include "config/rewrite.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/schema.h"
#include "io/fault_injection_fs.h"
#include "io/file_system.h"

namespace ferrite {
namespace {

Config Parse(std::string_view text) {
  auto r = ParseConfig(text, "test.toml");
  EXPECT_TRUE(r.ok()) << r.status().message() << "\n" << text;
  return r.ok() ? r.value() : Config();
}

std::string Rewrite(std::string_view text, const Config& running, const RewriteOptions& o = {}) {
  auto r = RewriteConfigText(text, running, "test.toml", o);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? r.value() : "";
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

const char kFile[] =
    "# Ferrite test configuration\n"
    "\n"
    "[server]\n"
    "port = 7000  # the port\n"
    "maxmemory = \"1GB\"   # cap for data\n"
    "  hz = 10\n"
    "\n"
    "# persistence comes next\n"
    "[persistence]\n"
    "aof_enabled = false\n"
    "checkpoint_rules = [\n"
    "  { seconds = 3600, changes = 1 },  # hourly\n"
    "  { seconds = 60, changes = 10000 },\n"
    "]\n"
    "\n"
    "[metrics]\n"
    "enabled = true\n";

TEST(ConfigRewrite, NothingChangedLeavesTheTextAlone) {
  EXPECT_EQ(Rewrite(kFile, Parse(kFile)), kFile);
}

TEST(ConfigRewrite, TheExampleFileRoundTripsUnchanged) {
  std::string text = ReadFile(std::string(FERRITE_SOURCE_DIR) + "/ferrite.example.toml");
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(Rewrite(text, Parse(text)), text);
}

TEST(ConfigRewrite, ChangedValueInPlaceKeepsItsComment) {
  Config c = Parse(kFile);
  c.server.maxmemory = 2LL << 30;
  c.server.hz = 50;
  std::string out = Rewrite(kFile, c);
  std::string want = kFile;
  want.replace(want.find("\"1GB\""), 5, "\"2GB\"");
  want.replace(want.find("hz = 10"), 7, "hz = 50");
  EXPECT_EQ(out, want);
}

TEST(ConfigRewrite, EquivalentSpellingsAreNotChanges) {
  // 1GB written as bytes, 300s as 5min: the same values, so the lines stay as written.
  const char text[] = "[server]\nmaxmemory = 1073741824\ntcp_keepalive = \"5min\"\n";
  Config c = Parse(text);
  EXPECT_EQ(c.server.tcp_keepalive, 300'000);
  EXPECT_EQ(Rewrite(text, c), text);
}

TEST(ConfigRewrite, MissingKeyGoesAfterTheLastKeyOfItsSection) {
  Config c = Parse(kFile);
  c.server.maxmemory_policy = MaxmemoryPolicy::kAllkeysLru;
  c.server.loglevel = LogLevel::kWarning;
  c.persistence.aof_sync_policy = AofSyncPolicy::kAlways;
  std::string out = Rewrite(kFile, c);
  // The new keys follow the section's last key, with its indentation, in schema order; the
  // blank line and the comment that introduce the next section stay where they were.
  EXPECT_NE(out.find("  hz = 10\n  maxmemory_policy = \"allkeys-lru\"\n  loglevel = \"warning\"\n"
                     "\n# persistence comes next\n[persistence]\n"),
            std::string::npos)
      << out;
  EXPECT_NE(
      out.find(
          "  { seconds = 60, changes = 10000 },\n]\naof_sync_policy = \"always\"\n\n[metrics]"),
      std::string::npos)
      << out;
}

TEST(ConfigRewrite, MissingSectionIsAddedAtTheEnd) {
  Config c = Parse(kFile);
  c.encoding.hash_max_listpack_entries = 256;
  c.recovery.on_corruption = CorruptionAction::kAbort;
  std::string out = Rewrite(kFile, c);
  EXPECT_EQ(out, std::string(kFile) +
                     "\n[encoding]\nhash_max_listpack_entries = 256\n"
                     "\n[recovery]\non_corruption = \"abort\"\n");
}

TEST(ConfigRewrite, MultiLineArrayIsReplacedWhole) {
  Config c = Parse(kFile);
  c.persistence.checkpoint_rules = {{900, 1}};
  std::string out = Rewrite(kFile, c);
  EXPECT_NE(out.find("checkpoint_rules = [{ seconds = 900, changes = 1 }]\n\n[metrics]"),
            std::string::npos)
      << out;
  EXPECT_EQ(Parse(out).persistence.checkpoint_rules, c.persistence.checkpoint_rules);
}

TEST(ConfigRewrite, AliasKeyIsRewrittenUnderItsOwnName) {
  const char text[] = "[persistence]\naof_fsync_policy = \"no\" # the spec's name\n";
  Config c = Parse(text);
  c.persistence.aof_sync_policy = AofSyncPolicy::kAlways;
  EXPECT_EQ(Rewrite(text, c), "[persistence]\naof_fsync_policy = \"always\" # the spec's name\n");
}

TEST(ConfigRewrite, ArchiveAsHeaderInlineTableOrDottedKeys) {
  {
    const char text[] = "[storage]\nhot_tier_size = \"1GB\"\n\n[storage.archive]\nbucket = \"b\"\n";
    Config c = Parse(text);
    c.storage.archive.region = "eu-west-1";
    EXPECT_EQ(Rewrite(text, c), std::string(text) + "region = \"eu-west-1\"\n");
  }
  {
    const char text[] = "[storage]\narchive = { bucket = \"b\", enabled = false } # inline\n";
    Config c = Parse(text);
    c.storage.archive.enabled = true;
    c.storage.archive.region = "eu-west-1";
    EXPECT_EQ(Rewrite(text, c),
              "[storage]\narchive = { bucket = \"b\", enabled = true, region = \"eu-west-1\" } # "
              "inline\n");
  }
  {
    const char text[] = "[storage]\narchive = {}\n";
    Config c = Parse(text);
    c.storage.archive.bucket = "x";
    EXPECT_EQ(Rewrite(text, c), "[storage]\narchive = { bucket = \"x\" }\n");
  }
  {
    const char text[] = "[storage]\n    archive.bucket = \"b\"\n";
    Config c = Parse(text);
    c.storage.archive.region = "eu-west-1";
    EXPECT_EQ(Rewrite(text, c), std::string(text) + "    archive.region = \"eu-west-1\"\n");
  }
  {
    // [storage] exists only implicitly (through [storage.archive]): a [storage] header is
    // added at the end, which TOML allows for a table defined only implicitly so far.
    const char text[] = "[storage.archive]\nbucket = \"b\"\n";
    Config c = Parse(text);
    c.storage.hot_tier_size = 1LL << 30;
    // `enabled = false` comes along: a [storage] section without it turns tiering on.
    EXPECT_EQ(Rewrite(text, c),
              std::string(text) + "\n[storage]\nenabled = false\nhot_tier_size = \"1GB\"\n");
  }
}

TEST(ConfigRewrite, EmptyFileGetsEverythingThatIsNotDefault) {
  Config c;
  c.server.port = 7001;
  c.metrics.enabled = true;
  EXPECT_EQ(Rewrite("", c), "[server]\nport = 7001\n\n[metrics]\nenabled = true\n");
  Config d;
  EXPECT_EQ(Rewrite("", d), "");
}

TEST(ConfigRewrite, StringsAreEscaped) {
  Config c;
  c.server.requirepass = "a\"b\\c\td";
  std::string out = Rewrite("[server]\n", c);
  EXPECT_EQ(out, "[server]\nrequirepass = \"a\\\"b\\\\c\\td\"\n");
  EXPECT_EQ(Parse(out).server.requirepass, c.server.requirepass);
}

TEST(ConfigRewrite, CrlfFilesGetCrlfLines) {
  const char text[] = "[server]\r\nport = 7000\r\n";
  Config c = Parse(text);
  c.server.hz = 20;
  c.metrics.port = 9400;
  EXPECT_EQ(Rewrite(text, c),
            "[server]\r\nport = 7000\r\nhz = 20\r\n\r\n[metrics]\r\nport = 9400\r\n");
}

TEST(ConfigRewrite, NoTrailingNewline) {
  const char text[] = "[server]\nport = 7000";
  Config c = Parse(text);
  c.server.hz = 20;
  EXPECT_EQ(Rewrite(text, c), "[server]\nport = 7000\nhz = 20\n");
  c.server.port = 7002;
  EXPECT_EQ(Rewrite(text, c), "[server]\nport = 7002\nhz = 20\n");
}

TEST(ConfigRewrite, NormalizedValuesAreNotChanges) {
  // The server makes `dir` absolute at start-up; the relative spelling stays in the file.
  const char text[] = "[server]\ndir = \"./data\"\n";
  Config c = Parse(text);
  c.server.dir = "/srv/ferrite/data";
  RewriteOptions o;
  o.normalize = [](Config& f) {
    if (f.server.dir == "./data") f.server.dir = "/srv/ferrite/data";
  };
  EXPECT_EQ(Rewrite(text, c, o), text);
  EXPECT_EQ(Rewrite(text, c), "[server]\ndir = \"/srv/ferrite/data\"\n");  // without it: a change
}

TEST(ConfigRewrite, UnparsableFileIsAnError) {
  auto r = RewriteConfigText("[server\nport = 1\n", Config(), "bad.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("bad.toml"), std::string::npos) << r.status().message();
  EXPECT_FALSE(RewriteConfigText("[server]\nbogus = 1\n", Config(), "bad.toml").ok());
}

class ConfigRewriteFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ferrite-rewrite-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
  }
  size_t FileCount() {
    size_t n = 0;
    for (auto& e : std::filesystem::directory_iterator(dir_)) n += e.exists();
    return n;
  }
  std::string dir_;
};

TEST_F(ConfigRewriteFile, ReplacesTheFileKeepingItsMode) {
  std::string path = dir_ + "/ferrite.toml";
  Write(path, kFile);
  ASSERT_EQ(chmod(path.c_str(), 0640), 0);
  Config c = Parse(kFile);
  c.server.hz = 42;
  ASSERT_TRUE(RewriteConfigFile(FileSystem::Default(), path, c).ok());
  EXPECT_EQ(Parse(ReadFile(path)).server.hz, 42);
  struct stat sb;
  ASSERT_EQ(stat(path.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0640u);
  EXPECT_EQ(FileCount(), 1u);  // no temporary file left behind
}

TEST_F(ConfigRewriteFile, FollowsASymlinkToItsTarget) {
  std::string real = dir_ + "/real.toml", link = dir_ + "/ferrite.toml";
  Write(real, kFile);
  ASSERT_EQ(symlink(real.c_str(), link.c_str()), 0);
  Config c = Parse(kFile);
  c.server.hz = 33;
  ASSERT_TRUE(RewriteConfigFile(FileSystem::Default(), link, c).ok());
  EXPECT_TRUE(std::filesystem::is_symlink(link));
  EXPECT_EQ(Parse(ReadFile(real)).server.hz, 33);
}

TEST_F(ConfigRewriteFile, MissingFileIsCreated) {
  std::string path = dir_ + "/new.toml";
  Config c;
  c.server.port = 7100;
  ASSERT_TRUE(RewriteConfigFile(FileSystem::Default(), path, c).ok());
  EXPECT_EQ(ReadFile(path), "[server]\nport = 7100\n");
}

TEST_F(ConfigRewriteFile, FailedSyncLeavesTheOldFileAndNoTemporary) {
  std::string path = dir_ + "/ferrite.toml";
  Write(path, kFile);
  FaultInjectionFileSystem fs(FileSystem::Default());
  fs.FailSyncs(1);
  Config c = Parse(kFile);
  c.server.hz = 99;
  Status st = RewriteConfigFile(&fs, path, c);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(ReadFile(path), kFile);
  EXPECT_EQ(FileCount(), 1u);
}

}  // namespace
}  // namespace ferrite
