// ferrite-rdb: moves data between Redis and Ferrite by converting their dump files.
//
//   ferrite-rdb import DUMP.rdb OUT_CHECKPOINT [--databases N]
//       a Redis dump.rdb (RDB versions 1..12) -> a Ferrite checkpoint (put it in the data
//       directory as ferrite.rdb); database numbers and expiries are kept
//   ferrite-rdb export CHECKPOINT OUT.rdb
//       a Ferrite checkpoint -> a Redis dump (RDB version 10: Redis 7.0 and later load it)
//   ferrite-rdb info DUMP.rdb
//       verifies a Redis dump and prints its keys per database and type
//
// The output is written next to its final name (NAME.tmp) and renamed into place only when
// complete. Exit codes: 0 ok, 1 damaged input (the message names the file and the byte
// offset), 2 content this build cannot convert (streams, modules, a newer format version,
// a database beyond --databases), 3 usage or I/O error.

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "io/atomic_file.h"
#include "io/file_system.h"
#include "persistence/checkpoint/checkpoint_format.h"
#include "persistence/rdb/redis_rdb.h"
#include "tier/segment.h"
#include "types/serialize.h"

namespace {

using ferrite::FileSystem;
using ferrite::Status;
namespace ckpt = ferrite::ckpt;
namespace rdb = ferrite::rdb;

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

std::string KeyText(std::string_view k) {
  std::string out;
  for (size_t i = 0; i < k.size() && i < 64; i++) {
    unsigned char c = static_cast<unsigned char>(k[i]);
    out += (c >= 0x20 && c < 0x7f) ? std::string(1, char(c)) : fmt::format("\\x{:02x}", c);
  }
  return k.size() > 64 ? out + "..." : out;
}

int Fail(const Status& st) {
  fprintf(stderr, "ferrite-rdb: %s\n", st.message().c_str());
  switch (st.code()) {
    case Status::Code::kCorruption:
      return 1;
    case Status::Code::kNotSupported:
      return 2;
    default:
      return 3;
  }
}

using Counts = std::map<std::pair<uint32_t, uint8_t>, uint64_t>;

void PrintCounts(const Counts& counts) {
  for (auto& [k, n] : counts) {
    printf("db%u %s: %llu keys\n", k.first, TypeName(k.second), static_cast<unsigned long long>(n));
  }
}

void PrintSkipped(const rdb::RdbStats& stats) {
  if (stats.functions) {
    printf("function libraries: %llu\n", static_cast<unsigned long long>(stats.functions));
  }
  if (stats.module_aux_skipped) {
    printf("note: %llu module auxiliary records skipped\n",
           static_cast<unsigned long long>(stats.module_aux_skipped));
  }
  if (stats.empty_skipped) {
    printf("note: %llu empty collections skipped (Redis drops them at load too)\n",
           static_cast<unsigned long long>(stats.empty_skipped));
  }
}

// Moves a finished NAME.tmp into place and makes the name durable.
Status Publish(FileSystem* fs, const std::string& tmp, const std::string& out) {
  return RenameDurably(fs, tmp, out);
}

int Import(const std::string& in, const std::string& out, uint32_t databases) {
  FileSystem* fs = FileSystem::Default();
  if (!fs->FileExists(in)) {
    fprintf(stderr, "ferrite-rdb: cannot open %s: no such file\n", in.c_str());
    return 3;
  }
  std::string tmp = out + ".tmp";
  auto f = fs->NewWritableFile(tmp, /*append=*/false);
  if (!f.ok()) return Fail(f.status());
  ckpt::Writer w(std::move(f.value()));
  ckpt::Header h;
  h.created_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  h.databases = databases;
  Counts counts;
  uint64_t expired = 0;
  int64_t now = h.created_ms;
  const ferrite::CollectionLimits limits;
  rdb::RdbStats stats;
  Status st = w.Begin(h);
  if (st.ok()) {
    st = rdb::ReadRedisRdb(
        fs, in,
        [&](const ckpt::Record& r) {
          if (r.type == ckpt::kFunctionLibrary) return w.Add(r);  // a function library
          if (r.db >= databases) {
            return Status::NotSupported(
                fmt::format("{}: key '{}' is in database {}, beyond the {} databases of the "
                            "checkpoint; pass --databases {} "
                            "(and set server.databases to match)",
                            in, KeyText(r.key), r.db, databases, r.db + 1));
          }
          if (r.type != 1) {  // the server will rebuild it: make sure it can
            auto v = ferrite::DecodeCollection(ferrite::ValueType(r.type), r.value, limits);
            if (!v.ok()) {
              return Status::Corruption(fmt::format("{}: key '{}' (db {}): {}", in, KeyText(r.key),
                                                    r.db, v.status().message()));
            }
          }
          if (r.expire_ms && r.expire_ms <= now) expired++;
          counts[{r.db, r.type}]++;
          return w.Add(r);
        },
        &stats);
  }
  if (st.ok()) st = w.Finish();
  if (st.ok()) st = Publish(fs, tmp, out);
  if (!st.ok()) {
    (void)fs->DeleteFile(tmp);
    return Fail(st);
  }
  printf(
      "imported %llu keys (%llu with a TTL, %llu of them already expired) from %s (RDB version %u) "
      "into %s\n",
      static_cast<unsigned long long>(stats.keys),
      static_cast<unsigned long long>(stats.with_expire), static_cast<unsigned long long>(expired),
      in.c_str(), stats.version, out.c_str());
  PrintCounts(counts);
  PrintSkipped(stats);
  return 0;
}

int Export(const std::string& in, const std::string& out) {
  FileSystem* fs = FileSystem::Default();
  if (!fs->FileExists(in)) {
    fprintf(stderr, "ferrite-rdb: cannot open %s: no such file\n", in.c_str());
    return 3;
  }
  // First pass: verify the checkpoint and count keys per database (the RESIZEDB hints).
  std::map<uint32_t, std::pair<uint64_t, uint64_t>> sizes;
  Counts counts;
  Status st = ckpt::Read(
      fs, in, true,
      [&](const ckpt::Record& r) {
        if (r.type == ckpt::kFunctionLibrary) return Status::Ok();
        auto& s = sizes[r.db];
        s.first++;
        if (r.expire_ms) s.second++;
        counts[{r.db, uint8_t(r.type & ~ckpt::kTierRefFlag)}]++;
        return Status::Ok();
      },
      nullptr);
  if (!st.ok()) return Fail(st);
  // Values in tier segments (#7) are read from the segment files next to the checkpoint.
  size_t slash = in.rfind('/');
  std::string tier_dir =
      (slash == std::string::npos ? std::string(".") : in.substr(0, slash)) + "/tier";
  ferrite::tier::SegmentFiles segments(fs, tier_dir, tier_dir + "/cold");
  std::string tmp = out + ".tmp";
  auto f = fs->NewWritableFile(tmp, /*append=*/false);
  if (!f.ok()) return Fail(f.status());
  rdb::RedisRdbWriter w(std::move(f.value()));
  for (auto& [db, s] : sizes) w.HintDbSize(db, s.first, s.second);
  st = w.Begin();
  if (st.ok()) {
    st = ckpt::Read(
        fs, in, true,
        [&](const ckpt::Record& rec) {
          ckpt::Record r = rec;
          std::string value, where;
          if (r.type & ckpt::kTierRefFlag) {
            auto v = segments.ReadValue(r.value, r.key, &where);
            if (!v.ok()) {
              return Status::Corruption(
                  in + ": " + v.status().message() +
                  (v.status().code() == Status::Code::kNotFound
                       ? " (load it into a running server to fetch archived values)"
                       : ""));
            }
            value = std::move(v.value());
            r.value = value;
            r.type = uint8_t(r.type & ~ckpt::kTierRefFlag);
          }
          Status s = w.Add(r);  // a value the writer refuses is the input's problem: name the file
          if (s.code() == Status::Code::kCorruption)
            return Status::Corruption(in + ": " + s.message());
          if (s.code() == Status::Code::kNotSupported)
            return Status::NotSupported(in + ": " + s.message());
          return s;
        },
        nullptr);
  }
  if (st.ok()) st = w.Finish();
  if (st.ok()) st = Publish(fs, tmp, out);
  if (!st.ok()) {
    (void)fs->DeleteFile(tmp);
    return Fail(st);
  }
  printf("exported %llu keys from %s into %s (RDB version %u)\n",
         static_cast<unsigned long long>(w.keys()), in.c_str(), out.c_str(), rdb::kWriteVersion);
  if (w.functions())
    printf("function libraries: %llu\n", static_cast<unsigned long long>(w.functions()));
  PrintCounts(counts);
  if (w.empty_skipped()) {
    printf("note: %llu empty collections skipped\n",
           static_cast<unsigned long long>(w.empty_skipped()));
  }
  return 0;
}

int Info(const std::string& in) {
  FileSystem* fs = FileSystem::Default();
  if (!fs->FileExists(in)) {
    fprintf(stderr, "ferrite-rdb: cannot open %s: no such file\n", in.c_str());
    return 3;
  }
  Counts counts;
  rdb::RdbStats stats;
  Status st = rdb::ReadRedisRdb(
      fs, in,
      [&](const ckpt::Record& r) {
        if (r.type != ckpt::kFunctionLibrary) counts[{r.db, r.type}]++;
        return Status::Ok();
      },
      &stats);
  printf("%s: Redis RDB version %u\n", in.c_str(), stats.version);
  for (auto& [k, v] : stats.aux) printf("aux %s=%s\n", KeyText(k).c_str(), KeyText(v).c_str());
  PrintCounts(counts);
  printf("keys=%llu with_ttl=%llu\n", static_cast<unsigned long long>(stats.keys),
         static_cast<unsigned long long>(stats.with_expire));
  PrintSkipped(stats);
  if (!st.ok()) return Fail(st);
  if (stats.checksum_verified) {
    printf("OK: %llu bytes, checksum %016llx verified\n",
           static_cast<unsigned long long>(stats.bytes),
           static_cast<unsigned long long>(stats.checksum));
  } else {
    printf("OK: %llu bytes, no checksum to verify (%s)\n",
           static_cast<unsigned long long>(stats.bytes),
           stats.version < 5 ? "RDB versions before 5 have none"
                             : "the file says it was not computed");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ferrite-rdb: convert between Redis dump files (RDB) and Ferrite checkpoints"};
  app.require_subcommand(1);
  std::string in, out;
  uint32_t databases = 16;
  auto* imp = app.add_subcommand("import", "Redis dump.rdb -> Ferrite checkpoint");
  imp->add_option("dump", in, "the Redis dump (dump.rdb)")->required();
  imp->add_option("checkpoint", out,
                  "the checkpoint to write (ferrite.rdb in Ferrite's data directory)")
      ->required();
  imp->add_option("--databases", databases,
                  "databases in the checkpoint (server.databases); default 16")
      ->check(CLI::Range(1u, 1u << 20));
  auto* exp = app.add_subcommand("export", "Ferrite checkpoint -> Redis dump.rdb (RDB version 10)");
  exp->add_option("checkpoint", in, "the Ferrite checkpoint (ferrite.rdb)")->required();
  exp->add_option("dump", out, "the Redis dump to write")->required();
  auto* info = app.add_subcommand("info", "verify a Redis dump and count its keys");
  info->add_option("dump", in, "the Redis dump (dump.rdb)")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 3;
  }
  if (imp->parsed()) return Import(in, out, databases);
  if (exp->parsed()) return Export(in, out);
  return Info(in);
}
