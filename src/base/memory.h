#pragma once
// Process heap accounting (Redis's used_memory). The server binary replaces operator
// new/delete (server/alloc.cc) to count usable sizes here; binaries without that hook
// (unit tests) read 0.

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace ferrite::memory {

extern std::atomic<int64_t> g_used;
extern std::atomic<int64_t> g_peak;
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

}  // namespace ferrite::memory
