#include "tier/tier_manager.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <unordered_map>

#include "base/coding.h"
#include "base/memory.h"
#include "io/atomic_file.h"
#include "types/serialize.h"

namespace ferrite::tier {
namespace {

constexpr size_t kSwitchSlice = 4096;  // entries re-pointed per loop turn after a move
constexpr size_t kDemoteBatchBytes = 4 << 20;
constexpr uint64_t kMinDeadForCompaction = 64 * 1024;

bool ParseSegName(const std::string& name, uint32_t* id, std::string* kind) {
  // seg-00000012.warm | seg-00000012.cold | seg-00000012.archived
  if (name.rfind("seg-", 0) != 0) return false;
  size_t dot = name.find('.', 4);
  if (dot == std::string::npos || dot == 4) return false;
  uint64_t v = 0;
  for (size_t i = 4; i < dot; i++) {
    if (name[i] < '0' || name[i] > '9') return false;
    v = v * 10 + uint64_t(name[i] - '0');
    if (v > UINT32_MAX) return false;
  }
  *id = uint32_t(v);
  *kind = name.substr(dot + 1);
  return true;
}

std::string ReadSmallFile(FileSystem* fs, const std::string& path) {
  auto f = fs->NewSequentialFile(path);
  if (!f.ok()) return {};
  std::string out;
  char buf[4096];
  while (true) {
    auto n = f.value()->Read(sizeof(buf), buf);
    if (!n.ok() || n.value() == 0) break;
    out.append(buf, n.value());
  }
  return out;
}

// One record's value, verified and decompressed: read with pread from a local segment
// file, or with a ranged GET from the archived object. Any thread.
Result<std::string> ReadRecordValue(const RandomAccessFile* file, const S3Client* s3,
                                    const std::string& object_key, const std::string& where,
                                    uint64_t off, uint32_t len) {
  std::string raw;
  if (file) {
    raw.resize(len);
    auto n = file->Read(off, len, raw.data());
    if (!n.ok()) return n.status();
    raw.resize(n.value());
  } else if (s3) {
    auto got = s3->GetRange(object_key, off, len);
    if (!got.ok()) return got.status();
    raw = std::move(got.value());
  } else {
    return Status::IOError("the segment is archived but [storage.archive] is not configured");
  }
  auto r = ParseRecord(raw.data(), raw.size(), where, off);
  if (!r.ok()) return r.status();
  std::string dec;
  auto v = RecordValue(r.value(), &dec, where, off);
  if (!v.ok()) return v.status();
  return r.value().codec == Codec::kNone ? std::string(v.value()) : std::move(dec);
}

std::string ValueBytesForRecord(const Value& v, std::string* scratch) {
  if (v.is_string()) return std::string(v.GetString(scratch));
  std::string blob;
  EncodeCollection(v, &blob);
  return blob;
}

}  // namespace

TierManager::TierManager(TierOptions o, FileSystem* fs, Clock* clock)
    : opt_(std::move(o)), fs_(fs), clock_(clock) {
  if (opt_.segment_size < (1 << 20)) opt_.segment_size = 1 << 20;
  if (opt_.segment_size > (1ULL << 31)) opt_.segment_size = 1ULL << 31;  // offsets are u32
  if (opt_.archive_enabled) s3_ = std::make_unique<S3Client>(opt_.s3);
  int n = std::max(1, opt_.threads);
  for (int i = 0; i < n; i++) workers_.emplace_back([this] { WorkerLoop(); });
  SetTierResolver(this);
}

void TierManager::StopWorkers() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  post_ = nullptr;
}

TierManager::~TierManager() {
  StopWorkers();
  *alive_ = false;
  (void)FlushActive();
  if (active_file_) (void)active_file_->Close();
  if (GetTierResolver() == this) SetTierResolver(nullptr);
}

// ---------------------------------------------------------------- files

std::string TierManager::SegPath(uint32_t id, State s) const {
  const char* ext = s == State::kCold ? "cold" : s == State::kArchived ? "archived" : "warm";
  const std::string& d = s == State::kCold ? opt_.cold_dir : opt_.dir;
  return fmt::format("{}/seg-{:08d}.{}", d, id, ext);
}

uint32_t TierManager::NextId() {
  uint32_t id = uint32_t(std::max<size_t>(segs_.size(), 1));
  segs_.resize(size_t(id) + 1);
  return id;
}

Status TierManager::Open() {
  std::vector<std::pair<std::string, std::string>> found;  // (dir, name)
  for (const std::string& d : {opt_.dir, opt_.cold_dir}) {
    if (d.empty()) continue;
    if (opt_.enabled) {
      if (Status st = fs_->CreateDirs(d); !st.ok()) return st;
    } else if (!fs_->FileExists(d)) {
      continue;
    }
    auto names = fs_->GetChildren(d);
    if (!names.ok()) return names.status();
    for (auto& n : names.value()) found.emplace_back(d, n);
    if (opt_.cold_dir == opt_.dir) break;
  }
  for (auto& [d, name] : found) {
    std::string path = d + "/" + name;
    if (name.ends_with(".tmp")) {
      spdlog::warn("Removing {} left by an interrupted tier job", path);
      (void)fs_->DeleteFile(path);
      continue;
    }
    uint32_t id;
    std::string kind;
    if (!ParseSegName(name, &id, &kind) || id == 0) continue;
    auto s = std::make_unique<Seg>();
    s->id = id;
    s->path = path;
    if (kind == "archived") {
      // Marker: object key, size, created ms, one per line.
      std::string text = ReadSmallFile(fs_, path);
      std::vector<std::string> lines;
      size_t p = 0;
      while (p < text.size()) {
        size_t nl = text.find('\n', p);
        if (nl == std::string::npos) nl = text.size();
        lines.push_back(text.substr(p, nl - p));
        p = nl + 1;
      }
      if (lines.size() < 3)
        return Status::Corruption(fmt::format("{}: archive marker is damaged at offset 0", path));
      s->state = State::kArchived;
      s->was_archived = true;
      s->object_key = lines[0];
      s->size = std::strtoull(lines[1].c_str(), nullptr, 10);
      s->created_ms = std::strtoll(lines[2].c_str(), nullptr, 10);
      s->codec = opt_.cold_codec;
    } else if (kind == "warm" || kind == "cold") {
      auto size = fs_->GetFileSize(path);
      if (!size.ok()) return size.status();
      // Its id stays taken whatever happens below: a new segment must never get the id of
      // one an image might still name.
      auto reserve = [this, id] {
        if (segs_.size() <= id) segs_.resize(size_t(id) + 1);
      };
      if (size.value() < kFileHeaderSize) {
        // Created (its name durable) but its header never fsynced before a power loss:
        // nothing references it (an image fsyncs the segments it references first).
        spdlog::warn("Tier: removing {} ({} bytes: its header never reached the disk)", path,
                     size.value());
        (void)fs_->DeleteFile(path);
        reserve();
        continue;
      }
      s->size = size.value();
      auto f = fs_->NewRandomAccessFile(path);
      if (!f.ok()) return f.status();
      std::string head(kFileHeaderSize, '\0');
      auto n = f.value()->Read(0, kFileHeaderSize, head.data());
      if (!n.ok()) return n.status();
      head.resize(n.value());
      uint64_t hid = 0;
      Status hs = ParseFileHeader(head, path, &hid, &s->codec);
      if (hs.ok() && hid != id) {
        hs = Status::Corruption(fmt::format(
            "{}: header names segment {} but the file is segment {} at offset 16", path, hid, id));
      }
      if (!hs.ok()) {
        // A header that does not read back: typically a segment whose fsync failed (the
        // kernel dropped its pages, a later fsync "succeeded") and which was then cut off by a
        // power loss. Such a segment is never referenced by an image (its values are copied
        // to a new segment first), so the tier opens without it; the file is kept aside as
        // <name>.damaged, never deleted, and if an image does name it, loading that image
        // fails saying which segment is missing.
        std::string aside = path + ".damaged";
        if (Status rs = fs_->RenameFile(path, aside); !rs.ok()) return hs;
        spdlog::warn("Tier: {}; set aside as {} (not used)", hs.message(), aside);
        reserve();
        continue;
      }
      s->created_ms = int64_t(DecodeFixed64(head.data() + 24));
      if (kind == "warm") {
        s->state = State::kWarm;
        auto m = fs_->MapFile(path, size_t(s->size));
        if (!m.ok()) return m.status();
        s->map = std::move(m.value());
      } else {
        s->state = State::kCold;
        s->file = std::shared_ptr<RandomAccessFile>(std::move(f.value()));
      }
    } else {
      continue;
    }
    s->last_access_ms = s->created_ms;
    if (segs_.size() <= id) segs_.resize(size_t(id) + 1);
    if (segs_[id]) {
      // A segment both local and archived (crash between the marker and the delete):
      // keep the local copy, the archive marker goes.
      if (s->state == State::kArchived) {
        segs_[id]->object_key = s->object_key;
        segs_[id]->was_archived = true;
        continue;
      }
      s->object_key = segs_[id]->object_key;
      s->was_archived = true;
    }
    segs_[id] = std::move(s);
    initial_.insert(id);
  }
  if (!initial_.empty()) {
    spdlog::info("Tier: {} segment(s) found in {}{}", initial_.size(), opt_.dir,
                 opt_.cold_dir != opt_.dir ? " and " + opt_.cold_dir : "");
  }
  return Status::Ok();
}

void TierManager::Attach(std::vector<Database*> dbs, CollectionLimits limits) {
  dbs_ = std::move(dbs);
  limits_ = limits;
  for (Database* d : dbs_) d->set_tier_hook(this);
}

Status TierManager::NewActive(int64_t now_ms) {
  uint32_t id = NextId();
  std::string path = SegPath(id, State::kActive);
  // Its directory is fsynced at once: nothing may ever reference a segment whose name
  // could vanish in a power loss.
  auto f = CreateFileDurably(fs_, path);
  if (!f.ok()) {
    segs_.pop_back();
    return f.status();
  }
  Status st = f.value()->Append(EncodeFileHeader(id, Codec::kNone, now_ms));
  if (st.ok()) st = f.value()->Flush();
  if (!st.ok()) {
    (void)f.value()->Close();
    (void)fs_->DeleteFile(path);
    segs_.pop_back();
    return st;
  }
  // Mapped at its full size now; records become readable as they are flushed.
  auto m = fs_->MapFile(path, size_t(opt_.segment_size));
  if (!m.ok()) {
    (void)f.value()->Close();
    (void)fs_->DeleteFile(path);
    segs_.pop_back();
    return m.status();
  }
  auto s = std::make_unique<Seg>();
  s->id = id;
  s->state = State::kActive;
  s->path = path;
  s->size = kFileHeaderSize;
  s->map = std::move(m.value());
  s->created_ms = s->last_access_ms = now_ms;
  active_ = s.get();
  segs_[id] = std::move(s);
  active_file_ = std::move(f.value());
  return Status::Ok();
}

Status TierManager::FlushActive() {
  if (!active_ || pending_.empty()) return Status::Ok();
  Status st = active_file_->Append(pending_);
  if (st.ok()) st = active_file_->Flush();
  if (!st.ok()) {
    // Nothing points at these bytes yet: cut them off again.
    (void)active_file_->Truncate(active_->size);
    pending_.clear();
    return st;
  }
  active_->size += pending_.size();
  pending_.clear();
  return Status::Ok();
}

void TierManager::SealActive() {
  if (!active_) return;
  (void)FlushActive();
  // Not fsynced here (the loop never waits for the disk): a checkpoint that references the
  // segment syncs it first (PrepareImage / SyncPaths); moves read it through the page cache.
  (void)active_file_->Close();
  active_file_.reset();
  active_->state = State::kWarm;
  active_ = nullptr;
}

// ---------------------------------------------------------------- demotion

size_t TierManager::MaybeDemote(int64_t now_ms, int64_t budget_us) {
  if (!opt_.enabled || dbs_.empty()) return 0;
  size_t used = memory::Used();
  if (used == 0) return 0;  // no allocator accounting (unit tests): DemoteNow only
  size_t overhead = 0;
  for (Database* d : dbs_) overhead += d->MemoryUsage();
  demote_above_ = overhead + opt_.hot_size;
  if (used <= overhead + opt_.hot_size) return 0;
  if (now_ms < demote_retry_ms_) return 0;
  int64_t deadline = clock_->MonotonicUs() + budget_us;
  size_t moved = 0;
  // Down to 95 % of the budget, so the next writes do not demote one value each.
  size_t target = overhead + opt_.hot_size - opt_.hot_size / 20;
  int64_t t0 = clock_->MonotonicUs();
  while (memory::Used() > target && clock_->MonotonicUs() < deadline) {
    size_t want = std::min<size_t>(memory::Used() - target, kDemoteBatchBytes);
    size_t n = DemoteBatch(want, SIZE_MAX, now_ms);
    if (n == 0) break;
    moved += n;
  }
  if (latency_hook_) latency_hook_("tier-demote", (clock_->MonotonicUs() - t0) / 1000);
  return moved;
}

size_t TierManager::DemoteNow(size_t limit, int64_t now_ms) {
  size_t moved = 0;
  while (moved < limit) {
    size_t n = DemoteBatch(kDemoteBatchBytes, limit - moved, now_ms);
    if (n == 0) break;
    moved += n;
  }
  return moved;
}

size_t TierManager::DemoteBatch(size_t want_bytes, size_t max_values, int64_t now_ms) {
  if (dbs_.empty()) return 0;
  struct Pick {
    Entry* e;
    Seg* seg;
    uint32_t off, len;
  };
  std::vector<Pick> picks;
  std::vector<const Entry*> seen;
  size_t bytes = 0;
  size_t flushed = 0;  // picks whose records are in the file
  int misses = 0;
  auto rnd = [this] {
    rng_state_ ^= rng_state_ << 13;
    rng_state_ ^= rng_state_ >> 7;
    rng_state_ ^= rng_state_ << 17;
    return rng_state_;
  };
  std::string scratch;
  while (bytes < want_bytes && picks.size() < max_values && misses < 8) {
    // Least recently used of a sample of values still in RAM and worth moving.
    Database* best_db = nullptr;
    Entry* best = nullptr;
    for (int i = 0; i < 32; i++) {
      Database* d = dbs_[rnd() % dbs_.size()];
      if (d->size() == 0) continue;
      Entry* e = d->RandomEntry(rnd());
      if (!e || e->value.tiered() || e->value.empty()) continue;
      size_t mem = e->value.MemoryUsage();
      if (mem < opt_.min_value_size || mem > opt_.segment_size / 4) continue;
      if (std::find(seen.begin(), seen.end(), e) != seen.end()) continue;
      if (!best || int32_t(e->lru - best->lru) < 0) {
        best = e;
        best_db = d;
      }
    }
    if (!best) {
      misses++;
      continue;
    }
    seen.push_back(best);
    if (!active_ ||
        active_->size + pending_.size() + best->value.MemoryUsage() + 1024 > opt_.segment_size) {
      if (Status st = FlushActive(); !st.ok()) {
        picks.resize(flushed);  // those in the lost bytes stay in RAM
        spdlog::warn("Tier: cannot write to {}: {}; values stay in RAM (retrying in 1 s)",
                     active_->path, st.message());
        stats_.demote_failures++;
        demote_retry_ms_ = now_ms + 1000;
        break;
      }
      flushed = picks.size();
      if (active_ && active_->size + pending_.size() > kFileHeaderSize) SealActive();
      if (!active_) {
        if (Status st = NewActive(now_ms); !st.ok()) {
          spdlog::warn("Tier: cannot open a new segment: {}; values stay in RAM", st.message());
          demote_retry_ms_ = now_ms + 1000;
          break;
        }
      }
    }
    std::string bytes_v = ValueBytesForRecord(best->value, &scratch);
    uint32_t off = uint32_t(active_->size + pending_.size());
    uint32_t len = EncodeRecord(&pending_, uint16_t(best_db->index()), uint8_t(best->value.type()),
                                best->key(), bytes_v, Codec::kNone);
    bytes += best->value.MemoryUsage();
    picks.push_back({best, active_, off, len});
  }
  if (picks.empty()) return 0;
  if (Status st = FlushActive(); !st.ok()) {
    stats_.demote_failures++;
    if (now_ms >= demote_retry_ms_) {
      spdlog::warn("Tier: cannot write to {}: {}; values stay in RAM (retrying in 1 s)",
                   active_->path, st.message());
    }
    demote_retry_ms_ = now_ms + 1000;
    picks.resize(flushed);
  }
  for (auto& p : picks) {
    ValueType t = p.e->value.type();
    p.e->value = Value::Tiered(t, p.seg->id, p.off, p.len);
    p.seg->live_bytes += p.len;
    p.seg->live_values++;
    tiered_values_++;
  }
  stats_.demotions += picks.size();
  stats_.demoted_bytes += bytes;
  return picks.size();
}

// ---------------------------------------------------------------- reads

bool TierManager::NeedsFetch(const Value& v) const {
  if (!v.tiered()) return false;
  Seg* s = seg(v.tier_segment());
  return s && !s->map;
}

Status TierManager::CheckWarm(const Value& v, std::string_view key) {
  Seg* s = seg(v.tier_segment());
  if (!s) {
    stats_.read_errors++;
    return Status::Corruption(
        fmt::format("tier segment {} of key '{}' is missing", v.tier_segment(), key));
  }
  if (!s->map) return Status::Ok();
  uint64_t off = v.tier_offset();
  if (off + v.tier_length() > s->size) {
    stats_.read_errors++;
    return Status::Corruption(
        fmt::format("key '{}': {}: record at offset {} is past the end of the file ({} bytes)", key,
                    s->path, off, s->size));
  }
  auto r = ParseRecord(s->map->data() + off, v.tier_length(), s->path, off);
  if (!r.ok()) {
    stats_.read_errors++;
    return Status::Corruption(fmt::format("key '{}': {}", key, r.status().message()));
  }
  return Status::Ok();
}

Result<std::string_view> TierManager::ReadValue(const Value& v, std::string* scratch,
                                                std::string* err_path) {
  Seg* s = seg(v.tier_segment());
  if (!s) return Status::Corruption(fmt::format("tier segment {} is missing", v.tier_segment()));
  *err_path = s->path;
  uint64_t off = v.tier_offset();
  uint32_t len = v.tier_length();
  if (s->map) {
    if (off + len > s->size) {
      return Status::Corruption(
          fmt::format("{}: record at offset {} is past the end of the file", s->path, off));
    }
    auto r = ParseRecord(s->map->data() + off, len, s->path, off);
    if (!r.ok()) return r.status();
    return RecordValue(r.value(), scratch, s->path, off);
  }
  if (!s->file) *err_path = "s3://" + opt_.s3.bucket + "/" + s->object_key;
  auto got = ReadRecordValue(s->file.get(), s->file ? nullptr : s3_.get(), s->object_key, *err_path,
                             off, len);
  if (!got.ok()) return got.status();
  *scratch = std::move(got.value());
  return std::string_view(*scratch);
}

Value TierManager::Decode(uint8_t type, std::string_view bytes, std::string_view key, Status* st) {
  if (type == uint8_t(ValueType::kString)) return Value::String(bytes);
  auto d = DecodeCollection(ValueType(type), bytes, limits_);
  if (!d.ok()) {
    *st = Status::Corruption(fmt::format("key '{}': {}", key, d.status().message()));
    return Value();
  }
  return std::move(d.value());
}

std::string_view TierManager::StringBytes(const Value& v, std::string* scratch) {
  Seg* s = seg(v.tier_segment());
  if (s && s->map) {
    uint64_t off = v.tier_offset();
    if (off + v.tier_length() <= s->size) {
      auto r = ParseRecord(s->map->data() + off, v.tier_length(), s->path, off);
      if (r.ok() && r.value().codec == Codec::kNone) return r.value().stored;
    }
  }
  std::string path;
  auto got = ReadValue(v, scratch, &path);
  if (!s || !s->map) stats_.sync_reads++;
  if (!got.ok()) {
    stats_.read_errors++;
    spdlog::error("Tier read failed: {}", got.status().message());
    scratch->clear();
    return {};
  }
  return got.value();
}

Value TierManager::Load(const Value& v) {
  std::string scratch, path;
  auto got = ReadValue(v, &scratch, &path);
  if (!got.ok()) {
    stats_.read_errors++;
    spdlog::error("Tier read failed: {}", got.status().message());
    return Value();
  }
  Status st = Status::Ok();
  Value out = Decode(uint8_t(v.type()), got.value(), {}, &st);
  if (!st.ok()) {
    stats_.read_errors++;
    spdlog::error("Tier value does not decode ({}): {}", path, st.message());
  }
  return out;
}

Result<Value> TierManager::ReadForImage(const Value& v, std::string_view key) {
  std::string scratch, path;
  auto got = ReadValue(v, &scratch, &path);
  if (!got.ok()) {
    stats_.read_errors++;
    return Status::IOError(fmt::format("tier read of key '{}' failed: {}",
                                       std::string(key.substr(0, 64)), got.status().message()));
  }
  Status st = Status::Ok();
  Value out = Decode(uint8_t(v.type()), got.value(), key.substr(0, 64), &st);
  if (!st.ok()) {
    stats_.read_errors++;
    return st;
  }
  return out;
}

const char* TierManager::EncodingName(const Value& v) {
  switch (v.type()) {
    case ValueType::kString:
      return v.tier_length() > 44 + kRecordHeaderSize ? "raw" : "embstr";
    case ValueType::kList:
      return "quicklist";
    case ValueType::kSet:
      return "hashtable";
    case ValueType::kZSet:
      return "skiplist";
    case ValueType::kHash:
      return "hashtable";
    case ValueType::kStream:
      return "stream";
    default:
      return "raw";
  }
}

void TierManager::Release(const Value& v) {
  Seg* s = seg(v.tier_segment());
  if (tiered_values_ > 0) tiered_values_--;
  if (!s) return;
  if (s->live_values > 0) s->live_values--;
  s->live_bytes -= std::min<uint64_t>(s->live_bytes, v.tier_length());
  s->dead.push_back(v.tier_offset());
}

void TierManager::OnAccess(Database& db, Entry* e, bool for_write, int64_t now_ms) {
  (void)db;
  Seg* s = seg(e->value.tier_segment());
  bool mapped = s && s->map;
  if (mapped) stats_.reads_warm++;
  if (!for_write && mapped && e->value.is_string()) {
    // Served from the mapping, unless it is read very often (Redis's logarithmic LFU
    // counter, kept in the entry whatever the tier): a warm read is nearly as cheap as a
    // hot one, while moving it up costs a demotion elsewhere, so the bar is 3 higher than
    // for cold values (about 100 reads instead of 11 at the default).
    if (Database::LfuDecayed(*e, now_ms) < std::min(255, opt_.promote_lfu + 3)) return;
  }
  if (!mapped) {
    stats_.sync_reads++;
    if (s && s->state == State::kArchived)
      stats_.reads_archive++;
    else
      stats_.reads_cold++;
  }
  Value hot = Load(e->value);
  if (hot.empty()) return;  // logged; the command sees what StringBytes can give
  e->value = std::move(hot);
  stats_.promotions++;
  if (s) s->last_access_ms = now_ms;
}

// ---------------------------------------------------------------- async fetch

void TierManager::Submit(std::function<void()> job) {
  jobs_in_flight_++;
  {
    std::lock_guard<std::mutex> g(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void TierManager::WorkerLoop() {
  while (true) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> g(mu_);
      cv_.wait(g, [this] { return stop_ || !jobs_.empty(); });
      if (stop_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
    jobs_in_flight_--;
  }
}

void TierManager::Deliver(std::function<void()> fn) {
  auto alive = alive_;
  auto wrapped = [alive, fn = std::move(fn)] {
    if (*alive) fn();
  };
  if (post_) {
    post_(std::move(wrapped));
  } else {
    std::lock_guard<std::mutex> g(posted_mu_);
    posted_.push_back(std::move(wrapped));
  }
}

size_t TierManager::RunPosted() {
  std::vector<std::function<void()>> fns;
  {
    std::lock_guard<std::mutex> g(posted_mu_);
    fns.swap(posted_);
  }
  for (auto& f : fns) f();
  return fns.size();
}

void TierManager::RecordColdLatency(int64_t us) {
  if (us < 0) us = 0;
  if (latency_hook_) latency_hook_("tier-cold-read", us / 1000);
  stats_.cold_read_us_total += uint64_t(us);
  stats_.cold_read_count++;
  stats_.cold_read_us_max = std::max<uint64_t>(stats_.cold_read_us_max, uint64_t(us));
  stats_.cold_read_latency.Record(uint64_t(us));
}

void TierManager::Fetch(std::vector<FetchKey> keys,
                        std::function<void(Status, std::shared_ptr<Fetched>)> done) {
  struct FetchState {
    size_t pending = 0;
    Status first = Status::Ok();
    std::shared_ptr<Fetched> result = std::make_shared<Fetched>();
    std::function<void(Status, std::shared_ptr<Fetched>)> done;
  };
  auto state = std::make_shared<FetchState>();
  state->done = std::move(done);
  int64_t now = clock_->NowMs();
  for (auto& k : keys) {
    if (k.db < 0 || size_t(k.db) >= dbs_.size()) continue;
    Entry* e = dbs_[size_t(k.db)]->table().Find(k.key, Table::Hash(k.key));
    if (!e || !NeedsFetch(e->value)) continue;
    Seg* s = seg(e->value.tier_segment());
    s->last_access_ms = now;
    bool archived = s->state == State::kArchived;
    if (archived)
      stats_.reads_archive++;
    else
      stats_.reads_cold++;
    uint32_t segid = s->id, off = e->value.tier_offset(), len = e->value.tier_length();
    std::shared_ptr<RandomAccessFile> file = s->file;
    std::string object_key = s->object_key;
    std::string where = archived ? "s3://" + opt_.s3.bucket + "/" + object_key : s->path;
    S3Client* s3 = s3_.get();
    int64_t t0 = clock_->MonotonicUs();
    state->pending++;
    int db = k.db;
    std::string key = k.key;
    Submit([this, state, file, s3, object_key, where, segid, off, len, db, key, t0, archived] {
      auto got = ReadRecordValue(file.get(), s3, object_key, where, off, len);
      Status st = got.ok() ? Status::Ok() : got.status();
      std::string value = got.ok() ? std::move(got.value()) : std::string();
      int64_t us = clock_->MonotonicUs() - t0;
      Deliver([this, state, st, value = std::move(value), db, key, segid, off, len, us,
               archived]() mutable {
        RecordColdLatency(us);
        if (archived && st.ok()) stats_.archive_fetches++;
        if (st.ok()) {
          state->result->items.push_back({db, key, segid, off, len, std::move(value), false});
        } else {
          stats_.read_errors++;
          if (state->first.ok()) {
            state->first =
                Status::IOError(fmt::format("tier read of key '{}' failed: {}", key, st.message()));
          }
        }
        if (--state->pending == 0) state->done(state->first, state->result);
      });
    });
  }
  if (state->pending == 0)
    state->done(Status::Ok(), state->result);
  else
    stats_.parked_commands++;
}

Entry* TierManager::FindAt(int db, const std::string& key, uint32_t segid, uint32_t off) {
  if (db < 0 || size_t(db) >= dbs_.size()) return nullptr;
  Entry* e = dbs_[size_t(db)]->table().Find(key, Table::Hash(key));
  if (!e || !e->value.tiered() || e->value.tier_segment() != segid || e->value.tier_offset() != off)
    return nullptr;
  return e;
}

void TierManager::Lend(Fetched& f, int64_t now_ms) {
  for (auto& it : f.items) {
    Entry* e = FindAt(it.db, it.key, it.segment, it.offset);
    if (!e) continue;  // changed since it was read: the command sees the new value
    Status st = Status::Ok();
    Value v = Decode(uint8_t(e->value.type()), it.bytes, it.key, &st);
    if (!st.ok()) {
      stats_.read_errors++;
      spdlog::error("Tier value does not decode: {}", st.message());
      continue;
    }
    if (Database::LfuDecayed(*e, now_ms) >= opt_.promote_lfu) {
      e->value = std::move(v);  // for good: the record becomes dead space
      stats_.promotions++;
      continue;
    }
    // Lent: the record stays live, and the entry goes back to it after the command.
    Value record = std::move(e->value);
    record.ForgetTierRef();
    e->value = std::move(v);
    it.lent = true;
    stats_.lent_reads++;
  }
}

void TierManager::Return(Fetched& f, bool command_wrote) {
  for (auto& it : f.items) {
    if (!it.lent) continue;
    it.lent = false;
    Entry* e = it.db >= 0 && size_t(it.db) < dbs_.size()
                   ? dbs_[size_t(it.db)]->table().Find(it.key, Table::Hash(it.key))
                   : nullptr;
    if (e && !command_wrote && !e->value.tiered()) {
      ValueType t = e->value.type();
      e->value = Value::Tiered(t, it.segment, it.offset, it.length);  // frees the RAM copy only
      continue;
    }
    // Written (or deleted): the RAM value stays (or went); the record is dead space now —
    // dropping this tiered value releases it (live bytes, dead list, count).
    if (e && !e->value.tiered()) stats_.promotions++;
    Value dead = Value::Tiered(ValueType::kString, it.segment, it.offset, it.length);
  }
}

// ---------------------------------------------------------------- moves: warm -> cold, compaction

void TierManager::StartMove(Seg* src, bool to_cold) {
  bool cold = to_cold || src->state == State::kCold;
  Codec codec = cold ? (src->state == State::kCold ? src->codec : opt_.cold_codec) : Codec::kNone;
  if (cold && src->state != State::kCold) codec = opt_.cold_codec;
  uint32_t dst_id = NextId();
  State dst_state = cold ? State::kCold : State::kWarm;
  std::string dst_path = SegPath(dst_id, dst_state);
  std::vector<uint32_t> dead = src->dead;
  std::sort(dead.begin(), dead.end());
  src->busy = true;
  moves_in_flight_++;
  if (to_cold)
    converting_ = true;
  else
    compacting_ = true;
  uint32_t src_id = src->id;
  std::string src_path = src->path;
  int64_t created = src->created_ms;
  uint64_t rate = to_cold ? 0 : opt_.compact_rate;  // compaction is paced; demotion pressure is not
  FileSystem* fs = fs_;
  Submit([this, fs, src_id, dst_id, src_path, dst_path, dead = std::move(dead), codec, created,
          rate] {
    auto moved = std::make_shared<std::vector<Moved>>();
    uint64_t dst_size = 0;
    Status st = Status::Ok();
    auto f = AtomicFile::Create(fs, dst_path);  // <dst>.tmp, fsync, rename, directory fsync
    if (!f.ok()) st = f.status();
    WritableFile* out = nullptr;
    if (st.ok()) {
      out = f.value()->file();
      st = out->Append(EncodeFileHeader(dst_id, codec, created));
    }
    if (st.ok()) {
      std::string buf, dec;
      uint64_t off = kFileHeaderSize;
      auto t0 = std::chrono::steady_clock::now();
      uint64_t io_bytes = 0;
      uint64_t valid_end = 0, file_size = 0;
      Status scan = ScanSegment(
          fs, src_path,
          [&](uint64_t roff, const RecordView& r) {
            if (!st.ok()) return;
            io_bytes += r.length;
            if (std::binary_search(dead.begin(), dead.end(), uint32_t(roff))) return;
            auto v = RecordValue(r, &dec, src_path, roff);
            if (!v.ok()) {
              st = v.status();
              return;
            }
            uint32_t len = EncodeRecord(&buf, r.db, r.type, r.key, v.value(), codec);
            moved->push_back({r.db, std::string(r.key), uint32_t(roff), uint32_t(off), len});
            off += len;
            if (buf.size() >= (1 << 20)) {
              io_bytes += buf.size();
              st = out->Append(buf);
              buf.clear();
              if (rate > 0) {  // bounded I/O rate: sleep off what ran ahead of it
                auto ahead = std::chrono::microseconds(int64_t(io_bytes * 1000000 / rate)) -
                             (std::chrono::steady_clock::now() - t0);
                if (ahead.count() > 0) std::this_thread::sleep_for(ahead);
              }
            }
          },
          &valid_end, &file_size);
      if (st.ok()) st = scan;
      if (st.ok() && valid_end != file_size) {
        spdlog::warn(
            "Tier: {}: records past offset {} do not verify (torn tail of {} bytes); they are not "
            "moved",
            src_path, valid_end, file_size - valid_end);
      }
      if (st.ok() && !buf.empty()) st = out->Append(buf);
      dst_size = off;
      // A failure before the rename removes the temp file (the next try writes a new one);
      // after it, the copy is in place but its name may not be durable: treated as failed
      // (the source stays), and the copy is removed.
      bool renamed = false;
      if (st.ok()) st = f.value()->Commit(&renamed);
      if (!st.ok() && renamed) (void)fs->DeleteFile(dst_path);
    }
    bool is_cold = dst_path.ends_with(".cold");
    Deliver([this, src_id, dst_id, is_cold, codec, moved, st, dst_size] {
      FinishMove(src_id, dst_id, is_cold, codec, moved, 0, st, dst_size);
    });
  });
}

void TierManager::EndMove(const Seg* src, bool cold) {
  moves_in_flight_--;
  if (cold && src && src->state == State::kWarm)
    converting_ = false;
  else
    compacting_ = false;
}

void TierManager::FinishMove(uint32_t src_id, uint32_t dst_id, bool cold, Codec codec,
                             std::shared_ptr<std::vector<Moved>> moved, size_t from, Status st,
                             uint64_t dst_size) {
  Seg* src = seg(src_id);
  if (from == 0) {
    if (!st.ok()) {
      spdlog::warn("Tier: moving segment {} failed: {} (retrying later)", src_id, st.message());
      if (src) {
        src->busy = false;
        src->retry_after_ms = clock_->NowMs() + 30'000;
      }
      EndMove(src, cold);
      return;
    }
    auto d = std::make_unique<Seg>();
    d->id = dst_id;
    d->state = cold ? State::kCold : State::kWarm;
    d->path = SegPath(dst_id, d->state);
    d->size = dst_size;
    d->codec = codec;
    if (src) {
      d->created_ms = src->created_ms;
      d->last_access_ms = src->last_access_ms;
    }
    if (cold) {
      auto f = fs_->NewRandomAccessFile(d->path);
      if (f.ok()) d->file = std::shared_ptr<RandomAccessFile>(std::move(f.value()));
    } else {
      auto m = fs_->MapFile(d->path, size_t(dst_size));
      if (m.ok()) d->map = std::move(m.value());
    }
    if (!d->file && !d->map) {
      spdlog::error("Tier: cannot open the new segment {}; keeping segment {}", d->path, src_id);
      if (src) src->busy = false;
      EndMove(src, cold);
      return;
    }
    if (dst_id >= segs_.size()) segs_.resize(size_t(dst_id) + 1);
    segs_[dst_id] = std::move(d);
  }
  Seg* dst = seg(dst_id);
  // Points an entry at its record's copy in the destination (releasing the source's).
  auto repoint = [&](Entry& e, const Moved& m) {
    ValueType t = e.value.type();
    e.value = Value::Tiered(t, dst_id, m.new_off, m.new_len);
    dst->live_bytes += m.new_len;
    dst->live_values++;
    tiered_values_++;
  };
  int64_t slice_t0 = clock_->MonotonicUs();
  size_t end = std::min(moved->size(), from + kSwitchSlice);
  for (size_t i = from; i < end; i++) {
    const Moved& m = (*moved)[i];
    Entry* e = m.db < dbs_.size() ? dbs_[m.db]->table().Find(m.key, Table::Hash(m.key)) : nullptr;
    if (e && e->value.tiered() && e->value.tier_segment() == src_id &&
        e->value.tier_offset() == m.old_off) {
      repoint(*e, m);
    } else {
      dst->dead.push_back(m.new_off);
    }
  }
  if (latency_hook_) latency_hook_("tier-move-slice", (clock_->MonotonicUs() - slice_t0) / 1000);
  if (end < moved->size()) {
    Deliver([this, src_id, dst_id, cold, codec, moved, end, st, dst_size] {
      FinishMove(src_id, dst_id, cold, codec, moved, end, st, dst_size);
    });
    return;
  }
  // Values renamed or moved to another database since are not found by key: find them by
  // a scan (rare), so nothing points into the source once it is retired.
  if (src && src->live_values > 0) {
    std::unordered_map<uint32_t, const Moved*> by_off;
    for (const Moved& m : *moved) by_off[m.old_off] = &m;
    for (Database* d : dbs_) {
      d->ForEach([&](Entry& e) {
        if (!e.value.tiered() || e.value.tier_segment() != src_id) return;
        auto it = by_off.find(e.value.tier_offset());
        if (it == by_off.end()) {
          Value hot = Load(e.value);  // not copied (it was dead when the move started)
          if (!hot.empty()) e.value = std::move(hot);
          return;
        }
        repoint(e, *it->second);
        auto& dd = dst->dead;
        dd.erase(std::remove(dd.begin(), dd.end(), it->second->new_off), dd.end());
      });
    }
  }
  EndMove(src, cold);
  if (src) {
    bool recompress = src->state == State::kWarm && dst->state == State::kCold;
    if (recompress)
      stats_.recompressions++;
    else
      stats_.compactions++;
    if (src->size > dst->size)
      stats_.compaction_bytes_reclaimed += recompress ? 0 : src->size - dst->size;
    src->busy = false;
    src->state = State::kRetired;
    src->map.reset();
    src->file.reset();
  }
}

// ---------------------------------------------------------------- archive

void TierManager::StartUpload(Seg* up, int64_t now_ms) {
  (void)now_ms;
  up->busy = true;
  uint32_t id = up->id;
  std::string key = fmt::format("{}seg-{:08d}.cold", opt_.archive_prefix, id);
  std::shared_ptr<RandomAccessFile> file = up->file;
  uint64_t size = up->size;
  S3Client* s3 = s3_.get();
  Submit([this, id, key, file, size, s3] {
    std::string data(size, '\0');
    Status st = Status::Ok();
    auto n = file->Read(0, size_t(size), data.data());
    if (!n.ok())
      st = n.status();
    else if (n.value() != size)
      st = Status::IOError(fmt::format("{}: short read", file->path()));
    if (st.ok()) st = s3->PutVerified(key, data);
    Deliver([this, id, key, st] {
      Seg* s = seg(id);
      if (!s) return;
      s->busy = false;
      int64_t now = clock_->NowMs();
      if (!st.ok()) {
        stats_.archive_upload_failures++;
        s->failures++;
        s->retry_after_ms = now + std::min<int64_t>(60'000, 1000LL << std::min(s->failures, 6));
        spdlog::warn("Tier: archiving segment {} failed (kept locally, retrying): {}", id,
                     st.message());
        return;
      }
      // The object is verified: write the marker, then drop the local file.
      std::string marker = SegPath(id, State::kArchived);
      std::string text = fmt::format("{}\n{}\n{}\n", key, s->size, s->created_ms);
      Status ms = WriteFileAtomically(fs_, marker, text);
      if (!ms.ok()) {
        stats_.archive_upload_failures++;
        s->retry_after_ms = now + 10'000;
        spdlog::warn("Tier: cannot write the archive marker {}: {}", marker, ms.message());
        return;
      }
      std::string local = s->path;
      s->state = State::kArchived;
      s->was_archived = true;
      s->object_key = key;
      s->file.reset();
      s->path = marker;
      (void)fs_->DeleteFile(local);
      stats_.archive_uploads++;
      spdlog::info("Tier: segment {} archived to s3://{}/{} ({} bytes)", id, opt_.s3.bucket, key,
                   s->size);
    });
  });
}

// ---------------------------------------------------------------- images (checkpoints)

std::string TierManager::EncodeRef(const Value& v) {
  std::string out;  // the 12 bytes SegmentFiles::ParseRef reads
  PutFixed32(&out, v.tier_segment());
  PutFixed32(&out, v.tier_offset());
  PutFixed32(&out, v.tier_length());
  return out;
}

Result<Value> TierManager::RefToValue(uint8_t type, std::string_view ref, std::string_view key) {
  uint32_t id, off, len;
  if (!SegmentFiles::ParseRef(ref, &id, &off, &len)) {
    return Status::Corruption(
        fmt::format("key '{}': tier reference of {} bytes (expected 12)", key, ref.size()));
  }
  return Value::Tiered(ValueType(type), id, off, len);
}

Status TierManager::AdoptValue(const Value& v, std::string_view key) {
  uint32_t id = v.tier_segment(), off = v.tier_offset(), len = v.tier_length();
  Seg* s = seg(id);
  if (!s || s->state == State::kRetired) {
    return Status::Corruption(
        fmt::format("key '{}' is in tier segment {} ({} or {}), which is missing", key, id,
                    SegPath(id, State::kWarm), SegPath(id, State::kCold)));
  }
  if (off < kFileHeaderSize) {
    return Status::Corruption(fmt::format(
        "key '{}': tier record offset {} is inside the header of {}", key, off, s->path));
  }
  if (uint64_t(off) + len > s->size) {
    // A truncated segment: the key is kept, and reading it is an error naming the file.
    spdlog::warn(
        "Tier: key '{}': record at offset {} ({} bytes) is past the end of {} ({} bytes): the file "
        "was "
        "truncated; reading the key will fail",
        key, off, len, s->path, s->size);
  }
  s->live_bytes += len;
  s->live_values++;
  tiered_values_++;
  return Status::Ok();
}

Result<Value> TierManager::AdoptRef(uint8_t type, std::string_view ref, std::string_view key) {
  auto v = RefToValue(type, ref, key);
  if (!v.ok()) return v.status();
  if (Status st = AdoptValue(v.value(), key); !st.ok()) {
    v.value().ForgetTierRef();  // never counted: dropped without releasing a record
    return st;
  }
  return std::move(v.value());
}

Result<std::vector<std::string>> TierManager::PrepareImage(const std::set<uint32_t>& refs) {
  (void)FlushActive();
  std::vector<std::string> paths;
  for (uint32_t id : refs) {
    Seg* s = seg(id);
    if (s && s->untrusted) {
      return Status::IOError(fmt::format(
          "tier segment {} ({}) had a failed fsync: its values are being copied to a new "
          "segment, an image can reference them once that is done",
          id, s->path));
    }
    if (s && (s->state == State::kActive || s->state == State::kWarm || s->state == State::kCold ||
              (s->state == State::kRetired && !s->path.empty() && !s->was_archived))) {
      paths.push_back(s->path);
    }
  }
  return paths;
}

Status TierManager::SyncPaths(FileSystem* fs, const std::vector<std::string>& paths,
                              std::string* failed_path) {
  std::set<std::string> dirs;
  for (const auto& p : paths) {
    auto f = fs->NewWritableFile(p, /*append=*/true);
    if (!f.ok()) return f.status();
    Status st = f.value()->Sync();
    (void)f.value()->Close();
    if (!st.ok()) {
      if (failed_path) *failed_path = p;
      return st;
    }
    dirs.insert(DirName(p));
  }
  // The segments' names too: a segment created since its directory was last synced would
  // vanish in a power loss, and the image referencing it with it.
  for (const auto& d : dirs) {
    if (Status st = fs->SyncDir(d); !st.ok()) return st;
  }
  return Status::Ok();
}

void TierManager::SegmentSyncFailed(const std::string& path) {
  for (auto& sp : segs_) {
    Seg* s = sp.get();
    if (!s || s->path != path || s->untrusted) continue;
    s->untrusted = true;
    if (s == active_) SealActive();
    spdlog::warn(
        "Tier: the fsync of segment {} ({}) failed: it is never fsynced again (the kernel "
        "may have dropped its pages); its values are copied to a new segment",
        s->id, path);
  }
}

Status TierManager::MakeImageDurable(const std::set<uint32_t>& refs) {
  auto paths = PrepareImage(refs);
  if (!paths.ok()) return paths.status();
  std::string failed;
  Status st = SyncPaths(fs_, paths.value(), &failed);
  if (!failed.empty()) SegmentSyncFailed(failed);
  return st;
}

void TierManager::EndImage(int kind, bool ok, const std::set<uint32_t>& refs) {
  if (images_in_progress_ > 0) images_in_progress_--;
  if (ok) pins_[kind] = refs;
}

bool TierManager::Pinned(uint32_t id) const {
  for (const auto& p : pins_) {
    if (!p ? initial_.count(id) : p->count(id)) return true;
  }
  return false;
}

void TierManager::DeleteRetired() {
  if (images_in_progress_ > 0) return;
  for (auto& sp : segs_) {
    Seg* s = sp.get();
    if (!s || s->state != State::kRetired || s->busy || Pinned(s->id)) continue;
    if (!s->path.empty()) (void)fs_->DeleteFile(s->path);
    if (s->was_archived && s3_) {
      std::string key = s->object_key;
      std::string marker = SegPath(s->id, State::kArchived);
      S3Client* s3 = s3_.get();
      Submit([this, s3, key] {
        Status st = s3->Delete(key);
        Deliver([this, st, key] {
          if (st.ok())
            stats_.archive_deletes++;
          else
            spdlog::warn("Tier: deleting archived object {} failed: {}", key, st.message());
        });
      });
      (void)fs_->DeleteFile(marker);
    }
    stats_.segments_deleted++;
    sp.reset();
  }
}

// ---------------------------------------------------------------- cron

void TierManager::Cron(int64_t now_ms) {
  if (!opt_.enabled && segs_.empty()) return;
  if (opt_.enabled) MaybeDemote(now_ms, 2000);
  if (paused_) return;
  // A partly filled active segment is sealed when idle for a while, so it can move on.
  uint64_t warm_total = 0;
  for (auto& sp : segs_) {
    if (sp && (sp->state == State::kWarm || sp->state == State::kActive)) warm_total += sp->size;
  }
  if (opt_.enabled && !converting_ && (warm_total > opt_.warm_size || force_cold_)) {
    Seg* oldest = nullptr;
    for (auto& sp : segs_) {
      if (sp && sp->state == State::kWarm && !sp->busy && sp->retry_after_ms <= now_ms) {
        oldest = sp.get();
        break;
      }
    }
    if (oldest) {
      if (oldest->live_values == 0) {
        oldest->state = State::kRetired;
        oldest->map.reset();
      } else {
        StartMove(oldest, true);
      }
    } else if (active_ && active_->size > kFileHeaderSize && !force_cold_done_) {
      SealActive();
    } else if (force_cold_) {
      force_cold_ = false;
    }
  }
  // Segments whose fsync failed: their values go to a new segment first, whatever their
  // live ratio (one move at a time, as compactions). This loop and the next index segs_
  // instead of holding iterators: StartMove takes a new id, which can grow (reallocate)
  // segs_ under the loop (the Seg objects themselves never move).
  for (size_t i = 0; i < segs_.size(); i++) {
    Seg* s = segs_[i].get();
    if (!s || !s->untrusted || s->busy || compacting_ || s->retry_after_ms > now_ms) continue;
    if (s->state != State::kWarm && s->state != State::kCold) continue;
    if (s->live_values == 0) {
      s->state = State::kRetired;
      s->map.reset();
      s->file.reset();
      continue;
    }
    StartMove(s, false);
  }
  // Compaction, and segments nothing points to any more.
  for (size_t i = 0; i < segs_.size(); i++) {
    Seg* s = segs_[i].get();
    if (s && !s->busy && s->state == State::kArchived && s->live_values == 0) {
      s->state = State::kRetired;  // its object and marker go once no image references it
      continue;
    }
    if (!s || s->busy || (s->state != State::kWarm && s->state != State::kCold)) continue;
    if (s->live_values == 0) {
      s->state = State::kRetired;
      s->map.reset();
      s->file.reset();
      continue;
    }
    uint64_t body = s->size > kFileHeaderSize ? s->size - kFileHeaderSize : 0;
    uint64_t dead = body > s->live_bytes ? body - s->live_bytes : 0;
    if (!compacting_ && body > 0 &&
        double(s->live_bytes) / double(body) < opt_.compact_live_ratio &&
        dead >= kMinDeadForCompaction && s->retry_after_ms <= now_ms) {
      StartMove(s, false);
    }
  }
  // Archive.
  if (opt_.archive_enabled && s3_) {
    int uploading = 0;
    for (auto& sp : segs_) {
      if (sp && sp->busy && sp->state == State::kCold) uploading++;
    }
    for (auto& sp : segs_) {
      Seg* s = sp.get();
      if (uploading >= 1) break;
      if (!s || s->state != State::kCold || s->busy || s->retry_after_ms > now_ms || !s->file)
        continue;
      int64_t idle = now_ms - std::max(s->created_ms, s->last_access_ms);
      if (idle >= opt_.archive_after_ms || force_archive_) {
        StartUpload(s, now_ms);
        uploading++;
      }
    }
  }
  DeleteRetired();
}

void TierManager::ForceCold() {
  SealActive();
  force_cold_ = true;
}

void TierManager::ForceArchive() { force_archive_ = true; }

// ---------------------------------------------------------------- INFO

TierManager::Usage TierManager::GetUsage() const {
  Usage u;
  for (const auto& sp : segs_) {
    const Seg* s = sp.get();
    if (!s) continue;
    uint64_t body = s->size > kFileHeaderSize ? s->size - kFileHeaderSize : 0;
    switch (s->state) {
      case State::kActive:
      case State::kWarm:
        u.warm_bytes += s->live_bytes;
        u.warm_segments++;
        u.warm_values += s->live_values;
        break;
      case State::kCold:
        u.cold_bytes += s->live_bytes;
        u.cold_segments++;
        u.cold_values += s->live_values;
        break;
      case State::kArchived:
        u.archive_bytes += s->live_bytes;
        u.archive_segments++;
        u.archive_values += s->live_values;
        break;
      case State::kRetired:
        break;
    }
    if (s->state != State::kRetired && body > s->live_bytes) u.dead_bytes += body - s->live_bytes;
  }
  size_t used = memory::Used(), overhead = 0;
  for (Database* d : dbs_) overhead += d->MemoryUsage();
  u.hot_bytes = used > overhead ? used - overhead : 0;
  return u;
}

std::string TierManager::Describe(const Value& v) const {
  const Seg* s = seg(v.tier_segment());
  const char* tier = !s                             ? "missing"
                     : s->state == State::kArchived ? "archive"
                     : s->state == State::kCold     ? "cold"
                                                    : "warm";
  std::string file = !s                             ? ""
                     : s->state == State::kArchived ? "s3://" + opt_.s3.bucket + "/" + s->object_key
                                                    : s->path;
  return fmt::format("tier:{} segment:{} offset:{} length:{} file:{}", tier, v.tier_segment(),
                     v.tier_offset(), v.tier_length(), file);
}

std::string TierManager::InfoSection() const {
  Usage u = GetUsage();
  const TierStats& s = stats_;
  uint64_t avg = s.cold_read_count ? s.cold_read_us_total / s.cold_read_count : 0;
  // The highest value of the bucket holding the percentile, never above the largest read.
  auto pct = [&](double q) -> uint64_t {
    return std::min(s.cold_read_latency.ValueAtPercentile(q * 100), s.cold_read_us_max);
  };
  size_t retired = 0;
  for (const auto& sp : segs_) retired += sp && sp->state == State::kRetired;
  std::string o = "# Tiering\r\n";
  o += fmt::format("tiering_enabled:{}\r\n", opt_.enabled ? 1 : 0);
  o += fmt::format("tier_hot_size_limit:{}\r\ntier_warm_size_limit:{}\r\n", opt_.hot_size,
                   opt_.warm_size);
  o += fmt::format("tier_cold_compression:{}\r\n", CodecName(opt_.cold_codec));
  o += fmt::format("tier_hot_bytes:{}\r\n", u.hot_bytes);
  o += fmt::format("tier_warm_bytes:{}\r\ntier_warm_keys:{}\r\ntier_warm_segments:{}\r\n",
                   u.warm_bytes, u.warm_values, u.warm_segments);
  o += fmt::format("tier_cold_bytes:{}\r\ntier_cold_keys:{}\r\ntier_cold_segments:{}\r\n",
                   u.cold_bytes, u.cold_values, u.cold_segments);
  o += fmt::format(
      "tier_archive_enabled:{}\r\ntier_archive_bytes:{}\r\ntier_archive_keys:{}\r\n"
      "tier_archive_segments:{}\r\n",
      opt_.archive_enabled ? 1 : 0, u.archive_bytes, u.archive_values, u.archive_segments);
  o += fmt::format("tier_dead_bytes:{}\r\ntier_retired_segments:{}\r\n", u.dead_bytes, retired);
  o += fmt::format(
      "tier_reads_warm:{}\r\ntier_reads_cold:{}\r\ntier_reads_archive:{}\r\ntier_sync_reads:{}\r\n",
      s.reads_warm, s.reads_cold, s.reads_archive, s.sync_reads);
  o += fmt::format(
      "tier_promotions:{}\r\ntier_demotions:{}\r\ntier_demoted_bytes:{}\r\ntier_demote_failures:{}"
      "\r\n",
      s.promotions, s.demotions, s.demoted_bytes, s.demote_failures);
  o += fmt::format(
      "tier_recompressions:{}\r\ntier_compactions:{}\r\ntier_compaction_reclaimed_bytes:{}\r\n",
      s.recompressions, s.compactions, s.compaction_bytes_reclaimed);
  o += fmt::format(
      "tier_archive_uploads:{}\r\ntier_archive_upload_failures:{}\r\ntier_archive_fetches:{}\r\n"
      "tier_archive_deletes:{}\r\n",
      s.archive_uploads, s.archive_upload_failures, s.archive_fetches, s.archive_deletes);
  o += fmt::format(
      "tier_segments_deleted:{}\r\ntier_read_errors:{}\r\ntier_parked_commands:{}\r\n"
      "tier_lent_reads:{}\r\n",
      s.segments_deleted, s.read_errors, s.parked_commands, s.lent_reads);
  o += fmt::format(
      "tier_cold_read_count:{}\r\ntier_cold_read_avg_usec:{}\r\ntier_cold_read_p50_usec:{}\r\n"
      "tier_cold_read_p99_usec:{}\r\ntier_cold_read_max_usec:{}\r\n",
      s.cold_read_count, avg, pct(0.5), pct(0.99), s.cold_read_us_max);
  o += fmt::format("tier_jobs_in_flight:{}\r\ntier_moves_in_flight:{}\r\ntier_paused:{}\r\n",
                   jobs_in_flight_.load(), moves_in_flight_, paused_ ? 1 : 0);
  return o;
}

}  // namespace ferrite::tier
