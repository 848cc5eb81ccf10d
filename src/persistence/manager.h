#pragma once
// PersistenceManager: owns the AOF (and, when they land, checkpoints), runs start-up
// recovery, reacts to CONFIG SET, and answers the engine's PersistenceControl calls.
// Loop thread only.

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/task_runner.h"
#include "commands/engine.h"
#include "io/file_system.h"
#include "persistence/aof/aof.h"
#include "persistence/checkpoint/checkpoint_format.h"
#include "persistence/history.h"
#include "persistence/loader.h"
#include "persistence/snapshot.h"

namespace ferrite {

class PersistenceManager : public PersistenceControl {
 public:
  PersistenceManager(Engine* engine, FileSystem* fs, Clock* clock);
  ~PersistenceManager() override;

  // Start-up, synchronously: loads the checkpoint and/or replays the AOF (hybrid recovery),
  // then opens the AOF for appending.
  Status Start();
  // The same in the background: the loop serves INFO/PING (others get -LOADING) while
  // BeforeSleep applies what the loader thread decodes.
  Status StartLoading();
  Status WaitLoaded();
  bool loading() const { return loader_ != nullptr; }
  // Loop hook, before replies are sent: paces a running background rewrite, then writes
  // the AOF. False: hold replies (an `always` write failed).
  // While a script is busy: writes (and under `always` fsyncs) the AOF's pending bytes,
  // which hold only whole units, so replies given so far may leave. No checkpoint or
  // rewrite step: a cut is never taken inside a script.
  bool FlushForBusyScript();
  bool BeforeSleep();
  // NetServer::group_commit_window: see Aof::GroupCommitWindowUs.
  int64_t GroupCommitWindowUs() const { return !loader_ && aof_ ? aof_->GroupCommitWindowUs() : 0; }
  // True while background work (a rewrite) wants the loop not to sleep.
  bool Busy() const { return loader_ || ckpt_snapshot_ || (aof_ && aof_->rewriting()); }
  // Orderly shutdown: everything written and fsynced.
  void Shutdown();
  // CONFIG SET side effects (registered as the registry's apply hook).
  Status ApplyConfig(const std::vector<std::string>& changed, const Config& old_config);

  Status RewriteAof(bool* scheduled = nullptr) override;
  std::string WriteRefusal() override;
  PersistenceInfo Info() override;
  bool AofHistograms(DurationHistogram::Snapshot* write,
                     DurationHistogram::Snapshot* fsync) override {
    if (!aof_) return false;
    *write = aof_->write_histogram().Get();
    *fsync = aof_->fsync_histogram().Get();
    return true;
  }
  Status Save() override;
  // DEBUG RELOAD: save a checkpoint, empty the databases, load it back (synchronously).
  Status DebugReload(const ReloadOptions& o) override;
  // DEBUG LOADAOF: flush and fsync the AOF, empty the databases, replay the AOF from its
  // start (synchronously), then append to it again. Redis exits when there is no AOF;
  // this is an error instead.
  Status DebugLoadAof() override;
  Status BgSave(bool schedule, std::string* reply) override;
  int64_t LastSave() override { return last_save_s_; }
  bool saving() const {
    AssertOnLoop();
    return ckpt_snapshot_ != nullptr || finishing_;
  }
  std::string checkpoint_path() const;
  // Tests: cap each background slice at n bucket positions, to interleave finely.
  void TEST_set_step_buckets(size_t n) { step_buckets_ = n; }

  Aof* aof() { return aof_.get(); }

  // ---- replication: a full sync freezes the keyspace with its own Snapshot. One freeze
  // at a time: while external_freeze() says true no checkpoint or rewrite starts (they are
  // scheduled for after it), and the sync waits while Busy(). Epochs come from here.
  std::function<bool()> external_freeze;
  uint64_t NextSnapshotEpoch() { return ++epoch_; }
  bool ExternalFreeze() const { return external_freeze && external_freeze(); }
  // The replication position a checkpoint records (repl_id empty: none), asked at its
  // freeze; and, after the start-up load, the position the loaded data holds — called
  // only when the data is exactly the checkpoint's (no AOF tail replayed after it), before
  // the keys that expired while the server was down are deleted.
  std::function<void(ckpt::Header*)> repl_position;
  std::function<void(const ckpt::Header&)> repl_position_loaded;

 private:
  Status EnableAof(bool write_base);
  void DisableAof();

  Engine* engine_;
  FileSystem* fs_;
  Clock* clock_;
  std::unique_ptr<Aof> aof_;
  std::unique_ptr<History> history_;  // point-in-time recovery retention
  void MaybeAutoRewrite();
  void MaybeRecoverAof();
  int recovery_failures_ = 0;
  int64_t next_recovery_ms_ = 0;
  // Checkpoints: start (freeze), pace, finish; the save triggers.
  Status StartCheckpoint();
  void CheckpointStep(int64_t budget_us);
  Status FinishCheckpoint();
  void FailCheckpoint(const std::string& why);
  void MaybeScheduledSave();
  // The last step of a save (footer, fsync, rename, directory fsync) runs on a helper
  // thread so a multi-GB fsync never stalls clients; the loop polls for its end.
  void PollFinishing(bool wait);
  Status LoadStep(int64_t budget_us);
  Status LoadFiles(bool use_ckpt, bool use_aof, uint64_t aof_start,
                   const ReloadOptions* reload = nullptr);
  bool enable_aof_after_load_ = true;
  double LoadedPercent() const;
  void ExpireAfterLoad();
  std::unique_ptr<BackgroundLoader> loader_;
  bool load_write_base_ = false;
  bool recovery_time_warned_ = false;
  int64_t load_start_us_ = 0;
  int64_t load_start_s_ = 0;
  int64_t last_save_loaded_s_ = 0;
  // The start-up load: the checkpoint's header, and the AOF records replayed after it.
  bool startup_load_ = false;
  ckpt::Header loaded_header_;
  std::atomic<uint64_t> aof_replayed_{0};
  int64_t now_progress_log_us_ = 0;

  uint64_t epoch_ = 0;  // last snapshot epoch handed out (tables start at 0)
  // Automatic rewrites back off after failures: 1 s, 2 s, 4 s … up to 60 s.
  int rewrite_failures_ = 0;
  int64_t next_auto_rewrite_ms_ = 0;
  uint64_t rewrites_seen_ = 0;
  bool rewrite_scheduled_ = false;
  // CONFIG SET appendonly yes inside a transaction: the AOF (and its base, a cut) is
  // written after the transaction, as Redis schedules its rewrite after EXEC.
  bool aof_enable_scheduled_ = false;
  // Checkpoint state.
  std::unique_ptr<Snapshot> ckpt_snapshot_;
  std::unique_ptr<ckpt::Writer> ckpt_writer_;
  // Tier segments the checkpoint being written references; image_open_: the tier
  // manager was told an image is in progress (it deletes no segment meanwhile).
  std::set<uint32_t> ckpt_refs_;
  bool ckpt_image_open_ = false;
  void EndCheckpointImage(bool ok);
  Status ckpt_error_;
  int64_t last_save_s_ = 0;
  bool last_bgsave_ok_ = true;
  int64_t last_bgsave_ms_ = -1;
  int64_t bgsave_start_us_ = 0;
  uint64_t dirty_at_start_ = 0;
  uint64_t saves_ = 0;
  bool bgsave_scheduled_ = false;
  int64_t next_save_try_ms_ = 0;
  uint64_t loaded_keys_ = 0;
  int64_t next_trigger_check_ms_ = 0;  // save/rewrite triggers: checked every 100 ms
  size_t step_buckets_ = SIZE_MAX;
  // What the finishing thread reports: the status, whether the rename happened (then a
  // failure is the directory fsync: the new file is in place, maybe not durably), and the
  // tier segment whose fsync failed, if any.
  struct Finished {
    Status st = Status::Ok();
    bool renamed = false;
    std::string failed_segment;
  };
  void CheckpointFinished(Finished f);
  // The finishing job runs; CheckpointFinished is to come.
  bool finishing_ GUARDED_BY(loop_thread) = false;
  uint64_t finishing_keys_ = 0;
  // The checkpoint's helper thread: its blocks, then its finishing job, in order. Last
  // member: destroyed first, so no job outlives what it references.
  TaskRunner bg_{"ckpt-writer", 1};
};

}  // namespace ferrite
