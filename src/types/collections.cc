#include "types/collections.h"

#include <algorithm>
#include <cstring>

#include "base/coding.h"
#include "base/strutil.h"

namespace ferrite {
namespace {

// Hash node payload: varint value length, value bytes.
void WriteHashValue(StrTable::Node* n, std::string_view value) {
  char* p = n->payload();
  p = EncodeVarint64(p, value.size());
  if (!value.empty()) memcpy(p, value.data(), value.size());
}

std::string_view HashValue(const StrTable::Node* n) {
  return DecodeLengthPrefixedUnchecked(n->payload());
}

size_t HashValueSize(const StrTable::Node* n) {
  std::string_view v = HashValue(n);
  return size_t(v.data() + v.size() - n->payload());
}

double NodeScore(const StrTable::Node* n) { return ZIndex::Score(n); }

std::string_view ScoreBytes(const double* d) {
  return {reinterpret_cast<const char*>(d), sizeof(double)};
}

double BytesScore(std::string_view b) {
  double d;
  memcpy(&d, b.data(), sizeof(d));
  return d;
}

// Intset blocks: a PackBlock whose payload is count sorted int64s.
int64_t* IntData(PackBlock* b) { return reinterpret_cast<int64_t*>(b->data()); }
const int64_t* IntData(const PackBlock* b) { return reinterpret_cast<const int64_t*>(b->data()); }

}  // namespace

Object* HashObject::Clone() const {
  auto* o = new HashObject;
  table.ForEach([&](StrTable::Node* n) {
    std::string_view v = HashValue(n);
    WriteHashValue(o->table.Insert(n->key(), VarintLength(v.size()) + v.size()), v);
  });
  return o;
}

Object* SetObject::Clone() const {
  auto* o = new SetObject;
  table.ForEach([&](StrTable::Node* n) { o->table.Insert(n->key(), 0); });
  return o;
}

Object* ZSetObject::Clone() const {
  auto* o = new ZSetObject;
  table.ForEach([&](StrTable::Node* n) {
    StrTable::Node* c = o->table.Insert(n->key(), sizeof(double));
    memcpy(c->payload(), n->payload(), sizeof(double));
    o->index.Insert(c);
  });
  return o;
}

size_t ListObject::MemoryUsage() const {
  size_t total = sizeof(*this) + items.size() * sizeof(Value);
  size_t step = std::max<size_t>(1, items.size() / 16);
  size_t sampled = 0, bytes = 0;
  for (size_t i = 0; i < items.size(); i += step, ++sampled) bytes += items[i].MemoryUsage();
  if (sampled) total += bytes / sampled * items.size();
  return total;
}

Object* ListObject::Clone() const {
  auto* o = new ListObject;
  for (const Value& v : items) o->items.push_back(v.Clone());
  return o;
}

// ==== hashes ===========================================================================
namespace hashv {
namespace {

// Finds field in a packed hash: byte offset of the field entry, or -1.
int64_t PackFind(const PackBlock* b, std::string_view field, uint32_t* value_off) {
  return pack::FindPair(b, field, value_off);
}

void Convert(Value& v) {
  auto* o = new HashObject;
  const PackBlock* b = v.pack();
  std::string_view f, val;
  for (uint32_t off = 0; off < b->bytes;) {
    off = pack::Read(b, off, &f);
    off = pack::Read(b, off, &val);
    WriteHashValue(o->table.Insert(f, VarintLength(val.size()) + val.size()), val);
  }
  v = Value::FromObject(o);
}

}  // namespace

Value New() { return Value::FromPack(ValueType::kHash, pack::New()); }

size_t Len(const Value& v) {
  if (v.encoding() == Encoding::kPack) return v.pack()->count / 2;
  return v.As<HashObject>()->table.size();
}

bool Get(const Value& v, std::string_view field, std::string_view* out) {
  if (v.encoding() == Encoding::kPack) {
    uint32_t voff;
    if (PackFind(v.pack(), field, &voff) < 0) return false;
    pack::Read(v.pack(), voff, out);
    return true;
  }
  const StrTable::Node* n = v.As<HashObject>()->table.Find(field);
  if (!n) return false;
  *out = HashValue(n);
  return true;
}

bool Set(Value& v, std::string_view field, std::string_view value, const CollectionLimits& lim) {
  if (v.encoding() == Encoding::kPack) {
    if (field.size() > lim.hash_value || value.size() > lim.hash_value) {
      Convert(v);
    } else {
      uint32_t voff;
      if (PackFind(v.pack(), field, &voff) >= 0) {
        v.set_pack(pack::Replace(v.pack(), voff, value));
        return false;
      }
      if (Len(v) + 1 > lim.hash_entries) {
        Convert(v);
      } else {
        std::string_view pair[2] = {field, value};
        v.set_pack(pack::Insert(v.pack(), v.pack()->bytes, pair, 2));
        return true;
      }
    }
  }
  StrTable& t = v.As<HashObject>()->table;
  size_t need = VarintLength(value.size()) + value.size();
  bool inserted;
  StrTable::Node* n = t.FindOrInsert(field, need, &inserted);
  if (!inserted && HashValueSize(n) != need) n = t.Resize(n, need);
  WriteHashValue(n, value);
  return inserted;
}

bool Del(Value& v, std::string_view field) {
  if (v.encoding() == Encoding::kPack) {
    int64_t off = PackFind(v.pack(), field, nullptr);
    if (off < 0) return false;
    v.set_pack(pack::Erase(v.pack(), uint32_t(off), 2));
    return true;
  }
  return v.As<HashObject>()->table.Erase(field);
}

void ForEach(const Value& v, const PairFn& fn) {
  if (v.encoding() == Encoding::kPack) {
    const PackBlock* b = v.pack();
    std::string_view f, val;
    for (uint32_t off = 0; off < b->bytes;) {
      off = pack::Read(b, off, &f);
      off = pack::Read(b, off, &val);
      if (!fn(f, val)) return;
    }
    return;
  }
  bool go = true;
  v.As<HashObject>()->table.ForEach([&](StrTable::Node* n) {
    if (go) go = fn(n->key(), HashValue(n));
  });
}

uint64_t Scan(const Value& v, uint64_t cursor, size_t count, const PairFn& fn) {
  if (v.encoding() == Encoding::kPack) {
    ForEach(v, fn);
    return 0;
  }
  return v.As<HashObject>()->table.Scan(cursor, count,
                                        [&](StrTable::Node* n) { fn(n->key(), HashValue(n)); });
}

void Random(const Value& v, uint64_t r, std::string_view* field, std::string_view* value) {
  if (v.encoding() == Encoding::kPack) {
    const PackBlock* b = v.pack();
    uint32_t off = pack::OffsetOf(b, uint32_t(r % (b->count / 2)) * 2);
    off = pack::Read(b, off, field);
    pack::Read(b, off, value);
    return;
  }
  const StrTable::Node* n = v.As<HashObject>()->table.Random(r, r >> 32);
  *field = n->key();
  *value = HashValue(n);
}

}  // namespace hashv

// ==== sets =============================================================================
namespace setv {
namespace {

bool AsInt(std::string_view m, int64_t* out) { return m.size() <= 20 && ParseInt64(m, out); }

void ToTable(Value& v) {
  auto* o = new SetObject;
  ForEach(v, [&](std::string_view m) {
    o->table.Insert(m, 0);
    return true;
  });
  v = Value::FromObject(o);
}

void IntSetToPack(Value& v) {
  const PackBlock* b = v.pack();
  PackBlock* p = pack::New();
  char buf[24];
  for (uint32_t i = 0; i < b->count; ++i) {
    size_t n = FormatInt64To(IntData(b)[i], buf);
    p = pack::Append(p, std::string_view(buf, n));
  }
  v = Value::FromPack(ValueType::kSet, p);
}

int64_t PackFind(const PackBlock* b, std::string_view m) {
  std::string_view e;
  for (uint32_t off = 0; off < b->bytes;) {
    uint32_t next = pack::Read(b, off, &e);
    if (e == m) return off;
    off = next;
  }
  return -1;
}

}  // namespace

Value NewFor(std::string_view first, const CollectionLimits& lim) {
  int64_t n;
  if (lim.set_intset > 0 && AsInt(first, &n)) {
    return Value::FromPack(ValueType::kSet, pack::New(8), Encoding::kIntSet);
  }
  if (lim.set_entries > 0 && first.size() <= lim.set_value) {
    return Value::FromPack(ValueType::kSet, pack::New());
  }
  return Value::FromObject(new SetObject);
}

size_t Card(const Value& v) {
  switch (v.encoding()) {
    case Encoding::kIntSet:
    case Encoding::kPack:
      return v.pack()->count;
    default:
      return v.As<SetObject>()->table.size();
  }
}

bool Contains(const Value& v, std::string_view m) {
  switch (v.encoding()) {
    case Encoding::kIntSet: {
      int64_t n;
      if (!AsInt(m, &n)) return false;
      const PackBlock* b = v.pack();
      return std::binary_search(IntData(b), IntData(b) + b->count, n);
    }
    case Encoding::kPack:
      return PackFind(v.pack(), m) >= 0;
    default:
      return v.As<SetObject>()->table.Find(m) != nullptr;
  }
}

bool Add(Value& v, std::string_view m, const CollectionLimits& lim) {
  if (v.encoding() == Encoding::kIntSet) {
    int64_t n;
    if (AsInt(m, &n)) {
      PackBlock* b = v.pack();
      int64_t* d = IntData(b);
      int64_t* pos = std::lower_bound(d, d + b->count, n);
      if (pos != d + b->count && *pos == n) return false;
      if (b->count + 1 > lim.set_intset) {
        ToTable(v);
        return v.As<SetObject>()->table.Insert(m, 0) != nullptr;
      }
      size_t at = size_t(pos - d);
      PackBlock* nb = pack::New((b->count + 1) * 8);
      memcpy(nb->data(), b->data(), at * 8);
      memcpy(nb->data() + at * 8, &n, 8);
      memcpy(nb->data() + (at + 1) * 8, b->data() + at * 8, (b->count - at) * 8);
      nb->count = b->count + 1;
      nb->bytes = nb->count * 8;
      pack::Free(b);
      v.set_pack(nb);
      return true;
    }
    // A non-integer: a listpack if the result stays small, else a hash table (Redis 7.2).
    if (Card(v) + 1 <= lim.set_entries && m.size() <= lim.set_value)
      IntSetToPack(v);
    else
      ToTable(v);
  }
  if (v.encoding() == Encoding::kPack) {
    if (PackFind(v.pack(), m) >= 0) return false;
    if (v.pack()->count + 1 > lim.set_entries || m.size() > lim.set_value) {
      ToTable(v);
    } else {
      v.set_pack(pack::Append(v.pack(), m));
      return true;
    }
  }
  bool inserted;
  v.As<SetObject>()->table.FindOrInsert(m, 0, &inserted);
  return inserted;
}

bool Remove(Value& v, std::string_view m) {
  switch (v.encoding()) {
    case Encoding::kIntSet: {
      int64_t n;
      if (!AsInt(m, &n)) return false;
      PackBlock* b = v.pack();
      int64_t* d = IntData(b);
      int64_t* pos = std::lower_bound(d, d + b->count, n);
      if (pos == d + b->count || *pos != n) return false;
      memmove(pos, pos + 1, size_t(d + b->count - pos - 1) * 8);
      --b->count;
      b->bytes -= 8;
      return true;
    }
    case Encoding::kPack: {
      int64_t off = PackFind(v.pack(), m);
      if (off < 0) return false;
      v.set_pack(pack::Erase(v.pack(), uint32_t(off), 1));
      return true;
    }
    default:
      return v.As<SetObject>()->table.Erase(m);
  }
}

void ForEach(const Value& v, const StrFn& fn) {
  switch (v.encoding()) {
    case Encoding::kIntSet: {
      const PackBlock* b = v.pack();
      char buf[24];
      for (uint32_t i = 0; i < b->count; ++i) {
        if (!fn(std::string_view(buf, FormatInt64To(IntData(b)[i], buf)))) return;
      }
      return;
    }
    case Encoding::kPack:
      pack::ForEach(v.pack(), fn);
      return;
    default: {
      bool go = true;
      v.As<SetObject>()->table.ForEach([&](StrTable::Node* n) {
        if (go) go = fn(n->key());
      });
    }
  }
}

uint64_t Scan(const Value& v, uint64_t cursor, size_t count, const StrFn& fn) {
  if (v.encoding() != Encoding::kObject) {
    ForEach(v, fn);
    return 0;
  }
  return v.As<SetObject>()->table.Scan(cursor, count, [&](StrTable::Node* n) { fn(n->key()); });
}

void Random(const Value& v, uint64_t r, std::string* out) {
  switch (v.encoding()) {
    case Encoding::kIntSet: {
      const PackBlock* b = v.pack();
      char buf[24];
      out->assign(buf, FormatInt64To(IntData(b)[r % b->count], buf));
      return;
    }
    case Encoding::kPack: {
      const PackBlock* b = v.pack();
      std::string_view e;
      pack::Read(b, pack::OffsetOf(b, uint32_t(r % b->count)), &e);
      out->assign(e);
      return;
    }
    default:
      out->assign(v.As<SetObject>()->table.Random(r, r >> 32)->key());
  }
}

}  // namespace setv

// ==== sorted sets ======================================================================
namespace zsetv {
namespace {

// Packed sorted set: member, 8-byte score, … in (score, member) order.
int64_t PackFind(const PackBlock* b, std::string_view m, double* score) {
  uint32_t soff;
  int64_t off = pack::FindPair(b, m, &soff);
  if (off >= 0 && score) {
    std::string_view s;
    pack::Read(b, soff, &s);
    *score = BytesScore(s);
  }
  return off;
}

void PackInsertSorted(Value& v, std::string_view m, double score) {
  // A packed sorted set holds -0 as 0: Redis's listpack stores an integral score as an
  // integer, so ZSCORE of a small sorted set never says -0 (a large one keeps it).
  if (score == 0) score = 0.0;
  PackBlock* b = v.pack();
  std::string_view e, s;
  uint32_t off = 0;
  while (off < b->bytes) {
    uint32_t soff = pack::Read(b, off, &e);
    uint32_t next = pack::Read(b, soff, &s);
    double d = BytesScore(s);
    if (d > score || (d == score && e > m)) break;
    off = next;
  }
  std::string_view pair[2] = {m, ScoreBytes(&score)};
  v.set_pack(pack::Insert(b, off, pair, 2));
}

void ToObject(Value& v) {
  auto* o = new ZSetObject;
  const PackBlock* b = v.pack();
  std::string_view e, s;
  for (uint32_t off = 0; off < b->bytes;) {
    off = pack::Read(b, off, &e);
    off = pack::Read(b, off, &s);
    StrTable::Node* n = o->table.Insert(e, sizeof(double));
    memcpy(n->payload(), s.data(), sizeof(double));
    o->index.Insert(n);
  }
  v = Value::FromObject(o);
}

// Decoded view of a packed sorted set, for rank operations.
struct PackItems {
  std::vector<std::pair<std::string_view, double>> items;
  explicit PackItems(const PackBlock* b) {
    items.reserve(b->count / 2);
    std::string_view e, s;
    for (uint32_t off = 0; off < b->bytes;) {
      off = pack::Read(b, off, &e);
      off = pack::Read(b, off, &s);
      items.emplace_back(e, BytesScore(s));
    }
  }
};

}  // namespace

Value New(size_t expected, size_t max_member_len, const CollectionLimits& lim) {
  if (lim.zset_entries == 0 || expected > lim.zset_entries || max_member_len > lim.zset_value)
    return Value::FromObject(new ZSetObject);
  return Value::FromPack(ValueType::kZSet, pack::New());
}

size_t Card(const Value& v) {
  if (v.encoding() == Encoding::kPack) return v.pack()->count / 2;
  return v.As<ZSetObject>()->table.size();
}

bool Score(const Value& v, std::string_view m, double* score) {
  if (v.encoding() == Encoding::kPack) return PackFind(v.pack(), m, score) >= 0;
  const StrTable::Node* n = v.As<ZSetObject>()->table.Find(m);
  if (!n) return false;
  *score = NodeScore(n);
  return true;
}

void Set(Value& v, std::string_view m, double score, const CollectionLimits& lim) {
  if (v.encoding() == Encoding::kPack) {
    int64_t off = PackFind(v.pack(), m, nullptr);
    if (off >= 0) {
      v.set_pack(pack::Erase(v.pack(), uint32_t(off), 2));
      PackInsertSorted(v, m, score);
      return;
    }
    if (Card(v) + 1 > lim.zset_entries || m.size() > lim.zset_value) {
      ToObject(v);
    } else {
      PackInsertSorted(v, m, score);
      return;
    }
  }
  auto* o = v.As<ZSetObject>();
  bool inserted;
  StrTable::Node* n = o->table.FindOrInsert(m, sizeof(double), &inserted);
  if (!inserted) {
    if (NodeScore(n) == score) return;
    o->index.Erase(n);
  }
  memcpy(n->payload(), &score, sizeof(double));
  o->index.Insert(n);
}

bool Remove(Value& v, std::string_view m) {
  if (v.encoding() == Encoding::kPack) {
    int64_t off = PackFind(v.pack(), m, nullptr);
    if (off < 0) return false;
    v.set_pack(pack::Erase(v.pack(), uint32_t(off), 2));
    return true;
  }
  auto* o = v.As<ZSetObject>();
  StrTable::Node* n = o->table.Find(m);
  if (!n) return false;
  o->index.Erase(n);
  o->table.Erase(m);
  return true;
}

void PopEnd(Value& v, bool max, size_t n, std::vector<std::pair<std::string, double>>* out) {
  if (v.encoding() == Encoding::kPack) {
    for (; n > 0 && v.pack()->count > 0; --n) {
      PackBlock* b = v.pack();
      uint32_t off = max ? pack::OffsetOf(b, b->count - 2) : 0;
      std::string_view e, s;
      pack::Read(b, pack::Read(b, off, &e), &s);
      out->emplace_back(e, BytesScore(s));
      v.set_pack(pack::Erase(b, off, 2));
    }
    return;
  }
  auto* o = v.As<ZSetObject>();
  for (; n > 0 && o->index.size() > 0; --n) {
    size_t rank = max ? o->index.size() - 1 : 0;
    const StrTable::Node* node = o->index.At(rank);
    out->emplace_back(node->key(), NodeScore(node));
    o->index.EraseAt(rank);
    o->table.Erase(out->back().first);
  }
}

bool Rank(const Value& v, std::string_view m, size_t* rank) {
  if (v.encoding() == Encoding::kPack) {
    size_t i = 0;
    bool found = false;
    const PackBlock* b = v.pack();
    std::string_view e, s;
    for (uint32_t off = 0; off < b->bytes; ++i) {
      off = pack::Read(b, off, &e);
      off = pack::Read(b, off, &s);
      if (e == m) {
        found = true;
        break;
      }
    }
    *rank = i;
    return found;
  }
  auto* o = v.As<ZSetObject>();
  const StrTable::Node* n = o->table.Find(m);
  if (!n) return false;
  *rank = o->index.Rank(n);
  return true;
}

void ForRange(const Value& v, size_t start, size_t end, bool reverse, const ScoreFn& fn) {
  if (v.encoding() == Encoding::kPack) {
    PackItems p(v.pack());
    end = std::min(end, p.items.size());
    if (!reverse) {
      for (size_t i = start; i < end; ++i)
        if (!fn(p.items[i].first, p.items[i].second)) return;
    } else {
      for (size_t i = end; i > start; --i)
        if (!fn(p.items[i - 1].first, p.items[i - 1].second)) return;
    }
    return;
  }
  v.As<ZSetObject>()->index.ForRange(
      start, end, reverse, [&](const StrTable::Node* n) { return fn(n->key(), NodeScore(n)); });
}

size_t CountWhile(const Value& v, const std::function<bool(std::string_view, double)>& pred) {
  if (v.encoding() == Encoding::kPack) {
    size_t n = 0;
    const PackBlock* b = v.pack();
    std::string_view e, s;
    for (uint32_t off = 0; off < b->bytes; ++n) {
      off = pack::Read(b, off, &e);
      off = pack::Read(b, off, &s);
      if (!pred(e, BytesScore(s))) break;
    }
    return n;
  }
  return v.As<ZSetObject>()->index.CountWhile(
      [&](const StrTable::Node* n) { return pred(n->key(), NodeScore(n)); });
}

void ForEach(const Value& v, const ScoreFn& fn) { ForRange(v, 0, Card(v), false, fn); }

void ForScoreRange(const Value& v, double min, double max, const ScoreFn& fn) {
  if (v.encoding() == Encoding::kPack) {
    const PackBlock* b = v.pack();
    std::string_view e, s;
    for (uint32_t off = 0; off < b->bytes;) {
      off = pack::Read(b, off, &e);
      off = pack::Read(b, off, &s);
      double d = BytesScore(s);
      if (d < min) continue;
      if (!(d < max) || !fn(e, d)) return;
    }
    return;
  }
  v.As<ZSetObject>()->index.ForEachFrom([&](const StrTable::Node* n) { return NodeScore(n) < min; },
                                        [&](const StrTable::Node* n) {
                                          double d = NodeScore(n);
                                          return d < max && fn(n->key(), d);
                                        });
}

uint64_t Scan(const Value& v, uint64_t cursor, size_t count, const ScoreFn& fn) {
  if (v.encoding() == Encoding::kPack) {
    ForEach(v, fn);
    return 0;
  }
  return v.As<ZSetObject>()->table.Scan(cursor, count,
                                        [&](StrTable::Node* n) { fn(n->key(), NodeScore(n)); });
}

void Unpack(Value& v) {
  if (v.encoding() == Encoding::kPack) ToObject(v);
}

}  // namespace zsetv

// ==== lists ============================================================================
namespace listv {
namespace {

constexpr size_t kMaxPackedEntries = 1024;  // keeps packed-list walks short

bool PackFits(const PackBlock* b, size_t add_count, size_t add_bytes, const CollectionLimits& lim) {
  size_t count = b->count + add_count;
  size_t bytes = b->bytes + add_bytes;
  if (lim.list_size > 0) return count <= size_t(lim.list_size) && count <= kMaxPackedEntries;
  int64_t level = std::clamp<int64_t>(-lim.list_size, 1, 5);
  size_t max_bytes = size_t(4096) << (level - 1);
  return bytes + sizeof(PackBlock) <= max_bytes && count <= kMaxPackedEntries;
}

void ToObject(Value& v) {
  auto* o = new ListObject;
  pack::ForEach(v.pack(), [&](std::string_view e) {
    o->items.push_back(Value::String(e));
    return true;
  });
  v = Value::FromObject(o);
}

void Rebuild(Value& v, const std::vector<std::string>& elems) {
  PackBlock* b = pack::New();
  std::vector<std::string_view> views(elems.begin(), elems.end());
  b = pack::Insert(b, 0, views.data(), views.size());
  v = Value::FromPack(ValueType::kList, b);
}

std::vector<std::string> Decode(const PackBlock* b) {
  std::vector<std::string> out;
  out.reserve(b->count);
  pack::ForEach(b, [&](std::string_view e) {
    out.emplace_back(e);
    return true;
  });
  return out;
}

}  // namespace

Value New() { return Value::FromPack(ValueType::kList, pack::New()); }

size_t Len(const Value& v) {
  if (v.encoding() == Encoding::kPack) return v.pack()->count;
  return v.As<ListObject>()->items.size();
}

void Push(Value& v, std::string_view elem, bool front, const CollectionLimits& lim) {
  if (v.encoding() == Encoding::kPack) {
    if (PackFits(v.pack(), 1, pack::EntrySize(elem.size()), lim)) {
      v.set_pack(pack::Insert(v.pack(), front ? 0 : v.pack()->bytes, elem));
      return;
    }
    ToObject(v);
  }
  auto& d = v.As<ListObject>()->items;
  if (front)
    d.push_front(Value::String(elem));
  else
    d.push_back(Value::String(elem));
}

bool Pop(Value& v, bool front, std::string* out) {
  if (v.encoding() == Encoding::kPack) {
    PackBlock* b = v.pack();
    if (!b->count) return false;
    uint32_t off = front ? 0 : pack::OffsetOf(b, b->count - 1);
    std::string_view e;
    pack::Read(b, off, &e);
    out->assign(e);
    v.set_pack(pack::Erase(b, off, 1));
    return true;
  }
  auto& d = v.As<ListObject>()->items;
  if (d.empty()) return false;
  Value& e = front ? d.front() : d.back();
  std::string scratch;
  std::string_view s = e.GetString(&scratch);
  out->assign(s);
  if (front)
    d.pop_front();
  else
    d.pop_back();
  return true;
}

std::string_view At(const Value& v, size_t index, std::string* scratch) {
  if (v.encoding() == Encoding::kPack) {
    std::string_view e;
    pack::Read(v.pack(), pack::OffsetOf(v.pack(), uint32_t(index)), &e);
    return e;
  }
  return v.As<ListObject>()->items[index].GetString(scratch);
}

void SetAt(Value& v, size_t index, std::string_view elem, const CollectionLimits& lim) {
  if (v.encoding() == Encoding::kPack) {
    PackBlock* b = v.pack();
    uint32_t off = pack::OffsetOf(b, uint32_t(index));
    std::string_view old;
    pack::Read(b, off, &old);
    size_t grow = pack::EntrySize(elem.size());
    size_t shrink = pack::EntrySize(old.size());
    if (grow <= shrink || PackFits(b, 0, grow - shrink, lim)) {
      v.set_pack(pack::Replace(b, off, elem));
      return;
    }
    ToObject(v);
  }
  v.As<ListObject>()->items[index] = Value::String(elem);
}

void ForRange(const Value& v, size_t start, size_t end, const StrFn& fn) {
  if (start >= end) return;
  if (v.encoding() == Encoding::kPack) {
    const PackBlock* b = v.pack();
    std::string_view e;
    uint32_t off = pack::OffsetOf(b, uint32_t(start));
    for (size_t i = start; i < end && off < b->bytes; ++i) {
      off = pack::Read(b, off, &e);
      if (!fn(e)) return;
    }
    return;
  }
  const auto& d = v.As<ListObject>()->items;
  std::string scratch;
  for (size_t i = start; i < end && i < d.size(); ++i)
    if (!fn(d[i].GetString(&scratch))) return;
}

bool InsertAt(Value& v, std::string_view pivot, std::string_view elem, bool after,
              const CollectionLimits& lim) {
  if (v.encoding() == Encoding::kPack) {
    PackBlock* b = v.pack();
    std::string_view e;
    for (uint32_t off = 0; off < b->bytes;) {
      uint32_t next = pack::Read(b, off, &e);
      if (e == pivot) {
        if (PackFits(b, 1, pack::EntrySize(elem.size()), lim)) {
          v.set_pack(pack::Insert(b, after ? next : off, elem));
          return true;
        }
        ToObject(v);
        break;
      }
      off = next;
    }
    if (v.encoding() == Encoding::kPack) return false;
  }
  auto& d = v.As<ListObject>()->items;
  std::string scratch;
  for (size_t i = 0; i < d.size(); ++i) {
    if (d[i].GetString(&scratch) == pivot) {
      d.insert(d.begin() + long(after ? i + 1 : i), Value::String(elem));
      return true;
    }
  }
  return false;
}

size_t Remove(Value& v, int64_t count, std::string_view elem) {
  size_t removed = 0;
  // |count| without negating INT64_MIN (2^63: every match, as Redis ends up removing).
  size_t limit = count == 0 ? SIZE_MAX : count < 0 ? size_t(0) - size_t(count) : size_t(count);
  if (v.encoding() == Encoding::kPack) {
    std::vector<std::string> items = Decode(v.pack());
    std::vector<std::string> kept;
    kept.reserve(items.size());
    if (count >= 0) {
      for (auto& s : items) {
        if (removed < limit && s == elem)
          ++removed;
        else
          kept.push_back(std::move(s));
      }
    } else {
      for (size_t i = items.size(); i > 0; --i) {
        if (removed < limit && items[i - 1] == elem)
          ++removed;
        else
          kept.push_back(std::move(items[i - 1]));
      }
      std::reverse(kept.begin(), kept.end());
    }
    if (removed) Rebuild(v, kept);
    return removed;
  }
  auto& d = v.As<ListObject>()->items;
  std::string scratch;
  if (count >= 0) {
    for (size_t i = 0; i < d.size() && removed < limit;) {
      if (d[i].GetString(&scratch) == elem) {
        d.erase(d.begin() + long(i));
        ++removed;
      } else {
        ++i;
      }
    }
  } else {
    for (size_t i = d.size(); i > 0 && removed < limit; --i) {
      if (d[i - 1].GetString(&scratch) == elem) {
        d.erase(d.begin() + long(i - 1));
        ++removed;
      }
    }
  }
  return removed;
}

void Trim(Value& v, size_t start, size_t end) {
  size_t len = Len(v);
  end = std::min(end, len);
  if (start >= end) start = end = 0;
  if (v.encoding() == Encoding::kPack) {
    PackBlock* b = v.pack();
    b = pack::Erase(b, pack::OffsetOf(b, uint32_t(end)), uint32_t(len - end));
    b = pack::Erase(b, 0, uint32_t(start));
    v.set_pack(b);
    return;
  }
  auto& d = v.As<ListObject>()->items;
  d.erase(d.begin() + long(end), d.end());
  d.erase(d.begin(), d.begin() + long(start));
}

}  // namespace listv
}  // namespace ferrite
