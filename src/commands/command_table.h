#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "commands/command.h"

namespace ferrite {

class CommandTable {
 public:
  CommandTable();
  void Add(const CommandSpec& spec);
  // Adds a command after construction (a library above commands, e.g. scripting).
  void AddLate(const CommandSpec& spec);
  // Case-insensitive lookup; nullptr if unknown.
  const CommandSpec* Find(std::string_view name) const;
  const std::vector<const CommandSpec*>& All() const { return all_; }

  // Key positions of a command line (COMMAND GETKEYS, WATCH checks, cluster later).
  static std::vector<int> KeyPositions(const CommandSpec& spec, ArgList args);

 private:
  std::unordered_map<std::string, CommandSpec> by_name_;
  std::vector<const CommandSpec*> all_;
};

}  // namespace ferrite
