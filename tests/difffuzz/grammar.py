"""Command grammars for the differential fuzzer.

Every command a server lists in COMMAND must have a grammar here (GRAMMAR) or a reason in
EXCLUDED; the fuzzer reports any other command as "no grammar" and fails, so a command added
to Ferrite is noticed. A grammar is a function of a Gen that returns the argument list
(command name first, all bytes) and may set, on the Gen, how the reply is compared
(g.mode, see compare.py) and how the command must be sent:

  g.sync      end the pipelined batch after this command (its reply decides a resync)
  g.isolate   send it alone (its reply may close the connection: huge random counts)
  g.sentinel  a pub/sub command with a variable number of replies: a PING <token> follows it
              and every reply up to the token's belongs to it
  g.resync    what to copy from redis-server to Ferrite after the command, when its effect
              was a random choice: ("spop", key) or ("copy", key)

Values are drawn with a bias for edges: INT64_MIN/MAX and one past them, ±0, NaN, ±inf,
huge counts, empty and binary strings, long and nested glob patterns, keys of every type
(wrong types arise because every command draws from the same few keys), and, through the
generic mutations in Gen.command(), wrong arities and unknown options.
"""
import bisect
import time

INT64_MAX = 9223372036854775807
INT64_MIN = -9223372036854775808

INT_EDGES = [
    "0", "1", "-1", "2", "3", "5", "10", "-2", "-3", "-10", "100", "-100", "1000",
    "9223372036854775807", "-9223372036854775808", "9223372036854775806",
    "-9223372036854775807", "9223372036854775808", "-9223372036854775809",
    "4611686018427387904", "-4611686018427387904", "4611686018427387903",
    "-4611686018427387903", "-4611686018427387905", "2147483647", "-2147483648", "2147483648",
    "4294967295", "4294967296", "-4294967297", "18446744073709551615", "18446744073709551616",
    "00", "01", "-0", "+1", " 1", "1 ", "1.0", "0x10", "1e3", "", "abc", "1\x00", "99999999999999999999",
]
FLOAT_EDGES = [
    "0", "1", "-1", "1.5", "-1.5", "0.1", "1e10", "-1e-10", "3.0", "inf", "-inf", "+inf", "INF",
    "-Infinity", "nan", "NaN", "-nan", "1e308", "1e309", "-1e309", "4.9e-324", "2.5e-324",
    "1.7976931348623157e308", "-0", "+0", "0.0", "-0.0", ".5", "5.", "1e", "--1", "1,5",
    "17.0000000000000001", "0x1p3", " 1", "1 ", "", "abc", "9223372036854775807",
    "-9223372036854775808", "1e-320", "123456789012345678901234567890",
]
MEMBERS = [b"a", b"b", b"c", b"d", b"e", b"1", b"2", b"3", b"10", b"-1", b"", b"\x00",
           b"\xff\xfe", b"a" * 65, b"x y", b"*", b"[a]", b"1.5", b"9223372036854775807",
           b"-9223372036854775808", b"18446744073709551615"]
SMALL_MEMBERS = [b"a", b"b", b"c", b"d", b"e", b"1", b"2", b"3"]
KEYS = [b"k1", b"k2", b"k3", b"k4", b"k5", b"k6"]
ODD_KEYS = [b"", b"\x00\xffk", b"k" * 300, b"{k1}", b"k*", b"k[1]", b"k\r\n1"]
PATTERNS = [
    b"*", b"k*", b"k?", b"k[1-3]", b"*1*", b"k[^1]", b"\\k*", b"[", b"k[", b"*[a-", b"[]]",
    b"[^]", b"\\", b"*\\", b"k[1-]", b"[--]", b"?*?", b"**", b"", b"K*", b"[a-\xff]*",
    b"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b",
    b"*" * 60 + b"x", b"[a-z]*[0-9]*?*\\**", b"*[a-c]*[b-d]*[c-e]*?*?*?*z",
    b"?" * 40, b"[[[[[]]]]]", b"h[ae]llo", b"*a", b"a*",
]
LEX = [b"-", b"+", b"[a", b"(a", b"[b", b"(c", b"[", b"(", b"a", b"[\x00", b"(\xff", b"[aa",
       b"+inf", b"[e", b"(-", b"[+"]
SCORE_RANGE = [b"-inf", b"+inf", b"inf", b"0", b"1", b"(1", b"2.5", b"(2.5", b"-1", b"(-1",
               b"(inf", b"(-inf", b"nan", b"(nan", b"[1", b"abc", b"((1", b"( 1", b"", b"1e309",
               b"-0", b"(0"]
BITFIELD_TYPES = [b"i1", b"i8", b"u8", b"i16", b"u16", b"i32", b"u32", b"i63", b"i64", b"u63",
                  b"u64", b"i65", b"i0", b"u0", b"x8", b"", b"I8", b"U4", b"i-1", b"i 8"]
# Offsets that are valid stay small (a valid 4294967295 would make a 512 MB string on both
# servers, and every dataset comparison would copy it); the others are refused.
BIT_OFFSETS = [b"0", b"1", b"7", b"8", b"15", b"100", b"#0", b"#1", b"#-1", b"#3", b"-1",
               b"4294967296", b"#9223372036854775807", b"1000", b"abc", b"#", b"100000",
               b"9223372036854775807", b"#100000", b"#536870912", b"-9223372036854775808",
               b"#-9223372036854775808"]
TYPES = [b"string", b"list", b"set", b"zset", b"hash", b"stream", b"none", b"STRING", b"foo",
         b""]
CONFIG_SAFE = {  # config name -> values the fuzzer may set (all reset between sequences)
    "hash-max-listpack-entries": ["0", "1", "2", "128", "-1", "abc"],
    "hash-max-listpack-value": ["0", "1", "64", "-1"],
    "set-max-intset-entries": ["0", "1", "3", "512", "-1"],
    "zset-max-listpack-entries": ["0", "1", "2", "128"],
    "zset-max-listpack-value": ["0", "1", "64"],
    "list-max-listpack-size": ["-2", "-1", "-5", "-6", "1", "2", "128", "0"],
    "hll-sparse-max-bytes": ["0", "100", "3000", "-1"],
    "stream-node-max-entries": ["0", "1", "2", "3", "100"],
    "stream-node-max-bytes": ["0", "1", "60", "200", "4096"],
}
# Read-only config names whose values both servers share (CONFIG GET is compared exactly).
CONFIG_GET_SAME = list(CONFIG_SAFE) + ["maxmemory-policy", "maxmemory", "databases",
                                       "proto-max-bulk-len", "slowlog-max-len", "hz"]


# Commands after which a batch ends: their differences may be handed over and then need the
# whole dataset resynced before anything else runs (swapdb …), or their reply may need a
# second look (SORT: see difffuzz.py's sort_recheck).
SYNC_AFTER = {"swapdb", "move", "copy", "config", "debug", "save", "bgsave", "bgrewriteaof",
              "sort", "sort_ro"}


class Gen:
    """Random arguments for one command sequence. Deterministic from its Random."""

    def __init__(self, rng, commands):
        self.rng = rng
        self.commands = commands  # names with grammars, in a fixed order
        self.cum = []  # cumulative weights, for a weighted draw
        total = 0.0
        for n in commands:
            total += GRAMMAR[n][1]
            self.cum.append(total)
        self.in_multi = False  # the generator's belief; the runner tracks the truth
        self.subscribed = False
        self.resp3 = False
        self.now = int(time.time())
        self.followups = []  # commands to send right after the current one
        self.multi_resync = False  # a command needing a resync was queued since MULTI
        self.reset()

    def touch(self, key):
        """A key set with an absolute expiry may be already past it: Redis keeps such a key
        (DBSIZE counts it) until it is next touched or actively expired, Ferrite drops it at
        once. An EXISTS right after, on both servers, makes the states the same."""
        self.followups.append([b"exists", key])

    def reset(self):
        self.mode = "exact"
        self.sync = False
        self.isolate = False
        self.sentinel = False
        self.resync = None
        self.lexkeys = None

    # ---------------------------------------------------------------- draws
    def chance(self, p):
        return self.rng.random() < p

    def pick(self, seq):
        return seq[self.rng.randrange(len(seq))]

    def b(self, v):
        return v if isinstance(v, bytes) else str(v).encode()

    def key(self):
        if self.chance(0.03):
            return self.pick(ODD_KEYS)
        return self.pick(KEYS)

    def keys(self, lo=1, hi=4):
        return [self.key() for _ in range(self.rng.randint(lo, hi))]

    def member(self):
        if self.chance(0.7):
            return self.pick(SMALL_MEMBERS)
        if self.chance(0.5):
            return self.pick(MEMBERS)
        return self.b(self.rng.randint(-1000, 1000))

    def members(self, lo=1, hi=6):
        return [self.member() for _ in range(self.rng.randint(lo, hi))]

    def value(self):
        r = self.rng.random()
        if r < 0.35:
            return self.member()
        if r < 0.55:
            return self.b(self.rng.randint(-100, 100))
        if r < 0.65:
            return self.b(self.pick(INT_EDGES))
        if r < 0.75:
            return self.b(self.pick(FLOAT_EDGES))
        if r < 0.85:
            return bytes(self.rng.randrange(256) for _ in range(self.rng.randint(0, 20)))
        if r < 0.95:
            return b"v" * self.rng.choice([15, 16, 44, 45, 64, 65, 100])
        return b"x" * self.rng.choice([1000, 5000, 20000])

    def int_edge(self):
        return self.b(self.pick(INT_EDGES))

    def int_arg(self, lo=-5, hi=10, edge=0.2):
        if self.chance(edge):
            return self.int_edge()
        return self.b(self.rng.randint(lo, hi))

    def count(self, edge=0.2):
        return self.int_arg(-5, 10, edge)

    def index(self):
        return self.int_arg(-8, 8, 0.15)

    def float_arg(self, edge=0.3):
        if self.chance(edge):
            return self.b(self.pick(FLOAT_EDGES))
        if self.chance(0.5):
            return self.b(self.rng.randint(-10, 10))
        return self.b(round(self.rng.uniform(-100, 100), self.rng.randint(0, 4)))

    def score(self):
        return self.float_arg(0.15)

    def score_range(self):
        if self.chance(0.6):
            return self.pick(SCORE_RANGE)
        return self.score()

    def lex(self):
        if self.chance(0.8):
            return self.pick(LEX)
        return b"[" + self.member()

    def pattern(self):
        if self.chance(0.8):
            return self.pick(PATTERNS)
        parts = [b"*", b"?", b"k", b"a", b"[a-c]", b"[^b]", b"\\*", b"1", b"[", b"]"]
        return b"".join(self.pick(parts) for _ in range(self.rng.randint(1, 40)))

    def ttl_s(self):
        """Seconds for EXPIRE/EX: never a small positive value (a key must not expire between
        the two servers' executions), but the edges around overflow and zero."""
        return self.pick([b"0", b"-1", b"-100", b"100000", b"1000000", b"86400000",
                          b"9223372036854775807", b"-9223372036854775808", b"9223372036854775",
                          b"9223372036854776", b"9223372036854775806", b"4611686018427387",
                          b"-9223372036854775", b"abc", b"1.5", b"", b"99999999999"])

    def ttl_ms(self):
        # (150 000 s and 1 500 000 s: no relative TTL in seconds above equals one of these,
        # or EXPIRE … GT/LT after a PX would depend on the millisecond each server ran in)
        return self.pick([b"0", b"-1", b"-100", b"150000000", b"1500000000", b"9223372036854775807",
                          b"-9223372036854775808", b"9223372036854775806", b"9223372036854770000",
                          b"4611686018427387903", b"abc", b"1.5", b"99999999999999"])

    def unix_s(self):
        return self.pick([b"1", b"0", b"-1", b"1000000000", self.b(self.now + 1000000),
                          self.b(self.now + 90000000), b"9223372036854775807",
                          b"9223372036854775", b"-9223372036854775808", b"abc",
                          b"9223372036854776"])

    def unix_ms(self):
        return self.pick([b"1", b"0", b"-1", b"1000000000000", self.b((self.now + 1000000) * 1000),
                          b"9223372036854775807", b"-9223372036854775808", b"abc",
                          self.b((self.now + 90000000) * 1000)])

    def timeout(self):
        # Blocking commands must not block for long: no 0 (forever), tiny positive values,
        # and invalid ones that fail at once.
        return self.pick([b"0.001", b"0.001", b"0.001", b"0.002", b"-1", b"abc", b"inf", b"1e20",
                          b"-0.1", b"0.0001", b"nan", b"9223372036854775807"])

    def db(self):
        return self.pick([b"0", b"1", b"2", b"15", b"16", b"-1", b"abc", b"9223372036854775807"])

    def opt_case(self, s):
        if self.chance(0.2):
            return s.lower() if s.isupper() else s.upper()
        return s

    # ---------------------------------------------------------------- one command
    def command(self):
        """A whole command: a grammar, sometimes mutated. Returns (args, meta dict)."""
        self.reset()
        if self.followups:
            return self.followups.pop(0), {"mode": "exact", "sync": False, "isolate": False,
                                           "sentinel": False, "resync": None, "lex": None}
        if self.subscribed and self.chance(0.1):
            name = self.pick(["unsubscribe", "punsubscribe"])
        elif self.in_multi and self.chance(0.15):
            name = self.pick(["exec", "exec", "discard"])
        else:
            name = self.commands[bisect.bisect_right(self.cum, self.rng.random() * self.cum[-1])]
        args = GRAMMAR[name][0](self)
        args = [a if isinstance(a, bytes) else self.b(a) for a in args]
        r = self.rng.random()
        if r < 0.02 and len(args) > 1:  # wrong arity: a missing argument
            del args[self.rng.randrange(1, len(args))]
        elif r < 0.035:  # an extra or unknown argument
            junk = self.pick([b"FOO", b"NX", b"XX", b"COUNT", b"LIMIT", b"1", b"-1", b"", b"WITHSCORES",
                              b"MATCH", b"GET", b"BY", b"STORE", b"REV", b"BYSCORE", b"EX"])
            args.insert(self.rng.randint(1, len(args)), junk)
        elif r < 0.04:
            args[0] = args[0].upper() if self.chance(0.5) else args[0].capitalize()
        lname = args[0].lower().decode(errors="replace")
        args = safe_ttls(lname, args)
        if lname in ("set", "getex") and len(args) > 1 and any(
                a.upper() in (b"EXAT", b"PXAT") for a in args[2:]):
            self.touch(args[1])  # after the mutations: the key is whatever args[1] now is
        if lname in ("sort", "sort_ro") and self.mode not in ("set", "shape"):
            # A mutation may have made an option the BY pattern: without '*' it is nosort,
            # and a set comes out in its iteration order (see sort_args).
            for i in range(2, len(args) - 1):
                if args[i].upper() == b"BY" and b"*" not in args[i + 1]:
                    self.mode = "shape" if any(a.upper() == b"LIMIT" for a in args) else "set"
        if lname == "multi":
            self.in_multi = True
            self.multi_resync = False
        elif self.resync:
            self.multi_resync = True
        elif lname in ("exec", "discard"):
            self.in_multi = False
            # EXEC ends a batch: a queued SPOP is resynced after it, and a handed-over
            # difference inside the transaction makes the whole dataset resynced.
            self.sync = lname == "exec"
            self.multi_resync = False
        elif lname in ("subscribe", "psubscribe"):
            self.subscribed = True
        elif lname in ("hello",) and len(args) > 1:
            self.resp3 = args[1] == b"3"
        if lname in ("subscribe", "psubscribe", "unsubscribe", "punsubscribe", "ssubscribe",
                     "sunsubscribe"):
            self.sentinel = True
            self.isolate = True
        if self.lexkeys:
            self.isolate = True
        if lname in SYNC_AFTER:
            self.sync = True
        meta = {"mode": self.mode, "sync": self.sync or self.isolate or self.sentinel or
                bool(self.resync), "isolate": self.isolate, "sentinel": self.sentinel,
                "resync": self.resync, "lex": self.lexkeys}
        return args, meta


def _small_positive(a):
    try:
        v = int(a)
    except ValueError:
        return False
    return 0 < v < 100000 and str(v).encode() == a


def safe_ttls(lname, args):
    """No key may get a TTL short enough to run out between the two servers' executions of
    the sequence (a mutation can make "EX 1" out of "EX" and a junk "1"): such an amount is
    raised to 100000 (seconds or milliseconds alike: well beyond a sequence)."""
    args = list(args)
    if lname in ("set", "getex"):
        for i in range(2, len(args) - 1):
            if args[i].upper() in (b"EX", b"PX") and _small_positive(args[i + 1]):
                args[i + 1] = b"100000"
    elif lname in ("expire", "pexpire", "setex", "psetex") and len(args) > 2 and \
            _small_positive(args[2]):
        args[2] = b"100000"
    return args


# ---------------------------------------------------------------- the grammars
GRAMMAR = {}


def grammar(*names, weight=1.0):
    def deco(fn):
        for n in names:
            GRAMMAR[n] = (fn, weight)
        return fn
    return deco


def expire_opts(g):
    out = []
    for _ in range(g.rng.choice([0, 0, 0, 1, 1, 2])):
        out.append(g.opt_case(g.pick([b"NX", b"XX", b"GT", b"LT", b"FOO"])))
    return out


# ---- strings
@grammar("get", "strlen", "getdel", "incr", "decr", "type", "ttl", "pttl", "expiretime",
         "pexpiretime", "persist", "dump")
def g_onekey(g):
    name = g.cmdname
    if name in ("ttl", "pttl", "expiretime", "pexpiretime"):
        g.mode = "time:5" if name in ("ttl", "expiretime") else "time:5000"
    if name == "dump":
        g.mode = "dump"
    return [name, g.key()]


@grammar("set", weight=4)
def g_set(g):
    args = ["set", g.key(), g.value()]
    opts = []
    if g.chance(0.3):
        opts.append([g.opt_case(g.pick([b"NX", b"XX"]))])
    if g.chance(0.2):
        opts.append([b"GET"])
    if g.chance(0.35):
        u = g.pick([b"EX", b"PX", b"EXAT", b"PXAT", b"KEEPTTL"])
        if u == b"EX":
            opts.append([u, g.ttl_s()])
        elif u == b"PX":
            opts.append([u, g.ttl_ms()])
        elif u == b"EXAT":
            opts.append([u, g.unix_s()])
        elif u == b"PXAT":
            opts.append([u, g.unix_ms()])
        else:
            opts.append([u])
    if g.chance(0.05):
        opts.append([g.pick([b"NX", b"XX", b"EX", b"GET", b"KEEPTTL", b"PX"])])
    g.rng.shuffle(opts)
    for o in opts:
        args += o
    return args


@grammar("setnx", "getset", "append")
def g_keyval(g):
    return [g.cmdname, g.key(), g.value()]


@grammar("setex")
def g_setex(g):
    return ["setex", g.key(), g.ttl_s(), g.value()]


@grammar("psetex")
def g_psetex(g):
    return ["psetex", g.key(), g.ttl_ms(), g.value()]


@grammar("getex")
def g_getex(g):
    args = ["getex", g.key()]
    r = g.rng.random()
    if r < 0.2:
        args += [b"EX", g.ttl_s()]
    elif r < 0.35:
        args += [b"PX", g.ttl_ms()]
    elif r < 0.45:
        args += [b"EXAT", g.unix_s()]
    elif r < 0.55:
        args += [b"PXAT", g.unix_ms()]
    elif r < 0.7:
        args += [b"PERSIST"]
    if g.chance(0.05):
        args += [g.pick([b"PERSIST", b"EX", b"PX", b"1"])]
    return args


@grammar("mget", "exists", "del", "unlink", "touch")
def g_multikey(g):
    return [g.cmdname] + g.keys(1, 4)


@grammar("mset", "msetnx")
def g_mset(g):
    args = [g.cmdname]
    for _ in range(g.rng.randint(1, 3)):
        args += [g.key(), g.value()]
    return args


@grammar("incrby", "decrby")
def g_incrby(g):
    return [g.cmdname, g.key(), g.int_arg(-100, 100, 0.4)]


@grammar("incrbyfloat")
def g_incrbyfloat(g):
    return ["incrbyfloat", g.key(), g.float_arg(0.4)]


@grammar("getrange", "substr")
def g_getrange(g):
    return [g.cmdname, g.key(), g.index(), g.index()]


@grammar("setrange")
def g_setrange(g):
    off = g.pick([b"0", b"1", b"3", b"10", b"100", b"1000", b"-1", b"536870911", b"536870912",
                  b"9223372036854775807", b"-9223372036854775808", b"abc", b"4294967295",
                  b"536870900"])
    val = g.value()
    if off in (b"536870911", b"536870900", b"4294967295") and val:
        val = val[:1]  # stays small unless it passes the limit (then it must be refused)
        if off == b"536870900":
            val = b"x" * 20  # 536870920 > 512 MB: refused
        if off == b"536870911":
            val = b"xy"
    return ["setrange", g.key(), off, val]


@grammar("lcs")
def g_lcs(g):
    args = ["lcs", g.key(), g.key()]
    for _ in range(g.rng.randint(0, 3)):
        o = g.pick([b"LEN", b"IDX", b"MINMATCHLEN", b"WITHMATCHLEN"])
        args.append(o)
        if o == b"MINMATCHLEN":
            args.append(g.int_arg(0, 5))
    return args


# ---- bits
@grammar("getbit")
def g_getbit(g):
    return ["getbit", g.key(), g.pick(BIT_OFFSETS[:12] + [b"4294967295"])]


@grammar("setbit")
def g_setbit(g):
    off = g.pick([b"0", b"1", b"7", b"8", b"15", b"100", b"1000", b"-1", b"4294967296",
                  b"9223372036854775807", b"abc", b"4294967295"])
    if off == b"4294967295":  # valid but 512 MB: only with an invalid bit, which is refused
        return ["setbit", g.key(), off, b"2"]
    return ["setbit", g.key(), off, g.pick([b"0", b"1", b"1", b"2", b"-1", b"", b"01"])]


@grammar("bitcount")
def g_bitcount(g):
    args = ["bitcount", g.key()]
    if g.chance(0.6):
        args += [g.index(), g.index()]
        if g.chance(0.4):
            args.append(g.opt_case(g.pick([b"BYTE", b"BIT", b"FOO"])))
    elif g.chance(0.1):
        args.append(g.index())
    return args


@grammar("bitpos")
def g_bitpos(g):
    args = ["bitpos", g.key(), g.pick([b"0", b"1", b"1", b"2", b"-1"])]
    if g.chance(0.6):
        args.append(g.index())
        if g.chance(0.6):
            args.append(g.index())
            if g.chance(0.4):
                args.append(g.opt_case(g.pick([b"BYTE", b"BIT", b"FOO"])))
    return args


@grammar("bitop")
def g_bitop(g):
    op = g.opt_case(g.pick([b"AND", b"OR", b"XOR", b"NOT", b"FOO"]))
    return ["bitop", op, g.key()] + g.keys(1, 3)


def bitfield_ops(g, ro):
    args = []
    for _ in range(g.rng.randint(0, 4)):
        op = g.pick([b"GET", b"GET", b"SET", b"INCRBY", b"OVERFLOW", b"FOO"] if not ro else
                     [b"GET", b"GET", b"GET", b"SET"])
        if op == b"GET":
            args += [op, g.pick(BITFIELD_TYPES), g.pick(BIT_OFFSETS)]
        elif op in (b"SET", b"INCRBY"):
            args += [op, g.pick(BITFIELD_TYPES), g.pick(BIT_OFFSETS), g.int_arg(-300, 300, 0.3)]
        elif op == b"OVERFLOW":
            args += [op, g.opt_case(g.pick([b"WRAP", b"SAT", b"FAIL", b"FOO"]))]
        else:
            args += [op]
    return args


@grammar("bitfield")
def g_bitfield(g):
    return ["bitfield", g.key()] + bitfield_ops(g, False)


@grammar("bitfield_ro")
def g_bitfield_ro(g):
    return ["bitfield_ro", g.key()] + bitfield_ops(g, True)


# ---- keys
@grammar("rename", "renamenx")
def g_rename(g):
    return [g.cmdname, g.key(), g.key()]


@grammar("copy", weight=0.3)
def g_copy(g):
    args = ["copy", g.key(), g.key()]
    if g.chance(0.3):
        args += [b"DB", g.db()]
    if g.chance(0.4):
        args.append(b"REPLACE")
    return args


@grammar("move", weight=0.3)
def g_move(g):
    return ["move", g.key(), g.db()]


@grammar("expire", "pexpire")
def g_expire(g):
    t = g.ttl_s() if g.cmdname == "expire" else g.ttl_ms()
    return [g.cmdname, g.key(), t] + expire_opts(g)


@grammar("expireat", "pexpireat")
def g_expireat(g):
    t = g.unix_s() if g.cmdname == "expireat" else g.unix_ms()
    return [g.cmdname, g.key(), t] + expire_opts(g)


@grammar("keys")
def g_keys(g):
    g.mode = "set"
    return ["keys", g.pattern()]


@grammar("scan")
def g_scan(g):
    args = ["scan", g.pick([b"0", b"0", b"0", b"1", b"abc", b"-1", b"18446744073709551615",
                             b"18446744073709551616", b"", b"+0", b" 0"])]
    # A cursor the server did not hand out starts an iteration anywhere: only a scan from 0
    # that both servers finish in one call is compared element by element.
    g.mode = "scan" if args[1] == b"0" else "shape"
    if g.chance(0.4):
        args += [b"MATCH", g.pattern()]
    if g.chance(0.6):
        args += [b"COUNT", g.pick([b"1000", b"1000", b"1", b"0", b"-1", b"abc",
                                   b"9223372036854775807"])]
    if g.chance(0.3):
        args += [b"TYPE", g.pick(TYPES)]
    return args


@grammar("randomkey")
def g_randomkey(g):
    g.mode = "shape"
    return ["randomkey"]


@grammar("object", weight=0.3)
def g_object(g):
    sub = g.opt_case(g.pick([b"ENCODING", b"FREQ", b"IDLETIME", b"REFCOUNT", b"HELP", b"FOO"]))
    if sub.upper() in (b"IDLETIME", b"FREQ"):
        g.mode = "shape"
    args = ["object", sub]
    if sub.upper() != b"HELP" or g.chance(0.2):
        args.append(g.key())
    return args


def sort_args(g, ro):
    args = ["sort_ro" if ro else "sort", g.key()]
    nosort = False
    limit = False
    opts = []
    if g.chance(0.3):
        by = g.pick([b"nosort", b"w_*", b"h*->f", b"nosort", b"k*", b"*"])
        nosort = b"*" not in by
        opts.append([b"BY", by])
    if g.chance(0.3):
        limit = True
        opts.append([b"LIMIT", g.int_arg(-2, 5, 0.2), g.int_arg(-2, 5, 0.2)])
    for _ in range(g.rng.choice([0, 0, 1, 2])):
        opts.append([b"GET", g.pick([b"#", b"w_*", b"h*->f", b"k*", b"nokey", b"*->", b"#x"])])
    if g.chance(0.3):
        opts.append([g.pick([b"ASC", b"DESC"])])
    if g.chance(0.4):
        opts.append([b"ALPHA"])
    store = None
    if not ro and g.chance(0.25) and not g.in_multi:  # (an unordered STORE is resynced after)
        store = g.key()
        opts.append([b"STORE", store])
    alpha_c = any(o == [b"ALPHA"] for o in opts) and not any(o[0] == b"BY" for o in opts) and \
        store is None
    if alpha_c and any(o[0] == b"GET" for o in opts) and [b"GET", b"#"] not in opts:
        opts.append([b"GET", b"#"])  # each row names its element (see mode "alpha" below)
    g.rng.shuffle(opts)
    for o in opts:
        args += o
    if alpha_c:
        # ALPHA without BY or STORE compares C strings (strcoll): elements equal up to a NUL
        # tie, and Redis's quicksort leaves them in any order. Rows of the GETs, the element
        # at the first GET #.
        gets = [args[i + 1] for i in range(2, len(args) - 1) if args[i] == b"GET"]
        g.mode = "alpha:%d:%d" % (len(gets), gets.index(b"#") if gets else 0)
    alpha_by = b"ALPHA" in args and any(a == b"BY" for a in args) and not nosort
    if nosort or alpha_by:
        # BY nosort: a set comes out in its iteration order (a zset or list in theirs).
        # ALPHA with BY: elements whose weights are equal or missing compare equal, and Redis
        # leaves their order to its sort routine (qsort, or pqsort with LIMIT) and to the
        # set's iteration order.
        if store is not None:
            g.resync = ("copy", store)
        g.mode = "shape" if limit else "set"
    return args


@grammar("sort")
def g_sort(g):
    return sort_args(g, False)


@grammar("sort_ro")
def g_sort_ro(g):
    return sort_args(g, True)


# Valid DUMP payloads of redis-server 7.0.15 (string, int, list, intset, set, hash, zset),
# and damaged ones (bad CRC, truncated, wrong version).
PAYLOADS = [
    b'\x00\x03bar\n\x00\xe6\xbeI`\xeef\xfd\x17',
    b"\x00\xc190\n\x00\x9d\x94\xea'\x93\xfc\x08\xb9",
    b'\x12\x01\x02\x0f\x0f\x00\x00\x00\x03\x00\x81a\x02\x01\x01\x81b\x02\xff\n\x00\x90C'
    b'\xa3L\xeb\x8e\x1b\x1c',
    b'\x0b\x0e\x02\x00\x00\x00\x03\x00\x00\x00\x01\x00\x02\x00\x03\x00\n\x00\xa5\x02\\'
    b'\xe2mnM\x1b',
    b'\x02\x02\x01b\x01a\n\x00u\xd9\x9d\x83^\xf8_e',
    b'\x10\x12\x12\x00\x00\x00\x04\x00\x81f\x02\x81v\x02\x81g\x02\x01\x01\xff\n\x00#\xc1'
    b'\xa5\xe3]\xfa\xe8\x1c',
    b'\x11\x14\x14\x00\x00\x00\x04\x00\x81a\x02\x01\x01\x81b\x02\x832.5\x04\xff\n\x00\xd4'
    b'Ln\xa4\xf6D\xd9\xd7',
    b'\x00\x03bar\n\x00\xe6\xbeI`\xeef\xfd\x18', b'\x00\x03bar\n\x00', b'', b'garbage',
    b'\x00\x03bar\x0b\x00\xe6\xbeI`\xeef\xfd\x17',
]


@grammar("restore", "restore-asking")
def g_restore(g):
    args = [g.cmdname, g.key(), g.pick([b"0", b"0", b"150000000"] + [g.ttl_ms()]),
            g.pick(PAYLOADS)]
    for o in g.rng.sample([b"REPLACE", b"ABSTTL", b"IDLETIME", b"FREQ"], g.rng.randint(0, 2)):
        args.append(o)
        if o in (b"IDLETIME", b"FREQ"):
            args.append(g.int_arg(-1, 300))
    return args


@grammar("migrate", weight=0.2)
def g_migrate(g):
    # Port 1 of the loopback refuses at once: the errors and argument checks, no transfer.
    args = ["migrate", b"127.0.0.1", g.pick([b"1", b"abc", b"0"]), g.pick([g.key(), b""]),
            g.db(), g.pick([b"100", b"-1", b"abc", b"0"])]
    for o in g.rng.sample([b"COPY", b"REPLACE", b"AUTH", b"AUTH2", b"KEYS"], g.rng.randint(0, 2)):
        args.append(o)
        if o == b"AUTH":
            args.append(b"pw")
        elif o == b"AUTH2":
            args += [b"user", b"pw"]
        elif o == b"KEYS":
            args += g.keys(1, 2)
    return args


# ---- hashes
@grammar("hset", "hmset", weight=3)
def g_hset(g):
    args = [g.cmdname, g.key()]
    for _ in range(g.rng.randint(1, 4)):
        args += [g.member(), g.value()]
    return args


@grammar("hsetnx")
def g_hsetnx(g):
    return ["hsetnx", g.key(), g.member(), g.value()]


@grammar("hget", "hexists", "hstrlen")
def g_hget(g):
    return [g.cmdname, g.key(), g.member()]


@grammar("hmget", "hdel")
def g_hmget(g):
    return [g.cmdname, g.key()] + g.members(1, 4)


@grammar("hlen")
def g_hlen(g):
    return ["hlen", g.key()]


@grammar("hkeys", "hvals", "smembers")
def g_unordered_onekey(g):
    g.mode = "set"
    return [g.cmdname, g.key()]


@grammar("hgetall")
def g_hgetall(g):
    g.mode = "pairs"
    return ["hgetall", g.key()]


@grammar("hincrby")
def g_hincrby(g):
    return ["hincrby", g.key(), g.member(), g.int_arg(-100, 100, 0.4)]


@grammar("hincrbyfloat")
def g_hincrbyfloat(g):
    return ["hincrbyfloat", g.key(), g.member(), g.float_arg(0.4)]


def rand_count(g, pairs):
    """A count for SRANDMEMBER / HRANDFIELD / ZRANDMEMBER; a huge negative one is sent alone
    (it may make either server close the connection at its output limit)."""
    c = g.count(0.3)
    try:
        v = int(c)
        if v < -100000 and str(v).encode() == c:
            limit = INT64_MAX // 2 if pairs else INT64_MAX
            if -v <= limit:
                g.isolate = True
    except ValueError:
        pass
    return c


@grammar("hrandfield")
def g_hrandfield(g):
    g.mode = "rand"
    args = ["hrandfield", g.key()]
    if g.chance(0.8):
        wv = g.chance(0.4)
        args.append(rand_count(g, wv))
        if wv:
            args.append(g.opt_case(g.pick([b"WITHVALUES", b"WITHVALUES", b"FOO"])))
    return args


def scan_opts(g, args):
    if g.chance(0.4):
        args += [b"MATCH", g.pattern()]
    if g.chance(0.6):
        args += [b"COUNT", g.pick([b"1000", b"1000", b"1", b"0", b"-1", b"abc"])]
    return args


@grammar("hscan", "sscan", "zscan")
def g_xscan(g):
    args = [g.cmdname, g.key(), g.pick([b"0", b"0", b"0", b"1", b"abc", b"-1", b"", b"+0"])]
    g.mode = ("scan" if g.cmdname == "sscan" else "scanpairs") if args[2] == b"0" else "shape"
    return scan_opts(g, args)


# ---- lists
@grammar("lpush", "rpush", "lpushx", "rpushx", weight=3)
def g_push(g):
    return [g.cmdname, g.key()] + g.members(1, 5)


@grammar("lpop", "rpop")
def g_pop(g):
    args = [g.cmdname, g.key()]
    if g.chance(0.5):
        args.append(g.count(0.3))
    return args


@grammar("llen")
def g_llen(g):
    return ["llen", g.key()]


@grammar("lindex")
def g_lindex(g):
    return ["lindex", g.key(), g.index()]


@grammar("lset")
def g_lset(g):
    return ["lset", g.key(), g.index(), g.member()]


@grammar("lrange", "ltrim")
def g_lrange(g):
    return [g.cmdname, g.key(), g.index(), g.index()]


@grammar("lrem")
def g_lrem(g):
    return ["lrem", g.key(), g.count(0.2), g.member()]


@grammar("linsert")
def g_linsert(g):
    return ["linsert", g.key(), g.opt_case(g.pick([b"BEFORE", b"AFTER", b"FOO"])), g.member(),
            g.member()]


@grammar("lpos")
def g_lpos(g):
    args = ["lpos", g.key(), g.member()]
    opts = []
    for o in (b"RANK", b"COUNT", b"MAXLEN"):
        if g.chance(0.35):
            opts.append([o, g.int_arg(-3, 5, 0.3)])
    g.rng.shuffle(opts)
    for o in opts:
        args += o
    return args


def side(g):
    return g.opt_case(g.pick([b"LEFT", b"RIGHT", b"LEFT", b"RIGHT", b"UP"]))


@grammar("lmove")
def g_lmove(g):
    return ["lmove", g.key(), g.key(), side(g), side(g)]


@grammar("rpoplpush")
def g_rpoplpush(g):
    return ["rpoplpush", g.key(), g.key()]


def numkeys_args(g, lo=1, hi=3):
    keys = g.keys(lo, hi)
    n = len(keys)
    if g.chance(0.1):
        n = g.pick([0, -1, n + 1, n + 5, INT64_MAX, INT64_MIN, "abc"])
    return [g.b(n)] + keys


@grammar("lmpop")
def g_lmpop(g):
    args = ["lmpop"] + numkeys_args(g) + [side(g)]
    if g.chance(0.5):
        args += [b"COUNT", g.count(0.3)]
    return args


@grammar("blpop", "brpop")
def g_blpop(g):
    return [g.cmdname] + g.keys(1, 3) + [g.timeout()]


@grammar("brpoplpush")
def g_brpoplpush(g):
    return ["brpoplpush", g.key(), g.key(), g.timeout()]


@grammar("blmove")
def g_blmove(g):
    return ["blmove", g.key(), g.key(), side(g), side(g), g.timeout()]


@grammar("blmpop")
def g_blmpop(g):
    args = ["blmpop", g.timeout()] + numkeys_args(g) + [side(g)]
    if g.chance(0.5):
        args += [b"COUNT", g.count(0.3)]
    return args


# ---- sets
@grammar("sadd", weight=3)
def g_sadd(g):
    return ["sadd", g.key()] + g.members(1, 6)


@grammar("srem", "smismember")
def g_srem(g):
    return [g.cmdname, g.key()] + g.members(1, 4)


@grammar("sismember")
def g_sismember(g):
    return ["sismember", g.key(), g.member()]


@grammar("scard")
def g_scard(g):
    return ["scard", g.key()]


@grammar("spop")
def g_spop(g):
    args = ["spop", g.key()]
    if g.in_multi:
        # Inside a transaction a random pop would change what the commands queued after it
        # see, before any resync could run: pop everything (deterministic) instead.
        args.append(b"1000")
    elif g.chance(0.6):
        args.append(g.count(0.3))
    if g.chance(0.03):
        args.append(b"1")
    g.mode = "rand"
    g.resync = ("spop", args[1])
    return args


@grammar("srandmember")
def g_srandmember(g):
    g.mode = "rand"
    args = ["srandmember", g.key()]
    if g.chance(0.8):
        args.append(rand_count(g, False))
    if g.chance(0.03):
        args.append(b"1")
    return args


@grammar("smove")
def g_smove(g):
    return ["smove", g.key(), g.key(), g.member()]


@grammar("sinter", "sunion", "sdiff")
def g_setop(g):
    g.mode = "set"
    return [g.cmdname] + g.keys(1, 3)


@grammar("sinterstore", "sunionstore", "sdiffstore")
def g_setopstore(g):
    return [g.cmdname, g.key()] + g.keys(1, 3)


@grammar("sintercard", "zintercard")
def g_intercard(g):
    args = [g.cmdname] + numkeys_args(g)
    if g.chance(0.4):
        args += [b"LIMIT", g.count(0.3)]
    return args


# ---- sorted sets
@grammar("zadd", weight=3)
def g_zadd(g):
    args = ["zadd", g.key()]
    for o in (b"NX", b"XX", b"GT", b"LT", b"CH", b"INCR"):
        if g.chance(0.1):
            args.append(g.opt_case(o))
    same = g.chance(0.3)  # lex ranges are specified only when all scores are equal
    for _ in range(g.rng.randint(1, 4)):
        args += [b"0" if same else g.score(), g.member()]
    return args


@grammar("zincrby")
def g_zincrby(g):
    return ["zincrby", g.key(), g.score(), g.member()]


@grammar("zcard")
def g_zcard(g):
    return ["zcard", g.key()]


@grammar("zscore", "zrank", "zrevrank")
def g_zscore(g):
    return [g.cmdname, g.key(), g.member()]


@grammar("zmscore", "zrem")
def g_zmscore(g):
    return [g.cmdname, g.key()] + g.members(1, 4)


@grammar("zcount", "zremrangebyscore")
def g_zcount(g):
    return [g.cmdname, g.key(), g.score_range(), g.score_range()]


@grammar("zlexcount", "zremrangebylex", weight=0.5)
def g_zlexcount(g):
    k = g.key()
    if g.in_multi and g.cmdname == "zremrangebylex":
        # Its effect is unspecified over unequal scores (then resynced): not inside a
        # transaction, where later queued commands would see it first.
        return ["zremrangebyscore", k, g.score_range(), g.score_range()]
    g.lexkeys = [k]
    return [g.cmdname, k, g.lex(), g.lex()]


@grammar("zremrangebyrank")
def g_zremrangebyrank(g):
    return ["zremrangebyrank", g.key(), g.index(), g.index()]


def zrange_positional(g, args):
    kind = g.pick([None, None, b"BYSCORE", b"BYLEX"])
    if kind == b"BYLEX" and g.in_multi and args[0] == "zrangestore":
        kind = b"BYSCORE"  # (see g_zlexcount)
    if kind == b"BYSCORE":
        args += [g.score_range(), g.score_range()]
    elif kind == b"BYLEX":
        args += [g.lex(), g.lex()]
    else:
        args += [g.index(), g.index()]
    opts = [[kind]] if kind else []
    if kind == b"BYLEX":
        g.lexkeys = [args[-3]] if args[0] == "zrange" else [args[2], args[1]]
    if g.chance(0.3):
        opts.append([b"REV"])
    if g.chance(0.3):
        opts.append([b"LIMIT", g.int_arg(-2, 5, 0.2), g.int_arg(-2, 5, 0.2)])
    return opts


@grammar("zrange")
def g_zrange(g):
    args = ["zrange", g.key()]
    opts = zrange_positional(g, args)
    if g.chance(0.4):
        opts.append([b"WITHSCORES"])
    g.rng.shuffle(opts)
    for o in opts:
        args += o
    return args


@grammar("zrangestore")
def g_zrangestore(g):
    args = ["zrangestore", g.key(), g.key()]
    opts = zrange_positional(g, args)
    g.rng.shuffle(opts)
    for o in opts:
        args += o
    return args


@grammar("zrangebyscore", "zrevrangebyscore")
def g_zrangebyscore(g):
    args = [g.cmdname, g.key(), g.score_range(), g.score_range()]
    opts = []
    if g.chance(0.4):
        opts.append([b"WITHSCORES"])
    if g.chance(0.4):
        opts.append([b"LIMIT", g.int_arg(-2, 5, 0.2), g.int_arg(-2, 5, 0.2)])
    g.rng.shuffle(opts)
    for o in opts:
        args += o
    return args


@grammar("zrangebylex", "zrevrangebylex", weight=0.5)
def g_zrangebylex(g):
    args = [g.cmdname, g.key(), g.lex(), g.lex()]
    g.lexkeys = [args[1]]
    if g.chance(0.4):
        args += [b"LIMIT", g.int_arg(-2, 5, 0.2), g.int_arg(-2, 5, 0.2)]
    return args


@grammar("zrevrange")
def g_zrevrange(g):
    args = ["zrevrange", g.key(), g.index(), g.index()]
    if g.chance(0.4):
        args.append(b"WITHSCORES")
    return args


@grammar("zpopmin", "zpopmax")
def g_zpop(g):
    args = [g.cmdname, g.key()]
    if g.chance(0.5):
        args.append(g.count(0.3))
    return args


@grammar("bzpopmin", "bzpopmax")
def g_bzpop(g):
    return [g.cmdname] + g.keys(1, 3) + [g.timeout()]


@grammar("zmpop")
def g_zmpop(g):
    args = ["zmpop"] + numkeys_args(g) + [g.opt_case(g.pick([b"MIN", b"MAX", b"MID"]))]
    if g.chance(0.5):
        args += [b"COUNT", g.count(0.3)]
    return args


@grammar("bzmpop")
def g_bzmpop(g):
    args = ["bzmpop", g.timeout()] + numkeys_args(g) + [g.pick([b"MIN", b"MAX", b"MID"])]
    if g.chance(0.5):
        args += [b"COUNT", g.count(0.3)]
    return args


@grammar("zrandmember")
def g_zrandmember(g):
    g.mode = "rand"
    args = ["zrandmember", g.key()]
    if g.chance(0.8):
        ws = g.chance(0.4)
        args.append(rand_count(g, ws))
        if ws:
            args.append(g.opt_case(g.pick([b"WITHSCORES", b"WITHSCORES", b"FOO"])))
    return args


def zsetop_tail(g, args, n, withscores):
    if g.chance(0.3):
        args.append(b"WEIGHTS")
        for _ in range(n if g.chance(0.8) else max(0, n - 1)):
            args.append(g.float_arg(0.2))
    if g.chance(0.3):
        args += [b"AGGREGATE", g.opt_case(g.pick([b"SUM", b"MIN", b"MAX", b"AVG"]))]
    if withscores and g.chance(0.4):
        args.append(b"WITHSCORES")
    return args


@grammar("zunion", "zinter", "zdiff")
def g_zsetop(g):
    nk = numkeys_args(g)
    args = [g.cmdname] + nk
    if g.cmdname != "zdiff":
        return zsetop_tail(g, args, len(nk) - 1, True)
    if g.chance(0.4):
        args.append(b"WITHSCORES")
    return args


@grammar("zunionstore", "zinterstore", "zdiffstore")
def g_zsetopstore(g):
    nk = numkeys_args(g)
    args = [g.cmdname, g.key()] + nk
    if g.cmdname != "zdiffstore":
        return zsetop_tail(g, args, len(nk) - 1, False)
    return args


# ---- HyperLogLog
@grammar("pfadd")
def g_pfadd(g):
    return ["pfadd", g.key()] + g.members(0, 6)


@grammar("pfcount")
def g_pfcount(g):
    return ["pfcount"] + g.keys(1, 3)


@grammar("pfmerge")
def g_pfmerge(g):
    return ["pfmerge", g.key()] + g.keys(0, 3)


@grammar("pfdebug")
def g_pfdebug(g):
    sub = g.opt_case(g.pick([b"GETREG", b"DECODE", b"ENCODING", b"TODENSE", b"FOO"]))
    return ["pfdebug", sub, g.key()]


# ---- pub/sub (one connection: every message it gets is its own)
CHANNELS = [b"ch1", b"ch2", b"ch", b"c*", b"", b"__keyspace@0__:k1"]


@grammar("subscribe", "psubscribe", "ssubscribe", weight=0.3)
def g_subscribe(g):
    pool = CHANNELS if g.cmdname != "psubscribe" else CHANNELS + PATTERNS[:8]
    return [g.cmdname] + [g.pick(pool) for _ in range(g.rng.randint(1, 3))]


@grammar("unsubscribe", "punsubscribe", "sunsubscribe", weight=0.3)
def g_unsubscribe(g):
    pool = CHANNELS if g.cmdname != "punsubscribe" else CHANNELS + PATTERNS[:8]
    g.subscribed = False
    return [g.cmdname] + [g.pick(pool) for _ in range(g.rng.choice([0, 0, 1, 2]))]


@grammar("publish", "spublish")
def g_publish(g):
    return [g.cmdname, g.pick(CHANNELS), g.value()]


@grammar("pubsub")
def g_pubsub(g):
    sub = g.opt_case(g.pick([b"CHANNELS", b"NUMSUB", b"NUMPAT", b"HELP", b"FOO", b"SHARDCHANNELS",
                             b"SHARDNUMSUB"]))
    args = ["pubsub", sub]
    u = sub.upper()
    if u in (b"CHANNELS", b"SHARDCHANNELS"):
        g.mode = "set"
        if g.chance(0.6):
            args.append(g.pick(PATTERNS[:12] + CHANNELS))
    elif u in (b"NUMSUB", b"SHARDNUMSUB"):
        args += [g.pick(CHANNELS) for _ in range(g.rng.randint(0, 3))]
    return args


# ---- server and connection
@grammar("ping")
def g_ping(g):
    return ["ping"] + ([g.value()] if g.chance(0.5) else [])


@grammar("echo")
def g_echo(g):
    return ["echo", g.value()]


@grammar("select")
def g_select(g):
    return ["select", g.pick([b"0", b"0", b"1", b"2", b"15", b"16", b"-1", b"abc",
                              b"9223372036854775807", b"4294967296"])]


@grammar("dbsize", "lastsave", "time")
def g_noargs(g):
    if g.cmdname in ("lastsave", "time"):
        g.mode = "shape"
    return [g.cmdname]


@grammar("flushdb", "flushall", weight=0.3)
def g_flush(g):
    args = [g.cmdname]
    if g.chance(0.4):
        args.append(g.opt_case(g.pick([b"ASYNC", b"SYNC", b"FOO"])))
    return args


@grammar("swapdb", weight=0.3)
def g_swapdb(g):
    return ["swapdb", g.db(), g.db()]


@grammar("info")
def g_info(g):
    g.mode = "shape"
    return ["info"] + [g.pick([b"server", b"keyspace", b"stats", b"all", b"everything", b"foo",
                               b"default", b"memory"]) for _ in range(g.rng.randint(0, 2))]


@grammar("multi")
def g_multi(g):
    return ["multi"]


@grammar("exec", "discard", "unwatch")
def g_exec(g):
    return [g.cmdname]


@grammar("watch")
def g_watch(g):
    return ["watch"] + g.keys(1, 3)


@grammar("auth")
def g_auth(g):
    return ["auth"] + [g.pick([b"default", b"x", b"", b"nopass"])
                       for _ in range(g.rng.randint(1, 2))]


@grammar("hello")
def g_hello(g):
    g.mode = "hello"
    args = ["hello"]
    if g.chance(0.9):
        args.append(g.pick([b"2", b"3", b"3", b"1", b"4", b"abc", b"-1"]))
        if g.chance(0.2):
            args += [b"SETNAME", g.pick([b"fuzz", b"a b", b""])]
        if g.chance(0.1):
            args += [b"AUTH", b"default", b"x"]
    return args


@grammar("save", weight=0.3)
def g_save(g):
    return ["save"]


@grammar("bgsave", "bgrewriteaof", weight=0.1)
def g_bgsave(g):
    g.mode = "shape"
    args = [g.cmdname]
    if g.cmdname == "bgsave" and g.chance(0.3):
        args.append(g.pick([b"SCHEDULE", b"FOO"]))
    return args


@grammar("config", weight=0.3)
def g_config(g):
    sub = g.opt_case(g.pick([b"GET", b"GET", b"SET", b"SET", b"RESETSTAT", b"HELP", b"FOO"]))
    u = sub.upper()
    if u == b"GET":
        names = [g.b(g.pick(CONFIG_GET_SAME)) for _ in range(g.rng.randint(1, 2))]
        if g.chance(0.1):
            names = [g.pick([b"nosuchconfig", b"", b"*max-*-entries*"])]
        g.mode = "pairs"
        return ["config", sub] + names
    if u == b"SET":
        name = g.pick(list(CONFIG_SAFE))
        args = ["config", sub, g.b(name), g.b(g.pick(CONFIG_SAFE[name]))]
        if g.chance(0.3):
            # several at once: all applied or none (a bad value, a name given twice)
            for _ in range(g.rng.randint(1, 3)):
                name = g.pick(list(CONFIG_SAFE))
                args += [g.b(name), g.b(g.pick(CONFIG_SAFE[name]))]
        if g.chance(0.1):
            # (hz stays as the fuzzer set it: a slow loop makes redis-server's blocking
            # timeouts late; only a refused value is tried)
            args += [g.pick([b"nosuchconfig", b"hz", b"daemonize", b"port"]),
                     g.pick([b"abc", b"-1", b"yes"])]
        if g.chance(0.05):
            args = args[:-1]  # an odd number of arguments
        return args
    return ["config", sub]


@grammar("client", weight=0.3)
def g_client(g):
    sub = g.opt_case(g.pick([b"GETNAME", b"SETNAME", b"ID", b"INFO", b"LIST", b"HELP", b"FOO",
                             b"KILL", b"NO-EVICT", b"TRACKINGINFO", b"GETREDIR", b"UNPAUSE",
                             b"CACHING", b"PAUSE", b"UNBLOCK", b"REPLY"]))
    u = sub.upper()
    args = ["client", sub]
    if u == b"SETNAME":
        args.append(g.pick([b"fuzz", b"a b", b"", b"x\ny", b"name-1"]))
    elif u == b"KILL":
        # Filters that can never match the fuzzer's own connections.
        args += g.pick([[b"ID", b"999999"], [b"1.2.3.4:5"], [b"ADDR", b"1.2.3.4:5"],
                        [b"ID", b"abc"], [b"TYPE", b"foo"], [b"SKIPME", b"maybe"],
                        [b"ID", b"999999", b"SKIPME", b"yes"], [b"USER", b"nobody"],
                        [b"LADDR", b"1.2.3.4:5"], [b"ID"]])
    elif u == b"NO-EVICT":
        args.append(g.pick([b"on", b"off", b"maybe"]))
    elif u == b"CACHING":
        args.append(g.pick([b"yes", b"no"]))
    elif u == b"LIST" and g.chance(0.4):
        args += g.pick([[b"TYPE", b"normal"], [b"TYPE", b"foo"], [b"ID", b"999999"],
                        [b"ID", b"abc"], [b"ID"], [b"TYPE"], [b"FOO", b"x"],
                        [b"ID", b"999999", b"0", b"-1"], [b"TYPE", b"pubsub"],
                        [b"TYPE", b"replica"], [b"TYPE", b"master"]])
    elif u == b"PAUSE":
        # Only refused forms: a pause in force would hold the fuzzer's own writes.
        # (each stays refused when a mutation drops one argument, except the timeout
        # beyond the clock, which Ferrite refuses by design: compare.HANDED_OVER)
        args += g.pick([[b"abc"], [b"-1"], [b"-1", b"foo"], [b"9223372036854775807", b"x"],
                        [], [b"-1", b"WRITE", b"x"], [b"9223372036854775807"]])
    elif u == b"UNBLOCK":
        args += g.pick([[b"999999"], [b"abc"], [b"999999", b"TIMEOUT"], [b"999999", b"ERROR"],
                        [b"999999", b"foo"], [], [b"-1"]])
    elif u == b"REPLY":
        args += g.pick([[b"foo"], [], [b"ON", b"x"]])  # (ON/OFF/SKIP change the reply stream)
    elif u == b"GETNAME" and g.chance(0.1):
        args.append(b"x")
    # Addresses, ids and ages are each server's own (errors are compared exactly anyway);
    # a CLIENT LIST that matches no client is compared exactly.
    no_client = [[b"ID", b"999999"], [b"TYPE", b"replica"], [b"TYPE", b"master"]]
    if u in (b"ID", b"INFO", b"TRACKINGINFO") or (u == b"LIST" and args[2:] not in no_client):
        g.mode = "shape"
    return args


@grammar("command", weight=0.3)
def g_command(g):
    sub = g.opt_case(g.pick([b"COUNT", b"GETKEYS", b"GETKEYS", b"INFO", b"HELP", b"FOO", b"LIST",
                             b"DOCS", b"GETKEYSANDFLAGS"]))
    args = ["command", sub]
    u = sub.upper()
    if u in (b"GETKEYS", b"GETKEYSANDFLAGS"):
        inner = g.pick(["get", "set", "mset", "sort", "zunionstore", "lmpop", "ping", "foo",
                        "eval", "del"])
        if inner in GRAMMAR and inner != "eval":
            g.cmdname = inner
            inner_args = GRAMMAR[inner][0](g)
            g.reset()
            args += [a if isinstance(a, bytes) else g.b(a) for a in inner_args]
        else:
            args += [g.b(inner), b"k"]
    else:
        g.mode = "shape"  # the lists of commands differ: Ferrite implements fewer
        if u in (b"INFO", b"DOCS"):
            args += [g.pick([b"get", b"set", b"foo"])]
    return args


@grammar("debug", weight=0.3)
def g_debug(g):
    sub = g.pick([b"DIGEST", b"DIGEST-VALUE", b"OBJECT", b"SLEEP", b"SET-ACTIVE-EXPIRE",
                  b"POPULATE", b"RELOAD", b"FOO"])
    args = ["debug", sub]
    if sub == b"DIGEST-VALUE":
        args += g.keys(0, 3)
        g.mode = "shape"
    elif sub == b"DIGEST":
        g.mode = "shape"
    elif sub == b"OBJECT":
        args.append(g.key())
        g.mode = "shape"
    elif sub == b"SLEEP":
        args.append(g.pick([b"0", b"0.001", b"abc", b"-1"]))
    elif sub == b"SET-ACTIVE-EXPIRE":
        args.append(g.pick([b"0", b"1"]))
    elif sub == b"POPULATE":
        args.append(g.pick([b"10", b"100", b"0", b"-1", b"abc"]))
        if g.chance(0.6):
            args.append(g.pick([b"k", b"key", b"p"]))
            if g.chance(0.5):
                args.append(g.pick([b"0", b"5", b"100", b"-1", b"abc"]))
    return args


@grammar("memory")
def g_memory(g):
    sub = g.opt_case(g.pick([b"USAGE", b"USAGE", b"DOCTOR", b"STATS", b"MALLOC-STATS", b"PURGE",
                             b"HELP", b"FOO"]))
    args = ["memory", sub]
    g.mode = "shape"
    if sub.upper() == b"USAGE":
        args.append(g.key())
        if g.chance(0.3):
            args += [b"SAMPLES", g.int_arg(-1, 10, 0.3)]
    return args


@grammar("acl", weight=0.3)
def g_acl(g):
    # Questions and refusals only: a SETUSER/DELUSER/LOAD that took effect could lock the
    # fuzzer's own connections out (default off) or leave users whose rule order differs by
    # design (Redis lists single-command rules in its hash-table order).
    sub = g.opt_case(g.pick([b"WHOAMI", b"USERS", b"LIST", b"GETUSER", b"CAT", b"DRYRUN",
                             b"GENPASS", b"LOG", b"HELP", b"FOO", b"SETUSER", b"DELUSER"]))
    u = sub.upper()
    args = ["acl", sub]
    if u == b"GETUSER":
        args.append(g.pick([b"default", b"nobody", b""]))
    elif u == b"CAT":
        if g.chance(0.6):
            args.append(g.pick([b"read", b"write", b"keyspace", b"string", b"dangerous",
                                b"nosuchcategory", b"pubsub", b"scripting"]))
        g.mode = "set"
    elif u == b"DRYRUN":
        args += g.pick([[b"default", b"get", b"k"], [b"default", b"set", b"k", b"v"],
                        [b"nobody", b"get", b"k"], [b"default", b"nosuchcmd"],
                        [b"default", b"get"], [b"default"], [b"default", b"config", b"get", b"hz"]])
    elif u == b"GENPASS":
        if g.chance(0.7):
            args.append(g.pick([b"0", b"1", b"64", b"255", b"4096", b"4097", b"-5", b"abc"]))
        g.mode = "shape"
    elif u == b"LOG":
        if g.chance(0.5):
            args.append(g.pick([b"0", b"5", b"-1", b"abc", b"RESET"]))
        g.mode = "shape"  # entries carry times and client ids
    elif u == b"HELP":
        g.mode = "shape"
    elif u == b"SETUSER":
        # Each refused by the rule parser before anything changes.
        args += g.pick([[b"fuzzuser", b"+nosuchcmd"], [b"fuzzuser", b"bogusrule"],
                        [b"fuzzuser", b"~"], [b"fuzzuser", b"+@nosuchcat"],
                        [b"fuzzuser", b"(~x", b"+get"], [b"fuzzuser", b"%Q~x"],
                        [b"default", b"+get|x|y"], [b"fuzzuser", b"#xyz"]])
    elif u == b"DELUSER":
        args += g.pick([[b"nobody"], [b"nobody", b"nobody2"], [b"default"], []])
    return args


@grammar("latency")
def g_latency(g):
    sub = g.opt_case(g.pick([b"LATEST", b"HISTORY", b"RESET", b"HELP", b"FOO"]))
    args = ["latency", sub]
    if sub.upper() == b"HISTORY":
        args.append(g.pick([b"command", b"foo"]))
    elif sub.upper() == b"RESET" and g.chance(0.5):
        args.append(g.pick([b"command", b"foo"]))
    g.mode = "shape"
    return args


@grammar("slowlog")
def g_slowlog(g):
    sub = g.opt_case(g.pick([b"GET", b"LEN", b"RESET", b"HELP", b"FOO"]))
    args = ["slowlog", sub]
    if sub.upper() == b"GET" and g.chance(0.5):
        args.append(g.int_arg(-2, 10, 0.3))
    g.mode = "shape"
    return args


@grammar("reset", weight=0.3)
def g_reset(g):
    g.in_multi = False
    g.subscribed = False
    g.resp3 = False
    return ["reset"]


# ---- geo (ready for when the server has them)
GEO_MEMBERS = [b"Palermo", b"Catania", b"a", b"b"]


def lonlat(g):
    return g.pick([[b"13.361389", b"38.115556"], [b"15.087269", b"37.502669"], [b"0", b"0"],
                   [b"180", b"85.05112878"], [b"181", b"0"], [b"0", b"86"], [b"abc", b"1"],
                   [b"-180", b"-85.05112878"], [b"nan", b"0"], [b"inf", b"0"]])


@grammar("geoadd")
def g_geoadd(g):
    args = ["geoadd", g.key()]
    for o in (b"NX", b"XX", b"CH"):
        if g.chance(0.1):
            args.append(o)
    for _ in range(g.rng.randint(1, 3)):
        args += lonlat(g) + [g.pick(GEO_MEMBERS)]
    return args


@grammar("geodist")
def g_geodist(g):
    args = ["geodist", g.key(), g.pick(GEO_MEMBERS), g.pick(GEO_MEMBERS)]
    if g.chance(0.5):
        args.append(g.pick([b"m", b"km", b"mi", b"ft", b"xx"]))
    return args


@grammar("geohash", "geopos")
def g_geohash(g):
    return [g.cmdname, g.key()] + [g.pick(GEO_MEMBERS) for _ in range(g.rng.randint(0, 3))]


def geo_radius_tail(g, args, store_ok):
    args += [g.pick([b"100", b"200", b"0", b"-1", b"abc", b"1e10"]),
             g.pick([b"km", b"m", b"mi", b"ft", b"xx"])]
    for o in (b"WITHCOORD", b"WITHDIST", b"WITHHASH", b"ASC", b"DESC"):
        if g.chance(0.2):
            args.append(o)
    if g.chance(0.3):
        args += [b"COUNT", g.int_arg(-1, 5, 0.2)]
        if g.chance(0.3):
            args.append(b"ANY")
    if store_ok and g.chance(0.2):
        args += [g.pick([b"STORE", b"STOREDIST"]), g.key()]
    return args


@grammar("georadius", "georadius_ro")
def g_georadius(g):
    return geo_radius_tail(g, [g.cmdname, g.key()] + lonlat(g), g.cmdname == "georadius")


@grammar("georadiusbymember", "georadiusbymember_ro")
def g_georadiusbymember(g):
    return geo_radius_tail(g, [g.cmdname, g.key(), g.pick(GEO_MEMBERS)],
                           g.cmdname == "georadiusbymember")


def geosearch_tail(g, args):
    if g.chance(0.5):
        args += [b"FROMMEMBER", g.pick(GEO_MEMBERS)]
    else:
        args += [b"FROMLONLAT"] + lonlat(g)
    if g.chance(0.5):
        args += [b"BYRADIUS", g.pick([b"100", b"200", b"0", b"-1"]), g.pick([b"km", b"m", b"xx"])]
    else:
        args += [b"BYBOX", g.pick([b"100", b"400", b"-1"]), g.pick([b"100", b"400"]),
                 g.pick([b"km", b"m"])]
    for o in (b"ASC", b"DESC", b"WITHCOORD", b"WITHDIST", b"WITHHASH"):
        if g.chance(0.15):
            args.append(o)
    if g.chance(0.3):
        args += [b"COUNT", g.int_arg(-1, 5, 0.2)]
    return args


@grammar("geosearch")
def g_geosearch(g):
    return geosearch_tail(g, ["geosearch", g.key()])


@grammar("geosearchstore")
def g_geosearchstore(g):
    args = geosearch_tail(g, ["geosearchstore", g.key(), g.key()])
    if g.chance(0.3):
        args.append(b"STOREDIST")
    return args


# ---- streams
# Explicit IDs keep both servers' streams the same; "*" (an ID from each server's clock) is
# drawn rarely, its reply compared by shape and the stream then copied from redis-server.
STREAM_IDS = [b"0-1", b"1-0", b"1-1", b"1-2", b"2-0", b"3", b"5-5", b"10-0", b"100-1",
              b"1-18446744073709551615", b"18446744073709551615-18446744073709551615",
              b"18446744073709551615-18446744073709551614", b"0-0", b"0", b"-", b"+", b"$",
              b">", b"abc", b"1-abc", b"1-", b"-1", b"1--1", b"", b"18446744073709551616",
              b"(1-1", b"(0-0", b"(18446744073709551615-18446744073709551615", b"(", b"9-*"]
STREAM_GROUPS = [b"g1", b"g1", b"g2", b"nogroup"]
STREAM_CONSUMERS = [b"c1", b"c1", b"c2", b"c3", b""]
STREAM_FIELDS = [b"f", b"f", b"g", b"name", b"1", b"", b"v" * 70]


def stream_id(g, new=False):
    """An ID: for XADD (new=True) mostly increasing explicit ones (ms from a small range, so
    later ones often pass the last); for ranges and reads the edges of STREAM_IDS."""
    r = g.rng.random()
    if new:
        if r < 0.6:
            return g.b("%d-%d" % (g.rng.randint(0, 60), g.rng.randint(0, 3)))
        if r < 0.8:
            return g.b("%d-*" % g.rng.randint(0, 60))
        if r < 0.83:
            return b"*"
        return g.pick(STREAM_IDS)
    if r < 0.5:
        return g.b("%d-%d" % (g.rng.randint(0, 60), g.rng.randint(0, 3)))
    if r < 0.6:
        return g.b(g.rng.randint(0, 60))
    return g.pick(STREAM_IDS)


def stream_trim(g):
    args = [g.opt_case(g.pick([b"MAXLEN", b"MAXLEN", b"MINID"]))]
    if g.chance(0.5):
        args.append(g.pick([b"~", b"=", b"~", b"~~"]))
    if args[0].upper() == b"MAXLEN":
        args.append(g.pick([b"0", b"1", b"2", b"5", b"10", b"100", b"-1", b"abc",
                            b"9223372036854775807", b"-9223372036854775808"] + [g.count()]))
    else:
        args.append(stream_id(g))
    if g.chance(0.2):
        args += [b"LIMIT", g.pick([b"0", b"1", b"10", b"100", b"-1", b"abc",
                                   b"9223372036854775807", b"1000001"])]
    return args


@grammar("xadd", weight=4)
def g_xadd(g):
    args = ["xadd", g.key()]
    if g.chance(0.1):
        args.append(b"NOMKSTREAM")
    if g.chance(0.25):
        args += stream_trim(g)
    sid = stream_id(g, new=True)
    if sid == b"*":
        g.mode = "shape"
        g.resync = ("copy", args[1])
    args.append(sid)
    for _ in range(g.rng.choice([1, 1, 1, 2, 3])):
        args += [g.pick(STREAM_FIELDS), g.value()]
    return args


@grammar("xrange", "xrevrange", weight=1.5)
def g_xrange(g):
    args = [g.cmdname, g.key(), stream_id(g), stream_id(g)]
    if g.chance(0.4):
        args += [b"COUNT", g.count()]
    return args


@grammar("xlen")
def g_xlen(g):
    return ["xlen", g.key()]


@grammar("xdel")
def g_xdel(g):
    return ["xdel", g.key()] + [stream_id(g) for _ in range(g.rng.randint(1, 3))]


@grammar("xtrim")
def g_xtrim(g):
    return ["xtrim", g.key()] + stream_trim(g)


@grammar("xsetid", weight=0.5)
def g_xsetid(g):
    args = ["xsetid", g.key(), stream_id(g)]
    if g.chance(0.3):
        args += [b"ENTRIESADDED", g.int_arg(0, 100, 0.3)]
    if g.chance(0.3):
        args += [b"MAXDELETEDID", stream_id(g)]
    return args


def stream_read_tail(g, group):
    keys = g.keys(1, 2)
    ids = []
    for _ in keys:
        if group:
            ids.append(g.pick([b">", b">", b"0", b"0-0", b"$"]) if g.chance(0.8) else stream_id(g))
        else:
            ids.append(g.pick([b"0", b"0-0", b"$", b"+"]) if g.chance(0.5) else stream_id(g))
    if g.chance(0.05):
        ids = ids[:-1] or [b"0"] * 2  # unbalanced: the error
    return [b"STREAMS"] + keys + ids


def stream_block(g):
    # 1-2 ms: a read that finds nothing waits that long on both servers; the invalid ones fail
    # at once. Never 0 (forever).
    # (A huge BLOCK is not drawn: redis-server 7.0 adds it to its clock, overflows and then
    # waits forever.)
    return [b"BLOCK", g.pick([b"1", b"1", b"2", b"-1", b"abc", b"99999999999999999999",
                              b"-9223372036854775808", b"1.5"])]


@grammar("xread", weight=1.5)
def g_xread(g):
    args = ["xread"]
    if g.chance(0.4):
        args += [b"COUNT", g.count()]
    if g.chance(0.3):
        args += stream_block(g)
    return args + stream_read_tail(g, False)


@grammar("xreadgroup", weight=2)
def g_xreadgroup(g):
    args = ["xreadgroup", b"GROUP", g.pick(STREAM_GROUPS), g.pick(STREAM_CONSUMERS)]
    if g.chance(0.4):
        args += [b"COUNT", g.count()]
    if g.chance(0.2):
        args += stream_block(g)
    if g.chance(0.2):
        args.append(b"NOACK")
    return args + stream_read_tail(g, True)


@grammar("xgroup", weight=2)
def g_xgroup(g):
    sub = g.opt_case(g.pick([b"CREATE", b"CREATE", b"CREATE", b"SETID", b"DESTROY",
                             b"CREATECONSUMER", b"DELCONSUMER", b"HELP", b"FOO"]))
    u = sub.upper()
    args = ["xgroup", sub]
    if u in (b"HELP", b"FOO"):
        return args
    args += [g.key(), g.pick(STREAM_GROUPS)]
    if u in (b"CREATE", b"SETID"):
        args.append(g.pick([b"$", b"0", b"0-0"]) if g.chance(0.6) else stream_id(g))
        if u == b"CREATE" and g.chance(0.5):
            args.append(b"MKSTREAM")
        if g.chance(0.25):
            args += [b"ENTRIESREAD", g.pick([b"0", b"1", b"3", b"-1", b"-2", b"100", b"abc",
                                             b"9223372036854775807"])]
    elif u in (b"CREATECONSUMER", b"DELCONSUMER"):
        args.append(g.pick(STREAM_CONSUMERS))
    return args


@grammar("xack")
def g_xack(g):
    return ["xack", g.key(), g.pick(STREAM_GROUPS)] + [stream_id(g)
                                                        for _ in range(g.rng.randint(1, 3))]


# Idle times: 0, or so large that no delivery made during a run reaches them.
MIN_IDLE = [b"0", b"0", b"100000000", b"-1", b"abc", b"9223372036854775807"]


@grammar("xpending", weight=1.5)
def g_xpending(g):
    args = ["xpending", g.key(), g.pick(STREAM_GROUPS)]
    if g.chance(0.6):
        g.mode = "xpending"
        if g.chance(0.3):
            args += [b"IDLE", g.pick(MIN_IDLE)]
        args += [stream_id(g), stream_id(g), g.count()]
        if g.chance(0.4):
            args.append(g.pick(STREAM_CONSUMERS))
    return args


@grammar("xclaim")
def g_xclaim(g):
    args = ["xclaim", g.key(), g.pick(STREAM_GROUPS), g.pick(STREAM_CONSUMERS), g.pick(MIN_IDLE)]
    args += [stream_id(g) for _ in range(g.rng.randint(1, 3))]
    for o in g.rng.sample([b"IDLE", b"TIME", b"RETRYCOUNT", b"FORCE", b"JUSTID", b"LASTID"],
                          g.rng.randint(0, 3)):
        args.append(o)
        if o == b"IDLE":
            args.append(g.pick([b"0", b"200000000", b"-1", b"abc"]))
        elif o == b"TIME":
            args.append(g.pick([b"0", b"1", g.b((g.now - 300000) * 1000),
                                g.b((g.now + 300000) * 1000), b"-1", b"abc"]))
        elif o == b"RETRYCOUNT":
            args.append(g.int_arg(0, 5, 0.3))
        elif o == b"LASTID":
            args.append(stream_id(g))
    return args


@grammar("xautoclaim")
def g_xautoclaim(g):
    args = ["xautoclaim", g.key(), g.pick(STREAM_GROUPS), g.pick(STREAM_CONSUMERS),
            g.pick(MIN_IDLE), stream_id(g)]
    if g.chance(0.4):
        args += [b"COUNT", g.pick([b"1", b"2", b"100", b"0", b"-1", b"abc",
                                   b"9223372036854775807", b"92233720368547758"])]
    if g.chance(0.3):
        args.append(b"JUSTID")
    return args


@grammar("xinfo")
def g_xinfo(g):
    sub = g.opt_case(g.pick([b"STREAM", b"STREAM", b"GROUPS", b"CONSUMERS", b"HELP", b"FOO"]))
    u = sub.upper()
    args = ["xinfo", sub]
    if u in (b"HELP", b"FOO"):
        return args
    args.append(g.key())
    g.mode = "xinfo"
    if u == b"CONSUMERS":
        args.append(g.pick(STREAM_GROUPS))
    elif u == b"STREAM" and g.chance(0.4):
        args.append(b"FULL")
        if g.chance(0.5):
            args += [b"COUNT", g.count()]
    return args


# ---- scripting: small deterministic scripts over the fuzzer's keys (no TIME, no random
# commands, no unordered reads, no loops: every reply and effect is the same on both).
SCRIPT_BODIES = [
    b"return redis.call('get', KEYS[1])",
    b"return redis.call('set', KEYS[1], ARGV[1])",
    b"return redis.call('incr', KEYS[1])",
    b"return redis.call('incrby', KEYS[1], ARGV[1])",
    b"return redis.call('del', KEYS[1])",
    b"return redis.call('lpush', KEYS[1], ARGV[1], ARGV[2])",
    b"return redis.call('lrange', KEYS[1], 0, -1)",
    b"return redis.call('hset', KEYS[1], ARGV[1], ARGV[2])",
    b"return redis.call('hget', KEYS[1], ARGV[1])",
    b"return redis.call('sadd', KEYS[1], ARGV[1])",
    b"return redis.call('zadd', KEYS[1], ARGV[1], ARGV[2])",
    b"return redis.call('zrange', KEYS[1], 0, -1, 'WITHSCORES')",
    b"return redis.call('exists', KEYS[1], KEYS[2])",
    b"return redis.call('type', KEYS[1])",
    b"return redis.call('type', KEYS[1])['ok']",
    b"return redis.pcall('incr', KEYS[1])",
    b"return redis.pcall('lpush', KEYS[1], ARGV[1])",
    b"local v = redis.call('get', KEYS[1]) if v then return string.len(v) end return -1",
    b"redis.call('set', KEYS[1], ARGV[1]) redis.call('expire', KEYS[1], 100000) "
    b"return redis.call('ttl', KEYS[1])",
    b"redis.call('set', KEYS[1], ARGV[1]) return redis.call('append', KEYS[2], ARGV[2])",
    b"return redis.call('rpoplpush', KEYS[1], KEYS[2])",
    b"return redis.call('nosuchcommand', KEYS[1])",
    b"return redis.call('eval', 'return 1', 0)",
    b"return redis.call()",
    b"return redis.call('get')",
    b"return redis.error_reply('my error')",
    b"return redis.error_reply('ERR detailed')",
    b"return redis.status_reply('fine')",
    b"return {err='table error'}",
    b"return {ok='table ok'}",
    b"return 3.99",
    b"return -7",
    b"return {1, 2, {3, 'x'}, nil, 4}",
    b"return nil",
    b"return false",
    b"return true",
    b"return 'plain string'",
    b"return #KEYS + 10 * #ARGV",
    b"return ARGV",
    b"return KEYS",
    b"return redis.sha1hex(ARGV[1] or '')",
    b"return tonumber(ARGV[1])",
    b"return cjson.encode({1, 2, 'x'})",
    b"return cjson.decode('[1,2,3]')",
    b"return redis.call('ping')",
    b"redis.setresp(3) return redis.call('get', KEYS[1])",
    b"redis.setresp(3) return redis.call('zscore', KEYS[1], ARGV[1])",
    b"redis.setresp(3) return redis.call('hgetall', 'nosuchkey-fuzz')",
    b"return redis.setresp(4)",
    b"error('raised')",
    b"error({err='raised table'})",
    b"local t = nil return t.x",
    b"syntax error here",
    b"x = 1",
    b"return redis.call('select', 1)",
    b"return redis.call('multi')",
    b"return redis.call('blpop', KEYS[1], 0)",
    b"#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])",
    b"#!lua flags=no-writes\nreturn redis.call('set', KEYS[1], ARGV[1])",
    b"#!lua flags=no-writes\nreturn redis.call('publish', 'ch', 'msg')",
    b"#!lua\nreturn redis.call('set', KEYS[1], ARGV[1])",
    b"#!lua\nreturn redis.call('get', 'undeclared-key')",
    b"#!lua flags=allow-oom,no-cluster\nreturn redis.call('incr', KEYS[1])",
    b"#!lua flags=bad-flag\nreturn 1",
    b"#!lua name=x\nreturn 1",
    b"#!notlua\nreturn 1",
    b"",
]
SCRIPT_ARGS = [b"1", b"2", b"-5", b"a", b"10", b"3.5", b"", b"9223372036854775807", b"x y"]


def script_keys_args(g):
    nk = g.rng.choice([0, 1, 1, 1, 2, 2])
    out = [g.b(nk)]
    if g.chance(0.05):
        out[0] = g.pick([b"-1", b"abc", b"3", b"100", b"9223372036854775807", b""])
    out += [g.key() for _ in range(nk)]
    out += [g.pick(SCRIPT_ARGS) for _ in range(g.rng.choice([0, 1, 2, 2, 3]))]
    return out


def script_sha(body):
    import hashlib
    return hashlib.sha1(body).hexdigest().encode()


@grammar("eval", "eval_ro", weight=0.6)
def g_eval(g):
    return [g.cmdname, g.pick(SCRIPT_BODIES)] + script_keys_args(g)


@grammar("evalsha", "evalsha_ro", weight=0.4)
def g_evalsha(g):
    sha = script_sha(g.pick(SCRIPT_BODIES))
    if g.chance(0.1):
        sha = g.pick([b"abc", sha.upper(), b"0" * 40, sha[:39]])
    return [g.cmdname, sha] + script_keys_args(g)


@grammar("script", weight=0.3)
def g_script(g):
    sub = g.opt_case(g.pick([b"LOAD", b"LOAD", b"EXISTS", b"EXISTS", b"FLUSH", b"KILL", b"HELP",
                             b"FOO"]))
    u = sub.upper()
    args = ["script", sub]
    if u == b"LOAD":
        args.append(g.pick(SCRIPT_BODIES))
    elif u == b"EXISTS":
        args += [script_sha(g.pick(SCRIPT_BODIES)) for _ in range(g.rng.randint(0, 3))]
        if g.chance(0.1):
            args.append(b"nosuchsha")
    elif u == b"FLUSH" and g.chance(0.5):
        args.append(g.pick([b"SYNC", b"ASYNC", b"FOO"]))
    return args


# Libraries: fixed names, so loading, replacing and deleting them collide on purpose.
FUNCTION_LIBS = [
    b"#!lua name=lib1\nredis.register_function('f1', function(keys, args) "
    b"return redis.call('get', keys[1]) end)",
    b"#!lua name=lib1\nredis.register_function{function_name='f1', callback=function(keys, args) "
    b"return redis.call('set', keys[1], args[1]) end}\n"
    b"redis.register_function{function_name='f1ro', callback=function(keys, args) "
    b"return redis.call('exists', keys[1]) end, flags={'no-writes'}}",
    b"#!lua name=lib2\nredis.register_function{function_name='f2', callback=function(keys, args) "
    b"return redis.call('incr', keys[1]) end, flags={'allow-oom'}, description='incr it'}",
    b"#!lua name=lib2\nredis.register_function('f2', function(keys, args) return #keys end)\n"
    b"redis.register_function('f3', function(keys, args) return args end)",
    b"#!lua name=lib3\nredis.register_function('f1', function() return 1 end)",
    b"#!lua name=lib4\nredis.register_function('f4', function(keys, args) "
    b"return redis.call('lpush', keys[1], 'x') end)",
    b"#!lua name=bad\nredis.register_function('f5', 'not a function')",
    b"#!lua name=bad\nreturn 1",
    b"#!lua name=bad\nredis.call('set', 'x', 1)",
    b"#!lua\nredis.register_function('f6', function() return 1 end)",
    b"#!lua name=bad flags=no-writes\nredis.register_function('f7', function() return 1 end)",
    b"#!lua name=lib5\nredis.register_function{function_name='f5', callback=function() "
    b"return 1 end, flags={'no-such-flag'}}",
    b"#!nolang name=lib6\nredis.register_function('f6', function() return 1 end)",
    b"not a library",
]
FUNCTION_NAMES = [b"f1", b"f1ro", b"f2", b"f3", b"f4", b"f5", b"nosuchfunction", b"F1", b""]
LIBRARY_NAMES = [b"lib1", b"lib2", b"lib3", b"lib4", b"lib5", b"nosuchlib", b"LIB1", b"*"]


@grammar("fcall", "fcall_ro", weight=0.6)
def g_fcall(g):
    return [g.cmdname, g.pick(FUNCTION_NAMES)] + script_keys_args(g)


@grammar("function", weight=0.4)
def g_function(g):
    sub = g.opt_case(g.pick([b"LOAD", b"LOAD", b"LOAD", b"DELETE", b"FLUSH", b"LIST", b"STATS",
                             b"KILL", b"HELP", b"DUMP", b"RESTORE", b"FOO"]))
    u = sub.upper()
    args = ["function", sub]
    if u == b"LOAD":
        if g.chance(0.4):
            args.append(g.opt_case(b"REPLACE"))
        args.append(g.pick(FUNCTION_LIBS))
    elif u == b"DELETE":
        args.append(g.pick(LIBRARY_NAMES))
    elif u == b"FLUSH" and g.chance(0.5):
        args.append(g.pick([b"SYNC", b"ASYNC", b"FOO"]))
    elif u == b"LIST":
        # Libraries and functions are listed in each server's dictionary order.
        g.mode = "functions"
        if g.chance(0.5):
            args += [b"LIBRARYNAME", g.pick(LIBRARY_NAMES)]
        if g.chance(0.3):
            args.append(b"WITHCODE")
    elif u == b"STATS":
        g.mode = "shape"
    elif u == b"DUMP":
        g.mode = "shape"  # libraries in dictionary order
    elif u == b"RESTORE":
        args.append(g.pick([b"", b"\xf5\x00", b"garbage payload",
                            b"\xf5\xc3@X@]\x1f#!lua name=lib1\r\n\x0b\x00\x00\x00"]))
        if g.chance(0.5):
            args.append(g.pick([b"FLUSH", b"APPEND", b"REPLACE", b"FOO"]))
    return args


# Commands a server may list that the fuzzer never sends, and why (documented in
# docs/testing.md). Anything else without a grammar is reported.
EXCLUDED = {
    "shutdown": "stops the server",
    "monitor": "turns the connection into a stream of every command",
    "quit": "closes the connection (the fuzzer opens a new one per sequence)",
    "pfselftest": "an internal self-test that runs for seconds by design",
    "sync": "replication", "psync": "replication", "replconf": "replication",
    "replicaof": "replication", "slaveof": "replication", "failover": "replication",
    "wait": "replication", "role": "replication",
}


def bind_names():
    """Each grammar function reads its command's name from g.cmdname (several share one)."""
    for name, (fn, w) in list(GRAMMAR.items()):
        def wrapped(g, _fn=fn, _name=name):
            g.cmdname = _name
            return _fn(g)
        GRAMMAR[name] = (wrapped, w)


bind_names()
