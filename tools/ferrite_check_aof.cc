// ferrite-check-aof: verifies an append-only file, repairs a torn tail, and cuts a file
// back to a point in time.
//
//   ferrite-check-aof FILE                       report; exit 0 if valid
//   ferrite-check-aof --fix [-y] FILE            cut an incomplete tail (asks unless -y)
//   ferrite-check-aof --truncate-to-timestamp T FILE
//                                                keep exactly the prefix before the first
//                                                #TS annotation later than T (unix seconds)
//   ferrite-check-aof --restore-to-timestamp T --dir DATA --out NEW
//                                                point-in-time recovery: write into NEW the
//                                                newest image at or before T (checkpoint or
//                                                AOF base, from DATA or DATA/history) and the
//                                                AOF continuing it, cut after second T
//
// Exit codes: 0 valid (or repaired / truncated as asked), 1 incomplete tail not repaired,
// 2 damage inside the file (not repairable by --fix), 3 usage or I/O error.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "base/strutil.h"
#include "persistence/aof/aof.h"
#include "persistence/aof/aof_format.h"
#include "persistence/aof/aof_integrity.h"
#include "persistence/checkpoint/checkpoint_format.h"
#include "persistence/history.h"

namespace {

struct Scan {
  bool damaged = false;
  bool torn = false;      // incomplete command or unfinished MULTI at the end
  uint64_t ok_up_to = 0;  // offset of the first byte not in a whole record
  uint64_t ok_up_to_line = 1;
  uint64_t size = 0;
  uint64_t commands = 0;
  std::string error;
  uint64_t error_offset = 0, error_line = 0;
  int64_t cut_offset = -1;  // --truncate-to-timestamp: where to cut
  int64_t last_ts_kept = -1;
  uint64_t preamble_keys = 0;   // keys in a checkpoint preamble
  bool checksums = false;       // the file has #CRC batch lines (format version 2)
  uint64_t batches = 0;         // checksummed batches that verified
  int64_t verified_after = -1;  // damage: end of a batch after it that verifies
};

Scan Analyze(const std::string& path, int64_t ts_limit) {
  Scan s;
  std::ifstream f(path, std::ios::binary);
  // A checkpoint preamble (aof_use_checkpoint_preamble): verify it with the checkpoint
  // reader, then scan the RESP tail after its footer.
  uint64_t start = 0;
  char magic[8] = {};
  f.read(magic, 8);
  if (f.gcount() == 8 && memcmp(magic, "FERRCKPT", 8) == 0) {
    ferrite::ckpt::ReadStats rs;
    ferrite::Status st = ferrite::ckpt::ReadPrefix(
        ferrite::FileSystem::Default(), path, true,
        [](const ferrite::ckpt::Record&) { return ferrite::Status::Ok(); }, &rs);
    if (!st.ok()) {
      s.damaged = true;
      s.error = "damaged checkpoint preamble: " + st.message();
      f.seekg(0, std::ios::end);
      s.size = uint64_t(f.tellg());
      return s;
    }
    start = rs.bytes;
    s.preamble_keys = rs.keys;
  }
  f.clear();
  f.seekg(std::streamoff(start));
  s.size = start;
  s.ok_up_to = start;
  ferrite::aof::AofReader r(start, 1);
  ferrite::aof::BatchVerifier v(start);
  uint64_t batch_line = 1;
  std::vector<char> buf(1 << 20);
  bool eof = false, in_multi = false;
  uint64_t multi_offset = 0, multi_line = 0;
  // A problem at offset X: damage in the middle if a checksummed batch after it verifies,
  // otherwise a torn tail after the last good batch (files with checksums) — or, in a file
  // without any, what the record reader said (malformed: damage; incomplete: torn).
  auto classify = [&](uint64_t x, bool malformed) {
    s.verified_after =
        ferrite::aof::FindVerifiedBatchAfter(ferrite::FileSystem::Default(), path, x);
    s.checksums = v.has_checksums();
    if (s.verified_after >= 0 || (malformed && !s.checksums)) {
      s.damaged = true;
      return;
    }
    s.torn = true;
    s.ok_up_to = s.checksums ? v.batch_start() : x;
    s.ok_up_to_line = s.checksums ? batch_line : r.line();
    if (in_multi && multi_offset < s.ok_up_to) {
      s.ok_up_to = multi_offset;
      s.ok_up_to_line = multi_line;
    }
  };
  while (true) {
    ferrite::aof::AofRecord rec;
    auto res = r.Next(&rec);
    if (res == ferrite::aof::AofReader::Result::kNeedMore) {
      if (eof) break;
      f.read(buf.data(), std::streamsize(buf.size()));
      std::streamsize n = f.gcount();
      if (n <= 0)
        eof = true;
      else {
        s.size += uint64_t(n);
        r.Feed(std::string_view(buf.data(), size_t(n)));
      }
      continue;
    }
    if (res == ferrite::aof::AofReader::Result::kError) {
      s.error = r.error();
      s.error_offset = r.error_offset();
      s.error_line = r.error_line();
      s.ok_up_to = r.error_offset();
      s.ok_up_to_line = r.error_line();
      f.seekg(0, std::ios::end);
      s.size = uint64_t(f.tellg());
      classify(r.error_offset(), true);
      return s;
    }
    auto verdict = v.OnRecord(rec);
    if (verdict == ferrite::aof::BatchVerifier::Verdict::kMismatch) {
      s.error = v.error();
      s.error_offset = v.batch_start();
      s.error_line = batch_line;
      f.seekg(0, std::ios::end);
      s.size = uint64_t(f.tellg());
      classify(v.batch_start(), false);
      return s;
    }
    if (verdict == ferrite::aof::BatchVerifier::Verdict::kVerified) {
      s.batches++;
      batch_line = r.line();
      continue;
    }
    if (rec.kind == ferrite::aof::AofRecord::kAnnotation) {
      if (ts_limit >= 0 && rec.timestamp > ts_limit && s.cut_offset < 0)
        s.cut_offset = int64_t(rec.offset);
      if (rec.timestamp >= 0 && s.cut_offset < 0) s.last_ts_kept = rec.timestamp;
      continue;
    }
    s.commands++;
    if (!in_multi && ferrite::EqualsIgnoreCase(rec.args[0], "MULTI")) {
      in_multi = true;
      multi_offset = rec.offset;
      multi_line = rec.line;
    } else if (in_multi && (ferrite::EqualsIgnoreCase(rec.args[0], "EXEC") ||
                            ferrite::EqualsIgnoreCase(rec.args[0], "DISCARD"))) {
      in_multi = false;
    }
  }
  s.checksums = v.has_checksums();
  if (!r.AtCleanEnd()) {
    s.error = "incomplete command";
    s.error_offset = r.offset();
    s.error_line = r.line();
    classify(r.offset(), false);
    return s;
  }
  if (s.checksums && v.batch_start() < r.offset()) {  // records after the last checksum line
    s.error = "batch without its checksum line";
    s.torn = true;
    s.ok_up_to = v.batch_start();
    s.ok_up_to_line = batch_line;
    return s;
  }
  s.ok_up_to = in_multi ? multi_offset : r.offset();
  s.ok_up_to_line = in_multi ? multi_line : r.line();
  s.torn = in_multi;
  if (in_multi) s.error = "unfinished MULTI/EXEC transaction";
  return s;
}

bool Confirm(bool yes, const std::string& question) {
  if (yes) return true;
  std::cout << question << " Continue? [y/N]: " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ferrite-check-aof: verify and repair a Ferrite append-only file"};
  std::string path;
  bool fix = false, yes = false;
  int64_t ts = -1;
  app.add_flag("--fix", fix, "cut an incomplete tail back to the last whole command");
  app.add_flag("-y,--yes", yes, "do not ask before changing the file");
  app.add_option("--truncate-to-timestamp", ts,
                 "keep exactly the prefix before the first #TS annotation later than this "
                 "unix time");
  int64_t restore_ts = -1;
  std::string data_dir, out_dir, aof_name = "ferrite.aof", ckpt_name = "ferrite.rdb";
  app.add_option("--restore-to-timestamp", restore_ts,
                 "point-in-time recovery to this unix second: write a data directory (--out) "
                 "from --dir and its history");
  app.add_option("--dir", data_dir, "the server's data directory (with --restore-to-timestamp)");
  app.add_option("--out", out_dir, "a new, empty directory for the restored files");
  app.add_option("--aof-file", aof_name, "persistence.aof_file (default ferrite.aof)");
  app.add_option("--checkpoint-file", ckpt_name,
                 "persistence.checkpoint_file (default ferrite.rdb)");
  app.add_option("file", path, "the AOF file");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 3;
  }
  if (restore_ts >= 0) {
    if (data_dir.empty() || out_dir.empty()) {
      std::cerr << "--restore-to-timestamp needs --dir and --out\n";
      return 3;
    }
    ferrite::FileSystem* fs = ferrite::FileSystem::Default();
    auto plan = ferrite::PlanRestore(fs, data_dir, aof_name, ckpt_name, restore_ts);
    if (!plan.ok()) {
      std::cout << "Point-in-time recovery refused: " << plan.status().message() << "\n";
      return 2;
    }
    std::cout << plan.value().summary << "\n";
    if (ferrite::Status st = ferrite::WriteRestore(fs, plan.value(), out_dir, aof_name, ckpt_name);
        !st.ok()) {
      std::cerr << "Cannot write the restored files: " << st.message() << "\n";
      return 3;
    }
    std::cout << "Restored the data as of " << restore_ts << " into " << out_dir
              << ": start the server with dir = \"" << out_dir << "\" (aof_enabled = true)\n";
    return 0;
  }
  if (path.empty()) {
    std::cerr << "ferrite-check-aof: FILE is required (or --restore-to-timestamp)\n";
    return 3;
  }
  if (access(path.c_str(), R_OK) != 0) {
    std::cerr << "Cannot open " << path << ": " << strerror(errno) << "\n";
    return 3;
  }
  Scan s = Analyze(path, ts);
  std::cout << "AOF analyzed: filename=" << path << ", size=" << s.size
            << ", ok_up_to=" << s.ok_up_to << ", ok_up_to_line=" << s.ok_up_to_line
            << ", diff=" << (s.size - s.ok_up_to) << ", commands=" << s.commands << "\n";
  if (s.preamble_keys) std::cout << "Checkpoint preamble: " << s.preamble_keys << " keys, valid\n";
  if (s.damaged && s.error.rfind("damaged checkpoint preamble", 0) == 0) {
    std::cout << "AOF " << path << " has a " << s.error
              << "\nThe preamble holds the rewritten base of the data: --fix does not cut it. "
                 "Restore the file from a backup, or start from the last checkpoint.\n";
    return 2;
  }
  if (s.checksums) {
    std::cout << "Checksummed batches: " << s.batches << " verified\n";
  }
  if (s.damaged) {
    std::cout << "AOF " << path << " is damaged in the middle of the file at offset "
              << s.error_offset << " (line " << s.error_line << "): " << s.error << "\n";
    if (s.verified_after >= 0) {
      std::cout << "A checksummed batch after it verifies (it ends at offset " << s.verified_after
                << "): this is not a torn tail.\n";
    }
    std::cout << "The damage is inside the file: cutting there would drop "
              << (s.size - s.error_offset)
              << " bytes including any valid commands after it. --fix does not do that; "
                 "inspect the file around that offset (e.g. `tail -c +"
              << (s.error_offset + 1) << " " << path << " | head -c 200 | cat -A`).\n";
    return 2;
  }
  if (ts >= 0) {
    // A checkpoint beside the file that continues it and is newer than T would be loaded
    // instead of the cut file (it holds more): this low-level cut alone cannot recover to T.
    {
      size_t slash = path.rfind('/');
      std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
      ferrite::ckpt::Header h;
      uint64_t id = ferrite::Aof::ReadId(ferrite::FileSystem::Default(), path);
      if (id != 0 &&
          ferrite::ckpt::ReadHeader(ferrite::FileSystem::Default(), dir + "/" + ckpt_name, &h)
              .ok() &&
          h.aof_id == id && h.created_ms / 1000 > ts) {
        std::cout << "Refused: the checkpoint " << dir << "/" << ckpt_name
                  << " continues this AOF and is newer than " << ts
                  << " — start-up would load it and return the later data. Use "
                     "ferrite-check-aof --restore-to-timestamp "
                  << ts << " --dir " << dir << " --out <new dir>\n";
        return 2;
      }
    }
    uint64_t cut = s.cut_offset >= 0 ? uint64_t(s.cut_offset) : s.ok_up_to;
    if (cut == s.size) {
      std::cout << "No #TS annotation later than " << ts << ": nothing to truncate.\n";
      return s.torn ? 1 : 0;
    }
    if (!Confirm(yes, "This will truncate " + path + " to " + std::to_string(cut) + " bytes (" +
                          std::to_string(s.size - cut) + " bytes removed).")) {
      std::cout << "Not truncated.\n";
      return 1;
    }
    if (truncate(path.c_str(), off_t(cut)) != 0) {
      std::cerr << "Failed to truncate " << path << ": " << strerror(errno) << "\n";
      return 3;
    }
    std::cout << "Successfully truncated AOF " << path << " to timestamp " << ts << " (" << cut
              << " bytes kept)\n";
    return 0;
  }
  if (!s.torn) {
    std::cout << "AOF " << path << " is valid\n";
    return 0;
  }
  if (s.checksums) {
    std::cout << "AOF " << path << " ends with a torn tail after the last good batch, at offset "
              << s.ok_up_to << " (line " << s.ok_up_to_line << "): " << s.error << "\n";
  } else {
    std::cout << "AOF " << path << " ends with an " << s.error << " at offset " << s.ok_up_to
              << " (line " << s.ok_up_to_line << ")\n";
  }
  if (!fix) {
    std::cout << "AOF is not valid. Use the --fix option to try fixing it.\n";
    return 1;
  }
  if (!Confirm(yes, "This will shrink the AOF from " + std::to_string(s.size) + " bytes, with " +
                        std::to_string(s.size - s.ok_up_to) + " bytes, to " +
                        std::to_string(s.ok_up_to) + " bytes.")) {
    std::cout << "Aborting...\n";
    return 1;
  }
  if (truncate(path.c_str(), off_t(s.ok_up_to)) != 0) {
    std::cerr << "Failed to truncate AOF: " << strerror(errno) << "\n";
    return 3;
  }
  std::cout << "Successfully truncated AOF " << path << "\n";
  return 0;
}
