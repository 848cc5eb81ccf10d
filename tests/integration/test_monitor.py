"""MONITOR: a monitoring connection sees every command other clients run, in Redis's line
format (+<time> [<db> <addr>] "arg" ...), with C-style escapes."""
import re
import socket
import time


def read_until(sock, pattern, timeout=5.0):
    sock.settimeout(timeout)
    buf = b""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if re.search(pattern, buf):
            return buf
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        buf += chunk
    return buf


def test_monitor_sees_other_clients_commands(server):
    m = socket.create_connection(("127.0.0.1", server.port))
    try:
        m.sendall(b"MONITOR\r\n")
        assert read_until(m, rb"\+OK\r\n").startswith(b"+OK\r\n")
        c = server.client()
        c.set("mon:key", 'va"l\n')
        c.execute_command("SELECT", "2")
        c.lpush("mon:list", "x")
        out = read_until(m, rb'(?i)"lpush" "mon:list" "x"', timeout=5)
        lines = [l for l in out.decode().split("\r\n") if "mon:" in l]
        assert re.fullmatch(r'\+\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] "set" "mon:key" "va\\"l\\n"',
                            lines[0], re.I), lines
        assert re.fullmatch(r'\+\d+\.\d{6} \[2 127\.0\.0\.1:\d+\] "lpush" "mon:list" "x"',
                            lines[-1], re.I), lines
        c.execute_command("SELECT", "0")
        c.delete("mon:key")
        c.execute_command("SELECT", "2")
        c.delete("mon:list")
        c.execute_command("SELECT", "0")
    finally:
        m.close()
