#pragma once
// FaultInjectionFileSystem: wraps a FileSystem for tests. It can fail appends (EIO or
// ENOSPC), write only part of an append and then fail (a torn write), fail fsync, and
// remembers how many bytes of each file were synced so SimulateCrash() can drop the rest,
// as a power loss would. Thread-safe (the AOF's fsync helper calls SyncData).

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "io/file_system.h"

namespace ferrite {

class FaultInjectionFileSystem final : public FileSystem {
 public:
  explicit FaultInjectionFileSystem(FileSystem* base) : base_(base) {}

  // The next `count` appends fail with st (count < 0: all of them until cleared).
  void FailAppends(Status st, int count = -1);
  // The next append writes only `bytes` of its data, then fails with EIO.
  void TornNextAppend(size_t bytes);
  // Appends fail with ENOSPC once the total appended reaches `limit` bytes (-1 = none).
  void SetSpaceLimit(int64_t limit);
  // The next `count` fsyncs fail (count < 0: all until cleared).
  void FailSyncs(int count = -1);
  // Every fsync takes at least this long (a slow or busy disk); 0 = no delay.
  void DelaySyncs(int64_t micros);
  void ClearFaults();
  // Power loss: every file written through this wrapper loses what was not synced.
  Status SimulateCrash();

  // Kill points: once `name` is reached (after `skip` earlier passes), the process is
  // "dead": every later append, fsync, rename, delete, truncate and directory fsync fails
  // and changes nothing; SimulateCrash() then drops what was not durable.
  void ArmKillPoint(std::string name, int skip = 0);
  bool killed() const;
  std::vector<std::string> kill_points_reached() const;
  void KillPoint(std::string_view name) override;

  int appends() const { return appends_; }
  int syncs() const { return syncs_; }

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                        bool append) override;
  Result<std::unique_ptr<SequentialFile>> NewSequentialFile(const std::string& path) override {
    return base_->NewSequentialFile(path);
  }
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    return base_->NewRandomAccessFile(path);
  }
  Result<std::unique_ptr<MappedFile>> MapFile(const std::string& path, size_t length) override {
    return base_->MapFile(path, length);
  }
  bool FileExists(const std::string& path) override { return base_->FileExists(path); }
  Result<uint64_t> GetFileSize(const std::string& path) override {
    return base_->GetFileSize(path);
  }
  Result<std::vector<std::string>> GetChildren(const std::string& dir) override {
    return base_->GetChildren(dir);
  }
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status DeleteFile(const std::string& path) override {
    if (Status st = DeadCheck("unlink", path); !st.ok()) return st;
    return base_->DeleteFile(path);
  }
  Status CreateDirs(const std::string& dir) override { return base_->CreateDirs(dir); }
  Status SyncDir(const std::string& dir) override {
    if (Status st = DeadCheck("fsync", dir); !st.ok()) return st;
    return base_->SyncDir(dir);
  }
  Status TruncateFile(const std::string& path, uint64_t size) override;

 private:
  friend class FaultWritableFile;
  // Called by wrapped files.
  Status BeforeAppend(const std::string& path, std::string_view data, size_t* allowed);
  Status BeforeSync(const std::string& path);
  void Synced(const std::string& path, uint64_t size);

  Status DeadCheck(const char* op, const std::string& path);

  FileSystem* base_;
  mutable std::mutex mu_;
  std::string kill_point_;
  int kill_skip_ = 0;
  bool killed_ = false;
  std::vector<std::string> reached_;
  Status append_error_;
  int append_fail_count_ = 0;
  size_t torn_bytes_ = 0;
  bool torn_next_ = false;
  int64_t space_limit_ = -1;
  int64_t appended_total_ = 0;
  int sync_fail_count_ = 0;
  int64_t sync_delay_us_ = 0;
  int appends_ = 0, syncs_ = 0;
  std::map<std::string, uint64_t> synced_size_;  // durable bytes per file written here
};

}  // namespace ferrite
