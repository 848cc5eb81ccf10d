#include "commands/info.h"

#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <fstream>

#include <fmt/format.h>

#include "base/strutil.h"
#include "commands/engine.h"

namespace ferrite {
namespace {

std::vector<InfoProvider>& Providers() {
  static std::vector<InfoProvider> p;
  return p;
}

std::string Human(uint64_t n) {
  const char* units[] = {"B", "K", "M", "G", "T", "P"};
  double d = double(n);
  int u = 0;
  while (d >= 1024 && u < 5) {
    d /= 1024;
    u++;
  }
  if (u == 0) return fmt::format("{}B", n);
  return fmt::format("{:.2f}{}", d, units[u]);
}

size_t RssBytes() {
  std::ifstream f("/proc/self/statm");
  size_t size = 0, rss = 0;
  f >> size >> rss;
  return rss * size_t(sysconf(_SC_PAGESIZE));
}

uint64_t TotalSystemMemory() {
  return uint64_t(sysconf(_SC_PHYS_PAGES)) * uint64_t(sysconf(_SC_PAGESIZE));
}

double TvSecs(const timeval& tv) { return double(tv.tv_sec) + double(tv.tv_usec) / 1e6; }

template <typename T>
void Line(std::string& o, std::string_view k, const T& v) {
  o.append(k);
  o.push_back(':');
  o.append(fmt::format("{}", v));
  o.append("\r\n");
}

std::string ServerSection(Engine& e) {
  std::string o = "# Server\r\n";
  utsname u;
  uname(&u);
  int64_t now_us = e.clock()->NowUs();
  int64_t up = (now_us / 1000 - e.start_time_ms()) / 1000;
  Line(o, "redis_version", "7.0.15");
  Line(o, "ferrite_version", "0.1.0");
  Line(o, "redis_git_sha1", "00000000");
  Line(o, "redis_git_dirty", 0);
  Line(o, "redis_build_id", "ferrite");
  Line(o, "redis_mode", "standalone");
  Line(o, "os", fmt::format("{} {} {}", u.sysname, u.release, u.machine));
  Line(o, "arch_bits", 64);
  Line(o, "monotonic_clock", "POSIX clock_gettime");
  Line(o, "multiplexing_api", "epoll");
  Line(o, "atomicvar_api", "c11-builtin");
  Line(o, "gcc_version", fmt::format("{}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__));
  Line(o, "process_id", getpid());
  Line(o, "process_supervised", "no");
  Line(o, "run_id", e.run_id());
  Line(o, "tcp_port", e.tcp_port);
  Line(o, "server_time_usec", now_us);
  Line(o, "uptime_in_seconds", up);
  Line(o, "uptime_in_days", up / 86400);
  Line(o, "hz", e.config().server.hz);
  Line(o, "configured_hz", e.config().server.hz);
  Line(o, "lru_clock", (now_us / 1000000) & ((1 << 24) - 1));
  Line(o, "executable", e.executable_path);
  Line(o, "config_file", e.config_file);
  Line(o, "io_threads_active", 0);
  return o;
}

std::string ClientsSection(Engine& e) {
  std::string o = "# Clients\r\n";
  size_t max_in = 0, max_out = 0;
  for (auto& [id, s] : e.sessions()) {
    max_in = std::max(max_in, s->conn.qbuf);
    max_out = std::max(max_out, s->conn.omem);
  }
  Line(o, "connected_clients", e.sessions().size());
  Line(o, "cluster_connections", 0);
  Line(o, "maxclients", e.config().server.maxclients);
  Line(o, "client_recent_max_input_buffer", max_in);
  Line(o, "client_recent_max_output_buffer", max_out);
  Line(o, "blocked_clients", e.blocked_clients());
  Line(o, "tracking_clients", 0);
  size_t in_timeout = 0;
  for (auto& [id, s] : e.sessions()) in_timeout += s->blocked && s->block_deadline_ms != 0;
  Line(o, "clients_in_timeout_table", in_timeout);
  size_t pubsub = 0;
  for (auto& [id, s] : e.sessions()) pubsub += s->subscriptions() > 0;
  Line(o, "pubsub_clients", pubsub);
  return o;
}

std::string MemorySection(Engine& e) {
  std::string o = "# Memory\r\n";
  size_t used = Engine::UsedMemory();
  size_t peak = std::max(Engine::PeakMemory(), used);
  size_t rss = RssBytes();
  size_t table = 0;
  for (int i = 0; i < e.db_count(); i++) table += e.db(i).MemoryUsage();
  uint64_t sys = TotalSystemMemory();
  int64_t maxmem = e.config().server.maxmemory;
  Line(o, "used_memory", used);
  Line(o, "used_memory_human", Human(used));
  Line(o, "used_memory_rss", rss);
  Line(o, "used_memory_rss_human", Human(rss));
  Line(o, "used_memory_peak", peak);
  Line(o, "used_memory_peak_human", Human(peak));
  Line(o, "used_memory_peak_perc", fmt::format("{:.2f}%", peak ? 100.0 * double(used) / double(peak) : 0));
  Line(o, "used_memory_overhead", table);
  Line(o, "used_memory_dataset", used > table ? used - table : 0);
  Line(o, "used_memory_lua", 0);
  Line(o, "used_memory_scripts", 0);
  Line(o, "number_of_cached_scripts", 0);
  Line(o, "maxmemory", maxmem);
  Line(o, "maxmemory_human", Human(uint64_t(maxmem)));
  Line(o, "maxmemory_policy", e.config().server.maxmemory_policy);
  Line(o, "total_system_memory", sys);
  Line(o, "total_system_memory_human", Human(sys));
  Line(o, "mem_fragmentation_ratio", fmt::format("{:.2f}", used ? double(rss) / double(used) : 0));
  Line(o, "mem_allocator", Engine::UsedMemory() ? "mimalloc" : "libc");
  Line(o, "lazyfree_pending_objects", 0);
  return o;
}

std::string StatsSection(Engine& e) {
  std::string o = "# Stats\r\n";
  auto& st = e.stats();
  auto& ks = e.ks_stats();
  Line(o, "total_connections_received", st.total_connections);
  Line(o, "total_commands_processed", st.total_commands);
  Line(o, "instantaneous_ops_per_sec", st.instantaneous_ops);
  Line(o, "total_net_input_bytes", st.net_input_bytes);
  Line(o, "total_net_output_bytes", st.net_output_bytes);
  Line(o, "rejected_connections", st.rejected_connections);
  Line(o, "sync_full", 0);
  Line(o, "sync_partial_ok", 0);
  Line(o, "sync_partial_err", 0);
  Line(o, "expired_keys", ks.expired_keys);
  Line(o, "expire_cycle_cpu_milliseconds", ks.expire_cycle_cpu_us / 1000);
  Line(o, "evicted_keys", ks.evicted_keys);
  Line(o, "evicted_clients", 0);
  Line(o, "keyspace_hits", ks.hits);
  Line(o, "keyspace_misses", ks.misses);
  Line(o, "pubsub_channels", e.pubsub_channels().size());
  Line(o, "pubsub_patterns", e.pubsub_patterns().size());
  Line(o, "latest_fork_usec", 0);
  Line(o, "total_forks", 0);
  Line(o, "unexpected_error_replies", st.unexpected_error_replies);
  Line(o, "total_error_replies", st.total_error_replies);
  Line(o, "total_reads_processed", st.reads_processed);
  Line(o, "total_writes_processed", st.writes_processed);
  Line(o, "client_query_buffer_limit_disconnections", st.client_qbuf_limit_disconnections);
  Line(o, "client_output_buffer_limit_disconnections", st.client_outbuf_limit_disconnections);
  return o;
}

std::string ReplicationSection(Engine& e) {
  std::string o = "# Replication\r\n";
  Line(o, "role", "master");
  Line(o, "connected_slaves", 0);
  Line(o, "master_failover_state", "no-failover");
  Line(o, "master_replid", e.run_id());
  Line(o, "master_replid2", std::string(40, '0'));
  Line(o, "master_repl_offset", 0);
  Line(o, "second_repl_offset", -1);
  Line(o, "repl_backlog_active", 0);
  Line(o, "repl_backlog_size", 1048576);
  Line(o, "repl_backlog_first_byte_offset", 0);
  Line(o, "repl_backlog_histlen", 0);
  return o;
}

std::string CpuSection(Engine&) {
  std::string o = "# CPU\r\n";
  rusage self, children, thread;
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &children);
  getrusage(RUSAGE_THREAD, &thread);
  Line(o, "used_cpu_sys", fmt::format("{:.6f}", TvSecs(self.ru_stime)));
  Line(o, "used_cpu_user", fmt::format("{:.6f}", TvSecs(self.ru_utime)));
  Line(o, "used_cpu_sys_children", fmt::format("{:.6f}", TvSecs(children.ru_stime)));
  Line(o, "used_cpu_user_children", fmt::format("{:.6f}", TvSecs(children.ru_utime)));
  Line(o, "used_cpu_sys_main_thread", fmt::format("{:.6f}", TvSecs(thread.ru_stime)));
  Line(o, "used_cpu_user_main_thread", fmt::format("{:.6f}", TvSecs(thread.ru_utime)));
  return o;
}

std::string ErrorStatsSection(Engine& e) {
  std::string o = "# Errorstats\r\n";
  for (auto& [code, n] : e.stats().error_counts) Line(o, "errorstat_" + code, fmt::format("count={}", n));
  return o;
}

std::string CommandStatsSection(Engine& e) {
  std::string o = "# Commandstats\r\n";
  std::vector<std::pair<std::string, CommandStats>> rows;
  for (auto& [spec, st] : e.command_stats()) {
    if (st.calls || st.rejected_calls || st.failed_calls) rows.emplace_back(spec->name, st);
  }
  std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.first < b.first; });
  for (auto& [name, st] : rows) {
    Line(o, "cmdstat_" + name,
         fmt::format("calls={},usec={},usec_per_call={:.2f},rejected_calls={},failed_calls={}",
                     st.calls, st.usec, st.calls ? double(st.usec) / double(st.calls) : 0.0,
                     st.rejected_calls, st.failed_calls));
  }
  return o;
}

std::string KeyspaceSection(Engine& e) {
  std::string o = "# Keyspace\r\n";
  for (int i = 0; i < e.db_count(); i++) {
    Database& d = e.db(i);
    if (d.size() == 0) continue;
    Line(o, fmt::format("db{}", i), fmt::format("keys={},expires={},avg_ttl=0", d.size(), d.expires()));
  }
  return o;
}

// Until the AOF and checkpoints land, nothing is saved: the fields say so truthfully
// (no save ever ran; changes since start are counted; last save time = start, as Redis).
std::string PersistenceSection(Engine& e) {
  std::string o = "# Persistence\r\n";
  if (e.persistence()) return e.persistence()->InfoSection(e);
  Line(o, "loading", e.loading() ? 1 : 0);
  Line(o, "async_loading", 0);
  Line(o, "current_cow_peak", 0);
  Line(o, "current_cow_size", 0);
  Line(o, "current_fork_perc", "0.00");
  Line(o, "rdb_changes_since_last_save", e.dirty());
  Line(o, "rdb_bgsave_in_progress", 0);
  Line(o, "rdb_last_save_time", e.start_time_ms() / 1000);
  Line(o, "rdb_last_bgsave_status", "ok");
  Line(o, "rdb_last_bgsave_time_sec", -1);
  Line(o, "rdb_current_bgsave_time_sec", -1);
  Line(o, "rdb_saves", 0);
  Line(o, "rdb_last_cow_size", 0);
  Line(o, "aof_enabled", 0);
  Line(o, "aof_rewrite_in_progress", 0);
  Line(o, "aof_rewrite_scheduled", 0);
  Line(o, "aof_last_rewrite_time_sec", -1);
  Line(o, "aof_current_rewrite_time_sec", -1);
  Line(o, "aof_last_bgrewrite_status", "ok");
  Line(o, "aof_rewrites", 0);
  Line(o, "aof_last_write_status", "ok");
  Line(o, "aof_last_cow_size", 0);
  Line(o, "module_fork_in_progress", 0);
  Line(o, "module_fork_last_cow_size", 0);
  return o;
}

std::string ClusterSection(Engine&) { return "# Cluster\r\ncluster_enabled:0\r\n"; }

struct Builtin {
  const char* name;
  bool in_default;
  std::string (*render)(Engine&);
};

const Builtin kBuiltins[] = {
    {"server", true, ServerSection},         {"clients", true, ClientsSection},
    {"memory", true, MemorySection},         {"persistence", true, PersistenceSection},
    {"stats", true, StatsSection},           {"replication", true, ReplicationSection},
    {"cpu", true, CpuSection},               {"modules", true, [](Engine&) { return std::string("# Modules\r\n"); }},
    {"errorstats", true, ErrorStatsSection}, {"cluster", true, ClusterSection},
    {"keyspace", true, KeyspaceSection},     {"commandstats", false, CommandStatsSection},
};

}  // namespace

void RegisterInfoProvider(InfoProvider p) { Providers().push_back(std::move(p)); }

std::string BuildInfo(Engine& e, const std::vector<std::string>& sections) {
  bool all = false, everything = false, dflt = sections.empty();
  for (auto& s : sections) {
    if (s == "all") all = true;
    else if (s == "everything") everything = all = true;
    else if (s == "default") dflt = true;
  }
  auto wanted = [&](std::string_view name, bool in_default) {
    if (all || (dflt && in_default)) return true;
    for (auto& s : sections) {
      if (s == name) return true;
    }
    return false;
  };
  (void)everything;
  std::string out;
  for (const Builtin& b : kBuiltins) {
    if (!wanted(b.name, b.in_default)) continue;
    // A subsystem's provider (persistence, tiering, ...) replaces the builtin section.
    std::function<std::string(Engine&)> render = b.render;
    for (auto& p : Providers()) {
      if (p.name == b.name) render = p.render;
    }
    if (!out.empty()) out.append("\r\n");
    out.append(render(e));
  }
  for (auto& p : Providers()) {
    bool builtin = false;
    for (const Builtin& b : kBuiltins) builtin |= p.name == b.name;
    if (builtin || !wanted(p.name, p.in_default)) continue;
    if (!out.empty()) out.append("\r\n");
    out.append(p.render(e));
  }
  return out;
}

}  // namespace ferrite
