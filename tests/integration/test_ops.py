"""Operations (#8): redis-cli --stat / --latency / info, every INFO section read by
python3-redis's parser, INFO latencystats, MEMORY STATS / DOCTOR / HELP / PURGE /
MALLOC-STATS, CONFIG REWRITE (a restart from the rewritten file keeps the values and the
comments), SIGHUP reopening the log file (logrotate), SIGTERM exiting 0, the checkpoint-slice
LATENCY event.

Runs against Ferrite and, as a check of the tests, against redis-server
(FERRITE_TEST_TARGET=redis); Ferrite-only tests are marked `ferrite_only`. Every process a
test starts is stopped by PID with bounded waits; every wait is a bounded poll; redis-cli's
endless modes run under `timeout`."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest
import redis

from conftest import IS_REDIS, LoggedProcess, free_port, poll, redis_cli

ferrite_only = pytest.mark.skipif(IS_REDIS, reason="Ferrite's own behaviour")

# Redis 7's INFO sections in order (INFO everything); Ferrite may add its own after them.
REDIS_SECTIONS = ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU",
                  "Modules", "Commandstats", "Errorstats", "Latencystats", "Cluster", "Keyspace"]
DEFAULT_SECTIONS = ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU",
                    "Modules", "Errorstats", "Cluster", "Keyspace"]
DOCTOR_FINE = ("Hi Sam, I can't find any memory issue in your instance. I can only account for "
               "what occurs on this base.")
DOCTOR_EMPTY = "Hi Sam, this instance is empty or is using very little memory"


# Sections Ferrite has and Redis has not (they come after Redis's).
FERRITE_SECTIONS = {"Tiering"}


def section_titles(text):
    """The "# Title" lines, without Ferrite's own sections."""
    return [l[2:].strip() for l in text.splitlines()
            if l.startswith("# ") and l[2:].strip() not in FERRITE_SECTIONS]


def raw_info(port, *sections):
    out = redis_cli(port, "info", *sections)
    assert out.returncode == 0, out.stderr
    return out.stdout.decode()


# ---------------------------------------------------------------- processes of our own

class Proc(LoggedProcess):
    """A server started from a command line of our own (a config file we wrote, or none)."""

    def __init__(self, cmd, port, log_path):
        self.port = port
        self.log_path = log_path
        self.log = open(log_path, "a")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        ok = poll(self._ready, timeout=30)
        if not ok:
            self.stop()
            with open(log_path) as f:
                raise RuntimeError(f"server did not start: {f.read()}")

    def _ready(self):
        if self.proc.poll() is not None:
            return True  # exited: reported by the caller's checks
        try:
            return self.client().ping()
        except (redis.exceptions.ConnectionError, redis.exceptions.BusyLoadingError, OSError):
            return False

    def client(self):
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=10,
                           decode_responses=True)

    def stop(self, timeout=10):
        return self.terminate(timeout)


def ferrite_bin():
    b = os.environ.get("FERRITE_BIN")
    if not b:
        pytest.exit("FERRITE_BIN is not set (or set FERRITE_TEST_TARGET=redis)")
    return b


@pytest.fixture
def tmpdir_own():
    d = tempfile.mkdtemp(prefix="ferrite-ops-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------- redis-cli

def test_redis_cli_stat(server, r):
    """redis-cli --stat polls INFO: its header, then rows with keys, memory and clients."""
    r.set("stat:a", "1")
    r.set("stat:b", "2")
    # stdbuf: rows reach the pipe line by line; timeout bounds the endless mode.
    out = subprocess.run(["timeout", "-s", "INT", "2", "stdbuf", "-oL", "redis-cli", "-p",
                          str(server.port), "--stat", "-i", "0.1"],
                         capture_output=True, timeout=15)
    text = out.stdout.decode()
    lines = [l for l in text.splitlines() if l.strip()]
    assert any("data" in l and "load" in l for l in lines[:2]), text
    header = next(l for l in lines if l.startswith("keys"))
    assert header.split()[:6] == ["keys", "mem", "clients", "blocked", "requests", "connections"]
    rows = [l.split() for l in lines if re.match(r"^\d+\s", l)]
    assert len(rows) >= 3, text
    keys, mem, clients = rows[-1][0], rows[-1][1], rows[-1][2]
    assert int(keys) >= 2
    assert re.fullmatch(r"[\d.]+[BKMGT]?", mem), mem
    assert int(clients) >= 1


def test_redis_cli_latency(server):
    """redis-cli --latency pings in a loop; its min/max/avg line parses."""
    out = subprocess.run(["timeout", "-s", "INT", "1.5", "stdbuf", "-oL", "redis-cli", "-p",
                          str(server.port), "--latency", "--no-raw"],
                         capture_output=True, timeout=15)
    found = re.findall(r"min: (\d+), max: (\d+), avg: ([\d.]+) \((\d+) samples\)",
                       out.stdout.decode())
    assert found, out.stdout[-500:]
    mn, mx, avg, n = found[-1]
    assert int(mn) <= float(avg) <= int(mx)
    assert int(n) >= 10


def test_redis_cli_info(server, r):
    r.set("k", "v")
    text = raw_info(server.port)
    assert section_titles(text) == DEFAULT_SECTIONS
    assert re.search(r"^redis_version:7\.", text, re.M)
    assert re.search(r"^db0:keys=1,expires=0", text, re.M)
    everything = raw_info(server.port, "everything")
    titles = section_titles(everything)
    assert titles[:len(REDIS_SECTIONS)] == REDIS_SECTIONS


# ---------------------------------------------------------------- INFO

def test_info_section_arguments(server, r):
    """INFO default / all / everything / several sections / unknown, as Redis 7."""
    r.ping()
    assert section_titles(raw_info(server.port, "default")) == DEFAULT_SECTIONS
    assert section_titles(raw_info(server.port, "server", "clients")) == ["Server", "Clients"]
    assert section_titles(raw_info(server.port, "commandstats", "latencystats")) == \
        ["Commandstats", "Latencystats"]
    assert section_titles(raw_info(server.port, "CPU")) == ["CPU"]
    all_titles = section_titles(raw_info(server.port, "all"))
    assert all_titles[:len(REDIS_SECTIONS)] == REDIS_SECTIONS
    assert section_titles(raw_info(server.port, "everything")) == all_titles
    # default plus a section that is not in it
    assert section_titles(raw_info(server.port, "default", "commandstats")) == \
        [t for t in REDIS_SECTIONS if t in DEFAULT_SECTIONS or t == "Commandstats"]
    assert raw_info(server.port, "nosuchsection").strip() == ""


def test_info_everything_parses_with_python_redis(r):
    """python3-redis's INFO parser reads every section with typed values."""
    r.set("k", "v")
    r.get("k")
    r.hset("h", "f", "v")
    with pytest.raises(redis.ResponseError):
        r.execute_command("nosuchcommand")
    info = r.info("everything")
    assert isinstance(info["redis_version"], str)
    assert isinstance(info["connected_clients"], int)
    assert isinstance(info["used_memory"], int) and info["used_memory"] > 0
    assert isinstance(info["used_memory_startup"], int)
    assert isinstance(info["mem_fragmentation_ratio"], float)
    assert isinstance(info["mem_allocator"], str)
    assert isinstance(info["mem_clients_normal"], int)
    assert info["lazyfree_pending_objects"] == 0
    assert isinstance(info["rdb_changes_since_last_save"], int)
    assert isinstance(info["total_commands_processed"], int)
    assert info["role"] == "master"
    assert isinstance(info["used_cpu_sys"], float)
    assert isinstance(info["cmdstat_get"], dict) and info["cmdstat_get"]["calls"] >= 1
    assert isinstance(info["cmdstat_get"]["usec_per_call"], float)
    # "count=1" has no comma: python3-redis keeps it a string (for Redis too).
    assert re.fullmatch(r"count=\d+", str(info["errorstat_ERR"]))
    lat = info["latency_percentiles_usec_get"]
    assert set(lat) == {"p50", "p99", "p99.9"} and all(isinstance(v, float) for v in lat.values())
    assert info["cluster_enabled"] == 0
    assert info["db0"]["keys"] == 2
    # Every section on its own parses too.
    for title in REDIS_SECTIONS:
        assert isinstance(r.info(title.lower()), dict)


def test_info_memory_fields(r):
    r.set("k", "v" * 1000)
    m = r.info("memory")
    for f in ["used_memory", "used_memory_rss", "used_memory_peak", "used_memory_overhead",
              "used_memory_startup", "used_memory_dataset", "total_system_memory", "maxmemory",
              "mem_fragmentation_bytes", "mem_not_counted_for_evict", "mem_replication_backlog",
              "mem_clients_slaves", "mem_clients_normal", "mem_aof_buffer",
              "lazyfree_pending_objects", "lazyfreed_objects"]:
        assert isinstance(m[f], int), f
    assert m["used_memory_peak"] >= m["used_memory"]
    assert m["used_memory_rss"] > 0
    assert isinstance(m["mem_fragmentation_ratio"], float)
    if not IS_REDIS:  # Redis samples RSS in its cron; Ferrite reads it for the reply
        assert abs(m["mem_fragmentation_ratio"] - m["used_memory_rss"] / m["used_memory"]) < \
            0.02 * m["mem_fragmentation_ratio"] + 0.01
    if "allocator_allocated" in m:  # jemalloc (Redis) or mimalloc (Ferrite's release builds)
        assert m["allocator_active"] >= m["allocator_allocated"] > 0
        assert isinstance(m["allocator_frag_ratio"], float)


def test_info_latencystats_after_gets(server, r):
    r.config_resetstat()
    r.set("lat", "v")
    for _ in range(200):
        r.get("lat")
    text = raw_info(server.port, "latencystats")
    m = re.search(r"^latency_percentiles_usec_get:p50=(\d+\.\d{3}),p99=(\d+\.\d{3}),"
                  r"p99\.9=(\d+\.\d{3})\r?$", text, re.M)
    assert m, text
    p50, p99, p999 = map(float, m.groups())
    assert 0 <= p50 <= p99 <= p999 < 1e6  # microseconds; a GET can take less than one
    # CONFIG RESETSTAT clears the histograms with the rest of the statistics.
    r.config_resetstat()
    assert "latency_percentiles_usec_get:" not in raw_info(server.port, "latencystats")


# ---------------------------------------------------------------- MEMORY

def test_memory_stats_keys_and_types(r):
    r.execute_command("DEBUG", "POPULATE", "1000", "ms", "100")
    r.set("ttl", "v", ex=100)
    stats = r.memory_stats()  # python3-redis: a dict, db.N nested dicts
    for k in ["peak.allocated", "total.allocated", "startup.allocated", "replication.backlog",
              "clients.slaves", "clients.normal", "aof.buffer", "lua.caches", "overhead.total",
              "keys.count", "keys.bytes-per-key", "dataset.bytes", "fragmentation.bytes"]:
        assert isinstance(stats[k], int), k
    # RESP2 doubles are bulk strings.
    assert 0 < float(stats["peak.percentage"]) <= 100  # total.allocated as a share of the peak
    assert float(stats["fragmentation"]) > 0  # rss / allocated
    assert stats["keys.count"] == 1001
    assert stats["total.allocated"] > stats["startup.allocated"] > 0
    assert stats["peak.allocated"] >= stats["total.allocated"]
    assert stats["clients.normal"] >= 0
    assert 0 < float(stats["dataset.percentage"]) <= 100
    db0 = stats["db.0"]
    assert isinstance(db0["overhead.hashtable.main"], int) and db0["overhead.hashtable.main"] > 0
    assert isinstance(db0["overhead.hashtable.expires"], int)
    assert "db.1" not in stats  # only databases with keys


def test_memory_stats_resp3(server):
    from conftest import Raw
    c = Raw(server.port)
    c.cmd("HELLO", "3")
    c.cmd("SET", "k", "v")
    reply = c.cmd("MEMORY", "STATS")
    c.close()
    assert isinstance(reply, dict)
    assert isinstance(reply["total.allocated"], int)
    assert isinstance(reply["fragmentation"], float)
    assert isinstance(reply["db.0"], dict)


def test_memory_doctor(r):
    r.flushall()
    if r.info("memory")["used_memory"] < 5 << 20:  # (the shared server may hold more)
        assert r.execute_command("MEMORY", "DOCTOR").startswith(DOCTOR_EMPTY)
    # ~20 MB of data: past the "empty" threshold (5 MB).
    r.execute_command("DEBUG", "POPULATE", "100000", "doc", "150")
    text = r.execute_command("MEMORY", "DOCTOR")
    if text.strip() != DOCTOR_FINE:
        # Findings: Redis's frame, one " * Title: ..." paragraph each, and each finding
        # agrees with INFO memory's figures.
        assert text.startswith("Sam, I detected a few issues in this Redis instance memory implants:")
        assert text.rstrip().endswith("I'm here to keep you safe, Sam. I want to help you.")
        titles = re.findall(r"^ \* ([^:]+):", text, re.M)
        assert titles, text
        m = r.info("memory")
        for t in titles:
            if t == "High total RSS":
                assert m["mem_fragmentation_ratio"] > 1.4
            elif t == "Peak memory":
                assert m["used_memory_peak"] > 1.5 * m["used_memory"]
    r.flushall()


def test_memory_help_purge_malloc_stats_errors(r):
    help_lines = r.execute_command("MEMORY", "HELP")
    assert help_lines[0].startswith("MEMORY <subcommand>")
    for sub in ["DOCTOR", "MALLOC-STATS", "PURGE", "STATS", "USAGE <key> [SAMPLES <count>]", "HELP"]:
        assert sub in help_lines
    assert r.execute_command("MEMORY", "PURGE") in (True, "OK")
    assert len(r.execute_command("MEMORY", "MALLOC-STATS")) > 0
    r.set("k", "v")
    assert r.execute_command("MEMORY", "USAGE", "k", "SAMPLES", "5") > 0
    with pytest.raises(redis.ResponseError, match="syntax error"):
        r.execute_command("MEMORY", "USAGE", "k", "BOGUS")
    with pytest.raises(redis.ResponseError, match=r"unknown subcommand 'bogus'. Try MEMORY HELP."):
        r.execute_command("MEMORY", "bogus")


@ferrite_only
def test_memory_allocator_figures(r):
    m = r.info("memory")
    if not m["mem_allocator"].startswith("mimalloc"):
        pytest.skip("built without mimalloc (sanitizer build)")
    r.execute_command("DEBUG", "POPULATE", "20000", "alloc", "100")
    m = r.info("memory")
    # The heap walk and the operator new counter see the same allocations (within 10 %).
    assert abs(m["allocator_allocated"] - m["used_memory"]) < 0.1 * m["used_memory"]
    assert m["allocator_active"] >= m["allocator_allocated"]
    assert "allocator_resident" not in m  # no honest figure: left out
    assert m["mem_allocator"].startswith("mimalloc-2.")
    r.flushall()


# ---------------------------------------------------------------- CONFIG REWRITE

def test_config_rewrite_without_config_file(tmpdir_own):
    port = free_port()
    if IS_REDIS:
        cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", tmpdir_own,
               "--save", ""]
    else:
        cmd = [ferrite_bin(), "--port", str(port), "--dir", tmpdir_own]
    p = Proc(cmd, port, os.path.join(tmpdir_own, "server.log"))
    try:
        with pytest.raises(redis.ResponseError, match="^The server is running without a config file$"):
            p.client().config_rewrite()
    finally:
        assert p.stop() == 0


def write_conf(path, port, d):
    if IS_REDIS:
        text = (f"# Test configuration: this comment must survive CONFIG REWRITE\n"
                f"port {port}\nbind 127.0.0.1\n"
                f"dir {d}\n"
                "save \"\"\n"
                "# the tick\n"
                "hz 10\n")
    else:
        text = (f"# Test configuration: this comment must survive CONFIG REWRITE\n"
                "\n[server]\n"
                f"port = {port}  # the port\n"
                'bind = "127.0.0.1"\n'
                f'dir = "{d}"\n'
                "# the tick\n"
                "hz = 10  # per second\n"
                "\n# persistence: no automatic checkpoints in this test\n"
                "[persistence]\n"
                "checkpoint_enabled = false\n")
    with open(path, "w") as f:
        f.write(text)
    return text


def start_with_conf(conf, port, d):
    cmd = ["redis-server", conf] if IS_REDIS else [ferrite_bin(), "--config", conf]
    return Proc(cmd, port, os.path.join(d, "server.log"))


def test_config_rewrite_round_trip(tmpdir_own):
    """CONFIG SET, CONFIG REWRITE, restart from the file: the values are kept, and so are
    the comments and the untouched lines."""
    port = free_port()
    conf = os.path.join(tmpdir_own, "server.conf")
    before = write_conf(conf, port, tmpdir_own)
    p = start_with_conf(conf, port, tmpdir_own)
    try:
        c = p.client()
        assert c.config_set("hz", 50)
        assert c.config_set("maxmemory-policy", "allkeys-lru")  # not in the file
        assert c.config_set("slowlog-log-slower-than", 1234)
        assert c.config_rewrite()
    finally:
        assert p.stop() == 0
    with open(conf) as f:
        after = f.read()
    assert "# Test configuration: this comment must survive CONFIG REWRITE" in after
    assert "# the tick" in after
    if not IS_REDIS:
        # Ferrite edits the file: untouched lines stay byte for byte, changed values change in
        # place (their comments kept), new keys join their section.
        assert "hz = 50  # per second\n" in after
        assert after.startswith(before.split("hz = 10")[0])
        server_section = after.split("[server]")[1].split("[persistence]")[0]
        assert 'maxmemory_policy = "allkeys-lru"' in server_section
        assert "slowlog_log_slower_than = 1234" in server_section
        assert after.rstrip().endswith("[persistence]\ncheckpoint_enabled = false")
        assert not [f for f in os.listdir(tmpdir_own) if ".tmp-" in f]
    p = start_with_conf(conf, port, tmpdir_own)
    try:
        c = p.client()
        assert c.config_get("hz")["hz"] == "50"
        assert c.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-lru"
        assert c.config_get("slowlog-log-slower-than")["slowlog-log-slower-than"] == "1234"
        assert c.config_rewrite()
        if not IS_REDIS:  # a second rewrite with nothing changed leaves the file as it is
            with open(conf) as f:
                assert f.read() == after
    finally:
        assert p.stop() == 0


@ferrite_only
def test_config_rewrite_error_is_reported(tmpdir_own):
    """A file that cannot be replaced gives Redis's error prefix and leaves the file as it
    was. (The tests run as root, who ignores directory permissions: a directory where the
    temporary file goes makes the write fail instead.)"""
    port = free_port()
    confdir = os.path.join(tmpdir_own, "etc")
    os.mkdir(confdir)
    conf = os.path.join(confdir, "ferrite.toml")
    before = write_conf(conf, port, tmpdir_own)
    p = start_with_conf(conf, port, tmpdir_own)
    try:
        c = p.client()
        c.config_set("hz", 20)
        os.mkdir(f"{conf}.tmp-{p.proc.pid}")  # the temporary file's name is taken
        with pytest.raises(redis.ResponseError, match="^Rewriting config file: "):
            c.config_rewrite()
        with open(conf) as f:
            assert f.read() == before
    finally:
        assert p.stop() == 0


# ---------------------------------------------------------------- signals

@ferrite_only
def test_sighup_reopens_the_log_file(tmpdir_own):
    """logrotate's way: move the log file away, send SIGHUP; later lines go to a new file at
    the configured path, earlier ones stay in the moved file."""
    port = free_port()
    log = os.path.join(tmpdir_own, "ferrite.log")
    conf = os.path.join(tmpdir_own, "ferrite.toml")
    with open(conf, "w") as f:
        f.write(f'[server]\nport = {port}\nbind = "127.0.0.1"\ndir = "{tmpdir_own}"\n'
                f'logfile = "{log}"\n[persistence]\ncheckpoint_enabled = false\n')
    p = Proc([ferrite_bin(), "--config", conf], port, os.path.join(tmpdir_own, "stdout.log"))
    try:
        assert poll(lambda: os.path.exists(log) and "Ready to accept" in open(log).read())
        os.rename(log, log + ".1")
        p.proc.send_signal(signal.SIGHUP)
        assert poll(lambda: os.path.exists(log) and "SIGHUP" in open(log).read()), \
            "no new log file after SIGHUP"
        p.client().ping()  # still serving
    finally:
        assert p.stop() == 0
    with open(log + ".1") as f:
        old = f.read()
    with open(log) as f:
        new = f.read()
    assert "Ready to accept connections" in old and "SIGHUP" not in old
    assert "log file" in new and "reopened" in new
    assert "ready to exit" in new  # the shutdown lines went to the new file


@ferrite_only
def test_sighup_without_logfile_is_harmless(server_factory):
    s = server_factory()
    s.proc.send_signal(signal.SIGHUP)
    assert poll(lambda: "SIGHUP" in s.logs())
    assert s.client().ping()


def test_sigterm_exits_zero(server_factory):
    s = server_factory()
    s.client().set("k", "v")
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(15) == 0
    assert "SIGTERM" in s.logs()


# ---------------------------------------------------------------- LATENCY events

@ferrite_only
def test_latency_checkpoint_slice_event(server_factory):
    """The checkpoint's paced pass runs ~1 ms slices on the loop: with
    latency-monitor-threshold 1 they show up as the checkpoint-slice event."""
    s = server_factory(latency_monitor_threshold=1)
    c = s.client(decode_responses=True)
    c.execute_command("DEBUG", "POPULATE", "200000", "ck", "50")
    c.bgsave()
    assert poll(lambda: c.info("persistence")["rdb_bgsave_in_progress"] == 0, timeout=60)
    assert c.info("persistence")["rdb_last_bgsave_status"] == "ok"
    latest = {e[0]: e for e in c.execute_command("LATENCY", "LATEST")}
    assert "checkpoint-slice" in latest, latest
    name, when, last_ms, max_ms = latest["checkpoint-slice"]
    assert last_ms >= 1 and max_ms >= last_ms and abs(when - time.time()) < 120
    history = c.execute_command("LATENCY", "HISTORY", "checkpoint-slice")
    assert history and all(ms >= 1 for _, ms in history)


# ---------------------------------------------------------------- packaging

UNIT = os.path.join(os.path.dirname(__file__), "..", "..", "packaging", "ferrite.service")


@ferrite_only
def test_systemd_unit_verifies(tmpdir_own):
    """packaging/ferrite.service passes `systemd-analyze verify` (with ExecStart pointing at
    the binary under test, since it is not installed), and says what operations relies on."""
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze not installed")
    with open(UNIT) as f:
        unit = f.read()
    for line in ["Type=simple", "User=ferrite", "ExecStart=/usr/local/bin/ferrite --config /etc/ferrite/ferrite.toml",
                 "ExecReload=/bin/kill -HUP $MAINPID", "KillSignal=SIGTERM", "TimeoutStopSec=",
                 "LimitNOFILE=", "NoNewPrivileges=yes", "ProtectSystem=strict"]:
        assert line in unit, line
    copy = os.path.join(tmpdir_own, "ferrite.service")
    with open(copy, "w") as f:
        f.write(unit.replace("/usr/local/bin/ferrite", os.path.abspath(ferrite_bin())))
    out = subprocess.run(["systemd-analyze", "verify", copy], capture_output=True, timeout=60)
    assert out.returncode == 0, out.stdout.decode() + out.stderr.decode()
