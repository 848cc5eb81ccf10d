#include "persistence/loader.h"

#include "tier/tier_manager.h"

namespace ferrite {

BackgroundLoader::BackgroundLoader(Engine* engine) : engine_(engine) {}

BackgroundLoader::~BackgroundLoader() {
  {
    MutexLock lk(&mu_);
    cancelled_ = true;
  }
  cv_.SignalAll();
  runner_.Stop();  // the producer sees the cancellation and ends
  if (session_) engine_->DropSession(session_);
}

void BackgroundLoader::Start(std::function<Status(BackgroundLoader&)> produce) {
  session_ = engine_->NewSession();
  session_->authenticated = true;
  session_->replaying = true;
  runner_.Schedule([this, produce = std::move(produce)] {
    Status st = produce(*this);
    Flush();
    MutexLock lk(&mu_);
    producer_done_ = true;
    produced_status_ = st;
    cv_.SignalAll();
  });
}

bool BackgroundLoader::Push(Item item) {
  filling_.push_back(std::move(item));
  if (filling_.size() >= kBatch) Flush();
  MutexLock lk(&mu_);
  return !cancelled_;
}

void BackgroundLoader::Flush() {
  if (filling_.empty()) return;
  MutexLock lk(&mu_);
  while (batches_.size() >= kMaxBatches && !cancelled_) cv_.Wait(&mu_);
  if (cancelled_) {
    filling_.clear();
    return;
  }
  batches_.push_back(std::move(filling_));
  filling_.clear();
  filling_.reserve(kBatch);
  cv_.SignalAll();
}

bool BackgroundLoader::PushKey(uint32_t db, std::string_view key, Value value, int64_t expire_ms) {
  Item it;
  it.db = db;
  it.key.assign(key);
  it.value = std::move(value);
  it.expire_ms = expire_ms;
  return Push(std::move(it));
}

bool BackgroundLoader::PushTierRef(uint32_t db, std::string_view key, uint8_t type,
                                   std::string_view ref, int64_t expire_ms) {
  Item it;
  it.db = db;
  it.key.assign(key);
  it.tier_ref.assign(ref);
  it.tier_type = type;
  it.expire_ms = expire_ms;
  return Push(std::move(it));
}

bool BackgroundLoader::PushCommand(ArgList args, bool must_succeed) {
  Item it;
  it.is_command = true;
  it.must_succeed = must_succeed;
  it.argv.assign(args.begin(), args.end());
  return Push(std::move(it));
}

void BackgroundLoader::Fail(Status st) {
  {
    MutexLock lk(&mu_);
    cancelled_ = true;
  }
  cv_.SignalAll();
  done_ = true;
  status_ = std::move(st);
}

bool BackgroundLoader::Step(int64_t budget_us) {
  if (done_) return true;
  Clock* clock = engine_->clock();
  int64_t deadline = clock->MonotonicUs() + budget_us;
  ReplyBuilder rb(&scratch_out_);
  std::vector<std::string_view> views;
  while (clock->MonotonicUs() < deadline) {
    std::vector<Item> batch;
    {
      MutexLock lk(&mu_);
      if (batches_.empty()) {
        if (producer_done_) {
          done_ = true;
          status_ = produced_status_;
          return true;
        }
        // Wait briefly for the producer rather than spin; the loop comes back soon.
        cv_.WaitFor(&mu_, std::chrono::milliseconds(2));
        if (batches_.empty()) continue;
      }
      batch = std::move(batches_.front());
      batches_.pop_front();
    }
    cv_.SignalAll();
    for (Item& it : batch) {
      if (it.is_command) {
        views.assign(it.argv.begin(), it.argv.end());
        scratch_out_.clear();
        engine_->Execute(*session_, views, rb);
        ++commands_;
        if (it.must_succeed && !scratch_out_.empty() && scratch_out_[0] == '-') {
          size_t end = scratch_out_.find('\r');
          Fail(
              Status::Corruption(scratch_out_.substr(1, end == std::string::npos ? end : end - 1)));
          return true;
        }
      } else {
        Database& db = engine_->db(int(it.db));
        if (!it.tier_ref.empty()) {  // the value stays in its tier segment
          auto v = engine_->tier()
                       ? engine_->tier()->AdoptRef(it.tier_type, it.tier_ref, it.key)
                       : Result<Value>(Status::NotSupported(
                             "key '" + it.key +
                             "' is in a tier segment but tiered storage is not set up"));
          if (!v.ok()) {
            Fail(Status::Corruption("Cannot load the checkpoint: " + v.status().message()));
            return true;
          }
          it.value = std::move(v.value());
        }
        if (duplicates_ != Duplicates::kAbsent && db.Peek(it.key, -1)) {
          if (duplicates_ == Duplicates::kFail) {
            Fail(Status::Corruption("duplicated key '" + it.key.substr(0, 64) + "' in DB " +
                                    std::to_string(it.db)));
            return true;
          }
          db.Delete(it.key);
        }
        Entry* e = db.Insert(it.key, std::move(it.value));
        if (it.expire_ms) db.SetExpire(e, it.expire_ms);
        ++keys_;
      }
    }
  }
  return false;
}

}  // namespace ferrite
