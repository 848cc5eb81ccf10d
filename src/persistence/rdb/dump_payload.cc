#include "persistence/rdb/dump_payload.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "base/coding.h"
#include "base/crc64.h"
#include "base/strutil.h"
#include "persistence/rdb/rdb_codec.h"
#include "persistence/rdb/rdb_stream.h"
#include "types/serialize.h"

namespace ferrite::rdb {
namespace {

// quicklist.c: a node takes one more element while its listpack stays within the fill
// limit (fill < 0: 4 KB .. 64 KB; fill > 0: that many elements, and at most 8 KB), with
// 8 bytes counted for the new entry's header and trailer; elements of 1 GB or more get a
// node of their own (PLAIN).
constexpr size_t kPackedThreshold = size_t(1) << 30;
constexpr size_t kSizeSafetyLimit = 8192;
constexpr size_t kSizeEstimateOverhead = 8;
constexpr size_t kOptimizationLevel[] = {4096, 8192, 16384, 32768, 65536};

bool NodeAllowsInsert(size_t node_bytes, size_t count, int64_t fill, size_t len) {
  size_t new_sz = node_bytes + len + kSizeEstimateOverhead;
  if (fill < 0 && size_t(-fill - 1) < std::size(kOptimizationLevel) &&
      new_sz <= kOptimizationLevel[-fill - 1])
    return true;
  if (new_sz > kSizeSafetyLimit) return false;
  return int64_t(count) < fill;
}

void EncodeList(const Value& v, const DumpOptions& o, std::string* out) {
  int64_t fill = std::clamp<int64_t>(o.list_max_listpack_size, -5, 32767);
  std::string nodes, scratch;
  uint64_t node_count = 0;
  ListpackBuilder lp;
  auto flush = [&] {
    if (lp.count() == 0) return;
    PutLen(&nodes, 2);  // PACKED
    PutString(&nodes, lp.Finish(), o.compress, &scratch);
    node_count++;
  };
  listv::ForRange(v, 0, listv::Len(v), [&](std::string_view e) {
    if (e.size() >= kPackedThreshold) {
      flush();
      PutLen(&nodes, 1);  // PLAIN
      PutString(&nodes, e, o.compress, &scratch);
      node_count++;
      return true;
    }
    if (lp.count() > 0 && !NodeAllowsInsert(lp.bytes(), lp.count(), fill, e.size())) flush();
    lp.Append(e);
    return true;
  });
  flush();
  out->push_back(char(kTListQuicklist2));
  PutLen(out, node_count);
  out->append(nodes);
}

void EncodeSet(const Value& v, const DumpOptions& o, std::string* out) {
  std::string scratch;
  if (v.encoding() == Encoding::kIntSet) {
    std::vector<int64_t> ints;
    ints.reserve(setv::Card(v));
    setv::ForEach(v, [&](std::string_view m) {
      int64_t x = 0;
      ParseInt64(m, &x);  // an intset holds canonical integers only
      ints.push_back(x);
      return true;
    });
    std::sort(ints.begin(), ints.end());
    out->push_back(char(kTSetIntset));
    PutString(out, IntsetBlob(ints), o.compress, &scratch);
    return;
  }
  out->push_back(char(kTSet));
  PutLen(out, setv::Card(v));
  setv::ForEach(v, [&](std::string_view m) {
    PutString(out, m, o.compress, &scratch);
    return true;
  });
}

void EncodeZSet(const Value& v, const DumpOptions& o, std::string* out) {
  std::string scratch;
  size_t n = zsetv::Card(v);
  if (v.encoding() == Encoding::kPack) {
    // zzlInsert keeps a listpack in (score, member) order.
    std::vector<std::pair<double, std::string>> items;
    items.reserve(n);
    zsetv::ForEach(v, [&](std::string_view m, double s) {
      items.emplace_back(s, std::string(m));
      return true;
    });
    std::sort(items.begin(), items.end());
    ListpackBuilder lp;
    for (const auto& [s, m] : items) {
      lp.Append(m);
      lp.Append(ListpackScoreText(s));
    }
    out->push_back(char(kTZSetListpack));
    PutString(out, lp.Finish(), o.compress, &scratch);
    return;
  }
  // rdbSaveObject walks the skiplist from its tail: highest score first.
  out->push_back(char(kTZSet2));
  PutLen(out, n);
  zsetv::ForRange(v, 0, n, true, [&](std::string_view m, double s) {
    PutString(out, m, o.compress, &scratch);
    PutBinaryDouble(out, s);
    return true;
  });
}

void EncodeHash(const Value& v, const DumpOptions& o, std::string* out) {
  std::string scratch;
  if (v.encoding() == Encoding::kPack) {
    ListpackBuilder lp;
    hashv::ForEach(v, [&](std::string_view f, std::string_view val) {
      lp.Append(f);
      lp.Append(val);
      return true;
    });
    out->push_back(char(kTHashListpack));
    PutString(out, lp.Finish(), o.compress, &scratch);
    return;
  }
  out->push_back(char(kTHash));
  PutLen(out, hashv::Len(v));
  hashv::ForEach(v, [&](std::string_view f, std::string_view val) {
    PutString(out, f, o.compress, &scratch);
    PutString(out, val, o.compress, &scratch);
    return true;
  });
}

// The types Redis 7.0's RESTORE reads (rdbIsObjectType: 0-7 and 9-19), less the ones
// Ferrite has no value for.
const char* UnsupportedType(uint8_t type) {
  if (type == kTModulePreGa || type == kTModule2) return "module values are not supported";
  if (type == 8 || type > kTStreamListpacks2) return "not a Redis 7.0 value type";
  return nullptr;
}

}  // namespace

void EncodeRdbValue(const Value& v, const DumpOptions& o, std::string* out) {
  switch (v.type()) {
    case ValueType::kString: {
      std::string s, scratch;
      std::string_view bytes = v.GetString(&s);
      out->push_back(char(kTString));
      PutString(out, bytes, o.compress, &scratch);
      return;
    }
    case ValueType::kList:
      return EncodeList(v, o, out);
    case ValueType::kSet:
      return EncodeSet(v, o, out);
    case ValueType::kZSet:
      return EncodeZSet(v, o, out);
    case ValueType::kHash:
      return EncodeHash(v, o, out);
    case ValueType::kStream:
      return EncodeRdbStream(*v.As<StreamObject>(), o.compress, out);
    default:
      return;
  }
}

std::string CreateDumpPayload(const Value& v, const DumpOptions& options) {
  std::string out;
  EncodeRdbValue(v, options, &out);
  PutFixed16(&out, kDumpRdbVersion);
  PutFixed64(&out, Crc64(0, out.data(), out.size()));
  return out;
}

bool VerifyDumpPayload(std::string_view p, uint16_t* version) {
  if (p.size() < 10) return false;
  const char* footer = p.data() + p.size() - 10;
  uint16_t ver = DecodeFixed16(footer);
  if (version) *version = ver;
  if (ver > kDumpRdbVersion) return false;
  return Crc64(0, p.data(), p.size() - 8) == DecodeFixed64(footer + 2);
}

Result<Value> DecodeDumpPayload(std::string_view payload, const CollectionLimits& limits) {
  // As Redis's RESTORE, the value is read from the whole payload: bytes left before the
  // footer are ignored, and a value that runs into the footer reads it (a payload DUMP
  // made never does either; a forged one gets what Redis would make of it).
  MemorySource src(payload);
  ValueDecoder d(&src, "DUMP payload", "payload");
  uint8_t type;
  if (Status s = d.U8(&type); !s.ok()) return s;
  if (const char* why = UnsupportedType(type))
    return d.Bad(0, fmt::format("RDB type {}: {}", type, why));
  if (type == kTString) {
    std::string s;
    if (Status st = d.String(&s, "string value"); !st.ok()) return st;
    return Value::String(s);
  }
  if (IsStreamType(type)) return ReadRdbStream(d, type);
  RdbItems items;
  if (Status s = d.ReadCollection(type, &items); !s.ok()) return s;
  if (items.count() == 0) return d.Bad(0, "empty collection");
  std::string blob;
  if (Status s = ItemsToBlob(items, &blob); !s.ok()) return d.Bad(0, s.message());
  ValueType t = items.type;
  items.Clear();  // the elements are in the blob now: free them before building the value
  items.items.shrink_to_fit();
  items.scores.shrink_to_fit();
  return DecodeCollection(t, blob, limits);
}

}  // namespace ferrite::rdb
