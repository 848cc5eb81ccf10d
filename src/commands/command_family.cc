// COMMAND and its subcommands: (none), COUNT, LIST [FILTERBY …], INFO, DOCS, GETKEYS,
// GETKEYSANDFLAGS, HELP. What they report comes from Redis 7.0's own description of each
// command (command_docs.h), attached to the commands Ferrite implements.

#include "base/strutil.h"
#include "commands/command_docs.h"
#include "commands/command_table.h"
#include "commands/family_util.h"

namespace ferrite {
namespace {

// A command Redis 7.0 does not describe: its INFO entry from the registered row.
void InfoFromSpec(ReplyBuilder& rb, const CommandSpec& c) {
  rb.ArrayHeader(10);
  rb.Bulk(c.name);
  rb.Integer(c.arity);
  std::vector<const char*> f;
  if (c.flags & cmd::kWrite) f.push_back("write");
  if (c.flags & cmd::kReadOnly) f.push_back("readonly");
  if (c.flags & cmd::kDenyOom) f.push_back("denyoom");
  if (c.flags & cmd::kAdmin) f.push_back("admin");
  if (c.flags & cmd::kPubSub) f.push_back("pubsub");
  if (c.flags & cmd::kNoScript) f.push_back("noscript");
  if (c.flags & cmd::kBlocking) f.push_back("blocking");
  if (c.flags & cmd::kLoading) f.push_back("loading");
  if (c.flags & cmd::kStale) f.push_back("stale");
  if (c.flags & cmd::kFast) f.push_back("fast");
  if (c.flags & cmd::kNoAuth) f.push_back("no_auth");
  if (c.flags & cmd::kSkipMonitor) f.push_back("skip_monitor");
  if (c.flags & cmd::kNoMandatoryKeys) f.push_back("no_mandatory_keys");
  if (c.flags & cmd::kDenyInMulti) f.push_back("no_multi");  // Redis's order: before movablekeys
  if (c.flags & cmd::kMovableKeys) f.push_back("movablekeys");
  rb.SetHeader(f.size());
  for (auto* x : f) rb.SimpleString(x);
  rb.Integer(c.first_key);
  rb.Integer(c.last_key);
  rb.Integer(c.key_step);
  std::vector<std::string> cats;
  std::string_view acl = c.acl_categories;
  while (!acl.empty()) {
    size_t sp = acl.find(' ');
    cats.emplace_back(acl.substr(0, sp));
    if (sp == std::string_view::npos) break;
    acl.remove_prefix(sp + 1);
  }
  rb.SetHeader(cats.size());
  for (auto& x : cats) rb.SimpleString(x);
  rb.SetHeader(0);    // tips
  rb.ArrayHeader(0);  // key specs
  rb.ArrayHeader(0);  // subcommands
}

void Info(ReplyBuilder& rb, const CommandSpec& c) {
  if (c.meta)
    c.meta->WriteInfo(rb);
  else
    InfoFromSpec(rb, c);
}

void Docs(ReplyBuilder& rb, const CommandSpec& c) {
  rb.Bulk(c.name);
  if (c.meta) return c.meta->Docs().Write(rb);
  rb.MapHeader(3);
  rb.Bulk("summary");
  rb.Bulk(c.summary);
  rb.Bulk("since");
  rb.Bulk(c.since);
  rb.Bulk("group");
  rb.Bulk(c.group);
}

// "config|get" or "get", as Redis's lookupCommandBySds.
const CommandSpec* FindByFullName(const CommandTable& t, std::string_view name) {
  size_t bar = name.find('|');
  if (bar == std::string_view::npos) return t.Find(name);
  const CommandSpec* parent = t.Find(name.substr(0, bar));
  if (!parent) return nullptr;
  return parent->FindSubcommand(name.substr(bar + 1));
}

bool InAclCategory(const CommandSpec& c, std::string_view cat) {
  if (c.meta) return c.meta->InAclCategory(cat);
  std::string want = "@" + ToLower(cat);
  std::string_view acl = c.acl_categories;
  size_t pos = 0;
  while ((pos = acl.find(want, pos)) != std::string_view::npos) {
    size_t end = pos + want.size();
    if (end == acl.size() || acl[end] == ' ') return true;
    pos = end;
  }
  return false;
}

void List(CommandContext& ctx) {
  auto& a = ctx.args;
  const CommandTable& t = ctx.engine.commands();
  enum { kAll, kModule, kAcl, kPattern } filter = kAll;
  std::string_view arg;
  if (a.size() == 5 && ArgIs(a[2], "FILTERBY")) {
    arg = a[4];
    if (ArgIs(a[3], "MODULE"))
      filter = kModule;
    else if (ArgIs(a[3], "ACLCAT"))
      filter = kAcl;
    else if (ArgIs(a[3], "PATTERN"))
      filter = kPattern;
    else
      return ctx.rb.Error(err::kSyntax);
  } else if (a.size() != 2) {
    return ctx.rb.Error(err::kSyntax);
  }
  std::vector<std::string_view> names;
  auto consider = [&](const CommandSpec& c) {
    switch (filter) {
      case kAll:
        break;
      case kModule:
        return;  // no modules
      case kAcl:
        if (!InAclCategory(c, arg)) return;
        break;
      case kPattern:
        if (!GlobMatch(arg, c.name, true)) return;
        break;
    }
    names.push_back(c.name);
  };
  for (const CommandSpec* c : t.All()) {
    consider(*c);
    for (const CommandSpec* sub : c->subcommands) consider(*sub);
  }
  ctx.rb.ArrayHeader(names.size());
  for (auto n : names) ctx.rb.Bulk(n);
}

void GetKeys(CommandContext& ctx, bool with_flags) {
  auto& a = ctx.args;
  const CommandTable& t = ctx.engine.commands();
  ArgList line = a.subspan(2);
  const CommandSpec* c = t.Lookup(line);
  if (!c) return ctx.rb.Error(err::kInvalidCommand);
  if (!CommandTable::HasKeys(*c)) return ctx.rb.Error(err::kNoKeyArgs);
  if ((c->arity > 0 && int(line.size()) != c->arity) ||
      (c->arity < 0 && int(line.size()) < -c->arity)) {
    return ctx.rb.Error(err::kInvalidCommandArgs);
  }
  std::vector<KeyRef> keys = CommandTable::GetKeys(*c, line);
  if (keys.empty()) {
    if (c->meta && c->meta->HasFlag("no_mandatory_keys")) return ctx.rb.ArrayHeader(0);
    return ctx.rb.Error("ERR Invalid arguments specified for command");
  }
  ctx.rb.ArrayHeader(keys.size());
  for (const KeyRef& k : keys) {
    if (!with_flags) {
      ctx.rb.Bulk(line[size_t(k.pos)]);
      continue;
    }
    ctx.rb.ArrayHeader(2);
    ctx.rb.Bulk(line[size_t(k.pos)]);
    auto names = KeyFlagNames(k.flags);
    ctx.rb.SetHeader(names.size());
    for (const char* n : names) ctx.rb.SimpleString(n);
  }
}

const char* const kHelp[] = {
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
    "HELP",
    "    Prints this help.",
};

void Command(CommandContext& ctx) {
  auto& a = ctx.args;
  const CommandTable& t = ctx.engine.commands();
  if (a.size() == 1) {
    ctx.rb.ArrayHeader(t.All().size());
    for (auto* c : t.All()) Info(ctx.rb, *c);
    return;
  }
  std::string_view sub = a[1];
  if (ArgIs(sub, "HELP") && a.size() == 2) {
    ctx.rb.ArrayHeader(std::size(kHelp));
    for (const char* l : kHelp) ctx.rb.SimpleString(l);
    return;
  }
  if (ArgIs(sub, "COUNT") && a.size() == 2) return ctx.rb.Integer(int64_t(t.All().size()));
  if (ArgIs(sub, "LIST")) return List(ctx);
  if (ArgIs(sub, "INFO")) {
    if (a.size() == 2) {
      ctx.rb.ArrayHeader(t.All().size());
      for (auto* c : t.All()) Info(ctx.rb, *c);
      return;
    }
    ctx.rb.ArrayHeader(a.size() - 2);
    for (size_t i = 2; i < a.size(); i++) {
      if (const CommandSpec* c = FindByFullName(t, a[i]))
        Info(ctx.rb, *c);
      else
        ctx.rb.NullArray();
    }
    return;
  }
  if (ArgIs(sub, "DOCS")) {
    std::vector<const CommandSpec*> list;
    if (a.size() == 2) {
      list = t.All();
    } else {
      for (size_t i = 2; i < a.size(); i++) {
        if (const CommandSpec* c = FindByFullName(t, a[i])) list.push_back(c);
      }
    }
    ctx.rb.MapHeader(list.size());
    for (auto* c : list) Docs(ctx.rb, *c);
    return;
  }
  if (ArgIs(sub, "GETKEYS") && a.size() >= 3) return GetKeys(ctx, false);
  if (ArgIs(sub, "GETKEYSANDFLAGS") && a.size() >= 3) return GetKeys(ctx, true);
  ctx.rb.Error(err::UnknownSubcommand(sub, "COMMAND"));
}

}  // namespace

void RegisterCommandFamily(CommandTable& t) {
  using namespace cmd;
  t.Add({
      .name = "command",
      .arity = -1,
      .flags = kLoading | kStale,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = Command,
      .group = "server",
      .summary = "Returns detailed information about all commands.",
      .since = "2.8.13",
      .acl_categories = "@slow @connection",
  });
}

}  // namespace ferrite
