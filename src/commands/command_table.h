#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "commands/command.h"

namespace ferrite {

// A key argument of a command line and what the command does with it (keyflag::*).
struct KeyRef {
  int pos;
  uint32_t flags;
};

class CommandTable {
 public:
  CommandTable();
  void Add(const CommandSpec& spec);
  // Adds a command after construction (a library above commands, e.g. scripting).
  void AddLate(const CommandSpec& spec);
  // Case-insensitive lookup of a top-level command; nullptr if unknown.
  const CommandSpec* Find(std::string_view name) const;
  // The command a line runs, as Redis's lookupCommand: a container's subcommand when the
  // line has one (nullptr if the container has no such subcommand), else the command.
  const CommandSpec* Lookup(ArgList args) const;
  // Top-level commands.
  const std::vector<const CommandSpec*>& All() const { return all_; }

  // The key arguments of a command line (COMMAND GETKEYS, tier prefetch), as Redis 7.0
  // finds them: the key specs when they are complete and their flags fixed, else the
  // command's own rule (SORT's STORE, SET's GET, BITFIELD's writes, MIGRATE's KEYS …).
  // *ok = false when the specs say the line is malformed (numkeys out of range …).
  static std::vector<KeyRef> GetKeys(const CommandSpec& spec, ArgList args, bool* ok = nullptr);
  // Only the positions of GetKeys.
  static std::vector<int> KeyPositions(const CommandSpec& spec, ArgList args);
  // Whether the command has key arguments at all (COMMAND GETKEYS's first check).
  static bool HasKeys(const CommandSpec& spec);

 private:
  void AttachMeta(CommandSpec& spec);
  std::unordered_map<std::string, CommandSpec> by_name_;
  std::deque<CommandSpec> subcommands_;  // stable addresses
  std::deque<std::string> names_;        // subcommand names ("client|list")
  std::vector<const CommandSpec*> all_;
};

}  // namespace ferrite
