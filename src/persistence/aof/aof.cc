#include "persistence/aof/aof.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <random>

#include "base/strutil.h"
#include "io/atomic_file.h"
#include "persistence/aof/aof_format.h"
#include "persistence/aof/aof_integrity.h"
#include "persistence/apply_record.h"
#include "tier/tier_manager.h"
#include "types/serialize.h"

namespace ferrite {

Aof::Aof(Engine* engine, FileSystem* fs, std::string dir, std::string file, FsyncPolicy policy,
         bool timestamps, Clock* clock)
    : engine_(engine),
      dir_(std::move(dir)),
      file_(std::move(file)),
      policy_(policy),
      timestamps_(timestamps),
      clock_(clock),
      fs_(fs) {}

Aof::~Aof() { Close(); }

// ------------------------------------------------------------------ load
namespace {

// The first lines of a RESP base: its identity, then the time of its image (the base is
// the dataset as of that second: point-in-time recovery can start from it).
std::string IdLine(uint64_t id, int64_t base_ms) {
  return fmt::format("#ID:{:016x}\r\n#TS:{}\r\n", id, base_ms / 1000);
}

uint64_t NewId() {
  static std::mt19937_64 rng(std::random_device{}() ^ uint64_t(::getpid()) << 32);
  uint64_t id;
  do id = rng();
  while (id == 0);
  return id;
}

}  // namespace

uint64_t Aof::ReadId(FileSystem* fs, const std::string& path) {
  auto f = fs->NewSequentialFile(path);
  if (!f.ok()) return 0;
  char buf[32];
  auto n = f.value()->Read(sizeof(buf), buf);
  if (n.ok() && n.value() >= 8 && memcmp(buf, "FERRCKPT", 8) == 0) {  // checkpoint preamble
    ckpt::Header h;
    return ckpt::ReadHeader(fs, path, &h).ok() ? h.aof_id : 0;
  }
  if (!n.ok() || n.value() < 22 || memcmp(buf, "#ID:", 4) != 0 || buf[20] != '\r') return 0;
  uint64_t id = 0;
  for (int i = 4; i < 20; i++) {
    char c = buf[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return 0;
    id = id << 4 | uint64_t(d);
  }
  return id;
}

Status Aof::Load(CorruptionAction on_corruption, uint64_t start_offset) {
  Session* s = engine_->NewSession();
  s->authenticated = true;
  s->replaying = true;
  std::string scratch_out;
  ReplyBuilder rb(&scratch_out);
  const CollectionLimits limits = LimitsFromConfig(engine_->config());
  int64_t now = clock_->NowMs();
  uint64_t expired = 0;
  std::string p = path();
  ReplaySink sink;
  sink.record = [&](const ckpt::Record& r) {
    return ApplyRecord(engine_, p, r, limits, now, &expired);
  };
  sink.command = [&](ArgList args) {
    scratch_out.clear();
    engine_->Execute(*s, args, rb);
    return Status::Ok();
  };
  for (int i = 0; i < engine_->db_count(); i++) engine_->db(i).set_expiry_paused(true);
  Status st = Read(on_corruption, start_offset, sink);
  for (int i = 0; i < engine_->db_count(); i++) engine_->db(i).set_expiry_paused(false);
  engine_->DropSession(s);
  return st;
}

Status Aof::Read(CorruptionAction on_corruption, uint64_t start_offset, const ReplaySink& sink,
                 std::atomic<uint64_t>* progress) {
  std::string p = path();
  if (!fs_->FileExists(p)) return Status::Ok();
  auto file = fs_->NewSequentialFile(p);
  if (!file.ok()) return file.status();
  uint64_t total = fs_->GetFileSize(p).value();
  if (start_offset > total) {
    return Status::Corruption(fmt::format(
        "{}: replay start {} is past the end of the file ({} bytes)", p, start_offset, total));
  }
  if (start_offset > 0) {
    if (Status st = file.value()->Skip(start_offset); !st.ok()) return st;
    spdlog::info("Replaying the append only file {} from offset {} ({} of {} bytes)", p,
                 start_offset, total - start_offset, total);
  } else {
    spdlog::info("Reading the append only file {} ({} bytes)", p, total);
  }
  int64_t t0 = clock_->MonotonicUs();
  if (start_offset == 0) {
    char magic[8] = {};
    auto peek = fs_->NewSequentialFile(p);
    if (peek.ok()) {
      auto n = peek.value()->Read(8, magic);
      if (n.ok() && n.value() == 8 && memcmp(magic, "FERRCKPT", 8) == 0) {
        // A checkpoint preamble: load it with the checkpoint codec, replay what follows.
        ckpt::ReadStats rs;
        Status st =
            ckpt::ReadPrefix(fs_, p, engine_->config().recovery.verify_checksum, sink.record, &rs);
        if (!st.ok()) {
          return Status::Corruption(
              "Cannot load the checkpoint preamble of the append only file: " + st.message());
        }
        spdlog::info("AOF checkpoint preamble: {} keys in {} bytes", rs.keys, rs.bytes);
        start_offset = rs.bytes;
        if (Status sk = file.value()->Skip(start_offset); !sk.ok()) return sk;
      }
    }
  }
  aof::AofReader reader(start_offset, 1);
  aof::BatchVerifier verifier(start_offset);
  std::vector<char> chunk(1 << 20);
  bool in_multi = false;
  uint64_t multi_offset = 0, multi_line = 0;
  uint64_t last_progress_us = uint64_t(t0);
  uint64_t applied = 0;
  // The records of the open batch wait until its checksum line verifies, so a damaged or
  // torn batch is never half applied. A file without checksum lines (Redis's, or one from
  // before format version 2) is recognised after kLegacyBytes without one: its records
  // then apply as they are read, as before.
  constexpr uint64_t kLegacyBytes = 64 << 20;
  std::vector<std::vector<std::string>> pending;
  uint64_t pending_bytes = 0, batch_line = 1;
  bool legacy = false;
  auto apply = [&](ArgList args) -> Status {
    Status st = sink.command(args);
    applied++;
    uint64_t now = uint64_t(clock_->MonotonicUs());
    if (now - last_progress_us > 2'000'000) {
      last_progress_us = now;
      spdlog::info("Loading AOF: {:.1f}% ({} commands)",
                   total ? 100.0 * double(reader.offset()) / double(total) : 100.0, applied);
    }
    return st;
  };
  auto apply_pending = [&]() -> Status {
    std::vector<std::string_view> views;
    for (auto& argv : pending) {
      views.assign(argv.begin(), argv.end());
      if (Status st = apply(views); !st.ok()) return st;
    }
    pending.clear();
    pending_bytes = 0;
    return Status::Ok();
  };
  enum class Problem { kNone, kMalformed, kMismatch } problem = Problem::kNone;
  uint64_t problem_offset = 0, problem_line = 0;
  std::string problem_what;
  Status result = Status::Ok();
  bool eof = false;
  while (result.ok()) {
    aof::AofRecord rec;
    auto r = reader.Next(&rec);
    if (r == aof::AofReader::Result::kNeedMore) {
      if (eof) break;
      auto n = file.value()->Read(chunk.size(), chunk.data());
      if (!n.ok()) {
        result = n.status();
        break;
      }
      if (n.value() == 0)
        eof = true;
      else
        reader.Feed(std::string_view(chunk.data(), n.value()));
      if (progress) progress->store(reader.offset(), std::memory_order_relaxed);
      continue;
    }
    if (r == aof::AofReader::Result::kError) {
      problem = Problem::kMalformed;
      problem_offset = reader.error_offset();
      problem_line = reader.error_line();
      problem_what = reader.error();
      break;
    }
    auto verdict = verifier.OnRecord(rec);
    if (verdict == aof::BatchVerifier::Verdict::kMismatch) {
      problem = Problem::kMismatch;
      problem_offset = verifier.batch_start();
      problem_line = batch_line;
      problem_what = verifier.error();
      break;
    }
    if (verdict == aof::BatchVerifier::Verdict::kVerified) {
      result = apply_pending();
      legacy = false;
      batch_line = reader.line();
      continue;
    }
    if (rec.kind == aof::AofRecord::kAnnotation) continue;
    std::string_view name = rec.args[0];
    // Track transactions here (not through a session): a MULTI whose EXEC never reached
    // the disk is cut off below, and its commands are never applied.
    if (!in_multi && EqualsIgnoreCase(name, "MULTI")) {
      in_multi = true;
      multi_offset = rec.offset;
      multi_line = rec.line;
    } else if (in_multi && (EqualsIgnoreCase(name, "EXEC") || EqualsIgnoreCase(name, "DISCARD"))) {
      in_multi = false;
    }
    if (!engine_->commands().Find(name)) {  // the table is immutable: safe off the loop
      result = Status::Corruption(
          fmt::format("Unknown command '{}' reading the append only file {} at offset {} (line {})",
                      std::string(name.substr(0, 64)), p, rec.offset, rec.line));
      break;
    }
    if (!legacy && !verifier.has_checksums() && pending_bytes > kLegacyBytes) {
      legacy = true;  // no checksum line so far: an older or Redis-written file
      result = apply_pending();
    }
    if (legacy) {
      if (result.ok()) result = apply(rec.args);
    } else {
      pending.emplace_back(rec.args.begin(), rec.args.end());
      pending_bytes += rec.raw.size();
    }
  }
  if (!result.ok()) return result;
  const bool checked = verifier.has_checksums();
  bool incomplete = problem == Problem::kNone && !reader.AtCleanEnd();
  if (incomplete) {
    problem_offset = reader.offset();
    problem_line = reader.line();
    problem_what = "an incomplete record";
  }
  if (problem != Problem::kNone || incomplete) {
    // Damage in the middle or a torn tail? A checksummed batch after the problem that
    // verifies says the file goes on: acknowledged records follow, nothing may be cut
    // (also when a corrupted length claims more bytes than remain).
    int64_t later = aof::FindVerifiedBatchAfter(fs_, p, problem_offset);
    if (later >= 0 || (problem == Problem::kMalformed && !checked)) {
      return Status::Corruption(fmt::format(
          "Bad file format reading the append only file {}: damage in the middle of the file at "
          "offset {} (line {}): {}.{} This is not a torn tail: cutting there would drop the "
          "records after it. Inspect it with `ferrite-check-aof {}`",
          p, problem_offset, problem_line, problem_what,
          later >= 0 ? fmt::format(" A batch that verifies its checksum ends at offset {}.", later)
                     : "",
          p));
    }
  }
  // What is left: a torn tail (crash mid-write: an incomplete record, garbage or a batch
  // without or not matching its checksum line after the last good batch), or an
  // unfinished MULTI whose EXEC never made it to disk. Cut back to the last good batch
  // (files with checksums: its records were never acknowledged) or the last whole command.
  bool torn_batch =
      checked && !legacy && (problem != Problem::kNone || incomplete || !pending.empty());
  if (!torn_batch && !pending.empty()) {
    if (Status st = apply_pending(); !st.ok()) return st;  // a file without checksums
  }
  uint64_t good = torn_batch ? verifier.batch_start() : in_multi ? multi_offset : reader.offset();
  uint64_t good_line = torn_batch ? batch_line : in_multi ? multi_line : reader.line();
  if (in_multi && multi_offset < good) {
    good = multi_offset;
    good_line = multi_line;
  }
  if (torn_batch || incomplete || in_multi) {
    uint64_t dropped = total - good;
    std::string what =
        torn_batch
            ? "a torn tail after the last good batch (" +
                  (problem_what.empty() ? std::string("no checksum line") : problem_what) + ")"
        : in_multi ? "an unfinished MULTI/EXEC transaction"
                   : "an incomplete command";
    if (on_corruption != CorruptionAction::kTruncate) {
      return Status::Corruption(fmt::format(
          "The append only file {} ends with {} at offset {} (line {}; {} bytes). Start-up "
          "refused (recovery.on_corruption = \"abort\"). To cut it back run: "
          "ferrite-check-aof --fix {}",
          p, what, good, good_line, dropped, p));
    }
    spdlog::warn("AOF {} ends with {} at offset {} (line {}): truncating {} bytes", p, what, good,
                 good_line, dropped);
    if (Status st = fs_->TruncateFile(p, good); !st.ok()) return st;
  }
  if (progress) progress->store(total, std::memory_order_relaxed);
  spdlog::info("DB loaded from append only file: {:.3f} seconds, {} commands",
               double(clock_->MonotonicUs() - t0) / 1e6, applied);
  return Status::Ok();
}

// ------------------------------------------------------------------ writer
Status Aof::Open() {
  std::string p = path();
  bool existed = fs_->FileExists(p);
  // A new file's name must be durable before anything is acknowledged from it.
  auto f = existed ? fs_->NewWritableFile(p, /*append=*/true) : CreateFileDurably(fs_, p);
  if (!f.ok()) return f.status();
  out_ = std::move(f.value());
  size_ = out_->Size();
  buf_.clear();
  buf_sealed_ = 0;
  if (size_ == 0) {
    // A new file starts with its identity, which checkpoints record (hybrid recovery),
    // checksummed like every batch.
    id_ = NewId();
    std::string line = IdLine(id_, clock_->NowMs());
    aof::AppendCrcLine(&line, line);
    if (Status st = out_->Append(line); !st.ok()) return st;
    if (Status st = out_->Sync(); !st.ok()) return st;
    size_ = line.size();
  } else {
    id_ = ReadId(fs_, p);
    // Appending to an existing file: what follows starts a new checksummed batch, whatever
    // the file held (an older or a Redis-written file has no checksum lines).
    aof::AppendCrcReset(&buf_);
    buf_sealed_ = buf_.size();
  }
  stats_.base_size = size_;
  selected_db_ = -1;
  return Status::Ok();
}

void Aof::Close() {
  if (snapshot_) AbortRewrite("the AOF is being closed");
  fsync_runner_.WaitIdle();  // a background fsync in flight ends first
  fsync_runner_.RunReplies();
  if (out_) {
    if (!untrusted_) (void)FlushAndSync();  // an untrusted file is only ever replaced
    (void)out_->Close();
    out_.reset();
  }
}

void Aof::BeforeAppend(int db) {
  if (timestamps_ && !in_multi_) {  // never an annotation inside a transaction
    int64_t now = clock_->NowMs() / 1000;
    if (now != last_ts_) {
      // A #TS line starts a checksummed batch, so cutting the file right before it (point-
      // in-time recovery) leaves whole, verifiable batches.
      SealBuffer();
      aof::AppendTimestamp(&buf_, now);
      last_ts_ = now;
    }
  }
  if (db != selected_db_) {
    aof::AppendCommand(&buf_, {"SELECT", FormatInt64(db)});
    selected_db_ = db;
  }
}

void Aof::Propagate(int db, const std::vector<std::string>& argv) {
  BeforeAppend(db);
  aof::AppendCommand(&buf_, argv);
  if (argv.size() == 1 && argv[0] == "MULTI") in_multi_ = true;
  if (argv.size() == 1 && argv[0] == "EXEC") in_multi_ = false;
}

void Aof::SealBuffer() {
  if (buf_.size() > buf_sealed_) {
    aof::AppendCrcLine(&buf_, std::string_view(buf_).substr(buf_sealed_));
    buf_sealed_ = buf_.size();
  }
}

uint64_t Aof::CutOffset() {
  SealBuffer();  // a cut falls between checksummed batches, so replay can start there
  ForceSelect();
  return size_ + buf_.size();
}

void Aof::PropagateArgs(int db, ArgList argv) {
  BeforeAppend(db);
  aof::AppendCommand(&buf_, argv);
}

Status Aof::WriteBuffer() {
  AssertOnLoop();
  if (buf_.empty()) return Status::Ok();
  SealBuffer();
  if (untrusted_) {
    // The open file is not written any more: memory holds everything, and the rewrite that
    // replaces the file writes it whole. A rewrite already running still gets these bytes
    // in its incremental part (they came after its cut).
    if (incr_out_ && rewrite_error_.ok()) {
      Status is = incr_out_->Append(buf_);
      if (is.ok()) is = incr_out_->Flush();
      if (!is.ok()) rewrite_error_ = is;
    }
    buf_.clear();
    buf_sealed_ = 0;
    return Status::Ok();
  }
  fs_->KillPoint("aof.write");
  uint64_t before = out_->Size();
  int64_t t0 = clock_->MonotonicUs();
  Status st = out_->Append(buf_);
  if (st.ok()) st = out_->Flush();
  int64_t t1 = clock_->MonotonicUs();
  write_lat_.Record(t1, t1 - t0);
  write_hist_.Record(t1 - t0);
  engine_->RecordLatency("aof-write", (t1 - t0) / 1000);
  if (!st.ok()) {
    // A torn write must not stay in the file: a crash now would leave garbage before the
    // tail. Cut the file back (best effort: the file is abandoned anyway, see
    // MarkUntrusted); the bytes stay in buf_, for a running rewrite's incremental part.
    Status tr = out_->Truncate(before);
    if (!tr.ok()) spdlog::warn("Could not truncate the AOF after a failed write: {}", tr.message());
    return st;
  }
  size_ = out_->Size();
  if (incr_out_ && rewrite_error_.ok()) {
    // The incremental part of a running rewrite: the same bytes, in a file of its own.
    Status is = incr_out_->Append(buf_);
    if (is.ok()) is = incr_out_->Flush();
    if (!is.ok()) rewrite_error_ = is;
  }
  buf_.clear();
  buf_sealed_ = 0;
  // A buffer grown by one big command is released, as Redis's aof_buf (kept below 4 KB).
  if (buf_.capacity() > 4096) std::string().swap(buf_);
  pending_fsync_ = true;
  return Status::Ok();
}

bool Aof::BeforeSleep() {
  AssertOnLoop();
  MaybeFsyncInBackground();
  if (untrusted_) {
    (void)WriteBuffer();  // to a running rewrite's incremental part, or dropped
    fsync_errno_ = 0;
    // Under `always` nothing is acknowledged until a new generation holds it.
    return policy_ != FsyncPolicy::kAlways;
  }
  if (!out_) return true;
  // Under `always`, bytes written since the last fsync (also by a rewrite's start or
  // switch, which flush the buffer first) must be fsynced before any reply goes out.
  bool unsynced = policy_ == FsyncPolicy::kAlways && pending_fsync_;
  if (buf_.empty() && !unsynced && fsync_errno_ == 0) return true;
  if (policy_ == FsyncPolicy::kEverySec && fsync_in_progress_) {
    // A write while the helper fsyncs the same file can block the loop: postpone it, but
    // never more than 2 seconds (then write anyway, as Redis does, and count it).
    int64_t now = clock_->MonotonicUs();
    if (postponed_since_us_ == 0) postponed_since_us_ = now;
    if (now - postponed_since_us_ < 2'000'000) return true;
    stats_.delayed_fsync++;
  }
  postponed_since_us_ = 0;
  Status st = WriteBuffer();
  if (st.ok() && policy_ == FsyncPolicy::kAlways) {
    fs_->KillPoint("aof.fsync");
    int64_t t0 = clock_->MonotonicUs();
    st = out_->SyncData();
    int64_t t1 = clock_->MonotonicUs();
    fsync_lat_.Record(t1, t1 - t0);
    fsync_hist_.Record(t1 - t0);
    engine_->RecordLatency("aof-fsync-always", (t1 - t0) / 1000);
    fsync_avg_us_ = fsync_avg_us_ == 0 ? t1 - t0 : (7 * fsync_avg_us_ + (t1 - t0)) / 8;
    if (st.ok()) pending_fsync_ = false;
  }
  if (st.ok() && fsync_errno_ != 0) {
    st = ErrnoStatus("fsync", path(), fsync_errno_);
    fsync_errno_ = 0;
  }
  if (!st.ok()) {
    MarkUntrusted(st);
    // Under `always` nothing may be acknowledged before it is durable: hold replies.
    return policy_ != FsyncPolicy::kAlways;
  }
  return true;
}

void Aof::MarkUntrusted(const Status& st) {
  stats_.last_write_error = st.message();
  stats_.write_errors++;
  if (untrusted_) return;
  untrusted_ = true;
  if (engine_->config().persistence.aof_on_fsync_error == AofFsyncErrorAction::kExit) {
    spdlog::critical(
        "Error writing to the AOF file {}: {}. persistence.aof_on_fsync_error = \"exit\": "
        "exiting now without acknowledging anything more; start-up will recover from what is "
        "on disk.",
        path(), st.message());
    engine_->exit_code = 1;
    engine_->RequestShutdown(-1);
    return;
  }
  spdlog::warn(
      "Error writing to the AOF file {}: {}. The file can no longer be trusted (after a "
      "failed fsync the kernel may have dropped the data and a retry would report success): "
      "writes are refused with MISCONF{} until the dataset has been written from memory to a "
      "new AOF generation.",
      path(), st.message(),
      policy_ == FsyncPolicy::kAlways ? " and replies not yet durable are held" : "");
}

int64_t Aof::GroupCommitWindowUs() const {
  AssertOnLoop();
  if (!out_ || policy_ != FsyncPolicy::kAlways || untrusted_) return 0;
  if (buf_.empty() && !pending_fsync_) return 0;
  return std::min(engine_->config().persistence.aof_group_commit_wait_us, fsync_avg_us_);
}

Status Aof::FlushAndSync() {
  AssertOnLoop();
  if (untrusted_) {
    return Status::IOError("the AOF file " + path() +
                           " is untrusted since: " + stats_.last_write_error);
  }
  if (!out_) return Status::Ok();
  if (Status st = WriteBuffer(); !st.ok()) return st;
  if (Status st = out_->SyncData(); !st.ok()) return st;
  pending_fsync_ = false;
  return Status::Ok();
}

void Aof::MaybeFsyncInBackground() {
  fsync_runner_.RunReplies();  // the outcome of the last one, if it is over
  // Never an fsync of an untrusted file: it could "succeed" over dropped pages.
  if (policy_ != FsyncPolicy::kEverySec || !pending_fsync_ || fsync_in_progress_ || !out_ ||
      untrusted_)
    return;
  // Once a second of real time (not the engine's clock, which tests drive by hand).
  int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  if (last_bg_fsync_us_ != 0 && now - last_bg_fsync_us_ < 1'000'000) return;
  last_bg_fsync_us_ = now;
  fsync_in_progress_ = true;
  pending_fsync_ = false;
  std::shared_ptr<WritableFile> file = out_;
  Clock* clock = clock_;
  fsync_runner_.Schedule(std::function<Status()>([this, file, clock] {
                           int64_t t0 = clock->MonotonicUs();
                           Status st = file->SyncData();
                           int64_t t1 = clock->MonotonicUs();
                           fsync_lat_.Record(t1, t1 - t0);  // both take records from any thread
                           fsync_hist_.Record(t1 - t0);
                           return st;
                         }),
                         std::function<void(Status)>([this, file](Status st) {
                           AssertOnLoop();
                           fsync_in_progress_ = false;
                           // A failure of a file replaced meanwhile (a rewrite switched
                           // generations, fsyncing the new one) concerns nothing the AOF still
                           // holds.
                           if (!st.ok() && file == out_) {
                             pending_fsync_ = true;
                             fsync_errno_ = EIO;
                           }
                         }));
}

// ------------------------------------------------------------------ rewrite
namespace {

// One key of a rewritten base, as the commands that recreate it. Shared by the blocking
// base (AppendDump) and the background rewrite (EmitFrozen). Collections become commands
// of at most 64 items each (RPUSH, SADD, ZADD, HSET).
// A value in a tier segment is read (and checked) first: a failed read fails the rewrite,
// never writes SET key "" or drops a collection.
Status AppendEntry(std::string* out, const Entry& e, tier::TierManager* tier) {
  Value hot;
  const Value* v = &e.value;
  if (e.value.tiered()) {
    if (!tier) return Status::NotSupported("a tiered value but no tier manager");
    auto read = tier->ReadForImage(e.value, e.key());
    if (!read.ok()) return read.status();
    hot = std::move(read.value());
    v = &hot;
  }
  std::string scratch;
  if (v->is_string()) {
    aof::AppendCommand(out, {"SET", e.key(), v->GetString(&scratch)});
  } else {
    ForEachRebuildCommand(e.key(), *v, 64, [&](const std::vector<std::string_view>& argv) {
      aof::AppendCommand(out, argv);
    });
  }
  if (e.expire_ms) aof::AppendCommand(out, {"PEXPIREAT", e.key(), FormatInt64(e.expire_ms)});
  return Status::Ok();
}

// The function libraries as the commands that load them (a RESP base starts with these).
void AppendFunctions(std::string* out, Engine* engine) {
  if (!engine->scripting()) return;
  for (const std::string& code : engine->scripting()->LibraryCodes())
    aof::AppendCommand(out, {"FUNCTION", "LOAD", "REPLACE", code});
}

}  // namespace

ckpt::Header Aof::PreambleHeader() {
  ckpt::Header h;
  h.created_ms = clock_->NowMs();
  h.databases = uint32_t(engine_->db_count());
  h.aof_id = NewId();  // the new file's identity, as the #ID line would carry it
  return h;
}

ckpt::WriterOptions Aof::PreambleOptions() const {
  ckpt::WriterOptions o;
  o.lz4 = engine_->config().persistence.checkpoint_compression == CheckpointCompression::kLz4;
  return o;
}

Status Aof::WritePreambleBase(WritableFile* out) {
  ckpt::Writer w(ckpt::Borrow(out), PreambleOptions());
  if (Status st = w.Begin(PreambleHeader()); !st.ok()) return st;
  if (Status st = WriteFunctionRecords(&w, engine_); !st.ok()) return st;
  int64_t now = clock_->NowMs();
  std::string scratch;
  tier::TierManager* tier = engine_->tier();
  std::set<uint32_t> refs;
  for (int i = 0; i < engine_->db_count(); i++) {
    Database& db = engine_->db(i);
    Status st = Status::Ok();
    db.ForEach([&](const Entry& e) {
      if (st.ok() && !db.IsExpired(e, now))
        st = WriteRecord(&w, i, e, &scratch, tier ? &refs : nullptr);
    });
    if (!st.ok()) return st;
  }
  if (tier) {
    if (Status st = tier->MakeImageDurable(refs); !st.ok()) return st;
  }
  Status st = w.Finish();
  if (tier && st.ok()) {
    tier->BeginImage();
    tier->EndImage(tier::ImageKind::kAofPreamble, true, refs);
  }
  return st;
}

void Aof::EndImage(bool ok) {
  if (!image_open_) return;
  image_open_ = false;
  if (engine_->tier()) engine_->tier()->EndImage(tier::ImageKind::kAofPreamble, ok, base_refs_);
}

Status Aof::AppendDump(std::string* out) {
  AppendFunctions(out, engine_);
  int64_t now = clock_->NowMs();
  for (int i = 0; i < engine_->db_count(); i++) {
    Database& db = engine_->db(i);
    if (db.size() == 0) continue;
    aof::AppendCommand(out, {"SELECT", FormatInt64(i)});
    Status st = Status::Ok();
    db.ForEach([&](const Entry& e) {
      if (st.ok() && !db.IsExpired(e, now)) st = AppendEntry(out, e, engine_->tier());
    });
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

void Aof::RemoveStrayFiles(FileSystem* fs, const std::string& dir, const std::string& file) {
  for (const char* suffix : {".rewrite.tmp", ".incr.tmp"}) {
    std::string p = dir + "/" + file + suffix;
    if (fs->FileExists(p)) {
      spdlog::warn("Removing {} left by an interrupted rewrite", p);
      (void)fs->DeleteFile(p);
    }
  }
}

void Aof::EmitFrozen(int db, const Entry& e) {
  if (e.expire_ms && e.expire_ms <= freeze_ms_) return;  // already expired at the cut
  if (base_ckpt_) {
    std::string scratch;
    if (rewrite_error_.ok()) {
      rewrite_error_ =
          WriteRecord(base_ckpt_.get(), db, e, &scratch, engine_->tier() ? &base_refs_ : nullptr);
    }
    return;
  }
  if (db != base_selected_db_) {
    aof::AppendCommand(&base_buf_, {"SELECT", FormatInt64(db)});
    base_selected_db_ = db;
  }
  if (rewrite_error_.ok()) rewrite_error_ = AppendEntry(&base_buf_, e, engine_->tier());
  if (base_buf_.size() >= (1 << 20) && rewrite_error_.ok()) {
    aof::AppendCrcLine(&base_buf_, base_buf_);
    rewrite_error_ = base_file_->file()->Append(base_buf_);
    base_buf_.clear();
  }
}

Status Aof::StartRewrite(uint64_t epoch) {
  if (snapshot_) return Status::Busy("Background append only file rewriting already in progress");
  if (!out_ && !untrusted_) return Status::InvalidArgument("the AOF is off");
  // Everything executed before the cut must be in the old file, so the incremental part
  // starts exactly at the cut. An untrusted file gets nothing more: what it would have
  // received is in memory, so in the new base.
  if (Status st = WriteBuffer(); !st.ok()) {
    MarkUntrusted(st);
    buf_.clear();
  }
  auto base = AtomicFile::Create(fs_, path(), "rewrite", ".rewrite.tmp");
  if (!base.ok()) return base.status();
  auto incr = fs_->NewWritableFile(path() + ".incr.tmp", /*append=*/false);
  if (!incr.ok()) return incr.status();  // ~AtomicFile removes the base's temp file
  base_file_ = std::move(base.value());
  incr_out_ = std::move(incr.value());
  base_buf_.clear();
  freeze_ms_ = clock_->NowMs();
  if (preamble_) {
    base_ckpt_ =
        std::make_unique<ckpt::Writer>(ckpt::Borrow(base_file_->file()), PreambleOptions());
    Status began = base_ckpt_->Begin(PreambleHeader());
    if (began.ok()) began = WriteFunctionRecords(base_ckpt_.get(), engine_);
    if (Status st = began; !st.ok()) {
      base_ckpt_.reset();
      base_file_.reset();
      incr_out_.reset();
      (void)fs_->DeleteFile(path() + ".incr.tmp");
      return st;
    }
  } else {
    base_buf_ = IdLine(NewId(), freeze_ms_);
    AppendFunctions(&base_buf_, engine_);
  }
  base_selected_db_ = -1;
  selected_db_ = -1;  // the incremental part starts with its own SELECT
  rewrite_error_ = Status::Ok();
  base_refs_.clear();
  if (engine_->tier()) {
    engine_->tier()->BeginImage();
    image_open_ = true;
  }
  rewrite_start_us_ = clock_->MonotonicUs();
  snapshot_ = std::make_unique<Snapshot>(engine_, clock_,
                                         [this](int db, const Entry& e) { EmitFrozen(db, e); });
  snapshot_->Start(epoch);
  spdlog::info("Background append only file rewriting started (fork-less, epoch {}){}", epoch,
               untrusted_ ? ": a new generation to replace the untrusted file" : "");
  return Status::Ok();
}

int64_t Aof::rewrite_elapsed_ms() const {
  return snapshot_ ? (clock_->MonotonicUs() - rewrite_start_us_) / 1000 : -1;
}

void Aof::AbortRewrite(const std::string& why) {
  if (!snapshot_) return;
  EndImage(false);
  snapshot_->Stop();
  snapshot_.reset();
  base_ckpt_.reset();
  if (incr_out_) (void)incr_out_->Close();
  base_file_.reset();  // removes the temp file
  incr_out_.reset();
  base_buf_.clear();
  (void)fs_->DeleteFile(path() + ".incr.tmp");
  stats_.last_rewrite_ok = false;
  spdlog::warn("Background AOF rewrite aborted: {}", why);
}

void Aof::RewriteStep(int64_t budget_us, size_t max_buckets) {
  if (!snapshot_) return;
  bool complete = snapshot_->Step(budget_us, max_buckets);
  if (!rewrite_error_.ok()) return AbortRewrite(rewrite_error_.message());
  if (!complete) return;
  Status st = FinishRewrite();
  if (!st.ok()) AbortRewrite(st.message());
}

Status Aof::AfterRename(const Status& st, const std::string& what) {
  AssertOnLoop();
  // From here the new file is the AOF by name, whatever else fails: the old descriptor
  // (and the fsync helper using it) must go, or writes would land in an orphaned inode.
  bool was_untrusted = untrusted_;
  untrusted_ = false;  // Close() may not flush into a file that is being left anyway
  buf_.clear();
  buf_sealed_ = 0;
  Close();
  untrusted_ = was_untrusted;
  if (!st.ok()) {
    // The directory fsync failed: the switch may not survive a power loss. Serve from the
    // new file, but as an untrusted one until another generation is made durable.
    MarkUntrusted(
        Status::IOError(what + ": the rename into place is not durable: " + st.message()));
    if (Status o = Open(); !o.ok()) out_.reset();
    return Status::Ok();
  }
  if (Status o = Open(); !o.ok()) {
    // E.g. EMFILE: no descriptor for the new file. Nothing may be written anywhere until a
    // later attempt reopens (the manager retries with backoff).
    out_.reset();
    MarkUntrusted(Status::IOError(what + ": cannot open the new AOF file: " + o.message()));
    return Status::Ok();
  }
  if (untrusted_) {
    untrusted_ = false;
    pending_fsync_ = false;
    stats_.recoveries++;
    spdlog::warn(
        "The AOF was rewritten from memory to a new generation ({} bytes, fsynced): "
        "writes are accepted again and held replies released.",
        size_);
    stats_.last_write_error.clear();
  }
  return Status::Ok();
}

Status Aof::FinishRewrite() {
  snapshot_->Stop();
  if (Status st = WriteBuffer(); !st.ok()) return st;
  if (!rewrite_error_.ok()) return rewrite_error_;
  WritableFile* base_out = base_file_->file();
  Status st = Status::Ok();
  if (base_ckpt_) {
    st = base_ckpt_->Finish();  // footer; the RESP tail follows it
    base_ckpt_.reset();
  }
  if (!base_buf_.empty()) aof::AppendCrcLine(&base_buf_, base_buf_);
  if (st.ok()) st = base_out->Append(base_buf_);
  base_buf_.clear();
  // Append the incremental part, read back from disk in chunks. It is fsynced first: a
  // failed fsync of it fails the rewrite (its pages may be gone), never retried.
  if (st.ok()) st = incr_out_->Sync();
  if (st.ok()) st = incr_out_->Close();
  if (st.ok()) {
    auto in = fs_->NewSequentialFile(path() + ".incr.tmp");
    st = in.status();
    std::vector<char> chunk(1 << 20);
    while (st.ok()) {
      auto n = in.value()->Read(chunk.size(), chunk.data());
      if (!n.ok()) {
        st = n.status();
        break;
      }
      if (n.value() == 0) break;
      st = base_out->Append(std::string_view(chunk.data(), n.value()));
    }
  }
  if (st.ok() && engine_->tier()) {  // referenced tier segments are durable before the switch
    st = engine_->tier()->MakeImageDurable(base_refs_);
  }
  if (!st.ok()) return st;
  std::unique_ptr<AtomicFile> file = std::move(base_file_);
  // The switch closes the old file; the finished freeze is not "aborted" by that.
  std::unique_ptr<Snapshot> snapshot = std::move(snapshot_);
  uint64_t emitted = snapshot->entries_emitted();
  bool renamed = false;
  {
    // The commit itself: fsync, rename, directory fsync (AfterRename handles a failure
    // after the rename). Before it, nothing has replaced the old file.
    Status cs = SwitchToChecked(file.get(), &renamed);
    if (!cs.ok() && !renamed) {
      snapshot_ = std::move(snapshot);  // AbortRewrite cleans up
      return cs;
    }
  }
  EndImage(true);
  incr_out_.reset();
  (void)fs_->DeleteFile(path() + ".incr.tmp");
  stats_.rewrites++;
  stats_.last_rewrite_ok = true;
  stats_.last_rewrite_ms = (clock_->MonotonicUs() - rewrite_start_us_) / 1000;
  spdlog::info("Background AOF rewrite finished: {} keys, {} bytes, {} ms", emitted, size_,
               stats_.last_rewrite_ms);
  return Status::Ok();
}

Status Aof::SwitchToChecked(AtomicFile* file, bool* renamed) {
  // Commit and switch; *renamed tells the caller whether the old file was replaced.
  bool r = false;
  if (retire_hook_ && !untrusted_ && fs_->FileExists(path())) {
    file->set_before_rename([this] {
      retire_hook_(path(), id_);
      return Status::Ok();  // best effort: the history logs its own failures
    });
  }
  Status st = file->Commit(&r);
  *renamed = r;
  if (!st.ok() && !r) return st;
  return AfterRename(st, "rewrite");
}

Status Aof::Rewrite() {
  int64_t t0 = clock_->MonotonicUs();
  auto f = AtomicFile::Create(fs_, path(), "rewrite", ".rewrite.tmp");
  Status st = f.status();
  if (st.ok()) {
    std::string data;
    freeze_ms_ = clock_->NowMs();
    if (preamble_) {
      st = WritePreambleBase(f.value()->file());
    } else {
      data = IdLine(NewId(), freeze_ms_);
      st = AppendDump(&data);
      aof::AppendCrcLine(&data, data);
    }
    if (st.ok()) st = f.value()->file()->Append(data);
  }
  bool renamed = false;
  if (st.ok()) st = SwitchToChecked(f.value().get(), &renamed);
  if (!st.ok() && !renamed) {
    stats_.last_rewrite_ok = false;
    return st;
  }
  stats_.rewrites++;
  stats_.last_rewrite_ok = true;
  stats_.last_rewrite_ms = (clock_->MonotonicUs() - t0) / 1000;
  spdlog::info("Append only file rewritten: {} bytes in {} ms", size_, stats_.last_rewrite_ms);
  return Status::Ok();
}

}  // namespace ferrite
