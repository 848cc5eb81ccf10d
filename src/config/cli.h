#pragma once
// The server's command line, redis-server's form plus Ferrite's flags:
//
//   ferrite [FILE.toml] [--config FILE.toml] [--<name> <value>…]… [-h|--help] [-v|--version]
//
// `--<name>` is any Redis 7.0 configuration name (`--appendonly yes`, `--save "900 1"`,
// `--save ""`, `--port 7000`, `--enable-debug-command yes`) or a Ferrite key by its
// canonical name (`--persistence.aof_sync_policy always`); its values are the arguments up
// to the next `--option`, joined by spaces. Options apply after the file, in order, so
// the command line wins, as with redis-server. `-p`, `-b`, `-d`, `-c` are short for
// --port, --bind, --dir, --config.

#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "config/config.h"

namespace ferrite {

struct CommandLine {
  std::string config_path;
  bool help = false;
  bool version = false;
  // (name without dashes, values), in command-line order.
  std::vector<std::pair<std::string, std::vector<std::string>>> options;
};

// Errors name the argument and what was expected.
Result<CommandLine> ParseCommandLine(int argc, const char* const* argv);
// Applies the options to c (after the file was read); errors name the option.
Status ApplyCommandLine(const CommandLine& cl, Config& c);
std::string CommandLineUsage();

}  // namespace ferrite
