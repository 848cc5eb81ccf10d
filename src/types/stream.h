#pragma once
// Streams (Redis 7.0's data model and encoding).
//
// Entries live in nodes: each node is a listpack in Redis's format (types/stream_listpack.h)
// keyed by its master ID, the ID of the first entry added to it. The nodes sit in a vector
// sorted by master ID (entries only ever append at the tail and leave from anywhere, so a
// sorted vector with a lazily compacted head does what Redis's radix tree does, in 32 bytes
// per node). Inside a node, as Redis:
//
//   master entry: count | deleted | num-fields | field_1 … field_N | 0
//   entry:        flags | ms-delta | seq-delta | [num-fields | field_1 …] value_1 … | lp-count
//
// flags: 1 = deleted (a tombstone), 2 = same fields as the master entry (the field names are
// then omitted). IDs are deltas from the master ID; lp-count is the number of elements of
// the entry before it, so a node can be walked backwards. A node is closed (and shrunk to
// fit) when it reaches stream-node-max-bytes or stream-node-max-entries, with Redis's exact
// rules, so nodes, memory and the effect of `~` trimming are Redis's.
//
// Consumer groups: a group has a last-delivered ID, an entries-read counter (-1 = unknown),
// a pending entries list (PEL: ID -> delivery time, delivery count, consumer) and its
// consumers (name -> seen time and the IDs of its own pending entries). Groups and
// consumers are ordered by name (bytes), PELs by ID, as Redis's radix trees order them.
//
// Thread: the loop only (like every Value).

#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "types/stream_idmap.h"
#include "types/stream_listpack.h"
#include "types/value.h"

namespace ferrite {

struct StreamID {
  uint64_t ms = 0;
  uint64_t seq = 0;

  friend auto operator<=>(const StreamID&, const StreamID&) = default;
  bool zero() const { return ms == 0 && seq == 0; }
  static constexpr StreamID Max() { return {UINT64_MAX, UINT64_MAX}; }
  // The next / previous ID; false (and the ID wraps to 0-0 / stays at max) at the edge,
  // as Redis's streamIncrID / streamDecrID.
  bool Incr();
  bool Decr();
  std::string ToString() const;
  // "<ms>-<seq>" into buf (at least 42 bytes); returns the length.
  size_t Format(char* buf) const;
};

// Parses a stream ID argument as Redis 7.0 does (streamGenericParseIDOrReply): "-" and "+"
// (unless strict), "<ms>" (seq = missing_seq), "<ms>-<seq>", and "<ms>-*" when seq_given is
// non-null (*seq_given is then false). Numbers follow Redis's string2ull: canonical
// decimals, and what strtoull accepts (leading blanks, '+', leading zeros). At most 127
// bytes; the text ends at its first NUL byte.
bool ParseStreamID(std::string_view s, StreamID* id, uint64_t missing_seq, bool strict,
                   bool* seq_given = nullptr);

struct StreamLimits {
  uint64_t node_max_bytes = 4096;  // 0 = no byte limit (then 1 GB, as Redis)
  int64_t node_max_entries = 100;  // 0 = no entry limit
};

struct StreamConsumer;

struct StreamNack {
  int64_t delivery_time = 0;  // unix ms
  uint64_t delivery_count = 1;
  StreamConsumer* consumer = nullptr;
};

struct StreamConsumer {
  std::string name;
  int64_t seen_time = 0;             // unix ms
  IdMap<StreamID, StreamNack*> pel;  // points into the group's PEL
};

struct StreamGroup {
  static constexpr int64_t kInvalidEntriesRead = -1;
  StreamID last_id;
  int64_t entries_read = kInvalidEntriesRead;
  using Pel = IdMap<StreamID, std::unique_ptr<StreamNack>>;
  Pel pel;  // owns the pending entries (stable addresses: consumers point at them)
  std::map<std::string, std::unique_ptr<StreamConsumer>, std::less<>> consumers;

  StreamConsumer* FindConsumer(std::string_view name);
  // Creates the consumer; nullptr if it exists.
  StreamConsumer* CreateConsumer(std::string_view name, int64_t now_ms);
  // Deletes the consumer and its pending entries; returns how many it had.
  size_t DeleteConsumer(StreamConsumer* c);
  // Removes a pending entry from the group and its consumer.
  void RemovePending(Pel::iterator it);
};

class StreamObject;

// Walks the entries in [start, end] (inclusive), forwards or backwards, skipping tombstones
// unless asked. Views handed out stay valid until the next Next() or a change to the stream.
class StreamIterator {
 public:
  StreamIterator(const StreamObject& s, StreamID start, StreamID end, bool rev,
                 bool skip_tombstones = true);
  // The next entry in range: its ID and field count. False when there is none.
  bool Next(StreamID* id, int64_t* numfields);
  // The fields of the entry Next() returned, in order: fn(field, value).
  template <typename F>
  void ForEachField(F&& fn) {
    const uint8_t* lp = lp_;
    char fbuf[24], vbuf[24];
    uint32_t mf = master_fields_start_;
    uint32_t p = fields_;
    for (int64_t i = 0; i < numfields_; i++) {
      std::string_view f, v;
      if (same_fields_) {
        f = slp::GetStr(lp, mf, fbuf);
        mf = slp::Next(lp, mf);
      } else {
        f = slp::GetStr(lp, p, fbuf);
        p = slp::Next(lp, p);
      }
      v = slp::GetStr(lp, p, vbuf);
      p = slp::Next(lp, p);
      fn(f, v);
    }
  }
  bool deleted() const { return flags_ & 1; }

 private:
  bool EnterNode();
  const StreamObject& s_;
  StreamID start_, end_;
  bool rev_;
  bool skip_tombstones_;
  size_t node_;  // index into the stream's node list (absolute)
  bool in_node_ = false;
  const uint8_t* lp_ = nullptr;
  StreamID master_;
  int64_t master_fields_ = 0;
  uint32_t master_fields_start_ = 0;
  uint32_t pos_ = 0;  // forward: the element before the next entry; backward: the lp-count
  // of the entry to visit next
  int64_t flags_ = 0;
  bool same_fields_ = false;
  int64_t numfields_ = 0;
  uint32_t fields_ = 0;  // first element after num-fields (or after the ID when same fields)
  bool done_ = false;
};

struct StreamTrimArgs {
  enum Strategy { kNone, kMaxLen, kMinId } strategy = kNone;
  bool approx = false;
  int64_t limit = 0;  // 0 = no limit
  int64_t maxlen = 0;
  StreamID minid;
};

class StreamObject final : public Object {
 public:
  struct Node {
    StreamID master;
    slp::Buf lp;
  };

  StreamObject() = default;
  ~StreamObject() override;
  StreamObject(const StreamObject&) = delete;
  StreamObject& operator=(const StreamObject&) = delete;

  ValueType type() const override { return ValueType::kStream; }
  const char* encoding_name() const override { return "stream"; }
  size_t MemoryUsage() const override;
  Object* Clone() const override;

  // Entries ----------------------------------------------------------------------------
  // kSeqExhausted: "<ms>-*" with the sequence of <ms> used up (Redis then answers with the
  // text of kTooLarge, its errno being stale).
  enum class AppendResult { kOk, kIdTooSmall, kTooLarge, kSeqExhausted };
  // Adds an entry of numfields field/value pairs (fv holds 2*numfields views). use_id: the
  // ID given by the client (nullptr: generate from now_ms); with seq_given false only its
  // ms part counts and the sequence is generated (Redis's "<ms>-*").
  AppendResult Append(const std::string_view* fv, size_t numfields, const StreamID* use_id,
                      bool seq_given, int64_t now_ms, const StreamLimits& lim, StreamID* added);
  // Marks the entry deleted; false if there is no such (live) entry.
  bool Delete(StreamID id);
  bool Exists(StreamID id) const;
  // Trims from the head as Redis's streamTrim; returns how many entries went.
  int64_t Trim(const StreamTrimArgs& args);
  // The first (or last) entry ID, tombstones included or not; if there is none: max ID for
  // first, 0-0 for last (Redis's streamGetEdgeID).
  StreamID EdgeID(bool first, bool skip_tombstones) const;
  StreamID LastValidID() const { return EdgeID(false, true); }

  // Consumer groups ----------------------------------------------------------------------
  StreamGroup* FindGroup(std::string_view name);
  const StreamGroup* FindGroup(std::string_view name) const;
  // nullptr if a group of that name exists.
  StreamGroup* CreateGroup(std::string_view name, StreamID last_id, int64_t entries_read);
  bool DestroyGroup(std::string_view name);
  const std::map<std::string, std::unique_ptr<StreamGroup>, std::less<>>& groups() const;
  size_t group_count() const { return groups_ ? groups_->size() : 0; }

  // Redis's entries-read / lag estimates (streamEstimateDistanceFromFirstEverEntry,
  // streamRangeHasTombstones); -1 = cannot be known.
  int64_t EstimateDistanceFromFirstEver(StreamID id) const;
  bool RangeHasTombstones(StreamID start, StreamID end) const;
  // The lag of a group: false when it cannot be known (a null reply).
  bool GroupLag(const StreamGroup& g, int64_t* lag) const;

  // Layout -------------------------------------------------------------------------------
  size_t node_count() const { return nodes_.size() - head_; }
  const Node& node(size_t i) const { return nodes_[head_ + i]; }
  // Nodes of a fully compressed radix tree over the node keys (what XINFO reports as
  // radix-tree-nodes; Redis's tree can hold a few more after deletions).
  size_t RadixTreeNodes() const;
  // Adds a node decoded from a file (bytes already validated by the caller's checks).
  void AdoptNode(StreamID master, slp::Buf lp) { nodes_.push_back({master, lp}); }
  // After adopting: puts the nodes in master-ID order (as Redis's radix tree keeps them);
  // false if two share a master ID.
  bool SortNodes();

  uint64_t length = 0;
  StreamID last_id;
  StreamID first_id;
  StreamID max_deleted_id;
  uint64_t entries_added = 0;
  // When blocked readers were last woken by this stream (commands/stream_family.cc); loop
  // bookkeeping, not part of the data.
  uint64_t wake_stamp = 0;

 private:
  friend class StreamIterator;
  // Index (absolute) of the last node whose master ID <= id, or head_ if none.
  size_t SeekNode(StreamID id) const;
  void RemoveNode(size_t abs);
  StreamGroup& NewGroupSlot(std::string_view name);

  std::vector<Node> nodes_;
  size_t head_ = 0;  // nodes_[0, head_) were removed from the front
  std::unique_ptr<std::map<std::string, std::unique_ptr<StreamGroup>, std::less<>>> groups_;
};

// ---- persistence --------------------------------------------------------------------
// The checkpoint / tier form of a stream (docs/formats.md, "stream value"):
//   varint node-count , node* , u64 length , id last , id first , id max-deleted ,
//   u64 entries-added , varint group-count , group*
//   node  = id master , varint lp-len , listpack bytes
//   group = str name , id last-delivered , i64 entries-read , varint pel-count ,
//           (id , i64 delivery-time , u64 delivery-count)* ,
//           varint consumer-count , consumer*
//   consumer = str name , i64 seen-time , varint pel-count , id*
//   id = u64 ms , u64 seq (big-endian: byte order = ID order); u64/i64 little-endian.
void EncodeStream(const StreamObject& s, std::string* out);
// The same bytes handed over in pieces of about piece_size (EncodeCollectionStream's
// contract: sink(piece, last), last = true on the final call).
void EncodeStreamPieces(const StreamObject& s, size_t piece_size,
                        const std::function<void(std::string_view piece, bool last)>& sink);
// Rebuilds a stream from EncodeStream's bytes, checking every node (listpack shape, entry
// structure, IDs increasing and inside the stream's bounds), counters and PEL references;
// an error names what is wrong and where.
Result<Value> DecodeStream(std::string_view blob);
// Checks one node's listpack as a stream node (Redis's streamValidateListpackIntegrity plus
// ID order): returns its live and deleted entry counts and its first/last IDs.
struct NodeCheck {
  uint64_t live = 0, deleted = 0;
  StreamID first, last;
  bool has_entries = false;
};
Status CheckStreamNode(StreamID master, const uint8_t* lp, size_t size, NodeCheck* out);

// Bytes equal exactly when two streams hold the same entries, metadata, groups, PELs and
// consumers (consumer seen-times excluded: they change on every read, also on replay).
void StreamCanonicalBytes(const StreamObject& s, std::string* out);

// The commands that rebuild the stream (Redis's rewriteStreamObject): XADD per entry (or
// XADD MAXLEN 0 for an empty stream), XSETID, XGROUP CREATE per group, XCLAIM … FORCE per
// pending entry, XGROUP CREATECONSUMER for consumers without pending entries.
void ForEachStreamRebuildCommand(
    std::string_view key, const StreamObject& s,
    const std::function<void(const std::vector<std::string_view>&)>& fn);

}  // namespace ferrite
