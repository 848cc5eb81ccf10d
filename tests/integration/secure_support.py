"""Servers started with Redis-named security settings (TLS, protected mode, limits), for
test_tls.py, test_protected_mode.py and test_abuse.py.

The same dict of Redis names drives both targets: redis-server gets `--name value`, Ferrite a
TOML file where tls-* names go to the [tls] section (tls-cert-file -> [tls] cert_file),
protected-mode to [server] protected_mode, and the rest to the [redis] section (Redis names).
"""
import os
import shutil
import subprocess
import tempfile
import time

import pytest
import redis

from conftest import IS_REDIS, LoggedProcess, free_port

TLS_BOOLS = {"tls-replication", "tls-cluster", "tls-prefer-server-ciphers", "tls-session-caching"}


def make_certs(d):
    """A CA, two server certificates (CN ferrite-server-1 / -2, for localhost and 127.0.0.1)
    and a client certificate, all signed by the CA, written with the openssl tool."""
    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Ferrite Test CA",
        "-keyout", "ca.key", "-out", "ca.crt")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for name, cn in (("server", "ferrite-server-1"), ("server2", "ferrite-server-2"),
                     ("client", "ferrite-client")):
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}", "-keyout", f"{name}.key",
            "-out", f"{name}.csr")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf", "-out", f"{name}.crt")
    return {k: os.path.join(d, k) for k in ("ca.crt", "server.crt", "server.key", "server2.crt",
                                            "server2.key", "client.crt", "client.key")}


class SecureServer(LoggedProcess):
    """One server (Ferrite or, with FERRITE_TEST_TARGET=redis, redis-server) with a plain port
    on `bind` and the given Redis-named settings; stopped by its own PID."""

    def __init__(self, settings=None, bind="127.0.0.1", plain=True, wait_tls=None, sections=None):
        """sections: extra Ferrite TOML sections ({"metrics": {"enabled": True}})."""
        self.dir = tempfile.mkdtemp(prefix="ferrite-sec-")
        self.port = free_port() if plain else 0
        settings = dict(settings or {})
        self.settings = settings
        self.log_path = os.path.join(self.dir, "server.log")
        if IS_REDIS:
            cmd = ["redis-server", "--port", str(self.port), "--bind", *bind.split(), "--dir", self.dir,
                   "--save", "", "--appendonly", "no"]
            for k, v in settings.items():
                cmd += ["--" + k, str(v)]
        else:
            binary = os.environ.get("FERRITE_BIN")
            if not binary:
                pytest.exit("FERRITE_BIN is not set (or set FERRITE_TEST_TARGET=redis)")
            server = ["[server]", f'bind = "{bind}"', f"port = {self.port}", f'dir = "{self.dir}"']
            tls, rest = ["[tls]"], ["[redis]"]
            for k, v in settings.items():
                if k == "protected-mode":
                    server.append(f"protected_mode = {'true' if v == 'yes' else 'false'}")
                elif k.startswith("tls-"):
                    key = k[4:].replace("-", "_")
                    if k in TLS_BOOLS:
                        tls.append(f"{key} = {'true' if v == 'yes' else 'false'}")
                    elif isinstance(v, int):
                        tls.append(f"{key} = {v}")
                    else:
                        tls.append(f'{key} = "{v}"')
                else:
                    rest.append(f'{k} = {v}' if isinstance(v, int) else f'"{k}" = "{v}"')
            lines = server + ["[persistence]", "aof_enabled = false", "checkpoint_enabled = false"]
            lines += tls + rest
            for name, keys in (sections or {}).items():
                lines.append(f"[{name}]")
                for k, v in keys.items():
                    val = str(v).lower() if isinstance(v, bool) else v if isinstance(v, int) else f'"{v}"'
                    lines.append(f"{k} = {val}")
            conf = os.path.join(self.dir, "ferrite.toml")
            with open(conf, "w") as f:
                f.write("\n".join(lines) + "\n")
            cmd = [binary, "--config", conf]
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server did not start: " + self.logs())
            try:
                if wait_tls:
                    if wait_tls().ping():
                        return
                elif self.client().ping():
                    return
            except (redis.exceptions.ResponseError, redis.exceptions.AuthenticationError):
                return  # NOAUTH: it is up
            except (redis.exceptions.ConnectionError, OSError):
                time.sleep(0.05)
        logs = self.logs()
        self.stop()
        raise RuntimeError("server did not start: " + logs)

    def client(self, **kw):
        kw.setdefault("socket_timeout", 10)
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    def stop(self):
        self.terminate(10)
        shutil.rmtree(self.dir, ignore_errors=True)


# Servers made by a test and stopped after it (import it into the test module).
@pytest.fixture
def started():
    servers = []

    def make(settings=None):
        s = SecureServer(settings)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()
