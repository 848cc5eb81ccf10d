#pragma once
// The configuration schema: every key with its type, limits, Redis names and whether it
// can change at run time. One table drives TOML parsing, CONFIG GET/SET, rendering and
// the documentation check in the tests.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "config/config.h"

namespace ferrite {

enum class ParamKind { kBool, kInt, kString, kEnum, kSize, kDuration, kRules, kNotify };

struct Param {
  std::string section;  // "server", "storage.archive"
  std::string key;
  ParamKind kind;
  std::vector<std::string> choices;  // kEnum: the names, in the enum's enumerator order
  int64_t min = INT64_MIN;
  int64_t max = INT64_MAX;
  std::vector<std::string> redis_names;
  bool runtime = true;                 // CONFIG SET allowed
  int64_t redis_unit_ms = 1000;        // kDuration via a Redis name: seconds (1000) or ms (1)
  void* (*field)(Config&) = nullptr;   // every kind but kEnum
  int (*get_enum)(Config&) = nullptr;  // kEnum: the field's enumerator, as an index of choices
  void (*set_enum)(Config&, int) = nullptr;

  std::string canonical() const { return section + "." + key; }
};

const std::vector<Param>& ConfigSchema();
const Param* FindParam(std::string_view canonical);

// Value formatting and parsing shared by TOML, CONFIG GET/SET and CONFIG REWRITE.
std::string FormatParam(const Param& p, Config& c, bool redis_style);
// Parses a CONFIG SET / command-line string. Error text is Redis's reason phrase.
Status ParseParamString(const Param& p, Config& c, std::string_view value, bool redis_style);
std::string FormatRules(const std::vector<SaveRule>& rules);
Result<std::vector<SaveRule>> ParseRules(std::string_view redis_save);

}  // namespace ferrite
