#include "persistence/rdb/rdb_stream.h"

#include <fmt/format.h>

#include <cstring>

#include "base/coding.h"

namespace ferrite::rdb {
namespace {

// Redis's streamID as 16 big-endian bytes (rax keys and PEL entries).
void PutRawId(std::string* out, StreamID id) {
  PutFixed64BE(out, id.ms);
  PutFixed64BE(out, id.seq);
}

StreamID RawId(const char* p) { return {DecodeFixed64BE(p), DecodeFixed64BE(p + 8)}; }

void PutMs(std::string* out, int64_t ms) { PutFixed64(out, uint64_t(ms)); }

}  // namespace

void EncodeRdbStream(const StreamObject& s, bool compress, std::string* out) {
  std::string scratch, key;
  out->push_back(char(kTStreamListpacks2));
  PutLen(out, s.node_count());
  for (size_t i = 0; i < s.node_count(); i++) {
    const auto& nd = s.node(i);
    key.clear();
    PutRawId(&key, nd.master);
    PutString(out, key, compress, &scratch);
    PutString(out,
              std::string_view(reinterpret_cast<const char*>(nd.lp.lp), slp::TotalBytes(nd.lp.lp)),
              compress, &scratch);
  }
  PutLen(out, s.length);
  PutLen(out, s.last_id.ms);
  PutLen(out, s.last_id.seq);
  PutLen(out, s.first_id.ms);
  PutLen(out, s.first_id.seq);
  PutLen(out, s.max_deleted_id.ms);
  PutLen(out, s.max_deleted_id.seq);
  PutLen(out, s.entries_added);
  PutLen(out, s.group_count());
  for (auto& [name, g] : s.groups()) {
    PutString(out, name, compress, &scratch);
    PutLen(out, g->last_id.ms);
    PutLen(out, g->last_id.seq);
    PutLen(out, uint64_t(g->entries_read));
    PutLen(out, g->pel.size());
    for (auto& [id, nack] : g->pel) {
      PutRawId(out, id);
      PutMs(out, nack->delivery_time);
      PutLen(out, nack->delivery_count);
    }
    PutLen(out, g->consumers.size());
    for (auto& [cname, c] : g->consumers) {
      PutString(out, cname, compress, &scratch);
      PutMs(out, c->seen_time);
      PutLen(out, c->pel.size());
      for (auto& [id, nack] : c->pel) PutRawId(out, id);
    }
  }
}

Result<Value> ReadRdbStream(ValueDecoder& d, uint8_t type) {
  auto* s = new StreamObject();
  Value v = Value::FromObject(s);  // owns s
  bool v2 = type != kTStreamListpacks;
  uint64_t nodes;
  if (Status st = d.Count(&nodes, "stream node count"); !st.ok()) return st;
  std::string key, lp;
  uint64_t live = 0;
  for (uint64_t i = 0; i < nodes; i++) {
    uint64_t at = d.offset();
    if (Status st = d.String(&key, "stream node key"); !st.ok()) return st;
    if (key.size() != 16) return d.Bad(at, "stream node key is not the size of a stream ID");
    at = d.offset();
    if (Status st = d.String(&lp, "stream node"); !st.ok()) return st;
    StreamID master = RawId(key.data());
    NodeCheck nc;
    Status st =
        CheckStreamNode(master, reinterpret_cast<const uint8_t*>(lp.data()), lp.size(), &nc);
    if (!st.ok()) return d.Bad(at, st.message());
    live += nc.live;
    s->AdoptNode(master, slp::FromBytes(lp));
  }
  uint64_t at = d.offset();
  if (!s->SortNodes()) return d.Bad(at, "listpack re-added with an existing key");
  if (Status st = d.PlainLen(&s->length, "stream length"); !st.ok()) return st;
  if (s->length != live)
    return d.Bad(at,
                 fmt::format("stream length {} but its nodes hold {} entries", s->length, live));
  if (Status st = d.PlainLen(&s->last_id.ms, "stream last ID"); !st.ok()) return st;
  if (Status st = d.PlainLen(&s->last_id.seq, "stream last ID"); !st.ok()) return st;
  if (v2) {
    if (Status st = d.PlainLen(&s->first_id.ms, "stream first ID"); !st.ok()) return st;
    if (Status st = d.PlainLen(&s->first_id.seq, "stream first ID"); !st.ok()) return st;
    if (Status st = d.PlainLen(&s->max_deleted_id.ms, "stream max deleted ID"); !st.ok()) return st;
    if (Status st = d.PlainLen(&s->max_deleted_id.seq, "stream max deleted ID"); !st.ok())
      return st;
    if (Status st = d.PlainLen(&s->entries_added, "stream entries added"); !st.ok()) return st;
  } else {
    // Redis 5-6.2 kept no such counters: as Redis 7 loads them.
    s->entries_added = s->length;
    s->first_id = s->length ? s->EdgeID(true, true) : StreamID{0, 0};
  }
  uint64_t groups;
  if (Status st = d.Count(&groups, "stream group count"); !st.ok()) return st;
  std::string name;
  const char* p;
  for (uint64_t gi = 0; gi < groups; gi++) {
    at = d.offset();
    if (Status st = d.String(&name, "consumer group name"); !st.ok()) return st;
    StreamID last;
    if (Status st = d.PlainLen(&last.ms, "group last ID"); !st.ok()) return st;
    if (Status st = d.PlainLen(&last.seq, "group last ID"); !st.ok()) return st;
    int64_t entries_read;
    if (v2) {
      uint64_t er;
      if (Status st = d.PlainLen(&er, "group entries read"); !st.ok()) return st;
      entries_read = int64_t(er);
      if (entries_read < -1) return d.Bad(at, "group entries-read below -1");
    } else {
      entries_read = s->EstimateDistanceFromFirstEver(last);
    }
    StreamGroup* g = s->CreateGroup(name, last, entries_read);
    if (!g) return d.Bad(at, "duplicate consumer group " + Printable(name));
    uint64_t npel;
    if (Status st = d.Count(&npel, "group PEL size"); !st.ok()) return st;
    for (uint64_t k = 0; k < npel; k++) {
      at = d.offset();
      if (Status st = d.Take(16, &p); !st.ok()) return st;
      StreamID id = RawId(p);
      auto [it, inserted] = g->pel.try_emplace(id);
      if (!inserted) return d.Bad(at, "duplicate group PEL entry " + id.ToString());
      it->second = std::make_unique<StreamNack>();
      StreamNack* nack = it->second.get();
      if (Status st = d.Take(8, &p); !st.ok()) return st;
      nack->delivery_time = int64_t(DecodeFixed64(p));
      if (Status st = d.PlainLen(&nack->delivery_count, "delivery count"); !st.ok()) return st;
    }
    uint64_t ncons;
    if (Status st = d.Count(&ncons, "consumer count"); !st.ok()) return st;
    for (uint64_t ci = 0; ci < ncons; ci++) {
      at = d.offset();
      if (Status st = d.String(&name, "consumer name"); !st.ok()) return st;
      StreamConsumer* c = g->CreateConsumer(name, 0);
      if (!c) return d.Bad(at, "duplicate consumer " + Printable(name));
      if (Status st = d.Take(8, &p); !st.ok()) return st;
      c->seen_time = int64_t(DecodeFixed64(p));
      if (type == kTStreamListpacks3) {  // 7.2's active-time: Redis 7.0 has no such field
        if (Status st = d.Take(8, &p); !st.ok()) return st;
      }
      uint64_t cpel;
      if (Status st = d.Count(&cpel, "consumer PEL size"); !st.ok()) return st;
      for (uint64_t k = 0; k < cpel; k++) {
        at = d.offset();
        if (Status st = d.Take(16, &p); !st.ok()) return st;
        StreamID id = RawId(p);
        auto it = g->pel.find(id);
        if (it == g->pel.end()) return d.Bad(at, "consumer entry not found in group global PEL");
        if (it->second->consumer) return d.Bad(at, "a PEL entry owned by two consumers");
        it->second->consumer = c;
        c->pel[id] = it->second.get();
      }
    }
    for (auto& [id, nack] : g->pel)
      if (!nack->consumer) return d.Bad(d.offset(), "stream group PEL entry without consumer");
  }
  return v;
}

}  // namespace ferrite::rdb
