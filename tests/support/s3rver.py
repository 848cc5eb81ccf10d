"""A real S3-compatible server for tests: s3rver (Node.js), started by
tests/support/s3rver/start.js, which adds strict SigV4 checking (s3rver alone accepts any
V4 signature) and fault injection. Install it with scripts/setup-test-tools.sh.

    import sys; sys.path.insert(0, "<repo>/tests/support")
    from s3rver import S3Server

    with S3Server(bucket="ferrite-archive") as s3:
        ... s3.endpoint ...            # "http://127.0.0.1:PORT"
        s3.stop()                      # S3 down: connections are refused
        s3.start()                     # back up: same port, same data
        s3.fail_next(2)                # the next 2 S3 requests answer 503 SlowDown

Credentials are s3rver's built-in ones: access key S3RVER, secret S3RVER (ACCESS_KEY,
SECRET_KEY); any region name is accepted (REGION is what tests should use). Network is
127.0.0.1 only; every wait is bounded. The server's stdout/stderr go to `log_path`.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

SUPPORT_DIR = os.path.dirname(os.path.abspath(__file__))
S3RVER_DIR = os.path.join(SUPPORT_DIR, "s3rver")
START_JS = os.path.join(S3RVER_DIR, "start.js")
S3RVER_BIN = os.path.join(S3RVER_DIR, "node_modules", ".bin", "s3rver")

ACCESS_KEY = "S3RVER"
SECRET_KEY = "S3RVER"
REGION = "us-east-1"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node():
    node = shutil.which("node") or "/usr/bin/node"
    if not os.path.exists(node):
        raise RuntimeError("node is not installed (Debian: apt-get install nodejs)")
    return node


class S3Server:
    """One s3rver process on a free 127.0.0.1 port with its data in a temporary directory.

    The bucket is created at startup. start() after stop() restarts on the same port and
    directory (objects survive). The temporary directory is removed when the context exits
    (not on stop()); pass `dir` to keep data in a directory you own instead.
    """

    def __init__(self, bucket="ferrite-archive", dir=None, port=None, verify_sigv4=True,
                 startup_timeout=20.0):
        if not os.path.exists(S3RVER_BIN):
            raise RuntimeError(f"s3rver is not installed ({S3RVER_BIN} is missing): "
                               "run scripts/setup-test-tools.sh")
        self.bucket = bucket
        self.own_root = dir is None
        self.root = dir or tempfile.mkdtemp(prefix="ferrite-s3rver-")
        self.data_dir = os.path.join(self.root, "data")
        self.log_path = os.path.join(self.root, "s3rver.log")
        self.port = port or _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.access_key = ACCESS_KEY
        self.secret_key = SECRET_KEY
        self.region = REGION
        self.verify_sigv4 = verify_sigv4
        self.startup_timeout = startup_timeout
        self.proc = None

    def start(self):
        """Starts the server (again) and waits until it accepts connections."""
        if self.proc is not None:
            return self
        cmd = [_node(), START_JS, "--directory", self.data_dir, "--address", "127.0.0.1",
               "--port", str(self.port), "--silent"]
        if self.bucket:
            cmd += ["--configure-bucket", self.bucket]
        if not self.verify_sigv4:
            cmd.append("--no-verify-sigv4")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, cwd=S3RVER_DIR)
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self.proc = None
                raise RuntimeError(f"s3rver exited with {rc} at startup; log:\n{self._log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"s3rver did not listen on port {self.port} within "
                                   f"{self.startup_timeout}s; log:\n{self._log_tail()}")
            time.sleep(0.05)

    def stop(self):
        """Stops the process this object started (by PID): SIGTERM, then SIGKILL after 5 s."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def fail_next(self, count, status=503):
        """Makes the next `count` S3 requests fail with HTTP `status` (503: SlowDown,
        others: InternalError) and an S3 error body."""
        req = urllib.request.Request(
            f"{self.endpoint}/__ferrite/fail?count={int(count)}&status={int(status)}",
            method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 204, resp.status

    def object_path(self, key):
        """Where s3rver keeps an object's bytes (for tests that corrupt or inspect them)."""
        return os.path.join(self.data_dir, self.bucket, key + "._S3rver_object")

    def _log_tail(self, n=4000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        if self.own_root:
            shutil.rmtree(self.root, ignore_errors=True)
        return False
