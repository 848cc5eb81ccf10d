"""RESP2/RESP3 over a raw socket, for the differential fuzzer.

Replies are tuples (type byte as a one-character str, payload), so that two servers' replies
compare with ==, and so that an error is never mistaken for a string:

    ('+', b'OK')  ('-', b'ERR ...')  (':', 5)  ('$', b'..' | None)  ('*', [..] | None)
    ('%', [(k, v), ...])  ('~', [..])  ('>', [..])  (',', b'1.5')  ('#', True)  ('_', None)
    ('=', b'txt:...')  ('(', b'123...')

Nothing here knows about Ferrite or Redis: it is a client.
"""
import socket


class Incomplete(Exception):
    pass


class Closed(Exception):
    """The server closed the connection (or it broke) before a whole reply arrived."""


class Timeout(Exception):
    """No whole reply within the connection's timeout: the server hangs."""


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def _line(buf, pos):
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise Incomplete
    return bytes(buf[pos:end]), end + 2


def parse(buf, pos, oob=None):
    """One reply from buf at pos: (reply, next position); raises Incomplete. A RESP3 push
    found inside an aggregate (a message a command published to its own client while EXEC
    was writing its array) is not an element: it goes to oob."""
    if pos >= len(buf):
        raise Incomplete
    t = chr(buf[pos])
    line, pos = _line(buf, pos + 1)
    if t == "+" or t == "-":
        return (t, line), pos
    if t == ":":
        return (t, int(line)), pos
    if t == "$" or t == "=" or t == "!":
        n = int(line)
        if n < 0:
            return (t, None), pos
        if pos + n + 2 > len(buf):
            raise Incomplete
        return (t, bytes(buf[pos:pos + n])), pos + n + 2
    if t in "*~>":
        n = int(line)
        if n < 0:
            return (t, None), pos
        items = []
        while len(items) < n:
            v, pos = parse(buf, pos, oob)
            if v[0] == ">" and t != ">" and oob is not None:
                oob.append(v)
                continue
            items.append(v)
        return (t, items), pos
    if t == "%" or t == "|":
        n = int(line)
        items = []
        for _ in range(n):
            k, pos = parse(buf, pos)
            v, pos = parse(buf, pos)
            items.append((k, v))
        if t == "|":  # an attribute: the reply it decorates follows
            v, pos = parse(buf, pos)
            return ("|", (items, v)), pos
        return (t, items), pos
    if t == ",":
        return (t, line), pos
    if t == "#":
        return (t, line == b"t"), pos
    if t == "_":
        return (t, None), pos
    if t == "(":
        return (t, line), pos
    raise ValueError("bad RESP type byte %r at %d" % (t, pos - 1))


class Conn:
    """A connection to one server. send() queues bytes; read() returns one reply."""

    def __init__(self, port, host="127.0.0.1", timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.pos = 0
        self.timeout = timeout

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        try:
            self.sock.sendall(data)
        except socket.timeout:
            raise Timeout()
        except OSError as e:
            raise Closed(str(e))

    def _fill(self):
        try:
            d = self.sock.recv(1 << 20)
        except socket.timeout:
            raise Timeout()
        except OSError as e:
            raise Closed(str(e))
        if not d:
            raise Closed("connection closed by the server")
        if self.pos > 65536 and self.pos * 2 > len(self.buf):
            del self.buf[:self.pos]
            self.pos = 0
        self.buf += d

    def read(self, oob=None):
        """One reply; pushes met inside it are appended to oob (a list) when given."""
        while True:
            try:
                inner = []
                v, self.pos = parse(self.buf, self.pos, inner)
                if oob is not None:
                    oob.extend(inner)
                if self.pos == len(self.buf):
                    self.buf.clear()
                    self.pos = 0
                return v
            except Incomplete:
                self._fill()

    def call(self, *args):
        self.send(encode([a if isinstance(a, bytes) else str(a).encode() for a in args]))
        return self.read()

    def pipeline(self, commands):
        """Sends every command at once, returns their replies in order."""
        self.send(b"".join(encode([a if isinstance(a, bytes) else str(a).encode() for a in args])
                           for args in commands))
        return [self.read() for _ in commands]

    def closed_by_peer(self, wait=1.0):
        """True if the server has closed this connection (EOF within `wait` seconds) and sent
        nothing more."""
        self.sock.settimeout(wait)
        try:
            d = self.sock.recv(1 << 16)
            return not d
        except socket.timeout:
            return False
        except OSError:
            return True
        finally:
            self.sock.settimeout(self.timeout)
