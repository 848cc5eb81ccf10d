#pragma once
// LazyFree: frees large values and whole emptied databases on a helper thread, as Redis's
// lazyfree (UNLINK, FLUSHALL/FLUSHDB ASYNC, the lazyfree-lazy-* options), so the loop
// does not stall on freeing millions of allocations.
//
// The loop hands an object over (it is already out of the keyspace); the helper thread
// destroys it and posts the count back to the loop through the loop's Post mechanism, so
// the counters INFO shows (lazyfree_pending_objects, lazyfreed_objects) are only ever
// touched by the loop thread. Without a post function (unit tests, before the server
// runs) objects are freed at once, on the caller's thread.
//
// What may be handed over: values and tables holding no tier-segment references (freeing
// those tells the tier manager, which lives on the loop); the caller checks.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

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

  // Loop thread only.
  uint64_t pending() const { return pending_; }
  uint64_t freed() const { return freed_; }
  void ResetStats() { freed_ = 0; }
  // Blocks until the helper thread has freed everything handed over so far (tests,
  // shutdown); the posted counter updates still arrive through the loop.
  void Drain();

 private:
  struct Job {
    Value value;
    std::unique_ptr<Table> table;
    uint64_t objects = 0;
  };
  void Submit(Job job);
  void Run();

  std::mutex mu_;
  Post post_;  // guarded by mu_
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<Job> queue_;
  bool busy_ = false;
  bool stop_ = false;
  std::thread thread_;
  uint64_t pending_ = 0;  // loop thread
  uint64_t freed_ = 0;    // loop thread
};

}  // namespace ferrite
