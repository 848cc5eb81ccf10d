#pragma once
// ScriptingEngine: Redis 7.0's Lua scripting (EVAL, EVALSHA, *_RO, SCRIPT) and functions
// (FUNCTION, FCALL, FCALL_RO) for Ferrite.
//
// Layer: src/scripting sits beside commands/, above it: it uses the Engine (command table,
// CallFromScript, effects units, busy state) and registers its commands into the engine's
// table at start-up (Install). Nothing below it depends on it: the engine and the
// persistence layer reach it only through the small ScriptingHooks interface
// (commands/engine.h), to learn a script command's flags and to save/load function
// libraries.
//
// A script runs synchronously on the loop, inside its command: its writes are collected as
// one effects unit (Engine::BeginEffectsUnit) and reach the AOF after it, wrapped in
// MULTI/EXEC, so no persistence cut or replay ever sees half a script. Past
// busy-reply-threshold the interrupt hook lets the loop serve other clients with -BUSY
// (Engine::ProcessEventsWhileBusy), and SCRIPT KILL / FUNCTION KILL / SHUTDOWN NOSAVE can
// end it.
//
// Thread: the loop thread only.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "commands/engine.h"
#include "scripting/lua_vm.h"

namespace ferrite::scripting {

// Redis's sdssplitargs (words, "double" and 'single' quoted parts): a shebang or library
// metadata line. false on unbalanced quotes.
bool SplitArgs(std::string_view line, std::vector<std::string>* out);

// One run of a script or function (Redis's scriptRunCtx).
struct RunCtx {
  Session* caller = nullptr;
  ReplyBuilder* out = nullptr;  // the caller's reply
  std::string_view funcname;    // the script's SHA1 (EVAL) or the function's name (FCALL)
  ArgList caller_args;          // FUNCTION STATS shows the command
  bool eval_mode = true;
  bool read_only = false;
  bool allow_oom = false;
  bool pre_oom = false;      // used memory was over maxmemory when the script started
  bool write_dirty = false;  // a write command ran: SCRIPT KILL refuses from now on
  bool timed_out = false;    // past busy-reply-threshold: other clients get -BUSY
  bool killed = false;       // SCRIPT KILL / FUNCTION KILL / SHUTDOWN NOSAVE
  bool shutdown = false;     // ended by SHUTDOWN NOSAVE: its effects are dropped
  bool repl_aof = true;      // redis.set_repl
  int resp = 2;              // redis.setresp: the protocol of redis.call replies
  int64_t start_us = 0;
  int64_t snapshot_ms = 0;  // the script's time: keys do not expire while it runs
};

class ScriptingEngine final : public ScriptingHooks {
 public:
  explicit ScriptingEngine(Engine* engine);
  ~ScriptingEngine() override;

  // Creates the scripting engine for `engine`, registers its commands and hooks. The
  // returned object must outlive the engine's use.
  static std::unique_ptr<ScriptingEngine> Install(Engine& engine);
  static ScriptingEngine& Of(Engine& e) { return *static_cast<ScriptingEngine*>(e.scripting()); }

  // ScriptingHooks
  uint32_t CommandFlags(const CommandSpec& spec, ArgList args) override;
  std::vector<std::string> LibraryCodes() const override;
  Status LoadLibrary(std::string_view code) override;
  Memory MemoryInfo() const override;

  Engine& engine() { return *engine_; }
  RunCtx* current() { return current_; }

  // ---- EVAL / SCRIPT (eval_family.cc)
  void Eval(CommandContext& ctx, bool evalsha, bool ro);
  void ScriptCommand(CommandContext& ctx);
  // ---- FUNCTION / FCALL (function_family.cc)
  void FunctionCommand(CommandContext& ctx);
  void Fcall(CommandContext& ctx, bool ro);

  // ---- called from Lua (lua_vm.cc)
  // redis.call (raise = true) / redis.pcall: runs a command for the current script.
  int LuaRedisCall(lua_State* L, bool raise);
  // The count hook: true when the script must stop (killed). Serves other clients once
  // the script is past busy-reply-threshold.
  bool Interrupt(RunCtx& rc);
  int64_t busy_threshold_ms() const;

  // INFO memory / FUNCTION STATS.
  size_t eval_memory() const;
  size_t functions_memory() const;
  size_t scripts_count() const { return scripts_.size(); }
  size_t scripts_bytes() const { return scripts_bytes_; }

  // ---- shared by both families
  // Redis's `#!lua flags=...` line: out_flags gets kFlagEvalCompat when there is no
  // shebang; *shebang_len the length of the line (without its line feed).
  static bool ParseShebang(std::string_view body, uint32_t* out_flags, size_t* shebang_len,
                           std::string* err);
  // Redis's KILL logic for SCRIPT KILL (is_eval) and FUNCTION KILL.
  void Kill(ReplyBuilder& rb, bool is_eval);
  struct Script {
    std::string body;
    uint32_t flags = 0;
    int ref = 0;  // the compiled function in the EVAL interpreter's registry
    std::string sha;
  };

  struct Library;
  struct Function {
    std::string name;
    std::string desc;
    bool has_desc = false;
    uint32_t flags = 0;
    int ref = 0;
    Library* lib = nullptr;
  };
  struct Library {
    std::string name;
    std::string code;
    std::vector<std::unique_ptr<Function>> functions;
  };
  // Libraries and their functions (FUNCTION LOAD / RESTORE / FLUSH / DELETE).
  struct LibSet {
    std::map<std::string, std::unique_ptr<Library>> libs;
    std::unordered_map<std::string, Function*> functions;
  };

 private:
  friend class LuaVm;
  // Redis's scriptPrepareForRun: checks the script's flags against the server state and
  // fills rc; false after writing the error to rb.
  bool PrepareRun(RunCtx& rc, CommandContext& ctx, uint32_t script_flags, bool ro);
  // Around a run of a LuaVm: effects unit, busy state, current_. BeginRun's result goes
  // to EndRun.
  bool BeginRun(RunCtx& rc);
  void EndRun(RunCtx& rc, bool began);
  const Script* FindScript(std::string_view sha) const;
  // Compiles and caches a script body (EVAL, SCRIPT LOAD); its SHA1 in *sha.
  bool CreateScript(std::string_view body, std::string* sha, std::string* err);
  void ResetEval(bool async);

  // Functions: compile `code` into a library and link it into set (replacing a library of
  // the same name when replace). Returns the library's name, or false with Redis's error.
  bool CreateLibrary(std::string_view code, bool replace, LibSet* set, int64_t timeout_ms,
                     std::string* name, std::string* err);
  void FreeLibrary(Library* lib);
  void UnlinkLibrary(LibSet* set, Library* lib);
  void LinkLibrary(LibSet* set, std::unique_ptr<Library> lib);
  void FunctionLoad(CommandContext& ctx);
  void FunctionList(CommandContext& ctx);
  void FunctionDump(CommandContext& ctx);
  void FunctionRestore(CommandContext& ctx);
  void FunctionStats(CommandContext& ctx);

  Engine* engine_;
  std::unique_ptr<LuaVm> eval_vm_;
  std::unique_ptr<LuaVm> fn_vm_;
  struct SvHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // SHA1 (lower case) -> script; looked up by string_view without allocating.
  std::unordered_map<std::string, Script, SvHash, std::equal_to<>> scripts_;
  size_t scripts_bytes_ = 0;
  LibSet libs_;
  RunCtx* current_ = nullptr;
  // The client scripts run their commands as (Redis's lua_client): not in CLIENT LIST,
  // never blocks (in_exec), shown as "lua" in MONITOR.
  Session script_session_;
  std::string reply_;  // redis.call's reply, reused
  std::vector<std::string_view> argv_;
  std::vector<std::string> numbufs_;
};

}  // namespace ferrite::scripting
