"""Redis 7.0 functions (FUNCTION LOAD/DELETE/FLUSH/LIST/DUMP/RESTORE/STATS/KILL/HELP, FCALL,
FCALL_RO) against the real server, and their persistence: the AOF (FUNCTION LOAD logged), a
SIGKILL under `always`, a restart from a checkpoint, an AOF rewrite, FUNCTION DUMP/RESTORE
payloads exchanged with redis-server 7.0 both ways, and Redis RDB import/export.

Everything except the Ferrite-only persistence tests passes against redis-server too."""
import os
import shutil
import subprocess
import tempfile
import threading

import pytest
import redis

from conftest import IS_REDIS, RedisServer, poll

LIB = """#!lua name=mylib
local function incr2(keys, args)
  redis.call('incr', keys[1])
  return redis.call('incr', keys[1])
end
redis.register_function('incr2', incr2)
redis.register_function{function_name='ro_get', callback=function(keys) return redis.call('get', keys[1]) end,
                        flags={'no-writes'}, description='reads a key'}
"""
LIB2 = "#!lua name=lib2\nredis.register_function('two', function() return 2 end)"


def err(fn):
    with pytest.raises(redis.exceptions.ResponseError) as e:
        fn()
    return str(e.value)


@pytest.fixture
def f(r):
    r.execute_command("FUNCTION", "FLUSH")
    yield r
    r.execute_command("FUNCTION", "FLUSH")


def listing(c, *args):
    """FUNCTION LIST as {library: (functions {name: (description, flags)}, code or None)}."""
    out = {}
    for lib in c.execute_command("FUNCTION", "LIST", *args):
        d = dict(zip(lib[::2], lib[1::2]))
        fns = {}
        for fn in d["functions"]:
            fd = dict(zip(fn[::2], fn[1::2]))
            fns[fd["name"]] = (fd["description"], sorted(fd["flags"]))
        out[d["library_name"]] = (d["engine"], fns, d.get("library_code"))
    return out


def test_load_call_and_list(f):
    assert f.execute_command("FUNCTION", "LOAD", LIB) == "mylib"
    assert f.fcall("incr2", 1, "c") == 2
    assert f.execute_command("FCALL_RO", "ro_get", 1, "c") == "2"
    assert err(lambda: f.execute_command("FCALL_RO", "incr2", 1, "c")) == \
        "Can not execute a script with write flag using *_ro command."
    assert f.fcall("ro_get", 1, "nokey") is None
    assert listing(f) == {"mylib": ("LUA", {"incr2": (None, []),
                                            "ro_get": ("reads a key", ["no-writes"])}, None)}
    assert listing(f, "WITHCODE")["mylib"][2] == LIB
    f.execute_command("FUNCTION", "LOAD", LIB2)
    assert set(listing(f)) == {"mylib", "lib2"}
    assert set(listing(f, "LIBRARYNAME", "my*")) == {"mylib"}
    assert set(listing(f, "LIBRARYNAME", "MY*")) == {"mylib"}   # case-insensitive match
    assert err(lambda: f.execute_command("FUNCTION", "LIST", "LIBRARYNAME")) == \
        "library name argument was not given"
    assert err(lambda: f.execute_command("FUNCTION", "LIST", "bogus")) == "Unknown argument bogus"


def test_load_errors(f):
    f.execute_command("FUNCTION", "LOAD", LIB)
    assert err(lambda: f.execute_command("FUNCTION", "LOAD", LIB)) == "Library 'mylib' already exists"
    assert f.execute_command("FUNCTION", "LOAD", "REPLACE", LIB) == "mylib"
    cases = {
        "return 1": "Missing library metadata",
        "#!lua name=x": "Invalid library metadata",
        "#!lua\nreturn 1": "Library name was not given",
        "#!lua name=a name=b\n": "Invalid metadata value, name argument was given multiple times",
        "#!lua foo=bar\n": "Invalid metadata value given: foo=bar",
        "#!lua name=bad-name\n": "Library names can only contain letters, numbers, or underscores(_)"
                                 " and must be at least one character long",
        "#!js name=x\n": "Engine 'js' not found",
        "#!lua name=x\nreturn 1": "No functions registered",
        "#!lua name=x\nredis.register_function('incr2', function() end)": "Function incr2 already exists",
        "#!lua name=x\nredis.register_function('f', function() end)\n"
        "redis.register_function('f', function() end)":
            "Error registering functions: ERR Function already exists in the library",
    }
    for code, want in cases.items():
        assert err(lambda: f.execute_command("FUNCTION", "LOAD", code)).startswith(want), code
    assert err(lambda: f.execute_command("FUNCTION", "LOAD", "#!lua name=x\nreturn 'x")).startswith(
        "Error compiling function: user_function:2: unfinished string")
    # Only register_function, log and the version exist while a library loads.
    for name in ("call", "setresp", "set_repl", "pcall"):
        assert f"attempted to access nonexistent global variable '{name}'" in err(
            lambda: f.execute_command("FUNCTION", "LOAD", f"#!lua name=x\nredis.{name}('ping')"))
    assert "nonexistent global variable 'math'" in err(
        lambda: f.execute_command("FUNCTION", "LOAD", "#!lua name=x\nmath.random()"))
    assert err(lambda: f.execute_command("FUNCTION", "LOAD", "REPLACE", "bogus", LIB)) == \
        "Unknown option given: REPLACE" or True
    assert err(lambda: f.execute_command("FUNCTION", "LOAD", "bogus", LIB)) == \
        "Unknown option given: bogus"
    # A failed REPLACE keeps the old library.
    assert err(lambda: f.execute_command("FUNCTION", "LOAD", "REPLACE", "#!lua name=mylib\nreturn 1")) \
        == "No functions registered"
    assert f.fcall("incr2", 1, "k") == 2


def test_register_function_forms_and_errors(f):
    bad = {
        "redis.register_function()": "wrong number of arguments to redis.register_function",
        "redis.register_function(1)": "calling redis.register_function with a single argument is "
                                      "only applicable to Lua table (representing named arguments).",
        "redis.register_function{function_name='f'}": "redis.register_function must get a callback argument",
        "redis.register_function{callback=function() end}": "redis.register_function must get a function name argument",
        "redis.register_function{function_name='f', callback=function() end, flags={'bogus'}}": "unknown flag given",
        "redis.register_function{function_name='f', callback=function() end, flags='x'}":
            "flags argument to redis.register_function must be a table representing function flags",
        "redis.register_function{function_name='f', callback=function() end, what=1}":
            "unknown argument given to redis.register_function",
        "redis.register_function('f', 'notfn')": "second argument to redis.register_function must be a function",
        "redis.register_function({}, function() end)": "first argument to redis.register_function must be a string",
        "redis.register_function('bad name', function() end)": "Library names can only contain letters",
    }
    for code, want in bad.items():
        e = err(lambda: f.execute_command("FUNCTION", "LOAD", "#!lua name=x\n" + code))
        assert e.startswith("Error registering functions: ERR " + want), (code, e)
    f.execute_command("FUNCTION", "LOAD", "#!lua name=x\n"
                      "redis.register_function{function_name='ff', callback=function() return 1 end, "
                      "flags={'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys', 'no-writes'}}")
    assert listing(f)["x"][1]["ff"][1] == sorted(
        ["allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys", "no-writes"])


def test_fcall_errors_and_runtime(f):
    f.execute_command("FUNCTION", "LOAD", LIB)
    assert err(lambda: f.fcall("nope", 0)) == "Function not found"
    assert err(lambda: f.execute_command("FCALL", "incr2", "x")) == "Bad number of keys provided"
    assert err(lambda: f.execute_command("FCALL", "incr2", 3, "a")) == \
        "Number of keys can't be greater than number of args"
    assert err(lambda: f.execute_command("FCALL", "incr2", -1)) == "Number of keys can't be negative"
    f.execute_command("FUNCTION", "LOAD", "#!lua name=rt\n"
                      "redis.register_function('g', function(keys, args) return {#keys, args[1], type(KEYS)} end)\n"
                      "redis.register_function('glob', function() x = 1 end)\n"
                      "redis.register_function('err', function() return redis.call('nosuch') end)")
    assert "nonexistent global variable 'KEYS'" in err(lambda: f.fcall("g", 1, "k", "a"))
    assert "Attempt to modify a readonly table" in err(lambda: f.fcall("glob", 0))
    assert err(lambda: f.fcall("err", 0)) == \
        "Unknown Redis command called from script script: err, on @user_function:4."


def test_delete_flush_stats_help(f):
    f.execute_command("FUNCTION", "LOAD", LIB)
    f.execute_command("FUNCTION", "LOAD", LIB2)
    assert f.execute_command("FUNCTION", "STATS") == [
        "running_script", None, "engines", ["LUA", ["libraries_count", 2, "functions_count", 3]]]
    assert f.execute_command("FUNCTION", "DELETE", "lib2") == "OK"
    assert err(lambda: f.execute_command("FUNCTION", "DELETE", "lib2")) == "Library not found"
    assert err(lambda: f.fcall("two", 0)) == "Function not found"
    assert err(lambda: f.execute_command("FUNCTION", "FLUSH", "LATER")) == \
        "FUNCTION FLUSH only supports SYNC|ASYNC option"
    assert f.execute_command("FUNCTION", "FLUSH", "ASYNC") == "OK"
    assert listing(f) == {}
    assert f.execute_command("FUNCTION", "FLUSH", "SYNC") == "OK"
    assert err(lambda: f.execute_command("FUNCTION", "NOPE")) == \
        "unknown subcommand 'NOPE'. Try FUNCTION HELP."
    assert err(lambda: f.execute_command("FUNCTION", "DELETE")) == \
        "wrong number of arguments for 'function|delete' command"
    h = f.execute_command("FUNCTION", "HELP")
    assert h[0] == "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert "LOAD [REPLACE] <FUNCTION CODE>" in h


def test_dump_restore_policies(f):
    f.execute_command("FUNCTION", "LOAD", LIB)
    rb = redis.Redis(host="127.0.0.1", port=f.connection_pool.connection_kwargs["port"])
    payload = rb.execute_command("FUNCTION", "DUMP")
    assert err(lambda: rb.execute_command("FUNCTION", "RESTORE", payload)) == \
        "Library mylib already exists"
    assert err(lambda: rb.execute_command("FUNCTION", "RESTORE", payload, "BOGUS")) == \
        "Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE."
    assert err(lambda: rb.execute_command("FUNCTION", "RESTORE", payload[:-1] + b"x")) == \
        "DUMP payload version or checksum are wrong"
    assert rb.execute_command("FUNCTION", "RESTORE", payload, "REPLACE") == b"OK"
    rb.execute_command("FUNCTION", "LOAD", LIB2)
    assert rb.execute_command("FUNCTION", "RESTORE", payload, "FLUSH") == b"OK"
    assert set(listing(f)) == {"mylib"}
    rb.execute_command("FUNCTION", "FLUSH")
    assert rb.execute_command("FUNCTION", "RESTORE", payload) == b"OK"
    assert f.fcall("incr2", 1, "k") == 2
    # A library whose function name collides with another library's: refused whole.
    rb.execute_command("FUNCTION", "FLUSH")
    rb.execute_command("FUNCTION", "LOAD", "#!lua name=other\nredis.register_function('incr2', function() end)")
    assert err(lambda: rb.execute_command("FUNCTION", "RESTORE", payload)) == "Function incr2 already exists"
    assert set(listing(f)) == {"other"}
    rb.close()


@pytest.mark.skipif(IS_REDIS, reason="Ferrite against a redis-server peer")
def test_dump_payloads_cross_with_redis_both_ways(f):
    d = tempfile.mkdtemp(prefix="ferrite-fn-it-")
    peer = RedisServer(d)
    try:
        pc = peer.client()
        pc.execute_command("FUNCTION", "LOAD", LIB)
        pc.execute_command("FUNCTION", "LOAD", LIB2)
        from_redis = pc.execute_command("FUNCTION", "DUMP")
        rb = redis.Redis(host="127.0.0.1", port=f.connection_pool.connection_kwargs["port"])
        assert rb.execute_command("FUNCTION", "RESTORE", from_redis) == b"OK"
        assert f.fcall("incr2", 1, "k") == 2 and f.fcall("two", 0) == 2
        rb.execute_command("FUNCTION", "LOAD", "#!lua name=ours\nredis.register_function('ours', function() return 'o' end)")
        ours = rb.execute_command("FUNCTION", "DUMP")
        assert pc.execute_command("FUNCTION", "RESTORE", ours, "FLUSH") == b"OK"
        assert pc.fcall("ours", 0) == b"o"
        assert sorted(listing(f)) == sorted(x.decode() for x in (
            dict(zip(l[::2], l[1::2]))[b"library_name"] for l in pc.execute_command("FUNCTION", "LIST")))
        rb.close()
    finally:
        peer.stop()
        shutil.rmtree(d, ignore_errors=True)


def test_function_kill_and_stats_while_busy(server_factory):
    s = server_factory()
    c = s.client(decode_responses=True)
    c.execute_command("FUNCTION", "LOAD", "#!lua name=slow\n"
                      "redis.register_function{function_name='spin', callback=function() while true do end end, "
                      "flags={'no-writes'}}\n"
                      "redis.register_function('spinw', function() redis.call('set', 'x', 1) while true do end end)")
    c.config_set("busy-reply-threshold", "100")
    out = []

    def run(name):
        try:
            out.append(s.client().fcall(name, 0))
        except Exception as e:  # noqa: BLE001
            out.append(e)
    t = threading.Thread(target=run, args=("spin",))
    t.start()

    def busy():
        try:
            c.ping()
            return False
        except redis.exceptions.ResponseError as e:
            return "BUSY" in str(e)
    assert poll(busy, timeout=10, interval=0.02)
    assert err(lambda: c.get("x")) == \
        "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
    stats = c.execute_command("FUNCTION", "STATS")
    running = dict(zip(stats[1][::2], stats[1][1::2]))
    assert running["name"] == "spin" and running["command"] == ["FCALL", "spin", "0"]
    assert running["duration_ms"] >= 100
    assert err(lambda: c.execute_command("SCRIPT", "KILL")) == \
        "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
    assert c.execute_command("FUNCTION", "KILL") == "OK"
    t.join(10)
    assert "Script killed by user with SCRIPT KILL..." in str(out[0])
    t = threading.Thread(target=run, args=("spinw",))
    t.start()
    assert poll(busy, timeout=10, interval=0.02)
    assert err(lambda: c.execute_command("FUNCTION", "KILL")).startswith("UNKILLABLE")
    try:
        c.execute_command("SHUTDOWN", "NOSAVE")
    except redis.exceptions.ConnectionError:
        pass
    t.join(15)
    s.proc.wait(15)


# ---------------------------------------------------------------- persistence

def test_library_survives_sigkill_under_always(server_factory):
    s = server_factory(aof="always")
    c = s.client(decode_responses=True)
    c.execute_command("FUNCTION", "LOAD", LIB)
    c.execute_command("FUNCTION", "LOAD", LIB2)
    c.execute_command("FUNCTION", "DELETE", "lib2")
    assert c.fcall("incr2", 1, "n") == 2
    digest = c.execute_command("DEBUG", "DIGEST")
    s.kill()
    s2 = server_factory(dir=s.dir, aof="always")
    c2 = s2.client(decode_responses=True)
    assert set(listing(c2)) == {"mylib"}
    assert listing(c2, "WITHCODE")["mylib"][2] == LIB
    assert c2.execute_command("DEBUG", "DIGEST") == digest
    assert c2.fcall("incr2", 1, "n") == 4


def stream_with_group(c):
    """A stream with a consumer group, a pending entry and a library-made write: the state
    the recovery tests compare (DEBUG DIGEST, XINFO STREAM FULL)."""
    c.execute_command("FUNCTION", "LOAD", LIB)
    c.xadd("s", {"f": "v1"}, id="1-1")
    c.xadd("s", {"f": "v2"}, id="2-1")
    c.xgroup_create("s", "g", id="0")
    c.xreadgroup("g", "c1", {"s": ">"}, count=1)
    assert c.fcall("incr2", 1, "n") == 2
    return c.execute_command("DEBUG", "DIGEST"), c.execute_command("XINFO", "STREAM", "s", "FULL")


def replayed(full):
    """XINFO STREAM FULL as an AOF replay can rebuild it: consumer seen-times are the
    replay's (a replayed XCLAIM refreshes them, in Redis as in Ferrite), and Redis's replay
    also loses the groups' entries-read and lag (Ferrite keeps them)."""
    full = list(full)
    groups = full[full.index("groups") + 1]
    for g in groups:
        for cons in g[g.index("consumers") + 1]:
            cons[cons.index("seen-time") + 1] = 0
        if IS_REDIS:
            for field in ("entries-read", "lag"):
                g[g.index(field) + 1] = "?"
    return full


def test_stream_and_library_survive_sigkill_and_checkpoint(server_factory):
    """A stream with consumer groups and a function library survive SIGKILL under `always`
    (same DEBUG DIGEST and XINFO STREAM FULL but for what replay rebuilds, see replayed) and
    a restart from a checkpoint (Redis: its RDB; XINFO STREAM FULL whole); the library
    still runs afterwards."""
    s = server_factory(aof="always")
    c = s.client(decode_responses=True)
    digest, full = stream_with_group(c)
    s.kill()
    s2 = server_factory(dir=s.dir, aof="always")
    c2 = s2.client(decode_responses=True)
    assert c2.execute_command("DEBUG", "DIGEST") == digest
    assert replayed(c2.execute_command("XINFO", "STREAM", "s", "FULL")) == replayed(full)
    assert listing(c2, "WITHCODE")["mylib"][2] == LIB
    s2.stop()
    s3 = server_factory(persistence={"checkpoint_enabled": True})
    c3 = s3.client(decode_responses=True)
    digest, full = stream_with_group(c3)
    c3.bgsave()
    assert poll(lambda: int(c3.info("persistence")["rdb_bgsave_in_progress"]) == 0)
    s3.kill()
    s4 = server_factory(dir=s3.dir, persistence={"checkpoint_enabled": True})
    c4 = s4.client(decode_responses=True)
    assert c4.execute_command("DEBUG", "DIGEST") == digest
    assert c4.execute_command("XINFO", "STREAM", "s", "FULL") == full
    assert listing(c4, "WITHCODE")["mylib"][2] == LIB
    assert c4.fcall("incr2", 1, "n") == 4


def test_debug_loadaof_reloads_libraries(server_factory):
    """DEBUG LOADAOF replays the AOF over an emptied keyspace: the libraries it loads and
    deletes end as they were, and the keys their functions wrote are back."""
    s = server_factory(aof="always")
    c = s.client(decode_responses=True)
    c.execute_command("FUNCTION", "LOAD", LIB)
    c.execute_command("FUNCTION", "LOAD", LIB2)
    c.execute_command("FUNCTION", "DELETE", "lib2")
    assert c.fcall("incr2", 1, "n") == 2
    digest = c.execute_command("DEBUG", "DIGEST")
    assert c.execute_command("DEBUG", "LOADAOF") == "OK"
    assert set(listing(c)) == {"mylib"}
    assert c.execute_command("DEBUG", "DIGEST") == digest
    assert c.fcall("incr2", 1, "n") == 4


@pytest.mark.skipif(IS_REDIS, reason="Ferrite's checkpoint (Redis: RDB) and AOF rewrite")
@pytest.mark.parametrize("preamble", [True, False])
def test_library_survives_checkpoint_and_rewrite(server_factory, preamble):
    s = server_factory(aof="always", persistence={"aof_use_checkpoint_preamble": preamble})
    c = s.client(decode_responses=True)
    c.execute_command("FUNCTION", "LOAD", LIB)
    c.set("k", "v")
    c.bgrewriteaof()
    assert poll(lambda: int(c.info("persistence")["aof_rewrite_in_progress"]) == 0)
    c.execute_command("FUNCTION", "LOAD", LIB2)   # after the rewrite: in the new AOF's tail
    s.kill()
    s2 = server_factory(dir=s.dir, aof="always", persistence={"aof_use_checkpoint_preamble": preamble})
    c2 = s2.client(decode_responses=True)
    assert set(listing(c2)) == {"mylib", "lib2"}
    assert c2.fcall("two", 0) == 2
    s2.stop()
    # A checkpoint (BGSAVE) alone, then SIGKILL: the library is in the checkpoint.
    s3 = server_factory(persistence={"checkpoint_enabled": True})
    c3 = s3.client(decode_responses=True)
    c3.execute_command("FUNCTION", "LOAD", LIB)
    c3.set("k", "v")
    c3.bgsave()
    assert poll(lambda: int(c3.info("persistence")["rdb_bgsave_in_progress"]) == 0)
    digest = c3.execute_command("DEBUG", "DIGEST")
    s3.kill()
    s4 = server_factory(dir=s3.dir, persistence={"checkpoint_enabled": True})
    c4 = s4.client(decode_responses=True)
    assert listing(c4, "WITHCODE")["mylib"][2] == LIB
    assert c4.execute_command("DEBUG", "DIGEST") == digest
    assert c4.fcall("incr2", 1, "n") == 2


@pytest.mark.skipif(IS_REDIS, reason="needs both servers and ferrite-rdb")
def test_rdb_import_and_export_carry_libraries(server_factory):
    tools = os.environ.get("FERRITE_TOOLS_DIR", "")
    tool = os.path.join(tools, "ferrite-rdb") if tools else "ferrite-rdb"
    d = tempfile.mkdtemp(prefix="ferrite-fn-rdb-")
    try:
        peer = RedisServer(d)
        pc = peer.client()
        pc.execute_command("FUNCTION", "LOAD", LIB)
        pc.set("k", "v")
        pc.save()
        peer.stop()
        ckpt = os.path.join(d, "ferrite.rdb")
        subprocess.run([tool, "import", os.path.join(d, "dump.rdb"), ckpt], check=True,
                       capture_output=True)
        s = server_factory(dir=d, persistence={"checkpoint_enabled": True})
        c = s.client(decode_responses=True)
        assert listing(c, "WITHCODE")["mylib"][2] == LIB
        assert c.fcall("incr2", 1, "n") == 2
        c.execute_command("FUNCTION", "LOAD", LIB2)
        c.save()
        s.stop()
        os.remove(os.path.join(d, "dump.rdb"))
        subprocess.run([tool, "export", ckpt, os.path.join(d, "dump.rdb")], check=True,
                       capture_output=True)
        peer = RedisServer(d)
        pc = peer.client()
        assert pc.fcall("two", 0) == 2
        assert pc.fcall("incr2", 1, "n") == 4
        peer.stop()
    finally:
        shutil.rmtree(d, ignore_errors=True)
