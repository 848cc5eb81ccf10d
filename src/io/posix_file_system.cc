#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "io/file_system.h"

namespace ferrite {

Status ErrnoStatus(const std::string& op, const std::string& path, int err) {
  std::string msg = op + " " + path + ": " + strerror(err);
  if (err == ENOSPC || err == EDQUOT) return Status::NoSpace(msg);
  if (err == ENOENT) return Status::NotFound(msg);
  return Status::IOError(msg);
}

namespace {

constexpr size_t kBufferSize = 64 * 1024;

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size), flushed_(size) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) {
      (void)Flush();
      close(fd_);
    }
  }

  Status Append(std::string_view data) override {
    size_ += data.size();
    if (buf_.size() + data.size() > kBufferSize) {
      if (Status st = Flush(); !st.ok()) {
        size_ -= data.size();
        return st;
      }
      if (data.size() > kBufferSize) return WriteAll(data);
    }
    buf_.append(data);
    return Status::Ok();
  }

  Status Flush() override {
    if (buf_.empty()) return Status::Ok();
    Status st = WriteAll(buf_);
    buf_.clear();
    return st;
  }

  Status Sync() override {
    if (Status st = Flush(); !st.ok()) return st;
    if (fdatasync(fd_) != 0) return ErrnoStatus("fsync", path_, errno);
    return Status::Ok();
  }

  Status SyncData() override {
    if (fdatasync(fd_) != 0) return ErrnoStatus("fsync", path_, errno);
    return Status::Ok();
  }

  Status Close() override {
    Status st = Flush();
    if (fd_ >= 0 && close(fd_) != 0 && st.ok()) st = ErrnoStatus("close", path_, errno);
    fd_ = -1;
    return st;
  }

  uint64_t Size() const override { return size_; }

  Status Truncate(uint64_t size) override {
    buf_.clear();
    if (ftruncate(fd_, off_t(size)) != 0) return ErrnoStatus("truncate", path_, errno);
    if (lseek(fd_, off_t(size), SEEK_SET) < 0) return ErrnoStatus("seek", path_, errno);
    size_ = flushed_ = size;
    return Status::Ok();
  }

  const std::string& path() const override { return path_; }

 private:
  // Writes all of data, looping over short writes. On failure the file may hold a torn
  // prefix; size_ is corrected to what reached the kernel so the caller can truncate.
  Status WriteAll(std::string_view data) {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = write(fd_, data.data() + done, data.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        int e = errno;
        size_ = flushed_ + done;
        flushed_ = size_;
        return ErrnoStatus("write", path_, e);
      }
      done += size_t(n);
    }
    flushed_ += done;
    return Status::Ok();
  }

  std::string path_;
  int fd_;
  uint64_t size_;
  uint64_t flushed_;
  std::string buf_;
};

class PosixSequentialFile final : public SequentialFile {
 public:
  PosixSequentialFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixSequentialFile() override { close(fd_); }
  Result<size_t> Read(size_t n, char* scratch) override {
    while (true) {
      ssize_t r = read(fd_, scratch, n);
      if (r >= 0) return size_t(r);
      if (errno != EINTR) return ErrnoStatus("read", path_, errno);
    }
  }
  Status Skip(uint64_t n) override {
    if (lseek(fd_, off_t(n), SEEK_CUR) < 0) return ErrnoStatus("seek", path_, errno);
    return Status::Ok();
  }

 private:
  std::string path_;
  int fd_;
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixRandomAccessFile() override { close(fd_); }
  Result<size_t> Read(uint64_t offset, size_t n, char* scratch) const override {
    size_t done = 0;
    while (done < n) {
      ssize_t r = pread(fd_, scratch + done, n - done, off_t(offset + done));
      if (r == 0) break;
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("pread", path_, errno);
      }
      done += size_t(r);
    }
    return done;
  }
  const std::string& path() const override { return path_; }

 private:
  std::string path_;
  int fd_;
};

class PosixMappedFile final : public MappedFile {
 public:
  PosixMappedFile(void* p, size_t len) : p_(p), len_(len) {}
  ~PosixMappedFile() override { munmap(p_, len_); }
  const char* data() const override { return static_cast<const char*>(p_); }
  size_t length() const override { return len_; }

 private:
  void* p_;
  size_t len_;
};

class PosixFileSystem final : public FileSystem {
 public:
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    return std::unique_ptr<RandomAccessFile>(new PosixRandomAccessFile(path, fd));
  }
  Result<std::unique_ptr<MappedFile>> MapFile(const std::string& path, size_t length) override {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    void* p = mmap(nullptr, length, PROT_READ, MAP_SHARED, fd, 0);
    int err = errno;
    close(fd);
    if (p == MAP_FAILED) return ErrnoStatus("mmap", path, err);
    return std::unique_ptr<MappedFile>(new PosixMappedFile(p, length));
  }
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                        bool append) override {
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
    int fd = open(path.c_str(), flags, 0644);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    struct stat st;
    fstat(fd, &st);
    return std::unique_ptr<WritableFile>(new PosixWritableFile(path, fd, uint64_t(st.st_size)));
  }
  Result<std::unique_ptr<SequentialFile>> NewSequentialFile(const std::string& path) override {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    return std::unique_ptr<SequentialFile>(new PosixSequentialFile(path, fd));
  }
  bool FileExists(const std::string& path) override { return access(path.c_str(), F_OK) == 0; }
  Result<uint64_t> GetFileSize(const std::string& path) override {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return ErrnoStatus("stat", path, errno);
    return uint64_t(st.st_size);
  }
  Result<std::vector<std::string>> GetChildren(const std::string& dir) override {
    DIR* d = opendir(dir.c_str());
    if (!d) return ErrnoStatus("opendir", dir, errno);
    std::vector<std::string> out;
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    closedir(d);
    return out;
  }
  Status RenameFile(const std::string& from, const std::string& to) override {
    if (rename(from.c_str(), to.c_str()) != 0)
      return ErrnoStatus("rename " + from + " to", to, errno);
    return Status::Ok();
  }
  Status LinkFile(const std::string& from, const std::string& to) override {
    if (link(from.c_str(), to.c_str()) != 0) return ErrnoStatus("link " + from + " to", to, errno);
    return Status::Ok();
  }
  Status DeleteFile(const std::string& path) override {
    if (unlink(path.c_str()) != 0) return ErrnoStatus("unlink", path, errno);
    return Status::Ok();
  }
  Status CreateDirs(const std::string& dir) override {
    // The missing components, outermost first: each is created, then its parent fsynced.
    std::vector<std::filesystem::path> missing;
    std::error_code ec;
    for (std::filesystem::path p = std::filesystem::path(dir).lexically_normal();
         !p.empty() && !std::filesystem::exists(p, ec); p = p.parent_path()) {
      missing.push_back(p);
      if (p == p.parent_path()) break;
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
      if (!std::filesystem::create_directory(*it, ec) && ec)
        return Status::IOError("mkdir " + it->string() + ": " + ec.message());
      std::string parent = it->has_parent_path() ? it->parent_path().string() : ".";
      if (Status st = SyncDir(parent.empty() ? "." : parent); !st.ok()) return st;
    }
    return Status::Ok();
  }
  Status SyncDir(const std::string& dir) override {
    int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open", dir, errno);
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    if (rc != 0) return ErrnoStatus("fsync", dir, e);
    return Status::Ok();
  }
  Status TruncateFile(const std::string& path, uint64_t size) override {
    if (truncate(path.c_str(), off_t(size)) != 0) return ErrnoStatus("truncate", path, errno);
    return Status::Ok();
  }
};

}  // namespace

FileSystem* FileSystem::Default() {
  static PosixFileSystem fs;
  return &fs;
}

}  // namespace ferrite
