"""Server, connection and transaction commands."""
import os
import signal
import time

import pytest
import redis

from conftest import IS_REDIS, Raw


def err(fn):
    with pytest.raises(redis.ResponseError) as e:
        fn()
    return str(e.value)


def test_ping_echo_time(r, raw):
    assert r.ping()
    assert raw().cmd("PING", "hi") == b"hi"
    assert r.echo("x") == "x"
    secs, usecs = r.time()
    assert abs(secs - time.time()) < 5 and 0 <= usecs < 1_000_000


def test_quit_closes(raw):
    c = raw()
    assert c.cmd("QUIT") == "OK"
    assert c.closed()


def test_auth(server_factory, server):
    c = server.client(decode_responses=True)
    assert err(lambda: c.execute_command("AUTH", "x")) == (
        "AUTH <password> called without any password configured for the default user. "
        "Are you sure your configuration is correct?")
    s = server_factory(requirepass="secret")
    raw = Raw(s.port)
    assert raw.cmd("GET", "a") == ("ERR", "NOAUTH Authentication required.")
    assert raw.cmd("AUTH", "wrong") == ("ERR", "WRONGPASS invalid username-password pair or user is disabled.")
    assert raw.cmd("AUTH", "secret") == "OK"
    assert raw.cmd("SET", "a", "1") == "OK"
    assert raw.cmd("AUTH", "default", "secret") == "OK"
    raw.close()


def test_client_commands(server):
    a = server.client(decode_responses=True)
    b = server.client(decode_responses=True)
    assert a.client_setname("alpha")
    assert a.client_getname() == "alpha"
    b.ping()
    ida, idb = a.client_id(), b.client_id()
    assert ida != idb
    listing = a.client_list()
    names = {c["name"] for c in listing}
    assert "alpha" in names
    ids = {int(c["id"]) for c in listing}
    assert {ida, idb} <= ids
    for c in listing:
        for field in ("addr", "laddr", "fd", "age", "idle", "flags", "db", "cmd", "resp"):
            assert field in c
    info = a.client_info()
    assert info["name"] == "alpha" and int(info["id"]) == ida
    assert err(lambda: a.client_setname("has space")) == \
        "Client names cannot contain spaces, newlines or special characters."
    victim = Raw(server.port)
    vid = victim.cmd("CLIENT", "ID")
    assert a.client_kill_filter(_id=vid) == 1
    assert victim.closed()
    addr = [c["addr"] for c in a.client_list() if int(c["id"]) == ida][0]
    c2 = server.client(decode_responses=True)
    c2.ping()
    addr2 = [c["addr"] for c in a.client_list() if int(c["id"]) == c2.client_id()][0]
    assert a.execute_command("CLIENT", "KILL", addr2) in (True, "OK")
    assert err(lambda: a.execute_command("CLIENT", "KILL", "1.2.3.4:5")) == "No such client"
    assert addr


def test_command_introspection(raw):
    c = raw()
    assert c.cmd("COMMAND", "COUNT") > 50
    info = c.cmd("COMMAND", "INFO", "get", "nosuchcmd")
    assert info[0][0] == b"get" and info[0][1] == 2 and info[1] is None
    assert info[0][3:6] == [1, 1, 1]
    assert "readonly" in info[0][2]
    docs = c.cmd("COMMAND", "DOCS", "get")
    assert docs[0] == b"get" and b"summary" in docs[1]
    assert c.cmd("COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2") == [b"a", b"b"]
    assert c.cmd("COMMAND", "GETKEYS", "PING", "x") == ("ERR", "ERR The command has no key arguments")
    assert c.cmd("COMMAND", "GETKEYS", "PING") == \
        ("ERR", "ERR wrong number of arguments for 'command|getkeys' command")
    assert len(c.cmd("COMMAND")) == c.cmd("COMMAND", "COUNT")


def test_debug_digest_and_populate(r):
    empty = r.execute_command("DEBUG", "DIGEST")
    assert empty == "0" * 40
    r.set("a", "1")
    d1 = r.execute_command("DEBUG", "DIGEST")
    assert d1 != empty and len(d1) == 40
    r.set("a", "2")
    assert r.execute_command("DEBUG", "DIGEST") != d1
    r.set("a", "1")
    assert r.execute_command("DEBUG", "DIGEST") == d1
    assert r.execute_command("DEBUG", "POPULATE", "100")
    assert r.dbsize() == 101
    assert r.get("key:7") == "value:7"
    assert r.execute_command("DEBUG", "SLEEP", "0")


def test_multi_exec_discard(r):
    p = r.pipeline(transaction=True)
    p.set("a", 1).incr("a").get("a")
    assert p.execute() == [True, 2, "2"]
    raw = Raw(r.connection_pool.connection_kwargs["port"])
    assert raw.cmd("EXEC") == ("ERR", "ERR EXEC without MULTI")
    assert raw.cmd("DISCARD") == ("ERR", "ERR DISCARD without MULTI")
    assert raw.cmd("MULTI") == "OK"
    assert raw.cmd("MULTI") == ("ERR", "ERR MULTI calls can not be nested")
    assert raw.cmd("SET", "x", "1") == "QUEUED"
    assert raw.cmd("DISCARD") == "OK"
    assert raw.cmd("GET", "x") is None
    assert raw.cmd("MULTI") == "OK"
    assert raw.cmd("SET", "x", "1") == "QUEUED"
    assert raw.cmd("GET")[0] == "ERR"
    assert raw.cmd("EXEC") == ("ERR", "EXECABORT Transaction discarded because of previous errors.")
    assert raw.cmd("GET", "x") is None
    assert raw.cmd("MULTI") == "OK"
    assert raw.cmd("SET", "s", "abc") == "QUEUED"
    assert raw.cmd("INCR", "s") == "QUEUED"   # runtime error inside EXEC
    assert raw.cmd("SET", "t", "1") == "QUEUED"
    res = raw.cmd("EXEC")
    assert res[0] == "OK" and res[1][0] == "ERR" and res[2] == "OK"
    raw.close()


def test_watch(server):
    a = server.client(decode_responses=True)
    b = server.client(decode_responses=True)
    a.set("w", "1")
    raw = Raw(server.port)
    assert raw.cmd("WATCH", "w") == "OK"
    b.set("w", "2")
    raw.cmd("MULTI")
    raw.cmd("SET", "w", "3")
    assert raw.cmd("EXEC") is None
    assert a.get("w") == "2"
    assert raw.cmd("WATCH", "w") == "OK"
    raw.cmd("MULTI")
    raw.cmd("SET", "w", "4")
    assert raw.cmd("EXEC") == ["OK"]
    assert raw.cmd("MULTI") == "OK"
    assert raw.cmd("WATCH", "w") == ("ERR", "ERR WATCH inside MULTI is not allowed")
    raw.cmd("DISCARD")
    assert raw.cmd("WATCH", "gone") == "OK"
    assert raw.cmd("UNWATCH") == "OK"
    b.set("gone", "x")
    raw.cmd("MULTI")
    raw.cmd("GET", "gone")
    assert raw.cmd("EXEC") == [b"x"]
    raw.close()


def test_info_sections(r):
    info = r.info()
    for field in ("redis_version", "uptime_in_seconds", "connected_clients", "used_memory",
                  "used_memory_rss", "role", "total_commands_processed"):
        assert field in info, field
    raw = Raw(r.connection_pool.connection_kwargs["port"])
    text = raw.cmd("INFO").decode()
    for section in ("# Server", "# Clients", "# Memory", "# Persistence", "# Stats",
                    "# Replication", "# CPU", "# Keyspace"):
        assert section in text, section
    r.set("a", 1, ex=100)
    r.set("b", 1)
    ks = r.info("keyspace")
    assert ks["db0"]["keys"] == 2 and ks["db0"]["expires"] == 1
    only = raw.cmd("INFO", "keyspace").decode()
    assert "# Server" not in only and "# Keyspace" in only
    assert "cmdstat_set" in raw.cmd("INFO", "commandstats").decode()
    raw.close()
    all_ = r.info("all")
    assert "used_memory" in all_ and "cmdstat_set" in all_


def test_config_get_set(r):
    cfg = r.config_get("maxmemory*")
    assert {"maxmemory", "maxmemory-policy", "maxmemory-samples"} <= set(cfg)
    assert r.config_set("maxmemory", "100mb")
    assert r.config_get("maxmemory")["maxmemory"] == "104857600"
    assert r.config_set("maxmemory", "0")
    assert err(lambda: r.config_set("foo", "bar")).startswith(
        "Unknown option or number of arguments for CONFIG SET - 'foo'")
    assert err(lambda: r.config_set("maxmemory", "lots")).startswith(
        "CONFIG SET failed (possibly related to argument 'maxmemory')")
    assert r.config_get("appendonly") == {"appendonly": "no"}
    assert r.config_resetstat()


def test_shutdown_nosave_exits_zero(server_factory):
    s = server_factory()
    c = s.client()
    with pytest.raises(redis.ConnectionError):
        c.execute_command("SHUTDOWN", "NOSAVE")
    assert s.proc.wait(10) == 0


def test_sigterm_exits_zero(server_factory):
    s = server_factory()
    s.client().set("a", "1")
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(10) == 0


def _cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(IS_REDIS, reason="busy_poll_us is Ferrite's")
def test_busy_polling_stops_when_traffic_stops(server_factory):
    """The loop polls for busy_poll_us after an event, then sleeps: an idle server uses no
    CPU, with the default (100 us) as with polling off, and the key is set at run time."""
    s = server_factory()
    c = s.client()
    assert c.config_get("server.busy_poll_us") == {"server.busy_poll_us": "100"}
    for _ in range(2000):  # traffic, then silence
        c.ping()
    time.sleep(0.2)
    before = _cpu_seconds(s.proc.pid)
    time.sleep(1.5)
    idle = _cpu_seconds(s.proc.pid) - before
    assert idle < 0.15, f"an idle server used {idle:.2f} s of CPU in 1.5 s"
    assert c.config_set("server.busy_poll_us", 0)
    assert c.config_get("server.busy_poll_us") == {"server.busy_poll_us": "0"}
    for _ in range(200):
        assert c.ping()
    with pytest.raises(redis.ResponseError):
        c.config_set("server.busy_poll_us", -1)
