#include "io/atomic_file.h"

namespace ferrite {

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

AtomicFile::AtomicFile(FileSystem* fs, std::string path, std::string tmp, std::string kill_prefix,
                       std::unique_ptr<WritableFile> f)
    : fs_(fs),
      path_(std::move(path)),
      tmp_(std::move(tmp)),
      kill_prefix_(std::move(kill_prefix)),
      file_(std::move(f)) {}

Result<std::unique_ptr<AtomicFile>> AtomicFile::Create(FileSystem* fs, std::string path,
                                                       std::string kill_prefix,
                                                       std::string tmp_suffix) {
  std::string tmp = path + tmp_suffix;
  auto f = fs->NewWritableFile(tmp, /*append=*/false);
  if (!f.ok()) return f.status();
  return std::unique_ptr<AtomicFile>(new AtomicFile(fs, std::move(path), std::move(tmp),
                                                    std::move(kill_prefix), std::move(f.value())));
}

AtomicFile::~AtomicFile() { Abandon(); }

void AtomicFile::Abandon() {
  if (done_) return;
  done_ = true;
  if (file_) (void)file_->Close();
  file_.reset();
  (void)fs_->DeleteFile(tmp_);
}

Status AtomicFile::Commit(bool* renamed) {
  if (renamed) *renamed = false;
  if (done_) return Status::InvalidArgument("AtomicFile: already committed or abandoned");
  Status st = file_->Sync();
  if (st.ok()) st = file_->Close();
  file_.reset();
  if (st.ok() && before_rename_) st = before_rename_();
  if (!st.ok()) {
    Abandon();
    return st;
  }
  done_ = true;
  st = RenameDurably(fs_, tmp_, path_, kill_prefix_, renamed);
  if (!st.ok() && !(renamed && *renamed)) (void)fs_->DeleteFile(tmp_);
  return st;
}

Status RenameDurably(FileSystem* fs, const std::string& tmp, const std::string& path,
                     std::string_view kill_prefix, bool* renamed) {
  if (renamed) *renamed = false;
  std::string kp(kill_prefix);
  if (!kp.empty()) fs->KillPoint(kp + ".before_rename");
  if (Status st = fs->RenameFile(tmp, path); !st.ok()) return st;
  if (renamed) *renamed = true;
  if (!kp.empty()) fs->KillPoint(kp + ".after_rename");
  return fs->SyncDir(DirName(path));
}

Status WriteFileAtomically(FileSystem* fs, const std::string& path, std::string_view data,
                           std::string_view kill_prefix) {
  auto f = AtomicFile::Create(fs, path, std::string(kill_prefix));
  if (!f.ok()) return f.status();
  if (Status st = f.value()->file()->Append(data); !st.ok()) return st;  // ~AtomicFile cleans up
  return f.value()->Commit();
}

Result<std::unique_ptr<WritableFile>> CreateFileDurably(FileSystem* fs, const std::string& path) {
  auto f = fs->NewWritableFile(path, /*append=*/false);
  if (!f.ok()) return f.status();
  if (Status st = fs->SyncDir(DirName(path)); !st.ok()) {
    (void)f.value()->Close();
    (void)fs->DeleteFile(path);
    return st;
  }
  return f;
}

}  // namespace ferrite
