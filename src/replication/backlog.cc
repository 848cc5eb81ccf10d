#include "replication/backlog.h"

#include <algorithm>

namespace ferrite::repl {

Backlog::Backlog(size_t size, uint64_t start_offset)
    : buf_(std::max<size_t>(size, 1), '\0'), offset_(start_offset) {}

void Backlog::Feed(std::string_view data) {
  offset_ += data.size();
  size_t cap = buf_.size();
  if (data.size() >= cap) {  // only the last `cap` bytes can stay
    data.remove_prefix(data.size() - cap);
    buf_.assign(data);
    idx_ = 0;
    histlen_ = cap;
    return;
  }
  size_t first = std::min(data.size(), cap - idx_);
  buf_.replace(idx_, first, data.substr(0, first));
  if (first < data.size()) buf_.replace(0, data.size() - first, data.substr(first));
  idx_ = (idx_ + data.size()) % cap;
  histlen_ = std::min(cap, histlen_ + data.size());
}

bool Backlog::CopyFrom(uint64_t from, std::string* out) const {
  if (!Has(from)) return false;
  size_t len = size_t(offset_ + 1 - from);
  if (len == 0) return true;
  size_t cap = buf_.size();
  size_t start = (idx_ + cap - len) % cap;  // len <= histlen_ <= cap
  size_t first = std::min(len, cap - start);
  out->append(buf_, start, first);
  if (first < len) out->append(buf_, 0, len - first);
  return true;
}

void Backlog::Resize(size_t size) {
  size = std::max<size_t>(size, 1);
  if (size == buf_.size()) return;
  std::string keep;
  size_t n = std::min(histlen_, size);
  CopyFrom(offset_ + 1 - n, &keep);
  buf_.assign(size, '\0');
  buf_.replace(0, keep.size(), keep);
  histlen_ = keep.size();
  idx_ = keep.size() % size;
}

}  // namespace ferrite::repl
