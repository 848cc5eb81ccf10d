#pragma once
// Durations ("500ms", "300s", "15min", "1h", "30d", "2w"; a bare integer is seconds) and
// sizes ("64MB", "2GB", "512kb"; KB/MB/GB/TB and KiB/MiB/GiB are 1024-based as in Redis's
// config, k/m/g without "b" are 1000-based; a bare integer is bytes).

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace ferrite {

Result<int64_t> ParseDurationMs(std::string_view s);
std::string FormatDuration(int64_t ms);
Result<int64_t> ParseSize(std::string_view s);
std::string FormatSize(int64_t bytes);

}  // namespace ferrite
