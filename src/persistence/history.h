#pragma once
// Retention for point-in-time recovery (docs/formats.md, "History"; docs/operations.md,
// "Point-in-time recovery").
//
// When an AOF generation is replaced (a rewrite) or a checkpoint is replaced by a newer
// one, the old file is not lost: just before the rename that replaces it, it is hard-linked
// into <dir>/history/ and recorded in <dir>/history/MANIFEST (written atomically). Files
// older than history_retention are dropped, oldest first also while the history is larger
// than history_max_size. Like Redis 7's multi-part AOF (base + incr files + manifest), but
// the unit kept is a whole generation: each AOF generation starts with an image of the
// dataset (its checkpoint preamble or RESP base, with the time of that image) followed by
// every write after it, so "an image older than T plus the AOF up to T" always exists for
// a T inside the window.
//
// PlanRestore / WriteRestore build a new data directory holding the dataset as of a unix
// second T: the newest image at or before T (a checkpoint, or an AOF generation's base)
// and the AOF that continues it, cut right before its first #TS line later than T.
//
// Thread-safe: the checkpoint's finishing thread and the loop both retire files.

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "base/thread_annotations.h"
#include "io/file_system.h"

namespace ferrite {

inline constexpr const char* kHistoryDir = "history";
inline constexpr const char* kManifestMagic = "ferrite-history 1";

struct HistoryEntry {
  enum Kind { kAof, kCheckpoint } kind = kAof;
  std::string file;         // name inside history/
  uint64_t id = 0;          // AOF: its identity; checkpoint: the AOF identity it continues
  int64_t created_ms = 0;   // checkpoint: its image's time (AOF: 0, read from the file)
  uint64_t aof_offset = 0;  // checkpoint: where the AOF continues it
  int64_t retired_ms = 0;   // when a newer file replaced it
  uint64_t size = 0;
};

class History {
 public:
  History(FileSystem* fs, std::string data_dir, int64_t retention_ms, uint64_t max_bytes,
          Clock* clock);
  bool enabled() const { return retention_ms_ > 0; }
  // Reads the manifest and reconciles it with the directory (a crash between the link and
  // the manifest update leaves a file the manifest does not name: removed).
  Status Open();
  // Just before the file at path is replaced: keeps it (hard link + manifest). A failure
  // is returned; the caller goes on without it (history is best effort, logged).
  Status RetireAof(const std::string& path, uint64_t id);
  Status RetireCheckpoint(const std::string& path);
  std::vector<HistoryEntry> entries() const;
  static Result<std::vector<HistoryEntry>> ReadManifest(FileSystem* fs, const std::string& dir);

 private:
  Status Keep(const std::string& path, HistoryEntry e);
  void PruneLocked(int64_t now_ms) REQUIRES(mu_);
  Status WriteManifestLocked() REQUIRES(mu_);
  FileSystem* fs_;
  std::string dir_;  // <data dir>/history
  int64_t retention_ms_;
  uint64_t max_bytes_;
  Clock* clock_;
  mutable Mutex mu_;  // the checkpoint finishing job retires files too
  std::vector<HistoryEntry> entries_ GUARDED_BY(mu_);
  uint64_t seq_ GUARDED_BY(mu_) = 0;
};

// ---- point-in-time recovery (ferrite-check-aof --restore-to-timestamp)

struct RestorePlan {
  int64_t target_s = 0;
  std::string checkpoint;  // "" when the image is the AOF generation's own base
  int64_t image_ms = 0;
  std::string aof;        // the generation to replay
  uint64_t aof_from = 0;  // (checkpoint) where replay starts
  uint64_t aof_cut = 0;   // bytes of it kept
  std::string summary;    // one line per source, for the report
};

// The sources for the dataset as of unix second target_s, from the data directory's
// current files and its history. An error says what is missing (no image old enough, or
// a gap in the AOF after the newest image) and what the history covers.
Result<RestorePlan> PlanRestore(FileSystem* fs, const std::string& data_dir,
                                const std::string& aof_file, const std::string& checkpoint_file,
                                int64_t target_s);
// Writes the plan's files into out_dir (which must be empty or absent), named aof_file and
// checkpoint_file, each fsynced, and the directory.
Status WriteRestore(FileSystem* fs, const RestorePlan& plan, const std::string& out_dir,
                    const std::string& aof_file, const std::string& checkpoint_file);

}  // namespace ferrite
