// Redis 7.0 functions: FUNCTION LOAD/DELETE/FLUSH/LIST/DUMP/RESTORE/STATS/KILL/HELP, FCALL,
// FCALL_RO; and the table entries of every scripting command.

#include <fmt/format.h>
#include <strings.h>

#include <thread>

#include "base/crc64.h"
#include "base/strutil.h"
#include "commands/errors.h"
#include "commands/family_util.h"
#include "persistence/rdb/dump_payload.h"
#include "persistence/rdb/rdb_codec.h"
#include "scripting/script_commands.h"
#include "scripting/script_engine.h"

namespace ferrite::scripting {
namespace {

constexpr const char* kBadLibName =
    "Library names can only contain letters, numbers, or underscores(_) and must be at least "
    "one character long";
constexpr int64_t kLoadTimeoutMs = 500;  // Redis's LOAD_TIMEOUT_MS
constexpr uint8_t kOpFunction2 = 245;    // RDB_OPCODE_FUNCTION2
constexpr uint8_t kOpFunctionPreGa = 246;

// The functions of all libraries are looked up case-insensitively (Redis's
// functionDictType); a library's own list is case-sensitive.
std::string FnKey(std::string_view name) {
  std::string k(name);
  for (char& c : k) c = char(tolower(static_cast<unsigned char>(c)));
  return k;
}

bool ValidLibName(std::string_view n) {
  if (n.empty()) return false;
  for (char c : n) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  }
  return true;
}

struct LibMeta {
  std::string name, engine;
  std::string_view code;  // from the shebang's line feed on
};

// functionExtractLibMetaData.
bool ExtractMeta(std::string_view payload, LibMeta* md, std::string* err) {
  if (payload.substr(0, 2) != "#!") {
    *err = "Missing library metadata";
    return false;
  }
  size_t nl = payload.find('\n');
  if (nl == std::string_view::npos) {
    *err = "Invalid library metadata";
    return false;
  }
  std::vector<std::string> parts;
  if (!SplitArgs(payload.substr(0, nl), &parts) || parts.empty()) {
    *err = "Invalid library metadata";
    return false;
  }
  md->engine = parts[0].substr(2);
  bool have_name = false;
  for (size_t i = 1; i < parts.size(); i++) {
    if (strncasecmp(parts[i].c_str(), "name=", 5) == 0) {
      if (have_name) {
        *err = "Invalid metadata value, name argument was given multiple times";
        return false;
      }
      md->name = parts[i].substr(5);
      have_name = true;
      continue;
    }
    *err = "Invalid metadata value given: " + parts[i];
    return false;
  }
  if (!have_name) {
    *err = "Library name was not given";
    return false;
  }
  md->code = payload.substr(nl);
  return true;
}

void ReplyHelp(ReplyBuilder& rb, std::string_view cmd, const std::vector<const char*>& lines) {
  rb.ArrayHeader(lines.size() + 3);
  rb.SimpleString(std::string(cmd) + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
  for (const char* l : lines) rb.SimpleString(l);
  rb.SimpleString("HELP");
  rb.SimpleString("    Prints this help.");
}

}  // namespace

// ---------------------------------------------------------------- libraries

void ScriptingEngine::UnlinkLibrary(LibSet* set, Library* lib) {
  for (auto& f : lib->functions) set->functions.erase(FnKey(f->name));
}

void ScriptingEngine::LinkLibrary(LibSet* set, std::unique_ptr<Library> lib) {
  for (auto& f : lib->functions) set->functions[FnKey(f->name)] = f.get();
  std::string name = lib->name;
  set->libs[name] = std::move(lib);
}

void ScriptingEngine::FreeLibrary(Library* lib) {
  for (auto& f : lib->functions) fn_vm_->Unref(f->ref);
  lib->functions.clear();
}

bool ScriptingEngine::CreateLibrary(std::string_view code, bool replace, LibSet* set,
                                    int64_t timeout_ms, std::string* name, std::string* err) {
  LibMeta md;
  if (!ExtractMeta(code, &md, err)) return false;
  if (!ValidLibName(md.name)) {
    *err = kBadLibName;
    return false;
  }
  if (strcasecmp(md.engine.c_str(), "LUA") != 0) {
    *err = "Engine '" + md.engine + "' not found";
    return false;
  }
  auto old_it = set->libs.find(md.name);
  std::unique_ptr<Library> old;
  if (old_it != set->libs.end()) {
    if (!replace) {
      *err = "Library '" + md.name + "' already exists";
      return false;
    }
    old = std::move(old_it->second);
    set->libs.erase(old_it);
    UnlinkLibrary(set, old.get());
  }
  auto restore_old = [&] {
    if (old) LinkLibrary(set, std::move(old));
  };
  std::vector<LuaVm::Registered> regs;
  if (!fn_vm_->LoadLibrary(md.code, timeout_ms, &regs, err)) {
    restore_old();
    return false;
  }
  auto lib = std::make_unique<Library>();
  lib->name = md.name;
  lib->code.assign(code);
  for (auto& r : regs) {
    auto f = std::make_unique<Function>();
    f->name = r.name;
    f->desc = r.desc;
    f->has_desc = r.has_desc;
    f->flags = r.flags;
    f->ref = r.ref;
    f->lib = lib.get();
    lib->functions.push_back(std::move(f));
  }
  if (lib->functions.empty()) {
    *err = "No functions registered";
    restore_old();
    return false;
  }
  for (auto& f : lib->functions) {
    if (set->functions.count(FnKey(f->name))) {
      *err = "Function " + f->name + " already exists";
      FreeLibrary(lib.get());
      restore_old();
      return false;
    }
  }
  *name = lib->name;
  LinkLibrary(set, std::move(lib));
  if (old) FreeLibrary(old.get());
  return true;
}

std::vector<std::string> ScriptingEngine::LibraryCodes() const {
  std::vector<std::string> out;
  out.reserve(libs_.libs.size());
  for (const auto& [name, lib] : libs_.libs) out.push_back(lib->code);
  return out;
}

Status ScriptingEngine::LoadLibrary(std::string_view code) {
  std::string name, err;
  if (!CreateLibrary(code, /*replace=*/true, &libs_, 0, &name, &err)) {
    return Status::Corruption("function library: " + err);
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- FUNCTION

void ScriptingEngine::FunctionLoad(CommandContext& ctx) {
  ArgList a = ctx.args;
  bool replace = false;
  size_t pos = 2;
  while (pos < a.size() - 1) {
    std::string_view o = a[pos++];
    if (ArgIs(o, "REPLACE")) {
      replace = true;
      continue;
    }
    return ctx.rb.Error("ERR Unknown option given: " + std::string(o));
  }
  if (pos >= a.size()) return ctx.rb.Error("ERR Function code is missing");
  std::string name, err;
  // The AOF's own FUNCTION LOADs run without the load timeout (Redis: mustObeyClient).
  int64_t timeout = ctx.session.replaying ? 0 : kLoadTimeoutMs;
  if (!CreateLibrary(a[pos], replace, &libs_, timeout, &name, &err))
    return ctx.rb.Error("ERR " + err);
  ctx.dirty++;
  ctx.PropagateAs(std::vector<std::string>(a.begin(), a.end()));
  ctx.rb.Bulk(name);
}

void ScriptingEngine::FunctionList(CommandContext& ctx) {
  ArgList a = ctx.args;
  bool with_code = false;
  bool have_pattern = false;
  std::string_view pattern;
  for (size_t i = 2; i < a.size(); i++) {
    if (!with_code && ArgIs(a[i], "WITHCODE")) {
      with_code = true;
      continue;
    }
    if (!have_pattern && ArgIs(a[i], "LIBRARYNAME")) {
      if (i >= a.size() - 1) return ctx.rb.Error("ERR library name argument was not given");
      pattern = a[++i];
      have_pattern = true;
      continue;
    }
    return ctx.rb.Error("ERR Unknown argument " + std::string(a[i]));
  }
  std::vector<const Library*> list;
  for (const auto& [name, lib] : libs_.libs) {
    if (have_pattern && !GlobMatch(pattern, name, /*nocase=*/true)) continue;
    list.push_back(lib.get());
  }
  ReplyBuilder& rb = ctx.rb;
  rb.ArrayHeader(list.size());
  for (const Library* lib : list) {
    rb.MapHeader(with_code ? 4 : 3);
    rb.Bulk("library_name");
    rb.Bulk(lib->name);
    rb.Bulk("engine");
    rb.Bulk("LUA");
    rb.Bulk("functions");
    rb.ArrayHeader(lib->functions.size());
    for (const auto& f : lib->functions) {
      rb.MapHeader(3);
      rb.Bulk("name");
      rb.Bulk(f->name);
      rb.Bulk("description");
      if (f->has_desc)
        rb.Bulk(f->desc);
      else
        rb.Null();
      rb.Bulk("flags");
      size_t n = 0;
      for (const auto& fl : kFlagNames) n += (f->flags & fl.flag) ? 1 : 0;
      rb.SetHeader(n);
      for (const auto& fl : kFlagNames) {
        if (f->flags & fl.flag) rb.SimpleString(fl.name);
      }
    }
    if (with_code) {
      rb.Bulk("library_code");
      rb.Bulk(lib->code);
    }
  }
}

// The payload as Redis 7.0 writes it (functionDumpCommand): RDB_OPCODE_FUNCTION2 and the
// library's code as an RDB string per library, the RDB version (2 bytes) and the CRC-64.
void ScriptingEngine::FunctionDump(CommandContext& ctx) {
  std::string payload, scratch;
  for (const auto& [name, lib] : libs_.libs) {
    payload.push_back(char(kOpFunction2));
    rdb::PutString(&payload, lib->code, /*compress=*/true, &scratch);
  }
  payload.push_back(char(rdb::kDumpRdbVersion & 0xff));
  payload.push_back(char((rdb::kDumpRdbVersion >> 8) & 0xff));
  uint64_t crc = Crc64(0, payload.data(), payload.size());
  for (int i = 0; i < 8; i++) payload.push_back(char((crc >> (8 * i)) & 0xff));
  ctx.rb.Bulk(payload);
}

void ScriptingEngine::FunctionRestore(CommandContext& ctx) {
  ArgList a = ctx.args;
  if (a.size() > 4) {
    return ctx.rb.Error("ERR unknown subcommand or wrong number of arguments for '" +
                        std::string(a[1].substr(0, 128)) + "'. Try FUNCTION HELP.");
  }
  enum { kAppend, kReplace, kFlush } policy = kAppend;
  if (a.size() == 4) {
    if (ArgIs(a[3], "APPEND")) {
      policy = kAppend;
    } else if (ArgIs(a[3], "REPLACE")) {
      policy = kReplace;
    } else if (ArgIs(a[3], "FLUSH")) {
      policy = kFlush;
    } else {
      return ctx.rb.Error(
          "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.");
    }
  }
  std::string_view data = a[2];
  uint16_t version = 0;
  if (!rdb::VerifyDumpPayload(data, &version))
    return ctx.rb.Error("ERR DUMP payload version or checksum are wrong");
  // Decode every library into a fresh set first; join it only when all loaded.
  LibSet fresh;
  std::string err;
  rdb::MemorySource src(data.substr(0, data.size() - 10));
  rdb::ValueDecoder d(&src, "payload", "payload");
  while (d.left() > 0 && err.empty()) {
    uint8_t type;
    if (!d.U8(&type).ok()) {
      err = "can not read data type";
      break;
    }
    if (type != kOpFunction2 && type != kOpFunctionPreGa) {
      err = "given type is not a function";
      break;
    }
    std::string code;
    if (type == kOpFunctionPreGa) {
      // Redis 7.0's release candidates: name, engine, optional description, code.
      std::string name, engine, desc, blob;
      uint64_t has_desc = 0;
      if (!d.String(&name, "library name").ok())
        err = "Failed loading library name";
      else if (!d.String(&engine, "engine name").ok())
        err = "Failed loading engine name";
      else if (!d.PlainLen(&has_desc, "description indicator").ok())
        err = "Failed loading library description indicator";
      else if (has_desc && !d.String(&desc, "description").ok())
        err = "Failed loading library description";
      else if (!d.String(&blob, "library blob").ok())
        err = "Failed loading library blob";
      if (!err.empty()) break;
      code = "#!" + engine + " name=" + name + "\n" + blob;
    } else if (!d.String(&code, "library payload").ok()) {
      err = "Failed loading library payload";
      break;
    }
    std::string name;
    if (!CreateLibrary(code, false, &fresh, 0, &name, &err)) break;
  }
  auto free_set = [&](LibSet& s) {
    for (auto& [n, lib] : s.libs) FreeLibrary(lib.get());
    s.libs.clear();
    s.functions.clear();
  };
  if (err.empty()) {
    if (policy == kFlush) {
      free_set(libs_);
      libs_ = std::move(fresh);
      fresh = LibSet();
    } else {
      // libraryJoin: same-name libraries collide (unless REPLACE), then function names.
      std::vector<std::unique_ptr<Library>> replaced;
      for (auto& [n, lib] : fresh.libs) {
        auto it = libs_.libs.find(n);
        if (it == libs_.libs.end()) continue;
        if (policy != kReplace) {
          err = "Library " + n + " already exists";
          break;
        }
        UnlinkLibrary(&libs_, it->second.get());
        replaced.push_back(std::move(it->second));
        libs_.libs.erase(it);
      }
      if (err.empty()) {
        for (auto& [fname, f] : fresh.functions) {
          if (libs_.functions.count(fname)) {
            err = "Function " + f->name + " already exists";
            break;
          }
        }
      }
      if (err.empty()) {
        for (auto& [n, lib] : fresh.libs) LinkLibrary(&libs_, std::move(lib));
        fresh.libs.clear();
        fresh.functions.clear();
        for (auto& lib : replaced) FreeLibrary(lib.get());
      } else {
        for (auto& lib : replaced) LinkLibrary(&libs_, std::move(lib));
      }
    }
  }
  free_set(fresh);
  if (!err.empty()) return ctx.rb.Error("ERR " + err);
  ctx.dirty++;
  ctx.PropagateAs(std::vector<std::string>(a.begin(), a.end()));
  ctx.rb.Ok();
}

void ScriptingEngine::FunctionStats(CommandContext& ctx) {
  ReplyBuilder& rb = ctx.rb;
  if (current_ && current_->eval_mode)
    return rb.Error(
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.");
  rb.MapHeader(2);
  rb.Bulk("running_script");
  if (!current_) {
    rb.Null();
  } else {
    rb.MapHeader(3);
    rb.Bulk("name");
    rb.Bulk(current_->funcname);
    rb.Bulk("command");
    rb.ArrayHeader(current_->caller_args.size());
    for (std::string_view s : current_->caller_args) rb.Bulk(s);
    rb.Bulk("duration_ms");
    rb.Integer((engine_->clock()->MonotonicUs() - current_->start_us) / 1000);
  }
  rb.Bulk("engines");
  rb.MapHeader(1);
  rb.Bulk("LUA");
  rb.MapHeader(2);
  rb.Bulk("libraries_count");
  rb.Integer(int64_t(libs_.libs.size()));
  rb.Bulk("functions_count");
  rb.Integer(int64_t(libs_.functions.size()));
}

void ScriptingEngine::FunctionCommand(CommandContext& ctx) {
  ArgList a = ctx.args;
  std::string_view sub = a[1];
  struct Sub {
    const char* name;
    int arity;
  };
  static constexpr Sub kSubs[] = {{"LOAD", -3}, {"DELETE", 3}, {"FLUSH", -2},
                                  {"LIST", -2}, {"DUMP", 2},   {"RESTORE", -3},
                                  {"STATS", 2}, {"KILL", 2},   {"HELP", 2}};
  const Sub* found = nullptr;
  for (const auto& s : kSubs) {
    if (EqualsIgnoreCase(sub, s.name)) found = &s;
  }
  if (!found) return ctx.rb.Error(err::UnknownSubcommand(sub, "FUNCTION"));
  int n = int(a.size());
  if ((found->arity > 0 && n != found->arity) || (found->arity < 0 && n < -found->arity)) {
    std::string lower(found->name);
    for (char& c : lower) c = char(tolower(static_cast<unsigned char>(c)));
    return ctx.rb.Error("ERR wrong number of arguments for 'function|" + lower + "' command");
  }
  if (ArgIs(sub, "LOAD")) return FunctionLoad(ctx);
  if (ArgIs(sub, "LIST")) return FunctionList(ctx);
  if (ArgIs(sub, "DUMP")) return FunctionDump(ctx);
  if (ArgIs(sub, "RESTORE")) return FunctionRestore(ctx);
  if (ArgIs(sub, "STATS")) return FunctionStats(ctx);
  if (ArgIs(sub, "KILL")) return Kill(ctx.rb, false);
  if (ArgIs(sub, "DELETE")) {
    auto it = libs_.libs.find(std::string(a[2]));
    if (it == libs_.libs.end()) return ctx.rb.Error("ERR Library not found");
    UnlinkLibrary(&libs_, it->second.get());
    FreeLibrary(it->second.get());
    libs_.libs.erase(it);
    ctx.dirty++;
    ctx.PropagateAs(std::vector<std::string>(a.begin(), a.end()));
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "FLUSH")) {
    if (n > 3) {
      return ctx.rb.Error("ERR unknown subcommand or wrong number of arguments for '" +
                          std::string(a[1].substr(0, 128)) + "'. Try FUNCTION HELP.");
    }
    if (n == 3 && !ArgIs(a[2], "SYNC") && !ArgIs(a[2], "ASYNC"))
      return ctx.rb.Error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
    for (auto& [name, lib] : libs_.libs) FreeLibrary(lib.get());
    libs_.libs.clear();
    libs_.functions.clear();
    ctx.dirty++;
    ctx.PropagateAs(std::vector<std::string>(a.begin(), a.end()));
    return ctx.rb.Ok();
  }
  // HELP
  ReplyHelp(
      ctx.rb, "FUNCTION",
      {"LOAD [REPLACE] <FUNCTION CODE>",
       "    Create a new library with the given library name and code.",
       "DELETE <LIBRARY NAME>",
       "    Delete the given library.",
       "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
       "    Return general information on all the libraries:",
       "    * Library name",
       "    * The engine used to run the Library",
       "    * Library description",
       "    * Functions list",
       "    * Library code (if WITHCODE is given)",
       "    It also possible to get only function that matches a pattern using LIBRARYNAME "
       "argument.",
       "STATS",
       "    Return information about the current function running:",
       "    * Function name",
       "    * Command used to run the function",
       "    * Duration in MS that the function is running",
       "    If no function is running, return nil",
       "    In addition, returns a list of available engines.",
       "KILL",
       "    Kill the current running function.",
       "FLUSH [ASYNC|SYNC]",
       "    Delete all the libraries.",
       "    When called without the optional mode argument, the behavior is determined by the",
       "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
       "    * ASYNC: Asynchronously flush the libraries.",
       "    * SYNC: Synchronously flush the libraries.",
       "DUMP",
       "    Return a serialized payload representing the current libraries, can be restored "
       "using FUNCTION RESTORE command",
       "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
       "    Restore the libraries represented by the given payload, it is possible to give a "
       "restore policy to",
       "    control how to handle existing libraries (default APPEND):",
       "    * FLUSH: delete all existing libraries.",
       "    * APPEND: appends the restored libraries to the existing libraries. On collision, "
       "abort.",
       "    * REPLACE: appends the restored libraries to the existing libraries, On collision, "
       "replace the old",
       "      libraries with the new libraries (notice that even on this option there is a "
       "chance of failure",
       "      in case of functions name collision with another library)."});
}

void ScriptingEngine::Fcall(CommandContext& ctx, bool ro) {
  ArgList a = ctx.args;
  auto it = libs_.functions.find(FnKey(a[1]));
  if (it == libs_.functions.end()) return ctx.rb.Error("ERR Function not found");
  Function* f = it->second;
  int64_t numkeys;
  if (!ParseInt64(a[2], &numkeys)) return ctx.rb.Error("ERR Bad number of keys provided");
  if (numkeys > int64_t(a.size()) - 3)
    return ctx.rb.Error("ERR Number of keys can't be greater than number of args");
  if (numkeys < 0) return ctx.rb.Error("ERR Number of keys can't be negative");
  RunCtx rc;
  rc.funcname = f->name;
  rc.eval_mode = false;
  if (!PrepareRun(rc, ctx, f->flags, ro)) return;
  std::vector<std::string_view> keys(a.begin() + 3, a.begin() + 3 + numkeys);
  std::vector<std::string_view> args(a.begin() + 3 + numkeys, a.end());
  bool began = BeginRun(rc);
  fn_vm_->CallFunction(rc, f->ref, keys, args);
  EndRun(rc, began);
}

// ---------------------------------------------------------------- table entries

namespace {

ScriptingEngine& SE(CommandContext& ctx) { return ScriptingEngine::Of(ctx.engine); }
void EvalCmd(CommandContext& ctx) { SE(ctx).Eval(ctx, false, false); }
void EvalShaCmd(CommandContext& ctx) { SE(ctx).Eval(ctx, true, false); }
void EvalRoCmd(CommandContext& ctx) { SE(ctx).Eval(ctx, false, true); }
void EvalShaRoCmd(CommandContext& ctx) { SE(ctx).Eval(ctx, true, true); }
void ScriptCmd(CommandContext& ctx) { SE(ctx).ScriptCommand(ctx); }
void FunctionCmd(CommandContext& ctx) { SE(ctx).FunctionCommand(ctx); }
void FcallCmd(CommandContext& ctx) { SE(ctx).Fcall(ctx, false); }
void FcallRoCmd(CommandContext& ctx) { SE(ctx).Fcall(ctx, true); }

}  // namespace

void RegisterScriptingCommands(Engine& engine) {
  using namespace cmd;
  const char* g = "scripting";
  const uint32_t run =
      kNoScript | kSkipMonitor | kNoMandatoryKeys | kStale | kScriptFlags | kMovableKeys;
  engine.AddCommand({"eval", -3, run | kMayReplicate, 0, 0, 0, EvalCmd, g,
                     "Execute a Lua script server side", "2.6.0", "@slow @scripting"});
  engine.AddCommand({"evalsha", -3, run | kMayReplicate, 0, 0, 0, EvalShaCmd, g,
                     "Execute a Lua script server side", "2.6.0", "@slow @scripting"});
  engine.AddCommand({"eval_ro", -3, run | kReadOnly, 0, 0, 0, EvalRoCmd, g,
                     "Execute a read-only Lua script server side", "7.0.0", "@slow @scripting"});
  engine.AddCommand({"evalsha_ro", -3, run | kReadOnly, 0, 0, 0, EvalShaRoCmd, g,
                     "Execute a read-only Lua script server side", "7.0.0", "@slow @scripting"});
  engine.AddCommand({"fcall", -3, run | kMayReplicate, 0, 0, 0, FcallCmd, g, "Invoke a function",
                     "7.0.0", "@slow @scripting"});
  engine.AddCommand({"fcall_ro", -3, run | kReadOnly, 0, 0, 0, FcallRoCmd, g,
                     "Invoke a read-only function", "7.0.0", "@slow @scripting"});
  engine.AddCommand({"script", -2, kNoScript | kStale, 0, 0, 0, ScriptCmd, g,
                     "A container for Lua scripts management commands", "2.6.0",
                     "@slow @scripting"});
  engine.AddCommand({"function", -2, kNoScript | kScriptFlags, 0, 0, 0, FunctionCmd, g,
                     "A container for function commands", "7.0.0", "@slow @scripting"});
}

}  // namespace ferrite::scripting
