#include "config/registry.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "base/strutil.h"
#include "config/redis_config.h"
#include "config/schema.h"
#include "config/units.h"

namespace ferrite {
namespace {

bool HasGlob(std::string_view s) { return s.find_first_of("[*?") != std::string_view::npos; }

const Param* FindCanonical(std::string_view name) {
  for (const Param& p : ConfigSchema()) {
    if (EqualsIgnoreCase(p.canonical(), name)) return &p;
  }
  return nullptr;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> ConfigRegistry::Get(std::string_view pattern) {
  std::string_view one[] = {pattern};
  return GetMany(one);
}

std::vector<std::pair<std::string, std::string>> ConfigRegistry::GetMany(
    std::span<const std::string_view> patterns) {
  std::vector<std::pair<std::string, std::string>> out;
  std::set<std::string> seen;  // names already listed
  auto add = [&](const std::string& name, std::string value) {
    if (seen.insert(name).second) out.emplace_back(name, std::move(value));
  };
  for (std::string_view pattern : patterns) {
    if (!HasGlob(pattern)) {  // an exact name: Redis's (hidden ones too), or Ferrite's
      bool alias = false;
      if (const RedisParam* p = FindRedisParam(pattern, &alias)) {
        add(alias ? p->alias : p->name, GetRedisParam(*p, config_));
      } else if (const Param* fp = FindCanonical(pattern)) {
        add(fp->canonical(), FormatParam(*fp, config_, false));
      }
      continue;
    }
    for (const RedisParam& p : RedisParams()) {
      if (p.flags & RedisParam::kHidden) continue;  // hidden: exact name only, as Redis
      if (GlobMatch(pattern, p.name, true)) add(p.name, GetRedisParam(p, config_));
      if (p.alias[0] && GlobMatch(pattern, p.alias, true)) add(p.alias, GetRedisParam(p, config_));
    }
    if (pattern.find('.') != std::string_view::npos) {
      for (const Param& p : ConfigSchema()) {
        std::string canonical = p.canonical();
        if (GlobMatch(pattern, canonical, true)) add(canonical, FormatParam(p, config_, false));
      }
    }
  }
  return out;
}

Status ConfigRegistry::Set(const std::vector<std::pair<std::string_view, std::string_view>>& pairs,
                           const SetContext& ctx) {
  // Resolve and check every name first (unknown, immutable / protected, loading,
  // duplicate, as Redis), then set them in order.
  struct Item {
    const RedisParam* redis = nullptr;
    const Param* ferrite = nullptr;
    std::string_view name, value;
    std::string key;  // identity for the duplicate check
  };
  std::vector<Item> items;
  auto fail = [](std::string_view name, const std::string& reason) {
    return Status::InvalidArgument("CONFIG SET failed (possibly related to argument '" +
                                   std::string(name) + "') - " + reason);
  };
  // One pass as Redis's configSetCommand: the first problem found decides the error, and
  // after it only a first unknown name (before any other problem) is still recorded.
  bool invalid = false, deny_loading = false, has_unknown = false;
  std::string_view unknown, err_name;
  std::string errstr;
  for (auto& [name, value] : pairs) {
    Item it{nullptr, nullptr, name, value, ""};
    it.redis = FindRedisParam(name);
    if (!it.redis) it.ferrite = FindCanonical(name);
    if (!it.redis && !it.ferrite) {
      if (!invalid) {
        unknown = name;
        has_unknown = invalid = true;
      }
      continue;
    }
    if (invalid) continue;
    if (it.redis && it.redis->ferrite[0]) it.ferrite = FindParam(it.redis->ferrite);
    it.key = it.ferrite ? it.ferrite->canonical() : std::string(it.redis->name);
    if (it.redis && ((it.redis->flags & RedisParam::kImmutable) ||
                     ((it.redis->flags & RedisParam::kProtected) && !ctx.protected_ok))) {
      errstr = (it.redis->flags & RedisParam::kImmutable) ? "can't set immutable config"
                                                          : "can't set protected config";
      err_name = name;
      invalid = true;
      continue;
    }
    if (it.redis && (it.redis->flags & RedisParam::kDenyLoading) && ctx.loading) {
      deny_loading = true;
      invalid = true;
      continue;
    }
    for (const Item& prev : items) {
      if (prev.key == it.key) {
        errstr = "duplicate parameter";
        err_name = name;
        invalid = true;
        break;
      }
    }
    items.push_back(std::move(it));
  }
  if (deny_loading) return Status::Busy("LOADING Redis is loading the dataset in memory");
  if (has_unknown) {
    return Status::InvalidArgument("Unknown option or number of arguments for CONFIG SET - '" +
                                   std::string(unknown) + "'");
  }
  if (invalid) return fail(err_name, errstr);

  Config old = config_;
  std::vector<std::string> changed;
  for (const Item& it : items) {
    // A parameter Ferrite can only set at start-up: setting it to the value it has is
    // accepted (CONFIG SET of an unchanged value changes nothing in Redis either).
    if (it.ferrite && !it.ferrite->runtime) {
      Config probe = config_;
      Status st = it.redis ? SetRedisParam(*it.redis, probe, it.value)
                           : ParseParamString(*it.ferrite, probe, it.value, false);
      if (!st.ok()) {
        config_ = old;
        return fail(it.name, st.message());
      }
      if (FormatParam(*it.ferrite, probe, false) != FormatParam(*it.ferrite, config_, false)) {
        config_ = old;
        return fail(it.name, "can't set immutable config");
      }
      continue;
    }
    Status st = it.redis ? SetRedisParam(*it.redis, config_, it.value)
                         : ParseParamString(*it.ferrite, config_, it.value, false);
    if (!st.ok()) {
      config_ = old;
      return fail(it.name, st.message());
    }
    changed.push_back(it.key);
  }
  // Apply: the key hooks of changed keys, then the general hook; a failure restores the
  // old configuration and lets the hooks that already applied re-apply it.
  std::vector<const KeyHook*> ran;
  auto undo = [&](const Config& failed) {
    config_ = old;
    for (const KeyHook* h : ran) (void)h->fn(changed, failed);
  };
  for (const KeyHook& h : key_hooks_) {
    if (std::find(changed.begin(), changed.end(), h.key) == changed.end()) continue;
    if (Status st = h.fn(changed, old); !st.ok()) {
      Config failed = config_;
      undo(failed);
      std::string_view arg = pairs.front().first;
      for (const Item& it : items) {
        if (it.key == h.key) arg = it.name;
      }
      return fail(arg, st.message());
    }
    ran.push_back(&h);
  }
  if (hook_) {
    if (Status st = hook_(changed, old); !st.ok()) {
      Config failed = config_;
      undo(failed);
      return fail(pairs.front().first, st.message());
    }
  }
  return Status::Ok();
}

int ConfigRegistry::AddKeyHook(std::string canonical, ApplyHook hook) {
  int id = next_hook_id_++;
  key_hooks_.push_back({id, std::move(canonical), std::move(hook)});
  return id;
}

void ConfigRegistry::RemoveKeyHook(int id) {
  std::erase_if(key_hooks_, [id](const KeyHook& h) { return h.id == id; });
}

std::vector<std::string> ConfigRegistry::AllCanonicalNames() const {
  std::vector<std::string> out;
  for (const Param& p : ConfigSchema()) out.push_back(p.canonical());
  return out;
}

bool ConfigRegistry::IsKnown(std::string_view name) const {
  return FindRedisParam(name) != nullptr || FindCanonical(name) != nullptr;
}

std::string RenderToml(Config& c) {
  std::string out;
  std::string section;
  for (const Param& p : ConfigSchema()) {
    if (p.section != section) {
      section = p.section;
      out += (out.empty() ? "" : "\n") + std::string("[") + section + "]\n";
    }
    std::string v = FormatParam(p, c, false);
    switch (p.kind) {
      case ParamKind::kBool:
      case ParamKind::kInt:
        out += p.key + " = " + v + "\n";
        break;
      case ParamKind::kRules: {
        out += p.key + " = [";
        const auto& rules = c.persistence.checkpoint_rules;
        for (size_t i = 0; i < rules.size(); i++) {
          out += fmt::format("{}{{ seconds = {}, changes = {} }}", i ? ", " : "", rules[i].seconds,
                             rules[i].changes);
        }
        out += "]\n";
        break;
      }
      default: {
        std::string esc;
        for (char ch : v) {
          if (ch == '"' || ch == '\\') esc.push_back('\\');
          esc.push_back(ch);
        }
        out += p.key + " = \"" + esc + "\"\n";
      }
    }
  }
  if (!c.redis_stored.empty()) {
    out += "\n[redis]\n";
    for (auto& [k, v] : c.redis_stored) {
      std::string esc;
      for (char ch : v) {
        if (ch == '"' || ch == '\\') esc.push_back('\\');
        esc.push_back(ch);
      }
      out += "\"" + k + "\" = \"" + esc + "\"\n";
    }
  }
  return out;
}

}  // namespace ferrite
