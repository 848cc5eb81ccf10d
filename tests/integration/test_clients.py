"""Real clients: hiredis (C), redis-cli one-shot, --pipe, --scan, info."""
import os
import subprocess
import tempfile

from conftest import redis_cli

HERE = os.path.dirname(os.path.abspath(__file__))


def test_hiredis_smoke(server):
    with tempfile.TemporaryDirectory() as d:
        exe = os.path.join(d, "hiredis_smoke")
        subprocess.run(["cc", "-O1", "-o", exe, os.path.join(HERE, "hiredis_smoke.c"),
                        "-lhiredis"], check=True, capture_output=True, timeout=120)
        out = subprocess.run([exe, "127.0.0.1", str(server.port)], capture_output=True,
                             timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        assert b"hiredis smoke: ok" in out.stdout


def test_redis_cli_one_shot(server):
    assert redis_cli(server.port, "SET", "cli", "value").stdout.strip() == b"OK"
    assert redis_cli(server.port, "GET", "cli").stdout.strip() == b"value"
    assert redis_cli(server.port, "INCR", "n").stdout.strip() == b"1"
    out = redis_cli(server.port, "info")
    assert b"# Server" in out.stdout and b"redis_version" in out.stdout


def test_redis_cli_pipe_and_scan(server):
    data = b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\npipe:%d\r\n$1\r\nv\r\n" % (len(b"pipe:%d" % i), i)
                    for i in range(10000))
    out = redis_cli(server.port, "--pipe", stdin=data)
    assert out.returncode == 0
    assert b"errors: 0, replies: 10000" in out.stdout
    scan = redis_cli(server.port, "--scan", "--pattern", "pipe:99*")
    keys = set(scan.stdout.split())
    assert keys == {b"pipe:99"} | {b"pipe:99%d" % i for i in range(10)} | \
        {b"pipe:99%02d" % i for i in range(100)}
