"""Redis 7.0 behaviours over real sockets, run against Ferrite and (FERRITE_TEST_TARGET=redis)
against Debian's redis-server 7.0: keyspace notifications, CLIENT LIST/INFO/KILL/PAUSE/
REPLY/UNBLOCK, the query and reply buffers' resizing, lazy free counters, CONFIG GET/SET of
every parameter, LCS, SWAPDB waking blocked clients, OBJECT ENCODING; and, for Ferrite,
COMMAND INFO/DOCS byte for byte against a live redis-server and redis-server's command line."""
import os
import re
import socket
import subprocess
import tempfile
import threading
import time

import pytest
import redis

from conftest import IS_REDIS, Raw, RedisServer, free_port, poll


def client_line(r, name):
    for line in r.execute_command("CLIENT", "LIST").splitlines():
        if f" name={name} " in line:
            return line
    return None


def field(line, key):
    m = re.search(r"(?:^| )" + re.escape(key) + r"=(\S*)", line)
    return m.group(1) if m else None


def test_keyspace_notifications(server):
    r = server.client(decode_responses=True)
    r.flushall()
    r.config_set("notify-keyspace-events", "KEA")
    try:
        p = r.pubsub()
        p.psubscribe("__key*__:*")
        p.get_message(timeout=1)
        r.set("k", "v", px=200)
        r.lpush("l", "a")
        r.rpop("l")
        r.delete("nothere")  # nothing deleted: no event
        events = []

        def collect(n, timeout=5):
            deadline = time.time() + timeout
            while len(events) < n and time.time() < deadline:
                m = p.get_message(timeout=0.2)
                if m and m["type"] == "pmessage":
                    events.append((m["channel"], m["data"]))

        collect(10)
        assert events[:10] == [
            ("__keyspace@0__:k", "set"), ("__keyevent@0__:set", "k"),
            ("__keyspace@0__:k", "expire"), ("__keyevent@0__:expire", "k"),
            ("__keyspace@0__:l", "lpush"), ("__keyevent@0__:lpush", "l"),
            ("__keyspace@0__:l", "rpop"), ("__keyevent@0__:rpop", "l"),
            ("__keyspace@0__:l", "del"), ("__keyevent@0__:del", "l"),
        ]
        # Active expiry sends "expired" with nobody touching the key.
        collect(12, timeout=5)
        assert events[10:12] == [("__keyspace@0__:k", "expired"), ("__keyevent@0__:expired", "k")]
        p.close()
    finally:
        r.config_set("notify-keyspace-events", "")


def test_evicted_event(server_factory):
    s = server_factory()
    r = s.client(decode_responses=True)
    r.config_set("notify-keyspace-events", "Ee")
    p = r.pubsub()
    p.psubscribe("__keyevent@*__:evicted")
    p.get_message(timeout=1)
    for i in range(200):
        r.set(f"key:{i}", "x" * 10000)
    used = int(r.info("memory")["used_memory"])
    r.config_set("maxmemory-policy", "allkeys-random")
    r.config_set("maxmemory", str(used - 500_000))
    r.set("trigger", "1")  # eviction runs before a command that may grow memory
    m = None
    deadline = time.time() + 5
    while time.time() < deadline:
        m = p.get_message(timeout=0.2)
        if m and m["type"] == "pmessage":
            break
    r.config_set("maxmemory", "0")
    assert m and m["type"] == "pmessage" and m["data"].startswith("key:")
    p.close()


def test_client_list_fields_in_order(server):
    c = Raw(server.port)
    c.cmd("CLIENT", "SETNAME", "fields")
    line = c.cmd("CLIENT", "INFO").decode()
    keys = [kv.split("=", 1)[0] for kv in line.split()]
    assert keys == ["id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "sub",
                    "psub", "ssub", "multi", "qbuf", "qbuf-free", "argv-mem", "multi-mem", "rbs",
                    "rbp", "obl", "oll", "omem", "tot-mem", "events", "cmd", "user", "redir",
                    "resp"]
    assert field(line, "cmd") == "client|info"
    assert field(line, "qbuf") == "26"  # the CLIENT INFO command itself, as Redis counts it
    assert field(line, "flags") == "N" and field(line, "events") == "r"
    c.cmd("MULTI")
    c.cmd("SET", "a", "b")
    r = server.client(decode_responses=True)
    other = client_line(r, "fields")
    assert field(other, "flags") == "x" and field(other, "multi") == "1"
    assert int(field(other, "multi-mem")) > 0
    c.cmd("DISCARD")
    c.close()


def test_client_kill_self_and_old_form(server):
    c = Raw(server.port)
    c.cmd("CLIENT", "SETNAME", "victim")
    r = server.client(decode_responses=True)
    addr = field(client_line(r, "victim"), "addr")
    assert r.execute_command("CLIENT", "KILL", addr) == "OK" or r.execute_command(
        "CLIENT", "KILL", addr) is True
    assert c.closed()
    with pytest.raises(redis.ResponseError, match="No such client"):
        r.execute_command("CLIENT", "KILL", addr)
    me = Raw(server.port)
    my_id = me.cmd("CLIENT", "ID")
    assert me.cmd("CLIENT", "KILL", "ID", my_id, "SKIPME", "no") == 1  # the reply comes first
    assert me.closed()


def test_client_reply_off_and_skip(server):
    c = Raw(server.port)
    c.send(b"CLIENT REPLY OFF\r\nPING a\r\nPING b\r\nCLIENT REPLY ON\r\nPING c\r\n")
    assert c.reply() == "OK"
    assert c.reply() == b"c"
    c.send(b"CLIENT REPLY SKIP\r\nPING d\r\nPING e\r\n")
    assert c.reply() == b"e"
    c.close()


def test_client_pause_write_holds_writes_and_counts_them_blocked(server):
    r = server.client(decode_responses=True)
    r.set("pk", "1")
    r.execute_command("CLIENT", "PAUSE", "100000", "WRITE")
    try:
        w = Raw(server.port)
        w.send(b"SET pk 2\r\n")
        assert poll(lambda: int(r.info("clients")["blocked_clients"]) == 1)
        assert r.get("pk") == "1"  # reads are not held
    finally:
        r.execute_command("CLIENT", "UNPAUSE")
    assert w.reply() == "OK"
    assert r.get("pk") == "2"
    w.close()


def test_client_unblock(server):
    r = server.client(decode_responses=True)
    b = Raw(server.port)
    bid = b.cmd("CLIENT", "ID")
    b.send(b"BLPOP nolist 0\r\n")
    assert poll(lambda: int(r.info("clients")["blocked_clients"]) == 1)
    assert r.execute_command("CLIENT", "UNBLOCK", bid, "ERROR") == 1
    assert b.reply() == ("ERR", "UNBLOCKED client unblocked via CLIENT UNBLOCK")
    b.send(b"BLPOP nolist 0\r\n")
    assert poll(lambda: int(r.info("clients")["blocked_clients"]) == 1)
    assert r.execute_command("CLIENT", "UNBLOCK", bid) == 1
    assert b.reply() is None
    b.close()


def test_query_buffer_shrinks_when_idle(server):
    r = server.client(decode_responses=True)
    c = Raw(server.port)
    c.cmd("CLIENT", "SETNAME", "qb")
    line = client_line(r, "qb")
    total = int(field(line, "qbuf")) + int(field(line, "qbuf-free"))
    assert 16384 <= total < 32768
    # Idle for over 2 s: the empty query buffer is released.
    assert poll(lambda: (lambda l: int(field(l, "qbuf")) + int(field(l, "qbuf-free")))(
        client_line(r, "qb")) == 0, timeout=8)
    # A big request grows it; small ones after let it shrink back (not to zero).
    c.cmd("SET", "x", "A" * 400000)
    big = (lambda l: int(field(l, "qbuf")) + int(field(l, "qbuf-free")))(client_line(r, "qb"))
    assert big > 32768
    def shrunk():
        c.cmd("SET", "x", "A" * 100)
        l = client_line(r, "qb")
        t = int(field(l, "qbuf")) + int(field(l, "qbuf-free"))
        return 0 < t < big
    assert poll(shrunk, timeout=3, interval=0.01)
    c.close()


def test_reply_buffer_resizes(server):
    r = server.client(decode_responses=True)
    r.execute_command("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "100")
    c = Raw(server.port)
    c.cmd("CLIENT", "SETNAME", "rb")
    try:
        assert poll(lambda: 1024 <= int(field(client_line(r, "rb"), "rbs")) < 2046, timeout=5)
        r.set("bigval", "x" * 32768)
        r.execute_command("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "NEVER")
        def grown():
            c.cmd("GET", "bigval")
            return 16384 <= int(field(client_line(r, "rb"), "rbs")) < 32768
        assert poll(grown, timeout=5, interval=0.1)
    finally:
        r.execute_command("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "RESET")
        c.close()


def test_unlink_and_flushall_async_free_in_the_background(server):
    r = server.client(decode_responses=True)
    r.flushall()
    r.config_resetstat()
    r.sadd("big", *range(100000))
    r.set("small", "v")
    assert r.unlink("big", "small") == 2
    assert poll(lambda: int(r.info("memory")["lazyfree_pending_objects"]) == 0)
    assert int(r.info("memory")["lazyfreed_objects"]) == 1  # only the big one is worth it
    r.sadd("big", *range(100000))
    r.set("a", 1)
    r.flushall(asynchronous=True)
    assert r.dbsize() == 0
    assert poll(lambda: int(r.info("memory")["lazyfree_pending_objects"]) == 0)
    assert int(r.info("memory")["lazyfreed_objects"]) == 3


def test_config_get_every_parameter_sets_back(server):
    # Redis's "CONFIG sanity": each parameter CONFIG GET * lists can be set to its value.
    skip = {"rdbchecksum", "daemonize", "io-threads-do-reads", "tcp-backlog", "always-show-logo",
            "syslog-enabled", "cluster-enabled", "disable-thp", "aclfile", "unixsocket",
            "pidfile", "syslog-ident", "appendfilename", "appenddirname", "supervised",
            "syslog-facility", "databases", "io-threads", "logfile", "unixsocketperm",
            "replicaof", "slaveof", "requirepass", "server_cpulist", "bio_cpulist",
            "aof_rewrite_cpulist", "bgsave_cpulist", "set-proc-title", "cluster-config-file",
            "cluster-port", "oom-score-adj", "oom-score-adj-values", "enable-protected-configs",
            "enable-debug-command", "enable-module-command", "dbfilename", "dir", "socket-mark-id"}
    r = server.client(decode_responses=True)
    before = r.config_get("*")
    assert len(before) >= 180
    for k, v in before.items():
        if k in skip or k.startswith("tls-"):
            continue
        assert r.config_set(k, v), k
    after = r.config_get("*")
    assert {k: v for k, v in after.items() if k not in skip} == {
        k: v for k, v in before.items() if k not in skip}


def test_config_set_several_with_rollback(server):
    r = server.client(decode_responses=True)
    old = r.config_get("maxmemory")["maxmemory"]
    with pytest.raises(redis.ResponseError, match="maxmemory-clients.*percentage"):
        r.execute_command("CONFIG", "SET", "maxmemory", "10000001", "maxmemory-clients", "200%",
                          "client-query-buffer-limit", "invalid")
    assert r.config_get("maxmemory")["maxmemory"] == old
    assert r.execute_command("CONFIG", "SET", "maxmemory", "10000001", "hz", "11") == "OK"
    assert r.config_get("maxmemory", "h?")["hz"] == "11"
    r.config_set("maxmemory", old)
    r.config_set("hz", "10")


def test_lcs(server):
    r = server.client(decode_responses=True)
    r.set("a", "ohmytext")
    r.set("b", "mynewtext")
    assert r.execute_command("LCS", "a", "b") == "mytext"
    assert r.execute_command("LCS", "a", "b", "LEN") == 6
    assert r.execute_command("LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN") == [
        "matches", [[[4, 7], [5, 8], 4]], "len", 6]


def test_swapdb_wakes_blocked_clients(server):
    r = server.client(decode_responses=True)
    r.flushall()
    b = Raw(server.port)
    b.send(b"BLPOP wl 0\r\n")
    assert poll(lambda: int(r.info("clients")["blocked_clients"]) == 1)
    r1 = server.client(db=1, decode_responses=True)
    r1.rpush("wl", "x")
    r.swapdb(0, 1)
    assert b.reply() == [b"wl", b"x"]
    b.close()


def test_object_encoding_names_by_size(server):
    r = server.client(decode_responses=True)
    r.flushall()
    r.rpush("list", *range(10))
    r.sadd("iset", *range(10))
    r.sadd("sset", "a", "b")
    r.hset("hash", mapping={"a": 1})
    r.zadd("zset", {"a": 1})
    r.zadd("bigz", {f"m{i}": i for i in range(200)})
    r.hset("bigh", mapping={f"f{i}": i for i in range(1000)})
    r.sadd("bigi", *range(1000))
    want = {"list": "quicklist", "iset": "intset", "sset": "hashtable", "hash": "listpack",
            "zset": "listpack", "bigz": "skiplist", "bigh": "hashtable", "bigi": "hashtable"}
    assert {k: r.object("encoding", k) for k in want} == want


@pytest.mark.skipif(IS_REDIS, reason="compares Ferrite with a redis-server it starts")
def test_command_info_and_docs_match_redis(server):
    d = tempfile.mkdtemp(prefix="ferrite-cmp-")
    ref = RedisServer(d)
    try:
        f = Raw(server.port)
        rr = Raw(ref.port)
        names = [n.decode() for n in f.cmd("COMMAND", "LIST")]
        assert len(names) > 150
        for n in names:
            assert _info(f.cmd("COMMAND", "INFO", n)) == _info(rr.cmd("COMMAND", "INFO", n)), n
            assert _docs(f.cmd("COMMAND", "DOCS", n)) == _docs(rr.cmd("COMMAND", "DOCS", n)), n
        # The command families of streams, geo, scripting and functions are all there.
        for n in ("xadd", "xrange", "xrevrange", "xlen", "xdel", "xtrim", "xread", "xgroup",
                  "xreadgroup", "xack", "xpending", "xclaim", "xautoclaim", "xinfo", "xsetid",
                  "geoadd", "geodist", "geohash", "geopos", "geosearch", "geosearchstore",
                  "georadius", "georadius_ro", "georadiusbymember", "georadiusbymember_ro",
                  "eval", "evalsha", "eval_ro", "evalsha_ro", "script", "function", "fcall",
                  "fcall_ro", "object"):
            assert n in names, n
        for line in (["set", "k", "v", "GET"], ["sort", "a", "STORE", "b"],
                     ["zunionstore", "d", "2", "a", "b", "WEIGHTS", "1", "2"],
                     ["lmpop", "2", "a", "b", "LEFT"], ["bitfield", "k", "GET", "u8", "0"],
                     # scripting and functions: numkeys ("keynum") key specs
                     ["eval", "return 1", "2", "a", "b", "x"], ["eval", "return 1", "0"],
                     ["evalsha", "a" * 40, "1", "k", "v"], ["eval_ro", "return 1", "1", "k"],
                     ["evalsha_ro", "a" * 40, "2", "k1", "k2"], ["fcall", "f", "1", "k", "v"],
                     ["fcall_ro", "f", "2", "k1", "k2", "a"], ["fcall", "f", "0", "a"],
                     # streams
                     ["xadd", "s", "*", "f", "v"], ["xread", "COUNT", "1", "STREAMS", "s1", "s2", "0", "0"],
                     ["xreadgroup", "GROUP", "g", "c", "STREAMS", "s1", ">"],
                     ["xgroup", "CREATE", "s", "g", "$"], ["xinfo", "STREAM", "s"],
                     ["xclaim", "s", "g", "c", "0", "0-1"], ["xautoclaim", "s", "g", "c", "0", "0"],
                     ["xtrim", "s", "MAXLEN", "1"], ["xsetid", "s", "1-1"],
                     # geo
                     ["geoadd", "g", "1", "1", "m"], ["geosearchstore", "d", "s", "FROMMEMBER", "m",
                                                      "BYRADIUS", "1", "km"],
                     ["georadius", "s", "1", "1", "1", "km", "STORE", "d"],
                     ["georadiusbymember", "s", "m", "1", "km", "STOREDIST", "d"],
                     ["georadius_ro", "s", "1", "1", "1", "km"], ["geodist", "g", "a", "b"]):
            assert f.cmd("COMMAND", "GETKEYSANDFLAGS", *line) == rr.cmd(
                "COMMAND", "GETKEYSANDFLAGS", *line), line
        f.close()
        rr.close()
    finally:
        ref.stop()


@pytest.mark.skipif(IS_REDIS, reason="compares Ferrite with a redis-server it starts")
def test_config_defaults_match_redis(server_factory):
    """Every CONFIG GET * default equals a fresh redis-server 7.0's, but for what the two test
    harnesses set differently and Ferrite's documented departures."""
    harness = {"port", "dir", "save", "aof-use-rdb-preamble", "auto-aof-rewrite-percentage"}
    documented = {"appendfilename": "ferrite.aof", "dbfilename": "ferrite.rdb",  # file names
                  # a normal client's output is limited (docs/configuration.md)
                  "client-output-buffer-limit": "normal 268435456 67108864 60 slave 268435456 "
                                                "67108864 60 pubsub 33554432 8388608 60"}
    s = server_factory()
    d = tempfile.mkdtemp(prefix="ferrite-cfg-")
    ref = RedisServer(d)
    try:
        mine = s.client(decode_responses=True).config_get("*")
        theirs = redis.Redis(port=ref.port, decode_responses=True).config_get("*")
    finally:
        ref.stop()
    assert set(mine) == set(theirs)
    assert {k: mine[k] for k in documented} == documented
    differ = {k: (mine[k], theirs[k]) for k in mine
              if k not in harness and k not in documented and mine[k] != theirs[k]}
    assert differ == {}


@pytest.mark.skipif(IS_REDIS, reason="Ferrite's binary started as redis-server is")
def test_redis_server_command_line():
    binary = os.environ["FERRITE_BIN"]
    d = tempfile.mkdtemp(prefix="ferrite-cli-")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--dir", d, "--appendonly", "yes",
                             "--appendfsync", "always", "--save", "", "--requirepass", "pw",
                             "--enable-debug-command", "yes", "--repl-ping-replica-period", "7",
                             "--notify-keyspace-events", "Kx"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        c = redis.Redis(port=port, password="pw", decode_responses=True)
        assert poll(lambda: _pings(c), timeout=20)
        cfg = c.config_get("*")
        assert cfg["appendonly"] == "yes" and cfg["appendfsync"] == "always"
        assert cfg["save"] == "" and cfg["repl-ping-replica-period"] == "7"
        assert cfg["notify-keyspace-events"] == "xK"
        assert c.execute_command("DEBUG", "SLEEP", "0") == "OK"
    finally:
        proc.terminate()
        proc.wait(20)
    bad = subprocess.run([binary, "--appendfsync", "sometimes"], capture_output=True, text=True)
    assert bad.returncode == 1
    assert "--appendfsync 'sometimes': argument(s) must be one of the following: everysec, " \
           "always, no" in bad.stderr
    bad = subprocess.run([binary, "--no-such-option", "1"], capture_output=True, text=True)
    assert bad.returncode == 1 and "--no-such-option: unknown option" in bad.stderr


# Redis lists subcommands in its dict's order, which its hash seed (random per process)
# decides: compare them as sets.
def _info(reply):
    out = []
    for entry in reply:
        if entry and len(entry) == 10 and entry[9]:
            entry = entry[:9] + [sorted(_info(entry[9]), key=lambda e: e[0])]
        out.append(entry)
    return out


def _docs(reply):
    if isinstance(reply, list):  # RESP2 map: name, docs, …
        out = []
        for i in range(0, len(reply), 2):
            doc = reply[i + 1]
            if isinstance(doc, list) and b"subcommands" in doc:
                j = doc.index(b"subcommands")
                subs = doc[j + 1]
                pairs = sorted((subs[k], _docs([subs[k], subs[k + 1]])[1])
                               for k in range(0, len(subs), 2))
                doc = doc[:j + 1] + [pairs] + doc[j + 2:]
            out += [reply[i], doc]
        return out
    return reply


def _pings(c):
    try:
        return c.ping()
    except (redis.ConnectionError, OSError):
        return False


def test_config_set_port_rebinds_or_rolls_back(server_factory):
    s = server_factory()
    r = s.client(decode_responses=True)
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    used = busy.getsockname()[1]
    with pytest.raises(redis.ResponseError,
                       match=r"CONFIG SET failed \(possibly related to argument 'port'\) - "
                             r"Unable to listen on this port"):
        r.execute_command("CONFIG", "SET", "maxmemory", "10000001", "port", str(used),
                          "client-query-buffer-limit", "10m")
    busy.close()
    assert r.config_get("maxmemory")["maxmemory"] == "0"  # rolled back with the port
    assert r.config_get("port")["port"] == str(s.port)
    new = free_port()
    assert r.config_set("port", str(new))
    c = redis.Redis(port=new, decode_responses=True)
    assert c.ping()
    assert c.config_get("port")["port"] == str(new)
    c.close()
    s.port = new  # so the fixture stops it


def test_bgrewriteaof_with_the_aof_off(server_factory):
    """Redis 7.0 rewrites with appendonly off: the file holds the dataset of that instant,
    later writes stay out of it, and a restart with the AOF on loads it, losing the writes
    made since. Ferrite refuses the rewrite instead (docs/operations.md), so the same restart
    keeps every write."""
    # Ferrite: the checkpoint at shutdown is what keeps the writes (Redis's test server saves
    # no RDB, so its restart shows what the stale file holds).
    ck = {} if IS_REDIS else {"persistence": {"checkpoint_enabled": True}}
    s = server_factory(**ck)
    r = s.client(decode_responses=True)
    r.set("k", "v1")
    raw = Raw(s.port)
    if IS_REDIS:
        assert raw.cmd("BGREWRITEAOF") == "Background append only file rewriting started"
    else:
        assert raw.cmd("BGREWRITEAOF") == (
            "ERR", "ERR Background append only file rewriting failed: the AOF is off; "
            "CONFIG SET appendonly yes writes a new one")
    raw.close()

    def done():
        info = r.info("persistence")
        return info["aof_rewrite_in_progress"] == 0 and info["aof_rewrites"] == (
            1 if IS_REDIS else 0)

    assert poll(done, 10)
    assert r.info("persistence")["aof_enabled"] == 0
    r.set("k", "v2")  # the AOF is off: not in any AOF file
    r.set("later", "x")
    s.keep = True
    s.stop()
    s2 = server_factory(dir=s.dir, aof="everysec", **ck)
    r2 = s2.client(decode_responses=True)
    if IS_REDIS:
        assert r2.get("k") == "v1" and r2.get("later") is None  # Redis's stale file wins
    else:
        assert r2.get("k") == "v2" and r2.get("later") == "x"
