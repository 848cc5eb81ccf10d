#include "io/fault_injection_fs.h"

#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <thread>

namespace ferrite {
namespace {

std::string Normal(const std::string& p) {
  std::string n = std::filesystem::path(p).lexically_normal().string();
  while (n.size() > 1 && n.back() == '/') n.pop_back();
  return n;
}

std::string DirOf(const std::string& normal_path) {
  size_t slash = normal_path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return normal_path.substr(0, slash);
}

}  // namespace

class FaultWritableFile final : public WritableFile {
 public:
  FaultWritableFile(FaultInjectionFileSystem* fs, std::unique_ptr<WritableFile> base,
                    FaultInjectionFileSystem::InodePtr ino)
      : fs_(fs), base_(std::move(base)), ino_(std::move(ino)) {}
  Status Append(std::string_view data) override {
    size_t allowed = data.size();
    Status st = fs_->BeforeAppend(path(), data, &allowed);
    if (allowed > 0) {
      Status w = base_->Append(data.substr(0, allowed));
      if (!w.ok()) return w;
      if (!st.ok()) (void)base_->Flush();  // the torn prefix reaches the file
    }
    return st;
  }
  Status Flush() override { return base_->Flush(); }
  Status Sync() override {
    if (Status st = base_->Flush(); !st.ok()) return st;
    return SyncData();
  }
  Status SyncData() override {
    // What was written before the fsync began is what it covers: appends made while a
    // (slow) fsync runs on another thread are not durable by it.
    uint64_t covered = base_->Size();
    if (Status st = fs_->BeforeSync(path()); !st.ok()) {
      std::lock_guard<std::mutex> lk(fs_->mu_);
      // Linux: the dirty pages this fsync covered are dropped (marked clean); a later
      // fsync returns 0 without writing them.
      if (covered > ino_->synced) ino_->lost.emplace_back(ino_->synced, covered);
      return st;
    }
    Status st = base_->SyncData();
    if (st.ok()) {
      std::lock_guard<std::mutex> lk(fs_->mu_);
      ino_->synced = std::max(ino_->synced, covered);
    }
    return st;
  }
  Status Close() override { return base_->Close(); }
  uint64_t Size() const override { return base_->Size(); }
  Status Truncate(uint64_t size) override {
    Status st = base_->Truncate(size);
    if (st.ok()) {
      std::lock_guard<std::mutex> lk(fs_->mu_);
      ino_->synced = std::min(ino_->synced, size);
    }
    return st;
  }
  const std::string& path() const override { return base_->path(); }

 private:
  FaultInjectionFileSystem* fs_;
  std::unique_ptr<WritableFile> base_;
  FaultInjectionFileSystem::InodePtr ino_;
};

FaultInjectionFileSystem::FaultInjectionFileSystem(FileSystem* base) : base_(base) {
  char tmpl[] = "/tmp/ferrite-faultfs-XXXXXX";
  if (char* d = mkdtemp(tmpl)) backup_dir_ = d;
}

FaultInjectionFileSystem::~FaultInjectionFileSystem() {
  std::error_code ec;
  if (!backup_dir_.empty()) std::filesystem::remove_all(backup_dir_, ec);
}

void FaultInjectionFileSystem::FailAppends(Status st, int count) {
  std::lock_guard<std::mutex> lk(mu_);
  append_error_ = std::move(st);
  append_fail_count_ = count;
}

void FaultInjectionFileSystem::TornNextAppend(size_t bytes) {
  std::lock_guard<std::mutex> lk(mu_);
  torn_next_ = true;
  torn_bytes_ = bytes;
}

void FaultInjectionFileSystem::SetSpaceLimit(int64_t limit) {
  std::lock_guard<std::mutex> lk(mu_);
  space_limit_ = limit;
  appended_total_ = 0;
}

void FaultInjectionFileSystem::FailSyncs(int count, std::string path_part) {
  std::lock_guard<std::mutex> lk(mu_);
  sync_fail_count_ = count;
  sync_fail_path_ = std::move(path_part);
}

void FaultInjectionFileSystem::FailDirSyncs(int count, std::string dir) {
  std::lock_guard<std::mutex> lk(mu_);
  dir_sync_fail_count_ = count;
  dir_sync_fail_dir_ = dir.empty() ? "" : Normal(dir);
}

void FaultInjectionFileSystem::FailOpens(Status st, int count, std::string path_part) {
  std::lock_guard<std::mutex> lk(mu_);
  open_error_ = std::move(st);
  open_fail_count_ = count;
  open_fail_path_ = std::move(path_part);
}

void FaultInjectionFileSystem::DelaySyncs(int64_t micros) {
  std::lock_guard<std::mutex> lk(mu_);
  sync_delay_us_ = micros;
}

void FaultInjectionFileSystem::ClearFaults() {
  std::lock_guard<std::mutex> lk(mu_);
  ClearFaultsLocked();
}

void FaultInjectionFileSystem::ClearFaultsLocked() {
  sync_delay_us_ = 0;
  append_fail_count_ = 0;
  torn_next_ = false;
  space_limit_ = -1;
  sync_fail_count_ = 0;
  dir_sync_fail_count_ = 0;
  open_fail_count_ = 0;
}

void FaultInjectionFileSystem::ArmKillPoint(std::string name, int skip) {
  std::lock_guard<std::mutex> lk(mu_);
  kill_point_ = std::move(name);
  kill_skip_ = skip;
  killed_ = false;
}

void FaultInjectionFileSystem::KillNow() {
  std::lock_guard<std::mutex> lk(mu_);
  kill_point_ = "(power cut)";
  killed_ = true;
}

bool FaultInjectionFileSystem::killed() const {
  std::lock_guard<std::mutex> lk(mu_);
  return killed_;
}

std::vector<std::string> FaultInjectionFileSystem::kill_points_reached() const {
  std::lock_guard<std::mutex> lk(mu_);
  return reached_;
}

void FaultInjectionFileSystem::KillPoint(std::string_view name) {
  std::lock_guard<std::mutex> lk(mu_);
  if (std::find(reached_.begin(), reached_.end(), name) == reached_.end())
    reached_.emplace_back(name);
  if (killed_ || kill_point_.empty() || name != kill_point_) return;
  if (kill_skip_ > 0) {
    --kill_skip_;
    return;
  }
  killed_ = true;
}

Status FaultInjectionFileSystem::DeadCheckLocked(const char* op, const std::string& path) {
  if (!killed_) return Status::Ok();
  return Status::IOError(std::string(op) + " " + path + ": the process was killed at " +
                         kill_point_);
}

Status FaultInjectionFileSystem::DeadCheck(const char* op, const std::string& path) {
  std::lock_guard<std::mutex> lk(mu_);
  return DeadCheckLocked(op, path);
}

Status FaultInjectionFileSystem::BeforeAppend(const std::string& path, std::string_view data,
                                              size_t* allowed) {
  std::lock_guard<std::mutex> lk(mu_);
  appends_++;
  *allowed = data.size();
  if (killed_) {
    *allowed = 0;
    return Status::IOError("write " + path + ": the process was killed at " + kill_point_);
  }
  if (torn_next_) {
    torn_next_ = false;
    *allowed = std::min(torn_bytes_, data.size());
    return ErrnoStatus("write", path, EIO);
  }
  if (append_fail_count_ != 0) {
    if (append_fail_count_ > 0) append_fail_count_--;
    *allowed = 0;
    return append_error_;
  }
  if (space_limit_ >= 0 && appended_total_ + int64_t(data.size()) > space_limit_) {
    *allowed = 0;
    return ErrnoStatus("write", path, ENOSPC);
  }
  appended_total_ += int64_t(data.size());
  return Status::Ok();
}

Status FaultInjectionFileSystem::BeforeSync(const std::string& path) {
  int64_t delay_us;
  {
    std::lock_guard<std::mutex> lk(mu_);
    delay_us = sync_delay_us_;
  }
  // Outside the lock: appends from other threads go on while this fsync is "slow".
  if (delay_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
  std::lock_guard<std::mutex> lk(mu_);
  syncs_++;
  if (killed_)
    return Status::IOError("fsync " + path + ": the process was killed at " + kill_point_);
  if (sync_fail_count_ != 0 &&
      (sync_fail_path_.empty() || path.find(sync_fail_path_) != std::string::npos)) {
    if (sync_fail_count_ > 0) sync_fail_count_--;
    return ErrnoStatus("fsync", path, EIO);
  }
  return Status::Ok();
}

FaultInjectionFileSystem::InodePtr FaultInjectionFileSystem::TrackLocked(const std::string& p) {
  auto it = live_.find(p);
  if (it != live_.end()) return it->second;
  if (!base_->FileExists(p)) return nullptr;
  // Never seen before: it existed before the wrapper watched it, so it counts as durable.
  auto ino = std::make_shared<Inode>();
  auto size = base_->GetFileSize(p);
  ino->synced = size.ok() ? size.value() : 0;
  live_[p] = ino;
  durable_[DirOf(p)][p] = ino;
  return ino;
}

bool FaultInjectionFileSystem::DurablyNamedLocked(const InodePtr& ino) const {
  for (auto& [dir, names] : durable_) {
    for (auto& [p, i] : names) {
      if (i == ino) return true;
    }
  }
  return false;
}

Status FaultInjectionFileSystem::KeepForCrashLocked(const InodePtr& ino, const std::string& path) {
  if (!ino->backup.empty() || !DurablyNamedLocked(ino)) return Status::Ok();
  for (auto& [p, i] : live_) {
    if (i == ino && p != path) return Status::Ok();  // another live name keeps the bytes
  }
  auto data = ReadAll(path);
  if (!data.ok()) return data.status();
  std::string b = backup_dir_ + "/" + std::to_string(++backup_seq_);
  if (Status st = WriteAll(b, data.value()); !st.ok()) return st;
  ino->backup = b;
  return Status::Ok();
}

Result<std::string> FaultInjectionFileSystem::ReadAll(const std::string& path) {
  auto f = base_->NewSequentialFile(path);
  if (!f.ok()) return f.status();
  std::string out;
  std::vector<char> buf(1 << 20);
  while (true) {
    auto n = f.value()->Read(buf.size(), buf.data());
    if (!n.ok()) return n.status();
    if (n.value() == 0) break;
    out.append(buf.data(), n.value());
  }
  return out;
}

Status FaultInjectionFileSystem::WriteAll(const std::string& path, const std::string& data) {
  auto f = base_->NewWritableFile(path, /*append=*/false);
  if (!f.ok()) return f.status();
  Status st = f.value()->Append(data);
  if (st.ok()) st = f.value()->Close();
  return st;
}

Result<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::NewWritableFile(
    const std::string& path, bool append) {
  std::string p = Normal(path);
  InodePtr ino;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (Status st = DeadCheckLocked("open", path); !st.ok()) return st;
    if (open_fail_count_ != 0 &&
        (open_fail_path_.empty() || path.find(open_fail_path_) != std::string::npos)) {
      if (open_fail_count_ > 0) open_fail_count_--;
      return open_error_;
    }
    ino = TrackLocked(p);
  }
  auto f = base_->NewWritableFile(path, append);
  if (!f.ok()) return f.status();
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!ino) {  // a new name: not durable until its directory is synced
      ino = std::make_shared<Inode>();
      live_[p] = ino;
    } else if (!append) {  // O_TRUNC: the old bytes are gone, the new ones not yet durable
      ino->synced = 0;
      ino->lost.clear();
    }
  }
  return std::unique_ptr<WritableFile>(new FaultWritableFile(this, std::move(f.value()), ino));
}

Status FaultInjectionFileSystem::RenameFile(const std::string& from, const std::string& to) {
  std::string f = Normal(from), t = Normal(to);
  std::lock_guard<std::mutex> lk(mu_);
  if (Status dead = DeadCheckLocked("rename", from); !dead.ok()) return dead;
  InodePtr src = TrackLocked(f);
  InodePtr dst = TrackLocked(t);
  if (src && dst && dst != src) {
    if (Status st = KeepForCrashLocked(dst, t); !st.ok()) return st;
  }
  Status st = base_->RenameFile(from, to);
  if (st.ok() && src) {
    live_.erase(f);
    live_[t] = src;
  }
  return st;
}

Status FaultInjectionFileSystem::LinkFile(const std::string& from, const std::string& to) {
  std::string f = Normal(from), t = Normal(to);
  std::lock_guard<std::mutex> lk(mu_);
  if (Status dead = DeadCheckLocked("link", from); !dead.ok()) return dead;
  InodePtr src = TrackLocked(f);
  Status st = base_->LinkFile(from, to);
  if (st.ok() && src) live_[t] = src;
  return st;
}

Status FaultInjectionFileSystem::DeleteFile(const std::string& path) {
  std::string p = Normal(path);
  std::lock_guard<std::mutex> lk(mu_);
  if (Status st = DeadCheckLocked("unlink", path); !st.ok()) return st;
  InodePtr ino = TrackLocked(p);
  if (ino) {
    if (Status st = KeepForCrashLocked(ino, p); !st.ok()) return st;
  }
  Status st = base_->DeleteFile(path);
  if (st.ok()) live_.erase(p);
  return st;
}

Status FaultInjectionFileSystem::CreateDirs(const std::string& dir) {
  if (Status st = DeadCheck("mkdir", dir); !st.ok()) return st;
  return base_->CreateDirs(dir);
}

Status FaultInjectionFileSystem::SyncDir(const std::string& dir) {
  std::string d = Normal(dir);
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (Status st = DeadCheckLocked("fsync", dir); !st.ok()) return st;
    dir_syncs_++;
    if (dir_sync_fail_count_ != 0 && (dir_sync_fail_dir_.empty() || dir_sync_fail_dir_ == d)) {
      if (dir_sync_fail_count_ > 0) dir_sync_fail_count_--;
      return ErrnoStatus("fsync", dir, EIO);
    }
  }
  if (Status st = base_->SyncDir(dir); !st.ok()) return st;
  std::lock_guard<std::mutex> lk(mu_);
  auto& names = durable_[d];
  names.clear();
  for (auto& [p, ino] : live_) {
    if (DirOf(p) == d) names[p] = ino;
  }
  return Status::Ok();
}

Status FaultInjectionFileSystem::TruncateFile(const std::string& path, uint64_t size) {
  std::string p = Normal(path);
  std::lock_guard<std::mutex> lk(mu_);
  if (Status dead = DeadCheckLocked("truncate", path); !dead.ok()) return dead;
  InodePtr ino = TrackLocked(p);
  Status st = base_->TruncateFile(path, size);
  if (st.ok() && ino) ino->synced = std::min(ino->synced, size);
  return st;
}

void FaultInjectionFileSystem::Restart() {
  std::lock_guard<std::mutex> lk(mu_);
  killed_ = false;
  kill_point_.clear();
  reached_.clear();
}

Status FaultInjectionFileSystem::SimulateCrash() {
  std::lock_guard<std::mutex> lk(mu_);
  // 1. What every durable name will hold: its inode's synced bytes, discarded ranges zeroed.
  std::map<std::string, std::string> after;
  for (auto& [dir, names] : durable_) {
    for (auto& [p, ino] : names) {
      std::string source = ino->backup;
      for (auto& [lp, li] : live_) {
        if (li == ino) {
          source = lp;
          break;
        }
      }
      if (source.empty()) continue;
      auto data = ReadAll(source);
      if (!data.ok()) return data.status();
      std::string& d = data.value();
      if (d.size() > ino->synced) d.resize(size_t(ino->synced));
      for (auto& [from, to] : ino->lost) {
        for (uint64_t i = from; i < to && i < d.size(); i++) d[size_t(i)] = '\0';
      }
      after[p] = std::move(d);
    }
  }
  // 2. Every name the process made or kept goes; 3. the durable ones come back.
  for (auto& [p, ino] : live_) {
    if (base_->FileExists(p)) {
      if (Status st = base_->DeleteFile(p); !st.ok()) return st;
    }
  }
  for (auto& [p, data] : after) {
    if (base_->FileExists(p)) {  // an untracked leftover at a durable name
      if (Status st = base_->DeleteFile(p); !st.ok()) return st;
    }
    if (Status st = WriteAll(p, data); !st.ok()) return st;
  }
  // The machine is back up: everything on disk is durable, nothing is armed.
  live_.clear();
  durable_.clear();
  for (auto& [p, data] : after) {
    auto ino = std::make_shared<Inode>();
    ino->synced = data.size();
    live_[p] = ino;
    durable_[DirOf(p)][p] = ino;
  }
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(backup_dir_, ec)) {
    std::filesystem::remove(e.path(), ec);
  }
  killed_ = true;
  kill_point_ = "(power cut)";
  ClearFaultsLocked();
  return Status::Ok();
}

}  // namespace ferrite
