#include "base/coding.h"

namespace ferrite {

bool Cursor::Varint(uint64_t* v) {
  uint64_t r = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= s_.size()) return false;
    auto c = static_cast<unsigned char>(s_[pos_++]);
    r |= uint64_t(c & 0x7F) << shift;
    if (!(c & 0x80)) {
      *v = r;
      return true;
    }
  }
  return false;
}

}  // namespace ferrite
