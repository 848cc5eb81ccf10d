#pragma once
// Process heap accounting (Redis's used_memory). The server binary replaces operator
// new/delete (server/alloc.cc) to count usable sizes here; binaries without that hook
// (unit tests) read 0.
//
// The allocator itself (mimalloc in the server binary, the C library's malloc otherwise)
// is reached through `Allocator`, which server/alloc.cc fills in: INFO memory, MEMORY
// STATS / MALLOC-STATS / PURGE read and call it without knowing which allocator is linked.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

namespace ferrite::memory {

extern std::atomic<int64_t> g_used;
extern std::atomic<int64_t> g_peak;
extern std::atomic<int64_t> g_startup;
extern bool g_hooked;

inline size_t Used() {
  int64_t v = g_used.load(std::memory_order_relaxed);
  return v > 0 ? size_t(v) : 0;
}
inline size_t Peak() {
  int64_t v = g_peak.load(std::memory_order_relaxed);
  return v > 0 ? size_t(v) : 0;
}
// Raises the recorded peak to the current usage (called from the cron, not per malloc).
inline void UpdatePeak() {
  int64_t u = g_used.load(std::memory_order_relaxed);
  if (u > g_peak.load(std::memory_order_relaxed)) g_peak.store(u, std::memory_order_relaxed);
}
// Redis's used_memory_startup: what the server used once initialised, before any client
// or data (recorded by main just before the loop starts).
inline void MarkStartup() { g_startup.store(g_used.load(std::memory_order_relaxed)); }
inline size_t Startup() {
  int64_t v = g_startup.load(std::memory_order_relaxed);
  return v > 0 ? size_t(v) : 0;
}

// What the allocator knows about the calling thread's heap (the loop's, where the dataset
// lives), read from its pages, not from counters: jemalloc's "allocated" and "active".
struct AllocatorStats {
  size_t allocated = 0;  // bytes in live blocks
  size_t active = 0;     // bytes of the pages that hold live blocks (their extended part)
};

// Filled in by the binary that links an allocator (server/alloc.cc). Function pointers, not
// std::function: it is set during static initialisation.
struct Allocator {
  const char* name = "libc";                     // INFO mem_allocator, e.g. "mimalloc-2.0.9"
  bool (*stats)(AllocatorStats* out) = nullptr;  // false/null: no statistics
  void (*purge)() = nullptr;                     // MEMORY PURGE: return free pages to the OS
  std::string (*report)() = nullptr;             // MEMORY MALLOC-STATS text
};
extern Allocator g_allocator;

}  // namespace ferrite::memory
