#include "persistence/rdb/redis_rdb.h"

#include <fmt/format.h>
#include <strings.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <unordered_set>

#include "base/coding.h"
#include "base/crc64.h"
#include "base/strutil.h"
#include "persistence/rdb/rdb_stream.h"
#include "types/serialize.h"
#include "types/stream.h"
#include "types/value.h"

namespace ferrite::rdb {
namespace {

// ---- the reader ----

// The file as a source: read in 1 MB pieces into a rolling buffer; the CRC-64 runs over
// every byte as it leaves the buffer (and up to the EOF opcode at the end).
class FileSource final : public RdbSource {
 public:
  FileSource(std::unique_ptr<SequentialFile> file, uint64_t size, const std::string& path)
      : file_(std::move(file)), size_(size), path_(path) {}
  Status Take(size_t n, const char** p) override {
    if (Status s = Fill(n); !s.ok()) return s;
    *p = buf_.data() + (off_ - buf_off_);
    off_ += n;
    return Status::Ok();
  }
  uint64_t offset() const override { return off_; }
  uint64_t left() const override { return size_ - off_; }
  // The CRC-64 of every byte before the cursor.
  uint64_t Crc() {
    crc_ = Crc64(crc_, buf_.data() + (crc_off_ - buf_off_), size_t(off_ - crc_off_));
    crc_off_ = off_;
    return crc_;
  }

 private:
  Status Fill(uint64_t n);
  std::unique_ptr<SequentialFile> file_;
  uint64_t size_;
  const std::string& path_;
  std::string buf_;
  uint64_t buf_off_ = 0;  // file offset of buf_[0]
  uint64_t off_ = 0;      // the cursor (file offset)
  uint64_t crc_ = 0;
  uint64_t crc_off_ = 0;  // CRC covers [0, crc_off_)
};

Status FileSource::Fill(uint64_t n) {
  if (buf_off_ + buf_.size() >= off_ + n) return Status::Ok();
  if (off_ - buf_off_ >= (1u << 20)) {  // drop what was consumed (checksummed first)
    Crc();
    buf_.erase(0, size_t(off_ - buf_off_));
    buf_off_ = off_;
  }
  while (buf_off_ + buf_.size() < off_ + n) {
    uint64_t end = buf_off_ + buf_.size();  // read 1 MB at a time (or what the file has left)
    size_t want =
        size_t(std::max<uint64_t>(std::min<uint64_t>(1u << 20, size_ - end), off_ + n - end));
    size_t old = buf_.size();
    buf_.resize(old + want);
    auto r = file_->Read(want, buf_.data() + old);
    if (!r.ok()) {
      buf_.resize(old);
      return r.status();
    }
    buf_.resize(old + r.value());
    if (r.value() == 0) {
      return Status::Corruption(
          fmt::format("{}: the file ended at offset {} while reading (it was {} bytes "
                      "when opened)",
                      path_, buf_off_ + buf_.size(), size_));
    }
  }
  return Status::Ok();
}

class Reader {
 public:
  Reader(FileSystem* fs, const std::string& path,
         const std::function<Status(const ckpt::Record&)>& fn, RdbStats* stats)
      : fs_(fs), path_(path), fn_(fn), st_(*stats) {}
  Status Run();

 private:
  Status Emit(const std::string& key, RdbItems* it);

  FileSystem* fs_;
  const std::string& path_;
  const std::function<Status(const ckpt::Record&)>& fn_;
  RdbStats& st_;
  uint64_t key_off_ = 0;
  uint32_t db_ = 0;
  int64_t expire_ms_ = 0;
  std::string value_;
  std::unique_ptr<FileSource> src_;
  std::unique_ptr<ValueDecoder> dec_;
};

Status Reader::Emit(const std::string& key, RdbItems* it) {
  if (it->count() == 0) {
    st_.empty_skipped++;
    return Status::Ok();
  }
  if (Status s = ItemsToBlob(*it, &value_); !s.ok()) return dec_->Bad(key_off_, s.message());
  ckpt::Record r{db_, uint8_t(it->type), expire_ms_, key, value_};
  st_.keys++;
  if (expire_ms_) st_.with_expire++;
  return fn_(r);
}

Status Reader::Run() {
  auto f = fs_->NewSequentialFile(path_);
  if (!f.ok()) return f.status();
  auto size_or = fs_->GetFileSize(path_);
  if (!size_or.ok()) return size_or.status();
  uint64_t size = size_or.value();
  st_ = RdbStats{};
  if (size < 9) {
    return Status::Corruption(
        fmt::format("{}: not a Redis RDB file ({} bytes, shorter than the 9-byte header "
                    "at offset 0)",
                    path_, size));
  }
  src_ = std::make_unique<FileSource>(std::move(f.value()), size, path_);
  dec_ = std::make_unique<ValueDecoder>(src_.get(), path_);
  ValueDecoder& d = *dec_;
  const char* p;
  if (Status s = d.Take(9, &p); !s.ok()) return s;
  if (memcmp(p, "REDIS", 5) != 0) {
    return Status::Corruption(path_ + ": not a Redis RDB file (no \"REDIS\" magic at offset 0)");
  }
  uint32_t version = 0;
  for (int i = 5; i < 9; i++) {
    if (p[i] < '0' || p[i] > '9') {
      return Status::Corruption(fmt::format("{}: bad RDB version '{}' at offset 5", path_,
                                            Printable(std::string_view(p + 5, 4))));
    }
    version = version * 10 + uint32_t(p[i] - '0');
  }
  st_.version = version;
  if (version < kMinReadVersion || version > kMaxReadVersion) {
    return Status::NotSupported(
        fmt::format("{}: RDB version {} at offset 5; this build reads versions {}..{}", path_,
                    version, kMinReadVersion, kMaxReadVersion));
  }
  std::string key, a, b;
  RdbItems items;
  while (true) {
    uint64_t at = d.offset();
    uint8_t op;
    if (Status s = d.U8(&op); !s.ok()) return s;
    switch (op) {
      case kOpEof: {
        uint64_t crc = src_->Crc();
        if (version >= 5) {
          uint64_t sum_at = d.offset();
          if (Status s = d.Take(8, &p); !s.ok()) return s;
          st_.checksum = DecodeFixed64(p);
          if (st_.checksum != 0 && st_.checksum != crc) {
            return Status::Corruption(
                fmt::format("{}: checksum mismatch: the file says {:016x}, its bytes give "
                            "{:016x} (checksum at offset {})",
                            path_, st_.checksum, crc, sum_at));
          }
          st_.checksum_verified = st_.checksum != 0;
        }
        if (d.left() != 0) {
          return Status::Corruption(
              fmt::format("{}: {} unexpected bytes after the end of the dump at offset {}", path_,
                          d.left(), d.offset()));
        }
        st_.bytes = size;
        return Status::Ok();
      }
      case kOpAux:
        if (Status s = d.String(&a, "AUX field name"); !s.ok()) return s;
        if (Status s = d.String(&b, "AUX field value"); !s.ok()) return s;
        st_.aux.emplace_back(std::move(a), std::move(b));
        continue;
      case kOpSelectDb: {
        uint64_t db;
        if (Status s = d.PlainLen(&db, "database number"); !s.ok()) return s;
        if (db > UINT32_MAX) return d.Bad(at, fmt::format("database number {} out of range", db));
        db_ = uint32_t(db);
        continue;
      }
      case kOpResizeDb: {
        uint64_t n1, n2;
        if (Status s = d.PlainLen(&n1, "RESIZEDB size"); !s.ok()) return s;
        if (Status s = d.PlainLen(&n2, "RESIZEDB expires size"); !s.ok()) return s;
        continue;
      }
      case kOpSlotInfo: {
        uint64_t n1, n2, n3;
        if (Status s = d.PlainLen(&n1, "slot"); !s.ok()) return s;
        if (Status s = d.PlainLen(&n2, "slot size"); !s.ok()) return s;
        if (Status s = d.PlainLen(&n3, "slot expires size"); !s.ok()) return s;
        continue;
      }
      case kOpExpireMs: {
        if (Status s = d.Take(8, &p); !s.ok()) return s;
        auto ms = int64_t(DecodeFixed64(p));
        expire_ms_ = ms > 0 ? ms : 1;  // at or before the epoch: long expired, not "no expiry"
        continue;
      }
      case kOpExpireSec: {
        if (Status s = d.Take(4, &p); !s.ok()) return s;
        auto sec = int32_t(DecodeFixed32(p));
        expire_ms_ = sec > 0 ? int64_t(sec) * 1000 : 1;
        continue;
      }
      case kOpFreq: {
        uint8_t freq;
        if (Status s = d.U8(&freq); !s.ok()) return s;
        continue;
      }
      case kOpIdle: {
        uint64_t idle;
        if (Status s = d.PlainLen(&idle, "idle time"); !s.ok()) return s;
        continue;
      }
      case kOpModuleAux: {
        uint64_t module_id, when_op, when;
        if (Status s = d.PlainLen(&module_id, "module id"); !s.ok()) return s;
        if (Status s = d.PlainLen(&when_op, "module aux when-opcode"); !s.ok()) return s;
        if (when_op != 2)  // the module serializer's "unsigned integer" opcode
          return d.Bad(at, fmt::format("module aux data with when-opcode {}", when_op));
        if (Status s = d.PlainLen(&when, "module aux when"); !s.ok()) return s;
        if (Status s = d.SkipModuleValue(at); !s.ok()) return s;
        st_.module_aux_skipped++;
        continue;
      }
      case kOpFunction2:
      case kOpFunctionPreGa: {
        if (op == kOpFunctionPreGa) {
          // 7.0 release candidates: name, engine, [description], code. Redis rebuilds the
          // metadata line from them (and drops the description).
          std::string name, engine, desc;
          uint64_t has_desc;
          if (Status s = d.String(&name, "function library name"); !s.ok()) return s;
          if (Status s = d.String(&engine, "function engine name"); !s.ok()) return s;
          if (Status s = d.PlainLen(&has_desc, "function description flag"); !s.ok()) return s;
          if (has_desc) {
            if (Status s = d.String(&desc, "function description"); !s.ok()) return s;
          }
          if (Status s = d.String(&b, "function library code"); !s.ok()) return s;
          a = "#!" + engine + " name=" + name + "\n" + b;
        } else if (Status s = d.String(&a, "function library"); !s.ok()) {
          return s;
        }
        st_.functions++;
        std::string lib = FunctionLibraryName(a);
        ckpt::Record r{0, ckpt::kFunctionLibrary, 0, lib, a};
        if (Status s = fn_(r); !s.ok()) return s;
        continue;
      }
      default:
        break;
    }
    // A key: value type, key, value.
    bool known = op <= kTHashListpackEx && op != 8;
    if (!known) return d.Bad(at, fmt::format("unknown value type or opcode {}", op));
    if (Status s = d.String(&key, "key"); !s.ok()) return s;
    d.SetKey(&key, op, at);
    key_off_ = at;
    const char* unsupported = nullptr;
    if (op == kTModulePreGa || op == kTModule2) {
      unsupported = "module values are not supported by this build";
    } else if (op >= kTHashMetadataPreGa) {
      unsupported = "hashes with field expiration are not supported by this build";
    }
    if (unsupported) {
      return Status::NotSupported(fmt::format("{}: key '{}' (db {}, RDB type {}) at offset {}: {}",
                                              path_, Printable(key), db_, op, at, unsupported));
    }
    if (IsStreamType(op)) {
      auto v = ReadRdbStream(d, op);
      if (!v.ok()) return v.status();
      value_.clear();
      EncodeStream(*v.value().As<StreamObject>(), &value_);
      ckpt::Record r{db_, uint8_t(ValueType::kStream), expire_ms_, key, value_};
      st_.keys++;
      if (expire_ms_) st_.with_expire++;
      if (Status s = fn_(r); !s.ok()) return s;
    } else if (op == kTString) {
      if (Status s = d.String(&a, "string value"); !s.ok()) return s;
      ckpt::Record r{db_, uint8_t(ValueType::kString), expire_ms_, key, a};
      st_.keys++;
      if (expire_ms_) st_.with_expire++;
      if (Status s = fn_(r); !s.ok()) return s;
    } else {
      items.Clear();
      if (Status s = d.ReadCollection(op, &items); !s.ok()) return s;
      if (Status s = Emit(key, &items); !s.ok()) return s;
    }
    d.SetKey(nullptr, 0, 0);
    expire_ms_ = 0;
  }
}

}  // namespace

// The name in a library's `#!<engine> name=<name>` line ("" if it has none).
std::string FunctionLibraryName(std::string_view code) {
  std::string_view line = code.substr(0, code.find('\n'));
  size_t at = 0;
  while (at < line.size()) {
    size_t end = line.find(' ', at);
    if (end == std::string_view::npos) end = line.size();
    std::string_view word = line.substr(at, end - at);
    if (word.size() > 5 && strncasecmp(word.data(), "name=", 5) == 0)
      return std::string(word.substr(5));
    at = end + 1;
  }
  return "";
}

Status ReadRedisRdb(FileSystem* fs, const std::string& path,
                    const std::function<Status(const ckpt::Record&)>& fn, RdbStats* stats) {
  RdbStats local;
  Reader r(fs, path, fn, stats ? stats : &local);
  return r.Run();
}

// ---- the writer ----

namespace {

constexpr size_t kFlushAt = 1 << 20;

}  // namespace

RedisRdbWriter::RedisRdbWriter(std::unique_ptr<WritableFile> out, RdbWriterOptions opts)
    : out_(std::move(out)), opts_(std::move(opts)) {}

void RedisRdbWriter::HintDbSize(uint32_t db, uint64_t keys, uint64_t expires) {
  hints_[db] = {keys, expires};
}

void RedisRdbWriter::PutString(std::string_view s) {
  rdb::PutString(&buf_, s, opts_.compress, &scratch_);
}

Status RedisRdbWriter::Flush(bool force) {
  if (!force && buf_.size() < kFlushAt) return Status::Ok();
  crc_ = Crc64(crc_, buf_.data(), buf_.size());
  Status st = out_->Append(buf_);
  buf_.clear();
  return st;
}

Status RedisRdbWriter::Begin() {
  buf_ = fmt::format("REDIS{:04d}", kWriteVersion);
  auto aux = [&](std::string_view k, std::string_view v) {
    buf_.push_back(char(kOpAux));
    PutString(k);
    PutString(v);
  };
  aux("redis-ver", opts_.redis_ver);
  aux("redis-bits", "64");
  aux("ctime", std::to_string(opts_.ctime_s ? opts_.ctime_s : int64_t(time(nullptr))));
  aux("used-mem", "0");
  aux("aof-base", "0");
  return Flush(false);
}

Status RedisRdbWriter::Add(const ckpt::Record& r) {
  if (r.type == ckpt::kFunctionLibrary) {  // not in a database: no SELECTDB
    buf_.push_back(char(kOpFunction2));
    PutString(r.value);
    functions_++;
    return Flush(false);
  }
  if (!have_db_ || r.db != db_) {
    buf_.push_back(char(kOpSelectDb));
    PutLen(&buf_, r.db);
    auto hint = hints_.find(r.db);
    if (hint != hints_.end() && !resized_[r.db]) {
      buf_.push_back(char(kOpResizeDb));
      PutLen(&buf_, hint->second.first);
      PutLen(&buf_, hint->second.second);
    }
    resized_[r.db] = true;
    have_db_ = true;
    db_ = r.db;
  }
  size_t mark = buf_.size();
  auto head = [&](uint8_t type) {
    if (r.expire_ms) {
      buf_.push_back(char(kOpExpireMs));
      PutFixed64(&buf_, uint64_t(r.expire_ms));
    }
    buf_.push_back(char(type));
    PutString(r.key);
  };
  // what names the problem and its byte offset (types/serialize.h, types/stream.h).
  auto bad = [&](std::string_view what) {
    buf_.resize(mark);
    return Status::Corruption(
        fmt::format("key '{}' (db {}): malformed value: {}", Printable(r.key), r.db, what));
  };
  ValueType t = ValueType(r.type);
  if (t == ValueType::kString) {
    head(kTString);
    PutString(r.value);
  } else if (t == ValueType::kList || t == ValueType::kSet || t == ValueType::kZSet ||
             t == ValueType::kHash) {
    uint8_t rdb_type = t == ValueType::kList   ? kTList
                       : t == ValueType::kSet  ? kTSet
                       : t == ValueType::kZSet ? kTZSet2
                                               : kTHash;
    bool empty = false;
    Status st = WalkCollectionBlob(
        t, r.value,
        [&](uint64_t n) -> const char* {
          empty = n == 0;
          if (empty) return nullptr;
          head(rdb_type);
          PutLen(&buf_, n);
          return nullptr;
        },
        [&](std::string_view a, std::string_view b, double score) -> const char* {
          PutString(a);
          if (t == ValueType::kHash) PutString(b);
          if (t == ValueType::kZSet) PutBinaryDouble(&buf_, score);
          return nullptr;
        });
    if (!st.ok()) return bad(st.message());
    if (empty) {
      empty_skipped_++;
      return Status::Ok();
    }
  } else if (t == ValueType::kStream) {
    auto v = DecodeStream(r.value);
    if (!v.ok()) return bad(v.status().message());
    std::string body;
    EncodeRdbStream(*v.value().As<StreamObject>(), opts_.compress, &body);
    head(uint8_t(body[0]));  // the type byte and the key, then the value
    buf_.append(body, 1);
  } else {
    return Status::NotSupported(
        fmt::format("key '{}' (db {}): value type {} cannot be written to a Redis RDB",
                    Printable(r.key), r.db, r.type));
  }
  keys_++;
  return Flush(false);
}

Status RedisRdbWriter::Finish() {
  buf_.push_back(char(kOpEof));
  if (Status st = Flush(true); !st.ok()) return st;
  std::string sum;
  PutFixed64(&sum, crc_);
  if (Status st = out_->Append(sum); !st.ok()) return st;
  if (Status st = out_->Sync(); !st.ok()) return st;
  return out_->Close();
}

}  // namespace ferrite::rdb
