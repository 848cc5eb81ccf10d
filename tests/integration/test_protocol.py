"""RESP2/RESP3 and inline protocol, pipelining, malformed input, big values."""
from conftest import redis_cli


def test_inline_commands_like_nc(raw):
    c = raw()
    c.send(b"PING\r\n")
    assert c.reply() == "PONG"
    c.send(b"SET k \"a b\"\r\nGET k\r\n")
    assert c.reply() == "OK"
    assert c.reply() == b"a b"
    c.send(b"\r\n\r\nECHO x\n")  # empty lines are skipped; bare \n ends a line
    assert c.reply() == b"x"


def test_pipeline_of_ten_thousand(raw):
    c = raw()
    assert c.cmd("FLUSHALL") == "OK"
    payload = b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\nk%d\r\n$1\r\nv\r\n" % (len(b"k%d" % i), i)
                       for i in range(10000))
    payload += b"*1\r\n$6\r\nDBSIZE\r\n"
    c.send(payload)
    for _ in range(10000):
        assert c.reply() == "OK"
    assert c.reply() == 10000


def test_command_split_byte_by_byte(raw):
    c = raw()
    data = b"*3\r\n$3\r\nSET\r\n$5\r\nsplit\r\n$5\r\nvalue\r\n"
    for i in range(len(data)):
        c.send(data[i:i + 1])
    assert c.reply() == "OK"
    assert c.cmd("GET", "split") == b"value"


def expect_protocol_error(raw, payload, text):
    victim, bystander = raw(), raw()
    assert bystander.cmd("SET", "bystander", "1") == "OK"
    victim.send(payload)
    reply = victim.reply()
    assert reply == ("ERR", "ERR Protocol error: " + text)
    assert victim.closed()
    # Another client connected at the same time never notices.
    assert bystander.cmd("GET", "bystander") == b"1"


def test_malformed_multibulk_length(raw):
    expect_protocol_error(raw, b"*abc\r\n", "invalid multibulk length")


def test_malformed_expected_dollar(raw):
    expect_protocol_error(raw, b"*1\r\n+foo\r\n", "expected '$', got '+'")


def test_malformed_bulk_length(raw):
    expect_protocol_error(raw, b"*1\r\n$abc\r\n", "invalid bulk length")


def test_malformed_unbalanced_quotes(raw):
    expect_protocol_error(raw, b'SET k "oops\r\n', "unbalanced quotes in request")


def test_unknown_command_and_arity(r):
    import redis
    try:
        r.execute_command("FOO", "a", "b")
        assert False
    except redis.ResponseError as e:
        assert str(e) == "unknown command 'FOO', with args beginning with: 'a' 'b' "
    try:
        r.execute_command("GET")
        assert False
    except redis.ResponseError as e:
        assert str(e) == "wrong number of arguments for 'get' command"


def test_big_values(rb):
    big = b"x" * (10 * 1024 * 1024)
    assert rb.set("big", big)
    assert rb.get("big") == big
    assert rb.strlen("big") == len(big)


def test_proto_max_bulk_len(server_factory):
    s = server_factory(proto_max_bulk_len=1024 * 1024)
    from conftest import Raw
    c = Raw(s.port)
    c.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n")
    assert c.reply() == ("ERR", "ERR Protocol error: invalid bulk length")
    assert c.closed()
    c.close()


def test_resp3_hello(raw):
    c = raw()
    hello = c.cmd("HELLO", "3")
    assert isinstance(hello, dict)
    assert hello["proto"] == 3
    assert hello["role"] == b"master"
    assert hello["mode"] == b"standalone"
    assert "id" in hello and "version" in hello and "modules" in hello
    assert c.cmd("GET", "nosuchkey") == "NULL3"
    cfg = c.cmd("CONFIG", "GET", "maxmemory")
    assert cfg == {"maxmemory": b"0"}
    c.cmd("SET", "f", "1.5")
    assert c.cmd("INCRBYFLOAT", "f", "1") == b"2.5"  # still a bulk string in RESP3
    assert isinstance(c.cmd("HELLO", "2"), list)
    assert c.cmd("GET", "nosuchkey") is None
    assert c.cmd("HELLO", "4") == ("ERR", "NOPROTO unsupported protocol version")


def test_hello_auth_setname(server_factory):
    s = server_factory(requirepass="pw")
    from conftest import Raw
    c = Raw(s.port)
    assert c.cmd("GET", "x") == ("ERR", "NOAUTH Authentication required.")
    reply = c.cmd("HELLO", "3", "AUTH", "default", "pw", "SETNAME", "myname")
    assert reply["proto"] == 3
    assert c.cmd("CLIENT", "GETNAME") == b"myname"
    c.close()


def test_redis_cli_resp3(server):
    out = redis_cli(server.port, "-3", "HELLO", "3")
    assert out.returncode == 0
    assert b"proto" in out.stdout
