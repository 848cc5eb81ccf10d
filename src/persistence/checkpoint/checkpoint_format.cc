#include "persistence/checkpoint/checkpoint_format.h"

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <fmt/format.h>
#include <lz4.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <vector>

#include "base/coding.h"

namespace ferrite::ckpt {
namespace {

// The most an lz4 block of n bytes can decode to (a match's length bytes add 255 each):
// a larger raw length is refused before its buffer is allocated.
uint64_t MaxLz4Output(size_t n) { return uint64_t(n) * 255 + 16; }

XXH3_state_t* State(const std::shared_ptr<void>& p) { return static_cast<XXH3_state_t*>(p.get()); }

}  // namespace

// The blocks handed to the runner and not yet written, and the first write error.
struct Writer::Queue {
  std::unique_ptr<TaskRunner> own_runner;  // when the options name none
  TaskRunner* runner = nullptr;
  Mutex mu;
  CondVar cv;  // a block was written
  size_t outstanding GUARDED_BY(mu) = 0;
  bool cancelled GUARDED_BY(mu) = false;  // the writer is being destroyed: write nothing more
  Status error GUARDED_BY(mu) = Status::Ok();
};

Status Writer::WriteBlock(uint8_t type, std::string_view payload) {
  std::string head;
  head.push_back(char(type));
  PutFixed32(&head, uint32_t(payload.size()));
  XXH3_state_t block;
  XXH3_64bits_reset(&block);
  XXH3_64bits_update(&block, head.data(), head.size());
  XXH3_64bits_update(&block, payload.data(), payload.size());
  std::string tail;
  PutFixed64(&tail, XXH3_64bits_digest(&block));
  for (std::string_view part : {std::string_view(head), payload, std::string_view(tail)}) {
    XXH3_64bits_update(State(file_hash_), part.data(), part.size());
    if (Status st = out_->Append(part); !st.ok()) return st;
  }
  return Status::Ok();
}

Status Writer::Begin(const Header& h) {
  file_hash_ = std::shared_ptr<void>(
      XXH3_createState(), [](void* s) { XXH3_freeState(static_cast<XXH3_state_t*>(s)); });
  XXH3_64bits_reset(State(file_hash_));
  std::string start(kMagic, 8);
  PutFixed32(&start, kVersion);
  XXH3_64bits_update(State(file_hash_), start.data(), start.size());
  if (Status st = out_->Append(start); !st.ok()) return st;
  std::string payload;
  PutFixed64(&payload, uint64_t(h.created_ms));
  PutFixed64(&payload, h.aof_offset);
  PutFixed32(&payload, h.databases);
  PutFixed32(&payload, h.flags);
  if (Status st = WriteBlock(kHeader, payload); !st.ok()) return st;
  if (h.aof_id != 0) {
    std::string link;
    PutFixed64(&link, h.aof_id);
    if (Status st = WriteBlock(kAofLink, link); !st.ok()) return st;
  }
  if (!h.repl_id.empty()) {
    std::string repl;
    repl.push_back(char(uint8_t(h.repl_id.size())));
    repl.append(h.repl_id);
    PutFixed64(&repl, h.repl_offset);
    PutFixed32(&repl, h.repl_db);
    if (Status st = WriteBlock(kReplInfo, repl); !st.ok()) return st;
  }
  block_.reserve(kBlockTarget + 1024);
  if (options_.threaded) {
    queue_ = std::make_unique<Queue>();
    queue_->runner = options_.runner;
    if (!queue_->runner) {
      queue_->own_runner = std::make_unique<TaskRunner>("ckpt-writer", 1);
      queue_->runner = queue_->own_runner.get();
    }
  }
  return Status::Ok();
}

Writer::Writer(std::unique_ptr<WritableFile> out, WriterOptions options)
    : out_(std::move(out)), options_(options) {}

Writer::~Writer() {
  if (queue_) {
    {
      MutexLock l(&queue_->mu);
      queue_->cancelled = true;
    }
    (void)DrainQueue();  // the jobs still queued reference this writer
  }
}

Status Writer::DrainQueue() {
  Queue& q = *queue_;
  MutexLock l(&q.mu);
  while (q.outstanding > 0) q.cv.Wait(&q.mu);
  return q.error;
}

Status Writer::WriteData(uint8_t type, std::string_view raw) {
  // A value chunk keeps its flags byte in front of the (compressed) bytes.
  size_t pre = type == kValueChunk ? 1 : 0;
  std::string_view body = raw.substr(pre);
  if (options_.lz4 && body.size() > 64) {
    int bound = LZ4_compressBound(int(body.size()));
    lz4_buf_.resize(pre + 4 + size_t(bound));
    if (pre) lz4_buf_[0] = raw[0];
    uint32_t raw_len = uint32_t(body.size());
    EncodeFixed32(lz4_buf_.data() + pre, raw_len);
    int n = LZ4_compress_default(body.data(), lz4_buf_.data() + pre + 4, int(body.size()), bound);
    if (n > 0 && size_t(n) + 4 < body.size()) {
      return WriteBlock(type == kValueChunk ? kValueChunkLz4 : kEntriesLz4,
                        std::string_view(lz4_buf_.data(), pre + 4 + size_t(n)));
    }
  }
  return WriteBlock(type, raw);
}

Status Writer::Submit(uint8_t type, std::string block) {
  if (!queue_) return WriteData(type, block);
  Queue& q = *queue_;
  {
    MutexLock l(&q.mu);
    // Back-pressure: the encoder (the loop) waits while the disk is queue_blocks behind.
    while (q.outstanding >= options_.queue_blocks && q.error.ok()) q.cv.Wait(&q.mu);
    if (!q.error.ok()) return q.error;
    q.outstanding++;
  }
  q.runner->Schedule([this, type, block = std::move(block)] {
    Queue& qq = *queue_;
    bool skip;
    {
      MutexLock l(&qq.mu);
      skip = qq.cancelled || !qq.error.ok();
    }
    // One runner thread: blocks are written in order, and only by it, until Finish.
    Status st = skip ? Status::Ok() : WriteData(type, block);
    MutexLock l(&qq.mu);
    if (!st.ok() && qq.error.ok()) qq.error = st;
    qq.outstanding--;
    qq.cv.SignalAll();
  });
  return Status::Ok();
}

void Writer::PutHead(const Record& r) {
  PutVarint64(&block_, r.db);
  block_.push_back(char(r.type));
  block_.push_back(char(r.expire_ms ? 1 : 0));
  if (r.expire_ms) PutFixed64(&block_, uint64_t(r.expire_ms));
  PutVarint64(&block_, r.key.size());
  block_.append(r.key);
}

Status Writer::BeginValue(const Record& head) {
  if (in_value_)
    return Status::InvalidArgument("checkpoint writer: BeginValue inside a streamed value");
  Record r = head;
  r.type = uint8_t(r.type | kChunkedFlag);
  PutHead(r);
  keys_++;
  in_value_ = true;
  chunk_.assign(1, '\0');
  chunk_.reserve(kBlockTarget + 1);
  Status st = Submit(kEntries, std::move(block_));  // the record ends its block
  block_ = std::string();
  block_.reserve(kBlockTarget + 1024);
  return st;
}

Status Writer::SubmitChunk(bool last) {
  chunk_[0] = char(last ? kChunkLast : 0);
  Status st = Submit(kValueChunk, std::move(chunk_));
  chunk_ = std::string(1, '\0');
  chunk_.reserve(kBlockTarget + 1);
  return st;
}

Status Writer::AppendValue(std::string_view bytes) {
  if (!in_value_)
    return Status::InvalidArgument("checkpoint writer: AppendValue outside a streamed value");
  while (!bytes.empty()) {
    size_t take = std::min(bytes.size(), kBlockTarget + 1 - chunk_.size());
    chunk_.append(bytes.data(), take);
    bytes.remove_prefix(take);
    if (chunk_.size() == kBlockTarget + 1) {
      if (Status st = SubmitChunk(false); !st.ok()) return st;
    }
  }
  return Status::Ok();
}

Status Writer::EndValue() {
  if (!in_value_)
    return Status::InvalidArgument("checkpoint writer: EndValue outside a streamed value");
  in_value_ = false;
  Status st = SubmitChunk(true);
  chunk_.clear();
  chunk_.shrink_to_fit();
  return st;
}

Status Writer::Add(const Record& r) {
  if (in_value_) return Status::InvalidArgument("checkpoint writer: Add inside a streamed value");
  PutHead(r);
  PutVarint64(&block_, r.value.size());
  block_.append(r.value);
  keys_++;
  if (block_.size() >= kBlockTarget) {
    Status st = Submit(kEntries, std::move(block_));
    block_ = std::string();
    block_.reserve(kBlockTarget + 1024);
    return st;
  }
  return Status::Ok();
}

Status Writer::Finish() {
  if (in_value_)
    return Status::InvalidArgument("checkpoint writer: Finish inside a streamed value");
  if (queue_) {  // the queued blocks first; the rest is written here, on this thread
    // (never queued: Finish may itself be a job of the runner, behind which nothing runs)
    Status err = DrainQueue();
    queue_.reset();
    if (!err.ok()) return err;
  }
  if (!block_.empty()) {
    if (Status st = WriteData(kEntries, block_); !st.ok()) return st;
    block_.clear();
  }
  std::string footer;
  PutFixed64(&footer, keys_);
  PutFixed64(&footer, XXH3_64bits_digest(State(file_hash_)));
  if (Status st = WriteBlock(kFooter, footer); !st.ok()) return st;
  if (Status st = out_->Sync(); !st.ok()) return st;
  return out_->Close();
}

namespace {
Status ReadImpl(FileSystem* fs, const std::string& path, bool verify,
                const std::function<Status(const Record&)>& fn, ReadStats* stats, bool header_only,
                bool prefix = false);

class BorrowedFile final : public WritableFile {
 public:
  explicit BorrowedFile(WritableFile* t) : t_(t) {}
  Status Append(std::string_view data) override { return t_->Append(data); }
  Status Flush() override { return t_->Flush(); }
  Status Sync() override { return t_->Flush(); }
  Status SyncData() override { return Status::Ok(); }
  Status Close() override { return t_->Flush(); }
  uint64_t Size() const override { return t_->Size(); }
  Status Truncate(uint64_t size) override { return t_->Truncate(size); }
  const std::string& path() const override { return t_->path(); }

 private:
  WritableFile* t_;
};
}  // namespace

std::unique_ptr<WritableFile> Borrow(WritableFile* target) {
  return std::make_unique<BorrowedFile>(target);
}

Status Read(FileSystem* fs, const std::string& path, bool verify,
            const std::function<Status(const Record&)>& fn, ReadStats* stats) {
  return ReadImpl(fs, path, verify, fn, stats, false);
}

Status ReadPrefix(FileSystem* fs, const std::string& path, bool verify,
                  const std::function<Status(const Record&)>& fn, ReadStats* stats) {
  return ReadImpl(fs, path, verify, fn, stats, false, true);
}

Status ReadHeader(FileSystem* fs, const std::string& path, Header* header) {
  ReadStats rs;
  Status st = ReadImpl(fs, path, true, nullptr, &rs, true);
  *header = rs.header;
  return st;
}

namespace {
Status ReadImpl(FileSystem* fs, const std::string& path, bool verify,
                const std::function<Status(const Record&)>& fn, ReadStats* stats, bool header_only,
                bool prefix) {
  auto f = fs->NewSequentialFile(path);
  if (!f.ok()) return f.status();
  auto size = fs->GetFileSize(path);
  if (!size.ok()) return size.status();
  uint64_t total = size.value();
  // Read the whole file in chunks into a rolling buffer, one block at a time.
  std::string buf;
  uint64_t buf_offset = 0;  // file offset of buf[0]
  // Read in 1 MB pieces (a small file in one piece: no 1 MB buffer for a 200-byte file).
  std::vector<char> chunk(size_t(std::min<uint64_t>(1 << 20, total + 1)));
  bool eof = false;
  auto need = [&](uint64_t off, uint64_t n) -> Status {
    while (buf_offset + buf.size() < off + n && !eof) {
      auto r = f.value()->Read(chunk.size(), chunk.data());
      if (!r.ok()) return r.status();
      if (r.value() == 0) eof = true;
      buf.append(chunk.data(), r.value());
    }
    if (buf_offset + buf.size() < off + n) {
      return Status::Corruption(
          fmt::format("{}: truncated at offset {} (file is {} bytes, {} more needed)", path, off,
                      total, off + n - total));
    }
    return Status::Ok();
  };
  XXH3_state_t file_hash;
  XXH3_64bits_reset(&file_hash);
  if (Status st = need(0, 12); !st.ok()) return st;
  if (memcmp(buf.data(), kMagic, 8) != 0) {
    return Status::Corruption(path + ": not a Ferrite checkpoint (bad magic at offset 0)");
  }
  uint32_t version = DecodeFixed32(buf.data() + 8);
  if (version > kVersion || version == 0) {
    return Status::NotSupported(
        fmt::format("{}: checkpoint format version {} at offset 8; this build reads version {}",
                    path, version, kVersion));
  }
  XXH3_64bits_update(&file_hash, buf.data(), 12);
  uint64_t off = 12;
  ReadStats st_local;
  ReadStats& rs = stats ? *stats : st_local;
  rs.version = version;
  bool header_seen = false;
  std::string inflated;  // decompressed lz4 entries
  // A streamed value being put together: its record (key copied, as the block holding it
  // is gone by then), the offset of that record's block, and the bytes so far.
  bool pending = false;
  Record pending_rec{};
  std::string pending_key, pending_value;
  uint64_t pending_off = 0;
  while (true) {
    if (buf_offset < off && off - buf_offset > (8u << 20)) {  // drop consumed bytes
      buf.erase(0, size_t(off - buf_offset));
      buf_offset = off;
    }
    if (Status s = need(off, 5); !s.ok()) return s;
    const char* h = buf.data() + (off - buf_offset);
    uint8_t type = uint8_t(h[0]);
    uint32_t len = DecodeFixed32(h + 1);
    if (off + 5 + uint64_t(len) + 8 > total) {
      return Status::Corruption(fmt::format(
          "{}: block at offset {} (type 0x{:02x}) claims {} bytes but the file ends at {}", path,
          off, type, len, total));
    }
    if (Status s = need(off, 5 + uint64_t(len) + 8); !s.ok()) return s;
    h = buf.data() + (off - buf_offset);
    uint64_t stored = DecodeFixed64(h + 5 + len);
    if (verify && XXH3_64bits(h, 5 + size_t(len)) != stored) {
      return Status::Corruption(
          fmt::format("{}: bad block at offset {} (type 0x{:02x}, {} bytes): "
                      "checksum mismatch",
                      path, off, type, len));
    }
    std::string_view payload(h + 5, len);
    Cursor c(payload);
    if (pending && type != kValueChunk && type != kValueChunkLz4 && !header_only) {
      return Status::Corruption(fmt::format(
          "{}: the streamed value of key '{}' (record in the block at offset {}) ends early: "
          "block at offset {} is type 0x{:02x}, not a value chunk",
          path, std::string(pending_key.substr(0, 64)), pending_off, off, type));
    }
    if (type == kFooter) {
      uint64_t keys, file_sum;
      if (!c.Fixed64(&keys) || !c.Fixed64(&file_sum)) {
        return Status::Corruption(fmt::format("{}: short footer at offset {}", path, off));
      }
      if (verify && file_sum != XXH3_64bits_digest(&file_hash)) {
        return Status::Corruption(
            fmt::format("{}: whole-file checksum mismatch (footer at offset {})", path, off));
      }
      if (keys != rs.keys) {
        return Status::Corruption(fmt::format(
            "{}: footer at offset {} says {} keys, the blocks hold {}", path, off, keys, rs.keys));
      }
      if (prefix) {
        rs.bytes = off + 5 + len + 8;
        return Status::Ok();
      }
      if (off + 5 + len + 8 != total) {
        return Status::Corruption(
            fmt::format("{}: {} unexpected bytes after the footer at offset {}", path,
                        total - (off + 5 + len + 8), off));
      }
      rs.bytes = total;
      return Status::Ok();
    }
    XXH3_64bits_update(&file_hash, h, 5 + size_t(len) + 8);
    rs.blocks++;
    if (type == kHeader) {
      uint64_t created, aof;
      if (!c.Fixed64(&created) || !c.Fixed64(&aof) || !c.Fixed32(&rs.header.databases) ||
          !c.Fixed32(&rs.header.flags)) {
        return Status::Corruption(fmt::format("{}: short header block at offset {}", path, off));
      }
      rs.header.created_ms = int64_t(created);
      rs.header.aof_offset = aof;
      header_seen = true;
    } else if (type == kAofLink) {
      if (!c.Fixed64(&rs.header.aof_id)) {
        return Status::Corruption(fmt::format("{}: short AOF link block at offset {}", path, off));
      }
    } else if (type == kReplInfo) {
      uint8_t n = 0;
      std::string_view id;
      if (!c.U8(&n) || n == 0 || n > 64 || !c.Bytes(n, &id) || !c.Fixed64(&rs.header.repl_offset) ||
          !c.Fixed32(&rs.header.repl_db)) {
        return Status::Corruption(
            fmt::format("{}: bad replication position block at offset {}", path, off));
      }
      rs.header.repl_id.assign(id);
    } else if ((type == kEntries || type == kEntriesLz4) && header_only) {
      return header_seen ? Status::Ok()
                         : Status::Corruption(fmt::format(
                               "{}: entries before the header at offset {}", path, off));
    } else if (type == kEntries || type == kEntriesLz4) {
      if (!header_seen)
        return Status::Corruption(
            fmt::format("{}: entries before the header at offset {}", path, off));
      if (type == kEntriesLz4) {
        uint32_t raw_len;
        if (!c.Fixed32(&raw_len) || raw_len > (1u << 30) ||
            uint64_t(raw_len) > MaxLz4Output(c.left())) {
          return Status::Corruption(
              fmt::format("{}: bad lz4 block header at offset {}", path, off));
        }
        inflated.resize(raw_len);
        int n = LZ4_decompress_safe(c.rest().data(), inflated.data(), int(c.left()), int(raw_len));
        if (n < 0 || uint32_t(n) != raw_len) {
          return Status::Corruption(
              fmt::format("{}: lz4 block at offset {} does not decompress "
                          "to its {} bytes",
                          path, off, raw_len));
        }
        payload = std::string_view(inflated.data(), raw_len);
        c = Cursor(payload);
      }
      while (!c.done()) {
        Record r{};
        uint64_t db, klen, vlen;
        uint8_t has_exp;
        uint64_t exp = 0;
        size_t at = c.pos();
        bool ok = c.Varint(&db) && c.U8(&r.type) && c.U8(&has_exp) &&
                  (!has_exp || c.Fixed64(&exp)) && c.Varint(&klen) && c.Bytes(klen, &r.key) &&
                  db < rs.header.databases;
        bool streamed = ok && (r.type & kChunkedFlag);
        if (ok && !streamed) ok = c.Varint(&vlen) && c.Bytes(vlen, &r.value);
        if (!ok || (streamed && !c.done())) {
          return Status::Corruption(fmt::format(
              "{}: malformed record in the block at offset {} (record at +{})", path, off, at));
        }
        r.db = uint32_t(db);
        r.expire_ms = int64_t(exp);
        if (streamed) {  // its value follows in value-chunk blocks
          pending = true;
          pending_rec = r;
          pending_rec.type = uint8_t(r.type & ~kChunkedFlag);
          pending_key.assign(r.key);
          pending_value.clear();
          pending_off = off;
          break;
        }
        rs.keys++;
        if (Status s = fn(r); !s.ok()) return s;
      }
    } else if (type == kValueChunk || type == kValueChunkLz4) {
      if (!pending) {
        return Status::Corruption(
            fmt::format("{}: value chunk at offset {} follows no streamed record", path, off));
      }
      uint8_t flags;
      if (!c.U8(&flags))
        return Status::Corruption(fmt::format("{}: empty value chunk at offset {}", path, off));
      if (type == kValueChunkLz4) {
        uint32_t raw_len;
        if (!c.Fixed32(&raw_len) || raw_len > (1u << 30) ||
            uint64_t(raw_len) > MaxLz4Output(c.left())) {
          return Status::Corruption(
              fmt::format("{}: bad lz4 chunk header at offset {}", path, off));
        }
        size_t at = pending_value.size();
        pending_value.resize(at + raw_len);
        int n = LZ4_decompress_safe(c.rest().data(), pending_value.data() + at, int(c.left()),
                                    int(raw_len));
        if (n < 0 || uint32_t(n) != raw_len) {
          return Status::Corruption(
              fmt::format("{}: lz4 value chunk at offset {} does not decompress "
                          "to its {} bytes",
                          path, off, raw_len));
        }
      } else {
        pending_value.append(c.rest());
      }
      if (flags & kChunkLast) {
        pending = false;
        pending_rec.key = pending_key;
        pending_rec.value = pending_value;
        rs.keys++;
        rs.streamed++;
        if (Status s = fn(pending_rec); !s.ok()) return s;
        pending_value.clear();
        if (pending_value.capacity() > (4u << 20)) pending_value.shrink_to_fit();
      }
    } else if (type < 0x80) {
      return Status::NotSupported(fmt::format(
          "{}: unknown block type 0x{:02x} at offset {} (not optional)", path, type, off));
    }
    off += 5 + uint64_t(len) + 8;
  }
}
}  // namespace

}  // namespace ferrite::ckpt
