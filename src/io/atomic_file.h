#pragma once
// Replacing a file so that a crash at any moment leaves either the old file or the new
// one, complete: write <path>.tmp → fsync it → rename it over <path> → fsync the
// directory (SQLite's, RocksDB's and PostgreSQL's recipe). The one place this recipe is
// written; every file Ferrite replaces (the AOF at a rewrite, checkpoints, tier segments
// and markers, the history manifest, CONFIG REWRITE, ferrite-rdb's output) goes through it.
//
// A failure before the rename leaves the old file and removes the temp file. A failure of
// the directory fsync *after* the rename is different: the new file is in place now, but
// its name may not survive a power loss (either name could be found after a crash).
// Commit() reports that case through *renamed so the caller can treat both files as
// possibly current (keep what either needs, refuse writes until a later replace succeeds).

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "io/file_system.h"

namespace ferrite {

std::string DirName(const std::string& path);  // "." for a bare name

class AtomicFile {
 public:
  // Opens <path><tmp_suffix> for writing, truncating any leftover. kill_prefix names the
  // kill points Commit() passes: "<prefix>.before_rename" and "<prefix>.after_rename".
  static Result<std::unique_ptr<AtomicFile>> Create(FileSystem* fs, std::string path,
                                                    std::string kill_prefix = "",
                                                    std::string tmp_suffix = ".tmp");
  ~AtomicFile();  // not committed: the temp file is closed and removed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  WritableFile* file() { return file_.get(); }
  const std::string& path() const { return path_; }
  const std::string& tmp_path() const { return tmp_; }
  // Runs just before the rename (after the fsync): e.g. hard-link the old file into a
  // history directory. A failure aborts the commit before anything was replaced.
  void set_before_rename(std::function<Status()> fn) { before_rename_ = std::move(fn); }
  // fsync + close the temp file, rename it over path, fsync the directory. *renamed (if
  // given) says whether the rename happened, also when the status is an error.
  Status Commit(bool* renamed = nullptr);
  // Gives up: closes and removes the temp file.
  void Abandon();

 private:
  AtomicFile(FileSystem* fs, std::string path, std::string tmp, std::string kill_prefix,
             std::unique_ptr<WritableFile> f);
  FileSystem* fs_;
  std::string path_, tmp_, kill_prefix_;
  std::unique_ptr<WritableFile> file_;
  std::function<Status()> before_rename_;
  bool done_ = false;
};

// The rename + directory fsync half, for a temp file some other writer completed and
// fsynced (a checkpoint written by its own thread, a tier job).
Status RenameDurably(FileSystem* fs, const std::string& tmp, const std::string& path,
                     std::string_view kill_prefix = "", bool* renamed = nullptr);

// Writes data as the new content of path, atomically and durably.
Status WriteFileAtomically(FileSystem* fs, const std::string& path, std::string_view data,
                           std::string_view kill_prefix = "");

// A new file's name is durable only once its directory is fsynced: creates path (empty,
// or truncating it) and fsyncs the directory, for files that are appended to afterwards
// and must never vanish in a crash (a new AOF, a warm tier segment).
Result<std::unique_ptr<WritableFile>> CreateFileDurably(FileSystem* fs, const std::string& path);

}  // namespace ferrite
