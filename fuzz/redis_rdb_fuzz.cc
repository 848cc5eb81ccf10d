// libFuzzer target for the Redis RDB reader (persistence/rdb/redis_rdb.h): the input is a
// dump.rdb. A stored checksum of zero means "not computed", so the seeds carry a zero
// checksum and the fuzzer reaches every value encoding (ziplist, listpack, intset, zipmap,
// quicklist, LZF). Every record is touched and its collection built as ferrite-rdb import
// builds it.

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "fuzz/fuzz_util.h"
#include "fuzz/mem_fs.h"
#include "persistence/rdb/redis_rdb.h"

using namespace ferrite;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (!fuzz::SeedDir()) return 0;
  std::string tmp = std::string(fuzz::SeedDir()) + "/.tmp-rdb";
  auto f = FileSystem::Default()->NewWritableFile(tmp, false);
  if (!f.ok()) abort();
  rdb::RdbWriterOptions o;
  o.ctime_s = 1700000000;
  rdb::RedisRdbWriter w(std::move(f.value()), o);
  if (!w.Begin().ok()) abort();
  auto blob = [](ValueType t, std::initializer_list<std::string_view> items) {
    std::string b;
    auto varint = [&](uint64_t v) {
      while (v >= 0x80) {
        b.push_back(char(v | 0x80));
        v >>= 7;
      }
      b.push_back(char(v));
    };
    varint(t == ValueType::kHash ? items.size() / 2 : items.size());
    for (auto s : items) {
      varint(s.size());
      b.append(s);
      if (t == ValueType::kZSet) b.append(std::string("\0\0\0\0\0\0\xf8\x3f", 8));  // 1.5
    }
    return b;
  };
  std::string lzf(60, 'z');
  auto add = [&](uint32_t db, ValueType t, int64_t exp, std::string_view k, std::string v) {
    if (!w.Add({db, uint8_t(t), exp, k, v}).ok()) abort();
  };
  add(0, ValueType::kString, 0, "s", "hello");
  add(0, ValueType::kString, 0, "int", "-12345");
  add(0, ValueType::kString, 1900000000000, "lzf", lzf);
  add(1, ValueType::kList, 0, "l", blob(ValueType::kList, {"a", "1", ""}));
  add(1, ValueType::kSet, 0, "set", blob(ValueType::kSet, {"x", "y"}));
  add(2, ValueType::kZSet, 0, "z", blob(ValueType::kZSet, {"m"}));
  add(2, ValueType::kHash, 0, "h", blob(ValueType::kHash, {"f", "v"}));
  if (!w.Finish().ok()) abort();
  std::string zero = std::string(fuzz::SeedDir()) + "/ferrite-writer-nochecksum.rdb";
  std::filesystem::rename(tmp, zero);
  // The same file with its checksum zeroed ("not computed"): the fuzzer's edits then get
  // past the CRC to the value readers.
  FILE* fp = fopen(zero.c_str(), "r+b");
  fseek(fp, -8, SEEK_END);
  fwrite("\0\0\0\0\0\0\0\0", 1, 8, fp);
  fclose(fp);
  exit(0);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::MemFileSystem fs;
  fs.Put("/dump.rdb", std::string_view(reinterpret_cast<const char*>(data), size));
  rdb::RdbStats st;
  (void)rdb::ReadRedisRdb(
      &fs, "/dump.rdb",
      [](const ckpt::Record& r) {
        fuzz::Touch(r.key);
        fuzz::Touch(r.value);
        fuzz::DecodeLikeTheLoader(r.type, r.value);
        return Status::Ok();
      },
      &st);
  return 0;
}
