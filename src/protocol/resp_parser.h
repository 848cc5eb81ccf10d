#pragma once
// Incremental RESP request parser (multibulk and inline), with Redis's limits and error
// texts. No dependency on the rest of the server.
//
// Use: feed it the unconsumed bytes of a connection's input buffer; it returns one whole
// command at a time. A partially received command keeps its progress in the parser, so a
// 512 MB argument arriving in 16 KB reads is scanned once, not once per read.
// Argument views point into the caller's buffer: valid until the caller drops the bytes
// the parser reported as consumed.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ferrite {

struct RespLimits {
  size_t max_bulk_len = 512ull * 1024 * 1024;  // proto-max-bulk-len
  size_t max_inline_len = 64 * 1024;           // PROTO_INLINE_MAX_SIZE
  int64_t max_multibulk_len = 1024 * 1024;     // INT_MAX for authenticated clients in Redis
};

class RespParser {
 public:
  enum class Result { kCommand, kIncomplete, kError };

  explicit RespParser(RespLimits limits = {}) : limits_(limits) {}

  // Parses from data[0..len). On kCommand, args() holds the command and consumed() the
  // bytes it took (from data[0]). On kIncomplete, consumed() is 0 and the caller must call
  // again with the same bytes plus more. On kError, error() is the protocol error text
  // ("Protocol error: ...") and the connection should be closed after replying.
  // An empty inline line yields kCommand with no args (the caller skips it).
  Result Parse(const char* data, size_t len);

  const std::vector<std::string_view>& args() const { return args_; }
  size_t consumed() const { return consumed_; }
  const std::string& error() const { return error_; }
  // Bytes a partially parsed command says it still needs, when known (for read sizing).
  size_t pending_bulk_len() const { return state_ == State::kBulkBody ? size_t(bulk_len_) : 0; }
  void Reset();

 private:
  enum class State { kStart, kArgCount, kBulkLen, kBulkBody };
  Result ParseInline(const char* data, size_t len);
  Result Fail(std::string msg);

  RespLimits limits_;
  State state_ = State::kStart;
  size_t pos_ = 0;                                // parse position within the current command
  int64_t argc_ = 0;                              // expected args of the multibulk
  int64_t bulk_len_ = 0;                          // length of the bulk being read
  std::vector<std::pair<size_t, size_t>> spans_;  // (offset, len) of args parsed so far
  std::vector<std::string_view> args_;
  std::vector<std::string> inline_store_;  // unescaped inline args
  size_t consumed_ = 0;
  std::string error_;
};

// A quick look ahead at one whole multibulk command in data[0..len) without parsing it
// for execution: on true, *size is its length in bytes and *second its second argument
// (empty if it has fewer than two), a view into data. False for anything else — an
// incomplete or malformed command, an inline one, one of more than kPeekMaxArgs
// arguments — which the real parser then handles. The work is bounded by kPeekMaxArgs
// header lines (bulk bodies are skipped, not scanned). Used to prefetch the keys of a
// pipelined batch before executing it.
constexpr int64_t kPeekMaxArgs = 16;
bool PeekCommand(const char* data, size_t len, std::string_view* second, size_t* size);

// Splits a line like redis-cli / sdssplitargs: spaces separate, "double" quotes with
// \n \r \t \b \a \\ \" \xHH escapes, 'single' quotes with \' only. Returns false on
// unbalanced quotes.
bool SplitArgs(std::string_view line, std::vector<std::string>* out);

}  // namespace ferrite
