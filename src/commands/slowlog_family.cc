// SLOWLOG and LATENCY: the engine's records of slow commands and latency spikes, and
// the commands that read them, as Redis 7.0 has them.
//
// Engine::Call times every command and calls SlowlogPush / RecordLatency when the
// configured thresholds say so; other subsystems (the AOF, checkpoints) add their own
// LATENCY events through Engine::RecordLatency.

#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include "commands/family_util.h"

namespace ferrite {
namespace {

constexpr size_t kSlowlogMaxArgc = 32;     // SLOWLOG_ENTRY_MAX_ARGC
constexpr size_t kSlowlogMaxString = 128;  // SLOWLOG_ENTRY_MAX_STRING
constexpr const char* kRedacted = "(redacted)";

}  // namespace

// Arguments Redis replaces with "(redacted)" before they reach the slow log and MONITOR:
// passwords of AUTH, HELLO ... AUTH, MIGRATE ... AUTH / AUTH2 and CONFIG SET of a secret.
bool RedactedArgument(const CommandSpec& spec, ArgList args, size_t j) {
  std::string_view name = spec.name;
  if (name == "auth") return j >= 1;
  if ((name == "acl" || name == "acl|setuser") && args.size() > 2 && ArgIs(args[1], "SETUSER"))
    return j >= 2;        // a user's rules may hold passwords
  if (name == "hello") {  // HELLO protover [AUTH user pass] [SETNAME name]
    for (size_t i = 2; i + 2 < args.size() && i < j; i++) {
      if (ArgIs(args[i], "AUTH")) {
        if (j == i + 1 || j == i + 2) return true;
        i += 2;
      } else if (ArgIs(args[i], "SETNAME")) {
        i += 1;
      }
    }
    return false;
  }
  if (name == "migrate") {  // MIGRATE ... [AUTH password] [AUTH2 username password] [KEYS ...]
    for (size_t i = 6; i < args.size() && i < j; i++) {
      if (ArgIs(args[i], "KEYS")) return false;
      if (ArgIs(args[i], "AUTH")) {
        if (j == i + 1) return true;
        i += 1;
      } else if (ArgIs(args[i], "AUTH2")) {
        if (j == i + 1 || j == i + 2) return true;
        i += 2;
      }
    }
    return false;
  }
  if ((name == "config" || name == "config|set") && args.size() > 1 && ArgIs(args[1], "SET") &&
      j >= 3 && j % 2 == 1) {
    return ArgIs(args[j - 1], "requirepass") || ArgIs(args[j - 1], "masterauth") ||
           ArgIs(args[j - 1], "masteruser");
  }
  return false;
}

namespace {

// Redis's addReplyHelp: a title, the lines, then HELP.
void ReplyHelp(CommandContext& ctx, std::string_view cmd,
               std::initializer_list<const char*> lines) {
  ctx.rb.ArrayHeader(lines.size() + 3);
  ctx.rb.SimpleString(std::string(cmd) +
                      " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
  for (const char* l : lines) ctx.rb.SimpleString(l);
  ctx.rb.SimpleString("HELP");
  ctx.rb.SimpleString("    Prints this help.");
}

// Redis 7's container commands check a subcommand's arity before running it.
bool SubArity(CommandContext& ctx, std::string_view cmd, std::string_view sub, int arity) {
  int n = int(ctx.args.size());
  if (arity > 0 ? n == arity : n >= -arity) return true;
  std::string full = fmt::format("{}|{}", cmd, sub);
  for (auto& c : full) c = char(tolower(static_cast<unsigned char>(c)));
  ctx.rb.Error(err::WrongArity(full));
  return false;
}

std::string SubcommandSyntaxError(std::string_view sub, std::string_view cmd) {
  return fmt::format("ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
                     sub.substr(0, 128), cmd);
}

void Slowlog(CommandContext& ctx) {
  auto& a = ctx.args;
  std::string_view sub = a[1];
  auto& log = ctx.engine.slowlog();
  if (ArgIs(sub, "GET")) {
    if (!SubArity(ctx, "slowlog", "get", -2)) return;
    if (a.size() > 3) return ctx.rb.Error(SubcommandSyntaxError(sub, "SLOWLOG"));
    int64_t count = 10;
    if (a.size() == 3) {
      if (!ParseInt64(a[2], &count) || count < -1) {
        return ctx.rb.Error("ERR count should be greater than or equal to -1");
      }
      if (count == -1) count = int64_t(log.size());
    }
    count = std::min<int64_t>(count, int64_t(log.size()));
    ctx.rb.ArrayHeader(size_t(count));
    for (int64_t i = 0; i < count; i++) {
      const SlowlogEntry& e = log[size_t(i)];
      ctx.rb.ArrayHeader(6);
      ctx.rb.Integer(e.id);
      ctx.rb.Integer(e.time);
      ctx.rb.Integer(e.duration_us);
      ctx.rb.ArrayHeader(e.argv.size());
      for (auto& arg : e.argv) ctx.rb.Bulk(arg);
      ctx.rb.Bulk(e.addr);
      ctx.rb.Bulk(e.name);
    }
    return;
  }
  if (ArgIs(sub, "LEN")) {
    if (!SubArity(ctx, "slowlog", "len", 2)) return;
    return ctx.rb.Integer(int64_t(log.size()));
  }
  if (ArgIs(sub, "RESET")) {
    if (!SubArity(ctx, "slowlog", "reset", 2)) return;
    log.clear();
    return ctx.rb.Ok();
  }
  if (ArgIs(sub, "HELP")) {
    if (!SubArity(ctx, "slowlog", "help", 2)) return;
    return ReplyHelp(
        ctx, "SLOWLOG",
        {"GET [<count>]",
         "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
         "    Entries are made of:",
         "    id, timestamp, time in microseconds, arguments array, client IP and port,",
         "    client name", "LEN", "    Return the length of the slowlog.", "RESET",
         "    Reset the slowlog."});
  }
  ctx.rb.Error(err::UnknownSubcommand(sub, "SLOWLOG"));
}

void ReplySamples(CommandContext& ctx, const LatencySeries& ts) {
  size_t n = 0;
  for (const auto& smp : ts.samples) n += smp.time != 0;
  ctx.rb.ArrayHeader(n);
  for (int j = 0; j < LatencySeries::kLen; j++) {  // oldest first
    const auto& smp = ts.samples[(ts.idx + j) % LatencySeries::kLen];
    if (smp.time == 0) continue;
    ctx.rb.ArrayHeader(2);
    ctx.rb.Integer(smp.time);
    ctx.rb.Integer(smp.latency);
  }
}

// LATENCY DOCTOR: for each event with recorded spikes, how many, their average and mean
// deviation, how often they came and the worst ever; then what usually helps.
std::string LatencyDoctorReport(const std::map<std::string, LatencySeries>& events) {
  if (events.empty()) {
    return "No latency spike was observed since this Ferrite instance started or since the "
           "last LATENCY RESET (a spike is an event taking at least latency-monitor-threshold "
           "milliseconds; 0 turns the monitor off).\n";
  }
  std::string out =
      "Latency spikes were observed in this Ferrite instance. Per event, from the samples "
      "kept (the last 160 seconds with a spike):\n\n";
  int n = 0;
  bool command_events = false, expire_events = false, disk_events = false;
  for (auto& [name, ts] : events) {
    int64_t count = 0, sum = 0, first = 0, last = 0;
    for (const auto& smp : ts.samples) {
      if (smp.time == 0) continue;
      count++;
      sum += smp.latency;
      if (first == 0 || smp.time < first) first = smp.time;
      last = std::max(last, smp.time);
    }
    if (count == 0) continue;
    double avg = double(sum) / double(count), dev = 0;
    for (const auto& smp : ts.samples) {
      if (smp.time != 0) dev += std::abs(double(smp.latency) - avg);
    }
    dev /= double(count);
    double period = count > 1 ? double(last - first) / double(count - 1) : 0;
    out += fmt::format(
        "{}. {}: {} latency spikes (average {:.0f}ms, mean deviation {:.0f}ms, period {:.2f} "
        "sec). Worst all time event {}ms.\n",
        ++n, name, count, avg, dev, period, ts.max);
    command_events |= name == "command" || name == "fast-command";
    expire_events |= name == "expire-cycle";
    disk_events |=
        name.rfind("aof", 0) == 0 || name.rfind("checkpoint", 0) == 0 || name.rfind("tier", 0) == 0;
  }
  out += "\nWhat usually helps:\n\n";
  if (command_events) {
    out +=
        "- Slow commands: SLOWLOG GET names them. Commands over large collections (KEYS, "
        "SMEMBERS, HGETALL, LRANGE 0 -1, SORT …) take time in proportion to their size; "
        "SCAN-family commands split the work.\n";
  }
  if (expire_events) {
    out +=
        "- Expiry cycles: many keys expiring at once; a higher hz spreads the work over "
        "more, shorter cycles.\n";
  }
  if (disk_events) {
    out +=
        "- Disk: AOF writes and fsyncs, checkpoint slices or tier moves waited for the "
        "disk; a faster disk or appendfsync everysec shortens the waits.\n";
  }
  out += "- A loaded machine delays every event: check what else runs on it.\n";
  return out;
}

// LATENCY HISTOGRAM [command …]: per command (a container's subcommands for a container
// name) with calls, {"calls": n, "histogram_usec": {bound: cumulative count, …}}.
void LatencyHistogramReply(CommandContext& ctx) {
  auto& a = ctx.args;
  auto& stats = ctx.engine.command_stats();
  std::vector<std::pair<std::string_view, const CommandStats*>> rows;
  auto add = [&](const CommandSpec* c) {
    auto it = stats.find(c);
    if (it != stats.end() && it->second.latency.count() > 0)
      rows.emplace_back(c->name, &it->second);
  };
  const CommandTable& t = ctx.engine.commands();
  if (a.size() == 2) {
    for (const CommandSpec* c : t.All()) {
      add(c);
      for (const CommandSpec* sub : c->subcommands) add(sub);
    }
  } else {
    for (size_t i = 2; i < a.size(); i++) {
      std::string_view name = a[i];
      size_t bar = name.find('|');
      const CommandSpec* c = t.Find(name.substr(0, bar));
      if (c && bar != std::string_view::npos) c = c->FindSubcommand(name.substr(bar + 1));
      if (!c) continue;
      if (c->subcommands.empty()) {
        add(c);
      } else {
        for (const CommandSpec* sub : c->subcommands) add(sub);
      }
    }
  }
  ctx.rb.MapHeader(rows.size());
  for (auto& [name, st] : rows) {
    ctx.rb.Bulk(name);
    ctx.rb.MapHeader(2);
    ctx.rb.Bulk("calls");
    ctx.rb.Integer(int64_t(st->latency.count()));
    ctx.rb.Bulk("histogram_usec");
    auto cdf = st->latency.CumulativePowersOfTwo();
    ctx.rb.MapHeader(cdf.size());
    for (auto& [bound, n] : cdf) {
      ctx.rb.Integer(int64_t(bound));
      ctx.rb.Integer(int64_t(n));
    }
  }
}

void Latency(CommandContext& ctx) {
  auto& a = ctx.args;
  std::string_view sub = a[1];
  auto& events = ctx.engine.latency_events();
  if (ArgIs(sub, "HISTORY")) {
    if (!SubArity(ctx, "latency", "history", 3)) return;
    auto it = events.find(std::string(a[2]));  // case-sensitive, as Redis's
    if (it == events.end()) return ctx.rb.EmptyArray();
    return ReplySamples(ctx, it->second);
  }
  if (ArgIs(sub, "LATEST")) {
    if (!SubArity(ctx, "latency", "latest", 2)) return;
    ctx.rb.ArrayHeader(events.size());
    for (auto& [name, ts] : events) {
      const auto& last = ts.samples[(ts.idx + LatencySeries::kLen - 1) % LatencySeries::kLen];
      ctx.rb.ArrayHeader(4);
      ctx.rb.Bulk(name);
      ctx.rb.Integer(last.time);
      ctx.rb.Integer(last.latency);
      ctx.rb.Integer(ts.max);
    }
    return;
  }
  if (ArgIs(sub, "RESET")) {
    if (!SubArity(ctx, "latency", "reset", -2)) return;
    int64_t resets = 0;
    if (a.size() == 2) {
      resets = int64_t(events.size());
      events.clear();
    } else {
      for (size_t j = 2; j < a.size(); j++) {  // case-insensitive, as Redis's
        for (auto it = events.begin(); it != events.end();) {
          if (EqualsIgnoreCase(it->first, a[j])) {
            it = events.erase(it);
            resets++;
          } else {
            ++it;
          }
        }
      }
    }
    return ctx.rb.Integer(resets);
  }
  if (ArgIs(sub, "HISTOGRAM")) return LatencyHistogramReply(ctx);
  if (ArgIs(sub, "DOCTOR")) {
    if (!SubArity(ctx, "latency", "doctor", 2)) return;
    return ctx.rb.Verbatim(LatencyDoctorReport(events));
  }
  if (ArgIs(sub, "HELP")) {
    if (!SubArity(ctx, "latency", "help", 2)) return;
    return ReplyHelp(
        ctx, "LATENCY",
        {"HISTORY <event>", "    Return time-latency samples for the <event> class.", "LATEST",
         "    Return the latest latency samples for all events.", "RESET [<event> ...]",
         "    Reset latency data of one or more <event> classes.",
         "    (default: reset all data for all event classes)", "HISTOGRAM [COMMAND ...]",
         "    Return a cumulative distribution of latencies in the format of a histogram for the "
         "specified command names.",
         "    If no commands are specified then all histograms are replied."});
  }
  ctx.rb.Error(err::UnknownSubcommand(sub, "LATENCY"));
}

}  // namespace

// ---------------------------------------------------------------- the engine's records

void Engine::SlowlogPush(const Session& s, const CommandSpec& spec, ArgList args,
                         int64_t duration_us) {
  int64_t slower_than = config_.server.slowlog_log_slower_than;
  if (slower_than < 0 || duration_us < slower_than) return;
  if (std::strcmp(spec.name, "exec") == 0) return;  // CMD_SKIP_SLOWLOG: its commands are logged
  SlowlogEntry e;
  e.id = slowlog_next_id_++;
  e.time = clock_->NowMs() / 1000;
  e.duration_us = duration_us;
  size_t argc = std::min(args.size(), kSlowlogMaxArgc);
  e.argv.reserve(argc);
  for (size_t j = 0; j < argc; j++) {
    if (argc != args.size() && j == argc - 1) {
      e.argv.push_back(fmt::format("... ({} more arguments)", args.size() - argc + 1));
    } else if (RedactedArgument(spec, args, j)) {
      e.argv.emplace_back(kRedacted);
    } else if (args[j].size() > kSlowlogMaxString) {
      e.argv.push_back(fmt::format("{}... ({} more bytes)", args[j].substr(0, kSlowlogMaxString),
                                   args[j].size() - kSlowlogMaxString));
    } else {
      e.argv.emplace_back(args[j]);
    }
  }
  e.addr = s.conn.addr;
  e.name = s.name;
  slowlog_.push_front(std::move(e));
  while (int64_t(slowlog_.size()) > config_.server.slowlog_max_len) slowlog_.pop_back();
}

void Engine::RecordLatency(const char* event, int64_t ms) {
  int64_t threshold = config_.server.latency_monitor_threshold;
  if (threshold <= 0 || ms < threshold) return;
  LatencySeries& ts = latency_events_[event];
  int64_t now = clock_->NowMs() / 1000;
  if (ms > ts.max) ts.max = ms;
  // One sample per second: a second spike in the same second keeps the worse of the two.
  auto& prev = ts.samples[(ts.idx + LatencySeries::kLen - 1) % LatencySeries::kLen];
  if (prev.time == now) {
    prev.latency = std::max(prev.latency, ms);
    return;
  }
  ts.samples[ts.idx] = {now, ms};
  ts.idx = (ts.idx + 1) % LatencySeries::kLen;
}

void RegisterSlowlogFamily(CommandTable& t) {
  using namespace cmd;
  const char* s = "server";
  t.Add({
      .name = "slowlog",
      .arity = -2,
      .flags = kAdmin | kLoading | kStale,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = Slowlog,
      .group = s,
      .summary = "A container for slow log commands.",
      .since = "2.2.12",
      .acl_categories = "@admin @slow @dangerous",
  });
  t.Add({
      .name = "latency",
      .arity = -2,
      .flags = kAdmin | kNoScript | kLoading | kStale,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = Latency,
      .group = s,
      .summary = "A container for latency diagnostics commands.",
      .since = "2.8.13",
      .acl_categories = "@admin @slow @dangerous",
  });
}

}  // namespace ferrite
