#pragma once
// Shared by the fuzz targets: touching every byte of a view (so ASan sees a read of memory
// the view should not cover), a collection blob decoded the way the loaders decode it, and
// seed writing: a target started with FERRITE_FUZZ_MAKE_SEEDS=<dir> writes its seed corpus
// there with the project's own writers and exits (docs/testing.md, "Fuzzing").

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "types/serialize.h"

namespace ferrite::fuzz {

inline uint64_t Touch(std::string_view s) {
  uint64_t h = s.size();
  for (unsigned char c : s) h = h * 31 + c;
  return h;
}

// A record's value as the checkpoint loader and ferrite-rdb import build it.
inline void DecodeLikeTheLoader(uint8_t type, std::string_view value) {
  ValueType t = ValueType(type);
  if (t == ValueType::kList || t == ValueType::kSet || t == ValueType::kZSet ||
      t == ValueType::kHash) {
    auto v = DecodeCollection(t, value, CollectionLimits{});
    if (v.ok()) (void)CanonicalBytes(v.value());
  }
}

inline const char* SeedDir() { return getenv("FERRITE_FUZZ_MAKE_SEEDS"); }

inline void WriteSeed(const std::string& name, std::string_view bytes) {
  std::string path = std::string(SeedDir()) + "/" + name;
  FILE* f = fopen(path.c_str(), "wb");
  if (!f) {
    perror(path.c_str());
    exit(1);
  }
  fwrite(bytes.data(), 1, bytes.size(), f);
  fclose(f);
}

}  // namespace ferrite::fuzz
