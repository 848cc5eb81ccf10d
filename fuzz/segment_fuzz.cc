// libFuzzer target for the tier segment reader (tier/segment.h): the input is a segment
// file, scanned record by record (ScanSegment) with every record's value read back
// (RecordValue: lz4 and zstd included) and its collection built as the tier manager
// builds it. The first byte picks the mode: bit 0 set = every record's checksum is
// recomputed first, so the fuzzer reaches the value decoders past the XXH3 check.

#include <xxhash.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "fuzz/fuzz_util.h"
#include "fuzz/mem_fs.h"
#include "tier/segment.h"

using namespace ferrite;

namespace {

// Makes each record's checksum right, walking the records by their own lengths.
void FixChecksums(std::string* f) {
  size_t off = tier::kFileHeaderSize;
  while (off + tier::kRecordHeaderSize <= f->size()) {
    uint32_t klen, slen;
    memcpy(&klen, f->data() + off + 4, 4);
    memcpy(&slen, f->data() + off + 8, 4);
    uint64_t total = uint64_t(tier::kRecordHeaderSize) + klen + slen;
    if (total > f->size() - off) return;
    uint32_t sum = uint32_t(XXH3_64bits(f->data() + off + 4, size_t(total) - 4));
    memcpy(f->data() + off, &sum, 4);
    off += size_t(total);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (!fuzz::SeedDir()) return 0;
  CollectionLimits lim;
  Value h = hashv::New();
  hashv::Set(h, "field", std::string(50, 'v'), lim);
  std::string hb;
  EncodeCollection(h, &hb);
  for (auto codec : {tier::Codec::kNone, tier::Codec::kLz4, tier::Codec::kZstd}) {
    std::string f = tier::EncodeFileHeader(3, codec, 1700000000000);
    tier::EncodeRecord(&f, 0, uint8_t(ValueType::kString), "k1", "short", codec);
    tier::EncodeRecord(&f, 1, uint8_t(ValueType::kString), "k2", std::string(200, 'a'), codec);
    tier::EncodeRecord(&f, 2, uint8_t(ValueType::kHash), "h", hb, codec);
    fuzz::WriteSeed(std::string("segment-") + tier::CodecName(codec), std::string(1, '\1') + f);
  }
  exit(0);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string f(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) FixChecksums(&f);
  fuzz::MemFileSystem fs;
  fs.Put("/seg", f);
  uint64_t valid_end = 0, file_size = 0;
  std::string scratch;
  Status st = tier::ScanSegment(
      &fs, "/seg",
      [&](uint64_t offset, const tier::RecordView& r) {
        fuzz::Touch(r.key);
        auto v = tier::RecordValue(r, &scratch, "/seg", offset);
        if (v.ok()) {
          fuzz::Touch(v.value());
          fuzz::DecodeLikeTheLoader(r.type, v.value());
        }
      },
      &valid_end, &file_size);
  if (st.ok() && (valid_end > file_size || file_size != f.size())) abort();
  return 0;
}
