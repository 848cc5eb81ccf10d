#include "commands/acl.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/strutil.h"
#include "commands/command_docs.h"
#include "commands/command_table.h"

namespace ferrite::acl {

const char* const kCategoryNames[] = {
    "keyspace", "read",   "write",       "set",       "sortedset",  "list",        "hash",
    "string",   "bitmap", "hyperloglog", "geo",       "stream",     "pubsub",      "admin",
    "fast",     "slow",   "blocking",    "dangerous", "connection", "transaction", "scripting"};
const size_t kCategoryCount = sizeof(kCategoryNames) / sizeof(kCategoryNames[0]);

uint64_t CategoryFlag(std::string_view name) {
  for (size_t j = 0; j < kCategoryCount; j++) {
    if (EqualsIgnoreCase(name, kCategoryNames[j])) return uint64_t(1) << j;
  }
  return 0;
}

std::string HashPassword(std::string_view clear) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(clear.data(), clear.size(), md, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (unsigned i = 0; i < len; i++) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

namespace {

// Constant time in the length compared (both are 64 hex digits): no early exit.
bool TimeIndependentEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned diff = 0;
  for (size_t j = 0; j < a.size(); j++) diff |= unsigned(uint8_t(a[j]) ^ uint8_t(b[j]));
  return diff == 0;
}

bool ValidHash(std::string_view h) {
  if (h.size() != 64) return false;
  for (char c : h) {
    if ((c < 'a' || c > 'f') && (c < '0' || c > '9')) return false;
  }
  return true;
}

enum Err { kEINVAL, kENOENT, kEEXIST, kEISDIR, kENODEV, kEBADMSG, kECHILD };

const char* ErrText(Err e) {
  switch (e) {
    case kENOENT:
      return "Unknown command or category name in ACL";
    case kEINVAL:
      return "Syntax error";
    case kEEXIST:
      return "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and "
             "does not have any effect. Try 'resetkeys' to start with an empty list of patterns";
    case kEISDIR:
      return "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and "
             "does not have any effect. Try 'resetchannels' to start with an empty list of "
             "channels";
    case kENODEV:
      return "The password you are trying to remove from the user does not exist";
    case kEBADMSG:
      return "The password hash must be exactly 64 characters and contain only lowercase "
             "hexadecimal characters";
    case kECHILD:
      return "Allowing first-arg of a subcommand is not supported";
  }
  return "Wrong format";
}

bool Fail(std::string* err, Err e) {
  if (err) *err = ErrText(e);
  return false;
}

std::string PatternString(const KeyPattern& p) {
  if (p.flags == kPermAll) return "~" + p.pattern;
  if (p.flags == kPermRead) return "%R~" + p.pattern;
  return "%W~" + p.pattern;
}

// Splits a string on spaces as Redis's sdssplitargs does for selector bodies (quotes are
// honoured; rules never contain spaces, so plain splitting is what matters).
std::vector<std::string> SplitArgs(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && isspace(static_cast<unsigned char>(s[i]))) i++;
    if (i >= s.size()) break;
    std::string cur;
    if (s[i] == '"' || s[i] == '\'') {
      char q = s[i++];
      while (i < s.size() && s[i] != q) cur += s[i++];
      if (i < s.size()) i++;
    } else {
      while (i < s.size() && !isspace(static_cast<unsigned char>(s[i]))) cur += s[i++];
    }
    out.push_back(std::move(cur));
  }
  return out;
}

}  // namespace

bool HasSpaces(std::string_view s) {
  for (char c : s) {
    if (isspace(static_cast<unsigned char>(c)) || c == 0) return true;
  }
  return false;
}

std::optional<std::vector<std::string>> MergeSelectorArgs(const std::vector<std::string>& in,
                                                          size_t* bad) {
  std::vector<std::string> out;
  std::string sel;
  bool open = false;
  size_t start = 0;
  for (size_t j = 0; j < in.size(); j++) {
    const std::string& op = in[j];
    if (!op.empty() && op[0] == '(' && op.back() != ')') {
      sel = op;
      open = true;
      start = j;
      continue;
    }
    if (open) {
      sel += " " + op;
      if (!op.empty() && op.back() == ')') {
        open = false;
        out.push_back(std::move(sel));
        sel.clear();
      }
      continue;
    }
    out.push_back(op);
  }
  if (open) {
    if (bad) *bad = start;
    return std::nullopt;
  }
  return out;
}

Acl::Acl(const CommandTable& table) : table_(table) {
  auto u = std::make_unique<User>();
  u->name = "default";
  u->selectors.push_back(NewSelector(true));
  default_ = u.get();
  users_["default"] = std::move(u);
  std::string err;
  for (const char* r : {"+@all", "~*", "&*", "on", "nopass"}) ApplyRule(*default_, r, &err);
}

// ---------------------------------------------------------------- command index

void Acl::Reindex() {
  const auto& all = table_.All();
  if (all.size() == indexed_top_) return;
  indexed_top_ = all.size();
  // A command keeps its ID by name: one registered after the index was first built (EVAL,
  // REPLCONF…) takes over the ID its Redis description had, with the rules already set on it.
  auto add = [&](const CommandSpec* s) {
    auto it = id_by_name_.find(s->name);
    uint32_t id;
    if (it != id_by_name_.end()) {
      id = it->second;
      if (by_id_[id] == s) return;
      ids_.erase(by_id_[id]);
      by_id_[id] = s;
    } else {
      id = uint32_t(by_id_.size());
      by_id_.push_back(s);
      cats_.push_back(0);
      id_by_name_[s->name] = id;
    }
    ids_[s] = id;
    uint64_t cats = 0;
    if (s->meta) {
      for (const std::string& c : s->meta->acl_categories) {
        cats |= CategoryFlag(std::string_view(c).substr(c.rfind('@', 0) == 0 ? 1 : 0));
      }
    } else {
      std::istringstream in(s->acl_categories);
      std::string c;
      while (in >> c) cats |= CategoryFlag(std::string_view(c).substr(c[0] == '@' ? 1 : 0));
    }
    cats_[id] = cats;
  };
  for (const CommandSpec* s : all) {
    add(s);
    for (const CommandSpec* sub : s->subcommands) add(sub);
    tops_[s->name] = s;
  }
  // Redis 7.0's commands Ferrite does not have (CLUSTER, READONLY, MODULE…): rules may name
  // them and categories hold them, as in Redis, so an ACL file written for redis-server
  // loads unchanged. They are never run (the engine answers "unknown command").
  for (const CommandMeta& m : AllCommandMeta()) {
    if (tops_.count(m.name)) continue;
    phantoms_.emplace_back();
    CommandSpec& p = phantoms_.back();
    p.name = m.name.c_str();
    p.arity = m.arity;
    p.meta = &m;
    for (const CommandMeta& sm : m.subcommands) {
      phantoms_.emplace_back();
      CommandSpec& sub = phantoms_.back();
      sub.name = sm.name.c_str();
      sub.arity = sm.arity;
      sub.meta = &sm;
      sub.parent = &p;
      p.subcommands.push_back(&sub);
    }
    add(&p);
    for (const CommandSpec* sub : p.subcommands) add(sub);
    tops_[m.name] = &p;
  }
}

const std::vector<const CommandSpec*>& Acl::Commands() {
  Reindex();
  return by_id_;
}

uint32_t Acl::IdOf(const CommandSpec& spec) {
  Reindex();
  auto it = ids_.find(&spec);
  return it == ids_.end() ? UINT32_MAX : it->second;
}

uint64_t Acl::Categories(const CommandSpec& spec) {
  uint32_t id = IdOf(spec);
  return id == UINT32_MAX ? 0 : cats_[id];
}

const CommandSpec* Acl::LookupForRule(std::string_view name) {
  Reindex();
  size_t bar = name.find('|');
  auto it = tops_.find(ToLower(name.substr(0, bar)));
  if (it == tops_.end()) return nullptr;
  const CommandSpec* c = it->second;
  if (bar == std::string_view::npos) return c;
  // Only one level of subcommands: "a|b|c" is unknown.
  return c->FindSubcommand(name.substr(bar + 1));
}

// ---------------------------------------------------------------- rules

Selector Acl::NewSelector(bool root) const {
  Selector s;
  s.root = root;
  s.allchannels = pubsub_default_allchannels;
  return s;
}

void Acl::SetBit(Selector& s, uint32_t id, bool v) {
  if (id >= s.allowed.size())
    s.allowed.resize(by_id_.size() > id ? by_id_.size() : id + 1, s.future);
  s.allowed[id] = v;
  if (!v) s.allcommands = false;
}

void Acl::ChangePerm(Selector& s, const CommandSpec& spec, bool allow) {
  uint32_t id = IdOf(spec);
  if (id == UINT32_MAX) return;
  SetBit(s, id, allow);
  s.firstargs.erase(id);
  for (const CommandSpec* sub : spec.subcommands) SetBit(s, IdOf(*sub), allow);
}

void Acl::SetCategory(Selector& s, uint64_t cflag, bool v) {
  Reindex();
  for (uint32_t id = 0; id < by_id_.size(); id++) {
    if (cats_[id] & cflag) ChangePerm(s, *by_id_[id], v);
  }
}

bool Acl::ApplySelectorRule(Selector& s, std::string_view op, std::string* err) {
  Reindex();
  if (EqualsIgnoreCase(op, "allkeys") || op == "~*") {
    s.allkeys = true;
    s.keys.clear();
  } else if (EqualsIgnoreCase(op, "resetkeys")) {
    s.allkeys = false;
    s.keys.clear();
  } else if (EqualsIgnoreCase(op, "allchannels") || op == "&*") {
    s.allchannels = true;
    s.channels.clear();
  } else if (EqualsIgnoreCase(op, "resetchannels")) {
    s.allchannels = false;
    s.channels.clear();
  } else if (EqualsIgnoreCase(op, "allcommands") || EqualsIgnoreCase(op, "+@all")) {
    s.allowed.assign(by_id_.size(), true);
    s.future = true;
    s.allcommands = true;
    s.firstargs.clear();
  } else if (EqualsIgnoreCase(op, "nocommands") || EqualsIgnoreCase(op, "-@all")) {
    s.allowed.assign(by_id_.size(), false);
    s.future = false;
    s.allcommands = false;
    s.firstargs.clear();
  } else if (op[0] == '~' || op[0] == '%') {
    if (s.allkeys) return Fail(err, kEEXIST);
    int flags = 0;
    size_t off = 1;
    if (op[0] == '%') {
      for (; off < op.size(); off++) {
        char c = char(toupper(static_cast<unsigned char>(op[off])));
        if (c == 'R' && !(flags & kPermRead)) {
          flags |= kPermRead;
        } else if (c == 'W' && !(flags & kPermWrite)) {
          flags |= kPermWrite;
        } else if (op[off] == '~') {
          off++;
          break;
        } else {
          return Fail(err, kEINVAL);
        }
      }
    } else {
      flags = kPermAll;
    }
    std::string_view pat = op.substr(std::min(off, op.size()));
    if (HasSpaces(pat)) return Fail(err, kEINVAL);
    auto it = std::find_if(s.keys.begin(), s.keys.end(),
                           [&](const KeyPattern& k) { return k.pattern == pat; });
    if (it == s.keys.end()) {
      s.keys.push_back({std::string(pat), flags});
    } else {
      it->flags |= flags;
    }
    s.allkeys = false;
  } else if (op[0] == '&') {
    if (s.allchannels) return Fail(err, kEISDIR);
    std::string_view pat = op.substr(1);
    if (HasSpaces(pat)) return Fail(err, kEINVAL);
    if (std::find(s.channels.begin(), s.channels.end(), pat) == s.channels.end())
      s.channels.emplace_back(pat);
    s.allchannels = false;
  } else if (op[0] == '+' && (op.size() < 2 || op[1] != '@')) {
    std::string_view name = op.substr(1);
    size_t bar = name.rfind('|');
    if (bar == std::string_view::npos) {
      const CommandSpec* c = LookupForRule(name);
      if (!c) return Fail(err, kENOENT);
      ChangePerm(s, *c, true);
    } else {
      std::string_view base = name.substr(0, bar), sub = name.substr(bar + 1);
      const CommandSpec* c = LookupForRule(base);
      if (!c) return Fail(err, kENOENT);
      if (c->parent) return Fail(err, kECHILD);
      if (sub.empty()) return Fail(err, kEINVAL);
      if (!c->subcommands.empty()) {
        const CommandSpec* sc = LookupForRule(name);
        if (!sc) return Fail(err, kENOENT);
        ChangePerm(s, *sc, true);
      } else {
        // Allowing one first argument of an otherwise blocked command (deprecated in Redis).
        auto& v = s.firstargs[IdOf(*c)];
        bool dup = false;
        for (const auto& a : v) dup |= EqualsIgnoreCase(a, sub);
        if (!dup) v.emplace_back(sub);
      }
    }
  } else if (op[0] == '-' && (op.size() < 2 || op[1] != '@')) {
    const CommandSpec* c = LookupForRule(op.substr(1));
    if (!c) return Fail(err, kENOENT);
    ChangePerm(s, *c, false);
  } else if ((op[0] == '+' || op[0] == '-') && op[1] == '@') {
    uint64_t f = CategoryFlag(op.substr(2));
    if (!f) return Fail(err, kENOENT);
    SetCategory(s, f, op[0] == '+');
  } else {
    return Fail(err, kEINVAL);
  }
  return true;
}

bool Acl::ApplyRule(User& u, std::string_view op, std::string* err) {
  if (op.empty()) return true;
  if (EqualsIgnoreCase(op, "on")) {
    u.enabled = true;
  } else if (EqualsIgnoreCase(op, "off")) {
    u.enabled = false;
  } else if (EqualsIgnoreCase(op, "skip-sanitize-payload")) {
    u.sanitize = 2;
  } else if (EqualsIgnoreCase(op, "sanitize-payload")) {
    u.sanitize = 1;
  } else if (EqualsIgnoreCase(op, "nopass")) {
    u.nopass = true;
    u.passwords.clear();
  } else if (EqualsIgnoreCase(op, "resetpass")) {
    u.nopass = false;
    u.passwords.clear();
  } else if (op[0] == '>' || op[0] == '#') {
    std::string h;
    if (op[0] == '>') {
      h = HashPassword(op.substr(1));
    } else {
      if (!ValidHash(op.substr(1))) return Fail(err, kEBADMSG);
      h = std::string(op.substr(1));
    }
    if (std::find(u.passwords.begin(), u.passwords.end(), h) == u.passwords.end())
      u.passwords.push_back(std::move(h));
    u.nopass = false;
  } else if (op[0] == '<' || op[0] == '!') {
    std::string h;
    if (op[0] == '<') {
      h = HashPassword(op.substr(1));
    } else {
      if (!ValidHash(op.substr(1))) return Fail(err, kEBADMSG);
      h = std::string(op.substr(1));
    }
    auto it = std::find(u.passwords.begin(), u.passwords.end(), h);
    if (it == u.passwords.end()) return Fail(err, kENODEV);
    u.passwords.erase(it);
  } else if (op[0] == '(' && op.back() == ')') {
    Selector s = NewSelector(false);
    for (const std::string& r : SplitArgs(op.substr(1, op.size() - 2))) {
      if (!ApplySelectorRule(s, r, err)) return false;
    }
    u.selectors.push_back(std::move(s));
  } else if (EqualsIgnoreCase(op, "clearselectors")) {
    u.selectors.resize(1);
  } else if (EqualsIgnoreCase(op, "reset")) {
    ApplyRule(u, "resetpass", err);
    ApplyRule(u, "resetkeys", err);
    ApplyRule(u, "resetchannels", err);
    if (pubsub_default_allchannels) ApplyRule(u, "allchannels", err);
    ApplyRule(u, "off", err);
    ApplyRule(u, "sanitize-payload", err);
    ApplyRule(u, "clearselectors", err);
    ApplyRule(u, "-@all", err);
  } else {
    return ApplySelectorRule(u.selectors[0], op, err);
  }
  return true;
}

User* Acl::Find(std::string_view name) {
  auto it = users_.find(name);
  return it == users_.end() ? nullptr : it->second.get();
}

std::optional<std::string> Acl::SetUser(std::string_view name,
                                        const std::vector<std::string>& rules, bool* created) {
  size_t bad = 0;
  auto merged = MergeSelectorArgs(rules, &bad);
  if (!merged) return "Unmatched parenthesis in acl selector starting at '" + rules[bad] + "'.";
  User* existing = Find(name);
  User temp;
  if (existing) {
    temp = *existing;
  } else {
    temp.name = std::string(name);
    temp.selectors.push_back(NewSelector(true));
  }
  for (const std::string& r : *merged) {
    std::string err;
    if (!ApplyRule(temp, r, &err)) return "Error in ACL SETUSER modifier '" + r + "': " + err;
  }
  if (created) *created = !existing;
  if (existing) {
    *existing = std::move(temp);
  } else {
    users_[std::string(name)] = std::make_unique<User>(std::move(temp));
  }
  return std::nullopt;
}

std::unique_ptr<User> Acl::Remove(std::string_view name) {
  auto it = users_.find(name);
  if (it == users_.end() || it->second.get() == default_) return nullptr;
  auto u = std::move(it->second);
  users_.erase(it);
  return u;
}

void Acl::SetDefaultPassword(std::string_view pass) {
  std::string err;
  ApplyRule(*default_, "resetpass", &err);
  if (pass.empty()) {
    ApplyRule(*default_, "nopass", &err);
  } else {
    ApplyRule(*default_, ">" + std::string(pass), &err);
  }
}

User* Acl::CheckCredentials(std::string_view name, std::string_view pass) {
  User* u = Find(name);
  if (!u || !u->enabled) return nullptr;
  if (u->nopass) return u;
  std::string h = HashPassword(pass);
  bool ok = false;
  for (const std::string& p : u->passwords) ok |= TimeIndependentEqual(h, p);
  return ok ? u : nullptr;
}

// ---------------------------------------------------------------- description

std::string Acl::DescribeCommandRules(const Selector& sel) {
  Reindex();
  size_t n = by_id_.size();
  std::vector<bool> target(n);
  for (uint32_t id = 0; id < n; id++) target[id] = sel.Bit(id);
  bool additive = !sel.future;
  std::string rules = additive ? "-@all " : "+@all ";
  // fake: what the emitted rules produce so far; temp: what is left to explain.
  std::vector<bool> fake(n, !additive), temp = target;
  auto apply_cat = [&](std::vector<bool>& bits, uint64_t cflag, bool v) {
    for (uint32_t id = 0; id < n; id++) {
      if (!(cats_[id] & cflag)) continue;
      bits[id] = v;
      for (const CommandSpec* sub : by_id_[id]->subcommands) bits[ids_[sub]] = v;
    }
  };
  std::vector<bool> applied(kCategoryCount, false);
  while (true) {
    int best = -1;
    uint64_t mindiff = INT_MAX, maxsame = 0;
    for (size_t j = 0; j < kCategoryCount; j++) {
      if (applied[j]) continue;
      uint64_t on = 0, off = 0, cflag = uint64_t(1) << j;
      for (uint32_t id = 0; id < n; id++) {
        if (cats_[id] & cflag) (temp[id] ? on : off)++;
      }
      uint64_t diff = additive ? off : on, same = additive ? on : off;
      if (same > diff && (diff < mindiff || (diff == mindiff && same > maxsame))) {
        best = int(j);
        mindiff = diff;
        maxsame = same;
      }
    }
    if (best < 0) break;
    uint64_t cflag = uint64_t(1) << best;
    apply_cat(fake, cflag, additive);
    apply_cat(temp, cflag, !additive);
    rules += std::string(additive ? "+@" : "-@") + kCategoryNames[best] + " ";
    applied[size_t(best)] = true;
  }
  // Single commands, containers before their subcommands.
  auto single = [&](const CommandSpec* c) {
    uint32_t id = ids_[c];
    if (fake[id] != target[id]) {
      rules += std::string(target[id] ? "+" : "-") + c->name + " ";
      fake[id] = target[id];
      for (const CommandSpec* sub : c->subcommands) fake[ids_[sub]] = target[id];
    }
  };
  for (const auto& [name, c] : tops_) {
    single(c);
    for (const CommandSpec* sub : c->subcommands) single(sub);
    uint32_t id = ids_[c];
    auto fa = sel.firstargs.find(id);
    if (!target[id] && fa != sel.firstargs.end()) {
      for (const std::string& a : fa->second) rules += "+" + std::string(c->name) + "|" + a + " ";
    }
  }
  rules.pop_back();
  return rules;
}

std::string Acl::DescribeKeys(const Selector& s) const {
  if (s.allkeys) return "~*";
  std::string out;
  for (const KeyPattern& k : s.keys) {
    if (!out.empty()) out += ' ';
    out += PatternString(k);
  }
  return out;
}

std::string Acl::DescribeChannels(const Selector& s) const {
  if (s.allchannels) return "&*";
  std::string out;
  for (const std::string& c : s.channels) {
    if (!out.empty()) out += ' ';
    out += "&" + c;
  }
  return out;
}

std::string Acl::Describe(const User& u) {
  std::string res;
  res += u.enabled ? "on " : "off ";
  if (u.nopass) res += "nopass ";
  if (u.sanitize == 2) res += "skip-sanitize-payload ";
  if (u.sanitize == 1) res += "sanitize-payload ";
  for (const std::string& p : u.passwords) res += "#" + p + " ";
  for (const Selector& s : u.selectors) {
    std::string d;
    if (s.allkeys) {
      d += "~* ";
    } else {
      for (const KeyPattern& k : s.keys) d += PatternString(k) + " ";
    }
    if (s.allchannels) {
      d += "&* ";
    } else {
      d += "resetchannels ";
      for (const std::string& c : s.channels) d += "&" + c + " ";
    }
    d += DescribeCommandRules(s);
    if (s.root) {
      res += d;
    } else {
      res += " (" + d + ")";
    }
  }
  return res;
}

// ---------------------------------------------------------------- checks

namespace {

int KeyAccess(uint32_t keyspec_flags) {
  int f = 0;
  if (keyspec_flags & keyflag::kAccess) f |= kPermRead;
  if (keyspec_flags & (keyflag::kInsert | keyflag::kDelete | keyflag::kUpdate)) f |= kPermWrite;
  return f;
}

bool CheckKey(const Selector& s, std::string_view key, uint32_t keyspec_flags) {
  if (s.allkeys) return true;
  int need = KeyAccess(keyspec_flags);
  for (const KeyPattern& p : s.keys) {
    if ((p.flags & need) != need) continue;
    if (GlobMatch(p.pattern, key)) return true;
  }
  return false;
}

bool ChannelInList(const std::vector<std::string>& list, std::string_view ch, bool is_pattern) {
  for (const std::string& p : list) {
    if ((is_pattern && p == ch) || (!is_pattern && GlobMatch(p, ch))) return true;
  }
  return false;
}

// The channel arguments of a command (Redis's commands_with_channels): first position,
// whether all the rest, and whether they are patterns. Unsubscribing is never checked.
bool ChannelArgs(const CommandSpec& spec, bool* all, bool* pattern) {
  std::string_view n = spec.name;
  *pattern = false;
  *all = true;
  if (n == "subscribe" || n == "ssubscribe") return true;
  if (n == "psubscribe") {
    *pattern = true;
    return true;
  }
  if (n == "publish" || n == "spublish") {
    *all = false;
    return true;
  }
  return false;
}

}  // namespace

Result Acl::CheckSelector(const Selector& s, const CommandSpec& spec, ArgList args, int* pos) {
  uint32_t id = IdOf(spec);
  if (!s.allcommands && !(spec.flags & cmd::kNoAuth)) {
    if (!(id != UINT32_MAX && s.Bit(id))) {
      auto fa = s.firstargs.find(id);
      if (args.size() < 2 || fa == s.firstargs.end()) return kDeniedCmd;
      size_t idx = spec.parent ? 2 : 1;
      if (idx >= args.size()) return kDeniedCmd;
      bool ok = false;
      for (const std::string& a : fa->second) ok |= EqualsIgnoreCase(args[idx], a);
      if (!ok) return kDeniedCmd;
    }
  }
  if (!s.allkeys && CommandTable::HasKeys(spec)) {
    for (const KeyRef& k : CommandTable::GetKeys(spec, args)) {
      if (k.pos < 0 || size_t(k.pos) >= args.size()) continue;
      if (!CheckKey(s, args[size_t(k.pos)], k.flags)) {
        if (pos) *pos = k.pos;
        return kDeniedKey;
      }
    }
  }
  bool all, pattern;
  if (!s.allchannels && ChannelArgs(spec, &all, &pattern)) {
    size_t stop = all ? args.size() : std::min<size_t>(2, args.size());
    for (size_t i = 1; i < stop; i++) {
      if (!ChannelInList(s.channels, args[i], pattern)) {
        if (pos) *pos = int(i);
        return kDeniedChannel;
      }
    }
  }
  return kOk;
}

Result Acl::Check(const User* u, const CommandSpec& spec, ArgList args, int* pos) {
  if (Unrestricted(u)) return kOk;
  Result relevant = kDeniedCmd;
  int last_idx = 0;
  for (const Selector& s : u->selectors) {
    int p = 0;
    Result r = CheckSelector(s, spec, args, &p);
    if (r == kOk) return kOk;
    if (r > relevant || (r == relevant && p > last_idx)) {
      relevant = r;
      last_idx = p;
    }
  }
  if (pos) *pos = last_idx;
  return relevant;
}

bool Acl::HasUnrestrictedRead(const User* u, const CommandSpec& spec, ArgList args) {
  if (Unrestricted(u)) return true;
  for (const Selector& s : u->selectors) {
    if (CheckSelector(s, spec, args, nullptr) != kOk) continue;
    if (s.allkeys) return true;
    for (const KeyPattern& p : s.keys) {
      if ((p.flags & kPermRead) && p.pattern == "*") return true;
    }
  }
  return false;
}

bool Acl::ChannelAllowed(const User* u, std::string_view channel, bool is_pattern) const {
  if (!u) return true;
  for (const Selector& s : u->selectors) {
    if (s.allchannels) return true;
    if (ChannelInList(s.channels, channel, is_pattern)) return true;
  }
  return false;
}

// ---------------------------------------------------------------- log

void Acl::AddLog(Result reason, LogContext ctx, std::string object, std::string username,
                 std::string client_info, int64_t now_ms, size_t max_len) {
  // Similar entries of the last minute (among the 10 newest) are counted, not repeated.
  size_t scan = std::min<size_t>(10, log_.size());
  for (size_t i = 0; i < scan; i++) {
    LogEntry& e = log_[i];
    int64_t delta = e.ctime_ms - now_ms;
    if (delta < 0) delta = -delta;
    if (e.reason == reason && e.context == ctx && delta <= 60000 && e.object == object &&
        e.username == username) {
      LogEntry m = std::move(e);
      log_.erase(log_.begin() + std::ptrdiff_t(i));
      m.client_info = std::move(client_info);
      m.ctime_ms = now_ms;
      m.count++;
      log_.push_front(std::move(m));
      return;
    }
  }
  LogEntry e;
  e.reason = reason;
  e.context = ctx;
  e.object = std::move(object);
  e.username = std::move(username);
  e.ctime_ms = now_ms;
  e.client_info = std::move(client_info);
  log_.push_front(std::move(e));
  while (log_.size() > max_len) log_.pop_back();
}

// ---------------------------------------------------------------- files

std::optional<std::string> Acl::LoadFile(const std::string& path,
                                         std::vector<std::unique_ptr<User>>* dropped) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return "Error loading ACLs, opening file '" + path + "': " + std::string(strerror(errno));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  std::map<std::string, std::unique_ptr<User>, std::less<>> fresh;
  std::string errors;
  size_t linenum = 0;
  size_t startl = 0;
  while (startl <= text.size()) {
    size_t nl = text.find('\n', startl);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(startl, nl - startl);
    startl = nl + 1;
    linenum++;
    // sdstrim " \t\r\n"
    size_t b = line.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) {
      if (startl > text.size()) break;
      continue;
    }
    line = line.substr(b, line.find_last_not_of(" \t\r\n") - b + 1);
    std::vector<std::string> argv;
    {
      size_t i = 0;
      while (i <= line.size()) {
        size_t sp = line.find(' ', i);
        if (sp == std::string::npos) sp = line.size();
        argv.push_back(line.substr(i, sp - i));
        i = sp + 1;
      }
    }
    if (argv[0] != "user" || argv.size() < 2) {
      errors += path + ":" + std::to_string(linenum) +
                " should start with user keyword followed by the username. ";
      continue;
    }
    if (HasSpaces(argv[1])) {
      errors += "'" + path + ":" + std::to_string(linenum) + ": username '" + argv[1] +
                "' contains invalid characters. ";
      continue;
    }
    if (fresh.count(argv[1])) {
      errors += "WARNING: Duplicate user '" + argv[1] + "' found on line " +
                std::to_string(linenum) + ". ";
      continue;
    }
    auto u = std::make_unique<User>();
    u->name = argv[1];
    u->selectors.push_back(NewSelector(true));
    std::vector<std::string> rest(argv.begin() + 2, argv.end());
    auto merged = MergeSelectorArgs(rest, nullptr);
    if (!merged) {
      errors +=
          path + ":" + std::to_string(linenum) + ": Unmatched parenthesis in selector definition.";
    } else {
      bool syntax_error = false;
      for (std::string r : *merged) {
        size_t e = r.find_last_not_of("\t\r\n");
        r = e == std::string::npos ? "" : r.substr(r.find_first_not_of("\t\r\n"));
        if (!r.empty()) r = r.substr(0, r.find_last_not_of("\t\r\n") + 1);
        std::string err;
        if (!ApplyRule(*u, r, &err)) {
          if (err == ErrText(kENOENT)) {
            errors += path + ":" + std::to_string(linenum) + ": Error in applying operation '" + r +
                      "': " + err + ". ";
          } else if (!syntax_error) {
            errors += path + ":" + std::to_string(linenum) + ": " + err + ". ";
            syntax_error = true;
          }
        }
      }
    }
    fresh[argv[1]] = std::move(u);
  }
  if (!errors.empty()) {
    return errors +
           "WARNING: ACL errors detected, no change to the previously active ACL rules was "
           "performed";
  }
  // The default user object stays (sessions point at it); its rules are the file's, or the
  // out-of-the-box ones when the file has no default user.
  auto d = fresh.find("default");
  User def;
  if (d != fresh.end()) {
    def = std::move(*d->second);
    fresh.erase(d);
  } else {
    def.name = "default";
    def.selectors.push_back(NewSelector(true));
    std::string err;
    for (const char* r : {"+@all", "~*", "&*", "on", "nopass"}) ApplyRule(def, r, &err);
  }
  for (auto& [name, u] : users_) {
    if (u.get() != default_) dropped->push_back(std::move(u));
  }
  auto keep = std::move(users_["default"]);
  *keep = std::move(def);
  users_ = std::move(fresh);
  users_["default"] = std::move(keep);
  return std::nullopt;
}

Status Acl::SaveFile(const std::string& path) {
  std::string text;
  for (auto& [name, u] : users_) text += "user " + name + " " + Describe(*u) + "\n";
  std::string tmp = path + ".tmp-" + std::to_string(getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return Status::IOError("open " + tmp + ": " + strerror(errno));
  size_t off = 0;
  while (off < text.size()) {
    ssize_t w = write(fd, text.data() + off, text.size() - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      std::string e = strerror(errno);
      close(fd);
      unlink(tmp.c_str());
      return Status::IOError("write " + tmp + ": " + e);
    }
    off += size_t(w);
  }
  if (fsync(fd) != 0) {
    std::string e = strerror(errno);
    close(fd);
    unlink(tmp.c_str());
    return Status::IOError("fsync " + tmp + ": " + e);
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    std::string e = strerror(errno);
    unlink(tmp.c_str());
    return Status::IOError("rename " + tmp + ": " + e);
  }
  // The rename itself is durable once the directory is synced.
  std::string dir = path.substr(0, path.rfind('/') == std::string::npos ? 0 : path.rfind('/'));
  if (dir.empty()) dir = ".";
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return Status::Ok();
}

Status Acl::LoadConfigUsers(const std::vector<std::string>& lines) {
  std::map<std::string, bool> seen;
  for (const std::string& line : lines) {
    std::vector<std::string> argv = SplitArgs(line);
    if (argv.empty()) return Status::InvalidArgument("an empty ACL user line");
    std::string name = argv[0];
    if (HasSpaces(name)) return Status::InvalidArgument("Spaces not allowed in ACL usernames");
    if (seen[name])
      return Status::InvalidArgument(
          "Duplicate user found. A user can only be defined once in config files");
    seen[name] = true;
    std::vector<std::string> rest(argv.begin() + 1, argv.end());
    auto merged = MergeSelectorArgs(rest, nullptr);
    if (!merged)
      return Status::InvalidArgument("Unmatched parenthesis in acl selector for user '" + name +
                                     "'");
    User* u = Find(name);
    if (!u) {
      auto nu = std::make_unique<User>();
      nu->name = name;
      nu->selectors.push_back(NewSelector(true));
      u = nu.get();
      users_[name] = std::move(nu);
    } else {
      std::string err;
      ApplyRule(*u, "reset", &err);
    }
    for (const std::string& r : *merged) {
      std::string err;
      if (!ApplyRule(*u, r, &err)) {
        return Status::InvalidArgument("Error loading ACL rule '" + r + "' for the user named '" +
                                       name + "': " + err);
      }
    }
  }
  return Status::Ok();
}

}  // namespace ferrite::acl
