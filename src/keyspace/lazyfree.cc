#include "keyspace/lazyfree.h"

#include <algorithm>

namespace ferrite {

LazyFree::~LazyFree() = default;

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

void LazyFree::FreeObject(std::shared_ptr<void> obj) {
  Job job;
  job.object = std::move(obj);
  Submit(std::move(job));
}

void LazyFree::set_post(Post post) {
  AssertOnLoop();
  async_ = bool(post);
  runner_.SetPost(std::move(post));
}

void LazyFree::Submit(Job job) {
  AssertOnLoop();
  if (!async_) {  // no loop to report to: freed here, when job goes out of scope
    freed_ += job.objects;
    return;
  }
  uint64_t n = job.objects;
  pending_ += n;
  auto held = std::make_shared<Job>(std::move(job));
  runner_.Schedule(
      [held] {  // the last reference: the value or table is destroyed on the helper
        held->value = Value();
        held->table.reset();
        held->object.reset();
      },
      [this, n] {  // a reply: on the loop
        AssertOnLoop();
        pending_ -= std::min(pending_, n);
        freed_ += n;
      });
}

void LazyFree::Drain() { runner_.WaitIdle(); }

}  // namespace ferrite
