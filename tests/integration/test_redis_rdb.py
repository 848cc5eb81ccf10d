"""Migration both ways (issue #5): a real Redis dump.rdb becomes a Ferrite checkpoint with
`ferrite-rdb import`, and a Ferrite checkpoint becomes a dump Redis loads with
`ferrite-rdb export`. Every key's type, value and TTL is compared between the two running
servers. Needs both servers, so it does not run against Redis alone."""
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import IS_REDIS, RedisServer, Server

pytestmark = pytest.mark.skipif(IS_REDIS, reason="needs both servers (Redis and Ferrite) and ferrite-rdb")

TOOLS = os.environ.get("FERRITE_TOOLS_DIR", "")
TOOL = os.path.join(TOOLS, "ferrite-rdb") if TOOLS else "ferrite-rdb"
DBS = (0, 1, 5, 15)


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="ferrite-rdb-it-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def started():
    """Servers a test starts; each stopped (by PID) at the end even if the test fails."""
    procs = []
    yield procs
    for p in procs:
        try:
            p.stop()
        except Exception:
            pass


def run_tool(*args, timeout=120):
    return subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=timeout)


def fill(client_for_db):
    """Every type in its small (listpack/intset) and large encodings, TTLs, several dbs."""
    c = client_for_db(0)
    c.set("str", "hello")
    c.set("int", "12345")
    c.set("negint", "-7")
    c.set("bigint", "123456789012345")
    c.set("notint", "007")
    c.set("empty", "")
    c.set("binary", bytes(range(256)) * 3)
    c.set("lzf", "compressible-" * 5000)
    c.set(b"key\x00with\xffbytes", b"v\r\n")
    c.set("ttl-str", "x", ex=1000)
    c.rpush("list-small", "a", "b", "1", "-2", "")
    c.rpush("list-big", *[f"element-{i}" if i % 3 else str(i) for i in range(5000)])
    c.rpush("list-longitems", *[("L%d-" % i) * 2000 for i in range(20)])
    c.sadd("set-int", *range(-50, 50))
    c.sadd("set-small", "a", "b", "c")
    c.sadd("set-big", *[f"member-{i}" for i in range(1000)])
    c.sadd("set-manyints", *range(0, 3000, 3))
    c.zadd("zset-small", {"a": 1, "b": 2.5, "c": -3, "d": 1e-300})
    c.zadd("zset-big", {f"m{i}": i * 1.25 - 300 for i in range(1000)})
    c.zadd("zset-inf", {"lo": float("-inf"), "hi": float("inf"), "zero": 0})
    c.hset("hash-small", mapping={"f1": "v1", "n": "42", "e": ""})
    c.hset("hash-big", mapping={f"field-{i}": f"value-{i}" for i in range(1000)})
    c.hset("hash-longval", mapping={"k": "v" * 200, "k2": "w"})
    c.pexpire("list-big", 3_000_000)
    c.expire("hash-big", 5000)
    c.expire("zset-big", 7000)
    for db in DBS[1:]:
        d = client_for_db(db)
        d.set(f"in-{db}", f"db{db}")
        d.hset(f"h-{db}", mapping={"a": str(db)})
        d.rpush(f"l-{db}", *range(db + 1))
        d.set(f"ttl-{db}", "t", ex=2000 + db)


def snapshot(client_for_db, skip_prefix=None):
    """{db: {key: (type, value, pexpiretime)}} with values in comparable form. Expiry times
    are absolute (PEXPIRETIME), so two servers must agree on them exactly."""
    readers = {
        b"string": lambda p, k: p.get(k),
        b"list": lambda p, k: p.lrange(k, 0, -1),
        b"set": lambda p, k: p.smembers(k),
        b"zset": lambda p, k: p.zrange(k, 0, -1, withscores=True),
        b"hash": lambda p, k: p.hgetall(k),
    }
    out = {}
    for db in range(16):
        c = client_for_db(db)
        keys = [k for k in c.scan_iter(count=1000) if not (skip_prefix and k.startswith(skip_prefix))]
        p = c.pipeline(transaction=False)
        for k in keys:
            p.type(k)
            p.execute_command("PEXPIRETIME", k)
        meta = p.execute()
        p = c.pipeline(transaction=False)
        for i, k in enumerate(keys):
            t = meta[2 * i]
            assert t in readers, f"unexpected type {t!r} for {k!r}"
            readers[t](p, k)
        values = p.execute()
        got = {}
        for i, k in enumerate(keys):
            t, v = meta[2 * i].decode(), values[i]
            if t == "set":
                v = sorted(v)
            elif t == "hash":
                v = sorted(v.items())
            got[k] = (t, v, meta[2 * i + 1])
        c.close()
        if got:
            out[db] = got
    return out


def assert_same(a, b):
    assert sorted(a) == sorted(b), "databases differ"
    for db in a:
        assert sorted(a[db]) == sorted(b[db]), f"db {db}: key sets differ"
        for k, (t, v, exp) in a[db].items():
            t2, v2, exp2 = b[db][k]
            assert t == t2, f"db {db} key {k!r}: type {t} vs {t2}"
            assert v == v2, f"db {db} key {k!r}: values differ"
            assert exp == exp2, f"db {db} key {k!r}: expiry {exp} vs {exp2}"


def encoding(c, key):
    e = c.object("encoding", key)
    return e.decode() if isinstance(e, bytes) else e


def test_redis_dump_imports_into_ferrite(workdir, started):
    rdir = os.path.join(workdir, "redis")
    fdir = os.path.join(workdir, "ferrite")
    os.makedirs(rdir)
    os.makedirs(fdir)
    rs = RedisServer(rdir)
    started.append(rs)
    fill(rs.client)
    c = rs.client()
    # Both encodings of every type are in the dump.
    assert encoding(c, "list-small") == "listpack" or encoding(c, "list-small") == "quicklist"
    assert encoding(c, "set-int") == "intset"
    assert encoding(c, "set-manyints") == "hashtable"
    assert encoding(c, "zset-small") == "listpack"
    assert encoding(c, "zset-big") == "skiplist"
    assert encoding(c, "hash-small") == "listpack"
    assert encoding(c, "hash-big") == "hashtable"
    c.execute_command("FUNCTION", "LOAD",
                      "#!lua name=mylib\nredis.register_function('f', function(keys, args) return 1 end)")
    assert c.save()
    dump = os.path.join(rdir, "dump.rdb")

    info = run_tool("info", dump)
    assert info.returncode == 0, info.stderr
    assert "Redis RDB version 10" in info.stdout
    assert "checksum" in info.stdout and "verified" in info.stdout
    assert "function libraries: 1" in info.stdout

    imp = run_tool("import", dump, os.path.join(fdir, "ferrite.rdb"))
    assert imp.returncode == 0, imp.stderr
    assert "function libraries: 1" in imp.stdout
    assert not os.path.exists(os.path.join(fdir, "ferrite.rdb.tmp"))

    fs = Server(dir=fdir)
    started.append(fs)

    def fclient(db):
        return fs.client(db=db)

    want = snapshot(rs.client)
    got = snapshot(fclient)
    assert sum(len(v) for v in want.values()) == 23 + 4 * (len(DBS) - 1)
    assert_same(want, got)
    assert got[0][b"ttl-str"][2] > time.time() * 1000 + 990_000
    # The library came along (an RDB FUNCTION2 record, a checkpoint library record).
    assert fs.client().fcall("f", 0) == 1


def test_ferrite_checkpoint_exports_to_redis(workdir, started):
    fdir = os.path.join(workdir, "ferrite")
    rdir = os.path.join(workdir, "redis")
    os.makedirs(fdir)
    os.makedirs(rdir)
    fs = Server(dir=fdir)
    started.append(fs)

    def fclient(db):
        return fs.client(db=db)

    fill(fclient)
    assert fs.client().save()
    ckpt = os.path.join(fdir, "ferrite.rdb")
    assert os.path.exists(ckpt)
    out = os.path.join(rdir, "exported.rdb")
    exp = run_tool("export", ckpt, out)
    assert exp.returncode == 0, exp.stderr
    # Redis's own checker agrees, then Redis 7.0 loads it.
    chk = subprocess.run(["redis-check-rdb", out], capture_output=True, text=True, timeout=60)
    assert chk.returncode == 0 and "RDB looks OK" in chk.stdout, chk.stdout + chk.stderr
    info = run_tool("info", out)
    assert info.returncode == 0, info.stderr

    rs = RedisServer(rdir, dbfilename="exported.rdb")
    started.append(rs)
    want = snapshot(fclient)
    got = snapshot(rs.client)
    assert sum(len(v) for v in want.values()) == 23 + 4 * (len(DBS) - 1)
    assert_same(want, got)
    c = rs.client()
    # Redis picked its own encodings from the plain types it loaded.
    assert encoding(c, "set-int") == "intset"
    assert encoding(c, "hash-small") == "listpack"
    assert encoding(c, "zset-big") == "skiplist"
    assert encoding(c, "list-big") == "quicklist"


def test_round_trip_redis_ferrite_redis(workdir, started):
    """dump.rdb -> checkpoint -> dump.rdb: Redis sees its own data again, down to DEBUG
    DIGEST (both ends are Redis, so the digests are comparable)."""
    rdir = os.path.join(workdir, "redis")
    os.makedirs(rdir)
    rs = RedisServer(rdir)
    started.append(rs)
    fill(rs.client)
    c = rs.client()
    c.execute_command("DEBUG", "POPULATE", "100000", "pop", "40")  # a dump of several MB
    assert c.save()
    want = snapshot(rs.client, skip_prefix=b"pop:")  # DEBUG DIGEST covers those
    digest = c.execute_command("DEBUG", "DIGEST")
    dump = os.path.join(rdir, "dump.rdb")
    ckpt = os.path.join(workdir, "ferrite.rdb")
    assert run_tool("import", dump, ckpt).returncode == 0
    back_dir = os.path.join(workdir, "back")
    os.makedirs(back_dir)
    exp = run_tool("export", ckpt, os.path.join(back_dir, "dump.rdb"))
    assert exp.returncode == 0, exp.stderr
    rs2 = RedisServer(back_dir)
    started.append(rs2)
    assert rs2.client().execute_command("DEBUG", "DIGEST") == digest
    assert_same(want, snapshot(rs2.client, skip_prefix=b"pop:"))


def test_damage_and_unsupported_content_exit_codes(workdir, started):
    rdir = os.path.join(workdir, "redis")
    os.makedirs(rdir)
    rs = RedisServer(rdir)
    started.append(rs)
    c = rs.client()
    c.set("a", "value-" * 10)
    c.rpush("l", *range(100))
    assert c.save()
    dump = os.path.join(rdir, "dump.rdb")
    data = open(dump, "rb").read()
    out = os.path.join(workdir, "out.rdb")

    # A flipped byte in the middle: damaged (1), the message names the file and an offset.
    bad = os.path.join(workdir, "bad.rdb")
    i = data.index(b"value-") + 3
    with open(bad, "wb") as f:
        f.write(data[:i] + bytes([data[i] ^ 0x20]) + data[i + 1:])
    r = run_tool("import", bad, out)
    assert r.returncode == 1, r.stdout + r.stderr
    assert bad in r.stderr and "offset" in r.stderr
    assert not os.path.exists(out) and not os.path.exists(out + ".tmp")
    # Truncated.
    with open(bad, "wb") as f:
        f.write(data[: len(data) // 2])
    r = run_tool("info", bad)
    assert r.returncode == 1 and "truncated" in r.stderr and "offset" in r.stderr, r.stderr

    # A stream imports (tests/integration/test_streams.py compares them in detail).
    c.xadd("events", {"k": "v"})
    assert c.save()
    r = run_tool("import", dump, out)
    assert r.returncode == 0, r.stdout + r.stderr
    os.remove(out)

    # A database beyond --databases: unsupported (2) with the hint; with the flag it works.
    c.delete("events")
    c.execute_command("CONFIG", "SET", "save", "")
    c2 = rs.client(db=9)
    c2.set("nine", "9")
    assert c.save()
    r = run_tool("import", dump, out, "--databases", "8")
    assert r.returncode == 2 and "--databases 10" in r.stderr, r.stderr
    r = run_tool("import", dump, out, "--databases", "16")
    assert r.returncode == 0, r.stderr

    # Usage and I/O errors (3).
    assert run_tool().returncode == 3
    assert run_tool("import", dump).returncode == 3
    assert run_tool("info", os.path.join(workdir, "missing.rdb")).returncode == 3
    assert run_tool("export", os.path.join(workdir, "missing.rdb"), out).returncode == 3
    # A Redis dump is not a checkpoint: export refuses it as damaged input.
    r = run_tool("export", dump, os.path.join(workdir, "x.rdb"))
    assert r.returncode == 1, r.stderr
