"""How the fuzzer compares a Ferrite reply with redis-server's.

Every reply is compared exactly (byte for byte, RESP type for RESP type) unless the command's
grammar chose one of the modes below. Errors are always compared exactly. The modes are the
allowed differences, and each says why (docs/testing.md lists them for readers):

  exact      the default
  set        an unordered collection (KEYS, SMEMBERS, SINTER, HKEYS, HVALS, SORT BY nosort,
             PUBSUB CHANNELS): the same elements, any order — iteration order is the hash
             table's, which the two servers lay out differently
  pairs      field/value pairs in any order (HGETALL, CONFIG GET): as `set`, by pairs
  scan       SCAN/SSCAN (scanpairs: HSCAN/ZSCAN): a cursor is a position in a hash table,
             private to each server. When both say the iteration is complete (cursor 0), the
             elements must be the same set; otherwise only the reply's shape is compared
  rand       a random choice (SRANDMEMBER, HRANDFIELD, ZRANDMEMBER, RANDOMKEY, SPOP): the
             same shape (types and lengths); SPOP's effect is then re-synchronised
  time:N     a time (TTL, PTTL, EXPIRETIME, PEXPIRETIME): integers within N of each other;
             the two servers run the command some milliseconds apart
  shape      server-specific content: the same top-level RESP type (INFO, TIME, LASTSAVE,
             OBJECT IDLETIME/FREQ, MEMORY, LATENCY, SLOWLOG, DEBUG DIGEST/OBJECT, CLIENT ID/
             INFO/LIST, COMMAND COUNT/LIST/INFO/DOCS — Ferrite implements fewer commands —,
             CONFIG HELP, DUMP payloads, BGSAVE/BGREWRITEAOF start messages)
  hello      HELLO: the same RESP type; the map holds server name, version and client id
"""


def is_error(r):
    return r[0] == "-"


def _key(r):
    return repr(r)


def shape(r):
    t, v = r
    if isinstance(v, list):
        return (t, len(v), tuple(shape(x) if isinstance(x, tuple) and len(x) == 2 and
                                 isinstance(x[0], str) else
                                 (shape(x[0]), shape(x[1])) for x in v))
    return (t, v is None)


def _items(r):
    """The elements of an array-like reply, or None."""
    if r[0] in "*~" and isinstance(r[1], list):
        return r[1]
    return None


def _pairs(r):
    if r[0] == "%":
        return sorted(((_key(k), _key(v)) for k, v in r[1]))
    items = _items(r)
    if items is None or len(items) % 2:
        return None
    return sorted((_key(items[i]), _key(items[i + 1])) for i in range(0, len(items), 2))


def _time_close(f, r, tol):
    if f[0] == ":" and r[0] == ":":
        # A negative value (-1 no TTL, -2 no key) must match exactly.
        if f[1] < 0 or r[1] < 0:
            return f[1] == r[1]
        return abs(f[1] - r[1]) <= tol
    fi, ri = _items(f), _items(r)
    if fi is not None and ri is not None and len(fi) == len(ri):
        return all(_time_close(a, b, tol) for a, b in zip(fi, ri))
    return f == r


def _scan_items(r):
    if r[0] in "*" and isinstance(r[1], list) and len(r[1]) == 2:
        return r[1][0], r[1][1]
    return None, None


def differs(mode, f, r):
    """None when Ferrite's reply f is acceptable beside redis-server's reply r; else a reason."""
    if f == r:
        return None
    if is_error(f) or is_error(r) or mode == "exact":
        return "replies differ"
    if mode == "set":
        fi, ri = _items(f), _items(r)
        if fi is None or ri is None or f[0] != r[0]:
            return "replies differ"
        return None if sorted(map(_key, fi)) == sorted(map(_key, ri)) else "different elements"
    if mode == "pairs":
        if f[0] != r[0]:
            return "different reply types"
        fp, rp = _pairs(f), _pairs(r)
        return None if fp is not None and fp == rp else "different pairs"
    if mode in ("scan", "scanpairs"):
        fc, fl = _scan_items(f)
        rc, rl = _scan_items(r)
        if fc is None or rc is None or fc[0] != "$" or rc[0] != "$":
            return "replies differ"
        if fc[1] == b"0" and rc[1] == b"0":
            if mode == "scan":
                return differs("set", fl, rl)
            return differs("pairs", fl, rl)
        return None if fl[0] == rl[0] else "different reply types"
    if mode == "rand":
        return None if shape(f) == shape(r) else "different shapes"
    if mode.startswith("time:"):
        return None if _time_close(f, r, int(mode[5:])) else "times differ beyond the tolerance"
    if mode in ("shape", "hello"):
        return None if f[0] == r[0] else "different reply types"
    return "unknown comparison mode %r" % mode


def fmt_reply(r, limit=300):
    s = _fmt(r)
    return s if len(s) <= limit else s[:limit] + "...(%d chars)" % len(s)


def _fmt(r):
    t, v = r
    if t in "*~>":
        return "nil" if v is None else t + "[" + ", ".join(_fmt(x) for x in v) + "]"
    if t == "%":
        return "%{" + ", ".join(_fmt(k) + ": " + _fmt(x) for k, x in v) + "}"
    if t == "$":
        return "nil" if v is None else repr(v)[1:]
    if t == "-":
        return "(error) " + v.decode(errors="replace")
    if t == "+":
        return "+" + v.decode(errors="replace")
    return t + repr(v)


# ---------------------------------------------------------------- handed over
# Divergences that belong to a feature another branch is building at the time of writing,
# each with its owner. They are counted and reported (never silently passed) but do not fail
# the run; each entry goes when its owner's branch lands. (docs/testing.md)
def _arg(args, i):
    return args[i].lower() if len(args) > i else b""


HANDED_OVER = [
    # (owner, description, predicate(args, ferrite_reply, redis_reply))
    ("compat", "OBJECT ENCODING names as Redis 7.0 reports them for every type and size",
     lambda a, f, r: _arg(a, 0) == b"object"),
    ("compat", "COMMAND GETKEYS/GETKEYSANDFLAGS key specs and errors",
     lambda a, f, r: _arg(a, 0) == b"command"),
    ("compat", "CLIENT subcommands (LIST/INFO/KILL/NO-EVICT/... filters and errors)",
     lambda a, f, r: _arg(a, 0) == b"client"),
    ("compat", "CONFIG SET/GET of several keys, errors of CONFIG",
     lambda a, f, r: _arg(a, 0) == b"config"),
    ("compat", "RESET",
     lambda a, f, r: _arg(a, 0) == b"reset"),
    ("compat", "SWAPDB / MOVE / COPY",
     lambda a, f, r: _arg(a, 0) in (b"swapdb", b"move", b"copy")),
    ("compat", "LCS", lambda a, f, r: _arg(a, 0) == b"lcs"),
    ("durability", "DEBUG RELOAD while a background save runs: refused, Redis saves anyway",
     lambda a, f, r: _arg(a, 0) == b"debug" and _arg(a, 1) == b"reload" and f[0] == "-" and
     b"already in progress" in f[1]),
    ("durability", "BGREWRITEAOF with the AOF off; SAVE/BGSAVE replies",
     lambda a, f, r: _arg(a, 0) in (b"bgrewriteaof", b"bgsave", b"save")),
    ("dumpfuzz", "DUMP / RESTORE payloads",
     lambda a, f, r: _arg(a, 0) in (b"dump", b"restore")),
    ("geo", "GEO commands", lambda a, f, r: _arg(a, 0).startswith(b"geo")),
]


def handed_over(args, f, r):
    for owner, desc, pred in HANDED_OVER:
        try:
            if pred(args, f, r):
                return owner, desc
        except Exception:
            pass
    return None
