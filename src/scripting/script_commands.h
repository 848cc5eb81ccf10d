#pragma once
// The scripting commands' table entries (EVAL*, SCRIPT, FUNCTION, FCALL*), added to the
// engine's command table by ScriptingEngine::Install.

#include "commands/engine.h"

namespace ferrite::scripting {

void RegisterScriptingCommands(Engine& engine);

}  // namespace ferrite::scripting
