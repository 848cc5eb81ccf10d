#pragma once
// Checkpoint records <-> keyspace entries, shared by the checkpoint (manager.cc) and the
// AOF's checkpoint preamble (aof.cc).

#include <string>

#include "commands/engine.h"
#include "persistence/checkpoint/checkpoint_format.h"

namespace ferrite {

// The record for one entry; scratch holds the encoded collection (valid while it lives).
ckpt::Record MakeRecord(int db, const Entry& e, std::string* scratch);

// Inserts a record into the engine's databases. Keys already expired at now_ms are
// skipped and counted in *expired. Errors name the file (path) and the key.
Status ApplyRecord(Engine* engine, const std::string& path, const ckpt::Record& r,
                   const CollectionLimits& limits, int64_t now_ms, uint64_t* expired);

}  // namespace ferrite
