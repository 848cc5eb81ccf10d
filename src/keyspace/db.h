#pragma once
// Database: one of the numbered keyspaces (SELECT n). Owns a SegmentedTable of Entry and
// keeps what the table does not: expiry counts, lazy and active expiry, access stats.
//
// Thread: the loop only. Entry pointers returned here follow the table's rule: valid
// until the next insert/erase on this database.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "keyspace/entry.h"
#include "keyspace/segmented_table.h"

namespace ferrite {

using Table = SegmentedTable<Entry>;

// Implemented by the command layer: WATCH invalidation, expiry propagation, keyspace
// notifications, stats.
class KeyspaceListener {
 public:
  virtual ~KeyspaceListener() = default;
  virtual void OnKeyModified(int db, std::string_view key) = 0;
  virtual void OnKeyExpired(int db, std::string_view key) = 0;
  // A key that did not exist was added (the "new" keyspace event).
  virtual void OnKeyAdded(int db, std::string_view key) {
    (void)db;
    (void)key;
  }
  // A read found no key (the "keymiss" keyspace event).
  virtual void OnKeyMiss(int db, std::string_view key) {
    (void)db;
    (void)key;
  }
  // While true (CLIENT PAUSE), an expired key reads as absent but is not deleted: the
  // deletion would be a write, and writes are what the pause holds back.
  virtual bool ExpiryPaused() const { return false; }
};

class Database;
// Called when a command finds a key whose value lives in a tier segment (tier/), before
// the command sees it: the tier manager loads it back into RAM when the command writes it
// or it is read often, and otherwise leaves warm strings in place (zero-copy reads).
class TierAccessHook {
 public:
  virtual ~TierAccessHook() = default;
  virtual void OnAccess(Database& db, Entry* e, bool for_write, int64_t now_ms) = 0;
};

struct KeyspaceStats {
  uint64_t expired_keys = 0;
  uint64_t evicted_keys = 0;
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t expire_cycle_cpu_us = 0;
};

class Database {
 public:
  Database(int index, KeyspaceListener* listener, KeyspaceStats* stats);
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  int index() const { return index_; }
  size_t size() const { return table_->size(); }
  size_t expires() const { return expires_; }

  // Lookups. An expired key is deleted on the spot (as Redis does on a master) and the
  // listener is told, so the deletion reaches the AOF. now_ms < 0 disables expiry checks
  // (used while loading data).
  Entry* Find(std::string_view key, int64_t now_ms);
  Entry* FindForWrite(std::string_view key, int64_t now_ms);
  // A hint before a lookup of key (pipelined batches): see SegmentedTable::Prefetch.
  void Prefetch(std::string_view key) const { table_->Prefetch(Table::Hash(key)); }
  // Read without touching LRU/LFU or hit/miss stats (OBJECT, TYPE, TTL, EXISTS-like
  // introspection, as Redis's LOOKUP_NOTOUCH).
  Entry* Peek(std::string_view key, int64_t now_ms);
  // A read counted as a hit or miss (keyspace_hits/misses, the keymiss event) that leaves
  // the access time alone: EXISTS, TYPE, OBJECT.
  Entry* FindNoTouch(std::string_view key, int64_t now_ms);

  // Sets key to value; keeps or clears the TTL. Returns the entry.
  Entry* Set(std::string_view key, Value value, bool keep_ttl, int64_t now_ms);
  // Inserts an absent key (caller checked).
  Entry* Insert(std::string_view key, Value value);
  bool Delete(std::string_view key);
  void Delete(Entry* e);

  void SetExpire(Entry* e, int64_t when_ms);
  void ClearExpire(Entry* e);
  bool IsExpired(const Entry& e, int64_t now_ms) const {
    return e.expire_ms != 0 && ExpiredAt(e.expire_ms, now_ms);
  }
  // Whether a key expiring at when_ms is gone at now_ms. Never while loading (Redis's
  // rule: an AOF replay or checkpoint load applies no expiry, or `SET k 0 PXAT t` followed
  // by `INCR k` would replay as a counter without TTL); the engine deletes what expired
  // once the load is done.
  bool ExpiredAt(int64_t when_ms, int64_t now_ms) const {
    return !expiry_paused_ && now_ms >= 0 && when_ms <= now_ms;
  }
  void set_expiry_paused(bool paused) { expiry_paused_ = paused; }

  // Marks an entry as touched by a client read (LRU clock, LFU counter).
  void Touch(Entry* e, int64_t now_ms);
  // Redis's LFU: the counter after its decay (one point per lfu-decay-time minutes, 0 =
  // never), and the logarithmic increment (lfu-log-factor). Process-wide settings.
  static uint8_t LfuDecayed(const Entry& e, int64_t now_ms);
  static void SetLfuParams(int64_t log_factor, int64_t decay_minutes) {
    lfu_log_factor_ = log_factor;
    lfu_decay_minutes_ = decay_minutes;
  }

  // Notifies WATCHers that a key changed (every write command calls this via the context).
  void NotifyModified(std::string_view key) {
    if (listener_) listener_->OnKeyModified(index_, key);
  }

  uint64_t Scan(uint64_t cursor, const std::function<void(Entry&)>& fn) {
    return table_->Scan(cursor, fn);
  }
  Entry* RandomEntry(uint64_t random) { return table_->RandomEntry(random); }
  template <typename F>
  void ForEach(F&& fn) {
    table_->ForEach(std::forward<F>(fn));
  }

  void Clear();
  // Empties the database as Clear() does, handing its contents over (a lazy free frees them
  // on a helper thread). The new table keeps the old one's epoch and pre-mutation hook.
  std::unique_ptr<Table> Detach();
  void SwapWith(Database& other);  // SWAPDB: contents swap, indexes stay

  // Active expiry: walks up to max_buckets bucket positions from a saved cursor, deleting
  // expired keys; stops early when the time budget (monotonic us deadline) passes.
  // Returns the number of keys expired.
  size_t ActiveExpire(int64_t now_ms, size_t max_buckets, int64_t deadline_us, const Clock* clock);

  void set_tier_hook(TierAccessHook* h) { tier_hook_ = h; }

  Table& table() { return *table_; }
  size_t MemoryUsage() const { return table_->MemoryUsage(); }

 private:
  void ExpireNow(Entry* e);

  int index_;
  KeyspaceListener* listener_;
  KeyspaceStats* stats_;
  std::unique_ptr<Table> table_;
  TierAccessHook* tier_hook_ = nullptr;
  static inline int64_t lfu_log_factor_ = 10;
  static inline int64_t lfu_decay_minutes_ = 1;
  size_t expires_ = 0;
  bool expiry_paused_ = false;
  uint64_t expire_cursor_ = 0;
};

}  // namespace ferrite
