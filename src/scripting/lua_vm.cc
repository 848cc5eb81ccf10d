#include "scripting/lua_vm.h"

#include <nettle/sha1.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <lua.hpp>

#include "base/strutil.h"
#include "scripting/script_engine.h"

// Debian's lua-cjson and lua-bitop (C libraries; their headers declare these without
// C linkage).
extern "C" int luaopen_cjson(lua_State* L);
extern "C" int luaopen_bit(lua_State* L);

namespace ferrite::scripting {
namespace {

// Registry keys.
constexpr const char* kRoKey = "ferrite.ro";       // proxy -> the table it stands for
constexpr const char* kRoOfKey = "ferrite.ro_of";  // table -> its proxy
constexpr const char* kGlobalsKey = "ferrite.G";   // the real globals table
constexpr const char* kProxyGKey = "ferrite.pG";   // what scripts see as their globals
constexpr const char* kLibApiKey = "ferrite.lib";  // FUNCTION LOAD's globals (real table)
constexpr const char* kErrHandlerKey = "__ERROR_HANDLER__";
constexpr const char* kOwnerKey = "ferrite.owner";
constexpr const char* kLoadCtxKey = "ferrite.load";
constexpr const char* kReadOnlyError = "Attempt to modify a readonly table";

// Redis's log levels (server.h LL_*).
enum { kLogDebug = 0, kLogVerbose = 1, kLogNotice = 2, kLogWarning = 3 };

ScriptingEngine* Owner(lua_State* L) {
  lua_getfield(L, LUA_REGISTRYINDEX, kOwnerKey);
  auto* se = static_cast<ScriptingEngine*>(lua_touserdata(L, -1));
  lua_pop(L, 1);
  return se;
}

RunCtx* Current(lua_State* L) { return Owner(L)->current(); }

int RaiseError(lua_State* L, std::string_view msg) {
  PushErrorTable(L, msg);
  return lua_error(L);
}

// ---------------------------------------------------------------- read-only tables

// The table a proxy stands for, pushed; nothing pushed (false) when t is no proxy.
bool PushBacking(lua_State* L, int idx) {
  if (!lua_istable(L, idx)) return false;
  int t = idx > 0 ? idx : lua_gettop(L) + idx + 1;
  lua_getfield(L, LUA_REGISTRYINDEX, kRoKey);
  lua_pushvalue(L, t);
  lua_rawget(L, -2);
  lua_remove(L, -2);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return false;
  }
  return true;
}

bool IsProxy(lua_State* L, int idx) {
  if (!PushBacking(L, idx)) return false;
  lua_pop(L, 1);
  return true;
}

int RoNewIndex(lua_State* L) { return luaL_error(L, "%s", kReadOnlyError); }

// Raised by the wrapped builtins, which Redis's Lua raises from C (no position).
int RoError(lua_State* L) {
  lua_pushstring(L, kReadOnlyError);
  return lua_error(L);
}

// Pushes the read-only proxy of the table at idx, creating it on first use; the tables
// it holds are replaced by their proxies (recursively), so every table reachable from it
// is read-only too.
void PushReadOnly(lua_State* L, int idx) {
  int t = idx > 0 ? idx : lua_gettop(L) + idx + 1;
  if (IsProxy(L, t)) {
    lua_pushvalue(L, t);
    return;
  }
  lua_getfield(L, LUA_REGISTRYINDEX, kRoOfKey);
  lua_pushvalue(L, t);
  lua_rawget(L, -2);
  if (!lua_isnil(L, -1)) {
    lua_remove(L, -2);
    return;
  }
  lua_pop(L, 1);
  int ro_of = lua_gettop(L);
  lua_newtable(L);
  int proxy = lua_gettop(L);
  lua_newtable(L);
  lua_pushvalue(L, t);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, RoNewIndex);
  lua_setfield(L, -2, "__newindex");
  lua_setmetatable(L, proxy);
  lua_pushvalue(L, t);
  lua_pushvalue(L, proxy);
  lua_rawset(L, ro_of);
  lua_getfield(L, LUA_REGISTRYINDEX, kRoKey);
  lua_pushvalue(L, proxy);
  lua_pushvalue(L, t);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  lua_pushnil(L);
  while (lua_next(L, t)) {  // key value
    if (lua_istable(L, -1)) {
      PushReadOnly(L, -1);  // key value proxy
      lua_pushvalue(L, -3);
      lua_pushvalue(L, -2);
      lua_rawset(L, t);  // an existing field: allowed during the traversal
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_remove(L, ro_of);
}

// rawset(t, k, v)
int WrapRawset(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checkany(L, 2);
  luaL_checkany(L, 3);
  if (IsProxy(L, 1)) return RoError(L);
  lua_settop(L, 3);
  lua_rawset(L, 1);
  return 1;
}

// rawget(t, k)
int WrapRawget(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checkany(L, 2);
  lua_settop(L, 2);
  if (PushBacking(L, 1)) lua_replace(L, 1);
  lua_rawget(L, 1);
  return 1;
}

// next(t [, k])
int WrapNext(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 2);
  if (PushBacking(L, 1)) lua_replace(L, 1);
  if (lua_next(L, 1)) return 2;
  lua_pushnil(L);
  return 1;
}

// pairs(t): next (the wrapped one, upvalue 1), t, nil
int WrapPairs(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

int IpairsAux(lua_State* L) {
  int i = luaL_checkint(L, 2);
  luaL_checktype(L, 1, LUA_TTABLE);
  if (PushBacking(L, 1)) lua_replace(L, 1);
  i++;
  lua_pushinteger(L, i);
  lua_rawgeti(L, 1, i);
  return lua_isnil(L, -1) ? 0 : 2;
}

int WrapIpairs(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, 1);
  lua_pushinteger(L, 0);
  return 3;
}

// setmetatable(t, mt)
int WrapSetmetatable(lua_State* L) {
  int t = lua_type(L, 2);
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_argcheck(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table expected");
  if (luaL_getmetafield(L, 1, "__metatable")) luaL_error(L, "cannot change a protected metatable");
  if (IsProxy(L, 1)) return RoError(L);
  lua_settop(L, 2);
  lua_setmetatable(L, 1);
  return 1;
}

// getmetatable(obj): a proxy shows the metatable of the table it stands for, read-only;
// the metatable of strings (shared by every script) is read-only too. Other objects as
// Lua's own getmetatable (a __metatable field wins).
int WrapGetmetatable(lua_State* L) {
  luaL_checkany(L, 1);
  bool protect = lua_type(L, 1) == LUA_TSTRING;
  if (PushBacking(L, 1)) {
    lua_replace(L, 1);
    protect = true;
  }
  lua_settop(L, 1);
  if (!lua_getmetatable(L, 1)) {
    lua_pushnil(L);
    return 1;
  }
  if (luaL_getmetafield(L, 1, "__metatable")) return 1;
  if (protect) PushReadOnly(L, 2);
  return 1;
}

// getfenv([f]): Lua's own (upvalue 1), but a real table that has a proxy is shown as it.
int WrapGetfenv(lua_State* L) {
  int n = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, n, 1);
  if (lua_istable(L, -1) && !IsProxy(L, -1)) {
    lua_getfield(L, LUA_REGISTRYINDEX, kRoOfKey);
    lua_pushvalue(L, -2);
    lua_rawget(L, -2);
    if (!lua_isnil(L, -1)) return 1;
    lua_pop(L, 2);
  }
  return 1;
}

// table.insert / table.remove / table.sort: refuse a proxy, else Lua's own (upvalue 1).
int WrapTableWrite(lua_State* L) {
  if (IsProxy(L, 1)) return RoError(L);
  int n = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, n, LUA_MULTRET);
  return lua_gettop(L);
}

// Compiles text only. Redis's Lua parses every chunk as text, so a precompiled (binary)
// chunk fails with the parser's error; a leading space gives Debian's Lua the same.
int LoadText(lua_State* L, std::string_view code, const char* chunkname) {
  if (!code.empty() && code[0] == LUA_SIGNATURE[0]) {
    std::string spaced = " ";
    spaced.append(code);
    return luaL_loadbuffer(L, spaced.data(), spaced.size(), chunkname);
  }
  return luaL_loadbuffer(L, code.data(), code.size(), chunkname);
}

// loadstring(s [, chunkname])
int WrapLoadstring(lua_State* L) {
  size_t len;
  const char* s = luaL_checklstring(L, 1, &len);
  const char* chunkname = luaL_optstring(L, 2, s);
  if (LoadText(L, std::string_view(s, len), chunkname) == 0) return 1;
  lua_pushnil(L);
  lua_insert(L, -2);
  return 2;
}

// load(f [, chunkname]): the pieces f returns, compiled as text.
int WrapLoad(lua_State* L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  const char* chunkname = luaL_optstring(L, 2, "=(load)");
  std::string code;
  while (true) {
    lua_pushvalue(L, 1);
    lua_call(L, 0, 1);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      break;
    }
    if (!lua_isstring(L, -1)) {
      lua_pop(L, 1);
      lua_pushnil(L);
      lua_pushstring(L, "reader function must return a string");
      return 2;
    }
    size_t len;
    const char* p = lua_tolstring(L, -1, &len);
    if (len == 0) {
      lua_pop(L, 1);
      break;
    }
    code.append(p, len);
    lua_pop(L, 1);
  }
  if (LoadText(L, code, chunkname) == 0) return 1;
  lua_pushnil(L);
  lua_insert(L, -2);
  return 2;
}

// The __index of the real globals (Redis's luaProtectedTableError).
int ProtectedTableError(lua_State* L) {
  if (lua_gettop(L) != 2) luaL_error(L, "Wrong number of arguments to luaProtectedTableError");
  if (!lua_isstring(L, -1) && !lua_isnumber(L, -1))
    luaL_error(L, "Second argument to luaProtectedTableError must be a string or number");
  const char* name = lua_tostring(L, -1);
  return luaL_error(L, "Script attempted to access nonexistent global variable '%s'", name);
}

void SetErrorMetatable(lua_State* L) {
  lua_newtable(L);
  lua_pushcfunction(L, ProtectedTableError);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
}

// ---------------------------------------------------------------- math.random

int MathRandom(lua_State* L) {
  if (!Current(L))
    return luaL_error(L, "math.random can only be called inside a script invocation");
  constexpr int64_t kMax = INT32_MAX;  // REDIS_LRAND48_MAX
  lua_Number r = lua_Number(RedisLrand48() % kMax) / lua_Number(kMax);
  switch (lua_gettop(L)) {
    case 0:
      lua_pushnumber(L, r);
      break;
    case 1: {
      int u = luaL_checkint(L, 1);
      luaL_argcheck(L, 1 <= u, 1, "interval is empty");
      lua_pushnumber(L, std::floor(r * u) + 1);
      break;
    }
    case 2: {
      int l = luaL_checkint(L, 1);
      int u = luaL_checkint(L, 2);
      luaL_argcheck(L, l <= u, 2, "interval is empty");
      lua_pushnumber(L, std::floor(r * (u - l + 1)) + l);
      break;
    }
    default:
      return luaL_error(L, "wrong number of arguments");
  }
  return 1;
}

int MathRandomseed(lua_State* L) {
  if (!Current(L))
    return luaL_error(L, "math.randomseed can only be called inside a script invocation");
  RedisSrand48(int32_t(luaL_checkint(L, 1)));
  return 0;
}

// ---------------------------------------------------------------- the redis API

// The owner is the closure's upvalue: no registry lookup on the hot path.
ScriptingEngine* UpOwner(lua_State* L) {
  return static_cast<ScriptingEngine*>(lua_touserdata(L, lua_upvalueindex(1)));
}
int RedisCall(lua_State* L) { return UpOwner(L)->LuaRedisCall(L, true); }
int RedisPcallCmd(lua_State* L) { return UpOwner(L)->LuaRedisCall(L, false); }

// pcall: Lua's, but an error table (Redis 7's error objects) is given back as its `err`
// string, as older Redis versions did.
int RedisPcall(lua_State* L) {
  int argc = lua_gettop(L);
  lua_pushboolean(L, 1);
  lua_insert(L, 1);
  if (lua_pcall(L, argc - 1, LUA_MULTRET, 0)) {
    lua_remove(L, 1);
    if (lua_istable(L, -1)) {
      lua_getfield(L, -1, "err");
      if (lua_isstring(L, -1)) {
        lua_replace(L, -2);
      } else {
        lua_pop(L, 1);
      }
    }
    lua_pushboolean(L, 0);
    lua_insert(L, 1);
  }
  return lua_gettop(L);
}

int RedisSha1hex(lua_State* L) {
  if (lua_gettop(L) != 1) return RaiseError(L, "wrong number of arguments");
  size_t len = 0;
  const char* s = lua_tolstring(L, 1, &len);
  std::string hex = Sha1Hex(std::string_view(s ? s : "", s ? len : 0));
  lua_pushlstring(L, hex.data(), hex.size());
  return 1;
}

int RedisErrorReply(lua_State* L) {
  if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
    PushErrorTable(L, "wrong number or type of arguments");
    return 1;
  }
  size_t len;
  const char* e = lua_tolstring(L, -1, &len);
  std::string buf;
  if (len == 0 || e[0] != '-') buf.push_back('-');
  buf.append(e, len);
  PushErrorTable(L, buf);
  return 1;
}

int RedisStatusReply(lua_State* L) {
  if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
    PushErrorTable(L, "wrong number or type of arguments");
    return 1;
  }
  lua_newtable(L);
  lua_pushstring(L, "ok");
  lua_pushvalue(L, -3);
  lua_settable(L, -3);
  return 1;
}

// redis.set_repl: REPL_NONE 0, REPL_AOF 1, REPL_REPLICA/REPL_SLAVE 2, REPL_ALL 3.
constexpr int kReplAof = 1, kReplReplica = 2;
int RedisSetRepl(lua_State* L) {
  RunCtx* rc = Current(L);
  if (!rc) return RaiseError(L, "redis.set_repl can only be called inside a script invocation");
  if (lua_gettop(L) != 1) return RaiseError(L, "redis.set_repl() requires two arguments.");
  int flags = int(lua_tonumber(L, -1));
  if ((flags & ~(kReplAof | kReplReplica)) != 0)
    return RaiseError(
        L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.");
  rc->repl_aof = (flags & kReplAof) != 0;
  return 0;
}

int RedisSetResp(lua_State* L) {
  RunCtx* rc = Current(L);
  if (!rc) return RaiseError(L, "redis.setresp can only be called inside a script invocation");
  if (lua_gettop(L) != 1) return RaiseError(L, "redis.setresp() requires one argument.");
  int resp = int(lua_tonumber(L, -1));
  if (resp != 2 && resp != 3) return RaiseError(L, "RESP version must be 2 or 3.");
  rc->resp = resp;
  return 0;
}

int RedisLog(lua_State* L) {
  int argc = lua_gettop(L);
  if (argc < 2) return RaiseError(L, "redis.log() requires two arguments or more.");
  if (!lua_isnumber(L, -argc)) return RaiseError(L, "First argument must be a number (log level).");
  int level = int(lua_tonumber(L, -argc));
  if (level < kLogDebug || level > kLogWarning) return RaiseError(L, "Invalid debug level.");
  std::string msg;
  for (int j = 1; j < argc; j++) {
    size_t len;
    const char* s = lua_tolstring(L, (-argc) + j, &len);
    if (!s) continue;
    if (j != 1) msg.push_back(' ');
    msg.append(s, len);
  }
  switch (level) {
    case kLogDebug:
    case kLogVerbose:
      spdlog::debug("{}", msg);
      break;
    case kLogNotice:
      spdlog::info("{}", msg);
      break;
    default:
      spdlog::warn("{}", msg);
  }
  return 0;
}

// redis.acl_check_cmd: whether the script's caller's user may run the command line.
int RedisAclCheckCmd(lua_State* L) {
  if (!Current(L))
    return RaiseError(L, "redis.acl_check_cmd can only be called inside a script invocation");
  int argc = lua_gettop(L);
  if (argc == 0)
    return RaiseError(L, "Please specify at least one argument for this redis lib call");
  for (int j = 1; j <= argc; j++) {
    if (lua_type(L, j) != LUA_TNUMBER && !lua_isstring(L, j))
      return RaiseError(L, "Lua redis lib command arguments must be strings or integers");
  }
  size_t len;
  const char* name = lua_tolstring(L, 1, &len);
  const CommandSpec* spec = Owner(L)->engine().commands().Find(std::string_view(name, len));
  std::vector<std::string_view> args;
  for (int j = 1; j <= argc; j++) {
    size_t l;
    const char* p = lua_tolstring(L, j, &l);
    args.emplace_back(p, l);
  }
  spec = Owner(L)->engine().commands().Lookup(args);
  if (!spec) return RaiseError(L, "Invalid command passed to redis.acl_check_cmd()");
  const Session* caller = Current(L)->caller;
  lua_pushboolean(
      L, Owner(L)->engine().acl().Check(caller ? caller->user : nullptr, *spec, args) == acl::kOk);
  return 1;
}

// Debugger stubs (no LDB): what Redis returns when no debugging session is active.
int RedisBreakpoint(lua_State* L) {
  lua_pushboolean(L, 0);
  return 1;
}
int RedisDebug(lua_State*) { return 0; }
int RedisReplicateCommands(lua_State* L) {
  lua_pushboolean(L, 1);
  return 1;
}

void SetFn(lua_State* L, const char* name, lua_CFunction fn) {
  lua_pushcfunction(L, fn);
  lua_setfield(L, -2, name);
}
void SetNum(lua_State* L, const char* name, lua_Number v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, name);
}

constexpr const char* kRedisVersion = "7.0.15";
constexpr lua_Number kRedisVersionNum = 0x07000f;

void RegisterLog(lua_State* L) {
  SetFn(L, "log", RedisLog);
  SetNum(L, "LOG_DEBUG", kLogDebug);
  SetNum(L, "LOG_VERBOSE", kLogVerbose);
  SetNum(L, "LOG_NOTICE", kLogNotice);
  SetNum(L, "LOG_WARNING", kLogWarning);
}

void RegisterVersion(lua_State* L) {
  SetNum(L, "REDIS_VERSION_NUM", kRedisVersionNum);
  lua_pushstring(L, kRedisVersion);
  lua_setfield(L, -2, "REDIS_VERSION");
}

// ---------------------------------------------------------------- replies

// A reply the engine wrote, read back (trusted input: no validation beyond bounds).
struct ReplyReader {
  const char* p;
  const char* end;
  std::string_view Line() {
    const char* e = static_cast<const char*>(memchr(p, '\r', size_t(end - p)));
    if (!e) e = end;
    std::string_view s(p, size_t(e - p));
    p = std::min(end, e + 2);
    return s;
  }
  int64_t Int() {
    std::string_view s = Line();
    int64_t v = 0;
    ParseInt64(s, &v);
    return v;
  }
};

// Pushes {tag = text}, the table RESP3 status and big-number replies become in Lua.
void PushTaggedString(lua_State* L, const char* tag, std::string_view text) {
  lua_newtable(L);
  lua_pushstring(L, tag);
  lua_pushlstring(L, text.data(), text.size());
  lua_settable(L, -3);
}

// Pushes one reply (or, with push = false, skips it: attributes).
void ReadOne(lua_State* L, ReplyReader& r, bool push) {
  if (r.p >= r.end) {
    if (push) lua_pushnil(L);
    return;
  }
  if (push) luaL_checkstack(L, 4, "lua stack limit reach when parsing redis.call reply");
  char t = *r.p++;
  switch (t) {
    case ':': {
      int64_t v = r.Int();
      if (push) lua_pushnumber(L, lua_Number(v));
      return;
    }
    case '$': {
      int64_t n = r.Int();
      if (n < 0) {
        if (push) lua_pushboolean(L, 0);
        return;
      }
      size_t len = std::min<size_t>(size_t(n), size_t(r.end - r.p));
      if (push) lua_pushlstring(L, r.p, len);
      r.p = std::min(r.end, r.p + len + 2);
      return;
    }
    case '+': {
      std::string_view s = r.Line();
      if (!push) return;
      return PushTaggedString(L, "ok", s);
    }
    case '-': {
      std::string_view s = r.Line();
      if (!push) return;
      std::string e = "-";
      e.append(s);
      PushErrorTable(L, e);
      // The command's own error was counted when it was written.
      lua_pushstring(L, "ignore_error_stats_update");
      lua_pushboolean(L, 1);
      lua_settable(L, -3);
      return;
    }
    case '*':
    case '~':
    case '>': {
      int64_t n = r.Int();
      if (n < 0) {
        if (push) lua_pushboolean(L, 0);
        return;
      }
      if (push) {
        lua_newtable(L);
        if (t == '~') {
          lua_pushstring(L, "set");
          lua_newtable(L);
        }
      }
      for (int64_t j = 0; j < n; j++) {
        if (push && t != '~') lua_pushnumber(L, lua_Number(j + 1));
        ReadOne(L, r, push);
        if (push && t == '~') lua_pushboolean(L, 1);
        if (push) lua_settable(L, -3);
      }
      if (push && t == '~') lua_settable(L, -3);
      return;
    }
    case '%': {
      int64_t n = r.Int();
      if (push) {
        lua_newtable(L);
        lua_pushstring(L, "map");
        lua_newtable(L);
      }
      for (int64_t j = 0; j < n; j++) {
        ReadOne(L, r, push);
        ReadOne(L, r, push);
        if (push) lua_settable(L, -3);
      }
      if (push) lua_settable(L, -3);
      return;
    }
    case '|': {  // attribute: skipped, the reply follows
      int64_t n = r.Int();
      for (int64_t j = 0; j < 2 * n; j++) ReadOne(L, r, false);
      ReadOne(L, r, push);
      return;
    }
    case '_':
      r.Line();
      if (push) lua_pushnil(L);
      return;
    case '#': {
      std::string_view s = r.Line();
      if (push) lua_pushboolean(L, !s.empty() && s[0] == 't');
      return;
    }
    case ',': {
      std::string s(r.Line());
      if (!push) return;
      lua_newtable(L);
      lua_pushstring(L, "double");
      lua_pushnumber(L, strtod(s.c_str(), nullptr));
      lua_settable(L, -3);
      return;
    }
    case '(': {
      std::string_view s = r.Line();
      if (!push) return;
      return PushTaggedString(L, "big_number", s);
    }
    case '=': {
      int64_t n = r.Int();
      size_t len = std::min<size_t>(size_t(std::max<int64_t>(n, 0)), size_t(r.end - r.p));
      std::string_view body(r.p, len);
      r.p = std::min(r.end, r.p + len + 2);
      if (!push) return;
      std::string_view fmt = body.substr(0, std::min<size_t>(3, body.size()));
      std::string_view str = body.size() > 4 ? body.substr(4) : std::string_view();
      lua_newtable(L);
      lua_pushstring(L, "verbatim_string");
      lua_newtable(L);
      lua_pushstring(L, "string");
      lua_pushlstring(L, str.data(), str.size());
      lua_settable(L, -3);
      lua_pushstring(L, "format");
      lua_pushlstring(L, fmt.data(), fmt.size());
      lua_settable(L, -3);
      lua_settable(L, -3);
      return;
    }
    default:
      r.Line();
      if (push) lua_pushnil(L);
  }
}

std::string MapNewlines(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return out;
}

struct ErrorInfo {
  std::string msg;
  bool has_msg = false;
  std::string source, line;
  bool has_source = false, has_line = false;
  bool ignore_stats = false;
};

// The error object at the top of the stack (luaExtractErrorInformation).
ErrorInfo ExtractErrorInfo(lua_State* L) {
  ErrorInfo e;
  if (lua_isstring(L, -1)) {
    e.msg = std::string("ERR ") + lua_tostring(L, -1);
    e.has_msg = true;
    return e;
  }
  if (!lua_istable(L, -1)) return e;
  auto field = [&](const char* name, std::string* out, bool* has) {
    lua_getfield(L, -1, name);
    if (lua_isstring(L, -1)) {
      size_t len;
      const char* s = lua_tolstring(L, -1, &len);
      out->assign(s, len);
      *has = true;
    }
    lua_pop(L, 1);
  };
  field("err", &e.msg, &e.has_msg);
  field("source", &e.source, &e.has_source);
  field("line", &e.line, &e.has_line);
  lua_getfield(L, -1, "ignore_error_stats_update");
  if (lua_isboolean(L, -1)) e.ignore_stats = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return e;
}

// An error reply; one already counted (a command's own error handed back) is written
// without counting it again, as Redis's ERR_REPLY_FLAG_NO_STATS_UPDATE.
void WriteError(ReplyBuilder& rb, const std::string& msg, bool ignore_stats) {
  if (ignore_stats)
    rb.ErrorUncounted(msg);
  else
    rb.Error(msg);
}

// The number of entries of the table on top of the stack (its hash part included).
size_t CountTableEntries(lua_State* L) {
  size_t n = 0;
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    n++;
  }
  return n;
}

// Lua's reply (top of the stack, consumed) to Redis's reply (luaReplyToRedisReply).
void WriteLuaReply(lua_State* L, ReplyBuilder& rb, int script_resp) {
  if (!lua_checkstack(L, 4)) {
    rb.Error("ERR reached lua stack limit");
    lua_pop(L, 1);
    return;
  }
  switch (lua_type(L, -1)) {
    case LUA_TSTRING: {
      size_t len;
      const char* s = lua_tolstring(L, -1, &len);
      rb.Bulk(std::string_view(s, len));
      break;
    }
    case LUA_TBOOLEAN:
      if (script_resp == 2) {
        if (lua_toboolean(L, -1))
          rb.Integer(1);
        else
          rb.Null();
      } else {
        rb.Bool(lua_toboolean(L, -1));
      }
      break;
    case LUA_TNUMBER:
      rb.Integer(static_cast<int64_t>(lua_tonumber(L, -1)));
      break;
    case LUA_TTABLE: {
      // Error, status, double, big number, verbatim, map, set; else an array.
      lua_pushstring(L, "err");
      lua_rawget(L, -2);
      if (lua_type(L, -1) == LUA_TSTRING) {
        lua_pop(L, 1);
        ErrorInfo e = ExtractErrorInfo(L);
        WriteError(rb, e.msg, e.ignore_stats);
        lua_pop(L, 1);
        return;
      }
      lua_pop(L, 1);
      lua_pushstring(L, "ok");
      lua_rawget(L, -2);
      if (lua_type(L, -1) == LUA_TSTRING) {
        rb.SimpleString(MapNewlines(lua_tostring(L, -1)));
        lua_pop(L, 2);
        return;
      }
      lua_pop(L, 1);
      lua_pushstring(L, "double");
      lua_rawget(L, -2);
      if (lua_type(L, -1) == LUA_TNUMBER) {
        rb.Double(lua_tonumber(L, -1));
        lua_pop(L, 2);
        return;
      }
      lua_pop(L, 1);
      lua_pushstring(L, "big_number");
      lua_rawget(L, -2);
      if (lua_type(L, -1) == LUA_TSTRING) {
        size_t len;
        const char* s = lua_tolstring(L, -1, &len);
        rb.BigNumber(MapNewlines(std::string_view(s, len)));
        lua_pop(L, 2);
        return;
      }
      lua_pop(L, 1);
      lua_pushstring(L, "verbatim_string");
      lua_rawget(L, -2);
      if (lua_type(L, -1) == LUA_TTABLE) {
        lua_pushstring(L, "format");
        lua_rawget(L, -2);
        if (lua_type(L, -1) == LUA_TSTRING) {
          std::string format = lua_tostring(L, -1);
          lua_pushstring(L, "string");
          lua_rawget(L, -3);
          if (lua_type(L, -1) == LUA_TSTRING) {
            size_t len;
            const char* s = lua_tolstring(L, -1, &len);
            rb.Verbatim(std::string_view(s, len), std::string_view(format).substr(0, 3));
            lua_pop(L, 4);
            return;
          }
          lua_pop(L, 1);
        }
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
      lua_pushstring(L, "map");
      lua_rawget(L, -2);
      if (lua_type(L, -1) == LUA_TTABLE) {
        size_t n = CountTableEntries(L);
        rb.MapHeader(n);
        lua_pushnil(L);
        while (lua_next(L, -2)) {
          lua_pushvalue(L, -2);
          WriteLuaReply(L, rb, script_resp);  // key
          WriteLuaReply(L, rb, script_resp);  // value
        }
        lua_pop(L, 2);
        return;
      }
      lua_pop(L, 1);
      lua_pushstring(L, "set");
      lua_rawget(L, -2);
      if (lua_type(L, -1) == LUA_TTABLE) {
        size_t n = CountTableEntries(L);
        rb.SetHeader(n);
        lua_pushnil(L);
        while (lua_next(L, -2)) {
          lua_pop(L, 1);
          lua_pushvalue(L, -1);
          WriteLuaReply(L, rb, script_resp);
        }
        lua_pop(L, 2);
        return;
      }
      lua_pop(L, 1);
      // An array: elements 1, 2, ... up to the first nil.
      size_t n = 0;
      while (true) {
        lua_rawgeti(L, -1, int(n + 1));
        bool nil = lua_isnil(L, -1);
        lua_pop(L, 1);
        if (nil) break;
        n++;
      }
      rb.ArrayHeader(n);
      for (size_t j = 1; j <= n; j++) {
        lua_rawgeti(L, -1, int(j));
        WriteLuaReply(L, rb, script_resp);
      }
      break;
    }
    default:
      rb.Null();
  }
  lua_pop(L, 1);
}

// ---------------------------------------------------------------- hooks

int64_t MonotonicMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void CountHook(lua_State* L, lua_Debug*) {
  RunCtx* rc = Current(L);
  if (!rc) return;
  if (Owner(L)->Interrupt(*rc)) {
    spdlog::warn("Lua script killed by user with SCRIPT KILL.");
    // From now on at every line, so a pcall in the script cannot swallow the kill.
    lua_sethook(L, CountHook, LUA_MASKLINE, 0);
    RaiseError(L, "Script killed by user with SCRIPT KILL...");
  }
}

struct LoadCtx {
  int64_t start_ms;
  int64_t timeout_ms;
  std::vector<LuaVm::Registered>* out;
};

LoadCtx* CurrentLoad(lua_State* L) {
  lua_getfield(L, LUA_REGISTRYINDEX, kLoadCtxKey);
  auto* lc = static_cast<LoadCtx*>(lua_touserdata(L, -1));
  lua_pop(L, 1);
  return lc;
}

void LoadHook(lua_State* L, lua_Debug*) {
  LoadCtx* lc = CurrentLoad(L);
  if (lc && lc->timeout_ms > 0 && MonotonicMs() - lc->start_ms > lc->timeout_ms) {
    lua_sethook(L, LoadHook, LUA_MASKLINE, 0);
    RaiseError(L, "FUNCTION LOAD timeout");
  }
}

bool ValidName(std::string_view n) {
  if (n.empty()) return false;
  for (char c : n) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  }
  return true;
}

// redis.register_function(name, callback) or redis.register_function{function_name=...,
// callback=..., flags={...}, description=...}.
int RegisterFunction(lua_State* L) {
  LoadCtx* lc = CurrentLoad(L);
  if (!lc)
    return RaiseError(L, "redis.register_function can only be called on FUNCTION LOAD command");
  LuaVm::Registered reg;
  int argc = lua_gettop(L);
  if (argc < 1 || argc > 2)
    return RaiseError(L, "wrong number of arguments to redis.register_function");
  bool have_name = false, have_cb = false;
  auto fail = [&](const char* err) {
    if (have_cb) luaL_unref(L, LUA_REGISTRYINDEX, reg.ref);
    return RaiseError(L, err);
  };
  if (argc == 1) {
    if (!lua_istable(L, 1))
      return fail(
          "calling redis.register_function with a single argument is only applicable to Lua "
          "table (representing named arguments).");
    lua_pushnil(L);
    while (lua_next(L, -2)) {  // table key value
      if (!lua_isstring(L, -2))
        return fail("named argument key given to redis.register_function is not a string");
      const char* key = lua_tostring(L, -2);
      if (strcasecmp(key, "function_name") == 0) {
        if (!lua_isstring(L, -1))
          return fail("function_name argument given to redis.register_function must be a string");
        size_t len;
        const char* s = lua_tolstring(L, -1, &len);
        reg.name.assign(s, len);
        have_name = true;
      } else if (strcasecmp(key, "description") == 0) {
        if (!lua_isstring(L, -1))
          return fail("description argument given to redis.register_function must be a string");
        size_t len;
        const char* s = lua_tolstring(L, -1, &len);
        reg.desc.assign(s, len);
        reg.has_desc = true;
      } else if (strcasecmp(key, "callback") == 0) {
        if (!lua_isfunction(L, -1))
          return fail("callback argument given to redis.register_function must be a function");
        if (have_cb) luaL_unref(L, LUA_REGISTRYINDEX, reg.ref);
        reg.ref = luaL_ref(L, LUA_REGISTRYINDEX);  // pops the value
        have_cb = true;
        continue;
      } else if (strcasecmp(key, "flags") == 0) {
        if (!lua_istable(L, -1))
          return fail(
              "flags argument to redis.register_function must be a table representing "
              "function flags");
        uint32_t flags = 0;
        for (int j = 1;; j++) {
          lua_pushnumber(L, j);
          lua_gettable(L, -2);
          if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            break;
          }
          bool found = false;
          if (lua_isstring(L, -1)) {
            const char* f = lua_tostring(L, -1);
            for (const auto& fn : kFlagNames) {
              if (strcasecmp(fn.name, f) == 0) {
                flags |= fn.flag;
                found = true;
                break;
              }
            }
          }
          lua_pop(L, 1);
          if (!found) return fail("unknown flag given");
        }
        reg.flags = flags;
      } else {
        return fail("unknown argument given to redis.register_function");
      }
      lua_pop(L, 1);
    }
    if (!have_name) return fail("redis.register_function must get a function name argument");
    if (!have_cb) return fail("redis.register_function must get a callback argument");
  } else {
    if (!lua_isstring(L, 1))
      return fail("first argument to redis.register_function must be a string");
    size_t len;
    const char* s = lua_tolstring(L, 1, &len);
    reg.name.assign(s, len);
    if (!lua_isfunction(L, 2))
      return fail("second argument to redis.register_function must be a function");
    reg.ref = luaL_ref(L, LUA_REGISTRYINDEX);
    have_cb = true;
  }
  if (!ValidName(reg.name)) {
    return fail(
        "Library names can only contain letters, numbers, or underscores(_) and must be at "
        "least one character long");
  }
  for (const auto& r : *lc->out) {
    if (r.name == reg.name) return fail("Function already exists in the library");
  }
  lc->out->push_back(std::move(reg));
  return 0;
}

constexpr const char* kErrHandlerBody =
    "  local i = dbg.getinfo(2,'nSl')\n"
    "  if i and i.what == 'C' then\n"
    "    i = dbg.getinfo(3,'nSl')\n"
    "  end\n"
    "  if type(err) ~= 'table' then\n"
    "    err = {err='ERR ' .. tostring(err)}"
    "  end"
    "  if i then\n"
    "    err['source'] = i.source\n"
    "    err['line'] = i.currentline\n"
    "  end"
    "  return err\n"
    "end\n";

void OpenLib(lua_State* L, const char* name, lua_CFunction fn) {
  lua_pushcfunction(L, fn);
  lua_pushstring(L, name);
  lua_call(L, 1, 0);
}

// Replaces field `name` of the table at index `table` with a C closure whose upvalue is
// the original.
void WrapWithOriginal(lua_State* L, int table, const char* name, lua_CFunction fn) {
  lua_getfield(L, table, name);
  lua_pushcclosure(L, fn, 1);
  lua_setfield(L, table, name);
}

}  // namespace

// ---------------------------------------------------------------- public helpers

void PushErrorTable(lua_State* L, std::string_view err) {
  std::string code = "ERR", msg;
  if (!err.empty() && err[0] == '-') {
    size_t sp = err.find(' ');
    if (sp == std::string_view::npos) {
      msg.assign(err.substr(1));
    } else {
      code.assign(err.substr(1, sp - 1));
      msg.assign(err.substr(sp + 1));
    }
  } else {
    msg.assign(err);
  }
  // Trim CR/LF at both ends (sdstrim).
  size_t b = msg.find_first_not_of("\r\n");
  size_t e = msg.find_last_not_of("\r\n");
  msg = b == std::string::npos ? std::string() : msg.substr(b, e - b + 1);
  std::string final_msg = code + " " + msg;
  lua_newtable(L);
  lua_pushstring(L, "err");
  lua_pushlstring(L, final_msg.data(), final_msg.size());
  lua_settable(L, -3);
}

size_t PushReply(lua_State* L, std::string_view resp) {
  ReplyReader r{resp.data(), resp.data() + resp.size()};
  ReadOne(L, r, true);
  return size_t(r.p - resp.data());
}

std::string Sha1Hex(std::string_view data) {
  sha1_ctx ctx;
  sha1_init(&ctx);
  sha1_update(&ctx, data.size(), reinterpret_cast<const uint8_t*>(data.data()));
  uint8_t digest[SHA1_DIGEST_SIZE];
  sha1_digest(&ctx, SHA1_DIGEST_SIZE, digest);
  static const char* kHex = "0123456789abcdef";
  std::string out(40, '0');
  for (int i = 0; i < 20; i++) {
    out[size_t(2 * i)] = kHex[digest[i] >> 4];
    out[size_t(2 * i + 1)] = kHex[digest[i] & 15];
  }
  return out;
}

// rand.c: x(n+1) = (a * x(n) + c) mod 2^48, a = 0x5DEECE66D, c = 0xB, x(0) = 0x1234ABCD330E;
// lrand48 returns the top 31 bits. One state per process, as Redis's.
namespace {
uint64_t g_rand48 = 0x1234ABCD330EULL;
}
int32_t RedisLrand48() {
  g_rand48 = (0x5DEECE66DULL * g_rand48 + 0xB) & ((uint64_t(1) << 48) - 1);
  return int32_t(g_rand48 >> 17);
}
void RedisSrand48(int32_t seed) { g_rand48 = (uint64_t(uint32_t(seed)) << 16) | 0x330E; }

// ---------------------------------------------------------------- LuaVm

LuaVm::LuaVm(Kind kind, ScriptingEngine* owner) : kind_(kind), owner_(owner) { Setup(); }

LuaVm::~LuaVm() {
  if (L_) lua_close(L_);
}

size_t LuaVm::MemoryBytes() const { return size_t(lua_gc(L_, LUA_GCCOUNT, 0)) * 1024; }

void LuaVm::Setup() {
  L_ = luaL_newstate();
  lua_State* L = L_;
  lua_pushlightuserdata(L, owner_);
  lua_setfield(L, LUA_REGISTRYINDEX, kOwnerKey);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, kRoKey);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, kRoOfKey);

  // Libraries, as Redis loads them (base, table, string, math, debug; cjson, struct,
  // cmsgpack, bit). Never package, os or io.
  OpenLib(L, "", luaopen_base);
  OpenLib(L, LUA_TABLIBNAME, luaopen_table);
  OpenLib(L, LUA_STRLIBNAME, luaopen_string);
  OpenLib(L, LUA_MATHLIBNAME, luaopen_math);
  OpenLib(L, LUA_DBLIBNAME, luaopen_debug);
  lua_pushcfunction(L, luaopen_cjson);
  lua_call(L, 0, 1);
  lua_setglobal(L, "cjson");
  OpenLib(L, "struct", OpenStruct);
  OpenLib(L, "cmsgpack", OpenCmsgpack);
  OpenLib(L, "bit", luaopen_bit);
  // Base library functions Redis scripts do not have.
  for (const char* name : {"dofile", "loadfile", "print"}) {
    lua_pushnil(L);
    lua_setglobal(L, name);
  }
  // The sandbox's builtins (see the file comment).
  lua_pushvalue(L, LUA_GLOBALSINDEX);
  int g = lua_gettop(L);
  lua_pushcfunction(L, WrapNext);
  lua_pushvalue(L, -1);
  lua_setfield(L, g, "next");
  lua_pushcclosure(L, WrapPairs, 1);
  lua_setfield(L, g, "pairs");
  lua_pushcfunction(L, IpairsAux);
  lua_pushcclosure(L, WrapIpairs, 1);
  lua_setfield(L, g, "ipairs");
  SetFn(L, "rawset", WrapRawset);
  SetFn(L, "rawget", WrapRawget);
  SetFn(L, "setmetatable", WrapSetmetatable);
  SetFn(L, "getmetatable", WrapGetmetatable);
  SetFn(L, "loadstring", WrapLoadstring);
  SetFn(L, "load", WrapLoad);
  WrapWithOriginal(L, g, "getfenv", WrapGetfenv);
  lua_getfield(L, g, "table");
  for (const char* name : {"insert", "remove", "sort"})
    WrapWithOriginal(L, lua_gettop(L), name, WrapTableWrite);
  lua_pop(L, 1);
  SetFn(L, "pcall", RedisPcall);
  lua_getfield(L, g, "math");
  SetFn(L, "random", MathRandom);
  SetFn(L, "randomseed", MathRandomseed);
  lua_pop(L, 1);

  // redis.*
  lua_newtable(L);
  lua_pushlightuserdata(L, owner_);
  lua_pushcclosure(L, RedisCall, 1);
  lua_setfield(L, -2, "call");
  lua_pushlightuserdata(L, owner_);
  lua_pushcclosure(L, RedisPcallCmd, 1);
  lua_setfield(L, -2, "pcall");
  RegisterLog(L);
  RegisterVersion(L);
  SetFn(L, "setresp", RedisSetResp);
  SetFn(L, "sha1hex", RedisSha1hex);
  SetFn(L, "error_reply", RedisErrorReply);
  SetFn(L, "status_reply", RedisStatusReply);
  SetFn(L, "set_repl", RedisSetRepl);
  SetNum(L, "REPL_NONE", 0);
  SetNum(L, "REPL_AOF", kReplAof);
  SetNum(L, "REPL_SLAVE", kReplReplica);
  SetNum(L, "REPL_REPLICA", kReplReplica);
  SetNum(L, "REPL_ALL", kReplAof | kReplReplica);
  SetFn(L, "acl_check_cmd", RedisAclCheckCmd);
  if (kind_ == Kind::kEval) {
    SetFn(L, "breakpoint", RedisBreakpoint);
    SetFn(L, "debug", RedisDebug);
    SetFn(L, "replicate_commands", RedisReplicateCommands);
  }
  lua_setfield(L, g, "redis");

  // Redis's error handler: adds the source and line of the error to the error table.
  std::string errh;
  if (kind_ == Kind::kEval) {
    errh = "local dbg = debug\ndebug = nil\nfunction __redis__err__handler(err)\n";
    errh += kErrHandlerBody;
    luaL_loadbuffer(L, errh.data(), errh.size(), "@err_handler_def");
    lua_pcall(L, 0, 0, 0);
    lua_getfield(L, g, "__redis__err__handler");
    err_handler_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  } else {
    errh = "local dbg = debug\ndebug = nil\nlocal error_handler = function (err)\n";
    errh += kErrHandlerBody;
    errh += "return error_handler";
    lua_pushstring(L, kErrHandlerKey);
    luaL_loadbuffer(L, errh.data(), errh.size(), "@err_handler_def");
    lua_pcall(L, 0, 1, 0);
    lua_pushvalue(L, -1);
    err_handler_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_settable(L, LUA_REGISTRYINDEX);
    // FUNCTION LOAD's globals: redis.register_function, redis.log, the version; nothing else.
    lua_newtable(L);
    lua_newtable(L);
    SetFn(L, "register_function", RegisterFunction);
    RegisterLog(L);
    RegisterVersion(L);
    SetErrorMetatable(L);
    lua_setfield(L, -2, "redis");
    SetErrorMetatable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, kLibApiKey);
    PushReadOnly(L, -1);  // protect it (the proxy is looked up when loading)
    lua_pop(L, 2);
  }

  // Lock the globals: reading a missing one is an error, writing any is refused.
  lua_pushvalue(L, g);
  SetErrorMetatable(L);
  lua_pop(L, 1);
  lua_pushvalue(L, g);
  lua_setfield(L, LUA_REGISTRYINDEX, kGlobalsKey);
  lua_pushvalue(L, g);
  globals_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  PushReadOnly(L, g);  // proxy of the globals (its _G field now points at it)
  int pg = lua_gettop(L);
  // Strings' methods through the read-only string table.
  lua_pushstring(L, "");
  lua_getmetatable(L, -1);
  lua_getfield(L, g, "string");
  lua_setfield(L, -2, "__index");
  lua_pop(L, 2);
  if (kind_ == Kind::kFunctions) {
    // Functions see an empty read-only table whose reads go to the globals, or, while a
    // library loads, to the library API (Redis's luaEngineInitEngine).
    lua_newtable(L);
    lua_newtable(L);
    lua_pushvalue(L, pg);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, RoNewIndex);
    lua_setfield(L, -2, "__newindex");
    lua_setmetatable(L, -2);
    lua_getfield(L, LUA_REGISTRYINDEX, kRoKey);
    lua_pushvalue(L, -2);
    lua_pushvalue(L, g);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_replace(L, pg);
  }
  lua_pushvalue(L, pg);
  lua_setfield(L, LUA_REGISTRYINDEX, kProxyGKey);
  lua_pushvalue(L, pg);
  lua_replace(L, LUA_GLOBALSINDEX);
  lua_settop(L, 0);
}

bool LuaVm::CompileScript(std::string_view body, int* ref, std::string* err) {
  if (luaL_loadbuffer(L_, body.data(), body.size(), "@user_script")) {
    *err = std::string("Error compiling script (new function): ") + lua_tostring(L_, -1);
    lua_pop(L_, 1);
    return false;
  }
  *ref = luaL_ref(L_, LUA_REGISTRYINDEX);
  return true;
}

void LuaVm::Unref(int ref) { luaL_unref(L_, LUA_REGISTRYINDEX, ref); }

bool LuaVm::LoadLibrary(std::string_view code, int64_t timeout_ms, std::vector<Registered>* out,
                        std::string* err) {
  lua_State* L = L_;
  // While the library's code runs, the globals it sees are the library API: point the
  // globals proxy's reads there, and back at the globals after.
  auto point_globals_at = [&](const char* real_key) {
    lua_getfield(L, LUA_REGISTRYINDEX, kProxyGKey);
    int pg = lua_gettop(L);
    lua_getfield(L, LUA_REGISTRYINDEX, real_key);
    int real = lua_gettop(L);
    lua_getmetatable(L, pg);
    lua_getfield(L, LUA_REGISTRYINDEX, kRoOfKey);
    lua_pushvalue(L, real);
    lua_rawget(L, -2);  // the real table's proxy
    lua_setfield(L, -3, "__index");
    lua_pop(L, 2);
    lua_getfield(L, LUA_REGISTRYINDEX, kRoKey);
    lua_pushvalue(L, pg);
    lua_pushvalue(L, real);
    lua_rawset(L, -3);
    lua_settop(L, pg - 1);
  };
  point_globals_at(kLibApiKey);
  bool ok = false;
  if (luaL_loadbuffer(L, code.data(), code.size(), "@user_function")) {
    *err = std::string("Error compiling function: ") + lua_tostring(L, -1);
    lua_pop(L, 1);
  } else {
    LoadCtx lc{MonotonicMs(), timeout_ms, out};
    lua_pushlightuserdata(L, &lc);
    lua_setfield(L, LUA_REGISTRYINDEX, kLoadCtxKey);
    lua_sethook(L, LoadHook, LUA_MASKCOUNT, 100000);
    if (lua_pcall(L, 0, 0, 0)) {
      ErrorInfo e = ExtractErrorInfo(L);
      *err = "Error registering functions: " + (e.has_msg ? e.msg : std::string("(null)"));
      lua_pop(L, 1);
    } else {
      ok = true;
    }
    lua_sethook(L, nullptr, 0, 0);
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, kLoadCtxKey);
  }
  point_globals_at(kGlobalsKey);
  if (!ok) {
    for (auto& r : *out) Unref(r.ref);
    out->clear();
  }
  return ok;
}

namespace {
// Pushes a Lua array of the strings (KEYS, ARGV, a function's keys and args).
void PushStringArray(lua_State* L, const std::vector<std::string_view>& list) {
  lua_createtable(L, int(list.size()), 0);
  int j = 1;
  for (std::string_view v : list) {
    lua_pushlstring(L, v.data(), v.size());
    lua_rawseti(L, -2, j++);
  }
}
}  // namespace

void LuaVm::CallScript(RunCtx& rc, int ref, const std::vector<std::string_view>& keys,
                       const std::vector<std::string_view>& args) {
  lua_State* L = L_;
  lua_rawgeti(L, LUA_REGISTRYINDEX, err_handler_ref_);
  lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
  // KEYS and ARGV are globals: set in the real globals table.
  lua_rawgeti(L, LUA_REGISTRYINDEX, globals_ref_);
  PushStringArray(L, keys);
  lua_setfield(L, -2, "KEYS");
  PushStringArray(L, args);
  lua_setfield(L, -2, "ARGV");
  lua_pop(L, 1);
  Run(rc, 0);
}

void LuaVm::CallFunction(RunCtx& rc, int ref, const std::vector<std::string_view>& keys,
                         const std::vector<std::string_view>& args) {
  lua_State* L = L_;
  lua_rawgeti(L, LUA_REGISTRYINDEX, err_handler_ref_);
  lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
  PushStringArray(L, keys);
  PushStringArray(L, args);
  Run(rc, 2);
}

void LuaVm::Run(RunCtx& rc, int nargs) {
  lua_State* L = L_;
  bool hook = owner_->busy_threshold_ms() > 0;
  if (hook) lua_sethook(L, CountHook, LUA_MASKCOUNT, 100000);
  int err = lua_pcall(L, nargs, 1, -(nargs + 2));
  // A small step of garbage collection every 50 runs, so a full cycle never runs at once.
  if (++gc_count_ == 50) {
    lua_gc(L, LUA_GCSTEP, 50);
    gc_count_ = 0;
  }
  ReplyBuilder& rb = *rc.out;
  if (err) {
    if (!lua_istable(L, -1)) {
      const char* msg = lua_isstring(L, -1) ? lua_tostring(L, -1) : "execution failure";
      rb.Error("ERR Error running script " + std::string(rc.funcname) + ", " +
               std::string(msg).substr(0, 100));
    } else {
      ErrorInfo e = ExtractErrorInfo(L);
      std::string msg = e.has_msg ? e.msg : std::string("(null)");
      if (e.has_line && e.has_source)
        msg += " script: " + std::string(rc.funcname) + ", on " + e.source + ":" + e.line + ".";
      WriteError(rb, msg, e.ignore_stats);
    }
    lua_pop(L, 1);
  } else {
    WriteLuaReply(L, rb, rc.resp);
  }
  if (hook) lua_sethook(L, nullptr, 0, 0);
  lua_pop(L, 1);  // the error handler
  // A script may have swapped the thread's globals (setfenv(0, t)): the next one must not
  // see that.
  lua_getfield(L, LUA_REGISTRYINDEX, kProxyGKey);
  lua_replace(L, LUA_GLOBALSINDEX);
}

}  // namespace ferrite::scripting
