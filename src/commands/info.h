#pragma once
// INFO: Redis's format, section by section, with the fields tools read.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace ferrite {

class Engine;

// sections: lower-case names, or "default", "all", "everything". Empty = default.
std::string BuildInfo(Engine& engine, const std::vector<std::string>& sections);

// Extra sections contributed by later subsystems (persistence, tiering, ...): each
// provider writes its "# Title\r\n" block. Registered once at start-up.
struct InfoProvider {
  std::string name;       // lower-case section name
  bool in_default;
  std::function<std::string(Engine&)> render;
};
void RegisterInfoProvider(InfoProvider p);

}  // namespace ferrite
