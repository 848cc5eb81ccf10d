#include "persistence/rdb/rdb_codec.h"

#include <fmt/format.h>
#include <liblzf/lzf.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <unordered_set>

#include "base/coding.h"
#include "base/strutil.h"
#include "types/serialize.h"
#include "types/stream_listpack.h"

namespace ferrite::rdb {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the RDB codec assumes a little-endian host");

// Module serialization opcodes (module values, MODULE_AUX payloads).
enum ModuleOpcode : uint64_t {
  kModEof = 0,
  kModSint = 1,
  kModUint = 2,
  kModFloat = 3,
  kModDouble = 4,
  kModString = 5
};

// A two's complement little-endian integer of 1, 2, 3, 4 or 8 bytes (the integer entries
// of ziplists and listpacks).
int64_t SignedLE(const char* d, int bytes) {
  switch (bytes) {
    case 1:
      return int8_t(d[0]);
    case 2:
      return int16_t(DecodeFixed16(d));
    case 3:
      return int32_t(uint32_t(uint8_t(d[0])) << 8 | uint32_t(uint8_t(d[1])) << 16 |
                     uint32_t(uint8_t(d[2])) << 24) >>
             8;
    case 4:
      return int32_t(DecodeFixed32(d));
    default:
      return int64_t(DecodeFixed64(d));
  }
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
  if (DecodeFixed32(z.data()) != z.size())
    return bp.Fail("zlbytes disagrees with the string's length", 0);
  if (DecodeFixed32(z.data() + 4) >= z.size()) return bp.Fail("zltail points past the end", 4);
  uint16_t count = DecodeFixed16(z.data() + 8);
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
        slen = DecodeFixed32BE(z.data() + p + 1);
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
      if (ibytes > 0) ival = SignedLE(d, ibytes);
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
  if (DecodeFixed32(lp.data()) != lp.size())
    return bp.Fail("total-bytes disagrees with the string's length", 0);
  uint16_t count = DecodeFixed16(lp.data() + 4);
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
      slen = DecodeFixed32(lp.data() + p + 1);
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
      if (ibytes > 0) ival = SignedLE(d, ibytes);
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
  uint32_t width = DecodeFixed32(s.data());
  if (width != 2 && width != 4 && width != 8) return bp.Fail("element width is not 2, 4 or 8", 0);
  uint64_t n = DecodeFixed32(s.data() + 4);
  if (uint64_t(s.size()) - 8 != n * width)
    return bp.Fail("length disagrees with the string's length", 4);
  int64_t prev = 0;
  for (uint64_t i = 0; i < n; i++) {
    const char* d = s.data() + 8 + i * width;
    int64_t v = width == 2   ? int16_t(DecodeFixed16(d))
                : width == 4 ? int32_t(DecodeFixed32(d))
                             : int64_t(DecodeFixed64(d));
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
    *v = DecodeFixed32(z.data() + p + 1);
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

}  // namespace

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

// ---- LZF ----

bool LzfDecompress(std::string_view in, char* out, size_t out_len) {
  // liblzf checks every reference and length against both buffers (CHECK_INPUT) and
  // returns 0 on any error.
  if (in.empty() || out_len == 0 || in.size() > UINT_MAX || out_len > UINT_MAX) return false;
  unsigned n = lzf_decompress(in.data(), unsigned(in.size()), out, unsigned(out_len));
  return n == out_len;
}

bool LzfCompress(std::string_view in, size_t max_out, std::string* out) {
  // Debian's liblzf is the code Redis bundles, with the same settings: the same bytes as
  // Redis's rdbSaveLzfStringObject for the same input.
  out->clear();
  if (in.empty() || in.size() > UINT_MAX || max_out == 0) return false;
  max_out = std::min<size_t>(max_out, UINT_MAX);
  out->resize(max_out);
  unsigned n = lzf_compress(in.data(), unsigned(in.size()), out->data(), unsigned(max_out));
  out->resize(n);
  return n > 0;
}

// ---- encoding ----

void PutLen(std::string* s, uint64_t n) {
  if (n < 64) {
    s->push_back(char(n));
  } else if (n < 16384) {
    s->push_back(char(0x40 | (n >> 8)));
    s->push_back(char(n & 0xff));
  } else if (n <= UINT32_MAX) {
    s->push_back(char(0x80));
    PutFixed32BE(s, uint32_t(n));
  } else {
    s->push_back(char(0x81));
    PutFixed64BE(s, n);
  }
}

void PutString(std::string* out, std::string_view s, bool compress, std::string* scratch) {
  int64_t v;
  if (!s.empty() && s.size() <= 11 && ParseInt64(s, &v) && v >= INT32_MIN && v <= INT32_MAX &&
      FormatInt64(v) == s) {  // only the canonical text reads back the same
    if (v >= INT8_MIN && v <= INT8_MAX) {
      out->push_back(char(0xC0));
      out->push_back(char(int8_t(v)));
    } else if (v >= INT16_MIN && v <= INT16_MAX) {
      out->push_back(char(0xC1));
      PutFixed16(out, uint16_t(int16_t(v)));
    } else {
      out->push_back(char(0xC2));
      PutFixed32(out, uint32_t(int32_t(v)));
    }
    return;
  }
  if (compress && s.size() > 20 && LzfCompress(s, s.size() - 4, scratch) && !scratch->empty()) {
    out->push_back(char(0xC3));
    PutLen(out, scratch->size());
    PutLen(out, s.size());
    out->append(*scratch);
    return;
  }
  PutLen(out, s.size());
  out->append(s);
}

void PutBinaryDouble(std::string* out, double d) { PutDouble(out, d); }

std::string ListpackScoreText(double d) {
  // zzlInsertAt: util.c's double2ll first (inside +-LLONG_MAX/2 an integral double, -0
  // included, is stored as that integer), then d2string ("inf", "-inf", "%.17g").
  if (d >= double(-LLONG_MAX / 2) && d <= double(LLONG_MAX / 2)) {
    long long ll = static_cast<long long>(d);
    if (double(ll) == d) return FormatInt64(ll);
  }
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  if (std::isnan(d)) return "nan";
  char buf[32];
  int n = snprintf(buf, sizeof(buf), "%.17g", d);
  return std::string(buf, size_t(n));
}

void ListpackBuilder::Clear() {
  body_.assign(6, '\0');
  count_ = 0;
}

void ListpackBuilder::Append(std::string_view s) {
  slp::EncodeElement(s, &body_);
  count_++;
}

std::string ListpackBuilder::Finish() {
  body_.push_back(char(0xFF));
  uint32_t total = uint32_t(body_.size());
  uint16_t n = count_ < 65535 ? uint16_t(count_) : uint16_t(65535);
  EncodeFixed32(body_.data(), total);
  EncodeFixed16(body_.data() + 4, n);
  std::string out = std::move(body_);
  Clear();
  return out;
}

std::string IntsetBlob(const std::vector<int64_t>& v) {
  uint32_t width = 2;
  if (!v.empty()) {
    int64_t lo = v.front(), hi = v.back();
    if (lo < INT32_MIN || hi > INT32_MAX)
      width = 8;
    else if (lo < INT16_MIN || hi > INT16_MAX)
      width = 4;
  }
  std::string out;
  PutFixed32(&out, width);
  PutFixed32(&out, uint32_t(v.size()));
  for (int64_t x : v) {
    if (width == 2) {
      PutFixed16(&out, uint16_t(int16_t(x)));
    } else if (width == 4) {
      PutFixed32(&out, uint32_t(int32_t(x)));
    } else {
      PutFixed64(&out, uint64_t(x));
    }
  }
  return out;
}

Status ItemsToBlob(const RdbItems& it, std::string* blob) {
  size_t count = it.count();
  if (it.type != ValueType::kList) {
    std::unordered_set<std::string_view> seen;
    seen.reserve(count);
    size_t step = it.type == ValueType::kHash ? 2 : 1;
    for (size_t i = 0; i < it.items.size(); i += step) {
      if (!seen.insert(it.items[i]).second) {
        return Status::Corruption(fmt::format("duplicate {} '{}'",
                                              it.type == ValueType::kHash ? "field" : "member",
                                              Printable(it.items[i])));
      }
    }
  }
  blob->clear();
  CollectionBlobBuilder b(blob, count);
  for (size_t i = 0; i < it.items.size(); i++) {
    b.Item(it.items[i]);
    if (it.type == ValueType::kZSet) b.Score(it.scores[i]);
  }
  return Status::Ok();
}

// ---- decoding ----

Status ValueDecoder::Bad(uint64_t at, std::string_view what) const {
  return Status::Corruption(fmt::format("{}: {} at offset {}{}", name_, what, at, Context()));
}

std::string ValueDecoder::Context() const {
  if (!key_) return "";
  return fmt::format(" (in key '{}', RDB type {}, at offset {})", Printable(*key_), key_type_,
                     key_off_);
}

Status ValueDecoder::Take(size_t n, const char** p) {
  if (n > src_->left()) {
    return Status::Corruption(
        fmt::format("{}: truncated: {} bytes needed at offset {}, but the {} ends at {}{}", name_,
                    n, src_->offset(), name_kind_, src_->offset() + src_->left(), Context()));
  }
  return src_->Take(n, p);
}

Status ValueDecoder::U8(uint8_t* v) {
  const char* p;
  if (Status s = Take(1, &p); !s.ok()) return s;
  *v = uint8_t(*p);
  return Status::Ok();
}

Status ValueDecoder::Len(uint64_t* v, bool* encoded) {
  uint64_t at = offset();
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
        *v = DecodeFixed32BE(p);
        return Status::Ok();
      }
      if (b == 0x81) {
        if (Status s = Take(8, &p); !s.ok()) return s;
        *v = DecodeFixed64BE(p);
        return Status::Ok();
      }
      return Bad(at, fmt::format("bad length byte 0x{:02x}", b));
    default:
      *encoded = true;
      *v = b & 0x3f;
      return Status::Ok();
  }
}

Status ValueDecoder::PlainLen(uint64_t* v, const char* what) {
  uint64_t at = offset();
  bool enc;
  if (Status s = Len(v, &enc); !s.ok()) return s;
  if (enc) return Bad(at, fmt::format("{}: expected a length, found a string encoding", what));
  return Status::Ok();
}

// A count of things that each take at least one byte: never more than what is left.
Status ValueDecoder::Count(uint64_t* v, const char* what) {
  uint64_t at = offset();
  if (Status s = PlainLen(v, what); !s.ok()) return s;
  if (*v > left()) {
    return Bad(at, fmt::format("{} {} is larger than the rest of the {} ({} bytes)", what, *v,
                               name_kind_, left()));
  }
  return Status::Ok();
}

Status ValueDecoder::String(std::string* out, const char* what) {
  uint64_t at = offset();
  string_off_ = at;
  string_compressed_ = false;
  uint64_t len;
  bool enc;
  if (Status s = Len(&len, &enc); !s.ok()) return s;
  const char* p;
  if (!enc) {
    if (len > left()) {
      return Bad(
          at, fmt::format("{} of {} bytes runs past the end of the {} ({} bytes left: truncated or "
                          "damaged)",
                          what, len, name_kind_, left()));
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
      v = int16_t(DecodeFixed16(p));
      break;
    case 2:
      if (Status s = Take(4, &p); !s.ok()) return s;
      v = int32_t(DecodeFixed32(p));
      break;
    case 3: {
      uint64_t clen, ulen;
      if (Status s = PlainLen(&clen, "LZF compressed length"); !s.ok()) return s;
      if (Status s = PlainLen(&ulen, "LZF original length"); !s.ok()) return s;
      if (clen > left()) {
        return Bad(
            at, fmt::format("{}: LZF data of {} bytes runs past the end of the {} ({} bytes left: "
                            "truncated or damaged)",
                            what, clen, name_kind_, left()));
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

Status ValueDecoder::ScoreText(double* v) {
  uint64_t at = offset();
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

Status ValueDecoder::ScoreBinary(double* v) {
  uint64_t at = offset();
  const char* p;
  if (Status s = Take(8, &p); !s.ok()) return s;
  *v = DecodeDouble(p);
  if (std::isnan(*v)) return Bad(at, "NaN score");
  return Status::Ok();
}

Status ValueDecoder::Blob(const char* name,
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

Status ValueDecoder::SkipModuleValue(uint64_t at) {
  std::string scratch;
  while (true) {  // each field takes at least one byte: ends with the input
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

Status ValueDecoder::ReadCollection(uint8_t type, RdbItems* it) {
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
      uint64_t at = offset();
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
      uint64_t at = offset();
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
        uint64_t at = offset();
        if (type == kTListQuicklist2) {
          if (Status s = PlainLen(&container, "quicklist node container"); !s.ok()) return s;
        }
        if (container == 1) {  // PLAIN: one large element
          if (Status s = String(&a, "element"); !s.ok()) return s;
          if (a.empty()) return Bad(at, "empty quicklist node");
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
      return Bad(offset(), fmt::format("unknown value type {}", type));
  }
}

}  // namespace ferrite::rdb
