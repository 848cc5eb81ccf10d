#pragma once
// The packed node of a stream: a listpack in Redis's byte format, so that a node is exactly
// as large as Redis's (same element encodings, same node boundaries, same `~` trimming) and
// can be written to and read from Redis RDB files and DUMP payloads as it is.
//
//   listpack = u32 total-bytes (LE) , u16 element-count (LE, 65535 = unknown) ,
//              element* , 0xFF
//   element  = encoding+data , backlen
//     0xxxxxxx                 7-bit unsigned int           (1 byte)
//     10llllll data            string, length < 64
//     110xxxxx xxxxxxxx        13-bit signed int            (2 bytes)
//     1110llll llllllll data   string, length < 4096
//     11110000 l32 data        string, 32-bit length (LE)
//     11110001 / 2 / 3 / 4     16 / 24 / 32 / 64-bit signed int (LE)
//   backlen  = the encoding+data size in 1..5 bytes of 7 bits, read right to left (the
//              first byte written is the most significant; every byte but that one has the
//              high bit set), so the list can be walked backwards.
//
// A string that is a canonical int64 is stored as an integer (Redis's lpStringToInt64).
// Elements are addressed by their byte offset; offset 0 (inside the header) means "none".
// Blocks are allocated with ::operator new (counted in used_memory); the capacity is kept by
// the owner because a node may be over-allocated while it is the tail of a stream.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace ferrite::slp {

inline constexpr uint32_t kHeaderSize = 6;
inline constexpr uint16_t kCountUnknown = 0xFFFF;
inline constexpr uint8_t kEof = 0xFF;

inline uint32_t TotalBytes(const uint8_t* lp) {
  return uint32_t(lp[0]) | uint32_t(lp[1]) << 8 | uint32_t(lp[2]) << 16 | uint32_t(lp[3]) << 24;
}
inline uint16_t NumElements(const uint8_t* lp) { return uint16_t(lp[4] | lp[5] << 8); }

// True (and *v set) if s is a canonical int64 in decimal: no sign but '-', no leading zeros,
// at most 20 bytes (Redis's lpStringToInt64).
bool StringToInt64(std::string_view s, int64_t* v);

// One element as Redis writes it (an integer encoding when s is one, else a string), its
// backlen included, appended to out: for code that assembles a listpack of its own (the RDB
// writer's ListpackBuilder).
void EncodeElement(std::string_view s, std::string* out);

// Size of the encoding byte(s) + data of the element at p (0 if the first byte is no valid
// encoding). Reads up to 5 bytes at p.
uint32_t EncodedSize(const uint8_t* p);
// Bytes a backlen of value l takes.
inline uint32_t BacklenSize(uint64_t l) {
  return l <= 127 ? 1 : l < 16383 ? 2 : l < 2097151 ? 3 : l < 268435455 ? 4 : 5;
}

// Walking. First/Last return 0 for an empty listpack; Next returns 0 after the last element,
// Prev before the first.
inline uint32_t First(const uint8_t* lp) { return lp[kHeaderSize] == kEof ? 0 : kHeaderSize; }
inline uint32_t Next(const uint8_t* lp, uint32_t p) {
  uint32_t n = EncodedSize(lp + p);
  p += n + BacklenSize(n);
  return lp[p] == kEof ? 0 : p;
}
uint32_t Prev(const uint8_t* lp, uint32_t p);
inline uint32_t Last(const uint8_t* lp) {
  uint32_t end = TotalBytes(lp) - 1;  // the EOF byte
  return end == kHeaderSize ? 0 : Prev(lp, end);
}

// The element at p: an integer (returns true, *iv set) or a string (returns false, *sv set,
// pointing into the listpack).
bool Get(const uint8_t* lp, uint32_t p, int64_t* iv, std::string_view* sv);
// The element as an integer (a string element is parsed; 0 if it is none).
int64_t GetInt(const uint8_t* lp, uint32_t p);
// The element as a string; integers are formatted into buf (at least 21 bytes).
std::string_view GetStr(const uint8_t* lp, uint32_t p, char* buf);

// A growable listpack: the bytes and their allocated capacity.
struct Buf {
  uint8_t* lp = nullptr;
  uint32_t cap = 0;
};

Buf New(size_t capacity);
void Free(Buf* b);
Buf Copy(const uint8_t* lp);            // an exactly sized copy
Buf FromBytes(std::string_view bytes);  // an exactly sized copy of validated bytes
void ShrinkToFit(Buf* b);               // reallocates to exactly TotalBytes
inline size_t AllocSize(const Buf& b) { return b.cap; }

// Appending (may reallocate: offsets stay valid, pointers do not).
void AppendStr(Buf* b, std::string_view s);  // stored as an integer when it is one
void AppendInt(Buf* b, int64_t v);
// Replaces the element at p with the integer v (its size may change; later offsets move).
void ReplaceInt(Buf* b, uint32_t p, int64_t v);
// Bytes an element would take, backlen included.
uint32_t StrElementSize(std::string_view s);
uint32_t IntElementSize(int64_t v);

// Checks that bytes are one well-formed listpack: the header's size matches, every element
// has a valid encoding, lies inside the block and has a matching backlen, the count (unless
// unknown) is right, and the last byte is the terminator. On failure returns false and says
// what is wrong in *why (when given).
bool Validate(const uint8_t* lp, size_t size, std::string* why = nullptr);

}  // namespace ferrite::slp
