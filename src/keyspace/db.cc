#include "keyspace/db.h"

#include <random>

namespace ferrite {

Database::Database(int index, KeyspaceListener* listener, KeyspaceStats* stats)
    : index_(index), listener_(listener), stats_(stats), table_(std::make_unique<Table>()) {}

Entry* Database::FindNoTouch(std::string_view key, int64_t now_ms) {
  Entry* e = Peek(key, now_ms);
  if (e) {
    stats_->hits++;
  } else {
    stats_->misses++;
    if (listener_) listener_->OnKeyMiss(index_, key);
  }
  return e;
}

void Database::ExpireNow(Entry* e) {
  std::string key(e->key());
  Delete(e);
  stats_->expired_keys++;
  if (listener_) {
    listener_->OnKeyExpired(index_, key);
    listener_->OnKeyModified(index_, key);
  }
}

Entry* Database::Peek(std::string_view key, int64_t now_ms) {
  Entry* e = table_->Find(key, Table::Hash(key));
  if (e && IsExpired(*e, now_ms)) {
    if (listener_ && listener_->ExpiryPaused()) return nullptr;  // absent, not deleted
    ExpireNow(e);
    return nullptr;
  }
  return e;
}

Entry* Database::Find(std::string_view key, int64_t now_ms) {
  Entry* e = Peek(key, now_ms);
  if (e) {
    stats_->hits++;
    if (tier_hook_ && e->value.tiered()) tier_hook_->OnAccess(*this, e, false, now_ms);
    Touch(e, now_ms);
  } else {
    stats_->misses++;
    if (listener_) listener_->OnKeyMiss(index_, key);
  }
  return e;
}

Entry* Database::FindForWrite(std::string_view key, int64_t now_ms) {
  uint64_t h = Table::Hash(key);
  Entry* e = table_->FindForWrite(key, h);
  if (e && IsExpired(*e, now_ms)) {
    ExpireNow(e);
    return nullptr;
  }
  if (e) {
    if (tier_hook_ && e->value.tiered()) tier_hook_->OnAccess(*this, e, true, now_ms);
    Touch(e, now_ms);
  }
  return e;
}

Entry* Database::Insert(std::string_view key, Value value) {
  Entry* e = table_->Insert(Table::Hash(key), Entry(key, std::move(value)));
  if (listener_) listener_->OnKeyAdded(index_, key);
  return e;
}

Entry* Database::Set(std::string_view key, Value value, bool keep_ttl, int64_t now_ms) {
  uint64_t h = Table::Hash(key);
  Entry* e = table_->FindForWrite(key, h);
  if (e) {
    if (IsExpired(*e, now_ms)) keep_ttl = false;  // an expired key's TTL is not kept
    e->value = std::move(value);
    if (!keep_ttl) ClearExpire(e);
    Touch(e, now_ms);
    return e;
  }
  e = table_->Insert(h, Entry(key, std::move(value)));
  Touch(e, now_ms);
  if (listener_) listener_->OnKeyAdded(index_, key);
  return e;
}

bool Database::Delete(std::string_view key) {
  Entry* e = table_->FindForWrite(key, Table::Hash(key));
  if (!e) return false;
  Delete(e);
  return true;
}

void Database::Delete(Entry* e) {
  if (e->expire_ms) expires_--;
  table_->Erase(e);
}

void Database::SetExpire(Entry* e, int64_t when_ms) {
  if (!e->expire_ms) expires_++;
  e->expire_ms = when_ms == 0 ? 1 : when_ms;  // 0 means "none"; the epoch itself is past
}

void Database::ClearExpire(Entry* e) {
  if (e->expire_ms) {
    expires_--;
    e->expire_ms = 0;
  }
}

uint8_t Database::LfuDecayed(const Entry& e, int64_t now_ms) {
  // One point per lfu-decay-time elapsed minutes (Redis's LFUDecrAndReturn).
  if (lfu_decay_minutes_ <= 0) return e.lfu_counter;
  uint16_t now_min = static_cast<uint16_t>((now_ms / 60000) & 0xFFFF);
  uint16_t elapsed = static_cast<uint16_t>(now_min - e.lfu_minutes);
  int64_t periods = elapsed / lfu_decay_minutes_;
  return periods >= e.lfu_counter ? 0 : static_cast<uint8_t>(e.lfu_counter - periods);
}

void Database::Touch(Entry* e, int64_t now_ms) {
  if (now_ms < 0) return;
  e->lru = static_cast<uint32_t>(now_ms / 1000);
  // LFU: Redis's logarithmic increment with lfu-log-factor 10.
  uint8_t counter = LfuDecayed(*e, now_ms);
  if (counter < 255) {
    thread_local std::minstd_rand rng(12345);
    double r = double(rng() - rng.min()) / double(rng.max() - rng.min());
    double base = counter > 5 ? counter - 5 : 0;
    double p = 1.0 / (base * double(lfu_log_factor_) + 1);
    if (r < p) counter++;
  }
  e->lfu_counter = counter;
  e->lfu_minutes = static_cast<uint16_t>((now_ms / 60000) & 0xFFFF);
}

void Database::Clear() {
  table_->Clear();
  expires_ = 0;
  expire_cursor_ = 0;
}

std::unique_ptr<Table> Database::Detach() {
  auto old = table_->TakeAll();
  expires_ = 0;
  expire_cursor_ = 0;
  return old;
}

void Database::SwapWith(Database& other) {
  std::swap(table_, other.table_);
  std::swap(expires_, other.expires_);
  std::swap(expire_cursor_, other.expire_cursor_);
}

size_t Database::ActiveExpire(int64_t now_ms, size_t max_buckets, int64_t deadline_us,
                              const Clock* clock) {
  if (expires_ == 0) return 0;
  size_t expired = 0;
  std::vector<std::string> victims;
  for (size_t i = 0; i < max_buckets; i++) {
    victims.clear();
    expire_cursor_ = table_->Scan(expire_cursor_, [&](Entry& e) {
      if (IsExpired(e, now_ms)) victims.emplace_back(e.key());
    });
    for (auto& k : victims) {
      Entry* e = table_->FindForWrite(k, Table::Hash(k));
      if (e && IsExpired(*e, now_ms)) {
        ExpireNow(e);
        expired++;
      }
    }
    if (expire_cursor_ == 0 || expires_ == 0) break;
    if ((i & 15) == 15 && clock->MonotonicUs() > deadline_us) break;
  }
  return expired;
}

}  // namespace ferrite
