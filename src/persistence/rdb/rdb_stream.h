#pragma once
// Streams in Redis's RDB value encoding (rdb.c, rdbSaveObject / rdbLoadObject):
//
//   stream  = len node-count , ( string master-id (16 bytes) , string listpack )* ,
//             len length , len last.ms , len last.seq ,
//             [ len first.ms , len first.seq , len max-deleted.ms , len max-deleted.seq ,
//               len entries-added ]                                   (types 19 and 21)
//             len group-count , group*
//   group   = string name , len last.ms , len last.seq , [ len entries-read ] (19, 21) ,
//             len pel-count , ( id (16 raw bytes) , u64le delivery-ms , len count )* ,
//             len consumer-count , consumer*
//   consumer= string name , u64le seen-ms , [ u64le active-ms ] (21) ,
//             len pel-count , id (16 raw bytes)*
//
// Types: 15 = STREAM_LISTPACKS (Redis 5-6.2), 19 = STREAM_LISTPACKS_2 (7.0, what Ferrite
// writes), 21 = STREAM_LISTPACKS_3 (7.2; its consumers' active-time is read and dropped).
// The nodes are Ferrite's own node format (types/stream.h), so they are written and read
// as they are, each one checked entry by entry before it is taken.

#include <string>

#include "base/status.h"
#include "persistence/rdb/rdb_codec.h"
#include "types/stream.h"

namespace ferrite::rdb {

// The RDB type byte (19) and the value. compress: LZF for the node listpacks, as Redis
// with rdbcompression yes.
void EncodeRdbStream(const StreamObject& s, bool compress, std::string* out);

inline bool IsStreamType(uint8_t t) {
  return t == kTStreamListpacks || t == kTStreamListpacks2 || t == kTStreamListpacks3;
}

// Reads a stream of RDB type `type` (after its type byte). Corruption for anything that is
// not one valid stream (damaged nodes, counts that do not match, a pending entry nobody or
// two consumers own, duplicates).
Result<Value> ReadRdbStream(ValueDecoder& d, uint8_t type);

}  // namespace ferrite::rdb
