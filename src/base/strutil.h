#pragma once
// Number parsing and formatting with Redis's exact rules, and glob matching.

#include <cstdint>
#include <string>
#include <string_view>

namespace ferrite {

// Strict integer parse, as Redis's string2ll: optional '-', digits, no leading zeros,
// no spaces, no '+', must fit int64.
bool ParseInt64(std::string_view s, int64_t* out);
bool ParseUint64(std::string_view s, uint64_t* out);

// Double parse, exactly Redis's string2d / string2ld: strtod over the whole string, no
// leading space, no NaN; an overflow (1e309) or an underflow to zero (1e-400) is refused,
// a denormal result (4.9e-324) and a literal "inf" are accepted (inf only when allow_inf).
bool ParseDouble(std::string_view s, double* out, bool allow_inf = true);
bool ParseLongDouble(std::string_view s, long double* out);

// Formatting.
std::string FormatInt64(int64_t v);
size_t FormatInt64To(int64_t v, char* buf);  // buf >= 21 bytes; returns length
// INCRBYFLOAT style: %.17Lf with trailing zeros removed (Redis LD_STR_HUMAN).
std::string FormatLongDoubleHuman(long double v);
// Score/double reply style: %.17g, "inf"/"-inf" (Redis d2string).
std::string FormatDouble(double v);

// Redis's stringmatchlen(): *, ?, [abc], [^a], [a-z], \x escapes.
bool GlobMatch(std::string_view pattern, std::string_view str, bool nocase = false);

bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string ToLower(std::string_view s);
std::string ToUpper(std::string_view s);

}  // namespace ferrite
