#pragma once
// A read-only in-memory FileSystem for the fuzz targets: the readers under test open the
// fuzzer's input as a file, without a syscall per input. Files are views of bytes the
// caller keeps alive. Every write-side operation fails.

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "io/file_system.h"

namespace ferrite::fuzz {

class MemFileSystem final : public FileSystem {
 public:
  void Put(const std::string& path, std::string_view bytes) { files_[path] = bytes; }

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path, bool) override {
    return Status::NotSupported("read-only: " + path);
  }
  Result<std::unique_ptr<SequentialFile>> NewSequentialFile(const std::string& path) override {
    auto it = files_.find(path);
    if (it == files_.end()) return Status::NotFound(path);
    return std::unique_ptr<SequentialFile>(new Seq(it->second));
  }
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    auto it = files_.find(path);
    if (it == files_.end()) return Status::NotFound(path);
    return std::unique_ptr<RandomAccessFile>(new Random(it->second, path));
  }
  Result<std::unique_ptr<MappedFile>> MapFile(const std::string& path, size_t) override {
    return Status::NotSupported("no mappings: " + path);
  }
  bool FileExists(const std::string& path) override { return files_.count(path) > 0; }
  Result<uint64_t> GetFileSize(const std::string& path) override {
    auto it = files_.find(path);
    if (it == files_.end()) return Status::NotFound(path);
    return uint64_t(it->second.size());
  }
  Result<std::vector<std::string>> GetChildren(const std::string&) override {
    std::vector<std::string> out;
    for (auto& [p, b] : files_) out.push_back(p);
    return out;
  }
  Status RenameFile(const std::string& from, const std::string&) override { return No(from); }
  Status LinkFile(const std::string& from, const std::string&) override { return No(from); }
  Status DeleteFile(const std::string& path) override { return No(path); }
  Status CreateDirs(const std::string& dir) override { return No(dir); }
  Status SyncDir(const std::string& dir) override { return No(dir); }
  Status TruncateFile(const std::string& path, uint64_t) override { return No(path); }

 private:
  static Status No(const std::string& p) { return Status::NotSupported("read-only: " + p); }
  struct Seq final : SequentialFile {
    explicit Seq(std::string_view bytes) : b_(bytes) {}
    Result<size_t> Read(size_t n, char* scratch) override {
      n = std::min(n, b_.size() - pos_);
      if (n) memcpy(scratch, b_.data() + pos_, n);
      pos_ += n;
      return n;
    }
    Status Skip(uint64_t n) override {
      pos_ += size_t(std::min<uint64_t>(n, b_.size() - pos_));
      return Status::Ok();
    }
    std::string_view b_;
    size_t pos_ = 0;
  };
  struct Random final : RandomAccessFile {
    Random(std::string_view bytes, std::string path) : b_(bytes), p_(std::move(path)) {}
    Result<size_t> Read(uint64_t off, size_t n, char* scratch) const override {
      if (off >= b_.size()) return size_t(0);
      n = std::min<size_t>(n, b_.size() - size_t(off));
      memcpy(scratch, b_.data() + off, n);
      return n;
    }
    const std::string& path() const override { return p_; }
    std::string_view b_;
    std::string p_;
  };
  std::map<std::string, std::string_view> files_;
};

}  // namespace ferrite::fuzz
