#include "persistence/manager.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "commands/errors.h"
#include "io/atomic_file.h"
#include "persistence/apply_record.h"
#include "persistence/loader.h"
#include "tier/tier_manager.h"
#include "types/serialize.h"

namespace ferrite {

PersistenceManager::PersistenceManager(Engine* engine, FileSystem* fs, Clock* clock)
    : engine_(engine), fs_(fs), clock_(clock), last_save_s_(clock->NowMs() / 1000) {
  engine_->set_persistence(this);
  engine_->registry().SetApplyHook([this](const std::vector<std::string>& changed,
                                          const Config& old) { return ApplyConfig(changed, old); });
}

PersistenceManager::~PersistenceManager() {
  Shutdown();
  engine_->set_persistence(nullptr);
  engine_->registry().SetApplyHook(nullptr);
}

Status PersistenceManager::EnableAof(bool write_base) {
  const Config& c = engine_->config();
  auto aof = std::make_unique<Aof>(engine_, fs_, c.server.dir, c.persistence.aof_file,
                                   c.persistence.aof_sync_policy,
                                   c.persistence.aof_timestamp_enabled, clock_);
  aof->set_preamble(c.persistence.aof_use_checkpoint_preamble);
  aof->set_retire_hook([this](const std::string& path, uint64_t id) {
    if (!history_) return;
    if (Status st = history_->RetireAof(path, id); !st.ok())
      spdlog::warn("History: cannot keep the replaced AOF {}: {}", path, st.message());
  });
  if (write_base) {
    // Turning the AOF on at run time: the file must first hold the whole dataset, as
    // Redis does with a rewrite, or a restart would replay only what came after.
    if (Status st = aof->Rewrite(); !st.ok()) return st;
  } else if (Status st = aof->Open(); !st.ok()) {
    return st;
  }
  aof_ = std::move(aof);
  engine_->set_propagation_sink(aof_.get());
  return Status::Ok();
}

void PersistenceManager::DisableAof() {
  if (!aof_) return;
  engine_->set_propagation_sink(nullptr);
  aof_->Close();
  aof_.reset();
}

Status PersistenceManager::Start() {
  if (Status st = StartLoading(); !st.ok()) return st;
  return WaitLoaded();
}

Status PersistenceManager::WaitLoaded() {
  while (loader_) {
    if (Status st = LoadStep(1'000'000); !st.ok()) return st;
  }
  return Status::Ok();
}

Status PersistenceManager::StartLoading() {
  const Config& c = engine_->config();
  history_ = std::make_unique<History>(fs_, c.server.dir, c.persistence.history_retention,
                                       uint64_t(c.persistence.history_max_size), clock_);
  if (Status st = history_->Open(); !st.ok())
    spdlog::warn("History: {} (point-in-time recovery may lack older files)", st.message());
  Aof::RemoveStrayFiles(fs_, c.server.dir, c.persistence.aof_file);
  if (fs_->FileExists(checkpoint_path() + ".tmp")) {
    spdlog::warn("Removing {} left by an interrupted checkpoint", checkpoint_path() + ".tmp");
    (void)fs_->DeleteFile(checkpoint_path() + ".tmp");
  }
  // The plan: which files to read, from where (recovery_priority, the AOF's generation).
  std::string aof_path = c.server.dir + "/" + c.persistence.aof_file;
  bool aof_present = c.persistence.aof_enabled && fs_->FileExists(aof_path);
  bool ckpt_present = fs_->FileExists(checkpoint_path());
  if (tier::TierManager* t = engine_->tier()) {  // images that cannot reference tier segments
    if (!ckpt_present) t->ClearPins(tier::ImageKind::kCheckpoint);
    if (!aof_present) t->ClearPins(tier::ImageKind::kAofPreamble);
  }
  bool use_ckpt = false, use_aof = aof_present;
  uint64_t aof_start = 0;
  load_write_base_ = false;
  if (!aof_present) {
    use_ckpt = ckpt_present;
    // AOF on but no file yet: write a base holding what the checkpoint brought.
    load_write_base_ = c.persistence.aof_enabled && ckpt_present;
  } else if (c.persistence.recovery_priority == RecoveryPriority::kCheckpoint && ckpt_present) {
    // Hybrid recovery: a checkpoint that continues this very AOF (same identity) is
    // loaded, and only the AOF's tail after the checkpoint's position is replayed.
    ckpt::Header h;
    uint64_t aof_id = Aof::ReadId(fs_, aof_path);
    auto size = fs_->GetFileSize(aof_path);
    uint64_t aof_size = size.ok() ? size.value() : 0;
    if (Status hs = ckpt::ReadHeader(fs_, checkpoint_path(), &h); !hs.ok()) {
      return Status::Corruption("Cannot read the checkpoint header: " + hs.message());
    }
    if (h.aof_id != 0 && h.aof_id == aof_id) {
      use_ckpt = true;
      if (h.aof_offset <= aof_size) {
        aof_start = h.aof_offset;
      } else {
        // The AOF lost its tail (e.g. everysec and a power cut) but the checkpoint holds
        // it: keep the checkpoint's data and start a fresh AOF base from it.
        spdlog::warn(
            "The append only file {} ({} bytes) ends before the checkpoint's position {}: "
            "using the checkpoint and rewriting the AOF from it",
            aof_path, aof_size, h.aof_offset);
        use_aof = false;
        load_write_base_ = true;
      }
    } else {
      spdlog::info(
          "The checkpoint {} does not continue the append only file {} (it was taken "
          "before the AOF's last rewrite): replaying the AOF alone",
          checkpoint_path(), aof_path);
    }
  }
  if (!use_ckpt && !use_aof) return c.persistence.aof_enabled ? EnableAof(false) : Status::Ok();
  enable_aof_after_load_ = true;
  startup_load_ = true;
  return LoadFiles(use_ckpt, use_aof, aof_start);
}

Status PersistenceManager::DebugReload(const ReloadOptions& o) {
  if (loader_) return Status::Busy("loading");
  if (o.save) {
    // Redis's DEBUG RELOAD saves in the foreground whatever a background child is doing:
    // here a running background checkpoint is completed first (one snapshot at a time),
    // then the new one is taken.
    PollFinishing(/*wait=*/true);
    while (ckpt_snapshot_) CheckpointStep(1000000);
    PollFinishing(/*wait=*/true);
    if (Status st = Save(); !st.ok()) return st;
  }
  if (!fs_->FileExists(checkpoint_path()))
    return Status::NotFound("no checkpoint file " + checkpoint_path());
  if (o.flush) {
    for (int i = 0; i < engine_->db_count(); i++) engine_->db(i).Clear();
  }
  enable_aof_after_load_ = false;  // the AOF stays as it is: it already holds this data
  if (Status st = LoadFiles(/*use_ckpt=*/true, /*use_aof=*/false, 0, &o); !st.ok()) return st;
  return WaitLoaded();
}

Status PersistenceManager::DebugLoadAof() {
  if (loader_) return Status::Busy("loading");
  if (!aof_) return Status::NotSupported("the append only file is off (appendonly no)");
  if (aof_->rewriting() || saving())
    return Status::Busy("a background rewrite or save is in progress");
  if (Status st = aof_->FlushAndSync(); !st.ok()) return st;
  DisableAof();  // replayed commands must not be logged again
  for (int i = 0; i < engine_->db_count(); i++) engine_->db(i).Clear();
  enable_aof_after_load_ = true;
  load_write_base_ = false;
  if (Status st = LoadFiles(/*use_ckpt=*/false, /*use_aof=*/true, 0); !st.ok()) return st;
  return WaitLoaded();
}

Status PersistenceManager::LoadFiles(bool use_ckpt, bool use_aof, uint64_t aof_start,
                                     const ReloadOptions* reload) {
  const Config& c = engine_->config();
  std::string aof_path = c.server.dir + "/" + c.persistence.aof_file;
  uint64_t total = 0;
  if (use_ckpt) {
    auto sz = fs_->GetFileSize(checkpoint_path());
    total += sz.ok() ? sz.value() : 0;
  }
  if (use_aof) {
    auto sz = fs_->GetFileSize(aof_path);
    total += sz.ok() && sz.value() > aof_start ? sz.value() - aof_start : 0;
  }
  engine_->set_loading(true);
  load_start_us_ = clock_->MonotonicUs();
  load_start_s_ = clock_->NowMs() / 1000;
  loader_ = std::make_unique<BackgroundLoader>(engine_);
  // DEBUG RELOAD: without NOFLUSH the libraries go with the keys (Redis's emptyData); with
  // NOFLUSH a key or library already here is replaced (MERGE) or fails the load.
  const bool flush_functions = reload && reload->flush;
  const bool dup_fails = reload && !reload->flush && !reload->merge;
  if (reload && !reload->flush) {
    loader_->set_duplicates(reload->merge ? BackgroundLoader::Duplicates::kReplace
                                          : BackgroundLoader::Duplicates::kFail);
  }
  loader_->bytes_total = total;
  loaded_header_ = ckpt::Header{};
  aof_replayed_.store(0);
  std::string ckpt_file = checkpoint_path();
  CorruptionAction on_corruption = c.recovery.on_corruption;
  bool verify = c.recovery.verify_checksum;
  const CollectionLimits limits = LimitsFromConfig(c);
  int dbs = engine_->db_count();
  const int64_t key_delay = c.recovery.key_load_delay;
  loader_->Start([=, this](BackgroundLoader& out) -> Status {
    uint64_t base = 0;
    uint64_t records = 0;
    if (flush_functions && engine_->scripting()) {
      std::vector<std::string_view> flush = {"FUNCTION", "FLUSH", "SYNC"};
      if (!out.PushCommand(flush)) return Status::Busy("cancelled");
    }
    // A record becomes a ready Value here, on the loader thread (the decoding is the
    // expensive part); the loop only inserts it.
    auto push_record = [&](const std::string& path, const ckpt::Record& r) -> Status {
      records++;
      if (key_delay > 0) {
        std::this_thread::sleep_for(std::chrono::microseconds(key_delay));
      } else if (key_delay < 0 && records % uint64_t(-key_delay) == 0) {
        std::this_thread::sleep_for(std::chrono::microseconds(1));
      }
      if (r.db >= uint32_t(dbs)) {
        return Status::Corruption(fmt::format(
            "{}: database {} does not exist here (server.databases = {})", path, r.db, dbs));
      }
      if (r.type == ckpt::kFunctionLibrary) {  // compiled on the loop, as FUNCTION LOAD
        std::vector<std::string_view> load = {"FUNCTION", "LOAD", "REPLACE", r.value};
        if (dup_fails) load.erase(load.begin() + 2);  // a library already here fails
        if (!out.PushCommand(load, /*must_succeed=*/dup_fails)) return Status::Busy("cancelled");
        return Status::Ok();
      }
      uint8_t type = uint8_t(r.type & ~ckpt::kTierRefFlag);
      if (type < uint8_t(ValueType::kString) || type > uint8_t(ValueType::kStream)) {
        return Status::NotSupported(
            fmt::format("{}: value type {} of key '{}' is not supported by this build", path,
                        r.type, std::string(r.key.substr(0, 64))));
      }
      if (r.type & ckpt::kTierRefFlag) {  // a value in a tier segment: adopted on the loop
        if (!out.PushTierRef(r.db, r.key, type, r.value, r.expire_ms))
          return Status::Busy("cancelled");
        return Status::Ok();
      }
      Value v;
      if (r.type == uint8_t(ValueType::kString)) {
        v = Value::String(r.value);
      } else {
        auto d = DecodeCollection(ValueType(r.type), r.value, limits);
        if (!d.ok()) {
          return Status::Corruption(fmt::format(
              "{}: key '{}': {}", path, std::string(r.key.substr(0, 64)), d.status().message()));
        }
        v = std::move(d.value());
      }
      if (!out.PushKey(r.db, r.key, std::move(v), r.expire_ms)) return Status::Busy("cancelled");
      return Status::Ok();
    };
    if (use_ckpt) {
      spdlog::info("Loading checkpoint {}", ckpt_file);
      ckpt::ReadStats stats;
      Status st = ckpt::Read(
          fs_, ckpt_file, verify, [&](const ckpt::Record& r) { return push_record(ckpt_file, r); },
          &stats);
      if (!st.ok()) {
        return Status::Corruption(
            "Cannot load the checkpoint: " + st.message() +
            ". Start-up refused rather than serve part of the data; check the "
            "file with `ferrite-check-rdb " +
            ckpt_file + "` or move it away to start empty.");
      }
      base = stats.bytes;
      out.bytes_done.store(base, std::memory_order_relaxed);
      last_save_loaded_s_ = stats.header.created_ms / 1000;
      loaded_header_ = stats.header;
      spdlog::info("Checkpoint read: {} keys", stats.keys);
    }
    if (use_aof) {
      Aof reader(engine_, fs_, c.server.dir, c.persistence.aof_file, FsyncPolicy::kNo, false,
                 clock_);
      Aof::ReplaySink sink;
      sink.record = [&](const ckpt::Record& r) {
        aof_replayed_.fetch_add(1, std::memory_order_relaxed);
        return push_record(aof_path, r);
      };
      sink.command = [&](ArgList args) -> Status {
        aof_replayed_.fetch_add(1, std::memory_order_relaxed);
        return out.PushCommand(args) ? Status::Ok() : Status::Busy("cancelled");
      };
      std::atomic<uint64_t> progress{0};
      Status st = reader.Read(on_corruption, aof_start, sink, &progress);
      out.bytes_done.store(base + progress.load(), std::memory_order_relaxed);
      if (!st.ok()) return st;
    }
    return Status::Ok();
  });
  return Status::Ok();
}

Status PersistenceManager::LoadStep(int64_t budget_us) {
  if (!loader_) return Status::Ok();
  const Config& c = engine_->config();
  int64_t elapsed_ms = (clock_->MonotonicUs() - load_start_us_) / 1000;
  if (c.recovery.max_recovery_time > 0 && elapsed_ms > c.recovery.max_recovery_time &&
      !recovery_time_warned_) {
    recovery_time_warned_ = true;
    if (c.recovery.max_recovery_time_action == RecoveryTimeAction::kAbort) {
      loader_.reset();
      engine_->set_loading(false);
      return Status::Busy(fmt::format(
          "Recovery took longer than recovery.max_recovery_time ({} ms): start-up aborted, "
          "nothing was changed on disk. Raise max_recovery_time (0 = unlimited) or set "
          "max_recovery_time_action = \"continue\" to let it finish.",
          c.recovery.max_recovery_time));
    }
    spdlog::warn(
        "Recovery is taking longer than recovery.max_recovery_time ({} ms); going on "
        "(max_recovery_time_action = \"continue\")",
        c.recovery.max_recovery_time);
  }
  if (now_progress_log_us_ == 0) now_progress_log_us_ = clock_->MonotonicUs();
  if (clock_->MonotonicUs() - now_progress_log_us_ > 2'000'000) {
    now_progress_log_us_ = clock_->MonotonicUs();
    spdlog::info("Loading: {:.1f}% ({} keys, {} commands applied)", LoadedPercent(),
                 loader_->keys_applied(), loader_->commands_applied());
  }
  if (c.recovery.max_recovery_time > 0 && !recovery_time_warned_) {
    // Never overshoot the limit by a whole slice: it is checked between slices.
    int64_t left_us =
        c.recovery.max_recovery_time * 1000 - (clock_->MonotonicUs() - load_start_us_);
    budget_us = std::clamp<int64_t>(left_us, 100, budget_us);
  }
  if (!loader_->Step(budget_us)) return Status::Ok();
  Status st = loader_->status();
  uint64_t keys = loader_->keys_applied(), cmds = loader_->commands_applied();
  loader_.reset();
  engine_->set_loading(false);
  if (!st.ok()) return st;
  if (last_save_loaded_s_) last_save_s_ = last_save_loaded_s_;
  loaded_keys_ = keys;
  double secs = double(clock_->MonotonicUs() - load_start_us_) / 1e6;
  spdlog::info("DB loaded from disk: {:.3f} seconds ({} keys, {} commands)", secs, keys, cmds);
  if (c.persistence.aof_enabled && enable_aof_after_load_) {
    if (Status es = EnableAof(load_write_base_); !es.ok()) return es;
  }
  if (startup_load_) {
    startup_load_ = false;
    // Replayed AOF records changed the data past the recorded position: it no longer
    // describes it (Redis restores no position from an AOF either).
    if (!loaded_header_.repl_id.empty() && aof_replayed_.load() == 0 && repl_position_loaded)
      repl_position_loaded(loaded_header_);
  }
  ExpireAfterLoad();
  return Status::Ok();
}

void PersistenceManager::ExpireAfterLoad() {
  // Nothing expired during the load (Redis's rule); what expired while the server was down
  // goes now, each deletion propagated (a DEL in the AOF) like any expiry.
  int64_t now = clock_->NowMs();
  size_t n = 0;
  for (int i = 0; i < engine_->db_count(); i++) {
    n += engine_->db(i).ActiveExpire(now, SIZE_MAX, INT64_MAX, clock_);
  }
  if (n > 0) spdlog::info("{} keys expired while the server was down: deleted", n);
}

double PersistenceManager::LoadedPercent() const {
  if (!loader_) return 100.0;
  uint64_t total = loader_->bytes_total.load(), done = loader_->bytes_done.load();
  return total ? std::min(100.0, 100.0 * double(done) / double(total)) : 0.0;
}

bool PersistenceManager::FlushForBusyScript() {
  if (loader_) return true;
  return aof_ ? aof_->BeforeSleep() : true;
}

bool PersistenceManager::BeforeSleep() {
  AssertOnLoop();
  if (loader_) {
    // Loading: ~50 ms of applying per loop iteration, then clients get their answers.
    if (Status st = LoadStep(50'000); !st.ok()) {
      spdlog::critical("{}", st.message());
      engine_->exit_code = 1;
      engine_->RequestShutdown(-1);
    }
    return true;
  }
  PollFinishing(/*wait=*/false);
  if (aof_enable_scheduled_ && !ExternalFreeze()) {
    aof_enable_scheduled_ = false;
    if (!aof_ && engine_->config().persistence.aof_enabled) {
      if (Status st = EnableAof(/*write_base=*/true); !st.ok()) {
        spdlog::warn("Cannot turn the AOF on (CONFIG SET appendonly yes in a transaction): {}",
                     st.message());
        engine_->config().persistence.aof_enabled = false;
      }
    }
  }
  if (recovery_failures_ > 0 && aof_ && !aof_->untrusted()) {
    recovery_failures_ = 0;
    next_recovery_ms_ = 0;
  }
  // About 1 ms of the frozen-image pass per loop iteration: a save or rewrite must not
  // starve clients (DESIGN.md: "a save must not pin the CPU"). One freeze at a time.
  if (ckpt_snapshot_) {
    CheckpointStep(1000);
  } else if (aof_ && aof_->rewriting()) {
    aof_->RewriteStep(1000);
  } else if (ExternalFreeze()) {
    // a full sync's image is being taken: nothing new starts until it is done
  } else if (aof_ && aof_->untrusted()) {
    MaybeRecoverAof();
  } else if (rewrite_scheduled_ && aof_) {
    rewrite_scheduled_ = false;
    aof_->set_preamble(engine_->config().persistence.aof_use_checkpoint_preamble);
    (void)aof_->StartRewrite(++epoch_);
  } else if (!finishing_ && (bgsave_scheduled_ || clock_->NowMs() >= next_trigger_check_ms_)) {
    // Trigger checks are not per-iteration work: ten times a second is plenty.
    next_trigger_check_ms_ = clock_->NowMs() + 100;
    MaybeScheduledSave();
    if (!ckpt_snapshot_ && aof_) MaybeAutoRewrite();
  }
  return aof_ ? aof_->BeforeSleep() : true;
}

std::string PersistenceManager::checkpoint_path() const {
  const Config& c = engine_->config();
  return c.server.dir + "/" + c.persistence.checkpoint_file;
}

Status PersistenceManager::StartCheckpoint() {
  if (saving() || ExternalFreeze()) return Status::Busy("Background save already in progress");
  if (aof_ && aof_->rewriting()) {
    return Status::Busy(
        "Another background operation is in progress (an AOF rewrite): can't BGSAVE "
        "right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
  }
  const Config& c = engine_->config();
  auto f = fs_->NewWritableFile(checkpoint_path() + ".tmp", /*append=*/false);
  if (!f.ok()) return f.status();
  // Records are encoded on the loop; a writer thread compresses, checksums and writes.
  ckpt::WriterOptions wo;
  wo.lz4 = c.persistence.checkpoint_compression == CheckpointCompression::kLz4;
  wo.threaded = true;
  wo.runner = &bg_;
  ckpt_writer_ = std::make_unique<ckpt::Writer>(std::move(f.value()), wo);
  ckpt_error_ = Status::Ok();
  ckpt::Header h;
  h.created_ms = clock_->NowMs();
  h.aof_offset = aof_ ? aof_->CutOffset() : 0;
  // A cut that could not wait for the end of a unit (DEBUG RELOAD inside EXEC) holds part
  // of it: such a checkpoint does not continue the AOF (recovery replays the AOF alone).
  h.aof_id = aof_ && !engine_->in_atomic_unit() ? aof_->id() : 0;
  h.databases = uint32_t(c.server.databases);
  if (repl_position) repl_position(&h);
  Status began = ckpt_writer_->Begin(h);
  if (began.ok()) began = WriteFunctionRecords(ckpt_writer_.get(), engine_);
  if (Status st = began; !st.ok()) {
    ckpt_writer_.reset();
    (void)fs_->DeleteFile(checkpoint_path() + ".tmp");
    return st;
  }
  dirty_at_start_ = engine_->dirty();
  bgsave_start_us_ = clock_->MonotonicUs();
  int64_t freeze_ms = h.created_ms;
  ckpt_refs_.clear();
  if (engine_->tier()) {
    engine_->tier()->BeginImage();
    ckpt_image_open_ = true;
  }
  ckpt_snapshot_ =
      std::make_unique<Snapshot>(engine_, clock_, [this, freeze_ms](int db, const Entry& e) {
        if (!ckpt_error_.ok()) return;
        if (e.expire_ms && e.expire_ms <= freeze_ms) return;
        std::string scratch;
        ckpt_error_ = WriteRecord(ckpt_writer_.get(), db, e, &scratch,
                                  engine_->tier() ? &ckpt_refs_ : nullptr);
      });
  ckpt_snapshot_->Start(++epoch_);
  return Status::Ok();
}

void PersistenceManager::EndCheckpointImage(bool ok) {
  if (!ckpt_image_open_) return;
  ckpt_image_open_ = false;
  if (engine_->tier()) engine_->tier()->EndImage(tier::ImageKind::kCheckpoint, ok, ckpt_refs_);
}

void PersistenceManager::FailCheckpoint(const std::string& why) {
  EndCheckpointImage(false);
  if (ckpt_snapshot_) ckpt_snapshot_->Stop();
  ckpt_snapshot_.reset();
  ckpt_writer_.reset();
  (void)fs_->DeleteFile(checkpoint_path() + ".tmp");
  last_bgsave_ok_ = false;
  next_save_try_ms_ = clock_->NowMs() + 5000;  // as Redis: retry a failed save after 5 s
  spdlog::warn("Background saving error: {}", why);
}

void PersistenceManager::CheckpointStep(int64_t budget_us) {
  int64_t t0 = clock_->MonotonicUs();
  bool done = ckpt_snapshot_->Step(budget_us, step_buckets_);
  engine_->RecordLatency("checkpoint-slice", (clock_->MonotonicUs() - t0) / 1000);
  if (ckpt_snapshot_->invalidated()) {
    // FLUSHALL/FLUSHDB during the save dropped frozen entries: this image can't be
    // completed. Abort cleanly (not an error: nothing failed) and save again at once.
    EndCheckpointImage(false);
    ckpt_snapshot_->Stop();
    ckpt_snapshot_.reset();
    ckpt_writer_.reset();
    (void)fs_->DeleteFile(checkpoint_path() + ".tmp");
    spdlog::info("Background save restarted: the dataset was flushed during it");
    bgsave_scheduled_ = true;
    return;
  }
  if (!ckpt_error_.ok()) return FailCheckpoint(ckpt_error_.message());
  if (!done) return;
  if (Status st = FinishCheckpoint(); !st.ok()) FailCheckpoint(st.message());
}

Status PersistenceManager::FinishCheckpoint() {
  AssertOnLoop();
  ckpt_snapshot_->Stop();
  ckpt_snapshot_.reset();
  finishing_keys_ = ckpt_writer_->keys();
  // The tier segments it references are made durable before it is renamed into place.
  std::vector<std::string> seg_paths;
  if (engine_->tier()) {
    auto paths = engine_->tier()->PrepareImage(ckpt_refs_);
    if (!paths.ok()) return paths.status();
    seg_paths = std::move(paths.value());
  }
  std::shared_ptr<ckpt::Writer> writer(std::move(ckpt_writer_));
  FileSystem* fs = fs_;
  std::string tmp = checkpoint_path() + ".tmp", final_path = checkpoint_path();
  History* history = history_.get();
  // The footer, fsync, rename and directory fsync: a job on the writer's runner, after the
  // blocks still queued there (one thread: in order). The result comes back to the loop.
  finishing_ = true;
  bg_.Schedule(
      std::function<Finished()>([writer, fs, tmp, final_path, seg_paths, history] {
        Finished f;
        f.st = writer->Finish();  // footer, fsync, close
        if (f.st.ok()) f.st = tier::TierManager::SyncPaths(fs, seg_paths, &f.failed_segment);
        if (f.st.ok() && history) {  // the checkpoint it replaces goes to the history
          if (Status hs = history->RetireCheckpoint(final_path); !hs.ok())
            spdlog::warn("History: cannot keep the replaced checkpoint: {}", hs.message());
        }
        if (f.st.ok()) f.st = RenameDurably(fs, tmp, final_path, "checkpoint", &f.renamed);
        return f;
      }),
      std::function<void(Finished)>([this](Finished f) { CheckpointFinished(std::move(f)); }));
  return Status::Ok();
}

void PersistenceManager::PollFinishing(bool wait) {
  AssertOnLoop();
  if (!finishing_) return;
  if (wait) bg_.WaitIdle();
  bg_.RunReplies();  // CheckpointFinished, once the job is over
}

void PersistenceManager::CheckpointFinished(Finished f) {
  AssertOnLoop();
  finishing_ = false;
  if (!f.failed_segment.empty() && engine_->tier())
    engine_->tier()->SegmentSyncFailed(f.failed_segment);
  if (!f.st.ok()) {
    if (f.renamed) {
      // The new checkpoint is in place but its name may not survive a crash: the old one
      // or the new one may be found, so the segments of both stay. The save counts as
      // failed (MISCONF with stop_writes_on_bgsave_error) and is retried like any other.
      if (ckpt_image_open_ && engine_->tier())
        engine_->tier()->PinBoth(tier::ImageKind::kCheckpoint, ckpt_refs_);
      return FailCheckpoint("the checkpoint was renamed into place but " + f.st.message());
    }
    return FailCheckpoint(f.st.message());
  }
  EndCheckpointImage(true);
  engine_->ConsumeDirty(dirty_at_start_);
  last_save_s_ = clock_->NowMs() / 1000;
  last_bgsave_ok_ = true;
  last_bgsave_ms_ = (clock_->MonotonicUs() - bgsave_start_us_) / 1000;
  saves_++;
  spdlog::info("Background saving terminated with success: {} keys in {} ms", finishing_keys_,
               last_bgsave_ms_);
}

Status PersistenceManager::Save() {
  PollFinishing(/*wait=*/true);
  if (ckpt_snapshot_) return Status::Busy("Background save already in progress");
  if (aof_ && aof_->rewriting()) {
    // One freeze at a time: finish the rewrite first (SAVE blocks anyway).
    while (aof_->rewriting()) aof_->RewriteStep(100000);
  }
  if (Status st = StartCheckpoint(); !st.ok()) return st;
  while (ckpt_snapshot_) CheckpointStep(1000000);
  PollFinishing(/*wait=*/true);
  if (!last_bgsave_ok_) return Status::IOError("Error saving the checkpoint; see the log");
  return Status::Ok();
}

Status PersistenceManager::BgSave(bool schedule, std::string* reply) {
  if (saving() || ExternalFreeze()) {
    if (schedule) {
      *reply = "Background saving scheduled";
      bgsave_scheduled_ = true;
      return Status::Ok();
    }
    return Status::Busy("Background save already in progress");
  }
  if (engine_->in_atomic_unit()) {
    // Inside EXEC (Redis's in_exec): the cut is taken after the transaction, never inside.
    bgsave_scheduled_ = true;
    *reply = "Background saving scheduled";
    return Status::Ok();
  }
  if (aof_ && aof_->rewriting()) {
    if (!schedule) {
      return Status::Busy(
          "Another background operation is in progress: can't BGSAVE right now. Use "
          "BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
    }
    bgsave_scheduled_ = true;
    *reply = "Background saving scheduled";
    return Status::Ok();
  }
  if (Status st = StartCheckpoint(); !st.ok()) return st;
  *reply = "Background saving started";
  return Status::Ok();
}

void PersistenceManager::MaybeScheduledSave() {
  int64_t now_ms = clock_->NowMs();
  if (bgsave_scheduled_) {
    bgsave_scheduled_ = false;
    if (Status st = StartCheckpoint(); !st.ok()) FailCheckpoint(st.message());
    return;
  }
  const auto& p = engine_->config().persistence;
  if (!p.checkpoint_enabled || now_ms < next_save_try_ms_) return;
  uint64_t dirty = engine_->dirty();
  if (dirty == 0) return;
  int64_t since = now_ms / 1000 - last_save_s_;
  bool due = false;
  for (const SaveRule& r : p.checkpoint_rules) {
    if (dirty >= uint64_t(r.changes) && since >= r.seconds) due = true;
  }
  if (p.checkpoint_interval > 0 && since * 1000 >= p.checkpoint_interval) due = true;
  if (p.checkpoint_changes > 0 && dirty >= uint64_t(p.checkpoint_changes)) due = true;
  if (!due) return;
  spdlog::info("{} changes since the last save: saving", dirty);
  if (Status st = StartCheckpoint(); !st.ok()) FailCheckpoint(st.message());
}

void PersistenceManager::MaybeRecoverAof() {
  // A failed write or fsync left the AOF untrusted: the way back is a new generation
  // written from memory. Retried after 1, 2, 4 ... 60 s while it fails (disk still full or
  // broken); meanwhile writes are refused and `always` replies held.
  int64_t now = clock_->NowMs();
  if (engine_->shutdown_requested() || now < next_recovery_ms_) return;
  aof_->set_preamble(engine_->config().persistence.aof_use_checkpoint_preamble);
  Status s = aof_->StartRewrite(++epoch_);
  int64_t wait = std::min<int64_t>(60'000, int64_t(1000) << std::min(recovery_failures_, 6));
  next_recovery_ms_ = now + wait;
  recovery_failures_++;
  if (!s.ok()) {
    spdlog::warn("Cannot start rewriting the untrusted AOF: {} (next try in {} ms)", s.message(),
                 wait);
  }
}

void PersistenceManager::MaybeAutoRewrite() {
  const auto& p = engine_->config().persistence;
  const AofStats& st = aof_->stats();
  // Track the outcome of the last rewrite for the backoff.
  if (st.rewrites != rewrites_seen_) {
    rewrites_seen_ = st.rewrites;
    rewrite_failures_ = 0;
  }
  if (p.aof_rewrite_percentage <= 0) return;
  uint64_t size = aof_->current_size();
  if (size < uint64_t(p.aof_rewrite_min_size)) return;
  uint64_t base = std::max<uint64_t>(st.base_size, 1);
  if ((size - std::min(size, base)) * 100 / base < uint64_t(p.aof_rewrite_percentage)) return;
  int64_t now = clock_->NowMs();
  if (now < next_auto_rewrite_ms_) return;
  spdlog::info("Starting automatic rewriting of AOF on {}% growth",
               (size - std::min(size, base)) * 100 / base);
  aof_->set_preamble(engine_->config().persistence.aof_use_checkpoint_preamble);
  Status s = aof_->StartRewrite(++epoch_);
  if (!s.ok()) {
    rewrite_failures_++;
    next_auto_rewrite_ms_ =
        now + std::min<int64_t>(60'000, int64_t(1000) << std::min(rewrite_failures_, 6));
    spdlog::warn("Automatic AOF rewrite could not start: {} (next try in {} ms)", s.message(),
                 next_auto_rewrite_ms_ - now);
    return;
  }
  // If this one fails later, the next automatic attempt waits too.
  next_auto_rewrite_ms_ =
      now + std::min<int64_t>(60'000, int64_t(1000) << std::min(rewrite_failures_++, 6));
}

void PersistenceManager::Shutdown() {
  if (loader_ || engine_->exit_code != 0) {
    // Never save or rewrite anything from a partly loaded dataset.
    loader_.reset();
    return;
  }
  const auto& p = engine_->config().persistence;
  int mode = engine_->shutdown_save_mode;
  bool rules = p.checkpoint_enabled && !p.checkpoint_rules.empty();
  if (mode == 1 || (mode == 0 && rules && engine_->dirty() > 0)) {
    while (ckpt_snapshot_) CheckpointStep(1000000);
    PollFinishing(/*wait=*/true);
    spdlog::info("Saving the final checkpoint before exiting");
    if (Status st = Save(); !st.ok()) spdlog::warn("Error saving at shutdown: {}", st.message());
  } else if (ckpt_snapshot_) {
    FailCheckpoint("shutdown");
  }
  PollFinishing(/*wait=*/true);
  engine_->shutdown_save_mode = -1;  // saved once; a second call does not save again
  if (!aof_) return;
  if (aof_->untrusted()) {
    // Never acknowledged (the loop holds those replies and does not send them at exit),
    // but still in memory: one last try to make them durable in a new generation.
    if (aof_->rewriting()) aof_->AbortRewrite("shutdown");
    aof_->set_preamble(engine_->config().persistence.aof_use_checkpoint_preamble);
    Status st = aof_->Rewrite();
    if (!st.ok() || aof_->untrusted()) {
      spdlog::critical(
          "The AOF could not be made durable at shutdown ({}): writes not acknowledged to "
          "clients are lost; the AOF on disk holds what was acknowledged.",
          st.ok() ? aof_->stats().last_write_error : st.message());
      engine_->exit_code = 1;
    }
  } else if (Status st = aof_->FlushAndSync(); !st.ok()) {
    spdlog::warn("Error flushing the AOF at shutdown: {}", st.message());
    engine_->exit_code = 1;
  }
  DisableAof();
}

Status PersistenceManager::ApplyConfig(const std::vector<std::string>& changed, const Config& old) {
  const Config& c = engine_->config();
  for (const std::string& name : changed) {
    if (name == "persistence.aof_enabled" &&
        c.persistence.aof_enabled != old.persistence.aof_enabled) {
      if (c.persistence.aof_enabled) {
        if (engine_->in_atomic_unit() || ExternalFreeze()) {
          // (A full sync's freeze: after it, one freeze at a time.)
          // Inside EXEC: the base written now would hold the transaction's first commands
          // and the log would then get the whole transaction again. After the unit.
          aof_enable_scheduled_ = true;
          continue;
        }
        if (Status st = EnableAof(/*write_base=*/true); !st.ok()) return st;
      } else {
        aof_enable_scheduled_ = false;
        if (aof_) (void)aof_->FlushAndSync();
        DisableAof();
      }
    } else if (name == "persistence.aof_sync_policy" && aof_) {
      aof_->set_policy(c.persistence.aof_sync_policy);
    }
  }
  return Status::Ok();
}

Status PersistenceManager::RewriteAof(bool* scheduled) {
  if (scheduled) *scheduled = false;
  if (!aof_) {
    // Redis 7.0 writes a file here that nothing keeps up to date and that a later restart with
    // the AOF on would load instead of the newer checkpoint, losing every write made since.
    // Ferrite refuses instead (a deliberate difference, docs/operations.md).
    return Status::InvalidArgument("the AOF is off; CONFIG SET appendonly yes writes a new one");
  }
  if (aof_->rewriting()) {
    return Status::Busy("Background append only file rewriting already in progress");
  }
  // One freeze at a time (run it after a save), and never inside a transaction: the cut
  // is taken after the unit (Redis: "Background append only file rewriting scheduled").
  if (saving() || engine_->in_atomic_unit() || ExternalFreeze()) {
    rewrite_scheduled_ = true;
    if (scheduled) *scheduled = true;
    return Status::Ok();
  }
  aof_->set_preamble(engine_->config().persistence.aof_use_checkpoint_preamble);
  return aof_->StartRewrite(++epoch_);
}

std::string PersistenceManager::WriteRefusal() {
  if (aof_ && aof_->write_error()) {
    return err::kMisconfAof + aof_->stats().last_write_error;
  }
  if (!last_bgsave_ok_ && engine_->config().server.stop_writes_on_bgsave_error &&
      engine_->config().persistence.checkpoint_enabled) {
    return err::kMisconfCheckpoint;
  }
  return "";
}

PersistenceInfo PersistenceManager::Info() {
  PersistenceInfo p;
  p.loading = engine_->loading();
  if (loader_) {
    PersistenceInfo::Loading& l = p.loading_progress.emplace();
    double perc = LoadedPercent();
    double elapsed = double(clock_->MonotonicUs() - load_start_us_) / 1e6;
    l.start_time = load_start_s_;
    l.total_bytes = loader_->bytes_total.load();
    l.loaded_bytes = loader_->bytes_done.load();
    l.loaded_perc = perc;
    l.eta_seconds = perc > 0 ? int64_t(elapsed * (100.0 - perc) / perc) : 1;
  }
  p.current_save_keys_processed = ckpt_writer_ ? ckpt_writer_->keys() : 0;
  p.rdb_changes_since_last_save = engine_->dirty();
  p.rdb_bgsave_in_progress = saving();
  p.rdb_last_save_time = last_save_s_;
  p.rdb_last_bgsave_ok = last_bgsave_ok_;
  p.rdb_last_bgsave_time_sec = last_bgsave_ms_ >= 0 ? last_bgsave_ms_ / 1000 : -1;
  p.rdb_current_bgsave_time_sec =
      saving() ? (clock_->MonotonicUs() - bgsave_start_us_) / 1000000 : -1;
  p.rdb_saves = saves_;
  p.rdb_last_load_keys_loaded = loaded_keys_;
  p.aof_rewrite_scheduled = rewrite_scheduled_;
  if (!aof_) return p;
  const AofStats& st = aof_->stats();
  p.aof_enabled = true;
  p.aof_rewrite_in_progress = aof_->rewriting();
  p.aof_last_rewrite_time_sec = st.last_rewrite_ms >= 0 ? st.last_rewrite_ms / 1000 : -1;
  p.aof_current_rewrite_time_sec = aof_->rewriting() ? aof_->rewrite_elapsed_ms() / 1000 : -1;
  p.aof_last_bgrewrite_ok = st.last_rewrite_ok;
  p.aof_rewrites = st.rewrites;
  p.aof_last_write_ok = st.last_write_error.empty();
  PersistenceInfo::Aof& a = p.aof.emplace();
  a.current_size = aof_->current_size();
  a.base_size = st.base_size;
  a.buffer_length = aof_->buffer_length();
  a.pending_fsync = aof_->fsync_pending();
  a.delayed_fsync = st.delayed_fsync;
  a.write_latency_max_us = aof_->write_latency_max_us();
  a.fsync_latency_max_us = aof_->fsync_latency_max_us();
  return p;
}

}  // namespace ferrite
