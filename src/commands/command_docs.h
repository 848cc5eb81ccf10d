#pragma once
// Redis 7.0's description of its commands: what `COMMAND INFO` and `COMMAND DOCS` answer
// (arity, flags, ACL categories, key specs, tips, subcommands, summary, arguments, history).
//
// The data is one generated table (command_docs_table.cc, written by
// scripts/gen_command_docs.py from a redis-server 7.0's own replies), keyed by command
// name. The command table attaches each row to the command of the same name at
// registration (CommandSpec::meta), so families never repeat it in their rows, and
// COMMAND INFO / DOCS / GETKEYS / LIST FILTERBY, the LOADING rule and the subcommand names
// of commandstats all read it from here.
//
// Notation of a row, one reply node per line:
//   *N array of N   %N map of N pairs   ~N set of N   +text simple string   $text bulk string
//   :N integer      _  null
// Texts escape backslash, newline and carriage return as \\ \n \r.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/reply_builder.h"

namespace ferrite {

struct CommandDocRow {
  const char* name;  // lower case, e.g. "client"
  const char* info;  // the COMMAND INFO entry (subcommands included)
  const char* docs;  // the COMMAND DOCS value (a map; subcommands included)
};
extern const CommandDocRow kCommandDocRows[];
extern const size_t kCommandDocRowCount;
extern const char* const kRedisVersionOfDocs;

// One reply node of the notation above.
struct DocNode {
  char type = '_';
  std::string text;
  int64_t num = 0;
  std::vector<DocNode> kids;  // a map's kids alternate key, value

  // Writes the node as a reply (maps and sets lowered for RESP2 by the builder).
  void Write(ReplyBuilder& rb) const;
  // A map's value for key (nullptr if absent or not a map).
  const DocNode* Get(std::string_view key) const;
};
// Parses one row text; malformed text (a bug in the generated table) aborts at start-up.
DocNode ParseDocNode(std::string_view text);

// Key-spec flags (COMMAND INFO key specs, GETKEYSANDFLAGS), as Redis's CMD_KEY_*.
namespace keyflag {
enum : uint32_t {
  kRO = 1 << 0,
  kRW = 1 << 1,
  kOW = 1 << 2,
  kRM = 1 << 3,
  kAccess = 1 << 4,
  kUpdate = 1 << 5,
  kInsert = 1 << 6,
  kDelete = 1 << 7,
  kNotKey = 1 << 8,
  kIncomplete = 1 << 9,
  kVariableFlags = 1 << 10,
};
}  // namespace keyflag
// Flag names in Redis's order (RO RW OW RM access update insert delete not_key incomplete
// variable_flags).
std::vector<const char*> KeyFlagNames(uint32_t flags);

struct KeySpec {
  uint32_t flags = 0;
  enum class Begin { kUnknown, kIndex, kKeyword } begin = Begin::kUnknown;
  int index = 0;        // kIndex: argument position
  std::string keyword;  // kKeyword: search for this token…
  int startfrom = 0;    // …from this position (negative: from the end, backwards)
  enum class Find { kUnknown, kRange, kKeynum } find = Find::kUnknown;
  int lastkey = 0, keystep = 1, limit = 0;          // kRange
  int keynumidx = 0, firstkey = 0, keynumstep = 1;  // kKeynum
};

// A command's (or subcommand's) Redis description, parsed from its row.
struct CommandMeta {
  std::string name;  // "get", or "client|list" for a subcommand
  int arity = 0;
  std::vector<std::string> flags;  // "write", "denyoom", … as COMMAND INFO lists them
  int first_key = 0, last_key = 0, key_step = 0;
  std::vector<std::string> acl_categories;  // "@write", …
  std::vector<KeySpec> key_specs;
  std::vector<CommandMeta> subcommands;
  const CommandDocRow* row = nullptr;      // the table row (a subcommand: its container's)
  mutable std::shared_ptr<DocNode> docs_;  // the parsed DOCS map of the row, shared
  // The COMMAND DOCS value, parsed from the table on first use (only COMMAND DOCS reads it;
  // the argument trees would otherwise cost a few MB for the whole life of the process).
  // Loop thread only.
  const DocNode& Docs() const;
  // Writes the COMMAND INFO entry as Redis does, parsed from the table at each call: kept
  // parsed for every command, the trees cost about a megabyte that counts against maxmemory.
  void WriteInfo(ReplyBuilder& rb) const;
  bool HasFlag(std::string_view f) const;
  bool InAclCategory(std::string_view cat) const;  // "write" or "@write"
};

// The metadata of a top-level command by (lower-case) name; nullptr if Redis 7.0 has none.
const CommandMeta* FindCommandMeta(std::string_view name);
// Every top-level command Redis 7.0 describes.
const std::vector<CommandMeta>& AllCommandMeta();

}  // namespace ferrite
