#include "types/stream.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/coding.h"
#include "base/strutil.h"

namespace ferrite {
namespace {

constexpr int64_t kFlagDeleted = 1;
constexpr int64_t kFlagSameFields = 2;
constexpr uint64_t kMaxNodeBytes = 1u << 30;  // Redis's STREAM_LISTPACK_MAX_SIZE
constexpr size_t kMaxPrealloc = 4096;         // Redis's STREAM_LISTPACK_MAX_PRE_ALLOCATE
constexpr size_t kNpos = SIZE_MAX;

size_t FormatU64(uint64_t v, char* buf) {
  char tmp[24];
  size_t n = 0;
  do {
    tmp[n++] = char('0' + v % 10);
    v /= 10;
  } while (v);
  for (size_t i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
  return n;
}

// Redis's string2ull: a canonical int64 that is not negative, else what strtoull takes whole.
bool String2ull(std::string_view s, uint64_t* out) {
  int64_t ll;
  if (ParseInt64(s, &ll)) {
    if (ll < 0) return false;
    *out = uint64_t(ll);
    return true;
  }
  char buf[128];
  if (s.size() >= sizeof(buf)) return false;
  memcpy(buf, s.data(), s.size());
  buf[s.size()] = 0;
  errno = 0;
  char* end = nullptr;
  unsigned long long v = strtoull(buf, &end, 10);
  if (errno == EINVAL || errno == ERANGE || buf[0] == 0 || *end != 0) return false;
  *out = v;
  return true;
}

// Entry layout helpers over one node --------------------------------------------------
struct NodeHead {
  int64_t count;
  int64_t deleted;
  int64_t master_fields;
  uint32_t count_pos, deleted_pos, fields_start, terminator;
};

NodeHead ReadHead(const uint8_t* lp) {
  NodeHead h;
  h.count_pos = slp::First(lp);
  h.count = slp::GetInt(lp, h.count_pos);
  h.deleted_pos = slp::Next(lp, h.count_pos);
  h.deleted = slp::GetInt(lp, h.deleted_pos);
  uint32_t nf = slp::Next(lp, h.deleted_pos);
  h.master_fields = slp::GetInt(lp, nf);
  h.fields_start = slp::Next(lp, nf);
  uint32_t p = h.fields_start;
  for (int64_t i = 0; i < h.master_fields; i++) p = slp::Next(lp, p);
  h.terminator = p;
  return h;
}

// One entry starting at its flags element.
struct EntryPos {
  int64_t flags;
  StreamID id;
  int64_t numfields;
  uint32_t fields;  // first element after the header part
  uint32_t end;     // the entry's lp-count element
};

EntryPos ReadEntry(const uint8_t* lp, uint32_t flags_pos, StreamID master, int64_t master_fields) {
  EntryPos e;
  e.flags = slp::GetInt(lp, flags_pos);
  uint32_t p = slp::Next(lp, flags_pos);
  e.id.ms = master.ms + uint64_t(slp::GetInt(lp, p));
  p = slp::Next(lp, p);
  e.id.seq = master.seq + uint64_t(slp::GetInt(lp, p));
  p = slp::Next(lp, p);
  if (e.flags & kFlagSameFields) {
    e.numfields = master_fields;
  } else {
    e.numfields = slp::GetInt(lp, p);
    p = slp::Next(lp, p);
  }
  e.fields = p;
  int64_t skip = (e.flags & kFlagSameFields) ? e.numfields : e.numfields * 2;
  for (int64_t i = 0; i < skip; i++) p = slp::Next(lp, p);
  e.end = p;
  return e;
}

// A stream ID as 16 big-endian bytes, so IDs sort as bytes.
void PutID(std::string* out, StreamID id) {
  PutFixed64BE(out, id.ms);
  PutFixed64BE(out, id.seq);
}
// All 16 bytes or none: an error names the offset where the ID begins.
bool ReadID(Cursor& r, StreamID* id) {
  return r.left() >= 16 && r.Fixed64BE(&id->ms) && r.Fixed64BE(&id->seq);
}

}  // namespace

// ---------------------------------------------------------------- StreamID
bool StreamID::Incr() {
  if (seq == UINT64_MAX) {
    if (ms == UINT64_MAX) {
      ms = seq = 0;
      return false;
    }
    ms++;
    seq = 0;
  } else {
    seq++;
  }
  return true;
}

bool StreamID::Decr() {
  if (seq == 0) {
    if (ms == 0) {
      ms = seq = UINT64_MAX;
      return false;
    }
    ms--;
    seq = UINT64_MAX;
  } else {
    seq--;
  }
  return true;
}

size_t StreamID::Format(char* buf) const {
  size_t n = FormatU64(ms, buf);
  buf[n++] = '-';
  return n + FormatU64(seq, buf + n);
}

std::string StreamID::ToString() const {
  char buf[48];
  return std::string(buf, Format(buf));
}

bool ParseStreamID(std::string_view s, StreamID* id, uint64_t missing_seq, bool strict,
                   bool* seq_given) {
  if (s.size() > 127) return false;
  if (size_t nul = s.find('\0'); nul != std::string_view::npos) s = s.substr(0, nul);
  if (strict && (s == "-" || s == "+")) return false;
  if (seq_given) *seq_given = true;
  if (s == "-") {
    *id = {0, 0};
    return true;
  }
  if (s == "+") {
    *id = StreamID::Max();
    return true;
  }
  size_t dash = s.find('-');
  uint64_t ms, seq;
  if (!String2ull(s.substr(0, dash), &ms)) return false;
  if (dash != std::string_view::npos) {
    std::string_view rest = s.substr(dash + 1);
    if (seq_given && rest == "*") {
      seq = 0;
      *seq_given = false;
    } else if (!String2ull(rest, &seq)) {
      return false;
    }
  } else {
    seq = missing_seq;
  }
  id->ms = ms;
  id->seq = seq;
  return true;
}

// ---------------------------------------------------------------- groups
StreamConsumer* StreamGroup::FindConsumer(std::string_view name) {
  auto it = consumers.find(name);
  return it == consumers.end() ? nullptr : it->second.get();
}

StreamConsumer* StreamGroup::CreateConsumer(std::string_view name, int64_t now_ms) {
  auto [it, inserted] = consumers.try_emplace(std::string(name));
  if (!inserted) return nullptr;
  it->second = std::make_unique<StreamConsumer>();
  it->second->name = it->first;
  it->second->seen_time = now_ms;
  return it->second.get();
}

size_t StreamGroup::DeleteConsumer(StreamConsumer* c) {
  size_t n = c->pel.size();
  for (auto& [id, nack] : c->pel) pel.erase(id);
  consumers.erase(c->name);
  return n;
}

void StreamGroup::RemovePending(Pel::iterator it) {
  if (it->second->consumer) it->second->consumer->pel.erase(it->first);
  pel.erase(it);
}

// ---------------------------------------------------------------- iterator
StreamIterator::StreamIterator(const StreamObject& s, StreamID start, StreamID end, bool rev,
                               bool skip_tombstones)
    : s_(s), start_(start), end_(end), rev_(rev), skip_tombstones_(skip_tombstones) {
  size_t n = s.nodes_.size();
  if (s.head_ >= n) {
    done_ = true;
    node_ = n;
    return;
  }
  if (!rev) {
    size_t i = start.zero() ? kNpos : s.SeekNode(start);
    node_ = i == kNpos ? s.head_ : i;
  } else {
    size_t i = (end.zero()) ? kNpos : s.SeekNode(end);
    node_ = i == kNpos ? n - 1 : i;
  }
}

bool StreamIterator::EnterNode() {
  if (node_ < s_.head_ || node_ >= s_.nodes_.size()) return false;
  const auto& nd = s_.nodes_[node_];
  lp_ = nd.lp.lp;
  master_ = nd.master;
  NodeHead h = ReadHead(lp_);
  master_fields_ = h.master_fields;
  master_fields_start_ = h.fields_start;
  pos_ = rev_ ? slp::Last(lp_) : h.terminator;
  in_node_ = true;
  return true;
}

bool StreamIterator::Next(StreamID* id, int64_t* numfields) {
  while (!done_) {
    if (!in_node_ && !EnterNode()) {
      done_ = true;
      return false;
    }
    uint32_t flags_pos;
    if (!rev_) {
      flags_pos = slp::Next(lp_, pos_);
      if (!flags_pos) {
        in_node_ = false;
        node_++;
        continue;
      }
    } else {
      int64_t lp_count = slp::GetInt(lp_, pos_);
      if (lp_count == 0) {  // the master entry's terminator: no more entries here
        in_node_ = false;
        if (node_ == s_.head_) {
          done_ = true;
          return false;
        }
        node_--;
        continue;
      }
      flags_pos = pos_;
      while (lp_count--) flags_pos = slp::Prev(lp_, flags_pos);
    }
    EntryPos e = ReadEntry(lp_, flags_pos, master_, master_fields_);
    pos_ = rev_ ? slp::Prev(lp_, flags_pos) : e.end;
    flags_ = e.flags;
    same_fields_ = e.flags & kFlagSameFields;
    numfields_ = e.numfields;
    fields_ = e.fields;
    if (skip_tombstones_ && (e.flags & kFlagDeleted)) continue;
    if (!rev_) {
      if (e.id < start_) continue;
      if (e.id > end_) {
        done_ = true;
        return false;
      }
    } else {
      if (e.id > end_) continue;
      if (e.id < start_) {
        done_ = true;
        return false;
      }
    }
    *id = e.id;
    *numfields = e.numfields;
    return true;
  }
  return false;
}

// ---------------------------------------------------------------- stream object
StreamObject::~StreamObject() {
  for (size_t i = head_; i < nodes_.size(); i++) slp::Free(&nodes_[i].lp);
}

size_t StreamObject::SeekNode(StreamID id) const {
  auto first = nodes_.begin() + ptrdiff_t(head_);
  auto it = std::upper_bound(first, nodes_.end(), id,
                             [](const StreamID& v, const Node& n) { return v < n.master; });
  if (it == first) return kNpos;
  return size_t(it - nodes_.begin()) - 1;
}

bool StreamObject::SortNodes() {
  auto first = nodes_.begin() + ptrdiff_t(head_);
  auto less = [](const Node& a, const Node& b) { return a.master < b.master; };
  if (!std::is_sorted(first, nodes_.end(), less)) std::stable_sort(first, nodes_.end(), less);
  return std::adjacent_find(first, nodes_.end(), [](const Node& a, const Node& b) {
           return a.master == b.master;
         }) == nodes_.end();
}

void StreamObject::RemoveNode(size_t abs) {
  slp::Free(&nodes_[abs].lp);
  if (abs == head_) {
    head_++;
    if (head_ == nodes_.size()) {
      nodes_.clear();
      head_ = 0;
    } else if (head_ >= 64 && head_ * 2 >= nodes_.size()) {
      nodes_.erase(nodes_.begin(), nodes_.begin() + ptrdiff_t(head_));
      head_ = 0;
    }
    return;
  }
  nodes_.erase(nodes_.begin() + ptrdiff_t(abs));
}

StreamObject::AppendResult StreamObject::Append(const std::string_view* fv, size_t numfields,
                                                const StreamID* use_id, bool seq_given,
                                                int64_t now_ms, const StreamLimits& lim,
                                                StreamID* added) {
  StreamID id;
  if (use_id) {
    if (seq_given) {
      id = *use_id;
    } else if (last_id.ms == use_id->ms) {
      if (last_id.seq == UINT64_MAX) return AppendResult::kSeqExhausted;
      id = last_id;
      id.seq++;
    } else {
      id = *use_id;
    }
  } else if (uint64_t(now_ms) > last_id.ms) {
    id = {uint64_t(now_ms), 0};
  } else {
    id = last_id;
    id.Incr();
  }
  if (id <= last_id) return AppendResult::kIdTooSmall;
  uint64_t totelelen = 0;
  for (size_t i = 0; i < numfields * 2; i++) totelelen += fv[i].size();
  if (totelelen > kMaxNodeBytes) return AppendResult::kTooLarge;

  Node* tail = node_count() ? &nodes_.back() : nullptr;
  if (tail) {
    uint64_t lp_bytes = slp::TotalBytes(tail->lp.lp);
    uint64_t max_bytes = lim.node_max_bytes;
    if (max_bytes == 0 || max_bytes > kMaxNodeBytes) max_bytes = kMaxNodeBytes;
    bool new_node = false;
    if (lp_bytes + totelelen >= max_bytes) {
      new_node = true;
    } else if (lim.node_max_entries) {
      const uint8_t* lp = tail->lp.lp;
      uint32_t p = slp::First(lp);
      int64_t count = slp::GetInt(lp, p) + slp::GetInt(lp, slp::Next(lp, p));
      if (count >= lim.node_max_entries) new_node = true;
    }
    if (new_node) {
      slp::ShrinkToFit(&tail->lp);
      tail = nullptr;
    }
  }
  int64_t flags = 0;
  StreamID master;
  if (!tail) {
    master = id;
    size_t prealloc = kMaxPrealloc;
    if (lim.node_max_bytes > 0 && lim.node_max_bytes < prealloc) prealloc = lim.node_max_bytes;
    slp::Buf b = slp::New(prealloc);
    slp::AppendInt(&b, 1);  // one entry, the one being added
    slp::AppendInt(&b, 0);  // none deleted
    slp::AppendInt(&b, int64_t(numfields));
    for (size_t i = 0; i < numfields; i++) slp::AppendStr(&b, fv[2 * i]);
    slp::AppendInt(&b, 0);  // master entry terminator
    nodes_.push_back({id, b});
    tail = &nodes_.back();
    flags |= kFlagSameFields;
  } else {
    master = tail->master;
    uint32_t p = slp::First(tail->lp.lp);
    slp::ReplaceInt(&tail->lp, p, slp::GetInt(tail->lp.lp, p) + 1);
    const uint8_t* lp = tail->lp.lp;
    p = slp::Next(lp, p);  // deleted
    p = slp::Next(lp, p);  // master field count
    int64_t master_fields = slp::GetInt(lp, p);
    p = slp::Next(lp, p);
    if (int64_t(numfields) == master_fields) {
      size_t i = 0;
      char buf[24];
      for (; i < numfields; i++) {
        if (slp::GetStr(lp, p, buf) != fv[2 * i]) break;
        p = slp::Next(lp, p);
      }
      if (i == numfields) flags |= kFlagSameFields;
    }
  }
  slp::Buf* b = &tail->lp;
  slp::AppendInt(b, flags);
  slp::AppendInt(b, int64_t(id.ms - master.ms));
  slp::AppendInt(b, int64_t(id.seq - master.seq));
  bool same = flags & kFlagSameFields;
  if (!same) slp::AppendInt(b, int64_t(numfields));
  for (size_t i = 0; i < numfields; i++) {
    if (!same) slp::AppendStr(b, fv[2 * i]);
    slp::AppendStr(b, fv[2 * i + 1]);
  }
  int64_t lp_count = int64_t(numfields) + 3;
  if (!same) lp_count += int64_t(numfields) + 1;
  slp::AppendInt(b, lp_count);
  length++;
  entries_added++;
  last_id = id;
  if (length == 1) first_id = id;
  if (added) *added = id;
  return AppendResult::kOk;
}

bool StreamObject::Delete(StreamID id) {
  size_t abs = SeekNode(id);
  if (abs == kNpos) return false;
  Node& nd = nodes_[abs];
  const uint8_t* lp = nd.lp.lp;
  NodeHead h = ReadHead(lp);
  uint32_t p = slp::Next(lp, h.terminator);
  while (p) {
    EntryPos e = ReadEntry(lp, p, nd.master, h.master_fields);
    if (e.id > id) return false;
    if (e.id == id) {
      if (e.flags & kFlagDeleted) return false;
      if (h.count == 1) {  // the node's last live entry: the node goes
        RemoveNode(abs);
      } else {
        slp::ReplaceInt(&nd.lp, p, e.flags | kFlagDeleted);  // same size: 7-bit
        slp::ReplaceInt(&nd.lp, h.count_pos, h.count - 1);
        uint32_t dp = slp::Next(nd.lp.lp, h.count_pos);
        slp::ReplaceInt(&nd.lp, dp, h.deleted + 1);
      }
      length--;
      return true;
    }
    p = slp::Next(lp, e.end);
  }
  return false;
}

bool StreamObject::Exists(StreamID id) const {
  StreamIterator it(*this, id, id, false);
  StreamID got;
  int64_t nf;
  return it.Next(&got, &nf);
}

int64_t StreamObject::Trim(const StreamTrimArgs& args) {
  if (args.strategy == StreamTrimArgs::kNone) return 0;
  bool maxlen = args.strategy == StreamTrimArgs::kMaxLen;
  int64_t deleted = 0;
  while (head_ < nodes_.size()) {
    if (maxlen && length <= uint64_t(args.maxlen)) break;
    Node& nd = nodes_[head_];
    NodeHead h = ReadHead(nd.lp.lp);
    int64_t entries = h.count;
    if (args.limit && deleted + entries > args.limit) break;
    bool remove_node;
    if (maxlen) {
      remove_node = int64_t(length) - entries >= args.maxlen;
    } else {
      // The node's last entry, tombstone or not.
      uint32_t lc = slp::Last(nd.lp.lp);
      int64_t lp_count = slp::GetInt(nd.lp.lp, lc);
      StreamID last = nd.master;
      if (lp_count != 0) {
        uint32_t fp = lc;
        while (lp_count--) fp = slp::Prev(nd.lp.lp, fp);
        last = ReadEntry(nd.lp.lp, fp, nd.master, h.master_fields).id;
      }
      remove_node = last < args.minid;
    }
    if (remove_node) {
      RemoveNode(head_);
      length -= uint64_t(entries);
      deleted += entries;
      continue;
    }
    if (args.approx) break;
    // Mark entries deleted inside this node, from its start.
    int64_t deleted_here = 0;
    uint32_t p = slp::Next(nd.lp.lp, h.terminator);
    while (p) {
      EntryPos e = ReadEntry(nd.lp.lp, p, nd.master, h.master_fields);
      bool stop = maxlen ? length <= uint64_t(args.maxlen) : e.id >= args.minid;
      if (stop) break;
      if (!(e.flags & kFlagDeleted)) {
        slp::ReplaceInt(&nd.lp, p, e.flags | kFlagDeleted);
        deleted_here++;
        length--;
      }
      p = slp::Next(nd.lp.lp, e.end);
    }
    deleted += deleted_here;
    slp::ReplaceInt(&nd.lp, h.count_pos, entries - deleted_here);
    uint32_t dp = slp::Next(nd.lp.lp, h.count_pos);
    slp::ReplaceInt(&nd.lp, dp, h.deleted + deleted_here);
    break;  // there was enough to delete in this node
  }
  if (length == 0)
    first_id = {0, 0};
  else if (deleted)
    first_id = EdgeID(true, true);
  return deleted;
}

StreamID StreamObject::EdgeID(bool first, bool skip_tombstones) const {
  StreamIterator it(*this, {0, 0}, StreamID::Max(), !first, skip_tombstones);
  StreamID id;
  int64_t nf;
  if (it.Next(&id, &nf)) return id;
  return first ? StreamID::Max() : StreamID{0, 0};
}

// ---- groups
const std::map<std::string, std::unique_ptr<StreamGroup>, std::less<>>& StreamObject::groups()
    const {
  static const std::map<std::string, std::unique_ptr<StreamGroup>, std::less<>> kEmpty;
  return groups_ ? *groups_ : kEmpty;
}

StreamGroup* StreamObject::FindGroup(std::string_view name) {
  if (!groups_) return nullptr;
  auto it = groups_->find(name);
  return it == groups_->end() ? nullptr : it->second.get();
}

const StreamGroup* StreamObject::FindGroup(std::string_view name) const {
  return const_cast<StreamObject*>(this)->FindGroup(name);
}

StreamGroup& StreamObject::NewGroupSlot(std::string_view name) {
  if (!groups_)
    groups_ = std::make_unique<std::map<std::string, std::unique_ptr<StreamGroup>, std::less<>>>();
  auto& slot = (*groups_)[std::string(name)];
  slot = std::make_unique<StreamGroup>();
  return *slot;
}

StreamGroup* StreamObject::CreateGroup(std::string_view name, StreamID id, int64_t entries_read) {
  if (FindGroup(name)) return nullptr;
  StreamGroup& g = NewGroupSlot(name);
  g.last_id = id;
  g.entries_read = entries_read;
  return &g;
}

bool StreamObject::DestroyGroup(std::string_view name) {
  if (!groups_) return false;
  auto it = groups_->find(name);
  if (it == groups_->end()) return false;
  groups_->erase(it);
  return true;
}

int64_t StreamObject::EstimateDistanceFromFirstEver(StreamID id) const {
  if (!entries_added) return 0;
  if (!length && id <= last_id) return int64_t(entries_added);
  if (id == last_id) return int64_t(entries_added);
  if (id > last_id) return StreamGroup::kInvalidEntriesRead;
  if (max_deleted_id.zero() || max_deleted_id < first_id) {
    if (id < first_id) return int64_t(entries_added - length);
    if (id == first_id) return int64_t(entries_added - length + 1);
  }
  return StreamGroup::kInvalidEntriesRead;
}

bool StreamObject::RangeHasTombstones(StreamID start, StreamID end) const {
  if (!length || max_deleted_id.zero()) return false;
  if (first_id > max_deleted_id) return false;
  return start <= max_deleted_id && max_deleted_id <= end;
}

bool StreamObject::GroupLag(const StreamGroup& g, int64_t* lag) const {
  if (!entries_added) {
    *lag = 0;
    return true;
  }
  if (g.entries_read != StreamGroup::kInvalidEntriesRead &&
      !RangeHasTombstones(g.last_id, StreamID::Max())) {
    *lag = int64_t(entries_added) - g.entries_read;
    return true;
  }
  int64_t read = EstimateDistanceFromFirstEver(g.last_id);
  if (read == StreamGroup::kInvalidEntriesRead) return false;
  *lag = int64_t(entries_added) - read;
  return true;
}

size_t StreamObject::MemoryUsage() const {
  size_t n = sizeof(*this) + nodes_.capacity() * sizeof(Node);
  for (size_t i = head_; i < nodes_.size(); i++) n += nodes_[i].lp.cap;
  if (groups_) {
    for (auto& [name, g] : *groups_) {
      n += sizeof(StreamGroup) + name.size() + 48;
      n += g->pel.MemoryUsage() + g->pel.size() * sizeof(StreamNack);
      for (auto& [cname, c] : g->consumers) {
        n += sizeof(StreamConsumer) + 2 * cname.size() + 48;
        n += c->pel.MemoryUsage();
      }
    }
  }
  return n;
}

Object* StreamObject::Clone() const {
  auto* s = new StreamObject();
  s->nodes_.reserve(node_count());
  for (size_t i = head_; i < nodes_.size(); i++)
    s->nodes_.push_back({nodes_[i].master, slp::Copy(nodes_[i].lp.lp)});
  s->length = length;
  s->last_id = last_id;
  s->first_id = first_id;
  s->max_deleted_id = max_deleted_id;
  s->entries_added = entries_added;
  if (groups_) {
    for (auto& [name, g] : *groups_) {
      StreamGroup& ng = s->NewGroupSlot(name);
      ng.last_id = g->last_id;
      ng.entries_read = g->entries_read;
      for (auto& [cname, c] : g->consumers) {
        StreamConsumer* nc = ng.CreateConsumer(cname, c->seen_time);
        for (auto& [id, nack] : c->pel) {
          auto n = std::make_unique<StreamNack>(*nack);
          n->consumer = nc;
          nc->pel[id] = n.get();
          ng.pel[id] = std::move(n);
        }
      }
    }
  }
  return s;
}

size_t StreamObject::RadixTreeNodes() const {
  // A state (key prefix) of the tree is a node when it is the root, a key, a branch (two or
  // more children) or a branch's child; chains of single-child states are one node.
  size_t n = node_count();
  if (n == 0) return 1;
  std::vector<uint8_t> keys(n * 16);
  for (size_t i = 0; i < n; i++) {
    std::string k;
    PutID(&k, node(i).master);
    memcpy(&keys[i * 16], k.data(), 16);
  }
  std::vector<uint8_t> parent_branch(n, 0);  // per key: is its group at depth d-1 a branch
  size_t nodes = 0;
  for (int d = 0; d <= 16; d++) {
    size_t i = 0;
    while (i < n) {
      size_t j = i + 1;
      while (j < n && memcmp(&keys[i * 16], &keys[j * 16], size_t(d)) == 0) j++;
      // [i, j) share the d-byte prefix: one state.
      size_t children = 0;
      if (d < 16) {
        for (size_t k = i; k < j; k++)
          if (k == i || keys[k * 16 + size_t(d)] != keys[(k - 1) * 16 + size_t(d)]) children++;
      }
      bool branch = children >= 2;
      if (d == 0 || d == 16 || branch || parent_branch[i]) nodes++;
      for (size_t k = i; k < j; k++) parent_branch[k] = branch;
      i = j;
    }
  }
  return nodes;
}

// ---------------------------------------------------------------- persistence
namespace {

// Pieces shared by the checkpoint form and the canonical bytes (DEBUG DIGEST): the IDs
// and counters after the entries, a group's head, a pending entry.
void PutStreamMeta(std::string* out, const StreamObject& s) {
  PutID(out, s.last_id);
  PutID(out, s.first_id);
  PutID(out, s.max_deleted_id);
  PutFixed64(out, s.entries_added);
  PutVarint64(out, s.group_count());
}
void PutGroupHead(std::string* out, std::string_view name, const StreamGroup& g) {
  PutLengthPrefixed(out, name);
  PutID(out, g.last_id);
  PutFixed64(out, uint64_t(g.entries_read));
  PutVarint64(out, g.pel.size());
}
void PutNack(std::string* out, StreamID id, const StreamNack& n) {
  PutID(out, id);
  PutFixed64(out, uint64_t(n.delivery_time));
  PutFixed64(out, n.delivery_count);
}

// Writes the checkpoint form into *out, calling flush() between items (a node, a pending
// entry, a consumer) so a caller can hand the bytes over in pieces.
template <typename Flush>
void EncodeStreamTo(const StreamObject& s, std::string* out, Flush&& flush) {
  PutVarint64(out, s.node_count());
  for (size_t i = 0; i < s.node_count(); i++) {
    const auto& nd = s.node(i);
    PutID(out, nd.master);
    uint32_t n = slp::TotalBytes(nd.lp.lp);
    PutVarint64(out, n);
    out->append(reinterpret_cast<const char*>(nd.lp.lp), n);
    flush();
  }
  PutFixed64(out, s.length);
  PutStreamMeta(out, s);
  for (auto& [name, g] : s.groups()) {
    PutGroupHead(out, name, *g);
    for (auto& [id, nack] : g->pel) {
      PutNack(out, id, *nack);
      flush();
    }
    PutVarint64(out, g->consumers.size());
    for (auto& [cname, c] : g->consumers) {
      PutLengthPrefixed(out, cname);
      PutFixed64(out, uint64_t(c->seen_time));
      PutVarint64(out, c->pel.size());
      for (auto& [id, nack] : c->pel) {
        PutID(out, id);
        flush();
      }
    }
  }
}

}  // namespace

void EncodeStream(const StreamObject& s, std::string* out) {
  EncodeStreamTo(s, out, [] {});
}

void EncodeStreamPieces(const StreamObject& s, size_t piece_size,
                        const std::function<void(std::string_view piece, bool last)>& sink) {
  std::string buf;
  buf.reserve(std::min<size_t>(piece_size + 4096, 1 << 20));
  EncodeStreamTo(s, &buf, [&] {
    if (buf.size() >= piece_size) {
      sink(buf, false);
      buf.clear();
    }
  });
  sink(buf, true);
}

Status CheckStreamNode(StreamID master, const uint8_t* lp, size_t size, NodeCheck* out) {
  std::string why;
  if (!slp::Validate(lp, size, &why)) return Status::Corruption(why);
  auto bad = [&](const std::string& what) {
    return Status::Corruption(what + " in the stream node " + master.ToString());
  };
  // Integers as Redis reads them (lpGetIntegerIfValid): an integer element, or a string
  // that is a canonical integer.
  auto int_at = [&](uint32_t p, int64_t* v) {
    std::string_view sv;
    if (slp::Get(lp, p, v, &sv)) return true;
    return ParseInt64(sv, v);
  };
  uint32_t p = slp::First(lp);
  int64_t count, deleted, master_fields, v;
  if (!p || !int_at(p, &count)) return bad("no entry count");
  if (!(p = slp::Next(lp, p)) || !int_at(p, &deleted)) return bad("no deleted count");
  if (!(p = slp::Next(lp, p)) || !int_at(p, &master_fields)) return bad("no master field count");
  if (count < 0 || deleted < 0 || master_fields < 0 || uint64_t(master_fields) > size)
    return bad("negative or impossible counts");
  for (int64_t i = 0; i < master_fields; i++)
    if (!(p = slp::Next(lp, p))) return bad("truncated master fields");
  if (!(p = slp::Next(lp, p)) || !int_at(p, &v) || v != 0) return bad("no master terminator");
  uint64_t total = uint64_t(count) + uint64_t(deleted);
  if (total > size) return bad("impossible entry count");
  uint64_t live = 0, dead = 0;
  StreamID prev;
  bool any = false;
  p = slp::Next(lp, p);
  for (uint64_t n = 0; n < total; n++) {
    if (!p) return bad("fewer entries than counted");
    int64_t flags, msd, seqd, fields = master_fields;
    if (!int_at(p, &flags) || (flags & ~(kFlagDeleted | kFlagSameFields)))
      return bad("bad entry flags");
    if (!(p = slp::Next(lp, p)) || !int_at(p, &msd)) return bad("bad entry ID");
    if (!(p = slp::Next(lp, p)) || !int_at(p, &seqd)) return bad("bad entry ID");
    // IDs are not required to increase: Redis can reach entries below their node's master
    // (XSETID lowering the last ID of a stream that holds only tombstones), and nothing
    // here depends on the order for safety.
    StreamID id{master.ms + uint64_t(msd), master.seq + uint64_t(seqd)};
    int64_t extra = 3;
    if (!(flags & kFlagSameFields)) {
      if (!(p = slp::Next(lp, p)) || !int_at(p, &fields) || fields < 0 || uint64_t(fields) > size)
        return bad("bad entry field count");
      for (int64_t i = 0; i < fields; i++)
        if (!(p = slp::Next(lp, p))) return bad("truncated entry fields");
      extra += fields + 1;
    }
    for (int64_t i = 0; i < fields; i++)
      if (!(p = slp::Next(lp, p))) return bad("truncated entry values");
    int64_t lp_count;
    if (!(p = slp::Next(lp, p)) || !int_at(p, &lp_count) || lp_count != fields + extra)
      return bad("bad entry element count");
    p = slp::Next(lp, p);
    if (flags & kFlagDeleted)
      dead++;
    else
      live++;
    if (!any) out->first = id;
    prev = id;
    any = true;
  }
  if (p) return bad("elements after the last entry");
  if (live != uint64_t(count) || dead != uint64_t(deleted))
    return bad("entry counts do not match the entries");
  if (!any) return bad("no entries");
  out->live = live;
  out->deleted = dead;
  out->last = prev;
  out->has_entries = any;
  return Status::Ok();
}

Result<Value> DecodeStream(std::string_view blob) {
  Cursor r(blob);
  auto bad = [&](const std::string& what) {
    return Status::Corruption(what + " at byte " + std::to_string(r.pos()) +
                              " of the stream value");
  };
  auto* s = new StreamObject();
  Value v = Value::FromObject(s);  // owns s from here on
  uint64_t nodes;
  if (!r.Varint(&nodes) || nodes > r.left()) return bad("bad node count");
  uint64_t live = 0;
  for (uint64_t i = 0; i < nodes; i++) {
    StreamID master;
    std::string_view bytes;
    if (!ReadID(r, &master) || !r.LengthPrefixed(&bytes)) return bad("truncated node");
    NodeCheck nc;
    Status st =
        CheckStreamNode(master, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &nc);
    if (!st.ok()) return bad(st.message());
    live += nc.live;
    s->AdoptNode(master, slp::FromBytes(bytes));
  }
  if (!s->SortNodes()) return bad("two stream nodes with the same master ID");
  uint64_t groups;
  if (!r.Fixed64(&s->length) || !ReadID(r, &s->last_id) || !ReadID(r, &s->first_id) ||
      !ReadID(r, &s->max_deleted_id) || !r.Fixed64(&s->entries_added))
    return bad("truncated stream metadata");
  if (s->length != live) return bad("stream length does not match its entries");
  if (!r.Varint(&groups) || groups > r.left()) return bad("bad group count");
  for (uint64_t gi = 0; gi < groups; gi++) {
    std::string_view name;
    StreamID last;
    uint64_t er, npel;
    if (!r.LengthPrefixed(&name) || !ReadID(r, &last) || !r.Fixed64(&er) || !r.Varint(&npel) ||
        npel > r.left())
      return bad("truncated consumer group");
    int64_t entries_read = int64_t(er);
    if (entries_read < -1) return bad("bad entries-read");
    StreamGroup* g = s->CreateGroup(name, last, entries_read);
    if (!g) return bad("duplicate consumer group");
    for (uint64_t k = 0; k < npel; k++) {
      StreamID id;
      uint64_t t, cnt;
      if (!ReadID(r, &id) || !r.Fixed64(&t) || !r.Fixed64(&cnt))
        return bad("truncated pending entry");
      auto [it, ins] = g->pel.try_emplace(id);
      if (!ins) return bad("duplicate pending entry");
      it->second = std::make_unique<StreamNack>();
      it->second->delivery_time = int64_t(t);
      it->second->delivery_count = cnt;
    }
    uint64_t ncons;
    if (!r.Varint(&ncons) || ncons > r.left()) return bad("bad consumer count");
    for (uint64_t ci = 0; ci < ncons; ci++) {
      std::string_view cname;
      uint64_t seen, cpel;
      if (!r.LengthPrefixed(&cname) || !r.Fixed64(&seen) || !r.Varint(&cpel) || cpel > r.left())
        return bad("truncated consumer");
      StreamConsumer* c = g->CreateConsumer(cname, int64_t(seen));
      if (!c) return bad("duplicate consumer");
      for (uint64_t k = 0; k < cpel; k++) {
        StreamID id;
        if (!ReadID(r, &id)) return bad("truncated consumer pending entry");
        auto it = g->pel.find(id);
        if (it == g->pel.end() || it->second->consumer)
          return bad("consumer pending entry not in the group's list, or owned twice");
        it->second->consumer = c;
        c->pel[id] = it->second.get();
      }
    }
    for (auto& [id, nack] : g->pel)
      if (!nack->consumer) return bad("pending entry without a consumer");
  }
  if (!r.done()) return bad("trailing bytes");
  return v;
}

void StreamCanonicalBytes(const StreamObject& s, std::string* out) {
  StreamIterator it(s, {0, 0}, StreamID::Max(), false);
  StreamID id;
  int64_t nf;
  PutFixed64(out, s.length);
  while (it.Next(&id, &nf)) {
    PutID(out, id);
    PutVarint64(out, uint64_t(nf));
    it.ForEachField([&](std::string_view f, std::string_view v) {
      PutLengthPrefixed(out, f);
      PutLengthPrefixed(out, v);
    });
  }
  PutStreamMeta(out, s);
  for (auto& [name, g] : s.groups()) {
    PutGroupHead(out, name, *g);
    for (auto& [pid, nack] : g->pel) {
      PutNack(out, pid, *nack);
      PutLengthPrefixed(
          out, nack->consumer ? std::string_view(nack->consumer->name) : std::string_view());
    }
    PutVarint64(out, g->consumers.size());
    for (auto& [cname, c] : g->consumers) PutLengthPrefixed(out, cname);
  }
}

void ForEachStreamRebuildCommand(
    std::string_view key, const StreamObject& s,
    const std::function<void(const std::vector<std::string_view>&)>& fn) {
  std::vector<std::string_view> argv;
  std::vector<std::string> owned;
  char idbuf[48];
  if (s.length) {
    StreamIterator it(s, {0, 0}, StreamID::Max(), false);
    StreamID id;
    int64_t nf;
    while (it.Next(&id, &nf)) {
      owned.clear();
      owned.reserve(size_t(nf) * 2);
      it.ForEachField([&](std::string_view f, std::string_view v) {
        owned.emplace_back(f);
        owned.emplace_back(v);
      });
      argv.assign({"XADD", key, std::string_view(idbuf, id.Format(idbuf))});
      for (auto& o : owned) argv.push_back(o);
      fn(argv);
    }
  } else {
    fn({"XADD", key, "MAXLEN", "0", "0-1", "x", "y"});
  }
  std::string last = s.last_id.ToString(), added = std::to_string(s.entries_added),
              maxdel = s.max_deleted_id.ToString();
  fn({"XSETID", key, last, "ENTRIESADDED", added, "MAXDELETEDID", maxdel});
  for (auto& [name, g] : s.groups()) {
    std::string glast = g->last_id.ToString(), er = std::to_string(g->entries_read);
    fn({"XGROUP", "CREATE", key, name, glast, "ENTRIESREAD", er});
    for (auto& [cname, c] : g->consumers) {
      if (c->pel.empty()) {
        fn({"XGROUP", "CREATECONSUMER", key, name, cname});
        continue;
      }
      for (auto& [id, nack] : c->pel) {
        std::string sid = id.ToString(), t = std::to_string(nack->delivery_time),
                    cnt = std::to_string(nack->delivery_count);
        fn({"XCLAIM", key, name, cname, "0", sid, "TIME", t, "RETRYCOUNT", cnt, "JUSTID", "FORCE"});
      }
    }
  }
}

}  // namespace ferrite
