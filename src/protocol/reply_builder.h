#pragma once
// Writes RESP2 or RESP3 replies into an output buffer. Commands speak in RESP3 terms (map,
// set, double, null, push); in RESP2 mode they are lowered as Redis lowers them.
//
// Output limit: the owner may cap the buffer's size (set_limit). Once the buffer holds more
// than that, the builder appends nothing more and aborted() turns true: the client has
// passed its output-buffer limit and will be closed without the rest of its replies (Redis's
// CLIENT_CLOSE_ASAP). A producer whose reply length a client chooses (SRANDMEMBER with a
// negative count…) tests aborted() in its loop and stops, so such a reply can neither grow
// the server's memory past the limit nor keep the loop busy building output nobody gets.

#include <cstdint>
#include <limits>
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

  // The buffer may grow up to max_size bytes (plus the one append that crosses it).
  void set_limit(size_t max_size) { limit_ = max_size; }
  size_t limit() const { return limit_; }
  // True once the limit was crossed: further replies are dropped.
  bool aborted() const { return aborted_; }

  void SimpleString(std::string_view s);  // +s
  void Ok() {
    if (Room()) out_->append("+OK\r\n", 5);
  }
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
  void EmptyArray() {
    if (Room()) out_->append("*0\r\n", 4);
  }

  // Counts errors for INFO errorstats; set by the owner.
  uint64_t errors_written() const { return errors_; }
  std::string_view last_error() const { return last_error_; }
  bool last_error_counted() const { return last_error_counted_; }

 private:
  bool Room() {
    if (out_->size() <= limit_) return true;
    aborted_ = true;
    return false;
  }
  void Header(char c, size_t n);
  std::string* out_;
  bool resp3_ = false;
  bool aborted_ = false;
  size_t limit_ = std::numeric_limits<size_t>::max();
  uint64_t errors_ = 0;
  std::string last_error_;
  bool last_error_counted_ = true;
};

}  // namespace ferrite
