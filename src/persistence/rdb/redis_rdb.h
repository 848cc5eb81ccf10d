#pragma once
// Redis's RDB format (dump.rdb), both ways: the migration path between Redis and Ferrite.
//
//   file   = "REDIS" , 4 ASCII digits (version) , item* , 0xFF , [u64 CRC-64 (version >= 5)]
//   item   = opcode (AUX, SELECTDB, RESIZEDB, EXPIRETIME[_MS], FREQ, IDLE, MODULE_AUX,
//            FUNCTION2, SLOT_INFO) with its operands, or a key: value-type , key , value
//   length = 1, 2, 5 or 9 bytes (the top two bits of the first byte say which; 0b11 marks
//            an encoded string: int8/16/32 or LZF)
//   CRC-64/Jones (base/crc64.h) over every byte before the checksum, stored
//   little-endian; a stored zero means "not computed".
//
// The values themselves are read and written by the codec of rdb_codec.h, the same one
// DUMP and RESTORE use (dump_payload.h).
//
// The reader turns every key into a ckpt::Record (db, ValueType, expire_ms, key, value):
// strings carry their bytes, collections the blob of types/serialize.h. It reads RDB
// versions 1..12 and the value types of those versions except streams, modules and
// hashes with per-field expiry (NotSupported, naming the key). Empty collections are
// skipped (Redis 7 drops them at load too) and counted. A function library (FUNCTION2, or
// the release candidates' FUNCTION opcode, converted as Redis converts it) is handed to
// the visitor as a ckpt::kFunctionLibrary record (db 0, key = the library's name as its
// metadata line says, value = its code).
//
// The writer produces version 10 (Redis 7.0): function libraries (a kFunctionLibrary
// record becomes FUNCTION2 and the code), strings (int-encoded when they are small
// integers, LZF-compressed when that saves space), lists as plain lists (type 1), sets
// (2), sorted sets with binary scores (5) and hashes (4).
//
// Errors name the file and the byte offset: "<path>: <what> at offset <n>".

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "io/file_system.h"
#include "persistence/checkpoint/checkpoint_format.h"
#include "persistence/rdb/rdb_codec.h"

namespace ferrite::rdb {

inline constexpr uint32_t kMinReadVersion = 1;
inline constexpr uint32_t kMaxReadVersion = 12;
inline constexpr uint32_t kWriteVersion = 10;

struct RdbStats {
  uint32_t version = 0;
  uint64_t keys = 0;  // records handed to the visitor
  uint64_t with_expire = 0;
  uint64_t empty_skipped = 0;       // empty collections (not handed to the visitor)
  uint64_t functions = 0;           // function libraries handed to the visitor
  uint64_t module_aux_skipped = 0;  // MODULE_AUX payloads
  uint64_t checksum = 0;            // as stored (0 = not computed, or version < 5)
  bool checksum_verified = false;
  uint64_t bytes = 0;
  std::vector<std::pair<std::string, std::string>> aux;  // AUX fields in file order
};

// Reads and verifies a Redis dump; calls fn for every key. A damaged or truncated file is
// Corruption, content this build cannot represent (a stream, a module value, a newer RDB
// version) NotSupported; fn may have been called for keys before the problem. An error
// returned by fn stops the read and is returned as is.
Status ReadRedisRdb(FileSystem* fs, const std::string& path,
                    const std::function<Status(const ckpt::Record&)>& fn, RdbStats* stats);

// The name in a function library's `#!<engine> name=<name>` line ("" if none).
std::string FunctionLibraryName(std::string_view code);

struct RdbWriterOptions {
  int64_t ctime_s = 0;   // AUX ctime; 0 = now
  bool compress = true;  // LZF for strings longer than 20 bytes when it helps
  std::string redis_ver = "7.0.0";
};

// Streams a version-10 RDB into a WritableFile. Records may come in any database order
// (a SELECTDB is written whenever the database changes). Not thread-safe.
class RedisRdbWriter {
 public:
  explicit RedisRdbWriter(std::unique_ptr<WritableFile> out, RdbWriterOptions opts = {});
  // Optional: the key and expire counts of a database, written as its RESIZEDB hint (a
  // database without a hint gets no RESIZEDB; Redis only uses it to presize tables).
  void HintDbSize(uint32_t db, uint64_t keys, uint64_t expires);
  Status Begin();
  // A malformed collection blob is Corruption naming the key; an unknown value type
  // NotSupported. An empty collection is skipped (Redis would drop it) and counted.
  Status Add(const ckpt::Record& r);
  // Writes EOF and the checksum, fsyncs and closes the file.
  Status Finish();
  uint64_t keys() const { return keys_; }
  uint64_t empty_skipped() const { return empty_skipped_; }
  uint64_t functions() const { return functions_; }

 private:
  Status Flush(bool force);
  void PutString(std::string_view s);
  std::unique_ptr<WritableFile> out_;
  RdbWriterOptions opts_;
  std::string buf_;
  uint64_t crc_ = 0;
  bool have_db_ = false;
  uint32_t db_ = 0;
  std::map<uint32_t, std::pair<uint64_t, uint64_t>> hints_;
  std::map<uint32_t, bool> resized_;
  uint64_t keys_ = 0;
  uint64_t empty_skipped_ = 0;
  uint64_t functions_ = 0;
  std::string scratch_;
};

}  // namespace ferrite::rdb
