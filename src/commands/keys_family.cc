// Generic keyspace commands: DEL, EXISTS, TYPE, RENAME, COPY, MOVE, KEYS, SCAN, RANDOMKEY,
// the EXPIRE family, TTL family, PERSIST, OBJECT.

#include <random>

#include "base/strutil.h"
#include "commands/command_table.h"
#include "commands/family_util.h"

namespace ferrite {
namespace {

const char* TypeName(ValueType t) {
  switch (t) {
    case ValueType::kString:
      return "string";
    case ValueType::kList:
      return "list";
    case ValueType::kSet:
      return "set";
    case ValueType::kZSet:
      return "zset";
    case ValueType::kHash:
      return "hash";
    case ValueType::kStream:
      return "stream";
    default:
      return "none";
  }
}

// DEL and UNLINK: UNLINK (and DEL under lazyfree-lazy-user-del) frees large values on
// the lazy-free thread.
void DelGeneric(CommandContext& ctx, bool lazy) {
  int64_t n = 0;
  Database& db = ctx.db();
  for (size_t i = 1; i < ctx.args.size(); i++) {
    if (!db.Peek(ctx.args[i], ctx.now_ms)) continue;
    Entry* e = db.FindForWrite(ctx.args[i], ctx.now_ms);
    if (!e) continue;
    Value v = std::move(e->value);
    db.Delete(e);
    ctx.engine.FreeValue(std::move(v), lazy);
    ctx.NotifyModified(ctx.args[i]);
    ctx.Notify(notify::kGeneric, "del", ctx.args[i]);
    n++;
  }
  ctx.rb.Integer(n);
}
void Del(CommandContext& ctx) {
  DelGeneric(ctx, ctx.engine.config().server.lazyfree_lazy_user_del);
}
void Unlink(CommandContext& ctx) { DelGeneric(ctx, true); }

// EXISTS, TYPE and the TTL family read without touching the access time (Redis's
// LOOKUP_NOTOUCH); TOUCH is the one that does.
void Exists(CommandContext& ctx) {
  int64_t n = 0;
  for (size_t i = 1; i < ctx.args.size(); i++) {
    if (ctx.db().FindNoTouch(ctx.args[i], ctx.now_ms)) n++;
  }
  ctx.rb.Integer(n);
}

void Touch(CommandContext& ctx) {
  int64_t n = 0;
  for (size_t i = 1; i < ctx.args.size(); i++) {
    if (ctx.db().Find(ctx.args[i], ctx.now_ms)) n++;
  }
  ctx.rb.Integer(n);
}

void Type(CommandContext& ctx) {
  Entry* e = ctx.db().FindNoTouch(ctx.args[1], ctx.now_ms);
  ctx.rb.SimpleString(e ? TypeName(e->value.type()) : "none");
}

// Moves src's value and TTL to dst in db_dst (overwriting). Both keys already checked.
void MoveEntry(CommandContext& ctx, Database& src_db, std::string_view src, Database& dst_db,
               std::string_view dst) {
  Entry* e = src_db.FindForWrite(src, ctx.now_ms);
  Value v = std::move(e->value);
  int64_t expire = e->expire_ms;
  std::string src_key(src);
  src_db.Delete(e);
  Entry* d = dst_db.Set(dst, std::move(v), false, ctx.now_ms);
  if (expire) dst_db.SetExpire(d, expire);
  src_db.NotifyModified(src_key);
  dst_db.NotifyModified(dst);
  ctx.dirty += 2;
}

void RenameGeneric(CommandContext& ctx, bool nx) {
  Database& db = ctx.db();
  std::string_view src = ctx.args[1], dst = ctx.args[2];
  if (!db.Peek(src, ctx.now_ms)) return ctx.rb.Error(err::kNoSuchKey);
  if (src == dst) return nx ? ctx.rb.Integer(0) : ctx.rb.Ok();
  if (nx && db.Peek(dst, ctx.now_ms)) return ctx.rb.Integer(0);
  MoveEntry(ctx, db, src, db, dst);
  ctx.Notify(notify::kGeneric, "rename_from", src);
  ctx.Notify(notify::kGeneric, "rename_to", dst);
  if (nx)
    ctx.rb.Integer(1);
  else
    ctx.rb.Ok();
}
void Rename(CommandContext& ctx) { RenameGeneric(ctx, false); }
void RenameNx(CommandContext& ctx) { RenameGeneric(ctx, true); }

void Copy(CommandContext& ctx) {
  auto& a = ctx.args;
  int dst_index = ctx.session.db;
  bool replace = false;
  for (size_t i = 3; i < a.size(); i++) {
    if (ArgIs(a[i], "REPLACE")) {
      replace = true;
    } else if (ArgIs(a[i], "DB") && i + 1 < a.size()) {
      int64_t d;  // Redis's getIntFromObjectOrReply, then selectDb
      if (!GetRangeLongOrReply(ctx, a[++i], INT32_MIN, INT32_MAX, &d)) return;
      if (d < 0 || d >= ctx.engine.db_count()) return ctx.rb.Error(err::kDbIndex);
      dst_index = int(d);
    } else {
      return ctx.rb.Error(err::kSyntax);
    }
  }
  if (dst_index == ctx.session.db && a[1] == a[2]) return ctx.rb.Error(err::kSameObject);
  Database& src = ctx.db();
  Database& dst = ctx.engine.db(dst_index);
  Entry* e = src.Find(a[1], ctx.now_ms);
  if (!e) return ctx.rb.Integer(0);
  if (dst.Peek(a[2], ctx.now_ms) && !replace) return ctx.rb.Integer(0);
  Value v = e->value.Clone();
  if (v.empty()) return ctx.rb.Error(err::kCopyUnsupported);
  int64_t expire = e->expire_ms;
  Entry* d = dst.Set(a[2], std::move(v), false, ctx.now_ms);
  if (expire) dst.SetExpire(d, expire);
  dst.NotifyModified(a[2]);
  ctx.Notify(notify::kGeneric, "copy_to", a[2], dst_index);
  ctx.dirty++;
  ctx.rb.Integer(1);
}

void Move(CommandContext& ctx) {
  int64_t d;  // Redis's getIntFromObjectOrReply, then selectDb
  if (!GetRangeLongOrReply(ctx, ctx.args[2], INT32_MIN, INT32_MAX, &d)) return;
  if (d < 0 || d >= ctx.engine.db_count()) return ctx.rb.Error(err::kDbIndex);
  if (d == ctx.session.db) return ctx.rb.Error(err::kSameObject);
  Database& src = ctx.db();
  Database& dst = ctx.engine.db(int(d));
  if (!src.Peek(ctx.args[1], ctx.now_ms)) return ctx.rb.Integer(0);
  if (dst.Peek(ctx.args[1], ctx.now_ms)) return ctx.rb.Integer(0);
  MoveEntry(ctx, src, ctx.args[1], dst, ctx.args[1]);  // the TTL moves with the value
  ctx.Notify(notify::kGeneric, "move_from", ctx.args[1]);
  ctx.Notify(notify::kGeneric, "move_to", ctx.args[1], int(d));
  ctx.engine.SignalReadyKeysOf(int(d));
  ctx.rb.Integer(1);
}

void Keys(CommandContext& ctx) {
  std::string_view pattern = ctx.args[1];
  bool all = pattern == "*";
  std::vector<std::string> out;
  Database& db = ctx.db();
  db.ForEach([&](const Entry& e) {
    if (db.IsExpired(e, ctx.now_ms)) return;
    if (all || GlobMatch(pattern, e.key())) out.emplace_back(e.key());
  });
  ctx.rb.ArrayHeader(out.size());
  for (auto& k : out) ctx.rb.Bulk(k);
}

void Scan(CommandContext& ctx) {
  auto& a = ctx.args;
  uint64_t cursor;
  if (!ParseScanCursor(ctx, a[1], &cursor)) return;
  ScanOpts o;
  if (!ParseScanOpts(ctx, 2, &o, /*allow_type=*/true)) return;
  Database& db = ctx.db();
  std::vector<std::string> keys;
  // Redis visits at most COUNT*10 buckets per call (COUNT is a client's number: no overflow).
  int64_t max_iter = o.count > INT64_MAX / 10 ? INT64_MAX : o.count * 10;
  do {
    cursor = db.Scan(cursor, [&](Entry& e) {
      if (db.IsExpired(e, ctx.now_ms)) return;
      if (!ScanMatch(o, e.key())) return;
      if (o.has_type && !EqualsIgnoreCase(o.type, TypeName(e.value.type()))) return;
      keys.emplace_back(e.key());
    });
  } while (cursor != 0 && --max_iter > 0 && int64_t(keys.size()) < o.count);
  ctx.rb.ArrayHeader(2);
  ctx.rb.Bulk(FormatInt64(int64_t(cursor)));
  ctx.rb.ArrayHeader(keys.size());
  for (auto& k : keys) ctx.rb.Bulk(k);
}

void RandomKey(CommandContext& ctx) {
  Database& db = ctx.db();
  thread_local std::mt19937_64 rng(std::random_device{}());
  for (int tries = 0; tries < 100 && db.size() > 0; tries++) {
    Entry* e = db.RandomEntry(rng());
    if (!e) break;
    if (db.IsExpired(*e, ctx.now_ms)) {
      std::string k(e->key());
      db.Peek(k, ctx.now_ms);  // expires it (and propagates the DEL)
      continue;
    }
    return ctx.rb.Bulk(e->key());
  }
  ctx.rb.Null();
}

// EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT key time [NX|XX|GT|LT]
void ExpireGeneric(CommandContext& ctx, bool ms, bool absolute, const char* name) {
  auto& a = ctx.args;
  bool nx = false, xx = false, gt = false, lt = false;
  for (size_t i = 3; i < a.size(); i++) {
    if (ArgIs(a[i], "NX"))
      nx = true;
    else if (ArgIs(a[i], "XX"))
      xx = true;
    else if (ArgIs(a[i], "GT"))
      gt = true;
    else if (ArgIs(a[i], "LT"))
      lt = true;
    else
      return ctx.rb.Error(err::UnsupportedOption(a[i]));
  }
  if (nx && (xx || gt || lt)) return ctx.rb.Error(err::kExpireNxXxGtLt);
  if (gt && lt) return ctx.rb.Error(err::kGtAndLt);
  int64_t when;
  if (!ParseInt64(a[2], &when)) return ctx.rb.Error(err::kNotInt);
  std::string bad = err::InvalidExpireTime(name);
  if (!ms) {
    if (when > INT64_MAX / 1000 || when < INT64_MIN / 1000) return ctx.rb.Error(bad);
    when *= 1000;
  }
  if (!absolute) {
    if ((when > 0 && ctx.now_ms > INT64_MAX - when) || (when < 0 && ctx.now_ms < INT64_MIN - when))
      return ctx.rb.Error(bad);
    when += ctx.now_ms;
  }
  Database& db = ctx.db();
  Entry* e = db.FindForWrite(a[1], ctx.now_ms);
  if (!e) return ctx.rb.Integer(0);
  int64_t cur = e->expire_ms;  // 0 = persistent (infinite TTL)
  if (nx && cur) return ctx.rb.Integer(0);
  if (xx && !cur) return ctx.rb.Integer(0);
  if (gt && (!cur || when <= cur)) return ctx.rb.Integer(0);
  if (lt && cur && when >= cur) return ctx.rb.Integer(0);
  SetExpireCommandEffect(ctx, e, std::string(a[1]), when);
  ctx.rb.Integer(1);
}
void Expire(CommandContext& ctx) { ExpireGeneric(ctx, false, false, "expire"); }
void PExpire(CommandContext& ctx) { ExpireGeneric(ctx, true, false, "pexpire"); }
void ExpireAt(CommandContext& ctx) { ExpireGeneric(ctx, false, true, "expireat"); }
void PExpireAt(CommandContext& ctx) { ExpireGeneric(ctx, true, true, "pexpireat"); }

void TtlGeneric(CommandContext& ctx, bool ms, bool absolute) {
  Entry* e = ctx.db().FindNoTouch(ctx.args[1], ctx.now_ms);
  if (!e) return ctx.rb.Integer(-2);
  if (!e->expire_ms) return ctx.rb.Integer(-1);
  int64_t ttl = absolute ? e->expire_ms : std::max<int64_t>(e->expire_ms - ctx.now_ms, 0);
  if (ttl < 0) ttl = 0;
  // (ttl + 500) / 1000 as redis-server 7.0.15 answers it: for an expiry near INT64_MAX
  // (PEXPIREAT k 9223372036854775807) the sum passes INT64_MAX and it answers as if the
  // arithmetic were unsigned (9223372036854776). Done unsigned here, without overflow.
  ctx.rb.Integer(ms ? ttl : int64_t((uint64_t(ttl) + 500) / 1000));
}
void Ttl(CommandContext& ctx) { TtlGeneric(ctx, false, false); }
void PTtl(CommandContext& ctx) { TtlGeneric(ctx, true, false); }
void ExpireTime(CommandContext& ctx) { TtlGeneric(ctx, false, true); }
void PExpireTime(CommandContext& ctx) { TtlGeneric(ctx, true, true); }

void Persist(CommandContext& ctx) {
  Entry* e = ctx.db().FindForWrite(ctx.args[1], ctx.now_ms);
  if (!e || !e->expire_ms) return ctx.rb.Integer(0);
  ctx.db().ClearExpire(e);
  ctx.NotifyModified(ctx.args[1]);
  ctx.Notify(notify::kGeneric, "persist", ctx.args[1]);
  ctx.rb.Integer(1);
}

void ObjectCmd(CommandContext& ctx) {
  auto& a = ctx.args;
  std::string_view sub = a[1];
  if (ArgIs(sub, "HELP") && a.size() == 2) {
    static const char* const kHelp[] = {
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    };
    ctx.rb.ArrayHeader(std::size(kHelp));
    for (const char* l : kHelp) ctx.rb.SimpleString(l);
    return;
  }
  if (a.size() != 3 || !(ArgIs(sub, "ENCODING") || ArgIs(sub, "FREQ") || ArgIs(sub, "IDLETIME") ||
                         ArgIs(sub, "REFCOUNT"))) {
    return ctx.rb.Error(err::UnknownSubcommand(sub, "OBJECT"));
  }
  // Redis looks the key up without touching its access time and without the keymiss
  // event, but counts the hit or miss (LOOKUP_NOTOUCH|LOOKUP_NONOTIFY).
  Entry* e = ctx.db().Peek(a[2], ctx.now_ms);
  if (!e) {
    ctx.engine.ks_stats().misses++;
    return ctx.rb.Null();
  }
  ctx.engine.ks_stats().hits++;
  bool lfu = IsLfu(ctx.engine.config().server.maxmemory_policy);
  if (ArgIs(sub, "ENCODING")) return ctx.rb.Bulk(RedisEncodingName(e->value));
  if (ArgIs(sub, "FREQ")) {
    if (!lfu) return ctx.rb.Error(err::kLfuNotSelected);
    return ctx.rb.Integer(Database::LfuDecayed(*e, ctx.now_ms));
  }
  if (ArgIs(sub, "IDLETIME")) {
    if (lfu) return ctx.rb.Error(err::kLfuSelected);
    int64_t idle = ctx.now_ms / 1000 - int64_t(e->lru);
    return ctx.rb.Integer(std::max<int64_t>(idle, 0));
  }
  // REFCOUNT: Redis shares the integers 0..9999 (reported as INT_MAX) unless maxmemory is
  // set with an LRU or LFU policy (each value then keeps its own access time); others have 1.
  // Judged now, where Redis judges when the value is made: they differ only for values made
  // before such a CONFIG SET. A COPY's int is its own object in Redis too (refcount 1).
  int64_t iv;
  bool shared_ints = ctx.engine.config().server.maxmemory == 0 ||
                     !(lfu || IsLru(ctx.engine.config().server.maxmemory_policy));
  if (shared_ints && e->value.encoding() == Encoding::kInt && !e->value.unshared_int() &&
      e->value.GetInt(&iv) && iv >= 0 && iv < 10000)
    return ctx.rb.Integer(2147483647);
  ctx.rb.Integer(1);
}

}  // namespace

void RegisterKeysFamily(CommandTable& t) {
  using namespace cmd;
  const char* g = "generic";
  t.Add({
      .name = "del",
      .arity = -2,
      .flags = kWrite,
      .first_key = 1,
      .last_key = -1,
      .key_step = 1,
      .handler = Del,
      .group = g,
      .summary = "Deletes one or more keys.",
      .since = "1.0.0",
      .acl_categories = "@keyspace @write @slow",
  });
  t.Add({
      .name = "unlink",
      .arity = -2,
      .flags = kWrite | kFast,
      .first_key = 1,
      .last_key = -1,
      .key_step = 1,
      .handler = Unlink,
      .group = g,
      .summary = "Asynchronously deletes one or more keys.",
      .since = "4.0.0",
      .acl_categories = "@keyspace @write @fast",
  });
  t.Add({
      .name = "exists",
      .arity = -2,
      .flags = kReadOnly | kFast,
      .first_key = 1,
      .last_key = -1,
      .key_step = 1,
      .handler = Exists,
      .group = g,
      .summary = "Determines whether one or more keys exist.",
      .since = "1.0.0",
      .acl_categories = "@keyspace @read @fast",
  });
  t.Add({
      .name = "touch",
      .arity = -2,
      .flags = kReadOnly | kFast,
      .first_key = 1,
      .last_key = -1,
      .key_step = 1,
      .handler = Touch,
      .group = g,
      .summary =
          "Returns the number of existing keys out of those specified after updating the time they "
          "were last accessed.",
      .since = "3.2.1",
      .acl_categories = "@keyspace @read @fast",
  });
  t.Add({
      .name = "type",
      .arity = 2,
      .flags = kReadOnly | kFast,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = Type,
      .group = g,
      .summary = "Determines the type of value stored at a key.",
      .since = "1.0.0",
      .acl_categories = "@keyspace @read @fast",
  });
  t.Add({
      .name = "rename",
      .arity = 3,
      .flags = kWrite,
      .first_key = 1,
      .last_key = 2,
      .key_step = 1,
      .handler = Rename,
      .group = g,
      .summary = "Renames a key and overwrites the destination.",
      .since = "1.0.0",
      .acl_categories = "@keyspace @write @slow",
  });
  t.Add({
      .name = "renamenx",
      .arity = 3,
      .flags = kWrite | kFast,
      .first_key = 1,
      .last_key = 2,
      .key_step = 1,
      .handler = RenameNx,
      .group = g,
      .summary = "Renames a key only when the target key name doesn't exist.",
      .since = "1.0.0",
      .acl_categories = "@keyspace @write @fast",
  });
  t.Add({
      .name = "copy",
      .arity = -3,
      .flags = kWrite | kDenyOom,
      .first_key = 1,
      .last_key = 2,
      .key_step = 1,
      .handler = Copy,
      .group = g,
      .summary = "Copies the value of a key to a new key.",
      .since = "6.2.0",
      .acl_categories = "@keyspace @write @slow",
  });
  t.Add({
      .name = "move",
      .arity = 3,
      .flags = kWrite | kFast,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = Move,
      .group = g,
      .summary = "Moves a key to another database.",
      .since = "1.0.0",
      .acl_categories = "@keyspace @write @fast",
  });
  t.Add({
      .name = "keys",
      .arity = 2,
      .flags = kReadOnly,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = Keys,
      .group = g,
      .summary = "Returns all key names that match a pattern.",
      .since = "1.0.0",
      .acl_categories = "@keyspace @read @slow @dangerous",
  });
  t.Add({
      .name = "scan",
      .arity = -2,
      .flags = kReadOnly,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = Scan,
      .group = g,
      .summary = "Iterates over the key names in the database.",
      .since = "2.8.0",
      .acl_categories = "@keyspace @read @slow",
  });
  t.Add({
      .name = "randomkey",
      .arity = 1,
      .flags = kReadOnly,
      .first_key = 0,
      .last_key = 0,
      .key_step = 0,
      .handler = RandomKey,
      .group = g,
      .summary = "Returns a random key name from the database.",
      .since = "1.0.0",
      .acl_categories = "@keyspace @read @slow",
  });
  t.Add({
      .name = "expire",
      .arity = -3,
      .flags = kWrite | kFast,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = Expire,
      .group = g,
      .summary = "Sets the expiration time of a key in seconds.",
      .since = "1.0.0",
      .acl_categories = "@keyspace @write @fast",
  });
  t.Add({
      .name = "pexpire",
      .arity = -3,
      .flags = kWrite | kFast,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = PExpire,
      .group = g,
      .summary = "Sets the expiration time of a key in milliseconds.",
      .since = "2.6.0",
      .acl_categories = "@keyspace @write @fast",
  });
  t.Add({
      .name = "expireat",
      .arity = -3,
      .flags = kWrite | kFast,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = ExpireAt,
      .group = g,
      .summary = "Sets the expiration time of a key to a Unix timestamp.",
      .since = "1.2.0",
      .acl_categories = "@keyspace @write @fast",
  });
  t.Add({
      .name = "pexpireat",
      .arity = -3,
      .flags = kWrite | kFast,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = PExpireAt,
      .group = g,
      .summary = "Sets the expiration time of a key to a Unix milliseconds timestamp.",
      .since = "2.6.0",
      .acl_categories = "@keyspace @write @fast",
  });
  t.Add({
      .name = "ttl",
      .arity = 2,
      .flags = kReadOnly | kFast,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = Ttl,
      .group = g,
      .summary = "Returns the expiration time in seconds of a key.",
      .since = "1.0.0",
      .acl_categories = "@keyspace @read @fast",
  });
  t.Add({
      .name = "pttl",
      .arity = 2,
      .flags = kReadOnly | kFast,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = PTtl,
      .group = g,
      .summary = "Returns the expiration time in milliseconds of a key.",
      .since = "2.6.0",
      .acl_categories = "@keyspace @read @fast",
  });
  t.Add({
      .name = "expiretime",
      .arity = 2,
      .flags = kReadOnly | kFast,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = ExpireTime,
      .group = g,
      .summary = "Returns the expiration time of a key as a Unix timestamp.",
      .since = "7.0.0",
      .acl_categories = "@keyspace @read @fast",
  });
  t.Add({
      .name = "pexpiretime",
      .arity = 2,
      .flags = kReadOnly | kFast,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = PExpireTime,
      .group = g,
      .summary = "Returns the expiration time of a key as a Unix milliseconds timestamp.",
      .since = "7.0.0",
      .acl_categories = "@keyspace @read @fast",
  });
  t.Add({
      .name = "persist",
      .arity = 2,
      .flags = kWrite | kFast,
      .first_key = 1,
      .last_key = 1,
      .key_step = 1,
      .handler = Persist,
      .group = g,
      .summary = "Removes the expiration time of a key.",
      .since = "2.2.0",
      .acl_categories = "@keyspace @write @fast",
  });
  t.Add({
      .name = "object",
      .arity = -2,
      .flags = kReadOnly,
      .first_key = 2,
      .last_key = 2,
      .key_step = 1,
      .handler = ObjectCmd,
      .group = g,
      .summary = "A container for object introspection commands.",
      .since = "2.2.3",
      .acl_categories = "@keyspace @read @slow",
  });
}

}  // namespace ferrite
