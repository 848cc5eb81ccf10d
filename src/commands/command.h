#pragma once
// The command table entry and the context a handler runs in.
//
// A handler parses its arguments, calls Op-level functions on the keyspace and writes one
// reply. Writes are propagated (AOF, later replicas) as their *effect*: by default the
// command as received when it changed data (ctx.dirty > 0); a handler whose effect differs
// from its text (EXPIRE -> PEXPIREAT, INCRBYFLOAT -> SET) calls ctx.PropagateAs().

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/reply_builder.h"

namespace ferrite {

class Engine;
struct Session;
class Database;
struct CommandMeta;

namespace cmd {
enum Flags : uint32_t {
  kWrite = 1 << 0,
  kReadOnly = 1 << 1,
  kDenyOom = 1 << 2,
  kAdmin = 1 << 3,
  kPubSub = 1 << 4,
  kNoScript = 1 << 5,
  kLoading = 1 << 6,  // allowed while loading
  kStale = 1 << 7,
  kFast = 1 << 8,
  kNoAuth = 1 << 9,    // allowed before AUTH
  kNoMulti = 1 << 10,  // executed immediately even inside MULTI (EXEC, DISCARD, WATCH...)
  kBlocking = 1 << 11,
  kMayReplicate = 1 << 12,
  // EVAL*, FCALL*: the flags of this call come from the script (ScriptingHooks::CommandFlags).
  kScriptFlags = 1 << 13,
  kNoMandatoryKeys = 1 << 14,
  kSkipMonitor = 1 << 15,
  kMovableKeys = 1 << 16,  // keys found by parsing the arguments (numkeys), COMMAND INFO
  // Redis's `no-multi`: refused inside MULTI ("ERR Command not allowed inside a
  // transaction", and the transaction aborts) — SAVE, SHUTDOWN.
  kDenyInMulti = 1 << 17,
};
}  // namespace cmd

using ArgList = std::span<const std::string_view>;

struct CommandContext {
  Engine& engine;
  Session& session;
  ReplyBuilder& rb;
  ArgList args;
  int64_t now_ms;
  uint64_t dirty = 0;               // keys changed by this command
  bool custom_propagation = false;  // PropagateAs was used
  std::vector<std::vector<std::string>> propagated;

  Database& db();
  // Records the effect to log instead of the command text. May be called several times
  // (e.g. one DEL per expired key plus the command).
  void PropagateAs(std::vector<std::string> argv);
  bool propagating() const;  // false: PropagateAs() would be dropped, skip building it
  void NotifyModified(std::string_view key);  // WATCH + dirty counter
  // A keyspace notification for key in the session's database (notify:: class, Redis's
  // event name, e.g. Notify(notify::kString, "set", key)); nothing when the class is off.
  void Notify(uint32_t type, std::string_view event, std::string_view key);
  void Notify(uint32_t type, std::string_view event, std::string_view key, int db);
};

using Handler = void (*)(CommandContext& ctx);

struct CommandSpec {
  const char* name;  // lower case
  int arity;         // Redis convention: N exact, -N at least N
  uint32_t flags;
  int first_key;
  int last_key;  // -1 = last arg
  int key_step;
  Handler handler;
  const char* group;  // "string", "generic", "server", "connection", "transactions"
  const char* summary;
  const char* since = "1.0.0";
  const char* acl_categories = "";  // space separated, e.g. "@write @string @fast"

  // Filled in by the CommandTable at registration, never in a family's row:
  // Redis 7.0's description of the command (command_docs.h); nullptr when Redis has none.
  const CommandMeta* meta = nullptr;
  // A subcommand ("client|list") points at its container; a container lists its
  // subcommands (one per subcommand Redis 7.0 describes; they share the container's
  // handler, which dispatches on args[1]).
  const CommandSpec* parent = nullptr;
  std::vector<const CommandSpec*> subcommands;
  // Case-insensitive; nullptr if the container has no such subcommand.
  const CommandSpec* FindSubcommand(std::string_view sub) const;
};

// Registers a family's commands. Each *_family.cc defines one of these.
class CommandTable;
void RegisterStringFamily(CommandTable& t);
void RegisterKeysFamily(CommandTable& t);
void RegisterServerFamily(CommandTable& t);
void RegisterClientFamily(CommandTable& t);   // CLIENT
void RegisterConfigFamily(CommandTable& t);   // CONFIG
void RegisterDebugFamily(CommandTable& t);    // DEBUG
void RegisterCommandFamily(CommandTable& t);  // COMMAND
void RegisterBitopsFamily(CommandTable& t);
void RegisterHashFamily(CommandTable& t);
void RegisterListFamily(CommandTable& t);
void RegisterSetFamily(CommandTable& t);
void RegisterZSetFamily(CommandTable& t);
void RegisterHllFamily(CommandTable& t);
void RegisterPubSubFamily(CommandTable& t);
void RegisterSortFamily(CommandTable& t);
void RegisterGeoFamily(CommandTable& t);
void RegisterStreamFamily(CommandTable& t);
void RegisterSlowlogFamily(CommandTable& t);  // SLOWLOG, LATENCY
void RegisterDumpFamily(CommandTable& t);     // DUMP, RESTORE, MIGRATE
void RegisterAclFamily(CommandTable& t);      // ACL
// Closes MIGRATE's cached connections unused for 10 s (the engine's cron calls it).
void MigrateCachedSocketsCron(int64_t now_ms);

}  // namespace ferrite
