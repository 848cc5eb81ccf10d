#include "commands/info.h"

#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <fstream>

#include "base/memory.h"
#include "base/strutil.h"
#include "commands/engine.h"
#include "tier/tier_manager.h"  // #7: INFO tiering

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

std::string Ratio(double v) { return fmt::format("{:.2f}", v); }

std::string MemorySection(Engine& e) {
  std::string o = "# Memory\r\n";
  MemoryReport m = ComputeMemoryReport(e);
  uint64_t sys = TotalSystemMemory();
  int64_t maxmem = e.config().server.maxmemory;
  Line(o, "used_memory", m.used);
  Line(o, "used_memory_human", Human(m.used));
  Line(o, "used_memory_rss", m.rss);
  Line(o, "used_memory_rss_human", Human(m.rss));
  Line(o, "used_memory_peak", m.peak);
  Line(o, "used_memory_peak_human", Human(m.peak));
  Line(o, "used_memory_peak_perc", fmt::format("{:.2f}%", m.peak_perc));
  Line(o, "used_memory_overhead", m.overhead_total);
  Line(o, "used_memory_startup", m.startup);
  Line(o, "used_memory_dataset", m.dataset);
  Line(o, "used_memory_dataset_perc", fmt::format("{:.2f}%", m.dataset_perc));
  // mimalloc's heap pages give jemalloc's "allocated" and "active"; there is no honest
  // "resident" figure, so allocator_resident and allocator_rss_* are left out.
  if (m.has_allocator) {
    Line(o, "allocator_allocated", m.allocator_allocated);
    Line(o, "allocator_active", m.allocator_active);
  }
  Line(o, "total_system_memory", sys);
  Line(o, "total_system_memory_human", Human(sys));
  ScriptingHooks::Memory sm =
      e.scripting() ? e.scripting()->MemoryInfo() : ScriptingHooks::Memory{};
  Line(o, "used_memory_lua", sm.vm_eval);
  Line(o, "used_memory_vm_eval", sm.vm_eval);
  Line(o, "used_memory_lua_human", Human(sm.vm_eval));
  Line(o, "used_memory_scripts_eval", sm.scripts_eval);
  Line(o, "number_of_cached_scripts", sm.cached_scripts);
  Line(o, "number_of_functions", sm.functions);
  Line(o, "number_of_libraries", sm.libraries);
  Line(o, "used_memory_vm_functions", sm.vm_functions);
  Line(o, "used_memory_vm_total", sm.vm_eval + sm.vm_functions);
  Line(o, "used_memory_vm_total_human", Human(sm.vm_eval + sm.vm_functions));
  Line(o, "used_memory_functions", sm.functions_bytes);
  Line(o, "used_memory_scripts", sm.scripts_eval + sm.functions_bytes);
  Line(o, "used_memory_scripts_human", Human(sm.scripts_eval + sm.functions_bytes));
  Line(o, "maxmemory", maxmem);
  Line(o, "maxmemory_human", Human(uint64_t(maxmem)));
  Line(o, "maxmemory_policy", e.config().server.maxmemory_policy);
  if (m.has_allocator) {
    Line(o, "allocator_frag_ratio", Ratio(m.allocator_frag));
    Line(o, "allocator_frag_bytes", m.allocator_frag_bytes);
    Line(o, "rss_overhead_ratio", Ratio(m.rss_extra));
    Line(o, "rss_overhead_bytes", m.rss_extra_bytes);
  }
  Line(o, "mem_fragmentation_ratio", Ratio(m.total_frag));
  Line(o, "mem_fragmentation_bytes", m.total_frag_bytes);
  Line(o, "mem_not_counted_for_evict", 0);  // eviction compares used_memory as it is
  Line(o, "mem_replication_backlog", 0);
  Line(o, "mem_total_replication_buffers", 0);
  Line(o, "mem_clients_slaves", 0);
  Line(o, "mem_clients_normal", m.clients_normal);
  Line(o, "mem_cluster_links", 0);
  Line(o, "mem_aof_buffer", m.aof_buffer);
  Line(o, "mem_allocator", m.allocator_name);
  Line(o, "active_defrag_running", 0);
  Line(o, "lazyfree_pending_objects", e.lazyfree().pending());  // handed to the helper thread
  Line(o, "lazyfreed_objects", e.lazyfree().freed());
  return o;
}

// Redis 7.0's fields in its order. Those of features Ferrite does not have (replication,
// MIGRATE's socket cache, active defrag, client tracking, io threads) are 0, which is what
// they are here.
std::string StatsSection(Engine& e) {
  std::string o = "# Stats\r\n";
  auto& st = e.stats();
  auto& ks = e.ks_stats();
  Line(o, "total_connections_received", st.total_connections);
  Line(o, "total_commands_processed", st.total_commands);
  Line(o, "instantaneous_ops_per_sec", st.instantaneous_ops);
  Line(o, "total_net_input_bytes", st.net_input_bytes);
  Line(o, "total_net_output_bytes", st.net_output_bytes);
  Line(o, "total_net_repl_input_bytes", 0);
  Line(o, "total_net_repl_output_bytes", 0);
  Line(o, "instantaneous_input_kbps", fmt::format("{:.2f}", st.instantaneous_input_kbps));
  Line(o, "instantaneous_output_kbps", fmt::format("{:.2f}", st.instantaneous_output_kbps));
  Line(o, "instantaneous_input_repl_kbps", "0.00");
  Line(o, "instantaneous_output_repl_kbps", "0.00");
  Line(o, "rejected_connections", st.rejected_connections);
  Line(o, "sync_full", st.sync_full);
  Line(o, "sync_partial_ok", st.sync_partial_ok);
  Line(o, "sync_partial_err", st.sync_partial_err);
  Line(o, "expired_keys", ks.expired_keys);
  Line(o, "expired_stale_perc", "0.00");
  Line(o, "expired_time_cap_reached_count", 0);
  Line(o, "expire_cycle_cpu_milliseconds", ks.expire_cycle_cpu_us / 1000);
  Line(o, "evicted_keys", ks.evicted_keys);
  Line(o, "evicted_clients", 0);
  Line(o, "total_eviction_exceeded_time", 0);
  Line(o, "current_eviction_exceeded_time", 0);
  Line(o, "keyspace_hits", ks.hits);
  Line(o, "keyspace_misses", ks.misses);
  Line(o, "pubsub_channels", e.pubsub_channels().size());
  Line(o, "pubsub_patterns", e.pubsub_patterns().size());
  Line(o, "pubsubshard_channels", 0);
  Line(o, "latest_fork_usec", 0);
  Line(o, "total_forks", 0);
  Line(o, "migrate_cached_sockets", 0);
  Line(o, "slave_expires_tracked_keys", 0);
  Line(o, "active_defrag_hits", 0);
  Line(o, "active_defrag_misses", 0);
  Line(o, "active_defrag_key_hits", 0);
  Line(o, "active_defrag_key_misses", 0);
  Line(o, "total_active_defrag_time", 0);
  Line(o, "current_active_defrag_time", 0);
  Line(o, "tracking_total_keys", 0);
  Line(o, "tracking_total_items", 0);
  Line(o, "tracking_total_prefixes", 0);
  Line(o, "unexpected_error_replies", st.unexpected_error_replies);
  Line(o, "total_error_replies", st.total_error_replies);
  Line(o, "dump_payload_sanitizations", 0);
  Line(o, "total_reads_processed", st.reads_processed);
  Line(o, "total_writes_processed", st.writes_processed);
  Line(o, "io_threaded_reads_processed", 0);
  Line(o, "io_threaded_writes_processed", 0);
  Line(o, "reply_buffer_shrinks", st.reply_buffer_shrinks);
  Line(o, "reply_buffer_expands", st.reply_buffer_expands);
  Line(o, "client_query_buffer_limit_disconnections", st.client_qbuf_limit_disconnections);
  Line(o, "client_output_buffer_limit_disconnections", st.client_outbuf_limit_disconnections);
  return o;
}

std::string ReplicationSection(Engine& e) {
  if (e.replication()) return e.replication()->InfoSection();  // src/replication
  std::string o = "# Replication\r\n";
  Line(o, "role", "master");
  Line(o, "connected_slaves", 0);
  Line(o, "master_failover_state", "no-failover");
  Line(o, "master_replid", e.replication_id());
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
  for (auto& [code, n] : e.stats().error_counts)
    Line(o, "errorstat_" + code, fmt::format("count={}", n));
  return o;
}

// Commands that ran at least once (or were rejected), by name.
std::vector<std::pair<std::string_view, const CommandStats*>> CalledCommands(Engine& e) {
  std::vector<std::pair<std::string_view, const CommandStats*>> rows;
  for (auto& [spec, st] : e.command_stats()) {
    if (st.calls || st.rejected_calls || st.failed_calls) rows.emplace_back(spec->name, &st);
  }
  std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.first < b.first; });
  return rows;
}

std::string CommandStatsSection(Engine& e) {
  std::string o = "# Commandstats\r\n";
  for (auto& [name, st] : CalledCommands(e)) {
    Line(o, fmt::format("cmdstat_{}", name),
         fmt::format("calls={},usec={},usec_per_call={:.2f},rejected_calls={},failed_calls={}",
                     st->calls, st->usec, st->calls ? double(st->usec) / double(st->calls) : 0.0,
                     st->rejected_calls, st->failed_calls));
  }
  return o;
}

// Redis 7's latency-tracking-info-percentiles default.
constexpr double kLatencyPercentiles[] = {50.0, 99.0, 99.9};

std::string LatencyStatsSection(Engine& e) {
  std::string o = "# Latencystats\r\n";
  for (auto& [name, st] : CalledCommands(e)) {
    if (st->latency.count() == 0) continue;
    std::string v;
    for (double p : kLatencyPercentiles) {
      if (!v.empty()) v.push_back(',');
      // "p99.9", "p50": the percentile as %f with its trailing zeros cut, as Redis.
      std::string ps = fmt::format("{:f}", p);
      while (ps.back() == '0') ps.pop_back();
      if (ps.back() == '.') ps.pop_back();
      v += fmt::format("p{}={:.3f}", ps, double(st->latency.ValueAtPercentile(p)));
    }
    Line(o, fmt::format("latency_percentiles_usec_{}", name), v);
  }
  return o;
}

std::string KeyspaceSection(Engine& e) {
  std::string o = "# Keyspace\r\n";
  for (int i = 0; i < e.db_count(); i++) {
    Database& d = e.db(i);
    if (d.size() == 0) continue;
    Line(o, fmt::format("db{}", i),
         fmt::format("keys={},expires={},avg_ttl=0", d.size(), d.expires()));
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

std::string ModulesSection(Engine&) { return "# Modules\r\n"; }

// #7: bytes and keys per tier, reads per tier, moves, archive, cold-read latency.
std::string TieringSection(Engine& e) {
  return e.tier() ? e.tier()->InfoSection() : std::string("# Tiering\r\ntiering_enabled:0\r\n");
}

struct Builtin {
  const char* name;
  bool in_default;  // shown by a bare INFO / INFO default; INFO all and everything show all
  std::string (*render)(Engine&);
};

// INFO's sections, in Redis 7's order. To add a section, add a row here.
const Builtin kBuiltins[] = {
    {"server", true, ServerSection},
    {"clients", true, ClientsSection},
    {"memory", true, MemorySection},
    {"persistence", true, PersistenceSection},
    {"stats", true, StatsSection},
    {"replication", true, ReplicationSection},
    {"cpu", true, CpuSection},
    {"modules", true, ModulesSection},
    {"commandstats", false, CommandStatsSection},
    {"errorstats", true, ErrorStatsSection},
    {"latencystats", false, LatencyStatsSection},
    {"cluster", true, ClusterSection},
    {"keyspace", true, KeyspaceSection},
    {"tiering", true, TieringSection},  // #7
};

size_t ClientMemory(const Session& s) {
  return sizeof(Session) + s.conn.qbuf + s.conn.qbuf_free + s.conn.omem;
}

// A "key:value" field of an INFO text, or 0.
size_t InfoField(std::string_view info, std::string_view key) {
  std::string needle = "\n" + std::string(key) + ":";
  size_t at = info.find(needle);
  if (at == std::string_view::npos) return 0;
  uint64_t v = 0;
  size_t i = at + needle.size();
  while (i < info.size() && info[i] >= '0' && info[i] <= '9') {
    v = v * 10 + uint64_t(info[i++] - '0');
  }
  return size_t(v);
}

}  // namespace

void RegisterInfoProvider(InfoProvider p) { Providers().push_back(std::move(p)); }

std::string BuildInfo(Engine& e, const std::vector<std::string>& sections) {
  // "all" is everything but sections generated by modules; there are no modules, so the
  // two are the same.
  bool all = false, dflt = sections.empty();
  for (auto& s : sections) {
    if (s == "all" || s == "everything")
      all = true;
    else if (s == "default")
      dflt = true;
  }
  auto wanted = [&](std::string_view name, bool in_default) {
    if (all || (dflt && in_default)) return true;
    for (auto& s : sections) {
      if (s == name) return true;
    }
    return false;
  };
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

MemoryReport ComputeMemoryReport(Engine& e) {
  MemoryReport m;
  m.used = Engine::UsedMemory();
  m.peak = std::max(Engine::PeakMemory(), m.used);
  m.startup = memory::Startup();
  m.rss = RssBytes();
  for (auto& [id, s] : e.sessions()) m.clients_normal += ClientMemory(*s);
  if (e.persistence()) {
    m.aof_buffer = InfoField(e.persistence()->InfoSection(e), "aof_buffer_length");
  }
  size_t tables = 0;
  for (int i = 0; i < e.db_count(); i++) {
    Database& d = e.db(i);
    if (d.size() == 0) continue;
    m.keys += d.size();
    m.dbs.push_back({i, d.MemoryUsage(), 0});
    tables += d.MemoryUsage();
  }
  m.overhead_total = m.startup + m.clients_normal + m.aof_buffer + tables;
  m.dataset = m.used > m.overhead_total ? m.used - m.overhead_total : 0;
  size_t net = m.used > m.startup ? m.used - m.startup : 0;
  m.bytes_per_key = m.keys ? net / m.keys : 0;
  m.dataset_perc = net ? 100.0 * double(m.dataset) / double(net) : 0;
  m.peak_perc = m.peak ? 100.0 * double(m.used) / double(m.peak) : 0;
  m.allocator_name = memory::g_allocator.name;
  memory::AllocatorStats as;
  if (memory::g_allocator.stats && memory::g_allocator.stats(&as) && m.used > 0) {
    m.has_allocator = true;
    m.allocator_allocated = as.allocated;
    m.allocator_active = as.active;
    m.allocator_frag = as.allocated ? double(as.active) / double(as.allocated) : 0;
    m.allocator_frag_bytes = int64_t(as.active) - int64_t(as.allocated);
    m.rss_extra = double(m.rss) / double(as.active);
    m.rss_extra_bytes = int64_t(m.rss) - int64_t(as.active);
  }
  m.total_frag = m.used ? double(m.rss) / double(m.used) : 0;
  m.total_frag_bytes = int64_t(m.rss) - int64_t(m.used);
  return m;
}

// Redis's MEMORY DOCTOR, with its thresholds: an instance under 5 MB is "empty"; otherwise
// each finding is a paragraph. The findings that need replicas or scripts do not apply.
std::string MemoryDoctorReport(Engine& e) {
  MemoryReport m = ComputeMemoryReport(e);
  constexpr int64_t k10MB = 10 << 20;
  if (m.used < (5u << 20)) {
    return "Hi Sam, this instance is empty or is using very little memory, my issues detector "
           "can't be used in these conditions. Please, leave for your mission on Earth and fill "
           "it with some data. The new Sam and I will be back to our programming as soon as I "
           "finished rebooting.\n";
  }
  std::vector<std::string> found;
  if (double(m.peak) / double(m.used) > 1.5) {
    found.push_back(fmt::format(
        " * Peak memory: the peak ({}) is more than 150% of what is in use now ({}). Freed "
        "memory is kept by the allocator for reuse, so RSS stays near the peak; that is harmless "
        "if the dataset grows back. To hand it back to the system now, try MEMORY PURGE; "
        "otherwise only a restart returns it.",
        Human(m.peak), Human(m.used)));
  }
  if (m.total_frag > 1.4 && m.total_frag_bytes > k10MB) {
    found.push_back(fmt::format(
        " * High total RSS: the process's resident set ({}) is {:.2f} times the memory the "
        "server allocated ({}). A past peak (listed above if there was one) or a workload "
        "that fragments the heap does this; the findings below say where the difference is. "
        "The allocator in use is \"{}\".",
        Human(m.rss), m.total_frag, Human(m.used), m.allocator_name));
  }
  if (m.has_allocator && m.allocator_frag > 1.1 && m.allocator_frag_bytes > k10MB) {
    found.push_back(fmt::format(
        " * High allocator fragmentation: the allocator's pages that hold live allocations "
        "are {:.2f} times the bytes allocated ({} more): they are partly empty, after deletes or "
        "from allocations of many different sizes. Writing the data again (a restart loads it "
        "compactly) is the only remedy; MEMORY PURGE does not touch pages in use.",
        m.allocator_frag, Human(uint64_t(m.allocator_frag_bytes))));
  }
  if (m.has_allocator && m.rss_extra > 1.1 && m.rss_extra_bytes > k10MB) {
    found.push_back(fmt::format(
        " * High RSS overhead: {} of the resident set is outside the pages that hold live "
        "allocations: free pages the allocator keeps for reuse (MEMORY PURGE returns them), "
        "other threads' heaps, code and memory-mapped files.",
        Human(uint64_t(m.rss_extra_bytes))));
  }
  size_t clients = e.sessions().size();
  if (clients > 0 && m.clients_normal / clients > 200 * 1024) {
    found.push_back(fmt::format(
        " * Big client buffers: clients use {} on average for their query and output buffers "
        "(more than 200K each). Subscribers that do not read fast enough, very large replies or "
        "very long pipelines do this; CLIENT LIST shows each client's qbuf and omem.",
        Human(m.clients_normal / clients)));
  }
  if (found.empty()) {
    return "Hi Sam, I can't find any memory issue in your instance. I can only account for what "
           "occurs on this base.\n";
  }
  std::string s = "Sam, I detected a few issues in this Redis instance memory implants:\n\n";
  for (auto& f : found) s += f + "\n\n";
  s += "I'm here to keep you safe, Sam. I want to help you.\n";
  return s;
}

}  // namespace ferrite
