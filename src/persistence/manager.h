#pragma once
// PersistenceManager: owns the AOF (and, when they land, checkpoints), runs start-up
// recovery, reacts to CONFIG SET, and answers the engine's PersistenceControl calls.
// Loop thread only.

#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "commands/engine.h"
#include "io/file_system.h"
#include "persistence/aof/aof.h"

namespace ferrite {

class PersistenceManager : public PersistenceControl {
 public:
  PersistenceManager(Engine* engine, FileSystem* fs, Clock* clock);
  ~PersistenceManager() override;

  // Start-up: replays the AOF if enabled and present, then opens it for appending.
  Status Start();
  // Loop hook, before replies are sent: paces a running background rewrite, then writes
  // the AOF. False: hold replies (an `always` write failed).
  bool BeforeSleep();
  // True while background work (a rewrite) wants the loop not to sleep.
  bool Busy() const { return aof_ && aof_->rewriting(); }
  // Orderly shutdown: everything written and fsynced.
  void Shutdown();
  // CONFIG SET side effects (registered as the registry's apply hook).
  Status ApplyConfig(const std::vector<std::string>& changed, const Config& old_config);

  Status RewriteAof() override;
  std::string WriteRefusal() override;
  std::string InfoSection(Engine& e) override;

  Aof* aof() { return aof_.get(); }

 private:
  Status EnableAof(bool write_base);
  void DisableAof();

  Engine* engine_;
  FileSystem* fs_;
  Clock* clock_;
  std::unique_ptr<Aof> aof_;
  void MaybeAutoRewrite();

  uint64_t epoch_ = 0;  // last snapshot epoch handed out (tables start at 0)
  // Automatic rewrites back off after failures: 1 s, 2 s, 4 s … up to 60 s.
  int rewrite_failures_ = 0;
  int64_t next_auto_rewrite_ms_ = 0;
  uint64_t rewrites_seen_ = 0;
};

}  // namespace ferrite
