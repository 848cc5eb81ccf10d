// Blocking commands' engine side: parking sessions on keys, re-running their command when
// a key changes, timeouts. The handlers (list_family.cc, zset_family.cc) decide what
// "data is there" means; the engine only re-runs them in arrival order.

#include <algorithm>

#include "commands/engine.h"

namespace ferrite {

void Engine::BlockSession(Session& s, ArgList args, const std::vector<std::string>& keys,
                          int64_t deadline_ms, bool null_array_on_timeout) {
  if (s.reexec) {  // re-run found nothing: keep its place in the queues
    s.still_blocked = true;
    return;
  }
  s.blocked = true;
  s.block_db = s.db;
  s.block_deadline_ms = deadline_ms;
  s.block_null_array = null_array_on_timeout;
  s.block_keys = keys;
  s.block_argv.assign(args.begin(), args.end());
  for (const auto& k : keys) {
    auto& q = blocked_by_key_[{s.db, k}];
    if (std::find(q.begin(), q.end(), &s) == q.end()) q.push_back(&s);
  }
  blocked_.push_back(&s);
}

void Engine::UnblockSession(Session& s) {
  for (const auto& k : s.block_keys) {
    auto it = blocked_by_key_.find({s.block_db, k});
    if (it == blocked_by_key_.end()) continue;
    auto& q = it->second;
    q.erase(std::remove(q.begin(), q.end(), &s), q.end());
    if (q.empty()) blocked_by_key_.erase(it);
  }
  blocked_.erase(std::remove(blocked_.begin(), blocked_.end(), &s), blocked_.end());
  s.blocked = false;
  s.block_keys.clear();
  s.block_argv.clear();
  s.block_state.reset();
}

void Engine::SignalKeyAsReady(int db, std::string_view key) { SignalKeyReady(db, key); }

void Engine::SignalKeyReady(int db, std::string_view key) {
  std::pair<int, std::string> k{db, std::string(key)};
  if (!blocked_by_key_.count(k)) return;
  if (std::find(ready_keys_.begin(), ready_keys_.end(), k) == ready_keys_.end())
    ready_keys_.push_back(std::move(k));
}

void Engine::ServeReadyKeys() {
  if (serving_ready_) return;  // a re-run command's own Execute: the outer loop continues
  serving_ready_ = true;
  while (!ready_keys_.empty()) {
    auto key = std::move(ready_keys_.front());
    ready_keys_.erase(ready_keys_.begin());
    auto it = blocked_by_key_.find(key);
    if (it == blocked_by_key_.end()) continue;
    std::vector<Session*> queue = it->second;  // arrival order
    for (Session* s : queue) {
      if (!s->blocked) continue;
      std::vector<std::string> argv = s->block_argv;
      std::vector<std::string_view> views(argv.begin(), argv.end());
      ReplyBuilder rb(OutputOf(*s));
      rb.set_resp3(s->resp3);
      int saved_db = s->db;
      s->db = s->block_db;
      s->reexec = true;
      s->still_blocked = false;
      s->ready_key = key.second;
      Execute(*s, views, rb);
      s->reexec = false;
      s->ready_key.clear();
      s->db = saved_db;
      if (!s->still_blocked) {
        UnblockSession(*s);
        Wake(s);
      }
    }
  }
  serving_ready_ = false;
}

void Engine::ExpireBlocked(int64_t now_ms) {
  std::vector<Session*> expired;
  for (Session* s : blocked_)
    if (s->block_deadline_ms != 0 && s->block_deadline_ms <= now_ms) expired.push_back(s);
  for (Session* s : expired) {
    ReplyBuilder rb(OutputOf(*s));
    rb.set_resp3(s->resp3);
    if (s->block_null_array)
      rb.NullArray();
    else
      rb.Null();
    UnblockSession(*s);
    Wake(s);
  }
}

int64_t Engine::NextBlockDeadline() const {
  int64_t best = 0;
  for (const Session* s : blocked_)
    if (s->block_deadline_ms != 0 && (best == 0 || s->block_deadline_ms < best))
      best = s->block_deadline_ms;
  return best;
}

}  // namespace ferrite
