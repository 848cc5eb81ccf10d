// Replaces global operator new/delete to count heap bytes in use (Redis's used_memory):
// every allocation adds its usable size to memory::g_used. With mimalloc linked, mimalloc
// serves the memory; in sanitizer builds the system allocator does (ASan must see it).

#include <malloc.h>

#include <cstdlib>
#include <new>

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
#define FERRITE_ALIGNED_ALLOC(a, n) aligned_alloc(a, ((n) + (a) - 1) / (a) * (a))
#endif

namespace {

struct HookMark {
  HookMark() { ferrite::memory::g_hooked = true; }
} hook_mark;

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

}  // namespace

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
