#pragma once
// The checkpoint file format, version 6. See docs/formats.md.
//
//   file   = magic "FERRCKPT" (8 bytes) , u32 version , block* , footer-block
//   block  = u8 type , u32 length , payload[length] , u64 checksum
//            checksum = XXH3-64 of type, length and payload
//   types  = 0x01 header:  u64 created_ms , u64 aof_offset , u32 databases , u32 flags
//            0x02 entries: record* ; record = varint db , u8 value-type , u8 has-expire ,
//                          [u64 expire_ms] , varint key-len , key , varint value-len , value
//            0x03 entries, lz4: u32 raw length , lz4 block of an 0x02 payload      (v2)
//            0x04 value chunk: u8 flags (bit 0 = last) , bytes                    (v4)
//            0x05 value chunk, lz4: u8 flags , u32 raw length , lz4 block of bytes (v4)
//            0x7F footer:  u64 key-count , u64 file-checksum (XXH3-64 of every byte before
//                          the footer block)
//            0x80-0xFE optional records: a reader that does not know one skips it
//            0x80 AOF link: u64 aof_id
//            0x81 replication position: u8 id-len (40) , replication ID , u64 offset ,
//                 u32 stream db (an optional block: files with it stay version 6)
//   value-type bit 0x40: the value is a tier reference (segment, offset, length)      (v3)
//   value-type 6: a stream (types/stream.h, EncodeStream)                          (v5)
//   value-type bit 0x20: a streamed (large) value: the record has no value-len/value and
//            is the last record of its entries block; its value is the concatenation of
//            the value-chunk blocks that follow, up to the one flagged last           (v4)
//   value-type 0x1F: a function library (v6): db 0, no expiry, key = the library's name,
//            value = its source code with the `#!lua name=...` line; the footer's key count
//            counts these records too
//   integers little-endian; varint = LEB128.
//
// Readers never trust a length before checking it against what is left of the file, and
// report damage as "<path>: <what> at offset <n>".

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "base/task_runner.h"
#include "io/file_system.h"

namespace ferrite::ckpt {

inline constexpr char kMagic[8] = {'F', 'E', 'R', 'R', 'C', 'K', 'P', 'T'};
// Version 2 adds lz4-compressed entries blocks (0x03); a version-1 file is read as before.
// Version 3 adds tier references: a record whose type has bit 0x40 set holds
// (segment, offset, length) of its value in a tier segment file instead of the value.
// Version 4 adds streamed values: a value larger than a block is written as value-chunk
// blocks of about kBlockTarget bytes each, so neither the loop nor the writer ever holds a
// copy of a whole large value.
// Version 5 adds the stream value type (6); its value is the stream form of types/stream.h.
// Older files load unchanged (they hold no type 6).
// Version 6 adds function library records (value-type kFunctionLibrary), written right
// after the header: a version-5 reader refuses the file rather than lose the libraries.
// This build reads every version from 1 to kVersion.
inline constexpr uint32_t kVersion = 6;
inline constexpr uint8_t kFunctionLibrary = 0x1F;
inline constexpr uint8_t kTierRefFlag = 0x40;
inline constexpr uint8_t kChunkedFlag = 0x20;
enum BlockType : uint8_t {
  kHeader = 0x01,
  kEntries = 0x02,
  kEntriesLz4 = 0x03,     // u32 raw length, then the lz4 block of an entries payload
  kValueChunk = 0x04,     // u8 flags, bytes of a streamed value
  kValueChunkLz4 = 0x05,  // u8 flags, u32 raw length, lz4 block of those bytes
  kFooter = 0x7F,
  kAofLink = 0x80,
  kReplInfo = 0x81,
};
inline constexpr uint8_t kChunkLast = 0x01;        // value-chunk flags: the value's last chunk
inline constexpr size_t kBlockTarget = 64 * 1024;  // entries per block: about this many bytes
// Values longer than this are streamed (BeginValue/AppendValue/EndValue).
inline constexpr size_t kLargeValue = kBlockTarget;

struct Header {
  int64_t created_ms = 0;
  uint64_t aof_offset = 0;
  uint32_t databases = 16;
  uint32_t flags = 0;
  // The AOF this checkpoint continues (its #ID line), 0 = none. Written as the optional
  // block 0x80 right after the header; with aof_offset it lets recovery replay only the
  // AOF's tail after loading the checkpoint.
  uint64_t aof_id = 0;
  // The replication position the image holds (Redis's RDB aux fields repl-id, repl-offset,
  // repl-stream-db): the replication ID, the offset of the last stream byte the data
  // includes, and the database the stream had selected there. Empty id: none (block 0x81
  // is not written). A restarted replica continues from it with PSYNC; a restarted primary
  // keeps it as its previous ID (replid2) so its replicas can.
  std::string repl_id;
  uint64_t repl_offset = 0;
  uint32_t repl_db = 0;
};

// One key as stored. Views are valid during the visitor call only.
struct Record {
  uint32_t db;
  uint8_t type;       // ValueType
  int64_t expire_ms;  // 0 = none
  std::string_view key;
  std::string_view value;
};

// Streams blocks into a WritableFile. Not thread-safe; the owner appends in order.
// A WritableFile that appends to another one it does not own, and leaves syncing and
// closing to that owner: lets a Writer emit a checkpoint into the middle of a file.
std::unique_ptr<WritableFile> Borrow(WritableFile* target);

struct WriterOptions {
  bool lz4 = false;       // compress entries blocks (kept raw when lz4 does not shrink them)
  bool threaded = false;  // compress + checksum + write as jobs of a task runner, at most
                          // queue_blocks full blocks waiting (the caller only encodes records)
  // The runner for threaded writing; it must have one thread (blocks are written in
  // order). Null: the writer makes its own.
  TaskRunner* runner = nullptr;
  size_t queue_blocks = 16;  // queue bound: at most this many blocks (~64 KB each) waiting
};

// Streams blocks into a WritableFile. Add() is for one thread (the owner); with
// options.threaded the blocks are written by jobs on the runner's thread, and Add() waits
// only when queue_blocks of them are waiting. Finish() may run on another thread once
// Add() calls are over (also as a job of the same runner: the blocks are written before).
class Writer {
 public:
  explicit Writer(std::unique_ptr<WritableFile> out, WriterOptions options = {});
  ~Writer();
  Status Begin(const Header& h);
  Status Add(const Record& r);
  // A record whose value is streamed in pieces (a large value): BeginValue writes the
  // record's head (head.value is ignored) and ends its entries block; AppendValue adds
  // bytes of the value, cut into value-chunk blocks of kBlockTarget bytes; EndValue writes
  // the last chunk. The writer holds at most one chunk of the value (plus the queue), so
  // a multi-MB value is never copied whole. No Add() between BeginValue and EndValue.
  Status BeginValue(const Record& head);
  Status AppendValue(std::string_view bytes);
  Status EndValue();
  // Writes the last entries block and the footer, fsyncs and closes the file.
  Status Finish();
  uint64_t keys() const { return keys_; }
  uint64_t bytes() const { return out_ ? out_->Size() : 0; }

 private:
  struct Queue;
  Status WriteBlock(uint8_t type, std::string_view payload);
  // Writes an entries payload (kEntries) or a value chunk (kValueChunk: flags byte, then
  // bytes), compressed if asked and if lz4 shrinks it.
  Status WriteData(uint8_t type, std::string_view raw);
  Status Submit(uint8_t type, std::string data);  // queue (threaded) or write
  Status SubmitChunk(bool last);
  void PutHead(const Record& r);
  // Waits until every block handed to the runner is written; their first error.
  Status DrainQueue();
  std::unique_ptr<WritableFile> out_;
  WriterOptions options_;
  std::string block_;
  std::string chunk_;      // the value chunk being filled: flags byte, then bytes
  bool in_value_ = false;  // between BeginValue and EndValue
  std::string lz4_buf_;
  uint64_t keys_ = 0;
  std::shared_ptr<void> file_hash_;  // XXH3 streaming state over every byte written
  std::unique_ptr<Queue> queue_;
};

struct ReadStats {
  uint32_t version = 0;  // the file's format version
  Header header;
  uint64_t keys = 0;
  uint64_t blocks = 0;
  uint64_t bytes = 0;
  uint64_t streamed = 0;  // values written as value chunks (version 4)
};

// Reads and verifies a checkpoint; calls fn for every record. A damaged, truncated or
// newer-version file is an error naming the path and offset; fn is not called for
// anything after the damage, but may have been called for earlier records.
Status Read(FileSystem* fs, const std::string& path, bool verify_checksums,
            const std::function<Status(const Record&)>& fn, ReadStats* stats);
// Reads a checkpoint at the start of a longer file (the AOF's checkpoint preamble): the
// same checks, but bytes may follow the footer; stats->bytes is where the footer ends.
Status ReadPrefix(FileSystem* fs, const std::string& path, bool verify_checksums,
                  const std::function<Status(const Record&)>& fn, ReadStats* stats);
// Reads the header (and AOF link) only: the blocks before the first entries block.
Status ReadHeader(FileSystem* fs, const std::string& path, Header* header);

}  // namespace ferrite::ckpt
