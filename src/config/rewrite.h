#pragma once
// CONFIG REWRITE: writes the running configuration back into the TOML file the server was
// started with, as an edit of that file rather than a fresh rendering:
//
//   - lines of keys whose value did not change are left byte for byte (comments, blank
//     lines, order, quoting, "64MB" vs 67108864, inline tables, dotted keys);
//   - a changed key gets its new value in place; a comment after it on the line stays;
//   - a key that differs from its default and is not in the file is added after the last
//     key of its [section] (dotted and inline-table sections get the same form), or in a
//     new [section] at the end of the file when the file has none;
//   - the result is parsed back and must read as the running configuration, or nothing is
//     written (a file layout this editor does not handle is an error, never a wrong file).
//
// The file is replaced atomically: a temporary file next to it, fsync, rename, fsync of
// the directory (Redis's rewriteConfigOverwriteFile does the same).

#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "config/config.h"

namespace ferrite {

class FileSystem;

struct RewriteOptions {
  // Applied to the configuration read from the file before it is compared with the running
  // one, so that values the server normalised at start-up (a relative `dir` made absolute)
  // do not count as changes.
  std::function<void(Config&)> normalize;
};

// The new text of a configuration file `text` (empty: no file yet) holding `running`.
// `source` names the file in error messages.
Result<std::string> RewriteConfigText(std::string_view text, const Config& running,
                                      std::string_view source, const RewriteOptions& options = {});

// Reads `path` (a missing file counts as empty), rewrites it for `running` and replaces it
// atomically, keeping its permission bits. A symlink is followed: its target is replaced.
Status RewriteConfigFile(FileSystem* fs, const std::string& path, const Config& running,
                         const RewriteOptions& options = {});

}  // namespace ferrite
