#include "commands/command_table.h"

#include <cctype>

#include "base/strutil.h"

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
  RegisterGeoFamily(*this);
  RegisterStreamFamily(*this);
  RegisterSlowlogFamily(*this);  // #8
  RegisterDumpFamily(*this);
  all_.clear();
  for (auto& [name, spec] : by_name_) all_.push_back(&spec);
}

void CommandTable::Add(const CommandSpec& spec) { by_name_.emplace(spec.name, spec); }

void CommandTable::AddLate(const CommandSpec& spec) {
  auto [it, added] = by_name_.emplace(spec.name, spec);
  if (!added) return;
  // by_name_ may have rehashed: rebuild the list (node addresses stay valid).
  all_.clear();
  for (auto& [name, s] : by_name_) all_.push_back(&s);
}

const CommandSpec* CommandTable::Find(std::string_view name) const {
  char buf[64];
  if (name.size() >= sizeof(buf)) return nullptr;
  for (size_t i = 0; i < name.size(); i++) {
    buf[i] = static_cast<char>(tolower(static_cast<unsigned char>(name[i])));
  }
  auto it = by_name_.find(std::string(buf, name.size()));
  return it == by_name_.end() ? nullptr : &it->second;
}

namespace {

// Commands whose keys follow a numkeys argument: where numkeys is, and whether a
// destination key comes first.
struct NumkeysSpec {
  const char* name;
  int numkeys_at;
  bool dest_first;
};
constexpr NumkeysSpec kNumkeys[] = {
    {"lmpop", 1, false},      {"zmpop", 1, false},      {"sintercard", 1, false},
    {"zunion", 1, false},     {"zinter", 1, false},     {"zdiff", 1, false},
    {"zintercard", 1, false}, {"blmpop", 2, false},     {"bzmpop", 2, false},
    {"zunionstore", 2, true}, {"zinterstore", 2, true}, {"zdiffstore", 2, true},
    {"eval", 2, false},       {"evalsha", 2, false},    {"eval_ro", 2, false},
    {"evalsha_ro", 2, false}, {"fcall", 2, false},      {"fcall_ro", 2, false},
};

}  // namespace

std::vector<int> CommandTable::KeyPositions(const CommandSpec& spec, ArgList args) {
  std::vector<int> out;
  std::string_view name = spec.name;
  for (const auto& nk : kNumkeys) {
    if (name != nk.name) continue;
    int64_t n;
    if (size_t(nk.numkeys_at) >= args.size() || !ParseInt64(args[size_t(nk.numkeys_at)], &n) ||
        n <= 0)
      return out;
    if (nk.dest_first) out.push_back(1);
    for (int64_t i = 0; i < n && nk.numkeys_at + 1 + i < int64_t(args.size()); i++)
      out.push_back(int(nk.numkeys_at + 1 + i));
    return out;
  }
  if (name == "sort" || name == "sort_ro") {  // the key, and a STORE destination
    if (args.size() > 1) out.push_back(1);
    for (size_t i = 2; i + 1 < args.size(); i++) {
      if (EqualsIgnoreCase(args[i], "STORE")) out.push_back(int(++i));
    }
    return out;
  }
  if (name == "xread" || name == "xreadgroup") {
    // The keys are the first half of what follows STREAMS (Redis's key spec: keyword
    // STREAMS searched from the first argument, XREADGROUP's from the fourth).
    for (size_t i = name == "xread" ? 1 : 4; i < args.size(); i++) {
      if (!EqualsIgnoreCase(args[i], "STREAMS")) continue;
      size_t n = (args.size() - i - 1) / 2;
      for (size_t k = 0; k < n; k++) out.push_back(int(i + 1 + k));
      break;
    }
    return out;
  }
  if (name == "migrate") {  // the key, or with KEYS (and an empty key) every key after it
    for (size_t i = 6; i < args.size(); i++) {
      if (!EqualsIgnoreCase(args[i], "KEYS")) continue;
      for (size_t k = i + 1; k < args.size(); k++) out.push_back(int(k));
      return out;
    }
    if (args.size() > 3) out.push_back(3);
    return out;
  }
  if (name == "georadius" || name == "georadiusbymember") {
    // The source, then the STORE and STOREDIST destinations: Redis's key specs search each
    // keyword from the first option (the last argument is never taken as a keyword).
    if (args.size() > 1) out.push_back(1);
    size_t from = name == "georadius" ? 6 : 5;
    for (const char* kw : {"STORE", "STOREDIST"}) {
      for (size_t i = from; i + 1 < args.size(); i++) {
        if (EqualsIgnoreCase(args[i], kw)) {
          out.push_back(int(i + 1));
          break;
        }
      }
    }
    return out;
  }
  if (spec.first_key <= 0) return out;
  int last = spec.last_key < 0 ? int(args.size()) + spec.last_key : spec.last_key;
  for (int i = spec.first_key; i <= last && i < int(args.size()); i += spec.key_step) {
    out.push_back(i);
  }
  return out;
}

}  // namespace ferrite
