#include "keyspace/lazyfree.h"

#include <pthread.h>

#include <algorithm>

namespace ferrite {

LazyFree::~LazyFree() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LazyFree::FreeValue(Value v) {
  Job job;
  job.value = std::move(v);
  job.objects = 1;
  Submit(std::move(job));
}

void LazyFree::FreeTable(std::unique_ptr<Table> t) {
  Job job;
  job.objects = t->size();
  job.table = std::move(t);
  Submit(std::move(job));
}

void LazyFree::set_post(Post post) {
  std::lock_guard<std::mutex> lk(mu_);
  post_ = std::move(post);
}

void LazyFree::Submit(Job job) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!post_) {  // no loop to report to: free here
      freed_ += job.objects;
      return;
    }
  }
  pending_ += job.objects;
  {
    std::lock_guard<std::mutex> lk(mu_);
    queue_.push_back(std::move(job));
    if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  }
  cv_.notify_one();
}

void LazyFree::Run() {
  pthread_setname_np(pthread_self(), "lazyfree");
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left
    Job job = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lk.unlock();
    uint64_t n = job.objects;
    job.value = Value();
    job.table.reset();
    lk.lock();
    if (post_) {
      post_([this, n] {
        pending_ -= std::min(pending_, n);
        freed_ += n;
      });
    }
    busy_ = false;
    if (queue_.empty()) idle_cv_.notify_all();
  }
}

void LazyFree::Drain() {
  std::unique_lock<std::mutex> lk(mu_);
  idle_cv_.wait(lk, [&] { return queue_.empty() && !busy_; });
}

}  // namespace ferrite
