#pragma once
// BackgroundLoader: start-up loading with the port open. A job on the loader's TaskRunner
// (its one helper thread) reads and decodes the files (checkpoint records become
// ready-made Values, AOF commands owned argument lists) into a bounded queue of batches;
// the loop thread applies batches in time-boxed slices (Step), so INFO and PING are
// answered — everything else gets -LOADING — and decoding runs in parallel with
// inserting. The batch queue is the channel between them (the job streams, it does not
// return one result), so no reply closures are used.

#include <atomic>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/task_runner.h"
#include "commands/engine.h"

namespace ferrite {

class BackgroundLoader {
 public:
  struct Item {
    bool is_command = false;
    uint32_t db = 0;
    int64_t expire_ms = 0;
    std::string key;
    Value value;
    std::vector<std::string> argv;
    // The command must succeed: an error reply fails the load (its text is the status).
    bool must_succeed = false;
    // A value in a tier segment: the checkpoint's reference, adopted on the loop.
    std::string tier_ref;
    uint8_t tier_type = 0;
  };

  explicit BackgroundLoader(Engine* engine);
  ~BackgroundLoader();

  // Runs produce on the loader thread; its Status ends the stream.
  void Start(std::function<Status(BackgroundLoader&)> produce);

  // Producer side (loader thread). False: the load was cancelled, stop producing.
  bool PushKey(uint32_t db, std::string_view key, Value value, int64_t expire_ms);
  bool PushTierRef(uint32_t db, std::string_view key, uint8_t type, std::string_view ref,
                   int64_t expire_ms);
  bool PushCommand(ArgList args, bool must_succeed = false);

  // A key already in the database (DEBUG RELOAD NOFLUSH): replaced when merging (MERGE),
  // otherwise the load fails. Without this a loaded key is assumed absent. Set before Start.
  enum class Duplicates { kAbsent, kReplace, kFail };
  void set_duplicates(Duplicates d) { duplicates_ = d; }

  // Consumer side (loop thread): applies batches for about budget_us. Returns true once
  // everything was applied (or failed); status() then says which.
  bool Step(int64_t budget_us);
  const Status& status() const { return status_; }
  bool done() const { return done_; }
  uint64_t keys_applied() const { return keys_; }
  uint64_t commands_applied() const { return commands_; }

  // Progress, readable from any thread: bytes of input read and the input's total size.
  std::atomic<uint64_t> bytes_done{0};
  std::atomic<uint64_t> bytes_total{0};

 private:
  static constexpr size_t kBatch = 512;
  static constexpr size_t kMaxBatches = 64;
  bool Push(Item item);
  void Flush();  // producer: hands the current batch over

  Engine* engine_;
  Session* session_ = nullptr;  // the replay session for AOF commands (loop thread)
  std::string scratch_out_;
  TaskRunner runner_{"loader", 1};  // runs the producer
  Mutex mu_;
  CondVar cv_;  // a batch was handed over or taken, the producer ended, or cancelled
  std::deque<std::vector<Item>> batches_ GUARDED_BY(mu_);
  std::vector<Item> filling_;  // the producer's batch (its thread only)
  bool producer_done_ GUARDED_BY(mu_) = false;
  bool cancelled_ GUARDED_BY(mu_) = false;
  Status produced_status_ GUARDED_BY(mu_) = Status::Ok();
  Status status_ = Status::Ok();
  bool done_ = false;
  Duplicates duplicates_ = Duplicates::kAbsent;
  void Fail(Status st);  // loop thread: cancels the producer, ends with st
  uint64_t keys_ = 0, commands_ = 0;
};

}  // namespace ferrite
