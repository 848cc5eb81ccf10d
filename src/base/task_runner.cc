#include "base/task_runner.h"

#include <pthread.h>

#include <utility>

namespace ferrite {

// A posted wake-up holds this, not the runner: the runner may be gone when it arrives.
struct TaskRunner::Shared {
  TaskRunner* runner GUARDED_BY(loop_thread);
};

TaskRunner::TaskRunner(std::string name, int threads)
    : name_(std::move(name)), max_threads_(threads < 1 ? 1 : threads) {
  shared_ = std::make_shared<Shared>();
  AssertOnLoop();
  shared_->runner = this;
}

TaskRunner::~TaskRunner() {
  Stop();
  AssertOnLoop();
  shared_->runner = nullptr;
}

void TaskRunner::SetPost(Post post) {
  Post wake;
  {
    MutexLock l(&mu_);
    post_ = std::move(post);
    if (!replies_.empty()) wake = TakeWake();
  }
  if (wake) wake(WakeFn());
}

void TaskRunner::Schedule(Task job, Task done) {
  MutexLock l(&mu_);
  jobs_.emplace_back(std::move(job), std::move(done));
  size_t busy = running_ + jobs_.size();
  if (threads_.size() < size_t(max_threads_) && busy > threads_.size()) {
    threads_.emplace_back([this] { WorkerLoop(); });
  }
  work_cv_.Signal();
}

void TaskRunner::Reply(Task fn) {
  Post wake;
  {
    MutexLock l(&mu_);
    replies_.push_back(std::move(fn));
    wake = TakeWake();
  }
  if (wake) wake(WakeFn());
}

TaskRunner::Post TaskRunner::TakeWake() {
  if (!post_ || wake_posted_) return {};
  wake_posted_ = true;
  return post_;
}

// Called outside mu_: a post function may run its argument at once (tests do).
std::function<void()> TaskRunner::WakeFn() const {
  return [weak = std::weak_ptr<Shared>(shared_)] {
    auto shared = weak.lock();
    if (!shared) return;
    AssertOnLoop();
    if (shared->runner) shared->runner->RunReplies();
  };
}

size_t TaskRunner::RunReplies() {
  std::deque<Task> ready;
  {
    MutexLock l(&mu_);
    wake_posted_ = false;
    ready.swap(replies_);
  }
  for (Task& fn : ready) fn();
  return ready.size();
}

size_t TaskRunner::pending() const {
  MutexLock l(&mu_);
  return jobs_.size() + running_;
}

void TaskRunner::WaitIdle() {
  MutexLock l(&mu_);
  while (!jobs_.empty() || running_ > 0) idle_cv_.Wait(&mu_);
}

void TaskRunner::Stop(bool drop_queued) {
  std::vector<std::thread> threads;
  std::deque<std::pair<Task, Task>> dropped;  // destroyed outside the lock
  {
    MutexLock l(&mu_);
    if (drop_queued) dropped.swap(jobs_);
    stop_ = true;
    work_cv_.SignalAll();
    threads.swap(threads_);
  }
  for (std::thread& t : threads) t.join();
  MutexLock l(&mu_);
  stop_ = false;
}

void TaskRunner::WorkerLoop() {
  pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
  for (;;) {
    Task job, done;
    {
      MutexLock l(&mu_);
      while (jobs_.empty() && !stop_) work_cv_.Wait(&mu_);
      if (jobs_.empty()) return;  // stopping, and nothing left to run
      job = std::move(jobs_.front().first);
      done = std::move(jobs_.front().second);
      jobs_.pop_front();
      running_++;
    }
    job();
    job = nullptr;  // whatever the job captured is released on its thread
    Post wake;
    if (done) {
      MutexLock l(&mu_);
      replies_.push_back(std::move(done));
      wake = TakeWake();
    }
    if (wake) wake(WakeFn());
    // Idle only once the reply is queued and the loop woken: WaitIdle() then sees both.
    MutexLock l(&mu_);
    running_--;
    idle_cv_.SignalAll();
  }
}

}  // namespace ferrite
