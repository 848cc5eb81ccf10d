// ferrite: the server binary. Parses the command line and the TOML configuration, sets up
// logging, the data directory and the pidfile, builds the Engine and runs the loop.

#include <pthread.h>
#include <signal.h>
#include <spdlog/details/file_helper.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "base/clock.h"
#include "base/memory.h"
#include "commands/engine.h"
#include "config/cli.h"
#include "config/config.h"
#include "io/file_system.h"
#include "metrics/exporter.h"
#include "metrics/http_server.h"
#include "net/server.h"
#include "net/tls.h"
#include "persistence/manager.h"
#include "replication/replication.h"
#include "scripting/script_engine.h"
#include "server/wiring.h"

namespace ferrite {
namespace {

constexpr const char* kVersion = "0.1.0";

spdlog::level::level_enum SpdlogLevel(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kVerbose:
    case LogLevel::kNotice:
      return spdlog::level::info;
    case LogLevel::kWarning:
      return spdlog::level::warn;
  }
  return spdlog::level::info;
}

// The log file sink: appends to `logfile`, and Reopen() opens the path again, so
// logrotate's "move the file, send SIGHUP" works: lines after the signal go to a new file
// at the configured path. The new file is opened before the old one is let go, so a
// failed reopen keeps logging where it was. Any thread may log; the sink's mutex orders
// writes against the swap.
class ReopenableFileSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit ReopenableFileSink(std::string path) : path_(std::move(path)) {
    file_ = std::make_unique<spdlog::details::file_helper>();
    file_->open(path_, false);  // throws spdlog_ex
  }
  const std::string& path() const { return path_; }
  Status Reopen() {
    auto fresh = std::make_unique<spdlog::details::file_helper>();
    try {
      fresh->open(path_, false);
    } catch (const spdlog::spdlog_ex& e) {
      return Status::IOError(e.what());
    }
    std::lock_guard<std::mutex> lock(mutex_);
    file_->flush();
    file_ = std::move(fresh);  // the old file is closed here
    return Status::Ok();
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    formatter_->format(msg, buf);
    file_->write(buf);
  }
  void flush_() override { file_->flush(); }

 private:
  std::string path_;
  std::unique_ptr<spdlog::details::file_helper> file_;
};

std::shared_ptr<ReopenableFileSink> g_log_file;  // null when logging to stdout

Status SetupLogging(const Config& c) {
  std::shared_ptr<spdlog::logger> logger;
  try {
    if (c.server.logfile.empty()) {
      logger = spdlog::stdout_color_mt("ferrite");
    } else {
      g_log_file = std::make_shared<ReopenableFileSink>(c.server.logfile);
      logger = std::make_shared<spdlog::logger>("ferrite", g_log_file);
    }
  } catch (const spdlog::spdlog_ex& e) {
    return Status::IOError("cannot open logfile '" + c.server.logfile + "': " + e.what());
  }
  logger->set_pattern("%P:M %d %b %Y %H:%M:%S.%e %^%L%$ %v");
  logger->set_level(SpdlogLevel(c.server.loglevel));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return Status::Ok();
}

// Features whose configuration is accepted before their implementation lands say so at
// start-up, so nobody believes data is being persisted when it is not.
void WarnUnimplemented(const Config& c) {
  if (!c.persistence.aof_enabled && !c.persistence.checkpoint_enabled) {
    spdlog::warn("persistence is off (no AOF, no checkpoints): data lives in memory only");
  }
  if (!c.storage.enabled && (!c.storage.cold_tier_path.empty() || c.storage.archive.enabled)) {
    spdlog::warn(
        "[storage] tier settings are given but storage.enabled = false: values stay in RAM");
  }
}

}  // namespace
}  // namespace ferrite

int main(int argc, char** argv) {
  using namespace ferrite;
  // SIGTERM, SIGINT and SIGHUP are blocked before any thread starts, so every thread
  // inherits the mask and the signals reach only the loop's signalfd (NetServer). A thread
  // started with them unblocked (a tier worker, the loader) would take SIGTERM by its
  // default action, death without the shutdown save, and SIGHUP likewise.
  {
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  }
  Result<CommandLine> parsed = ParseCommandLine(argc, argv);
  if (!parsed.ok()) {
    fprintf(stderr, "ferrite: %s\n", parsed.status().message().c_str());
    return 1;
  }
  const CommandLine& cl = parsed.value();
  if (cl.help) {
    printf("%s", CommandLineUsage().c_str());
    return 0;
  }
  if (cl.version) {
    printf("ferrite %s (redis-compatible 7.0)\n", kVersion);
    return 0;
  }
  const std::string& config_path = cl.config_path;

  Config config = DefaultConfig();
  if (!config_path.empty()) {
    Result<Config> r = LoadConfigFile(config_path);
    if (!r.ok()) {
      fprintf(stderr, "ferrite: %s\n", r.status().message().c_str());
      return 1;
    }
    config = std::move(r.value());
  }
  if (Status st = ApplyCommandLine(cl, config); !st.ok()) {
    fprintf(stderr, "ferrite: %s\n", st.message().c_str());
    return 1;
  }
  if (Status st = ValidateConfig(config); !st.ok()) {
    fprintf(stderr, "ferrite: %s\n", st.message().c_str());
    return 1;
  }

  std::error_code ec;
  std::filesystem::create_directories(config.server.dir, ec);
  if (ec) {
    fprintf(stderr, "ferrite: cannot create data directory '%s': %s\n", config.server.dir.c_str(),
            ec.message().c_str());
    return 1;
  }
  std::string abs_dir = std::filesystem::absolute(config.server.dir).lexically_normal().string();
  if (abs_dir.size() > 1 && abs_dir.back() == '/') abs_dir.pop_back();
  config.server.dir = abs_dir;

  if (Status st = SetupLogging(config); !st.ok()) {
    fprintf(stderr, "ferrite: %s\n", st.message().c_str());
    return 1;
  }
  if (!config.server.pidfile.empty()) {
    std::ofstream pf(config.server.pidfile);
    if (!pf)
      spdlog::warn("Failed to write PID file {}: {}", config.server.pidfile, strerror(errno));
    else
      pf << getpid() << "\n";
  }

  auto engine = std::make_unique<Engine>(config, Clock::Real());
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n > 0) engine->executable_path.assign(exe, size_t(n));
  if (!config_path.empty()) {
    engine->config_file = std::filesystem::absolute(config_path).string();
  }
  spdlog::info("Ferrite {} starting, pid={}, data dir {}", kVersion, getpid(), abs_dir);
  WarnUnimplemented(config);
  // Lua scripting and functions: registered before loading (the AOF may hold FUNCTION
  // LOADs, the checkpoint function libraries).
  auto scripting = scripting::ScriptingEngine::Install(*engine);

  // Tiered storage. The segments on disk are opened before loading: checkpoints
  // reference them. Declared before the persistence manager, so it outlives it.
  tier::TierManager tiers(TierOptionsFromConfig(config), FileSystem::Default(), Clock::Real());
  if (Status st = tiers.Open(); !st.ok()) {
    spdlog::critical("Tiered storage: {}", st.message());
    return 1;
  }
  {
    std::vector<Database*> dbs;
    for (int i = 0; i < engine->db_count(); i++) dbs.push_back(&engine->db(i));
    tiers.Attach(std::move(dbs), LimitsFromConfig(config));
  }
  engine->set_tier(&tiers);
  if (config.storage.enabled) {
    spdlog::info(
        "Tiered storage on: hot {} MB in RAM, warm {} MB in {}, cold in {} ({}){}",
        config.storage.hot_tier_size >> 20, config.storage.warm_tier_size >> 20,
        tiers.options().dir, tiers.options().cold_dir,
        ConfigName(config.storage.cold_tier_compression),
        config.storage.archive.enabled ? ", archive in s3://" + config.storage.archive.bucket : "");
  }

  PersistenceManager persistence(engine.get(), FileSystem::Default(), Clock::Real());
  memory::MarkStartup();  // used_memory_startup / startup.allocated, before any data
  // Loading runs in the background once the port is open: INFO and PING answer, other
  // commands get -LOADING until the data is in (a load failure exits with status 1).
  if (Status st = persistence.StartLoading(); !st.ok()) {
    spdlog::critical("{}", st.message());
    return 1;
  }

  // ---- replication (src/replication): REPLICAOF, PSYNC, WAIT …; fed with the engine's
  // write stream beside the AOF.
  repl::ReplicationManager replication(engine.get());
  repl::ReplicationManager::Register(*engine);
  replication.persistence_busy = [&persistence] { return persistence.Busy(); };
  replication.next_epoch = [&persistence] { return persistence.NextSnapshotEpoch(); };
  persistence.external_freeze = [&replication] { return replication.FreezeActive(); };
  persistence.repl_position = [&replication](ckpt::Header* h) { replication.FillPosition(h); };
  persistence.repl_position_loaded = [&replication](const ckpt::Header& h) {
    replication.RestorePosition(h);
  };
  // ---- end replication

  // ACL users (acl.users, acl.aclfile), once every command is registered: rules name them.
  if (Status st = engine->LoadAclAtStartup(); !st.ok()) {
    spdlog::critical("{}", st.message());
    return 1;
  }

  NetServer server(engine.get());
  tiers.SetPost([&server](std::function<void()> fn) { server.Post(std::move(fn)); });
  server.before_sleep_hooks.push_back([&persistence] { return persistence.BeforeSleep(); });
  server.shutdown_hooks.push_back([&persistence] { persistence.Shutdown(); });
  // ---- replication
  replication.watch_fd = [&server](int fd, uint32_t ev, std::function<void(uint32_t)> cb) {
    server.WatchFd(fd, ev, std::move(cb));
  };
  replication.unwatch_fd = [&server](int fd) { server.UnwatchFd(fd); };
  replication.adopt = [&server](int fd, const std::string& addr, std::string_view input,
                                const std::function<void(Session&)>& init) {
    return server.AdoptConnection(fd, addr, input, init);
  };
  server.before_sleep_hooks.push_back([&replication] { return replication.BeforeSleep(); });
  server.busy_probes.push_back([&replication] { return replication.Busy(); });
  server.shutdown_hooks.push_back([&replication] { replication.Shutdown(); });
  // ---- end replication
  server.busy_probes.push_back([&persistence] { return persistence.Busy(); });
  server.busy_flush_hooks.push_back([&persistence] { return persistence.FlushForBusyScript(); });
  server.group_commit_window = [&persistence] { return persistence.GroupCommitWindowUs(); };
  // SIGHUP reopens the log file (logrotate: mv, then kill -HUP / systemctl reload).
  server.sighup_hooks.push_back([] {
    if (!g_log_file) {
      spdlog::info("Received SIGHUP: logging to standard output, nothing to reopen");
      return;
    }
    if (Status st = g_log_file->Reopen(); !st.ok()) {
      spdlog::warn("Received SIGHUP, cannot reopen the log file {}: {}", g_log_file->path(),
                   st.message());
      return;
    }
    spdlog::info("Received SIGHUP, log file {} reopened", g_log_file->path());
  });
  // `port 0` with a tls-port: TLS only, as Redis. (Without a tls-port, 0 is an ephemeral
  // port, for tests.)
  if (config.server.port != 0 || config.tls.port == 0) {
    if (Status st = server.Listen(config.server.bind, int(config.server.port)); !st.ok()) {
      spdlog::critical("{}", st.message());
      return 1;
    }
  }
  if (config.tls.port != 0) {
    if (Status st = server.ListenTls(config.server.bind, int(config.tls.port)); !st.ok()) {
      spdlog::critical("Failed to configure TLS: {}", st.message());
      return 1;
    }
    spdlog::info("Ready to accept connections tls on {}:{}", config.server.bind, server.tls_port());
  }
  // The Prometheus endpoint. The loop renders a snapshot about once per second in
  // its before-sleep step; the HTTP thread only serves the last one.
  metrics::Snapshot metrics_snapshot;
  metrics::Publisher metrics_publisher(engine.get(), &metrics_snapshot);
  metrics::HttpServer metrics_http(&metrics_snapshot);
  if (config.metrics.enabled) {
    metrics_publisher.PublishNow();
    std::shared_ptr<TlsContext> metrics_tls;
    if (config.metrics.tls) {
      auto ctx = TlsContext::Create(config.tls);
      if (!ctx.ok()) {
        spdlog::critical("[metrics] tls: {}", ctx.status().message());
        return 1;
      }
      metrics_tls = std::move(ctx).value();
    }
    if (Status st = metrics_http.Start(config.metrics.bind, int(config.metrics.port), metrics_tls,
                                       config.tls.auth_clients);
        !st.ok()) {
      spdlog::critical("{}", st.message());
      return 1;
    }
    server.before_sleep_hooks.push_back([&metrics_publisher] {
      metrics_publisher.MaybePublish();
      return true;
    });
    spdlog::info("Metrics endpoint on {}://{}:{}/metrics", config.metrics.tls ? "https" : "http",
                 config.metrics.bind, metrics_http.port());
  }
  if (config.server.port != 0 || config.tls.port == 0)
    spdlog::info("Ready to accept connections tcp on {}:{}", config.server.bind, server.port());
  replication.Start();  // `replicaof` in the configuration
  int rc = server.Run();
  persistence.external_freeze = nullptr;  // replication
  persistence.repl_position = nullptr;
  persistence.repl_position_loaded = nullptr;
  tiers.StopWorkers();  // no tier job posts to the loop after this
  if (rc == 0) rc = engine->exit_code;
  metrics_http.Stop();
  spdlog::info("Ferrite is now ready to exit, bye bye...");
  if (!config.server.pidfile.empty()) unlink(config.server.pidfile.c_str());
  return rc;
}
