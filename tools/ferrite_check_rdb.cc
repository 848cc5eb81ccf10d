// ferrite-check-rdb: verifies a Ferrite checkpoint file — every block's checksum, the
// footer's key count and whole-file checksum — and prints keys per database and type.
// Values the checkpoint references in tier segments (#7) are read and verified too (their
// record's checksum, key and decompression); archived ones are counted, not fetched.
//
//   ferrite-check-rdb FILE [--tier-dir DIR] [--cold-dir DIR]
//
// Exit codes: 0 valid, 1 damaged (the message gives the offset of the first bad block),
// 2 a newer format version or an unknown mandatory block, 3 usage or I/O error.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <string>

#include "io/file_system.h"
#include "persistence/checkpoint/checkpoint_format.h"
#include "tier/segment.h"

namespace {

const char* TypeName(uint8_t t) {
  switch (t) {
    case 1:
      return "string";
    case 2:
      return "list";
    case 3:
      return "set";
    case 4:
      return "zset";
    case 5:
      return "hash";
    default:
      return "unknown";
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ferrite-check-rdb: verify a Ferrite checkpoint file"};
  std::string path;
  std::string tier_dir, cold_dir;
  app.add_option("file", path, "the checkpoint file (ferrite.rdb)")->required();
  app.add_option("--tier-dir", tier_dir, "warm tier segments (default: tier/ next to the file)");
  app.add_option("--cold-dir", cold_dir,
                 "cold tier segments (default: <tier-dir>/cold; [storage] cold_tier_path)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 3;
  }
  ferrite::FileSystem* fs = ferrite::FileSystem::Default();
  if (!fs->FileExists(path)) {
    fprintf(stderr, "Cannot open %s: no such file\n", path.c_str());
    return 3;
  }
  if (tier_dir.empty()) {
    size_t slash = path.rfind('/');
    tier_dir = (slash == std::string::npos ? std::string(".") : path.substr(0, slash)) + "/tier";
  }
  if (cold_dir.empty()) cold_dir = tier_dir + "/cold";
  ferrite::tier::SegmentFiles segments(fs, tier_dir, cold_dir);
  std::map<std::pair<uint32_t, uint8_t>, uint64_t> counts;
  uint64_t with_ttl = 0, refs = 0, archived = 0, bad_refs = 0, libraries = 0;
  std::map<std::string, uint64_t> per_file;
  ferrite::ckpt::ReadStats stats;
  ferrite::Status st = ferrite::ckpt::Read(
      fs, path, true,
      [&](const ferrite::ckpt::Record& r) {
        if (r.type == ferrite::ckpt::kFunctionLibrary) {
          libraries++;
          return ferrite::Status::Ok();
        }
        uint8_t type = uint8_t(r.type & ~ferrite::ckpt::kTierRefFlag);
        counts[{r.db, type}]++;
        if (r.expire_ms) with_ttl++;
        if (r.type & ferrite::ckpt::kTierRefFlag) {
          refs++;
          std::string where;
          auto v = segments.ReadValue(r.value, r.key, &where);
          per_file[where]++;
          if (!v.ok() && v.status().code() == ferrite::Status::Code::kNotFound) {
            archived++;
          } else if (!v.ok()) {
            if (bad_refs++ < 20) printf("BAD tier value: %s\n", v.status().message().c_str());
          }
        }
        return ferrite::Status::Ok();
      },
      &stats);
  printf("checkpoint %s: format version %u (this build reads 1..%u)\n", path.c_str(), stats.version,
         ferrite::ckpt::kVersion);
  if (stats.blocks > 0) {
    printf("created_ms=%lld aof_offset=%llu databases=%u\n",
           static_cast<long long>(stats.header.created_ms),
           static_cast<unsigned long long>(stats.header.aof_offset), stats.header.databases);
  }
  for (auto& [k, n] : counts) {
    printf("db%u %s: %llu keys\n", k.first, TypeName(k.second), static_cast<unsigned long long>(n));
  }
  if (libraries) printf("function libraries: %llu\n", static_cast<unsigned long long>(libraries));
  printf("keys=%llu with_ttl=%llu blocks=%llu streamed_values=%llu\n",
         static_cast<unsigned long long>(stats.keys), static_cast<unsigned long long>(with_ttl),
         static_cast<unsigned long long>(stats.blocks),
         static_cast<unsigned long long>(stats.streamed));
  if (refs > 0) {
    printf(
        "tier references: %llu values in %zu segment(s) (%s, %s); %llu archived (in S3, not "
        "read)\n",
        static_cast<unsigned long long>(refs), per_file.size(), tier_dir.c_str(), cold_dir.c_str(),
        static_cast<unsigned long long>(archived));
    if (bad_refs > 0) {
      printf("INVALID: %llu referenced tier value(s) are damaged or missing\n",
             static_cast<unsigned long long>(bad_refs));
      return 1;
    }
  }
  if (!st.ok()) {
    printf("INVALID: %s\n", st.message().c_str());
    if (st.code() == ferrite::Status::Code::kNotSupported) return 2;
    if (st.code() == ferrite::Status::Code::kIOError) return 3;
    return 1;
  }
  printf("OK: every block and the footer verified (%llu bytes)%s\n",
         static_cast<unsigned long long>(stats.bytes),
         refs > archived ? ", and every referenced tier value" : "");
  return 0;
}
