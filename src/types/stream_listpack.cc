#include "types/stream_listpack.h"

#include <algorithm>
#include <new>

#include "base/strutil.h"

namespace ferrite::slp {
namespace {

void SetTotalBytes(uint8_t* lp, uint32_t v) {
  lp[0] = uint8_t(v);
  lp[1] = uint8_t(v >> 8);
  lp[2] = uint8_t(v >> 16);
  lp[3] = uint8_t(v >> 24);
}
void SetNumElements(uint8_t* lp, uint16_t v) {
  lp[4] = uint8_t(v);
  lp[5] = uint8_t(v >> 8);
}

uint8_t* Alloc(size_t n) { return static_cast<uint8_t*>(::operator new(n)); }

// Encodes v in Redis's smallest integer encoding; returns the byte count (1..9).
uint32_t EncodeInt(int64_t v, uint8_t* out) {
  if (v >= 0 && v <= 127) {
    out[0] = uint8_t(v);
    return 1;
  }
  if (v >= -4096 && v <= 4095) {
    uint64_t u = v < 0 ? uint64_t((int64_t(1) << 13) + v) : uint64_t(v);
    out[0] = uint8_t((u >> 8) | 0xC0);
    out[1] = uint8_t(u);
    return 2;
  }
  if (v >= -32768 && v <= 32767) {
    uint64_t u = v < 0 ? uint64_t((int64_t(1) << 16) + v) : uint64_t(v);
    out[0] = 0xF1;
    out[1] = uint8_t(u);
    out[2] = uint8_t(u >> 8);
    return 3;
  }
  if (v >= -8388608 && v <= 8388607) {
    uint64_t u = v < 0 ? uint64_t((int64_t(1) << 24) + v) : uint64_t(v);
    out[0] = 0xF2;
    out[1] = uint8_t(u);
    out[2] = uint8_t(u >> 8);
    out[3] = uint8_t(u >> 16);
    return 4;
  }
  if (v >= -2147483648LL && v <= 2147483647LL) {
    uint64_t u = v < 0 ? uint64_t((int64_t(1) << 32) + v) : uint64_t(v);
    out[0] = 0xF3;
    for (int i = 0; i < 4; i++) out[1 + i] = uint8_t(u >> (8 * i));
    return 5;
  }
  uint64_t u = uint64_t(v);
  out[0] = 0xF4;
  for (int i = 0; i < 8; i++) out[1 + i] = uint8_t(u >> (8 * i));
  return 9;
}

uint32_t StrEncodedSize(size_t len) {
  return uint32_t(len < 64 ? 1 + len : len < 4096 ? 2 + len : 5 + len);
}

uint32_t EncodeStrHeader(size_t len, uint8_t* out) {
  if (len < 64) {
    out[0] = uint8_t(0x80 | len);
    return 1;
  }
  if (len < 4096) {
    out[0] = uint8_t(0xE0 | (len >> 8));
    out[1] = uint8_t(len);
    return 2;
  }
  out[0] = 0xF0;
  for (int i = 0; i < 4; i++) out[1 + i] = uint8_t(len >> (8 * i));
  return 5;
}

uint32_t EncodeBacklen(uint64_t l, uint8_t* out) {
  uint32_t n = BacklenSize(l);
  // out[0] holds the most significant 7 bits (high bit clear); the others have it set.
  for (uint32_t i = 0; i < n; i++) {
    uint32_t shift = 7 * (n - 1 - i);
    out[i] = uint8_t((l >> shift) & 127) | (i == 0 ? 0 : 128);
  }
  return n;
}

// Decodes the backlen whose last byte is at `end`, reading at most 5 bytes backwards (not
// before `floor`). Returns false if it is longer than 5 bytes or runs past floor.
bool DecodeBacklen(const uint8_t* lp, uint32_t end, uint32_t floor, uint64_t* val,
                   uint32_t* bytes) {
  uint64_t v = 0;
  uint32_t shift = 0, n = 0;
  uint32_t q = end;
  while (true) {
    if (q < floor) return false;
    uint8_t c = lp[q];
    v |= uint64_t(c & 127) << shift;
    n++;
    if (!(c & 128)) break;
    shift += 7;
    if (shift > 28 || q == 0) return false;
    q--;
  }
  *val = v;
  *bytes = n;
  return true;
}

void Reserve(Buf* b, uint64_t need) {
  if (need <= b->cap) return;
  uint64_t cap = std::max<uint64_t>(need, uint64_t(b->cap) + b->cap / 2);
  cap = std::min<uint64_t>(cap, UINT32_MAX);
  uint8_t* n = Alloc(size_t(cap));
  memcpy(n, b->lp, TotalBytes(b->lp));
  ::operator delete(b->lp);
  b->lp = n;
  b->cap = uint32_t(cap);
}

// Appends an element whose encoding+data is `enc` (n bytes) followed by `data` (m bytes).
void AppendRaw(Buf* b, const uint8_t* enc, uint32_t n, const char* data, size_t m) {
  uint32_t total = TotalBytes(b->lp);
  uint64_t elen = uint64_t(n) + m;
  uint32_t bl = BacklenSize(elen);
  Reserve(b, total + elen + bl);
  uint8_t* p = b->lp + total - 1;  // over the EOF
  memcpy(p, enc, n);
  if (m) memcpy(p + n, data, m);
  EncodeBacklen(elen, p + elen);
  p[elen + bl] = kEof;
  SetTotalBytes(b->lp, uint32_t(total + elen + bl));
  uint16_t count = NumElements(b->lp);
  if (count != kCountUnknown) SetNumElements(b->lp, uint16_t(count + 1));
}

}  // namespace

bool StringToInt64(std::string_view s, int64_t* value) {
  size_t n = s.size();
  if (n == 0 || n >= 21) return false;
  if (n == 1 && s[0] == '0') {
    *value = 0;
    return true;
  }
  size_t i = 0;
  bool neg = false;
  if (s[0] == '-') {
    neg = true;
    if (++i == n) return false;
  }
  if (s[i] < '1' || s[i] > '9') return false;
  uint64_t v = uint64_t(s[i++] - '0');
  for (; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    if (v > UINT64_MAX / 10) return false;
    v *= 10;
    uint64_t d = uint64_t(s[i] - '0');
    if (v > UINT64_MAX - d) return false;
    v += d;
  }
  if (neg) {
    if (v > uint64_t(INT64_MAX) + 1) return false;
    *value = int64_t(0 - v);
  } else {
    if (v > uint64_t(INT64_MAX)) return false;
    *value = int64_t(v);
  }
  return true;
}

uint32_t EncodedSize(const uint8_t* p) {
  uint8_t b = p[0];
  if (!(b & 0x80)) return 1;
  if ((b & 0xC0) == 0x80) return 1 + (b & 0x3F);
  if ((b & 0xE0) == 0xC0) return 2;
  if ((b & 0xF0) == 0xE0) return 2 + ((uint32_t(b & 0x0F) << 8) | p[1]);
  switch (b) {
    case 0xF0:
      return 5 +
             (uint32_t(p[1]) | uint32_t(p[2]) << 8 | uint32_t(p[3]) << 16 | uint32_t(p[4]) << 24);
    case 0xF1:
      return 3;
    case 0xF2:
      return 4;
    case 0xF3:
      return 5;
    case 0xF4:
      return 9;
    default:
      return 0;
  }
}

uint32_t Prev(const uint8_t* lp, uint32_t p) {
  if (p <= kHeaderSize) return 0;
  uint64_t len;
  uint32_t n;
  if (!DecodeBacklen(lp, p - 1, kHeaderSize, &len, &n)) return 0;
  return p - n - uint32_t(len);
}

bool Get(const uint8_t* lp, uint32_t off, int64_t* iv, std::string_view* sv) {
  const uint8_t* p = lp + off;
  uint8_t b = p[0];
  if (!(b & 0x80)) {
    *iv = b;
    return true;
  }
  if ((b & 0xC0) == 0x80) {
    *sv = std::string_view(reinterpret_cast<const char*>(p + 1), b & 0x3F);
    return false;
  }
  if ((b & 0xE0) == 0xC0) {
    uint64_t u = (uint64_t(b & 0x1F) << 8) | p[1];
    *iv = u >= 4096 ? int64_t(u) - 8192 : int64_t(u);
    return true;
  }
  if ((b & 0xF0) == 0xE0) {
    size_t len = (size_t(b & 0x0F) << 8) | p[1];
    *sv = std::string_view(reinterpret_cast<const char*>(p + 2), len);
    return false;
  }
  switch (b) {
    case 0xF0: {
      size_t len = size_t(p[1]) | size_t(p[2]) << 8 | size_t(p[3]) << 16 | size_t(p[4]) << 24;
      *sv = std::string_view(reinterpret_cast<const char*>(p + 5), len);
      return false;
    }
    case 0xF1: {
      uint16_t u = uint16_t(p[1] | p[2] << 8);
      *iv = int16_t(u);
      return true;
    }
    case 0xF2: {
      uint32_t u = uint32_t(p[1]) | uint32_t(p[2]) << 8 | uint32_t(p[3]) << 16;
      *iv = (u & 0x800000) ? int64_t(u) - (int64_t(1) << 24) : int64_t(u);
      return true;
    }
    case 0xF3: {
      uint32_t u =
          uint32_t(p[1]) | uint32_t(p[2]) << 8 | uint32_t(p[3]) << 16 | uint32_t(p[4]) << 24;
      *iv = int32_t(u);
      return true;
    }
    case 0xF4: {
      uint64_t u = 0;
      for (int i = 0; i < 8; i++) u |= uint64_t(p[1 + i]) << (8 * i);
      *iv = int64_t(u);
      return true;
    }
    default:
      *sv = {};
      return false;
  }
}

int64_t GetInt(const uint8_t* lp, uint32_t p) {
  int64_t v;
  std::string_view s;
  if (Get(lp, p, &v, &s)) return v;
  int64_t parsed = 0;
  return ParseInt64(s, &parsed) ? parsed : 0;
}

std::string_view GetStr(const uint8_t* lp, uint32_t p, char* buf) {
  int64_t v;
  std::string_view s;
  if (Get(lp, p, &v, &s)) return std::string_view(buf, FormatInt64To(v, buf));
  return s;
}

Buf New(size_t capacity) {
  Buf b;
  b.cap = uint32_t(std::max<size_t>(capacity, kHeaderSize + 1));
  b.lp = Alloc(b.cap);
  SetTotalBytes(b.lp, kHeaderSize + 1);
  SetNumElements(b.lp, 0);
  b.lp[kHeaderSize] = kEof;
  return b;
}

void Free(Buf* b) {
  ::operator delete(b->lp);
  b->lp = nullptr;
  b->cap = 0;
}

Buf Copy(const uint8_t* lp) {
  return FromBytes({reinterpret_cast<const char*>(lp), TotalBytes(lp)});
}

Buf FromBytes(std::string_view bytes) {
  Buf b;
  b.cap = uint32_t(bytes.size());
  b.lp = Alloc(b.cap);
  memcpy(b.lp, bytes.data(), bytes.size());
  return b;
}

void ShrinkToFit(Buf* b) {
  uint32_t total = TotalBytes(b->lp);
  if (total >= b->cap) return;
  uint8_t* n = Alloc(total);
  memcpy(n, b->lp, total);
  ::operator delete(b->lp);
  b->lp = n;
  b->cap = total;
}

uint32_t IntElementSize(int64_t v) {
  uint8_t tmp[9];
  uint32_t n = EncodeInt(v, tmp);
  return n + BacklenSize(n);
}

uint32_t StrElementSize(std::string_view s) {
  int64_t v;
  if (StringToInt64(s, &v)) return IntElementSize(v);
  uint32_t n = StrEncodedSize(s.size());
  return n + BacklenSize(n);
}

void AppendInt(Buf* b, int64_t v) {
  uint8_t enc[9];
  uint32_t n = EncodeInt(v, enc);
  AppendRaw(b, enc, n, nullptr, 0);
}

void EncodeElement(std::string_view s, std::string* out) {
  uint8_t hdr[9];
  uint32_t n;
  int64_t v;
  std::string_view data;
  if (StringToInt64(s, &v)) {
    n = EncodeInt(v, hdr);
  } else {
    n = EncodeStrHeader(s.size(), hdr);
    data = s;
  }
  out->append(reinterpret_cast<const char*>(hdr), n);
  out->append(data);
  uint8_t back[5];
  out->append(reinterpret_cast<const char*>(back), EncodeBacklen(n + data.size(), back));
}

void AppendStr(Buf* b, std::string_view s) {
  int64_t v;
  if (StringToInt64(s, &v)) return AppendInt(b, v);
  uint8_t hdr[5];
  uint32_t n = EncodeStrHeader(s.size(), hdr);
  AppendRaw(b, hdr, n, s.data(), s.size());
}

void ReplaceInt(Buf* b, uint32_t p, int64_t v) {
  uint32_t old_enc = EncodedSize(b->lp + p);
  uint32_t old_size = old_enc + BacklenSize(old_enc);
  uint8_t enc[9];
  uint32_t n = EncodeInt(v, enc);
  uint32_t new_size = n + BacklenSize(n);
  uint32_t total = TotalBytes(b->lp);
  if (new_size > old_size) Reserve(b, uint64_t(total) + new_size - old_size);
  uint8_t* lp = b->lp;
  if (new_size != old_size) {
    memmove(lp + p + new_size, lp + p + old_size, total - p - old_size);
    SetTotalBytes(lp, total - old_size + new_size);
  }
  memcpy(lp + p, enc, n);
  EncodeBacklen(n, lp + p + n);
}

bool Validate(const uint8_t* lp, size_t size, std::string* why) {
  auto fail = [&](const char* what) {
    if (why) *why = what;
    return false;
  };
  if (size < kHeaderSize + 1) return fail("listpack shorter than its header");
  if (TotalBytes(lp) != size) return fail("listpack size does not match its header");
  if (lp[size - 1] != kEof) return fail("listpack without its terminator");
  uint64_t count = 0;
  size_t p = kHeaderSize;
  size_t eof = size - 1;
  while (p < eof) {
    uint8_t b = lp[p];
    size_t lenbytes;
    if (!(b & 0x80) || (b & 0xC0) == 0x80 || (b & 0xE0) == 0xC0 || (b >= 0xF1 && b <= 0xF4))
      lenbytes = 1;
    else if ((b & 0xF0) == 0xE0)
      lenbytes = 2;
    else if (b == 0xF0)
      lenbytes = 5;
    else
      return fail("listpack element with an unknown encoding");
    if (p + lenbytes > eof) return fail("listpack element header past the end");
    uint64_t enc = EncodedSize(lp + p);
    uint64_t bl = BacklenSize(enc);
    if (p + enc + bl > eof) return fail("listpack element past the end");
    uint64_t back;
    uint32_t n;
    if (!DecodeBacklen(lp, uint32_t(p + enc + bl - 1), uint32_t(p + enc), &back, &n) ||
        back != enc || n != bl)
      return fail("listpack element with a wrong back length");
    p += enc + bl;
    count++;
  }
  if (p != eof) return fail("listpack elements overrun the terminator");
  uint16_t hdr = NumElements(lp);
  if (hdr != kCountUnknown && hdr != count) return fail("listpack element count is wrong");
  return true;
}

}  // namespace ferrite::slp
