// Writes golden checkpoint files with the checkpoint writer of an OLD Ferrite commit, so the
// files are what that release really wrote. Built and run by make_golden.sh, once per
// format version, against that commit's own src/ (checkpoint_format.cc, and for versions
// 5 and 6 its stream encoder). Not part of the normal build: the files it wrote are
// committed next to it, and checkpoint_golden_test reads them with today's reader.
//
// Contents (every value type the version supports; the test expects exactly this):
//   db 0  str = "hello"            int = "12345"        bin = "\0\xff\r\n binary"
//         ttl = "expiring", expires at 4102444800000 (2100-01-01)
//         list = a, b, c, "", dup, dup        set = x, y, z
//         zset = m2 -2, m1 1.5, m3 +inf        hash = f1 -> v1, f2 -> ""
//   db 3  other = "db3 value"
//   v2+   rep = 2000 x "abcd" (so lz4 shrinks the entries block), header aof_id 0x1122334455667788
//   v3+   tiered = a tier reference (string; segment 7, offset 40, length 100)
//   v4+   large = 70000 bytes "0123456789..." streamed in value chunks (lz4)
//   v5+   stream = 3 entries (1-1 a=1, 1-2 a=2 b=x, 2-0 c=3), group g (last 1-2, entries
//         read 2) with consumer alice owning 1-1 and 1-2 (delivery time 1700000000000,
//         counts 1 and 2), seen 1700000000123
//   v6    function library mylib (source below)

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include "persistence/checkpoint/checkpoint_format.h"
#if GOLDEN_VERSION >= 5
#include "types/stream.h"
#endif

using namespace ferrite;

namespace {

class StringFile final : public WritableFile {
 public:
  explicit StringFile(std::string* out) : out_(out) {}
  Status Append(std::string_view d) override {
    out_->append(d);
    return Status::Ok();
  }
  Status Flush() override { return Status::Ok(); }
  Status Sync() override { return Status::Ok(); }
  Status SyncData() override { return Status::Ok(); }
  Status Close() override { return Status::Ok(); }
  uint64_t Size() const override { return out_->size(); }
  Status Truncate(uint64_t n) override {
    out_->resize(n);
    return Status::Ok();
  }
  const std::string& path() const override { return path_; }

 private:
  std::string* out_;
  std::string path_ = "golden";
};

void Varint(std::string* s, uint64_t v) {
  while (v >= 0x80) {
    s->push_back(char(v | 0x80));
    v >>= 7;
  }
  s->push_back(char(v));
}
void Str(std::string* s, std::string_view v) {
  Varint(s, v.size());
  s->append(v);
}
void Dbl(std::string* s, double d) { s->append(reinterpret_cast<const char*>(&d), 8); }

void Check(const Status& st, const char* what) {
  if (!st.ok()) {
    fprintf(stderr, "%s: %s\n", what, st.ToString().c_str());
    exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  std::string bytes;
  ckpt::Writer w(std::make_unique<StringFile>(&bytes)
#if GOLDEN_VERSION >= 2
                     ,
                 ckpt::WriterOptions{.lz4 = true}
#endif
  );
  ckpt::Header h;
  h.created_ms = 1700000000000;
  h.aof_offset = 0;
  h.databases = 16;
#if GOLDEN_VERSION >= 2
  h.aof_id = 0x1122334455667788ULL;
#endif
  Check(w.Begin(h), "begin");
#if GOLDEN_VERSION >= 6
  std::string lib = "#!lua name=mylib\nredis.register_function('f', function() return 1 end)";
  Check(w.Add({0, ckpt::kFunctionLibrary, 0, "mylib", lib}), "library");
#endif
  auto add = [&](uint32_t db, uint8_t type, int64_t exp, std::string_view k, std::string_view v) {
    Check(w.Add({db, type, exp, k, v}), "add");
  };
  add(0, 1, 0, "str", "hello");
  add(0, 1, 0, "int", "12345");
  add(0, 1, 0, "bin", std::string_view("\0\xff\r\n binary", 11));
  add(0, 1, 4102444800000, "ttl", "expiring");
  std::string list, set, zset, hash;
  Varint(&list, 6);
  for (const char* e : {"a", "b", "c", "", "dup", "dup"}) Str(&list, e);
  add(0, 2, 0, "list", list);
  Varint(&set, 3);
  for (const char* e : {"x", "y", "z"}) Str(&set, e);
  add(0, 3, 0, "set", set);
  Varint(&zset, 3);
  Str(&zset, "m2");
  Dbl(&zset, -2);
  Str(&zset, "m1");
  Dbl(&zset, 1.5);
  Str(&zset, "m3");
  Dbl(&zset, INFINITY);
  add(0, 4, 0, "zset", zset);
  Varint(&hash, 2);
  for (const char* e : {"f1", "v1", "f2", ""}) Str(&hash, e);
  add(0, 5, 0, "hash", hash);
#if GOLDEN_VERSION >= 2
  std::string rep;
  for (int i = 0; i < 2000; i++) rep += "abcd";
  add(0, 1, 0, "rep", rep);
#endif
#if GOLDEN_VERSION >= 3
  std::string ref;
  for (uint32_t v : {7u, 40u, 100u}) ref.append(reinterpret_cast<const char*>(&v), 4);
  add(0, 1 | ckpt::kTierRefFlag, 0, "tiered", ref);
#endif
#if GOLDEN_VERSION >= 5
  {
    auto* s = new StreamObject();
    Value sv = Value::FromObject(s);
    auto append = [&](StreamID id, std::initializer_list<std::string_view> fv) {
      std::vector<std::string_view> v(fv);
      StreamID added;
      s->Append(v.data(), v.size() / 2, &id, true, 0, StreamLimits{}, &added);
    };
    append({1, 1}, {"a", "1"});
    append({1, 2}, {"a", "2", "b", "x"});
    append({2, 0}, {"c", "3"});
    StreamGroup* g = s->CreateGroup("g", StreamID{1, 2}, 2);
    StreamConsumer* c = g->CreateConsumer("alice", 1700000000123);
    uint64_t count = 1;
    for (StreamID id : {StreamID{1, 1}, StreamID{1, 2}}) {
#if GOLDEN_VERSION == 5  // the group's PEL held its entries by value then
      StreamNack* nack = &g->pel[id];
#else
      auto& slot = g->pel[id];
      slot = std::make_unique<StreamNack>();
      StreamNack* nack = slot.get();
#endif
      nack->delivery_time = 1700000000000;
      nack->delivery_count = count++;
      nack->consumer = c;
      c->pel[id] = nack;
    }
    std::string blob;
    EncodeStream(*s, &blob);
    add(0, 6, 0, "stream", blob);
  }
#endif
  add(3, 1, 0, "other", "db3 value");
#if GOLDEN_VERSION >= 4
  std::string large;
  while (large.size() < 70000) large += "0123456789";
  Check(w.BeginValue({0, 1, 0, "large", {}}), "begin value");
  for (size_t at = 0; at < large.size(); at += 30000)
    Check(w.AppendValue(std::string_view(large).substr(at, 30000)), "append value");
  Check(w.EndValue(), "end value");
#endif
  Check(w.Finish(), "finish");
  FILE* f = fopen(argv[1], "wb");
  if (!f || fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() || fclose(f) != 0) return 1;
  printf("%s: %zu bytes\n", argv[1], bytes.size());
  return 0;
}
