#include "types/value.h"

#include <cstdlib>

#include "base/strutil.h"
#include "types/pack.h"

namespace ferrite {
namespace {

// Heap string block: capacity header then bytes. Capacity grows geometrically for
// APPEND/SETRANGE, as Redis's sds does.
struct StrBlock {
  uint32_t cap;
  char data[1];
};

StrBlock* AllocBlock(size_t cap) {
  auto* b = static_cast<StrBlock*>(::operator new(sizeof(uint32_t) + cap));
  b->cap = static_cast<uint32_t>(cap);
  return b;
}

TierResolver* g_tier_resolver = nullptr;

}  // namespace

void SetTierResolver(TierResolver* r) { g_tier_resolver = r; }
TierResolver* GetTierResolver() { return g_tier_resolver; }

Value Value::Tiered(ValueType t, uint32_t segment, uint32_t offset, uint32_t length) {
  Value v;
  v.set_meta(t, Encoding::kTiered);
  memcpy(v.payload_, &segment, 4);
  memcpy(v.payload_ + 4, &offset, 4);
  v.len_ = length;
  return v;
}

Value Value::String(std::string_view s) {
  int64_t n;
  if (s.size() <= 20 && ParseInt64(s, &n)) {
    Value v;
    v.set_meta(ValueType::kString, Encoding::kInt);
    memcpy(v.payload_, &n, sizeof(n));
    return v;
  }
  return StringNoInt(s);
}

Value Value::StringNoInt(std::string_view s) {
  Value v;
  if (s.size() <= kInlineMax) {
    v.set_meta(ValueType::kString, Encoding::kInline);
    // Inline bytes span payload_ (8) + len_ (4) + flags/pad (2) = 14 bytes.
    memcpy(v.payload_, s.data(), s.size());
    v.ilen_ = static_cast<uint8_t>(s.size());
    return v;
  }
  v.set_meta(ValueType::kString, Encoding::kHeap);
  StrBlock* b = AllocBlock(s.size());
  memcpy(b->data, s.data(), s.size());
  memcpy(v.payload_, &b, sizeof(b));
  v.len_ = static_cast<uint32_t>(s.size());
  return v;
}

Value Value::Int(int64_t n) {
  Value v;
  v.set_meta(ValueType::kString, Encoding::kInt);
  memcpy(v.payload_, &n, sizeof(n));
  return v;
}

Value Value::FromObject(Object* obj) {
  Value v;
  v.set_meta(obj->type(), Encoding::kObject);
  memcpy(v.payload_, &obj, sizeof(obj));
  return v;
}

Value Value::FromPack(ValueType t, PackBlock* b, Encoding e) {
  Value v;
  v.set_meta(t, e);
  memcpy(v.payload_, &b, sizeof(b));
  return v;
}

void Value::Free() {
  switch (encoding()) {
    case Encoding::kHeap:
      if (type() == ValueType::kString) {
        StrBlock* b;
        memcpy(&b, payload_, sizeof(b));
        ::operator delete(b);
      }
      break;
    case Encoding::kObject:
      delete ptr();
      break;
    case Encoding::kPack:
    case Encoding::kIntSet:
      pack::Free(pack());
      break;
    case Encoding::kTiered:
      if (g_tier_resolver) g_tier_resolver->Release(*this);
      break;
    default:
      break;
  }
  Reset();
}

std::string_view Value::GetString(std::string* scratch) const {
  switch (encoding()) {
    case Encoding::kInt: {
      int64_t n;
      memcpy(&n, payload_, sizeof(n));
      char buf[24];
      scratch->assign(buf, FormatInt64To(n, buf));
      return *scratch;
    }
    case Encoding::kInline:
      return {payload_, ilen_};
    case Encoding::kHeap: {
      StrBlock* b;
      memcpy(&b, payload_, sizeof(b));
      return {b->data, len_};
    }
    case Encoding::kTiered:
      if (g_tier_resolver && is_string()) return g_tier_resolver->StringBytes(*this, scratch);
      return {};
    default:
      return {};
  }
}

bool Value::GetInt(int64_t* out) const {
  if (!is_string()) return false;
  if (encoding() == Encoding::kInt) {
    memcpy(out, payload_, sizeof(*out));
    return true;
  }
  std::string scratch;
  return ParseInt64(GetString(&scratch), out);
}

size_t Value::StringLength() const {
  switch (encoding()) {
    case Encoding::kInt: {
      int64_t n;
      memcpy(&n, payload_, sizeof(n));
      char buf[24];
      return FormatInt64To(n, buf);
    }
    case Encoding::kInline:
      return ilen_;
    case Encoding::kHeap:
      return len_;
    case Encoding::kTiered: {
      std::string scratch;
      return GetString(&scratch).size();
    }
    default:
      return 0;
  }
}

char* Value::MutableString(size_t new_len) {
  std::string scratch;
  StrBlock* b = nullptr;
  if (encoding() == Encoding::kHeap) {
    memcpy(&b, payload_, sizeof(b));
    if (new_len > b->cap) {
      size_t cap = new_len < (1u << 20) ? new_len * 2 : new_len + (1u << 20);
      StrBlock* nb = AllocBlock(cap);
      memcpy(nb->data, b->data, std::min<size_t>(len_, new_len));
      ::operator delete(b);
      b = nb;
    }
  } else {
    std::string_view cur = GetString(&scratch);
    // A string made large at once (SETRANGE, SETBIT, BITFIELD at a far offset) gets the
    // headroom sds's growth gives it, so a following APPEND does not copy it all again
    // (Redis's realloc grows such a block in place).
    b = AllocBlock(new_len < (1u << 20) ? std::max<size_t>(new_len, 16) : new_len + (1u << 20));
    memcpy(b->data, cur.data(), std::min(cur.size(), new_len));
    size_t old = cur.size();
    Free();  // a tiered value's record becomes dead space
    len_ = static_cast<uint32_t>(old);
    set_meta(ValueType::kString, Encoding::kHeap);
  }
  if (new_len > len_) memset(b->data + len_, 0, new_len - len_);
  memcpy(payload_, &b, sizeof(b));
  len_ = static_cast<uint32_t>(new_len);
  flags_ |= kRawFlag;
  return b->data;
}

Value Value::Clone() const {
  if (encoding() == Encoding::kTiered)
    return g_tier_resolver ? g_tier_resolver->Load(*this) : Value();
  if (is_string()) {
    std::string scratch;
    Value v = String(GetString(&scratch));
    if (v.encoding() == Encoding::kInt) v.flags_ |= kUnsharedFlag;
    return v;
  }
  switch (encoding()) {
    case Encoding::kPack:
    case Encoding::kIntSet:
      return FromPack(type(), pack::Clone(pack()), encoding());
    case Encoding::kObject:
      return FromObject(ptr()->Clone());
    default:
      return Value();
  }
}

const char* Value::EncodingName() const {
  switch (encoding()) {
    case Encoding::kInt:
      return "int";
    case Encoding::kInline:
      return "embstr";  // flags_ bytes hold string data here
    case Encoding::kHeap:
      return (raw() || len_ > 44) ? "raw" : "embstr";
    case Encoding::kObject:
      return ptr()->encoding_name();
    case Encoding::kPack:
      return "listpack";
    case Encoding::kIntSet:
      return "intset";
    case Encoding::kTiered:
      return g_tier_resolver ? g_tier_resolver->EncodingName(*this) : "raw";
  }
  return "unknown";
}

size_t Value::MemoryUsage() const {
  switch (encoding()) {
    case Encoding::kHeap: {
      StrBlock* b;
      memcpy(&b, payload_, sizeof(b));
      return sizeof(uint32_t) + b->cap;
    }
    case Encoding::kObject:
      return ptr()->MemoryUsage();
    case Encoding::kPack:
    case Encoding::kIntSet:
      return pack::AllocSize(pack());
    default:
      return 0;
  }
}

}  // namespace ferrite
