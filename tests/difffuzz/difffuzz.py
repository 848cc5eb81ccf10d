#!/usr/bin/python3
"""Differential fuzzer: the same random command sequences to Ferrite and to redis-server 7.0,
every reply compared.

    tests/difffuzz/difffuzz.py --ferrite build/src/server/ferrite --seed 1 --duration 60

It starts both servers itself (free loopback ports, temporary directories), asks Ferrite for
its commands (COMMAND LIST) and fails if one has no grammar (grammar.py), then runs sequences
of random commands until the time or command budget is spent. Each sequence starts from an
empty dataset and a new connection; its commands go pipelined in batches to both servers and
every reply is compared (compare.py says how). At the end of a sequence it compares the whole
dataset (every key's type, value and whether it has a TTL, in every database), checks that
Ferrite logged no command slower than 100 ms (its SLOWLOG, threshold 100 ms) and that both
servers are alive.

On a divergence, a crash or a hang it prints the seed, the sequence number, and a minimal
reproducer: the sequence shrunk (delta debugging, each candidate replayed on fresh state) to
the fewest commands that still diverge. Everything is deterministic from --seed: the same
seed and sequence number give the same commands.

Exit status: 0 when clean; 1 on a divergence, crash or hang; 2 when a command has no grammar.
"""
import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import compare  # noqa: E402
import grammar  # noqa: E402
from resp import Closed, Conn, Timeout, encode  # noqa: E402

SLOW_US = 100000  # no command may take longer on small data
SORT_ERRNO = b"ERR One or more scores can't be converted into double"
TOKEN = b"difffuzz-sentinel"
CONTROL_NAME = b"difffuzz-control"
OBUF_LIMIT = "normal 32mb 16mb 60"  # both servers: a huge reply closes the connection


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process this program started, stopped by its own PID."""

    def __init__(self, kind, binary, workdir, extra_toml=""):
        self.kind = kind
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="difffuzz-%s-" % kind, dir=workdir)
        self.extra_toml = extra_toml
        self.proc = None
        self.start()

    def start(self):
        self.port = free_port()
        self.log_path = os.path.join(self.dir, "server.log")
        if self.kind == "redis":
            cmd = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
                   "--save", "", "--appendonly", "no", "--enable-debug-command", "yes",
                   "--slowlog-log-slower-than", str(SLOW_US // 10), "--client-output-buffer-limit",
                   OBUF_LIMIT]
        else:
            conf = os.path.join(self.dir, "ferrite.toml")
            with open(conf, "w") as f:
                f.write("[server]\nbind = \"127.0.0.1\"\nport = %d\ndir = \"%s\"\n"
                        "enable_debug_command = \"yes\"\nslowlog_log_slower_than = %d\n"
                        "[persistence]\naof_enabled = false\ncheckpoint_enabled = false\n%s"
                        % (self.port, self.dir, SLOW_US, self.extra_toml))
            cmd = [self.binary, "--config", conf]
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited at start-up:\n%s" % (self.kind, self.log_tail()))
            try:
                c = Conn(self.port, timeout=5)
                if c.call(b"PING") == ("+", b"PONG"):
                    c.call(b"CONFIG", b"SET", b"client-output-buffer-limit", OBUF_LIMIT.encode())
                    # redis-server notices a blocked client's timeout only when its loop wakes
                    # up (hz times a second when idle): at 500 Hz a BLPOP with a 1 ms timeout
                    # costs ~2 ms of the fuzzer's time instead of ~100.
                    c.call(b"CONFIG", b"SET", b"hz", b"500")
                    c.close()
                    return
                c.close()
            except (OSError, Closed, Timeout):
                pass
            time.sleep(0.05)
        raise RuntimeError("%s did not start:\n%s" % (self.kind, self.log_tail()))

    def alive(self):
        return self.proc.poll() is None

    def log_tail(self, n=40):
        try:
            self.log.flush()
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def restart(self):
        self.stop()
        self.start()


class Failure(Exception):
    """A divergence, crash or hang at command `index` of the sequence being run."""

    def __init__(self, kind, index, args, detail, ferrite=None, redis=None):
        super().__init__(detail)
        self.kind = kind  # "divergence", "crash", "hang", "slow", "state"
        self.index = index
        self.args = args
        self.detail = detail
        self.ferrite = ferrite
        self.redis = redis

    def signature(self):
        name = self.args[0].lower().decode(errors="replace") if self.args else "-"
        return "%s:%s" % (self.kind, name)

    def describe(self):
        s = "%s at command %d: %s\n  %s" % (self.kind, self.index, show_args(self.args), self.detail)
        if self.ferrite is not None:
            s += "\n  ferrite: " + compare.fmt_reply(self.ferrite, 2000)
            s += "\n  redis:   " + compare.fmt_reply(self.redis, 2000)
        return s


def show_args(args, limit=80):
    out = []
    for a in args:
        if len(a) > limit:  # a long run of one byte, or the start of a long argument
            if a == a[:1] * len(a):
                out.append("<%r * %d>" % (a[:1], len(a)))
                continue
            out.append(show_args([a[:limit]], limit) + "...(%d bytes)" % len(a))
            continue
        if a and all(32 < c < 127 and c not in b'"\\' for c in a):
            out.append(a.decode())
        else:
            out.append('"' + "".join(chr(c) if 32 <= c < 127 and c not in b'"\\' else
                                     "\\x%02x" % c for c in a) + '"')
    return " ".join(out)


class Stats:
    def __init__(self):
        self.commands = 0
        self.sequences = 0
        self.handed_over = {}  # (owner, desc) -> count
        self.examples = {}  # (owner, desc) -> a few "command / replies" lines
        self.closed_both = 0
        self.cut_short = 0
        self.full_resyncs = 0
        self.resyncs = 0
        self.start = time.time()


class Fuzzer:
    def __init__(self, ferrite, redis, stats, batch=64, timeout=10.0):
        self.f = ferrite
        self.r = redis
        self.stats = stats
        self.batch = batch
        self.timeout = timeout
        self.fc = self.rc = None  # the fuzzing connections
        self.cf = self.cr = None  # control connections: always clean
        self.reconnect_control()
        self.config_defaults = {}
        for name in grammar.CONFIG_SAFE:
            v = self.cr.call(b"CONFIG", b"GET", name.encode())
            self.config_defaults[name] = v[1][1][1]
        self.config_defaults["client-output-buffer-limit"] = None
        self.config_defaults["hz"] = b"500"  # see Server.start (CONFIG SET hz may change it)

    # ---------------------------------------------------------------- connections and state
    def reconnect_control(self):
        for c in (self.cf, self.cr):
            if c:
                c.close()
        self.cf = Conn(self.f.port, timeout=self.timeout)
        self.cr = Conn(self.r.port, timeout=self.timeout)
        # Named, so the slow-log check can tell the fuzzer's own reads (whole values, perhaps
        # large) from the fuzzed commands.
        self.both_control(b"CLIENT", b"SETNAME", CONTROL_NAME)

    def close_fuzz(self):
        for c in (self.fc, self.rc):
            if c:
                c.close()
        self.fc = self.rc = None

    def both_control(self, *args):
        out = []
        for c in (self.cf, self.cr):
            out.append(c.call(*args))
        return out

    def reset_state(self):
        """An empty dataset, default settings, no leftover subscriptions, new connections."""
        self.close_fuzz()
        reset = [[b"FLUSHALL"], [b"SCRIPT", b"FLUSH"], [b"FUNCTION", b"FLUSH"]]
        for name, v in self.config_defaults.items():
            if v is not None:
                reset.append([b"CONFIG", b"SET", name.encode(), v])
        reset += [[b"DEBUG", b"SET-ACTIVE-EXPIRE", b"1"], [b"SLOWLOG", b"RESET"]]
        for c in (self.cf, self.cr):
            c.pipeline(reset)
        # The closed connections' subscriptions go when each server notices the close.
        deadline = time.time() + 5
        while time.time() < deadline:
            busy = False
            for c in (self.cf, self.cr):
                if c.pipeline([[b"PUBSUB", b"NUMPAT"], [b"PUBSUB", b"CHANNELS"]]) != \
                        [(":", 0), ("*", [])]:
                    busy = True
            if not busy:
                break
            time.sleep(0.01)
        self.fc = Conn(self.f.port, timeout=self.timeout)
        self.rc = Conn(self.r.port, timeout=self.timeout)
        self.in_multi = False  # the fuzzing connections' transaction state, from the replies
        self.queued = []
        self.closed_by_limit = []  # commands after which both servers closed the connection
        self.lex_mixed = False
        self.copies = []
        self.tainted = None  # the handed-over difference seen inside the open transaction
        self.db = b"0"  # the fuzzing connections' database, from the replies
        self.resync_all = False
        self.watching = False  # WATCH may be in force on the fuzzing connections
        self.sort_recheck = None

    def settle(self):
        """Waits until neither server runs a background save or rewrite: what DEBUG RELOAD or
        another BGSAVE answers must not depend on how long the last one took."""
        deadline = time.time() + 20
        while time.time() < deadline:
            busy = False
            for c in (self.cf, self.cr):
                info = c.call(b"INFO", b"persistence")[1]
                if b"rdb_bgsave_in_progress:1" in info or b"aof_rewrite_in_progress:1" in info:
                    busy = True
            if not busy:
                return
            time.sleep(0.01)

    def copy_everything(self):
        """Ferrite's whole dataset made redis-server's (after a handed-over difference that may
        have changed data), and the settings the fuzzer changes back to their defaults."""
        self.stats.full_resyncs += 1
        cf, cr = self.cf, self.cr
        for c in (cf, cr):  # the settings first: RESTORE encodes by them
            c.pipeline([[b"CONFIG", b"SET", name.encode(), v]
                        for name, v in self.config_defaults.items() if v is not None])
        for db in range(16):
            d = str(db).encode()
            cf.pipeline([[b"SELECT", d], [b"FLUSHDB"]])
            cr.call(b"SELECT", d)
            for k in sorted(x[1] for x in cr.call(b"KEYS", b"*")[1]):
                copy_key(cr, cf, k)
        for c in (cf, cr):
            c.pipeline([[b"CONFIG", b"SET", name.encode(), v]
                        for name, v in self.config_defaults.items() if v is not None] +
                       [[b"SELECT", b"0"]])

    def control_unlimited(self, on):
        """Lifts the output limit (normal clients) while the control connections read whole
        values back (a key may be larger than the limit the fuzzing connections run under),
        and puts it back before the sequence goes on."""
        limit = b"normal 0 0 0" if on else OBUF_LIMIT.encode()
        self.both_control(b"CONFIG", b"SET", b"client-output-buffer-limit", limit)

    def aux(self):
        """The control connections, at the fuzzing connections' database: resyncs and checks
        go through them, whatever state (MULTI, subscribed, RESP3) the fuzzing ones are in."""
        for c in (self.cf, self.cr):
            c.call(b"SELECT", self.db)
        return self.cf, self.cr

    # ---------------------------------------------------------------- running commands
    def check_alive(self, index, args):
        if not self.f.alive():
            raise Failure("crash", index, args, "Ferrite exited (code %s):\n%s" %
                          (self.f.proc.returncode, self.f.log_tail()))
        if not self.r.alive():
            raise RuntimeError("redis-server exited:\n" + self.r.log_tail())

    def read_replies(self, conn, cmd_meta):
        """The replies to one command: a list (one element, except for pub/sub commands and
        RESP3 pushes absorbed before a reply)."""
        if cmd_meta["sentinel"]:
            first = conn.read()
            out = [first]
            if first == ("+", b"QUEUED") or compare.is_error(first):
                out.append(conn.read())
                return out
            while True:
                rep = conn.read()
                out.append(rep)
                if rep == ("$", TOKEN) or rep == ("*", [("$", b"pong"), ("$", TOKEN)]) or \
                        rep == (">", [("$", b"pong"), ("$", TOKEN)]):
                    return out
        out = []
        while True:
            inner = []
            rep = conn.read(inner)
            out += inner
            out.append(rep)
            if rep[0] != ">":
                return out

    def run_batch(self, cmds, base):
        """Sends cmds (a list of (args, meta)) to both servers, compares the replies; returns
        the resync actions to apply. Raises Failure."""
        payload = []
        for args, meta in cmds:
            payload.append(encode(args))
            if meta["sentinel"]:
                payload.append(encode([b"PING", TOKEN]))
        data = b"".join(payload)
        replies = {}
        for side, conn in (("f", self.fc), ("r", self.rc)):
            try:
                conn.send(data)
            except Closed as e:
                replies[side] = ("closed", str(e))
        out = {"f": [], "r": []}
        for side, conn in (("f", self.fc), ("r", self.rc)):
            if side in replies:
                continue
            try:
                for i, (args, meta) in enumerate(cmds):
                    out[side].append(self.read_replies(conn, meta))
            except Closed as e:
                replies[side] = ("closed", str(e))
            except Timeout:
                replies[side] = ("timeout", "no reply in %.0f s" % self.timeout)
        self.stats.commands += len(cmds)
        # Failures of the transport first: a crash, a hang, a connection only one side closed.
        i_fail = min(len(out["f"]), len(out["r"]))
        if "f" in replies or "r" in replies:
            idx = base + min(i_fail, len(cmds) - 1)
            args = cmds[min(i_fail, len(cmds) - 1)][0]
            self.check_alive(idx, args)
            fk = replies.get("f", ("ok",))[0]
            rk = replies.get("r", ("ok",))[0]
            if fk == "timeout":
                raise Failure("hang", idx, args, "Ferrite gave no reply in %.0f s" % self.timeout)
            if rk == "timeout":
                raise RuntimeError("redis-server gave no reply in %.0f s to %s" %
                                   (self.timeout, show_args(args)))
        # Compare, command by command, tracking MULTI from the replies themselves.
        resyncs = []
        n = min(len(out["f"]), len(out["r"]))
        for i in range(n):
            args, meta = cmds[i]
            fr, rr = out["f"][i], out["r"][i]
            self.compare_one(base + i, args, meta, fr, rr)
            name = args[0].lower()
            first = rr[-1]
            if self.in_multi and first == ("+", b"QUEUED"):
                self.queued.append((args, meta))
                continue
            if name == b"watch" and first == ("+", b"OK"):
                self.watching = True
            elif name in (b"exec", b"discard", b"unwatch") or (
                    name == b"reset" and first == ("+", b"RESET")):
                # EXEC/DISCARD without MULTI leave the watched keys watched.
                if first[0] != "-" or first[1].startswith(b"EXECABORT"):
                    self.watching = False
            if name == b"select" and first == ("+", b"OK"):
                self.db = args[1]
            elif name == b"reset" and first == ("+", b"RESET"):
                self.db = b"0"
            if name == b"multi" and first == ("+", b"OK"):
                self.in_multi, self.queued, self.tainted = True, [], None
            elif name in (b"exec", b"discard") or (name == b"reset" and first[0] != "-"):
                if name == b"exec" and first[0] in "*" and first[1] is not None and \
                        out["f"][i][-1][0] == "*" and out["f"][i][-1][1] is not None:
                    fe, re_ = out["f"][i][-1][1], first[1]
                    self.compare_exec(base + i, args, self.queued, fe, re_)
                    for (qa, qm), fx, rx in zip(self.queued, fe, re_):
                        if qm["resync"] and rx[0] != "-" and fx[0] != "-":
                            resyncs.append((qm["resync"], fx, rx))
                        if qa[0].lower() == b"select" and rx == ("+", b"OK"):
                            self.db = qa[1]
                if name != b"exec" or first[0] != "-" or first[1].startswith(b"EXECABORT") or \
                        first[1].startswith(b"ERR EXEC without"):
                    self.in_multi, self.queued = False, []
            elif meta["resync"] and first[0] != "-" and first != ("+", b"QUEUED"):
                resyncs.append((meta["resync"], fr[-1], first))
        if "f" in replies or "r" in replies:
            fk = replies.get("f", ("ok",))[0]
            rk = replies.get("r", ("ok",))[0]
            idx = base + min(n, len(cmds) - 1)
            args = cmds[min(n, len(cmds) - 1)][0]
            if fk == "closed" and rk == "closed":
                self.stats.closed_both += 1
                # Any command of this batch, or queued before an EXEC in it, may have built
                # output up to the limit.
                self.closed_by_limit += [a for a, m in cmds] + [a for a, m in self.queued]
                raise EndOfSequence(check_state=True)
            raise Failure("divergence", idx, args, "connection closed by %s only" %
                          ("Ferrite" if fk == "closed" else "redis-server"))
        return resyncs

    def compare_one(self, index, args, meta, fr, rr):
        if len(fr) != len(rr):
            raise Failure("divergence", index, args, "different number of replies",
                          ("*", fr), ("*", rr))
        if len(fr) > 1 and not meta["sentinel"]:
            # RESP3 pushes (messages a PUBLISH sent to this client, perhaps from inside EXEC)
            # before or inside the reply: the same messages in any order — pattern messages
            # come in each server's pattern-table order — then the reply compared as usual.
            pf = sorted(repr(x) for x in fr[:-1] if x[0] == ">")
            pr = sorted(repr(x) for x in rr[:-1] if x[0] == ">")
            if pf != pr or len(fr) != len(rr):
                self.divergence(index, args, "pushes differ", ("*", fr), ("*", rr))
            fr, rr = fr[-1:], rr[-1:]
        if len(fr) > 1:  # pub/sub replies
            if len(args) == 1 and args[0].lower() in (b"unsubscribe", b"punsubscribe",
                                                      b"sunsubscribe"):
                # Unsubscribing from everything walks each server's own table: the channels
                # in any order, the counts going down.
                def norm(reps):
                    subs = [x for x in reps[:-1] if x[0] in "*>" and x[1] and len(x[1]) == 3]
                    return (sorted(repr(x[1][1]) for x in subs), [repr(x[1][2]) for x in subs],
                            [repr(x[1][0]) for x in subs], len(reps))
                if norm(fr) == norm(rr):
                    return
            for a, b in zip(fr, rr):
                if a != b and compare.differs("exact", a, b):
                    self.divergence(index, args, "a pub/sub reply or push differs",
                                    ("*", fr), ("*", rr))
            return
        f, r = fr[0], rr[0]
        name = args[0].lower()
        if name == b"exec" and f[0] == "*" and r[0] == "*" and f[1] is not None and \
                r[1] is not None:
            return  # compared element by element in compare_exec
        why = compare.differs(meta["mode"], f, r)
        if why and meta.get("lex") and (self.lex_mixed or self.lex_mixed_now(meta["lex"])):
            self.lex_allowed(meta["lex"])
            return
        if why and name in (b"sort", b"sort_ro") and r == ("-", SORT_ERRNO) and f[0] != "-":
            self.sort_recheck = (index, args, meta, f, r)  # decided after the batch
            return
        if why:
            self.divergence(index, args, why, f, r)

    def recheck_sort(self):
        """redis-server's sort.c tests errno after strtod without clearing it first: an
        earlier command that left ERANGE behind (an out-of-range SCAN cursor…) makes a valid
        numeric SORT fail. When Redis says so and Ferrite sorts, run the SORT again on
        redis-server with errno cleared (HINCRBYFLOAT's string2ld sets it to 0): if it then
        answers as Ferrite did, the difference is Redis's. SORT ends its batch, so the data
        is still what the first run saw (a STORE it now makes is the one Ferrite made)."""
        index, args, meta, f, r = self.sort_recheck
        self.sort_recheck = None
        cf, cr = self.aux()
        cr.pipeline([[b"HINCRBYFLOAT", b"__difffuzz_errno", b"f", b"0"],
                     [b"DEL", b"__difffuzz_errno"]])
        again = cr.call(*args)
        # The control connections speak RESP2: Ferrite's answer is taken again there too —
        # unless the SORT stores (its reply, a count, is the same in both protocols, and
        # running it again on Ferrite would sort what it stored).
        stores = any(a.upper() == b"STORE" for a in args[2:])
        if not compare.differs(meta["mode"], f if stores else cf.call(*args), again):
            key = ("allowed", "SORT after an earlier command left errno = ERANGE in "
                   "redis-server (sort.c does not clear it)")
            self.stats.handed_over[key] = self.stats.handed_over.get(key, 0) + 1
            return
        raise Failure("divergence", index, args, "replies differ (SORT rerun with errno "
                      "cleared: %s)" % compare.fmt_reply(again), f, r)

    # Lex ranges over a sorted set whose scores differ select members Redis leaves
    # unspecified (the result depends on its skiplist's random levels): such a reply is not
    # compared, and the keys it read or wrote are copied from redis-server.
    def lex_mixed_now(self, keys):
        for c in self.aux():
            t, v, _ = dump_key(c, keys[0])
            if t == b"zset" and len(set(float(sc) for _, sc in v)) > 1:
                return True
        return False

    def lex_allowed(self, keys):
        key = ("allowed", "lex range over a sorted set with different scores (unspecified)")
        self.stats.handed_over[key] = self.stats.handed_over.get(key, 0) + 1
        self.copies += list(keys)

    def divergence(self, index, args, why, f, r):
        ho = compare.handed_over(args, f, r)
        if not ho and args[0].lower() == b"exec" and self.tainted:
            ho = self.tainted  # a queued command's handed-over difference changed the outcome
        if ho:
            self.stats.handed_over[ho] = self.stats.handed_over.get(ho, 0) + 1
            ex = self.stats.examples.setdefault(ho, [])
            if len(ex) < 8:
                ex.append("%s\n      ferrite: %s\n      redis:   %s" % (
                    show_args(args), compare.fmt_reply(f, 200), compare.fmt_reply(r, 200)))
            if self.in_multi:
                self.tainted = ho
            name = args[0].lower()
            if name in (b"reset", b"exec"):
                # The connections' states (transaction, subscriptions, database, protocol) may
                # differ: one server ran a transaction (a SELECT, a HELLO in it) the other
                # refused.
                self.stats.cut_short += 1
                raise EndOfSequence(check_state=False)
            if name in DATA_CHANGING:
                self.resync_all = True  # the data may differ: copy it all back after the batch
            return
        raise Failure("divergence", index, args, why, f, r)

    def compare_exec(self, index, args, queued, fe, re_):
        if len(fe) != len(re_):
            raise Failure("divergence", index, args, "EXEC: different number of replies",
                          ("*", fe), ("*", re_))
        for (qa, qm), fx, rx in zip(queued, fe, re_):
            why = compare.differs(qm["mode"], fx, rx)
            if why and qm.get("lex") and self.lex_mixed_now(qm["lex"]):
                self.lex_allowed(qm["lex"])
                continue
            if why and qa[0].lower() in (b"sort", b"sort_ro") and rx == ("-", SORT_ERRNO) and \
                    fx[0] != "-" and not self.sort_recheck:
                # Redis's stale errno (see recheck_sort), inside a transaction: the rerun on
                # both servers sees the data the whole transaction left, the same on both.
                self.sort_recheck = (index, qa, qm, fx, rx)
                continue
            if why:
                self.divergence(index, qa, "inside EXEC: " + why, fx, rx)

    def apply_resync(self, action, fr, rr):
        """Makes Ferrite's copy of a key equal to redis-server's after a random choice."""
        kind, key = action
        self.stats.resyncs += 1
        cf, cr = self.aux()
        if kind == "spop":
            def members(rep):
                if rep[0] == "$":
                    return [] if rep[1] is None else [rep[1]]
                if rep[0] in "*~" and rep[1]:
                    return [x[1] for x in rep[1]]
                return []
            pf, pr = members(fr), members(rr)
            if sorted(pf) == sorted(pr):
                return
            if pf:
                cf.call(b"SADD", key, *pf)
            if pr:
                cf.call(b"SREM", key, *pr)
            return
        if kind == "copy":
            copy_key(cr, cf, key)

    def run_sequence(self, cmds, check_end=True):
        """Runs a whole sequence from a fresh state. Raises Failure."""
        self.reset_state()
        i = 0
        try:
            while i < len(cmds):
                j = i
                batch = []
                while j < len(cmds) and len(batch) < self.batch:
                    args, meta = cmds[j]
                    if meta["isolate"] and batch:
                        break
                    if meta["sentinel"] and self.in_multi:
                        # A queued (UN)SUBSCRIBE makes EXEC's reply longer than its array
                        # header says, in Redis itself: not sent.
                        j += 1
                        break
                    batch.append(cmds[j])
                    j += 1
                    if meta["sync"] or meta["isolate"]:
                        break
                self.lex_mixed = False
                if len(batch) == 1 and batch[0][1].get("lex") and not self.in_multi:
                    self.lex_mixed = self.lex_mixed_now(batch[0][1]["lex"])
                resyncs = self.run_batch_checked(batch, i)
                if self.sort_recheck:
                    self.recheck_sort()
                if any(a[0].lower() in (b"bgsave", b"bgrewriteaof", b"exec") for a, m in batch):
                    self.settle()
                for action, fr, rr in resyncs:
                    self.apply_resync(action, fr, rr)
                if (self.copies or self.resync_all) and self.watching:
                    # Copying keys into Ferrite alone would touch its watched keys only.
                    self.stats.cut_short += 1
                    raise EndOfSequence(check_state=False)
                if self.copies or self.resync_all:
                    self.control_unlimited(True)
                if self.copies:
                    cf, cr = self.aux()
                    for key in self.copies:
                        copy_key(cr, cf, key)
                if self.resync_all:
                    self.copy_everything()
                if self.copies or self.resync_all:
                    self.control_unlimited(False)
                self.copies = []
                self.resync_all = False
                i = j
        except EndOfSequence as e:
            if not e.check_state:
                self.close_fuzz()
                return
        if check_end:
            self.check_end(len(cmds))

    def run_batch_checked(self, batch, base):
        resyncs = self.run_batch(batch, base)
        # EXEC replies: element by element with each queued command's mode.
        return resyncs

    def check_end(self, index):
        """The whole dataset, the slow log, both servers alive."""
        self.close_fuzz()
        self.check_alive(index, [b"(end of sequence)"])
        try:
            self.reconnect_control()
            self.control_unlimited(True)
            diff = compare_datasets(self.cf, self.cr)
            self.control_unlimited(False)
        except (Closed, Timeout) as e:
            self.check_alive(index, [b"(end of sequence)"])
            raise Failure("hang", index, [b"(end of sequence)"], "control connection: %s\n%s" %
                          (e, self.f.log_tail(10)))
        if diff:
            raise Failure("state", index, [b"(end of sequence)"], diff)
        # redis-server logs from a tenth of the bound: a command that took it that long too
        # (building a value of tens of MB from a small data set: SETRANGE, BITFIELD at a far
        # offset — page faults, which the allocators' reuse of freed pages makes vary) is
        # heavy by nature; the bound is for what is cheap in Redis.
        redis_us = {}
        for entry in self.cr.call(b"SLOWLOG", b"GET", b"128")[1] or []:
            fields = entry[1]
            argv = tuple(x[1] for x in fields[3][1])
            redis_us[argv] = max(redis_us.get(argv, 0), fields[2][1])
        slow = self.cf.call(b"SLOWLOG", b"GET", b"128")
        for entry in slow[1] or []:
            fields = entry[1]
            us = fields[2][1]
            argv = [x[1] for x in fields[3][1]]
            if len(fields) > 5 and fields[5][1] == CONTROL_NAME:
                continue  # the fuzzer's own reads and resyncs
            if tuple(argv) in redis_us:
                continue  # heavy on redis-server too
            if any(argv == list(a[:len(argv)]) for a in self.closed_by_limit):
                continue  # it built output until the output limit closed the connection
            if argv and (argv[0].lower() == b"save" or
                         argv[:2] == [b"debug", b"reload"] or
                         [x.lower() for x in argv[:2]] == [b"debug", b"reload"]):
                continue  # writes and fsyncs a file: the disk's time, not the command's
            raise Failure("slow", index, argv, "took %d µs (limit %d)" % (us, SLOW_US))


class EndOfSequence(Exception):
    """The sequence ends early: both servers closed the connection at the same command (an
    output limit; the datasets are still compared), or a handed-over difference may have
    changed the data (they are not)."""

    def __init__(self, check_state=True):
        super().__init__()
        self.check_state = check_state


# Commands whose handed-over differences can leave the servers' data apart: after one, the
# whole dataset is copied from redis-server to Ferrite (and the settings reset) before the
# sequence goes on.
DATA_CHANGING = {b"swapdb", b"move", b"copy", b"config", b"debug", b"save", b"bgsave",
                 b"bgrewriteaof"}


def dump_key(c, key):
    """(type, value, has a TTL) of key, the same whichever protocol c speaks."""
    t = c.call(b"TYPE", key)[1]
    if t == b"string":
        v = c.call(b"GET", key)[1]
    elif t == b"list":
        v = [x[1] for x in c.call(b"LRANGE", key, b"0", b"-1")[1]]
    elif t == b"set":
        v = sorted(x[1] for x in c.call(b"SMEMBERS", key)[1])
    elif t == b"zset":
        items = c.call(b"ZRANGE", key, b"0", b"-1", b"WITHSCORES")[1]
        if items and items[0][0] == "*":  # RESP3: [member, score] pairs
            v = [(p[1][0][1], p[1][1][1]) for p in items]
        else:
            v = [(items[i][1], items[i + 1][1]) for i in range(0, len(items), 2)]
    elif t == b"hash":
        rep = c.call(b"HGETALL", key)
        if rep[0] == "%":
            v = sorted((k[1], x[1]) for k, x in rep[1])
        else:
            items = rep[1]
            v = sorted((items[i][1], items[i + 1][1]) for i in range(0, len(items), 2))
    else:
        v = None
    ttl = c.call(b"PTTL", key)[1]
    return t, v, ttl >= 0


def dump_db(c, db):
    """{key: (type, value, has a TTL)} of one database, in four pipelined round trips."""
    keys = sorted(x[1] for x in c.pipeline([[b"SELECT", str(db).encode()], [b"KEYS", b"*"]])[1][1])
    meta = c.pipeline([cmd for k in keys for cmd in ([b"TYPE", k], [b"PTTL", k])])
    reads = []
    for i, k in enumerate(keys):
        t = meta[2 * i][1]
        reads.append({b"string": [b"GET", k], b"list": [b"LRANGE", k, b"0", b"-1"],
                      b"set": [b"SMEMBERS", k], b"zset": [b"ZRANGE", k, b"0", b"-1", b"WITHSCORES"],
                      b"hash": [b"HGETALL", k]}.get(t, [b"TYPE", k]))
        if t == b"stream":
            reads[-1] = [b"XRANGE", k, b"-", b"+"]
    vals = c.pipeline(reads)
    out = {}
    streams = []
    for i, k in enumerate(keys):
        t, v = meta[2 * i][1], vals[i]
        if t == b"set":
            v = sorted(x[1] for x in v[1])
        elif t == b"hash":
            items = v[1]
            v = sorted((items[j][1], items[j + 1][1]) for j in range(0, len(items), 2))
        elif t == b"stream":
            streams.append(k)
        out[k] = (t, v, meta[2 * i + 1][1] >= 0)
    for k, state in dump_streams(c, streams).items():
        t, v, ttl = out[k]
        out[k] = (t, (v, state), ttl)
    return out


STREAM_FIELDS = (b"length", b"last-generated-id", b"max-deleted-entry-id", b"entries-added",
                 b"recorded-first-entry-id", b"groups")


def _flat(rep):
    items = rep[1] or []
    return [(items[i][1], items[i + 1]) for i in range(0, len(items) - 1, 2)]


def dump_streams(c, keys):
    """Everything of each stream but its entries (read by XRANGE) and the times: XINFO
    STREAM's counters and IDs, each group (XINFO GROUPS), its pending entries (XPENDING, idle
    times left out) and consumers (XINFO CONSUMERS, idle left out). The control connections
    speak RESP2."""
    if not keys:
        return {}
    infos = c.pipeline([cmd for k in keys for cmd in ([b"XINFO", b"STREAM", k],
                                                       [b"XINFO", b"GROUPS", k])])
    out, per_group = {}, []
    for i, k in enumerate(keys):
        info = [(n, v) for n, v in _flat(infos[2 * i]) if n in STREAM_FIELDS]
        groups = [_flat(g) for g in infos[2 * i + 1][1]]
        out[k] = [info, groups, []]
        for g in groups:
            per_group.append((k, dict(g)[b"name"][1]))
    reps = c.pipeline([cmd for k, g in per_group for cmd in (
        [b"XPENDING", k, g, b"-", b"+", b"4611686018427387904"], [b"XINFO", b"CONSUMERS", k, g])])
    for j, (k, g) in enumerate(per_group):
        pending = [(e[1][0], e[1][1], e[1][3]) for e in reps[2 * j][1]]
        consumers = [[(n, v) for n, v in _flat(x) if n != b"idle"] for x in reps[2 * j + 1][1]]
        out[k][2].append((g, pending, consumers))
    return out


def redis_digest(dataset):
    """DEBUG DIGEST as redis-server 7.0 computes it (debug.c: computeDatasetDigest), from a
    dataset read back by dump_db: {db: {key: (type, value, has a TTL)}}. Ferrite's own DEBUG
    DIGEST is a different hash (it also covers TTL values and stream groups, for its
    persistence tests), so the fuzzer computes Redis's over Ferrite's data and compares it
    with redis-server's DEBUG DIGEST."""
    def sha1(b):
        return hashlib.sha1(b).digest()

    def xor(d, data):
        h = sha1(data)
        return bytes(x ^ y for x, y in zip(d, h))

    def mix(d, data):
        return sha1(xor(d, data))

    types = {b"string": 0, b"list": 1, b"set": 2, b"zset": 3, b"hash": 4, b"stream": 6}
    final = bytes(20)
    for db in sorted(dataset):
        keys = dataset[db]
        if not keys:
            continue
        final = mix(final, struct.pack(">I", db))
        for k, (t, v, has_ttl) in keys.items():
            d = mix(bytes(20), k)
            d = mix(d, struct.pack(">I", types[t]))
            if t == b"string":
                d = mix(d, v[1])
            elif t == b"list":
                for x in v[1]:
                    d = mix(d, x[1])
            elif t == b"set":
                for m in v:
                    d = xor(d, m)
            elif t in (b"zset", b"hash"):
                items = [x[1] for x in v[1]] if t == b"zset" else [x for p in v for x in p]
                for i in range(0, len(items), 2):
                    d = xor(d, mix(mix(bytes(20), items[i]), items[i + 1]))
            elif t == b"stream":
                for entry in v[0][1]:
                    ms, seq = entry[1][0][1].split(b"-")
                    d = mix(d, ms + b"." + seq)
                    for x in entry[1][1][1]:
                        d = mix(d, x[1])
            if has_ttl:
                d = xor(d, b"!!expire!!")
            final = xor(final, d)
    return final.hex().encode()


def compare_datasets(cf, cr):
    datasets = ({}, {})
    sizes = []
    for c in (cf, cr):
        reps = c.pipeline([cmd for db in range(16)
                           for cmd in ([b"SELECT", str(db).encode()], [b"DBSIZE"])])
        sizes.append([reps[2 * db + 1][1] for db in range(16)])
    try:
        for db in range(16):
            nf, nr = sizes[0][db], sizes[1][db]
            if nf != nr:
                return "db %d: DBSIZE %s (Ferrite) vs %s (redis-server)" % (db, nf, nr)
            if nr == 0:
                continue
            df, dr = dump_db(cf, db), dump_db(cr, db)
            if df.keys() != dr.keys():
                return "db %d: keys differ: only in Ferrite %s, only in redis-server %s" % (
                    db, sorted(set(df) - set(dr))[:10], sorted(set(dr) - set(df))[:10])
            for k in sorted(dr):
                if df[k] != dr[k]:
                    return "db %d key %r: Ferrite %s / redis-server %s" % (
                        db, k, str(df[k])[:500], str(dr[k])[:500])
            datasets[0][db], datasets[1][db] = df, dr
        # redis-server's DEBUG DIGEST: computed again from what it showed (which proves the
        # dump above saw everything the digest covers), then from Ferrite's data.
        want = cr.call(b"DEBUG", b"DIGEST")[1]
        if redis_digest(datasets[1]) != want:
            return "DEBUG DIGEST: redis-server says %s, its dataset as read back digests to " \
                "%s (the fuzzer's dump misses something)" % (want, redis_digest(datasets[1]))
        if redis_digest(datasets[0]) != want:
            return "DEBUG DIGEST: redis-server's %s, Ferrite's dataset %s" % (
                want, redis_digest(datasets[0]))
        return None
    finally:
        for c in (cf, cr):
            c.call(b"SELECT", b"0")


def copy_key(src, dst, key):
    """Copies key's value and TTL from src to dst (both connections at the same database), by
    DUMP and RESTORE: the payload keeps what re-adding the elements would not (the order of a
    small hash or sorted set's listpack, a stream's groups, PELs and consumers)."""
    when = src.call(b"PEXPIRETIME", key)[1]  # absolute: a relative TTL near INT64_MAX overflows
    payload = src.call(b"DUMP", key)[1]
    dst.call(b"DEL", key)
    if payload is None:
        return
    restore = [b"RESTORE", key, str(max(when, 0)).encode(), payload, b"REPLACE", b"ABSTTL"]
    rep = dst.call(*restore)
    if rep != ("+", b"OK"):
        raise RuntimeError("RESTORE of redis-server's %r: %r" % (key, rep))
    # RESTORE picks the compact encoding when the elements fit (as Redis's own RESTORE does),
    # but src may keep a full one a long-gone element forced: force it on dst too, so DUMP
    # and the encoding limits go on alike.
    enc = src.call(b"OBJECT", b"ENCODING", key)[1]
    if enc in FULL_ENCODING_KNOB and dst.call(b"OBJECT", b"ENCODING", key)[1] != enc:
        knob = FULL_ENCODING_KNOB[enc][payload[0]] if isinstance(
            FULL_ENCODING_KNOB[enc], dict) else FULL_ENCODING_KNOB[enc]
        old = dst.call(b"CONFIG", b"GET", knob)[1][1][1]
        dst.call(b"CONFIG", b"SET", knob, b"0")
        dst.call(*restore)
        dst.call(b"CONFIG", b"SET", knob, old)


# A full encoding redis-server may keep for a small value, and the setting that forces it
# (by the payload's RDB type: hash 4, set 2, sorted set 5).
FULL_ENCODING_KNOB = {
    b"hashtable": {4: b"hash-max-listpack-entries", 2: b"set-max-intset-entries"},
    b"skiplist": b"zset-max-listpack-entries",
}


# ---------------------------------------------------------------- generation and shrinking
def generate(seed, seq, names, length):
    rng = random.Random("%d/%d" % (seed, seq))
    g = grammar.Gen(rng, names)
    cmds = []
    for _ in range(length):
        args, meta = g.command()
        cmds.append((args, meta))
    while g.followups:  # e.g. the EXISTS that settles a key set with a past EXAT/PXAT
        args, meta = g.command()
        cmds.append((args, meta))
    return cmds


def reproduces(fz, cmds, sig):
    try:
        fz.run_sequence(cmds, check_end=sig.startswith(("state", "slow")))
    except Failure as e:
        if not fz.f.alive():
            fz.f.restart()
            fz.reconnect_control()
        return e.signature() == sig or (sig.startswith("crash") and e.kind == "crash")
    except (Closed, Timeout):
        if not fz.f.alive():
            fz.f.restart()
            fz.reconnect_control()
            return sig.startswith("crash")
        return False
    return False


def shrink(fz, cmds, sig, budget_s=300):
    """Delta debugging (ddmin) over the commands before the failing one; the failing command
    itself always stays."""
    deadline = time.time() + budget_s
    last = cmds[-1]
    body = cmds[:-1]
    n = 2
    while len(body) >= 1 and time.time() < deadline:
        chunk = max(1, len(body) // n)
        reduced = False
        for start in range(0, len(body), chunk):
            cand = body[:start] + body[start + chunk:]
            if reproduces(fz, cand + [last], sig):
                body = cand
                n = max(n - 1, 2)
                reduced = True
                break
            if time.time() >= deadline:
                break
        if not reduced:
            if chunk == 1:
                break
            n = min(len(body), n * 2)
    return body + [last]


def report(failure, seed, seq, cmds, fz, out_dir, do_shrink=True):
    print("\n=== %s (seed %d, sequence %d)" % (failure.kind.upper(), seed, seq), flush=True)
    print(failure.describe(), flush=True)
    upto = cmds[:failure.index + 1] if failure.index < len(cmds) else cmds
    minimal = upto
    if do_shrink:
        sig = failure.signature()
        print("shrinking %d commands..." % len(upto), flush=True)
        if not fz.f.alive():
            fz.f.restart()
            fz.reconnect_control()
        if reproduces(fz, upto, sig):
            minimal = shrink(fz, upto, sig)
        else:
            print("(did not reproduce on a fresh state; the reproducer is the whole prefix)")
    print("minimal reproducer (%d commands), fresh server:" % len(minimal))
    for args, _ in minimal:
        print("  " + show_args(args))
    try:
        fz.run_sequence(minimal, check_end=failure.kind in ("state", "slow"))
    except Failure as e:
        print("reproducer's outcome: " + e.describe())
    except (Closed, Timeout) as e:
        print("reproducer's outcome: connection %s" % e)
    if not fz.f.alive() or not answers(fz.f):
        fz.f.restart()
        fz.reconnect_control()
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        path = os.path.join(out_dir, "repro-%d-%d-%s.json" % (seed, seq, failure.signature()
                                                              .replace(":", "-")))
        with open(path, "w") as f:
            json.dump({"seed": seed, "sequence": seq, "kind": failure.kind,
                       "detail": failure.describe(),
                       "commands": [[a.decode("latin-1") for a in args] for args, _ in minimal]},
                      f, indent=1)
        print("written to " + path)
    sys.stdout.flush()


def answers(server, wait=5.0):
    """True if the server answers a PING on a new connection within `wait` seconds."""
    try:
        c = Conn(server.port, timeout=wait)
        ok = c.call(b"PING") == ("+", b"PONG")
        c.close()
        return ok
    except (OSError, Closed, Timeout):
        return False


def command_names(conn):
    rep = conn.call(b"COMMAND", b"LIST")
    if rep[0] == "-":  # a server without COMMAND LIST: the names from COMMAND
        rep = conn.call(b"COMMAND")
        return sorted(x[1][0][1].decode() for x in rep[1])
    return sorted(x[1].decode() for x in rep[1] if b"|" not in x[1])


def main():
    global SLOW_US
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ferrite", default=os.environ.get("FERRITE_BIN", "build/src/server/ferrite"))
    ap.add_argument("--redis", default="redis-server")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--duration", type=float, default=60, help="seconds to run (default 60)")
    ap.add_argument("--commands", type=int, default=0, help="stop after this many commands")
    ap.add_argument("--length", type=int, default=1000, help="commands per sequence")
    ap.add_argument("--batch", type=int, default=200, help="pipelined commands per batch")
    ap.add_argument("--first-sequence", type=int, default=0)
    ap.add_argument("--sequences", type=int, default=0, help="stop after this many sequences")
    ap.add_argument("--keep-going", action="store_true",
                    help="after a divergence go on (one report per kind and command)")
    ap.add_argument("--no-shrink", action="store_true")
    ap.add_argument("--examples", action="store_true",
                    help="print a few examples of each handed-over difference")
    ap.add_argument("--out", default=None, help="directory for reproducer files")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--slow-ms", type=int, default=100,
                    help="a command slower than this on Ferrite fails the run (default 100)")
    ap.add_argument("--show", action="store_true", help="print the commands of --first-sequence")
    ap.add_argument("--only", default="", help="comma-separated globs: fuzz only these commands "
                    "(development; not a run that counts)")
    args = ap.parse_args()
    SLOW_US = args.slow_ms * 1000
    seed = args.seed if args.seed is not None else random.randrange(1 << 31)
    print("difffuzz: seed %d" % seed, flush=True)

    workdir = tempfile.mkdtemp(prefix="difffuzz-", dir=args.workdir)
    f = r = None
    failures = 0
    try:
        f = Server("ferrite", args.ferrite, workdir)
        r = Server("redis", args.redis, workdir)
        cf = Conn(f.port)
        names = command_names(cf)
        cf.close()
        missing = [n for n in names if n not in grammar.GRAMMAR and n not in grammar.EXCLUDED]
        excluded = [n for n in names if n in grammar.EXCLUDED]
        usable = [n for n in names if n in grammar.GRAMMAR]
        if args.only:
            import fnmatch
            globs = args.only.split(",")
            usable = [n for n in usable if any(fnmatch.fnmatch(n, g) for g in globs)]
        print("difffuzz: %d commands with a grammar; excluded: %s" %
              (len(usable), ", ".join("%s (%s)" % (n, grammar.EXCLUDED[n]) for n in excluded)))
        if missing:
            print("difffuzz: NO GRAMMAR for: %s" % ", ".join(missing))
            return 2
        if args.show:
            for a, m in generate(seed, args.first_sequence, usable, args.length):
                print(show_args(a), "   #", m["mode"])
            return 0
        stats = Stats()
        fz = Fuzzer(f, r, stats, batch=args.batch)
        seen = set()
        seq = args.first_sequence
        end = time.time() + args.duration
        last_print = time.time()
        while time.time() < end and (not args.commands or stats.commands < args.commands) and \
                (not args.sequences or stats.sequences < args.sequences):
            cmds = generate(seed, seq, usable, args.length)
            try:
                fz.run_sequence(cmds)
            except Failure as e:
                failures += 1
                sig = e.signature()
                if sig not in seen:
                    seen.add(sig)
                    report(e, seed, seq, cmds, fz, args.out, not args.no_shrink)
                if not f.alive():
                    f.restart()
                    fz.reconnect_control()
                if not args.keep_going:
                    break
            except (Closed, Timeout) as e:
                if not f.alive():
                    failures += 1
                    print("\n=== CRASH (seed %d, sequence %d): %s\n%s" % (seed, seq, e,
                                                                       f.log_tail()))
                    if not args.keep_going:
                        break
                    f.restart()
                fz.reconnect_control()
            stats.sequences += 1
            seq += 1
            if time.time() - last_print > 10:
                last_print = time.time()
                el = time.time() - stats.start
                print("difffuzz: %d sequences, %d commands, %.0f s, %.0f commands/s, "
                      "%d failures" % (stats.sequences, stats.commands, el, stats.commands / el,
                                       failures), flush=True)
        el = time.time() - stats.start
        print("difffuzz: done: seed %d, sequences %d..%d, %d commands in %.0f s (%.0f/s), "
              "%d failures, %d resyncs, %d sequences ended by both servers closing the "
              "connection, %d cut short by a handed-over difference, %d whole-dataset resyncs" % (
                  seed, args.first_sequence, seq - 1, stats.commands, el,
                  stats.commands / max(el, 1e-9), failures, stats.resyncs, stats.closed_both,
                  stats.cut_short, stats.full_resyncs))
        if stats.handed_over:
            print("difffuzz: known divergences, open or by design (not failures; docs/testing.md):")
            for (owner, desc), n in sorted(stats.handed_over.items()):
                print("  %-10s %6d  %s" % (owner, n, desc))
                if args.examples:
                    for e in stats.examples.get((owner, desc), []):
                        print("    e.g. " + e)
        return 1 if failures else 0
    finally:
        for s in (f, r):
            if s:
                s.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
