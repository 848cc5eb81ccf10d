#include "tier/segment.h"

#include <fmt/format.h>
#include <lz4.h>
#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "base/coding.h"

namespace ferrite::tier {
namespace {

uint32_t Checksum(const char* p, size_t n) { return uint32_t(XXH3_64bits(p, n)); }

constexpr int kZstdLevel = 3;

// The most an lz4 block of n bytes can decode to (a match's length bytes add 255 each).
uint64_t MaxLz4Output(size_t n) { return uint64_t(n) * 255 + 16; }

}  // namespace

Codec CodecFromName(std::string_view name) {
  if (name == "lz4") return Codec::kLz4;
  if (name == "zstd") return Codec::kZstd;
  return Codec::kNone;
}

const char* CodecName(Codec c) {
  switch (c) {
    case Codec::kLz4:
      return "lz4";
    case Codec::kZstd:
      return "zstd";
    default:
      return "none";
  }
}

std::string EncodeFileHeader(uint64_t id, Codec codec, int64_t created_ms) {
  std::string h(kSegMagic, 8);
  PutFixed32(&h, kSegVersion);
  h.push_back(char(codec));
  h.append(3, '\0');
  PutFixed64(&h, id);
  PutFixed64(&h, uint64_t(created_ms));
  return h;
}

Status ParseFileHeader(std::string_view b, const std::string& path, uint64_t* id, Codec* codec) {
  if (b.size() < kFileHeaderSize) {
    return Status::Corruption(
        fmt::format("{}: segment header truncated ({} of {} bytes) at offset 0", path, b.size(),
                    kFileHeaderSize));
  }
  if (memcmp(b.data(), kSegMagic, 8) != 0) {
    return Status::Corruption(
        fmt::format("{}: not a Ferrite tier segment (bad magic) at offset 0", path));
  }
  uint32_t version = DecodeFixed32(b.data() + 8);
  if (version == 0 || version > kSegVersion) {
    return Status::NotSupported(
        fmt::format("{}: segment format version {} is newer than this build reads ({})", path,
                    version, kSegVersion));
  }
  *codec = Codec(uint8_t(b[12]));
  *id = DecodeFixed64(b.data() + 16);
  return Status::Ok();
}

uint32_t EncodeRecord(std::string* out, uint16_t db, uint8_t type, std::string_view key,
                      std::string_view value, Codec codec) {
  size_t start = out->size();
  out->resize(start + kRecordHeaderSize);
  out->append(key);
  size_t vstart = out->size();
  Codec used = Codec::kNone;
  if (codec == Codec::kLz4 && value.size() >= 32 && value.size() < size_t(LZ4_MAX_INPUT_SIZE)) {
    int bound = LZ4_compressBound(int(value.size()));
    out->resize(vstart + size_t(bound));
    int n = LZ4_compress_default(value.data(), out->data() + vstart, int(value.size()), bound);
    if (n > 0 && size_t(n) < value.size()) {
      out->resize(vstart + size_t(n));
      used = Codec::kLz4;
    } else {
      out->resize(vstart);
    }
  } else if (codec == Codec::kZstd && value.size() >= 32) {
    size_t bound = ZSTD_compressBound(value.size());
    out->resize(vstart + bound);
    size_t n = ZSTD_compress(out->data() + vstart, bound, value.data(), value.size(), kZstdLevel);
    if (!ZSTD_isError(n) && n < value.size()) {
      out->resize(vstart + n);
      used = Codec::kZstd;
    } else {
      out->resize(vstart);
    }
  }
  if (used == Codec::kNone) out->append(value);
  char* h = out->data() + start;
  uint32_t key_len = uint32_t(key.size()), stored = uint32_t(out->size() - vstart),
           raw = uint32_t(value.size());
  EncodeFixed32(h + 4, key_len);
  EncodeFixed32(h + 8, stored);
  EncodeFixed32(h + 12, raw);
  EncodeFixed16(h + 16, db);
  h[18] = char(type);
  h[19] = char(used);
  uint32_t sum = Checksum(h + 4, out->size() - start - 4);
  EncodeFixed32(h, sum);
  return uint32_t(out->size() - start);
}

Result<RecordView> ParseRecord(const char* data, size_t avail, const std::string& path,
                               uint64_t offset) {
  auto bad = [&](const std::string& what) {
    return Status::Corruption(fmt::format("{}: record at offset {}: {}", path, offset, what));
  };
  if (avail < kRecordHeaderSize)
    return bad(fmt::format("truncated header ({} of {} bytes)", avail, kRecordHeaderSize));
  RecordView r;
  uint32_t key_len = DecodeFixed32(data + 4), stored = DecodeFixed32(data + 8);
  r.raw_len = DecodeFixed32(data + 12);
  r.db = DecodeFixed16(data + 16);
  r.type = uint8_t(data[18]);
  r.codec = Codec(uint8_t(data[19]));
  uint64_t total = uint64_t(kRecordHeaderSize) + key_len + stored;
  if (total > avail) return bad(fmt::format("truncated ({} bytes, {} present)", total, avail));
  if (Checksum(data + 4, size_t(total) - 4) != DecodeFixed32(data)) return bad("checksum mismatch");
  if (uint8_t(r.codec) > 2) return bad(fmt::format("unknown codec {}", uint8_t(r.codec)));
  r.key = std::string_view(data + kRecordHeaderSize, key_len);
  r.stored = std::string_view(data + kRecordHeaderSize + key_len, stored);
  r.length = uint32_t(total);
  return r;
}

Result<std::string_view> RecordValue(const RecordView& r, std::string* scratch,
                                     const std::string& path, uint64_t offset) {
  auto bad = [&](const char* what) {
    return Status::Corruption(fmt::format("{}: record at offset {}: {}", path, offset, what));
  };
  switch (r.codec) {
    case Codec::kNone:
      if (r.stored.size() != r.raw_len) return bad("stored length differs from value length");
      return r.stored;
    case Codec::kLz4: {
      // Refused before allocating: lz4 never expands a byte into more than 255.
      if (uint64_t(r.raw_len) > MaxLz4Output(r.stored.size()))
        return bad("value length larger than its lz4 data can hold");
      scratch->resize(r.raw_len);
      int n = LZ4_decompress_safe(r.stored.data(), scratch->data(), int(r.stored.size()),
                                  int(r.raw_len));
      if (n < 0 || uint32_t(n) != r.raw_len) return bad("lz4 data does not decompress");
      return std::string_view(*scratch);
    }
    case Codec::kZstd: {
      // The frame must state the value's length; the bytes are then decoded in steps
      // that grow the buffer only as far as real output arrives (a frame can legitimately
      // expand tens of thousands of times, but a claim alone allocates nothing).
      if (ZSTD_getFrameContentSize(r.stored.data(), r.stored.size()) != r.raw_len)
        return bad("value length differs from its zstd frame");
      std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
      if (!dctx) return bad("zstd data does not decompress");
      ZSTD_inBuffer in{r.stored.data(), r.stored.size(), 0};
      scratch->clear();
      size_t done = 0;
      while (true) {
        size_t want = std::min<size_t>(r.raw_len, std::max<size_t>(2 * done, 64 * 1024));
        scratch->resize(want);
        ZSTD_outBuffer out{scratch->data(), want, done};
        size_t consumed = in.pos;
        size_t ret = ZSTD_decompressStream(dctx.get(), &out, &in);
        if (ZSTD_isError(ret)) return bad("zstd data does not decompress");
        bool progress = out.pos != done || in.pos != consumed;
        done = out.pos;
        if (ret == 0) break;  // the frame is complete
        // No progress: the input ended early, or the frame holds more than its length.
        if (!progress) return bad("zstd data does not decompress");
      }
      if (done != r.raw_len || in.pos != in.size) return bad("zstd data does not decompress");
      scratch->resize(done);
      return std::string_view(*scratch);
    }
  }
  return bad("unknown codec");
}

Status ScanSegment(FileSystem* fs, const std::string& path,
                   const std::function<void(uint64_t offset, const RecordView& r)>& fn,
                   uint64_t* valid_end, uint64_t* file_size) {
  auto size = fs->GetFileSize(path);
  if (!size.ok()) return size.status();
  *file_size = size.value();
  auto file = fs->NewRandomAccessFile(path);
  if (!file.ok()) return file.status();
  std::string head(kFileHeaderSize, '\0');
  auto n = file.value()->Read(0, kFileHeaderSize, head.data());
  if (!n.ok()) return n.status();
  head.resize(n.value());
  uint64_t id;
  Codec codec;
  if (Status st = ParseFileHeader(head, path, &id, &codec); !st.ok()) return st;
  uint64_t off = kFileHeaderSize;
  std::string buf;
  size_t buf_off = 0;  // file offset of buf[0]
  constexpr size_t kChunk = 1 << 20;
  while (off < *file_size) {
    // Keep at least one whole record in buf.
    auto need_more = [&](size_t want) -> Status {
      if (off + want <= buf_off + buf.size()) return Status::Ok();
      buf.erase(0, size_t(off - buf_off));
      buf_off = off;
      size_t have = buf.size();
      // A chunk at a time, but no more than the file holds (a small file: a small buffer).
      uint64_t remaining = *file_size - off - have;
      size_t to_read = std::max<size_t>(want - have, size_t(std::min<uint64_t>(kChunk, remaining)));
      buf.resize(have + to_read);
      auto r = file.value()->Read(off + have, to_read, buf.data() + have);
      if (!r.ok()) return r.status();
      buf.resize(have + r.value());
      return Status::Ok();
    };
    if (Status st = need_more(kRecordHeaderSize); !st.ok()) return st;
    size_t avail = size_t(buf_off + buf.size() - off);
    if (avail >= kRecordHeaderSize) {
      uint64_t total = uint64_t(kRecordHeaderSize) +
                       DecodeFixed32(buf.data() + (off - buf_off) + 4) +
                       DecodeFixed32(buf.data() + (off - buf_off) + 8);
      if (total <= *file_size - off) {
        if (Status st = need_more(size_t(total)); !st.ok()) return st;
        avail = size_t(buf_off + buf.size() - off);
      }
    }
    auto rec = ParseRecord(buf.data() + (off - buf_off), avail, path, off);
    if (!rec.ok()) break;
    fn(off, rec.value());
    off += rec.value().length;
  }
  *valid_end = off;
  return Status::Ok();
}

}  // namespace ferrite::tier

namespace ferrite::tier {

struct SegmentFiles::Open {
  std::unique_ptr<RandomAccessFile> file;
  std::string path;
  std::string archived;  // object key, when only the marker is here
  uint64_t size = 0;
};

SegmentFiles::SegmentFiles(FileSystem* fs, std::string tier_dir, std::string cold_dir)
    : fs_(fs), tier_dir_(std::move(tier_dir)), cold_dir_(std::move(cold_dir)) {}
SegmentFiles::~SegmentFiles() = default;

bool SegmentFiles::ParseRef(std::string_view ref, uint32_t* segment, uint32_t* offset,
                            uint32_t* length) {
  if (ref.size() != 12) return false;
  *segment = DecodeFixed32(ref.data());
  *offset = DecodeFixed32(ref.data() + 4);
  *length = DecodeFixed32(ref.data() + 8);
  return true;
}

Result<std::string> SegmentFiles::ReadValue(std::string_view ref, std::string_view key,
                                            std::string* where) {
  uint32_t id, off, len;
  if (!ParseRef(ref, &id, &off, &len)) {
    return Status::Corruption(
        fmt::format("key '{}': tier reference of {} bytes (expected 12)", key, ref.size()));
  }
  auto it = files_.find(id);
  if (it == files_.end()) {
    auto o = std::make_unique<Open>();
    std::string warm = fmt::format("{}/seg-{:08d}.warm", tier_dir_, id);
    std::string cold = fmt::format("{}/seg-{:08d}.cold", cold_dir_, id);
    std::string marker = fmt::format("{}/seg-{:08d}.archived", tier_dir_, id);
    for (const std::string& p : {warm, cold}) {
      if (!fs_->FileExists(p)) continue;
      auto f = fs_->NewRandomAccessFile(p);
      if (!f.ok()) return f.status();
      o->file = std::move(f.value());
      o->path = p;
      o->size = fs_->GetFileSize(p).value();
      break;
    }
    if (!o->file && fs_->FileExists(marker)) {
      auto f = fs_->NewSequentialFile(marker);
      if (f.ok()) {
        char buf[512];
        auto n = f.value()->Read(sizeof(buf), buf);
        std::string text(buf, n.ok() ? n.value() : 0);
        o->archived = text.substr(0, text.find('\n'));
      }
      o->path = marker;
    }
    if (!o->file && o->archived.empty()) {
      return Status::Corruption(
          fmt::format("key '{}' is in tier segment {}, but neither {} nor {} nor {} exists", key,
                      id, warm, cold, marker));
    }
    it = files_.emplace(id, std::move(o)).first;
  }
  Open& o = *it->second;
  *where = o.path;
  if (!o.file)
    return Status::NotFound(
        fmt::format("key '{}' is in archived segment {} (object {})", key, id, o.archived));
  if (uint64_t(off) + len > o.size) {
    return Status::Corruption(
        fmt::format("key '{}': {}: record at offset {} ({} bytes) is past the end of the file "
                    "({} bytes)",
                    key, o.path, off, len, o.size));
  }
  std::string raw(len, '\0');
  auto n = o.file->Read(off, len, raw.data());
  if (!n.ok()) return n.status();
  auto r = ParseRecord(raw.data(), n.value(), o.path, off);
  if (!r.ok()) return Status::Corruption(fmt::format("key '{}': {}", key, r.status().message()));
  if (r.value().key != key) {
    return Status::Corruption(fmt::format("key '{}': {}: record at offset {} holds key '{}'", key,
                                          o.path, off, std::string(r.value().key.substr(0, 64))));
  }
  std::string dec;
  auto v = RecordValue(r.value(), &dec, o.path, off);
  if (!v.ok()) return Status::Corruption(fmt::format("key '{}': {}", key, v.status().message()));
  return std::string(v.value());
}

}  // namespace ferrite::tier
