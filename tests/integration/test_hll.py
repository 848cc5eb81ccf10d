"""HyperLogLog commands. Every expectation here is what redis-server 7.0 answers; the byte
literals and digests pin Redis's exact format, so values written by one server are read by
the other."""
import hashlib

import pytest
import redis

from conftest import Raw

NOT_HLL = "Key is not a valid HyperLogLog string value."  # after the WRONGTYPE code
CORRUPT = "Corrupted HLL object detected"                  # after the INVALIDOBJ code
SPARSE_HDR = b"HYLL\x01\x00\x00\x00" + b"\x00" * 7 + b"\x80"  # sparse, cache stale


def err(fn):
    with pytest.raises(redis.ResponseError) as e:
        fn()
    return str(e.value)


def raw_err(rb, *args):
    """The full error line (redis-py drops the code of errors it maps to classes)."""
    c = Raw(rb.connection_pool.connection_kwargs["port"])
    try:
        reply = c.cmd(*args)
    finally:
        c.close()
    assert isinstance(reply, tuple), reply
    return reply[1]


def add_range(rb, key, prefix, n):
    for i in range(0, n, 1000):
        rb.pfadd(key, *[f"{prefix}{j}" for j in range(i, min(n, i + 1000))])


def digest(b):
    return hashlib.sha256(b).hexdigest()


def test_empty_and_small(rb):
    assert rb.pfadd("o") == 1
    assert rb.get("o") == b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff"
    assert rb.pfadd("o") == 0
    assert rb.pfcount("o") == 0
    assert rb.get("o") == b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff"
    assert rb.pfcount("missing") == 0
    assert rb.exists("missing") == 0
    assert rb.type("o") == b"string"

    assert rb.pfadd("hll", "a", "b", "c") == 1
    assert rb.get("hll") == (b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80"
                             b"`\xf3\x80P\xb1\x84K\xfb\x80BZ")
    assert rb.pfadd("hll", "a", "b", "c") == 0
    assert rb.pfadd("hll", "c", "d") == 1
    assert rb.pfcount("hll") == 4

    assert rb.pfadd("one", "hello") == 1
    assert rb.get("one").hex() == "48594c4c01000000000000000000008063ff805bfe"


def test_twenty_elements_bytes_and_cache(rb):
    rb.pfadd("t", *[f"e{i}" for i in range(20)])
    assert rb.get("t").hex() == (
        "48594c4c01000000000000000000008042358842ee8044528042da844bd08c406f8043868042ac8041"
        "648441b884453d90435884430d8441038446d18047e684408880406a8440488013804152")
    assert rb.pfcount("t") == 20
    assert rb.get("t")[:16].hex() == "48594c4c010000001400000000000000"


def test_one_at_a_time_sparse_updates(rb):
    """Every PFADD splits an opcode and merges equal neighbours: the bytes show it."""
    for i in range(300):
        rb.pfadd("s", f"x{i}")
    v = rb.get("s")
    assert len(v) == 688
    assert digest(v) == "423d007105286287be7f448c817efd879ba0a43485d99713300f66f0e29a520f"
    assert rb.pfcount("s") == 299
    assert [rb.pfadd("y", f"y{i % 30}") for i in range(40)] == [1] * 30 + [0] * 10


@pytest.mark.parametrize("n,count,encoding,size,before,after", [
    (1, 1, b"sparse", 21, "b0e9338b711c718f", "ccda8ba82764c30e"),
    (10, 10, b"sparse", 48, "5e1f7c888c80593c", "0bba112db5cc118c"),
    (100, 100, b"sparse", 285, "53986fa020104b2d", "aebee27e50c67272"),
    (200, 200, b"sparse", 513, "48e2bfbe29cb081e", "1f40af84180704c3"),
    (500, 506, b"sparse", 1068, "fdd072e10d5463ce", "70c1bb138b0e357f"),
    (1000, 1008, b"sparse", 1906, "519a7f0764d633e0", "ab6313e24c05ff99"),
    (3000, 2979, b"dense", 12304, "641370c2fb88649b", "a79c6647dea1e857"),
    (10000, 9973, b"dense", 12304, "5f94be2c770f456c", "c44e2d26f9f332c8"),
    (100000, 100853, b"dense", 12304, "db44442a96c3ca47", "548dba672576d8a2"),
])
def test_counts_and_bytes(rb, n, count, encoding, size, before, after):
    add_range(rb, "h", "e", n)
    v = rb.get("h")
    assert len(v) == size
    assert digest(v)[:16] == before
    assert rb.execute_command("PFDEBUG", "ENCODING", "h") == encoding
    assert rb.pfcount("h") == count
    assert digest(rb.get("h"))[:16] == after  # the cached cardinality is in the header
    assert rb.pfcount("h") == count
    # Within 3 standard errors (1.04/sqrt(16384) = 0.81%).
    assert abs(count - n) <= max(1, 3 * 0.0081 * n)


def test_values_move_between_servers(rb, server_factory):
    """What one server writes, the other reads: both are byte-for-byte Redis HLLs."""
    other = server_factory().client()
    add_range(rb, "small", "s", 150)
    add_range(rb, "big", "b", 20000)
    for key in ("small", "big"):
        other.set(key, rb.get(key))
    assert other.pfcount("small") == rb.pfcount("small")
    assert other.pfcount("big") == rb.pfcount("big")
    assert other.pfadd("small", "s1", "s2") == 0
    assert other.pfadd("small", "new1", "new2", "new3") == 1
    assert rb.pfadd("small", "new1", "new2", "new3") == 1
    assert other.get("small") == rb.get("small")
    other.close()


def test_cached_cardinality_is_trusted(rb):
    rb.pfadd("h", "a", "b", "c")
    assert rb.pfcount("h") == 3
    v = bytearray(rb.get("h"))
    assert v[8:16] == (3).to_bytes(8, "little")
    v[8:16] = (1234).to_bytes(8, "little")
    rb.set("h", bytes(v))
    assert rb.pfcount("h") == 1234
    assert rb.pfcount("h", "h") == 3          # a union is always counted
    assert rb.pfadd("h", "zz") == 1            # marks the cache stale, keeps the bytes
    assert rb.get("h")[8:16].hex() == "d204000000000080"
    assert rb.pfcount("h") == 4


def test_union_does_not_modify(rb):
    add_range(rb, "a", "a", 100)
    add_range(rb, "b", "b", 5000)
    a, b = rb.get("a"), rb.get("b")
    assert rb.pfcount("a", "b") == 5162
    assert rb.pfcount("a", "missing", "b") == 5162
    assert rb.get("a") == a and rb.get("b") == b
    assert rb.pfcount("missing1", "missing2") == 0
    assert rb.exists("missing1") == 0


def test_pfmerge(rb):
    add_range(rb, "a", "a", 100)
    add_range(rb, "b", "b", 5000)
    assert rb.pfmerge("c", "a") is True
    assert rb.execute_command("PFDEBUG", "ENCODING", "c") == b"sparse"
    assert digest(rb.get("c")) == "bbf457ed71ca3088222bac37980979276ae9312098a6d8c2f227bc9d54e43bc7"
    assert rb.pfcount("c") == 99
    assert rb.pfmerge("c", "b") is True        # the destination is merged in too
    assert rb.execute_command("PFDEBUG", "ENCODING", "c") == b"dense"
    assert digest(rb.get("c")) == "5ddd03c695314e29deff245503bfabbc43cccb0be47bc7900a4281d7ca1ca910"
    assert rb.pfcount("c") == 5162
    assert rb.pfmerge("empty") is True
    assert rb.get("empty") == b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff"
    assert rb.pfmerge("d", "missing1", "missing2") is True
    assert rb.pfcount("d") == 0
    # Merging sparse values equals adding the same elements.
    add_range(rb, "x", "a", 100)
    rb.pfmerge("m", "a", "x")
    assert rb.get("m")[16:] == rb.get("a")[16:]
    # A merge of many sparse values that grows past 3000 bytes turns dense.
    for i in range(4):
        add_range(rb, f"p{i}", f"p{i}-", 600)
    rb.pfmerge("big", "p0", "p1", "p2", "p3")
    assert rb.execute_command("PFDEBUG", "ENCODING", "big") == b"dense"
    assert rb.pfcount("big") == rb.pfcount("p0", "p1", "p2", "p3")


def test_sparse_to_dense_on_size(rb):
    add_range(rb, "h", "e", 1300)
    assert rb.execute_command("PFDEBUG", "ENCODING", "h") == b"sparse"
    n = 1300
    while rb.execute_command("PFDEBUG", "ENCODING", "h") == b"sparse":
        assert len(rb.get("h")) <= 3000
        rb.pfadd("h", f"e{n}")
        n += 1
    assert len(rb.get("h")) == 12304
    assert n < 3000
    ref = rb.get("h")
    rb.delete("h2")
    add_range(rb, "h2", "e", n)
    assert rb.get("h2") == ref


def test_wrong_types_and_invalid_values(rb):
    rb.set("s", "bar")
    assert raw_err(rb, "PFADD", "s", "a") == "WRONGTYPE " + NOT_HLL
    assert raw_err(rb, "PFCOUNT", "s") == "WRONGTYPE " + NOT_HLL
    assert raw_err(rb, "PFCOUNT", "missing", "s") == "WRONGTYPE " + NOT_HLL
    assert raw_err(rb, "PFMERGE", "d", "s") == "WRONGTYPE " + NOT_HLL
    assert rb.exists("d") == 0
    assert raw_err(rb, "PFMERGE", "s", "missing") == "WRONGTYPE " + NOT_HLL
    rb.set("i", 12345)
    assert raw_err(rb, "PFADD", "i", "x") == "WRONGTYPE " + NOT_HLL
    rb.set("d", b"HYLL\x00" + b"\x00" * 111)                 # dense of the wrong size
    assert raw_err(rb, "PFCOUNT", "d") == "WRONGTYPE " + NOT_HLL
    rb.set("e", b"HYLL\x02" + b"\x00" * 11 + b"\x7f\xff")     # unknown encoding
    assert raw_err(rb, "PFCOUNT", "e") == "WRONGTYPE " + NOT_HLL
    rb.set("t", b"HYLL\x01" + b"\x00" * 10)                  # shorter than a header
    assert raw_err(rb, "PFCOUNT", "t") == "WRONGTYPE " + NOT_HLL
    assert rb.get("s") == b"bar"
    for cmd in ("PFADD", "PFCOUNT", "PFMERGE"):
        assert err(lambda: rb.execute_command(cmd)) == \
            f"wrong number of arguments for '{cmd.lower()}' command"


def test_wrong_type_collection(rb):
    rb.rpush("l", "x")
    assert raw_err(rb, "PFADD", "l", "a") == \
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    assert raw_err(rb, "PFCOUNT", "l") == \
        "WRONGTYPE Operation against a key holding the wrong kind of value"


def test_corrupted_sparse(rb):
    rb.set("c", SPARSE_HDR + b"\x7f\xfe")  # covers 16383 registers, not 16384
    assert raw_err(rb, "PFCOUNT", "c") == "INVALIDOBJ " + CORRUPT
    assert raw_err(rb, "PFCOUNT", "c", "missing") == "INVALIDOBJ " + CORRUPT
    assert raw_err(rb, "PFMERGE", "m", "c") == "INVALIDOBJ " + CORRUPT
    assert raw_err(rb, "PFDEBUG", "TODENSE", "c") == "INVALIDOBJ " + CORRUPT
    # Registers inside the covered part still update.
    assert rb.pfadd("c", "a", "b", "c") == 1
    assert rb.get("c").hex() == "48594c4c01000000000000000000008060f38050b1844bfb804259"
    rb.set("c", SPARSE_HDR + b"\x7f\xff\x00")  # one register too many
    assert raw_err(rb, "PFCOUNT", "c") == "INVALIDOBJ " + CORRUPT
    rb.set("c", SPARSE_HDR)  # no opcodes
    assert raw_err(rb, "PFCOUNT", "c") == "INVALIDOBJ " + CORRUPT
    assert raw_err(rb, "PFADD", "c", "a") == "INVALIDOBJ " + CORRUPT
    rb.set("c", SPARSE_HDR + b"\xff" * 5000)  # VAL runs past the last register
    assert raw_err(rb, "PFCOUNT", "c") == "INVALIDOBJ " + CORRUPT
    assert raw_err(rb, "PFMERGE", "m", "c") == "INVALIDOBJ " + CORRUPT


def test_dense_edge_values(rb):
    zero = b"HYLL" + b"\x00" * 12 + b"\x00" * 12288
    rb.set("z", zero)
    assert rb.pfcount("z") == 0
    assert rb.execute_command("PFDEBUG", "TODENSE", "z") == 0
    # All registers at 63, beyond what a hash yields: Redis's estimator gives INT64_MIN.
    rb.set("f", b"HYLL" + b"\x00" * 11 + b"\x80" + b"\xff" * 12288)
    assert rb.pfcount("f") == -(2 ** 63)
    # The last register lives in the top six bits of the last byte.
    rb.set("z", zero[:-1] + b"\x0c")
    regs = rb.execute_command("PFDEBUG", "GETREG", "z")
    assert len(regs) == 16384 and regs[-1] == 3 and sum(regs) == 3


def test_pfdebug(rb):
    assert raw_err(rb, "PFDEBUG", "GETREG", "missing") == "ERR The specified key does not exist"
    rb.pfadd("h", "a", "b", "c")
    assert raw_err(rb, "PFDEBUG", "foo", "h") == "ERR Unknown PFDEBUG subcommand 'foo'"
    assert raw_err(rb, "PFDEBUG", "ENCODING") == \
        "ERR wrong number of arguments for 'pfdebug' command"
    assert rb.execute_command("PFDEBUG", "encoding", "h") == b"sparse"
    assert rb.execute_command("PFDEBUG", "DECODE", "h") == \
        b"Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603"
    regs = rb.execute_command("PFDEBUG", "GETREG", "h")
    assert len(regs) == 16384 and sorted(set(regs)) == [0, 1, 2]
    assert rb.execute_command("PFDEBUG", "ENCODING", "h") == b"dense"
    assert raw_err(rb, "PFDEBUG", "DECODE", "h") == "ERR HLL encoding is not sparse"
    assert rb.pfcount("h") == 3
    rb.pfadd("g", "a", "b", "c")
    assert rb.execute_command("PFDEBUG", "TODENSE", "g") == 1
    assert rb.execute_command("PFDEBUG", "TODENSE", "g") == 0
    assert rb.get("g")[16:] == rb.get("h")[16:]


def test_pfselftest(rb):
    assert rb.execute_command("PFSELFTEST") == b"OK"


def test_command_info(r):
    c = Raw(r.connection_pool.connection_kwargs["port"])
    try:
        got = c.cmd("COMMAND", "INFO", "pfadd", "pfcount", "pfmerge", "pfdebug", "pfselftest")
    finally:
        c.close()
    by_name = {e[0]: e for e in got}
    assert by_name[b"pfadd"][1:6] == [-2, ["write", "denyoom", "fast"], 1, 1, 1]
    assert by_name[b"pfcount"][1:6] == [-2, ["readonly"], 1, -1, 1]
    assert by_name[b"pfmerge"][1:6] == [-2, ["write", "denyoom"], 1, -1, 1]
    assert by_name[b"pfdebug"][1:6] == [3, ["write", "denyoom", "admin"], 2, 2, 1]
    assert by_name[b"pfselftest"][1:6] == [1, ["admin"], 0, 0, 0]
    assert set(by_name[b"pfadd"][6]) == {"@write", "@hyperloglog", "@fast"}
    assert set(by_name[b"pfcount"][6]) == {"@read", "@hyperloglog", "@slow"}


def test_watch_sees_cache_write(server, rb):
    rb.pfadd("h", "a")
    other = server.client()
    with rb.pipeline() as p:
        p.watch("h")
        assert other.pfcount("h") == 1  # writes the cached cardinality
        p.multi()
        p.ping()
        with pytest.raises(redis.WatchError):
            p.execute()
    with rb.pipeline() as p:
        p.watch("h")
        assert other.pfcount("h") == 1  # cache valid: nothing written
        assert other.pfadd("h", "a") == 0
        p.multi()
        p.ping()
        assert p.execute() == [True]
    other.close()


def test_ttl_kept(rb):
    rb.pfadd("h", "a")
    rb.expire("h", 100)
    rb.pfadd("h", "b", "c")
    rb.pfcount("h")
    assert 0 < rb.ttl("h") <= 100
    rb.set("x", "y")
    rb.pfmerge("h", "missing")
    assert 0 < rb.ttl("h") <= 100


def test_sparse_max_bytes_is_a_config_key(rb):
    """hll-sparse-max-bytes moves the sparse -> dense switch (Redis's config key)."""
    assert rb.config_set("hll-sparse-max-bytes", 500)
    try:
        assert rb.config_get("hll-sparse-max-bytes") == {"hll-sparse-max-bytes": "500"}
        rb.pfadd("small", *[f"e{i}" for i in range(200)])  # ~500+ bytes when sparse
        assert rb.execute_command("PFDEBUG", "ENCODING", "small") == b"dense"
        assert len(rb.get("small")) == 12304
        assert rb.config_set("hll-sparse-max-bytes", 16000)
        rb.pfadd("big", *[f"e{i}" for i in range(3000)])  # dense at the default 3000
        assert rb.execute_command("PFDEBUG", "ENCODING", "big") == b"sparse"
        assert rb.pfcount("big") == rb.pfcount("small", "big")
    finally:
        rb.config_set("hll-sparse-max-bytes", 3000)
