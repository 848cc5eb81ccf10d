#include "commands/command_table.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "base/strutil.h"
#include "commands/command_docs.h"

namespace ferrite {

const CommandSpec* CommandSpec::FindSubcommand(std::string_view sub) const {
  for (const CommandSpec* s : subcommands) {
    std::string_view full = s->name;
    size_t bar = full.find('|');
    if (bar != std::string_view::npos && EqualsIgnoreCase(full.substr(bar + 1), sub)) return s;
  }
  return nullptr;
}

CommandTable::CommandTable() {
  by_name_.reserve(256);
  RegisterServerFamily(*this);
  RegisterClientFamily(*this);
  RegisterConfigFamily(*this);
  RegisterDebugFamily(*this);
  RegisterCommandFamily(*this);
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
  RegisterSlowlogFamily(*this);  // SLOWLOG, LATENCY
  RegisterDumpFamily(*this);
  RegisterAclFamily(*this);
  all_.clear();
  for (auto& [name, spec] : by_name_) {
    AttachMeta(spec);
    all_.push_back(&spec);
  }
  std::sort(all_.begin(), all_.end(), [](const CommandSpec* a, const CommandSpec* b) {
    return strcmp(a->name, b->name) < 0;
  });
}

void CommandTable::Add(const CommandSpec& spec) { by_name_.emplace(spec.name, spec); }

void CommandTable::AddLate(const CommandSpec& spec) {
  auto [it, added] = by_name_.emplace(spec.name, spec);
  if (!added) return;
  // Node addresses stay valid when by_name_ rehashes; the list stays sorted by name.
  AttachMeta(it->second);
  all_.push_back(&it->second);
  std::sort(all_.begin(), all_.end(), [](const CommandSpec* a, const CommandSpec* b) {
    return strcmp(a->name, b->name) < 0;
  });
}

namespace {

// The engine's flag bits that Redis's command flags decide. Ferrite's kNoMulti (run at
// once inside MULTI) and kScriptFlags have no Redis flag of the same meaning and stay as
// registered.
uint32_t FlagsFromMeta(const CommandMeta& m, uint32_t registered) {
  static const std::pair<const char*, uint32_t> kMap[] = {
      {"write", cmd::kWrite},
      {"readonly", cmd::kReadOnly},
      {"denyoom", cmd::kDenyOom},
      {"admin", cmd::kAdmin},
      {"pubsub", cmd::kPubSub},
      {"noscript", cmd::kNoScript},
      {"loading", cmd::kLoading},
      {"stale", cmd::kStale},
      {"fast", cmd::kFast},
      {"no_auth", cmd::kNoAuth},
      {"blocking", cmd::kBlocking},
      {"may_replicate", cmd::kMayReplicate},
      {"skip_monitor", cmd::kSkipMonitor},
      {"no_mandatory_keys", cmd::kNoMandatoryKeys},
      {"movablekeys", cmd::kMovableKeys},
      {"no_multi", cmd::kDenyInMulti},
  };
  // kScriptFlags (a script's own flags decide) is Ferrite's too.
  uint32_t flags = registered & (cmd::kNoMulti | cmd::kScriptFlags);
  for (auto& [name, bit] : kMap) {
    if (m.HasFlag(name)) flags |= bit;
  }
  // Redis hides may_replicate from COMMAND INFO (so the captured table lacks it); these
  // are the 7.0 commands that carry it (it decides what CLIENT PAUSE WRITE holds).
  static const char* const kMayReplicate[] = {"pfcount", "publish", "spublish",
                                              "eval",    "evalsha", "fcall"};
  for (const char* n : kMayReplicate) {
    if (m.name == n) flags |= cmd::kMayReplicate;
  }
  return flags;
}

}  // namespace

// Redis's description replaces the registered flags and key range; a container gets one
// spec per subcommand Redis has (its handler answers the ones it does not implement with
// Redis's unknown-subcommand error).
void CommandTable::AttachMeta(CommandSpec& spec) {
  const CommandMeta* m = FindCommandMeta(spec.name);
  if (!m) return;
  spec.meta = m;
  spec.flags = FlagsFromMeta(*m, spec.flags);
  spec.arity = m->arity;
  spec.first_key = m->first_key;
  spec.last_key = m->last_key;
  spec.key_step = m->key_step;
  for (const CommandMeta& sm : m->subcommands) {
    names_.push_back(sm.name);
    CommandSpec sub = spec;
    sub.name = names_.back().c_str();
    sub.arity = sm.arity;
    sub.flags = FlagsFromMeta(sm, spec.flags);
    sub.first_key = sm.first_key;
    sub.last_key = sm.last_key;
    sub.key_step = sm.key_step;
    sub.meta = &sm;
    sub.parent = &spec;
    sub.subcommands.clear();
    subcommands_.push_back(std::move(sub));
    spec.subcommands.push_back(&subcommands_.back());
  }
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

const CommandSpec* CommandTable::Lookup(ArgList args) const {
  if (args.empty()) return nullptr;
  const CommandSpec* spec = Find(args[0]);
  if (!spec || args.size() == 1 || spec->subcommands.empty()) return spec;
  return spec->FindSubcommand(args[1]);
}

namespace {

// Redis's getKeysUsingKeySpecs: false when a spec cannot be followed on this line (an
// unknown or incomplete spec, numkeys not a number, keys past the end).
bool KeysFromSpecs(const CommandMeta& m, ArgList args, std::vector<KeyRef>* out) {
  int argc = int(args.size());
  for (const KeySpec& ks : m.key_specs) {
    if (ks.flags & keyflag::kNotKey) continue;
    int first = 0;
    if (ks.begin == KeySpec::Begin::kIndex) {
      first = ks.index;
    } else if (ks.begin == KeySpec::Begin::kKeyword) {
      int start = ks.startfrom > 0 ? ks.startfrom : argc + ks.startfrom;
      int end = ks.startfrom > 0 ? argc - 1 : 1;
      for (int i = start; i != end; i = start <= end ? i + 1 : i - 1) {
        if (i >= argc || i < 1) break;
        if (EqualsIgnoreCase(args[size_t(i)], ks.keyword)) {
          first = i + 1;
          break;
        }
      }
      if (!first) continue;  // keyword absent: this spec has no keys here
    } else {
      return false;
    }
    int last, step;
    if (ks.find == KeySpec::Find::kRange) {
      step = ks.keystep;
      if (ks.lastkey >= 0) {
        last = first + ks.lastkey;
      } else if (!ks.limit) {
        last = argc + ks.lastkey;
      } else {
        last = first + ((argc - first) / ks.limit + ks.lastkey);
      }
    } else if (ks.find == KeySpec::Find::kKeynum) {
      step = ks.keynumstep;
      if (ks.keynumidx >= argc || first + ks.keynumidx >= argc) return false;
      int64_t numkeys;
      if (!ParseInt64(args[size_t(first + ks.keynumidx)], &numkeys) || numkeys < 0 ||
          numkeys > argc) {
        return false;
      }
      first += ks.firstkey;
      last = first + int(numkeys) - 1;
    } else {
      return false;
    }
    if (last >= argc || last < first || first >= argc) {
      // numkeys 0 gives last < first: no keys from this spec, and Redis calls that invalid.
      return false;
    }
    for (int i = first; i <= last && step > 0; i += step) out->push_back({i, ks.flags});
    if (ks.flags & keyflag::kIncomplete) return false;
  }
  return true;
}

// The commands whose key flags depend on the arguments, or whose specs are incomplete:
// Redis's getkeys procedures. Returns false when the command has none.
bool KeysByRule(std::string_view name, ArgList args, std::vector<KeyRef>* out) {
  using namespace keyflag;
  size_t argc = args.size();
  if (name == "sort_ro") {
    out->push_back({1, kRO | kAccess});
    return true;
  }
  if (name == "sort") {
    out->push_back({1, kRO | kAccess});
    int store = 0;
    for (size_t i = 2; i < argc; i++) {
      if (EqualsIgnoreCase(args[i], "limit")) {
        i += 2;
      } else if (EqualsIgnoreCase(args[i], "get") || EqualsIgnoreCase(args[i], "by")) {
        i += 1;
      } else if (EqualsIgnoreCase(args[i], "store") && i + 1 < argc) {
        store = int(i + 1);  // the last STORE wins, as SORT itself
      }
    }
    if (store) out->push_back({store, kOW | kUpdate});
    return true;
  }
  if (name == "set") {
    uint32_t f = kOW | kUpdate;
    for (size_t i = 3; i < argc; i++) {
      if (EqualsIgnoreCase(args[i], "get")) f = kRW | kAccess | kUpdate;
    }
    out->push_back({1, f});
    return true;
  }
  if (name == "bitfield") {
    bool readonly = true;
    for (size_t i = 2; i < argc; i++) {
      size_t rem = argc - i - 1;
      if (EqualsIgnoreCase(args[i], "get") && rem >= 2) {
        i += 2;
      } else if ((EqualsIgnoreCase(args[i], "set") || EqualsIgnoreCase(args[i], "incrby")) &&
                 rem >= 3) {
        readonly = false;
        break;
      } else if (EqualsIgnoreCase(args[i], "overflow") && rem >= 1) {
        i += 1;
      } else {
        readonly = false;
        break;
      }
    }
    out->push_back({1, readonly ? kRO | kAccess : kRW | kAccess | kUpdate});
    return true;
  }
  if (name == "migrate") {
    size_t first = 3, num = 1;
    if (argc > 6) {
      for (size_t i = 6; i < argc; i++) {
        if (EqualsIgnoreCase(args[i], "keys")) {
          if (!args[3].empty()) {
            num = 0;
          } else {
            first = i + 1;
            num = argc - first;
          }
          break;
        }
        if (EqualsIgnoreCase(args[i], "auth")) i += 1;
        if (EqualsIgnoreCase(args[i], "auth2")) i += 2;
      }
    }
    for (size_t i = 0; i < num; i++) out->push_back({int(first + i), kRW | kAccess | kDelete});
    return true;
  }
  if (name == "georadius" || name == "georadiusbymember") {
    out->push_back({1, 0});
    int stored = -1;
    for (size_t i = 5; i < argc; i++) {
      if ((EqualsIgnoreCase(args[i], "store") || EqualsIgnoreCase(args[i], "storedist")) &&
          i + 1 < argc) {
        stored = int(i + 1);
        i++;
      }
    }
    if (stored > 0) out->push_back({stored, 0});
    return true;
  }
  return false;
}

}  // namespace

std::vector<KeyRef> CommandTable::GetKeys(const CommandSpec& spec, ArgList args, bool* ok) {
  std::vector<KeyRef> out;
  if (ok) *ok = true;
  if (const CommandMeta* m = spec.meta) {
    bool has_keyspec = false, has_varflags = false;
    for (auto& ks : m->key_specs) {
      has_keyspec |= !(ks.flags & keyflag::kNotKey);
      has_varflags |= (ks.flags & keyflag::kVariableFlags) != 0;
    }
    if (has_keyspec && !has_varflags) {
      if (KeysFromSpecs(*m, args, &out)) return out;
      out.clear();
    }
    if (KeysByRule(m->name, args, &out)) return out;
    if (ok) *ok = false;
    return out;
  }
  // A command Redis 7.0 does not describe: its registered legacy range.
  if (spec.first_key <= 0) return out;
  int last = spec.last_key < 0 ? int(args.size()) + spec.last_key : spec.last_key;
  for (int i = spec.first_key; i <= last && i < int(args.size()); i += spec.key_step) {
    out.push_back({i, 0});
  }
  return out;
}

std::vector<int> CommandTable::KeyPositions(const CommandSpec& spec, ArgList args) {
  std::vector<int> out;
  for (const KeyRef& k : GetKeys(spec, args)) out.push_back(k.pos);
  return out;
}

bool CommandTable::HasKeys(const CommandSpec& spec) {
  if (!spec.meta) return spec.first_key > 0;
  if (spec.meta->HasFlag("movablekeys")) return true;
  for (auto& ks : spec.meta->key_specs) {
    if (!(ks.flags & keyflag::kNotKey)) return true;
  }
  return false;
}

}  // namespace ferrite
