#include "persistence/apply_record.h"

#include <fmt/format.h>

#include "types/serialize.h"

namespace ferrite {

ckpt::Record MakeRecord(int db, const Entry& e, std::string* scratch) {
  std::string_view bytes;
  scratch->clear();
  if (e.value.is_string()) {
    bytes = e.value.GetString(scratch);
  } else {
    EncodeCollection(e.value, scratch);
    bytes = *scratch;
  }
  return ckpt::Record{uint32_t(db), uint8_t(e.value.type()), e.expire_ms, e.key(), bytes};
}

Status ApplyRecord(Engine* engine, const std::string& path, const ckpt::Record& r,
                   const CollectionLimits& limits, int64_t now_ms, uint64_t* expired) {
  if (r.db >= uint32_t(engine->db_count())) {
    return Status::Corruption(fmt::format("{}: database {} does not exist here (server.databases = {})",
                                          path, r.db, engine->db_count()));
  }
  if (r.type < uint8_t(ValueType::kString) || r.type > uint8_t(ValueType::kHash)) {
    return Status::NotSupported(fmt::format("{}: value type {} of key '{}' is not supported by this build",
                                            path, r.type, std::string(r.key.substr(0, 64))));
  }
  if (r.expire_ms && r.expire_ms <= now_ms) {
    (*expired)++;
    return Status::Ok();
  }
  Value v;
  if (r.type == uint8_t(ValueType::kString)) {
    v = Value::String(r.value);
  } else {
    auto decoded = DecodeCollection(ValueType(r.type), r.value, limits);
    if (!decoded.ok()) {
      return Status::Corruption(fmt::format("{}: key '{}': {}", path, std::string(r.key.substr(0, 64)),
                                            decoded.status().message()));
    }
    v = std::move(decoded.value());
  }
  Database& db = engine->db(int(r.db));
  Entry* e = db.Insert(r.key, std::move(v));
  if (r.expire_ms) db.SetExpire(e, r.expire_ms);
  return Status::Ok();
}

}  // namespace ferrite
