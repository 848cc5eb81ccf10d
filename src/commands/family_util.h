#pragma once
// Small helpers shared by the *_family.cc handlers.

#include <string>
#include <string_view>

#include "commands/command.h"
#include "commands/engine.h"
#include "commands/errors.h"
#include "base/strutil.h"
#include "keyspace/db.h"

namespace ferrite {

// Looks a key up for reading. Returns nullptr if absent. If present with another type,
// replies WRONGTYPE, sets *wrongtype and returns nullptr.
inline Entry* FindTyped(CommandContext& ctx, std::string_view key, ValueType t, bool* wrongtype,
                        bool for_write = false) {
  *wrongtype = false;
  Database& db = ctx.db();
  Entry* e = for_write ? db.FindForWrite(key, ctx.now_ms) : db.Find(key, ctx.now_ms);
  if (e && e->value.type() != t) {
    ctx.rb.Error(err::kWrongType);
    *wrongtype = true;
    return nullptr;
  }
  return e;
}

inline bool ArgIs(std::string_view arg, std::string_view upper) {
  return EqualsIgnoreCase(arg, upper);
}

// Max string size (proto-max-bulk-len) for SETRANGE/APPEND/SETBIT growth checks.
inline bool CheckStringSize(CommandContext& ctx, uint64_t size) {
  if (size > uint64_t(ctx.engine.config().server.proto_max_bulk_len)) {
    ctx.rb.Error(err::kStringTooBig);
    return false;
  }
  return true;
}

}  // namespace ferrite
