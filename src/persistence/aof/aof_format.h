#pragma once
// The append-only file format (version 2: version 1 plus the #CRC batch lines of
// aof_integrity.h). See docs/formats.md.
//
// The file is a sequence of records, each one of:
//
//   command:     RESP multibulk   "*<argc>\r\n" ( "$<len>\r\n" <bytes> "\r\n" ){argc}
//   annotation:  "#" <text> "\r\n"          ignored by replay; "#TS:<unix seconds>" marks time
//
// A checkpoint preamble (aof_use_checkpoint_preamble) may precede the records: the file then
// starts with the checkpoint magic and the RESP records begin after the checkpoint's end.
// Commands are the *effects* of writes (PEXPIREAT, not EXPIRE; SET, not INCRBYFLOAT);
// "SELECT <db>" appears whenever the database changes; MULTI ... EXEC wrap transactions.
//
// Reading: AofReader walks the records and reports, for a bad file, the byte offset and
// 1-based line (as `grep -n` counts) of the first record that is incomplete (a torn tail:
// safe to truncate) or malformed (damage: not safe to skip).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/resp_parser.h"

namespace ferrite::aof {

inline constexpr std::string_view kTimestampPrefix = "#TS:";

// Appends one command in RESP to out.
void AppendCommand(std::string* out, const std::vector<std::string>& argv);
void AppendCommand(std::string* out, std::initializer_list<std::string_view> argv);
// Views: a command's own arguments, or a vector of views.
void AppendCommand(std::string* out, std::span<const std::string_view> argv);
void AppendTimestamp(std::string* out, int64_t unix_secs);

struct AofRecord {
  enum Kind { kCommand, kAnnotation } kind;
  uint64_t offset;                     // byte offset of the record's first byte
  uint64_t line;                       // 1-based line of the record's first byte
  std::vector<std::string_view> args;  // kCommand: valid until the next Next()
  std::string_view annotation;         // kAnnotation: text after '#', no CRLF
  int64_t timestamp = -1;              // kAnnotation "#TS:<n>": n
  std::string_view raw;                // the record's bytes, valid until the next Next()
};

// Incremental reader over bytes fed in pieces (a file read in chunks).
class AofReader {
 public:
  enum class Result { kRecord, kNeedMore, kError };

  explicit AofReader(uint64_t start_offset = 0, uint64_t start_line = 1);
  // Appends bytes read from the file.
  void Feed(std::string_view bytes);
  // Next record. At end of file, call Finish() to learn whether the tail was whole.
  Result Next(AofRecord* rec);
  // After the last Feed: true if no partial record remains.
  bool AtCleanEnd() const { return buf_.size() == pos_; }
  // Position of the first byte not yet returned as a whole record (the truncation point
  // for a torn tail), and its line.
  uint64_t offset() const { return base_offset_ + pos_; }
  uint64_t line() const { return line_; }
  const std::string& error() const { return error_; }
  uint64_t error_offset() const { return error_offset_; }
  uint64_t error_line() const { return error_line_; }
  uint64_t commands() const { return commands_; }

 private:
  void Compact();
  std::string buf_;
  size_t pos_ = 0;
  uint64_t base_offset_;
  uint64_t line_;
  RespParser parser_;
  std::string error_;
  uint64_t error_offset_ = 0, error_line_ = 0;
  uint64_t commands_ = 0;
};

}  // namespace ferrite::aof
