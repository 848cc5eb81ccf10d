#pragma once
// ConfigRegistry: CONFIG GET / CONFIG SET over a Config, under both Ferrite's canonical
// names ("persistence.aof_sync_policy", values formatted the TOML way) and Redis 7's names
// ("appendfsync", values formatted the Redis way). Loop thread only.

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "config/config.h"

namespace ferrite {

class ConfigRegistry {
 public:
  // Called after a successful SET with the canonical names that changed and the config as
  // it was; a failure reverts the whole SET.
  using ApplyHook =
      std::function<Status(const std::vector<std::string>& changed, const Config& old_config)>;

  explicit ConfigRegistry(Config& config) : config_(config) {}

  // Glob pattern (case-insensitive) against every name; each parameter at most once.
  std::vector<std::pair<std::string, std::string>> Get(std::string_view pattern);
  // All-or-nothing, as Redis 7. Error text without the leading "ERR ".
  Status Set(const std::vector<std::pair<std::string_view, std::string_view>>& pairs);
  void SetApplyHook(ApplyHook hook) { hook_ = std::move(hook); }

  std::vector<std::string> AllCanonicalNames() const;
  bool IsKnown(std::string_view name) const;

 private:
  Config& config_;
  ApplyHook hook_;
};

// A complete TOML rendering of a configuration (CONFIG REWRITE, docs check).
std::string RenderToml(Config& c);

}  // namespace ferrite
