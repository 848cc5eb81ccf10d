// CONFIG and its subcommands: GET, SET, RESETSTAT, REWRITE, HELP. The parameters and their
// validation are config/registry.h and config/redis_config.h.

#include <spdlog/spdlog.h>

#include <filesystem>

#include "base/strutil.h"
#include "commands/command_table.h"
#include "commands/family_util.h"
#include "config/rewrite.h"
#include "io/file_system.h"

namespace ferrite {
namespace {

// CONFIG REWRITE: the running configuration into the --config file, as an edit of it
// (config/rewrite.h). The file's relative `dir` is compared the way main() resolved it, so
// it stays relative unless it changed.
void Rewrite(CommandContext& ctx) {
  const std::string& path = ctx.engine.config_file;
  if (path.empty()) return ctx.rb.Error("ERR The server is running without a config file");
  RewriteOptions opts;
  opts.normalize = [](Config& c) {
    std::error_code ec;
    std::string abs = std::filesystem::absolute(c.server.dir, ec).lexically_normal().string();
    if (ec) return;
    if (abs.size() > 1 && abs.back() == '/') abs.pop_back();
    c.server.dir = abs;
  };
  Status st = RewriteConfigFile(FileSystem::Default(), path, ctx.engine.config(), opts);
  if (!st.ok()) {
    spdlog::warn("CONFIG REWRITE failed: {}", st.message());
    return ctx.rb.Error("ERR Rewriting config file: " + st.message());
  }
  spdlog::info("CONFIG REWRITE executed with success.");
  ctx.rb.Ok();
}

// enable-protected-configs: "yes" for every client, "local" for loopback and unix sockets.
bool ProtectedAllowed(CommandContext& ctx) {
  auto& stored = ctx.engine.config().redis_stored;
  auto it = stored.find("enable-protected-configs");
  std::string mode = it == stored.end() ? "no" : it->second;
  if (mode == "yes") return true;
  return mode == "local" && (ctx.session.conn.is_local() || ctx.session.conn.fd < 0);
}

void Get(CommandContext& ctx) {
  std::vector<std::string_view> patterns(ctx.args.begin() + 2, ctx.args.end());
  auto all = ctx.engine.registry().GetMany(patterns);
  ctx.rb.MapHeader(all.size());
  for (auto& [k, v] : all) {
    ctx.rb.Bulk(k);
    ctx.rb.Bulk(v);
  }
}

void Set(CommandContext& ctx) {
  auto& a = ctx.args;
  if (a.size() % 2 != 0) return ctx.rb.Error(err::kSyntax);
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  for (size_t i = 2; i + 1 < a.size(); i += 2) pairs.emplace_back(a[i], a[i + 1]);
  ConfigSetContext sc;
  sc.loading = ctx.engine.loading();
  sc.protected_ok = ProtectedAllowed(ctx);
  Status st = ctx.engine.registry().Set(pairs, sc);
  if (st.code() == Status::Code::kBusy) return ctx.rb.Error(err::kLoading);
  if (!st.ok()) return ctx.rb.Error("ERR " + st.message());
  ctx.engine.ApplyConfig();
  ctx.rb.Ok();
}

// Redis's resetServerStats, resetCommandTableStats and resetErrorTableStats: the counters
// INFO stats, commandstats and errorstats show; not the slowlog or latency history.
void ResetStat(CommandContext& ctx) {
  Engine& e = ctx.engine;
  ServerStats& st = e.stats();
  std::map<std::string, uint64_t>().swap(st.error_counts);
  st.total_commands = st.total_connections = st.rejected_connections = 0;
  st.net_input_bytes = st.net_output_bytes = 0;
  st.total_error_replies = st.unexpected_error_replies = 0;
  st.client_qbuf_limit_disconnections = st.client_outbuf_limit_disconnections = 0;
  st.reads_processed = st.writes_processed = 0;
  e.command_stats().clear();
  auto& ks = e.ks_stats();
  ks.hits = ks.misses = ks.expired_keys = ks.evicted_keys = 0;
  ks.expire_cycle_cpu_us = 0;
  e.lazyfree().ResetStats();
  ctx.rb.Ok();
}

const char* const kHelp[] = {
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Prints this help.",
};

void ConfigCmd(CommandContext& ctx) {
  auto& a = ctx.args;
  std::string_view sub = a[1];
  if (ArgIs(sub, "GET") && a.size() >= 3) return Get(ctx);
  if (ArgIs(sub, "SET") && a.size() >= 4) return Set(ctx);
  if (ArgIs(sub, "RESETSTAT") && a.size() == 2) return ResetStat(ctx);
  if (ArgIs(sub, "REWRITE") && a.size() == 2) return Rewrite(ctx);
  if (ArgIs(sub, "HELP") && a.size() == 2) {
    ctx.rb.ArrayHeader(std::size(kHelp));
    for (const char* l : kHelp) ctx.rb.SimpleString(l);
    return;
  }
  ctx.rb.Error(err::UnknownSubcommand(sub, "CONFIG"));
}

}  // namespace

void RegisterConfigFamily(CommandTable& t) {
  using namespace cmd;
  t.Add({
      .name = "config",
      .arity = -2,
      .flags = kAdmin | kNoScript | kLoading | kStale,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = ConfigCmd,
      .group = "server",
      .summary = "A container for server configuration commands.",
      .since = "2.0.0",
      .acl_categories = "@admin @slow @dangerous",
  });
}

}  // namespace ferrite
