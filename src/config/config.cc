#include "config/config.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#define TOML_EXCEPTIONS 1
#include <fmt/format.h>
#include <toml++/toml.h>

#include "base/strutil.h"
#include "config/redis_config.h"
#include "config/schema.h"
#include "config/units.h"

namespace ferrite {
namespace {

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); j++) prev[j] = j;
  for (size_t i = 1; i <= a.size(); i++) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); j++) {
      size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1] ? 1 : 0);
      cur[j] = std::min(std::min(prev[j] + 1, cur[j - 1] + 1), sub);
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

const char* TomlTypeName(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "a date/time";
  }
}

class Parser {
 public:
  explicit Parser(std::string_view source) : source_(source) {}

  Status Error(const toml::node& n, const std::string& key, const std::string& msg) {
    return Status::InvalidArgument(
        fmt::format("{}:{}: {}: {}", source_, n.source().begin.line, key, msg));
  }

  Status SetFromNode(const Param& p, Config& c, const toml::node& n) {
    std::string key = p.canonical();
    void* f = p.field ? p.field(c) : nullptr;
    switch (p.kind) {
      case ParamKind::kBool:
        if (!n.is_boolean())
          return Error(n, key, std::string("expected true or false, got ") + TomlTypeName(n));
        *static_cast<bool*>(f) = n.as_boolean()->get();
        return Status::Ok();
      case ParamKind::kInt: {
        if (!n.is_integer())
          return Error(n, key, std::string("expected an integer, got ") + TomlTypeName(n));
        int64_t v = n.as_integer()->get();
        if (v < p.min || v > p.max) {
          return Error(n, key,
                       fmt::format("expected an integer from {} to {}, got {}", p.min, p.max, v));
        }
        *static_cast<int64_t*>(f) = v;
        return Status::Ok();
      }
      case ParamKind::kNotify:
        if (!n.is_string())
          return Error(n, key,
                       std::string("expected a string like \"KEA\", got ") + TomlTypeName(n));
        if (Status st = ParseParamString(p, c, n.as_string()->get(), false); !st.ok())
          return Error(n, key, st.message());
        return Status::Ok();
      case ParamKind::kString:
        if (!n.is_string())
          return Error(n, key, std::string("expected a string, got ") + TomlTypeName(n));
        *static_cast<std::string*>(f) = n.as_string()->get();
        return Status::Ok();
      case ParamKind::kEnum: {
        if (!n.is_string())
          return Error(n, key, std::string("expected a string, got ") + TomlTypeName(n));
        std::string v = n.as_string()->get();
        for (size_t i = 0; i < p.choices.size(); i++) {
          if (v == p.choices[i]) {
            p.set_enum(c, int(i));
            return Status::Ok();
          }
        }
        std::string list;
        for (size_t i = 0; i < p.choices.size(); i++)
          list += (i ? ", \"" : "\"") + p.choices[i] + "\"";
        return Error(n, key, "expected one of " + list + ", got \"" + v + "\"");
      }
      case ParamKind::kSize:
      case ParamKind::kDuration: {
        bool size = p.kind == ParamKind::kSize;
        int64_t v;
        if (n.is_integer()) {
          v = n.as_integer()->get();
          if (v < 0) return Error(n, key, "expected a non-negative value");
          if (!size) v *= 1000;  // a bare integer duration is seconds
        } else if (n.is_string()) {
          auto r = size ? ParseSize(n.as_string()->get()) : ParseDurationMs(n.as_string()->get());
          if (!r.ok()) return Error(n, key, r.status().message());
          v = r.value();
        } else {
          return Error(n, key,
                       std::string(size ? "expected a size like \"64MB\""
                                        : "expected a duration like \"15min\"") +
                           ", got " + TomlTypeName(n));
        }
        *static_cast<int64_t*>(f) = v;
        return Status::Ok();
      }
      case ParamKind::kRules: {
        const toml::array* arr = n.as_array();
        if (!arr)
          return Error(n, key,
                       std::string("expected an array of { seconds = N, changes = M }, got ") +
                           TomlTypeName(n));
        std::vector<SaveRule> rules;
        for (const toml::node& el : *arr) {
          const toml::table* t = el.as_table();
          if (!t) return Error(el, key, "expected { seconds = N, changes = M }");
          SaveRule r;
          bool has_s = false, has_c = false;
          for (auto&& [k, v] : *t) {
            if (!v.is_integer())
              return Error(v, key + "." + std::string(k.str()), "expected an integer");
            int64_t x = v.as_integer()->get();
            if (k.str() == "seconds") {
              if (x < 1) return Error(v, key + ".seconds", "expected an integer >= 1");
              r.seconds = x;
              has_s = true;
            } else if (k.str() == "changes") {
              if (x < 0) return Error(v, key + ".changes", "expected an integer >= 0");
              r.changes = x;
              has_c = true;
            } else {
              return Error(
                  v, key,
                  "unknown field \"" + std::string(k.str()) + "\" (expected seconds and changes)");
            }
          }
          if (!has_s || !has_c) return Error(el, key, "each rule needs both seconds and changes");
          rules.push_back(r);
        }
        *static_cast<std::vector<SaveRule>*>(f) = std::move(rules);
        return Status::Ok();
      }
    }
    return Status::Ok();
  }

  Status Section(const std::string& section, const toml::table& t, Config& c) {
    bool saw_sync = false, saw_fsync = false;
    for (auto&& [k, node] : t) {
      std::string key(k.str());
      if (section == "acl" && key == "users") {
        // A list of strings, each "name rule rule ..." (redis.conf's user lines).
        const toml::array* arr = node.as_array();
        if (!arr)
          return Error(node, "acl.users",
                       std::string("expected an array of strings like \"alice on >pw ~app:* "
                                   "+@read\", got ") +
                           TomlTypeName(node));
        c.acl.users.clear();
        for (const toml::node& el : *arr) {
          if (!el.is_string()) return Error(el, "acl.users", "expected a string");
          std::string line = el.as_string()->get();
          if (line.find_first_not_of(" \t") == std::string::npos)
            return Error(el, "acl.users", "an empty user line");
          c.acl.users.push_back(std::move(line));
        }
        continue;
      }
      if (section == "storage" && key == "archive") {
        if (!node.is_table())
          return Error(node, "storage.archive", "expected a table [storage.archive]");
        if (Status st = Section("storage.archive", *node.as_table(), c); !st.ok()) return st;
        continue;
      }
      std::string lookup = section + "." + key;
      if (lookup == "persistence.aof_fsync_policy") {  // the spec's tuning section's name
        saw_fsync = true;
        lookup = "persistence.aof_sync_policy";
      } else if (lookup == "persistence.aof_sync_policy") {
        saw_sync = true;
      }
      if (saw_sync && saw_fsync) {
        return Error(node, section + "." + key,
                     "aof_sync_policy and its alias aof_fsync_policy are both set; keep one");
      }
      const Param* p = FindParam(lookup);
      if (!p) {
        std::string hint;
        size_t best = 3;
        for (const Param& q : ConfigSchema()) {
          if (q.section != section) continue;
          size_t d = EditDistance(key, q.key);
          if (d < best) {
            best = d;
            hint = " (did you mean " + q.key + "?)";
          }
        }
        return Status::InvalidArgument(fmt::format("{}:{}: unknown key {}.{}{}", source_,
                                                   node.source().begin.line, section, key, hint));
      }
      if (Status st = SetFromNode(*p, c, node); !st.ok()) return st;
    }
    return Status::Ok();
  }

  Result<Config> Parse(std::string_view text) {
    toml::table root;
    try {
      root = toml::parse(text, source_);
    } catch (const toml::parse_error& e) {
      return Status::InvalidArgument(fmt::format("{}:{}:{}: TOML syntax error: {}", source_,
                                                 e.source().begin.line, e.source().begin.column,
                                                 e.description()));
    }
    Config c = DefaultConfig();
    static const char* kSections[] = {"server",      "encoding", "persistence",
                                      "storage",     "recovery", "metrics",
                                      "replication", "acl",      "tls"};
    for (auto&& [k, node] : root) {
      std::string name(k.str());
      if (name == "redis" && node.is_table()) {
        if (Status st = RedisSection(*node.as_table(), c); !st.ok()) return st;
        continue;
      }
      bool known = false;
      for (const char* s : kSections) known |= name == s;
      if (!known || !node.is_table()) {
        return Status::InvalidArgument(fmt::format(
            "{}:{}: unknown section [{}] (sections: server, encoding, persistence, storage, "
            "storage.archive, recovery, metrics, replication, acl, tls, redis)",
            source_, node.source().begin.line, name));
      }
      if (Status st = Section(name, *node.as_table(), c); !st.ok()) return st;
      if (name == "storage" && !node.as_table()->contains("enabled")) {
        // A [storage] section that configures tiers (the spec's own example has no
        // `enabled` key) turns tiering on; only an explicit `enabled = false` keeps it off.
        // An archive table alone does not count ([storage.archive] needs tiering on).
        bool tiers = false;
        for (auto&& [key, value] : *node.as_table()) tiers |= key.str() != "archive";
        if (tiers) c.storage.enabled = true;
      }
    }
    return c;
  }

  // [redis]: parameters by their Redis 7.0 names ("repl-ping-replica-period" = 10), set as
  // redis-server's config file would set them (config/redis_config.h).
  Status RedisSection(const toml::table& t, Config& c) {
    bool save_seen = false;
    for (auto&& [k, node] : t) {
      std::string key(k.str());
      std::string value;
      if (node.is_string())
        value = node.as_string()->get();
      else if (node.is_integer())
        value = std::to_string(node.as_integer()->get());
      else if (node.is_boolean())
        value = node.as_boolean()->get() ? "yes" : "no";
      else
        return Error(node, "redis." + key,
                     std::string("expected a string, an integer or a "
                                 "boolean, got ") +
                         TomlTypeName(node));
      if (!FindRedisParam(key))
        return Error(node, "redis." + key, "not a Redis 7.0 configuration parameter");
      std::vector<std::string> args{value};
      if (Status st = ApplyRedisArgument(c, key, args, &save_seen); !st.ok())
        return Error(node, "redis." + key, st.message());
    }
    return Status::Ok();
  }

 private:
  std::string source_;
};

}  // namespace

Config DefaultConfig() { return Config(); }

Result<Config> ParseConfig(std::string_view text, std::string_view source_name) {
  Parser p(source_name);
  return p.Parse(text);
}

Result<Config> LoadConfigFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::IOError("cannot read config file " + path + ": " + strerror(errno));
  std::stringstream ss;
  ss << f.rdbuf();
  return ParseConfig(ss.str(), path);
}

Status ValidateConfig(const Config& c) {
  if (c.server.dir.empty()) return Status::InvalidArgument("server.dir: must not be empty");
  if (c.server.port < 0 || c.server.port > 65535) {
    return Status::InvalidArgument("server.port: expected 0..65535, got " +
                                   std::to_string(c.server.port));
  }
  if (c.server.databases < 1)
    return Status::InvalidArgument("server.databases: expected at least 1");
  if (!c.replication.replicaof.empty()) {
    const std::string& v = c.replication.replicaof;
    size_t sp = v.find(' ');
    int64_t port = -1;
    if (sp == std::string::npos || sp == 0 ||
        !ParseInt64(std::string_view(v).substr(sp + 1), &port) || port < 0 || port > 65535) {
      return Status::InvalidArgument(
          "replication.replicaof: expected \"<host> <port>\" (port 0..65535), got \"" + v + "\"");
    }
  }
  if (c.persistence.aof_file.empty() || c.persistence.aof_file.find('/') != std::string::npos) {
    return Status::InvalidArgument(
        "persistence.aof_file: expected a file name inside server.dir, got \"" +
        c.persistence.aof_file + "\"");
  }
  if (c.persistence.checkpoint_file.empty() ||
      c.persistence.checkpoint_file.find('/') != std::string::npos) {
    return Status::InvalidArgument(
        "persistence.checkpoint_file: expected a file name inside server.dir, got \"" +
        c.persistence.checkpoint_file + "\"");
  }
  if (c.storage.archive.enabled && c.storage.archive.bucket.empty()) {
    return Status::InvalidArgument(
        "storage.archive.bucket: required when storage.archive.enabled = true");
  }
  return Status::Ok();
}

}  // namespace ferrite
