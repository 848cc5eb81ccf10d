#pragma once
// Tier segment files, format version 1 (docs/formats.md, "Tier segments").
//
//   file   = header (32 bytes) , record*
//   header = magic "FERRSEGM" (8) , u32 version , u8 codec , 3 zero bytes ,
//            u64 segment id , u64 created (unix ms)
//   record = u32 checksum , u32 key-len , u32 stored-len , u32 raw-len , u16 db , u8 type ,
//            u8 codec , key , stored value
//            checksum = low 32 bits of XXH3-64 over everything after the checksum field
//            codec 0 = none (stored == raw value), 1 = lz4 block, 2 = zstd frame
//   integers little-endian.
//
// A value's location is (segment id, record offset, record length): one read of `length`
// bytes at `offset` returns the whole record, which verifies itself. Warm segments are
// written uncompressed and read through a shared mapping (zero-copy); cold segments
// compress each value on its own so one record is read without its neighbours. Segments
// are append-only; a torn tail (crash mid-append) is found by its checksum.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "io/file_system.h"

namespace ferrite::tier {

inline constexpr char kSegMagic[8] = {'F', 'E', 'R', 'R', 'S', 'E', 'G', 'M'};
inline constexpr uint32_t kSegVersion = 1;
inline constexpr size_t kFileHeaderSize = 32;
inline constexpr size_t kRecordHeaderSize = 20;

enum class Codec : uint8_t { kNone = 0, kLz4 = 1, kZstd = 2 };
Codec CodecFromName(std::string_view name);  // "lz4" | "zstd" | anything else = none
const char* CodecName(Codec c);

struct RecordView {
  uint16_t db = 0;
  uint8_t type = 0;  // ValueType
  Codec codec = Codec::kNone;
  uint32_t raw_len = 0;
  std::string_view key;
  std::string_view stored;  // the value as stored (compressed unless codec is none)
  uint32_t length = 0;      // the whole record
};

std::string EncodeFileHeader(uint64_t id, Codec codec, int64_t created_ms);
// Checks a file header; errors name the path.
Status ParseFileHeader(std::string_view bytes, const std::string& path, uint64_t* id, Codec* codec);

// Appends one record to out. The value is compressed with codec when that shrinks it
// (otherwise stored as is, codec none). Returns the record's length.
uint32_t EncodeRecord(std::string* out, uint16_t db, uint8_t type, std::string_view key,
                      std::string_view value, Codec codec);

// Parses and verifies the record at data[0, avail) (offset: where it is in the file, for
// messages). Errors: "<path>: record at offset N: <what>".
Result<RecordView> ParseRecord(const char* data, size_t avail, const std::string& path,
                               uint64_t offset);

// The record's value bytes: a view of the record itself when stored uncompressed,
// otherwise decompressed into scratch.
Result<std::string_view> RecordValue(const RecordView& r, std::string* scratch,
                                     const std::string& path, uint64_t offset);

// Reads every record of a segment file in order. Stops at the first record that does not
// verify: *valid_end is where the good records end (== file size for an intact file).
Status ScanSegment(FileSystem* fs, const std::string& path,
                   const std::function<void(uint64_t offset, const RecordView& r)>& fn,
                   uint64_t* valid_end, uint64_t* file_size);

}  // namespace ferrite::tier

namespace ferrite::tier {

// Offline access to the segments a checkpoint references (ferrite-check-rdb, ferrite-rdb):
// finds seg-<id>.warm in tier_dir, seg-<id>.cold in cold_dir, or the seg-<id>.archived
// marker (then the value is in S3 and is not read here).
class SegmentFiles {
 public:
  SegmentFiles(FileSystem* fs, std::string tier_dir, std::string cold_dir);
  ~SegmentFiles();
  // Reads and verifies the record of `key` at (segment, offset, length) and returns the
  // value's bytes. A record in an archived segment: Status::NotFound naming the object
  // key. Errors name the key, the file and the offset.
  Result<std::string> ReadValue(std::string_view ref, std::string_view key, std::string* where);
  static bool ParseRef(std::string_view ref, uint32_t* segment, uint32_t* offset, uint32_t* length);

 private:
  struct Open;
  FileSystem* fs_;
  std::string tier_dir_, cold_dir_;
  std::map<uint32_t, std::unique_ptr<Open>> files_;
};

}  // namespace ferrite::tier
