// Stream commands (Redis 7.0): XADD, XRANGE, XREVRANGE, XLEN, XDEL, XTRIM, XSETID, XREAD,
// XREADGROUP, XGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM, XINFO. The data structure is in
// types/stream.h; replies, error texts and what is propagated follow t_stream.c of 7.0.15.
//
// Propagation (the AOF): XADD logs the ID it generated and an approximate trim as the exact
// one that reproduces its result (MAXLEN = <length> / MINID = <first id>); XREADGROUP, XCLAIM
// and XAUTOCLAIM log what they did to the pending lists as XCLAIM … FORCE JUSTID LASTID
// commands (and XGROUP SETID / CREATECONSUMER for NOACK reads), several of them wrapped in
// MULTI/EXEC — never the command itself.
//
// Blocking reads (XREAD/XREADGROUP BLOCK) park on their keys like BLPOP (blocking.cc). When a
// key they wait on changes, the command is re-run for the key that changed only, and serves
// the client as Redis's serveClientsBlockedOnStreamKey does — if that key was "signalled"
// in Redis's sense (an XADD, a group destroyed, the stream created, replaced or deleted)
// since the client last looked.

#include <sys/sysinfo.h>

#include <algorithm>
#include <memory>

#include "commands/command_table.h"
#include "commands/family_util.h"
#include "types/stream.h"

namespace ferrite {
namespace {

// The consumer a group command acts for (Redis's streamLookupConsumer, then
// streamCreateConsumer): an existing one is marked seen now; a new one counts as a change
// and fires "xgroup-createconsumer" on key. *created (if given) says which.
StreamConsumer* SeenOrCreatedConsumer(CommandContext& ctx, StreamGroup* g, std::string_view name,
                                      std::string_view key, int64_t now, bool* created) {
  StreamConsumer* c = g->FindConsumer(name);
  if (created) *created = !c;
  if (c) {
    c->seen_time = now;
    return c;
  }
  c = g->CreateConsumer(name, now);
  ctx.dirty++;
  ctx.Notify(notify::kStream, "xgroup-createconsumer", key);
  return c;
}

// A key or group name inside an error text: Redis formats them with %s, so the text stops at
// the first NUL byte of the name.
std::string CStr(std::string_view name) { return std::string(name.substr(0, name.find('\0'))); }

constexpr const char* kInvalidId = "ERR Invalid stream ID specified as stream command argument";
constexpr size_t kXreadBlockedDefaultCount = 1000;

using Effects = std::vector<std::vector<std::string>>;

// A counter that moves on every Redis "signal" of a stream key; a stream remembers the value
// of its last one. Loop thread only.
uint64_t g_signal_counter = 0;
void Signal(StreamObject* s) { s->wake_stamp = ++g_signal_counter; }

StreamLimits LimitsOf(CommandContext& ctx) {
  const auto& e = ctx.engine.config().encoding;
  StreamLimits l;
  l.node_max_bytes = uint64_t(e.stream_node_max_bytes);
  l.node_max_entries = e.stream_node_max_entries;
  return l;
}

// The stream at key, or nullptr (absent: *wrong false; another type: WRONGTYPE replied).
// A value that could not be read back from a tier segment is answered with an error too.
StreamObject* Lookup(CommandContext& ctx, std::string_view key, bool for_write, bool* wrong) {
  Entry* e = FindTyped(ctx, key, ValueType::kStream, wrong, for_write);
  if (!e) return nullptr;
  StreamObject* s = e->value.As<StreamObject>();
  if (!s) {
    *wrong = true;
    ctx.rb.Error("ERR the stream at '" + std::string(key.substr(0, 128)) +
                 "' could not be read from its tier segment");
  }
  return s;
}

bool ParseId(CommandContext& ctx, std::string_view arg, StreamID* id, uint64_t missing_seq,
             bool strict, bool* seq_given = nullptr) {
  if (ParseStreamID(arg, id, missing_seq, strict, seq_given)) return true;
  ctx.rb.Error(kInvalidId);
  return false;
}

// "(" in front makes the bound exclusive (then "-" and "+" are not taken).
bool ParseIntervalId(CommandContext& ctx, std::string_view arg, StreamID* id, bool* exclude,
                     uint64_t missing_seq) {
  *exclude = arg.size() > 1 && arg[0] == '(';
  if (*exclude) return ParseId(ctx, arg.substr(1), id, missing_seq, true);
  return ParseId(ctx, arg, id, missing_seq, false);
}

bool ParseLL(CommandContext& ctx, std::string_view s, int64_t* v, const char* err = nullptr) {
  if (ParseInt64(s, v)) return true;
  ctx.rb.Error(err ? err : err::kNotInt);
  return false;
}

void ReplyId(ReplyBuilder& rb, StreamID id) {
  char buf[48];
  rb.Bulk(std::string_view(buf, id.Format(buf)));
}

std::string Upper(std::string_view s) { return ToUpper(s); }

// Redis's addReplySubcommandSyntaxError.
void SubcommandSyntaxError(CommandContext& ctx) {
  ctx.rb.Error("ERR unknown subcommand or wrong number of arguments for '" +
               std::string(ctx.args[1].substr(0, 128)) + "'. Try " + Upper(ctx.args[0]) + " HELP.");
}

void ReplyHelp(CommandContext& ctx, std::initializer_list<const char*> lines) {
  ctx.rb.ArrayHeader(lines.size() + 3);
  ctx.rb.SimpleString(Upper(ctx.args[0]) +
                      " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
  for (const char* l : lines) ctx.rb.SimpleString(l);
  ctx.rb.SimpleString("HELP");
  ctx.rb.SimpleString("    Prints this help.");
}

// Several effects of one command reach the AOF as one transaction (Redis wraps what a
// command also-propagates in MULTI/EXEC), unless the command runs inside EXEC already.
// The command itself is never logged.
void PropagateEffects(CommandContext& ctx, Effects& fx) {
  ctx.custom_propagation = true;
  if (fx.empty()) return;
  bool wrap = fx.size() > 1 && !ctx.session.in_exec;
  if (wrap) ctx.PropagateAs({"MULTI"});
  for (auto& f : fx) ctx.PropagateAs(std::move(f));
  if (wrap) ctx.PropagateAs({"EXEC"});
}

// streamPropagateXCLAIM: an idempotent XCLAIM that recreates a pending entry as it is now.
void AddXclaimEffect(Effects* fx, std::string_view key, std::string_view group,
                     const StreamGroup& g, std::string_view id_arg, const StreamNack& nack) {
  if (!fx) return;
  fx->push_back({"XCLAIM", std::string(key), std::string(group), nack.consumer->name, "0",
                 std::string(id_arg), "TIME", std::to_string(nack.delivery_time), "RETRYCOUNT",
                 std::to_string(nack.delivery_count), "FORCE", "JUSTID", "LASTID",
                 g.last_id.ToString()});
}

// streamPropagateGroupID.
void AddSetIdEffect(Effects* fx, std::string_view key, std::string_view group,
                    const StreamGroup& g) {
  if (!fx) return;
  fx->push_back({"XGROUP", "SETID", std::string(key), std::string(group), g.last_id.ToString(),
                 "ENTRIESREAD", std::to_string(g.entries_read)});
}

// Writes one entry as [id, [field, value, …]].
void ReplyEntry(ReplyBuilder& rb, StreamIterator& it, StreamID id, int64_t nf) {
  rb.ArrayHeader(2);
  ReplyId(rb, id);
  rb.ArrayHeader(size_t(nf) * 2);
  it.ForEachField([&](std::string_view f, std::string_view v) {
    rb.Bulk(f);
    rb.Bulk(v);
  });
}

// Writes the entry with this ID if it exists; false if not.
bool ReplyEntryById(ReplyBuilder& rb, const StreamObject& s, StreamID id) {
  StreamIterator it(s, id, id, false);
  StreamID got;
  int64_t nf;
  if (!it.Next(&got, &nf)) return false;
  ReplyEntry(rb, it, got, nf);
  return true;
}

struct PropInfo {
  std::string_view key;
  std::string_view group;
};

// A reply whose array length is known only at the end: written into a side buffer, then
// moved behind its header.
class Deferred {
 public:
  explicit Deferred(ReplyBuilder& rb) : rb_(rb), tmp_(&buf_) { tmp_.set_resp3(rb.resp3()); }
  ReplyBuilder& rb() { return tmp_; }
  void FinishArray(size_t n) {
    rb_.ArrayHeader(n);
    rb_.buffer()->append(buf_);
  }
  void FinishMap(size_t n) {
    rb_.MapHeader(n);
    rb_.buffer()->append(buf_);
  }

 private:
  ReplyBuilder& rb_;
  std::string buf_;
  ReplyBuilder tmp_;
};

constexpr int kRwrNoAck = 1;
constexpr int kRwrRawEntries = 2;
constexpr int kRwrHistory = 4;

// XREADGROUP with an ID other than ">": the consumer's own pending entries from start on;
// an entry deleted since is [id, nil]. Each re-delivery counts; unlike Redis it is logged
// (an XCLAIM per entry) so that a replay rebuilds the delivery counts and times.
size_t ReplyFromConsumerPel(ReplyBuilder& out, const StreamObject& s, StreamID start, size_t count,
                            const StreamGroup& group, StreamConsumer* consumer, const PropInfo* spi,
                            Effects* fx, int64_t now) {
  Deferred d(out);
  size_t n = 0;
  char idbuf[48];
  for (auto it = consumer->pel.lower_bound(start);
       it != consumer->pel.end() && (!count || n < count); ++it) {
    if (!ReplyEntryById(d.rb(), s, it->first)) {
      d.rb().ArrayHeader(2);
      ReplyId(d.rb(), it->first);
      d.rb().NullArray();
    } else {
      it->second->delivery_time = now;
      it->second->delivery_count++;
      if (spi)
        AddXclaimEffect(fx, spi->key, spi->group, group,
                        std::string_view(idbuf, it->first.Format(idbuf)), *it->second);
    }
    n++;
  }
  d.FinishArray(n);
  return n;
}

// streamReplyWithRange: entries in [start, end] (at most count, 0 = all). With a group and a
// consumer, delivers them: advances the group's last ID and read counter, and (unless NOACK)
// records them in the pending lists, collecting the XCLAIM effects into fx.
size_t ReplyRange(ReplyBuilder& out, StreamObject& s, StreamID start, StreamID end, size_t count,
                  bool rev, StreamGroup* group, StreamConsumer* consumer, int flags,
                  const PropInfo* spi, Effects* fx, int64_t now) {
  if (group && (flags & kRwrHistory))
    return ReplyFromConsumerPel(out, s, start, count, *group, consumer, spi, fx, now);
  bool noack = flags & kRwrNoAck;
  bool propagate_last_id = false;
  std::unique_ptr<Deferred> d;
  ReplyBuilder* rb = &out;
  if (!(flags & kRwrRawEntries)) {
    d = std::make_unique<Deferred>(out);
    rb = &d->rb();
  }
  StreamIterator it(s, start, end, rev);
  StreamID id;
  int64_t nf;
  size_t n = 0;
  char idbuf[48];
  while (it.Next(&id, &nf)) {
    if (group && id > group->last_id) {
      if (group->entries_read != StreamGroup::kInvalidEntriesRead &&
          !s.RangeHasTombstones(id, StreamID::Max())) {
        group->entries_read++;
      } else if (s.entries_added) {
        group->entries_read = s.EstimateDistanceFromFirstEver(id);
      }
      group->last_id = id;
      if (noack) propagate_last_id = true;
    }
    ReplyEntry(*rb, it, id, nf);
    if (group && !noack) {
      auto [pit, inserted] = group->pel.try_emplace(id);
      if (inserted) pit->second = std::make_unique<StreamNack>();
      StreamNack& nack = *pit->second;
      if (!inserted) nack.consumer->pel.erase(id);
      nack.consumer = consumer;
      nack.delivery_time = now;
      nack.delivery_count = 1;
      consumer->pel[id] = &nack;
      if (spi && fx)
        AddXclaimEffect(fx, spi->key, spi->group, *group, std::string_view(idbuf, id.Format(idbuf)),
                        nack);
    }
    n++;
    if (count && count == n) break;
  }
  if (spi && propagate_last_id) AddSetIdEffect(fx, spi->key, spi->group, *group);
  if (d) d->FinishArray(n);
  return n;
}

// ---------------------------------------------------------------- XADD / XTRIM
struct AddTrimArgs {
  StreamID id;
  bool id_given = false;
  bool seq_given = true;
  bool no_mkstream = false;
  StreamTrimArgs trim;
  size_t trim_arg_idx = 0;  // the MAXLEN count / MINID id argument
};

// streamParseAddOrTrimArgsOrReply: returns the position of XADD's ID argument, or -1 after
// replying an error.
int64_t ParseAddOrTrim(CommandContext& ctx, AddTrimArgs* a, bool xadd) {
  auto& args = ctx.args;
  size_t argc = args.size();
  size_t i = 2;
  bool limit_given = false;
  for (; i < argc; i++) {
    size_t moreargs = argc - 1 - i;
    std::string_view opt = args[i];
    if (xadd && opt == "*") break;
    bool maxlen = ArgIs(opt, "MAXLEN"), minid = ArgIs(opt, "MINID");
    if ((maxlen || minid) && moreargs) {
      if (a->trim.strategy != StreamTrimArgs::kNone) {
        ctx.rb.Error(
            "ERR syntax error, MAXLEN and MINID options at the same time are not "
            "compatible");
        return -1;
      }
      a->trim.approx = false;
      std::string_view next = args[i + 1];
      if (moreargs >= 2 && next == "~") {
        a->trim.approx = true;
        i++;
      } else if (moreargs >= 2 && next == "=") {
        i++;
      }
      if (maxlen) {
        if (!ParseLL(ctx, args[i + 1], &a->trim.maxlen)) return -1;
        if (a->trim.maxlen < 0) {
          ctx.rb.Error("ERR The MAXLEN argument must be >= 0.");
          return -1;
        }
        a->trim.strategy = StreamTrimArgs::kMaxLen;
      } else {
        if (!ParseId(ctx, args[i + 1], &a->trim.minid, 0, true)) return -1;
        a->trim.strategy = StreamTrimArgs::kMinId;
      }
      i++;
      a->trim_arg_idx = i;
    } else if (ArgIs(opt, "LIMIT") && moreargs) {
      if (!ParseLL(ctx, args[i + 1], &a->trim.limit)) return -1;
      if (a->trim.limit < 0) {
        ctx.rb.Error("ERR The LIMIT argument must be >= 0.");
        return -1;
      }
      limit_given = true;
      i++;
    } else if (xadd && ArgIs(opt, "NOMKSTREAM")) {
      a->no_mkstream = true;
    } else if (xadd) {
      if (!ParseId(ctx, opt, &a->id, 0, true, &a->seq_given)) return -1;
      a->id_given = true;
      break;
    } else {
      ctx.rb.Error(err::kSyntax);
      return -1;
    }
  }
  if (a->trim.limit && a->trim.strategy == StreamTrimArgs::kNone) {
    ctx.rb.Error("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
    return -1;
  }
  if (!xadd && a->trim.strategy == StreamTrimArgs::kNone) {
    ctx.rb.Error("ERR syntax error, XTRIM must be called with a trimming strategy");
    return -1;
  }
  if (ctx.session.replaying) {
    // From the AOF the trim arguments were rewritten to be exact: no work limit.
    a->trim.limit = 0;
  } else if (limit_given) {
    if (!a->trim.approx) {
      ctx.rb.Error("ERR syntax error, LIMIT cannot be used without the special ~ option");
      return -1;
    }
  } else if (a->trim.approx) {
    int64_t limit = 100 * LimitsOf(ctx).node_max_entries;
    if (limit <= 0) limit = 10000;
    if (limit > 1000000) limit = 1000000;
    a->trim.limit = limit;
  } else {
    a->trim.limit = 0;
  }
  return int64_t(i);
}

// The approximate trim as the exact one that reproduces it (streamRewriteTrimArgument).
void RewriteTrim(std::vector<std::string>* argv, const AddTrimArgs& a, const StreamObject& s) {
  (*argv)[a.trim_arg_idx - 1] = "=";
  (*argv)[a.trim_arg_idx] = a.trim.strategy == StreamTrimArgs::kMaxLen
                                ? std::to_string(s.length)
                                : s.EdgeID(true, false).ToString();
}

void XAdd(CommandContext& ctx) {
  auto& args = ctx.args;
  AddTrimArgs a;
  int64_t idpos = ParseAddOrTrim(ctx, &a, true);
  if (idpos < 0) return;
  size_t field_pos = size_t(idpos) + 1;
  if (args.size() < field_pos + 2 || (args.size() - field_pos) % 2 == 1)
    return ctx.rb.Error(err::WrongArity("xadd"));
  if (a.id_given && a.seq_given && a.id.zero())
    return ctx.rb.Error("ERR The ID specified in XADD must be greater than 0-0");
  bool wrong;
  StreamObject* s = Lookup(ctx, args[1], true, &wrong);
  if (wrong) return;
  std::unique_ptr<StreamObject> fresh;
  if (!s) {
    if (a.no_mkstream) return ctx.rb.Null();
    fresh = std::make_unique<StreamObject>();
    s = fresh.get();
  }
  if (s->last_id == StreamID::Max())
    return ctx.rb.Error(
        "ERR The stream has exhausted the last possible ID, unable to add more items");
  StreamID id;
  auto res = s->Append(&args[field_pos], (args.size() - field_pos) / 2,
                       a.id_given ? &a.id : nullptr, a.seq_given, ctx.now_ms, LimitsOf(ctx), &id);
  if (res == StreamObject::AppendResult::kIdTooSmall)
    return ctx.rb.Error(
        "ERR The ID specified in XADD is equal or smaller than the target stream top item");
  if (res != StreamObject::AppendResult::kOk)
    return ctx.rb.Error("ERR Elements are too large to be stored");
  if (fresh) ctx.db().Insert(args[1], Value::FromObject(fresh.release()));
  char idbuf[48];
  std::string_view idtext(idbuf, id.Format(idbuf));
  ctx.rb.Bulk(idtext);
  ctx.NotifyModified(args[1]);
  ctx.Notify(notify::kStream, "xadd", args[1]);
  if (a.trim.strategy != StreamTrimArgs::kNone && s->Trim(a.trim) > 0) {
    ctx.Notify(notify::kStream, "xtrim", args[1]);
  }
  Signal(s);
  if (ctx.propagating()) {
    std::vector<std::string> argv(args.begin(), args.end());
    if (a.trim.approx) RewriteTrim(&argv, a, *s);
    if (!a.id_given || !a.seq_given) argv[size_t(idpos)] = std::string(idtext);
    ctx.PropagateAs(std::move(argv));
  }
}

void XTrim(CommandContext& ctx) {
  AddTrimArgs a;
  if (ParseAddOrTrim(ctx, &a, false) < 0) return;
  bool wrong;
  StreamObject* s = Lookup(ctx, ctx.args[1], true, &wrong);
  if (wrong) return;
  if (!s) return ctx.rb.Integer(0);
  int64_t deleted = s->Trim(a.trim);
  if (deleted) {
    ctx.NotifyModified(ctx.args[1]);
    ctx.Notify(notify::kStream, "xtrim", ctx.args[1]);
    ctx.dirty += uint64_t(deleted) - 1;
    if (a.trim.approx && ctx.propagating()) {
      std::vector<std::string> argv(ctx.args.begin(), ctx.args.end());
      RewriteTrim(&argv, a, *s);
      ctx.PropagateAs(std::move(argv));
    }
  }
  ctx.rb.Integer(deleted);
}

// ---------------------------------------------------------------- XRANGE / XLEN / XDEL
void RangeGeneric(CommandContext& ctx, bool rev) {
  auto& args = ctx.args;
  std::string_view startarg = rev ? args[3] : args[2], endarg = rev ? args[2] : args[3];
  StreamID start, end;
  bool startex, endex;
  if (!ParseIntervalId(ctx, startarg, &start, &startex, 0)) return;
  if (startex && !start.Incr()) return ctx.rb.Error("ERR invalid start ID for the interval");
  if (!ParseIntervalId(ctx, endarg, &end, &endex, UINT64_MAX)) return;
  if (endex && !end.Decr()) return ctx.rb.Error("ERR invalid end ID for the interval");
  int64_t count = -1;
  for (size_t j = 4; j < args.size(); j++) {
    size_t additional = args.size() - j - 1;
    if (ArgIs(args[j], "COUNT") && additional >= 1) {
      if (!ParseLL(ctx, args[j + 1], &count)) return;
      if (count < 0) count = 0;
      j++;
    } else {
      return ctx.rb.Error(err::kSyntax);
    }
  }
  bool wrong;
  StreamObject* s = Lookup(ctx, args[1], false, &wrong);
  if (wrong) return;
  if (!s) return ctx.rb.EmptyArray();
  if (count == 0) return ctx.rb.NullArray();
  ReplyRange(ctx.rb, *s, start, end, count < 0 ? 0 : size_t(count), rev, nullptr, nullptr, 0,
             nullptr, nullptr, ctx.now_ms);
}
void XRange(CommandContext& ctx) { RangeGeneric(ctx, false); }
void XRevRange(CommandContext& ctx) { RangeGeneric(ctx, true); }

void XLen(CommandContext& ctx) {
  bool wrong;
  StreamObject* s = Lookup(ctx, ctx.args[1], false, &wrong);
  if (wrong) return;
  ctx.rb.Integer(s ? int64_t(s->length) : 0);
}

void XDel(CommandContext& ctx) {
  auto& args = ctx.args;
  bool wrong;
  StreamObject* s = Lookup(ctx, args[1], true, &wrong);
  if (wrong) return;
  if (!s) return ctx.rb.Integer(0);
  std::vector<StreamID> ids(args.size() - 2);
  for (size_t j = 2; j < args.size(); j++)
    if (!ParseId(ctx, args[j], &ids[j - 2], 0, true)) return;
  int64_t deleted = 0;
  bool first_entry = false;
  for (StreamID id : ids) {
    if (!s->Delete(id)) continue;
    if (id == s->first_id) first_entry = true;
    if (id > s->max_deleted_id) s->max_deleted_id = id;
    deleted++;
  }
  if (deleted) {
    if (s->length == 0)
      s->first_id = {0, 0};
    else if (first_entry)
      s->first_id = s->EdgeID(true, true);
    ctx.NotifyModified(args[1]);
    ctx.Notify(notify::kStream, "xdel", args[1]);
    ctx.dirty += uint64_t(deleted) - 1;
  }
  ctx.rb.Integer(deleted);
}

void XSetId(CommandContext& ctx) {
  auto& args = ctx.args;
  StreamID id, max_xdel{0, 0};
  int64_t entries_added = -1;
  if (!ParseId(ctx, args[2], &id, 0, true)) return;
  for (size_t i = 3; i < args.size();) {
    size_t moreargs = args.size() - 1 - i;
    if (ArgIs(args[i], "ENTRIESADDED") && moreargs) {
      if (!ParseLL(ctx, args[i + 1], &entries_added)) return;
      if (entries_added < 0) return ctx.rb.Error("ERR entries_added must be positive");
      i += 2;
    } else if (ArgIs(args[i], "MAXDELETEDID") && moreargs) {
      if (!ParseId(ctx, args[i + 1], &max_xdel, 0, true)) return;
      if (id < max_xdel)
        return ctx.rb.Error(
            "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
      i += 2;
    } else {
      return ctx.rb.Error(err::kSyntax);
    }
  }
  bool wrong;
  StreamObject* s = Lookup(ctx, args[1], true, &wrong);
  if (wrong) return;
  if (!s) return ctx.rb.Error(err::kNoSuchKey);
  if (s->length > 0) {
    if (id < s->LastValidID())
      return ctx.rb.Error(
          "ERR The ID specified in XSETID is smaller than the target stream top item");
    if (entries_added != -1 && s->length > uint64_t(entries_added))
      return ctx.rb.Error(
          "ERR The entries_added specified in XSETID is smaller than the target stream length");
  }
  s->last_id = id;
  if (entries_added != -1) s->entries_added = uint64_t(entries_added);
  if (!max_xdel.zero()) s->max_deleted_id = max_xdel;
  ctx.dirty++;
  ctx.rb.Ok();
  ctx.Notify(notify::kStream, "xsetid", args[1]);
}

// ---------------------------------------------------------------- XREAD / XREADGROUP
// What a blocked XREAD/XREADGROUP remembers (Session::block_state).
struct XReadBlock {
  std::vector<std::string> keys;
  std::vector<StreamID> ids;  // serve entries greater than this (">": the group decides)
  std::vector<const StreamObject*> seen;  // the stream object when last looked at
  uint64_t stamp = 0;                     // the signal counter when last looked at
  size_t count = 0;
  bool group = false;
  bool noack = false;
  std::string groupname, consumer;
};

// Serves one consumer (or a plain reader) from one stream, as part of an XREAD reply.
void ServeOne(CommandContext& ctx, ReplyBuilder& rb, std::string_view key, StreamObject& s,
              StreamID gt, size_t count, StreamGroup* group, std::string_view groupname,
              std::string_view consumername, bool noack, bool history, Effects* fx) {
  StreamID start = gt;
  start.Incr();
  StreamConsumer* consumer = nullptr;
  PropInfo spi{key, groupname};
  bool created = false;
  auto create_effect = [&] {
    fx->push_back(
        {"XGROUP", "CREATECONSUMER", std::string(key), std::string(groupname), consumer->name});
  };
  if (group) {
    consumer = SeenOrCreatedConsumer(ctx, group, consumername, key, ctx.now_ms, &created);
    if (created && noack && fx) create_effect();
  }
  int flags = (noack ? kRwrNoAck : 0) | (history ? kRwrHistory : 0);
  size_t n = ReplyRange(rb, s, start, StreamID::Max(), count, false, group, consumer, flags,
                        group ? &spi : nullptr, fx, ctx.now_ms);
  if (!group || noack || !fx) return;
  // Departures from Redis's effects, so that a replay rebuilds the group exactly: Redis's
  // XCLAIM … LASTID moves the group's last ID but not its entries-read counter (lost at
  // restart), and a consumer created by a read that delivered nothing is not logged.
  if (!history && n) AddSetIdEffect(fx, key, groupname, *group);
  if (created && (history || !n)) create_effect();
}

// The re-run of a blocked XREAD/XREADGROUP for the key that changed
// (serveClientsBlockedOnStreamKey / unblockDeletedStreamReadgroupClients).
void XReadServeBlocked(CommandContext& ctx, XReadBlock& b) {
  ctx.custom_propagation = true;
  std::string_view key = ctx.session.ready_key;
  size_t i = 0;
  while (i < b.keys.size() && b.keys[i] != key) i++;
  auto keep_waiting = [&] {
    ctx.engine.BlockSession(ctx.session, ctx.args, b.keys, ctx.session.block_deadline_ms, true);
  };
  if (i == b.keys.size()) return keep_waiting();
  Entry* e = ctx.db().FindForWrite(key, ctx.now_ms);
  StreamObject* s =
      e && e->value.type() == ValueType::kStream ? e->value.As<StreamObject>() : nullptr;
  if (!s) {
    if (b.group) return ctx.rb.Error("UNBLOCKED the stream key no longer exists");
    return keep_waiting();
  }
  bool signalled = s != b.seen[i] || s->wake_stamp > b.stamp;
  b.seen[i] = s;
  b.stamp = g_signal_counter;
  if (!signalled) return keep_waiting();
  StreamGroup* group = nullptr;
  StreamID gt = b.ids[i];
  if (b.group) {
    group = s->FindGroup(b.groupname);
    if (!group)
      return ctx.rb.Error("NOGROUP the consumer group this client was blocked on no longer exists");
    gt = group->last_id;
  }
  if (!(s->last_id > gt)) return keep_waiting();
  Effects fx;
  if (ctx.rb.resp3()) {
    ctx.rb.MapHeader(1);
  } else {
    ctx.rb.ArrayHeader(1);
    ctx.rb.ArrayHeader(2);
  }
  ctx.rb.Bulk(key);
  ServeOne(ctx, ctx.rb, key, *s, gt, b.count, group, b.groupname, b.consumer, b.noack, false,
           ctx.propagating() ? &fx : nullptr);
  if (b.group) PropagateEffects(ctx, fx);
}

void XReadGeneric(CommandContext& ctx, bool xreadgroup) {
  auto& args = ctx.args;
  if (ctx.session.reexec && ctx.session.block_state) {
    auto* b = static_cast<XReadBlock*>(ctx.session.block_state.get());
    return XReadServeBlocked(ctx, *b);
  }
  int64_t timeout = -1;
  int64_t count = 0;
  size_t streams_arg = 0, streams_count = 0;
  bool noack = false;
  std::string_view groupname, consumername;
  bool has_group = false;
  for (size_t i = 1; i < args.size(); i++) {
    size_t moreargs = args.size() - i - 1;
    std::string_view o = args[i];
    if (ArgIs(o, "BLOCK") && moreargs) {
      // A script can never wait (it holds the server); Redis refuses BLOCK there outright,
      // before reading the timeout, instead of treating it as a non-blocking read.
      if (ctx.session.script)
        return ctx.rb.Error("ERR " + std::string(args[0]) +
                            " command is not allowed with BLOCK option from scripts");
      i++;
      if (!ParseLL(ctx, args[i], &timeout, "ERR timeout is not an integer or out of range")) return;
      if (timeout < 0) return ctx.rb.Error("ERR timeout is negative");
    } else if (ArgIs(o, "COUNT") && moreargs) {
      i++;
      if (!ParseLL(ctx, args[i], &count)) return;
      if (count < 0) count = 0;
    } else if (ArgIs(o, "STREAMS") && moreargs) {
      streams_arg = i + 1;
      streams_count = args.size() - streams_arg;
      if (streams_count % 2 != 0)
        return ctx.rb.Error(
            "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be "
            "specified.");
      streams_count /= 2;
      break;
    } else if (ArgIs(o, "GROUP") && moreargs >= 2) {
      if (!xreadgroup)
        return ctx.rb.Error(
            "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
      groupname = args[i + 1];
      consumername = args[i + 2];
      has_group = true;
      i += 2;
    } else if (ArgIs(o, "NOACK")) {
      if (!xreadgroup)
        return ctx.rb.Error(
            "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
      noack = true;
    } else {
      return ctx.rb.Error(err::kSyntax);
    }
  }
  if (streams_arg == 0) return ctx.rb.Error(err::kSyntax);
  if (xreadgroup && !has_group) return ctx.rb.Error("ERR Missing GROUP option for XREADGROUP");
  ctx.custom_propagation = true;  // effects only, never the command (even when nothing else)
  std::vector<StreamID> ids(streams_count);
  std::vector<StreamGroup*> groups(streams_count, nullptr);
  for (size_t k = 0; k < streams_count; k++) {
    std::string_view key = args[streams_arg + k];
    std::string_view idarg = args[streams_arg + streams_count + k];
    bool wrong;
    StreamObject* s = Lookup(ctx, key, has_group, &wrong);
    if (wrong) return;
    if (has_group) {
      StreamGroup* g = s ? s->FindGroup(groupname) : nullptr;
      if (!g)
        return ctx.rb.Error("NOGROUP No such key '" + CStr(key) + "' or consumer group '" +
                            CStr(groupname) + "' in XREADGROUP with GROUP option");
      groups[k] = g;
    }
    if (idarg == "$") {
      if (xreadgroup)
        return ctx.rb.Error(
            "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the "
            "history of this consumer by specifying a proper ID, or use the > ID to get new "
            "messages. The $ ID would just return an empty result set.");
      ids[k] = s ? s->last_id : StreamID{0, 0};
      continue;
    }
    if (idarg == ">") {
      if (!xreadgroup)
        return ctx.rb.Error(
            "ERR The > ID can be specified only when calling XREADGROUP using the GROUP "
            "<group> <consumer> option.");
      ids[k] = StreamID::Max();
      continue;
    }
    if (!ParseId(ctx, idarg, &ids[k], 0, true)) return;
  }
  // Serve synchronously what can be served.
  Effects fx;
  Effects* pfx = ctx.propagating() ? &fx : nullptr;
  Deferred d(ctx.rb);
  size_t served = 0;
  for (size_t k = 0; k < streams_count; k++) {
    std::string_view key = args[streams_arg + k];
    bool wrong;
    StreamObject* s = Lookup(ctx, key, has_group, &wrong);
    if (!s) continue;
    StreamID gt = ids[k];
    bool serve = false, history = false;
    if (has_group) {
      if (gt != StreamID::Max()) {
        serve = history = true;
      } else if (s->length && s->LastValidID() > groups[k]->last_id) {
        serve = true;
        gt = groups[k]->last_id;
      }
    } else if (s->length && s->LastValidID() > gt) {
      serve = true;
    }
    if (!serve) continue;
    served++;
    if (!d.rb().resp3()) d.rb().ArrayHeader(2);
    d.rb().Bulk(key);
    ServeOne(ctx, d.rb(), key, *s, gt, size_t(count), groups[k], groupname, consumername, noack,
             history, pfx);
    if (has_group) ctx.dirty++;
  }
  if (served) {
    if (ctx.rb.resp3())
      d.FinishMap(served);
    else
      d.FinishArray(served);
    return PropagateEffects(ctx, fx);
  }
  PropagateEffects(ctx, fx);
  if (timeout != -1) {
    if (ctx.session.in_exec) return ctx.rb.NullArray();  // never blocks inside a transaction
    auto b = std::make_shared<XReadBlock>();
    for (size_t k = 0; k < streams_count; k++) {
      std::string key(args[streams_arg + k]);
      Entry* e = ctx.db().Peek(key, ctx.now_ms);
      b->seen.push_back(e && e->value.type() == ValueType::kStream ? e->value.As<StreamObject>()
                                                                   : nullptr);
      b->keys.push_back(std::move(key));
    }
    b->ids = ids;
    b->stamp = g_signal_counter;
    b->count = count ? size_t(count) : kXreadBlockedDefaultCount;
    b->group = has_group;
    b->noack = noack;
    b->groupname = groupname;
    b->consumer = consumername;
    // Saturated: Redis adds the client's number to its clock (overflowing past INT64_MAX, so
    // such a read waits forever); here the deadline stops at INT64_MAX, which never comes.
    int64_t deadline = timeout == 0 ? 0 : SaturatingAdd(ctx.now_ms, timeout);
    ctx.engine.BlockSession(ctx.session, args, b->keys, deadline, true);
    ctx.session.block_state = std::move(b);
    return;
  }
  ctx.rb.NullArray();
}
void XRead(CommandContext& ctx) { XReadGeneric(ctx, false); }
void XReadGroup(CommandContext& ctx) { XReadGeneric(ctx, true); }

// ---------------------------------------------------------------- XGROUP
struct Sub {
  const char* name;
  int arity;
};

// Finds the subcommand and checks its arity as Redis's command table does for containers;
// false after replying the error.
bool CheckSub(CommandContext& ctx, std::initializer_list<Sub> subs, const char* container) {
  for (const Sub& s : subs) {
    if (!ArgIs(ctx.args[1], s.name)) continue;
    int argc = int(ctx.args.size());
    if ((s.arity > 0 && argc != s.arity) || (s.arity < 0 && argc < -s.arity)) {
      ctx.rb.Error(err::WrongArity(std::string(container) + "|" + ToLower(s.name)));
      return false;
    }
    return true;
  }
  ctx.rb.Error(err::UnknownSubcommand(ctx.args[1], ToUpper(container)));
  return false;
}

void XGroup(CommandContext& ctx) {
  auto& args = ctx.args;
  if (!CheckSub(ctx,
                {{"CREATE", -5},
                 {"SETID", -5},
                 {"DESTROY", 4},
                 {"CREATECONSUMER", 5},
                 {"DELCONSUMER", 5},
                 {"HELP", 2}},
                "xgroup"))
    return;
  std::string_view opt = args[1];
  StreamObject* s = nullptr;
  StreamGroup* cg = nullptr;
  bool mkstream = false;
  int64_t entries_read = StreamGroup::kInvalidEntriesRead;
  std::string_view grpname;
  if (args.size() >= 4) {
    bool create = ArgIs(opt, "CREATE"), setid = ArgIs(opt, "SETID");
    for (size_t i = 5; i < args.size();) {
      if (create && ArgIs(args[i], "MKSTREAM")) {
        mkstream = true;
        i++;
      } else if ((create || setid) && ArgIs(args[i], "ENTRIESREAD") && i + 1 < args.size()) {
        if (!ParseLL(ctx, args[i + 1], &entries_read)) return;
        if (entries_read < 0 && entries_read != StreamGroup::kInvalidEntriesRead)
          return ctx.rb.Error("ERR value for ENTRIESREAD must be positive or -1");
        i += 2;
      } else {
        return SubcommandSyntaxError(ctx);
      }
    }
    bool wrong;
    s = Lookup(ctx, args[2], true, &wrong);
    if (wrong) return;
    grpname = args[3];
  }
  if (args.size() >= 4 && !mkstream) {
    if (!s)
      return ctx.rb.Error(
          "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may "
          "want to use the MKSTREAM option to create an empty stream automatically.");
    cg = s->FindGroup(grpname);
    if (!cg && (ArgIs(opt, "SETID") || ArgIs(opt, "CREATECONSUMER") || ArgIs(opt, "DELCONSUMER")))
      return ctx.rb.Error("NOGROUP No such consumer group '" + CStr(grpname) + "' for key name '" +
                          CStr(args[2]) + "'");
  }
  if (ArgIs(opt, "HELP")) {
    return ReplyHelp(
        ctx,
        {"CREATE <key> <groupname> <id|$> [option]",
         "    Create a new consumer group. Options are:", "    * MKSTREAM",
         "      Create the empty stream if it does not exist.", "    * ENTRIESREAD entries_read",
         "      Set the group's entries_read counter (internal use).",
         "CREATECONSUMER <key> <groupname> <consumer>",
         "    Create a new consumer in the specified group.",
         "DELCONSUMER <key> <groupname> <consumer>", "    Remove the specified consumer.",
         "DESTROY <key> <groupname>", "    Remove the specified group.",
         "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
         "    Set the current group ID and entries_read counter."});
  }
  if (ArgIs(opt, "CREATE") && args.size() <= 8) {
    StreamID id;
    if (args[4] == "$") {
      id = s ? s->last_id : StreamID{0, 0};
    } else if (!ParseId(ctx, args[4], &id, 0, true)) {
      return;
    }
    if (!s) {
      auto* fresh = new StreamObject();
      ctx.db().Insert(args[2], Value::FromObject(fresh));
      s = fresh;
      Signal(s);
      ctx.NotifyModified(args[2]);
    }
    if (!s->CreateGroup(grpname, id, entries_read))
      return ctx.rb.Error("BUSYGROUP Consumer Group name already exists");
    ctx.dirty++;
    ctx.rb.Ok();
    return ctx.Notify(notify::kStream, "xgroup-create", args[2]);
  }
  if (ArgIs(opt, "SETID") && (args.size() == 5 || args.size() == 7)) {
    StreamID id;
    if (args[4] == "$") {
      id = s->last_id;
    } else if (!ParseId(ctx, args[4], &id, 0, false)) {
      return;
    }
    cg->last_id = id;
    cg->entries_read = entries_read;
    ctx.dirty++;
    ctx.rb.Ok();
    return ctx.Notify(notify::kStream, "xgroup-setid", args[2]);
  }
  if (ArgIs(opt, "DESTROY") && args.size() == 4) {
    if (!cg) return ctx.rb.Integer(0);
    s->DestroyGroup(grpname);
    ctx.dirty++;
    ctx.Notify(notify::kStream, "xgroup-destroy", args[2]);
    Signal(s);  // blocked XREADGROUP clients of the group get -NOGROUP
    ctx.engine.SignalKeyAsReady(ctx.session.db, args[2]);
    return ctx.rb.Integer(1);
  }
  if (ArgIs(opt, "CREATECONSUMER")) {
    StreamConsumer* c = cg->CreateConsumer(args[4], ctx.now_ms);
    if (c) {
      ctx.dirty++;
      ctx.Notify(notify::kStream, "xgroup-createconsumer", args[2]);
    }
    return ctx.rb.Integer(c ? 1 : 0);
  }
  if (ArgIs(opt, "DELCONSUMER")) {
    StreamConsumer* c = cg->FindConsumer(args[4]);
    int64_t pending = 0;
    if (c) {
      pending = int64_t(cg->DeleteConsumer(c));
      ctx.dirty++;
      ctx.Notify(notify::kStream, "xgroup-delconsumer", args[2]);
    }
    return ctx.rb.Integer(pending);
  }
  SubcommandSyntaxError(ctx);
}

// ---------------------------------------------------------------- XACK / XPENDING
void XAck(CommandContext& ctx) {
  auto& args = ctx.args;
  bool wrong;
  StreamObject* s = Lookup(ctx, args[1], true, &wrong);
  if (wrong) return;
  StreamGroup* g = s ? s->FindGroup(args[2]) : nullptr;
  if (!g) return ctx.rb.Integer(0);
  std::vector<StreamID> ids(args.size() - 3);
  for (size_t j = 3; j < args.size(); j++)
    if (!ParseId(ctx, args[j], &ids[j - 3], 0, true)) return;
  int64_t acked = 0;
  for (StreamID id : ids) {
    auto it = g->pel.find(id);
    if (it == g->pel.end()) continue;
    g->RemovePending(it);
    acked++;
    ctx.dirty++;
  }
  ctx.rb.Integer(acked);
}

void XPending(CommandContext& ctx) {
  auto& args = ctx.args;
  size_t argc = args.size();
  bool justinfo = argc == 3;
  if (argc != 3 && (argc < 6 || argc > 9)) return ctx.rb.Error(err::kSyntax);
  StreamID start, end;
  int64_t count = 0, minidle = 0;
  std::string_view consumername;
  bool has_consumer = false;
  if (argc >= 6) {
    size_t startidx = 3;
    if (ArgIs(args[3], "IDLE")) {
      if (!ParseLL(ctx, args[4], &minidle)) return;
      if (argc < 8) return ctx.rb.Error(err::kSyntax);
      startidx += 2;
    }
    if (!ParseLL(ctx, args[startidx + 2], &count)) return;
    if (count < 0) count = 0;
    bool startex, endex;
    if (!ParseIntervalId(ctx, args[startidx], &start, &startex, 0)) return;
    if (startex && !start.Incr()) return ctx.rb.Error("ERR invalid start ID for the interval");
    if (!ParseIntervalId(ctx, args[startidx + 1], &end, &endex, UINT64_MAX)) return;
    if (endex && !end.Decr()) return ctx.rb.Error("ERR invalid end ID for the interval");
    if (startidx + 3 < argc) {
      consumername = args[startidx + 3];
      has_consumer = true;
    }
  }
  bool wrong;
  StreamObject* s = Lookup(ctx, args[1], false, &wrong);
  if (wrong) return;
  StreamGroup* g = s ? s->FindGroup(args[2]) : nullptr;
  if (!g)
    return ctx.rb.Error("NOGROUP No such key '" + CStr(args[1]) + "' or consumer group '" +
                        CStr(args[2]) + "'");
  if (justinfo) {
    ctx.rb.ArrayHeader(4);
    ctx.rb.Integer(int64_t(g->pel.size()));
    if (g->pel.empty()) {
      ctx.rb.Null();
      ctx.rb.Null();
      ctx.rb.NullArray();
      return;
    }
    ReplyId(ctx.rb, g->pel.begin()->first);
    ReplyId(ctx.rb, g->pel.back().first);
    size_t n = 0;
    for (auto& [name, c] : g->consumers) n += !c->pel.empty();
    ctx.rb.ArrayHeader(n);
    for (auto& [name, c] : g->consumers) {
      if (c->pel.empty()) continue;
      ctx.rb.ArrayHeader(2);
      ctx.rb.Bulk(name);
      ctx.rb.Bulk(std::to_string(c->pel.size()));
    }
    return;
  }
  StreamConsumer* c = nullptr;
  if (has_consumer) {
    c = g->FindConsumer(consumername);
    if (!c) return ctx.rb.EmptyArray();
  }
  Deferred d(ctx.rb);
  size_t n = 0;
  int64_t now = ctx.now_ms;
  auto emit = [&](StreamID id, const StreamNack& nack) {
    if (minidle && now - nack.delivery_time < minidle) return;
    n++;
    count--;
    d.rb().ArrayHeader(4);
    ReplyId(d.rb(), id);
    d.rb().Bulk(nack.consumer->name);
    d.rb().Integer(std::max<int64_t>(0, now - nack.delivery_time));
    d.rb().Integer(int64_t(nack.delivery_count));
  };
  if (c) {
    for (auto it = c->pel.lower_bound(start); count && it != c->pel.end() && it->first <= end; ++it)
      emit(it->first, *it->second);
  } else {
    for (auto it = g->pel.lower_bound(start); count && it != g->pel.end() && it->first <= end; ++it)
      emit(it->first, *it->second);
  }
  d.FinishArray(n);
}

// ---------------------------------------------------------------- XCLAIM / XAUTOCLAIM
void XClaim(CommandContext& ctx) {
  auto& args = ctx.args;
  bool wrong;
  StreamObject* s = Lookup(ctx, args[1], true, &wrong);
  if (wrong) return;
  StreamGroup* g = s ? s->FindGroup(args[2]) : nullptr;
  if (!g)
    return ctx.rb.Error("NOGROUP No such key '" + CStr(args[1]) + "' or consumer group '" +
                        CStr(args[2]) + "'");
  int64_t minidle;
  if (!ParseLL(ctx, args[4], &minidle, "ERR Invalid min-idle-time argument for XCLAIM")) return;
  if (minidle < 0) minidle = 0;
  std::vector<StreamID> ids;
  size_t j = 5;
  for (; j < args.size(); j++) {
    StreamID id;
    if (!ParseStreamID(args[j], &id, 0, true)) break;
    ids.push_back(id);
  }
  size_t last_id_arg = j - 1;
  int64_t now = ctx.now_ms;
  int64_t retrycount = -1, deliverytime = -1;
  bool force = false, justid = false, propagate_last_id = false;
  StreamID last_id{0, 0};
  for (; j < args.size(); j++) {
    size_t moreargs = args.size() - 1 - j;
    std::string_view opt = args[j];
    if (ArgIs(opt, "FORCE")) {
      force = true;
    } else if (ArgIs(opt, "JUSTID")) {
      justid = true;
    } else if (ArgIs(opt, "IDLE") && moreargs) {
      if (!ParseLL(ctx, args[++j], &deliverytime, "ERR Invalid IDLE option argument for XCLAIM"))
        return;
      deliverytime = now - deliverytime;
    } else if (ArgIs(opt, "TIME") && moreargs) {
      if (!ParseLL(ctx, args[++j], &deliverytime, "ERR Invalid TIME option argument for XCLAIM"))
        return;
    } else if (ArgIs(opt, "RETRYCOUNT") && moreargs) {
      if (!ParseLL(ctx, args[++j], &retrycount,
                   "ERR Invalid RETRYCOUNT option argument for XCLAIM"))
        return;
    } else if (ArgIs(opt, "LASTID") && moreargs) {
      if (!ParseId(ctx, args[++j], &last_id, 0, true)) return;
    } else {
      return ctx.rb.Error("ERR Unrecognized XCLAIM option '" + std::string(opt) + "'");
    }
  }
  if (last_id > g->last_id) {
    g->last_id = last_id;
    propagate_last_id = true;
  }
  if (deliverytime != -1) {
    if (deliverytime < 0 || deliverytime > now) deliverytime = now;
  } else {
    deliverytime = now;
  }
  Effects fx;
  Effects* pfx = ctx.propagating() ? &fx : nullptr;
  StreamConsumer* consumer = nullptr;
  Deferred d(ctx.rb);
  size_t n = 0;
  std::string_view name = args[3];
  for (size_t k = 5; k <= last_id_arg; k++) {
    StreamID id = ids[k - 5];
    auto it = g->pel.find(id);
    if (!s->Exists(id)) {
      if (it != g->pel.end()) {  // the entry is gone: its pending entry goes too
        AddXclaimEffect(pfx, args[1], args[2], *g, args[k], *it->second);
        propagate_last_id = false;
        ctx.dirty++;
        g->RemovePending(it);
      }
      continue;
    }
    if (force && it == g->pel.end()) {
      it = g->pel.try_emplace(id).first;
      it->second = std::make_unique<StreamNack>();
      it->second->delivery_time = now;
      it->second->delivery_count = 1;
      it->second->consumer = nullptr;
    }
    if (it == g->pel.end()) continue;
    StreamNack& nack = *it->second;
    if (nack.consumer && minidle && now - nack.delivery_time < minidle) continue;
    if (!consumer) consumer = SeenOrCreatedConsumer(ctx, g, name, ctx.args[1], now, nullptr);
    if (nack.consumer != consumer && nack.consumer) nack.consumer->pel.erase(id);
    nack.delivery_time = deliverytime;
    if (retrycount >= 0)
      nack.delivery_count = uint64_t(retrycount);
    else if (!justid)
      nack.delivery_count++;
    if (nack.consumer != consumer) {
      consumer->pel[id] = &nack;
      nack.consumer = consumer;
    }
    if (justid)
      ReplyId(d.rb(), id);
    else
      ReplyEntryById(d.rb(), *s, id);
    n++;
    AddXclaimEffect(pfx, args[1], args[2], *g, args[k], nack);
    propagate_last_id = false;
    ctx.dirty++;
  }
  if (propagate_last_id) {
    AddSetIdEffect(pfx, args[1], args[2], *g);
    ctx.dirty++;
  }
  d.FinishArray(n);
  PropagateEffects(ctx, fx);
}

void XAutoClaim(CommandContext& ctx) {
  auto& args = ctx.args;
  int64_t minidle;
  if (!ParseLL(ctx, args[4], &minidle, "ERR Invalid min-idle-time argument for XAUTOCLAIM")) return;
  if (minidle < 0) minidle = 0;
  StreamID start;
  bool startex;
  if (!ParseIntervalId(ctx, args[5], &start, &startex, 0)) return;
  if (startex && !start.Incr()) return ctx.rb.Error("ERR invalid start ID for the interval");
  int64_t count = 100;
  bool justid = false;
  const int64_t attempts_factor = 10;
  for (size_t j = 6; j < args.size(); j++) {
    size_t moreargs = args.size() - 1 - j;
    if (ArgIs(args[j], "COUNT") && moreargs) {
      const int64_t max_count = INT64_MAX / 16;  // LONG_MAX / max(sizeof(streamID), 10)
      if (!ParseInt64(args[j + 1], &count) || count < 1 || count > max_count)
        return ctx.rb.Error("ERR COUNT must be > 0");
      j++;
    } else if (ArgIs(args[j], "JUSTID")) {
      justid = true;
    } else {
      return ctx.rb.Error(err::kSyntax);
    }
  }
  bool wrong;
  StreamObject* s = Lookup(ctx, args[1], true, &wrong);
  if (wrong) return;
  StreamGroup* g = s ? s->FindGroup(args[2]) : nullptr;
  if (!g)
    return ctx.rb.Error("NOGROUP No such key '" + CStr(args[1]) + "' or consumer group '" +
                        CStr(args[2]) + "'");
  // Redis allocates COUNT stream IDs (16 bytes each) up front and gives this error when the
  // allocation fails, which under Linux's default overcommit heuristic means a request
  // larger than RAM + swap. No such array is needed here; the same answer is.
  struct sysinfo si {};
  if (sysinfo(&si) == 0) {
    uint64_t mem = (uint64_t(si.totalram) + uint64_t(si.totalswap)) * si.mem_unit;
    if (uint64_t(count) > mem / 16)
      return ctx.rb.Error(
          "ERR Insufficient memory, failed allocating transient memory, COUNT too high.");
  }
  Effects fx;
  Effects* pfx = ctx.propagating() ? &fx : nullptr;
  StreamConsumer* consumer = nullptr;
  int64_t attempts = count * attempts_factor;
  int64_t now = ctx.now_ms;
  std::string_view name = args[3];
  std::vector<StreamID> deleted;
  Deferred d(ctx.rb);
  size_t n = 0;
  char idbuf[48];
  auto it = g->pel.lower_bound(start);
  while (attempts-- > 0 && count > 0 && it != g->pel.end()) {
    StreamID id = it->first;
    StreamNack& nack = *it->second;
    std::string_view idtext(idbuf, id.Format(idbuf));
    if (!s->Exists(id)) {
      AddXclaimEffect(pfx, args[1], args[2], *g, idtext, nack);
      ctx.dirty++;
      nack.consumer->pel.erase(id);
      it = g->pel.erase(it);
      deleted.push_back(id);
      count--;
      continue;
    }
    if (minidle && now - nack.delivery_time < minidle) {
      ++it;
      continue;
    }
    if (!consumer) consumer = SeenOrCreatedConsumer(ctx, g, name, ctx.args[1], now, nullptr);
    if (nack.consumer != consumer && nack.consumer) nack.consumer->pel.erase(id);
    nack.delivery_time = now;
    if (!justid) nack.delivery_count++;
    if (nack.consumer != consumer) {
      consumer->pel[id] = &nack;
      nack.consumer = consumer;
    }
    if (justid)
      ReplyId(d.rb(), id);
    else
      ReplyEntryById(d.rb(), *s, id);
    n++;
    count--;
    AddXclaimEffect(pfx, args[1], args[2], *g, idtext, nack);
    ctx.dirty++;
    ++it;
  }
  ctx.rb.ArrayHeader(3);
  ReplyId(ctx.rb, it == g->pel.end() ? StreamID{0, 0} : it->first);
  d.FinishArray(n);
  ctx.rb.ArrayHeader(deleted.size());
  for (StreamID id : deleted) ReplyId(ctx.rb, id);
  PropagateEffects(ctx, fx);
}

// ---------------------------------------------------------------- XINFO
void ReplyLag(ReplyBuilder& rb, const StreamObject& s, const StreamGroup& g) {
  int64_t lag;
  if (s.GroupLag(g, &lag))
    rb.Integer(lag);
  else
    rb.Null();
}

void ReplyEntriesRead(ReplyBuilder& rb, const StreamGroup& g) {
  if (g.entries_read != StreamGroup::kInvalidEntriesRead)
    rb.Integer(g.entries_read);
  else
    rb.Null();
}

void XInfoStream(CommandContext& ctx, StreamObject& s) {
  auto& args = ctx.args;
  bool full = true;
  int64_t count = 10;
  size_t optc = args.size() - 3;
  if (optc == 0) {
    full = false;
  } else {
    if (optc != 1 && optc != 3) return SubcommandSyntaxError(ctx);
    if (!ArgIs(args[3], "FULL")) return SubcommandSyntaxError(ctx);
    if (optc == 3) {
      if (!ArgIs(args[4], "COUNT")) return SubcommandSyntaxError(ctx);
      if (!ParseLL(ctx, args[5], &count)) return;
      if (count < 0) count = 10;
    }
  }
  auto& rb = ctx.rb;
  rb.MapHeader(full ? 9 : 10);
  rb.Bulk("length");
  rb.Integer(int64_t(s.length));
  rb.Bulk("radix-tree-keys");
  rb.Integer(int64_t(s.node_count()));
  rb.Bulk("radix-tree-nodes");
  rb.Integer(int64_t(s.RadixTreeNodes()));
  rb.Bulk("last-generated-id");
  ReplyId(rb, s.last_id);
  rb.Bulk("max-deleted-entry-id");
  ReplyId(rb, s.max_deleted_id);
  rb.Bulk("entries-added");
  rb.Integer(int64_t(s.entries_added));
  rb.Bulk("recorded-first-entry-id");
  ReplyId(rb, s.first_id);
  if (!full) {
    rb.Bulk("groups");
    rb.Integer(int64_t(s.group_count()));
    rb.Bulk("first-entry");
    if (!ReplyRange(rb, s, {0, 0}, StreamID::Max(), 1, false, nullptr, nullptr, kRwrRawEntries,
                    nullptr, nullptr, ctx.now_ms))
      rb.Null();
    rb.Bulk("last-entry");
    if (!ReplyRange(rb, s, {0, 0}, StreamID::Max(), 1, true, nullptr, nullptr, kRwrRawEntries,
                    nullptr, nullptr, ctx.now_ms))
      rb.Null();
    return;
  }
  size_t limit = size_t(count);  // 0 = everything
  rb.Bulk("entries");
  ReplyRange(rb, s, {0, 0}, StreamID::Max(), limit, false, nullptr, nullptr, 0, nullptr, nullptr,
             ctx.now_ms);
  rb.Bulk("groups");
  rb.ArrayHeader(s.group_count());
  for (auto& [name, g] : s.groups()) {
    rb.MapHeader(7);
    rb.Bulk("name");
    rb.Bulk(name);
    rb.Bulk("last-delivered-id");
    ReplyId(rb, g->last_id);
    rb.Bulk("entries-read");
    ReplyEntriesRead(rb, *g);
    rb.Bulk("lag");
    ReplyLag(rb, s, *g);
    rb.Bulk("pel-count");
    rb.Integer(int64_t(g->pel.size()));
    rb.Bulk("pending");
    size_t np = limit ? std::min(limit, g->pel.size()) : g->pel.size();
    rb.ArrayHeader(np);
    size_t k = 0;
    for (auto it = g->pel.begin(); k < np; ++it, ++k) {
      rb.ArrayHeader(4);
      ReplyId(rb, it->first);
      rb.Bulk(it->second->consumer->name);
      rb.Integer(it->second->delivery_time);
      rb.Integer(int64_t(it->second->delivery_count));
    }
    rb.Bulk("consumers");
    rb.ArrayHeader(g->consumers.size());
    for (auto& [cname, c] : g->consumers) {
      rb.MapHeader(4);
      rb.Bulk("name");
      rb.Bulk(cname);
      rb.Bulk("seen-time");
      rb.Integer(c->seen_time);
      rb.Bulk("pel-count");
      rb.Integer(int64_t(c->pel.size()));
      rb.Bulk("pending");
      size_t cp = limit ? std::min(limit, c->pel.size()) : c->pel.size();
      rb.ArrayHeader(cp);
      size_t m = 0;
      for (auto it = c->pel.begin(); m < cp; ++it, ++m) {
        rb.ArrayHeader(3);
        ReplyId(rb, it->first);
        rb.Integer(it->second->delivery_time);
        rb.Integer(int64_t(it->second->delivery_count));
      }
    }
  }
}

void XInfo(CommandContext& ctx) {
  auto& args = ctx.args;
  if (!CheckSub(ctx, {{"CONSUMERS", 4}, {"GROUPS", 3}, {"STREAM", -3}, {"HELP", 2}}, "xinfo"))
    return;
  if (ArgIs(args[1], "HELP")) {
    return ReplyHelp(
        ctx, {"CONSUMERS <key> <groupname>", "    Show consumers of <groupname>.", "GROUPS <key>",
              "    Show the stream consumer groups.", "STREAM <key> [FULL [COUNT <count>]",
              "    Show information about the stream."});
  }
  bool wrong;
  StreamObject* s = Lookup(ctx, args[2], false, &wrong);
  if (wrong) return;
  if (!s) return ctx.rb.Error(err::kNoSuchKey);
  if (ArgIs(args[1], "CONSUMERS")) {
    StreamGroup* g = s->FindGroup(args[3]);
    if (!g)
      return ctx.rb.Error("NOGROUP No such consumer group '" + CStr(args[3]) + "' for key name '" +
                          CStr(args[2]) + "'");
    ctx.rb.ArrayHeader(g->consumers.size());
    for (auto& [name, c] : g->consumers) {
      ctx.rb.MapHeader(3);
      ctx.rb.Bulk("name");
      ctx.rb.Bulk(name);
      ctx.rb.Bulk("pending");
      ctx.rb.Integer(int64_t(c->pel.size()));
      ctx.rb.Bulk("idle");
      ctx.rb.Integer(std::max<int64_t>(0, ctx.now_ms - c->seen_time));
    }
    return;
  }
  if (ArgIs(args[1], "GROUPS")) {
    ctx.rb.ArrayHeader(s->group_count());
    for (auto& [name, g] : s->groups()) {
      ctx.rb.MapHeader(6);
      ctx.rb.Bulk("name");
      ctx.rb.Bulk(name);
      ctx.rb.Bulk("consumers");
      ctx.rb.Integer(int64_t(g->consumers.size()));
      ctx.rb.Bulk("pending");
      ctx.rb.Integer(int64_t(g->pel.size()));
      ctx.rb.Bulk("last-delivered-id");
      ReplyId(ctx.rb, g->last_id);
      ctx.rb.Bulk("entries-read");
      ReplyEntriesRead(ctx.rb, *g);
      ctx.rb.Bulk("lag");
      ReplyLag(ctx.rb, *s, *g);
    }
    return;
  }
  XInfoStream(ctx, *s);
}

}  // namespace

void RegisterStreamFamily(CommandTable& t) {
  using namespace cmd;
  const char* g = "stream";
  t.Add({"xadd", -5, kWrite | kDenyOom | kFast, 1, 1, 1, XAdd, g,
         "Appends a new message to a stream. Creates the key if it doesn't exist.", "5.0.0",
         "@write @stream @fast"});
  t.Add({"xrange", -4, kReadOnly, 1, 1, 1, XRange, g,
         "Returns the messages from a stream within a range of IDs.", "5.0.0",
         "@read @stream @slow"});
  t.Add({"xrevrange", -4, kReadOnly, 1, 1, 1, XRevRange, g,
         "Returns the messages from a stream within a range of IDs in reverse order.", "5.0.0",
         "@read @stream @slow"});
  t.Add({"xlen", 2, kReadOnly | kFast, 1, 1, 1, XLen, g,
         "Return the number of messages in a stream.", "5.0.0", "@read @stream @fast"});
  t.Add({"xdel", -3, kWrite | kFast, 1, 1, 1, XDel, g,
         "Returns the number of messages after removing them from a stream.", "5.0.0",
         "@write @stream @fast"});
  t.Add({"xtrim", -4, kWrite, 1, 1, 1, XTrim, g, "Deletes messages from the beginning of a stream.",
         "5.0.0", "@write @stream @slow"});
  t.Add({"xsetid", -3, kWrite | kDenyOom | kFast, 1, 1, 1, XSetId, g,
         "An internal command for replicating stream values.", "5.0.0", "@write @stream @fast"});
  // XREAD / XREADGROUP keys follow STREAMS (CommandTable::KeyPositions).
  t.Add({"xread", -4, kReadOnly | kBlocking, 0, 0, 0, XRead, g,
         "Returns messages from multiple streams with IDs greater than the ones requested. "
         "Blocks until a message is available otherwise.",
         "5.0.0", "@read @stream @slow @blocking"});
  t.Add({"xreadgroup", -7, kWrite | kBlocking, 0, 0, 0, XReadGroup, g,
         "Returns new or historical messages from a stream for a consumer in a group. Blocks "
         "until a message is available otherwise.",
         "5.0.0", "@write @stream @slow @blocking"});
  t.Add({"xgroup", -2, kWrite, 2, 2, 1, XGroup, g, "A container for consumer groups commands",
         "5.0.0", "@slow"});
  t.Add({"xack", -4, kWrite | kFast, 1, 1, 1, XAck, g,
         "Returns the number of messages that were successfully acknowledged by the consumer "
         "group member of a stream.",
         "5.0.0", "@write @stream @fast"});
  t.Add({"xpending", -3, kReadOnly, 1, 1, 1, XPending, g,
         "Returns the information and entries from a stream consumer group's pending entries "
         "list.",
         "5.0.0", "@read @stream @slow"});
  t.Add({"xclaim", -6, kWrite | kFast, 1, 1, 1, XClaim, g,
         "Changes, or acquires, ownership of a message in a consumer group, as if the message "
         "was delivered a consumer group member.",
         "5.0.0", "@write @stream @fast"});
  t.Add({"xautoclaim", -6, kWrite | kFast, 1, 1, 1, XAutoClaim, g,
         "Changes, or acquires, ownership of messages in a consumer group, as if the messages "
         "were delivered to as consumer group member.",
         "6.2.0", "@write @stream @fast"});
  t.Add({"xinfo", -2, kReadOnly, 2, 2, 1, XInfo, g, "A container for stream introspection commands",
         "5.0.0", "@slow"});
}

}  // namespace ferrite
