#pragma once
// The replication backlog: the last `size` bytes of the replication stream, kept so a
// replica whose link dropped can continue with PSYNC (+CONTINUE) instead of a full sync.
//
// Offsets are Redis's: the stream's bytes are numbered from 1; master_repl_offset() is the
// number of the last byte fed (0 before any). The backlog holds the bytes numbered
// first_byte_offset() .. master_repl_offset() (histlen() of them). A replica that has
// processed up to offset N asks for N + 1: Has(N + 1) says whether that can be served,
// CopyFrom(N + 1, out) appends the bytes from there to the end.
//
// A ring of fixed capacity: memory is `size` bytes however much flows through.

#include <cstdint>
#include <string>
#include <string_view>

namespace ferrite::repl {

class Backlog {
 public:
  // `start_offset`: master_repl_offset when the backlog is created (the next byte fed is
  // start_offset + 1).
  Backlog(size_t size, uint64_t start_offset);

  void Feed(std::string_view data);
  // A new capacity (CONFIG SET repl-backlog-size): the newest bytes that fit are kept.
  void Resize(size_t size);

  uint64_t master_repl_offset() const { return offset_; }
  size_t size() const { return buf_.size(); }
  size_t histlen() const { return histlen_; }
  // Redis's repl_backlog_first_byte_offset: the number of the oldest byte held (offset + 1
  // when nothing is held yet).
  uint64_t first_byte_offset() const { return offset_ - histlen_ + 1; }
  // True when the bytes from `from` to the end are all held (from == offset + 1: nothing
  // to send, still a valid continuation).
  bool Has(uint64_t from) const { return from >= first_byte_offset() && from <= offset_ + 1; }
  // Appends the bytes numbered from..master_repl_offset() to out; false (nothing appended)
  // when !Has(from).
  bool CopyFrom(uint64_t from, std::string* out) const;

 private:
  std::string buf_;
  size_t idx_ = 0;  // where the next byte goes
  size_t histlen_ = 0;
  uint64_t offset_ = 0;
};

}  // namespace ferrite::repl
