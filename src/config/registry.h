#pragma once
// ConfigRegistry: CONFIG GET / CONFIG SET over a Config, under Redis 7.0's names
// ("appendfsync", values formatted the Redis way; config/redis_config.h) and under Ferrite's
// canonical names ("persistence.aof_sync_policy", values formatted the TOML way). Loop
// thread only.
//
// Ferrite's dotted names answer only patterns that contain a '.', so `CONFIG GET *` lists
// exactly Redis's parameters, as a Redis client expects.

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "config/config.h"

namespace ferrite {

// What CONFIG SET may do for its caller.
struct ConfigSetContext {
  bool loading = false;       // the dataset is loading: deny-loading parameters refuse
  bool protected_ok = false;  // enable-protected-configs allows this client
};

class ConfigRegistry {
 public:
  // Called after a successful SET with the canonical names that changed and the config as
  // it was; a failure reverts the whole SET.
  using ApplyHook =
      std::function<Status(const std::vector<std::string>& changed, const Config& old_config)>;

  using SetContext = ConfigSetContext;

  explicit ConfigRegistry(Config& config) : config_(config) {}

  // One pattern (glob, case-insensitive) or exact name; each parameter at most once.
  std::vector<std::pair<std::string, std::string>> Get(std::string_view pattern);
  // CONFIG GET with several patterns: the union, each name once.
  std::vector<std::pair<std::string, std::string>> GetMany(
      std::span<const std::string_view> patterns);
  // All-or-nothing, as Redis 7: every value is validated and set, then the apply hook runs;
  // any failure restores the configuration as it was. The error text is Redis's without the
  // leading "ERR "; Status::Busy means "refused while loading" (-LOADING).
  Status Set(const std::vector<std::pair<std::string_view, std::string_view>>& pairs,
             const SetContext& ctx = {});
  void SetApplyHook(ApplyHook hook) { hook_ = std::move(hook); }
  // A hook for one key (canonical name), run after a SET that changed it and before the
  // general hook; its error names that key's argument. When a later hook fails, the earlier
  // key hooks run again on the restored configuration, so what they applied is undone (the
  // net layer's rebinding of `port`). Returns an id for RemoveKeyHook.
  int AddKeyHook(std::string canonical, ApplyHook hook);
  void RemoveKeyHook(int id);

  std::vector<std::string> AllCanonicalNames() const;
  bool IsKnown(std::string_view name) const;

 private:
  Config& config_;
  ApplyHook hook_;
  struct KeyHook {
    int id;
    std::string key;
    ApplyHook fn;
  };
  std::vector<KeyHook> key_hooks_;
  int next_hook_id_ = 1;
};

// A complete TOML rendering of a configuration (CONFIG REWRITE, docs check).
std::string RenderToml(Config& c);

}  // namespace ferrite
