#pragma once
// Checkpoint records <-> keyspace entries, shared by the checkpoint (manager.cc) and the
// AOF's checkpoint preamble (aof.cc).

#include <set>
#include <string>

#include "commands/engine.h"
#include "persistence/checkpoint/checkpoint_format.h"

namespace ferrite {

// The record for one entry; scratch holds the encoded collection (valid while it lives).
// With refs, a value in a tier segment is written as a reference to it (and its segment
// added to refs); without, its bytes are read and written in full.
ckpt::Record MakeRecord(int db, const Entry& e, std::string* scratch,
                        std::set<uint32_t>* refs = nullptr);

// Writes one entry into a checkpoint: as MakeRecord's record, except that a value longer
// than ckpt::kLargeValue is streamed in value chunks (Writer::BeginValue...EndValue), so
// neither its encoding nor a block ever holds a copy of the whole value.
Status WriteRecord(ckpt::Writer* w, int db, const Entry& e, std::string* scratch,
                   std::set<uint32_t>* refs = nullptr);

// Writes the engine's function libraries as kFunctionLibrary records (right after a
// checkpoint's header: the freeze and the libraries are taken at the same instant, between
// two commands, so never inside a script or a FUNCTION command).
Status WriteFunctionRecords(ckpt::Writer* w, Engine* engine);

// Inserts a record into the engine's databases (a function library record: loads it),
// expired or not (nothing expires while loading: an AOF tail may still write to the key;
// expired keys are deleted after the load). now_ms and expired are unused. Errors name the
// file (path) and the key.
Status ApplyRecord(Engine* engine, const std::string& path, const ckpt::Record& r,
                   const CollectionLimits& limits, int64_t now_ms, uint64_t* expired);

}  // namespace ferrite
