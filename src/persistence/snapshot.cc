#include "persistence/snapshot.h"

namespace ferrite {

Snapshot::Snapshot(Engine* engine, Clock* clock, Emit emit)
    : engine_(engine), clock_(clock), emit_(std::move(emit)) {}

Snapshot::~Snapshot() { Stop(); }

void Snapshot::Start(uint64_t epoch) {
  tables_.clear();
  next_table_ = 0;
  for (int i = 0; i < engine_->db_count(); i++) {
    Table* t = &engine_->db(i).table();
    tables_.push_back({t, i, 0, t->clears()});
    t->set_epoch(epoch);
    int db = i;
    t->SetPreMutationHook([this, db](Table::BucketView v) {
      v.for_each([&](const Entry& e) {
        emitted_++;
        emit_(db, e);
      });
    });
  }
  active_ = true;
}

bool Snapshot::Step(int64_t budget_us, size_t max_buckets) {
  int64_t deadline = clock_->MonotonicUs() + budget_us;
  auto take = [this](size_t idx) {
    return [this, idx](Table::BucketView v) {
      v.for_each([&](const Entry& e) {
        emitted_++;
        emit_(tables_[idx].db, e);
      });
    };
  };
  while (next_table_ < tables_.size()) {
    Frozen& f = tables_[next_table_];
    auto fn = take(next_table_);
    for (int n = 0;; n++) {
      f.cursor = f.table->TraverseBuckets(f.cursor, fn);
      if (f.cursor == 0) break;
      if (--max_buckets == 0) return false;
      if ((n & 15) == 15 && clock_->MonotonicUs() > deadline) return false;
    }
    next_table_++;
    if (--max_buckets == 0 || clock_->MonotonicUs() > deadline) return done();
  }
  return true;
}

bool Snapshot::invalidated() const {
  for (const Frozen& f : tables_) {
    if (f.table->clears() != f.clears) return true;
  }
  return false;
}

void Snapshot::Stop() {
  if (!active_) return;
  for (Frozen& f : tables_) f.table->SetPreMutationHook(nullptr);
  active_ = false;
}

}  // namespace ferrite
