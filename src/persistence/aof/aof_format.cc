#include "persistence/aof/aof_format.h"

#include <algorithm>
#include <cstring>

#include "base/strutil.h"

namespace ferrite::aof {
namespace {

void AppendHeader(std::string* out, char c, size_t n) {
  char buf[32];
  buf[0] = c;
  size_t len = 1 + FormatInt64To(int64_t(n), buf + 1);
  buf[len++] = '\r';
  buf[len++] = '\n';
  out->append(buf, len);
}

template <typename It>
void AppendRange(std::string* out, It begin, It end, size_t n) {
  AppendHeader(out, '*', n);
  for (It it = begin; it != end; ++it) {
    std::string_view a = *it;
    AppendHeader(out, '$', a.size());
    out->append(a);
    out->append("\r\n", 2);
  }
}

}  // namespace

void AppendCommand(std::string* out, const std::vector<std::string>& argv) {
  AppendRange(out, argv.begin(), argv.end(), argv.size());
}

void AppendCommand(std::string* out, std::initializer_list<std::string_view> argv) {
  AppendRange(out, argv.begin(), argv.end(), argv.size());
}

void AppendCommand(std::string* out, std::span<const std::string_view> argv) {
  AppendRange(out, argv.begin(), argv.end(), argv.size());
}

void AppendTimestamp(std::string* out, int64_t unix_secs) {
  out->append(kTimestampPrefix);
  out->append(FormatInt64(unix_secs));
  out->append("\r\n", 2);
}

AofReader::AofReader(uint64_t start_offset, uint64_t start_line)
    : base_offset_(start_offset),
      line_(start_line),
      // An AOF may hold any value the server accepted: no smaller limits than the server's.
      parser_(RespLimits{size_t(1) << 40, 64 * 1024, int64_t(1) << 32}) {}

void AofReader::Compact() {
  if (pos_ > 0 && pos_ >= buf_.size() / 2) {
    buf_.erase(0, pos_);
    base_offset_ += pos_;
    pos_ = 0;
  }
}

void AofReader::Feed(std::string_view bytes) {
  Compact();
  buf_.append(bytes);
}

AofReader::Result AofReader::Next(AofRecord* rec) {
  if (!error_.empty()) return Result::kError;
  if (pos_ >= buf_.size()) return Result::kNeedMore;
  const char* p = buf_.data() + pos_;
  size_t avail = buf_.size() - pos_;
  rec->offset = offset();
  rec->line = line_;
  auto fail = [&](std::string msg) {
    error_ = std::move(msg);
    error_offset_ = offset();
    error_line_ = line_;
    return Result::kError;
  };
  if (p[0] == '#') {
    const void* nl = memchr(p, '\n', avail);
    if (!nl) {
      if (avail > 64 * 1024) return fail("annotation line longer than 64 KB");
      return Result::kNeedMore;
    }
    size_t len = size_t(static_cast<const char*>(nl) - p);
    std::string_view text(p + 1, len - 1);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    rec->kind = AofRecord::kAnnotation;
    rec->raw = std::string_view(p, len + 1);
    rec->annotation = text;
    rec->timestamp = -1;
    rec->args.clear();
    if (text.substr(0, 3) == "TS:") {
      int64_t ts;
      if (!ParseInt64(text.substr(3), &ts)) return fail("malformed timestamp annotation");
      rec->timestamp = ts;
    }
    pos_ += len + 1;
    line_++;
    return Result::kRecord;
  }
  if (p[0] != '*') {
    return fail(std::string("expected '*' or '#' at the start of a record, got '") +
                (isprint(static_cast<unsigned char>(p[0]))
                     ? std::string(1, p[0])
                     : "\\x" + std::to_string(uint8_t(p[0]))) +
                "'");
  }
  auto r = parser_.Parse(p, avail);
  if (r == RespParser::Result::kIncomplete) return Result::kNeedMore;
  if (r == RespParser::Result::kError) return fail(parser_.error());
  size_t used = parser_.consumed();
  if (parser_.args().empty()) return fail("empty command");
  rec->kind = AofRecord::kCommand;
  rec->raw = std::string_view(p, used);
  rec->args.assign(parser_.args().begin(), parser_.args().end());
  line_ += uint64_t(std::count(p, p + used, '\n'));
  pos_ += used;
  commands_++;
  return Result::kRecord;
}

}  // namespace ferrite::aof
