#pragma once
// Redis's error texts, one place. Replies send them verbatim (after the leading '-').

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
inline constexpr const char* kExecAbort =
    "EXECABORT Transaction discarded because of previous errors.";
inline constexpr const char* kStringTooBig =
    "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
inline constexpr const char* kBitOffset = "ERR bit offset is not an integer or out of range";
inline constexpr const char* kBitValue = "ERR bit is not an integer or out of range";
inline constexpr const char* kMaxClients = "ERR max number of clients reached";
inline constexpr const char* kLoading = "LOADING Ferrite is loading the dataset in memory";
inline constexpr const char* kNoProto = "NOPROTO unsupported protocol version";
inline constexpr const char* kSameObject = "ERR source and destination objects are the same";
inline constexpr const char* kTimeout = "ERR timeout is not an integer or out of range";
inline constexpr const char* kExpireNxXxGtLt =
    "ERR NX and XX, GT or LT options at the same time are not compatible";
inline constexpr const char* kGtLtNx = "ERR GT, LT, and/or NX options at the same time are not compatible";
inline constexpr const char* kDebugDisabled =
    "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", "
    "you can run it from a local connection, otherwise you need to set this option in the "
    "configuration file, and then restart the server.";
inline constexpr const char* kMisconf =
    "MISCONF Errors writing to the AOF file or saving the checkpoint; writes are refused "
    "until persistence works again (see the server log)";
inline constexpr const char* kPubSubContext =
    "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are "
    "allowed in this context";

}  // namespace ferrite::err
