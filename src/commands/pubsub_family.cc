// Pub/sub: SUBSCRIBE/PSUBSCRIBE/UNSUBSCRIBE/PUNSUBSCRIBE, PUBLISH, PUBSUB. Messages go
// straight into subscribers' output buffers (RESP3 push frames, RESP2 arrays); the net
// layer flushes the sessions the engine woke.

#include <algorithm>

#include "commands/command_table.h"
#include "commands/family_util.h"

namespace ferrite {
namespace {

void Confirm(ReplyBuilder& rb, std::string_view kind, const std::string* channel, size_t count) {
  rb.PushHeader(3);
  rb.Bulk(kind);
  if (channel)
    rb.Bulk(*channel);
  else
    rb.Null();
  rb.Integer(int64_t(count));
}

void SubscribeCmd(CommandContext& ctx, bool pattern) {
  for (size_t i = 1; i < ctx.args.size(); i++) {
    std::string ch(ctx.args[i]);
    ctx.engine.Subscribe(ctx.session, ch, pattern);
    Confirm(ctx.rb, pattern ? "psubscribe" : "subscribe", &ch, ctx.session.subscriptions());
  }
}
void Subscribe(CommandContext& ctx) { SubscribeCmd(ctx, false); }
void PSubscribe(CommandContext& ctx) { SubscribeCmd(ctx, true); }

void UnsubscribeCmd(CommandContext& ctx, bool pattern) {
  const char* kind = pattern ? "punsubscribe" : "unsubscribe";
  std::vector<std::string> targets;
  if (ctx.args.size() > 1) {
    targets.assign(ctx.args.begin() + 1, ctx.args.end());
  } else {
    targets = pattern ? ctx.session.patterns : ctx.session.channels;
    if (targets.empty()) return Confirm(ctx.rb, kind, nullptr, ctx.session.subscriptions());
  }
  for (const auto& ch : targets) {
    ctx.engine.Unsubscribe(ctx.session, ch, pattern);
    Confirm(ctx.rb, kind, &ch, ctx.session.subscriptions());
  }
}
void Unsubscribe(CommandContext& ctx) { UnsubscribeCmd(ctx, false); }
void PUnsubscribe(CommandContext& ctx) { UnsubscribeCmd(ctx, true); }

void Publish(CommandContext& ctx) {
  ctx.rb.Integer(int64_t(ctx.engine.Publish(ctx.args[1], ctx.args[2])));
}

void PubSub(CommandContext& ctx) {
  auto& a = ctx.args;
  Engine& e = ctx.engine;
  if (ArgIs(a[1], "CHANNELS") && a.size() <= 3) {
    std::vector<std::string_view> out;
    for (auto& [ch, subs] : e.pubsub_channels())
      if (a.size() == 2 || GlobMatch(a[2], ch)) out.push_back(ch);
    ctx.rb.ArrayHeader(out.size());
    for (auto ch : out) ctx.rb.Bulk(ch);
  } else if (ArgIs(a[1], "NUMSUB")) {
    ctx.rb.ArrayHeader((a.size() - 2) * 2);  // a flat array in RESP3 too, as Redis
    for (size_t i = 2; i < a.size(); i++) {
      auto it = e.pubsub_channels().find(std::string(a[i]));
      ctx.rb.Bulk(a[i]);
      ctx.rb.Integer(it == e.pubsub_channels().end() ? 0 : int64_t(it->second.size()));
    }
  } else if (ArgIs(a[1], "NUMPAT") && a.size() == 2) {
    ctx.rb.Integer(int64_t(e.pubsub_patterns().size()));
  } else if (ArgIs(a[1], "SHARDCHANNELS") && a.size() <= 3) {
    ctx.rb.EmptyArray();
  } else if (ArgIs(a[1], "SHARDNUMSUB")) {
    ctx.rb.ArrayHeader((a.size() - 2) * 2);
    for (size_t i = 2; i < a.size(); i++) {
      ctx.rb.Bulk(a[i]);
      ctx.rb.Integer(0);
    }
  } else if (ArgIs(a[1], "HELP") && a.size() == 2) {
    const char* lines[] = {
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: "
        "'*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help."};
    ctx.rb.ArrayHeader(std::size(lines));
    for (const char* l : lines) ctx.rb.SimpleString(l);
  } else {
    ctx.rb.Error(err::SubcommandSyntax(a[1], "PUBSUB"));
  }
}

}  // namespace

void Engine::Subscribe(Session& s, std::string_view channel, bool pattern) {
  auto& mine = pattern ? s.patterns : s.channels;
  if (std::find(mine.begin(), mine.end(), channel) != mine.end()) return;
  mine.emplace_back(channel);
  (pattern ? patterns_ : channels_)[std::string(channel)].push_back(&s);
}

bool Engine::Unsubscribe(Session& s, std::string_view channel, bool pattern) {
  auto& mine = pattern ? s.patterns : s.channels;
  auto it = std::find(mine.begin(), mine.end(), channel);
  if (it == mine.end()) return false;
  mine.erase(it);
  auto& index = pattern ? patterns_ : channels_;
  auto m = index.find(std::string(channel));
  if (m != index.end()) {
    auto& subs = m->second;
    subs.erase(std::remove(subs.begin(), subs.end(), &s), subs.end());
    if (subs.empty()) index.erase(m);
  }
  return true;
}

size_t Engine::Publish(std::string_view channel, std::string_view message) {
  size_t receivers = 0;
  auto deliver = [&](Session* s, const std::string* pattern) {
    ReplyBuilder rb(OutputOf(*s));
    rb.set_resp3(s->resp3);
    rb.PushHeader(pattern ? 4 : 3);
    rb.Bulk(pattern ? "pmessage" : "message");
    if (pattern) rb.Bulk(*pattern);
    rb.Bulk(channel);
    rb.Bulk(message);
    Wake(s);
    ++receivers;
  };
  auto it = channels_.find(std::string(channel));
  if (it != channels_.end())
    for (Session* s : it->second) deliver(s, nullptr);
  for (auto& [pat, subs] : patterns_) {
    if (!GlobMatch(pat, channel)) continue;
    for (Session* s : subs) deliver(s, &pat);
  }
  return receivers;
}

void RegisterPubSubFamily(CommandTable& t) {
  using namespace cmd;
  const char* g = "pubsub";
  t.Add({
      .name = "subscribe",
      .arity = -2,
      .flags = kPubSub | kNoScript | kLoading | kStale,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = Subscribe,
      .group = g,
      .summary = "Listens for messages published to channels.",
      .since = "2.0.0",
      .acl_categories = "@pubsub @slow",
  });
  t.Add({
      .name = "psubscribe",
      .arity = -2,
      .flags = kPubSub | kNoScript | kLoading | kStale,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = PSubscribe,
      .group = g,
      .summary = "Listens for messages published to channels that match one or more patterns.",
      .since = "2.0.0",
      .acl_categories = "@pubsub @slow",
  });
  t.Add({
      .name = "unsubscribe",
      .arity = -1,
      .flags = kPubSub | kNoScript | kLoading | kStale,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = Unsubscribe,
      .group = g,
      .summary = "Stops listening to messages posted to channels.",
      .since = "2.0.0",
      .acl_categories = "@pubsub @slow",
  });
  t.Add({
      .name = "punsubscribe",
      .arity = -1,
      .flags = kPubSub | kNoScript | kLoading | kStale,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = PUnsubscribe,
      .group = g,
      .summary =
          "Stops listening to messages published to channels that match one or more patterns.",
      .since = "2.0.0",
      .acl_categories = "@pubsub @slow",
  });
  t.Add({
      .name = "publish",
      .arity = 3,
      .flags = kPubSub | kLoading | kStale | kFast | kMayReplicate,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = Publish,
      .group = g,
      .summary = "Posts a message to a channel.",
      .since = "2.0.0",
      .acl_categories = "@pubsub @fast",
  });
  t.Add({
      .name = "pubsub",
      .arity = -2,
      .flags = kPubSub | kLoading | kStale,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = PubSub,
      .group = g,
      .summary = "A container for Pub/Sub commands.",
      .since = "2.8.0",
      .acl_categories = "@pubsub @slow",
  });
}

}  // namespace ferrite
