#pragma once
// IoBuffer: a growable byte buffer with read and write positions, for socket input.
// Unlike std::string it never zero-fills the space a read() is about to overwrite.
// Memory comes from operator new, so the server's heap accounting (used_memory, maxmemory,
// INFO mem_clients_normal) counts query buffers as it counts everything else.

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace ferrite {

class IoBuffer {
 public:
  IoBuffer() = default;
  ~IoBuffer() { ::operator delete(data_); }
  IoBuffer(const IoBuffer&) = delete;
  IoBuffer& operator=(const IoBuffer&) = delete;

  char* read_ptr() { return data_ + rpos_; }
  size_t readable() const { return wpos_ - rpos_; }
  char* write_ptr() { return data_ + wpos_; }
  size_t writable() const { return cap_ - wpos_; }
  size_t capacity() const { return cap_; }
  void Produced(size_t n) { wpos_ += n; }
  void Consumed(size_t n) {
    rpos_ += n;
    if (rpos_ == wpos_) rpos_ = wpos_ = 0;
  }
  // Makes room for at least n writable bytes: compacts unread bytes to the front first,
  // grows only if that is not enough.
  void Reserve(size_t n) {
    if (writable() >= n) return;
    if (rpos_ > 0) {
      memmove(data_, data_ + rpos_, readable());
      wpos_ -= rpos_;
      rpos_ = 0;
      if (writable() >= n) return;
    }
    size_t want = wpos_ + n;
    size_t cap = cap_ ? cap_ : 16384;
    while (cap < want) cap *= 2;
    char* grown = static_cast<char*>(::operator new(cap));
    if (wpos_) memcpy(grown, data_, wpos_);
    ::operator delete(data_);
    data_ = grown;
    cap_ = cap;
  }
  // Resizes the storage to max(n, readable()) bytes (0 with nothing unread frees it),
  // keeping the unread bytes.
  void ShrinkTo(size_t n) {
    size_t keep = std::max(n, readable());
    if (keep >= cap_) return;
    if (keep == 0) {
      ::operator delete(data_);
      data_ = nullptr;
      cap_ = rpos_ = wpos_ = 0;
      return;
    }
    // A new block through operator new (never realloc: the heap accounting must see it).
    char* p = static_cast<char*>(::operator new(keep));
    size_t unread = readable();
    memcpy(p, data_ + rpos_, unread);
    ::operator delete(data_);
    data_ = p;
    cap_ = keep;
    rpos_ = 0;
    wpos_ = unread;
  }

 private:
  char* data_ = nullptr;
  size_t cap_ = 0, rpos_ = 0, wpos_ = 0;
};

}  // namespace ferrite
