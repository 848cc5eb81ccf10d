#pragma once
// Bytes on disk and in packed memory: varints, fixed-width integers, and a bounds-checked
// read cursor. Every Ferrite format (checkpoint, collection blobs, streams, tier segments,
// packed lists, string tables) writes and reads its integers through these, so there is one
// definition of each encoding.
//
//   varint    LEB128: 7 bits a byte, least significant group first, high bit = more follows.
//             At most 10 bytes for 64 bits. A reader stops after 10 bytes (shift 63); bits
//             past the 64th are dropped, as every Ferrite reader always did.
//   fixed     little-endian two's complement, 2/4/8 bytes, whatever the host's byte order.
//   fixed BE  big-endian 4/8 bytes (Redis's RDB lengths, stream IDs so they sort as bytes).
//   double    the IEEE-754 bit pattern as a fixed 64-bit little-endian integer.
//
// Writers append to a std::string (PutX) or store at a raw pointer (EncodeX, the caller
// sized the buffer: VarintLength says how much). Readers of untrusted bytes use Cursor,
// which never reads past its end; DecodeVarintUnchecked is for memory Ferrite itself wrote
// (a packed list in RAM) where a bounds check per read would be wasted.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace ferrite {

constexpr size_t kMaxVarint64Length = 10;

inline size_t VarintLength(uint64_t v) {
  size_t n = 1;
  for (; v >= 0x80; v >>= 7) ++n;
  return n;
}

// Stores v at dst (VarintLength(v) bytes); returns the byte after it.
inline char* EncodeVarint64(char* dst, uint64_t v) {
  auto* p = reinterpret_cast<unsigned char*>(dst);
  while (v >= 0x80) {
    *p++ = static_cast<unsigned char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<unsigned char>(v);
  return reinterpret_cast<char*>(p);
}

inline void PutVarint64(std::string* dst, uint64_t v) {
  char buf[kMaxVarint64Length];
  dst->append(buf, size_t(EncodeVarint64(buf, v) - buf));
}

// varint length, then the bytes.
inline void PutLengthPrefixed(std::string* dst, std::string_view s) {
  PutVarint64(dst, s.size());
  dst->append(s);
}

// Reads a varint from memory known to hold a complete one; returns the byte after it.
inline const char* DecodeVarintUnchecked(const char* src, uint64_t* v) {
  auto* p = reinterpret_cast<const unsigned char*>(src);
  uint64_t r = 0;
  for (int shift = 0;; shift += 7) {
    unsigned char c = *p++;
    r |= uint64_t(c & 0x7F) << shift;
    if (!(c & 0x80)) break;
  }
  *v = r;
  return reinterpret_cast<const char*>(p);
}

// A length-prefixed string in memory known to hold one (the inverse of PutLengthPrefixed /
// EncodeVarint64 + bytes).
inline std::string_view DecodeLengthPrefixedUnchecked(const char* src) {
  uint64_t n;
  const char* p = DecodeVarintUnchecked(src, &n);
  return {p, size_t(n)};
}

namespace coding_internal {
template <typename T>
inline T ByteSwapIf(bool swap, T v) {
  if (!swap) return v;
  if constexpr (sizeof(T) == 2) return T(__builtin_bswap16(v));
  if constexpr (sizeof(T) == 4) return T(__builtin_bswap32(v));
  if constexpr (sizeof(T) == 8) return T(__builtin_bswap64(v));
}
// kBig: big-endian on disk; otherwise little-endian.
template <typename T, bool kBig>
inline void Store(char* dst, T v) {
  v = ByteSwapIf((std::endian::native == std::endian::big) != kBig, v);
  memcpy(dst, &v, sizeof(T));
}
template <typename T, bool kBig>
inline T Load(const char* src) {
  T v;
  memcpy(&v, src, sizeof(T));
  return ByteSwapIf((std::endian::native == std::endian::big) != kBig, v);
}
template <typename T, bool kBig>
inline void Append(std::string* dst, T v) {
  char b[sizeof(T)];
  Store<T, kBig>(b, v);
  dst->append(b, sizeof(T));
}
}  // namespace coding_internal

inline void EncodeFixed16(char* dst, uint16_t v) {
  coding_internal::Store<uint16_t, false>(dst, v);
}
inline void EncodeFixed32(char* dst, uint32_t v) {
  coding_internal::Store<uint32_t, false>(dst, v);
}
inline void EncodeFixed64(char* dst, uint64_t v) {
  coding_internal::Store<uint64_t, false>(dst, v);
}
inline void EncodeFixed32BE(char* dst, uint32_t v) {
  coding_internal::Store<uint32_t, true>(dst, v);
}
inline void EncodeFixed64BE(char* dst, uint64_t v) {
  coding_internal::Store<uint64_t, true>(dst, v);
}

inline uint16_t DecodeFixed16(const char* src) {
  return coding_internal::Load<uint16_t, false>(src);
}
inline uint32_t DecodeFixed32(const char* src) {
  return coding_internal::Load<uint32_t, false>(src);
}
inline uint64_t DecodeFixed64(const char* src) {
  return coding_internal::Load<uint64_t, false>(src);
}
inline uint32_t DecodeFixed32BE(const char* src) {
  return coding_internal::Load<uint32_t, true>(src);
}
inline uint64_t DecodeFixed64BE(const char* src) {
  return coding_internal::Load<uint64_t, true>(src);
}

inline void PutFixed16(std::string* dst, uint16_t v) {
  coding_internal::Append<uint16_t, false>(dst, v);
}
inline void PutFixed32(std::string* dst, uint32_t v) {
  coding_internal::Append<uint32_t, false>(dst, v);
}
inline void PutFixed64(std::string* dst, uint64_t v) {
  coding_internal::Append<uint64_t, false>(dst, v);
}
inline void PutFixed32BE(std::string* dst, uint32_t v) {
  coding_internal::Append<uint32_t, true>(dst, v);
}
inline void PutFixed64BE(std::string* dst, uint64_t v) {
  coding_internal::Append<uint64_t, true>(dst, v);
}
inline void PutDouble(std::string* dst, double d) { PutFixed64(dst, std::bit_cast<uint64_t>(d)); }
inline double DecodeDouble(const char* src) { return std::bit_cast<double>(DecodeFixed64(src)); }

// Reads untrusted bytes front to back. Every read checks what is left and returns false
// when the bytes run out, never reading past the end; pos() says where a reader stopped,
// for error messages. A fixed-width read that fails consumes nothing.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}

  bool U8(uint8_t* v) {
    if (pos_ >= s_.size()) return false;
    *v = static_cast<uint8_t>(s_[pos_++]);
    return true;
  }
  bool Fixed16(uint16_t* v) { return Fixed(2, v, DecodeFixed16); }
  bool Fixed32(uint32_t* v) { return Fixed(4, v, DecodeFixed32); }
  bool Fixed64(uint64_t* v) { return Fixed(8, v, DecodeFixed64); }
  bool Fixed32BE(uint32_t* v) { return Fixed(4, v, DecodeFixed32BE); }
  bool Fixed64BE(uint64_t* v) { return Fixed(8, v, DecodeFixed64BE); }
  bool Double(double* d) { return Fixed(8, d, DecodeDouble); }
  // A malformed varint (more than 10 bytes, or cut off by the end) leaves pos() past the
  // bytes read, where the problem is.
  bool Varint(uint64_t* v);
  bool Bytes(uint64_t n, std::string_view* out) {
    if (n > left()) return false;
    *out = s_.substr(pos_, size_t(n));
    pos_ += size_t(n);
    return true;
  }
  bool Skip(uint64_t n) {
    if (n > left()) return false;
    pos_ += size_t(n);
    return true;
  }
  // varint length, then that many bytes.
  bool LengthPrefixed(std::string_view* out) {
    uint64_t n;
    return Varint(&n) && Bytes(n, out);
  }

  size_t pos() const { return pos_; }
  size_t left() const { return s_.size() - pos_; }
  bool done() const { return pos_ == s_.size(); }
  // The unread bytes.
  std::string_view rest() const { return s_.substr(pos_); }

 private:
  template <typename T, typename D>
  bool Fixed(size_t n, T* v, D decode) {
    if (left() < n) return false;
    *v = decode(s_.data() + pos_);
    pos_ += n;
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace ferrite
