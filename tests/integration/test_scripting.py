"""Lua scripting (EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT) against the real server, with
Redis 7.0's replies byte for byte: conversions both ways in RESP2 and RESP3, the sandbox,
the libraries, shebang flags, command gates inside scripts, busy scripts (-BUSY, SCRIPT
KILL, -UNKILLABLE, SHUTDOWN NOSAVE), and effects replication into the AOF.

Every test passes against Debian's redis-server 7.0 too (FERRITE_TEST_TARGET=redis)."""
import glob
import hashlib
import os
import threading
import time

import pytest
import redis

from conftest import IS_REDIS, Raw, poll


def sha1(s):
    return hashlib.sha1(s.encode() if isinstance(s, str) else s).hexdigest()


def err(fn):
    with pytest.raises(redis.exceptions.ResponseError) as e:
        fn()
    return str(e.value)


def raw_bytes(server, *args, resp3=False):
    """The exact bytes of one command's reply."""
    c = Raw(server.port)
    if resp3:
        c.cmd("HELLO", "3")
    assert c.buf == b""
    got = []
    fill = c._fill

    def capture():
        before = len(c.buf)
        fill()
        got.append(c.buf[before:])
    c._fill = capture
    c.cmd(*args)
    c.close()
    return b"".join(got)


# ---------------------------------------------------------------- conversions

def test_lua_to_resp2_conversions(r):
    assert r.eval("return 1", 0) == 1
    assert r.eval("return 3.99", 0) == 3          # numbers are truncated to integers
    assert r.eval("return -3.99", 0) == -3
    assert r.eval("return 'x'", 0) == "x"
    assert r.eval("return true", 0) == 1
    assert r.eval("return false", 0) is None
    assert r.eval("return nil", 0) is None
    assert r.eval("return {1,2,{3,'x'},nil,5}", 0) == [1, 2, [3, "x"]]  # stops at nil
    assert r.eval("return {ok='fine'}", 0) == "fine"
    assert r.eval("return redis.status_reply('X')", 0) == "X"
    assert r.eval("return {double=3.5}", 0) == "3.5"
    assert r.eval("return {KEYS[1], KEYS[2], ARGV[1]}", 2, "k1", "k2", "a1") == ["k1", "k2", "a1"]
    assert r.eval("return {map={a=1}}", 0) == ["a", 1]     # a RESP2 caller gets it flattened
    assert r.eval("return {set={a=true}}", 0) == ["a"]
    assert r.eval("return {big_number='123'}", 0) == "123"
    assert r.eval("return {verbatim_string={format='txt', string='hello'}}", 0) == "hello"
    assert "My Error" == err(lambda: r.eval("return redis.error_reply('My Error')", 0))
    assert "no code" == err(lambda: r.eval("return {err='no code'}", 0))


def test_resp_to_lua_conversions(r):
    r.set("s", "v")
    r.rpush("l", "a", "b")
    assert r.eval("return redis.call('get', 's')", 0) == "v"
    assert r.eval("return redis.call('get', 'nokey') == false", 0) == 1   # nil bulk -> false
    assert r.eval("return type(redis.call('set', 's', 'w'))", 0) == "table"  # status -> {ok=}
    assert r.eval("return redis.call('set', 's', 'w')['ok']", 0) == "OK"
    assert r.eval("return redis.call('lrange', 'l', 0, -1)", 0) == ["a", "b"]
    assert r.eval("return redis.call('incr', 'n')", 0) == 1
    assert r.eval("return redis.pcall('incr', 's')['err']", 0) == \
        "ERR value is not an integer or out of range"
    # Numbers as arguments keep 17 significant digits.
    assert r.eval("redis.call('set', 'f', 0.1); return redis.call('get', 'f')", 0) == \
        "0.10000000000000001"


def test_resp3_exact_bytes(server, r):
    r.hset("h", "f", "v")
    r.sadd("st", "m")
    r.zadd("z", {"a": 1.5})
    cases = [
        ("redis.setresp(3); return redis.call('hgetall', 'h')", b"%1\r\n$1\r\nf\r\n$1\r\nv\r\n"),
        ("redis.setresp(3); return redis.call('smembers', 'st')", b"~1\r\n$1\r\nm\r\n"),
        ("redis.setresp(3); return redis.call('zscore', 'z', 'a')", b",1.5\r\n"),
        ("redis.setresp(3); return redis.call('get', 'nokey')", b"_\r\n"),
        ("redis.setresp(3); return redis.call('zscore', 'z', 'a')['double']", b":1\r\n"),
        ("redis.setresp(3); return true", b"#t\r\n"),
        ("redis.setresp(3); return false", b"#f\r\n"),
        ("return true", b":1\r\n"),
        ("return false", b"_\r\n"),
        ("return {double=0.5}", b",0.5\r\n"),
        ("return {big_number='12345678901234567890'}", b"(12345678901234567890\r\n"),
        ("return {verbatim_string={format='txt', string='hi'}}", b"=6\r\ntxt:hi\r\n"),
        ("return {map={a={1,2}}}", b"%1\r\n$1\r\na\r\n*2\r\n:1\r\n:2\r\n"),
        ("return {set={x=true}}", b"~1\r\n$1\r\nx\r\n"),
    ]
    for body, want in cases:
        assert raw_bytes(server, "EVAL", body, "0", resp3=True) == want, body
    # The same scripts from a RESP2 caller.
    assert raw_bytes(server, "EVAL", "return {double=0.5}", "0") == b"$3\r\n0.5\r\n"
    assert raw_bytes(server, "EVAL", "redis.setresp(3); return redis.call('get', 'nokey')", "0") \
        == b"$-1\r\n"
    assert raw_bytes(server, "EVAL", "redis.setresp(3); return true", "0") == b":1\r\n"


# ---------------------------------------------------------------- errors

def test_errors_name_the_script_and_line(r):
    body = "return a"
    assert err(lambda: r.eval(body, 0)) == (
        "user_script:1: Script attempted to access nonexistent global variable 'a' "
        f"script: {sha1(body)}, on @user_script:1.")
    body = "\n\nreturn redis.call('nosuch')"
    assert err(lambda: r.eval(body, 0)) == (
        f"Unknown Redis command called from script script: {sha1(body)}, on @user_script:3.")
    body = "return redis.call('get')"
    assert err(lambda: r.eval(body, 0)) == (
        f"Wrong number of args calling Redis command from script script: {sha1(body)}, "
        "on @user_script:1.")
    body = "return redis.call('get', {})"
    assert err(lambda: r.eval(body, 0)).startswith(
        "Lua redis lib command arguments must be strings or integers")
    body = "return redis.call()"
    assert err(lambda: r.eval(body, 0)).startswith(
        "Please specify at least one argument for this redis lib call")
    r.set("s", "abc")
    body = "return redis.call('incr', 's')"
    assert err(lambda: r.eval(body, 0)) == (
        f"value is not an integer or out of range script: {sha1(body)}, on @user_script:1.")
    body = "error('boom')"
    assert err(lambda: r.eval(body, 0)) == f"user_script:1: boom script: {sha1(body)}, on @user_script:1."
    body = "error({err='X y'})"
    assert err(lambda: r.eval(body, 0)) == f"X y script: {sha1(body)}, on @user_script:1."
    assert err(lambda: r.eval("return 'unterminated", 0)).startswith(
        "Error compiling script (new function): user_script:1: unfinished string")
    assert err(lambda: r.eval("return redis.error_reply(5)", 0)) == "wrong number or type of arguments"


def test_pcall_and_error_objects(r):
    assert r.eval("local ok, e = pcall(function() error('x') end); return e", 0) == "user_script:1: x"
    # Redis 7's error tables come back from pcall as their message.
    assert r.eval("local ok, e = pcall(redis.call, 'nosuch'); return e", 0) == \
        "ERR Unknown Redis command called from script"
    assert r.eval("return {pcall(redis.call, 'get', 'k')}", 0) == [1, None]  # {true, false}


def test_script_arguments_errors(r):
    assert err(lambda: r.execute_command("EVAL", "return 1", "x")) == \
        "value is not an integer or out of range"
    assert err(lambda: r.execute_command("EVAL", "return 1", "2", "a")) == \
        "Number of keys can't be greater than number of args"
    assert err(lambda: r.execute_command("EVAL", "return 1", "-1")) == \
        "Number of keys can't be negative"
    assert err(lambda: r.execute_command("EVAL", "return 1")) == \
        "wrong number of arguments for 'eval' command"
    assert err(lambda: r.execute_command("EVALSHA", "abc", "0")) == \
        "No matching script. Please use EVAL."


# ---------------------------------------------------------------- sandbox

@pytest.mark.parametrize("body", [
    "setmetatable(_G, {})", "local g = getmetatable(_G); g.__index = {}",
    "redis = function() return 1 end", "_G = {}", "a = 10",
    "redis.call = function() return 1 end", "cjson.encode = function() end",
    "cmsgpack.pack = function() end", "bit.lshift = function() end",
    "struct.pack = function() end", "rawset(_G, 'x', 1)", "string.upper = nil",
    "math.random = nil", "table.insert = nil",
])
def test_sandbox_tables_are_read_only(r, body):
    assert "Attempt to modify a readonly table" in err(lambda: r.eval(body, 0))


@pytest.mark.parametrize("name", ["loadfile", "dofile", "print", "os", "io", "require", "debug",
                                  "package", "module"])
def test_sandbox_hides_globals(r, name):
    assert f"Script attempted to access nonexistent global variable '{name}'" in \
        err(lambda: r.eval(f"return {name}", 0))


def test_sandbox_refuses_bytecode_and_keeps_builtins(r):
    assert "attempt to call a nil value" in err(lambda: r.eval(
        "return loadstring(string.dump(function() return 1 end))()", 0))
    assert r.eval("return loadstring('return 5')()", 0) == 5
    assert r.eval("local n = 0 for k, v in pairs(redis) do n = n + 1 end return n > 5", 0) == 1
    assert r.eval("return ('abc'):upper()", 0) == "ABC"
    assert r.eval("return type(redis.call)", 0) == "function"
    assert r.eval("local t = {} setmetatable(t, {__index=function() return 7 end}) return t.x", 0) == 7
    assert r.eval("return _VERSION", 0) == "Lua 5.1"
    # A global set by one script is not seen by the next (globals are refused anyway).
    assert r.eval("return redis.REDIS_VERSION", 0) == "7.0.15"
    assert r.eval("return redis.REDIS_VERSION_NUM", 0) == 0x07000f


def test_libraries(r):
    assert r.eval("return cjson.encode({1,2,3})", 0) == "[1,2,3]"
    assert r.eval("return cjson.decode('{\"a\":[1,2]}')['a'][2]", 0) == 2
    assert r.eval("return cjson.encode(cjson.decode('{\"a\":\"b\"}'))", 0) == '{"a":"b"}'
    assert r.eval("return bit.band(0xff, 0x0f)", 0) == 15
    assert r.eval("return bit.tohex(65535)", 0) == "0000ffff"
    assert r.eval("return bit.bor(1,2,4,8,16,32,64,128)", 0) == 255
    assert r.eval("return redis.sha1hex('Pizza & Mandolino')", 0) == \
        "74822d82031af7493c20eefa13bd07ec4fada82f"
    assert r.eval("return redis.sha1hex('')", 0) == "da39a3ee5e6b4b0d3255bfef95601890afd80709"


def test_struct_matches_redis(rb):
    assert rb.eval("return struct.pack('>I2', 258)", 0) == b"\x01\x02"
    assert rb.eval("return struct.pack('<i4d', -5, 1.5)", 0) == \
        b"\xfb\xff\xff\xff\x00\x00\x00\x00\x00\x00\xf8?"
    assert rb.eval("return struct.pack('!4 b i', 1, 2)", 0) == b"\x01\x00\x00\x00\x02\x00\x00\x00"
    assert rb.eval("return struct.pack('s c3 x', 'ab', 'xyz')", 0) == b"ab\x00xyz\x00"
    assert rb.eval("return {struct.unpack('<i4', struct.pack('<i4', -5))}", 0) == [-5, 5]
    assert rb.eval("return {struct.unpack('>h H', '\\255\\254\\255\\254')}", 0) == [-2, 65534, 5]
    assert rb.eval("return {struct.unpack('b c0', '\\3abc')}", 0) == [b"abc", 5]
    assert rb.eval("return struct.size('!4 b i')", 0) == 8
    assert b"invalid format option 'y'" in str(err(lambda: rb.eval("return struct.pack('y')", 0))).encode()
    assert "data string too short" in err(lambda: rb.eval("return struct.unpack('i4', 'ab')", 0))


def test_cmsgpack_matches_redis(rb):
    assert rb.eval("return cmsgpack.pack({1,2,3})", 0) == b"\x93\x01\x02\x03"
    assert rb.eval("return cmsgpack.pack(0.1)", 0) == b"\xcb\x3f\xb9\x99\x99\x99\x99\x99\x9a"
    assert rb.eval("return cmsgpack.pack(1.5)", 0) == b"\xca\x3f\xc0\x00\x00"
    assert rb.eval("return cmsgpack.pack(-1099511627776)", 0) == b"\xd3\xff\xff\xff\x00\x00\x00\x00\x00"
    assert rb.eval("return cmsgpack.pack(300, -33, 'ab', true, nil)", 0) == \
        b"\xcd\x01\x2c\xd0\xdf\xa2ab\xc3\xc0"
    assert rb.eval("return cmsgpack.pack(string.rep('x', 40))", 0) == b"\xd9\x28" + b"x" * 40
    assert rb.eval("return cmsgpack.pack({a=1})", 0) == b"\x81\xa1a\x01"
    assert rb.eval("return cmsgpack.unpack(cmsgpack.pack({a={b=2}}))['a']['b']", 0) == 2
    assert rb.eval("return {cmsgpack.unpack_one(cmsgpack.pack(1,2), 0)}", 0) == [1, 1]
    assert rb.eval("return {cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 2)}", 0) == [2, 1, 2]
    # A circular table is cut at depth 16.
    assert rb.eval("local a = {} a[1] = a return #cmsgpack.pack(a)", 0) == 17
    assert "Bad data format in input." in err(lambda: rb.eval("return cmsgpack.unpack('\\196')", 0))
    assert "Missing bytes in input." in err(lambda: rb.eval("return cmsgpack.unpack('\\205')", 0))


def test_math_random_is_redis_prng(r):
    assert r.eval("math.randomseed(0) return tostring(math.random())", 0) == "0.17082803611217"
    assert r.eval("math.randomseed(10) return {tostring(math.random()), math.random(100), "
                  "math.random(5,10)}", 0) == ["0.87885112309775", 80, 7]
    # Not reseeded per script (Redis 7): two runs differ.
    a = r.eval("return tostring(math.random())", 0)
    b = r.eval("return tostring(math.random())", 0)
    assert a != b


# ---------------------------------------------------------------- cache and flags

def test_evalsha_and_script_cache(r):
    body = "return 'cached'"
    s = sha1(body)
    assert err(lambda: r.evalsha(s, 0)) == "No matching script. Please use EVAL."
    assert r.script_load(body) == s
    assert r.evalsha(s, 0) == "cached"
    assert r.evalsha(s.upper(), 0) == "cached"
    assert r.execute_command("EVALSHA_RO", s, 0) == "cached"
    assert r.execute_command("SCRIPT", "EXISTS", s, s.upper(), "nope") == [1, 1, 0]
    assert r.execute_command("SCRIPT", "FLUSH", "ASYNC") == b"OK" or True
    assert r.execute_command("SCRIPT", "EXISTS", s) == [0]
    r.eval(body, 0)  # EVAL caches the script too
    assert r.execute_command("SCRIPT", "EXISTS", s) == [1]
    r.execute_command("SCRIPT", "FLUSH", "SYNC")
    assert r.execute_command("SCRIPT", "EXISTS", s) == [0]
    assert err(lambda: r.execute_command("SCRIPT", "FLUSH", "LATER")) == \
        "SCRIPT FLUSH only support SYNC|ASYNC option"
    assert err(lambda: r.execute_command("SCRIPT", "NOPE")) == \
        "unknown subcommand 'NOPE'. Try SCRIPT HELP."
    assert err(lambda: r.execute_command("SCRIPT", "LOAD")) == \
        "wrong number of arguments for 'script|load' command"
    help_lines = r.execute_command("SCRIPT", "HELP")
    assert help_lines[0] == "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert help_lines[-2:] == ["HELP", "    Prints this help."]


def test_script_kill_when_idle(r):
    assert err(lambda: r.execute_command("SCRIPT", "KILL")) == \
        "NOTBUSY No scripts in execution right now."
    assert err(lambda: r.execute_command("FUNCTION", "KILL")) == \
        "NOTBUSY No scripts in execution right now."


def test_shebang_flags_and_read_only_scripts(r):
    assert err(lambda: r.execute_command("EVAL_RO", "return redis.call('set','a','1')", 0)) \
        .startswith("Write commands are not allowed from read-only scripts.")
    assert err(lambda: r.eval("#!lua flags=no-writes\nreturn redis.call('set','a','1')", 0)) \
        .startswith("Write commands are not allowed from read-only scripts.")
    assert err(lambda: r.execute_command("EVAL_RO", "#!lua\nreturn 1", 0)) == \
        "Can not execute a script with write flag using *_ro command."
    assert r.execute_command("EVAL_RO", "#!lua flags=no-writes\nreturn 1", 0) == 1
    assert err(lambda: r.eval("#!lua flags=bogus\nreturn 1", 0)) == \
        "Unexpected flag in script shebang: bogus"
    assert err(lambda: r.eval("#!foo\nreturn 1", 0)) == "Unexpected engine in script shebang: #!foo"
    assert err(lambda: r.eval("#!lua name=x\nreturn 1", 0)) == "Unknown lua shebang option: name=x"
    assert err(lambda: r.eval("#!lua", 0)) == "Invalid script shebang"
    # Line numbers count the shebang line.
    body = "#!lua\nreturn a"
    assert err(lambda: r.eval(body, 0)).endswith(f"script: {sha1(body)}, on @user_script:2.")
    assert r.eval("#!lua flags=no-writes,allow-oom,allow-stale,no-cluster,allow-cross-slot-keys\n"
                  "return 1", 0) == 1


def test_commands_obey_their_flags_inside_scripts(r):
    assert err(lambda: r.eval("return redis.call('multi')", 0)).startswith(
        "This Redis command is not allowed from script")
    assert err(lambda: r.eval("return redis.call('eval', 'return 1', 0)", 0)).startswith(
        "This Redis command is not allowed from script")
    # Blocking commands: BLPOP & co. are refused (noscript in Redis 7.0), BLMPOP never blocks.
    for cmd in ("'blpop', 'l', 0", "'brpop', 'l', 0", "'blmove', 'a', 'b', 'left', 'left', 0",
                "'brpoplpush', 'a', 'b', 0", "'bzpopmin', 'z', 0", "'bzpopmax', 'z', 0",
                "'quit'", "'reset'"):
        assert err(lambda: r.eval(f"return redis.call({cmd})", 0)).startswith(
            "This Redis command is not allowed from script"), cmd
    assert r.eval("return redis.call('blmpop', 0, 1, 'nolist', 'left')", 0) is None
    # XREAD / XREADGROUP run in scripts, but BLOCK is refused (before its timeout is read),
    # with the command's name as the script spelled it.
    r.delete("s")
    r.xgroup_create("s", "g", id="$", mkstream=True)
    assert r.eval("return redis.pcall('xread', 'STREAMS', 's', '$')", 1, "s") is None
    assert r.eval("return redis.pcall('xreadgroup', 'group', 'g', 'c', 'STREAMS', 's', '>')",
                  1, "s") is None
    for cmd, block in (("XREAD", "'BLOCK', 0, 'STREAMS', 's', '$'"),
                       ("xreadgroup", "'group', 'g', 'c', 'BLOCK', 'x', 'STREAMS', 's', '>'")):
        assert err(lambda: r.eval(f"return redis.call('{cmd}', {block})", 1, "s")).startswith(
            f"{cmd} command is not allowed with BLOCK option from scripts")
    r.delete("s")
    r.set("str", "x")
    assert err(lambda: r.eval("return redis.call('lpush', 'str', 'a')", 0)).startswith(
        "WRONGTYPE Operation against a key holding the wrong kind of value")
    # SELECT inside a script does not change the caller's database.
    r.eval("redis.call('select', 9); redis.call('set', 'in9', '1')", 0)
    assert r.get("in9") is None
    r9 = redis.Redis(host="127.0.0.1", port=r.connection_pool.connection_kwargs["port"], db=9,
                     decode_responses=True)
    assert r9.get("in9") == "1"
    r9.delete("in9")


def test_maxmemory_gates_scripts(server_factory):
    s = server_factory()
    c = s.client(decode_responses=True)
    c.set("k", "v" * 100)
    c.config_set("maxmemory", "1")
    try:
        assert err(lambda: c.eval("return redis.call('set', 'a', 'b')", 0)).startswith(
            "OOM command not allowed when used memory > 'maxmemory'.")
        # Shebang scripts: write flag refused up front; allow-oom and no-writes run.
        assert err(lambda: c.eval("#!lua\nreturn 1", 0)).startswith("OOM ")
        assert c.eval("#!lua flags=allow-oom\nreturn redis.call('set', 'a', 'b')", 0) == "OK"
        assert c.eval("#!lua flags=no-writes\nreturn redis.call('get', 'a')", 0) == "b"
        assert c.eval("return redis.call('get', 'a')", 0) == "b"
    finally:
        c.config_set("maxmemory", "0")


def test_script_inside_multi_and_watch(r):
    p = r.pipeline(transaction=True)
    p.set("a", "1")
    p.eval("return redis.call('incr', 'a')", 0)
    assert p.execute() == [True, 2]
    c = Raw(r.connection_pool.connection_kwargs["port"])
    assert c.cmd("WATCH", "w") == "OK"
    r.eval("redis.call('set', 'w', '1')", 0)  # a script's write touches WATCHed keys
    assert c.cmd("MULTI") == "OK"
    assert c.cmd("SET", "x", "1") == "QUEUED"
    assert c.cmd("EXEC") is None
    c.close()


def test_monitor_shows_script_commands(server, r):
    m = Raw(server.port)
    m.cmd("MONITOR")
    r.eval("redis.call('set', 'mon', '1')", 0)
    got = []
    deadline = time.time() + 5
    while time.time() < deadline and not any(b"lua]" in l for l in got):
        got.append(m.line())
    assert any(b'"eval"' in l.lower() for l in got)
    assert any(b'lua] "set" "mon" "1"' in l for l in got)
    m.close()


# ---------------------------------------------------------------- busy scripts

def start_script(server, body, *args, cmd="EVAL"):
    """Runs a script on its own connection in a thread; returns (thread, result list)."""
    out = []

    def run():
        c = server.client(socket_timeout=30)
        try:
            out.append(c.execute_command(cmd, body, *args))
        except Exception as e:  # noqa: BLE001 - the test inspects it
            out.append(e)
        finally:
            c.close()
    t = threading.Thread(target=run)
    t.start()
    return t, out


def wait_busy(c):
    def busy():
        try:
            c.ping()
            return False
        except redis.exceptions.ResponseError as e:
            return str(e).startswith("BUSY Redis is busy running a script")
    assert poll(busy, timeout=10, interval=0.02)


def test_busy_script_answers_busy_and_script_kill(server_factory):
    s = server_factory()
    c = s.client(decode_responses=True)
    c.config_set("busy-reply-threshold", "100")
    t, out = start_script(s, "local i = 0 while true do i = i + 1 end", 0)
    wait_busy(c)
    busy = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
    assert err(lambda: c.get("x")) == busy
    assert err(lambda: c.execute_command("FUNCTION", "KILL")) == busy
    assert err(lambda: c.execute_command("FUNCTION", "STATS")) == busy
    # New connections are served too.
    c2 = s.client()
    assert err(lambda: c2.get("y")) == busy
    assert c.execute_command("SCRIPT", "KILL") == "OK"
    t.join(10)
    assert isinstance(out[0], redis.exceptions.ResponseError)
    assert str(out[0]).startswith("Script killed by user with SCRIPT KILL...")
    assert c.ping()
    assert c.eval("return 1", 0) == 1


def test_pcall_cannot_swallow_script_kill(server_factory):
    s = server_factory()
    c = s.client(decode_responses=True)
    # lua-time-limit: Redis 7.0's alias of busy-reply-threshold, one value under both names.
    c.config_set("lua-time-limit", "100")
    assert c.config_get("busy-reply-threshold") == {"busy-reply-threshold": "100"}
    assert c.config_get("lua-time-limit") == {"lua-time-limit": "100"}
    t, out = start_script(s, "while true do pcall(function() local i = 0 while true do i = i + 1 end end) end", 0)
    wait_busy(c)
    assert c.execute_command("SCRIPT", "KILL") == "OK"
    t.join(10)
    assert not t.is_alive()
    assert "Script killed by user" in str(out[0])


def test_script_that_wrote_is_unkillable_and_shutdown_nosave_ends_it(server_factory):
    s = server_factory()
    c = s.client(decode_responses=True)
    c.config_set("busy-reply-threshold", "100")
    t, out = start_script(s, "redis.call('set', 'w', '1') while true do end", 0)
    wait_busy(c)
    assert err(lambda: c.execute_command("SCRIPT", "KILL")).startswith(
        "UNKILLABLE Sorry the script already executed write commands against the dataset.")
    assert err(lambda: c.execute_command("SHUTDOWN")).startswith("BUSY ")
    with pytest.raises(redis.exceptions.ConnectionError):
        c.execute_command("SHUTDOWN", "NOSAVE")
    t.join(15)
    assert not t.is_alive()
    assert s.proc.wait(15) == 0  # SHUTDOWN NOSAVE exits cleanly


def test_busy_connections_can_start_transactions(server_factory):
    s = server_factory()
    c = s.client(decode_responses=True)
    c.config_set("busy-reply-threshold", "100")
    t, out = start_script(s, "while true do end", 0)
    wait_busy(c)
    raw = Raw(s.port)
    assert raw.cmd("MULTI") == "OK"
    assert raw.cmd("GET", "x")[0] == "ERR"   # BUSY, flags the transaction
    assert raw.cmd("DISCARD") == "OK"
    raw.close()
    c.execute_command("SCRIPT", "KILL")
    t.join(10)


# ---------------------------------------------------------------- effects replication

def aof_text(server):
    if IS_REDIS:
        files = sorted(glob.glob(os.path.join(server.dir, "appendonlydir", "*.incr.aof")))
        return b"".join(open(f, "rb").read() for f in files)
    return open(server.aof_path(), "rb").read()


def commands_of(aof):
    """The commands of a RESP AOF, as lists of bytes (annotations skipped)."""
    out, i = [], 0
    while i < len(aof):
        if aof[i:i + 1] != b"*":
            i = aof.index(b"\n", i) + 1
            continue
        j = aof.index(b"\r\n", i)
        n = int(aof[i + 1:j])
        i = j + 2
        args = []
        for _ in range(n):
            j = aof.index(b"\r\n", i)
            ln = int(aof[i + 1:j])
            args.append(aof[j + 2:j + 2 + ln])
            i = j + 2 + ln + 2
        out.append(args)
    return out


def test_effects_reach_the_aof_as_multi_exec_and_replay(server_factory):
    s = server_factory(aof="always")
    c = s.client(decode_responses=True)
    c.eval("redis.call('set', 'a', '1'); redis.call('incr', 'a'); "
           "redis.call('set', 'r', tostring(math.random())); redis.call('expire', 'r', 1000)", 0)
    c.eval("return redis.call('get', 'a')", 0)           # read only: nothing logged
    c.eval("redis.call('incr', 'a')", 0)                  # one effect: not wrapped
    c.eval("redis.set_repl(redis.REPL_NONE); redis.call('set', 'hidden', '1')", 0)
    cmds = [[x.upper() if k == 0 else x for k, x in enumerate(a)] for a in commands_of(aof_text(s))]
    names = [a[0] for a in cmds if a[0] not in (b"SELECT",)]
    assert b"EVAL" not in names
    i = names.index(b"MULTI")
    assert names[i:i + 6] == [b"MULTI", b"SET", b"INCR", b"SET", b"PEXPIREAT", b"EXEC"]
    assert names[i + 6:] == [b"INCR"]
    assert not any(b"hidden" in a for cmd in cmds for a in cmd)
    digest = c.execute_command("DEBUG", "DIGEST")
    r_value = c.get("r")
    s.kill()
    s2 = server_factory(dir=s.dir, aof="always")
    c2 = s2.client(decode_responses=True)
    assert c2.get("a") == "3"
    assert c2.get("r") == r_value   # replay applies the effect, never re-runs the script
    assert c2.get("hidden") is None
    assert c2.execute_command("DEBUG", "DIGEST") != digest  # 'hidden' was not logged
    c2.set("hidden", "1")
    assert c2.execute_command("DEBUG", "DIGEST") == digest


def test_command_info_and_getkeys(server, r):
    c = Raw(server.port)
    for name in ("eval", "evalsha", "fcall"):
        info = c.cmd("COMMAND", "INFO", name)[0]
        assert info[0] == name.encode() and info[1] == -3
        assert {"noscript", "stale", "skip_monitor", "no_mandatory_keys", "movablekeys"} <= \
            set(info[2])
        assert info[3:6] == [0, 0, 0]
    assert c.cmd("COMMAND", "GETKEYS", "EVAL", "return 1", "2", "a", "b", "x") == [b"a", b"b"]
    assert c.cmd("COMMAND", "GETKEYS", "FCALL", "f", "1", "k", "v") == [b"k"]
    assert c.cmd("COMMAND", "GETKEYS", "EVALSHA_RO", "x" * 40, "1", "k") == [b"k"]
    assert c.cmd("COMMAND", "GETKEYS", "EVAL", "return 1", "0") == []
    c.close()
