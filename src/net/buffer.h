#pragma once
// IoBuffer: a growable byte buffer with read and write positions, for socket input.
// Unlike std::string it never zero-fills the space a read() is about to overwrite.

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace ferrite {

class IoBuffer {
 public:
  IoBuffer() = default;
  ~IoBuffer() { free(data_); }
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
    data_ = static_cast<char*>(realloc(data_, cap));
    if (!data_) abort();
    cap_ = cap;
  }
  // Releases a large idle buffer (after a big request), keeping memory bounded.
  void ShrinkIfIdle(size_t keep) {
    if (readable() == 0 && cap_ > keep) {
      free(data_);
      data_ = nullptr;
      cap_ = rpos_ = wpos_ = 0;
    }
  }
  // Resizes the storage to max(n, readable()) bytes (0 with nothing unread frees it),
  // keeping the unread bytes.
  void ShrinkTo(size_t n) {
    size_t keep = std::max(n, readable());
    if (keep >= cap_) return;
    if (keep == 0) {
      free(data_);
      data_ = nullptr;
      cap_ = rpos_ = wpos_ = 0;
      return;
    }
    if (rpos_ > 0) {
      memmove(data_, data_ + rpos_, readable());
      wpos_ -= rpos_;
      rpos_ = 0;
    }
    char* p = static_cast<char*>(realloc(data_, keep));
    if (!p) return;  // keep the larger block
    data_ = p;
    cap_ = keep;
  }

 private:
  char* data_ = nullptr;
  size_t cap_ = 0, rpos_ = 0, wpos_ = 0;
};

}  // namespace ferrite
