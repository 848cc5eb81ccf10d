#pragma once
// INFO: Redis's format, section by section, with the fields tools read. Also the memory
// accounting that INFO memory, MEMORY STATS and MEMORY DOCTOR share.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferrite {

class Engine;

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

// MEMORY DOCTOR's text.
std::string MemoryDoctorReport(Engine& engine);

}  // namespace ferrite
