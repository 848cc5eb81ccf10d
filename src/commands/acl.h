#pragma once
// ACL: users, their passwords and permissions, as Redis 7.0's acl.c.
//
// A user has flags (on/off, nopass, sanitize-payload), SHA-256 password hashes (hex, as
// Redis stores them; compared in constant time) and one or more selectors: the root
// selector (the rules written outside parentheses) and the `(...)` ones. A command runs
// when any one selector allows the command, every key it names (with the access its key
// specs declare: read, write) and every channel it publishes or subscribes to.
//
// The rule language, the error texts, ACL LIST's description of a user (the best-fitting
// categories, then single commands) and the ACL file format are Redis's. Commands are known
// by an ID the Acl assigns from the engine's command table (containers and subcommands each
// have one); a selector keeps a bitmap of allowed IDs, and `+@all`/`allcommands` also allows
// commands registered after the rule was set (Redis's "future commands").
//
// Loop thread only.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "commands/command.h"

namespace ferrite {

class CommandTable;

namespace acl {

// Redis's ACL_* results (the order matters: the check reports the "largest" failure).
enum Result : int { kOk = 0, kDeniedCmd = 1, kDeniedKey = 2, kDeniedAuth = 3, kDeniedChannel = 4 };
// Where a denial happened (ACL LOG context).
enum class LogContext { kToplevel, kMulti, kLua, kModule };

inline constexpr int kPermRead = 1;
inline constexpr int kPermWrite = 2;
inline constexpr int kPermAll = 3;

// The categories, in Redis's order (ACL CAT, COMMAND INFO).
extern const char* const kCategoryNames[];
extern const size_t kCategoryCount;
// The category's bit (1 << index), 0 if unknown (case-insensitive, without '@').
uint64_t CategoryFlag(std::string_view name);

// SHA-256 of a password as 64 lowercase hex digits (OpenSSL's libcrypto).
std::string HashPassword(std::string_view clear);

struct KeyPattern {
  std::string pattern;
  int flags = kPermAll;  // kPermRead / kPermWrite / kPermAll
};

struct Selector {
  bool root = false;
  bool allkeys = false;
  bool allchannels = false;
  bool allcommands = false;   // the ALLCOMMANDS flag: no bit test at all
  bool future = false;        // +@all was the last word on commands not in the bitmap
  std::vector<bool> allowed;  // by command ID
  // `+cmd|arg` for a command without subcommands: first arguments allowed (by ID).
  std::map<uint32_t, std::vector<std::string>> firstargs;
  std::vector<KeyPattern> keys;
  std::vector<std::string> channels;

  bool Bit(uint32_t id) const { return id < allowed.size() ? bool(allowed[id]) : future; }
};

struct User {
  std::string name;
  bool enabled = false;
  bool nopass = false;
  // 0: neither flag shown, 1: sanitize-payload, 2: skip-sanitize-payload
  int sanitize = 0;
  std::vector<std::string> passwords;  // SHA-256 hex
  std::vector<Selector> selectors;     // [0] is the root selector
};

struct LogEntry {
  int64_t count = 1;
  Result reason = kDeniedCmd;
  LogContext context = LogContext::kToplevel;
  std::string object;
  std::string username;
  int64_t ctime_ms = 0;
  std::string client_info;
};

class Acl {
 public:
  // table: the engine's; commands added to it later get IDs on first use.
  explicit Acl(const CommandTable& table);

  // ---- users ----
  User* Find(std::string_view name);
  User* default_user() { return default_; }
  const std::map<std::string, std::unique_ptr<User>, std::less<>>& users() const { return users_; }
  // ACL SETUSER name rules...: applies every rule to a copy and installs it only if all are
  // valid. Returns the error text (without "ERR ") or nullopt. *created: the user is new.
  std::optional<std::string> SetUser(std::string_view name, const std::vector<std::string>& rules,
                                     bool* created = nullptr);
  // One rule applied to a user (Redis's ACLSetUser); false with *err set to Redis's reason.
  bool ApplyRule(User& u, std::string_view op, std::string* err);
  // Removes a user (never "default"); the engine disconnects its clients.
  std::unique_ptr<User> Remove(std::string_view name);
  // requirepass: the default user gets this password (empty: nopass), as Redis's
  // ACLUpdateDefaultUserPassword.
  void SetDefaultPassword(std::string_view pass);
  // User/password check (AUTH, HELLO): the user if it is on and the password matches.
  User* CheckCredentials(std::string_view user, std::string_view pass);

  // ---- description ----
  // The ACL LIST line without "user <name> ": flags, #hashes, selectors.
  std::string Describe(const User& u);
  std::string DescribeCommandRules(const Selector& s);
  std::string DescribeKeys(const Selector& s) const;      // ACL GETUSER "keys"
  std::string DescribeChannels(const Selector& s) const;  // ACL GETUSER "channels"

  // ---- checks ----
  // Whether user u may run spec with args; *pos: the argument that failed (key, channel).
  Result Check(const User* u, const CommandSpec& spec, ArgList args, int* pos = nullptr);
  // SORT's BY/GET: a selector allowing the command also has read access to every key.
  bool HasUnrestrictedRead(const User* u, const CommandSpec& spec, ArgList args);
  // Is the channel (or the literal pattern) allowed?
  bool ChannelAllowed(const User* u, std::string_view channel, bool is_pattern) const;
  // A user that may run anything: no check needed (the default user out of the box).
  static bool Unrestricted(const User* u) {
    return !u || (u->selectors.size() == 1 && u->selectors[0].allcommands &&
                  u->selectors[0].allkeys && u->selectors[0].allchannels);
  }

  // ---- ACL file ----
  // Parses an ACL file text; on success replaces every user (the default user object is
  // kept and its rules replaced) and returns the users that were removed or replaced (their
  // clients are disconnected). Error text as Redis's ACLLoadFromFile (nothing changes).
  std::optional<std::string> LoadFile(const std::string& path,
                                      std::vector<std::unique_ptr<User>>* dropped);
  Status SaveFile(const std::string& path);
  // Users from the configuration (each "name rule rule ..."); error: Redis's log text.
  Status LoadConfigUsers(const std::vector<std::string>& lines);

  // ---- log ----
  void AddLog(Result reason, LogContext ctx, std::string object, std::string username,
              std::string client_info, int64_t now_ms, size_t max_len);
  std::deque<LogEntry>& log() { return log_; }

  // ---- command index ----
  const std::vector<const CommandSpec*>& Commands();  // by ID
  uint32_t IdOf(const CommandSpec& spec);
  uint64_t Categories(const CommandSpec& spec);
  const CommandSpec* LookupForRule(std::string_view name);  // "get", "client|list"

 private:
  bool ApplySelectorRule(Selector& s, std::string_view op, std::string* err);
  Selector NewSelector(bool root) const;
  void SetBit(Selector& s, uint32_t id, bool v);
  void ChangePerm(Selector& s, const CommandSpec& spec, bool allow);
  void SetCategory(Selector& s, uint64_t cflag, bool v);
  Result CheckSelector(const Selector& s, const CommandSpec& spec, ArgList args, int* pos);
  void Reindex();

  const CommandTable& table_;
  size_t indexed_top_ = 0;
  std::vector<const CommandSpec*> by_id_;
  std::vector<uint64_t> cats_;  // by ID
  std::unordered_map<const CommandSpec*, uint32_t> ids_;
  std::map<std::string, uint32_t, std::less<>> id_by_name_;
  // Top-level commands by name (the table's and the phantoms), the order descriptions use.
  std::map<std::string, const CommandSpec*, std::less<>> tops_;
  std::deque<CommandSpec> phantoms_;  // Redis commands Ferrite lacks (stable addresses)
  std::map<std::string, std::unique_ptr<User>, std::less<>> users_;
  User* default_ = nullptr;
  std::deque<LogEntry> log_;

 public:
  bool pubsub_default_allchannels = false;  // acl-pubsub-default
};

// Merges "(a" "b)" arguments into one selector argument "(a b)" as Redis's
// ACLMergeSelectorArguments; nullopt with *bad set to the index of an unclosed one.
std::optional<std::vector<std::string>> MergeSelectorArgs(const std::vector<std::string>& in,
                                                          size_t* bad);
bool HasSpaces(std::string_view s);

}  // namespace acl
}  // namespace ferrite
