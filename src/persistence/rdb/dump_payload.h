#pragma once
// DUMP / RESTORE payloads in Redis 7.0's format (cluster.c createDumpPayload,
// verifyDumpPayload):
//
//   payload = RDB type (1 byte) , value (rdb_codec.h) , RDB version (u16 le) , CRC-64 (u64 le)
//             the CRC-64 (base/crc64.h) covers every byte before it, the version included
//
// A value is written in the RDB type Redis 7.0 uses for the same encoding, byte for byte
// what Redis writes except where Redis's own history shows (quicklist node boundaries of
// lists edited in the middle, LZF choices of its compressor, hash table order):
//
//   string                     0   (int-encoded when a canonical int32, LZF past 20 bytes)
//   list (packed or not)       18  quicklist of listpack nodes (list-max-listpack-size)
//   set of integers (intset)   11  intset
//   other sets                 2   count, members
//   packed sorted set          17  listpack of member, score text (Redis's d2string)
//   other sorted sets          5   count, member and binary score, highest score first
//   packed hash                16  listpack of field, value
//   other hashes               4   count, field, value
//   stream                     19  nodes as they are, groups, PELs (rdb_stream.h)
//
// Decoding accepts every value type Redis 7.0's RESTORE accepts (types 0-5, 9-19) except
// modules (6, 7), which Ferrite does not have.

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "types/collections.h"
#include "types/value.h"

namespace ferrite::rdb {

// The RDB version a payload carries (Redis 7.0: 10); RESTORE refuses newer ones.
inline constexpr uint16_t kDumpRdbVersion = 10;

struct DumpOptions {
  bool compress = true;                 // rdbcompression: LZF for strings longer than 20 bytes
  int64_t list_max_listpack_size = -2;  // quicklist node limit (Redis's "fill")
};

// The payload of v (a string or a collection in RAM; a tiered string is read through its
// resolver). Never fails for a valid value.
std::string CreateDumpPayload(const Value& v, const DumpOptions& options = {});

// The RDB type byte and value of v, without version and checksum (MIGRATE and DUMP add
// them; a future RDB writer could write these bytes per key).
void EncodeRdbValue(const Value& v, const DumpOptions& options, std::string* out);

// Checks the length (>= 10), the version (<= 10) and the CRC-64 of a payload; *version
// gets the version found when the payload is long enough. false: Redis's "DUMP payload
// version or checksum are wrong".
bool VerifyDumpPayload(std::string_view payload, uint16_t* version = nullptr);

// Builds the value of a verified payload, with the encoding the limits ask for.
// Corruption (Redis's "Bad data format") for anything that is not one whole valid value:
// truncated or malformed bytes, an empty collection, duplicate members or fields, a NaN
// score, a damaged stream, a module type. Allocates at most a constant times the payload's size.
Result<Value> DecodeDumpPayload(std::string_view payload, const CollectionLimits& limits);

}  // namespace ferrite::rdb
