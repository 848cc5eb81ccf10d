#include "commands/command_table.h"

#include <cctype>

namespace ferrite {

CommandTable::CommandTable() {
  by_name_.reserve(256);
  RegisterServerFamily(*this);
  RegisterKeysFamily(*this);
  RegisterStringFamily(*this);
  RegisterBitopsFamily(*this);
  RegisterHashFamily(*this);
  RegisterListFamily(*this);
  RegisterSetFamily(*this);
  RegisterZSetFamily(*this);
  RegisterHllFamily(*this);
  RegisterPubSubFamily(*this);
  RegisterSortFamily(*this);
  all_.clear();
  for (auto& [name, spec] : by_name_) all_.push_back(&spec);
}

void CommandTable::Add(const CommandSpec& spec) { by_name_.emplace(spec.name, spec); }

const CommandSpec* CommandTable::Find(std::string_view name) const {
  char buf[64];
  if (name.size() >= sizeof(buf)) return nullptr;
  for (size_t i = 0; i < name.size(); i++) {
    buf[i] = static_cast<char>(tolower(static_cast<unsigned char>(name[i])));
  }
  auto it = by_name_.find(std::string(buf, name.size()));
  return it == by_name_.end() ? nullptr : &it->second;
}

std::vector<int> CommandTable::KeyPositions(const CommandSpec& spec, ArgList args) {
  std::vector<int> out;
  if (spec.first_key <= 0) return out;
  int last = spec.last_key < 0 ? int(args.size()) + spec.last_key : spec.last_key;
  for (int i = spec.first_key; i <= last && i < int(args.size()); i += spec.key_step) {
    out.push_back(i);
  }
  return out;
}

}  // namespace ferrite
