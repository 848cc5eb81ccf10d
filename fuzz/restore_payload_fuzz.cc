// libFuzzer target for RESTORE payloads (persistence/rdb/dump_payload.h). The first byte
// picks the mode: bit 0 set = the CRC-64 footer is recomputed over the rest, so the fuzzer
// reaches the value reader instead of stopping at the checksum. Checks: no crash, no
// out-of-bounds access, no allocation the payload cannot justify; and a payload that
// decodes re-encodes (DUMP) to one that decodes to the same value (a score of -0 may come
// back as 0: a sorted-set listpack stores it as the integer 0, as Redis does).

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "base/crc64.h"
#include "fuzz/fuzz_util.h"
#include "persistence/rdb/dump_payload.h"

using namespace ferrite;

namespace {

// CanonicalBytes, with -0 scores counted as 0.
std::string Canon(const Value& v) {
  if (v.type() != ValueType::kZSet) return CanonicalBytes(v);
  std::string out;
  zsetv::ForEach(v, [&](std::string_view m, double s) {
    double z = s == 0 ? 0.0 : s;
    out.append(std::to_string(m.size())).append(":").append(m);
    out.append(reinterpret_cast<const char*>(&z), 8);
    return true;
  });
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (!fuzz::SeedDir()) return 0;
  CollectionLimits lim;
  auto seed = [](const std::string& name, const Value& v) {
    rdb::DumpOptions o;
    fuzz::WriteSeed(name, std::string(1, '\0') + rdb::CreateDumpPayload(v, o));
    o.compress = false;
    fuzz::WriteSeed(name + "-raw", std::string(1, '\0') + rdb::CreateDumpPayload(v, o));
  };
  seed("string-int", Value::String("12345"));
  seed("string-raw", Value::String(std::string(40, 'r') + "tail"));
  Value l = listv::New();
  for (int i = 0; i < 40; i++) listv::Push(l, i % 2 ? std::to_string(i * 1000) : "e", false, lim);
  seed("list", l);
  Value si = setv::NewFor("1", lim);
  for (const char* m : {"1", "-70000", "9000000000"}) setv::Add(si, m, lim);
  seed("set-intset", si);
  Value ss = setv::NewFor("a", lim);
  for (int i = 0; i < 200; i++) setv::Add(ss, "m" + std::to_string(i), lim);
  seed("set-hashtable", ss);
  Value z = zsetv::New(3, 1, lim);
  zsetv::Set(z, "a", 1.5, lim);
  zsetv::Set(z, "b", -3, lim);
  zsetv::Set(z, "c", 1e300, lim);
  seed("zset-listpack", z);
  Value zb = zsetv::New(200, 4, lim);
  for (int i = 0; i < 200; i++) zsetv::Set(zb, "m" + std::to_string(i), i * 0.5, lim);
  seed("zset-skiplist", zb);
  Value h = hashv::New();
  hashv::Set(h, "f", "v", lim);
  hashv::Set(h, "n", "42", lim);
  seed("hash-listpack", h);
  Value hb = hashv::New();
  for (int i = 0; i < 200; i++) hashv::Set(hb, "f" + std::to_string(i), "v", lim);
  seed("hash-hashtable", hb);
  exit(0);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string p(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) && p.size() >= 10) {
    uint64_t crc = Crc64(0, p.data(), p.size() - 8);
    memcpy(p.data() + p.size() - 8, &crc, 8);
  }
  if (!rdb::VerifyDumpPayload(p)) return 0;
  CollectionLimits lim;
  if (data[0] & 2) {  // tiny limits: every conversion path of the builders
    lim.hash_entries = lim.set_entries = lim.zset_entries = lim.set_intset = 2;
    lim.hash_value = lim.set_value = lim.zset_value = 4;
    lim.list_size = 2;
  }
  auto v = rdb::DecodeDumpPayload(p, lim);
  if (!v.ok()) return 0;
  rdb::DumpOptions o;
  o.compress = data[0] & 4;
  o.list_max_listpack_size = (data[0] & 8) ? 3 : -2;
  std::string again = rdb::CreateDumpPayload(v.value(), o);
  auto back = rdb::DecodeDumpPayload(again, lim);
  if (!back.ok()) abort();
  if (Canon(back.value()) != Canon(v.value())) abort();
  return 0;
}
