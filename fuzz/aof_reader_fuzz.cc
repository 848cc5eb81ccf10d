// libFuzzer target for the AOF reader (persistence/aof/aof_format.h). The input is a file;
// its first byte picks the size of the pieces it is fed in (1..256 bytes, as a file read
// in chunks). Checks: no crash or out-of-bounds read; records come in increasing offsets
// within what was fed; and fed in pieces or whole, the reader finds the same records,
// the same error offset and the same clean end.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "persistence/aof/aof_format.h"

namespace {

struct Outcome {
  std::vector<uint64_t> offsets;
  bool error = false;
  uint64_t error_offset = 0;
  bool clean_end = false;
  uint64_t end_offset = 0;
};

Outcome Run(std::string_view file, size_t piece) {
  ferrite::aof::AofReader r;
  Outcome o;
  uint64_t fed = 0;
  for (size_t pos = 0; pos <= file.size() && !o.error;) {
    size_t n = std::min(piece, file.size() - pos);
    r.Feed(file.substr(pos, n));
    fed += n;
    pos += n;
    while (true) {
      ferrite::aof::AofRecord rec;
      auto res = r.Next(&rec);
      if (res == ferrite::aof::AofReader::Result::kNeedMore) break;
      if (res == ferrite::aof::AofReader::Result::kError) {
        o.error = true;
        o.error_offset = r.error_offset();
        break;
      }
      if (rec.offset >= fed || r.offset() > fed) abort();
      if (!o.offsets.empty() && rec.offset <= o.offsets.back()) abort();
      o.offsets.push_back(rec.offset);
      for (auto a : rec.args) ferrite::fuzz::Touch(a);
      ferrite::fuzz::Touch(rec.annotation);
    }
    if (n == 0) break;
  }
  o.clean_end = r.AtCleanEnd();
  o.end_offset = r.offset();
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (!ferrite::fuzz::SeedDir()) return 0;
  using ferrite::aof::AppendCommand;
  std::string f;
  ferrite::aof::AppendTimestamp(&f, 1700000000);
  AppendCommand(&f, {"SELECT", "0"});
  AppendCommand(&f, {"SET", "key", "value"});
  AppendCommand(&f, {"MULTI"});
  AppendCommand(&f, {"INCR", "n"});
  AppendCommand(&f, {"PEXPIREAT", "key", "1900000000000"});
  AppendCommand(&f, {"EXEC"});
  AppendCommand(&f, {"RPUSH", "l", std::string("bin\0\r\n", 6), ""});
  ferrite::fuzz::WriteSeed("commands.aof", f);
  ferrite::fuzz::WriteSeed("torn-tail.aof", f.substr(0, f.size() - 7));
  ferrite::fuzz::WriteSeed("garbage-middle.aof", f.substr(0, 40) + "xx" + f.substr(40));
  ferrite::fuzz::WriteSeed("annotation-no-newline.aof", "#TS:123");
  ferrite::fuzz::WriteSeed("huge-counts.aof", "*4294967296\r\n$1099511627776\r\nab");
  exit(0);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t piece = size_t(data[0]) + 1;
  std::string_view file(reinterpret_cast<const char*>(data) + 1, size - 1);
  Outcome a = Run(file, piece);
  Outcome b = Run(file, file.size() + 1);
  if (a.offsets != b.offsets || a.error != b.error || a.error_offset != b.error_offset ||
      a.clean_end != b.clean_end || a.end_offset != b.end_offset)
    abort();
  return 0;
}
