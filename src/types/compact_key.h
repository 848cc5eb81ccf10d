#pragma once
// CompactKey: a 24-byte key. Keys up to 22 bytes live inline (the common case:
// "key:000000123456" is 16), longer ones in one heap block. Layout:
//
//   inline: [ 22 bytes of key | unused | len (0..22) ]
//   heap:   [ char* ptr | uint32 len | ... | 0xFF ]
//
// Move-only; the table moves entries during segment splits.

#include <cstdint>
#include <cstring>
#include <string_view>

namespace ferrite {

class CompactKey {
 public:
  static constexpr size_t kInlineMax = 22;

  CompactKey() { buf_[23] = 0; }
  explicit CompactKey(std::string_view s) { Assign(s); }
  CompactKey(CompactKey&& o) noexcept {
    memcpy(buf_, o.buf_, sizeof(buf_));
    o.buf_[23] = 0;
  }
  CompactKey& operator=(CompactKey&& o) noexcept {
    if (this != &o) {
      Free();
      memcpy(buf_, o.buf_, sizeof(buf_));
      o.buf_[23] = 0;
    }
    return *this;
  }
  CompactKey(const CompactKey&) = delete;
  CompactKey& operator=(const CompactKey&) = delete;
  ~CompactKey() { Free(); }

  std::string_view view() const {
    if (is_heap()) {
      char* p;
      uint32_t n;
      memcpy(&p, buf_, sizeof(p));
      memcpy(&n, buf_ + 8, sizeof(n));
      return {p, n};
    }
    return {buf_, static_cast<size_t>(static_cast<uint8_t>(buf_[23]))};
  }
  bool is_heap() const { return static_cast<uint8_t>(buf_[23]) == 0xFF; }
  // Heap bytes owned beyond the 24 inline bytes (for MEMORY USAGE).
  size_t heap_bytes() const { return is_heap() ? view().size() : 0; }

 private:
  void Assign(std::string_view s) {
    if (s.size() <= kInlineMax) {
      memcpy(buf_, s.data(), s.size());
      buf_[23] = static_cast<char>(s.size());
    } else {
      char* p = new char[s.size()];
      memcpy(p, s.data(), s.size());
      uint32_t n = static_cast<uint32_t>(s.size());
      memcpy(buf_, &p, sizeof(p));
      memcpy(buf_ + 8, &n, sizeof(n));
      buf_[23] = static_cast<char>(0xFF);
    }
  }
  void Free() {
    if (is_heap()) {
      char* p;
      memcpy(&p, buf_, sizeof(p));
      delete[] p;
      buf_[23] = 0;
    }
  }
  alignas(8) char buf_[24];
};
static_assert(sizeof(CompactKey) == 24);

}  // namespace ferrite
