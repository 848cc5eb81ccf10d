"""Protected mode and the protected commands/configs, as Redis 7.0 (networking.c
clientAcceptHandler, islocalClient; server.c and config.c allowProtectedAction).

"Non-local" on one machine: Redis counts only 127.0.0.1 and ::1 as local, so a client whose
socket is bound to 127.0.0.2 (the loopback network, no setup needed on Linux) is a remote
client to the server, exactly as one from another host."""
import socket

import pytest

from conftest import IS_REDIS
from secure_support import started  # noqa: F401 (a fixture)

DENIED = (
    b"-DENIED Redis is running in protected mode because protected mode is enabled and no "
    b"password is set for the default user. In this mode connections are only accepted from the "
    b"loopback interface. If you want to connect from external computers to Redis you may adopt "
    b"one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG "
    b"SET protected-mode no' from the loopback interface by connecting to Redis from the same "
    b"host the server is running, however MAKE SURE Redis is not publicly accessible from "
    b"internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively "
    b"you can just disable the protected mode by editing the Redis configuration file, and "
    b"setting the protected mode option to 'no', and then restarting the server. 3) If you "
    b"started the server manually just for testing, restart it with the '--protected-mode no' "
    b"option. 4) Setup a an authentication password for the default user. NOTE: You only need "
    b"to do one of the above things in order for the server to start accepting connections from "
    b"the outside.\r\n")

DEBUG_DENIED = (b"-ERR DEBUG command not allowed. If the enable-debug-command option is set to "
                b"\"local\", you can run it from a local connection, otherwise you need to set "
                b"this option in the configuration file, and then restart the server.\r\n")


class Conn:
    def __init__(self, port, source="127.0.0.2"):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10,
                                          source_address=(source, 0))

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        data = b""
        while not data.endswith(b"\r\n"):
            chunk = self.s.recv(65536)
            if not chunk:
                break
            data += chunk
        return data

    def rest(self):
        """Everything until the server closes (None if it does not within the timeout)."""
        data = b""
        self.s.settimeout(5)
        try:
            while True:
                chunk = self.s.recv(65536)
                if not chunk:
                    return data
                data += chunk
        except ConnectionResetError:
            return data
        except socket.timeout:
            return None

    def close(self):
        self.s.close()


def test_non_local_client_is_denied_with_redis_text_and_closed(started):
    s = started()  # protected-mode yes by default, no password
    c = Conn(s.port)
    c.s.sendall(b"*1\r\n$4\r\nPING\r\n")
    assert c.rest() == DENIED
    c.close()
    # a local client is served, and the refusal is counted
    r = s.client()
    assert r.ping()
    assert int(r.info("stats")["rejected_connections"]) >= 1
    assert r.config_get("protected-mode") == {"protected-mode": "yes"}


def test_denied_without_sending_anything(started):
    s = started()
    c = Conn(s.port)
    assert c.rest() == DENIED
    c.close()


def test_password_lifts_protected_mode(started):
    s = started({"requirepass": "sekret"})
    c = Conn(s.port)
    assert c.cmd("PING").startswith(b"-NOAUTH")
    assert c.cmd("AUTH", "sekret") == b"+OK\r\n"
    assert c.cmd("PING") == b"+PONG\r\n"
    c.close()


def test_protected_mode_off_serves_remote_clients(started):
    s = started({"protected-mode": "no"})
    c = Conn(s.port)
    assert c.cmd("PING") == b"+PONG\r\n"
    c.close()


def test_config_set_protected_mode_at_run_time(started):
    s = started()
    local = s.client()
    assert local.config_set("protected-mode", "no")
    c = Conn(s.port)
    assert c.cmd("PING") == b"+PONG\r\n"
    c.close()
    assert local.config_set("protected-mode", "yes")
    c = Conn(s.port)
    assert c.rest() == DENIED
    c.close()
    # setting a password at run time lifts it too
    local.config_set("requirepass", "pw")
    c = Conn(s.port)
    assert c.cmd("PING").startswith(b"-NOAUTH")
    c.close()


@pytest.mark.parametrize("mode", ["no", "local", "yes"])
def test_enable_debug_command(started, mode):
    s = started({"protected-mode": "no", "enable-debug-command": mode})
    remote, local = Conn(s.port), Conn(s.port, source="127.0.0.1")
    r_remote = remote.cmd("DEBUG", "SLEEP", "0")
    r_local = local.cmd("DEBUG", "SLEEP", "0")
    assert r_remote == (b"+OK\r\n" if mode == "yes" else DEBUG_DENIED)
    assert r_local == (DEBUG_DENIED if mode == "no" else b"+OK\r\n")
    remote.close()
    local.close()


@pytest.mark.parametrize("mode", ["no", "local", "yes"])
def test_enable_protected_configs(started, mode, tmp_path):
    s = started({"protected-mode": "no", "enable-protected-configs": mode})
    remote, local = Conn(s.port), Conn(s.port, source="127.0.0.1")
    refused = (b"-ERR CONFIG SET failed (possibly related to argument 'dir') - can't set "
               b"protected config\r\n")
    refused_db = (b"-ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set "
                  b"protected config\r\n")
    d = str(tmp_path)
    # Where allowed, Redis changes `dir`; Ferrite's `dir` is a start-up setting (immutable at
    # run time, docs/configuration.md): the protection is what is tested here.
    allowed = b"+OK\r\n" if IS_REDIS else (
        b"-ERR CONFIG SET failed (possibly related to argument 'dir') - can't set immutable "
        b"config\r\n")
    assert remote.cmd("CONFIG", "SET", "dir", d) == (allowed if mode == "yes" else refused)
    assert local.cmd("CONFIG", "SET", "dir", d) == (refused if mode == "no" else allowed)
    assert local.cmd("CONFIG", "SET", "dbfilename", "y.rdb") == (
        refused_db if mode == "no" else b"+OK\r\n")
    assert remote.cmd("CONFIG", "SET", "dbfilename", "x.rdb") == (
        b"+OK\r\n" if mode == "yes" else refused_db)
    # an unprotected config is settable from anywhere
    assert remote.cmd("CONFIG", "SET", "maxmemory-samples", "7") == b"+OK\r\n"
    # the flags themselves cannot change at run time
    assert local.cmd("CONFIG", "SET", "enable-protected-configs", "yes").startswith(
        b"-ERR CONFIG SET failed (possibly related to argument 'enable-protected-configs') - "
        b"can't set immutable config")
    remote.close()
    local.close()
