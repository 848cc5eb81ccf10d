#include "base/memory.h"

namespace ferrite::memory {
std::atomic<int64_t> g_used{0};
std::atomic<int64_t> g_peak{0};
std::atomic<int64_t> g_startup{0};
bool g_hooked = false;
Allocator g_allocator;
}  // namespace ferrite::memory
