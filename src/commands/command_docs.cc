#include "commands/command_docs.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "base/strutil.h"

namespace ferrite {
namespace {

[[noreturn]] void Malformed(std::string_view what) {
  fprintf(stderr, "ferrite: malformed command docs table: %.*s\n", int(what.size()), what.data());
  abort();
}

class NodeParser {
 public:
  explicit NodeParser(std::string_view text) : text_(text) {}

  DocNode Parse() {
    std::string_view line = NextLine();
    if (line.empty()) Malformed("empty line");
    DocNode n;
    n.type = line[0];
    std::string_view rest = line.substr(1);
    switch (n.type) {
      case '*':
      case '~':
      case '%': {
        int64_t count;
        if (!ParseInt64(rest, &count) || count < 0) Malformed(line);
        size_t kids = size_t(count) * (n.type == '%' ? 2 : 1);
        n.kids.reserve(kids);
        for (size_t i = 0; i < kids; i++) n.kids.push_back(Parse());
        break;
      }
      case '+':
      case '$':
        n.text = Unescape(rest);
        break;
      case ':':
        if (!ParseInt64(rest, &n.num)) Malformed(line);
        break;
      case '_':
        break;
      default:
        Malformed(line);
    }
    return n;
  }
  bool done() const { return pos_ >= text_.size(); }

 private:
  std::string_view NextLine() {
    if (pos_ >= text_.size()) Malformed("truncated row");
    size_t end = text_.find('\n', pos_);
    if (end == std::string_view::npos) end = text_.size();
    std::string_view line = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return line;
  }
  static std::string Unescape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); i++) {
      if (s[i] == '\\' && i + 1 < s.size()) {
        char c = s[++i];
        out.push_back(c == 'n' ? '\n' : c == 'r' ? '\r' : c);
      } else {
        out.push_back(s[i]);
      }
    }
    return out;
  }
  std::string_view text_;
  size_t pos_ = 0;
};

uint32_t KeyFlagFromName(std::string_view f) {
  static const std::pair<const char*, uint32_t> kNames[] = {
      {"RO", keyflag::kRO},
      {"RW", keyflag::kRW},
      {"OW", keyflag::kOW},
      {"RM", keyflag::kRM},
      {"access", keyflag::kAccess},
      {"update", keyflag::kUpdate},
      {"insert", keyflag::kInsert},
      {"delete", keyflag::kDelete},
      {"not_key", keyflag::kNotKey},
      {"incomplete", keyflag::kIncomplete},
      {"variable_flags", keyflag::kVariableFlags},
  };
  for (auto& [name, bit] : kNames) {
    if (EqualsIgnoreCase(f, name)) return bit;
  }
  return 0;
}

int64_t MapInt(const DocNode* m, std::string_view key) {
  const DocNode* v = m ? m->Get(key) : nullptr;
  return v ? v->num : 0;
}

KeySpec ParseKeySpec(const DocNode& m) {
  KeySpec ks;
  if (const DocNode* f = m.Get("flags")) {
    for (auto& k : f->kids) ks.flags |= KeyFlagFromName(k.text);
  }
  if (const DocNode* bs = m.Get("begin_search")) {
    const DocNode* type = bs->Get("type");
    const DocNode* spec = bs->Get("spec");
    if (type && type->text == "index") {
      ks.begin = KeySpec::Begin::kIndex;
      ks.index = int(MapInt(spec, "index"));
    } else if (type && type->text == "keyword") {
      ks.begin = KeySpec::Begin::kKeyword;
      if (const DocNode* kw = spec ? spec->Get("keyword") : nullptr) ks.keyword = kw->text;
      ks.startfrom = int(MapInt(spec, "startfrom"));
    }
  }
  if (const DocNode* fk = m.Get("find_keys")) {
    const DocNode* type = fk->Get("type");
    const DocNode* spec = fk->Get("spec");
    if (type && type->text == "range") {
      ks.find = KeySpec::Find::kRange;
      ks.lastkey = int(MapInt(spec, "lastkey"));
      ks.keystep = int(MapInt(spec, "keystep"));
      ks.limit = int(MapInt(spec, "limit"));
    } else if (type && type->text == "keynum") {
      ks.find = KeySpec::Find::kKeynum;
      ks.keynumidx = int(MapInt(spec, "keynumidx"));
      ks.firstkey = int(MapInt(spec, "firstkey"));
      ks.keynumstep = int(MapInt(spec, "keystep"));
    }
  }
  return ks;
}

// An INFO entry: name, arity, flags, first, last, step, ACL categories, tips, key specs,
// subcommands.
CommandMeta MetaFromInfo(const DocNode& info) {
  if (info.type != '*' || info.kids.size() != 10) Malformed("INFO entry is not 10 fields");
  CommandMeta m;
  m.name = info.kids[0].text;
  m.arity = int(info.kids[1].num);
  for (auto& f : info.kids[2].kids) m.flags.push_back(f.text);
  m.first_key = int(info.kids[3].num);
  m.last_key = int(info.kids[4].num);
  m.key_step = int(info.kids[5].num);
  for (auto& c : info.kids[6].kids) m.acl_categories.push_back(c.text);
  for (auto& ks : info.kids[8].kids) m.key_specs.push_back(ParseKeySpec(ks));
  for (auto& sub : info.kids[9].kids) m.subcommands.push_back(MetaFromInfo(sub));
  return m;
}

std::vector<CommandMeta> BuildAll() {
  std::vector<CommandMeta> all;
  all.reserve(kCommandDocRowCount);
  for (size_t i = 0; i < kCommandDocRowCount; i++) {
    const CommandDocRow& row = kCommandDocRows[i];
    NodeParser ip(row.info);
    CommandMeta m = MetaFromInfo(ip.Parse());
    m.row = &row;
    for (auto& sm : m.subcommands) sm.row = &row;
    all.push_back(std::move(m));
  }
  return all;
}

}  // namespace

void DocNode::Write(ReplyBuilder& rb) const {
  switch (type) {
    case '*':
      rb.ArrayHeader(kids.size());
      break;
    case '~':
      rb.SetHeader(kids.size());
      break;
    case '%':
      rb.MapHeader(kids.size() / 2);
      break;
    case '+':
      return rb.SimpleString(text);
    case '$':
      return rb.Bulk(text);
    case ':':
      return rb.Integer(num);
    default:
      return rb.Null();
  }
  for (auto& k : kids) k.Write(rb);
}

const DocNode* DocNode::Get(std::string_view key) const {
  if (type != '%') return nullptr;
  for (size_t i = 0; i + 1 < kids.size(); i += 2) {
    if (kids[i].text == key) return &kids[i + 1];
  }
  return nullptr;
}

DocNode ParseDocNode(std::string_view text) {
  NodeParser p(text);
  return p.Parse();
}

std::vector<const char*> KeyFlagNames(uint32_t flags) {
  static const std::pair<uint32_t, const char*> kOrder[] = {
      {keyflag::kRO, "RO"},
      {keyflag::kRW, "RW"},
      {keyflag::kOW, "OW"},
      {keyflag::kRM, "RM"},
      {keyflag::kAccess, "access"},
      {keyflag::kUpdate, "update"},
      {keyflag::kInsert, "insert"},
      {keyflag::kDelete, "delete"},
      {keyflag::kNotKey, "not_key"},
      {keyflag::kIncomplete, "incomplete"},
      {keyflag::kVariableFlags, "variable_flags"},
  };
  std::vector<const char*> out;
  for (auto& [bit, name] : kOrder) {
    if (flags & bit) out.push_back(name);
  }
  return out;
}

void CommandMeta::WriteInfo(ReplyBuilder& rb) const {
  if (!row) return rb.Null();
  DocNode top = ParseDocNode(row->info);
  if (name.find('|') == std::string::npos) return top.Write(rb);
  for (const DocNode& sub : top.kids[9].kids) {
    if (sub.kids[0].text == name) return sub.Write(rb);
  }
  rb.Null();
}

const DocNode& CommandMeta::Docs() const {
  static const DocNode kNone;
  if (!row) return kNone;
  if (!docs_) {
    // One parse per row; the container and its subcommands share it.
    static std::map<const CommandDocRow*, std::shared_ptr<DocNode>> parsed;
    auto& p = parsed[row];
    if (!p) p = std::make_shared<DocNode>(ParseDocNode(row->docs));
    docs_ = p;
  }
  if (name.find('|') == std::string::npos) return *docs_;
  const DocNode* subs = docs_->Get("subcommands");
  const DocNode* d = subs ? subs->Get(name) : nullptr;
  return d ? *d : kNone;
}

bool CommandMeta::HasFlag(std::string_view f) const {
  return std::any_of(flags.begin(), flags.end(),
                     [&](const std::string& x) { return EqualsIgnoreCase(x, f); });
}

bool CommandMeta::InAclCategory(std::string_view cat) const {
  if (!cat.empty() && cat[0] == '@') cat.remove_prefix(1);
  return std::any_of(acl_categories.begin(), acl_categories.end(), [&](const std::string& x) {
    return EqualsIgnoreCase(std::string_view(x).substr(1), cat);
  });
}

const std::vector<CommandMeta>& AllCommandMeta() {
  static const std::vector<CommandMeta> all = BuildAll();
  return all;
}

const CommandMeta* FindCommandMeta(std::string_view name) {
  static const std::map<std::string, const CommandMeta*, std::less<>> index = [] {
    std::map<std::string, const CommandMeta*, std::less<>> m;
    for (const CommandMeta& c : AllCommandMeta()) m.emplace(c.name, &c);
    return m;
  }();
  auto it = index.find(name);
  return it == index.end() ? nullptr : it->second;
}

}  // namespace ferrite
