// libFuzzer target for the TOML configuration loader (config/config.h) and the CONFIG
// REWRITE editor that reads the same file (config/rewrite.h). The input is the file's
// text. Checks: no crash, no exception escaping, no out-of-bounds access; a file that
// parses validates without crashing and rewrites (for its own values and the defaults)
// to a text that parses back.

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "config/config.h"
#include "config/rewrite.h"
#include "fuzz/fuzz_util.h"

using namespace ferrite;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (!fuzz::SeedDir()) return 0;
  fuzz::WriteSeed("sections.toml",
                  "[server]\nport = 6380 # comment\nmaxmemory = \"64MB\"\n"
                  "maxmemory_policy = \"allkeys-lru\"\n[persistence]\naof_enabled = true\n"
                  "aof_sync_policy = \"always\"\nsave = [{ seconds = 60, changes = 100 }]\n"
                  "[storage]\nenabled = false\n[storage.archive]\nenabled = false\n");
  fuzz::WriteSeed("dotted-inline.toml",
                  "server.port = 7000\nencoding = { hash_max_listpack_entries = 64 }\n");
  fuzz::WriteSeed("errors.toml", "[server]\nport = \"x\"\nnosuch = 1\n[[x]]\n");
  fuzz::WriteSeed("strings.toml",
                  "[server]\ndir = '''multi\nline'''\nrequirepass = \"\\u00e9\\t\\\"q\\\"\"\n");
  exit(0);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto c = ParseConfig(text, "fuzz.toml");
  if (c.ok()) (void)ValidateConfig(c.value());
  Config running = c.ok() ? c.value() : DefaultConfig();
  running.server.port = running.server.port == 6379 ? 6380 : 6379;  // one change to write
  auto out = RewriteConfigText(text, running, "fuzz.toml");
  if (out.ok()) {
    auto back = ParseConfig(out.value(), "rewritten.toml");
    if (!back.ok()) abort();
  }
  return 0;
}
