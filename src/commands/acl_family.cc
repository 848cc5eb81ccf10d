// ACL: SETUSER, GETUSER, DELUSER, LIST, USERS, WHOAMI, CAT, LOG, SAVE, LOAD, GENPASS, DRYRUN,
// HELP — Redis 7.0's replies and error texts (acl.c's aclCommand). The model is
// commands/acl.h; disconnecting the clients of a removed user is the engine's.

#include <openssl/rand.h>

#include <string>
#include <vector>

#include "base/strutil.h"
#include "commands/acl.h"
#include "commands/command_table.h"
#include "commands/engine.h"
#include "commands/errors.h"
#include "commands/family_util.h"

namespace ferrite {
namespace {

void ReplySelector(CommandContext& ctx, acl::Acl& a, const acl::Selector& s) {
  ctx.rb.Bulk("commands");
  ctx.rb.Bulk(a.DescribeCommandRules(s));
  ctx.rb.Bulk("keys");
  ctx.rb.Bulk(a.DescribeKeys(s));
  ctx.rb.Bulk("channels");
  ctx.rb.Bulk(a.DescribeChannels(s));
}

void GetUser(CommandContext& ctx, acl::Acl& a) {
  acl::User* u = a.Find(ctx.args[2]);
  if (!u) return ctx.rb.Null();
  ctx.rb.MapHeader(6);
  ctx.rb.Bulk("flags");
  std::vector<const char*> flags;
  flags.push_back(u->enabled ? "on" : "off");
  if (u->nopass) flags.push_back("nopass");
  if (u->sanitize == 2) flags.push_back("skip-sanitize-payload");
  if (u->sanitize == 1) flags.push_back("sanitize-payload");
  ctx.rb.SetHeader(flags.size());
  for (const char* f : flags) ctx.rb.Bulk(f);
  ctx.rb.Bulk("passwords");
  ctx.rb.ArrayHeader(u->passwords.size());
  for (const std::string& p : u->passwords) ctx.rb.Bulk(p);
  ReplySelector(ctx, a, u->selectors[0]);
  ctx.rb.Bulk("selectors");
  ctx.rb.ArrayHeader(u->selectors.size() - 1);
  for (size_t i = 1; i < u->selectors.size(); i++) {
    ctx.rb.MapHeader(3);
    ReplySelector(ctx, a, u->selectors[i]);
  }
}

void Log(CommandContext& ctx, acl::Acl& a) {
  int64_t count = 10;
  if (ctx.args.size() == 3) {
    if (ArgIs(ctx.args[2], "RESET")) {
      a.log().clear();
      return ctx.rb.Ok();
    }
    if (!GetRangeLongOrReply(ctx, ctx.args[2], INT64_MIN, INT64_MAX, &count)) return;
    if (count < 0) count = 0;
  }
  auto& log = a.log();
  if (size_t(count) > log.size()) count = int64_t(log.size());
  ctx.rb.ArrayHeader(size_t(count));
  int64_t now = ctx.engine.clock()->NowMs();
  for (int64_t i = 0; i < count; i++) {
    const acl::LogEntry& e = log[size_t(i)];
    ctx.rb.MapHeader(7);
    ctx.rb.Bulk("count");
    ctx.rb.Integer(e.count);
    ctx.rb.Bulk("reason");
    ctx.rb.Bulk(e.reason == acl::kDeniedCmd       ? "command"
                : e.reason == acl::kDeniedKey     ? "key"
                : e.reason == acl::kDeniedChannel ? "channel"
                : e.reason == acl::kDeniedAuth    ? "auth"
                                                  : "unknown");
    ctx.rb.Bulk("context");
    ctx.rb.Bulk(e.context == acl::LogContext::kToplevel ? "toplevel"
                : e.context == acl::LogContext::kMulti  ? "multi"
                : e.context == acl::LogContext::kLua    ? "lua"
                                                        : "module");
    ctx.rb.Bulk("object");
    ctx.rb.Bulk(e.object);
    ctx.rb.Bulk("username");
    ctx.rb.Bulk(e.username);
    ctx.rb.Bulk("age-seconds");
    ctx.rb.Double(double(now - e.ctime_ms) / 1000);
    ctx.rb.Bulk("client-info");
    ctx.rb.Bulk(e.client_info);
  }
}

void DryRun(CommandContext& ctx, acl::Acl& a) {
  auto& args = ctx.args;
  acl::User* u = a.Find(args[2]);
  if (!u) return ctx.rb.Error("ERR User '" + std::string(args[2]) + "' not found");
  ArgList line = args.subspan(3);
  const CommandSpec* spec = ctx.engine.commands().Lookup(line);
  if (!spec) return ctx.rb.Error("ERR Command '" + std::string(args[3]) + "' not found");
  int n = int(line.size());
  if ((spec->arity > 0 && spec->arity != n) || n < -spec->arity)
    return ctx.rb.Error("ERR wrong number of arguments for '" + std::string(spec->name) +
                        "' command");
  int idx = 0;
  acl::Result r = a.Check(u, *spec, line, &idx);
  if (r == acl::kOk) return ctx.rb.Ok();
  if (r == acl::kDeniedCmd)
    return ctx.rb.Bulk("This user has no permissions to run the '" + std::string(spec->name) +
                       "' command");
  if (r == acl::kDeniedKey)
    return ctx.rb.Bulk("This user has no permissions to access the '" +
                       std::string(line[size_t(idx)]) + "' key");
  ctx.rb.Bulk("This user has no permissions to access the '" + std::string(line[size_t(idx)]) +
              "' channel");
}

void Cat(CommandContext& ctx, acl::Acl& a) {
  if (ctx.args.size() == 2) {
    ctx.rb.ArrayHeader(acl::kCategoryCount);
    for (size_t j = 0; j < acl::kCategoryCount; j++) ctx.rb.Bulk(acl::kCategoryNames[j]);
    return;
  }
  uint64_t f = acl::CategoryFlag(ctx.args[2]);
  if (!f) {
    return ctx.rb.Error("ERR Unknown category '" + std::string(ctx.args[2].substr(0, 128)) + "'");
  }
  std::vector<const CommandSpec*> out;
  for (const CommandSpec* c : a.Commands()) {
    if (a.Categories(*c) & f) out.push_back(c);
  }
  ctx.rb.ArrayHeader(out.size());
  for (const CommandSpec* c : out) ctx.rb.Bulk(c->name);
}

void GenPass(CommandContext& ctx) {
  int64_t bits = 256;
  if (ctx.args.size() == 3 && !GetRangeLongOrReply(ctx, ctx.args[2], INT64_MIN, INT64_MAX, &bits))
    return;
  if (bits <= 0 || bits > 4096) {
    return ctx.rb.Error(
        "ERR ACL GENPASS argument must be the number of bits for the output password, a "
        "positive number up to 4096");
  }
  size_t chars = size_t(bits + 3) / 4;
  std::vector<unsigned char> raw((chars + 1) / 2);
  if (RAND_bytes(raw.data(), int(raw.size())) != 1) {
    return ctx.rb.Error("ERR could not read random bytes");
  }
  static const char* kHex = "0123456789abcdef";
  std::string pass;
  for (unsigned char b : raw) {
    pass += kHex[b >> 4];
    pass += kHex[b & 15];
  }
  pass.resize(chars);
  ctx.rb.Bulk(pass);
}

constexpr const char* kNoAclFile =
    "ERR This Redis instance is not configured to use an ACL file. You may want to specify "
    "users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a "
    "Redis configuration file set) in order to store users in the Redis configuration.";

void AclCmd(CommandContext& ctx) {
  auto& args = ctx.args;
  Engine& e = ctx.engine;
  acl::Acl& a = e.acl();
  std::string_view sub = args[1];
  size_t n = args.size();
  if (ArgIs(sub, "SETUSER") && n >= 3) {
    std::string_view name = args[2];
    if (acl::HasSpaces(name))
      return ctx.rb.Error("ERR Usernames can't contain spaces or null characters");
    std::vector<std::string> rules(args.begin() + 3, args.end());
    if (auto err = a.SetUser(name, rules)) return ctx.rb.Error("ERR " + *err);
    e.DisconnectPubsubOf(a.Find(name));
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "DELUSER") && n >= 3) {
    for (size_t j = 2; j < n; j++) {
      if (args[j] == "default") return ctx.rb.Error("ERR The 'default' user cannot be removed");
    }
    int64_t deleted = 0;
    for (size_t j = 2; j < n; j++) {
      if (auto u = a.Remove(args[j])) {
        e.DisconnectUser(u.get());
        deleted++;
      }
    }
    return ctx.rb.Integer(deleted);
  }
  if (ArgIs(sub, "GETUSER") && n == 3) return GetUser(ctx, a);
  if ((ArgIs(sub, "LIST") || ArgIs(sub, "USERS")) && n == 2) {
    bool names = ArgIs(sub, "USERS");
    ctx.rb.ArrayHeader(a.users().size());
    for (auto& [name, u] : a.users()) {
      ctx.rb.Bulk(names ? name : "user " + name + " " + a.Describe(*u));
    }
    return;
  }
  if (ArgIs(sub, "WHOAMI") && n == 2) {
    Session& s = ctx.session;
    return ctx.rb.Bulk(s.user ? std::string_view(s.user->name) : std::string_view("default"));
  }
  const std::string& file = e.config().acl.aclfile;
  if (file.empty() && (ArgIs(sub, "LOAD") || ArgIs(sub, "SAVE"))) return ctx.rb.Error(kNoAclFile);
  if (ArgIs(sub, "LOAD") && n == 2) {
    std::vector<std::unique_ptr<acl::User>> dropped;
    if (auto err = a.LoadFile(file, &dropped)) return ctx.rb.Error("ERR " + *err);
    for (auto& u : dropped) e.DisconnectUser(u.get());
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "SAVE") && n == 2) {
    if (!a.SaveFile(file).ok()) {
      return ctx.rb.Error(
          "ERR There was an error trying to save the ACLs. Please check the server logs for "
          "more information");
    }
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "CAT") && (n == 2 || n == 3)) return Cat(ctx, a);
  if (ArgIs(sub, "GENPASS") && (n == 2 || n == 3)) return GenPass(ctx);
  if (ArgIs(sub, "LOG") && (n == 2 || n == 3)) return Log(ctx, a);
  if (ArgIs(sub, "DRYRUN") && n >= 4) return DryRun(ctx, a);
  if (ArgIs(sub, "HELP") && n == 2) {
    static const char* const kLines[] = {
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the "
        "command.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
    };
    size_t count = sizeof(kLines) / sizeof(kLines[0]);
    ctx.rb.ArrayHeader(count + 3);
    ctx.rb.SimpleString("ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    for (size_t i = 0; i < count; i++) ctx.rb.SimpleString(kLines[i]);
    ctx.rb.SimpleString("HELP");
    ctx.rb.SimpleString("    Prints this help.");
    return;
  }
  ctx.rb.Error(err::SubcommandSyntax(sub, "ACL"));
}

}  // namespace

void RegisterAclFamily(CommandTable& t) {
  t.Add({
      .name = "acl",
      .arity = -2,
      .flags = 0,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = AclCmd,
      .group = "server",
      .summary = "A container for Access List Control commands",
      .since = "6.0.0",
      .acl_categories = "@slow",
  });
}

}  // namespace ferrite
