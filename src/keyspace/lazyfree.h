#pragma once
// LazyFree: frees large values and whole emptied databases on a helper thread, as Redis's
// lazyfree (UNLINK, FLUSHALL/FLUSHDB ASYNC, the lazyfree-lazy-* options), so the loop
// does not stall on freeing millions of allocations.
//
// The loop hands an object over (it is already out of the keyspace); a job on the lazyfree
// TaskRunner destroys it and its reply counts it on the loop (woken through the loop's Post), so
// the counters INFO shows (lazyfree_pending_objects, lazyfreed_objects) are only ever
// touched by the loop thread. Without a post function (unit tests, before the server
// runs) objects are freed at once, on the caller's thread.
//
// What may be handed over: values and tables holding no tier-segment references (freeing
// those tells the tier manager, which lives on the loop); the caller checks.

#include <cstdint>
#include <functional>
#include <memory>

#include "base/task_runner.h"
#include "keyspace/db.h"

namespace ferrite {

class LazyFree {
 public:
  using Post = std::function<void(std::function<void()>)>;
  // Redis's LAZYFREE_THRESHOLD: a value whose freeing costs more allocations than this
  // goes to the helper thread; smaller ones are freed at once.
  static constexpr size_t kThreshold = 64;

  LazyFree() = default;
  ~LazyFree();  // frees whatever is still queued, then joins the thread
  LazyFree(const LazyFree&) = delete;
  LazyFree& operator=(const LazyFree&) = delete;

  // Set by the loop's owner; cleared (after Drain) before the loop goes away.
  void set_post(Post post);

  // One value (UNLINK of a big collection): counts as one object.
  void FreeValue(Value v);
  // A detached database (FLUSHALL/FLUSHDB ASYNC): counts as its number of keys.
  void FreeTable(std::unique_ptr<Table> t);
  // Anything else whose destruction is slow and touches nothing of the loop's (an old Lua
  // interpreter after SCRIPT FLUSH ASYNC): destroyed on the helper, counted as nothing.
  void FreeObject(std::shared_ptr<void> obj);

  // Loop thread only.
  uint64_t pending() const {
    AssertOnLoop();
    return pending_;
  }
  uint64_t freed() const {
    AssertOnLoop();
    return freed_;
  }
  void ResetStats() {
    AssertOnLoop();
    freed_ = 0;
  }
  // Blocks until the helper thread has freed everything handed over so far (tests,
  // shutdown); the posted counter updates still arrive through the loop.
  void Drain();

 private:
  struct Job {
    Value value;
    std::unique_ptr<Table> table;
    std::shared_ptr<void> object;
    uint64_t objects = 0;
  };
  void Submit(Job job);

  bool async_ GUARDED_BY(loop_thread) = false;  // a post function is set: free on the helper
  uint64_t pending_ GUARDED_BY(loop_thread) = 0;
  uint64_t freed_ GUARDED_BY(loop_thread) = 0;
  // Last member: destroyed first (it frees what is still queued, then joins).
  TaskRunner runner_{"lazyfree", 1};
};

}  // namespace ferrite
