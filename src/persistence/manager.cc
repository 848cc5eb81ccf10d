#include "persistence/manager.h"

#include "commands/errors.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace ferrite {

PersistenceManager::PersistenceManager(Engine* engine, FileSystem* fs, Clock* clock)
    : engine_(engine), fs_(fs), clock_(clock) {
  engine_->set_persistence(this);
  engine_->registry().SetApplyHook(
      [this](const std::vector<std::string>& changed, const Config& old) {
        return ApplyConfig(changed, old);
      });
}

PersistenceManager::~PersistenceManager() {
  Shutdown();
  engine_->set_persistence(nullptr);
  engine_->registry().SetApplyHook(nullptr);
}

Status PersistenceManager::EnableAof(bool write_base) {
  const Config& c = engine_->config();
  auto aof = std::make_unique<Aof>(engine_, fs_, c.server.dir, c.persistence.aof_file,
                                   ParseFsyncPolicy(c.persistence.aof_sync_policy),
                                   c.persistence.aof_timestamp_enabled, clock_);
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
  const Config& c = engine_->config();
  Aof::RemoveStrayFiles(fs_, c.server.dir, c.persistence.aof_file);
  if (!c.persistence.aof_enabled) return Status::Ok();
  Aof loader(engine_, fs_, c.server.dir, c.persistence.aof_file,
             ParseFsyncPolicy(c.persistence.aof_sync_policy), false, clock_);
  engine_->set_loading(true);
  Status st = loader.Load(c.recovery.on_corruption);
  engine_->set_loading(false);
  if (!st.ok()) return st;
  return EnableAof(/*write_base=*/false);
}

bool PersistenceManager::BeforeSleep() {
  if (!aof_) return true;
  // About 1 ms of the frozen-image pass per loop iteration: a rewrite must not starve
  // clients (DESIGN.md: "a save must not pin the CPU").
  if (aof_->rewriting()) aof_->RewriteStep(1000);
  else MaybeAutoRewrite();
  return aof_->BeforeSleep();
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
  Status s = aof_->StartRewrite(++epoch_);
  if (!s.ok()) {
    rewrite_failures_++;
    next_auto_rewrite_ms_ = now + std::min<int64_t>(60'000, int64_t(1000) << std::min(rewrite_failures_, 6));
    spdlog::warn("Automatic AOF rewrite could not start: {} (next try in {} ms)", s.message(),
                 next_auto_rewrite_ms_ - now);
    return;
  }
  // If this one fails later, the next automatic attempt waits too.
  next_auto_rewrite_ms_ = now + std::min<int64_t>(60'000, int64_t(1000) << std::min(rewrite_failures_++, 6));
}

void PersistenceManager::Shutdown() {
  if (!aof_) return;
  if (Status st = aof_->FlushAndSync(); !st.ok()) {
    spdlog::warn("Error flushing the AOF at shutdown: {}", st.message());
  }
  DisableAof();
}

Status PersistenceManager::ApplyConfig(const std::vector<std::string>& changed,
                                       const Config& old) {
  const Config& c = engine_->config();
  for (const std::string& name : changed) {
    if (name == "persistence.aof_enabled" && c.persistence.aof_enabled != old.persistence.aof_enabled) {
      if (c.persistence.aof_enabled) {
        if (Status st = EnableAof(/*write_base=*/true); !st.ok()) return st;
      } else {
        if (aof_) (void)aof_->FlushAndSync();
        DisableAof();
      }
    } else if (name == "persistence.aof_sync_policy" && aof_) {
      aof_->set_policy(ParseFsyncPolicy(c.persistence.aof_sync_policy));
    }
  }
  return Status::Ok();
}

Status PersistenceManager::RewriteAof() {
  if (!aof_) {
    return Status::InvalidArgument("the AOF is off; CONFIG SET appendonly yes writes a new one");
  }
  return aof_->StartRewrite(++epoch_);
}

std::string PersistenceManager::WriteRefusal() {
  if (aof_ && aof_->write_error()) {
    return err::kMisconfAof + aof_->stats().last_write_error;
  }
  return "";
}

std::string PersistenceManager::InfoSection(Engine& e) {
  std::string o = "# Persistence\r\n";
  auto line = [&](std::string_view k, auto v) { o += fmt::format("{}:{}\r\n", k, v); };
  line("loading", e.loading() ? 1 : 0);
  line("async_loading", 0);
  line("current_cow_peak", 0);
  line("current_cow_size", 0);
  line("current_fork_perc", "0.00");
  line("rdb_changes_since_last_save", e.dirty());
  line("rdb_bgsave_in_progress", 0);
  line("rdb_last_save_time", e.start_time_ms() / 1000);
  line("rdb_last_bgsave_status", "ok");
  line("rdb_last_bgsave_time_sec", -1);
  line("rdb_current_bgsave_time_sec", -1);
  line("rdb_saves", 0);
  line("rdb_last_cow_size", 0);
  line("aof_enabled", aof_ ? 1 : 0);
  line("aof_rewrite_in_progress", aof_ && aof_->rewriting() ? 1 : 0);
  line("aof_rewrite_scheduled", 0);
  const AofStats* st = aof_ ? &aof_->stats() : nullptr;
  line("aof_last_rewrite_time_sec", st && st->last_rewrite_ms >= 0 ? st->last_rewrite_ms / 1000 : -1);
  line("aof_current_rewrite_time_sec", aof_ && aof_->rewriting() ? aof_->rewrite_elapsed_ms() / 1000 : -1);
  line("aof_last_bgrewrite_status", !st || st->last_rewrite_ok ? "ok" : "err");
  line("aof_rewrites", st ? st->rewrites : 0);
  line("aof_last_write_status", !st || st->last_write_error.empty() ? "ok" : "err");
  line("aof_last_cow_size", 0);
  line("module_fork_in_progress", 0);
  line("module_fork_last_cow_size", 0);
  if (aof_) {
    line("aof_current_size", aof_->current_size());
    line("aof_base_size", st->base_size);
    line("aof_pending_rewrite", 0);
    line("aof_buffer_length", aof_->buffer_length());
    line("aof_pending_bio_fsync", aof_->fsync_pending() ? 1 : 0);
    line("aof_pending_fsync", aof_->fsync_pending() ? 1 : 0);
    line("aof_delayed_fsync", st->delayed_fsync);
  }
  return o;
}

}  // namespace ferrite
