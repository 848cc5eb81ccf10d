#pragma once
// Redis's RDB value encoding, one value at a time: the codec under both the dump.rdb
// reader/writer (redis_rdb.h) and the DUMP / RESTORE payloads (dump_payload.h).
//
//   value   = a string, or a collection in one of the RDB types below
//   length  = 1, 2, 5 or 9 bytes: 00xxxxxx | 01xxxxxx xxxxxxxx | 0x80 u32be | 0x81 u64be;
//             11xxxxxx marks an encoded string instead: 0 int8, 1 int16le, 2 int32le,
//             3 LZF (length of the compressed bytes, length of the original, the bytes)
//   string  = length , bytes | encoded string
//   types   = 0 string, 1 list, 2 set, 3 zset (text scores), 4 hash, 5 zset (binary
//             scores), 9 zipmap hash, 10 ziplist list, 11 intset, 12 ziplist zset,
//             13 ziplist hash, 14 quicklist (ziplist nodes), 16 listpack hash,
//             17 listpack zset, 18 quicklist (container + listpack nodes), 20 listpack set
//
// The compact encodings (ziplist, listpack, intset, zipmap) are a string holding the
// structure's bytes; every one is checked entry by entry against its own length fields
// before an element is taken out of it.
//
// Decoding never trusts a length: a count of things that each take at least one byte must
// not exceed the bytes left, a string must fit in what is left, LZF may expand at most
// 88 times (the format's own bound). So the memory a decode allocates is bounded by a
// constant times its input, whatever the input says.
//
// Thread: none of this keeps state between calls; a ValueDecoder belongs to one reader.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "types/value.h"

namespace ferrite::rdb {

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

// A key or detail for a message: at most 64 bytes, non-printable bytes as \xHH.
std::string Printable(std::string_view s);

// ---- LZF, as Redis stores compressed strings (Debian's liblzf) ----

// Fails (false) unless the input decodes to exactly out_len bytes without reading or
// writing out of bounds.
bool LzfDecompress(std::string_view in, char* out, size_t out_len);
// Compresses in; false when the result would not fit in max_out bytes.
bool LzfCompress(std::string_view in, size_t max_out, std::string* out);

// ---- encoding: Redis 7.0's bytes ----

void PutLen(std::string* out, uint64_t n);
// rdbSaveRawString: a canonical integer of at most 11 characters that fits 32 bits as an
// encoded integer; longer than 20 bytes and compress: LZF when that saves 4 bytes or more;
// otherwise length and bytes. scratch is working space.
void PutString(std::string* out, std::string_view s, bool compress, std::string* scratch);
void PutBinaryDouble(std::string* out, double d);  // 8 bytes, little endian

// A score as a sorted-set listpack stores it (t_zset.c zzlInsertAt): integral values
// within +-2^62 (and -0) as that integer, otherwise d2string's "inf", "-inf" or "%.17g".
std::string ListpackScoreText(double d);

// Builds a listpack entry by entry as Redis's lpAppend does (integers in the smallest
// integer encoding, strings with 6/12/32-bit lengths, each entry followed by its length).
class ListpackBuilder {
 public:
  ListpackBuilder() { Clear(); }
  void Clear();
  void Append(std::string_view s);
  size_t count() const { return count_; }
  size_t bytes() const { return body_.size() + 1; }  // as lpBytes() once finished
  // Fills in the header and the end marker; the builder is then empty again.
  std::string Finish();

 private:
  std::string body_;  // header placeholder (6 bytes) + entries
  size_t count_ = 0;
};

// An intset of the given values (sorted, without duplicates), in the narrowest width
// (2, 4 or 8 bytes) that holds them all, as intset.c lays it out.
std::string IntsetBlob(const std::vector<int64_t>& sorted_unique);

// ---- decoding ----

// Where a decoder's bytes come from: a file read in chunks, or a buffer.
class RdbSource {
 public:
  virtual ~RdbSource() = default;
  // Makes the next n bytes readable at *p and moves past them. The caller checked that
  // n <= left(); only an I/O error can fail it. *p stays valid until the next Take.
  virtual Status Take(size_t n, const char** p) = 0;
  virtual uint64_t offset() const = 0;  // of the next byte (a file offset for messages)
  virtual uint64_t left() const = 0;    // bytes after the cursor
};

// A buffer as a source; offsets count from its start.
class MemorySource final : public RdbSource {
 public:
  explicit MemorySource(std::string_view bytes) : b_(bytes) {}
  Status Take(size_t n, const char** p) override {
    *p = b_.data() + pos_;
    pos_ += n;
    return Status::Ok();
  }
  uint64_t offset() const override { return pos_; }
  uint64_t left() const override { return b_.size() - pos_; }

 private:
  std::string_view b_;
  size_t pos_ = 0;
};

// A collection as read: its members in order (a hash: field, value, field, value …), and
// for a sorted set one score per member.
struct RdbItems {
  ValueType type = ValueType::kNone;
  std::vector<std::string> items;
  std::vector<double> scores;
  size_t count() const { return type == ValueType::kHash ? items.size() / 2 : items.size(); }
  void Clear() {
    type = ValueType::kNone;
    items.clear();
    scores.clear();
  }
};

// The collection as the blob of types/serialize.h. A duplicate member or field is
// Corruption naming it (Redis refuses those too).
Status ItemsToBlob(const RdbItems& it, std::string* blob);

// Reads values from a source. Errors are Corruption "<name>: <what> at offset <n>" plus,
// while a key is set, " (in key '<key>', RDB type <t>, at offset <n>)".
class ValueDecoder {
 public:
  // name starts every message (a path); kind names what ends ("file", "payload").
  ValueDecoder(RdbSource* src, std::string name, const char* kind = "file")
      : src_(src), name_(std::move(name)), name_kind_(kind) {}

  // The key whose value is being read, for messages (nullptr: none).
  void SetKey(const std::string* key, uint8_t type, uint64_t offset) {
    key_ = key;
    key_type_ = type;
    key_off_ = offset;
  }
  Status Bad(uint64_t at, std::string_view what) const;
  std::string Context() const;
  uint64_t offset() const { return src_->offset(); }
  uint64_t left() const { return src_->left(); }

  Status Take(size_t n, const char** p);
  Status U8(uint8_t* v);
  Status Len(uint64_t* v, bool* encoded);
  Status PlainLen(uint64_t* v, const char* what);  // a length, not an encoded string
  // A count of things that each take at least one byte: never more than what is left.
  Status Count(uint64_t* v, const char* what);
  Status String(std::string* out, const char* what);
  // Every collection type of the list above (not strings, streams or modules).
  Status ReadCollection(uint8_t type, RdbItems* it);
  // A module value's serialized fields, up to its EOF marker (they are skipped).
  Status SkipModuleValue(uint64_t at);

 private:
  Status ScoreText(double* v);
  Status ScoreBinary(double* v);
  Status Blob(const char* name,
              bool (*parse)(std::string_view, std::vector<std::string>*, std::string*),
              std::vector<std::string>* out);

  RdbSource* src_;
  std::string name_;
  const char* name_kind_;
  const std::string* key_ = nullptr;
  uint8_t key_type_ = 0;
  uint64_t key_off_ = 0;
  uint64_t string_off_ = 0;  // where the last String() began
  bool string_compressed_ = false;
};

}  // namespace ferrite::rdb
