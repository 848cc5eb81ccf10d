// Configuration: defaults, the spec's TOML snippets, units, error messages (file, line,
// key, expectation), CONFIG GET/SET under Redis and canonical names.

#include "config/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "config/redis_config.h"
#include "config/registry.h"
#include "config/schema.h"
#include "config/units.h"

namespace ferrite {
namespace {

std::string ErrorOf(std::string_view toml) {
  auto r = ParseConfig(toml, "ferrite.toml");
  EXPECT_FALSE(r.ok()) << toml;
  return r.ok() ? "" : r.status().message();
}

TEST(Units, Durations) {
  EXPECT_EQ(ParseDurationMs("15min").value(), 900'000);
  EXPECT_EQ(ParseDurationMs("1h").value(), 3'600'000);
  EXPECT_EQ(ParseDurationMs("30d").value(), 30LL * 86'400'000);
  EXPECT_EQ(ParseDurationMs("300s").value(), 300'000);
  EXPECT_EQ(ParseDurationMs("500ms").value(), 500);
  EXPECT_EQ(ParseDurationMs("42").value(), 42'000);
  EXPECT_FALSE(ParseDurationMs("-1s").ok());
  EXPECT_FALSE(ParseDurationMs("5 min").ok());
  EXPECT_FALSE(ParseDurationMs("5parsecs").ok());
  EXPECT_FALSE(ParseDurationMs("").ok());
  EXPECT_EQ(FormatDuration(900'000), "15min");
  EXPECT_EQ(FormatDuration(3'600'000), "1h");
  EXPECT_EQ(FormatDuration(1500), "1500ms");
}

TEST(Units, Sizes) {
  EXPECT_EQ(ParseSize("64MB").value(), 64LL << 20);
  EXPECT_EQ(ParseSize("2GB").value(), 2LL << 30);
  EXPECT_EQ(ParseSize("512kb").value(), 512 * 1024);
  EXPECT_EQ(ParseSize("1k").value(), 1000);
  EXPECT_EQ(ParseSize("100").value(), 100);
  EXPECT_FALSE(ParseSize("12XB").ok());
  EXPECT_FALSE(ParseSize("999999999999TB").ok());
  EXPECT_EQ(FormatSize(64LL << 20), "64MB");
  EXPECT_EQ(FormatSize(0), "0");
}

TEST(Config, Defaults) {
  Config c = DefaultConfig();
  EXPECT_EQ(c.server.port, 6379);
  EXPECT_EQ(c.server.bind, "127.0.0.1");
  EXPECT_EQ(c.server.dir, "./data");
  EXPECT_EQ(c.persistence.aof_sync_policy, AofSyncPolicy::kEverySec);
  EXPECT_EQ(c.persistence.checkpoint_rules.size(), 3u);
  EXPECT_TRUE(ValidateConfig(c).ok());
}

TEST(Config, SpecExamplesParse) {
  const char* spec = R"(
[persistence]
aof_enabled = true
aof_file = "ferrite.aof"
aof_sync_policy = "everysec"  # "no", "everysec", or "always"
aof_rewrite_percentage = 100    # Rewrite when 100% larger
aof_rewrite_min_size = "64MB"   # Minimum size to trigger
checkpoint_enabled = true
checkpoint_file = "ferrite.rdb"
checkpoint_interval = "15min"    # Time-based
checkpoint_changes = 1000        # Or change-based
checkpoint_rules = [
    { seconds = 900, changes = 1 },
    { seconds = 300, changes = 10 },
    { seconds = 60, changes = 10000 }
]
recovery_priority = "checkpoint"  # Load checkpoint first
aof_use_checkpoint_preamble = true

[storage]
hot_tier_size = "512MB"
warm_tier_size = "2GB"
cold_tier_path = "/data/ferrite/cold"
cold_tier_compression = "lz4"

[storage.archive]
enabled = true
provider = "s3"
bucket = "ferrite-archive"
archive_after = "30d"

[recovery]
verify_checksum = true
max_recovery_time = "5min"
on_corruption = "truncate"  # or "abort"
)";
  auto r = ParseConfig(spec, "spec.toml");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Config& c = r.value();
  EXPECT_TRUE(c.persistence.aof_enabled);
  EXPECT_EQ(c.persistence.aof_rewrite_min_size, 64LL << 20);
  EXPECT_EQ(c.persistence.checkpoint_interval, 900'000);
  EXPECT_EQ(c.persistence.checkpoint_changes, 1000);
  std::vector<SaveRule> want = {{900, 1}, {300, 10}, {60, 10000}};
  EXPECT_EQ(c.persistence.checkpoint_rules, want);
  EXPECT_EQ(c.storage.warm_tier_size, 2LL << 30);
  EXPECT_EQ(c.storage.archive.archive_after, 30LL * 86'400'000);
  EXPECT_EQ(c.recovery.max_recovery_time, 300'000);
  EXPECT_TRUE(ValidateConfig(c).ok());
}

TEST(Config, FsyncPolicyAlias) {
  auto r = ParseConfig("[persistence]\naof_fsync_policy = \"always\"\n", "a.toml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().persistence.aof_sync_policy, AofSyncPolicy::kAlways);
  std::string e =
      ErrorOf("[persistence]\naof_sync_policy = \"no\"\naof_fsync_policy = \"always\"\n");
  EXPECT_NE(e.find("both set"), std::string::npos) << e;
}

TEST(Config, AclSection) {
  auto r = ParseConfig(
      "[acl]\naclfile = \"/etc/u.acl\"\nlog_max_len = 5\npubsub_default = \"allchannels\"\n"
      "users = [\"app on >pw ~app:* +@all\", \"mon on +info\"]\n",
      "a.toml");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.value().acl.aclfile, "/etc/u.acl");
  EXPECT_EQ(r.value().acl.log_max_len, 5);
  EXPECT_EQ(r.value().acl.pubsub_default, AclPubsubDefault::kAllChannels);
  EXPECT_EQ(r.value().acl.users,
            (std::vector<std::string>{"app on >pw ~app:* +@all", "mon on +info"}));
  EXPECT_EQ(ErrorOf("[acl]\nusers = \"app on\"\n"),
            "ferrite.toml:2: acl.users: expected an array of strings like \"alice on >pw ~app:* "
            "+@read\", got a string");
  EXPECT_EQ(ErrorOf("[acl]\nusers = [1]\n"), "ferrite.toml:2: acl.users: expected a string");
  EXPECT_EQ(ErrorOf("[acl]\nusers = [\" \"]\n"), "ferrite.toml:2: acl.users: an empty user line");
}

TEST(Config, ErrorsNameFileLineKeyAndExpectation) {
  std::string e =
      ErrorOf("[server]\nport = 6379\n\n[persistence]\naof_sync_policy = \"sometimes\"\n");
  EXPECT_EQ(e,
            "ferrite.toml:5: persistence.aof_sync_policy: expected one of \"no\", \"everysec\", "
            "\"always\", got \"sometimes\"");
  e = ErrorOf("[server]\nport = \"6379\"\n");
  EXPECT_EQ(e, "ferrite.toml:2: server.port: expected an integer, got a string");
  e = ErrorOf("[server]\nport = 70000\n");
  EXPECT_NE(e.find("ferrite.toml:2: server.port: expected an integer from 0 to 65535"),
            std::string::npos)
      << e;
  e = ErrorOf("[persistence]\naof_syncpolicy = \"always\"\n");
  EXPECT_EQ(
      e, "ferrite.toml:2: unknown key persistence.aof_syncpolicy (did you mean aof_sync_policy?)");
  e = ErrorOf("[serverx]\nport = 1\n");
  EXPECT_NE(e.find("ferrite.toml:1: unknown section [serverx]"), std::string::npos) << e;
  e = ErrorOf("[server]\nmaxmemory = \"12 apples\"\n");
  EXPECT_NE(e.find("ferrite.toml:2: server.maxmemory: expected a size"), std::string::npos) << e;
  e = ErrorOf("[persistence]\ncheckpoint_interval = \"soon\"\n");
  EXPECT_NE(e.find("ferrite.toml:2: persistence.checkpoint_interval: expected a duration"),
            std::string::npos)
      << e;
  e = ErrorOf("[persistence]\ncheckpoint_rules = [ { seconds = 0, changes = 1 } ]\n");
  EXPECT_NE(e.find("persistence.checkpoint_rules.seconds"), std::string::npos) << e;
  e = ErrorOf("[server]\nport = \n");
  EXPECT_NE(e.find("ferrite.toml:2:"), std::string::npos) << e;
  EXPECT_NE(e.find("TOML syntax error"), std::string::npos) << e;
}

TEST(Config, MissingFileNamesPath) {
  auto r = LoadConfigFile("/nonexistent/ferrite.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nonexistent/ferrite.toml"), std::string::npos);
}

TEST(Registry, GetByGlobUnderBothNames) {
  Config c = DefaultConfig();
  ConfigRegistry reg(c);
  auto v = reg.Get("maxmemory*");
  std::map<std::string, std::string> m(v.begin(), v.end());
  EXPECT_EQ(m.at("maxmemory"), "0");
  EXPECT_EQ(m.at("maxmemory-policy"), "noeviction");
  EXPECT_EQ(m.at("maxmemory-samples"), "5");
  auto a = reg.Get("appendfsync");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].second, "everysec");
  auto canon = reg.Get("persistence.aof_rewrite_min_size");
  ASSERT_EQ(canon.size(), 1u);
  EXPECT_EQ(canon[0].second, "64MB");
  auto save = reg.Get("save");
  ASSERT_EQ(save.size(), 1u);
  EXPECT_EQ(save[0].second, "3600 1 300 100 60 10000");
  EXPECT_EQ(reg.Get("appendonly")[0].second, "no");
  EXPECT_GE(reg.Get("*").size(), ConfigSchema().size());
}

TEST(Registry, SetRoundTripsAndErrors) {
  Config c = DefaultConfig();
  ConfigRegistry reg(c);
  ASSERT_TRUE(reg.Set({{"save", "900 1 300 10"}}).ok());
  std::vector<SaveRule> want = {{900, 1}, {300, 10}};
  EXPECT_EQ(c.persistence.checkpoint_rules, want);
  ASSERT_TRUE(reg.Set({{"save", ""}}).ok());
  EXPECT_TRUE(c.persistence.checkpoint_rules.empty());
  ASSERT_TRUE(reg.Set({{"appendonly", "yes"}}).ok());
  EXPECT_TRUE(c.persistence.aof_enabled);
  ASSERT_TRUE(reg.Set({{"maxmemory", "100mb"}}).ok());
  EXPECT_EQ(c.server.maxmemory, 104857600);
  ASSERT_TRUE(reg.Set({{"client-output-buffer-limit", "normal 1mb 512kb 1"}}).ok());
  EXPECT_EQ(c.server.output_buffer_hard_limit, 1 << 20);
  EXPECT_EQ(c.server.output_buffer_soft_seconds, 1);
  EXPECT_EQ(reg.Get("client-output-buffer-limit")[0].second,
            "normal 1048576 524288 1 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
  ASSERT_TRUE(reg.Set({{"timeout", "30"}}).ok());
  EXPECT_EQ(c.server.timeout, 30'000);

  EXPECT_EQ(reg.Set({{"foo", "bar"}}).message(),
            "Unknown option or number of arguments for CONFIG SET - 'foo'");
  EXPECT_EQ(reg.Set({{"maxmemory", "lots"}}).message(),
            "CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a "
            "memory value");
  EXPECT_EQ(
      reg.Set({{"appendfsync", "sometimes"}}).message(),
      "CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one "
      "of the following: everysec, always, no");
  EXPECT_EQ(
      reg.Set({{"databases", "4"}}).message(),
      "CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config");
  EXPECT_EQ(reg.Set({{"maxmemory", "1"}, {"maxmemory", "2"}}).message(),
            "CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate parameter");
  // The first problem decides, as Redis's single pass: after one, a later unknown name is
  // not reported; an unknown name before any other problem is.
  EXPECT_EQ(reg.Set({{"maxmemory", "1"}, {"maxmemory", "2"}, {"nosuch", "1"}}).message(),
            "CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate parameter");
  EXPECT_EQ(reg.Set({{"databases", "4"}, {"nosuch", "1"}}).message(),
            "CONFIG SET failed (possibly related to argument 'databases') - can't set immutable "
            "config");
  EXPECT_EQ(reg.Set({{"hz", "5"}, {"nosuch", "1"}, {"databases", "4"}}).message(),
            "Unknown option or number of arguments for CONFIG SET - 'nosuch'");
  EXPECT_EQ(reg.Set({{"", "1"}}).message(),
            "Unknown option or number of arguments for CONFIG SET - ''");
  // All or nothing: the valid first pair is undone with the failing second.
  int64_t before = c.server.maxmemory;
  EXPECT_FALSE(reg.Set({{"maxmemory", "5mb"}, {"hz", "abc"}}).ok());
  EXPECT_EQ(c.server.maxmemory, before);
}

TEST(Registry, ApplyHookFailureReverts) {
  Config c = DefaultConfig();
  ConfigRegistry reg(c);
  reg.SetApplyHook([](const std::vector<std::string>& changed, const Config&) {
    if (changed[0] == "persistence.aof_enabled") return Status::IOError("disk on fire");
    return Status::Ok();
  });
  Status st = reg.Set({{"appendonly", "yes"}});
  EXPECT_EQ(st.message(),
            "CONFIG SET failed (possibly related to argument 'appendonly') - disk on fire");
  EXPECT_FALSE(c.persistence.aof_enabled);
}

TEST(Registry, RedisSectionErrorsNameTheKey) {
  auto r = ParseConfig("[redis]\n\"repl-timeout\" = 0\n", "x.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "x.toml:2: redis.repl-timeout: argument must be between 1 and 2147483647 inclusive");
  auto r2 = ParseConfig("[redis]\nnosuch = 1\n", "x.toml");
  EXPECT_EQ(r2.status().message(),
            "x.toml:2: redis.nosuch: not a Redis 7.0 configuration parameter");
  auto r3 = ParseConfig("[redis]\nappendonly = true\nsave = \"60 1\"\n", "x.toml");
  ASSERT_TRUE(r3.ok()) << r3.status().message();
  EXPECT_TRUE(r3.value().persistence.aof_enabled);
  std::vector<SaveRule> want = {{60, 1}};
  EXPECT_EQ(r3.value().persistence.checkpoint_rules, want);
}

TEST(Registry, RenderedTomlParsesBackToTheSameConfig) {
  Config c = DefaultConfig();
  c.server.port = 7001;
  c.persistence.checkpoint_rules = {{10, 2}};
  c.storage.archive.bucket = "b\"q";
  std::string toml = RenderToml(c);
  auto r = ParseConfig(toml, "rendered.toml");
  ASSERT_TRUE(r.ok()) << r.status().message() << "\n" << toml;
  Config& d = r.value();
  for (const Param& p : ConfigSchema()) {
    EXPECT_EQ(FormatParam(p, c, false), FormatParam(p, d, false)) << p.canonical();
  }
  // Stored Redis parameters round-trip through the [redis] section.
  c.redis_stored["repl-backlog-ttl"] = "5";
  c.redis_stored["shutdown-on-sigterm"] = "save now";
  auto r2 = ParseConfig(RenderToml(c), "rendered.toml");
  ASSERT_TRUE(r2.ok()) << r2.status().message();
  EXPECT_EQ(r2.value().redis_stored, c.redis_stored);
}

}  // namespace
}  // namespace ferrite

namespace ferrite {
namespace {

// The documentation and the example file cannot drift from the schema.
TEST(ConfigDocs, EveryKeyDocumentedAndExampleParses) {
  std::ifstream doc(std::string(FERRITE_SOURCE_DIR) + "/docs/configuration.md");
  ASSERT_TRUE(doc) << "docs/configuration.md missing";
  std::stringstream ss;
  ss << doc.rdbuf();
  std::string text = ss.str();
  for (const Param& p : ConfigSchema()) {
    EXPECT_NE(text.find("## [" + p.section + "]"), std::string::npos) << p.section;
    EXPECT_NE(text.find("| `" + p.key + "` |"), std::string::npos) << p.canonical();
  }
  // Every Redis 7.0 name without a Ferrite key is listed as "accepted, no effect yet".
  size_t accepted = text.find("**accepted, no effect yet**");
  ASSERT_NE(accepted, std::string::npos);
  for (const RedisParam& p : RedisParams()) {
    if (p.ferrite[0] || std::string_view(p.name) == "client-output-buffer-limit") continue;
    EXPECT_NE(text.find("`" + std::string(p.name) + "`", accepted), std::string::npos) << p.name;
  }
  // …and a name that does reach a Ferrite key is not in that list.
  size_t list = text.find("\n- **", accepted);
  ASSERT_NE(list, std::string::npos);
  std::string listed = text.substr(list, text.find("\n\n", list) - list);
  for (const RedisParam& p : RedisParams()) {
    if (!p.ferrite[0]) continue;
    EXPECT_EQ(listed.find("`" + std::string(p.name) + "`"), std::string::npos) << p.name;
  }
  auto r = LoadConfigFile(std::string(FERRITE_SOURCE_DIR) + "/ferrite.example.toml");
  ASSERT_TRUE(r.ok()) << r.status().message();
  Config def = DefaultConfig();
  for (const Param& p : ConfigSchema()) {
    EXPECT_EQ(FormatParam(p, r.value(), false), FormatParam(p, def, false)) << p.canonical();
  }
}

}  // namespace
}  // namespace ferrite

namespace ferrite {
namespace {

// The persistence spec is the user-facing contract: every TOML example in it, pasted as it
// is, must load and do what the spec says. The blocks are read from the spec itself, kept in
// the tree as docs/persistence-model.md (the source document is shared/spec/ beside the
// repository; SpecCopyInTheTreeIsTheSourceDocument notices when the two drift).
std::string FindSpec() {
  if (const char* env = getenv("FERRITE_SPEC")) return env;
  return std::string(FERRITE_SOURCE_DIR) + "/docs/persistence-model.md";
}

std::string ReadWhole(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(SpecExamples, SpecCopyInTheTreeIsTheSourceDocument) {
  std::string shared;
  for (const char* rel :
       {"/../shared/spec/persistence-model.md", "/../../shared/spec/persistence-model.md"}) {
    std::string p = std::string(FERRITE_SOURCE_DIR) + rel;
    if (std::ifstream(p)) shared = p;
  }
  if (shared.empty()) GTEST_SKIP() << "no shared/spec beside the tree to compare the copy with";
  EXPECT_EQ(ReadWhole(shared), ReadWhole(FindSpec()))
      << "docs/persistence-model.md differs from " << shared << ": copy the source document";
}

// ```toml blocks whole; ```bash blocks from their first [section] line (the spec's AOF
// rewrite example mixes a command and TOML).
std::vector<std::string> SpecTomlBlocks(const std::string& text) {
  std::vector<std::string> blocks;
  std::istringstream in(text);
  std::string line, lang, cur;
  bool in_block = false, taking = false;
  while (std::getline(in, line)) {
    if (line.rfind("```", 0) == 0) {
      if (!in_block) {
        in_block = true;
        lang = line.substr(3);
        taking = lang == "toml";
        cur.clear();
      } else {
        in_block = false;
        if (taking && !cur.empty()) blocks.push_back(cur);
        taking = false;
      }
      continue;
    }
    if (!in_block) continue;
    if (lang == "bash" && !taking && line.size() > 2 && line[0] == '[' && line.back() == ']')
      taking = true;
    if (taking) cur += line + "\n";
  }
  return blocks;
}

TEST(SpecExamples, EveryTomlExampleOfThePersistenceSpecLoadsAndMeansWhatItSays) {
  std::string path = FindSpec();
  ASSERT_TRUE(std::ifstream(path)) << "the persistence spec is missing: " << path;
  std::vector<std::string> blocks = SpecTomlBlocks(ReadWhole(path));
  ASSERT_GE(blocks.size(), 6u) << "the spec's examples were not found in " << path;
  int storage_blocks = 0;
  for (size_t i = 0; i < blocks.size(); i++) {
    const std::string& b = blocks[i];
    auto r = ParseConfig(b, "spec example " + std::to_string(i + 1));
    ASSERT_TRUE(r.ok()) << r.status().message() << "\n" << b;
    const Config& c = r.value();
    EXPECT_TRUE(ValidateConfig(c).ok()) << b;
    if (b.find("[storage]") != std::string::npos) {
      storage_blocks++;
      // The tier sizes are written without `enabled`: tiering must be on.
      EXPECT_TRUE(c.storage.enabled) << b;
      EXPECT_EQ(c.storage.hot_tier_size, 512LL << 20);
      EXPECT_EQ(c.storage.warm_tier_size, 2LL << 30);
      EXPECT_EQ(c.storage.cold_tier_path, "/data/ferrite/cold");
      EXPECT_EQ(c.storage.cold_tier_compression, ColdTierCompression::kLz4);
      EXPECT_TRUE(c.storage.archive.enabled);
      EXPECT_EQ(c.storage.archive.bucket, "ferrite-archive");
      EXPECT_EQ(c.storage.archive.archive_after, 30LL * 86'400'000);
    }
    if (b.find("aof_enabled = true") != std::string::npos) {
      EXPECT_TRUE(c.persistence.aof_enabled);
    }
    if (b.find("checkpoint_rules") != std::string::npos) {
      EXPECT_EQ(c.persistence.checkpoint_interval, 15 * 60'000);
      EXPECT_EQ(c.persistence.checkpoint_changes, 1000);
      EXPECT_EQ(c.persistence.checkpoint_rules.size(), 3u);
    }
    if (b.find("aof_rewrite_min_size") != std::string::npos) {
      EXPECT_EQ(c.persistence.aof_rewrite_percentage, 100);
      EXPECT_EQ(c.persistence.aof_rewrite_min_size, 64LL << 20);
    }
    if (b.find("[recovery]") != std::string::npos) {
      EXPECT_EQ(c.recovery.max_recovery_time, 5 * 60'000);
      EXPECT_EQ(c.recovery.on_corruption, CorruptionAction::kTruncate);
      EXPECT_TRUE(c.recovery.verify_checksum);
    }
  }
  EXPECT_EQ(storage_blocks, 1);
}

TEST(SpecExamples, StorageSectionWithoutEnabledTurnsTieringOnAndExplicitFalseKeepsItOff) {
  auto on = ParseConfig("[storage]\nhot_tier_size = \"64MB\"\n", "t");
  ASSERT_TRUE(on.ok());
  EXPECT_TRUE(on.value().storage.enabled);
  auto off = ParseConfig("[storage]\nenabled = false\nhot_tier_size = \"64MB\"\n", "t");
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off.value().storage.enabled);
  auto none = ParseConfig("[server]\nport = 1\n", "t");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none.value().storage.enabled);
}

}  // namespace
}  // namespace ferrite
