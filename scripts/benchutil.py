"""Helpers shared by the bench_*.py scripts (imported from this folder)."""
import socket

# redis-benchmark tests that need data first, and the test that puts it there.
FILLS = {"lpop": "lpush", "spop": "sadd", "zpopmin": "zadd", "lrange_100": "lpush"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
