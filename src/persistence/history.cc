#include "persistence/history.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <sstream>

#include "base/strutil.h"
#include "io/atomic_file.h"
#include "persistence/aof/aof.h"
#include "persistence/aof/aof_format.h"
#include "persistence/checkpoint/checkpoint_format.h"

namespace ferrite {
namespace {

std::string ReadPrefixBytes(FileSystem* fs, const std::string& path, size_t n) {
  auto f = fs->NewSequentialFile(path);
  if (!f.ok()) return "";
  std::string out(n, '\0');
  auto got = f.value()->Read(n, out.data());
  out.resize(got.ok() ? got.value() : 0);
  return out;
}

// The time of the image an AOF generation starts with: its checkpoint preamble's, or the
// #TS line right after its #ID line (a RESP base). -1 if unknown (a file from before this
// was written, or one Redis wrote).
int64_t AofImageMs(FileSystem* fs, const std::string& path) {
  std::string head = ReadPrefixBytes(fs, path, 64);
  if (head.size() >= 8 && memcmp(head.data(), "FERRCKPT", 8) == 0) {
    ckpt::Header h;
    return ckpt::ReadHeader(fs, path, &h).ok() ? h.created_ms : -1;
  }
  if (head.rfind("#ID:", 0) != 0) return -1;
  size_t nl = head.find("\r\n");
  if (nl == std::string::npos || head.compare(nl + 2, 4, "#TS:") != 0) return -1;
  size_t end = head.find("\r\n", nl + 2);
  int64_t s;
  if (end == std::string::npos || !ParseInt64(head.substr(nl + 6, end - nl - 6), &s)) return -1;
  return s * 1000;
}

std::string When(int64_t ms) {
  if (ms == INT64_MAX) return "now";
  return fmt::format("{} (unix seconds)", ms / 1000);
}

Status CopyPrefix(FileSystem* fs, const std::string& from, uint64_t bytes, const std::string& to) {
  auto in = fs->NewSequentialFile(from);
  if (!in.ok()) return in.status();
  auto out = fs->NewWritableFile(to, /*append=*/false);
  if (!out.ok()) return out.status();
  std::vector<char> buf(1 << 20);
  uint64_t left = bytes;
  while (left > 0) {
    auto n = in.value()->Read(std::min<uint64_t>(left, buf.size()), buf.data());
    if (!n.ok()) return n.status();
    if (n.value() == 0) return Status::IOError(from + ": shorter than expected");
    if (Status st = out.value()->Append(std::string_view(buf.data(), n.value())); !st.ok())
      return st;
    left -= n.value();
  }
  if (Status st = out.value()->Sync(); !st.ok()) return st;
  return out.value()->Close();
}

}  // namespace

History::History(FileSystem* fs, std::string data_dir, int64_t retention_ms, uint64_t max_bytes,
                 Clock* clock)
    : fs_(fs),
      dir_(data_dir + "/" + kHistoryDir),
      retention_ms_(retention_ms),
      max_bytes_(max_bytes),
      clock_(clock) {}

Result<std::vector<HistoryEntry>> History::ReadManifest(FileSystem* fs, const std::string& dir) {
  std::vector<HistoryEntry> out;
  std::string path = dir + "/MANIFEST";
  if (!fs->FileExists(path)) return out;
  auto size = fs->GetFileSize(path);
  if (!size.ok()) return size.status();
  std::string text = ReadPrefixBytes(fs, path, size_t(size.value()));
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || line != kManifestMagic) {
    return Status::Corruption(path + ": not a history manifest of version 1 at offset 0");
  }
  uint64_t offset = line.size() + 1;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string kind, word;
    HistoryEntry e;
    words >> kind >> e.file;
    if ((kind != "aof" && kind != "ckpt") || e.file.empty() ||
        e.file.find('/') != std::string::npos) {
      return Status::Corruption(fmt::format("{}: bad line at offset {}", path, offset));
    }
    e.kind = kind == "aof" ? HistoryEntry::kAof : HistoryEntry::kCheckpoint;
    while (words >> word) {
      size_t eq = word.find('=');
      if (eq == std::string::npos) continue;  // room for fields a later version adds
      std::string k = word.substr(0, eq), v = word.substr(eq + 1);
      if (k == "id") e.id = std::strtoull(v.c_str(), nullptr, 16);
      if (k == "created_ms") e.created_ms = std::strtoll(v.c_str(), nullptr, 10);
      if (k == "aof_offset") e.aof_offset = std::strtoull(v.c_str(), nullptr, 10);
      if (k == "retired_ms") e.retired_ms = std::strtoll(v.c_str(), nullptr, 10);
      if (k == "size") e.size = std::strtoull(v.c_str(), nullptr, 10);
    }
    out.push_back(std::move(e));
    offset += line.size() + 1;
  }
  return out;
}

Status History::Open() {
  if (!enabled()) return Status::Ok();
  if (!fs_->FileExists(dir_)) return Status::Ok();
  auto read = ReadManifest(fs_, dir_);
  if (!read.ok()) {
    spdlog::warn("History: {}; the history starts over", read.status().message());
  }
  MutexLock lk(&mu_);
  if (read.ok()) entries_ = std::move(read.value());
  std::erase_if(entries_,
                [&](const HistoryEntry& e) { return !fs_->FileExists(dir_ + "/" + e.file); });
  auto names = fs_->GetChildren(dir_);
  if (names.ok()) {
    for (const std::string& n : names.value()) {
      if (n == "MANIFEST") continue;
      bool known = std::any_of(entries_.begin(), entries_.end(),
                               [&](const HistoryEntry& e) { return e.file == n; });
      if (!known) (void)fs_->DeleteFile(dir_ + "/" + n);  // linked, crash before the manifest
    }
  }
  for (const HistoryEntry& e : entries_) {
    size_t dash = e.file.find('-');
    if (dash != std::string::npos)
      seq_ = std::max<uint64_t>(seq_, std::strtoull(e.file.c_str() + dash + 1, nullptr, 10));
  }
  PruneLocked(clock_->NowMs());
  return WriteManifestLocked();
}

Status History::RetireAof(const std::string& path, uint64_t id) {
  HistoryEntry e;
  e.kind = HistoryEntry::kAof;
  e.id = id;
  return Keep(path, e);
}

Status History::RetireCheckpoint(const std::string& path) {
  ckpt::Header h;
  if (!fs_->FileExists(path)) return Status::Ok();
  if (Status st = ckpt::ReadHeader(fs_, path, &h); !st.ok()) return st;
  HistoryEntry e;
  e.kind = HistoryEntry::kCheckpoint;
  e.id = h.aof_id;
  e.created_ms = h.created_ms;
  e.aof_offset = h.aof_offset;
  return Keep(path, e);
}

Status History::Keep(const std::string& path, HistoryEntry e) {
  if (!enabled() || !fs_->FileExists(path)) return Status::Ok();
  auto size = fs_->GetFileSize(path);
  if (!size.ok()) return size.status();
  MutexLock lk(&mu_);
  e.size = size.value();
  e.retired_ms = clock_->NowMs();
  e.file = fmt::format("{}-{:06}.{}", e.kind == HistoryEntry::kAof ? "aof" : "ckpt", ++seq_,
                       e.kind == HistoryEntry::kAof ? "aof" : "rdb");
  if (Status st = fs_->CreateDirs(dir_); !st.ok()) return st;
  if (Status st = fs_->LinkFile(path, dir_ + "/" + e.file); !st.ok()) return st;
  if (Status st = fs_->SyncDir(dir_); !st.ok()) return st;
  entries_.push_back(e);
  PruneLocked(e.retired_ms);
  return WriteManifestLocked();
}

void History::PruneLocked(int64_t now_ms) {
  // Anything replaced before the window began is not needed for a time inside it: the
  // file that replaced it starts with an image older than the window.
  int64_t window_start = now_ms - retention_ms_;
  auto drop = [&](size_t i) REQUIRES(mu_) {
    (void)fs_->DeleteFile(dir_ + "/" + entries_[i].file);
    entries_.erase(entries_.begin() + long(i));
  };
  for (size_t i = 0; i < entries_.size();) {
    if (entries_[i].retired_ms < window_start)
      drop(i);
    else
      i++;
  }
  if (max_bytes_ == 0) return;
  auto total = [&]() REQUIRES(mu_) {
    uint64_t t = 0;
    for (auto& e : entries_) t += e.size;
    return t;
  };
  while (!entries_.empty() && total() > max_bytes_) drop(0);  // oldest first (append order)
}

Status History::WriteManifestLocked() {
  std::string text = std::string(kManifestMagic) + "\n";
  for (const HistoryEntry& e : entries_) {
    if (e.kind == HistoryEntry::kAof) {
      text += fmt::format("aof {} id={:016x} retired_ms={} size={}\n", e.file, e.id, e.retired_ms,
                          e.size);
    } else {
      text += fmt::format("ckpt {} id={:016x} created_ms={} aof_offset={} retired_ms={} size={}\n",
                          e.file, e.id, e.created_ms, e.aof_offset, e.retired_ms, e.size);
    }
  }
  if (Status st = fs_->CreateDirs(dir_); !st.ok()) return st;
  return WriteFileAtomically(fs_, dir_ + "/MANIFEST", text);
}

std::vector<HistoryEntry> History::entries() const {
  MutexLock lk(&mu_);
  return entries_;
}

// ---------------------------------------------------------------- point-in-time recovery

Result<RestorePlan> PlanRestore(FileSystem* fs, const std::string& data_dir,
                                const std::string& aof_file, const std::string& checkpoint_file,
                                int64_t target_s) {
  struct Gen {
    std::string path;
    uint64_t id;
    int64_t image_ms;  // -1 unknown
    int64_t end_ms;    // INT64_MAX: the current file
  };
  struct Ckpt {
    std::string path;
    ckpt::Header h;
  };
  std::vector<Gen> gens;
  std::vector<Ckpt> ckpts;
  std::string hdir = data_dir + "/" + kHistoryDir;
  auto manifest = History::ReadManifest(fs, hdir);
  if (!manifest.ok()) return manifest.status();
  for (const HistoryEntry& e : manifest.value()) {
    std::string p = hdir + "/" + e.file;
    if (!fs->FileExists(p)) continue;
    if (e.kind == HistoryEntry::kAof) {
      gens.push_back({p, e.id, AofImageMs(fs, p), e.retired_ms});
    } else {
      Ckpt c{p, {}};
      if (ckpt::ReadHeader(fs, p, &c.h).ok()) ckpts.push_back(c);
    }
  }
  std::string cur_aof = data_dir + "/" + aof_file, cur_ckpt = data_dir + "/" + checkpoint_file;
  if (fs->FileExists(cur_aof))
    gens.push_back({cur_aof, Aof::ReadId(fs, cur_aof), AofImageMs(fs, cur_aof), INT64_MAX});
  if (fs->FileExists(cur_ckpt)) {
    Ckpt c{cur_ckpt, {}};
    if (ckpt::ReadHeader(fs, cur_ckpt, &c.h).ok()) ckpts.push_back(c);
  }
  // A generation covers T if it was still the AOF after second T (writes of second T may
  // have gone to it until its end).
  auto covers = [&](const Gen& g) { return g.end_ms == INT64_MAX || g.end_ms / 1000 > target_s; };
  RestorePlan best;
  best.target_s = target_s;
  best.image_ms = -1;
  const Gen* best_gen = nullptr;
  for (const Gen& g : gens) {
    if (!covers(g)) continue;
    if (g.image_ms >= 0 && g.image_ms / 1000 <= target_s && g.image_ms > best.image_ms) {
      best.image_ms = g.image_ms;
      best.checkpoint.clear();
      best.aof = g.path;
      best.aof_from = 0;
      best_gen = &g;
    }
    for (const Ckpt& c : ckpts) {
      if (c.h.aof_id == 0 || c.h.aof_id != g.id || c.h.created_ms / 1000 > target_s) continue;
      if (c.h.created_ms > best.image_ms) {
        best.image_ms = c.h.created_ms;
        best.checkpoint = c.path;
        best.aof = g.path;
        best.aof_from = c.h.aof_offset;
        best_gen = &g;
      }
    }
  }
  if (!best_gen) {
    std::string have;
    for (const Gen& g : gens) {
      have +=
          fmt::format("\n  AOF {}: image at {}, in use until {}", g.path,
                      g.image_ms < 0 ? std::string("unknown") : When(g.image_ms), When(g.end_ms));
    }
    for (const Ckpt& c : ckpts)
      have += fmt::format("\n  checkpoint {}: image at {}", c.path, When(c.h.created_ms));
    return Status::NotFound(fmt::format(
        "cannot recover to {}: no image (a checkpoint or an AOF generation's base) at or before "
        "that second is kept together with the AOF that continues it past it. What is kept:{}{}",
        target_s, have.empty() ? std::string(" nothing") : have,
        "\n(persistence.history_retention and history_max_size decide how far back this goes; "
        "aof_timestamp_enabled must be on for the AOF to be cut at a second)"));
  }
  // Where replay starts, then the cut: right before the first #TS line later than T.
  uint64_t from = best.aof_from;
  std::string head = ReadPrefixBytes(fs, best.aof, 8);
  if (from == 0 && head == "FERRCKPT") {
    ckpt::ReadStats rs;
    Status st = ckpt::ReadPrefix(
        fs, best.aof, true, [](const ckpt::Record&) { return Status::Ok(); }, &rs);
    if (!st.ok()) return Status::Corruption(best.aof + ": " + st.message());
    from = rs.bytes;
  }
  auto size = fs->GetFileSize(best.aof);
  if (!size.ok()) return size.status();
  auto in = fs->NewSequentialFile(best.aof);
  if (!in.ok()) return in.status();
  if (Status st = in.value()->Skip(from); !st.ok()) return st;
  aof::AofReader reader(from, 1);
  std::vector<char> buf(1 << 20);
  uint64_t cut = size.value();
  bool done = false, eof = false;
  while (!done) {
    aof::AofRecord rec;
    auto r = reader.Next(&rec);
    if (r == aof::AofReader::Result::kNeedMore) {
      if (eof) break;
      auto n = in.value()->Read(buf.size(), buf.data());
      if (!n.ok()) return n.status();
      if (n.value() == 0)
        eof = true;
      else
        reader.Feed(std::string_view(buf.data(), n.value()));
      continue;
    }
    if (r == aof::AofReader::Result::kError) {
      return Status::Corruption(fmt::format("{}: damaged at offset {}: {}", best.aof,
                                            reader.error_offset(), reader.error()));
    }
    if (rec.kind == aof::AofRecord::kAnnotation && rec.timestamp > target_s) {
      cut = rec.offset;
      done = true;
    }
  }
  if (!done && !reader.AtCleanEnd()) cut = reader.offset();  // a torn tail is left out
  best.aof_cut = cut;
  best.summary = fmt::format(
      "image: {} at {}\nAOF: {} from offset {}, cut at offset {} of {} (before the first second "
      "later than {})",
      best.checkpoint.empty() ? best.aof + " (its base)" : best.checkpoint, When(best.image_ms),
      best.aof, best.aof_from ? best.aof_from : from, cut, size.value(), target_s);
  return best;
}

Status WriteRestore(FileSystem* fs, const RestorePlan& plan, const std::string& out_dir,
                    const std::string& aof_file, const std::string& checkpoint_file) {
  if (fs->FileExists(out_dir)) {
    auto children = fs->GetChildren(out_dir);
    if (!children.ok()) return children.status();
    if (!children.value().empty()) {
      return Status::InvalidArgument(out_dir + " is not empty: restore into a new directory");
    }
  }
  if (Status st = fs->CreateDirs(out_dir); !st.ok()) return st;
  if (!plan.checkpoint.empty()) {
    auto size = fs->GetFileSize(plan.checkpoint);
    if (!size.ok()) return size.status();
    Status st = CopyPrefix(fs, plan.checkpoint, size.value(), out_dir + "/" + checkpoint_file);
    if (!st.ok()) return st;
  }
  if (Status st = CopyPrefix(fs, plan.aof, plan.aof_cut, out_dir + "/" + aof_file); !st.ok())
    return st;
  return fs->SyncDir(out_dir);
}

}  // namespace ferrite
