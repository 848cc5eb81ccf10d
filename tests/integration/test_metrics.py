"""The Prometheus endpoint (#8): a real HTTP client scrapes /metrics, Debian's promtool
checks the text, values move with load (SET, BGSAVE), a real Prometheus server scrapes it
and evaluates the alert rules of docs/monitoring.md, and Debian's prometheus-redis-exporter
pointed at Ferrite exports the persistence metrics.

Ferrite only. The conftest Server writes [server] settings only, so this module starts the
binary itself with a [metrics] section, with the same start/wait pattern. Every process it
starts is stopped by PID with bounded waits; every wait is a bounded poll (the endpoint
publishes a new snapshot about once per second)."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import json

import pytest
import redis

from conftest import IS_REDIS, free_port, poll

pytestmark = pytest.mark.skipif(IS_REDIS, reason="Ferrite's /metrics endpoint")

DOCS = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "monitoring.md")
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def stop_process(proc, timeout=5):
    """SIGTERM, then SIGKILL after a bounded wait: only a process this module started."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.status, dict(resp.headers), resp.read().decode()


def wait_http(url, proc, what, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            return http_get(url, timeout=2)
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not answer at {url}")


def parse(text):
    """Exposition text -> {'name{labels}': float}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


class MetricsServer:
    """Ferrite with the metrics endpoint on, the AOF on, automatic checkpoints off."""

    def __init__(self):
        binary = os.environ.get("FERRITE_BIN")
        if not binary:
            pytest.exit("FERRITE_BIN is not set")
        self.dir = tempfile.mkdtemp(prefix="ferrite-metrics-")
        self.port = free_port()
        self.metrics_port = free_port()
        conf = os.path.join(self.dir, "ferrite.toml")
        with open(conf, "w") as f:
            f.write("\n".join([
                "[server]", 'bind = "127.0.0.1"', f"port = {self.port}", f'dir = "{self.dir}"',
                'enable_debug_command = "yes"',
                "[persistence]", "aof_enabled = true", 'aof_sync_policy = "everysec"',
                "aof_rewrite_percentage = 0", "checkpoint_enabled = false",
                "[metrics]", "enabled = true", 'bind = "127.0.0.1"', f"port = {self.metrics_port}",
            ]) + "\n")
        self.log_path = os.path.join(self.dir, "server.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([binary, "--config", conf], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                if self.client().ping():
                    break
            except (redis.exceptions.ConnectionError, redis.exceptions.BusyLoadingError, OSError):
                time.sleep(0.05)
            if self.proc.poll() is not None:
                break
        else:
            pass
        if self.proc.poll() is not None:
            raise RuntimeError(f"server did not start: {self.logs()}")
        self.url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        wait_http(self.url, self.proc, "ferrite's metrics endpoint")

    def client(self):
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=10, decode_responses=True)

    def logs(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def scrape(self):
        return http_get(self.url)[2]

    def metrics(self):
        return parse(self.scrape())

    def stop(self):
        stop_process(self.proc)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def ms():
    s = MetricsServer()
    yield s
    s.stop()


@pytest.fixture
def r(ms):
    c = ms.client()
    yield c
    c.close()


def test_http_endpoint(ms):
    status, headers, body = http_get(ms.url)
    assert status == 200
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert int(headers["Content-Length"]) == len(body.encode())
    assert "ferrite_up 1\n" in body
    for path in ["/", "/metric", "/metrics/x", "/favicon.ico"]:
        with pytest.raises(urllib.error.HTTPError) as e:
            http_get(f"http://127.0.0.1:{ms.metrics_port}{path}")
        assert e.value.code == 404
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(urllib.request.Request(ms.url, data=b"", method="POST"), timeout=5)
    assert e.value.code == 405


def test_promtool_check_metrics(ms, r):
    r.set("k", "v")
    r.expire("k", 100)
    r.get("k")
    with pytest.raises(redis.ResponseError):
        r.execute_command("NOSUCHCOMMAND")
    r.config_set("latency-monitor-threshold", 10)
    r.execute_command("DEBUG", "SLEEP", "0.02")  # a LATENCY "command" event
    r.config_set("latency-monitor-threshold", 0)
    assert poll(lambda: 'ferrite_latency_spike_last{event_name="command"}' in ms.metrics())
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: scripts/setup-deps.sh installs Debian's prometheus"
    text = ms.scrape()
    p = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30)
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
    assert p.stdout.decode().strip() == "" and p.stderr.decode().strip() == ""


def test_every_named_metric_is_exported(ms):
    names = set(re.findall(r"^# TYPE (\S+) ", ms.scrape(), re.M))
    for n in ["ferrite_up", "ferrite_uptime_in_seconds", "ferrite_connected_clients",
              "ferrite_blocked_clients", "ferrite_memory_used_bytes", "ferrite_db_keys",
              "ferrite_db_keys_expiring", "ferrite_expired_keys_total", "ferrite_evicted_keys_total",
              "ferrite_keyspace_hits_total", "ferrite_keyspace_misses_total", "ferrite_commands_total",
              "ferrite_commands_duration_seconds_total", "ferrite_commands_processed_total",
              "ferrite_net_input_bytes_total", "ferrite_net_output_bytes_total",
              "ferrite_rdb_last_save_time", "ferrite_rdb_last_bgsave_duration_seconds",
              "ferrite_rdb_changes_since_last_save", "ferrite_rdb_bgsave_in_progress",
              "ferrite_aof_enabled", "ferrite_aof_current_size_bytes", "ferrite_aof_rewrite_in_progress",
              "ferrite_aof_last_write_status", "ferrite_loading"]:
        assert n in names, n


def test_set_raises_the_command_counter(ms, r):
    m = ms.metrics()
    key = 'ferrite_commands_total{cmd="set"}'
    before = m.get(key, 0)
    processed = m["ferrite_commands_processed_total"]
    for i in range(5):
        r.set(f"counter:{i}", "v")
    m = poll(lambda: (lambda x: x if x.get(key, 0) >= before + 5 else None)(ms.metrics()))
    assert m, "ferrite_commands_total{cmd=\"set\"} did not move"
    assert m[key] == before + 5
    assert m['ferrite_commands_duration_seconds_total{cmd="set"}'] > 0
    assert m["ferrite_commands_processed_total"] >= processed + 5
    assert m['ferrite_db_keys{db="db0"}'] >= 5
    assert m["ferrite_connected_clients"] >= 1
    assert m["ferrite_net_input_bytes_total"] > 0
    assert m["ferrite_aof_enabled"] == 1
    # The AOF grows with the writes and the endpoint follows INFO's own figure.
    size = r.info("persistence")["aof_current_size"]
    assert size > 0
    assert poll(lambda: ms.metrics()["ferrite_aof_current_size_bytes"] == r.info("persistence")["aof_current_size"])


def test_aof_write_and_fsync_histograms(ms, r):
    """The issue's ferrite_aof_write_latency_seconds histogram: every write() and fsync, as
    Prometheus histograms (the _latency_seconds gauges stay for the spec's alert)."""
    before = ms.metrics().get("ferrite_aof_write_duration_seconds_count", 0)
    for i in range(20):
        r.set(f"hist:{i}", "v")
    m = poll(lambda: (lambda x: x if x.get("ferrite_aof_write_duration_seconds_count", 0) > before else None)(
        ms.metrics()), timeout=5)
    assert m, "the AOF write histogram did not move"
    count = m["ferrite_aof_write_duration_seconds_count"]
    assert m['ferrite_aof_write_duration_seconds_bucket{le="+Inf"}'] == count
    buckets = sorted((float(k.split('le="')[1].rstrip('"}')), v) for k, v in m.items()
                     if k.startswith("ferrite_aof_write_duration_seconds_bucket") and "+Inf" not in k)
    assert len(buckets) == 12 and all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:]))  # cumulative
    # The sum agrees with the buckets: every sample is above the bound of the bucket below
    # its own, and (all under the last bound) at most its own bound.
    total, lo, hi, prev_bound, prev_cum = m["ferrite_aof_write_duration_seconds_sum"], 0.0, 0.0, 0.0, 0
    for bound, cum in buckets:
        lo += (cum - prev_cum) * prev_bound
        hi += (cum - prev_cum) * bound
        prev_bound, prev_cum = bound, cum
    assert total > 0
    assert lo <= total + 1e-9
    if prev_cum == count:
        assert total <= hi + 1e-9
    # everysec: the fsync thread records too.
    assert poll(lambda: ms.metrics().get("ferrite_aof_fsync_duration_seconds_count", 0) > 0, timeout=5)
    assert "# TYPE ferrite_aof_write_duration_seconds histogram" in ms.scrape()


def test_bgsave_updates_last_save_time(ms, r):
    t0 = ms.metrics()["ferrite_rdb_last_save_time"]
    saves = ms.metrics()["ferrite_rdb_saves_total"]
    r.set("saved", "1")
    while time.time() < t0 + 1.05:  # a save in the same second would not move it
        time.sleep(0.05)
    lastsave = r.lastsave()
    r.bgsave()
    assert poll(lambda: r.lastsave() != lastsave, timeout=10), "BGSAVE did not finish"
    t1 = int(r.lastsave().timestamp())
    assert t1 > t0
    m = poll(lambda: (lambda x: x if x["ferrite_rdb_last_save_time"] == t1 else None)(ms.metrics()))
    assert m, "ferrite_rdb_last_save_time did not follow LASTSAVE"
    assert m["ferrite_rdb_saves_total"] == saves + 1
    assert m["ferrite_rdb_last_bgsave_status"] == 1
    # The same figure as INFO's rdb_last_bgsave_time_sec (-1 before any save): a small
    # save takes well under a few seconds.
    took = r.info("persistence")["rdb_last_bgsave_time_sec"]
    assert 0 <= took <= 5
    assert m["ferrite_rdb_last_bgsave_duration_seconds"] == took
    assert m["ferrite_rdb_bgsave_in_progress"] == 0
    assert m["ferrite_rdb_changes_since_last_save"] == 0


def test_latency_and_slowlog_metrics(ms, r):
    r.config_set("slowlog-log-slower-than", 0)
    try:
        r.slowlog_reset()
        r.set("a", "b")
        want = r.slowlog_len()
        m = poll(lambda: (lambda x: x if x["ferrite_slowlog_length"] >= want else None)(ms.metrics()))
        assert m and m["ferrite_slowlog_last_id"] >= 1
    finally:
        r.config_set("slowlog-log-slower-than", 10000)


def alert_rules_yaml():
    """The ```yaml block of docs/monitoring.md that holds the alert rules file."""
    with open(DOCS) as f:
        text = f.read()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    rules = [b for b in blocks if "alert: CheckpointStale" in b]
    assert len(rules) == 1, "docs/monitoring.md must have one yaml block with the alert rules"
    return rules[0]


def test_alert_rules_in_docs_are_valid_and_fire(tmp_path):
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing"
    rules = alert_rules_yaml()
    # The spec's two rules, verbatim (indented into a rules file's group).
    lines = [l.strip() for l in rules.splitlines()]
    for rule in (["- alert: AOFWriteLatencyHigh", "expr: ferrite_aof_write_latency_seconds > 0.1", "for: 5m"],
                 ["- alert: CheckpointStale", "expr: time() - ferrite_rdb_last_save_time > 7200", "for: 10m"]):
        i = lines.index(rule[0])
        assert lines[i:i + 3] == rule
    (tmp_path / "rules.yml").write_text(rules)
    p = subprocess.run([promtool, "check", "rules", str(tmp_path / "rules.yml")], capture_output=True, timeout=30)
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
    # Unit test of the rules: a checkpoint that stopped at t=0 is stale after 2 h and the
    # alert fires 10 min later; a slow AOF write fires after 5 min.
    (tmp_path / "test.yml").write_text("""
rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'ferrite_rdb_last_save_time{instance="f"}'
        values: '0+0x200'
      - series: 'ferrite_aof_write_latency_seconds{instance="f"}'
        values: '0.2+0x20'
    alert_rule_test:
      - eval_time: 60m
        alertname: CheckpointStale
        exp_alerts: []
      - eval_time: 135m
        alertname: CheckpointStale
        exp_alerts:
          - exp_labels: {instance: f}
      - eval_time: 3m
        alertname: AOFWriteLatencyHigh
        exp_alerts: []
      - eval_time: 10m
        alertname: AOFWriteLatencyHigh
        exp_alerts:
          - exp_labels: {instance: f}
""")
    p = subprocess.run([promtool, "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True, timeout=60)
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()


def test_prometheus_scrapes_ferrite_and_evaluates_the_rules(ms, r, tmp_path):
    """A real Prometheus server scrapes the endpoint and loads the docs' rules."""
    binary = shutil.which("prometheus")
    assert binary, "prometheus is missing: scripts/setup-deps.sh installs Debian's prometheus"
    (tmp_path / "rules.yml").write_text(alert_rules_yaml())
    (tmp_path / "prometheus.yml").write_text(f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: [rules.yml]
scrape_configs:
  - job_name: ferrite
    static_configs: [{{targets: ['127.0.0.1:{ms.metrics_port}']}}]
""")
    port = free_port()
    log = open(tmp_path / "prometheus.log", "w")
    proc = subprocess.Popen([binary, f"--config.file={tmp_path / 'prometheus.yml'}",
                             f"--storage.tsdb.path={tmp_path / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=log, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{port}/api/v1"

    def query(q):
        body = http_get(f"{api}/query?" + urllib.parse.urlencode({"query": q}))[2]
        return json.loads(body)["data"]["result"]

    try:
        wait_http(f"http://127.0.0.1:{port}/-/ready", proc, "prometheus", timeout=30)
        target = poll(lambda: query('up{job="ferrite"}'), timeout=20)
        assert target and target[0]["value"][1] == "1", (tmp_path / "prometheus.log").read_text()
        saved = poll(lambda: query("ferrite_rdb_last_save_time"), timeout=10)
        assert saved and float(saved[0]["value"][1]) == ms.metrics()["ferrite_rdb_last_save_time"]
        assert query("time() - ferrite_rdb_last_save_time > 7200") == []  # fresh: not stale
        assert float(query("time() - ferrite_rdb_last_save_time")[0]["value"][1]) < 3600
        groups = json.loads(http_get(f"{api}/rules")[2])["data"]["groups"]
        rules = {x["name"]: x for g in groups for x in g["rules"]}
        assert set(rules) == {"AOFWriteLatencyHigh", "CheckpointStale"}
        assert poll(lambda: all(x["health"] == "ok" for g in json.loads(http_get(f"{api}/rules")[2])["data"]["groups"]
                                for x in g["rules"]), timeout=10)
        sets = query('ferrite_commands_total{cmd="set"}')
        assert sets and float(sets[0]["value"][1]) >= 1
    finally:
        stop_process(proc, timeout=10)
        log.close()


def test_prometheus_redis_exporter_reads_ferrite(ms, r):
    """Debian's prometheus-redis-exporter (oliver006/redis_exporter) pointed at Ferrite exports
    the persistence metrics from Ferrite's INFO, unchanged."""
    binary = shutil.which("prometheus-redis-exporter")
    assert binary, "prometheus-redis-exporter is missing: scripts/setup-deps.sh installs it"
    r.set("exported", "1")
    port = free_port()
    proc = subprocess.Popen([binary, f"-redis.addr=redis://127.0.0.1:{ms.port}",
                             f"-web.listen-address=127.0.0.1:{port}", "-redis-only-metrics"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/metrics", proc, "prometheus-redis-exporter")
        m = parse(http_get(f"http://127.0.0.1:{port}/metrics")[2])
        info = r.info("persistence")
        assert m["redis_up"] == 1
        assert m['redis_exporter_last_scrape_error{err=""}'] == 0
        assert m["redis_rdb_last_save_timestamp_seconds"] == info["rdb_last_save_time"]
        assert m["redis_aof_enabled"] == 1
        assert m["redis_aof_current_size_bytes"] == info["aof_current_size"]
        for name in ["redis_rdb_changes_since_last_save", "redis_rdb_bgsave_in_progress",
                     "redis_rdb_last_bgsave_status", "redis_rdb_last_bgsave_duration_sec",
                     "redis_aof_rewrite_in_progress", "redis_aof_last_write_status",
                     "redis_aof_last_bgrewrite_status", "redis_aof_base_size_bytes",
                     "redis_loading_dump_file", "redis_uptime_in_seconds", "redis_connected_clients",
                     "redis_memory_used_bytes", 'redis_db_keys{db="db0"}', "redis_slowlog_length",
                     'redis_commands_total{cmd="set"}']:
            assert name in m, name
    finally:
        stop_process(proc)
        out = proc.stdout.read().decode()
        proc.stdout.close()
    assert "level=error" not in out, out


def test_grafana_dashboard_queries_exported_metrics(ms):
    """docs/grafana-dashboard.json is valid JSON and every query names metrics the endpoint has."""
    path = os.path.join(os.path.dirname(DOCS), "grafana-dashboard.json")
    with open(path) as f:
        dash = json.load(f)
    exported = set(re.findall(r"^# TYPE (\S+) ", ms.scrape(), re.M))
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    assert exprs
    for e in exprs:
        for name in re.findall(r"\bferrite_[a-z_]+", e):
            assert name in exported, f"{name} in {e!r}"
    promtool = shutil.which("promtool")
    if promtool:  # each query parses as PromQL (Grafana's variables replaced)
        for e in exprs:
            q = e.replace("$__rate_interval", "1m").replace("$instance", ".*")
            p = subprocess.run([promtool, "check", "rules", "/dev/stdin"], capture_output=True, timeout=30,
                               input=("groups: [{name: g, rules: [{record: r:x, expr: %s}]}]\n"
                                      % json.dumps(q)).encode())
            assert p.returncode == 0, (q, p.stdout.decode() + p.stderr.decode())


def test_busy_metrics_port_stops_startup(tmp_path):
    """An endpoint that cannot listen is a start-up error, as for the Redis port."""
    import socket
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        (tmp_path / "f.toml").write_text(
            f'[server]\nbind = "127.0.0.1"\nport = {free_port()}\ndir = "{tmp_path}"\n'
            f'[persistence]\ncheckpoint_enabled = false\n'
            f'[metrics]\nenabled = true\nbind = "127.0.0.1"\nport = {busy.getsockname()[1]}\n')
        p = subprocess.run([os.environ["FERRITE_BIN"], "--config", str(tmp_path / "f.toml")],
                           capture_output=True, timeout=30)
    assert p.returncode == 1
    assert b"metrics endpoint: could not listen on 127.0.0.1:" in p.stdout + p.stderr
