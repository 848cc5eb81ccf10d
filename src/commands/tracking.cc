#include "commands/tracking.h"

#include <fmt/format.h>

#include <cstring>

#include "commands/command_table.h"
#include "commands/engine.h"
#include "commands/session.h"

namespace ferrite {
namespace {

// Redis's stringCheckPrefix: two prefixes overlap when the shorter starts the longer.
bool Overlap(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  return std::memcmp(a.data(), b.data(), n) == 0;
}

void AppendBulk(std::string& out, std::string_view s) {
  out += '$';
  out += std::to_string(s.size());
  out += "\r\n";
  out.append(s);
  out += "\r\n";
}

// The RESP null each protocol uses (Redis's shared.null[resp]).
std::string_view NullOf(const Session& s) { return s.resp3 ? "_\r\n" : "$-1\r\n"; }

}  // namespace

void Tracking::Enable(Session& s, uint64_t redirect, uint32_t options,
                      const std::vector<std::string_view>& prefixes) {
  auto& t = s.tracking;
  if (!t.on) clients_++;
  created_ = true;
  t.on = true;
  t.broken_redir = t.bcast = t.optin = t.optout = t.noloop = false;
  t.redirect = redirect;
  auto subscribe = [&](std::string_view p) {
    Prefix& bs = prefixes_[std::string(p)];
    if (bs.clients.emplace(s.id, &s).second) t.prefixes.emplace(p);
  };
  if (options & kBcast) {
    t.bcast = true;
    if (prefixes.empty()) subscribe("");
    for (auto p : prefixes) subscribe(p);
  }
  t.optin = (options & kOptIn) != 0;
  t.optout = (options & kOptOut) != 0;
  t.noloop = (options & kNoLoop) != 0;
}

void Tracking::Disable(Session& s) {
  auto& t = s.tracking;
  if (t.bcast) {
    for (auto& p : t.prefixes) {
      auto it = prefixes_.find(p);
      if (it == prefixes_.end()) continue;
      it->second.clients.erase(s.id);
      if (it->second.clients.empty()) prefixes_.erase(it);  // the last client of the prefix
    }
    t.prefixes.clear();
  }
  if (t.on) {
    clients_--;
    t.on = t.broken_redir = t.bcast = t.optin = t.optout = t.caching = t.noloop = false;
  }
}

std::string Tracking::PrefixCollision(const Session& s,
                                      const std::vector<std::string_view>& prefixes) {
  for (size_t i = 0; i < prefixes.size(); i++) {
    for (auto& have : s.tracking.prefixes) {
      if (Overlap(have, prefixes[i])) {
        return fmt::format(
            "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single "
            "client must not overlap.",
            prefixes[i], have);
      }
    }
    for (size_t j = i + 1; j < prefixes.size(); j++) {
      if (Overlap(prefixes[i], prefixes[j])) {
        // Redis reports this one but goes on enabling tracking when i > 0 (it returns i as
        // its success flag), answering twice; Ferrite answers the error alone.
        return fmt::format(
            "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a "
            "single client must not overlap.",
            prefixes[i], prefixes[j]);
      }
    }
  }
  return {};
}

void Tracking::RememberKeys(Session& caller, const CommandSpec& spec, ArgList args) {
  const auto& t = caller.tracking;
  if ((t.optin && !t.caching) || (t.optout && t.caching)) return;
  if (spec.flags & cmd::kPubSub) return;  // shard channels are not keys to cache
  for (int pos : CommandTable::KeyPositions(spec, args)) {
    if (pos < 0 || size_t(pos) >= args.size()) continue;
    auto [it, added] = table_.try_emplace(std::string(args[size_t(pos)]));
    (void)added;
    if (it->second.insert(caller.id).second) total_items_++;
  }
}

void Tracking::Send(Session& c, std::string_view payload, bool proto) {
  Session* target = &c;
  bool redirected = false;
  if (c.tracking.redirect) {
    Session* r = engine_.FindSession(c.tracking.redirect);
    if (!r) {
      // The redirect target is gone: the client learns it (RESP3 only), nothing is sent.
      c.tracking.broken_redir = true;
      if (c.resp3) {
        std::string* out = engine_.OutputOf(c);
        out->append(">2\r\n");
        AppendBulk(*out, "tracking-redir-broken");
        out->append(fmt::format(":{}\r\n", c.tracking.redirect));
        engine_.Wake(&c);
      }
      return;
    }
    target = r;
    redirected = true;
  }
  std::string* out = engine_.OutputOf(*target);
  if (target->resp3) {
    out->append(">2\r\n$10\r\ninvalidate\r\n");
  } else if (redirected && target->subscriptions() > 0) {
    out->append("*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n");
  } else {
    return;  // a RESP2 connection cannot take a push between replies
  }
  if (proto) {
    out->append(payload);
  } else {
    out->append("*1\r\n");
    AppendBulk(*out, payload);
  }
  engine_.Wake(target);
}

void Tracking::InvalidateKey(std::string_view key, uint64_t by_id, bool bcast) {
  if (!created_) return;
  if (bcast && !prefixes_.empty()) {
    for (auto& [prefix, bs] : prefixes_) {
      if (key.size() < prefix.size() || key.compare(0, prefix.size(), prefix) != 0) continue;
      bs.keys[std::string(key)] = by_id;
    }
  }
  auto it = table_.find(key);
  if (it == table_.end()) return;
  // Taken out first: sending may not re-enter, but the table must not be walked while a
  // message is written.
  std::unordered_set<uint64_t> ids = std::move(it->second);
  table_.erase(it);
  total_items_ -= ids.size();
  Session* current = engine_.current_session();
  for (uint64_t id : ids) {
    Session* target = engine_.FindSession(id);
    // A client that left tracking, or switched to BCAST since it read the key, is not told.
    if (!target || !target->tracking.on || target->tracking.bcast) continue;
    if (target->tracking.noloop && target == current) continue;
    if (target == current && engine_.in_call()) {
      // Its own command changed the key: the message follows the reply.
      target->tracking.pending.emplace_back(std::string(key));
    } else {
      Send(*target, key, false);
    }
  }
}

void Tracking::FlushPending(Session& s) {
  auto pending = std::move(s.tracking.pending);
  s.tracking.pending.clear();
  for (auto& p : pending) {
    if (p)
      Send(s, *p, false);
    else
      Send(s, NullOf(s), true);
  }
}

void Tracking::InvalidateOnFlush() {
  if (clients_ > 0) {
    Session* current = engine_.current_session();
    for (auto& [id, s] : engine_.sessions()) {
      if (!s->tracking.on) continue;
      if (s == current)
        s->tracking.pending.emplace_back(std::nullopt);
      else
        Send(*s, NullOf(*s), true);
    }
  }
  if (created_) {
    table_.clear();
    total_items_ = 0;
  }
}

void Tracking::LimitUsedSlots() {
  if (!created_) return;
  int64_t max = engine_.config().server.tracking_table_max_keys;
  if (max <= 0) return;  // no limit
  if (table_.size() <= size_t(max)) {
    limit_rounds_ = 0;
    return;
  }
  // Redis's effort: 100 keys more for every call that ended still over the limit.
  int effort = 100 * int(limit_rounds_ + 1);
  while (effort-- > 0 && !table_.empty()) {
    // A random key: a random bucket, then the next non-empty one.
    random_state_ ^= random_state_ << 13;
    random_state_ ^= random_state_ >> 7;
    random_state_ ^= random_state_ << 17;
    size_t nb = table_.bucket_count();
    size_t b = size_t(random_state_ % nb);
    std::string key;
    for (size_t i = 0; i < nb; i++, b = (b + 1) % nb) {
      if (table_.bucket_size(b) > 0) {
        key = table_.begin(b)->first;
        break;
      }
    }
    InvalidateKey(key, 0, false);
    if (table_.size() <= size_t(max)) {
      limit_rounds_ = 0;
      return;
    }
  }
  limit_rounds_++;
}

void Tracking::BroadcastInvalidations() {
  if (!created_ || clients_ == 0) return;
  for (auto& [prefix, bs] : prefixes_) {
    if (bs.keys.empty()) continue;
    std::string all = fmt::format("*{}\r\n", bs.keys.size());
    for (auto& [k, by] : bs.keys) AppendBulk(all, k);
    // Sending never changes the prefix's clients; copied anyway so it cannot matter.
    std::vector<Session*> clients;
    for (auto& [id, c] : bs.clients) clients.push_back(c);
    for (Session* c : clients) {
      if (!c->tracking.noloop) {
        Send(*c, all, true);
        continue;
      }
      // NOLOOP: without the keys this client changed last; nothing if that leaves none.
      size_t n = 0;
      for (auto& [k, by] : bs.keys) n += by != c->id;
      if (n == 0) continue;
      std::string mine = fmt::format("*{}\r\n", n);
      for (auto& [k, by] : bs.keys) {
        if (by != c->id) AppendBulk(mine, k);
      }
      Send(*c, mine, true);
    }
    bs.keys.clear();
  }
}

}  // namespace ferrite
