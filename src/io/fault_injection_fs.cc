#include "io/fault_injection_fs.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

namespace ferrite {

class FaultWritableFile final : public WritableFile {
 public:
  FaultWritableFile(FaultInjectionFileSystem* fs, std::unique_ptr<WritableFile> base)
      : fs_(fs), base_(std::move(base)) {}
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
    if (Status st = fs_->BeforeSync(path()); !st.ok()) return st;
    Status st = base_->SyncData();
    if (st.ok()) fs_->Synced(path(), covered);
    return st;
  }
  Status Close() override { return base_->Close(); }
  uint64_t Size() const override { return base_->Size(); }
  Status Truncate(uint64_t size) override { return base_->Truncate(size); }
  const std::string& path() const override { return base_->path(); }

 private:
  FaultInjectionFileSystem* fs_;
  std::unique_ptr<WritableFile> base_;
};

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

void FaultInjectionFileSystem::FailSyncs(int count) {
  std::lock_guard<std::mutex> lk(mu_);
  sync_fail_count_ = count;
}

void FaultInjectionFileSystem::DelaySyncs(int64_t micros) {
  std::lock_guard<std::mutex> lk(mu_);
  sync_delay_us_ = micros;
}

void FaultInjectionFileSystem::ClearFaults() {
  std::lock_guard<std::mutex> lk(mu_);
  sync_delay_us_ = 0;
  append_fail_count_ = 0;
  torn_next_ = false;
  space_limit_ = -1;
  sync_fail_count_ = 0;
}

void FaultInjectionFileSystem::ArmKillPoint(std::string name, int skip) {
  std::lock_guard<std::mutex> lk(mu_);
  kill_point_ = std::move(name);
  kill_skip_ = skip;
  killed_ = false;
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

Status FaultInjectionFileSystem::DeadCheck(const char* op, const std::string& path) {
  std::lock_guard<std::mutex> lk(mu_);
  if (!killed_) return Status::Ok();
  return Status::IOError(std::string(op) + " " + path + ": the process was killed at " +
                         kill_point_);
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
  if (sync_fail_count_ != 0) {
    if (sync_fail_count_ > 0) sync_fail_count_--;
    return ErrnoStatus("fsync", path, EIO);
  }
  return Status::Ok();
}

void FaultInjectionFileSystem::Synced(const std::string& path, uint64_t size) {
  std::lock_guard<std::mutex> lk(mu_);
  synced_size_[path] = size;
}

Result<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::NewWritableFile(
    const std::string& path, bool append) {
  auto f = base_->NewWritableFile(path, append);
  if (!f.ok()) return f.status();
  {
    std::lock_guard<std::mutex> lk(mu_);
    // An existing file opened for append starts out with its current size durable.
    if (!synced_size_.count(path)) synced_size_[path] = append ? f.value()->Size() : 0;
    if (!append) synced_size_[path] = 0;
  }
  return std::unique_ptr<WritableFile>(new FaultWritableFile(this, std::move(f.value())));
}

Status FaultInjectionFileSystem::RenameFile(const std::string& from, const std::string& to) {
  if (Status dead = DeadCheck("rename", from); !dead.ok()) return dead;
  Status st = base_->RenameFile(from, to);
  if (st.ok()) {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = synced_size_.find(from);
    if (it != synced_size_.end()) {
      synced_size_[to] = it->second;
      synced_size_.erase(it);
    }
  }
  return st;
}

Status FaultInjectionFileSystem::TruncateFile(const std::string& path, uint64_t size) {
  if (Status dead = DeadCheck("truncate", path); !dead.ok()) return dead;
  Status st = base_->TruncateFile(path, size);
  std::lock_guard<std::mutex> lk(mu_);
  auto it = synced_size_.find(path);
  if (st.ok() && it != synced_size_.end() && it->second > size) it->second = size;
  return st;
}

Status FaultInjectionFileSystem::SimulateCrash() {
  std::lock_guard<std::mutex> lk(mu_);
  for (auto& [path, size] : synced_size_) {
    if (!base_->FileExists(path)) continue;
    if (Status st = base_->TruncateFile(path, size); !st.ok()) return st;
  }
  return Status::Ok();
}

}  // namespace ferrite
