#pragma once
// AOF integrity annotations (AOF format version 2, docs/formats.md).
//
// Every batch of records the server writes in one write() (one fsync batch under
// `always`, one loop iteration under everysec/no), every chunk of a rewritten RESP base and
// the #ID line of a new file end with a checksum line:
//
//   "#CRC:" <length> " " <8 lowercase hex digits> "\r\n"
//
// covering the <length> bytes right before the line, which are exactly the bytes since the
// previous #CRC line (or since the start of the RESP section: the file's start, or the end
// of a checkpoint preamble). The digits are the CRC-32 (zlib, IEEE polynomial) of those
// bytes. "#CRC:0 00000000" is a reset: it covers nothing and starts a new batch (written
// when a file without checksums, e.g. one Redis wrote, is appended to).
//
// Redis's AOF reader skips lines starting with '#', so files stay loadable by Redis 7;
// files without #CRC lines (Redis's own) load as before.
//
// What the checksums tell the loader and ferrite-check-aof: after a problem at offset X (a
// record that does not parse, one whose length runs past the end, a batch that does not
// match its line), a batch *after* X that verifies means the damage is in the middle of
// the file (nothing may be cut: acknowledged records follow); none means a torn tail after
// the last good batch, which can be cut off.

#include <cstdint>
#include <string>
#include <string_view>

#include "io/file_system.h"
#include "persistence/aof/aof_format.h"

namespace ferrite::aof {

inline constexpr std::string_view kCrcPrefix = "#CRC:";

uint32_t Crc32(uint32_t crc, std::string_view bytes);
// Appends the #CRC line covering `covered` (the bytes right before it).
void AppendCrcLine(std::string* out, std::string_view covered);
// Appends the reset line "#CRC:0 00000000".
void AppendCrcReset(std::string* out);
// Parses the text of an annotation ("CRC:<len> <hex>", without '#'). False if it is not a
// checksum line or is malformed.
bool ParseCrcAnnotation(std::string_view text, uint64_t* length, uint32_t* crc);

// Follows the batches of a RESP section, record by record, in file order.
class BatchVerifier {
 public:
  explicit BatchVerifier(uint64_t section_start) : boundary_(section_start) {}
  enum class Verdict { kData, kVerified, kMismatch };
  // kData: a record inside the current batch. kVerified: rec is a checksum line and the
  // batch it closes matches (or a reset). kMismatch: it does not (error() says how).
  Verdict OnRecord(const AofRecord& rec);
  uint64_t batch_start() const { return boundary_; }  // first byte of the open batch
  bool has_checksums() const { return seen_; }
  const std::string& error() const { return error_; }

 private:
  uint64_t boundary_;
  uint32_t crc_ = 0;
  bool seen_ = false;
  std::string error_;
};

// The end offset of the first checksummed batch that lies wholly at or after `from` and
// verifies, or -1 if there is none (reads the file from `from`).
int64_t FindVerifiedBatchAfter(FileSystem* fs, const std::string& path, uint64_t from);

}  // namespace ferrite::aof
