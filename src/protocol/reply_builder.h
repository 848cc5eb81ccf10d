#pragma once
// Writes RESP2 or RESP3 replies into an output buffer. Commands speak in RESP3 terms (map,
// set, double, null, push); in RESP2 mode they are lowered as Redis lowers them.

#include <cstdint>
#include <string>
#include <string_view>

namespace ferrite {

class ReplyBuilder {
 public:
  explicit ReplyBuilder(std::string* out) : out_(out) {}

  void set_resp3(bool v) { resp3_ = v; }
  bool resp3() const { return resp3_; }
  std::string* buffer() { return out_; }
  void set_buffer(std::string* out) { out_ = out; }

  void SimpleString(std::string_view s);  // +s
  void Ok() { out_->append("+OK\r\n", 5); }
  void Error(std::string_view msg);  // -msg (msg starts with its code, e.g. "ERR ...")
  // An error already counted in the error statistics when it was first written (a script
  // returning a command's error): counted as a failed call, not as another error reply.
  void ErrorUncounted(std::string_view msg);
  void Integer(int64_t v);             // :v
  void Bulk(std::string_view s);       // $n s
  void Null();                         // $-1 / _
  void NullArray();                    // *-1 / _
  void ArrayHeader(size_t n);          // *n
  void MapHeader(size_t n);            // %n / *2n
  void SetHeader(size_t n);            // ~n / *n
  void PushHeader(size_t n);           // >n / *n
  void Double(double v);               // ,v / bulk
  void DoubleHuman(long double v);     // INCRBYFLOAT-style bulk (and RESP3 too)
  void Bool(bool v);                   // #t / :1
  void BigNumber(std::string_view s);  // (s / bulk
  void Verbatim(std::string_view s, std::string_view fmt = "txt");  // =n txt:s / bulk
  void EmptyArray() { out_->append("*0\r\n", 4); }

  // Counts errors for INFO errorstats; set by the owner.
  uint64_t errors_written() const { return errors_; }
  std::string_view last_error() const { return last_error_; }
  bool last_error_counted() const { return last_error_counted_; }

 private:
  void Header(char c, size_t n);
  std::string* out_;
  bool resp3_ = false;
  uint64_t errors_ = 0;
  std::string last_error_;
  bool last_error_counted_ = true;
};

}  // namespace ferrite
