#include "config/cli.h"

#include "base/strutil.h"
#include "config/redis_config.h"
#include "config/schema.h"

namespace ferrite {
namespace {

bool IsLongOption(const char* a) { return a[0] == '-' && a[1] == '-' && a[2] != '\0'; }

}  // namespace

Result<CommandLine> ParseCommandLine(int argc, const char* const* argv) {
  CommandLine cl;
  int i = 1;
  if (i < argc && argv[i][0] != '-') cl.config_path = argv[i++];  // redis-server's form
  while (i < argc) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      cl.help = true;
      i++;
      continue;
    }
    if (a == "-v" || a == "--version") {
      cl.version = true;
      i++;
      continue;
    }
    std::string name;
    if (a == "-c" || a == "-p" || a == "-b" || a == "-d") {
      name = a == "-c" ? "config" : a == "-p" ? "port" : a == "-b" ? "bind" : "dir";
    } else if (IsLongOption(argv[i])) {
      name = a.substr(2);
    } else {
      return Status::InvalidArgument("unexpected argument '" + a +
                                     "' (options are --<name> <value>; see --help)");
    }
    i++;
    std::vector<std::string> values;
    while (i < argc && !IsLongOption(argv[i]) && std::string_view(argv[i]) != "-h" &&
           std::string_view(argv[i]) != "-v" &&
           !(argv[i][0] == '-' && argv[i][1] != '\0' && argv[i][2] == '\0' &&
             std::string_view("cpbd").find(argv[i][1]) != std::string_view::npos)) {
      values.emplace_back(argv[i++]);
    }
    if (name == "config") {
      if (values.size() != 1)
        return Status::InvalidArgument("--config: expected one file name, got " +
                                       std::to_string(values.size()) + " arguments");
      if (!cl.config_path.empty())
        return Status::InvalidArgument("--config: a configuration file is already given ('" +
                                       cl.config_path + "')");
      cl.config_path = values[0];
      continue;
    }
    if (values.empty() && EqualsIgnoreCase(name, "save")) values.emplace_back("");  // as Redis
    if (values.empty())
      return Status::InvalidArgument("--" + name + ": expected a value after the option");
    cl.options.emplace_back(ToLower(name), std::move(values));
  }
  return cl;
}

Status ApplyCommandLine(const CommandLine& cl, Config& c) {
  bool save_seen = false;
  for (auto& [name, values] : cl.options) {
    if (name.find('.') != std::string::npos) {  // a Ferrite key by its canonical name
      const Param* p = FindParam(name);
      if (!p) return Status::InvalidArgument("--" + name + ": unknown configuration key");
      std::string joined;
      for (size_t k = 0; k < values.size(); k++) joined += (k ? " " : "") + values[k];
      if (Status st = ParseParamString(*p, c, joined, false); !st.ok())
        return Status::InvalidArgument("--" + name + ": " + st.message());
      continue;
    }
    if (!FindRedisParam(name)) {
      return Status::InvalidArgument("--" + name +
                                     ": unknown option (expected a Redis 7.0 configuration "
                                     "name or a Ferrite key such as server.port)");
    }
    if (Status st = ApplyRedisArgument(c, name, values, &save_seen); !st.ok()) {
      std::string v;
      for (size_t k = 0; k < values.size(); k++) v += (k ? " " : "") + values[k];
      return Status::InvalidArgument("--" + name + " '" + v + "': " + st.message());
    }
  }
  return Status::Ok();
}

std::string CommandLineUsage() {
  return "Usage: ferrite [FILE.toml] [options]\n"
         "\n"
         "  FILE.toml, -c, --config FILE   TOML configuration file (default: built-in defaults)\n"
         "  --<redis-name> <value>...      any Redis 7.0 configuration parameter, as with\n"
         "                                 redis-server: --port 7000 --appendonly yes\n"
         "                                 --appendfsync always --save \"\" --requirepass x\n"
         "  --<section.key> <value>        a Ferrite key: --persistence.aof_sync_policy always\n"
         "  -p, --port N                   TCP port\n"
         "  -b, --bind ADDRS               listen addresses, space separated\n"
         "  -d, --dir DIR                  data directory\n"
         "  -h, --help                     this text\n"
         "  -v, --version                  print the version and exit\n"
         "\n"
         "Options apply after the file, in order; see docs/configuration.md.\n";
}

}  // namespace ferrite
