#pragma once
// TierManager: moves values between RAM and tier segment files so data can outgrow memory
// (docs/architecture.md, "Tiers").
//
//   hot      values in RAM (the heap)
//   warm     sealed segment files mapped with mmap; strings are read zero-copy
//   cold     segments with each value compressed (lz4/zstd); read by a helper thread
//   archive  whole cold segments as objects in S3-compatible storage
//
// Keys and their metadata stay in RAM; a moved value becomes Value::Tiered(segment,
// offset, length). Demotion picks the least recently used values when the hot bytes pass
// hot_tier_size; the oldest warm segments are recompressed into cold ones when warm bytes
// pass warm_tier_size; cold segments untouched for archive_after are uploaded, verified,
// and only then deleted locally. Dead records (overwritten or deleted keys) are reclaimed
// by compacting segments whose live ratio falls below the threshold.
//
// Segment files are immutable once written, so checkpoints reference them instead of
// copying values; a segment is deleted only when no checkpoint on disk references it.
//
// Threads: everything here runs on the loop, except the jobs (cold reads, recompression,
// compaction, uploads) that run on the helper threads and post their results back.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/histogram.h"
#include "base/memory.h"
#include "base/status.h"
#include "io/file_system.h"
#include "keyspace/db.h"
#include "tier/s3_client.h"
#include "tier/segment.h"
#include "types/collections.h"

namespace ferrite::tier {

struct TierOptions {
  bool enabled = false;
  std::string dir;       // warm segments (<server dir>/tier)
  std::string cold_dir;  // cold segments (cold_tier_path, or <dir>/cold)
  uint64_t hot_size = 512ULL << 20;
  uint64_t warm_size = 2ULL << 30;
  uint64_t segment_size = 64ULL << 20;
  Codec cold_codec = Codec::kLz4;
  size_t min_value_size = 64;           // smaller values stay in RAM
  double compact_live_ratio = 0.5;      // compact a sealed segment below this live ratio
  uint64_t compact_rate = 64ULL << 20;  // bytes per second a compaction may read+write
  int promote_lfu = 7;  // a warm value whose LFU counter reaches this moves back up on a read
  int threads = 2;
  bool archive_enabled = false;
  int64_t archive_after_ms = 30LL * 86'400'000;
  std::string archive_prefix = "ferrite/";
  S3Options s3;
};

struct TierStats {
  uint64_t reads_hot = 0, reads_warm = 0, reads_cold = 0, reads_archive = 0;
  uint64_t sync_reads = 0;  // cold/archive values read on the loop (fallback path)
  uint64_t promotions = 0, demotions = 0, demoted_bytes = 0;
  uint64_t recompressions = 0, compactions = 0, compaction_bytes_reclaimed = 0;
  uint64_t archive_uploads = 0, archive_upload_failures = 0, archive_fetches = 0;
  uint64_t archive_deletes = 0;
  uint64_t read_errors = 0;
  uint64_t demote_failures = 0;
  uint64_t segments_deleted = 0;
  uint64_t parked_commands = 0;
  uint64_t lent_reads = 0;  // cold/archived values read for one command and left where they are
  // Cold/archive read latency (microseconds, job queued -> value read), in the histogram
  // INFO latencystats uses (base/histogram.h).
  uint64_t cold_read_us_total = 0, cold_read_count = 0, cold_read_us_max = 0;
  LatencyHistogram cold_read_latency;
};

class TierManager : public TierResolver, public TierAccessHook {
 public:
  TierManager(TierOptions o, FileSystem* fs, Clock* clock);
  ~TierManager() override;
  TierManager(const TierManager&) = delete;
  TierManager& operator=(const TierManager&) = delete;

  // Opens the segments already on disk (before loading data). Errors name the file.
  Status Open();
  // The loop's databases and the collection limits values are decoded with.
  void Attach(std::vector<Database*> dbs, CollectionLimits limits);
  // How helper threads hand results to the loop (NetServer::Post). Without it (unit
  // tests) results are queued and run by RunPosted().
  void SetPost(std::function<void(std::function<void()>)> post) { post_ = std::move(post); }
  size_t RunPosted();  // runs results queued without a post function; returns how many
  // LATENCY events (loop thread): "tier-cold-read" (a cold/archive read, queued to read),
  // "tier-demote" (a demotion pass), "tier-move-slice" (re-pointing entries after a move).
  void set_latency_hook(std::function<void(const char* event, int64_t ms)> h) {
    latency_hook_ = std::move(h);
  }
  // Stops the helper threads (jobs not started are dropped; their results never arrive).
  // Before the loop that receives results goes away. Idempotent.
  void StopWorkers();

  bool enabled() const { return opt_.enabled; }
  // True when some value lives in a segment (the engine skips tier checks otherwise).
  bool has_tiered() const { return tiered_values_ > 0; }
  const TierOptions& options() const { return opt_; }
  const TierStats& stats() const { return stats_; }

  // ---- demotion and background work (loop)
  // Moves least recently used values out of RAM while the hot bytes exceed hot_tier_size,
  // for at most budget_us. Returns the number of values moved.
  size_t MaybeDemote(int64_t now_ms, int64_t budget_us);
  // The cheap check before every command: over the hot budget (as of the last cron)?
  bool OverHot() const {
    return opt_.enabled && demote_above_ > 0 && memory::Used() > demote_above_;
  }
  // Moves `limit` values (or all that qualify) now, whatever the memory (tests, DEBUG).
  size_t DemoteNow(size_t limit, int64_t now_ms);
  // Periodic: demotion, warm -> cold, archive uploads, compaction, deleting segments no
  // checkpoint needs.
  void Cron(int64_t now_ms);
  // Seals the active segment and starts recompressing every warm segment (DEBUG).
  void ForceCold();
  // Makes every cold segment eligible for archiving now (DEBUG).
  void ForceArchive();
  bool Busy() const { return jobs_in_flight_ > 0; }
  // DEBUG TIER PAUSE / RESUME: no background moves, uploads or deletions start while
  // paused (tests pin values where they are; demotion of new writes goes on).
  void set_paused(bool p) { paused_ = p; }

  // ---- reads (loop)
  // True when reading v needs a helper thread (cold or archived).
  bool NeedsFetch(const Value& v) const;
  // Verifies a warm value's record (zero-copy reads skip nothing: a bad record is an
  // error naming the key and the file). Cold values: not checked here.
  Status CheckWarm(const Value& v, std::string_view key);
  struct FetchKey {
    int db;
    std::string key;
  };
  // The values a Fetch read, held until the waiting command runs.
  struct Fetched {
    struct Item {
      int db;
      std::string key;
      uint32_t segment, offset, length;
      std::string bytes;
      bool lent = false;  // installed for one command only (see Lend)
    };
    std::vector<Item> items;
  };
  // Reads the keys' cold/archived values on helper threads; runs done(status, values) on
  // the loop when all are read (status: the first error, naming the key and the file).
  void Fetch(std::vector<FetchKey> keys,
             std::function<void(Status, std::shared_ptr<Fetched>)> done);
  // Puts fetched values in RAM for the command about to run. A value read often (LFU
  // counter >= promote_lfu) moves back to RAM for good; the others are lent: after the
  // command, Return() puts the entry back on its (still valid) record, so a read of a
  // rarely used value costs one read and no rewrite. Values changed since they were read
  // are left alone.
  void Lend(Fetched& f, int64_t now_ms);
  // After the command: lent values go back to their records, unless the command wrote
  // (then they stay in RAM, and the records become dead space).
  void Return(Fetched& f, bool command_wrote);

  // ---- checkpoints (persistence)
  // A value's bytes for an image that copies it (the AOF's RESP base): read and decoded,
  // or an error naming the key and the file. Never an empty value in place of a failed
  // read — the rewrite fails instead.
  Result<Value> ReadForImage(const Value& v, std::string_view key);
  // A checkpoint record that references a segment: (segment, offset, length) as 12 bytes.
  static std::string EncodeRef(const Value& v);
  // Rebuilds a referenced value while loading; counts it live. Errors name the segment.
  Result<Value> AdoptRef(uint8_t type, std::string_view ref, std::string_view key);
  // The two halves of AdoptRef: parsing (any thread: the background loader) and
  // accounting + checking the segment (the loop, as the value is inserted).
  static Result<Value> RefToValue(uint8_t type, std::string_view ref, std::string_view key);
  Status AdoptValue(const Value& v, std::string_view key);
  // A checkpoint / AOF preamble is being written: no segment is deleted meanwhile.
  void BeginImage() { images_in_progress_++; }
  // kind 0: the checkpoint file, 1: the AOF's preamble. ok: the image is durable and
  // replaced the previous one; refs: the segments it references.
  void EndImage(int kind, bool ok, const std::set<uint32_t>& refs);
  // An image of this kind was renamed into place but its directory fsync failed: after a
  // crash either the old image or the new one may be found, so both keep their segments.
  void PinBoth(int kind, const std::set<uint32_t>& refs) {
    if (!pins_[kind]) pins_[kind] = initial_;
    pins_[kind]->insert(refs.begin(), refs.end());
  }
  // No image of this kind exists on disk (so it pins nothing).
  void ClearPins(int kind) { pins_[kind] = std::set<uint32_t>(); }
  // Called on the loop when an image's records are all written: flushes demoted records
  // and returns the files of the referenced segments, which SyncPaths (any thread) makes
  // durable, with their directories, before the image is renamed into place. An error
  // when a referenced segment is untrusted (a failed fsync): no image may reference it
  // until its values are copied to a new segment (Cron does that at once).
  Result<std::vector<std::string>> PrepareImage(const std::set<uint32_t>& refs);
  // fsyncs each file and each directory holding one; *failed_path names the file whose
  // fsync failed (then pass it to SegmentSyncFailed on the loop).
  static Status SyncPaths(FileSystem* fs, const std::vector<std::string>& paths,
                          std::string* failed_path = nullptr);
  // fsyncgate for segments: a segment whose fsync failed is never fsynced again (a retry
  // could "succeed" over dropped pages). It is sealed, images refuse to reference it, and
  // its live values are copied to a new segment (read through the page cache, each record
  // checked) so a later image can reference that one instead.
  void SegmentSyncFailed(const std::string& path);
  // PrepareImage + SyncPaths on the calling (loop) thread, failures recorded.
  Status MakeImageDurable(const std::set<uint32_t>& refs);

  std::string InfoSection() const;
  // "tier:cold segment:12 offset:4096 length:1050 file:/data/tier/cold/seg-00000012.cold"
  std::string Describe(const Value& v) const;
  // Bytes and values per tier (INFO, metrics).
  struct Usage {
    uint64_t hot_bytes = 0;
    uint64_t warm_bytes = 0, warm_segments = 0, warm_values = 0;
    uint64_t cold_bytes = 0, cold_segments = 0, cold_values = 0;
    uint64_t archive_bytes = 0, archive_segments = 0, archive_values = 0;
    uint64_t dead_bytes = 0;
  };
  Usage GetUsage() const;

  // ---- TierResolver (types/value.h)
  void Release(const Value& v) override;
  std::string_view StringBytes(const Value& v, std::string* scratch) override;
  Value Load(const Value& v) override;
  const char* EncodingName(const Value& v) override;
  // ---- TierAccessHook (keyspace/db.h)
  void OnAccess(Database& db, Entry* e, bool for_write, int64_t now_ms) override;

 private:
  enum class State { kActive, kWarm, kCold, kArchived, kRetired };
  struct Seg {
    uint32_t id = 0;
    State state = State::kWarm;
    Codec codec = Codec::kNone;
    std::string path;        // local file (empty once archived)
    std::string object_key;  // archived: the S3 object
    uint64_t size = 0;       // bytes in the file, header included
    uint64_t live_bytes = 0, live_values = 0;
    std::vector<uint32_t> dead;              // records released since the segment was opened
    std::unique_ptr<MappedFile> map;         // warm / active
    std::shared_ptr<RandomAccessFile> file;  // cold
    int64_t created_ms = 0, last_access_ms = 0;
    bool busy = false;       // a job works on it
    bool untrusted = false;  // an fsync of it failed: copy its values out, never reference it
    bool was_archived = false;
    int64_t retry_after_ms = 0;
    int failures = 0;
  };
  struct Moved {
    uint16_t db;
    std::string key;
    uint32_t old_off, new_off, new_len;
  };

  Seg* seg(uint32_t id) const { return id < segs_.size() ? segs_[id].get() : nullptr; }
  Status NewActive(int64_t now_ms);
  void SealActive();
  Status FlushActive();
  std::string SegPath(uint32_t id, State s) const;
  uint32_t NextId();
  // Reads a record synchronously (warm from the mapping, cold with pread, archive from S3).
  Result<std::string_view> ReadValue(const Value& v, std::string* scratch, std::string* err_path);
  Value Decode(uint8_t type, std::string_view bytes, std::string_view key, Status* st);
  Entry* FindAt(int db, const std::string& key, uint32_t segid, uint32_t off);
  // Jobs.
  void Submit(std::function<void()> job);
  void Deliver(std::function<void()> fn);
  void WorkerLoop();
  void StartMove(Seg* src, bool to_cold);
  void FinishMove(uint32_t src_id, uint32_t dst_id, bool cold, Codec codec,
                  std::shared_ptr<std::vector<Moved>> moved, size_t from, Status st,
                  uint64_t dst_size);
  void EndMove(const Seg* src, bool cold);
  size_t DemoteBatch(size_t want_bytes, size_t max_values, int64_t now_ms);
  void StartUpload(Seg* s, int64_t now_ms);
  void DeleteRetired();
  bool Pinned(uint32_t id) const;
  void RecordColdLatency(int64_t us);

  TierOptions opt_;
  FileSystem* fs_;
  Clock* clock_;
  std::vector<Database*> dbs_;
  CollectionLimits limits_;
  std::vector<std::unique_ptr<Seg>> segs_;  // by id; nullptr: deleted
  Seg* active_ = nullptr;
  std::unique_ptr<WritableFile> active_file_;
  std::string pending_;  // records demoted in this batch, not yet appended
  uint64_t tiered_values_ = 0;
  uint64_t rng_state_ = 0x9e3779b97f4a7c15ULL;
  TierStats stats_;
  std::unique_ptr<S3Client> s3_;
  // Pins: segments the checkpoint (0) and the AOF preamble (1) on disk reference;
  // nullopt = unknown (everything found at start-up).
  std::optional<std::set<uint32_t>> pins_[2];
  std::set<uint32_t> initial_;
  int images_in_progress_ = 0;
  int64_t demote_retry_ms_ = 0;
  bool force_cold_ = false;
  bool force_cold_done_ = false;
  bool force_archive_ = false;
  bool paused_ = false;
  int moves_in_flight_ = 0;
  bool converting_ = false;  // a warm -> cold move is running
  bool compacting_ = false;  // a compaction is running
  size_t demote_above_ = 0;  // used memory above which values are demoted (cron refreshes)
  std::atomic<int> jobs_in_flight_{0};
  std::function<void(std::function<void()>)> post_;
  std::function<void(const char*, int64_t)> latency_hook_;
  std::mutex posted_mu_;
  std::vector<std::function<void()>> posted_;
  // Helper threads.
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::vector<std::thread> workers_;
  std::shared_ptr<std::atomic<bool>> alive_ = std::make_shared<std::atomic<bool>>(true);
};

}  // namespace ferrite::tier
