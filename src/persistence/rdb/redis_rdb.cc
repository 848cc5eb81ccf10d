#include "persistence/rdb/redis_rdb.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <unordered_set>

#include "base/strutil.h"
#include "types/value.h"

namespace ferrite::rdb {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the RDB reader and writer assume a little-endian host");

// ---- CRC-64/Jones, reflected, table-driven eight bytes at a time ----

constexpr uint64_t Reflect64(uint64_t v) {
  uint64_t r = 0;
  for (int i = 0; i < 64; i++) {
    r = (r << 1) | (v & 1);
    v >>= 1;
  }
  return r;
}
constexpr uint64_t kCrcPoly = Reflect64(0xad93d23594c935a9ULL);

struct CrcTables {
  uint64_t t[8][256];
  CrcTables() {
    for (uint64_t i = 0; i < 256; i++) {
      uint64_t c = i;
      for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ kCrcPoly : c >> 1;
      t[0][i] = c;
    }
    for (int k = 1; k < 8; k++) {
      for (int i = 0; i < 256; i++) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
    }
  }
};

const CrcTables& Tables() {
  static const CrcTables tables;
  return tables;
}

// ---- RDB constants ----

enum Opcode : uint8_t {
  kOpSlotInfo = 244,
  kOpFunction2 = 245,
  kOpFunctionPreGa = 246,
  kOpModuleAux = 247,
  kOpIdle = 248,
  kOpFreq = 249,
  kOpAux = 250,
  kOpResizeDb = 251,
  kOpExpireMs = 252,
  kOpExpireSec = 253,
  kOpSelectDb = 254,
  kOpEof = 255,
};

enum RdbType : uint8_t {
  kTString = 0,
  kTList = 1,
  kTSet = 2,
  kTZSet = 3,
  kTHash = 4,
  kTZSet2 = 5,
  kTModulePreGa = 6,
  kTModule2 = 7,
  kTHashZipmap = 9,
  kTListZiplist = 10,
  kTSetIntset = 11,
  kTZSetZiplist = 12,
  kTHashZiplist = 13,
  kTListQuicklist = 14,
  kTStreamListpacks = 15,
  kTHashListpack = 16,
  kTZSetListpack = 17,
  kTListQuicklist2 = 18,
  kTStreamListpacks2 = 19,
  kTSetListpack = 20,
  kTStreamListpacks3 = 21,
  kTHashMetadataPreGa = 22,
  kTHashListpackExPreGa = 23,
  kTHashMetadata = 24,
  kTHashListpackEx = 25,
};

// Module serialization opcodes (MODULE_AUX payloads).
enum ModuleOpcode : uint64_t {
  kModEof = 0,
  kModSint = 1,
  kModUint = 2,
  kModFloat = 3,
  kModDouble = 4,
  kModString = 5
};

uint16_t Le16(const char* p) {
  uint16_t v;
  memcpy(&v, p, 2);
  return v;
}
uint32_t Le32(const char* p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
uint64_t Le64(const char* p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}
uint32_t Be32(const char* p) { return __builtin_bswap32(Le32(p)); }
uint64_t Be64(const char* p) { return __builtin_bswap64(Le64(p)); }

// A key or detail for a message: at most 64 bytes, non-printable bytes as \xHH.
std::string Printable(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < 64; i++) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      out.push_back(char(c));
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  if (s.size() > 64) out += "...";
  return out;
}

// Redis parses scores kept as text with strtod; the whole text must be the number.
bool ParseScore(std::string_view s, double* out) {
  if (s.empty() || s.size() > 128) return false;
  char buf[130];
  memcpy(buf, s.data(), s.size());
  buf[s.size()] = 0;
  char* end;
  errno = 0;
  double v = strtod(buf, &end);
  if (end != buf + s.size() || std::isnan(v)) return false;
  *out = v;
  return true;
}

void PutVarint(std::string* s, uint64_t v) {
  while (v >= 0x80) {
    s->push_back(char(v | 0x80));
    v >>= 7;
  }
  s->push_back(char(v));
}

// ---- the compact encodings inside a value string: ziplist, listpack, intset, zipmap ----
// Each appends its elements (integers as decimal text) and returns false with *err set
// ("<what> at byte <n> of the <structure>") when the bytes do not describe one.

struct BlobParser {
  std::string_view b;
  const char* name;
  std::string* err;
  bool Fail(const char* what, size_t at) {
    *err = fmt::format("malformed {} ({} bytes): {} at byte {}", name, b.size(), what, at);
    return false;
  }
  bool Has(size_t at, size_t n) const { return at <= b.size() && b.size() - at >= n; }
  uint8_t Byte(size_t at) const { return static_cast<uint8_t>(b[at]); }
};

bool ParseZiplist(std::string_view z, std::vector<std::string>* out, std::string* err) {
  BlobParser bp{z, "ziplist", err};
  if (z.size() < 11) return bp.Fail("shorter than a ziplist header", 0);
  if (Le32(z.data()) != z.size()) return bp.Fail("zlbytes disagrees with the string's length", 0);
  if (Le32(z.data() + 4) >= z.size()) return bp.Fail("zltail points past the end", 4);
  uint16_t count = Le16(z.data() + 8);
  size_t p = 10, n = 0;
  while (true) {
    if (p >= z.size()) return bp.Fail("no end marker", p);
    if (bp.Byte(p) == 0xFF) {
      if (p != z.size() - 1) return bp.Fail("bytes after the end marker", p);
      break;
    }
    size_t entry = p;
    if (bp.Byte(p) < 254) {
      p += 1;
    } else {
      if (!bp.Has(p, 5)) return bp.Fail("truncated previous-length field", p);
      p += 5;
    }
    if (!bp.Has(p, 1)) return bp.Fail("truncated entry", entry);
    uint8_t enc = bp.Byte(p);
    uint64_t slen = 0;
    size_t hdr = 1;
    int ibytes = -1;  // integer payload size; -1 = a string
    int64_t ival = 0;
    switch (enc >> 6) {
      case 0:
        slen = enc & 0x3f;
        break;
      case 1:
        if (!bp.Has(p, 2)) return bp.Fail("truncated entry header", entry);
        slen = (uint64_t(enc & 0x3f) << 8) | bp.Byte(p + 1);
        hdr = 2;
        break;
      case 2:
        if (!bp.Has(p, 5)) return bp.Fail("truncated entry header", entry);
        slen = Be32(z.data() + p + 1);
        hdr = 5;
        break;
      default:
        if (enc == 0xC0)
          ibytes = 2;
        else if (enc == 0xD0)
          ibytes = 4;
        else if (enc == 0xE0)
          ibytes = 8;
        else if (enc == 0xF0)
          ibytes = 3;
        else if (enc == 0xFE)
          ibytes = 1;
        else if (enc >= 0xF1 && enc <= 0xFD) {
          ibytes = 0;
          ival = (enc & 0x0f) - 1;
        } else {
          return bp.Fail("unknown entry encoding", p);
        }
    }
    p += hdr;
    if (ibytes >= 0) {
      if (!bp.Has(p, size_t(ibytes))) return bp.Fail("truncated integer entry", entry);
      const char* d = z.data() + p;
      if (ibytes == 1)
        ival = int8_t(d[0]);
      else if (ibytes == 2)
        ival = int16_t(Le16(d));
      else if (ibytes == 3)
        ival = int32_t(uint32_t(uint8_t(d[0])) << 8 | uint32_t(uint8_t(d[1])) << 16 |
                       uint32_t(uint8_t(d[2])) << 24) >>
               8;
      else if (ibytes == 4)
        ival = int32_t(Le32(d));
      else if (ibytes == 8)
        ival = int64_t(Le64(d));
      out->push_back(FormatInt64(ival));
      p += size_t(ibytes);
    } else {
      if (!bp.Has(p, slen)) return bp.Fail("string entry runs past the end", entry);
      out->emplace_back(z.substr(p, size_t(slen)));
      p += size_t(slen);
    }
    n++;
  }
  if (count != 0xFFFF && count != n) return bp.Fail("zllen disagrees with the entries", 8);
  return true;
}

bool ParseListpack(std::string_view lp, std::vector<std::string>* out, std::string* err) {
  BlobParser bp{lp, "listpack", err};
  if (lp.size() < 7) return bp.Fail("shorter than a listpack header", 0);
  if (Le32(lp.data()) != lp.size())
    return bp.Fail("total-bytes disagrees with the string's length", 0);
  uint16_t count = Le16(lp.data() + 4);
  size_t p = 6, n = 0;
  while (true) {
    if (p >= lp.size()) return bp.Fail("no end marker", p);
    uint8_t b = bp.Byte(p);
    if (b == 0xFF) {
      if (p != lp.size() - 1) return bp.Fail("bytes after the end marker", p);
      break;
    }
    size_t hdr = 1;
    uint64_t slen = 0;
    int ibytes = -1;  // integer payload after the encoding byte; -1 = a string
    int64_t ival = 0;
    if ((b & 0x80) == 0) {
      ibytes = 0;
      ival = b & 0x7f;
    } else if ((b & 0xC0) == 0x80) {
      slen = b & 0x3f;
    } else if ((b & 0xE0) == 0xC0) {
      if (!bp.Has(p, 2)) return bp.Fail("truncated entry", p);
      uint32_t v = (uint32_t(b & 0x1f) << 8) | bp.Byte(p + 1);
      ival = v >= 4096 ? int64_t(v) - 8192 : int64_t(v);
      ibytes = 0;
      hdr = 2;
    } else if ((b & 0xF0) == 0xE0) {
      if (!bp.Has(p, 2)) return bp.Fail("truncated entry", p);
      slen = (uint64_t(b & 0x0f) << 8) | bp.Byte(p + 1);
      hdr = 2;
    } else if (b == 0xF0) {
      if (!bp.Has(p, 5)) return bp.Fail("truncated entry", p);
      slen = Le32(lp.data() + p + 1);
      hdr = 5;
    } else if (b >= 0xF1 && b <= 0xF4) {
      ibytes = b == 0xF1 ? 2 : b == 0xF2 ? 3 : b == 0xF3 ? 4 : 8;
    } else {
      return bp.Fail("unknown entry encoding", p);
    }
    uint64_t len = hdr + (ibytes >= 0 ? uint64_t(ibytes) : slen);
    if (!bp.Has(p, len)) return bp.Fail("entry runs past the end", p);
    const char* d = lp.data() + p + hdr;
    if (ibytes < 0) {
      out->emplace_back(d, size_t(slen));
    } else {
      if (ibytes == 2)
        ival = int16_t(Le16(d));
      else if (ibytes == 3)
        ival = int32_t(uint32_t(uint8_t(d[0])) << 8 | uint32_t(uint8_t(d[1])) << 16 |
                       uint32_t(uint8_t(d[2])) << 24) >>
               8;
      else if (ibytes == 4)
        ival = int32_t(Le32(d));
      else if (ibytes == 8)
        ival = int64_t(Le64(d));
      out->push_back(FormatInt64(ival));
    }
    // The entry's length again, 1..5 bytes: the first byte holds the high bits, every
    // later byte has its top bit set. Take the shortest form that states this length.
    size_t back = p + size_t(len);
    size_t bl = 0;
    for (size_t k = 1; k <= 5 && bl == 0; k++) {
      if (!bp.Has(back, k)) break;
      if (bp.Byte(back) & 0x80) break;
      uint64_t v = 0;
      bool flags_ok = true;
      for (size_t i = 0; i < k; i++) {
        uint8_t c = bp.Byte(back + i);
        if (i > 0 && !(c & 0x80)) flags_ok = false;
        v = (v << 7) | (c & 0x7f);
      }
      if (!flags_ok) break;
      if (v == len) bl = k;
    }
    if (bl == 0) return bp.Fail("entry length trailer does not match the entry", back);
    p = back + bl;
    n++;
  }
  if (count != 0xFFFF && count != n) return bp.Fail("num-elements disagrees with the entries", 4);
  return true;
}

bool ParseIntset(std::string_view s, std::vector<std::string>* out, std::string* err) {
  BlobParser bp{s, "intset", err};
  if (s.size() < 8) return bp.Fail("shorter than an intset header", 0);
  uint32_t width = Le32(s.data());
  if (width != 2 && width != 4 && width != 8) return bp.Fail("element width is not 2, 4 or 8", 0);
  uint64_t n = Le32(s.data() + 4);
  if (uint64_t(s.size()) - 8 != n * width)
    return bp.Fail("length disagrees with the string's length", 4);
  int64_t prev = 0;
  for (uint64_t i = 0; i < n; i++) {
    const char* d = s.data() + 8 + i * width;
    int64_t v = width == 2 ? int16_t(Le16(d)) : width == 4 ? int32_t(Le32(d)) : int64_t(Le64(d));
    if (i > 0 && v <= prev)
      return bp.Fail("elements not in strictly ascending order", size_t(8 + i * width));
    prev = v;
    out->push_back(FormatInt64(v));
  }
  return true;
}

bool ParseZipmap(std::string_view z, std::vector<std::string>* out, std::string* err) {
  BlobParser bp{z, "zipmap", err};
  if (z.size() < 2) return bp.Fail("shorter than a zipmap", 0);
  uint8_t zmlen = bp.Byte(0);
  size_t p = 1, pairs = 0;
  auto len = [&](uint64_t* v) {
    if (!bp.Has(p, 1)) return false;
    uint8_t c = bp.Byte(p);
    if (c < 254) {
      *v = c;
      p += 1;
      return true;
    }
    if (c != 254 || !bp.Has(p, 5)) return false;
    *v = Le32(z.data() + p + 1);
    p += 5;
    return true;
  };
  while (true) {
    if (p >= z.size()) return bp.Fail("no end marker", p);
    if (bp.Byte(p) == 0xFF) {
      if (p != z.size() - 1) return bp.Fail("bytes after the end marker", p);
      break;
    }
    size_t entry = p;
    uint64_t klen, vlen;
    if (!len(&klen) || !bp.Has(p, klen)) return bp.Fail("bad field", entry);
    std::string_view k = z.substr(p, size_t(klen));
    p += size_t(klen);
    if (!len(&vlen) || !bp.Has(p, 1)) return bp.Fail("bad value length", entry);
    uint8_t free_bytes = bp.Byte(p++);
    if (!bp.Has(p, vlen + free_bytes)) return bp.Fail("value runs past the end", entry);
    out->emplace_back(k);
    out->emplace_back(z.substr(p, size_t(vlen)));
    p += size_t(vlen) + free_bytes;
    pairs++;
  }
  if (zmlen < 254 && zmlen != pairs) return bp.Fail("pair count disagrees with the entries", 0);
  return true;
}

// ---- the reader ----

class Reader {
 public:
  Reader(FileSystem* fs, const std::string& path,
         const std::function<Status(const ckpt::Record&)>& fn, RdbStats* stats)
      : fs_(fs), path_(path), fn_(fn), st_(*stats) {}
  Status Run();

 private:
  // A collection as read: members (hash: field, value, field, value ...), scores for zsets.
  struct Items {
    ValueType type = ValueType::kNone;
    std::vector<std::string> items;
    std::vector<double> scores;
  };

  Status Bad(uint64_t at, std::string_view what) const {
    return Status::Corruption(fmt::format("{}: {} at offset {}{}", path_, what, at, Context()));
  }
  std::string Context() const {
    if (!key_) return "";
    return fmt::format(" (in key '{}', RDB type {}, at offset {})", Printable(*key_), key_type_,
                       key_off_);
  }
  uint64_t left() const { return size_ - off_; }

  Status Fill(uint64_t n);
  Status Take(size_t n, const char** p) {
    if (Status s = Fill(n); !s.ok()) return s;
    *p = buf_.data() + (off_ - buf_off_);
    off_ += n;
    return Status::Ok();
  }
  Status U8(uint8_t* v) {
    const char* p;
    if (Status s = Take(1, &p); !s.ok()) return s;
    *v = uint8_t(*p);
    return Status::Ok();
  }
  Status Len(uint64_t* v, bool* encoded);
  Status PlainLen(uint64_t* v, const char* what);
  Status Count(uint64_t* v, const char* what);
  Status String(std::string* out, const char* what);
  Status ScoreText(double* v);
  Status ScoreBinary(double* v);
  Status Blob(const char* name,
              bool (*parse)(std::string_view, std::vector<std::string>*, std::string*),
              std::vector<std::string>* out);
  Status SkipModuleValue(uint64_t at);
  Status ReadValue(uint8_t type, Items* it);
  Status Emit(const std::string& key, Items* it);

  FileSystem* fs_;
  const std::string& path_;
  const std::function<Status(const ckpt::Record&)>& fn_;
  RdbStats& st_;
  std::unique_ptr<SequentialFile> file_;
  uint64_t size_ = 0;
  std::string buf_;
  uint64_t buf_off_ = 0;  // file offset of buf_[0]
  uint64_t off_ = 0;      // the cursor (file offset)
  uint64_t crc_ = 0;
  uint64_t crc_off_ = 0;  // CRC covers [0, crc_off_)
  // The key being read, for messages.
  const std::string* key_ = nullptr;
  uint8_t key_type_ = 0;
  uint64_t key_off_ = 0;
  uint64_t string_off_ = 0;  // where the last String() began
  bool string_compressed_ = false;
  uint32_t db_ = 0;
  int64_t expire_ms_ = 0;
  std::string value_;
};

Status Reader::Fill(uint64_t n) {
  if (n > left()) {
    return Status::Corruption(
        fmt::format("{}: truncated: {} bytes needed at offset {}, but the file ends at {}{}", path_,
                    n, off_, size_, Context()));
  }
  if (buf_off_ + buf_.size() >= off_ + n) return Status::Ok();
  if (off_ - buf_off_ >= (1u << 20)) {  // drop what was consumed (checksummed first)
    crc_ = Crc64(crc_, buf_.data() + (crc_off_ - buf_off_), size_t(off_ - crc_off_));
    crc_off_ = off_;
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

Status Reader::Len(uint64_t* v, bool* encoded) {
  uint64_t at = off_;
  const char* p;
  if (Status s = Take(1, &p); !s.ok()) return s;
  uint8_t b = uint8_t(*p);
  *encoded = false;
  switch (b >> 6) {
    case 0:
      *v = b & 0x3f;
      return Status::Ok();
    case 1:
      if (Status s = Take(1, &p); !s.ok()) return s;
      *v = (uint64_t(b & 0x3f) << 8) | uint8_t(*p);
      return Status::Ok();
    case 2:
      if (b == 0x80) {
        if (Status s = Take(4, &p); !s.ok()) return s;
        *v = Be32(p);
        return Status::Ok();
      }
      if (b == 0x81) {
        if (Status s = Take(8, &p); !s.ok()) return s;
        *v = Be64(p);
        return Status::Ok();
      }
      return Bad(at, fmt::format("bad length byte 0x{:02x}", b));
    default:
      *encoded = true;
      *v = b & 0x3f;
      return Status::Ok();
  }
}

Status Reader::PlainLen(uint64_t* v, const char* what) {
  uint64_t at = off_;
  bool enc;
  if (Status s = Len(v, &enc); !s.ok()) return s;
  if (enc) return Bad(at, fmt::format("{}: expected a length, found a string encoding", what));
  return Status::Ok();
}

// A count of things that each take at least one byte: never more than what is left.
Status Reader::Count(uint64_t* v, const char* what) {
  uint64_t at = off_;
  if (Status s = PlainLen(v, what); !s.ok()) return s;
  if (*v > left()) {
    return Bad(
        at, fmt::format("{} {} is larger than the rest of the file ({} bytes)", what, *v, left()));
  }
  return Status::Ok();
}

Status Reader::String(std::string* out, const char* what) {
  uint64_t at = off_;
  string_off_ = at;
  string_compressed_ = false;
  uint64_t len;
  bool enc;
  if (Status s = Len(&len, &enc); !s.ok()) return s;
  const char* p;
  if (!enc) {
    if (len > left()) {
      return Bad(
          at,
          fmt::format("{} of {} bytes runs past the end of the file ({} bytes left: truncated or "
                      "damaged)",
                      what, len, left()));
    }
    if (Status s = Take(size_t(len), &p); !s.ok()) return s;
    out->assign(p, size_t(len));
    return Status::Ok();
  }
  int64_t v;
  switch (len) {
    case 0:
      if (Status s = Take(1, &p); !s.ok()) return s;
      v = int8_t(*p);
      break;
    case 1:
      if (Status s = Take(2, &p); !s.ok()) return s;
      v = int16_t(Le16(p));
      break;
    case 2:
      if (Status s = Take(4, &p); !s.ok()) return s;
      v = int32_t(Le32(p));
      break;
    case 3: {
      uint64_t clen, ulen;
      if (Status s = PlainLen(&clen, "LZF compressed length"); !s.ok()) return s;
      if (Status s = PlainLen(&ulen, "LZF original length"); !s.ok()) return s;
      if (clen > left()) {
        return Bad(at, fmt::format(
                           "{}: LZF data of {} bytes runs past the end of the file ({} bytes left: "
                           "truncated or damaged)",
                           what, clen, left()));
      }
      // A back reference of 3 bytes expands to at most 264: nothing decodes to more than 88x.
      if (ulen == 0 || clen == 0 || ulen / 88 > clen) {
        return Bad(at, fmt::format("{}: implausible LZF lengths (compressed {}, original {})", what,
                                   clen, ulen));
      }
      if (Status s = Take(size_t(clen), &p); !s.ok()) return s;
      out->resize(size_t(ulen));
      if (!LzfDecompress(std::string_view(p, size_t(clen)), out->data(), size_t(ulen))) {
        return Bad(at, fmt::format("{}: LZF data ({} bytes) does not decompress to {} bytes", what,
                                   clen, ulen));
      }
      string_compressed_ = true;
      return Status::Ok();
    }
    default:
      return Bad(at, fmt::format("{}: unknown string encoding {}", what, len));
  }
  *out = FormatInt64(v);
  return Status::Ok();
}

Status Reader::ScoreText(double* v) {
  uint64_t at = off_;
  uint8_t n;
  if (Status s = U8(&n); !s.ok()) return s;
  if (n == 253) return Bad(at, "NaN score");
  if (n == 254 || n == 255) {
    *v = n == 254 ? INFINITY : -INFINITY;
    return Status::Ok();
  }
  const char* p;
  if (Status s = Take(n, &p); !s.ok()) return s;
  if (!ParseScore(std::string_view(p, n), v)) {
    return Bad(at, fmt::format("score '{}' is not a number", Printable(std::string_view(p, n))));
  }
  return Status::Ok();
}

Status Reader::ScoreBinary(double* v) {
  uint64_t at = off_;
  const char* p;
  if (Status s = Take(8, &p); !s.ok()) return s;
  memcpy(v, p, 8);
  if (std::isnan(*v)) return Bad(at, "NaN score");
  return Status::Ok();
}

Status Reader::Blob(const char* name,
                    bool (*parse)(std::string_view, std::vector<std::string>*, std::string*),
                    std::vector<std::string>* out) {
  std::string blob, err;
  if (Status s = String(&blob, name); !s.ok()) return s;
  if (!parse(blob, out, &err)) {
    return Bad(string_off_,
               fmt::format("{} in the {}string", err, string_compressed_ ? "LZF-compressed " : ""));
  }
  return Status::Ok();
}

Status Reader::SkipModuleValue(uint64_t at) {
  std::string scratch;
  for (int guard = 0;; guard++) {
    uint64_t op;
    if (Status s = PlainLen(&op, "module opcode"); !s.ok()) return s;
    const char* p;
    switch (op) {
      case kModEof:
        return Status::Ok();
      case kModSint:
      case kModUint: {
        uint64_t v;
        if (Status s = PlainLen(&v, "module integer"); !s.ok()) return s;
        break;
      }
      case kModFloat:
        if (Status s = Take(4, &p); !s.ok()) return s;
        break;
      case kModDouble:
        if (Status s = Take(8, &p); !s.ok()) return s;
        break;
      case kModString:
        if (Status s = String(&scratch, "module string"); !s.ok()) return s;
        break;
      default:
        return Bad(at, fmt::format("module data with unknown opcode {}", op));
    }
  }
}

Status Reader::ReadValue(uint8_t type, Items* it) {
  uint64_t n;
  std::string a, b;
  switch (type) {
    case kTList:
    case kTSet:
      it->type = type == kTList ? ValueType::kList : ValueType::kSet;
      if (Status s = Count(&n, type == kTList ? "list length" : "set size"); !s.ok()) return s;
      it->items.reserve(size_t(std::min<uint64_t>(n, 1 << 16)));
      for (uint64_t i = 0; i < n; i++) {
        if (Status s = String(&a, "element"); !s.ok()) return s;
        it->items.push_back(std::move(a));
      }
      return Status::Ok();
    case kTZSet:
    case kTZSet2:
      it->type = ValueType::kZSet;
      if (Status s = Count(&n, "sorted set size"); !s.ok()) return s;
      for (uint64_t i = 0; i < n; i++) {
        double score;
        if (Status s = String(&a, "member"); !s.ok()) return s;
        if (Status s = type == kTZSet ? ScoreText(&score) : ScoreBinary(&score); !s.ok()) return s;
        it->items.push_back(std::move(a));
        it->scores.push_back(score);
      }
      return Status::Ok();
    case kTHash:
      it->type = ValueType::kHash;
      if (Status s = Count(&n, "hash size"); !s.ok()) return s;
      for (uint64_t i = 0; i < n; i++) {
        if (Status s = String(&a, "field"); !s.ok()) return s;
        if (Status s = String(&b, "value"); !s.ok()) return s;
        it->items.push_back(std::move(a));
        it->items.push_back(std::move(b));
      }
      return Status::Ok();
    case kTHashZipmap:
      it->type = ValueType::kHash;
      return Blob("zipmap", ParseZipmap, &it->items);
    case kTListZiplist:
      it->type = ValueType::kList;
      return Blob("ziplist", ParseZiplist, &it->items);
    case kTSetIntset:
      it->type = ValueType::kSet;
      return Blob("intset", ParseIntset, &it->items);
    case kTSetListpack:
      it->type = ValueType::kSet;
      return Blob("listpack", ParseListpack, &it->items);
    case kTHashZiplist:
    case kTHashListpack: {
      it->type = ValueType::kHash;
      uint64_t at = off_;
      Status s = type == kTHashZiplist ? Blob("ziplist", ParseZiplist, &it->items)
                                       : Blob("listpack", ParseListpack, &it->items);
      if (!s.ok()) return s;
      if (it->items.size() % 2)
        return Bad(at, "hash with an odd number of entries (a field without a value)");
      return Status::Ok();
    }
    case kTZSetZiplist:
    case kTZSetListpack: {
      it->type = ValueType::kZSet;
      uint64_t at = off_;
      std::vector<std::string> flat;
      Status s = type == kTZSetZiplist ? Blob("ziplist", ParseZiplist, &flat)
                                       : Blob("listpack", ParseListpack, &flat);
      if (!s.ok()) return s;
      if (flat.size() % 2)
        return Bad(at, "sorted set with an odd number of entries (a member without a score)");
      for (size_t i = 0; i < flat.size(); i += 2) {
        double score;
        if (!ParseScore(flat[i + 1], &score)) {
          return Bad(at, fmt::format("score '{}' of member '{}' is not a number",
                                     Printable(flat[i + 1]), Printable(flat[i])));
        }
        it->items.push_back(std::move(flat[i]));
        it->scores.push_back(score);
      }
      return Status::Ok();
    }
    case kTListQuicklist:
    case kTListQuicklist2:
      it->type = ValueType::kList;
      if (Status s = Count(&n, "quicklist node count"); !s.ok()) return s;
      for (uint64_t i = 0; i < n; i++) {
        uint64_t container = 2;  // quicklist (14): every node a ziplist
        uint64_t at = off_;
        if (type == kTListQuicklist2) {
          if (Status s = PlainLen(&container, "quicklist node container"); !s.ok()) return s;
        }
        if (container == 1) {  // PLAIN: one large element
          if (Status s = String(&a, "element"); !s.ok()) return s;
          it->items.push_back(std::move(a));
        } else if (container == 2) {
          Status s = type == kTListQuicklist ? Blob("ziplist", ParseZiplist, &it->items)
                                             : Blob("listpack", ParseListpack, &it->items);
          if (!s.ok()) return s;
        } else {
          return Bad(at, fmt::format("unknown quicklist node container {}", container));
        }
      }
      return Status::Ok();
    default:
      return Bad(off_, fmt::format("unknown value type {}", type));
  }
}

Status Reader::Emit(const std::string& key, Items* it) {
  size_t count = it->type == ValueType::kHash ? it->items.size() / 2 : it->items.size();
  if (count == 0) {
    st_.empty_skipped++;
    return Status::Ok();
  }
  if (it->type != ValueType::kList) {
    std::unordered_set<std::string_view> seen;
    seen.reserve(count);
    size_t step = it->type == ValueType::kHash ? 2 : 1;
    for (size_t i = 0; i < it->items.size(); i += step) {
      if (!seen.insert(it->items[i]).second) {
        return Bad(key_off_, fmt::format("duplicate {} '{}'",
                                         it->type == ValueType::kHash ? "field" : "member",
                                         Printable(it->items[i])));
      }
    }
  }
  value_.clear();
  PutVarint(&value_, count);
  for (size_t i = 0; i < it->items.size(); i++) {
    PutVarint(&value_, it->items[i].size());
    value_.append(it->items[i]);
    if (it->type == ValueType::kZSet)
      value_.append(reinterpret_cast<const char*>(&it->scores[i]), 8);
  }
  ckpt::Record r{db_, uint8_t(it->type), expire_ms_, key, value_};
  st_.keys++;
  if (expire_ms_) st_.with_expire++;
  return fn_(r);
}

Status Reader::Run() {
  auto f = fs_->NewSequentialFile(path_);
  if (!f.ok()) return f.status();
  file_ = std::move(f.value());
  auto size = fs_->GetFileSize(path_);
  if (!size.ok()) return size.status();
  size_ = size.value();
  st_ = RdbStats{};
  if (size_ < 9) {
    return Status::Corruption(
        fmt::format("{}: not a Redis RDB file ({} bytes, shorter than the 9-byte header "
                    "at offset 0)",
                    path_, size_));
  }
  const char* p;
  if (Status s = Take(9, &p); !s.ok()) return s;
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
  Items items;
  while (true) {
    uint64_t at = off_;
    uint8_t op;
    if (Status s = U8(&op); !s.ok()) return s;
    switch (op) {
      case kOpEof: {
        crc_ = Crc64(crc_, buf_.data() + (crc_off_ - buf_off_), size_t(off_ - crc_off_));
        crc_off_ = off_;
        if (version >= 5) {
          uint64_t sum_at = off_;
          if (Status s = Take(8, &p); !s.ok()) return s;
          st_.checksum = Le64(p);
          if (st_.checksum != 0 && st_.checksum != crc_) {
            return Status::Corruption(
                fmt::format("{}: checksum mismatch: the file says {:016x}, its bytes give "
                            "{:016x} (checksum at offset {})",
                            path_, st_.checksum, crc_, sum_at));
          }
          st_.checksum_verified = st_.checksum != 0;
        }
        if (off_ != size_) {
          return Status::Corruption(
              fmt::format("{}: {} unexpected bytes after the end of the dump at offset {}", path_,
                          size_ - off_, off_));
        }
        st_.bytes = size_;
        return Status::Ok();
      }
      case kOpAux:
        if (Status s = String(&a, "AUX field name"); !s.ok()) return s;
        if (Status s = String(&b, "AUX field value"); !s.ok()) return s;
        st_.aux.emplace_back(std::move(a), std::move(b));
        continue;
      case kOpSelectDb: {
        uint64_t db;
        if (Status s = PlainLen(&db, "database number"); !s.ok()) return s;
        if (db > UINT32_MAX) return Bad(at, fmt::format("database number {} out of range", db));
        db_ = uint32_t(db);
        continue;
      }
      case kOpResizeDb: {
        uint64_t n1, n2;
        if (Status s = PlainLen(&n1, "RESIZEDB size"); !s.ok()) return s;
        if (Status s = PlainLen(&n2, "RESIZEDB expires size"); !s.ok()) return s;
        continue;
      }
      case kOpSlotInfo: {
        uint64_t n1, n2, n3;
        if (Status s = PlainLen(&n1, "slot"); !s.ok()) return s;
        if (Status s = PlainLen(&n2, "slot size"); !s.ok()) return s;
        if (Status s = PlainLen(&n3, "slot expires size"); !s.ok()) return s;
        continue;
      }
      case kOpExpireMs: {
        if (Status s = Take(8, &p); !s.ok()) return s;
        int64_t ms = int64_t(Le64(p));
        expire_ms_ = ms > 0 ? ms : 1;  // at or before the epoch: long expired, not "no expiry"
        continue;
      }
      case kOpExpireSec: {
        if (Status s = Take(4, &p); !s.ok()) return s;
        int64_t sec = int32_t(Le32(p));
        expire_ms_ = sec > 0 ? sec * 1000 : 1;
        continue;
      }
      case kOpFreq: {
        uint8_t freq;
        if (Status s = U8(&freq); !s.ok()) return s;
        continue;
      }
      case kOpIdle: {
        uint64_t idle;
        if (Status s = PlainLen(&idle, "idle time"); !s.ok()) return s;
        continue;
      }
      case kOpModuleAux: {
        uint64_t module_id, when_op, when;
        if (Status s = PlainLen(&module_id, "module id"); !s.ok()) return s;
        if (Status s = PlainLen(&when_op, "module aux when-opcode"); !s.ok()) return s;
        if (when_op != kModUint)
          return Bad(at, fmt::format("module aux data with when-opcode {}", when_op));
        if (Status s = PlainLen(&when, "module aux when"); !s.ok()) return s;
        if (Status s = SkipModuleValue(at); !s.ok()) return s;
        st_.module_aux_skipped++;
        continue;
      }
      case kOpFunction2:
        if (Status s = String(&a, "function library"); !s.ok()) return s;
        st_.functions_skipped++;
        continue;
      case kOpFunctionPreGa:
        return Status::NotSupported(
            fmt::format("{}: a function library in the format of Redis 7.0's release "
                        "candidates at offset {} is not supported by this build; save the "
                        "dump again with Redis 7.0 or later",
                        path_, at));
      default:
        break;
    }
    // A key: value type, key, value.
    bool known = op <= kTHashListpackEx && op != 8;
    if (!known) return Bad(at, fmt::format("unknown value type or opcode {}", op));
    if (Status s = String(&key, "key"); !s.ok()) return s;
    key_ = &key;
    key_type_ = op;
    key_off_ = at;
    const char* unsupported = nullptr;
    if (op == kTStreamListpacks || op == kTStreamListpacks2 || op == kTStreamListpacks3) {
      unsupported = "streams are not supported by this build";
    } else if (op == kTModulePreGa || op == kTModule2) {
      unsupported = "module values are not supported by this build";
    } else if (op >= kTHashMetadataPreGa) {
      unsupported = "hashes with field expiration are not supported by this build";
    }
    if (unsupported) {
      return Status::NotSupported(fmt::format("{}: key '{}' (db {}, RDB type {}) at offset {}: {}",
                                              path_, Printable(key), db_, op, at, unsupported));
    }
    if (op == kTString) {
      if (Status s = String(&a, "string value"); !s.ok()) return s;
      ckpt::Record r{db_, uint8_t(ValueType::kString), expire_ms_, key, a};
      st_.keys++;
      if (expire_ms_) st_.with_expire++;
      if (Status s = fn_(r); !s.ok()) return s;
    } else {
      items.items.clear();
      items.scores.clear();
      if (Status s = ReadValue(op, &items); !s.ok()) return s;
      if (Status s = Emit(key, &items); !s.ok()) return s;
    }
    key_ = nullptr;
    expire_ms_ = 0;
  }
}

}  // namespace

uint64_t Crc64(uint64_t crc, const void* data, size_t n) {
  const auto& t = Tables().t;
  const uint8_t* p = static_cast<const uint8_t*>(data);
  while (n >= 8) {
    uint64_t v;
    memcpy(&v, p, 8);
    v ^= crc;
    crc = t[7][v & 0xff] ^ t[6][(v >> 8) & 0xff] ^ t[5][(v >> 16) & 0xff] ^ t[4][(v >> 24) & 0xff] ^
          t[3][(v >> 32) & 0xff] ^ t[2][(v >> 40) & 0xff] ^ t[1][(v >> 48) & 0xff] ^ t[0][v >> 56];
    p += 8;
    n -= 8;
  }
  while (n--) crc = t[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return crc;
}

bool LzfDecompress(std::string_view in, char* out, size_t out_len) {
  const uint8_t* ip = reinterpret_cast<const uint8_t*>(in.data());
  const uint8_t* end = ip + in.size();
  size_t op = 0;
  while (ip < end) {
    size_t ctrl = *ip++;
    if (ctrl < 32) {  // a run of ctrl+1 literal bytes
      size_t n = ctrl + 1;
      if (size_t(end - ip) < n || out_len - op < n) return false;
      memcpy(out + op, ip, n);
      ip += n;
      op += n;
      continue;
    }
    size_t len = ctrl >> 5;  // a back reference: 3..8 bytes, or 9..264 with a length byte
    if (ip >= end) return false;
    if (len == 7) {
      len += *ip++;
      if (ip >= end) return false;
    }
    len += 2;
    size_t back = ((ctrl & 0x1f) << 8) + *ip++ + 1;
    if (back > op || out_len - op < len) return false;
    char* dst = out + op;
    for (size_t i = 0; i < len; i++) dst[i] = dst[i - back];  // may overlap: byte by byte
    op += len;
  }
  return op == out_len;
}

bool LzfCompress(std::string_view in, size_t max_out, std::string* out) {
  out->clear();
  const size_t n = in.size();
  const uint8_t* s = reinterpret_cast<const uint8_t*>(in.data());
  int bits = std::clamp(int(std::bit_width(n)), 8, 14);
  std::vector<uint32_t> table(size_t(1) << bits, UINT32_MAX);
  auto hash = [&](size_t i) {
    uint32_t v = uint32_t(s[i]) << 16 | uint32_t(s[i + 1]) << 8 | s[i + 2];
    return (v * 2654435761u) >> (32 - bits);
  };
  auto literals = [&](size_t from, size_t to) {
    while (from < to) {
      size_t k = std::min<size_t>(32, to - from);
      out->push_back(char(k - 1));
      out->append(in.data() + from, k);
      from += k;
    }
  };
  size_t lit = 0, i = 0;
  while (i + 2 < n) {
    uint32_t h = hash(i);
    uint32_t cand = table[h];
    table[h] = uint32_t(i);
    if (cand != UINT32_MAX && i - cand - 1 < 8192 && memcmp(s + cand, s + i, 3) == 0) {
      size_t max_len = std::min<size_t>(264, n - i);
      size_t len = 3;
      while (len < max_len && s[cand + len] == s[i + len]) len++;
      literals(lit, i);
      size_t off = i - cand - 1;
      if (len <= 8) {
        out->push_back(char(((len - 2) << 5) | (off >> 8)));
      } else {
        out->push_back(char((7 << 5) | (off >> 8)));
        out->push_back(char(len - 9));
      }
      out->push_back(char(off & 0xff));
      for (size_t j = i + 1; j < i + len && j + 2 < n; j++) table[hash(j)] = uint32_t(j);
      i += len;
      lit = i;
      if (out->size() > max_out) return false;
    } else {
      i++;
    }
  }
  literals(lit, n);
  return out->size() <= max_out;
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

void PutLen(std::string* s, uint64_t n) {
  if (n < 64) {
    s->push_back(char(n));
  } else if (n < 16384) {
    s->push_back(char(0x40 | (n >> 8)));
    s->push_back(char(n & 0xff));
  } else if (n <= UINT32_MAX) {
    s->push_back(char(0x80));
    uint32_t be = __builtin_bswap32(uint32_t(n));
    s->append(reinterpret_cast<const char*>(&be), 4);
  } else {
    s->push_back(char(0x81));
    uint64_t be = __builtin_bswap64(n);
    s->append(reinterpret_cast<const char*>(&be), 8);
  }
}

void PutLe64(std::string* s, uint64_t v) { s->append(reinterpret_cast<const char*>(&v), 8); }

// The collection blob of types/serialize.h, read with bounds checks.
struct BlobCursor {
  std::string_view s;
  size_t pos = 0;
  bool Varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= s.size()) return false;
      uint8_t c = uint8_t(s[pos++]);
      *v |= uint64_t(c & 0x7f) << shift;
      if (!(c & 0x80)) return true;
    }
    return false;
  }
  bool Str(std::string_view* out) {
    uint64_t n;
    if (!Varint(&n) || n > s.size() - pos) return false;
    *out = s.substr(pos, size_t(n));
    pos += size_t(n);
    return true;
  }
  bool Double(double* d) {
    if (s.size() - pos < 8) return false;
    memcpy(d, s.data() + pos, 8);
    pos += 8;
    return true;
  }
};

}  // namespace

RedisRdbWriter::RedisRdbWriter(std::unique_ptr<WritableFile> out, RdbWriterOptions opts)
    : out_(std::move(out)), opts_(std::move(opts)) {}

void RedisRdbWriter::HintDbSize(uint32_t db, uint64_t keys, uint64_t expires) {
  hints_[db] = {keys, expires};
}

void RedisRdbWriter::PutString(std::string_view s) {
  int64_t v;
  if (!s.empty() && s.size() <= 11 && ParseInt64(s, &v) && v >= INT32_MIN && v <= INT32_MAX &&
      FormatInt64(v) == s) {  // only the canonical text reads back the same
    if (v >= INT8_MIN && v <= INT8_MAX) {
      buf_.push_back(char(0xC0));
      buf_.push_back(char(int8_t(v)));
    } else if (v >= INT16_MIN && v <= INT16_MAX) {
      buf_.push_back(char(0xC1));
      int16_t x = int16_t(v);
      buf_.append(reinterpret_cast<const char*>(&x), 2);
    } else {
      buf_.push_back(char(0xC2));
      int32_t x = int32_t(v);
      buf_.append(reinterpret_cast<const char*>(&x), 4);
    }
    return;
  }
  if (opts_.compress && s.size() > 20 && LzfCompress(s, s.size() - 4, &scratch_) &&
      !scratch_.empty()) {
    buf_.push_back(char(0xC3));
    PutLen(&buf_, scratch_.size());
    PutLen(&buf_, s.size());
    buf_.append(scratch_);
    return;
  }
  PutLen(&buf_, s.size());
  buf_.append(s);
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
      PutLe64(&buf_, uint64_t(r.expire_ms));
    }
    buf_.push_back(char(type));
    PutString(r.key);
  };
  auto bad = [&](const char* what, size_t at) {
    buf_.resize(mark);
    return Status::Corruption(
        fmt::format("key '{}' (db {}): malformed value: {} at byte {} of the value",
                    Printable(r.key), r.db, what, at));
  };
  ValueType t = ValueType(r.type);
  if (t == ValueType::kString) {
    head(kTString);
    PutString(r.value);
  } else if (t == ValueType::kList || t == ValueType::kSet || t == ValueType::kZSet ||
             t == ValueType::kHash) {
    BlobCursor c{r.value};
    uint64_t n;
    if (!c.Varint(&n)) return bad("truncated item count", c.pos);
    if (n > r.value.size()) return bad("item count larger than the value", 0);
    if (n == 0) {
      empty_skipped_++;
      return Status::Ok();
    }
    head(t == ValueType::kList   ? kTList
         : t == ValueType::kSet  ? kTSet
         : t == ValueType::kZSet ? kTZSet2
                                 : kTHash);
    PutLen(&buf_, n);
    std::string_view a, b;
    for (uint64_t i = 0; i < n; i++) {
      size_t at = c.pos;
      if (!c.Str(&a)) return bad("truncated item", at);
      PutString(a);
      if (t == ValueType::kHash) {
        if (!c.Str(&b)) return bad("truncated hash value", c.pos);
        PutString(b);
      } else if (t == ValueType::kZSet) {
        double score;
        if (!c.Double(&score)) return bad("truncated score", c.pos);
        if (std::isnan(score)) return bad("NaN score", c.pos - 8);
        buf_.append(reinterpret_cast<const char*>(&score), 8);
      }
    }
    if (c.pos != r.value.size()) return bad("trailing bytes", c.pos);
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
  PutLe64(&sum, crc_);
  if (Status st = out_->Append(sum); !st.ok()) return st;
  if (Status st = out_->Sync(); !st.ok()) return st;
  return out_->Close();
}

}  // namespace ferrite::rdb
