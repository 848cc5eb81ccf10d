#include "config/registry.h"

#include <fmt/format.h>

#include "base/strutil.h"
#include "config/schema.h"
#include "config/units.h"

namespace ferrite {
namespace {

constexpr std::string_view kOutputLimit = "client-output-buffer-limit";

std::string OutputLimitString(const Config& c) {
  const auto& s = c.server;
  return fmt::format("normal {} {} {} replica 268435456 67108864 60 pubsub {} {} {}",
                     s.output_buffer_hard_limit, s.output_buffer_soft_limit,
                     s.output_buffer_soft_seconds, s.pubsub_output_buffer_hard_limit,
                     s.pubsub_output_buffer_soft_limit, s.pubsub_output_buffer_soft_seconds);
}

Status SetOutputLimit(Config& c, std::string_view v) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < v.size()) {
    while (i < v.size() && v[i] == ' ') i++;
    size_t j = i;
    while (j < v.size() && v[j] != ' ') j++;
    if (j > i) parts.emplace_back(v.substr(i, j - i));
    i = j;
  }
  if (parts.empty() || parts.size() % 4 != 0) {
    return Status::InvalidArgument("Wrong number of arguments in buffer limit configuration.");
  }
  for (size_t k = 0; k < parts.size(); k += 4) {
    auto hard = ParseSize(parts[k + 1]);
    auto soft = ParseSize(parts[k + 2]);
    int64_t secs;
    if (!hard.ok() || !soft.ok() || !ParseInt64(parts[k + 3], &secs) || secs < 0) {
      return Status::InvalidArgument(
          "Error in hard, soft or soft_seconds setting in buffer limit configuration.");
    }
    std::string cls = ToLower(parts[k]);
    if (cls == "normal") {
      c.server.output_buffer_hard_limit = hard.value();
      c.server.output_buffer_soft_limit = soft.value();
      c.server.output_buffer_soft_seconds = secs;
    } else if (cls == "pubsub") {
      c.server.pubsub_output_buffer_hard_limit = hard.value();
      c.server.pubsub_output_buffer_soft_limit = soft.value();
      c.server.pubsub_output_buffer_soft_seconds = secs;
    } else if (cls != "replica" && cls != "slave") {
      return Status::InvalidArgument(
          "Invalid client class specified in buffer limit configuration.");
    }
  }
  return Status::Ok();
}

// Finds a parameter by any of its names; redis_style tells how to format/parse values.
const Param* Lookup(std::string_view name, bool* redis_style) {
  for (const Param& p : ConfigSchema()) {
    if (EqualsIgnoreCase(p.canonical(), name)) {
      *redis_style = false;
      return &p;
    }
    for (auto& r : p.redis_names) {
      if (EqualsIgnoreCase(r, name)) {
        *redis_style = true;
        return &p;
      }
    }
  }
  return nullptr;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> ConfigRegistry::Get(std::string_view pattern) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Param& p : ConfigSchema()) {
    std::string canonical = p.canonical();
    // Prefer an exact match; then a Redis name; then the canonical name.
    const std::string* matched = nullptr;
    bool redis = false;
    for (auto& r : p.redis_names) {
      if (EqualsIgnoreCase(r, pattern)) {
        matched = &r;
        redis = true;
      }
    }
    if (!matched && EqualsIgnoreCase(canonical, pattern)) matched = &canonical;
    if (!matched) {
      for (auto& r : p.redis_names) {
        if (!matched && GlobMatch(pattern, r, true)) {
          matched = &r;
          redis = true;
        }
      }
    }
    if (!matched && GlobMatch(pattern, canonical, true)) matched = &canonical;
    if (matched) out.emplace_back(*matched, FormatParam(p, config_, redis));
  }
  if (GlobMatch(pattern, kOutputLimit, true)) {
    out.emplace_back(std::string(kOutputLimit), OutputLimitString(config_));
  }
  return out;
}

Status ConfigRegistry::Set(
    const std::vector<std::pair<std::string_view, std::string_view>>& pairs) {
  Config old = config_;
  std::vector<std::string> changed;
  auto fail = [&](std::string_view name, const std::string& reason) {
    config_ = old;
    return Status::InvalidArgument("CONFIG SET failed (possibly related to argument '" +
                                   std::string(name) + "') - " + reason);
  };
  for (auto& [name, value] : pairs) {
    if (EqualsIgnoreCase(name, kOutputLimit)) {
      for (auto& c : changed) {
        if (c == kOutputLimit) return fail(name, "duplicate parameter");
      }
      if (Status st = SetOutputLimit(config_, value); !st.ok()) return fail(name, st.message());
      changed.emplace_back(kOutputLimit);
      continue;
    }
    bool redis = false;
    const Param* p = Lookup(name, &redis);
    if (!p) {
      config_ = old;
      return Status::InvalidArgument("Unknown option or number of arguments for CONFIG SET - '" +
                                     std::string(name) + "'");
    }
    for (auto& c : changed) {
      if (c == p->canonical()) return fail(name, "duplicate parameter");
    }
    if (!p->runtime) return fail(name, "can't set immutable config");
    if (Status st = ParseParamString(*p, config_, value, redis); !st.ok()) {
      return fail(name, st.message());
    }
    changed.push_back(p->canonical());
  }
  if (hook_) {
    if (Status st = hook_(changed, old); !st.ok()) {
      return fail(pairs.front().first, st.message());
    }
  }
  return Status::Ok();
}

std::vector<std::string> ConfigRegistry::AllCanonicalNames() const {
  std::vector<std::string> out;
  for (const Param& p : ConfigSchema()) out.push_back(p.canonical());
  return out;
}

bool ConfigRegistry::IsKnown(std::string_view name) const {
  bool redis;
  return Lookup(name, &redis) != nullptr || EqualsIgnoreCase(name, kOutputLimit);
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
  return out;
}

}  // namespace ferrite
