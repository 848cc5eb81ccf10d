#pragma once
// The append-only file: the writer (a PropagationSink fed by the engine with every
// write's effect), the fsync policies, start-up replay and the rewrite.
//
// Thread model: Propagate() and BeforeSleep() run on the loop thread. Under everysec one
// helper thread calls fdatasync() once a second; it touches only the fd and atomics.
//
// Write path: effects are encoded into buf_ while commands run; BeforeSleep() (called by
// the loop after it processed all ready clients and before it sends their replies) writes
// buf_ in one write() and, under `always`, fdatasyncs it — so no reply leaves before the
// fsync that covers it, and every write of one loop iteration shares that fsync (group
// commit).
//
// A failed write or fsync is never retried on the same file ("fsyncgate": after an fsync
// reports EIO, Linux may have dropped the dirty pages and marked them clean, so the next
// fsync returns 0 although the data never reached the disk). From the first failure the
// open file is *untrusted*: nothing more is written to it, the engine refuses writes with
// -MISCONF, and under `always` every reply not yet covered by a good fsync stays held. The
// way back is a new AOF generation written from memory (StartRewrite; the persistence
// manager starts it, with backoff) whose file and directory are fsynced; only then are the
// held replies released. With aof_on_fsync_error = "exit" the process exits instead
// (PostgreSQL's choice since 2018), and start-up recovers from what is on disk.

#include <atomic>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/histogram.h"
#include "base/status.h"
#include "base/task_runner.h"
#include "commands/engine.h"
#include "io/atomic_file.h"
#include "io/file_system.h"
#include "persistence/checkpoint/checkpoint_format.h"
#include "persistence/snapshot.h"

namespace ferrite {

using FsyncPolicy = AofSyncPolicy;  // persistence.aof_sync_policy

struct AofStats {
  uint64_t base_size = 0;        // size after the last rewrite (or at open)
  int64_t last_rewrite_ms = -1;  // duration of the last rewrite
  bool last_rewrite_ok = true;
  uint64_t rewrites = 0;
  uint64_t delayed_fsync = 0;    // times a write waited for a slow fsync (everysec)
  std::string last_write_error;  // the failure that made the open file untrusted
  uint64_t write_errors = 0;     // failed writes/fsyncs/switches since start
  uint64_t recoveries = 0;       // new generations written after a failure
};

class Aof : public PropagationSink {
 public:
  Aof(Engine* engine, FileSystem* fs, std::string dir, std::string file, FsyncPolicy policy,
      bool timestamps, Clock* clock);
  ~Aof() override;

  // Replays an existing file into the engine (start-up). on_corruption: kTruncate cuts a
  // torn tail back to the last whole command; kAbort refuses. Damage in the middle of the
  // file always fails with the offset and line.
  // start_offset > 0: replay from that byte (hybrid recovery, after a checkpoint).
  Status Load(CorruptionAction on_corruption, uint64_t start_offset = 0);
  // What Load reads, handed to a sink instead of executed: preamble records and commands
  // (args valid during the call). Touches no engine state (only the immutable command
  // table and the config), so it may run on a loader thread; the tail repair (truncation
  // of the file) happens here too. progress: bytes read so far.
  struct ReplaySink {
    std::function<Status(const ckpt::Record&)> record;
    std::function<Status(ArgList)> command;
  };
  Status Read(CorruptionAction on_corruption, uint64_t start_offset, const ReplaySink& sink,
              std::atomic<uint64_t>* progress = nullptr);
  // The identity on a file's first line ("#ID:<16 hex>"), 0 if it has none.
  static uint64_t ReadId(FileSystem* fs, const std::string& path);
  uint64_t id() const { return id_; }
  // Rewritten bases are written as a checkpoint (the same codec as BGSAVE) followed by the
  // RESP tail, instead of RESP commands: faster to write and to load.
  void set_preamble(bool on) { preamble_ = on; }
  // The next command gets its own SELECT: a replay may start right here (a checkpoint's
  // position), with no earlier SELECT in effect.
  void ForceSelect() { selected_db_ = -1; }
  // A checkpoint's cut: closes the open checksummed batch and forces a SELECT, then
  // returns the file offset where replay starts (everything propagated so far is before).
  uint64_t CutOffset();
  // Opens the file for appending (creating it, and fsyncing the directory, if new).
  Status Open();
  void Close();

  void Propagate(int db, const std::vector<std::string>& argv) override;
  void PropagateArgs(int db, ArgList argv) override;
  // Writes (and under `always` fsyncs) what was propagated. False: hold the replies.
  bool BeforeSleep();
  // Flushes and fsyncs everything (shutdown).
  Status FlushAndSync();

  // Rewrites the file from the current dataset: a base of plain commands (SET, PEXPIREAT,
  // SELECT), written to a temp file, fsynced and renamed over the AOF. Blocking: used when
  // the AOF is switched on at run time (nothing else is being written then).
  Status Rewrite();

  // BGREWRITEAOF without fork(): freezes the dataset (Snapshot), streams the frozen image
  // into <aof>.rewrite.tmp from the pre-mutation hook and paced RewriteStep() slices, while
  // new writes keep going to the current AOF *and* to <aof>.incr.tmp on disk (never an
  // unbounded RAM buffer). When the image is complete, the incremental part is appended
  // to it, the result fsynced and renamed over the AOF: one atomic switch. A crash at any
  // moment leaves the old AOF complete; stray temp files are removed at the next start.
  Status StartRewrite(uint64_t epoch);
  void RewriteStep(int64_t budget_us, size_t max_buckets = SIZE_MAX);
  bool rewriting() const { return snapshot_ != nullptr; }
  void AbortRewrite(const std::string& why);
  int64_t rewrite_elapsed_ms() const;
  static void RemoveStrayFiles(FileSystem* fs, const std::string& dir, const std::string& file);

  // Called just before a rewrite's new generation replaces the file (path, identity), if
  // the file is trusted: the history keeps it for point-in-time recovery.
  void set_retire_hook(std::function<void(const std::string&, uint64_t)> h) {
    retire_hook_ = std::move(h);
  }
  void set_policy(FsyncPolicy p) { policy_ = p; }
  FsyncPolicy policy() const { return policy_; }
  // The open file had a failed write or fsync (or the last switch did not complete): writes
  // are refused and nothing is acknowledged until a rewrite replaces it.
  bool untrusted() const { return untrusted_; }
  bool write_error() const { return untrusted_; }
  const AofStats& stats() const { return stats_; }
  uint64_t current_size() const { return size_; }
  size_t buffer_length() const { return buf_.size(); }
  bool fsync_pending() const {
    AssertOnLoop();
    return pending_fsync_;
  }
  // Under `always`, with writes waiting for this iteration's fsync: how long the loop may
  // keep gathering requests so that the fsync covers more of them — the recent fsync time,
  // at most aof_group_commit_wait_us. 0 otherwise (other policies, nothing to sync,
  // a failing disk).
  int64_t GroupCommitWindowUs() const;
  std::string path() const { return dir_ + "/" + file_; }
  // The worst write() and fsync latency (µs) seen in the last 10–20 s: the gauges behind
  // ferrite_aof_write_latency_seconds / ferrite_aof_fsync_latency_seconds and INFO.
  int64_t write_latency_max_us() const { return write_lat_.Max(clock_->MonotonicUs()); }
  int64_t fsync_latency_max_us() const { return fsync_lat_.Max(clock_->MonotonicUs()); }
  // Every write() and fsync since start, as histograms (/metrics).
  const DurationHistogram& write_histogram() const { return write_hist_; }
  const DurationHistogram& fsync_histogram() const { return fsync_hist_; }

 private:
  Status WriteBuffer();
  // Ends the open batch in buf_ with its #CRC line (aof_integrity.h).
  void SealBuffer();
  // The first failure of the open file: from now on it is not written, only replaced.
  void MarkUntrusted(const Status& st);
  void BeforeAppend(int db);  // the timestamp annotation and SELECT a command may need
  // everysec: starts the background fsync when one is due; runs the finished one's reply.
  void MaybeFsyncInBackground() REQUIRES(loop_thread);
  Status AppendDump(std::string* out);
  ckpt::Header PreambleHeader();
  ckpt::WriterOptions PreambleOptions() const;
  Status WritePreambleBase(WritableFile* out);
  Status FinishRewrite();
  // Commits a new generation (fsync, rename over the AOF, directory fsync) and switches
  // to it. *renamed: the old file was replaced (then the status is ok even if something
  // after the rename failed: the AOF is left untrusted, never detached).
  Status SwitchToChecked(AtomicFile* file, bool* renamed);
  Status AfterRename(const Status& commit_status, const std::string& what);
  void EmitFrozen(int db, const Entry& e);

  // Worst latency over two 10-second windows (current and previous); any thread records.
  struct LatencyWindow {
    std::atomic<int64_t> window_start_us{0};
    std::atomic<int64_t> cur_max{0}, prev_max{0};
    void Record(int64_t now_us, int64_t us) {
      int64_t start = window_start_us.load(std::memory_order_relaxed);
      if (now_us - start >= 10'000'000) {
        prev_max.store(now_us - start >= 20'000'000 ? 0 : cur_max.load(),
                       std::memory_order_relaxed);
        cur_max.store(0, std::memory_order_relaxed);
        window_start_us.store(now_us, std::memory_order_relaxed);
      }
      int64_t m = cur_max.load(std::memory_order_relaxed);
      while (us > m && !cur_max.compare_exchange_weak(m, us, std::memory_order_relaxed)) {
      }
    }
    int64_t Max(int64_t now_us) const {
      int64_t age = now_us - window_start_us.load(std::memory_order_relaxed);
      if (age >= 20'000'000) return 0;
      int64_t cur = cur_max.load(std::memory_order_relaxed);
      return age >= 10'000'000 ? cur : std::max(cur, prev_max.load(std::memory_order_relaxed));
    }
  };
  LatencyWindow write_lat_, fsync_lat_;
  DurationHistogram write_hist_, fsync_hist_;

  Engine* engine_;
  std::string dir_, file_;
  FsyncPolicy policy_;
  bool timestamps_;
  Clock* clock_;
  FileSystem* fs_;
  // Shared with a background fsync in flight, which keeps the file open if it is replaced.
  std::shared_ptr<WritableFile> out_;
  uint64_t size_ = 0;
  uint64_t id_ = 0;
  std::string buf_;
  size_t buf_sealed_ = 0;  // buf_ bytes already covered by a #CRC line
  bool in_multi_ = false;  // between a propagated MULTI and its EXEC
  int selected_db_ = -1;
  int64_t last_ts_ = -1;
  AofStats stats_;
  // everysec: one fsync a second, as a job of fsync_runner_ (Redis's bio fsync), its
  // outcome handed back as a reply that BeforeSleep runs. All of these are the loop's.
  bool pending_fsync_ GUARDED_BY(loop_thread) = false;  // written since the last fsync
  bool fsync_in_progress_ GUARDED_BY(loop_thread) = false;
  int fsync_errno_ GUARDED_BY(loop_thread) = 0;
  int64_t last_bg_fsync_us_ GUARDED_BY(loop_thread) = 0;  // the last background fsync's start
  bool untrusted_ = false;
  std::function<void(const std::string&, uint64_t)> retire_hook_;
  int64_t postponed_since_us_ = 0;
  int64_t fsync_avg_us_ = 0;  // `always`: moving average of the loop's fsync time
  // Background rewrite state.
  std::unique_ptr<Snapshot> snapshot_;
  std::unique_ptr<AtomicFile> base_file_;    // the new generation being written
  std::unique_ptr<ckpt::Writer> base_ckpt_;  // preamble: the base as a checkpoint
  std::set<uint32_t> base_refs_;             // tier segments the preamble references
  bool image_open_ = false;                  // the tier manager was told (BeginImage)
  void EndImage(bool ok);
  bool preamble_ = false;
  std::unique_ptr<WritableFile> incr_out_;
  std::string base_buf_;
  int base_selected_db_ = -1;
  int64_t freeze_ms_ = 0;
  int64_t rewrite_start_us_ = 0;
  Status rewrite_error_;
  // Last member: destroyed first, so a background fsync never outlives the Aof.
  TaskRunner fsync_runner_{"aof-fsync", 1};
};

}  // namespace ferrite
