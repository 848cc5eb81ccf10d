#pragma once
// Client-side caching (CLIENT TRACKING), with Redis 7.0's semantics (its tracking.c):
//
// - Default mode: the keys a tracking client reads with a read-only command (its key specs;
//   for a script, the script's declared keys once it runs a read-only command) go into the
//   tracking table, key -> client ids. The first change to such a key (any write, a
//   script's or a transaction's, expiry, eviction) sends each of those clients one
//   invalidation and forgets the key. The table is global, not per database, as Redis's.
// - BCAST mode: clients subscribe to key prefixes; every key changed under a prefix during
//   a loop iteration is collected and sent to the prefix's clients before the loop sleeps.
// - Messages: a RESP3 push `>2 invalidate [keys]` on the client's own connection, or on its
//   REDIRECT target; a RESP2 target gets a `message` on `__redis__:invalidate` if it is in
//   Pub/Sub mode. A flush (FLUSHDB, FLUSHALL) sends a null instead of the key array. A
//   redirect target that is gone marks the client broken and (RESP3) pushes
//   `tracking-redir-broken <id>`.
// - A change made by the client's own command while it executes is sent after its reply
//   (Redis's pending invalidations); NOLOOP skips changes the client made itself.
// - tracking-table-max-keys: over it, random keys leave the table and their clients are
//   invalidated, with an effort that grows while the table stays over the limit.
//
// Thread: the loop only, as the engine.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "commands/command.h"

namespace ferrite {

class Engine;
struct Session;

class Tracking {
 public:
  // CLIENT TRACKING options (Redis's CLIENT_TRACKING_* bits).
  enum Option : uint32_t { kBcast = 1, kOptIn = 2, kOptOut = 4, kNoLoop = 8 };

  explicit Tracking(Engine& engine) : engine_(engine) {}

  // CLIENT TRACKING ON (the options already checked against each other) / OFF.
  void Enable(Session& s, uint64_t redirect, uint32_t options,
              const std::vector<std::string_view>& prefixes);
  void Disable(Session& s);
  // Redis's checkPrefixCollisionsOrReply: the error text when a new prefix overlaps one the
  // client has, or another new one; empty when they do not.
  static std::string PrefixCollision(const Session& s,
                                     const std::vector<std::string_view>& prefixes);

  // After a read-only command of `caller` (a script's caller for a script's command): the
  // keys of `spec`/`args` are remembered for it, unless OPTIN/OPTOUT and CLIENT CACHING say
  // otherwise.
  void RememberKeys(Session& caller, const CommandSpec& spec, ArgList args);
  // A key changed. by_id: the session whose command changed it (0: the server, expiry or
  // eviction), remembered for NOLOOP in BCAST mode. bcast: false when the key only leaves
  // the table (tracking-table-max-keys) and BCAST clients must not hear of it.
  void InvalidateKey(std::string_view key, uint64_t by_id, bool bcast);
  // FLUSHDB / FLUSHALL: every tracking client is told that everything is invalid (a null),
  // and the table is emptied.
  void InvalidateOnFlush();
  // Sends what was held for s while its command executed (after its reply).
  void FlushPending(Session& s);
  // tracking-table-max-keys: evicts keys from the table while it is over the limit.
  void LimitUsedSlots();
  // Before the loop sleeps: the BCAST messages of this iteration.
  void BroadcastInvalidations();

  bool active() const { return clients_ > 0; }
  size_t clients() const { return clients_; }
  size_t total_keys() const { return table_.size(); }
  size_t total_items() const { return total_items_; }
  size_t total_prefixes() const { return prefixes_.size(); }

 private:
  // Sends one invalidation to c (or its redirect target): `payload` is a key (an array of
  // one is built) or, with proto, the RESP value to send as is.
  void Send(Session& c, std::string_view payload, bool proto);

  Engine& engine_;
  bool created_ = false;  // some client enabled tracking once (Redis's TrackingTable != NULL)
  size_t clients_ = 0;
  // key -> ids of the clients that may cache it (looked up by string_view: no copy per write)
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view k) const { return std::hash<std::string_view>{}(k); }
  };
  std::unordered_map<std::string, std::unordered_set<uint64_t>, KeyHash, std::equal_to<>> table_;
  size_t total_items_ = 0;
  struct Prefix {
    std::map<std::string, uint64_t> keys;  // changed this iteration -> who changed it last
    std::map<uint64_t, Session*> clients;  // subscribed BCAST clients, by id
  };
  std::map<std::string, Prefix> prefixes_;
  unsigned limit_rounds_ = 0;  // consecutive LimitUsedSlots calls that stayed over the limit
  uint64_t random_state_ = 0x9e3779b97f4a7c15ULL;
};

}  // namespace ferrite
