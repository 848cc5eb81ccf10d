// libFuzzer target for the checkpoint reader (persistence/checkpoint/checkpoint_format.h):
// the input is a checkpoint file, read whole (with and without checksum verification, so
// the fuzzer reaches past the XXH3 checks), as an AOF preamble (ReadPrefix) and for its
// header only. Every record's key and value is touched and its collection decoded as the
// loader does. Any crash, out-of-bounds access, or allocation the file cannot justify
// (-malloc_limit_mb) is a finding.

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "fuzz/fuzz_util.h"
#include "fuzz/mem_fs.h"
#include "persistence/checkpoint/checkpoint_format.h"
#include "types/serialize.h"

using namespace ferrite;

namespace {

void MakeSeeds() {
  std::string tmp = std::string(fuzz::SeedDir()) + "/.tmp-ckpt";
  auto write = [&](const char* name, bool lz4, bool big, uint64_t aof_id, bool libs = false) {
    auto f = FileSystem::Default()->NewWritableFile(tmp, false);
    if (!f.ok()) abort();
    ckpt::WriterOptions o;
    o.lz4 = lz4;
    ckpt::Writer w(std::move(f.value()), o);
    ckpt::Header h;
    h.created_ms = 1700000000000;
    h.aof_offset = 1234;
    h.aof_id = aof_id;
    if (!w.Begin(h).ok()) abort();
    if (libs) {  // function library records (version 6) come right after the header
      const char* code = "#!lua name=lib1\nredis.register_function('f', function() return 1 end)";
      if (!w.Add({0, ckpt::kFunctionLibrary, 0, "lib1", code}).ok()) abort();
    }
    auto add = [&](uint32_t db, ValueType t, int64_t exp, std::string_view k, const Value& v) {
      std::string bytes;
      if (t == ValueType::kString) {
        std::string s;
        bytes = std::string(v.GetString(&s));
      } else {
        EncodeCollection(v, &bytes);
      }
      if (!w.Add({db, uint8_t(t), exp, k, bytes}).ok()) abort();
    };
    CollectionLimits lim;
    add(0, ValueType::kString, 0, "s", Value::String("hello"));
    add(0, ValueType::kString, 1900000000000, "ttl", Value::String("12345"));
    Value h2 = hashv::New();
    hashv::Set(h2, "f", "v", lim);
    hashv::Set(h2, "n", "1", lim);
    add(1, ValueType::kHash, 0, "h", h2);
    Value l = listv::New();
    for (int i = 0; i < 5; i++) listv::Push(l, std::to_string(i), false, lim);
    add(1, ValueType::kList, 0, "l", l);
    Value s = setv::NewFor("a", lim);
    setv::Add(s, "a", lim);
    setv::Add(s, "b", lim);
    add(2, ValueType::kSet, 0, "set", s);
    Value z = zsetv::New(2, 1, lim);
    zsetv::Set(z, "m", 1.5, lim);
    zsetv::Set(z, "n", -2, lim);
    add(15, ValueType::kZSet, 0, "z", z);
    if (big) {  // a streamed value (value-chunk blocks), compressible
      std::string v(70000, 'a');
      if (!w.BeginValue({0, uint8_t(ValueType::kString), 0, "big", ""}).ok()) abort();
      if (!w.AppendValue(v).ok() || !w.EndValue().ok()) abort();
    }
    if (!w.Finish().ok()) abort();
    std::filesystem::rename(tmp, std::string(fuzz::SeedDir()) + "/" + name);
  };
  write("plain.ckpt", false, false, 0);
  write("lz4.ckpt", true, false, 7);
  write("streamed-lz4.ckpt", true, true, 0);
  write("functions.ckpt", false, false, 0, true);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (!fuzz::SeedDir()) return 0;
  MakeSeeds();
  exit(0);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::MemFileSystem fs;
  std::string_view file(reinterpret_cast<const char*>(data), size);
  fs.Put("/f", file);
  auto visit = [](const ckpt::Record& r) {
    fuzz::Touch(r.key);
    fuzz::Touch(r.value);
    if (!(r.type & ckpt::kTierRefFlag)) fuzz::DecodeLikeTheLoader(r.type, r.value);
    return Status::Ok();
  };
  ckpt::ReadStats st;
  (void)ckpt::Read(&fs, "/f", false, visit, &st);
  (void)ckpt::Read(&fs, "/f", true, visit, &st);
  ckpt::ReadStats pst;
  Status p = ckpt::ReadPrefix(&fs, "/f", false, visit, &pst);
  if (p.ok() && pst.bytes > size) abort();
  ckpt::Header h;
  (void)ckpt::ReadHeader(&fs, "/f", &h);
  return 0;
}
