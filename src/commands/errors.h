#pragma once
// Redis's error texts, one place. Replies send them verbatim (after the leading '-').

#include <span>
#include <string>
#include <string_view>

namespace ferrite::err {

inline constexpr const char* kSyntax = "ERR syntax error";
inline constexpr const char* kWrongType =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
inline constexpr const char* kNotInt = "ERR value is not an integer or out of range";
inline constexpr const char* kNotFloat = "ERR value is not a valid float";
inline constexpr const char* kOverflow = "ERR increment or decrement would overflow";
inline constexpr const char* kNanOrInf = "ERR increment would produce NaN or Infinity";
inline constexpr const char* kNoSuchKey = "ERR no such key";
inline constexpr const char* kDbIndex = "ERR DB index is out of range";
inline constexpr const char* kInvalidCursor = "ERR invalid cursor";
inline constexpr const char* kOom = "OOM command not allowed when used memory > 'maxmemory'.";
inline constexpr const char* kNoAuth = "NOAUTH Authentication required.";
inline constexpr const char* kWrongPass =
    "WRONGPASS invalid username-password pair or user is disabled.";
inline constexpr const char* kAuthNoPass =
    "ERR AUTH <password> called without any password configured for the default user. "
    "Are you sure your configuration is correct?";
inline constexpr const char* kExecWithoutMulti = "ERR EXEC without MULTI";
inline constexpr const char* kDiscardWithoutMulti = "ERR DISCARD without MULTI";
inline constexpr const char* kMultiNested = "ERR MULTI calls can not be nested";
inline constexpr const char* kWatchInMulti = "ERR WATCH inside MULTI is not allowed";
inline constexpr const char* kNotInMulti = "ERR Command not allowed inside a transaction";
inline constexpr const char* kExecAbort =
    "EXECABORT Transaction discarded because of previous errors.";
inline constexpr const char* kStringTooBig =
    "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
inline constexpr const char* kBitOffset = "ERR bit offset is not an integer or out of range";
inline constexpr const char* kBitValue = "ERR bit is not an integer or out of range";
inline constexpr const char* kMaxClients = "ERR max number of clients reached";
inline constexpr const char* kLoading = "LOADING Ferrite is loading the dataset in memory";
inline constexpr const char* kMasterDown =
    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";
inline constexpr const char* kNoProto = "NOPROTO unsupported protocol version";
inline constexpr const char* kSameObject = "ERR source and destination objects are the same";
inline constexpr const char* kExpireNxXxGtLt =
    "ERR NX and XX, GT or LT options at the same time are not compatible";
inline constexpr const char* kDebugDisabled =
    "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", "
    "you can run it from a local connection, otherwise you need to set this option in the "
    "configuration file, and then restart the server.";
inline constexpr const char* kMisconfCheckpoint =
    "MISCONF Ferrite is configured to save checkpoints, but it's currently unable to persist "
    "to disk. Commands that may modify the data set are disabled, because this instance is "
    "configured to report errors during writes if checkpointing fails "
    "(stop-writes-on-bgsave-error option). Please check the Ferrite logs for details about "
    "the error.";
inline constexpr const char* kMisconfAof = "MISCONF Errors writing to the AOF file: ";

inline constexpr const char* kBitArg = "ERR The bit argument must be 1 or 0.";
inline constexpr const char* kBitopNot = "ERR BITOP NOT must be called with a single source key.";
inline constexpr const char* kBitfieldRo = "ERR BITFIELD_RO only supports the GET subcommand";
inline constexpr const char* kBitfieldOverflow = "ERR Invalid OVERFLOW type specified";
inline constexpr const char* kCopyUnsupported = "ERR COPY is not supported for this type yet";
inline constexpr const char* kGtAndLt = "ERR GT and LT options at the same time are not compatible";
inline constexpr const char* kProtoVersion =
    "ERR Protocol version is not an integer or out of range";
inline constexpr const char* kClientName =
    "ERR Client names cannot contain spaces, newlines or special characters.";
inline constexpr const char* kInvalidFirstDb = "ERR invalid first DB index";
inline constexpr const char* kInvalidSecondDb = "ERR invalid second DB index";
inline constexpr const char* kInvalidClientId = "ERR Invalid client ID";
inline constexpr const char* kNoSuchClient = "ERR No such client";
inline constexpr const char* kClientIdZero = "ERR client-id should be greater than 0";
inline constexpr const char* kGetkeysArity =
    "ERR wrong number of arguments for 'command|getkeys' command";
inline constexpr const char* kInvalidCommand = "ERR Invalid command specified";
inline constexpr const char* kInvalidCommandArgs =
    "ERR Invalid number of arguments specified for command";
inline constexpr const char* kNoKeyArgs = "ERR The command has no key arguments";
inline constexpr const char* kCountNotInt = "ERR count is not an integer or out of range";
inline constexpr const char* kSizeNotInt = "ERR size is not an integer or out of range";
inline constexpr const char* kNoShutdown = "ERR No shutdown in progress.";
inline constexpr const char* kNoPersistence = "ERR persistence is not available in this process";
inline constexpr const char* kDecrOverflow = "ERR decrement would overflow";
inline constexpr const char* kOffsetRange = "ERR offset is out of range";
inline constexpr const char* kPingArity = "ERR wrong number of arguments for 'ping' command";
inline constexpr const char* kBitfieldType =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but "
    "i64 is.";
inline constexpr const char* kHelloNoAuth =
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
    "<proto> AUTH <user> <pass> option can be used to authenticate the client and select the "
    "RESP protocol version at the same time";
inline constexpr const char* kLfuNotSelected =
    "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note "
    "that when switching between policies at runtime LRU and LFU data will take some time to "
    "adjust.";
inline constexpr const char* kLfuSelected =
    "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when "
    "switching between policies at runtime LRU and LFU data will take some time to adjust.";

inline constexpr const char* kRewriteFailed = "ERR Background append only file rewriting failed: ";

// DUMP / RESTORE / MIGRATE (dump_family.cc).
inline constexpr const char* kBusyKey = "BUSYKEY Target key name already exists.";
inline constexpr const char* kRestoreTtl = "ERR Invalid TTL value, must be >= 0";
inline constexpr const char* kRestoreIdletime = "ERR Invalid IDLETIME value, must be >= 0";
inline constexpr const char* kRestoreFreq = "ERR Invalid FREQ value, must be >= 0 and <= 255";
inline constexpr const char* kDumpPayloadVersion = "ERR DUMP payload version or checksum are wrong";
inline constexpr const char* kBadDataFormat = "ERR Bad data format";
inline constexpr const char* kMigrateKeysNotEmpty =
    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string";
inline constexpr const char* kMigrateConnect = "IOERR error or timeout connecting to the client";
inline constexpr const char* kMigrateWrite = "IOERR error or timeout writing to target instance";
inline constexpr const char* kMigrateRead = "IOERR error or timeout reading to target instance";

// Texts with a part taken from the request.
// As Redis's commandCheckExistence: the name and the arguments as C strings (up to a NUL),
// the arguments quoted one after another while the list is under 128 bytes, each cut to fill
// at most the rest of those 128.
inline std::string UnknownCommand(std::string_view name, std::span<const std::string_view> args) {
  auto cstr = [](std::string_view s) { return s.substr(0, s.find('\0')); };
  std::string list;
  for (size_t i = 1; i < args.size() && list.size() < 128; i++) {
    list += "'" + std::string(cstr(args[i]).substr(0, 128 - list.size())) + "' ";
  }
  return "ERR unknown command '" + std::string(cstr(name).substr(0, 128)) +
         "', with args beginning with: " + list;
}
// Redis 7's text for a command with subcommands (CONFIG, CLIENT, PUBSUB, OBJECT …).
inline std::string UnknownSubcommand(std::string_view sub, std::string_view cmd) {
  return "ERR unknown subcommand '" + std::string(sub.substr(0, 128)) + "'. Try " +
         std::string(cmd) + " HELP.";
}
// Redis's addReplySubcommandSyntaxError (a known subcommand used wrongly, or a command whose
// subcommands are not in the command table, such as DEBUG).
inline std::string SubcommandSyntax(std::string_view sub, std::string_view cmd) {
  sub = sub.substr(0, sub.find('\0'));
  return "ERR unknown subcommand or wrong number of arguments for '" +
         std::string(sub.substr(0, 128)) + "'. Try " + std::string(cmd) + " HELP.";
}
inline std::string WrongArity(std::string_view cmd) {
  return "ERR wrong number of arguments for '" + std::string(cmd) + "' command";
}
inline std::string InvalidExpireTime(std::string_view cmd) {
  return "ERR invalid expire time in '" + std::string(cmd) + "' command";
}
inline std::string UnsupportedOption(std::string_view o) {
  return "ERR Unsupported option " + std::string(o);
}
inline std::string HelloSyntax(std::string_view o) {
  return "ERR Syntax error in HELLO option '" + std::string(o) + "'";
}
inline std::string UnrecognizedOption(std::string_view o) {
  return "ERR Unrecognized option '" + std::string(o) + "'";
}
inline std::string UnknownClientType(std::string_view t) {
  return "ERR Unknown client type '" + std::string(t) + "'";
}
inline std::string NoSuchUser(std::string_view u) {
  return "ERR No such user '" + std::string(u) + "'";
}
inline std::string UnknownConfigOption(std::string_view o) {
  return "ERR Unknown option or number of arguments for CONFIG SET - '" + std::string(o) + "'";
}

}  // namespace ferrite::err
