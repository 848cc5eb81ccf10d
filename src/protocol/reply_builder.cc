#include "protocol/reply_builder.h"

#include <cmath>
#include <cstdio>

#include "base/strutil.h"

namespace ferrite {

void ReplyBuilder::Header(char c, size_t n) {
  char buf[32];
  buf[0] = c;
  size_t len = 1 + FormatInt64To(int64_t(n), buf + 1);
  buf[len++] = '\r';
  buf[len++] = '\n';
  out_->append(buf, len);
}

void ReplyBuilder::SimpleString(std::string_view s) {
  out_->push_back('+');
  out_->append(s);
  out_->append("\r\n", 2);
}

void ReplyBuilder::ErrorUncounted(std::string_view msg) {
  Error(msg);
  last_error_counted_ = false;
}

void ReplyBuilder::Error(std::string_view msg) {
  errors_++;
  last_error_counted_ = true;
  last_error_.assign(msg);
  out_->push_back('-');
  // Error text must be one line: newlines are replaced, as Redis does.
  for (char c : msg) out_->push_back(c == '\r' || c == '\n' ? ' ' : c);
  out_->append("\r\n", 2);
}

void ReplyBuilder::Integer(int64_t v) {
  char buf[32];
  buf[0] = ':';
  size_t len = 1 + FormatInt64To(v, buf + 1);
  buf[len++] = '\r';
  buf[len++] = '\n';
  out_->append(buf, len);
}

void ReplyBuilder::Bulk(std::string_view s) {
  Header('$', s.size());
  out_->append(s);
  out_->append("\r\n", 2);
}

void ReplyBuilder::Null() {
  if (resp3_)
    out_->append("_\r\n", 3);
  else
    out_->append("$-1\r\n", 5);
}

void ReplyBuilder::NullArray() {
  if (resp3_)
    out_->append("_\r\n", 3);
  else
    out_->append("*-1\r\n", 5);
}

void ReplyBuilder::ArrayHeader(size_t n) { Header('*', n); }
void ReplyBuilder::MapHeader(size_t n) { resp3_ ? Header('%', n) : Header('*', n * 2); }
void ReplyBuilder::SetHeader(size_t n) { Header(resp3_ ? '~' : '*', n); }
void ReplyBuilder::PushHeader(size_t n) { Header(resp3_ ? '>' : '*', n); }

void ReplyBuilder::Double(double v) {
  std::string s = FormatDouble(v);
  if (resp3_) {
    out_->push_back(',');
    out_->append(s);
    out_->append("\r\n", 2);
  } else {
    Bulk(s);
  }
}

void ReplyBuilder::DoubleHuman(long double v) { Bulk(FormatLongDoubleHuman(v)); }

void ReplyBuilder::Bool(bool v) {
  if (resp3_)
    out_->append(v ? "#t\r\n" : "#f\r\n", 4);
  else
    out_->append(v ? ":1\r\n" : ":0\r\n", 4);
}

void ReplyBuilder::BigNumber(std::string_view s) {
  if (!resp3_) return Bulk(s);
  out_->push_back('(');
  out_->append(s);
  out_->append("\r\n", 2);
}

void ReplyBuilder::Verbatim(std::string_view s, std::string_view fmt) {
  if (!resp3_) return Bulk(s);
  Header('=', s.size() + 4);
  out_->append(fmt);
  out_->push_back(':');
  out_->append(s);
  out_->append("\r\n", 2);
}

}  // namespace ferrite
