#pragma once
// LuaVm: one Lua 5.1 interpreter set up as Redis 7.0 sets up its own — the libraries
// scripts rely on (base, table, string, math, cjson, struct, cmsgpack, bit), the `redis`
// API, Redis's error handler, and its sandbox — on Debian's liblua5.1 (the C++ build, so a
// Lua error unwinds our frames as an exception and destructors run).
//
// Sandbox. Redis 7.0 patches its bundled Lua with read-only tables. Debian's Lua has no
// such flag, so every table reachable from the globals is replaced by a *proxy*: an empty
// table whose metatable reads through (__index = the real table) and refuses writes
// (__newindex raises "Attempt to modify a readonly table"). The builtins that bypass
// metatables (rawset, rawget, next, pairs, ipairs, setmetatable, getmetatable, getfenv,
// table.insert/remove/sort) are wrapped so they treat a proxy as the table it stands for
// and refuse to change it. Reading a missing global raises Redis's "Script attempted to
// access nonexistent global variable" error. os, io, package, loadfile, dofile, print and
// debug are absent; loadstring/load compile text only (a bytecode chunk is parsed as text,
// as Redis's Lua does, so it fails to compile).
//
// Thread: the loop thread only. Not copyable.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct lua_State;
inline constexpr int LUA_NOREF_VALUE = -2;  // lua.h's LUA_NOREF

namespace ferrite::scripting {

class ScriptingEngine;
struct RunCtx;

// Redis's script flags (the `#!lua flags=` line and redis.register_function's flags).
enum ScriptFlag : uint32_t {
  kFlagNoWrites = 1 << 0,
  kFlagAllowOom = 1 << 1,
  kFlagAllowStale = 1 << 2,
  kFlagNoCluster = 1 << 3,
  kFlagAllowCrossSlot = 1 << 4,
  kFlagEvalCompat = 1 << 5,  // an EVAL script without a shebang: Redis 6 semantics
};
struct FlagName {
  ScriptFlag flag;
  const char* name;
};
inline constexpr FlagName kFlagNames[] = {
    {kFlagNoWrites, "no-writes"},
    {kFlagAllowOom, "allow-oom"},
    {kFlagAllowStale, "allow-stale"},
    {kFlagNoCluster, "no-cluster"},
    {kFlagAllowCrossSlot, "allow-cross-slot-keys"},
};

class LuaVm {
 public:
  enum class Kind { kEval, kFunctions };
  LuaVm(Kind kind, ScriptingEngine* owner);
  ~LuaVm();
  LuaVm(const LuaVm&) = delete;
  LuaVm& operator=(const LuaVm&) = delete;

  lua_State* L() const { return L_; }
  Kind kind() const { return kind_; }

  // EVAL: compiles a script body (after its shebang line, keeping the line feed so line
  // numbers hold) into a registry reference (*ref). Error: Redis's "Error compiling script
  // (new function): ..." text.
  bool CompileScript(std::string_view body, int* ref, std::string* err);

  // FUNCTION LOAD: runs a library's code with only redis.register_function/log/
  // REDIS_VERSION visible; each registered function becomes a registry reference.
  struct Registered {
    std::string name;
    std::string desc;
    bool has_desc = false;
    uint32_t flags = 0;
    int ref = 0;
  };
  bool LoadLibrary(std::string_view code, int64_t timeout_ms, std::vector<Registered>* out,
                   std::string* err);
  void Unref(int ref);

  // Runs a compiled script (EVAL: registry name) or function (FCALL: reference) with the
  // given keys and args, writing Redis's reply for its result or error into the caller's
  // reply. The run context is the caller's (flags, frozen time, kill state).
  void CallScript(RunCtx& rc, int ref, const std::vector<std::string_view>& keys,
                  const std::vector<std::string_view>& args);
  void CallFunction(RunCtx& rc, int ref, const std::vector<std::string_view>& keys,
                    const std::vector<std::string_view>& args);

  // Bytes the interpreter holds (INFO used_memory_lua, FUNCTION STATS memory).
  size_t MemoryBytes() const;

 private:
  void Setup();
  void Run(RunCtx& rc, int nargs);  // the function and its args are on the stack
  lua_State* L_ = nullptr;
  Kind kind_;
  ScriptingEngine* owner_;
  int gc_count_ = 0;
  int err_handler_ref_ = LUA_NOREF_VALUE;  // Redis's error handler (registry reference)
  int globals_ref_ = LUA_NOREF_VALUE;      // the real globals table (KEYS, ARGV go there)
};

// Pushes Redis's error table {err = "CODE message"} (luaPushErrorBuff): "-CODE msg" keeps
// its code, a text without one gets "ERR"; a trailing CR/LF is trimmed.
void PushErrorTable(lua_State* L, std::string_view err);
// Converts a reply the engine wrote (RESP2 or RESP3, trusted) to Lua values as Redis's
// redisProtocolToLuaType does. Returns the bytes consumed.
size_t PushReply(lua_State* L, std::string_view resp);

// SHA1 of data as 40 lower-case hex digits (script ids, redis.sha1hex).
std::string Sha1Hex(std::string_view data);

// Redis's deterministic PRNG for math.random (rand.c: the 48-bit linear congruential
// generator of drand48, one state for the whole process, seeded by math.randomseed).
int32_t RedisLrand48();
void RedisSrand48(int32_t seed);

// Libraries without a Debian package, written for Ferrite after Redis's bundled ones.
int OpenCmsgpack(lua_State* L);  // cmsgpack: pack, unpack, unpack_one, unpack_limit
int OpenStruct(lua_State* L);    // struct: pack, unpack, size

}  // namespace ferrite::scripting
