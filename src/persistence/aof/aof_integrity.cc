#include "persistence/aof/aof_integrity.h"

#include <fmt/format.h>
#include <zlib.h>

#include <cstring>
#include <vector>

#include "base/strutil.h"

namespace ferrite::aof {

uint32_t Crc32(uint32_t crc, std::string_view bytes) {
  return uint32_t(crc32_z(crc, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
}

void AppendCrcLine(std::string* out, std::string_view covered) {
  uint32_t c = Crc32(0, covered);
  out->append(fmt::format("{}{} {:08x}\r\n", kCrcPrefix, covered.size(), c));
}

void AppendCrcReset(std::string* out) { out->append(fmt::format("{}0 00000000\r\n", kCrcPrefix)); }

bool ParseCrcAnnotation(std::string_view text, uint64_t* length, uint32_t* crc) {
  if (text.substr(0, 4) != "CRC:") return false;
  text.remove_prefix(4);
  size_t sp = text.find(' ');
  if (sp == std::string_view::npos || text.size() - sp - 1 != 8) return false;
  int64_t len;
  if (!ParseInt64(text.substr(0, sp), &len) || len < 0) return false;
  uint32_t v = 0;
  for (char ch : text.substr(sp + 1)) {
    int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
    if (d < 0) return false;
    v = v << 4 | uint32_t(d);
  }
  *length = uint64_t(len);
  *crc = v;
  return true;
}

BatchVerifier::Verdict BatchVerifier::OnRecord(const AofRecord& rec) {
  uint64_t len;
  uint32_t want;
  if (rec.kind == AofRecord::kAnnotation && ParseCrcAnnotation(rec.annotation, &len, &want)) {
    uint64_t have = rec.offset - boundary_;
    bool reset = len == 0 && want == 0;
    if (!reset && (len != have || crc_ != want)) {
      error_ = len != have ? fmt::format(
                                 "the checksum line at offset {} covers {} bytes, but the batch "
                                 "since offset {} has {}",
                                 rec.offset, len, boundary_, have)
                           : fmt::format(
                                 "the batch from offset {} to {} does not match its checksum "
                                 "(CRC-32 {:08x}, the line says {:08x})",
                                 boundary_, rec.offset, crc_, want);
      return Verdict::kMismatch;
    }
    seen_ = true;
    boundary_ = rec.offset + rec.raw.size();
    crc_ = 0;
    return Verdict::kVerified;
  }
  crc_ = Crc32(crc_, rec.raw);
  return Verdict::kData;
}

int64_t FindVerifiedBatchAfter(FileSystem* fs, const std::string& path, uint64_t from) {
  auto f = fs->NewRandomAccessFile(path);
  auto size = fs->GetFileSize(path);
  if (!f.ok() || !size.ok()) return -1;
  uint64_t total = size.value();
  // Candidates: "#CRC:" at the start of a line (or at `from`). Each is checked by reading
  // the bytes it claims to cover; only batches wholly after `from` count.
  std::vector<char> buf(1 << 20);
  const std::string needle = "\n#CRC:";
  uint64_t pos = from;
  std::string carry;  // the last bytes of the previous chunk (a needle split in two)
  while (pos < total) {
    auto n = f.value()->Read(pos, buf.size(), buf.data());
    if (!n.ok() || n.value() == 0) return -1;
    std::string chunk = carry + std::string(buf.data(), n.value());
    uint64_t chunk_at = pos - carry.size();
    size_t at = 0;
    while ((at = chunk.find(needle, at)) != std::string::npos) {
      uint64_t line_at = chunk_at + at + 1;
      at++;
      // Read the line itself (it may run past this chunk).
      char line[64];
      auto ln = f.value()->Read(line_at, sizeof(line), line);
      if (!ln.ok()) continue;
      std::string_view l(line, ln.value());
      size_t nl = l.find('\n');
      if (nl == std::string_view::npos) continue;
      std::string_view text = l.substr(1, nl - 1);
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
      uint64_t len;
      uint32_t want;
      if (!ParseCrcAnnotation(text, &len, &want) || len == 0) continue;
      if (len > line_at || line_at - len < from) continue;
      std::string covered(len, '\0');
      auto cn = f.value()->Read(line_at - len, len, covered.data());
      if (!cn.ok() || cn.value() != len) continue;
      if (Crc32(0, covered) == want) return int64_t(line_at + nl + 1);
    }
    carry =
        chunk.size() >= needle.size() ? chunk.substr(chunk.size() - (needle.size() - 1)) : chunk;
    pos += n.value();
  }
  return -1;
}

}  // namespace ferrite::aof
