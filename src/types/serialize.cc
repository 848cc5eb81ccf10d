#include "types/serialize.h"

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <functional>

#include "base/strutil.h"
#include "types/stream.h"

namespace ferrite {
namespace {

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(char((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(char(v));
}

void PutStr(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}

void PutDouble(std::string* out, double d) {
  uint64_t u;
  memcpy(&u, &d, 8);
  if constexpr (std::endian::native == std::endian::big) u = __builtin_bswap64(u);
  out->append(reinterpret_cast<const char*>(&u), 8);
}

class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool Varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= s_.size()) return false;
      unsigned char c = static_cast<unsigned char>(s_[pos_++]);
      *v |= uint64_t(c & 0x7F) << shift;
      if (!(c & 0x80)) return true;
    }
    return false;
  }
  bool Str(std::string_view* out) {
    uint64_t n;
    if (!Varint(&n) || n > s_.size() - pos_) return false;
    *out = s_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool Double(double* d) {
    if (s_.size() - pos_ < 8) return false;
    uint64_t u;
    memcpy(&u, s_.data() + pos_, 8);
    if constexpr (std::endian::native == std::endian::big) u = __builtin_bswap64(u);
    memcpy(d, &u, 8);
    pos_ += 8;
    return true;
  }
  size_t pos() const { return pos_; }
  bool done() const { return pos_ == s_.size(); }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

size_t Count(const Value& v) {
  switch (v.type()) {
    case ValueType::kHash:
      return hashv::Len(v);
    case ValueType::kSet:
      return setv::Card(v);
    case ValueType::kZSet:
      return zsetv::Card(v);
    case ValueType::kList:
      return listv::Len(v);
    default:
      return 0;
  }
}

void XorHash(uint8_t acc[16], std::string_view a, std::string_view b) {
  XXH3_state_t st;
  XXH3_128bits_reset(&st);
  uint64_t n = a.size();
  XXH3_128bits_update(&st, &n, sizeof(n));
  XXH3_128bits_update(&st, a.data(), a.size());
  XXH3_128bits_update(&st, b.data(), b.size());
  XXH128_hash_t h = XXH3_128bits_digest(&st);
  uint8_t bytes[16];
  memcpy(bytes, &h.low64, 8);
  memcpy(bytes + 8, &h.high64, 8);
  for (int i = 0; i < 16; i++) acc[i] ^= bytes[i];
}

}  // namespace

namespace {

// Walks a collection's items in encoding order; `str` gets every length-prefixed string,
// `dbl` every score. One walker for the whole-blob and the streamed encoders.
template <typename Str, typename Dbl>
void WalkItems(const Value& v, Str&& str, Dbl&& dbl) {
  switch (v.type()) {
    case ValueType::kHash:
      hashv::ForEach(v, [&](std::string_view f, std::string_view val) {
        str(f);
        str(val);
        return true;
      });
      break;
    case ValueType::kSet:
      setv::ForEach(v, [&](std::string_view m) {
        str(m);
        return true;
      });
      break;
    case ValueType::kZSet:
      zsetv::ForEach(v, [&](std::string_view m, double s) {
        str(m);
        dbl(s);
        return true;
      });
      break;
    case ValueType::kList:
      listv::ForRange(v, 0, listv::Len(v), [&](std::string_view e) {
        str(e);
        return true;
      });
      break;
    default:
      break;
  }
}

}  // namespace

void EncodeCollection(const Value& v, std::string* out) {
  if (v.tiered()) {  // a collection in a tier segment: its stored bytes are this blob
    Value hot = v.Clone();
    if (!hot.empty()) EncodeCollection(hot, out);
    return;
  }
  if (v.type() == ValueType::kStream) return EncodeStream(*v.As<StreamObject>(), out);
  PutVarint(out, Count(v));
  WalkItems(
      v, [&](std::string_view s) { PutStr(out, s); }, [&](double d) { PutDouble(out, d); });
}

void EncodeCollectionStream(const Value& v, size_t piece_size,
                            const std::function<void(std::string_view piece, bool last)>& sink) {
  if (v.tiered()) {
    Value hot = v.Clone();
    if (!hot.empty()) EncodeCollectionStream(hot, piece_size, sink);
    return;
  }
  if (v.type() == ValueType::kStream)
    return EncodeStreamPieces(*v.As<StreamObject>(), piece_size, sink);
  std::string buf;
  buf.reserve(std::min<size_t>(piece_size + 64, 1 << 20));
  auto flush = [&] {
    sink(buf, false);
    buf.clear();
  };
  PutVarint(&buf, Count(v));
  WalkItems(
      v,
      [&](std::string_view s) {
        PutVarint(&buf, s.size());
        if (s.size() >= piece_size) {  // a big item goes by reference
          flush();
          sink(s, false);
          return;
        }
        buf.append(s);
        if (buf.size() >= piece_size) flush();
      },
      [&](double d) {
        PutDouble(&buf, d);
        if (buf.size() >= piece_size) flush();
      });
  sink(buf, true);
}

Result<Value> DecodeCollection(ValueType t, std::string_view blob, const CollectionLimits& lim) {
  if (t == ValueType::kStream) return DecodeStream(blob);
  Reader r(blob);
  uint64_t n;
  auto bad = [&](const char* what) {
    return Status::Corruption(std::string(what) + " at byte " + std::to_string(r.pos()) +
                              " of the value");
  };
  if (!r.Varint(&n)) return bad("truncated item count");
  if (n == 0) return bad("empty collection");
  if (n > blob.size()) return bad("item count larger than the value");
  std::string_view a, b;
  Value v;
  switch (t) {
    case ValueType::kHash:
      v = hashv::New();
      for (uint64_t i = 0; i < n; i++) {
        if (!r.Str(&a) || !r.Str(&b)) return bad("truncated hash field");
        if (!hashv::Set(v, a, b, lim)) return bad("duplicate hash field");
      }
      break;
    case ValueType::kSet:
      for (uint64_t i = 0; i < n; i++) {
        if (!r.Str(&a)) return bad("truncated set member");
        if (i == 0) v = setv::NewFor(a, lim);
        if (!setv::Add(v, a, lim)) return bad("duplicate set member");
      }
      break;
    case ValueType::kZSet: {
      v = zsetv::New(n, 0, lim);
      for (uint64_t i = 0; i < n; i++) {
        double s;
        if (!r.Str(&a) || !r.Double(&s)) return bad("truncated sorted-set member");
        if (std::isnan(s)) return bad("NaN score");
        double cur;
        if (zsetv::Score(v, a, &cur)) return bad("duplicate sorted-set member");
        zsetv::Set(v, a, s, lim);
      }
      break;
    }
    case ValueType::kList:
      v = listv::New();
      for (uint64_t i = 0; i < n; i++) {
        if (!r.Str(&a)) return bad("truncated list element");
        listv::Push(v, a, false, lim);
      }
      break;
    default:
      return Status::Corruption("unknown value type " + std::to_string(int(t)));
  }
  if (!r.done()) return bad("trailing bytes");
  return v;
}

std::string CanonicalBytes(const Value& v) {
  if (v.tiered() && !v.is_string()) return CanonicalBytes(v.Clone());
  std::string out;
  if (v.is_string()) {
    std::string scratch;
    out.append(v.GetString(&scratch));
    return out;
  }
  uint8_t acc[16] = {};
  switch (v.type()) {
    case ValueType::kHash:
      hashv::ForEach(v, [&](std::string_view f, std::string_view val) {
        XorHash(acc, f, val);
        return true;
      });
      out.append(reinterpret_cast<const char*>(acc), 16);
      PutVarint(&out, hashv::Len(v));
      break;
    case ValueType::kSet:
      setv::ForEach(v, [&](std::string_view m) {
        XorHash(acc, m, {});
        return true;
      });
      out.append(reinterpret_cast<const char*>(acc), 16);
      PutVarint(&out, setv::Card(v));
      break;
    case ValueType::kStream:
      StreamCanonicalBytes(*v.As<StreamObject>(), &out);
      break;
    default:
      EncodeCollection(v, &out);  // lists and sorted sets: order is part of the data
  }
  return out;
}

void ForEachRebuildCommand(std::string_view key, const Value& v, size_t batch,
                           const std::function<void(const std::vector<std::string_view>&)>& fn) {
  if (v.tiered()) {
    Value hot = v.Clone();
    if (!hot.empty()) ForEachRebuildCommand(key, hot, batch, fn);
    return;
  }
  if (v.type() == ValueType::kStream) {  // one command per entry, group, pending entry
    ForEachStreamRebuildCommand(key, *v.As<StreamObject>(), fn);
    return;
  }
  std::vector<std::string_view> argv;
  const char* cmd = v.type() == ValueType::kHash   ? "HSET"
                    : v.type() == ValueType::kSet  ? "SADD"
                    : v.type() == ValueType::kZSet ? "ZADD"
                                                   : "RPUSH";
  size_t items = 0;
  auto start = [&] {
    argv.clear();
    argv.push_back(cmd);
    argv.push_back(key);
    items = 0;
  };
  start();
  // Copies keep the views valid: iteration may hand out views into scratch buffers.
  std::vector<std::string> owned;
  auto add = [&](std::initializer_list<std::string_view> parts) {
    for (auto p : parts) {
      owned.emplace_back(p);
    }
    ++items;
    if (items == batch) {
      argv.resize(2);
      for (auto& s : owned) argv.push_back(s);
      fn(argv);
      owned.clear();
      start();
    }
  };
  switch (v.type()) {
    case ValueType::kHash:
      hashv::ForEach(v, [&](std::string_view f, std::string_view val) {
        add({f, val});
        return true;
      });
      break;
    case ValueType::kSet:
      setv::ForEach(v, [&](std::string_view m) {
        add({m});
        return true;
      });
      break;
    case ValueType::kZSet:
      zsetv::ForEach(v, [&](std::string_view m, double s) {
        std::string sc = FormatDouble(s);
        add({sc, m});
        return true;
      });
      break;
    case ValueType::kList:
      listv::ForRange(v, 0, listv::Len(v), [&](std::string_view e) {
        add({e});
        return true;
      });
      break;
    default:
      break;
  }
  if (items) {
    argv.resize(2);
    for (auto& s : owned) argv.push_back(s);
    fn(argv);
  }
}

}  // namespace ferrite
