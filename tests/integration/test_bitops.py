"""Bit commands. Every expectation here is what redis-server 7.0 answers."""
import pytest
import redis


def err(fn):
    with pytest.raises(redis.ResponseError) as e:
        fn()
    return str(e.value)


def test_setbit_getbit(rb):
    assert rb.setbit("b", 7, 1) == 0
    assert rb.get("b") == b"\x01"
    assert rb.setbit("b", 7, 0) == 1
    assert rb.setbit("b", 100, 1) == 0
    assert rb.strlen("b") == 13
    assert rb.getbit("b", 100) == 1
    assert rb.getbit("b", 99) == 0
    assert rb.getbit("b", 10_000) == 0
    assert rb.getbit("missing", 3) == 0
    assert err(lambda: rb.setbit("b", -1, 1)) == "bit offset is not an integer or out of range"
    assert err(lambda: rb.setbit("b", 2**32, 1)) == "bit offset is not an integer or out of range"
    assert err(lambda: rb.execute_command("SETBIT", "b", "1", "2")) == "bit is not an integer or out of range"
    assert err(lambda: rb.getbit("b", "x")) == "bit offset is not an integer or out of range"


def test_bitcount(rb):
    rb.set("s", "foobar")
    assert rb.bitcount("s") == 26
    assert rb.bitcount("s", 0, 0) == 4
    assert rb.bitcount("s", 1, 1) == 6
    assert rb.bitcount("s", -2, -1) == 7
    assert rb.bitcount("s", 5, 1) == 0
    assert rb.execute_command("BITCOUNT", "s", "1", "1", "BYTE") == 6
    assert rb.execute_command("BITCOUNT", "s", "5", "30", "BIT") == 17
    assert rb.execute_command("BITCOUNT", "s", "-8", "-1", "BIT") == 4
    assert rb.execute_command("BITCOUNT", "missing", "0", "10") == 0
    assert err(lambda: rb.execute_command("BITCOUNT", "s", "0")) == "syntax error"
    assert err(lambda: rb.execute_command("BITCOUNT", "s", "0", "1", "NIBBLE")) == "syntax error"
    assert err(lambda: rb.execute_command("BITCOUNT", "s", "a", "1")) == "value is not an integer or out of range"


def test_bitpos(rb):
    rb.set("s", b"\xff\xf0\x00")
    assert rb.bitpos("s", 0) == 12
    rb.set("s", b"\x00\xff\xf0")
    assert rb.bitpos("s", 1, 0) == 8
    assert rb.bitpos("s", 1, 2) == 16
    rb.set("s", b"\x00\x00\x00")
    assert rb.bitpos("s", 1) == -1
    rb.set("s", b"\xff\xff\xff")
    assert rb.bitpos("s", 0) == 24
    assert rb.bitpos("s", 0, 0) == 24
    assert rb.bitpos("s", 0, 0, -1) == -1
    assert rb.bitpos("missing", 0) == 0
    assert rb.bitpos("missing", 1) == -1
    rb.set("s", b"\x00\xff\x00")
    assert rb.execute_command("BITPOS", "s", "1", "7", "15", "BIT") == 8
    assert rb.execute_command("BITPOS", "s", "0", "8", "15", "BIT") == -1
    assert rb.execute_command("BITPOS", "s", "0", "8", "-1", "BIT") == 16
    assert rb.execute_command("BITPOS", "s", "1", "2", "1") == -1
    rb.set("e", "")
    assert rb.bitpos("e", 0) == -1
    assert err(lambda: rb.execute_command("BITPOS", "s", "2")) == "The bit argument must be 1 or 0."


def test_bitop(rb):
    rb.set("a", b"\xff\x0f")
    rb.set("b", b"\xf0")
    assert rb.bitop("AND", "d", "a", "b") == 2
    assert rb.get("d") == b"\xf0\x00"
    assert rb.bitop("OR", "d", "a", "b") == 2
    assert rb.get("d") == b"\xff\x0f"
    assert rb.bitop("XOR", "d", "a", "b") == 2
    assert rb.get("d") == b"\x0f\x0f"
    assert rb.bitop("NOT", "d", "a") == 2
    assert rb.get("d") == b"\x00\xf0"
    assert rb.bitop("AND", "d", "nothing", "nothing2") == 0
    assert rb.exists("d") == 0
    assert err(lambda: rb.bitop("NOT", "d", "a", "b")) == "BITOP NOT must be called with a single source key."
    assert err(lambda: rb.execute_command("BITOP", "NAND", "d", "a")) == "syntax error"


def test_bitfield(rb):
    r = rb
    assert r.execute_command("BITFIELD", "f", "SET", "i8", "0", "100", "GET", "i8", "0") == [0, 100]
    assert r.execute_command("BITFIELD", "f", "INCRBY", "i8", "0", "100") == [-56]
    assert r.execute_command("BITFIELD", "f", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "-200") == [-128]
    assert r.execute_command("BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "-1") == [None]
    assert r.execute_command("BITFIELD", "f", "GET", "i8", "0") == [-128]
    assert r.execute_command("BITFIELD", "u", "SET", "u4", "#1", "15", "GET", "u4", "4", "GET", "u8", "0") == [0, 15, 15]
    assert r.execute_command("BITFIELD", "u", "INCRBY", "u4", "#1", "3") == [2]
    assert r.execute_command("BITFIELD", "u", "OVERFLOW", "SAT", "INCRBY", "u4", "#1", "100") == [15]
    assert r.execute_command("BITFIELD", "u", "OVERFLOW", "SAT", "INCRBY", "u4", "#1", "-100") == [0]
    assert r.execute_command("BITFIELD", "u", "OVERFLOW", "FAIL", "SET", "u4", "#1", "16") == [None]
    assert r.execute_command("BITFIELD", "u", "SET", "u4", "#1", "17") == [0]
    assert r.execute_command("BITFIELD", "u", "GET", "u4", "#1") == [1]
    assert r.execute_command("BITFIELD", "w", "SET", "i64", "0", "-1", "GET", "u63", "0") == [0, 2**63 - 1]
    assert r.execute_command("BITFIELD", "w", "INCRBY", "i64", "0", "1") == [0]
    assert r.execute_command("BITFIELD", "w", "SET", "i64", "0", str(2**63 - 1), "INCRBY", "i64", "0", "1") == [0, -(2**63)]
    assert r.execute_command("BITFIELD", "w", "OVERFLOW", "SAT", "SET", "i64", "0", str(2**63 - 1), "INCRBY", "i64", "0", "1") == [-(2**63), 2**63 - 1]
    assert r.execute_command("BITFIELD", "missing", "GET", "u8", "0") == [0]
    assert r.execute_command("BITFIELD", "x") == []
    assert r.execute_command("BITFIELD_RO", "u", "GET", "u8", "0") == [1]
    assert err(lambda: r.execute_command("BITFIELD_RO", "u", "SET", "u8", "0", "1")) == \
        "BITFIELD_RO only supports the GET subcommand"
    bad_type = "Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
    assert err(lambda: r.execute_command("BITFIELD", "u", "GET", "u64", "0")) == bad_type
    assert err(lambda: r.execute_command("BITFIELD", "u", "GET", "i65", "0")) == bad_type
    assert err(lambda: r.execute_command("BITFIELD", "u", "GET", "x8", "0")) == bad_type
    assert err(lambda: r.execute_command("BITFIELD", "u", "GET", "u8", "-1")) == \
        "bit offset is not an integer or out of range"
    assert err(lambda: r.execute_command("BITFIELD", "u", "OVERFLOW", "MAYBE")) == "Invalid OVERFLOW type specified"
    assert err(lambda: r.execute_command("BITFIELD", "u", "FROB", "u8", "0")) == "syntax error"
    assert err(lambda: r.execute_command("BITFIELD", "u", "SET", "u8", "0", "x")) == \
        "value is not an integer or out of range"


def test_bit_commands_wrongtype(rb):
    rb.rpush("l", "x")
    wt = "WRONGTYPE Operation against a key holding the wrong kind of value"
    for fn in (lambda: rb.setbit("l", 1, 1), lambda: rb.getbit("l", 1), lambda: rb.bitcount("l"),
               lambda: rb.bitpos("l", 1), lambda: rb.bitop("AND", "d", "l"),
               lambda: rb.execute_command("BITFIELD", "l", "GET", "u8", "0")):
        assert err(fn) == wt
