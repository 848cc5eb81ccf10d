#include "config/rewrite.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <map>
#include <memory>
#include <vector>

#include "io/atomic_file.h"

#define TOML_EXCEPTIONS 1
#include <fmt/format.h>
#include <toml++/toml.h>

#include "config/schema.h"
#include "io/atomic_file.h"
#include "io/file_system.h"

namespace ferrite {
namespace {

// Byte offsets of toml++ source positions (1-based line; 1-based column in code points).
class Positions {
 public:
  explicit Positions(std::string_view text) : text_(text) {
    size_t start = text.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;  // toml++ skips a BOM
    line_starts_.push_back(start);
    for (size_t i = 0; i < text.size(); i++) {
      if (text[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  size_t Offset(const toml::source_position& p) const {
    if (p.line == 0 || p.line > line_starts_.size()) return text_.size();
    size_t off = line_starts_[p.line - 1];
    for (toml::source_index col = 1; col < p.column && off < text_.size(); col++) {
      off++;  // one code point: a lead byte and its continuation bytes
      while (off < text_.size() && (static_cast<unsigned char>(text_[off]) & 0xC0) == 0x80) off++;
    }
    return off;
  }
  size_t LineStart(size_t off) const {
    while (off > 0 && text_[off - 1] != '\n') off--;
    return off;
  }
  // Just past the '\n' that ends the line holding off (the end of the text on the last line).
  size_t LineEnd(size_t off) const {
    size_t nl = text_.find('\n', off);
    return nl == std::string_view::npos ? text_.size() : nl + 1;
  }

 private:
  std::string_view text_;
  std::vector<size_t> line_starts_;
};

// One change to the text: [begin, end) replaced by text (begin == end: an insertion).
struct Edit {
  size_t begin, end;
  std::string text;
  size_t seq;  // insertions at one offset keep their order
};

std::string TomlString(std::string_view s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (ch < 0x20 || ch == 0x7f)
          out += fmt::format("\\u{:04X}", unsigned(ch));
        else
          out.push_back(char(ch));
    }
  }
  out.push_back('"');
  return out;
}

// A parameter's value as TOML source text.
std::string TomlValue(const Param& p, Config& c) {
  switch (p.kind) {
    case ParamKind::kBool:
    case ParamKind::kInt:
      return FormatParam(p, c, false);
    case ParamKind::kRules: {
      const auto& rules = *static_cast<std::vector<SaveRule>*>(p.field(c));
      std::string out = "[";
      for (size_t i = 0; i < rules.size(); i++) {
        out += fmt::format("{}{{ seconds = {}, changes = {} }}", i ? ", " : "", rules[i].seconds,
                           rules[i].changes);
      }
      return out + "]";
    }
    default:
      return TomlString(FormatParam(p, c, false));
  }
}

std::vector<std::string> SplitDots(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (true) {
    size_t d = s.find('.', i);
    out.push_back(s.substr(i, d == std::string::npos ? std::string::npos : d - i));
    if (d == std::string::npos) return out;
    i = d + 1;
  }
}

toml::table* FindTable(toml::table& root, const std::string& section) {
  toml::table* t = &root;
  for (const std::string& seg : SplitDots(section)) {
    toml::node* n = t->get(seg);
    if (!n || !n->is_table()) return nullptr;
    t = n->as_table();
  }
  return t;
}

// The node holding a parameter in the file, under its name or the alias the parser takes.
std::pair<const toml::key*, toml::node*> FindParamNode(toml::table& root, const Param& p) {
  toml::table* t = FindTable(root, p.section);
  if (!t) return {nullptr, nullptr};
  std::vector<std::string> names = {p.key};
  if (p.canonical() == "persistence.aof_sync_policy") names.push_back("aof_fsync_policy");
  for (auto& name : names) {
    auto it = t->find(name);
    if (it != t->end()) return {&it->first, &it->second};
  }
  return {nullptr, nullptr};
}

// True if the line at off is the header "[section]" (spaces and quotes ignored).
bool IsHeaderLine(std::string_view text, size_t off, const std::string& section) {
  size_t e = text.find('\n', off);
  std::string_view line =
      text.substr(off, e == std::string_view::npos ? std::string_view::npos : e - off);
  size_t open = line.find_first_not_of(" \t");
  if (open == std::string_view::npos || line[open] != '[' ||
      (open + 1 < line.size() && line[open + 1] == '[')) {
    return false;
  }
  size_t close = line.find(']', open);
  if (close == std::string_view::npos) return false;
  std::string name;
  for (char ch : line.substr(open + 1, close - open - 1)) {
    if (ch != ' ' && ch != '\t' && ch != '"' && ch != '\'') name.push_back(ch);
  }
  return name == section;
}

bool SameConfig(Config& a, Config& b, std::string* first_difference) {
  for (const Param& p : ConfigSchema()) {
    if (FormatParam(p, a, false) != FormatParam(p, b, false)) {
      *first_difference = p.canonical();
      return false;
    }
  }
  return true;
}

}  // namespace

Result<std::string> RewriteConfigText(std::string_view text, const Config& running_in,
                                      std::string_view source, const RewriteOptions& options) {
  Config running = running_in;
  Result<Config> parsed = ParseConfig(text, source);
  if (!parsed.ok()) return parsed.status();
  Config in_file = std::move(parsed.value());
  if (options.normalize) options.normalize(in_file);
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(fmt::format("{}: {}", source, e.description()));
  }

  const std::string nl = text.find("\r\n") != std::string_view::npos ? "\r\n" : "\n";
  Positions pos(text);
  std::vector<Edit> edits;
  auto add_edit = [&](size_t b, size_t e, std::string t) {
    edits.push_back({b, e, std::move(t), edits.size()});
  };

  // 1. Keys in the file whose value changed: the value is replaced where it stands.
  //    Keys not in the file that differ from what the file implies (the default) are
  //    collected per section, in schema order.
  std::vector<std::pair<std::string, std::vector<const Param*>>> missing;
  for (const Param& p : ConfigSchema()) {
    if (FormatParam(p, running, false) == FormatParam(p, in_file, false)) continue;
    auto [key, node] = FindParamNode(root, p);
    if (node) {
      add_edit(pos.Offset(node->source().begin), pos.Offset(node->source().end),
               TomlValue(p, running));
      continue;
    }
    if (missing.empty() || missing.back().first != p.section) missing.push_back({p.section, {}});
    missing.back().second.push_back(&p);
  }

  // A [storage] section without `enabled` turns tiering on (config.cc): a key added to
  // one while tiering is off brings `enabled = false` with it.
  if (!running.storage.enabled && !FindParamNode(root, *FindParam("storage.enabled")).second) {
    for (auto& [section, params] : missing) {
      if (section != "storage" || params.empty() || params.front()->key == "enabled") continue;
      params.insert(params.begin(), FindParam("storage.enabled"));
    }
  }

  // 2. Missing keys go after the last key of their table, written the way that key is
  //    (indentation, dotted prefix), or into the inline table, or right under the header.
  std::string tail;
  for (auto& [section, params] : missing) {
    toml::table* t = FindTable(root, section);
    if (t && t->is_inline()) {
      size_t last_end = 0;
      for (auto&& [k, v] : *t) last_end = std::max(last_end, pos.Offset(v.source().end));
      std::string add;
      for (const Param* p : params) {
        add += fmt::format("{}{} = {}", last_end || !add.empty() ? ", " : "", p->key,
                           TomlValue(*p, running));
      }
      if (last_end) {
        add_edit(last_end, last_end, add);
      } else {  // "{}" or "{ }": rewritten whole
        add_edit(pos.Offset(t->source().begin), pos.Offset(t->source().end), "{ " + add + " }");
      }
      continue;
    }
    if (t) {
      const toml::key* last_key = nullptr;
      size_t last_end = 0;
      for (auto&& [k, v] : *t) {
        // Sub-tables and [[arrays of tables]] have their own headers; an array of inline
        // tables (checkpoint_rules) is an ordinary value.
        if (v.is_table() && !v.as_table()->is_inline()) continue;
        if (v.is_array_of_tables() && !v.as_array()->get(0)->as_table()->is_inline()) continue;
        size_t e = pos.Offset(v.source().end);
        if (!last_key || e > last_end) {
          last_key = &k;
          last_end = e;
        }
      }
      size_t at = std::string::npos;
      std::string prefix;
      if (last_key) {
        size_t kb = pos.Offset(last_key->source().begin);
        size_t ls = pos.LineStart(kb);
        prefix = std::string(text.substr(ls, kb - ls));
        at = pos.LineEnd(last_end);
      } else if (size_t hb = pos.Offset(t->source().begin);
                 IsHeaderLine(text, pos.LineStart(hb), section)) {
        at = pos.LineEnd(hb);
      }
      if (at != std::string::npos) {
        std::string lines = at == text.size() && !text.empty() && text.back() != '\n' ? nl : "";
        for (const Param* p : params)
          lines += prefix + p->key + " = " + TomlValue(*p, running) + nl;
        add_edit(at, at, lines);
        continue;
      }
    }
    // No table for the section yet (or only an implicit one): a new section at the end.
    tail += nl + "[" + section + "]" + nl;
    for (const Param* p : params) tail += p->key + " = " + TomlValue(*p, running) + nl;
  }

  std::sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.seq < b.seq;
  });
  std::string out;
  out.reserve(text.size() + tail.size() + 256);
  size_t cursor = 0;
  for (const Edit& e : edits) {
    out.append(text.substr(cursor, e.begin - cursor));
    out.append(e.text);
    cursor = std::max(cursor, e.end);
  }
  out.append(text.substr(cursor));
  if (!tail.empty()) {
    if (out.empty()) {
      tail.erase(0, nl.size());  // a new file starts with its first header
    } else if (out.back() != '\n') {
      out += nl;
    }
    out += tail;
  }

  // 3. The result must read back as the running configuration.
  Result<Config> back = ParseConfig(out, source);
  if (!back.ok()) {
    return Status::InvalidArgument("the rewritten file would not parse (" +
                                   back.status().message() + ")");
  }
  if (options.normalize) options.normalize(back.value());
  std::string diff;
  if (!SameConfig(back.value(), running, &diff)) {
    return Status::InvalidArgument("the rewritten file would not hold the running value of " +
                                   diff);
  }
  return out;
}

Status RewriteConfigFile(FileSystem* fs, const std::string& path, const Config& running,
                         const RewriteOptions& options) {
  std::string target = path;
  char resolved[PATH_MAX];
  if (realpath(path.c_str(), resolved)) target = resolved;  // replace a symlink's target

  std::string text;
  bool exists = fs->FileExists(target);
  if (exists) {
    auto in = fs->NewSequentialFile(target);
    if (!in.ok()) return in.status();
    char buf[16384];
    while (true) {
      auto n = in.value()->Read(sizeof(buf), buf);
      if (!n.ok()) return n.status();
      if (n.value() == 0) break;
      text.append(buf, n.value());
    }
  }
  Result<std::string> out = RewriteConfigText(text, running, path, options);
  if (!out.ok()) return out.status();
  if (exists && out.value() == text) return Status::Ok();  // nothing to change

  // The one atomic-replace recipe (io/atomic_file.h): <file>.tmp-<pid>, fsync, rename,
  // directory fsync; the permission bits of the file it replaces are kept.
  auto f = AtomicFile::Create(fs, target, "config_rewrite", fmt::format(".tmp-{}", getpid()));
  if (!f.ok()) return f.status();
  if (Status st = f.value()->file()->Append(out.value()); !st.ok()) return st;
  std::string tmp = f.value()->tmp_path();
  f.value()->set_before_rename([&] {
    struct stat sb;
    if (exists && stat(target.c_str(), &sb) == 0) (void)chmod(tmp.c_str(), sb.st_mode & 07777);
    return Status::Ok();
  });
  return f.value()->Commit();
}

}  // namespace ferrite
