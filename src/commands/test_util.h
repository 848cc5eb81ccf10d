#pragma once
// In-process harness for command tests: Run({"set","k","v"}) returns the raw RESP reply.
// Uses a ManualClock so tests move time by hand.

#include <memory>
#include <string>
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
