#pragma once
// CRC-64/Jones as Redis computes it (src/crc64.c): reflected polynomial 0xad93d23594c935a9,
// initial value 0 passed by the caller, no final xor. Used by Redis's RDB files (the
// checksum after the EOF opcode) and DUMP payloads (the last 8 bytes), both stored little
// endian. Check value: Crc64(0, "123456789", 9) == 0xe9c6d914c4b8d9ca.
//
// Incremental: Crc64(Crc64(0, a), b) == Crc64(0, a + b). Thread-safe (the tables are built
// once, on first use).

#include <cstddef>
#include <cstdint>

namespace ferrite {

uint64_t Crc64(uint64_t crc, const void* data, size_t n);

}  // namespace ferrite
