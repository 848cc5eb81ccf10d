#pragma once
// FaultInjectionFileSystem: wraps a FileSystem for tests and models what Linux does to a
// program's files when things go wrong, so a test can fail a write or an fsync, "kill" the
// process at a named point, and then cut the power (SimulateCrash) and see what survives.
//
// The model (leveldb's db/fault_injection_test.cc, extended):
//  * File contents: only bytes covered by a successful fsync survive a crash.
//  * A failed fsync discards the dirty pages it covered: those bytes are lost at the crash
//    even if a later fsync of the same file "succeeds" (Linux marks the pages clean after
//    a writeback error; the next fsync has nothing left to write and returns 0 — the
//    "fsyncgate" behaviour PostgreSQL hit in 2018). The lost range reads back as zeros
//    after the crash; until then the process still reads what it wrote (the page cache).
//  * Directory entries: a file created, renamed, linked or deleted since the last SyncDir
//    of its directory is not durable. At the crash the directory goes back to what it
//    held at its last SyncDir: new names vanish, a rename is undone (the old target comes
//    back with its own durable bytes), a deleted file comes back.
//  * CreateDirs is durable at once (the POSIX implementation fsyncs the parents).
// Files the wrapper never saw written, renamed or deleted (made by a test directly) are
// taken as durable as they are.
//
// Thread-safe: the AOF's fsync helper, the checkpoint's finishing thread and the tier's
// workers call it concurrently.

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "io/file_system.h"

namespace ferrite {

class FaultInjectionFileSystem final : public FileSystem {
 public:
  explicit FaultInjectionFileSystem(FileSystem* base);
  ~FaultInjectionFileSystem() override;

  // The next `count` appends fail with st (count < 0: all of them until cleared).
  void FailAppends(Status st, int count = -1);
  // The next append writes only `bytes` of its data, then fails with EIO.
  void TornNextAppend(size_t bytes);
  // Appends fail with ENOSPC once the total appended reaches `limit` bytes (-1 = none).
  void SetSpaceLimit(int64_t limit);
  // The next `count` file fsyncs fail with EIO (count < 0: all until cleared). With
  // path_part, only fsyncs of files whose path contains it (count as above).
  void FailSyncs(int count = -1, std::string path_part = "");
  // The next `count` directory fsyncs fail with EIO (count < 0: all until cleared). With
  // dir, only fsyncs of that directory.
  void FailDirSyncs(int count = -1, std::string dir = "");
  // The next `count` opens for writing whose path contains path_part fail with st
  // (e.g. EMFILE: ErrnoStatus("open", p, EMFILE)).
  void FailOpens(Status st, int count = 1, std::string path_part = "");
  // Every fsync takes at least this long (a slow or busy disk); 0 = no delay.
  void DelaySyncs(int64_t micros);
  void ClearFaults();

  // Power loss: every file loses what was not fsynced (and the ranges a failed fsync
  // discarded read as zeros); every directory goes back to its last SyncDir. Afterwards
  // everything on disk counts as durable, no fault is armed, and the old "process" stays
  // dead (objects still alive from it can change nothing) until Restart().
  Status SimulateCrash();
  // The machine is back: a new process may use this file system.
  void Restart();

  // Kill points: once `name` is reached (after `skip` earlier passes), the process is
  // "dead": every later open for writing, append, fsync, rename, link, delete, truncate
  // and directory fsync fails and changes nothing; SimulateCrash() then drops what was not
  // durable.
  void ArmKillPoint(std::string name, int skip = 0);
  // The process dies now (a power cut at an arbitrary moment).
  void KillNow();
  bool killed() const;
  std::vector<std::string> kill_points_reached() const;
  void KillPoint(std::string_view name) override;

  int appends() const { return appends_; }
  int syncs() const { return syncs_; }
  int dir_syncs() const { return dir_syncs_; }

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
  Status LinkFile(const std::string& from, const std::string& to) override;
  Status DeleteFile(const std::string& path) override;
  Status CreateDirs(const std::string& dir) override;
  Status SyncDir(const std::string& dir) override;
  Status TruncateFile(const std::string& path, uint64_t size) override;

 private:
  void ClearFaultsLocked();  // ClearFaults with mu_ held
  friend class FaultWritableFile;
  // One file's data, whatever names it has (a hard link or rename keeps it).
  struct Inode {
    uint64_t synced = 0;                              // bytes that survive a crash
    std::vector<std::pair<uint64_t, uint64_t>> lost;  // [from, to): discarded by a failed fsync
    std::string backup;  // a copy, made when its last live name went while a durable
                         // directory entry still names it (empty: none needed yet)
  };
  using InodePtr = std::shared_ptr<Inode>;

  // Called by wrapped files.
  Status BeforeAppend(const std::string& path, std::string_view data, size_t* allowed);
  Status BeforeSync(const std::string& path);

  Status DeadCheckLocked(const char* op, const std::string& path);
  Status DeadCheck(const char* op, const std::string& path);
  // The inode a path names now, tracking it first (as durable) if the wrapper never saw
  // it; nullptr if there is no such file. mu_ held.
  InodePtr TrackLocked(const std::string& path);
  // Before the last live name of ino goes: copy its bytes if a durable entry needs them.
  Status KeepForCrashLocked(const InodePtr& ino, const std::string& path);
  bool DurablyNamedLocked(const InodePtr& ino) const;
  Result<std::string> ReadAll(const std::string& path);
  Status WriteAll(const std::string& path, const std::string& data);

  FileSystem* base_;
  std::string backup_dir_;
  uint64_t backup_seq_ = 0;
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
  std::string sync_fail_path_;
  int dir_sync_fail_count_ = 0;
  std::string dir_sync_fail_dir_;
  Status open_error_;
  int open_fail_count_ = 0;
  std::string open_fail_path_;
  int64_t sync_delay_us_ = 0;
  int appends_ = 0, syncs_ = 0, dir_syncs_ = 0;
  std::map<std::string, InodePtr> live_;  // path -> what it names now (tracked files)
  // dir -> (path -> inode) as of the directory's last SyncDir; paths of a directory the
  // wrapper tracks a file in but which was never synced since are as found at tracking.
  std::map<std::string, std::map<std::string, InodePtr>> durable_;
};

}  // namespace ferrite
