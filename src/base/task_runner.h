#pragma once
// TaskRunner: the one way Ferrite runs work off the loop thread (Redis's bio.c, leveldb's
// Env::Schedule). A job runs on one of the runner's helper threads; what it produced comes
// back to the loop thread as a reply closure, and only replies touch loop-owned state.
//
//   runner.Schedule([file] { return file->SyncData(); },              // helper thread
//                   [this](Status st) { AfterFsync(st); });           // loop thread
//
// Contracts:
// - Jobs start in the order they were scheduled; with one thread they also finish in it
//   (a single-threaded runner is a FIFO: a job scheduled after others sees their effects).
// - A job must not touch loop-owned state; it gets copies, or objects handed over to it
//   (shared_ptr to an open file, a value out of the keyspace), and hands results back.
// - Replies run on the loop thread, in the order the jobs produced them. They wait in the
//   runner; with a post function (the loop's NetServer::Post, set when the server runs)
//   the loop is woken to run them, without one (unit tests, tools, start-up) they run when
//   the owner calls RunReplies(). The owner may also run them itself at any time (SAVE
//   waits for its job with WaitIdle() and then RunReplies()).
// - Destroying the runner (on the loop thread) lets the queued jobs finish, joins the
//   threads and drops replies not yet run: an owner destroyed with work in flight is never
//   called back.

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/thread_annotations.h"

namespace ferrite {

class TaskRunner {
 public:
  using Task = std::function<void()>;
  using Post = std::function<void(std::function<void()>)>;

  // name: the helper threads' name (ps, top, gdb; at most 15 characters). threads: how
  // many jobs run at once. Threads start with the first job.
  explicit TaskRunner(std::string name, int threads = 1);
  ~TaskRunner();
  TaskRunner(const TaskRunner&) = delete;
  TaskRunner& operator=(const TaskRunner&) = delete;

  // How replies reach the loop: a function that runs its argument on the loop thread soon
  // and may be called from any thread (NetServer::Post). Empty: replies wait for
  // RunReplies(). Set and cleared on the loop thread.
  void SetPost(Post post) EXCLUDES(mu_);

  // Runs job on a helper thread, then done (if given) on the loop thread.
  void Schedule(Task job, Task done = {}) EXCLUDES(mu_);
  // Typed form: done(job()).
  template <class R>
  void Schedule(std::function<R()> job, std::function<void(R)> done) {
    auto result = std::make_shared<R>();
    Schedule([result, job = std::move(job)] { *result = job(); },
             [result, done = std::move(done)] { done(std::move(*result)); });
  }

  // Any thread (a job reporting progress, or the loop deferring work of its own): fn runs
  // on the loop thread, after the replies already waiting.
  void Reply(Task fn) EXCLUDES(mu_);

  // Loop thread: runs the replies waiting now. Returns how many ran.
  size_t RunReplies() EXCLUDES(mu_);
  // Jobs scheduled and not yet finished (their replies may still be waiting).
  size_t pending() const EXCLUDES(mu_);
  // Blocks until every job scheduled so far has finished (SAVE, shutdown, tests); never
  // call it from one of this runner's own jobs. Replies are left for RunReplies().
  void WaitIdle() EXCLUDES(mu_);
  // Lets the queued jobs finish (drop_queued: drops those not started, and their
  // replies) and joins the threads; later Schedule() calls start them again. Replies
  // already waiting are kept.
  void Stop(bool drop_queued = false) EXCLUDES(mu_);

 private:
  struct Shared;  // what posted wake-ups may reach after the runner is gone
  void WorkerLoop() EXCLUDES(mu_);
  // The post function, if a wake-up must be posted now (none is on its way); call it
  // with WakeFn() after releasing mu_.
  Post TakeWake() REQUIRES(mu_);
  std::function<void()> WakeFn() const;

  const std::string name_;
  const int max_threads_;
  mutable Mutex mu_;
  CondVar work_cv_;  // a job was queued, or stop
  CondVar idle_cv_;  // a job finished
  std::deque<std::pair<Task, Task>> jobs_ GUARDED_BY(mu_);
  size_t running_ GUARDED_BY(mu_) = 0;
  bool stop_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_ GUARDED_BY(mu_);
  Post post_ GUARDED_BY(mu_);
  std::deque<Task> replies_ GUARDED_BY(mu_);
  bool wake_posted_ GUARDED_BY(mu_) = false;  // a RunReplies call is on its way to the loop
  std::shared_ptr<Shared> shared_;
};

}  // namespace ferrite
