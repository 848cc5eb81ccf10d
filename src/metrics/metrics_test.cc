// Observability, in process: the SLOWLOG and LATENCY records the engine keeps, the
// Prometheus rendering, and the HTTP endpoint serving a published snapshot.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "commands/info.h"
#include "commands/test_util.h"
#include "io/file_system.h"
#include "metrics/exporter.h"
#include "metrics/http_server.h"
#include "persistence/manager.h"
#include "tier/tier_manager.h"

namespace ferrite {
namespace {

Config SlowlogAll() {
  Config c = DefaultConfig();
  c.server.slowlog_log_slower_than = 0;
  return c;
}

// ---------------------------------------------------------------- SLOWLOG

TEST(Slowlog, RecordsEveryCommandAtThresholdZeroNewestFirst) {
  EngineHarness h(SlowlogAll());
  h.session().name = "me";
  h.session().conn.addr = "10.0.0.1:5000";
  h.Run({"set", "k", "v"});
  h.Run({"get", "k"});
  auto& log = h.engine().slowlog();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].argv, (std::vector<std::string>{"get", "k"}));
  EXPECT_EQ(log[1].argv, (std::vector<std::string>{"set", "k", "v"}));
  EXPECT_EQ(log[0].id, 1);
  EXPECT_EQ(log[1].id, 0);
  EXPECT_EQ(log[0].time, h.clock().NowMs() / 1000);
  EXPECT_EQ(log[0].addr, "10.0.0.1:5000");
  EXPECT_EQ(log[0].name, "me");
}

TEST(Slowlog, CutsLongArgumentsAndLongCommandsAsRedis) {
  EngineHarness h(SlowlogAll());
  h.Run({"set", "k", std::string(129, 'x')});
  EXPECT_EQ(h.engine().slowlog()[0].argv[2], std::string(128, 'x') + "... (1 more bytes)");
  std::vector<std::string> del{"del"};
  for (int i = 0; i < 40; i++) del.push_back("k" + std::to_string(i));
  h.Run(del);
  const auto& argv = h.engine().slowlog()[0].argv;
  ASSERT_EQ(argv.size(), 32u);
  EXPECT_EQ(argv[30], "k29");
  EXPECT_EQ(argv[31], "... (10 more arguments)");
}

TEST(Slowlog, ThresholdMaxLenDisableAndExec) {
  Config c = SlowlogAll();
  c.server.slowlog_max_len = 2;
  EngineHarness h(c);
  for (int i = 0; i < 5; i++) h.Run({"set", "k" + std::to_string(i), "v"});
  EXPECT_EQ(h.engine().slowlog().size(), 2u);
  EXPECT_EQ(h.engine().slowlog()[0].argv[1], "k4");
  h.engine().config().server.slowlog_max_len = 10;
  h.Run({"slowlog", "reset"});
  h.Run({"multi"});
  h.Run({"set", "a", "1"});
  h.Run({"exec"});
  std::vector<std::string> names;
  for (auto& e : h.engine().slowlog()) names.push_back(e.argv[0]);
  EXPECT_EQ(names, (std::vector<std::string>{"set", "multi", "slowlog"}));  // no exec
  h.engine().config().server.slowlog_log_slower_than = -1;
  h.Run({"set", "b", "1"});
  EXPECT_EQ(h.engine().slowlog().size(), 3u);
  h.engine().config().server.slowlog_log_slower_than = 1;  // 1 us; the manual clock stands still
  h.Run({"set", "b", "1"});
  EXPECT_EQ(h.engine().slowlog().size(), 3u);
}

TEST(Slowlog, NotForCommandsReplayedFromTheAof) {
  EngineHarness h(SlowlogAll());
  h.session().replaying = true;
  h.Run({"set", "k", "v"});
  EXPECT_TRUE(h.engine().slowlog().empty());
  h.session().replaying = false;
  h.Run({"set", "k", "v"});
  EXPECT_EQ(h.engine().slowlog().size(), 1u);
}

TEST(Slowlog, Replies) {
  EngineHarness h(SlowlogAll());
  h.session().conn.addr = "1.2.3.4:5";
  h.Run({"slowlog", "reset"});
  EXPECT_EQ(h.Run({"slowlog", "len"}), ":1\r\n");
  std::string t = std::to_string(h.clock().NowMs() / 1000);
  EXPECT_EQ(h.Run({"slowlog", "get", "1"}),
            "*1\r\n*6\r\n:1\r\n:" + t +
                "\r\n:0\r\n*2\r\n$7\r\nslowlog\r\n$3\r\nlen\r\n$9\r\n1.2.3.4:5\r\n$0\r\n\r\n");
  EXPECT_EQ(h.Run({"slowlog", "get", "0"}), "*0\r\n");
  EXPECT_EQ(h.Run({"slowlog", "get", "-2"}),
            "-ERR count should be greater than or equal to -1\r\n");
  EXPECT_EQ(h.Run({"slowlog", "len", "x"}),
            "-ERR wrong number of arguments for 'slowlog|len' command\r\n");
  EXPECT_EQ(h.Run({"slowlog", "nope"}), "-ERR unknown subcommand 'nope'. Try SLOWLOG HELP.\r\n");
}

// ---------------------------------------------------------------- LATENCY

TEST(Latency, ThresholdSamplesPerSecondAndRing) {
  EngineHarness h;
  Engine& e = h.engine();
  e.RecordLatency("aof-fsync-always", 500);  // monitor off (threshold 0)
  EXPECT_TRUE(e.latency_events().empty());
  e.config().server.latency_monitor_threshold = 10;
  e.RecordLatency("aof-fsync-always", 9);
  EXPECT_TRUE(e.latency_events().empty());
  e.RecordLatency("aof-fsync-always", 10);
  e.RecordLatency("aof-fsync-always", 30);  // same second: keeps the worse
  e.RecordLatency("aof-fsync-always", 20);
  auto& ts = e.latency_events().at("aof-fsync-always");
  EXPECT_EQ(ts.idx, 1);
  EXPECT_EQ(ts.samples[0].latency, 30);
  EXPECT_EQ(ts.max, 30);
  for (int i = 0; i < 200; i++) {
    h.clock().AdvanceMs(1000);
    e.RecordLatency("aof-fsync-always", 11);
  }
  EXPECT_EQ(ts.max, 30);
  std::string history = h.Run({"latency", "history", "aof-fsync-always"});
  EXPECT_EQ(history.substr(0, 6), "*160\r\n");
  std::string now = std::to_string(h.clock().NowMs() / 1000);
  EXPECT_EQ(h.Run({"latency", "latest"}),
            "*1\r\n*4\r\n$16\r\naof-fsync-always\r\n:" + now + "\r\n:11\r\n:30\r\n");
  EXPECT_EQ(h.Run({"latency", "reset", "AOF-FSYNC-ALWAYS", "other"}), ":1\r\n");
  EXPECT_EQ(h.Run({"latency", "latest"}), "*0\r\n");
}

// ---------------------------------------------------------------- rendering

// Parses exposition text: family -> type, and "name{labels}" -> value.
struct Parsed {
  std::map<std::string, std::string> types;
  std::map<std::string, double> samples;
};
Parsed Parse(const std::string& text) {
  Parsed p;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream f(line.substr(7));
      std::string name, type;
      f >> name >> type;
      EXPECT_FALSE(p.types.count(name)) << "family twice: " << name;
      p.types[name] = type;
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.rfind(' ');
    p.samples[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return p;
}

TEST(Exporter, RendersFamiliesAndValuesMove) {
  EngineHarness h;
  Parsed before = Parse(metrics::Render(h.engine()));
  h.Run({"set", "k", "v"});
  h.Run({"set", "t", "v", "EX", "100"});
  // (Deltas: Ferrite counts a SET of a new key as a keyspace miss, Redis does not.)
  Parsed mid = Parse(metrics::Render(h.engine()));
  h.Run({"get", "k"});
  h.Run({"get", "nope"});
  h.Run({"nosuchcommand"});
  Parsed p = Parse(metrics::Render(h.engine()));
  EXPECT_EQ(before.samples.count("ferrite_commands_total{cmd=\"set\"}"), 0u);
  EXPECT_EQ(p.samples["ferrite_commands_total{cmd=\"set\"}"], 2);
  EXPECT_EQ(p.samples["ferrite_commands_total{cmd=\"get\"}"], 2);
  EXPECT_EQ(p.samples["ferrite_db_keys{db=\"db0\"}"], 2);
  EXPECT_EQ(p.samples["ferrite_db_keys_expiring{db=\"db0\"}"], 1);
  EXPECT_EQ(p.samples["ferrite_db_keys{db=\"db15\"}"], 0);
  EXPECT_EQ(p.samples["ferrite_keyspace_hits_total"] - mid.samples["ferrite_keyspace_hits_total"],
            1);
  EXPECT_EQ(
      p.samples["ferrite_keyspace_misses_total"] - mid.samples["ferrite_keyspace_misses_total"], 1);
  EXPECT_EQ(p.samples["ferrite_errors_total{err=\"ERR\"}"], 1);
  EXPECT_EQ(p.samples["ferrite_up"], 1);
  EXPECT_EQ(p.samples["ferrite_aof_enabled"], 0);
  EXPECT_EQ(p.samples["ferrite_rdb_last_save_time"], double(h.engine().start_time_ms() / 1000));
  EXPECT_EQ(p.samples["ferrite_rdb_changes_since_last_save"], 2);
  EXPECT_EQ(p.samples["ferrite_aof_last_write_status"], 1);
  // Every family the brief names is there, and counters end in _total.
  for (const char* name : {"ferrite_up",
                           "ferrite_uptime_in_seconds",
                           "ferrite_connected_clients",
                           "ferrite_blocked_clients",
                           "ferrite_memory_used_bytes",
                           "ferrite_db_keys",
                           "ferrite_db_keys_expiring",
                           "ferrite_expired_keys_total",
                           "ferrite_evicted_keys_total",
                           "ferrite_keyspace_hits_total",
                           "ferrite_keyspace_misses_total",
                           "ferrite_commands_total",
                           "ferrite_commands_duration_seconds_total",
                           "ferrite_commands_processed_total",
                           "ferrite_net_input_bytes_total",
                           "ferrite_net_output_bytes_total",
                           "ferrite_rdb_last_save_time",
                           "ferrite_rdb_last_bgsave_duration_seconds",
                           "ferrite_rdb_changes_since_last_save",
                           "ferrite_rdb_bgsave_in_progress",
                           "ferrite_aof_enabled",
                           "ferrite_aof_current_size_bytes",
                           "ferrite_aof_rewrite_in_progress",
                           "ferrite_aof_last_write_status",
                           "ferrite_loading"}) {
    EXPECT_TRUE(p.types.count(name)) << name;
  }
  for (auto& [name, type] : p.types) {
    EXPECT_EQ(type == "counter", name.ends_with("_total")) << name;
  }
}

// /metrics reads the typed statistics, not INFO's text; every sample that carries an INFO
// field's value names that field. Each such field must still be in INFO (AOF and tiering on,
// so their conditional fields show) and hold the metric's value: renaming or dropping one of
// them in INFO fails here instead of leaving the two silently apart.
TEST(Exporter, EveryInfoFieldTheMetricsExportIsInInfoWithTheSameValue) {
  char tmpl[] = "/tmp/ferrite-metrics-test-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  {
    EngineHarness h(AofTestConfig(dir));
    tier::TierOptions o;
    o.enabled = true;
    o.dir = dir + "/tier";
    o.cold_dir = dir + "/tier/cold";
    o.min_value_size = 16;
    tier::TierManager tiers(o, FileSystem::Default(), &h.clock());
    ASSERT_TRUE(tiers.Open().ok());
    std::vector<Database*> dbs;
    for (int i = 0; i < h.engine().db_count(); i++) dbs.push_back(&h.engine().db(i));
    tiers.Attach(dbs, LimitsFromConfig(h.engine().config()));
    h.engine().set_tier(&tiers);
    PersistenceManager pm(&h.engine(), FileSystem::Default(), &h.clock());
    ASSERT_TRUE(pm.Start().ok());
    h.engine().set_persistence(&pm);
    h.Run({"set", "k", std::string(100, 'v')});
    h.Run({"set", "t", "v", "EX", "100"});
    h.Run({"get", "k"});
    h.Run({"get", "nope"});
    ASSERT_TRUE(pm.BeforeSleep());

    std::vector<metrics::InfoBackedSample> backed = metrics::InfoBackedSamples(h.engine());
    Parsed p = Parse(metrics::Render(h.engine()));
    std::map<std::string, std::string> info =
        metrics::ParseInfo(BuildInfo(h.engine(), {"everything"}));
    EXPECT_GE(backed.size(), 60u);
    // Values that move between two renderings: the heap, RSS and CPU time.
    const std::set<std::string> moving = {"used_memory",  "used_memory_rss", "used_memory_peak",
                                          "used_cpu_sys", "used_cpu_user",   "tier_hot_bytes"};
    std::set<std::string> fields;
    for (const metrics::InfoBackedSample& b : backed) {
      std::string key = b.labels.empty() ? b.metric : b.metric + "{" + b.labels + "}";
      SCOPED_TRACE(key + " <- INFO " + b.info_field);
      fields.insert(b.info_field);
      ASSERT_TRUE(p.samples.count(key));
      auto it = info.find(b.info_field);
      ASSERT_TRUE(it != info.end()) << "INFO no longer has the field";
      if (b.scale == 0 || moving.count(b.info_field)) continue;
      double v = it->second == "ok" ? 1 : it->second == "err" ? 0 : std::stod(it->second);
      EXPECT_DOUBLE_EQ(p.samples[key], v * b.scale);
    }
    // The fields the monitoring spec's alerts and dashboards are built on are among them.
    for (const char* f :
         {"aof_last_write_status", "aof_write_latency_max_us", "aof_fsync_latency_max_us",
          "rdb_last_bgsave_status", "rdb_changes_since_last_save", "tier_warm_bytes",
          "connected_clients", "used_memory", "keyspace_hits"}) {
      EXPECT_TRUE(fields.count(f)) << f;
    }
    h.engine().set_persistence(nullptr);
    h.engine().set_tier(nullptr);
    tiers.StopWorkers();
  }
  std::filesystem::remove_all(dir);
}

TEST(Exporter, ParseInfo) {
  auto m = metrics::ParseInfo(
      "# Persistence\r\nloading:0\r\nrdb_last_bgsave_status:ok\r\n\r\n# Stats\r\nx:a:b\r\n");
  EXPECT_EQ(m.size(), 3u);
  EXPECT_EQ(m["loading"], "0");
  EXPECT_EQ(m["x"], "a:b");
}

// ---------------------------------------------------------------- HTTP

std::string HttpRequest(int port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  EXPECT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL), ssize_t(request.size()));
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) out.append(buf, size_t(n));
  close(fd);
  return out;
}

TEST(HttpServer, ServesTheSnapshotAt404ElsewhereAnd405ForPost) {
  metrics::Snapshot snap;
  snap.Publish("ferrite_up 1\n");
  metrics::HttpServer http(&snap);
  ASSERT_TRUE(http.Start("127.0.0.1", 0).ok());
  ASSERT_GT(http.port(), 0);
  std::string r = HttpRequest(http.port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            "Content-Length: 13\r\nConnection: close\r\n\r\nferrite_up 1\n");
  snap.Publish("ferrite_up 1\nx 2\n");
  r = HttpRequest(http.port(), "GET /metrics?x=1 HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(r.ends_with("\r\n\r\nferrite_up 1\nx 2\n")) << r;
  r = HttpRequest(http.port(), "HEAD /metrics HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(r.starts_with("HTTP/1.1 200 OK\r\n")) << r;
  EXPECT_TRUE(r.ends_with("Content-Length: 17\r\nConnection: close\r\n\r\n")) << r;
  EXPECT_TRUE(
      HttpRequest(http.port(), "GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404 Not Found\r\n"));
  EXPECT_TRUE(
      HttpRequest(http.port(), "GET /metricsx HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404 "));
  EXPECT_TRUE(HttpRequest(http.port(), "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
                  .starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
  EXPECT_TRUE(HttpRequest(http.port(), "nonsense\r\n\r\n").starts_with("HTTP/1.1 400 "));
  EXPECT_EQ(http.requests_served(), 6u);
  http.Stop();
  http.Stop();  // idempotent
}

TEST(HttpServer, BadBindAddressAndBusyPort) {
  metrics::Snapshot snap;
  metrics::HttpServer a(&snap);
  EXPECT_FALSE(a.Start("not-an-address", 0).ok());
  metrics::HttpServer b(&snap);
  ASSERT_TRUE(b.Start("127.0.0.1", 0).ok());
  metrics::HttpServer c(&snap);
  Status st = c.Start("127.0.0.1", b.port());
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("could not listen"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace ferrite
