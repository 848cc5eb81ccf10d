// ferrite: the server binary. Parses the command line and the TOML configuration, sets up
// logging, the data directory and the pidfile, builds the Engine and runs the loop.

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "base/clock.h"
#include "base/memory.h"
#include "commands/engine.h"
#include "config/config.h"
#include "io/file_system.h"
#include "metrics/exporter.h"      // #8
#include "metrics/http_server.h"  // #8
#include "net/server.h"
#include "persistence/manager.h"

namespace ferrite {
namespace {

constexpr const char* kVersion = "0.1.0";

spdlog::level::level_enum LogLevel(const std::string& s) {
  if (s == "debug") return spdlog::level::debug;
  if (s == "verbose") return spdlog::level::info;
  if (s == "warning") return spdlog::level::warn;
  return spdlog::level::info;  // notice
}

Status SetupLogging(const Config& c) {
  std::shared_ptr<spdlog::logger> logger;
  try {
    if (c.server.logfile.empty()) {
      logger = spdlog::stdout_color_mt("ferrite");
    } else {
      logger = spdlog::basic_logger_mt("ferrite", c.server.logfile);
    }
  } catch (const spdlog::spdlog_ex& e) {
    return Status::IOError("cannot open logfile '" + c.server.logfile + "': " + e.what());
  }
  logger->set_pattern("%P:M %d %b %Y %H:%M:%S.%e %^%L%$ %v");
  logger->set_level(LogLevel(c.server.loglevel));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return Status::Ok();
}

// Features whose configuration is accepted before their implementation lands say so at
// start-up, so nobody believes data is being persisted when it is not.
void WarnUnimplemented(const Config& c) {
  if (c.persistence.checkpoint_compression != "none") {
    spdlog::info("persistence.checkpoint_compression = \"{}\" is accepted; this build writes "
                 "uncompressed checkpoint blocks", c.persistence.checkpoint_compression);
  }
  if (!c.persistence.aof_enabled && !c.persistence.checkpoint_enabled) {
    spdlog::warn("persistence is off (no AOF, no checkpoints): data lives in memory only");
  }
  if (!c.storage.cold_tier_path.empty() || c.storage.archive.enabled) {
    spdlog::warn("tiered storage is configured but not implemented in this build yet");
  }
}

}  // namespace
}  // namespace ferrite

int main(int argc, char** argv) {
  using namespace ferrite;
  CLI::App app{"Ferrite: a Redis-compatible key-value server with fork-less persistence"};
  std::string config_path;
  std::optional<int> port;
  std::optional<std::string> bind, dir;
  bool version = false;
  app.add_option("-c,--config", config_path, "TOML configuration file (default: built-in defaults)");
  app.add_option("-p,--port", port, "TCP port (overrides [server] port)");
  app.add_option("-b,--bind", bind, "bind address(es), space separated (overrides [server] bind)");
  app.add_option("-d,--dir", dir, "data directory (overrides [server] dir)");
  app.add_flag("-v,--version", version, "print the version and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (version) {
    printf("ferrite %s (redis-compatible 7.0)\n", kVersion);
    return 0;
  }

  Config config = DefaultConfig();
  if (!config_path.empty()) {
    Result<Config> r = LoadConfigFile(config_path);
    if (!r.ok()) {
      fprintf(stderr, "ferrite: %s\n", r.status().message().c_str());
      return 1;
    }
    config = std::move(r.value());
  }
  if (port) config.server.port = *port;
  if (bind) config.server.bind = *bind;
  if (dir) config.server.dir = *dir;
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
    if (!pf) spdlog::warn("Failed to write PID file {}: {}", config.server.pidfile, strerror(errno));
    else pf << getpid() << "\n";
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

  PersistenceManager persistence(engine.get(), FileSystem::Default(), Clock::Real());
  // Loading runs in the background once the port is open: INFO and PING answer, other
  // commands get -LOADING until the data is in (a load failure exits with status 1).
  if (Status st = persistence.StartLoading(); !st.ok()) {
    spdlog::critical("{}", st.message());
    return 1;
  }

  NetServer server(engine.get());
  server.before_sleep_hooks.push_back([&persistence] { return persistence.BeforeSleep(); });
  server.shutdown_hooks.push_back([&persistence] { persistence.Shutdown(); });
  server.busy_probes.push_back([&persistence] { return persistence.Busy(); });
  if (Status st = server.Listen(config.server.bind, int(config.server.port)); !st.ok()) {
    spdlog::critical("{}", st.message());
    return 1;
  }
  // ---- #8: the Prometheus endpoint. The loop renders a snapshot about once per second in
  // its before-sleep step; the HTTP thread only serves the last one.
  metrics::Snapshot metrics_snapshot;
  metrics::Publisher metrics_publisher(engine.get(), &metrics_snapshot);
  metrics::HttpServer metrics_http(&metrics_snapshot);
  if (config.metrics.enabled) {
    metrics_publisher.PublishNow();
    if (Status st = metrics_http.Start(config.metrics.bind, int(config.metrics.port)); !st.ok()) {
      spdlog::critical("{}", st.message());
      return 1;
    }
    server.before_sleep_hooks.push_back([&metrics_publisher] {
      metrics_publisher.MaybePublish();
      return true;
    });
    spdlog::info("Metrics endpoint on http://{}:{}/metrics", config.metrics.bind, metrics_http.port());
  }
  // ---- end #8
  spdlog::info("Ready to accept connections tcp on {}:{}", config.server.bind, server.port());
  int rc = server.Run();
  if (rc == 0) rc = engine->exit_code;
  metrics_http.Stop();  // #8
  spdlog::info("Ferrite is now ready to exit, bye bye...");
  if (!config.server.pidfile.empty()) unlink(config.server.pidfile.c_str());
  return rc;
}
