#pragma once
// Redis 7.0's configuration names: every parameter `CONFIG GET *` lists on a redis-server
// 7.0, with its alias, its kind and limits, its flags (immutable, protected, hidden,
// sensitive, refused while loading) and its default, so that CONFIG GET / CONFIG SET and
// the `--name value` command line behave as Redis's, error texts included.
//
// A name is either *mapped* to a field of Ferrite's typed Config (`ferrite` names the
// schema key, e.g. "server.maxmemory"): setting it changes what the server does. Or it is
// *stored*: accepted with Redis's validation and shown back by CONFIG GET, but the feature
// it configures is not built (replication, cluster, TLS, …); docs/configuration.md lists
// those as "accepted, no effect yet". Stored values live in Config::redis_stored.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "config/config.h"

namespace ferrite {

// Keyspace notification classes (notify-keyspace-events), Redis's NOTIFY_* bits.
namespace notify {
enum : uint32_t {
  kKeyspace = 1 << 0,  // K
  kKeyevent = 1 << 1,  // E
  kGeneric = 1 << 2,   // g
  kString = 1 << 3,    // $
  kList = 1 << 4,      // l
  kSet = 1 << 5,       // s
  kHash = 1 << 6,      // h
  kZset = 1 << 7,      // z
  kExpired = 1 << 8,   // x
  kEvicted = 1 << 9,   // e
  kStream = 1 << 10,   // t
  kKeyMiss = 1 << 11,  // m
  kLoaded = 1 << 12,   // (modules only)
  kModule = 1 << 13,   // d
  kNew = 1 << 14,      // n
  kAll = kGeneric | kString | kList | kSet | kHash | kZset | kExpired | kEvicted | kStream |
         kModule,  // A
};
}  // namespace notify
// "KEA" -> bits; -1 on an unknown character.
int64_t ParseNotifyFlags(std::string_view classes);
// Bits -> Redis's canonical string ("AKE", "gxKE" …).
std::string FormatNotifyFlags(int64_t flags);

struct RedisParam {
  enum Flag : uint32_t {
    kImmutable = 1 << 0,
    kProtected = 1 << 1,  // CONFIG SET needs enable-protected-configs
    kHidden = 1 << 2,     // CONFIG GET shows it only when asked by its exact name
    kSensitive = 1 << 3,
    kDenyLoading = 1 << 4,  // CONFIG SET answers -LOADING while the dataset loads
    kMultiArg = 1 << 5,     // several words on the command line (save, bind …)
    kVolatile = 1 << 6,
  };
  enum class Kind { kBool, kString, kEnum, kEnumFlags, kNumber, kSpecial };
  enum Num : uint32_t { kMem = 1, kPct = 2, kOct = 4, kUnsigned = 8 };

  const char* name;
  const char* alias;  // "" if none
  uint32_t flags;
  Kind kind;
  int64_t min, max;     // kNumber (max -1 with kUnsigned: no upper bound)
  uint32_t num;         // kNumber: Num bits
  const char* choices;  // kEnum / kEnumFlags, space separated, in Redis's order
  const char* def;      // default, as CONFIG GET shows it
  const char* ferrite;  // mapped schema key ("server.maxmemory"), "" when stored only
};

const std::vector<RedisParam>& RedisParams();
// By name or alias, case-insensitive; *is_alias tells which matched.
const RedisParam* FindRedisParam(std::string_view name, bool* is_alias = nullptr);

// The value CONFIG GET shows.
std::string GetRedisParam(const RedisParam& p, Config& c);
// Validates `value` as Redis would and stores it. Error text without "ERR": Redis's reason
// ("argument must be 'yes' or 'no'"). `from_file`: the command line / config file
// (multi-word values and `save` appending follow Redis's file rules there).
Status SetRedisParam(const RedisParam& p, Config& c, std::string_view value);

// Applies one `--name value…` (or `name value…` line) as redis-server's command line does.
// The values of a multi-argument config are joined by spaces; `save` lines after the first
// add rules instead of replacing them (redis.conf semantics), tracked by *save_seen.
Status ApplyRedisArgument(Config& c, std::string_view name, std::span<const std::string> values,
                          bool* save_seen);

}  // namespace ferrite
