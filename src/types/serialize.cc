#include "types/serialize.h"

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>

#include "base/coding.h"
#include "base/strutil.h"
#include "types/stream.h"

namespace ferrite {
namespace {

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
  PutVarint64(out, Count(v));
  WalkItems(
      v, [&](std::string_view s) { PutLengthPrefixed(out, s); },
      [&](double d) { PutDouble(out, d); });
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
  PutVarint64(&buf, Count(v));
  WalkItems(
      v,
      [&](std::string_view s) {
        PutVarint64(&buf, s.size());
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
  Value v;
  bool first = true;
  Status st = WalkCollectionBlob(
      t, blob,
      [&](uint64_t n) -> const char* {
        if (n == 0) return "empty collection";
        if (t == ValueType::kHash) v = hashv::New();
        if (t == ValueType::kZSet) v = zsetv::New(n, 0, lim);
        if (t == ValueType::kList) v = listv::New();
        return nullptr;
      },
      [&](std::string_view a, std::string_view b, double score) -> const char* {
        switch (t) {
          case ValueType::kHash:
            if (!hashv::Set(v, a, b, lim)) return "duplicate hash field";
            break;
          case ValueType::kSet:
            if (first) v = setv::NewFor(a, lim);
            if (!setv::Add(v, a, lim)) return "duplicate set member";
            break;
          case ValueType::kZSet: {
            double cur;
            if (zsetv::Score(v, a, &cur)) return "duplicate sorted-set member";
            zsetv::Set(v, a, score, lim);
            break;
          }
          default:
            listv::Push(v, a, false, lim);
        }
        first = false;
        return nullptr;
      });
  if (!st.ok()) return st;
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
      PutVarint64(&out, hashv::Len(v));
      break;
    case ValueType::kSet:
      setv::ForEach(v, [&](std::string_view m) {
        XorHash(acc, m, {});
        return true;
      });
      out.append(reinterpret_cast<const char*>(acc), 16);
      PutVarint64(&out, setv::Card(v));
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
