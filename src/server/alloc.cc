// Replaces global operator new/delete to count heap bytes in use (Redis's used_memory):
// every allocation adds its usable size to memory::g_used. With mimalloc linked, mimalloc
// serves the memory; in sanitizer builds the system allocator does (ASan must see it).

#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>

#include "base/memory.h"

#if defined(FERRITE_USE_MIMALLOC)
#include <mimalloc.h>
#define FERRITE_MALLOC mi_malloc
#define FERRITE_FREE mi_free
#define FERRITE_USABLE mi_usable_size
#define FERRITE_ALIGNED_ALLOC(a, n) mi_malloc_aligned(n, a)
#else
#define FERRITE_MALLOC malloc
#define FERRITE_FREE free
#define FERRITE_USABLE malloc_usable_size
#define FERRITE_ALIGNED_ALLOC(a, n) aligned_alloc(a, ((n) + (a)-1) / (a) * (a))
#endif

namespace {

#if defined(FERRITE_USE_MIMALLOC)
// The allocator as INFO memory / MEMORY STATS, MALLOC-STATS and PURGE see it.
// Walks the calling thread's heap page by page (not block by block): O(pages), cheap enough
// for INFO. mimalloc's own counters are not kept in release builds, so they are not used.
bool MimallocStats(ferrite::memory::AllocatorStats* out) {
  *out = {};
  mi_heap_visit_blocks(
      mi_heap_get_default(), /*visit_all_blocks=*/false,
      [](const mi_heap_t*, const mi_heap_area_t* area, void* block, size_t, void* arg) {
        if (block == nullptr && area != nullptr) {
          auto* st = static_cast<ferrite::memory::AllocatorStats*>(arg);
          st->allocated += area->used * area->full_block_size;
          st->active += area->committed;
        }
        return true;
      },
      out);
  return out->active > 0;
}
void MimallocPurge() { mi_collect(true); }
std::string MimallocReport() {
  std::string out;
  mi_stats_print_out(
      [](const char* msg, void* arg) { static_cast<std::string*>(arg)->append(msg); }, &out);
  return out;
}
#endif

struct HookMark {
  HookMark() {
    ferrite::memory::g_hooked = true;
#if defined(FERRITE_USE_MIMALLOC)
    static char name[32];
    int v = mi_version();  // e.g. 209 = 2.0.9
    snprintf(name, sizeof(name), "mimalloc-%d.%d.%d", v / 100, (v / 10) % 10, v % 10);
    ferrite::memory::g_allocator.name = name;
    ferrite::memory::g_allocator.stats = MimallocStats;
    ferrite::memory::g_allocator.purge = MimallocPurge;
    ferrite::memory::g_allocator.report = MimallocReport;
#endif
  }
} hook_mark;

// ThreadSanitizer's runtime is linked statically with its own operator new/delete (it must
// see every allocation), so a TSan build keeps those: heap bytes are not counted there
// (used_memory reads 0), which only the TSan job's server runs, never a user's build.
#if !defined(FERRITE_TSAN)
inline void* Alloc(size_t n) {
  void* p = FERRITE_MALLOC(n ? n : 1);
  if (!p) throw std::bad_alloc();
  ferrite::memory::g_used.fetch_add(int64_t(FERRITE_USABLE(p)), std::memory_order_relaxed);
  return p;
}

inline void* AllocAligned(size_t n, std::align_val_t al) {
  void* p = FERRITE_ALIGNED_ALLOC(size_t(al), n ? n : 1);
  if (!p) throw std::bad_alloc();
  ferrite::memory::g_used.fetch_add(int64_t(FERRITE_USABLE(p)), std::memory_order_relaxed);
  return p;
}

inline void Free(void* p) {
  if (!p) return;
  ferrite::memory::g_used.fetch_sub(int64_t(FERRITE_USABLE(p)), std::memory_order_relaxed);
  FERRITE_FREE(p);
}

#endif  // !FERRITE_TSAN

}  // namespace

#if !defined(FERRITE_TSAN)
void* operator new(size_t n) { return Alloc(n); }
void* operator new[](size_t n) { return Alloc(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  try {
    return Alloc(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  try {
    return Alloc(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(size_t n, std::align_val_t al) { return AllocAligned(n, al); }
void* operator new[](size_t n, std::align_val_t al) { return AllocAligned(n, al); }
void operator delete(void* p) noexcept { Free(p); }
void operator delete[](void* p) noexcept { Free(p); }
void operator delete(void* p, size_t) noexcept { Free(p); }
void operator delete[](void* p, size_t) noexcept { Free(p); }
void operator delete(void* p, std::align_val_t) noexcept { Free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { Free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { Free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { Free(p); }
#endif  // !FERRITE_TSAN
