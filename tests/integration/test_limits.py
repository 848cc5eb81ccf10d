"""Limits: maxclients, output buffers, query buffer, maxmemory."""
import socket
import time

import pytest
import redis

from conftest import Raw


def test_maxclients(server_factory):
    s = server_factory(maxclients=5)
    conns = [Raw(s.port) for _ in range(5)]
    for c in conns:
        assert c.cmd("PING") == "PONG"
    extra = Raw(s.port)
    assert extra.reply() == ("ERR", "ERR max number of clients reached")
    assert extra.closed()
    conns[0].close()
    time.sleep(0.2)
    again = Raw(s.port)
    assert again.cmd("PING") == "PONG"
    for c in conns[1:] + [again]:
        c.close()


def test_client_that_never_reads_is_disconnected(server_factory):
    s = server_factory()
    admin = s.client()
    admin.config_set("client-output-buffer-limit", "normal 1mb 512kb 1")
    admin.set("big", "x" * 100_000)
    sock = socket.create_connection(("127.0.0.1", s.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    req = b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n" * 200   # 20 MB of replies, never read
    try:
        for _ in range(10):
            sock.sendall(req)
    except (BrokenPipeError, ConnectionResetError):
        pass
    deadline = time.time() + 10
    killed = False
    while time.time() < deadline and not killed:
        killed = len(admin.client_list()) == 1  # only the admin connection is left
        time.sleep(0.1)
    assert killed
    assert admin.ping()
    assert len(admin.client_list()) == 1
    sock.close()


def test_query_buffer_limit(server_factory):
    s = server_factory(client_query_buffer_limit="1mb")
    c = Raw(s.port)
    c.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000000\r\n")
    try:
        for _ in range(4):
            c.send(b"x" * (512 * 1024))
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert c.closed()
    assert s.client().ping()


def test_maxmemory_noeviction(server_factory):
    s = server_factory(maxmemory="1mb", maxmemory_policy="noeviction")
    c = s.client()
    with pytest.raises(redis.ResponseError) as e:
        for i in range(100000):
            c.set(f"k{i}", "x" * 1000)
    assert str(e.value) == "OOM command not allowed when used memory > 'maxmemory'."
    assert c.get("k0") == b"x" * 1000  # reads still work
    assert c.delete("k0") == 1       # so do deletes


def test_maxmemory_allkeys_lru(server_factory):
    # Redis's LRU clock ticks once a second, so keys written within the same second are
    # equally old to it and any one of them may go: check that most recent keys survive
    # rather than one particular key.
    s = server_factory(maxmemory="4mb", maxmemory_policy="allkeys-lru")
    c = s.client()
    for i in range(20000):
        c.set(f"k{i}", "x" * 1000)
    assert c.dbsize() < 20000
    assert int(c.info("stats")["evicted_keys"]) > 0
    recent = c.mget([f"k{i}" for i in range(19950, 20000)])
    assert sum(v is not None for v in recent) >= 40
    oldest = c.mget([f"k{i}" for i in range(0, 50)])
    assert sum(v is not None for v in oldest) < 40
