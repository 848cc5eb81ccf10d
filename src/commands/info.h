#pragma once
// INFO: Redis's format, section by section, with the fields tools read. Also the memory
// accounting that INFO memory, MEMORY STATS and MEMORY DOCTOR share.
//
// Typed statistics: every section with changing values is first gathered into a structure
// (ServerInfo, ClientsInfo, MemoryInfo, StatsInfo, CpuInfo, KeyspaceInfo, PersistenceInfo in
// commands/engine.h, tier::TierInfo in tier/tier_manager.h). INFO renders its text from them
// and the Prometheus exporter (src/metrics) reads the same members, never INFO's text: a
// renamed INFO field cannot silently zero a metric. Members are named after their INFO field.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "commands/engine.h"
#include "tier/tier_manager.h"

namespace ferrite {

// sections: lower-case names, or "default", "all", "everything" (several may be given, as
// Redis 7's INFO server clients). Empty = default. Unknown names add nothing.
std::string BuildInfo(Engine& engine, const std::vector<std::string>& sections);

// Extra sections contributed by later subsystems (persistence, tiering, ...): each
// provider writes its "# Title\r\n" block. Registered once at start-up. A provider named
// like a built-in section replaces it; others come after the built-in ones.
struct InfoProvider {
  std::string name;  // lower-case section name
  bool in_default;
  std::function<std::string(Engine&)> render;
};
void RegisterInfoProvider(InfoProvider p);

// Where the memory goes, as Redis's getMemoryOverheadData computes it (MEMORY STATS, INFO
// memory, MEMORY DOCTOR). Bytes unless named otherwise. Loop thread only.
struct MemoryReport {
  size_t used = 0;  // used_memory: bytes allocated through operator new
  size_t peak = 0;
  size_t startup = 0;  // used_memory_startup
  size_t rss = 0;
  size_t clients_normal = 0;  // every client's buffers and session
  size_t aof_buffer = 0;
  struct Db {
    int index = 0;
    size_t overhead_main = 0;     // the segmented table (segments + directory)
    size_t overhead_expires = 0;  // 0: a TTL lives in its entry, there is no expires table
  };
  std::vector<Db> dbs;  // databases with keys
  size_t overhead_total = 0;
  size_t keys = 0;
  size_t bytes_per_key = 0;
  size_t dataset = 0;
  double dataset_perc = 0;
  double peak_perc = 0;
  // The allocator (mimalloc), read from the loop thread's heap pages: allocated = bytes in
  // live blocks, active = bytes of the pages holding them (jemalloc's two figures). There is
  // no honest "resident" figure, so allocator_resident and allocator_rss_* are not shown.
  bool has_allocator = false;
  const char* allocator_name = "libc";
  size_t allocator_allocated = 0;
  size_t allocator_active = 0;
  double allocator_frag = 0;  // active / allocated
  int64_t allocator_frag_bytes = 0;
  double rss_extra = 0;  // rss / active: RSS outside live pages (free pages the
                         // allocator keeps, other threads, code, mappings)
  int64_t rss_extra_bytes = 0;
  double total_frag = 0;  // rss / used (mem_fragmentation_ratio)
  int64_t total_frag_bytes = 0;
};
MemoryReport ComputeMemoryReport(Engine& engine);

// ---- The typed statistics INFO and /metrics render. Loop thread only.

// INFO server's values that change or depend on the host (the constant fields are written by
// the renderer).
struct ServerInfo {
  std::string_view redis_version, ferrite_version, redis_mode;
  std::string os;           // "Linux 6.1.0 x86_64"
  std::string gcc_version;  // of the compiler that built the server
  int64_t process_id = 0;
  std::string run_id;
  int64_t tcp_port = 0;
  int64_t server_time_usec = 0;
  int64_t start_time_ms = 0;  // not an INFO field: /metrics' start time
  int64_t uptime_in_seconds = 0;
  int64_t hz = 0;
  int64_t lru_clock = 0;
  std::string executable, config_file;
};
ServerInfo GetServerInfo(Engine& engine);

struct ClientsInfo {
  size_t connected_clients = 0;
  int64_t maxclients = 0;
  size_t client_recent_max_input_buffer = 0;
  size_t client_recent_max_output_buffer = 0;
  size_t blocked_clients = 0;
  size_t clients_in_timeout_table = 0;
  size_t pubsub_clients = 0;
  size_t tracking_clients = 0;
};
ClientsInfo GetClientsInfo(Engine& engine);

struct MemoryInfo {
  MemoryReport report;  // used_memory, used_memory_rss, used_memory_peak, ...
  uint64_t total_system_memory = 0;
  ScriptingHooks::Memory scripting;  // used_memory_vm_eval, number_of_functions, ...
  int64_t maxmemory = 0;
  MaxmemoryPolicy maxmemory_policy = MaxmemoryPolicy::kNoEviction;
  uint64_t lazyfree_pending_objects = 0;
  uint64_t lazyfreed_objects = 0;
};
MemoryInfo GetMemoryInfo(Engine& engine);

// INFO stats' values (the fields of features Ferrite does not have are written as 0 by the
// renderer).
struct StatsInfo {
  uint64_t total_connections_received = 0;
  uint64_t total_commands_processed = 0;
  uint64_t instantaneous_ops_per_sec = 0;
  uint64_t total_net_input_bytes = 0;
  uint64_t total_net_output_bytes = 0;
  double instantaneous_input_kbps = 0;
  double instantaneous_output_kbps = 0;
  uint64_t rejected_connections = 0;
  uint64_t sync_full = 0, sync_partial_ok = 0, sync_partial_err = 0;
  uint64_t expired_keys = 0;
  uint64_t expire_cycle_cpu_milliseconds = 0;
  uint64_t evicted_keys = 0;
  uint64_t keyspace_hits = 0;
  uint64_t keyspace_misses = 0;
  size_t pubsub_channels = 0;
  size_t pubsub_patterns = 0;
  size_t tracking_total_keys = 0;
  size_t tracking_total_items = 0;
  size_t tracking_total_prefixes = 0;
  uint64_t unexpected_error_replies = 0;
  uint64_t total_error_replies = 0;
  uint64_t total_reads_processed = 0;
  uint64_t total_writes_processed = 0;
  uint64_t reply_buffer_shrinks = 0;
  uint64_t reply_buffer_expands = 0;
  uint64_t client_query_buffer_limit_disconnections = 0;
  uint64_t client_output_buffer_limit_disconnections = 0;
};
StatsInfo GetStatsInfo(Engine& engine);

// Seconds of CPU time (getrusage).
struct CpuInfo {
  double used_cpu_sys = 0, used_cpu_user = 0;
  double used_cpu_sys_children = 0, used_cpu_user_children = 0;
  double used_cpu_sys_main_thread = 0, used_cpu_user_main_thread = 0;
};
CpuInfo GetCpuInfo();

// Every configured database (INFO keyspace shows those with keys, /metrics all of them).
struct KeyspaceInfo {
  struct Db {
    int index = 0;
    uint64_t keys = 0;
    uint64_t expires = 0;
  };
  std::vector<Db> dbs;
};
KeyspaceInfo GetKeyspaceInfo(Engine& engine);

// The persistence manager's figures, or those of a server without one (unit tests): nothing
// saved, changes counted since start.
PersistenceInfo GetPersistenceInfo(Engine& engine);

// The tier manager's figures; nullopt without one (INFO tiering then says only
// tiering_enabled:0).
std::optional<tier::TierInfo> GetTieringInfo(Engine& engine);

// MEMORY DOCTOR's text.
std::string MemoryDoctorReport(Engine& engine);

}  // namespace ferrite
