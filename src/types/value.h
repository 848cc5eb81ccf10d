#pragma once
// Value: a 16-byte tagged value held in a keyspace entry.
//
//   string, int encoding:     int64 in the payload ("12345" stored as 12345)
//   string, inline encoding:  up to 14 bytes in the payload
//   string, heap encoding:    pointer to a StrBlock {cap, bytes...} + length
//   collections:              pointer to an Object (types/object.h), owned
//
//   [ payload: 8 bytes ptr/int | 4 bytes len | 2 bytes | ilen | meta ]
//   meta = type (low 4 bits) | encoding (high 4 bits)
//
//   tiered:                   segment id (4) + record offset (4) in the payload, record
//                             length in len (tier/segment.h); the entry does not grow
//                             when its value moves out of RAM.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace ferrite {

enum class ValueType : uint8_t {
  kNone = 0,
  kString = 1,
  kList = 2,
  kSet = 3,
  kZSet = 4,
  kHash = 5,
  kStream = 6  // types/stream.h
};

enum class Encoding : uint8_t {
  kInt = 0,     // string holding a canonical int64
  kInline = 1,  // string <= 14 bytes inline
  kHeap = 2,    // string in a heap block
  kObject = 3,  // collection object (full structure)
  kPack = 4,    // small collection packed in one PackBlock (types/pack.h): "listpack"
  kIntSet = 5,  // small set of integers: a PackBlock of sorted int64s: "intset"
  kTiered = 6,  // the value's bytes live in a tier segment file (tier/): segment id + offset
};

class Value;
// Reaches the tier manager from a tiered value (tier/tier_manager.h implements it; one per
// process, set while it lives). Loop thread only.
class TierResolver {
 public:
  virtual ~TierResolver() = default;
  // The value is being dropped or replaced: its record in the segment becomes dead space.
  virtual void Release(const Value& v) = 0;
  // A string value's bytes: a view into the warm segment's mapping (zero-copy), or read
  // from a cold / archived segment into scratch (synchronously: a fallback; the engine
  // fetches cold values off the loop before commands run).
  virtual std::string_view StringBytes(const Value& v, std::string* scratch) = 0;
  // The value decoded back into RAM (any type); an empty Value if it cannot be read (the
  // error is logged and counted).
  virtual Value Load(const Value& v) = 0;
  // OBJECT ENCODING of the value as it would be in RAM.
  virtual const char* EncodingName(const Value& v) = 0;
};
void SetTierResolver(TierResolver* r);
TierResolver* GetTierResolver();

struct PackBlock;

// Collections derive from Object; the Value owns it.
class Object {
 public:
  virtual ~Object() = default;
  virtual ValueType type() const = 0;
  virtual const char* encoding_name() const = 0;
  virtual size_t MemoryUsage() const = 0;
  virtual Object* Clone() const = 0;
};

class Value {
 public:
  static constexpr size_t kInlineMax = 14;

  Value() { Reset(); }
  ~Value() { Free(); }
  Value(Value&& o) noexcept {
    memcpy(static_cast<void*>(this), &o, sizeof(Value));
    o.Reset();
  }
  Value& operator=(Value&& o) noexcept {
    if (this != &o) {
      Free();
      memcpy(static_cast<void*>(this), &o, sizeof(Value));
      o.Reset();
    }
    return *this;
  }
  Value(const Value&) = delete;
  Value& operator=(const Value&) = delete;

  // Builds a string value, choosing int / inline / heap encoding.
  static Value String(std::string_view s);
  // The bytes as a string even when they read as an integer (Redis's createStringObject
  // without tryObjectEncoding, e.g. INCRBYFLOAT's result): "embstr" or "raw", never "int".
  static Value StringNoInt(std::string_view s);
  static Value Int(int64_t v);
  static Value FromObject(Object* obj);  // takes ownership
  static Value FromPack(ValueType t, PackBlock* b, Encoding e = Encoding::kPack);
  Value Clone() const;  // deep copy (COPY command)
  // A value whose bytes are record `offset` (of `length` bytes) in tier segment `segment`.
  static Value Tiered(ValueType t, uint32_t segment, uint32_t offset, uint32_t length);
  bool tiered() const { return encoding() == Encoding::kTiered; }
  uint32_t tier_segment() const {
    uint32_t v;
    memcpy(&v, payload_, 4);
    return v;
  }
  uint32_t tier_offset() const {
    uint32_t v;
    memcpy(&v, payload_ + 4, 4);
    return v;
  }
  uint32_t tier_length() const { return len_; }
  // Drops a tiered value without releasing its record (a reference never counted live).
  void ForgetTierRef() {
    if (encoding() == Encoding::kTiered) Reset();
  }

  ValueType type() const { return static_cast<ValueType>(meta_ & 0x0F); }
  Encoding encoding() const { return static_cast<Encoding>(meta_ >> 4); }
  bool is_string() const { return type() == ValueType::kString; }
  bool empty() const { return type() == ValueType::kNone; }

  // String access. For int encoding, formats into scratch; the view is valid while
  // both the value and scratch live unchanged.
  std::string_view GetString(std::string* scratch) const;
  bool GetInt(int64_t* out) const;  // true if the string is a canonical int64
  size_t StringLength() const;
  // Mutable string bytes (converts to heap encoding); resize keeps content, zero-fills.
  char* MutableString(size_t new_len);
  // Modified in place (Redis "raw"); only heap strings carry the flag.
  bool raw() const { return encoding() == Encoding::kHeap && (flags_ & kRawFlag); }
  // An int-encoded string made as a copy of another (COPY): Redis's dupStringObject gives
  // it an object of its own, never one of the shared integers (OBJECT REFCOUNT 1).
  bool unshared_int() const { return encoding() == Encoding::kInt && (flags_ & kUnsharedFlag); }

  Object* object() const { return encoding() == Encoding::kObject ? ptr() : nullptr; }
  // The block of a kPack / kIntSet value; set_pack replaces it after a mutator moved it.
  PackBlock* pack() const {
    PackBlock* p;
    memcpy(&p, payload_, sizeof(p));
    return p;
  }
  void set_pack(PackBlock* b) { memcpy(payload_, &b, sizeof(b)); }
  template <typename T>
  T* As() const {
    return static_cast<T*>(object());
  }

  // Redis's OBJECT ENCODING name.
  const char* EncodingName() const;
  size_t MemoryUsage() const;  // heap bytes owned by the value (not the 16 inline bytes)

 private:
  static constexpr uint8_t kRawFlag = 1;       // heap strings
  static constexpr uint8_t kUnsharedFlag = 2;  // int strings
  void Reset() { memset(static_cast<void*>(this), 0, sizeof(Value)); }
  void Free();
  Object* ptr() const {
    Object* p;
    memcpy(&p, payload_, sizeof(p));
    return p;
  }
  void set_meta(ValueType t, Encoding e) {
    meta_ = static_cast<uint8_t>(static_cast<uint8_t>(t) | (static_cast<uint8_t>(e) << 4));
  }

  alignas(8) char payload_[8];
  uint32_t len_;
  uint8_t flags_;
  uint8_t pad_;
  uint8_t ilen_;
  uint8_t meta_;
};
static_assert(sizeof(Value) == 16);

}  // namespace ferrite
