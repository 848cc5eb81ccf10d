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
  ServerInfo v = GetServerInfo(e);
  std::string o = "# Server\r\n";
  Line(o, "redis_version", v.redis_version);
  Line(o, "ferrite_version", v.ferrite_version);
  Line(o, "redis_git_sha1", "00000000");
  Line(o, "redis_git_dirty", 0);
  Line(o, "redis_build_id", "ferrite");
  Line(o, "redis_mode", v.redis_mode);
  Line(o, "os", v.os);
  Line(o, "arch_bits", 64);
  Line(o, "monotonic_clock", "POSIX clock_gettime");
  Line(o, "multiplexing_api", "epoll");
  Line(o, "atomicvar_api", "c11-builtin");
  Line(o, "gcc_version", v.gcc_version);
  Line(o, "process_id", v.process_id);
  Line(o, "process_supervised", "no");
  Line(o, "run_id", v.run_id);
  Line(o, "tcp_port", v.tcp_port);
  Line(o, "server_time_usec", v.server_time_usec);
  Line(o, "uptime_in_seconds", v.uptime_in_seconds);
  Line(o, "uptime_in_days", v.uptime_in_seconds / 86400);
  Line(o, "hz", v.hz);
  Line(o, "configured_hz", v.hz);
  Line(o, "lru_clock", v.lru_clock);
  Line(o, "executable", v.executable);
  Line(o, "config_file", v.config_file);
  Line(o, "io_threads_active", 0);
  return o;
}

std::string ClientsSection(Engine& e) {
  ClientsInfo v = GetClientsInfo(e);
  std::string o = "# Clients\r\n";
  Line(o, "connected_clients", v.connected_clients);
  Line(o, "cluster_connections", 0);
  Line(o, "maxclients", v.maxclients);
  Line(o, "client_recent_max_input_buffer", v.client_recent_max_input_buffer);
  Line(o, "client_recent_max_output_buffer", v.client_recent_max_output_buffer);
  Line(o, "blocked_clients", v.blocked_clients);
  Line(o, "tracking_clients", v.tracking_clients);
  Line(o, "clients_in_timeout_table", v.clients_in_timeout_table);
  Line(o, "pubsub_clients", v.pubsub_clients);
  return o;
}

std::string Ratio(double v) { return fmt::format("{:.2f}", v); }

std::string MemorySection(Engine& e) {
  MemoryInfo v = GetMemoryInfo(e);
  const MemoryReport& m = v.report;
  const ScriptingHooks::Memory& sm = v.scripting;
  uint64_t sys = v.total_system_memory;
  int64_t maxmem = v.maxmemory;
  std::string o = "# Memory\r\n";
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
  Line(o, "maxmemory_policy", ConfigName(v.maxmemory_policy));
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
  Line(o, "lazyfree_pending_objects", v.lazyfree_pending_objects);  // with the helper thread
  Line(o, "lazyfreed_objects", v.lazyfreed_objects);
  return o;
}

// Redis 7.0's fields in its order. Those of features Ferrite does not have (replication,
// MIGRATE's socket cache, active defrag, io threads) are 0, which is what
// they are here.
std::string StatsSection(Engine& e) {
  StatsInfo v = GetStatsInfo(e);
  std::string o = "# Stats\r\n";
  Line(o, "total_connections_received", v.total_connections_received);
  Line(o, "total_commands_processed", v.total_commands_processed);
  Line(o, "instantaneous_ops_per_sec", v.instantaneous_ops_per_sec);
  Line(o, "total_net_input_bytes", v.total_net_input_bytes);
  Line(o, "total_net_output_bytes", v.total_net_output_bytes);
  Line(o, "total_net_repl_input_bytes", 0);
  Line(o, "total_net_repl_output_bytes", 0);
  Line(o, "instantaneous_input_kbps", fmt::format("{:.2f}", v.instantaneous_input_kbps));
  Line(o, "instantaneous_output_kbps", fmt::format("{:.2f}", v.instantaneous_output_kbps));
  Line(o, "instantaneous_input_repl_kbps", "0.00");
  Line(o, "instantaneous_output_repl_kbps", "0.00");
  Line(o, "rejected_connections", v.rejected_connections);
  Line(o, "sync_full", v.sync_full);
  Line(o, "sync_partial_ok", v.sync_partial_ok);
  Line(o, "sync_partial_err", v.sync_partial_err);
  Line(o, "expired_keys", v.expired_keys);
  Line(o, "expired_stale_perc", "0.00");
  Line(o, "expired_time_cap_reached_count", 0);
  Line(o, "expire_cycle_cpu_milliseconds", v.expire_cycle_cpu_milliseconds);
  Line(o, "evicted_keys", v.evicted_keys);
  Line(o, "evicted_clients", 0);
  Line(o, "total_eviction_exceeded_time", 0);
  Line(o, "current_eviction_exceeded_time", 0);
  Line(o, "keyspace_hits", v.keyspace_hits);
  Line(o, "keyspace_misses", v.keyspace_misses);
  Line(o, "pubsub_channels", v.pubsub_channels);
  Line(o, "pubsub_patterns", v.pubsub_patterns);
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
  Line(o, "tracking_total_keys", v.tracking_total_keys);
  Line(o, "tracking_total_items", v.tracking_total_items);
  Line(o, "tracking_total_prefixes", v.tracking_total_prefixes);
  Line(o, "unexpected_error_replies", v.unexpected_error_replies);
  Line(o, "total_error_replies", v.total_error_replies);
  Line(o, "dump_payload_sanitizations", 0);
  Line(o, "total_reads_processed", v.total_reads_processed);
  Line(o, "total_writes_processed", v.total_writes_processed);
  Line(o, "io_threaded_reads_processed", 0);
  Line(o, "io_threaded_writes_processed", 0);
  Line(o, "reply_buffer_shrinks", v.reply_buffer_shrinks);
  Line(o, "reply_buffer_expands", v.reply_buffer_expands);
  Line(o, "client_query_buffer_limit_disconnections", v.client_query_buffer_limit_disconnections);
  Line(o, "client_output_buffer_limit_disconnections", v.client_output_buffer_limit_disconnections);
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
  CpuInfo v = GetCpuInfo();
  std::string o = "# CPU\r\n";
  auto secs = [&](std::string_view k, double d) { Line(o, k, fmt::format("{:.6f}", d)); };
  secs("used_cpu_sys", v.used_cpu_sys);
  secs("used_cpu_user", v.used_cpu_user);
  secs("used_cpu_sys_children", v.used_cpu_sys_children);
  secs("used_cpu_user_children", v.used_cpu_user_children);
  secs("used_cpu_sys_main_thread", v.used_cpu_sys_main_thread);
  secs("used_cpu_user_main_thread", v.used_cpu_user_main_thread);
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
  for (const KeyspaceInfo::Db& d : GetKeyspaceInfo(e).dbs) {
    if (d.keys == 0) continue;
    Line(o, fmt::format("db{}", d.index),
         fmt::format("keys={},expires={},avg_ttl=0", d.keys, d.expires));
  }
  return o;
}

std::string_view OkErr(bool ok) { return ok ? "ok" : "err"; }

// Without a persistence manager (unit tests) GetPersistenceInfo says truthfully that nothing
// was saved; the manager adds the fields only it has.
std::string PersistenceSection(Engine& e) {
  PersistenceInfo v = GetPersistenceInfo(e);
  std::string o = "# Persistence\r\n";
  Line(o, "loading", v.loading ? 1 : 0);
  Line(o, "async_loading", 0);
  if (const auto& l = v.loading_progress) {
    Line(o, "loading_start_time", l->start_time);
    Line(o, "loading_total_bytes", l->total_bytes);
    Line(o, "loading_rdb_used_mem", 0);
    Line(o, "loading_loaded_bytes", l->loaded_bytes);
    Line(o, "loading_loaded_perc", fmt::format("{:.2f}", l->loaded_perc));
    Line(o, "loading_eta_seconds", l->eta_seconds);
  }
  Line(o, "current_cow_peak", 0);
  Line(o, "current_cow_size", 0);
  Line(o, "current_fork_perc", "0.00");
  if (v.current_save_keys_processed) {
    Line(o, "current_save_keys_processed", *v.current_save_keys_processed);
  }
  Line(o, "rdb_changes_since_last_save", v.rdb_changes_since_last_save);
  Line(o, "rdb_bgsave_in_progress", v.rdb_bgsave_in_progress ? 1 : 0);
  Line(o, "rdb_last_save_time", v.rdb_last_save_time);
  Line(o, "rdb_last_bgsave_status", OkErr(v.rdb_last_bgsave_ok));
  Line(o, "rdb_last_bgsave_time_sec", v.rdb_last_bgsave_time_sec);
  Line(o, "rdb_current_bgsave_time_sec", v.rdb_current_bgsave_time_sec);
  Line(o, "rdb_saves", v.rdb_saves);
  Line(o, "rdb_last_cow_size", 0);  // no fork, no copy-on-write
  if (v.rdb_last_load_keys_loaded) {
    Line(o, "rdb_last_load_keys_loaded", *v.rdb_last_load_keys_loaded);
  }
  Line(o, "aof_enabled", v.aof_enabled ? 1 : 0);
  Line(o, "aof_rewrite_in_progress", v.aof_rewrite_in_progress ? 1 : 0);
  Line(o, "aof_rewrite_scheduled", v.aof_rewrite_scheduled ? 1 : 0);
  Line(o, "aof_last_rewrite_time_sec", v.aof_last_rewrite_time_sec);
  Line(o, "aof_current_rewrite_time_sec", v.aof_current_rewrite_time_sec);
  Line(o, "aof_last_bgrewrite_status", OkErr(v.aof_last_bgrewrite_ok));
  Line(o, "aof_rewrites", v.aof_rewrites);
  Line(o, "aof_last_write_status", OkErr(v.aof_last_write_ok));
  Line(o, "aof_last_cow_size", 0);
  Line(o, "module_fork_in_progress", 0);
  Line(o, "module_fork_last_cow_size", 0);
  if (const auto& a = v.aof) {
    Line(o, "aof_current_size", a->current_size);
    Line(o, "aof_base_size", a->base_size);
    Line(o, "aof_pending_rewrite", 0);
    Line(o, "aof_buffer_length", a->buffer_length);
    Line(o, "aof_pending_bio_fsync", a->pending_fsync ? 1 : 0);
    Line(o, "aof_pending_fsync", a->pending_fsync ? 1 : 0);
    Line(o, "aof_delayed_fsync", a->delayed_fsync);
    Line(o, "aof_write_latency_max_us", a->write_latency_max_us);
    Line(o, "aof_fsync_latency_max_us", a->fsync_latency_max_us);
  }
  return o;
}

std::string ClusterSection(Engine&) { return "# Cluster\r\ncluster_enabled:0\r\n"; }

std::string ModulesSection(Engine&) { return "# Modules\r\n"; }

// Bytes and keys per tier, reads per tier, moves, archive, cold-read latency.
std::string TieringSection(Engine& e) {
  std::optional<tier::TierInfo> t = GetTieringInfo(e);
  std::string o = "# Tiering\r\n";
  Line(o, "tiering_enabled", t && t->enabled ? 1 : 0);
  if (!t) return o;
  const tier::TierManager::Usage& u = t->usage;
  const tier::TierStats& s = t->stats;
  Line(o, "tier_hot_size_limit", t->hot_size_limit);
  Line(o, "tier_warm_size_limit", t->warm_size_limit);
  Line(o, "tier_cold_compression", tier::CodecName(t->cold_compression));
  Line(o, "tier_hot_bytes", u.hot_bytes);
  Line(o, "tier_warm_bytes", u.warm_bytes);
  Line(o, "tier_warm_keys", u.warm_values);
  Line(o, "tier_warm_segments", u.warm_segments);
  Line(o, "tier_cold_bytes", u.cold_bytes);
  Line(o, "tier_cold_keys", u.cold_values);
  Line(o, "tier_cold_segments", u.cold_segments);
  Line(o, "tier_archive_enabled", t->archive_enabled ? 1 : 0);
  Line(o, "tier_archive_bytes", u.archive_bytes);
  Line(o, "tier_archive_keys", u.archive_values);
  Line(o, "tier_archive_segments", u.archive_segments);
  Line(o, "tier_dead_bytes", u.dead_bytes);
  Line(o, "tier_retired_segments", t->retired_segments);
  Line(o, "tier_reads_warm", s.reads_warm);
  Line(o, "tier_reads_cold", s.reads_cold);
  Line(o, "tier_reads_archive", s.reads_archive);
  Line(o, "tier_sync_reads", s.sync_reads);
  Line(o, "tier_promotions", s.promotions);
  Line(o, "tier_demotions", s.demotions);
  Line(o, "tier_demoted_bytes", s.demoted_bytes);
  Line(o, "tier_demote_failures", s.demote_failures);
  Line(o, "tier_recompressions", s.recompressions);
  Line(o, "tier_compactions", s.compactions);
  Line(o, "tier_compaction_reclaimed_bytes", s.compaction_bytes_reclaimed);
  Line(o, "tier_archive_uploads", s.archive_uploads);
  Line(o, "tier_archive_upload_failures", s.archive_upload_failures);
  Line(o, "tier_archive_fetches", s.archive_fetches);
  Line(o, "tier_archive_deletes", s.archive_deletes);
  Line(o, "tier_segments_deleted", s.segments_deleted);
  Line(o, "tier_read_errors", s.read_errors);
  Line(o, "tier_parked_commands", s.parked_commands);
  Line(o, "tier_lent_reads", s.lent_reads);
  Line(o, "tier_cold_read_count", s.cold_read_count);
  Line(o, "tier_cold_read_avg_usec", t->cold_read_avg_usec);
  Line(o, "tier_cold_read_p50_usec", t->cold_read_p50_usec);
  Line(o, "tier_cold_read_p99_usec", t->cold_read_p99_usec);
  Line(o, "tier_cold_read_max_usec", s.cold_read_us_max);
  Line(o, "tier_jobs_in_flight", t->jobs_in_flight);
  Line(o, "tier_moves_in_flight", t->moves_in_flight);
  Line(o, "tier_paused", t->paused ? 1 : 0);
  return o;
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
    {"tiering", true, TieringSection},
};

size_t ClientMemory(const Session& s) {
  return sizeof(Session) + s.conn.qbuf + s.conn.qbuf_free + s.conn.omem;
}

}  // namespace

void RegisterInfoProvider(InfoProvider p) { Providers().push_back(std::move(p)); }

ServerInfo GetServerInfo(Engine& e) {
  ServerInfo v;
  utsname u;
  uname(&u);
  int64_t now_us = e.clock()->NowUs();
  v.redis_version = "7.0.15";
  v.ferrite_version = "0.1.0";
  v.redis_mode = "standalone";
  v.os = fmt::format("{} {} {}", u.sysname, u.release, u.machine);
  v.gcc_version = fmt::format("{}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
  v.process_id = getpid();
  v.run_id = e.run_id();
  v.tcp_port = e.tcp_port;
  v.server_time_usec = now_us;
  v.start_time_ms = e.start_time_ms();
  v.uptime_in_seconds = (now_us / 1000 - e.start_time_ms()) / 1000;
  v.hz = e.config().server.hz;
  v.lru_clock = (now_us / 1000000) & ((1 << 24) - 1);
  v.executable = e.executable_path;
  v.config_file = e.config_file;
  return v;
}

ClientsInfo GetClientsInfo(Engine& e) {
  ClientsInfo v;
  for (auto& [id, s] : e.sessions()) {
    v.client_recent_max_input_buffer = std::max(v.client_recent_max_input_buffer, s->conn.qbuf);
    v.client_recent_max_output_buffer = std::max(v.client_recent_max_output_buffer, s->conn.omem);
    v.clients_in_timeout_table += s->blocked && s->block_deadline_ms != 0;
    v.pubsub_clients += s->subscriptions() > 0;
  }
  v.connected_clients = e.sessions().size();
  v.maxclients = e.config().server.maxclients;
  v.blocked_clients = e.blocked_clients();
  v.tracking_clients = e.tracking().clients();
  return v;
}

MemoryInfo GetMemoryInfo(Engine& e) {
  MemoryInfo v;
  v.report = ComputeMemoryReport(e);
  v.total_system_memory = TotalSystemMemory();
  if (e.scripting()) v.scripting = e.scripting()->MemoryInfo();
  v.maxmemory = e.config().server.maxmemory;
  v.maxmemory_policy = e.config().server.maxmemory_policy;
  v.lazyfree_pending_objects = e.lazyfree().pending();
  v.lazyfreed_objects = e.lazyfree().freed();
  return v;
}

StatsInfo GetStatsInfo(Engine& e) {
  const ServerStats& st = e.stats();
  const KeyspaceStats& ks = e.ks_stats();
  StatsInfo v;
  v.total_connections_received = st.total_connections;
  v.total_commands_processed = st.total_commands;
  v.instantaneous_ops_per_sec = st.instantaneous_ops;
  v.total_net_input_bytes = st.net_input_bytes;
  v.total_net_output_bytes = st.net_output_bytes;
  v.instantaneous_input_kbps = st.instantaneous_input_kbps;
  v.instantaneous_output_kbps = st.instantaneous_output_kbps;
  v.rejected_connections = st.rejected_connections;
  v.sync_full = st.sync_full;
  v.sync_partial_ok = st.sync_partial_ok;
  v.sync_partial_err = st.sync_partial_err;
  v.expired_keys = ks.expired_keys;
  v.expire_cycle_cpu_milliseconds = ks.expire_cycle_cpu_us / 1000;
  v.evicted_keys = ks.evicted_keys;
  v.keyspace_hits = ks.hits;
  v.keyspace_misses = ks.misses;
  v.pubsub_channels = e.pubsub_channels().size();
  v.pubsub_patterns = e.pubsub_patterns().size();
  v.tracking_total_keys = e.tracking().total_keys();
  v.tracking_total_items = e.tracking().total_items();
  v.tracking_total_prefixes = e.tracking().total_prefixes();
  v.unexpected_error_replies = st.unexpected_error_replies;
  v.total_error_replies = st.total_error_replies;
  v.total_reads_processed = st.reads_processed;
  v.total_writes_processed = st.writes_processed;
  v.reply_buffer_shrinks = st.reply_buffer_shrinks;
  v.reply_buffer_expands = st.reply_buffer_expands;
  v.client_query_buffer_limit_disconnections = st.client_qbuf_limit_disconnections;
  v.client_output_buffer_limit_disconnections = st.client_outbuf_limit_disconnections;
  return v;
}

CpuInfo GetCpuInfo() {
  rusage self, children, thread;
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &children);
  getrusage(RUSAGE_THREAD, &thread);
  CpuInfo v;
  v.used_cpu_sys = TvSecs(self.ru_stime);
  v.used_cpu_user = TvSecs(self.ru_utime);
  v.used_cpu_sys_children = TvSecs(children.ru_stime);
  v.used_cpu_user_children = TvSecs(children.ru_utime);
  v.used_cpu_sys_main_thread = TvSecs(thread.ru_stime);
  v.used_cpu_user_main_thread = TvSecs(thread.ru_utime);
  return v;
}

KeyspaceInfo GetKeyspaceInfo(Engine& e) {
  KeyspaceInfo v;
  for (int i = 0; i < e.db_count(); i++) {
    Database& d = e.db(i);
    v.dbs.push_back({i, d.size(), d.expires()});
  }
  return v;
}

PersistenceInfo GetPersistenceInfo(Engine& e) {
  if (e.persistence()) return e.persistence()->Info();
  PersistenceInfo v;
  v.loading = e.loading();
  v.rdb_changes_since_last_save = e.dirty();
  v.rdb_last_save_time = e.start_time_ms() / 1000;  // as Redis: the start counts as a save
  return v;
}

std::optional<tier::TierInfo> GetTieringInfo(Engine& e) {
  if (!e.tier()) return std::nullopt;
  return e.tier()->Info();
}

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
    if (auto aof = e.persistence()->Info().aof) m.aof_buffer = aof->buffer_length;
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
