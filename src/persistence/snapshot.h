#pragma once
// Snapshot: the fork-less freeze shared by the AOF rewrite and the checkpoints.
//
// Start() bumps the epoch of every database's table and installs a pre-mutation hook on
// each. From then on, every entry present at that instant is handed to `emit` exactly
// once, with its value at that instant:
//  * by the hook, just before the loop changes, deletes or moves (segment split) the
//    bucket holding it, or
//  * by the background pass, Step(), which walks every table in bounded time slices.
// Entries inserted after Start() are never emitted. No copy of the dataset is made: the
// memory overhead is whatever `emit` buffers.
//
// The database number an entry is emitted under is the one its table had at Start(), so
// a SWAPDB during the snapshot does not leak into the frozen image. Loop thread only.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "base/clock.h"
#include "commands/engine.h"

namespace ferrite {

class Snapshot {
 public:
  using Emit = std::function<void(int db, const Entry& e)>;

  Snapshot(Engine* engine, Clock* clock, Emit emit);
  ~Snapshot();
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  // Freezes now. epoch must be larger than any epoch used before in this process.
  void Start(uint64_t epoch);
  // Runs the background pass for about budget_us, or at most max_buckets bucket
  // positions (tests use it to interleave finely). True once every table is done.
  bool Step(int64_t budget_us, size_t max_buckets = SIZE_MAX);
  bool done() const { return next_table_ >= tables_.size(); }
  // Removes the hooks (also on abort). Safe to call twice.
  void Stop();
  uint64_t entries_emitted() const { return emitted_; }
  // True if a table was cleared (FLUSHALL/FLUSHDB) after Start(): frozen entries were
  // dropped without being emitted, so the image is incomplete.
  bool invalidated() const;

 private:
  struct Frozen {
    Table* table;
    int db;
    uint64_t cursor = 0;
    uint64_t clears = 0;
  };
  Engine* engine_;
  Clock* clock_;
  Emit emit_;
  std::vector<Frozen> tables_;
  size_t next_table_ = 0;
  uint64_t emitted_ = 0;
  bool active_ = false;
};

}  // namespace ferrite
