#include "protocol/resp_parser.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace ferrite {
namespace {

// Finds "\r\n" starting at from; returns npos if absent. Inline requests may end in "\n".
size_t FindCrlf(const char* data, size_t len, size_t from) {
  if (from >= len) return std::string_view::npos;
  const void* p = memchr(data + from, '\r', len - from);
  while (p) {
    size_t i = static_cast<const char*>(p) - data;
    if (i + 1 >= len) return std::string_view::npos;
    if (data[i + 1] == '\n') return i;
    p = memchr(data + i + 1, '\r', len - i - 1);
  }
  return std::string_view::npos;
}

// Parses a decimal length like Redis's string2ll on the header line.
bool ParseLen(const char* p, size_t n, int64_t* out) {
  if (n == 0 || n > 20) return false;
  bool neg = false;
  size_t i = 0;
  if (p[0] == '-') {
    neg = true;
    i = 1;
    if (n == 1) return false;
  }
  int64_t v = 0;
  for (; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return false;
    if (v > (INT64_MAX - (p[i] - '0')) / 10) return false;
    v = v * 10 + (p[i] - '0');
  }
  *out = neg ? -v : v;
  return true;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool PeekCommand(const char* data, size_t len, std::string_view* second, size_t* size) {
  // "*<n>\r\n" then n times "$<len>\r\n<bytes>\r\n"; headers are short.
  auto header = [&](size_t at, char sigil, int64_t* v, size_t* next) {
    if (at >= len || data[at] != sigil) return false;
    size_t end = FindCrlf(data, std::min(len, at + 24), at + 1);
    if (end == std::string_view::npos || !ParseLen(data + at + 1, end - at - 1, v) || *v < 0) {
      return false;
    }
    *next = end + 2;
    return true;
  };
  int64_t argc = 0;
  size_t pos = 0;
  // Bounded work: a look-ahead is only worth it for the short commands of a pipeline.
  if (!header(0, '*', &argc, &pos) || argc > kPeekMaxArgs) return false;
  *second = {};
  for (int64_t i = 0; i < argc; i++) {
    int64_t n = 0;
    if (!header(pos, '$', &n, &pos)) return false;
    if (uint64_t(n) > len - pos || len - pos - size_t(n) < 2) return false;
    if (data[pos + size_t(n)] != '\r' || data[pos + size_t(n) + 1] != '\n') return false;
    if (i == 1) *second = std::string_view(data + pos, size_t(n));
    pos += size_t(n) + 2;
  }
  *size = pos;
  return true;
}

void RespParser::Reset() {
  state_ = State::kStart;
  pos_ = 0;
  argc_ = 0;
  bulk_len_ = 0;
  spans_.clear();
}

RespParser::Result RespParser::Fail(std::string msg) {
  error_ = std::move(msg);
  Reset();
  return Result::kError;
}

RespParser::Result RespParser::Parse(const char* data, size_t len) {
  consumed_ = 0;
  args_.clear();
  // One command with many arguments must not leave its argument arrays allocated for
  // the rest of the connection (as Redis frees a large argv): drop them between commands.
  if (state_ == State::kStart && args_.capacity() > 1024) {
    std::vector<std::string_view>().swap(args_);
    decltype(spans_)().swap(spans_);
  }
  if (state_ == State::kStart) {
    if (len == 0) return Result::kIncomplete;
    if (data[0] != '*') return ParseInline(data, len);
    state_ = State::kArgCount;
    pos_ = 0;
  }
  while (true) {
    switch (state_) {
      case State::kStart:
        return Fail("Protocol error: internal parser state");
      case State::kArgCount: {
        size_t nl = FindCrlf(data, len, pos_);
        if (nl == std::string_view::npos) {
          if (len - pos_ > limits_.max_inline_len)
            return Fail("Protocol error: too big mbulk count string");
          return Result::kIncomplete;
        }
        int64_t n;
        if (!ParseLen(data + pos_ + 1, nl - pos_ - 1, &n) || n > limits_.max_multibulk_len)
          return Fail("Protocol error: invalid multibulk length");
        pos_ = nl + 2;
        argc_ = n;
        spans_.clear();
        if (n <= 0) {  // "*0" / "*-1": an empty command, skipped by the caller
          consumed_ = pos_;
          Reset();
          return Result::kCommand;
        }
        spans_.reserve(size_t(std::min<int64_t>(n, 1024)));
        state_ = State::kBulkLen;
        break;
      }
      case State::kBulkLen: {
        size_t nl = FindCrlf(data, len, pos_);
        if (nl == std::string_view::npos) {
          if (len - pos_ > limits_.max_inline_len)
            return Fail("Protocol error: too big bulk count string");
          if (pos_ < len && data[pos_] != '$') {
            return Fail(std::string("Protocol error: expected '$', got '") + data[pos_] + "'");
          }
          return Result::kIncomplete;
        }
        if (data[pos_] != '$')
          return Fail(std::string("Protocol error: expected '$', got '") + data[pos_] + "'");
        int64_t n;
        if (!ParseLen(data + pos_ + 1, nl - pos_ - 1, &n) || n < 0 ||
            uint64_t(n) > limits_.max_bulk_len)
          return Fail("Protocol error: invalid bulk length");
        bulk_len_ = n;
        pos_ = nl + 2;
        state_ = State::kBulkBody;
        break;
      }
      case State::kBulkBody: {
        if (len < pos_ + size_t(bulk_len_) + 2) return Result::kIncomplete;
        if (data[pos_ + size_t(bulk_len_)] != '\r' || data[pos_ + size_t(bulk_len_) + 1] != '\n')
          return Fail("Protocol error: invalid bulk length");
        spans_.emplace_back(pos_, size_t(bulk_len_));
        pos_ += size_t(bulk_len_) + 2;
        if (int64_t(spans_.size()) == argc_) {
          args_.reserve(spans_.size());
          for (auto& [off, n] : spans_) args_.emplace_back(data + off, n);
          consumed_ = pos_;
          Reset();
          return Result::kCommand;
        }
        state_ = State::kBulkLen;
        break;
      }
    }
  }
}

RespParser::Result RespParser::ParseInline(const char* data, size_t len) {
  const void* nlp = memchr(data, '\n', len);
  if (!nlp) {
    if (len > limits_.max_inline_len) return Fail("Protocol error: too big inline request");
    return Result::kIncomplete;
  }
  size_t nl = static_cast<const char*>(nlp) - data;
  if (nl > limits_.max_inline_len) return Fail("Protocol error: too big inline request");
  size_t end = nl;
  if (end > 0 && data[end - 1] == '\r') end--;
  inline_store_.clear();
  if (!SplitArgs(std::string_view(data, end), &inline_store_))
    return Fail("Protocol error: unbalanced quotes in request");
  for (auto& a : inline_store_) args_.emplace_back(a);
  consumed_ = nl + 1;
  return Result::kCommand;
}

bool SplitArgs(std::string_view line, std::vector<std::string>* out) {
  size_t i = 0, n = line.size();
  while (true) {
    while (i < n && isspace(static_cast<unsigned char>(line[i]))) i++;
    if (i >= n) return true;
    bool inq = false, insq = false, done = false;
    std::string cur;
    while (!done) {
      if (inq) {
        if (i >= n) return false;
        if (line[i] == '\\' && i + 3 < n && line[i + 1] == 'x' && HexDigit(line[i + 2]) >= 0 &&
            HexDigit(line[i + 3]) >= 0) {
          cur.push_back(char(HexDigit(line[i + 2]) * 16 + HexDigit(line[i + 3])));
          i += 3;
        } else if (line[i] == '\\' && i + 1 < n) {
          i++;
          char c;
          switch (line[i]) {
            case 'n':
              c = '\n';
              break;
            case 'r':
              c = '\r';
              break;
            case 't':
              c = '\t';
              break;
            case 'b':
              c = '\b';
              break;
            case 'a':
              c = '\a';
              break;
            default:
              c = line[i];
              break;
          }
          cur.push_back(c);
        } else if (line[i] == '"') {
          if (i + 1 < n && !isspace(static_cast<unsigned char>(line[i + 1]))) return false;
          done = true;
        } else {
          cur.push_back(line[i]);
        }
      } else if (insq) {
        if (i >= n) return false;
        if (line[i] == '\\' && i + 1 < n && line[i + 1] == '\'') {
          i++;
          cur.push_back('\'');
        } else if (line[i] == '\'') {
          if (i + 1 < n && !isspace(static_cast<unsigned char>(line[i + 1]))) return false;
          done = true;
        } else {
          cur.push_back(line[i]);
        }
      } else {
        if (i >= n) {
          done = true;
          break;
        }
        switch (line[i]) {
          case ' ':
          case '\n':
          case '\r':
          case '\t':
          case '\0':
            done = true;
            break;
          case '"':
            inq = true;
            break;
          case '\'':
            insq = true;
            break;
          default:
            cur.push_back(line[i]);
            break;
        }
      }
      if (i < n) i++;
    }
    out->push_back(std::move(cur));
  }
}

}  // namespace ferrite
