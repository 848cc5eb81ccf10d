"""TLS on client connections: redis-cli --tls, redis-py ssl=True, mutual TLS, a slice of the
command set over TLS, certificate rotation by CONFIG SET. The same tests run against Debian's
redis-server built with TLS (FERRITE_TEST_TARGET=redis)."""
import os
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import shutil

import pytest
import redis

from conftest import IS_REDIS, free_port
from secure_support import SecureServer, make_certs


@pytest.fixture(scope="module")
def certs():
    d = tempfile.mkdtemp(prefix="ferrite-certs-")
    yield make_certs(d)
    shutil.rmtree(d, ignore_errors=True)


def tls_settings(certs, auth="yes", port=None):
    return {"tls-port": port or free_port(), "tls-cert-file": certs["server.crt"],
            "tls-key-file": certs["server.key"], "tls-ca-cert-file": certs["ca.crt"],
            "tls-auth-clients": auth}


def tls_client(port, certs, cert=True, **kw):
    kw.setdefault("socket_timeout", 20)
    if cert:
        kw.update(ssl_certfile=certs["client.crt"], ssl_keyfile=certs["client.key"])
    return redis.Redis(host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=certs["ca.crt"],
                       ssl_cert_reqs="required", ssl_check_hostname=False, **kw)


def start(certs, auth="yes", plain=True):
    st = tls_settings(certs, auth)
    port = st["tls-port"]
    srv = SecureServer(st, plain=plain, wait_tls=lambda: tls_client(port, certs))
    srv.tls_port = port
    return srv


@pytest.fixture(scope="module")
def mtls(certs):
    s = start(certs, "yes")
    yield s
    s.stop()


def cli(port, certs, *args, cert=True):
    cmd = ["redis-cli", "-p", str(port), "--tls", "--cacert", certs["ca.crt"]]
    if cert:
        cmd += ["--cert", certs["client.crt"], "--key", certs["client.key"]]
    return subprocess.run(cmd + list(args), capture_output=True, timeout=30)


def peer_subject(port, certs):
    """The CN of the certificate the server presents to a new connection, and the socket."""
    ctx = ssl.create_default_context(cafile=certs["ca.crt"])
    ctx.load_cert_chain(certs["client.crt"], certs["client.key"])
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                        server_hostname="localhost")
    subject = dict(x[0] for x in s.getpeercert()["subject"])
    return subject["commonName"], s


def test_redis_cli_over_tls(mtls, certs):
    r = cli(mtls.tls_port, certs, "PING")
    assert r.stdout.strip() == b"PONG", r
    assert cli(mtls.tls_port, certs, "SET", "cli:k", "v").stdout.strip() == b"OK"
    assert cli(mtls.tls_port, certs, "GET", "cli:k").stdout.strip() == b"v"


def test_redis_py_ssl(mtls, certs):
    c = tls_client(mtls.tls_port, certs, decode_responses=True)
    assert c.ping()
    c.set("py:k", "hello")
    assert c.get("py:k") == "hello"
    # the plain port serves the same dataset
    assert mtls.client(decode_responses=True).get("py:k") == "hello"


def test_mutual_tls_refuses_a_client_without_certificate(mtls, certs):
    with pytest.raises((redis.exceptions.ConnectionError, OSError)):
        tls_client(mtls.tls_port, certs, cert=False).ping()
    r = cli(mtls.tls_port, certs, "PING", cert=False)
    assert b"PONG" not in r.stdout
    # a client with a certificate from another CA is refused too
    d = tempfile.mkdtemp(prefix="ferrite-other-ca-")
    try:
        other = make_certs(d)
        with pytest.raises((redis.exceptions.ConnectionError, OSError)):
            redis.Redis(host="127.0.0.1", port=mtls.tls_port, ssl=True, ssl_ca_certs=certs["ca.crt"],
                        ssl_certfile=other["client.crt"], ssl_keyfile=other["client.key"],
                        ssl_check_hostname=False, socket_timeout=10).ping()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    # and the server still serves good clients
    assert tls_client(mtls.tls_port, certs).ping()


def test_plain_client_on_tls_port_is_dropped(mtls):
    s = socket.create_connection(("127.0.0.1", mtls.tls_port), timeout=10)
    s.sendall(b"*1\r\n$4\r\nPING\r\n")
    data = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    assert b"PONG" not in data
    s.close()


@pytest.mark.parametrize("auth", ["no", "optional"])
def test_client_certificate_not_required(certs, auth):
    s = start(certs, auth)
    try:
        assert tls_client(s.tls_port, certs, cert=False).ping()
        assert tls_client(s.tls_port, certs, cert=True).ping()
    finally:
        s.stop()


def test_tls_only_with_port_zero(certs):
    s = start(certs, "no", plain=False)
    try:
        assert tls_client(s.tls_port, certs).set("only", "tls")
        assert tls_client(s.tls_port, certs).get("only") == b"tls"
    finally:
        s.stop()


def test_command_slice_over_tls(mtls, certs):
    c = tls_client(mtls.tls_port, certs, decode_responses=True)
    c.flushall()
    # strings
    c.set("s", "1")
    assert c.incrby("s", 41) == 42
    assert c.append("s", "x") == 3
    assert c.mget("s", "nope") == ["42x", None]
    # lists
    c.rpush("l", *range(100))
    assert c.llen("l") == 100
    assert c.lrange("l", 0, 2) == ["0", "1", "2"]
    # MULTI / EXEC
    p = c.pipeline(transaction=True)
    p.set("m1", "a").incr("m2").get("m1")
    assert p.execute() == [True, 1, "a"]
    # a blocking command served by another TLS client
    got = {}

    def blocker():
        got["v"] = tls_client(mtls.tls_port, certs, decode_responses=True).blpop("bl", timeout=10)

    t = threading.Thread(target=blocker)
    t.start()
    time.sleep(0.3)
    c.rpush("bl", "wake")
    t.join(15)
    assert got["v"] == ("bl", "wake")
    # pub/sub across two TLS connections
    sub = tls_client(mtls.tls_port, certs, decode_responses=True).pubsub()
    sub.subscribe("chan")
    assert sub.get_message(timeout=5)["type"] == "subscribe"
    assert c.publish("chan", "m1") == 1
    msg = sub.get_message(timeout=5)
    assert msg["type"] == "message" and msg["data"] == "m1"
    sub.close()
    # pipelining: 5000 commands in one write, replies in order
    p = c.pipeline(transaction=False)
    for i in range(5000):
        p.set(f"p{i}", i)
        p.get(f"p{i}")
    res = p.execute()
    assert res[1::2] == [str(i) for i in range(5000)]


def test_big_value_over_tls(mtls, certs):
    c = tls_client(mtls.tls_port, certs)
    v = os.urandom(10 * 1024 * 1024)
    assert c.set("big", v)
    assert c.get("big") == v
    assert c.strlen("big") == len(v)
    # many big replies pipelined: the writes go out in partial TLS records
    p = c.pipeline(transaction=False)
    for _ in range(5):
        p.get("big")
    assert all(x == v for x in p.execute())


def test_certificate_rotation_by_config_set(certs):
    s = start(certs, "yes")
    try:
        cn, old_sock = peer_subject(s.tls_port, certs)
        assert cn == "ferrite-server-1"
        old = tls_client(s.tls_port, certs)
        old.set("k", "before")
        admin = s.client(decode_responses=True)
        # certificate and key change together (alone, the new certificate would not match
        # the old key: refused, as Redis)
        with pytest.raises(redis.exceptions.ResponseError):
            admin.config_set("tls-cert-file", certs["server2.crt"])
        assert admin.execute_command("CONFIG", "SET", "tls-cert-file", certs["server2.crt"],
                                     "tls-key-file", certs["server2.key"]) == "OK"
        assert admin.config_get("tls-cert-file")["tls-cert-file"] == certs["server2.crt"]
        cn2, new_sock = peer_subject(s.tls_port, certs)
        assert cn2 == "ferrite-server-2"
        # connections opened before the rotation keep working
        assert old.get("k") == b"before"
        old_sock.sendall(b"*1\r\n$4\r\nPING\r\n")
        assert old_sock.recv(100) == b"+PONG\r\n"
        new_sock.sendall(b"*1\r\n$4\r\nPING\r\n")
        assert new_sock.recv(100) == b"+PONG\r\n"
        old_sock.close()
        new_sock.close()
    finally:
        s.stop()


def test_bad_certificate_is_refused_and_the_old_one_kept(certs, tmp_path):
    s = start(certs, "yes")
    try:
        bogus = tmp_path / "bogus.crt"
        bogus.write_text("not a certificate\n")
        with pytest.raises(redis.exceptions.ResponseError) as e:
            s.client().config_set("tls-cert-file", str(bogus))
        assert "Unable to update TLS configuration" in str(e.value)
        assert s.client(decode_responses=True).config_get("tls-cert-file")["tls-cert-file"] == certs["server.crt"]
        cn, sock = peer_subject(s.tls_port, certs)
        sock.close()
        assert cn == "ferrite-server-1"
    finally:
        s.stop()


def test_tls_port_moves_by_config_set(certs):
    s = start(certs, "yes")
    try:
        new_port = free_port()
        s.client().config_set("tls-port", new_port)
        assert tls_client(new_port, certs).ping()
        with pytest.raises((redis.exceptions.ConnectionError, OSError)):
            tls_client(s.tls_port, certs, socket_connect_timeout=2).ping()
    finally:
        s.stop()


def test_tls_config_names(mtls):
    got = mtls.client(decode_responses=True).config_get("tls-*")
    for name in ("tls-port", "tls-cert-file", "tls-key-file", "tls-key-file-pass", "tls-ca-cert-file",
                 "tls-ca-cert-dir", "tls-auth-clients", "tls-protocols", "tls-ciphers",
                 "tls-ciphersuites", "tls-prefer-server-ciphers", "tls-session-caching",
                 "tls-session-cache-size", "tls-session-cache-timeout", "tls-replication",
                 "tls-cluster"):
        assert name in got, name
    assert got["tls-port"] == str(mtls.tls_port)
    assert got["tls-auth-clients"] == "yes"
    assert got["tls-session-cache-size"] == "20480"
    assert got["tls-session-caching"] == "yes"


def test_protocols_restricted_to_tls13(certs):
    st = tls_settings(certs, "no")
    st["tls-protocols"] = "TLSv1.3"
    port = st["tls-port"]
    s = SecureServer(st, wait_tls=lambda: tls_client(port, certs))
    try:
        ctx = ssl.create_default_context(cafile=certs["ca.crt"])
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        with pytest.raises((ssl.SSLError, OSError)):
            ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                            server_hostname="localhost").sendall(b"PING\r\n")
        ctx = ssl.create_default_context(cafile=certs["ca.crt"])
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                             server_hostname="localhost") as t:
            assert t.version() == "TLSv1.3"
    finally:
        s.stop()


@pytest.mark.skipif(IS_REDIS, reason="Ferrite's Prometheus endpoint")
@pytest.mark.parametrize("auth", ["no", "yes"])
def test_metrics_endpoint_over_tls(certs, auth):
    import urllib.request
    import urllib.error
    mport = free_port()
    st = tls_settings(certs, auth)
    port = st["tls-port"]
    s = SecureServer(st, wait_tls=lambda: tls_client(port, certs),
                     sections={"metrics": {"enabled": True, "port": mport, "tls": True}})
    try:
        ctx = ssl.create_default_context(cafile=certs["ca.crt"])
        ctx.load_cert_chain(certs["client.crt"], certs["client.key"])
        url = f"https://localhost:{mport}/metrics"
        deadline = time.time() + 10
        while True:
            try:
                body = urllib.request.urlopen(url, context=ctx, timeout=5).read().decode()
                break
            except (urllib.error.URLError, ConnectionError):
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        assert "ferrite_up 1" in body
        # plain HTTP on the HTTPS port gets no metrics
        with pytest.raises((urllib.error.URLError, ConnectionError, http_client_error())):
            urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=5).read()
        if auth == "yes":  # mutual TLS: no client certificate, no metrics
            bare = ssl.create_default_context(cafile=certs["ca.crt"])
            with pytest.raises((urllib.error.URLError, ConnectionError, ssl.SSLError)):
                urllib.request.urlopen(url, context=bare, timeout=5).read()
    finally:
        s.stop()


def http_client_error():
    import http.client
    return http.client.HTTPException
