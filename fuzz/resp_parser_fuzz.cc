// libFuzzer target for the RESP parser. Feeds the input in two pieces (split at a point
// chosen by the first byte) the way a socket would, and checks the parser's contract:
// it never reads out of bounds, never consumes more than it was given, and always makes
// progress on a whole command; and PeekCommand (the key prefetch's look-ahead) agrees
// with it.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "protocol/resp_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t split = size > 1 ? data[0] % size : 0;
  std::string buf;
  ferrite::RespParser p(ferrite::RespLimits{1 << 20, 64 * 1024, 1024});
  auto drain = [&]() -> bool {
    for (int guard = 0; guard < 100000 && !buf.empty(); guard++) {
      // The look-ahead (key prefetch) must never disagree with the parser: when it claims
      // a whole command, the parser finds the same one (or refuses it by its limits).
      std::string_view second;
      size_t peek_size = 0;
      bool peeked = ferrite::PeekCommand(buf.data(), buf.size(), &second, &peek_size);
      auto r = p.Parse(buf.data(), buf.size());
      if (peeked && r == ferrite::RespParser::Result::kIncomplete) abort();
      if (peeked && r == ferrite::RespParser::Result::kCommand) {
        if (p.consumed() != peek_size) abort();
        if (p.args().size() >= 2 && p.args()[1] != second) abort();
      }
      if (r == ferrite::RespParser::Result::kIncomplete) return true;
      if (r == ferrite::RespParser::Result::kError) return false;
      if (p.consumed() == 0 || p.consumed() > buf.size()) abort();
      for (auto a : p.args()) {
        if (a.data() < buf.data() && !a.empty() && (a.data() + a.size() > buf.data())) abort();
      }
      buf.erase(0, p.consumed());
    }
    return true;
  };
  buf.append(reinterpret_cast<const char*>(data) + 1, split > 0 ? split - 1 : 0);
  if (!drain()) return 0;
  buf.append(reinterpret_cast<const char*>(data) + (split > 0 ? split : 1),
             size - (split > 0 ? split : 1));
  drain();
  return 0;
}
