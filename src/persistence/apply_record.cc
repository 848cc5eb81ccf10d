#include "persistence/apply_record.h"

#include <fmt/format.h>
#include <strings.h>

#include "persistence/rdb/redis_rdb.h"
#include "tier/tier_manager.h"
#include "types/serialize.h"

namespace ferrite {

ckpt::Record MakeRecord(int db, const Entry& e, std::string* scratch, std::set<uint32_t>* refs) {
  std::string_view bytes;
  scratch->clear();
  if (refs && e.value.tiered()) {
    *scratch = tier::TierManager::EncodeRef(e.value);
    refs->insert(e.value.tier_segment());
    return ckpt::Record{uint32_t(db), uint8_t(uint8_t(e.value.type()) | ckpt::kTierRefFlag),
                        e.expire_ms, e.key(), *scratch};
  }
  if (e.value.is_string()) {
    bytes = e.value.GetString(scratch);
  } else {
    EncodeCollection(e.value, scratch);
    bytes = *scratch;
  }
  return ckpt::Record{uint32_t(db), uint8_t(e.value.type()), e.expire_ms, e.key(), bytes};
}

Status WriteRecord(ckpt::Writer* w, int db, const Entry& e, std::string* scratch,
                   std::set<uint32_t>* refs) {
  if (e.value.tiered() && !refs) {
    // Copying it would read it through the silent path (an empty value on a failed read).
    return Status::NotSupported("key '" + std::string(e.key().substr(0, 64)) +
                                "' is in a tier segment: an image must reference it");
  }
  if ((refs && e.value.tiered()) ||
      (e.value.is_string() && e.value.StringLength() <= ckpt::kLargeValue)) {
    return w->Add(MakeRecord(db, e, scratch, refs));
  }
  ckpt::Record r{uint32_t(db), uint8_t(e.value.type()), e.expire_ms, e.key(), {}};
  if (e.value.is_string()) {  // a large string: a view of its bytes, cut into chunks
    scratch->clear();
    std::string_view bytes = e.value.GetString(scratch);
    Status st = w->BeginValue(r);
    if (st.ok()) st = w->AppendValue(bytes);
    if (st.ok()) st = w->EndValue();
    return st;
  }
  // A collection: encoded piece by piece. One that fits in a piece is an ordinary record.
  Status st = Status::Ok();
  bool streaming = false;
  EncodeCollectionStream(e.value, ckpt::kBlockTarget, [&](std::string_view piece, bool last) {
    if (!st.ok()) return;
    if (!streaming && last) {
      r.value = piece;
      st = w->Add(r);
      return;
    }
    if (!streaming) {
      streaming = true;
      st = w->BeginValue(r);
    }
    if (st.ok()) st = w->AppendValue(piece);
    if (st.ok() && last) st = w->EndValue();
  });
  return st;
}

Status WriteFunctionRecords(ckpt::Writer* w, Engine* engine) {
  if (!engine->scripting()) return Status::Ok();
  for (const std::string& code : engine->scripting()->LibraryCodes()) {
    std::string name = rdb::FunctionLibraryName(code);
    if (Status st = w->Add(ckpt::Record{0, ckpt::kFunctionLibrary, 0, name, code}); !st.ok())
      return st;
  }
  return Status::Ok();
}

Status ApplyRecord(Engine* engine, const std::string& path, const ckpt::Record& r,
                   const CollectionLimits& limits, int64_t now_ms, uint64_t* expired) {
  if (r.type == ckpt::kFunctionLibrary) {
    if (!engine->scripting()) {
      return Status::NotSupported(
          fmt::format("{}: function library '{}' but this process has no scripting", path, r.key));
    }
    Status st = engine->scripting()->LoadLibrary(r.value);
    if (!st.ok()) return Status::Corruption(fmt::format("{}: {}", path, st.message()));
    return Status::Ok();
  }
  if (r.db >= uint32_t(engine->db_count())) {
    return Status::Corruption(
        fmt::format("{}: database {} does not exist here (server.databases = {})", path, r.db,
                    engine->db_count()));
  }
  bool ref = r.type & ckpt::kTierRefFlag;
  uint8_t type = uint8_t(r.type & ~ckpt::kTierRefFlag);
  if (type < uint8_t(ValueType::kString) || type > uint8_t(ValueType::kStream)) {
    return Status::NotSupported(
        fmt::format("{}: value type {} of key '{}' is not supported by this build", path, r.type,
                    std::string(r.key.substr(0, 64))));
  }
  (void)now_ms;  // nothing expires while loading: the engine deletes expired keys afterwards
  (void)expired;
  Value v;
  if (ref) {
    if (!engine->tier()) {
      return Status::NotSupported(
          fmt::format("{}: key '{}' is in a tier segment but tiered storage is not set up", path,
                      std::string(r.key.substr(0, 64))));
    }
    auto adopted = engine->tier()->AdoptRef(type, r.value, r.key.substr(0, 64));
    if (!adopted.ok())
      return Status::Corruption(fmt::format("{}: {}", path, adopted.status().message()));
    v = std::move(adopted.value());
  } else if (r.type == uint8_t(ValueType::kString)) {
    v = Value::String(r.value);
  } else {
    auto decoded = DecodeCollection(ValueType(r.type), r.value, limits);
    if (!decoded.ok()) {
      return Status::Corruption(fmt::format(
          "{}: key '{}': {}", path, std::string(r.key.substr(0, 64)), decoded.status().message()));
    }
    v = std::move(decoded.value());
  }
  Database& db = engine->db(int(r.db));
  Entry* e = db.Insert(r.key, std::move(v));
  if (r.expire_ms) db.SetExpire(e, r.expire_ms);
  return Status::Ok();
}

}  // namespace ferrite
