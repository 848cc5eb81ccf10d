#include "config/units.h"

#include <cctype>

#include "base/strutil.h"

namespace ferrite {
namespace {

// Splits "15min" into (15, "min"). Rejects signs, spaces and empty numbers.
bool SplitNumber(std::string_view s, int64_t* n, std::string* unit) {
  size_t i = 0;
  while (i < s.size() && isdigit(static_cast<unsigned char>(s[i]))) i++;
  if (i == 0 || i > 18) return false;
  uint64_t v;
  std::string_view digits = s.substr(0, i);
  while (digits.size() > 1 && digits[0] == '0') digits.remove_prefix(1);
  if (!ParseUint64(digits, &v)) return false;
  *n = int64_t(v);
  *unit = ToLower(s.substr(i));
  return true;
}

bool MulOk(int64_t a, int64_t b, int64_t* out) { return !__builtin_mul_overflow(a, b, out); }

}  // namespace

Result<int64_t> ParseDurationMs(std::string_view s) {
  int64_t n;
  std::string unit;
  if (!SplitNumber(s, &n, &unit)) {
    return Status::InvalidArgument(
        "expected a duration like \"500ms\", \"300s\", \"15min\", "
        "\"1h\", \"30d\", got \"" +
        std::string(s) + "\"");
  }
  int64_t mult;
  if (unit == "ms")
    mult = 1;
  else if (unit.empty() || unit == "s" || unit == "sec" || unit == "secs")
    mult = 1000;
  else if (unit == "m" || unit == "min" || unit == "mins")
    mult = 60'000;
  else if (unit == "h" || unit == "hour" || unit == "hours")
    mult = 3'600'000;
  else if (unit == "d" || unit == "day" || unit == "days")
    mult = 86'400'000;
  else if (unit == "w" || unit == "week" || unit == "weeks")
    mult = 7 * 86'400'000LL;
  else
    return Status::InvalidArgument(
        "expected a duration like \"500ms\", \"300s\", \"15min\", "
        "\"1h\", \"30d\" (units ms, s, min, h, d, w), got \"" +
        std::string(s) + "\"");
  int64_t out;
  if (!MulOk(n, mult, &out))
    return Status::InvalidArgument("duration too large: " + std::string(s));
  return out;
}

std::string FormatDuration(int64_t ms) {
  if (ms == 0) return "0s";
  struct U {
    int64_t ms;
    const char* name;
  };
  const U units[] = {{7 * 86'400'000LL, "w"}, {86'400'000, "d"}, {3'600'000, "h"},
                     {60'000, "min"},         {1000, "s"},       {1, "ms"}};
  for (const U& u : units) {
    if (ms % u.ms == 0) return std::to_string(ms / u.ms) + u.name;
  }
  return std::to_string(ms) + "ms";
}

Result<int64_t> ParseSize(std::string_view s) {
  int64_t n;
  std::string unit;
  if (!SplitNumber(s, &n, &unit)) {
    return Status::InvalidArgument("expected a size like \"64MB\", \"2GB\", \"512KB\", got \"" +
                                   std::string(s) + "\"");
  }
  int64_t mult;
  if (unit.empty() || unit == "b")
    mult = 1;
  else if (unit == "k")
    mult = 1000;
  else if (unit == "m")
    mult = 1000 * 1000;
  else if (unit == "g")
    mult = 1000LL * 1000 * 1000;
  else if (unit == "kb" || unit == "kib")
    mult = 1024;
  else if (unit == "mb" || unit == "mib")
    mult = 1024 * 1024;
  else if (unit == "gb" || unit == "gib")
    mult = 1024LL * 1024 * 1024;
  else if (unit == "tb" || unit == "tib")
    mult = 1024LL * 1024 * 1024 * 1024;
  else
    return Status::InvalidArgument(
        "expected a size like \"64MB\", \"2GB\", \"512KB\" (units B, "
        "KB, MB, GB, TB), got \"" +
        std::string(s) + "\"");
  int64_t out;
  if (!MulOk(n, mult, &out)) return Status::InvalidArgument("size too large: " + std::string(s));
  return out;
}

std::string FormatSize(int64_t b) {
  if (b == 0) return "0";
  const char* names[] = {"TB", "GB", "MB", "KB"};
  int64_t mults[] = {1LL << 40, 1LL << 30, 1LL << 20, 1LL << 10};
  for (int i = 0; i < 4; i++) {
    if (b % mults[i] == 0) return std::to_string(b / mults[i]) + names[i];
  }
  return std::to_string(b) + "B";
}

}  // namespace ferrite
