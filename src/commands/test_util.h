#pragma once
// In-process harness for command tests: Run({"set","k","v"}) returns the raw RESP reply.
// Uses a ManualClock so tests move time by hand.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "commands/engine.h"
#include "config/config.h"

namespace ferrite {

// A configuration with the AOF on in dir under `always`, no automatic rewrite and no
// save rules: the set-up of the crash and fault tests.
inline Config AofTestConfig(const std::string& dir) {
  Config c = DefaultConfig();
  c.server.dir = dir;
  c.persistence.aof_enabled = true;
  c.persistence.aof_sync_policy = AofSyncPolicy::kAlways;
  c.persistence.aof_rewrite_percentage = 0;
  c.persistence.checkpoint_rules.clear();
  return c;
}

// A client of an engine with its own session and output buffer (pub/sub messages,
// invalidations and replies served later land in `out`; Take() collects them).
struct Client {
  explicit Client(Engine& e, bool resp3 = false) : engine(e) {
    s = e.NewSession();
    s->authenticated = true;
    s->out = &out;
    s->resp3 = resp3;
  }
  ~Client() {
    if (s) engine.DropSession(s);
  }
  void Close() {
    engine.DropSession(s);
    s = nullptr;
  }
  // The reply and whatever followed it during the command (pending invalidations).
  std::string Run(std::vector<std::string> args) {
    std::vector<std::string_view> views(args.begin(), args.end());
    ReplyBuilder rb(&out);
    rb.set_resp3(s->resp3);
    size_t mark = out.size();
    engine.Execute(*s, views, rb);
    std::string reply = out.substr(mark);
    out.resize(mark);
    return reply;
  }
  std::string Take() { return std::exchange(out, {}); }
  Engine& engine;
  Session* s;
  std::string out;
};

class EngineHarness {
 public:
  explicit EngineHarness(Config c = DefaultConfig())
      : clock_(1'700'000'000'000'000), engine_(std::move(c), &clock_) {
    session_ = engine_.NewSession();
    session_->authenticated = true;
  }
  ~EngineHarness() { engine_.DropSession(session_); }

  std::string Run(std::vector<std::string> args) {
    std::vector<std::string_view> views(args.begin(), args.end());
    std::string out;
    ReplyBuilder rb(&out);
    rb.set_resp3(session_->resp3);
    engine_.Execute(*session_, views, rb);
    return out;
  }
  Engine& engine() { return engine_; }
  Session& session() { return *session_; }
  ManualClock& clock() { return clock_; }

 private:
  ManualClock clock_;
  Engine engine_;
  Session* session_;
};

}  // namespace ferrite
