#pragma once
// FileSystem: every persistence and tier file operation goes through this interface, so
// tests can inject faults (fsync errors, ENOSPC, torn writes) and simulate power loss.
//
// Durability contract: bytes passed to WritableFile::Append are in a user-space buffer;
// Flush() hands them to the kernel (they survive a process crash); Sync() makes them
// durable (they survive power loss). A new or renamed file's *name* is durable only after
// SyncDir() on its directory.
//
// Errors are Status values naming the operation and the path, with errno's text;
// ENOSPC maps to Status::NoSpace.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ferrite {

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(std::string_view data) = 0;
  virtual Status Flush() = 0;
  virtual Status Sync() = 0;  // Flush + fdatasync
  // fdatasync of what was flushed, without touching the user-space buffer: the one call
  // that may run on another thread while the owner appends (the everysec fsync helper).
  virtual Status SyncData() = 0;
  virtual Status Close() = 0;
  virtual uint64_t Size() const = 0;  // bytes appended so far (including unflushed)
  // Cuts the file back to size (drops any unflushed bytes past it).
  virtual Status Truncate(uint64_t size) = 0;
  virtual const std::string& path() const = 0;
};

class SequentialFile {
 public:
  virtual ~SequentialFile() = default;
  // Reads up to n bytes into scratch; 0 at end of file.
  virtual Result<size_t> Read(size_t n, char* scratch) = 0;
  virtual Status Skip(uint64_t n) = 0;
};

// Positional reads (pread): thread-safe, several threads may read one file at once.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to n bytes at offset into scratch; fewer only at end of file.
  virtual Result<size_t> Read(uint64_t offset, size_t n, char* scratch) const = 0;
  virtual const std::string& path() const = 0;
};

// A read-only shared mapping of a file (mmap). length may exceed the file's current size:
// bytes appended later through another descriptor become visible (one page cache); only
// bytes inside the file may be touched.
class MappedFile {
 public:
  virtual ~MappedFile() = default;
  virtual const char* data() const = 0;
  virtual size_t length() const = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // A named step of a multi-step file operation ("aof.write", "rewrite.before_rename" …).
  // Nothing happens here; the fault-injection file system can make the process "die" at
  // a chosen point, so tests crash exactly there and check recovery.
  virtual void KillPoint(std::string_view name) { (void)name; }
  // append=true keeps existing content and writes after it; false truncates.
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                                bool append) = 0;
  virtual Result<std::unique_ptr<SequentialFile>> NewSequentialFile(const std::string& path) = 0;
  virtual Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) = 0;
  virtual Result<std::unique_ptr<MappedFile>> MapFile(const std::string& path, size_t length) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  virtual Result<uint64_t> GetFileSize(const std::string& path) = 0;
  virtual Result<std::vector<std::string>> GetChildren(const std::string& dir) = 0;
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  // A second name for the file `from` (a hard link; same file system). Like a rename, the
  // new name is durable only after SyncDir() on its directory.
  virtual Status LinkFile(const std::string& from, const std::string& to) = 0;
  virtual Status DeleteFile(const std::string& path) = 0;
  // Creates dir and its missing parents; each directory created is made durable (its
  // parent is fsynced), so files later made durable inside it cannot vanish with it.
  virtual Status CreateDirs(const std::string& dir) = 0;
  virtual Status SyncDir(const std::string& dir) = 0;
  virtual Status TruncateFile(const std::string& path, uint64_t size) = 0;

  static FileSystem* Default();  // POSIX
};

// Maps errno to a Status naming the operation and path.
Status ErrnoStatus(const std::string& op, const std::string& path, int err);

}  // namespace ferrite
